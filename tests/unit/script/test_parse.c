/* Unit tests of the parser stage (white-box: script_parse() and the AST of
 * internal.h). Each script is parsed alone and its AST printed as an
 * s-expression whose shape is compared: precedence and associativity,
 * both expression grammars, statements and their lists, declarations,
 * functions, the hex-word rule, and the position of parse errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "script/internal.h"

static const char *const kind_names[] = {
	[N_NUM] = "num", [N_FLT] = "flt", [N_STR] = "str", [N_WSTR] = "wstr",
	[N_VAR] = "var", [N_REG] = "reg", [N_PSEUDO] = "pseudo", [N_UN] = "un",
	[N_BIN] = "bin", [N_LAND] = "&&", [N_LOR] = "||", [N_CALL] = "call",
	[N_BUILTIN] = "builtin", [N_INDEX] = "index", [N_MEMBER] = "member",
	[N_CAST] = "cast", [N_SIZEOF] = "sizeof", [N_ADDR] = "addr", [N_DEREF] = "deref",
	[N_INITLIST] = "init", [N_ASSIGN] = "assign", [N_INCDEC] = "incdec",
	[N_EXPRSTMT] = "expr", [N_IF] = "if", [N_WHILE] = "while", [N_DO] = "do",
	[N_FOR] = "for", [N_BREAK] = "break", [N_CONTINUE] = "continue",
	[N_RETURN] = "return", [N_DECL] = "decl", [N_PRINTF] = "printf", [N_NOP] = "nop",
};

static const char *const tok_names[] = {
	[T_PLUS] = "+", [T_MINUS] = "-", [T_STAR] = "*", [T_SLASH] = "/", [T_PCT] = "%",
	[T_TILDE] = "~", [T_BANG] = "!", [T_AMP] = "&", [T_PIPE] = "|", [T_CARET] = "^",
	[T_SHL] = "<<", [T_SHR] = ">>", [T_LT] = "<", [T_GT] = ">", [T_LE] = "<=",
	[T_GE] = ">=", [T_EQ] = "==", [T_NE] = "!=", [T_ANDAND] = "&&", [T_OROR] = "||",
	[T_ASSIGN] = "=", [T_ADDEQ] = "+=", [T_SUBEQ] = "-=", [T_MULEQ] = "*=",
	[T_DIVEQ] = "/=", [T_MODEQ] = "%=", [T_SHLEQ] = "<<=", [T_SHREQ] = ">>=",
	[T_ANDEQ] = "&=", [T_OREQ] = "|=", [T_XOREQ] = "^=", [T_INC] = "++", [T_DEC] = "--",
	[T_ARROW] = "->", [T_DOT] = ".",
};

static const char *const ty_names[] = {
	[TY_VOID] = "void", [TY_BOOL] = "bool", [TY_I8] = "i8", [TY_I16] = "i16",
	[TY_I32] = "i32", [TY_I64] = "i64", [TY_U8] = "u8", [TY_U16] = "u16",
	[TY_U32] = "u32", [TY_U64] = "u64", [TY_F32] = "f32", [TY_F64] = "f64",
	[TY_PTR] = "ptr", [TY_ARRAY] = "array", [TY_STRUCT] = "struct",
};

static void pr(struct hd_buf *b, const struct node *n);

/* a child: a list (statements, arguments) in brackets, else the node */
static void pr_child(struct hd_buf *b, const struct node *n)
{
	hd_buf_append(b, " ", 1);
	if (!n) {
		hd_buf_printf(b, "-");
		return;
	}
	if (!n->next) {
		pr(b, n);
		return;
	}
	hd_buf_append(b, "[", 1);
	for (const struct node *m = n; m; m = m->next) {
		pr(b, m);
		if (m->next)
			hd_buf_append(b, " ", 1);
	}
	hd_buf_append(b, "]", 1);
}

