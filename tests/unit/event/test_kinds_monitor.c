/*
** test_kinds_monitor.c: !monitor on a real process, both mechanisms:
** debug registers for a small aligned range (pre stage shows the old
** bytes, sc undoes the write, post shows the new bytes, r sees reads only
** although the watchpoint traps writes too) and page protection for a
** larger one (before the access: sc skips it; other accesses on the same
** page run unseen; post after the access), exact counts and contexts, and
** the protections restored when disabled, cleared or detached.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>

#include "test_kinds_sess.h"

/* Run `line` (ADDR standing for the address) on a fresh "mon 3" process;
 * @return the program's output. */
static char *run_mon(struct sess *s, const char *line, uint64_t addr)
{
	char c[512];
	const char *at = strstr(line, "ADDR");
	assert_non_null(at);
	snprintf(c, sizeof(c), "%.*s%llx%s", (int)(at - line), line, (unsigned long long)addr,
		 at + 4);
	start(s, "mon", "3");
	cmd(s, c, NULL);
	assert_int_equal(go(s, NULL, NULL), 0);
	return output(s);
}

#define MON_PLAIN "mon small=3 arr600=21 arr10=5 arr1000=9 sum=30\n"

/* ---- debug registers ---- */

static void test_dr_write_pre_sees_old_bytes(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	uint64_t a = kinds_sym("small") + 8;
	assert_string_equal(run_mon(&s, "!monitor w ADDR l 8 script { printf(\"w %llx %llx\\n\", "
				    "$context, dq($context)); }", a), MON_PLAIN);
	for (int v = 0; v < 3; v++) {
		snprintf(want, sizeof(want), "w %llx %x\n", (unsigned long long)a, v);
		assert_int_equal(count(hd_buf_str(&s.sink), want), 1);
	}
	assert_int_equal(count(hd_buf_str(&s.sink), "w "), 3);
	end(&s);
}

static void test_dr_read_and_rw(void **state)
{
	(void)state;
	struct sess s;
	uint64_t a = kinds_sym("small") + 8;
	/* FROM TO form, TO being the last byte */
	char line[200];
	snprintf(line, sizeof(line), "!monitor r ADDR %llx script { printf(\"a\\n\"); }",
		 (unsigned long long)(a + 7));
	assert_string_equal(run_mon(&s, line, a), MON_PLAIN);
	/* the watchpoint also traps the writes, which change the bytes: only
	 * the 3 reads in the loop and the one for printf are reads */
	assert_int_equal(count(hd_buf_str(&s.sink), "a\n"), 4);
	end(&s);

	assert_string_equal(run_mon(&s, "!monitor rw ADDR l 8 script { printf(\"a\\n\"); }", a),
			    MON_PLAIN);
	assert_int_equal(count(hd_buf_str(&s.sink), "a\n"), 7);
	end(&s);
}

static void test_dr_sc_undoes_the_write(void **state)
{
	(void)state;
	struct sess s;
	uint64_t a = kinds_sym("small") + 8;
	assert_string_equal(run_mon(&s, "!monitor w ADDR l 8 sc on", a),
			    "mon small=0 arr600=21 arr10=5 arr1000=9 sum=21\n");
	end(&s);
}

static void test_dr_post_sees_new_bytes(void **state)
{
	(void)state;
	struct sess s;
	uint64_t a = kinds_sym("small") + 8;
	assert_string_equal(run_mon(&s, "!monitor w ADDR l 8 stage post script { "
				    "printf(\"p %x %llx\\n\", $event_stage, dq($context)); }", a),
			    MON_PLAIN);
	assert_string_equal(hd_buf_str(&s.sink), "p 1 1\np 1 2\np 1 3\n");
	end(&s);
}

/* ---- page protection ---- */

static void test_pp_write_before_the_access(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	uint64_t a = kinds_sym("arr") + 600 * 8;
	assert_string_equal(run_mon(&s, "!monitor w ADDR l 40 script { printf(\"w %llx %llx\\n\", "
				    "$context, dq($context)); }", a), MON_PLAIN);
	/* 3 writes, before each: 0, 7, 0xe; arr[1000] on the same page: unseen */
	for (int v = 0; v < 3; v++) {
		snprintf(want, sizeof(want), "w %llx %x\n", (unsigned long long)a, 7 * v);
		assert_int_equal(count(hd_buf_str(&s.sink), want), 1);
	}
	assert_int_equal(count(hd_buf_str(&s.sink), "w "), 3);
	end(&s);
}

