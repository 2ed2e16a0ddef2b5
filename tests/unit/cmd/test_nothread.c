/* Commands without a target: dispatch, .help from the command table,
 * completion, repeat-on-enter, `?` in HyperDbg's test mode, and bad input
 * (one error line naming the offending token). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>

#include "cmd_test.h"

static void test_unknown_command(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	assert_true(capture_exec(&c, "frobnicate 1 2") < 0);
	assert_string_equal(hd_buf_str(&c.err), "error: unknown command 'frobnicate'\n");
	assert_string_equal(hd_buf_str(&c.out), "");
	assert_int_equal(capture_exec(&c, ""), 0);
	assert_int_equal(capture_exec(&c, "   // only a comment"), 0);
	assert_string_equal(hd_buf_str(&c.err), "");
	capture_close(&c);
}

static void test_help_from_table(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	assert_int_equal(capture_exec(&c, ".help"), 0);
	/* one line per command of commands.def */
	assert_int_equal(count_lines(hd_buf_str(&c.out)), cmd_table_len);
	assert_non_null(strstr(hd_buf_str(&c.out), "bp ADDR"));
	assert_non_null(strstr(hd_buf_str(&c.out), ".script FILE [ARGS...]"));
	assert_int_equal(capture_exec(&c, ".help db"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "db [ADDR] [l COUNT]"));
	assert_non_null(strstr(hd_buf_str(&c.out), "an empty line repeats it"));
	assert_int_equal(capture_exec(&c, "help quit"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "q\n"));
	assert_true(capture_exec(&c, ".help nosuch") < 0);
	assert_string_equal(hd_buf_str(&c.err), "error: no help for unknown command 'nosuch'\n");
	capture_close(&c);
}

static void collect(void *ud, const char *name)
{
	hd_buf_printf(ud, "%s ", name);
}

static void test_complete(void **state)
{
	(void)state;
	struct hd_buf b = {0};
	cmd_complete("d", collect, &b);
	assert_string_equal(hd_buf_str(&b), "db dw dd dq dc ");
	hd_buf_reset(&b);
	cmd_complete(".s", collect, &b);
	assert_string_equal(hd_buf_str(&b), ".start .script ");
	hd_buf_reset(&b);
	cmd_complete("zz", collect, &b);
	assert_string_equal(hd_buf_str(&b), "");
	hd_buf_free(&b);
}

static void test_eval_test_mode(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	assert_int_equal(capture_exec(&c, "? 10"), 0);
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 16 = 0000000000000010\n");
	assert_int_equal(capture_exec(&c, "? 0n10 + 0y101 + 0o10 + 1`0000"), 0);
	assert_string_equal(hd_buf_str(&c.out),
			    "Evaluate expression: 65559 = 0000000000010017\n");
	assert_int_equal(capture_exec(&c, "EVAL 1"), 0); /* names are case-insensitive */
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 1 = 0000000000000001\n");
	assert_int_equal(capture_exec(&c, "?(2+3)*4"), 0);
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 20 = 0000000000000014\n");
	/* registers read 0 without a target */
	assert_int_equal(capture_exec(&c, "? @rax + 5"), 0);
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 5 = 0000000000000005\n");
	/* whole scripts: globals persist across commands */
	assert_int_equal(capture_exec(&c, "? { .g1 = 0n41; }"), 0);
	assert_int_equal(capture_exec(&c, "? { .g1 = .g1 + 1; printf(\"%d\\n\", .g1); }"), 0);
	assert_string_equal(hd_buf_str(&c.out), "42\n");
	assert_int_equal(capture_exec(&c, "print .g1"), 0);
	assert_non_null(strstr(hd_buf_str(&c.out), "2a"));
	/* memory fails without a target */
	assert_true(capture_exec(&c, "? poi(1000)") < 0);
	assert_int_equal(count_lines(hd_buf_str(&c.err)), 1);
	capture_close(&c);
}

