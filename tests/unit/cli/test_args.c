/* Unit tests of hdbg's option parsing (cli_parse_args, spec section 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* The version in the top CMakeLists.txt's project() line. */
static void project_version(char *out, size_t n)
{
	FILE *f = fopen(HD_SOURCE_DIR "/CMakeLists.txt", "r");
	char line[256];

	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "project(hdbg VERSION %31[0-9.]", out) == 1)
			break;
	fclose(f);
	assert_true(out[0] && strlen(out) < n);
}

/* Parse a NULL-terminated argv; returns the rc, error text in *err. */
static int parse(struct cli_opts *o, const char **argv, struct hd_buf *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(o, 0, sizeof(*o));
	hd_buf_reset(err);
	return cli_parse_args(o, argc, (char **)argv, err);
}

static void test_actions_in_order(void **state)
{
	const char *argv[] = {"hdbg", "-c", "bp main", "-x", "f1", "-ex", "g", "-x", "f2", "--batch", NULL};
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, argv, &err), 0);
	assert_int_equal(o.n_actions, 4);
	assert_int_equal(o.actions[0].kind, CLI_ACT_CMD);
	assert_string_equal(o.actions[0].text, "bp main");
	assert_int_equal(o.actions[1].kind, CLI_ACT_FILE);
	assert_string_equal(o.actions[1].text, "f1");
	assert_int_equal(o.actions[2].kind, CLI_ACT_CMD);
	assert_string_equal(o.actions[2].text, "g");
	assert_int_equal(o.actions[3].kind, CLI_ACT_FILE);
	assert_string_equal(o.actions[3].text, "f2");
	assert_true(o.batch);
	assert_false(o.json);
	assert_null(o.prog_argv);
	assert_int_equal(o.pid, 0);
	cli_opts_free(&o);
	hd_buf_free(&err);
}

static void test_program_and_its_args(void **state)
{
	const char *argv[] = {"hdbg", "-q", "--json", "./simple", "-c", "10", "--batch", NULL};
	const char *argv2[] = {"hdbg", "--return-child-result", "--", "-weird", "x", NULL};
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, argv, &err), 0);
	assert_true(o.quiet);
	assert_true(o.json);
	assert_false(o.batch);  /* after PROGRAM, everything is the program's */
	assert_int_equal(o.n_actions, 0);
	assert_non_null(o.prog_argv);
	assert_string_equal(o.prog_argv[0], "./simple");
	assert_string_equal(o.prog_argv[1], "-c");
	assert_string_equal(o.prog_argv[2], "10");
	assert_string_equal(o.prog_argv[3], "--batch");
	assert_null(o.prog_argv[4]);
	cli_opts_free(&o);

	assert_int_equal(parse(&o, argv2, &err), 0);
	assert_true(o.return_child_result);
	assert_string_equal(o.prog_argv[0], "-weird");
	assert_string_equal(o.prog_argv[1], "x");
	cli_opts_free(&o);
	hd_buf_free(&err);
}

static void test_pid(void **state)
{
	const char *ok[] = {"hdbg", "-p", "1234", "-c", "k", NULL};
	const char *bad[] = {"hdbg", "-p", "12x", NULL};
	const char *zero[] = {"hdbg", "-p", "0", NULL};
	const char *both[] = {"hdbg", "-p", "77", "./simple", NULL};
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, ok, &err), 0);
	assert_int_equal(o.pid, 1234);
	assert_null(o.prog_argv);
	cli_opts_free(&o);

	assert_int_equal(parse(&o, bad, &err), -EINVAL);
	assert_string_equal(err.p, "-p: '12x' is not a process id");
	cli_opts_free(&o);
	assert_int_equal(parse(&o, zero, &err), -EINVAL);
	assert_string_equal(err.p, "-p: '0' is not a process id");
	cli_opts_free(&o);
	assert_int_equal(parse(&o, both, &err), -EINVAL);
	assert_string_equal(err.p, "-p 77 and a program ('./simple') cannot be used together");
	cli_opts_free(&o);
	hd_buf_free(&err);
}

static void test_usage_errors(void **state)
{
	const char *unknown[] = {"hdbg", "-c", "g", "--frobnicate", "prog", NULL};
	const char *missing_x[] = {"hdbg", "-x", NULL};
	const char *missing_c[] = {"hdbg", "--batch", "-ex", NULL};
	const char *missing_s[] = {"hdbg", "--script", NULL};
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, unknown, &err), -EINVAL);
	assert_string_equal(err.p, "unknown option '--frobnicate'");
	cli_opts_free(&o);
	assert_int_equal(parse(&o, missing_x, &err), -EINVAL);
	assert_string_equal(err.p, "option '-x' needs an argument (FILE)");
	cli_opts_free(&o);
	assert_int_equal(parse(&o, missing_c, &err), -EINVAL);
	assert_string_equal(err.p, "option '-ex' needs an argument (CMD)");
	cli_opts_free(&o);
	assert_int_equal(parse(&o, missing_s, &err), -EINVAL);
	assert_string_equal(err.p, "option '--script' needs an argument (FILE)");
	cli_opts_free(&o);
	hd_buf_free(&err);
}

static void test_script(void **state)
{
	const char *argv[] = {"hdbg", "-c", "lm", "--script", "/tmp/s.ds", "fffff801", "two words",
			"q\"uote", "", "-c", NULL};
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, argv, &err), 0);
	assert_int_equal(o.n_actions, 2);
	assert_string_equal(o.actions[0].text, "lm");
	assert_int_equal(o.actions[1].kind, CLI_ACT_LINE);
	/* the rest of the line belongs to the script, even "-c" */
	assert_string_equal(o.actions[1].text,
			    ".script /tmp/s.ds fffff801 \"two words\" \"q\\\"uote\" \"\" -c");
	assert_null(o.prog_argv);
	cli_opts_free(&o);
	hd_buf_free(&err);
}

static void test_help_version(void **state)
{
	const char *argv[] = {"hdbg", "--version", "--help", NULL};
	char ver[32];
	struct cli_opts o;
	struct hd_buf err = {0};

	(void)state;
	assert_int_equal(parse(&o, argv, &err), 0);
	assert_true(o.version);
	assert_true(o.help);
	assert_non_null(strstr(cli_usage(), "--return-child-result"));
	assert_non_null(strstr(cli_usage(), "-ex"));
	project_version(ver, sizeof(ver));
	assert_string_equal(cli_version(), ver);
	cli_opts_free(&o);
	hd_buf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions_in_order),
		cmocka_unit_test(test_program_and_its_args),
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_help_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
