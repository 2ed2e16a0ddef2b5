/*
** test_kinds_syscall.c: !syscall and !sysret on real processes: the seccomp
** filter traps exactly the wanted number (N getppid -> N stops and events,
** getpid untouched), context = number, @rax = number in the pre stage,
** sc skips the syscall with the script's @rax as its result, the post
** stage sees the kernel's result, !sysret, the re-issue after custom code,
** and leaving no trace on an attached process (its syscalls still work
** after detach: no ENOSYS).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "test_kinds_sess.h"

#define NR_GETPPID 0x6e

static void test_syscall_fires_exactly_for_the_number(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "5");
	cmd(&s, "!syscall getppid script { printf(\"sc %llx rax=%llx\\n\", $context, @rax); }",
	    NULL);
	assert_true(target_seccomp_filters(s.t) >= 1);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "sys ok=5 last=%d pid_ok=3\n", (int)getpid());
	assert_string_equal(output(&s), want);
	assert_int_equal(count(hd_buf_str(&s.sink), "sc 6e rax=6e\n"), 5);
	assert_int_equal(count(hd_buf_str(&s.sink), "sc "), 5);
	/* one stop per getppid; getpid (and everything else) not trapped */
	assert_int_equal(s.nstops[TARGET_STOP_SYSCALL], 5);
	assert_int_equal(s.nstops[TARGET_STOP_SYSCALL_EXIT], 0);
	end(&s);
}