static void pr(struct hd_buf *b, const struct node *n)
{
	switch (n->k) {
	case N_NUM:
		hd_buf_printf(b, "%llx", (unsigned long long)n->v);
		return;
	case N_STR:
		hd_buf_printf(b, "\"%s\"", n->s);
		return;
	case N_VAR:
		hd_buf_printf(b, "%s%s", n->var && n->var->global ? "." : "",
			      n->var ? n->var->name : n->s);
		return;
	case N_REG:
		hd_buf_printf(b, "@%s", script_reg_name((int)n->v));
		return;
	case N_PSEUDO:
		hd_buf_printf(b, "$%s", script_pseudo_names[n->v & 15]);
		return;
	case N_BREAK:
	case N_CONTINUE:
	case N_NOP:
		hd_buf_printf(b, "%s", kind_names[n->k]);
		return;
	default:
		break;
	}
	hd_buf_printf(b, "(%s", kind_names[n->k]);
	switch (n->k) {
	case N_UN: case N_BIN: case N_ASSIGN: case N_INCDEC: case N_MEMBER:
		hd_buf_printf(b, " %s", n->op > 0 && (size_t)n->op < HD_ARRAY_SIZE(tok_names) &&
					 tok_names[n->op] ? tok_names[n->op] : "?");
		break;
	case N_BUILTIN:
		hd_buf_printf(b, " %s", script_builtins[n->op].name);
		break;
	case N_CALL:
		hd_buf_printf(b, " %s", n->fn->name);
		break;
	case N_PRINTF:
		hd_buf_printf(b, " \"%s\"", n->s);
		break;
	case N_DECL:
		hd_buf_printf(b, " %s:%s", n->var->name, ty_names[n->var->t->k]);
		break;
	case N_CAST:
		hd_buf_printf(b, " %s", ty_names[n->t->k]);
		break;
	default:
		break;
	}
	if (n->k == N_MEMBER)
		hd_buf_printf(b, " %s", n->s);
	for (const struct node *const *c = (const struct node *const[]){n->a, n->b, n->c, n->d},
				   *const *e = c + 4; c < e; c++) {
		/* trailing empty children are not printed */
		const struct node *const *r = c;
		while (r < e && !*r)
			r++;
		if (r == e)
			break;
		pr_child(b, *c);
	}
	hd_buf_append(b, ")", 1);
}

struct parsed {
	int rc;
	struct script_diag d;
	struct hd_buf ast;
};

/* Parse `src` with a fresh globals set (plus `.known`); the AST of the
 * main body and of each function ("name: body") in p->ast. */
static void parse(const char *src, bool expr_only, struct parsed *p)
{
	struct script_arena a = {script_default_alloc, NULL, NULL, NULL, NULL};
	struct script_globals *g = script_globals_new();
	struct parse_opts o = {.globals = g, .expr_only = expr_only};
	struct parse_result r;

	g->name[0] = hd_xstrdup("known");
	g->kind[0] = TY_U64;
	g->n = 1;
	hd_buf_free(&p->ast);
	memset(p, 0, sizeof(*p));
	p->rc = script_parse(src, &o, &a, &r, &p->d);
	if (p->rc == 0) {
		for (const struct func *f = r.funcs; f; f = f->next) {
			hd_buf_printf(&p->ast, "%s(%d):", f->name, f->np);
			pr_child(&p->ast, f->body);
			hd_buf_printf(&p->ast, "; ");
		}
		hd_buf_printf(&p->ast, "main:");
		pr_child(&p->ast, r.body);
	}
	script_arena_free(&a);
	script_globals_free(g);
}

static void expect_ast(const char *src, const char *want)
{
	struct parsed p = {0};
	parse(src, false, &p);
	if (p.rc != 0)
		fail_msg("'%s': rc %d, %s at %d:%d", src, p.rc, p.d.msg, p.d.line, p.d.col);
	if (strcmp(hd_buf_str(&p.ast), want))
		fail_msg("'%s':\n   got %s\n  want %s", src, hd_buf_str(&p.ast), want);
	hd_buf_free(&p.ast);
}

static void expect_error(const char *src, int line, int col, const char *msg)
{
	struct parsed p = {0};
	parse(src, false, &p);
	if (p.rc != -HD_E_PARSE || p.d.line != line || p.d.col != col || strcmp(p.d.msg, msg))
		fail_msg("'%s': rc %d, '%s' at %d:%d; want '%s' at %d:%d", src, p.rc, p.d.msg,
			 p.d.line, p.d.col, msg, line, col);
	hd_buf_free(&p.ast);
}

static void test_precedence(void **state)
{
	(void)state;
	expect_ast("x = 1 + 2 * 3;", "main: (assign = x (bin + 1 (bin * 2 3)))");
	expect_ast("x = 10 - 2 - 3;", "main: (assign = x (bin - (bin - 10 2) 3))");
	expect_ast("x = (1 + 2) * 3;", "main: (assign = x (bin * (bin + 1 2) 3))");
	expect_ast("x = 1 | 2 ^ 3 & 4 << 1 + 1;",
		   "main: (assign = x (bin | 1 (bin ^ 2 (bin & 3 (bin << 4 (bin + 1 1))))))");
	expect_ast("x = -@rax + ~$pid;", "main: (assign = x (bin + (un - @rax) (un ~ $pid)))");
	/* the hex-word rule: a word of hex digits is a number */
	expect_ast("x = add + cafe;", "main: (assign = x (bin + add cafe))");
	expect_ast("x = poi(@rsp + 8);", "main: (assign = x (builtin poi (bin + @rsp 8)))");
}

