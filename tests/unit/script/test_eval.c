/* Unit tests of script_eval_expr: the command layer's address arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "script_test_env.h"

static int resolve(void *ud, const char *name, uint64_t *v)
{
	(void)ud;
	if (!strcmp(name, "main")) { *v = 0x401000; return 0; }
	if (!strcmp(name, "libc!malloc")) { *v = 0x7f0000001000; return 0; }
	if (!strcmp(name, "simple!add")) { *v = 0x401200; return 0; }
	return -HD_E_NOSYM;
}

static uint64_t ev(struct tenv *t, const char *e)
{
	uint64_t v = 0xdeadbeef;
	struct script_diag d;
	int rc = script_eval_expr(e, &t->env, resolve, NULL, &v, &d);
	if (rc)
		fail_msg("'%s' failed: %d %s", e, rc, d.msg);
	return v;
}

static void test_numbers(void **state)
{
	struct tenv t;
	(void)state;
	tenv_init(&t);
	assert_int_equal(ev(&t, "10"), 0x10);
	assert_int_equal(ev(&t, "0x10"), 0x10);
	assert_int_equal(ev(&t, "0n10"), 10);
	assert_int_equal(ev(&t, "0y101"), 5);
	assert_int_equal(ev(&t, "0o17"), 15);
	assert_int_equal(ev(&t, "ffff`ffff"), 0xffffffff);
	assert_int_equal(ev(&t, "fffff806`6de00000"), 0xfffff8066de00000ull);
	assert_int_equal(ev(&t, "cafe"), 0xcafe);
	assert_int_equal(ev(&t, "0x1ffffffffffffffff"), 0xffffffffffffffffull);
}

static void test_operators(void **state)
{
	struct tenv t;
	(void)state;
	tenv_init(&t);
	assert_int_equal(ev(&t, "1 + 2 * 3"), 7);
	assert_int_equal(ev(&t, "(1 + 2) * 3"), 9);
	assert_int_equal(ev(&t, "10 - 2 - 3"), 0xb);
	assert_int_equal(ev(&t, "100 / 10 / 2"), 8);
	assert_int_equal(ev(&t, "0n17 % 0n5"), 2);
	assert_int_equal(ev(&t, "1 << 4"), 0x10);
	assert_int_equal(ev(&t, "100 >> 4"), 0x10);
	assert_int_equal(ev(&t, "f0 & 3c"), 0x30);
	assert_int_equal(ev(&t, "f0 | 0f"), 0xff);
	assert_int_equal(ev(&t, "ff ^ 0f"), 0xf0);
	assert_int_equal(ev(&t, "~0"), 0xffffffffffffffffull);
	assert_int_equal(ev(&t, "-1"), 0xffffffffffffffffull);
	assert_int_equal(ev(&t, "- -5"), 5);
	assert_int_equal(ev(&t, "1 | 2 ^ 3 & 4 << 1 + 1"), 3);
}

static void test_registers(void **state)
{
	struct tenv t;
	(void)state;
	tenv_init(&t);
	t.regs[0] = 0x1122334455667788ull;
	t.regs[36] = 0xaabbccddeeff0011ull;
	assert_int_equal(ev(&t, "@rax"), 0x1122334455667788ull);
	assert_int_equal(ev(&t, "rax"), 0x1122334455667788ull);
	assert_int_equal(ev(&t, "eax"), 0x55667788);
	assert_int_equal(ev(&t, "@ax"), 0x7788);
	assert_int_equal(ev(&t, "ah"), 0x77);
	assert_int_equal(ev(&t, "al"), 0x88);
	assert_int_equal(ev(&t, "r8d"), 0xeeff0011);
	assert_int_equal(ev(&t, "@r8w"), 0x0011);
	assert_int_equal(ev(&t, "@r8h"), 0x00);
	assert_int_equal(ev(&t, "@r8l"), 0x11);
	assert_int_equal(ev(&t, "@rsp + 0n16"), 5 + 16);
	/* the environment only ever sees full-register ids */
	assert_int_equal(t.reg_reads_sub, 0);
	t.regs[82] = 0x246;     /* rflags: ZF PF IF */
	assert_int_equal(ev(&t, "@zf"), 1);
	assert_int_equal(ev(&t, "@cf"), 0);
	assert_int_equal(ev(&t, "@pf"), 1);
	assert_int_equal(ev(&t, "@if"), 1);
	assert_int_equal(script_reg_id("r15l"), 75);
	assert_string_equal(script_reg_name(3), "ah");
	assert_int_equal(script_reg_id("nosuch"), -1);
}

