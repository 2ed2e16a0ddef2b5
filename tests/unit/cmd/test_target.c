/* Commands against a real started target (tests/targets/simple): bad input
 * with a live target changes nothing (memory, registers, breakpoints),
 * breakpoint ids, the repeat line of d* and u, and process exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

#include "cmd_test.h"
#include "target/target.h"

static int open_simple(void **state)
{
	struct capture *c = malloc(sizeof(*c));
	capture_open(c);
	if (access(TARGET("simple"), X_OK) != 0) {
		printf("SKIP: %s not built\n", TARGET("simple"));
		capture_close(c);
		free(c);
		return -1;
	}
	char *argv[] = {(char *)TARGET("simple"), NULL};
	if (cmd_start(c->s, TARGET("simple"), argv) < 0)
		return -1;
	/* run to main, where the libraries are loaded */
	if (capture_exec(c, "bp main") < 0 || capture_exec(c, "g") < 0 || capture_exec(c, "bc 0") < 0)
		return -1;
	*state = c;
	return 0;
}

static int close_simple(void **state)
{
	struct capture *c = *state;
	capture_close(c);
	free(c);
	return 0;
}

/* A snapshot of what bad input must not change. */
struct snap {
	struct user_regs_struct regs;
	uint8_t greeting[16], table[64];
	char bl[4096];
};

static void take(struct capture *c, struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	assert_int_equal(target_regs_get(c->s->t, target_thread_current(c->s->t), &sn->regs), 0);
	uint64_t g, t;
	assert_int_equal(cmd_resolve(c->s, "greeting", &g), 0);
	assert_int_equal(cmd_resolve(c->s, "table", &t), 0);
	assert_int_equal(target_mem_read(c->s->t, g, sn->greeting, sizeof(sn->greeting)), 0);
	assert_int_equal(target_mem_read(c->s->t, t, sn->table, sizeof(sn->table)), 0);
	assert_int_equal(capture_exec(c, "bl"), 0);
	snprintf(sn->bl, sizeof(sn->bl), "%s", hd_buf_str(&c->out));
}

static void test_bad_input_changes_nothing(void **state)
{
	struct capture *c = *state;
	struct snap before, after;
	assert_int_equal(capture_exec(c, "bp simple!add"), 0);
	take(c, &before);
	static const struct {
		const char *line, *err;
	} cases[] = {
		{"bp nosuchsym", "unknown symbol"},
		{"bp nomod!add", "unknown symbol"},
		{"db 0", "cannot read"},
		{"u 0", "cannot read memory at 0000000000000000"},
		{"eb 0 1 2", "cannot write 2 bytes at '0'"},
		{"eb greeting 1 2 zz", "zz"},
		{"eq table 1 nosuch", "nosuch"},
		{"ed table 1 100000000", "value '100000000' does not fit in 4 bytes"},
		{"r rax = nosuch", "nosuch"},
		{"r rax = 12zz", "bad number '12zz'"},
		{"r rax = 10000000000000000", "bad number '10000000000000000': it does not fit in 64 bits"},
		{"eq table 10000000000000001", "bad number '10000000000000001'"},
		{"db 10000000000401162 l 2", "bad number '10000000000401162'"},
		{"q 1", "too many arguments at '1' (usage: q)"},
		{"db poi(0)", "cannot read memory at 0000000000000000 while evaluating 'poi(0)'"},
		{"u poi(8)+1", "cannot read memory at 0000000000000008 while evaluating 'poi(8)+1'"},
		{"eb 10 1", "cannot write 1 bytes at '10' (0000000000000010): address not mapped"},
		{"r nosuchreg = 1", "unknown register 'nosuchreg'"},
		{"r nosuchreg", "unknown register 'nosuchreg'"},
		{"bc 1 2", "no breakpoint '1'"},
		{"bd 0 9", "no breakpoint '9'"},
		{"bp simple!add extra", "too many arguments at 'extra'"},
		{"s -q table l 40", "missing arguments"},
		{"s -q table l 0 1", "length '0' out of range"},
		{"s -q table x 40 1", "expected 'l LEN' at 'x'"},
		{"dq table l 1000000", "count '1000000' out of range"},
		{"k 100", "frame count '100' out of range"},
		{".thread 1", "no thread '1'"},
		{".start /bin/true", "already being debugged"},
		{".attach 1", "already being debugged"},
		{"lm x", "too many arguments at 'x'"},
		{"x", "missing pattern"},
		{"x nomod!zz*", "no symbol matches 'nomod!zz*'"},
		{"? 1 +", "1 +"},
		{"a 0 nop", "cannot write 1 bytes at 0000000000000000"},
		/* an assembly error shows the line and a caret under the column */
		{"a greeting {nop; bogus}",
		 "assembly line 1 column 6: unknown mnemonic 'bogus'\n  nop; bogus\n       ^\n"},
		{"a nosuch nop", "unknown symbol 'nosuch'"},
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
		int rc = capture_exec(c, cases[i].line);
		const char *err = hd_buf_str(&c->err);
		int lines = count_lines(cases[i].err) ? count_lines(cases[i].err) : 1;
		if (rc >= 0 || count_lines(err) != lines || !strstr(err, cases[i].err) ||
		    strncmp(err, "error: ", 7) || *hd_buf_str(&c->out))
			fail_msg("'%s': rc %d, out '%s', err '%s' (want '%s')", cases[i].line, rc,
				 hd_buf_str(&c->out), err, cases[i].err);
	}
	take(c, &after);
	assert_memory_equal(&before.regs, &after.regs, sizeof(before.regs));
	assert_memory_equal(before.greeting, after.greeting, sizeof(before.greeting));
	assert_memory_equal(before.table, after.table, sizeof(before.table));
	assert_string_equal(before.bl, after.bl);
	assert_int_equal(capture_exec(c, "bc all"), 0);
}