static void test_pp_read_and_sc_and_post(void **state)
{
	(void)state;
	struct sess s;
	uint64_t a = kinds_sym("arr") + 600 * 8;
	assert_string_equal(run_mon(&s, "!monitor r ADDR l 40 script { printf(\"a\\n\"); }", a),
			    MON_PLAIN);
	/* the page allows no access at all now, but only the 2 reads are
	 * reads (the 3 writes are decoded as such and run unseen) */
	assert_int_equal(count(hd_buf_str(&s.sink), "a\n"), 2);
	end(&s);

	assert_string_equal(run_mon(&s, "!monitor rw ADDR l 40 script { printf(\"a\\n\"); }", a),
			    MON_PLAIN);
	assert_int_equal(count(hd_buf_str(&s.sink), "a\n"), 5);
	end(&s);

	assert_string_equal(run_mon(&s, "!monitor w ADDR l 40 sc on", a),
			    "mon small=3 arr600=0 arr10=5 arr1000=9 sum=9\n");
	end(&s);

	assert_string_equal(run_mon(&s, "!monitor w ADDR l 40 stage post script { "
				    "printf(\"p %x %llx\\n\", $event_stage, dq($context)); }", a),
			    MON_PLAIN);
	assert_string_equal(hd_buf_str(&s.sink), "p 1 7\np 1 e\np 1 15\n");
	end(&s);
}

/* The protection of arr's second page, from /proc/PID/maps. */
static void page_perm(struct sess *s, uint64_t addr, char perm[5])
{
	char path[64], line[512];
	uint64_t lo, hi;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	perm[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perm) == 3 && lo <= addr &&
		    addr < hi)
			break;
	fclose(f);
}

static void test_pp_restored_when_cleared(void **state)
{
	(void)state;
	struct sess s;
	char c[128], perm[5];
	uint64_t a = kinds_sym("arr") + 600 * 8;
	start(&s, "mon", "3");
	page_perm(&s, a, perm);
	assert_string_equal(perm, "rw-p");
	snprintf(c, sizeof(c), "!monitor rw %llx l 40", (unsigned long long)a);
	cmd(&s, c, NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "---p");
	cmd(&s, "events d 0", NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "rw-p");
	cmd(&s, "events e 0", NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "---p");
	cmd(&s, "events c 0", NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "rw-p");
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), MON_PLAIN);
	assert_int_equal(s.nstops[TARGET_STOP_SIGNAL], 0);
	end(&s);
}

/* Attached, page protection: detach gives the page its protection back,
 * and the process that goes on writes it without a fault. */
static void test_pp_detach_leaves_no_trace(void **state)
{
	(void)state;
	struct sess s;
	struct target_stop st;
	char c[128], line[64], perm[5];
	int in, fd;
	uint64_t a = kinds_sym("arr") + 600 * 8;
	pid_t pid = spawn_wait("waitmon", &in, &fd);
	sess_attach(&s, pid, in, fd);
	snprintf(c, sizeof(c), "!monitor w %llx l 40 script { printf(\"w %%llx\\n\", dq($context)); }",
		 (unsigned long long)a);
	cmd(&s, c, NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "r--p");
	assert_int_equal(target_resume_all(s.t), 0);
	assert_int_equal(write(in, "x\n", 2), 2);
	do { /* until the write's fault and its step (the page protected again) */
		struct event_verdict v = {0};
		assert_int_equal(target_wait(s.t, &st), 0);
		assert_int_equal(event_handle_stop(s.tab, s.t, &st, &v), 0);
		hd_buf_free(&v.text);
		if (v.kind == EVENT_VERDICT_NONE)
			assert_int_equal(target_resume(s.t, st.tid, TARGET_RESUME_CONT, 0), 0);
	} while (st.kind != TARGET_STOP_STEP);
	assert_string_equal(hd_buf_str(&s.sink), "w 0\n");
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "arr 1");
	sess_detach(&s);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "rw-p");
	assert_int_equal(write(in, "x\n", 2), 2);
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, "arr 2");
	spawn_end(pid, in, fd);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	static const char *const bad[][2] = {
		{"!monitor w 1000", "incorrect use of the '!monitor'\n"},
		{"!monitor w 2000 1000", "please choose the 'from' value first, then choose the 'to' "
					 "value\n"},
		{"!monitor 1000 2000 3000", "unknown parameter '3000'\n"},
		{"!monitor q 1000 l 8", "unknown attribute 'q' (r, w, x and their combinations such "
					"as rw)\n"},
		{"!monitor 1000 l 20 pid 1", "please specify the attribute(s) that you want to "
					     "monitor (r, w, x, rw, rx, wx, rwx)\n"},
		{"!monitor w 1000 l zz", "err, you should enter a valid length\n"},
		{"!monitor pa w 1000 2000", "err, physical addresses are not visible to a user-mode "
					    "debugger; use virtual addresses (va)\n"},
		{"!monitor w nosuch 2000", "err, couldn't resolve error at 'nosuch'\n"},
	};
	start(&s, "mon", "1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hd_buf_reset(&out);
		assert_true(cmd(&s, bad[i][0], &out) < 0);
		assert_string_equal(hd_buf_str(&out), bad[i][1]);
	}
	assert_int_equal(event_count(s.tab), 0);
	hd_buf_free(&out);
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dr_write_pre_sees_old_bytes),
		cmocka_unit_test(test_dr_read_and_rw),
		cmocka_unit_test(test_dr_sc_undoes_the_write),
		cmocka_unit_test(test_dr_post_sees_new_bytes),
		cmocka_unit_test(test_pp_write_before_the_access),
		cmocka_unit_test(test_pp_read_and_sc_and_post),
		cmocka_unit_test(test_pp_restored_when_cleared),
		cmocka_unit_test(test_pp_detach_leaves_no_trace),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