static void test_bad_input_no_target(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	struct {
		const char *line, *err;
	} cases[] = {
		{"db", "error: no target process (use .start PATH or .attach PID)\n"},
		{"g", "error: no target process (use .start PATH or .attach PID)\n"},
		{"db 12zz", "error: bad number '12zz'\n"},
		{"db 10 l", "error: missing count after 'l'\n"},
		{"db 10 x 20", "error: unexpected argument 'x' (expected 'l COUNT')\n"},
		{"u 10 l 0", "error: count '0' out of range (1..0x100000)\n"},
		{"eb 1000", "error: missing value (usage: eb ADDR V1 [V2...])\n"},
		{"eb 1000 100", "error: value '100' does not fit in 1 byte\n"},
		{"ew 1000 10000", "error: value '10000' does not fit in 2 bytes\n"},
		{"s -x 0 l 10 1", "error: unknown search type '-x' (expected -b, -w, -d or -q)\n"},
		{"bp", "error: missing address (usage: bp ADDR)\n"},
		{"bc", "error: missing breakpoint id (usage: bc ID|all)\n"},
		{"bc 7", "error: no breakpoint '7'\n"},
		{"g 1", "error: too many arguments at '1' (usage: g)\n"},
		{"t 1 2", "error: too many arguments at '2' (usage: t [COUNT])\n"},
		{".attach 12ab", "error: bad process id '12ab'\n"},
		{".attach", "error: missing process id (usage: .attach PID)\n"},
		{".start", "error: missing program (usage: .start PATH [ARGS...])\n"},
		{".restart", "error: no program to restart (use .start PATH)\n"},
		{".script /nonexistent/x.ds", "error: cannot open script '/nonexistent/x.ds': No such file or directory\n"},
		{"r rzz = 1", "error: unknown register 'rzz'\n"},
		{"r rax =", "error: missing value after '=' for register 'rax'\n"},
		{"? { x = ; }", "error: script line 1 column 6: Syntax Error: Invalid Syntax: ' x = ; '\n"
				"   x = ; \n"
				"       ^\n"},
		{"?", "error: missing expression after '?'\n"},
		{"x", "error: missing pattern (usage: x PATTERN)\n"},
		{"a", "error: missing address (usage: a ADDR [{ CODE }])\n"},
		{"? { unbalanced", "error: unbalanced '{' in '? { unbalanced'\n"},
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
		int rc = capture_exec(&c, cases[i].line);
		if (rc >= 0 || strcmp(hd_buf_str(&c.err), cases[i].err))
			fail_msg("'%s': rc %d, error output: %s", cases[i].line, rc, hd_buf_str(&c.err));
		assert_string_equal(hd_buf_str(&c.out), "");
	}
	capture_close(&c);
}

static void test_repeat_line(void **state)
{
	(void)state;
	struct capture c;
	capture_open(&c);
	(void)capture_exec(&c, "? 1");
	assert_null(cmd_repeat_line(c.s));
	(void)capture_exec(&c, "t");  /* fails: no target, nothing to repeat */
	assert_null(cmd_repeat_line(c.s));
	capture_close(&c);
}

static void test_script_args(void **state)
{
	(void)state;
	char path[] = "/tmp/hdbg-cmd-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "? $arg1 + $arg2\n"
			   "? {\n"
			   "  printf(\"%x\\n\", $arg2);\n"
			   "}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct capture c;
	capture_open(&c);
	char line[128];
	snprintf(line, sizeof(line), ".script %s 10 0n20", path);
	assert_int_equal(capture_exec(&c, line), 0);
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 36 = 0000000000000024\n"
						"14\n");
	capture_close(&c);
	unlink(path);
}

/* $arg0 is the file name as typed; "$arg1" also rewrites the start of
 * "$arg10" (replacement is textual, in increasing order, as HyperDbg's). */
static void test_script_arg0_and_quirk(void **state)
{
	(void)state;
	char dir[] = "/tmp/hdbg-cmd-test-XXXXXX", old[4096];
	assert_non_null(mkdtemp(dir));
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(dir), 0);
	FILE *f = fopen("1f", "w");
	assert_non_null(f);
	fputs("? $arg0 + $arg1\n? $arg10\n", f);
	fclose(f);
	struct capture c;
	capture_open(&c);
	assert_int_equal(capture_exec(&c, ".script 1f 1"), 0);
	assert_string_equal(hd_buf_str(&c.out), "Evaluate expression: 32 = 0000000000000020\n"
						"Evaluate expression: 16 = 0000000000000010\n");
	capture_close(&c);
	unlink("1f");
	assert_int_equal(chdir(old), 0);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_help_from_table),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_eval_test_mode),
		cmocka_unit_test(test_bad_input_no_target),
		cmocka_unit_test(test_repeat_line),
		cmocka_unit_test(test_script_args),
		cmocka_unit_test(test_script_arg0_and_quirk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
