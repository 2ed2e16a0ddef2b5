/* Unit tests of the lexer stage (white-box: the script layer's internal
 * token interface). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "script/internal.h"

struct lexed {
	struct token t[64];
	int n;
	int rc;
	struct script_diag d;
	struct script_arena a;     /* token strings live here */
};

static void lex_all(const char *src, struct lexed *out)
{
	struct lexer lx;

	script_arena_free(&out->a);
	memset(out, 0, sizeof(*out));
	out->a.alloc = script_default_alloc;
	script_lex_init(&lx, src, NULL, &out->a, &out->d);
	do {
		out->rc = script_lex_next(&lx, &out->t[out->n]);
		if (out->rc < 0)
			break;
	} while (out->t[out->n++].k != T_EOF && out->n < 64);
}

static void test_numbers(void **state)
{
	struct lexed l = {0};
	(void)state;
	lex_all("55 0x55 0n55 0y101 0o17 ffff`ffff 012 0", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.n, 9);
	uint64_t want[] = {0x55, 0x55, 55, 5, 15, 0xffffffff, 0x12, 0};
	for (int i = 0; i < 8; i++) {
		assert_int_equal(l.t[i].k, T_NUM);
		assert_int_equal(l.t[i].v, want[i]);
	}
	lex_all("0t17", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	lex_all("12g", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	script_arena_free(&l.a);
}

static void test_hex_words(void **state)
{
	struct lexed l = {0};
	(void)state;
	lex_all("a face add cf ah bl db printf face_value x_y test int", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t[0].k, T_NUM);
	assert_int_equal(l.t[0].v, 0xa);
	assert_true(l.t[0].hexword);
	assert_int_equal(l.t[1].k, T_NUM);
	assert_int_equal(l.t[2].k, T_NUM);
	assert_int_equal(l.t[2].v, 0xadd);
	assert_int_equal(l.t[3].k, T_REG);      /* cf is a flag register */
	assert_int_equal(l.t[3].v, 85);
	assert_int_equal(l.t[4].k, T_REG);
	assert_int_equal(l.t[5].k, T_REG);
	assert_int_equal(l.t[6].k, T_BUILTIN);  /* db is a built-in */
	assert_int_equal(l.t[7].k, T_BUILTIN);
	assert_int_equal(l.t[8].k, T_IDENT);
	assert_string_equal(l.t[8].s, "face_value");
	assert_int_equal(l.t[9].k, T_IDENT);
	assert_int_equal(l.t[10].k, T_IDENT);
	assert_int_equal(l.t[11].k, T_TYPE);
	lex_all("nt!ExAllocatePoolWithTag libc!malloc", &l);
	assert_int_equal(l.t[0].k, T_IDENT);
	assert_string_equal(l.t[0].s, "nt!ExAllocatePoolWithTag");
	assert_string_equal(l.t[1].s, "libc!malloc");
	script_arena_free(&l.a);
}

static void test_sigils_and_globals(void **state)
{
	struct lexed l = {0};
	(void)state;
	lex_all("@rax @r8d $pid $event_stage = .g s.m & .h (x).y", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t[0].k, T_REG);
	assert_int_equal(l.t[0].v, 0);
	assert_int_equal(l.t[1].v, 37);
	assert_int_equal(l.t[2].k, T_PSEUDO);
	assert_int_equal(l.t[2].v, 0);
	assert_int_equal(l.t[3].v, 13);
	assert_int_equal(l.t[5].k, T_GLOBAL);
	assert_string_equal(l.t[5].s, "g");
	assert_int_equal(l.t[6].k, T_IDENT);    /* s . m: member access */
	assert_int_equal(l.t[7].k, T_DOT);
	assert_int_equal(l.t[9].k, T_AMP);
	assert_int_equal(l.t[10].k, T_GLOBAL);  /* & .h: a global */
	assert_int_equal(l.t[14].k, T_DOT);     /* (x).y */
	lex_all("@foo", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	lex_all("$arg1", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	script_arena_free(&l.a);
}

static void test_strings(void **state)
{
	struct lexed l = {0};
	(void)state;
	lex_all("\"a\\tb\\x41\\\\\\\"\\n\" L\"AB\\x263a\"", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t[0].k, T_STR);
	assert_string_equal(l.t[0].s, "a\tbA\\\"\n");
	assert_int_equal(l.t[1].k, T_WSTR);
	assert_int_equal(l.t[1].slen, 6);
	assert_memory_equal(l.t[1].s, "A\0B\0\x3a\x26", 6);
	lex_all("\"\\q\"", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	lex_all("\"open", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	assert_string_equal(l.d.msg, "Syntax Error: Unknown Token");
	script_arena_free(&l.a);
}

static void test_floats_and_comments(void **state)
{
	struct lexed l = {0};
	double d;
	(void)state;
	lex_all("11.5 .5 11. // x\n /* y */ 0.789", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t[0].k, T_FLOAT);
	memcpy(&d, &l.t[0].v, 8);
	assert_true(d == 11.5);
	memcpy(&d, &l.t[1].v, 8);
	assert_true(d == 0.5);
	memcpy(&d, &l.t[2].v, 8);
	assert_true(d == 11.0);
	assert_int_equal(l.t[3].line, 2);
	assert_int_equal(l.t[3].col, 10);
	lex_all("1..2", &l);
	assert_string_equal(l.d.msg, "Invalid floating-point literal");
	lex_all("1.0f", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	{
		char big[420];
		memset(big, '9', 400);
		strcpy(big + 400, ".0");
		lex_all(big, &l);
		assert_int_equal(l.rc, -HD_E_PARSE);
		assert_string_equal(l.d.msg, "Floating-point literal is out of range");
	}
	lex_all("/* a /* b */ x", &l);
	assert_int_equal(l.rc, 0);
	assert_int_equal(l.t[0].k, T_IDENT);
	lex_all("x /* open", &l);
	assert_int_equal(l.rc, -HD_E_PARSE);
	lex_all("<<= >>= && || -> ++ -- != ==", &l);
	assert_int_equal(l.t[0].k, T_SHLEQ);
	assert_int_equal(l.t[1].k, T_SHREQ);
	assert_int_equal(l.t[2].k, T_ANDAND);
	assert_int_equal(l.t[3].k, T_OROR);
	assert_int_equal(l.t[4].k, T_ARROW);
	assert_int_equal(l.t[5].k, T_INC);
	assert_int_equal(l.t[6].k, T_DEC);
	assert_int_equal(l.t[7].k, T_NE);
	assert_int_equal(l.t[8].k, T_EQ);
	script_arena_free(&l.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_hex_words),
		cmocka_unit_test(test_sigils_and_globals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_floats_and_comments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
