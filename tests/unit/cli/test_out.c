/* Unit tests of hdbg's output (cli_out_*): where text goes, text written
 * exactly (no newline added), --json error and log lines, JSON string
 * escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* Run fn with stdout and stderr redirected to files; return their text. */
static void capture(void (*fn)(struct cli_out *o), struct cli_out *o, char *out, char *err,
		    size_t n)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so = dup(STDOUT_FILENO), se = dup(STDERR_FILENO);
	size_t k;

	assert_non_null(fo);
	assert_non_null(fe);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), STDOUT_FILENO);
	dup2(fileno(fe), STDERR_FILENO);
	fn(o);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	rewind(fo);
	rewind(fe);
	k = fread(out, 1, n - 1, fo);
	out[k] = '\0';
	k = fread(err, 1, n - 1, fe);
	err[k] = '\0';
	fclose(fo);
	fclose(fe);
}

static void write_some(struct cli_out *o)
{
	cli_out_write(o, false, "rax=0000000000000001\n");
	cli_out_write(o, true, "unknown command 'zz'\n");
	/* printf("%d", i) in a loop: written exactly, no newline added */
	cli_out_write(o, false, "0");
	cli_out_write(o, false, "1");
	cli_out_write(o, false, "\ntwo\nlines\n");
	cli_out_error(o, "cannot open '%s'", "x.ds");
	pr_warn("no symbols for %s", "libfoo");
	pr_info("not shown by default");
}

static void test_text(void **state)
{
	struct cli_out o = {0};
	char out[512], err[512];

	(void)state;
	unsetenv("HDBG_LOG");
	cli_out_set_log_sink(&o);
	capture(write_some, &o, out, err, sizeof(out));
	hd_log_set_sink(NULL, NULL, HD_LOG_WARN);
	assert_string_equal(out, "rax=0000000000000001\n01\ntwo\nlines\n");
	assert_string_equal(err, "unknown command 'zz'\n"
				 "hdbg: cannot open 'x.ds'\n"
				 "hdbg: warning: no symbols for libfoo\n");
}

static void test_json(void **state)
{
	struct cli_out o = {.json = true};
	char out[1024], err[512];

	(void)state;
	setenv("HDBG_LOG", "info", 1);
	cli_out_set_log_sink(&o);
	capture(write_some, &o, out, err, sizeof(out));
	hd_log_set_sink(NULL, NULL, HD_LOG_WARN);
	unsetenv("HDBG_LOG");
	/* everything on stdout; the front end's own lines are JSON objects */
	assert_string_equal(err, "");
	assert_string_equal(out,
		"rax=0000000000000001\n"
		"unknown command 'zz'\n"
		"01\ntwo\nlines\n"
		"{\"type\":\"error\",\"message\":\"cannot open 'x.ds'\"}\n"
		"{\"type\":\"log\",\"level\":\"warning\",\"message\":\"no symbols for libfoo\"}\n"
		"{\"type\":\"log\",\"level\":\"info\",\"message\":\"not shown by default\"}\n");
}

static void test_json_string(void **state)
{
	struct hd_buf b = {0};

	(void)state;
	cli_json_string(&b, "a\"b\\c\nd\te\001\x7f" "é");
	assert_string_equal(b.p, "\"a\\\"b\\\\c\\nd\\te\\u0001\x7f" "é\"");
	hd_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
