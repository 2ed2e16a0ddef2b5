/*
** test_kinds_tsc.c: !tsc and !cpuid on real processes: rdtsc/rdtscp and
** cpuid fault and are emulated by hdbg (one event each, context 0/1 or
** eax), sc lets the script supply the result, the post stage sees (and
** may change) the emulated result, !exception does not see these faults,
** and clearing the event or detaching leaves the instructions working.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cpuid.h>
#include <signal.h>

#include "test_kinds_sess.h"

/* ---- !tsc ---- */

static void test_tsc_fires_per_instruction(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "tsc", "5");
	/* the C library executes rdtsc too: count the program's own (non-PIE) */
	cmd(&s, "!tsc script { if (@rip > 401000 && @rip < 500000) { printf(\"tsc %llx\\n\", "
		"$context); } else { printf(\"lib\\n\"); } }", NULL);
	cmd(&s, "!exception b script { printf(\"segv\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* 1 + 5 rdtsc, 1 rdtscp, emulated: monotonic, non-zero, TSC_AUX set */
	assert_string_equal(output(&s), "tsc mono=6 aux=set zero=0\n");
	assert_int_equal(count(hd_buf_str(&s.sink), "tsc 0\n"), 6);
	assert_int_equal(count(hd_buf_str(&s.sink), "tsc 1\n"), 1);
	assert_int_equal(count(hd_buf_str(&s.sink), "segv"), 0);
	end(&s);
}

static void test_tsc_sc_uses_the_scripts_values(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "tsc", "5");
	cmd(&s, "!tsc sc on script { if (@rip > 401000 && @rip < 500000) { @rax = 0; @rdx = 0; "
		"if ($context == 1) { @rcx = 0n12345; } } else { event_sc(0); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "tsc mono=6 aux=unset zero=6\n");
	end(&s);
}

static void test_tsc_post_stage(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "tsc", "2");
	cmd(&s, "!tsc stage post script { if (@rip > 401000 && @rip < 500000 && @rax != 0) { "
		"printf(\"p %llx %x\\n\", $context, $event_stage); @rax = 0; @rdx = 0; } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* the emulation ran (rax != 0 in post), then the script zeroed it */
	assert_int_equal(count(hd_buf_str(&s.sink), "p 0 1\n"), 3);
	assert_int_equal(count(hd_buf_str(&s.sink), "p 1 1\n"), 1);
	assert_string_equal(output(&s), "tsc mono=3 aux=set zero=3\n"); /* the first read is not counted */
	end(&s);
}

/* The setting is per thread: threads created later inherit it. */
static void test_tsc_in_new_threads(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "tsct", "4");
	cmd(&s, "!tsc sc on script { if (@rip > 401000 && @rip < 500000) { @rax = 0; @rdx = 0; "
		"printf(\"t\\n\"); } else { event_sc(0); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "tsct zero=12\n");
	assert_int_equal(count(hd_buf_str(&s.sink), "t\n"), 12);
	end(&s);
}

static void test_tsc_cleared_leaves_rdtsc_working(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "tsc", "3");
	cmd(&s, "!tsc script { printf(\"t\\n\"); }", NULL);
	cmd(&s, "events c 0", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "tsc mono=4 aux=set zero=0\n");
	assert_int_equal(s.nstops[TARGET_STOP_SIGNAL], 0); /* no fault at all */
	end(&s);
}

/* ---- !cpuid ---- */

static void host_vendor(char v[13])
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = 0;
}