static void test_symbols_and_memory(void **state)
{
	struct tenv t;
	static uint64_t cell = 0x1122334455667788ull;
	static uint64_t ptr;
	char e[64];
	(void)state;
	tenv_init(&t);
	assert_int_equal(ev(&t, "main"), 0x401000);
	assert_int_equal(ev(&t, "main+8"), 0x401008);
	assert_int_equal(ev(&t, "libc!malloc"), 0x7f0000001000ull);
	assert_int_equal(ev(&t, "simple!add+0n16"), 0x401210);
	/* `add` alone is a hex number (HyperDbg's hex-word rule) */
	assert_int_equal(ev(&t, "add"), 0xadd);
	snprintf(e, sizeof(e), "poi(%llx)", (unsigned long long)(uintptr_t)&cell);
	assert_int_equal(ev(&t, e), 0x1122334455667788ull);
	snprintf(e, sizeof(e), "db(%llx)", (unsigned long long)(uintptr_t)&cell);
	assert_int_equal(ev(&t, e), 0x88);
	snprintf(e, sizeof(e), "dw(%llx)", (unsigned long long)(uintptr_t)&cell);
	assert_int_equal(ev(&t, e), 0x7788);
	snprintf(e, sizeof(e), "dd(%llx)", (unsigned long long)(uintptr_t)&cell);
	assert_int_equal(ev(&t, e), 0x55667788);
	snprintf(e, sizeof(e), "dq(%llx) + 1", (unsigned long long)(uintptr_t)&cell);
	assert_int_equal(ev(&t, e), 0x1122334455667789ull);
	ptr = (uint64_t)(uintptr_t)&cell;
	t.regs[20] = (uint64_t)(uintptr_t)&ptr;
	assert_int_equal(ev(&t, "poi(poi(@rsp))"), 0x1122334455667788ull);
}

static void test_errors(void **state)
{
	struct tenv t;
	struct script_diag d;
	uint64_t v = 0;
	(void)state;
	tenv_init(&t);
	assert_int_equal(script_eval_expr("nosuch+1", &t.env, resolve, NULL, &v, &d), -HD_E_NOSYM);
	assert_non_null(strstr(d.msg, "nosuch"));
	assert_int_equal(d.col, 1);
	assert_int_equal(script_eval_expr("libc!nope", &t.env, resolve, NULL, &v, &d), -HD_E_NOSYM);
	assert_int_equal(script_eval_expr("1 +", &t.env, resolve, NULL, &v, &d), -HD_E_PARSE);
	assert_string_equal(d.msg, "Syntax Error: Invalid Syntax");
	assert_int_equal(script_eval_expr("1 2", &t.env, resolve, NULL, &v, &d), -HD_E_PARSE);
	assert_int_equal(d.col, 3);
	assert_string_equal(d.text, "1 2");
	assert_int_equal(script_eval_expr("@foo", &t.env, resolve, NULL, &v, &d), -HD_E_PARSE);
	assert_int_equal(script_eval_expr("1 < 2", &t.env, resolve, NULL, &v, &d), -HD_E_PARSE);
	assert_int_equal(script_eval_expr("poi(10)", &t.env, resolve, NULL, &v, &d), -HD_E_RUNTIME);
	assert_non_null(strstr(d.msg, "FUNC_POI"));
	assert_int_equal(script_eval_expr("1 / 0", &t.env, resolve, NULL, &v, &d), -HD_E_RUNTIME);
	/* no environment: registers read 0, memory is inaccessible */
	assert_int_equal(script_eval_expr("@rax + 5", NULL, NULL, NULL, &v, &d), 0);
	assert_int_equal(v, 5);
	assert_int_equal(script_eval_expr("poi(12345678)", NULL, NULL, NULL, &v, &d), -HD_E_RUNTIME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_symbols_and_memory),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
