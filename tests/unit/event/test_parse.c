/*
** test_parse.c: event commands without a target: every generic option and
** its HyperDbg error message, hex block rules, kernel-only commands, the
** `events` listing and e/d/c with HyperDbg's numbering. Every rejected
** command must leave the table exactly as it was.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "event/event.h"
#include "event/internal.h"
#include "helpers.h"

static int run(struct event_table *tab, const char *line, struct hd_buf *out)
{
	struct toks t;
	tokenize(line, &t);
	hd_buf_reset(out);
	int rc = !strcasecmp(t.v[0].text, "events") ? event_events_command(tab, t.v, t.n, out)
						     : event_command(tab, t.v, t.n, 0, NULL, out);
	toks_free(&t);
	return rc;
}

static struct event_table *new_table(void)
{
	struct event_table *tab;
	assert_int_equal(event_table_new(&tab, NULL), 0);
	return tab;
}

static const char *listing(struct event_table *tab)
{
	static struct hd_buf b;
	hd_buf_reset(&b);
	assert_int_equal(run(tab, "events", &b), 0);
	return hd_buf_str(&b);
}

/* cmd / expected output (one line) */
static const char *const bad[][2] = {
	{"!epthook", "incorrect use of the '!epthook'\n"},
	{"!epthook 401000 pid", "err, please specify a value for 'pid'\n"},
	{"!epthook 401000 pid zz", "err, pid is invalid\n"},
	{"!epthook 401000 pid 100000000", "err, pid is invalid\n"},
	{"!epthook 401000 core", "err, please specify a value for 'core'\n"},
	{"!epthook 401000 core -1", "err, core id is invalid\n"},
	{"!epthook 401000 imm maybe", "err, immediate messaging token is invalid\n"},
	{"!epthook 401000 imm", "err, please specify a value for 'imm'\n"},
	{"!epthook 401000 stage middle",
	 "err, the specified execution mode is invalid; you can either choose 'pre' or 'post'\n"},
	{"!epthook 401000 stage", "err, please specify a value for 'stage'\n"},
	{"!epthook 401000 sc maybe",
	 "err, the specified short-circuiting state is invalid; you can either choose 'on' or "
	 "'off'\n"},
	{"!epthook 401000 sc", "err, please specify a value for 'sc'\n"},
	{"!epthook 401000 sc on stage post",
	 "err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make "
	 "sense; it's not supported!\n"},
	{"!epthook 401000 stage all sc on",
	 "err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make "
	 "sense; it's not supported!\n"},
	{"!epthook 401000 stage post",
	 "the utilization of 'post' or 'all' event calling stages is not meaningful for the hidden "
	 "hook; therefore, this command does not support them\n"},
	{"!epthook 401000 sc on",
	 "err, short-circuiting is not supported by '!epthook' (change @rip in a script instead)\n"},
	{"!epthook 401000 buffer", "err, please specify a value for 'buffer'\n"},
	{"!epthook 401000 buffer 1g", "err, buffer size is invalid\n"},
	{"!epthook 401000 buffer 100000000", "err, buffer size is invalid\n"},
	{"!epthook 401000 code {90 9g}", "please enter condition code in a hex notation\n"},
	{"!epthook 401000 condition {zz}", "please enter condition code in a hex notation\n"},
	{"!epthook 401000 code {0x\\x90q}", "please enter condition code in a hex notation\n"},
	{"!epthook 401000 code", "err, please specify a value for 'code' ({ ... })\n"},
	{"!epthook 401000 script", "err, please specify a value for 'script' ({ ... })\n"},
	{"!epthook 401000 code 90", "err, please specify a value for 'code' ({ ... })\n"},
	{"!epthook 401000 output {MyOutput}",
	 "err, the name you entered, not found. Did you use 'output' command to create it?\n"},
	{"!epthook 401000 output {a, b, c, d, e, f}",
	 "err, based on this build of HyperDbg, the maximum input sources for a single event is 0x5 "
	 "sources but you entered 0x6 sources\n"},
	{"!epthook 401000 output { , }", "err, no input found\n"},
	{"!epthook 401000 script {file:/nonexistent/hdbg.ds}",
	 "err, either script file is not found or it's empty\n"},
	{"!epthook 401000 junk", "unknown parameter 'junk'\n"},
	{"!epthook 0", "please choose an address to put the hidden breakpoint on it\n"},
	{"!epthook script { printf(\"x\\n\"); }",
	 "please choose an address to put the hidden breakpoint on it\n"},
	{"!epthook no_such_symbol_anywhere", "err, couldn't resolve error at 'no_such_symbol_anywhere'\n"},
	{"!epthook2 401000", "err, '!epthook2' is not implemented yet in hdbg\n"},
};

