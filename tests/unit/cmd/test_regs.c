/* The register table: HyperDbg's names onto user_regs_struct, with
 * sub-registers and flag bits read and written in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "cmd/internal.h"

static void test_subregisters(void **state)
{
	(void)state;
	struct user_regs_struct r;
	uint64_t v;
	memset(&r, 0, sizeof(r));
	r.rax = 0x1122334455667788ULL;
	r.r8 = 0x8877665544332211ULL;
	assert_int_equal(cmd_reg_get(&r, "eax", &v), 0);
	assert_int_equal(v, 0x55667788);
	assert_int_equal(cmd_reg_get(&r, "@ax", &v), 0);
	assert_int_equal(v, 0x7788);
	assert_int_equal(cmd_reg_get(&r, "ah", &v), 0);
	assert_int_equal(v, 0x77);
	assert_int_equal(cmd_reg_get(&r, "al", &v), 0);
	assert_int_equal(v, 0x88);
	assert_int_equal(cmd_reg_get(&r, "r8d", &v), 0);
	assert_int_equal(v, 0x44332211);
	assert_int_equal(cmd_reg_get(&r, "r8w", &v), 0);
	assert_int_equal(v, 0x2211);
	assert_int_equal(cmd_reg_get(&r, "r8l", &v), 0);
	assert_int_equal(v, 0x11);

	assert_int_equal(cmd_reg_put(&r, "ah", 0xab), 0);
	assert_int_equal(r.rax, 0x112233445566ab88ULL);
	assert_int_equal(cmd_reg_put(&r, "@eax", 0xffffffffff), 0); /* truncated to 32 bits */
	assert_int_equal(r.rax, 0x11223344ffffffffULL);
	assert_int_equal(cmd_reg_put(&r, "r8w", 0), 0);
	assert_int_equal(r.r8, 0x8877665544330000ULL);
	assert_int_equal(cmd_reg_put(&r, "spl", 0x5a), 0);
	assert_int_equal(r.rsp, 0x5a);
	assert_int_equal(cmd_reg_put(&r, "rip", 0x401000), 0);
	assert_int_equal(cmd_reg_get(&r, "eip", &v), 0);
	assert_int_equal(v, 0x401000);
}

static void test_flags(void **state)
{
	(void)state;
	struct user_regs_struct r;
	uint64_t v;
	memset(&r, 0, sizeof(r));
	r.eflags = 0x246; /* pf zf if */
	assert_int_equal(cmd_reg_get(&r, "zf", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cmd_reg_get(&r, "cf", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cmd_reg_get(&r, "if", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cmd_reg_put(&r, "cf", 1), 0);
	assert_int_equal(cmd_reg_put(&r, "zf", 0), 0);
	assert_int_equal(r.eflags, 0x207);
	assert_int_equal(cmd_reg_put(&r, "iopl", 3), 0);
	assert_int_equal(cmd_reg_get(&r, "iopl", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(r.eflags, 0x3207);
}

static void test_every_script_gpr_name(void **state)
{
	(void)state;
	/* every general-purpose name the script engine knows maps here */
	static const char *const names[] = {
		"rax", "eax", "ax", "ah", "al", "rcx", "ecx", "cx", "ch", "cl", "rdx", "edx", "dx",
		"dh", "dl", "rbx", "ebx", "bx", "bh", "bl", "rsp", "esp", "sp", "spl", "rbp", "ebp",
		"bp", "bpl", "rsi", "esi", "si", "sil", "rdi", "edi", "di", "dil", "r15", "r15d",
		"r15w", "r15h", "r15l", "rip", "rflags", "cs", "ss",
	};
	struct user_regs_struct r;
	uint64_t v;
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < HD_ARRAY_SIZE(names); i++) {
		assert_true(script_reg_id(names[i]) >= 0);
		assert_int_equal(cmd_reg_get(&r, script_reg_name(script_reg_id(names[i])), &v), 0);
	}
	assert_int_equal(cmd_reg_get(&r, "rzz", &v), -HD_E_NOTFOUND);
	assert_int_equal(cmd_reg_put(&r, "", 1), -HD_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subregisters),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_every_script_gpr_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