static void test_syscall_by_hex_number_and_all(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sys", "3");
	cmd(&s, "!syscall 6e script { printf(\"a\\n\"); }", NULL);
	cmd(&s, "!syscall script { if ($context == 27) { printf(\"getpid\\n\"); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(count(hd_buf_str(&s.sink), "a\n"), 3);
	assert_int_equal(count(hd_buf_str(&s.sink), "getpid\n"), 6); /* syscall() and getpid() */
	assert_true(s.nstops[TARGET_STOP_SYSCALL] > 6); /* all syscalls now */
	end(&s);
}

static void test_sc_skips_with_the_scripts_rax(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sys", "4");
	cmd(&s, "!syscall getppid sc on script { @rax = 1234; }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* 0x1234: the kernel never ran getppid */
	assert_string_equal(output(&s), "sys ok=0 last=4660 pid_ok=3\n");
	end(&s);
}

static void test_event_sc_decides_per_call(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "4");
	/* skip only the first two calls, counted in a global */
	global_set(&s, ".n = 0;");
	cmd(&s, "!syscall getppid script { .n = .n + 1; if (.n <= 2) { @rax = 7; event_sc(1); } }",
	    NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "sys ok=2 last=%d pid_ok=3\n", (int)getpid());
	assert_string_equal(output(&s), want);
	end(&s);
}

static void test_post_stage_sees_the_result(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "3");
	cmd(&s, "!syscall getppid stage post script { printf(\"post %llx %x %llx\\n\", $context, "
		"$event_stage, @rax); }", NULL);
	cmd(&s, "!syscall getppid stage all script { printf(\"all %x\\n\", $event_stage); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "post 6e 1 %x\n", (unsigned)getpid());
	assert_int_equal(count(hd_buf_str(&s.sink), want), 3);
	assert_int_equal(count(hd_buf_str(&s.sink), "all 0\n"), 3);
	assert_int_equal(count(hd_buf_str(&s.sink), "all 1\n"), 3);
	assert_int_equal(s.nstops[TARGET_STOP_SYSCALL_EXIT], 3);
	end(&s);
}

static void test_post_stage_can_change_the_result(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sys", "2");
	cmd(&s, "!syscall getppid stage post script { @rax = 0n99; }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "sys ok=0 last=99 pid_ok=3\n");
	end(&s);
}

static void test_sysret_after_the_kernel(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "3");
	cmd(&s, "!sysret getppid script { printf(\"ret %llx %llx\\n\", $context, @rax); }", NULL);
	cmd(&s, "!syscall getppid stage post script { printf(\"post\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "ret 6e %x\n", (unsigned)getpid());
	assert_int_equal(count(hd_buf_str(&s.sink), want), 3);
	/* the !syscall post pass comes first, then !sysret, on the same exit */
	assert_int_equal(count(hd_buf_str(&s.sink), "post\nret"), 3);
	/* 3 exit stops, each reported twice: the !sysret pass is a re-queued report */
	assert_int_equal(s.nstops[TARGET_STOP_SYSCALL_EXIT], 6);
	end(&s);
}

/* Custom code runs in the target and so consumes the syscall stop: the
 * syscall is issued again afterwards (once: no second event), unless sc. */
static void test_custom_code_then_the_syscall_runs(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "3");
	/* mov qword [rdx], 0x539: GUEST_REGS.rax = 1337 */
	cmd(&s, "!syscall getppid code {48C70239050000} script { printf(\"e\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "sys ok=3 last=%d pid_ok=3\n", (int)getpid());
	assert_string_equal(output(&s), want);
	assert_int_equal(count(hd_buf_str(&s.sink), "e\n"), 3);
	end(&s);
}

/* ... and its exit still runs the post stage and !sysret, once each. */
static void test_custom_code_then_post_and_sysret(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "3");
	cmd(&s, "!syscall getppid code {48C70239050000} script { printf(\"pre\\n\"); }", NULL);
	cmd(&s, "!syscall getppid stage post script { printf(\"post\\n\"); }", NULL);
	cmd(&s, "!sysret getppid script { if (@rax == 0n1337) { printf(\"r bad\\n\"); } else { "
		"printf(\"r ok\\n\"); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "sys ok=3 last=%d pid_ok=3\n", (int)getpid());
	assert_string_equal(output(&s), want);
	assert_int_equal(count(hd_buf_str(&s.sink), "pre\npost\nr ok\n"), 3);
	assert_int_equal(count(hd_buf_str(&s.sink), "\n"), 9);
	end(&s);
}

static void test_custom_code_with_sc_sets_the_result(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sys", "3");
	cmd(&s, "!syscall getppid sc on code {48C70239050000}", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "sys ok=0 last=1337 pid_ok=3\n");
	end(&s);
}

static void test_break_then_go(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sys", "2");
	cmd(&s, "!syscall getppid", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.breaks),
			    "event 0x0 triggered (pre)\nevent 0x0 triggered (pre)\n");
	end(&s);
}

static void test_disabled_event_lets_calls_through(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	start(&s, "sys", "3");
	cmd(&s, "!syscall getppid script { printf(\"x\\n\"); }", NULL);
	cmd(&s, "events d 0", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "sys ok=3 last=%d pid_ok=3\n", (int)getpid());
	assert_string_equal(output(&s), want);
	assert_int_equal(count(hd_buf_str(&s.sink), "x\n"), 0);
	end(&s);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	start(&s, "sys", "1");
	assert_true(cmd(&s, "!syscall nosuchcall", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, unknown system call 'nosuchcall' for '!syscall'\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!syscall 6e 6f", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "unknown parameter '6f'\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!sysret 100000000", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, the system call number '100000000' is invalid\n");
	assert_int_equal(event_count(s.tab), 0);
	assert_int_equal(target_seccomp_filters(s.t), 0); /* nothing installed */
	hd_buf_free(&out);
	end(&s);
}

/* ---- attached: syscall stops, nothing left after detach ---- */

/* One line to the "wait" program: every syscall stops now; run until it is
 * back in read() after its getppid (its answer written); all-stop. */
static void attached_round(struct sess *s, char *line, size_t cap)
{
	struct target_stop st;
	bool seen = false;
	assert_int_equal(target_resume_all(s->t), 0);
	assert_int_equal(write(s->in, "x\n", 2), 2);
	for (;;) {
		struct event_verdict v = {0};
		assert_int_equal(target_wait(s->t, &st), 0);
		assert_int_equal(event_handle_stop(s->tab, s->t, &st, &v), 0);
		hd_buf_free(&v.text);
		assert_int_equal(v.kind, EVENT_VERDICT_RESUMED);
		if (st.kind == TARGET_STOP_SYSCALL && st.sysno == NR_GETPPID)
			seen = true;
		if (seen && st.kind == TARGET_STOP_SYSCALL && st.sysno == SYS_read)
			break;
	}
	read_line(s->out, line, cap);
	assert_int_equal(target_stop_all(s->t), 0);
}

static void test_attached_leaves_no_trace(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	char line[64], want[64];
	int in, fd;
	pid_t pid = spawn_wait("wait", &in, &fd);
	sess_attach(&s, pid, in, fd);
	int rc = cmd(&s, "!syscall getppid sc on script { @rax = 0n77; }", &out);
	if (rc < 0) {
		/* a target layer without syscall-stop tracing: one clear line */
		assert_string_equal(hd_buf_str(&out),
				    "err, !syscall on an attached process needs syscall-stop tracing, "
				    "which this build's target layer lacks (a seccomp filter cannot be "
				    "removed at detach)\n");
		assert_int_equal(event_count(s.tab), 0);
		print_message("PARTLY SKIPPED: syscall-stop tracing is not in the target layer yet\n");
	} else {
		/* while attached: the call is skipped with 77 */
		attached_round(&s, line, sizeof(line));
		assert_string_equal(line, "got 77 tsc=1");
		/* the post stage and !sysret through the exit stop */
		cmd(&s, "events c 0", NULL);
		cmd(&s, "!syscall getppid stage post script { @rax = 0n55; }", NULL);
		cmd(&s, "!sysret getppid script { printf(\"r %llx\\n\", @rax); }", NULL);
		attached_round(&s, line, sizeof(line));
		assert_string_equal(line, "got 55 tsc=1");
		assert_string_equal(hd_buf_str(&s.sink), "r 37\n");
	}
	assert_int_equal(target_seccomp_filters(s.t), 0);
	sess_detach(&s);
	/* detached: getppid works (no ENOSYS), returns the real parent */
	assert_int_equal(write(in, "x\n", 2), 2);
	read_line(fd, line, sizeof(line));
	snprintf(want, sizeof(want), "got %d tsc=1", (int)getpid());
	assert_string_equal(line, want);
	spawn_end(pid, in, fd);
	hd_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_fires_exactly_for_the_number),
		cmocka_unit_test(test_syscall_by_hex_number_and_all),
		cmocka_unit_test(test_sc_skips_with_the_scripts_rax),
		cmocka_unit_test(test_event_sc_decides_per_call),
		cmocka_unit_test(test_post_stage_sees_the_result),
		cmocka_unit_test(test_post_stage_can_change_the_result),
		cmocka_unit_test(test_sysret_after_the_kernel),
		cmocka_unit_test(test_custom_code_then_the_syscall_runs),
		cmocka_unit_test(test_custom_code_then_post_and_sysret),
		cmocka_unit_test(test_custom_code_with_sc_sets_the_result),
		cmocka_unit_test(test_break_then_go),
		cmocka_unit_test(test_disabled_event_lets_calls_through),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_attached_leaves_no_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