static void test_cpuid_emulated_per_leaf(void **state)
{
	(void)state;
	struct sess s;
	char v[13], want[128];
	unsigned a, b, c, d, max;
	host_vendor(v);
	__cpuid(0, max, b, c, d);
	__cpuid(1, a, b, c, d);
	start(&s, "cpuid", "3");
	cmd(&s, "!cpuid script { printf(\"c %llx\\n\", $context); }", NULL);
	cmd(&s, "!cpuid 1 script { printf(\"one\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "cpuid vendor=%s max=%u f1=%x\n", v, max, a);
	assert_non_null(strstr(output(&s), want));
	/* the C library's own cpuid calls count too: at least ours */
	assert_true(count(hd_buf_str(&s.sink), "c 0\n") >= 3);
	assert_true(count(hd_buf_str(&s.sink), "one\n") >= 1);
	assert_int_equal(count(hd_buf_str(&s.sink), "one\n"), count(hd_buf_str(&s.sink), "c 1\n"));
	end(&s);
}

static void test_cpuid_sc_and_post(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "cpuid", "2");
	/* "abcdefghijkl" = ebx edx ecx */
	cmd(&s, "!cpuid 0 sc on script { if (@rip > 401000 && @rip < 500000) { @rax = 7; "
		"@rbx = 64636261; @rdx = 68676665; @rcx = 6c6b6a69; } else { event_sc(0); } }", NULL);
	cmd(&s, "!cpuid 1 stage post script { if (@rip > 401000 && @rip < 500000) { "
		"@rax = 1234; printf(\"post %llx\\n\", $context); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_non_null(strstr(output(&s), "cpuid vendor=abcdefghijkl max=7 f1=1234\n"));
	assert_int_equal(count(hd_buf_str(&s.sink), "post 1\n"), 1);
	end(&s);
}

static void test_cpuid_cleared_leaves_cpuid_working(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "cpuid", "2");
	cmd(&s, "!cpuid", NULL);
	cmd(&s, "events c 0", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(s.nstops[TARGET_STOP_SIGNAL], 0);
	assert_int_equal(s.nbreaks, 0);
	end(&s);
}

/* ---- detach: rdtsc works in the process that goes on ---- */

static void test_detach_enables_rdtsc_again(void **state)
{
	(void)state;
	struct sess s;
	struct target_stop st;
	char line[64], want[64];
	int in, fd;
	pid_t pid = spawn_wait("wait", &in, &fd);
	sess_attach(&s, pid, in, fd);
	cmd(&s, "!tsc script { printf(\"t\\n\"); }", NULL);
	assert_int_equal(target_resume_all(s.t), 0);
	assert_int_equal(write(in, "x\n", 2), 2);
	for (;;) { /* until the emulated rdtsc */
		struct event_verdict v = {0};
		assert_int_equal(target_wait(s.t, &st), 0);
		assert_int_equal(event_handle_stop(s.tab, s.t, &st, &v), 0);
		hd_buf_free(&v.text);
		if (v.kind == EVENT_VERDICT_NONE)
			assert_int_equal(target_resume(s.t, st.tid, TARGET_RESUME_CONT, 0), 0);
		else if (st.kind == TARGET_STOP_SIGNAL)
			break;
	}
	read_line(fd, line, sizeof(line));
	snprintf(want, sizeof(want), "got %d tsc=1", (int)getpid());
	assert_string_equal(line, want);
	assert_int_equal(count(hd_buf_str(&s.sink), "t\n"), 1);
	sess_detach(&s);
	/* no tracer now: a faulting rdtsc would kill the process */
	assert_int_equal(write(in, "x\n", 2), 2);
	read_line(fd, line, sizeof(line));
	assert_string_equal(line, want);
	spawn_end(pid, in, fd);
}

/* The stop machine releases forked children; trap.c undoes the traps in
 * them first (needs the hook in the target layer: requests-kinds.md). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wredundant-decls"
void trap_release_child(struct target *t, pid_t child, bool shared_mm) __attribute__((weak));
#pragma GCC diagnostic pop

static void test_forked_child_loses_the_traps(void **state)
{
	(void)state;
	struct sess s;
	char c[128];
	if (!trap_release_child) {
		print_message("SKIPPED: the target layer does not call trap_release_child() when it "
			      "releases a forked child yet\n");
		skip();
	}
	start(&s, "fork", "1");
	cmd(&s, "!tsc script { printf(\"t\\n\"); }", NULL);
	cmd(&s, "!cpuid script { printf(\"c\\n\"); }", NULL);
	/* page protection (0x40 bytes) on the page the child writes */
	snprintf(c, sizeof(c), "!monitor w %llx l 40",
		 (unsigned long long)(kinds_sym("arr") + 600 * 8));
	cmd(&s, c, NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* the child's rdtsc, cpuid, write and exec'd program ran untrapped */
	assert_string_equal(output(&s), "tsc mono=2 aux=set zero=0\nfork status=0\n");
	end(&s);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	start(&s, "tsc", "1");
	assert_true(cmd(&s, "!tsc 1", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "unknown parameter '1'\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!cpuid 100000000", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, the eax value '100000000' is invalid\n");
	assert_int_equal(event_count(s.tab), 0);
	hd_buf_free(&out);
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc_fires_per_instruction),
		cmocka_unit_test(test_tsc_sc_uses_the_scripts_values),
		cmocka_unit_test(test_tsc_post_stage),
		cmocka_unit_test(test_tsc_in_new_threads),
		cmocka_unit_test(test_tsc_cleared_leaves_rdtsc_working),
		cmocka_unit_test(test_cpuid_emulated_per_leaf),
		cmocka_unit_test(test_cpuid_sc_and_post),
		cmocka_unit_test(test_cpuid_cleared_leaves_cpuid_working),
		cmocka_unit_test(test_detach_enables_rdtsc_again),
		cmocka_unit_test(test_forked_child_loses_the_traps),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