static void test_breakpoint_ids(void **state)
{
	struct capture *c = *state;
	assert_int_equal(capture_exec(c, "bp simple!add"), 0);
	assert_string_equal(hd_buf_str(&c->out), "");
	assert_int_equal(capture_exec(c, "bp leaf"), 0);
	assert_int_equal(capture_exec(c, "bp middle"), 0);
	assert_int_equal(capture_exec(c, "bp simple!add"), 0);
	assert_string_equal(hd_buf_str(&c->out), "breakpoint 0 redefined\n");
	assert_int_equal(capture_exec(c, "bc 1"), 0);
	assert_int_equal(capture_exec(c, "bp leaf+1"), 0); /* takes the free id 1 */
	assert_int_equal(capture_exec(c, "bd 2"), 0);
	assert_int_equal(capture_exec(c, "bl"), 0);
	const char *bl = hd_buf_str(&c->out);
	assert_int_equal(count_lines(bl), 3);
	assert_non_null(strstr(bl, " 0 e "));
	assert_non_null(strstr(bl, " 1 e "));
	assert_non_null(strstr(bl, "simple!leaf+0x1\n"));
	assert_non_null(strstr(bl, " 2 d "));
	assert_non_null(strstr(bl, "simple!middle\n"));
	/* disabled: no int3 in memory either way (reads show the original) */
	uint64_t mid;
	assert_int_equal(cmd_resolve(c->s, "middle", &mid), 0);
	assert_false(target_bp_at(c->s->t, mid));
	assert_int_equal(capture_exec(c, "be all"), 0);
	assert_true(target_bp_at(c->s->t, mid));
	assert_int_equal(capture_exec(c, "bc all"), 0);
	assert_false(target_bp_at(c->s->t, mid));
	assert_int_equal(capture_exec(c, "bl"), 0);
	assert_string_equal(hd_buf_str(&c->out), "");
}

static void test_repeat_continues(void **state)
{
	struct capture *c = *state;
	char want[128];
	uint64_t t;
	assert_int_equal(cmd_resolve(c->s, "table", &t), 0);
	assert_int_equal(capture_exec(c, "dq table l 2"), 0);
	snprintf(want, sizeof(want), "dq %llx l 2", (unsigned long long)(t + 16));
	assert_string_equal(cmd_repeat_line(c->s), want);
	/* the repeat line shows the next qwords: table[2], table[3] */
	char *rep = hd_xstrdup(cmd_repeat_line(c->s));
	assert_int_equal(capture_exec(c, rep), 0);
	free(rep);
	snprintf(want, sizeof(want), "%016llx  0000000000000003 0000000000000004\n",
		 (unsigned long long)(t + 16));
	assert_string_equal(hd_buf_str(&c->out), want);

	/* u: the repeat line disassembles from the next instruction on */
	assert_int_equal(capture_exec(c, "u leaf l 2"), 0);
	char second[256] = "";
	const char *o = hd_buf_str(&c->out);
	for (int n = 0; *o; o = strchr(o, '\n') ? strchr(o, '\n') + 1 : o + strlen(o)) {
		size_t len = strcspn(o, "\n");
		if (len > 17 && strspn(o, "0123456789abcdef") == 16 && ++n == 2)
			snprintf(second, sizeof(second), "%.*s", (int)len, o);
	}
	assert_true(second[0]);
	assert_int_equal(capture_exec(c, "u leaf l 1"), 0);
	rep = hd_xstrdup(cmd_repeat_line(c->s));
	assert_int_equal(capture_exec(c, rep), 0);
	free(rep);
	if (!strstr(hd_buf_str(&c->out), second))
		fail_msg("repeat of 'u leaf l 1' printed '%s', want the line '%s'", hd_buf_str(&c->out),
			 second);
	assert_int_equal(capture_exec(c, "r rax"), 0);
	assert_string_equal(cmd_repeat_line(c->s), "r rax");
	assert_int_equal(capture_exec(c, "t"), 0);
	assert_string_equal(cmd_repeat_line(c->s), "t");
	assert_int_equal(capture_exec(c, "bl"), 0);
	assert_null(cmd_repeat_line(c->s));
	assert_int_equal(capture_exec(c, "p"), 0);
	assert_string_equal(cmd_repeat_line(c->s), "p");
}

