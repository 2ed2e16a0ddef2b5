/* Unit tests of the code generator stage (white-box: script_parse() then
 * script_codegen() and the verifier's stack-depth pass, as script_compile
 * runs them). The bytecode is compared through the disassembler (dump.c)
 * as whole listings: typed opcodes, the fused instructions, jumps, calls,
 * strings and constants; and the errors found only by the code generator
 * carry the position of the offending node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "script/internal.h"

struct generated {
	int rc;                 /* of script_codegen (parse must succeed) */
	struct script_diag d;
	struct hd_buf dump;     /* the listing without its header line */
};

static void gen(const char *src, struct generated *g)
{
	struct script_arena a = {script_default_alloc, NULL, NULL, NULL, NULL};
	struct script_globals *gl = script_globals_new();
	struct parse_opts o = {.globals = gl};
	struct parse_result r;
	struct script_bc *bc = NULL;
	size_t len = 0;
	char msg[128];

	hd_buf_free(&g->dump);
	memset(g, 0, sizeof(*g));
	if (script_parse(src, &o, &a, &r, &g->d) < 0)
		fail_msg("'%s' does not parse: %s at %d:%d", src, g->d.msg, g->d.line, g->d.col);
	g->rc = script_codegen(&r, &a, gl->n, src, &bc, &len, &g->d);
	if (g->rc == 0) {
		struct script_prog p = {len, bc, script_default_alloc, NULL};
		struct hd_buf b = {0};
		if (script_verify_ex(bc, len, true, msg, sizeof(msg), script_default_alloc, NULL) < 0)
			fail_msg("'%s': the verifier rejects the code: %s", src, msg);
		script_prog_dump(&p, &b);
		/* from the second line on, without the padding after a name */
		const char *l = strchr(hd_buf_str(&b), '\n');
		while (l && *++l) {
			const char *e = strchr(l, '\n');
			size_t n = e ? (size_t)(e - l) : strlen(l);
			while (n && l[n - 1] == ' ')
				n--;
			hd_buf_append(&g->dump, l, n);
			hd_buf_append(&g->dump, "\n", 1);
			l = e;
		}
		hd_buf_free(&b);
		script_default_alloc(NULL, bc, len, 0);
	}
	script_arena_free(&a);
	script_globals_free(gl);
}

static void expect_code(const char *src, const char *want)
{
	struct generated g = {0};
	gen(src, &g);
	if (g.rc != 0)
		fail_msg("'%s': codegen rc %d: %s", src, g.rc, g.d.msg);
	if (strcmp(hd_buf_str(&g.dump), want))
		fail_msg("'%s':\n--- got\n%s--- want\n%s", src, hd_buf_str(&g.dump), want);
	hd_buf_free(&g.dump);
}

static void expect_error(const char *src, int line, int col, const char *msg, const char *text)
{
	struct generated g = {0};
	gen(src, &g);
	if (g.rc != -HD_E_PARSE || g.d.line != line || g.d.col != col || strcmp(g.d.msg, msg) ||
	    strcmp(g.d.text, text))
		fail_msg("'%s': rc %d, '%s' at %d:%d in '%s'; want '%s' at %d:%d", src, g.rc, g.d.msg,
			 g.d.line, g.d.col, g.d.text, msg, line, col);
	hd_buf_free(&g.dump);
}

static void test_locals_and_fused_ops(void **state)
{
	(void)state;
	/* implicit locals are unsigned 64-bit: x = a op b on locals is one
	 * three-operand instruction, x = x + k an in-place INCL */
	expect_code("x = 5; y = x + 1; x = x + y; x = x + 7;",
		    "; function\n"
		    "    0  ENTER   0 params, 2 locals, stack 2\n"
		    "    2  PUSHI   5\n"
		    "    3  STL     2\n"
		    "    4  LDL     2\n"
		    "    5  PUSHI   1\n"
		    "    6  ADD\n"
		    "    7  STL     3\n"
		    "    8  ADD3    2 = 2, 3\n"
		    "    9  INCL    2, 7\n"
		    "   11  HALT\n");
}