static void test_bad_input_changes_nothing(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
		int rc = run(tab, bad[i][0], &out);
		if (rc >= 0 || strcmp(hd_buf_str(&out), bad[i][1]))
			fail_msg("'%s': rc %d, got '%s', want '%s'", bad[i][0], rc, hd_buf_str(&out),
				 bad[i][1]);
		assert_int_equal(event_count(tab), 0);
		assert_string_equal(listing(tab), "no active/disabled events \n");
	}
	/* no id was used up: the next good event is 0 */
	assert_int_equal(run(tab, "!epthook 401000", &out), 0);
	assert_string_equal(listing(tab), "0\t(enabled)\t    !epthook 401000 \n");
	hd_buf_free(&out);
	event_table_free(tab);
}

static void test_asm_and_script_errors_name_the_place(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	assert_true(run(tab, "!epthook 401000 asm code { mov rax, rbx; bogus rax }", &out) < 0);
	assert_non_null(strstr(hd_buf_str(&out), "err, assemble error in the code at line 1"));
	assert_non_null(strstr(hd_buf_str(&out), "bogus"));
	assert_true(run(tab, "!epthook 401000 asm condition { mov rax, }", &out) < 0);
	assert_non_null(strstr(hd_buf_str(&out), "err, assemble error in the condition"));
	assert_true(run(tab, "!epthook 401000 script { x = ; }", &out) < 0);
	/* the message, the source line and a caret under the column */
	assert_string_equal(hd_buf_str(&out),
			    "err, script line 1 column 6: Syntax Error: Invalid Syntax: ' x = ; '\n"
			    "   x = ; \n"
			    "       ^\n");
	assert_int_equal(event_count(tab), 0);
	hd_buf_free(&out);
	event_table_free(tab);
}

/* An assembly error shows the block's line and a caret under the column
 * (drawn from the text as written, without the appended `; ret`); a range
 * error is left to the load address only if that address can change it. */
static void test_asm_error_caret_and_range(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	assert_true(run(tab, "!epthook 401000 asm code { mov rax, rbx; bogus rax }", &out) < 0);
	assert_string_equal(hd_buf_str(&out),
			    "err, assemble error in the code at line 1 column 16: unknown mnemonic "
			    "'bogus'\n"
			    "   mov rax, rbx; bogus rax\n"
			    "                 ^\n");
	assert_true(run(tab, "!epthook 401000 asm code { mov al, 300 }", &out) < 0);
	assert_string_equal(hd_buf_str(&out),
			    "err, assemble error in the code at line 1 column 10: immediate 0x12c "
			    "out of range for a 8-bit operand\n"
			    "   mov al, 300\n"
			    "           ^\n");
	assert_true(run(tab, "!epthook 401000 asm code { mov rax, [rax+0x100000000] }", &out) < 0);
	assert_non_null(strstr(hd_buf_str(&out), "displacement 0x100000000 does not fit"));
	assert_int_equal(event_count(tab), 0);
	/* out of reach from address 0, maybe not from the load address */
	assert_int_equal(run(tab, "!epthook 401000 asm code { jmp 0x7f0000000000 }", &out), 0);
	assert_int_equal(event_count(tab), 1);
	hd_buf_free(&out);
	event_table_free(tab);
}

static const char *const kernel_only[] = {"!msrread", "!msrwrite", "!ioin", "!ioout",
					  "!interrupt", "!dr", "!crwrite", "!mode",
					  "!vmcall", "!xsetbv", "!pmc"};