static void test_conditions(void **state)
{
	(void)state;
	/* the condition grammar: comparisons, && and || (left to right) */
	expect_ast("if (@rax == 1 && @rdx != 2 || .known > 3) { x = 1; }",
		   "main: (if (|| (&& (bin == @rax 1) (bin != @rdx 2)) (bin > .known 3))"
		   " (assign = x 1))");
	expect_ast("if (1) { x = 1; } elsif (2) { x = 2; } else { x = 3; y = 4; }",
		   "main: (if 1 (assign = x 1) (if 2 (assign = x 2) [(assign = x 3) (assign = y 4)]))");
	expect_ast("x = 0; while (x < 5) { x++; if (x == 3) { break; } }",
		   "main: [(assign = x 0) (while (bin < x 5) [(incdec ++ x) (if (bin == x 3) break)])]");
	expect_ast("x = 0; do { x += 2; if (x > 4) { break; } } while (x < 9);",
		   "main: [(assign = x 0) (do (bin < x 9) [(assign += x 2) (if (bin > x 4) break)])]");
	expect_ast("for (i = 0; i < 3; i++) { while (1) { continue; } }",
		   "main: (for (assign = i 0) (bin < i 3) (incdec ++ i) (while 1 continue))");
	expect_ast("for (i = 0; i < 3; i++) { printf(\"%d\", i); }",
		   "main: (for (assign = i 0) (bin < i 3) (incdec ++ i) (printf \"%d\" i))");
}

static void test_statements(void **state)
{
	(void)state;
	expect_ast("x = y = 5;", "main: [(assign = y 5) (assign = x y)]");
	expect_ast(".known = .known + 1; .fresh = 2;",
		   "main: [(assign = .known (bin + .known 1)) (assign = .fresh 2)]");
	expect_ast("int t[3] = {1, 2, 3}; t[1] = 9;",
		   "main: [(decl t:array - (init [1 2 3])) (assign = (index t 1) 9)]");
	expect_ast("printf(\"%llx %d\\n\", 1, 2); print(3);",
		   "main: [(printf \"%llx %d\n\" [1 2]) (expr (builtin print 3))]");
	expect_ast("x = (unsigned char)0x1ff;", "main: (assign = x (cast u8 1ff))");
	expect_ast("{ x = 1; }", "main: (assign = x 1)");
}

static void test_functions(void **state)
{
	(void)state;
	expect_ast("int twice(int v) { return v * 2; } print(twice(4));",
		   "twice(1): (return (bin * v 2)); main: (expr (builtin print (call twice 4)))");
	expect_ast("void greet() { printf(\"hi\\n\"); } greet();",
		   "greet(0): (printf \"hi\n\"); main: (expr (call greet))");
	/* a function name made of hex digits is a number: an error */
	expect_error("int f1() { return 1; }", 1, 5, "Syntax Error: Invalid Syntax");
}

static void test_expr_only(void **state)
{
	struct parsed p = {0};
	(void)state;
	parse("main_sym + 8", true, &p);
	assert_int_equal(p.rc, -HD_E_NOSYM);   /* no resolver: unknown name */
	parse("poi(@rsp) + 0n16", true, &p);
	assert_int_equal(p.rc, 0);
	assert_string_equal(hd_buf_str(&p.ast), "main: (expr (bin + (builtin poi @rsp) 10))");
	parse("1 = 1", true, &p);       /* one value expression, no statement */
	assert_int_equal(p.rc, -HD_E_PARSE);
	hd_buf_free(&p.ast);
}

static void test_error_positions(void **state)
{
	static char deep[4096];
	(void)state;
	expect_error("x = 1;\ny = 2 +;", 2, 8, "Syntax Error: Invalid Syntax");
	expect_error("x = 1;\n  print(nosuch);", 2, 9, "Syntax Error: Unresolved Variable");
	expect_error("x = nosuch_fn(1);", 1, 5, "Undefined Function");
	expect_error("int nv() { return; }", 1, 18, "Not returning a value in noo-void function");
	expect_error("void vf() { return 1; }", 1, 20, "Returning a value in void function");
	expect_error("printf(\"%d %d\\n\", 1);", 1, 1, "Syntax Error: Invalid Syntax");
	expect_error("x = @cr3;", 1, 5, "Register '@cr3' is not available to a user-mode debugger");
	expect_error("x = 1; break;", 1, 8, "Syntax Error: Invalid Syntax");
	/* the nesting limit: an error, not a stack overflow */
	size_t n = 0;
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "x = ");
	for (int i = 0; i < 1000; i++)
		deep[n++] = '(';
	deep[n++] = '1';
	for (int i = 0; i < 1000; i++)
		deep[n++] = ')';
	snprintf(deep + n, sizeof(deep) - n, ";");
	struct parsed p = {0};
	parse(deep, false, &p);
	assert_int_equal(p.rc, -HD_E_PARSE);
	hd_buf_free(&p.ast);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_expr_only),
		cmocka_unit_test(test_error_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