static void test_typed_operations(void **state)
{
	(void)state;
	/* v0.23 types: an int is sign-extended from 32 bits and divided
	 * signed (DIVS); an implicit variable is unsigned 64-bit (DIVU); a
	 * constant that does not fit 24 bits goes to the constant table */
	expect_code("int sv = 0 - 7; q = sv / 2; u = 0 - 7; w = u / 2; k = 0x123456789;",
		    "; function\n"
		    "    0  ENTER   0 params, 5 locals, stack 2\n"
		    "    2  PUSHI   0\n"
		    "    3  PUSHI   7\n"
		    "    4  SUB\n"
		    "    5  SEXT    32\n"
		    "    6  STL     2\n"
		    "    7  LDL     2\n"
		    "    8  SEXT    32\n"
		    "    9  PUSHI   2\n"
		    "   10  DIVS\n"
		    "   11  STL     3\n"
		    "   12  PUSHI   0\n"
		    "   13  PUSHI   7\n"
		    "   14  SUB\n"
		    "   15  STL     4\n"
		    "   16  LDL     4\n"
		    "   17  PUSHI   2\n"
		    "   18  DIVU\n"
		    "   19  STL     5\n"
		    "   20  PUSHK   0  ; 0x123456789\n"
		    "   21  STL     6\n"
		    "   22  HALT\n");
}

static void test_loop_and_printf(void **state)
{
	(void)state;
	/* the loop is entered at its condition, at the bottom: one fused
	 * compare-and-jump on a local and a small constant; `i++` on a local
	 * is INCL; printf's format goes to the string table */
	expect_code("for (i = 0; i < 3; i++) { printf(\"%d\\n\", i); }",
		    "; function\n"
		    "    0  ENTER   0 params, 1 locals, stack 1\n"
		    "    2  PUSHI   0\n"
		    "    3  STL     2\n"
		    "    4  JMP     10\n"
		    "    5  LDL     2\n"
		    "    6  PRINTF  \"%d\\n\", 1 args\n"
		    "    8  INCL    2, 1\n"
		    "   10  JCLI    5  ; if local 2 <u 3\n"
		    "   12  HALT\n");
}

static void test_function_call(void **state)
{
	(void)state;
	/* a function after main's HALT, the call patched to its ENTER; int
	 * arguments and results are sign-extended from 32 bits; a function
	 * that falls off its end returns 0 */
	expect_code("int twice(int v) { return v * 2; } print(twice(4));",
		    "; function\n"
		    "    0  ENTER   0 params, 0 locals, stack 1\n"
		    "    2  PUSHI   4\n"
		    "    3  SEXT    32\n"
		    "    4  CALL    7\n"
		    "    5  PRINT\n"
		    "    6  HALT\n"
		    "; function\n"
		    "    7  ENTER   1 params, 0 locals, stack 2\n"
		    "    9  LDL     0\n"
		    "   10  SEXT    32\n"
		    "   11  PUSHI   2\n"
		    "   12  MUL\n"
		    "   13  SEXT    32\n"
		    "   14  RET     1\n"
		    "   15  PUSHI   0\n"
		    "   16  RET     1\n");
}

static void test_codegen_errors(void **state)
{
	(void)state;
	/* errors of the type rules, found after parsing, at the node */
	expect_error("float fl = 1.0;\nx = 1;\n  num = fl % 2;", 3, 12,
		     "Unsupported floating-point operation", "  num = fl % 2;");
	expect_error("float fl = 1.0;\nnum = fl << 1;", 2, 10, "Unsupported floating-point operation",
		     "num = fl << 1;");
	expect_error("struct st; x = 1;\nstruct st *p = 0; y = p->m;", 2, 24,
		     "Incomplete struct type cannot be used by value", "struct st *p = 0; y = p->m;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locals_and_fused_ops),
		cmocka_unit_test(test_typed_operations),
		cmocka_unit_test(test_loop_and_printf),
		cmocka_unit_test(test_function_call),
		cmocka_unit_test(test_codegen_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