static void test_exit_status(void **state)
{
	struct capture *c = *state;
	assert_int_equal(cmd_target_exit_status(c->s), -1);
	assert_int_equal(capture_exec(c, "g"), 0);
	assert_non_null(strstr(hd_buf_str(&c->out), "exited with status 0\n"));
	assert_int_equal(cmd_target_exit_status(c->s), 0);
	assert_true(capture_exec(c, "g") < 0);
	assert_string_equal(hd_buf_str(&c->err), "error: no target process (use .start PATH or .attach PID)\n");
}

/* .thread TID switches the thread that registers and $tid refer to. */
static void test_thread_switch(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	char *argv[] = {(char *)TARGET("threads"), (char *)"3", (char *)"100", NULL};
	assert_int_equal(cmd_start(c.s, TARGET("threads"), argv), 0);
	assert_int_equal(capture_exec(&c, "bp step"), 0);
	assert_int_equal(capture_exec(&c, "g"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "breakpoint 0 hit\n"));
	pid_t tids[16], cur = target_thread_current(c.s->t);
	int n = target_threads(c.s->t, tids, 16);
	assert_true(n >= 2);
	pid_t other = tids[0] == cur ? tids[1] : tids[0];
	char line[64], want[128];
	snprintf(line, sizeof(line), ".thread %d", (int)other);
	assert_int_equal(capture_exec(&c, line), 0);
	snprintf(want, sizeof(want), "* %-7d ", (int)other);
	assert_non_null(strstr(hd_buf_str(&c.out), want));
	assert_int_equal(target_thread_current(c.s->t), other);
	assert_int_equal(capture_exec(&c, "? $tid"), 0);
	snprintf(want, sizeof(want), "Evaluate expression: %d = ", (int)other);
	assert_non_null(strstr(hd_buf_str(&c.out), want));
	/* the registers shown are the other thread's */
	struct user_regs_struct r;
	assert_int_equal(target_regs_get(c.s->t, other, &r), 0);
	assert_int_equal(capture_exec(&c, "r rsp"), 0);
	snprintf(want, sizeof(want), "rsp=%016llx\n", r.rsp);
	assert_string_equal(hd_buf_str(&c.out), want);
	assert_int_equal(capture_exec(&c, "bc 0"), 0);
	assert_int_equal(capture_exec(&c, "g"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "exited with status 0\n"));
	capture_close(&c);
}

static struct cmd_session *volatile alarm_session;

/* As the front end's SIGINT handler: only cmd_interrupt, on the thread
 * that traces (ptrace requests are per tracer thread). */
static void on_alarm(int sig)
{
	(void)sig;
	cmd_interrupt(alarm_session);
}

/* Ctrl-C (cmd_interrupt from another context) stops a running `g` and
 * returns to the prompt with the target stopped and usable. */
static void test_interrupt(void **state)
{
	(void)state;
	struct capture c;
	struct sigaction sa, old;
	struct itimerval it = {{0, 0}, {0, 300 * 1000}};
	capture_open(&c);
	char *argv[] = {(char *)TARGET("sleeper"), NULL};
	assert_int_equal(cmd_start(c.s, TARGET("sleeper"), argv), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	alarm_session = c.s;
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(capture_exec(&c, "g"), 0);
	sigaction(SIGALRM, &old, NULL);
	assert_non_null(strstr(hd_buf_str(&c.out), "interrupted\n"));
	assert_non_null(c.s->t);
	assert_int_equal(capture_exec(&c, "bp tick"), 0);
	assert_int_equal(capture_exec(&c, "g"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "breakpoint 0 hit\nsleeper!tick:\n"));
	assert_int_equal(capture_exec(&c, ".kill"), 0);
	assert_null(c.s->t);
	capture_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, open_simple, close_simple),
		cmocka_unit_test_setup_teardown(test_breakpoint_ids, open_simple, close_simple),
		cmocka_unit_test_setup_teardown(test_repeat_continues, open_simple, close_simple),
		cmocka_unit_test_setup_teardown(test_exit_status, open_simple, close_simple),
		cmocka_unit_test(test_thread_switch),
		cmocka_unit_test(test_interrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
