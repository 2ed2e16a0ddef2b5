/* Command-line tokenizer: every case of HyperDbg's command-parser test file
 * (read at test time from the shared conformance data), plus the token
 * types and the open-brace state used for multi-line input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"

#define CASES HD_SOURCE_DIR "/../shared/conformance/hyperdbg-script/command-parser/command-parser-testcases.txt"

struct tcase {
	struct hd_buf cmd;
	char **tok;
	int ntok;
};

/* The file's format (README section 5): a line of 61 '_' starts a command,
 * a line of 34 '-' separates tokens; lines in between join with "\n". */
static int load_cases(struct tcase **out)
{
	FILE *f = fopen(CASES, "r");
	if (!f)
		return -1;
	char under[62], dash[35];
	memset(under, '_', 61);
	under[61] = 0;
	memset(dash, '-', 34);
	dash[34] = 0;
	struct tcase *v = NULL;
	int n = 0;
	bool in_cmd = false, nl = false;
	struct hd_buf tok = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	for (;;) {
		len = getline(&line, &cap, f);
		if (len >= 0 && len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		bool eof = len < 0;
		if (eof || !strcmp(line, under) || !strcmp(line, dash)) {
			nl = false;
			if (tok.len && n) {
				struct tcase *c = &v[n - 1];
				c->tok = realloc(c->tok, sizeof(char *) * (size_t)(c->ntok + 1));
				c->tok[c->ntok++] = strdup(hd_buf_str(&tok));
				hd_buf_reset(&tok);
			}
			if (eof)
				break;
			if (!strcmp(line, under)) {
				if (n && v[n - 1].cmd.len == 0) {
					/* an empty command is not a case */
				} else {
					v = realloc(v, sizeof(*v) * (size_t)(n + 1));
					memset(&v[n], 0, sizeof(v[n]));
					n++;
				}
				in_cmd = true;
			} else {
				in_cmd = false;
			}
			continue;
		}
		struct hd_buf *b = in_cmd ? &v[n - 1].cmd : &tok;
		if (nl)
			hd_buf_append(b, "\n", 1);
		hd_buf_append(b, line, (size_t)len);
		nl = true;
	}
	if (n && v[n - 1].cmd.len == 0)
		n--;
	free(line);
	hd_buf_free(&tok);
	fclose(f);
	*out = v;
	return n;
}

static void show(const char *what, const char *s)
{
	fprintf(stderr, "%s [", what);
	for (; *s; s++)
		fputs(*s == '\n' ? "\\n" : (char[]){*s, 0}, stderr);
	fprintf(stderr, "]\n");
}

static void test_conformance_cases(void **state)
{
	(void)state;
	struct tcase *v = NULL;
	int n = load_cases(&v);
	if (n < 0) {
		printf("SKIP: %s not found (shared conformance data absent)\n", CASES);
		skip();
	}
	assert_int_equal(n, 290);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		struct cmd_tokens tk;
		const char *cmd = hd_buf_str(&v[i].cmd);
		cmd_tokenize(cmd, &tk);
		bool ok = tk.n == v[i].ntok;
		for (int k = 0; ok && k < tk.n; k++)
			ok = !strcmp(tk.v[k].text, v[i].tok[k]);
		if (!ok) {
			failed++;
			fprintf(stderr, "case %d failed\n", i + 1);
			show("  command", cmd);
			for (int k = 0; k < v[i].ntok; k++)
				show("  expected", v[i].tok[k]);
			for (int k = 0; k < tk.n; k++)
				show("  got     ", tk.v[k].text);
		}
		cmd_tokens_free(&tk);
	}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < v[i].ntok; k++)
			free(v[i].tok[k]);
		free(v[i].tok);
		hd_buf_free(&v[i].cmd);
	}
	free(v);
	printf("command-parser cases: %d passed, %d failed\n", n - failed, failed);
	assert_int_equal(failed, 0);
}

static void test_types_and_blocks(void **state)
{
	(void)state;
	struct cmd_tokens tk;
	cmd_tokenize("? {  x = 1; } \"a b\" word", &tk);
	assert_int_equal(tk.n, 4);
	assert_int_equal(tk.v[0].type, CMD_TOK_WORD);
	assert_int_equal(tk.v[1].type, CMD_TOK_BLOCK);
	assert_string_equal(tk.v[1].text, "  x = 1; ");
	assert_int_equal(tk.v[2].type, CMD_TOK_STRING);
	assert_string_equal(tk.v[2].text, "a b");
	assert_string_equal(tk.v[3].text, "word");
	assert_int_equal(tk.open_braces, 0);
	cmd_tokens_free(&tk);

	cmd_tokenize("? { if (1) {", &tk);
	assert_int_equal(tk.open_braces, 2);
	cmd_tokens_free(&tk);
	assert_true(cmd_needs_more("? { if (1) {"));
	assert_true(cmd_needs_more("? {\n x = 1;"));
	assert_false(cmd_needs_more("? {\n x = 1;\n}"));
	assert_false(cmd_needs_more("db rsp // {"));

	cmd_tokenize("", &tk);
	assert_int_equal(tk.n, 0);
	cmd_tokens_free(&tk);
	cmd_tokenize("   \t  ", &tk);
	assert_int_equal(tk.n, 0);
	cmd_tokens_free(&tk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_cases),
		cmocka_unit_test(test_types_and_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