static void test_kernel_only_commands_answer_one_line(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	char line[128], want[64];
	for (size_t i = 0; i < HD_ARRAY_SIZE(kernel_only); i++) {
		assert_true(event_is_command(kernel_only[i]));
		snprintf(line, sizeof(line), "%s 1 script { printf(\"x\"); }", kernel_only[i]);
		assert_int_equal(run(tab, line, &out), -HD_E_UNSUPPORTED);
		snprintf(want, sizeof(want), "%s does not apply to a user-mode target: ",
			 kernel_only[i]);
		assert_true(!strncmp(hd_buf_str(&out), want, strlen(want)));
		const char *nl = strchr(hd_buf_str(&out), '\n');
		assert_non_null(nl);
		assert_int_equal(nl[1], '\0');
		assert_true(strlen(hd_buf_str(&out)) > strlen(want) + 20);
	}
	assert_int_equal(event_count(tab), 0);
	assert_false(event_is_command("!nosuch"));
	assert_false(event_is_command("bp"));
	assert_true(event_is_command("!EPTHOOK"));
	hd_buf_free(&out);
	event_table_free(tab);
}

static void expect_hex(const char *text, const uint8_t *want, size_t n)
{
	uint8_t *b = NULL;
	size_t len = 0;
	if (event_hex_block(text, &b, &len) < 0)
		fail_msg("hex block '%s' rejected", text);
	if (len != n || memcmp(b, want, n))
		fail_msg("hex block '%s': %zu bytes", text, len);
	free(b);
}

static void test_hex_block_rules(void **state)
{
	(void)state;
	expect_hex("90 90 90", (const uint8_t[]){0x90, 0x90, 0x90, 0xc3}, 4);
	expect_hex("0x9090", (const uint8_t[]){0x90, 0x90, 0xc3}, 3);
	expect_hex("\\x90\\x91", (const uint8_t[]){0x90, 0x91, 0xc3}, 3);
	expect_hex("X90", (const uint8_t[]){0x90, 0xc3}, 2);
	expect_hex("9", (const uint8_t[]){0x09, 0xc3}, 2);       /* odd: leading 0 */
	expect_hex("", (const uint8_t[]){0xc3}, 1);               /* just the ret */
	expect_hex("488B5A404881FB484442477402EB0848C7424048444232C3",
		   (const uint8_t[]){0x48, 0x8B, 0x5A, 0x40, 0x48, 0x81, 0xFB, 0x48, 0x44, 0x42,
				     0x47, 0x74, 0x02, 0xEB, 0x08, 0x48, 0xC7, 0x42, 0x40, 0x48,
				     0x44, 0x42, 0x32, 0xC3, 0xC3},
		   25);
	uint8_t *b;
	size_t len;
	assert_true(event_hex_block("9g", &b, &len) < 0);
	assert_true(event_hex_block("0x0x90", &b, &len) < 0);
}

static void test_numbers_are_hex_by_default(void **state)
{
	(void)state;
	uint64_t v;
	uint32_t w;
	assert_true(event_parse_u64("10", &v) && v == 0x10);
	assert_true(event_parse_u64("0n10", &v) && v == 10);
	assert_true(event_parse_u64("0x1`0000", &v) && v == 0x10000);
	assert_true(event_parse_u64("0y101", &v) && v == 5);
	assert_false(event_parse_u64("", &v));
	assert_false(event_parse_u64("0x", &v));
	assert_false(event_parse_u64("12z", &v));
	assert_true(event_parse_u32("ffffffff", &w) && w == 0xffffffffu);
	assert_false(event_parse_u32("100000000", &w));
}

static void test_listing_and_numbering(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	assert_int_equal(run(tab, "!epthook 401000", &out), 0);
	assert_string_equal(hd_buf_str(&out), "");
	assert_int_equal(run(tab, "!epthook 401010 pid 1234 core 1 imm no buffer 100 code {90}",
			     &out), 0);
	assert_int_equal(run(tab, "!epthook 401020 script { printf(\"%llx\\n\", $context); } "
			     "asm condition { mov rax, 1 }", &out), 0);
	assert_int_equal(run(tab, "!EPTHOOK 401030 condition {4831c0} code {90} "
			     "script { print(1); print(2); print(3); print(4); }", &out), 0);
	assert_string_equal(listing(tab),
		"0\t(enabled)\t    !epthook 401000 \n"
		"1\t(enabled)\t    !epthook 401010 pid 1234 core 1 imm no buffer 100 code {90} \n"
		"2\t(enabled)\t    !epthook 401020 script { printf(\"%llx\\n\", $context); } asm "
		"condition {...\n"
		"3\t(enabled)\t    !EPTHOOK 401030 condition {4831c0} code {90} script { print(1); "
		"print(...\n");
	assert_int_equal(event_count(tab), 4);

	assert_int_equal(run(tab, "events d 1", &out), 0);
	assert_int_equal(run(tab, "events d 3", &out), 0);
	assert_true(!strncmp(listing(tab), "0\t(enabled)\t    !epthook 401000 \n1\t(disabled)", 33));
	assert_non_null(strstr(listing(tab), "3\t(disabled)"));
	assert_int_equal(run(tab, "events e all", &out), 0);
	assert_null(strstr(listing(tab), "disabled"));
	assert_int_equal(run(tab, "events d all", &out), 0);
	assert_null(strstr(listing(tab), "(enabled)"));
	assert_int_equal(run(tab, "events e 3", &out), 0);
	assert_non_null(strstr(listing(tab), "3\t(enabled)"));

	/* clearing keeps the numbering going */
	assert_int_equal(run(tab, "events c 0", &out), 0);
	assert_int_equal(run(tab, "events c 2", &out), 0);
	assert_int_equal(event_count(tab), 2);
	assert_int_equal(run(tab, "!epthook 401040", &out), 0);
	assert_true(!strncmp(listing(tab), "1\t(disabled)", 12));
	assert_non_null(strstr(listing(tab), "\n4\t(enabled)\t    !epthook 401040 \n"));

	/* `events c all` restarts at 0 */
	assert_int_equal(run(tab, "events c all", &out), 0);
	assert_string_equal(listing(tab), "no active/disabled events \n");
	assert_int_equal(run(tab, "!epthook 401050", &out), 0);
	assert_string_equal(listing(tab), "0\t(enabled)\t    !epthook 401050 \n");
	hd_buf_free(&out);
	event_table_free(tab);
}

static void test_events_command_errors(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	assert_int_equal(run(tab, "!epthook 401000", &out), 0);
	const char *const cases[][2] = {
		{"events x 0", "incorrect use of the 'events'\n\n"},
		{"events e", "incorrect use of the 'events'\n\n"},
		{"events e 0 1", "incorrect use of the 'events'\n\n"},
		{"events e zz", "please specify a correct hex value for tag id (event number)\n\n"},
		{"events d 5", "err, tag id is invalid (event 0x5 not found)\n"},
		{"events sc maybe", "incorrect use of the 'events'\n\n"},
		{"events sc on",
		 "err, short-circuiting is only possible while the target is paused by an event\n"},
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
		assert_true(run(tab, cases[i][0], &out) < 0);
		if (strncmp(hd_buf_str(&out), cases[i][1], strlen(cases[i][1])))
			fail_msg("'%s': got '%s'", cases[i][0], hd_buf_str(&out));
		assert_string_equal(listing(tab), "0\t(enabled)\t    !epthook 401000 \n");
	}
	hd_buf_free(&out);
	event_table_free(tab);
}

static void test_script_file_is_loaded(void **state)
{
	(void)state;
	struct event_table *tab = new_table();
	struct hd_buf out = {0};
	char path[] = "/tmp/hdbg-event-XXXXXX", line[128];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "printf(\"hit\\n\");\n", 17), 17);
	close(fd);
	snprintf(line, sizeof(line), "!epthook 401000 script {file:%s}", path);
	assert_int_equal(run(tab, line, &out), 0);
	assert_int_equal(event_count(tab), 1);
	/* a bad script in a file is rejected like an inline one */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "x = ;", 5), 5);
	close(fd);
	assert_true(run(tab, line, &out) < 0);
	assert_true(!strncmp(hd_buf_str(&out), "err, script line 1", 18));
	assert_int_equal(event_count(tab), 1);
	unlink(path);
	hd_buf_free(&out);
	event_table_free(tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input_changes_nothing),
		cmocka_unit_test(test_asm_and_script_errors_name_the_place),
		cmocka_unit_test(test_asm_error_caret_and_range),
		cmocka_unit_test(test_kernel_only_commands_answer_one_line),
		cmocka_unit_test(test_hex_block_rules),
		cmocka_unit_test(test_numbers_are_hex_by_default),
		cmocka_unit_test(test_listing_and_numbering),
		cmocka_unit_test(test_events_command_errors),
		cmocka_unit_test(test_script_file_is_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
