/* Unit tests of the bytecode: disassembly, position independence, the
 * verifier, the step budget and the interrupt flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "script_test_env.h"

static struct script_prog *compile(const char *src, struct script_globals *g)
{
	struct script_compile_opts o = {.sz = sizeof(o), .globals = g};
	struct script_prog *p = NULL;
	struct script_diag d;
	if (script_compile(src, &o, &p, &d))
		fail_msg("compile failed: %s", d.msg);
	return p;
}

static void test_dump(void **state)
{
	struct script_prog *p = compile("x = 5; if (x < 7) { printf(\"%d\\n\", x + 1); } x = 0x123456789;", NULL);
	struct hd_buf b = {0};
	const char *s;
	(void)state;
	script_prog_dump(p, &b);
	s = hd_buf_str(&b);
	assert_non_null(strstr(s, "; bytecode v1:"));
	assert_non_null(strstr(s, "ENTER   0 params, 1 locals"));
	assert_non_null(strstr(s, "PUSHI   5"));
	assert_non_null(strstr(s, "JCLI    11  ; if local 2 >=u 7"));
	assert_non_null(strstr(s, "PRINTF  \"%d\\n\", 1 args"));
	assert_non_null(strstr(s, "PUSHK   0  ; 0x123456789"));
	assert_non_null(strstr(s, "HALT"));
	hd_buf_free(&b);
	script_prog_free(p);
}

static void test_relocation(void **state)
{
	struct script_globals *g = script_globals_new();
	struct script_prog *p = compile(".acc = 0; for (i = 0; i < 0n10; i++) { .acc += i; } "
					"printf(\"%d %d\\n\", strlen(\"abcd\"), .acc);", g);
	size_t len;
	const void *bc = script_prog_bytecode(p, &len);
	uint64_t *copy = malloc(len + 64);
	struct tenv t;
	char err[128];
	char msg[128];
	(void)state;
	memcpy(copy + 8, bc, len);
	script_prog_free(p);     /* the copy must not refer to the original */
	assert_int_equal(script_bytecode_verify(copy + 8, len, msg, sizeof(msg)), 0);
	tenv_init(&t);
	assert_int_equal(script_exec_bytecode(copy + 8, &t.env, script_globals_slots(g), err, sizeof(err)), 0);
	assert_string_equal(t.out, "4 45\n");
	assert_int_equal(script_globals_slots(g)[0], 45);
	free(copy);
	script_globals_free(g);
}

static void corrupt_and_check(const char *src, int word_from_end, uint32_t value, const char *what)
{
	struct script_prog *p = compile(src, NULL);
	size_t len;
	const uint32_t *bc = script_prog_bytecode(p, &len);
	uint32_t *copy = malloc(len);
	char msg[128] = "";
	/* header: magic, version, size, k_off, nk, code_off, ncode, ... */
	uint32_t code_off = bc[5], ncode = bc[6];
	memcpy(copy, bc, len);
	if (script_bytecode_verify(copy, len, msg, sizeof(msg)))
		fail_msg("%s", msg);
	if (word_from_end >= 0 && value == 0xffffffffu) {
		uint32_t *wp = &copy[code_off / 4 + ncode - 1 - (uint32_t)word_from_end];
		*wp = (*wp & 0xff) | (500u << 8);       /* same opcode, operand 500 */
	} else if (word_from_end >= 0)
		copy[code_off / 4 + ncode - 1 - (uint32_t)word_from_end] = value;
	else
		copy[-word_from_end - 1] = value;
	if (script_bytecode_verify(copy, len, msg, sizeof(msg)) != -HD_E_RUNTIME)
		fail_msg("corruption not detected (%s)", what);
	if (!strstr(msg, what))
		fail_msg("expected '%s' in '%s'", what, msg);
	free(copy);
	script_prog_free(p);
}

static void test_verifier(void **state)
{
	(void)state;
	/* last word is HALT; the one before is STL of x */
	corrupt_and_check("x = 1;", 0, 0xee, "unknown opcode");
	corrupt_and_check("x = 1;", 1, 0x7f00 | 8 /* STL 127 */, "local slot");
	corrupt_and_check("x = 1;", 2, 5 /* POP instead of PUSHI: underflow */, "stack underflow");
	corrupt_and_check("x = 1; while (x) { x = 0; }", 1, 0xffffffffu /* JNZ 500 */, "jump target");
	corrupt_and_check("x = 1;", -2 /* version */, 99, "bad header");
	corrupt_and_check("x = 1;", 0, 0 /* NOP: falls off the end */, "falls off");
}

static void test_step_budget(void **state)
{
	struct tenv t;
	char err[128];
	struct script_diag d;
	struct script_globals *g = script_globals_new();
	(void)state;
	tenv_init(&t);
	/* 100,000 iterations fit into 1,000,000 steps; 10,000,000 do not */
	assert_int_equal(tenv_run(&t, g, "for (i = 0; i < 0n100000; i++) { } print(i);", &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "186a0\n");
	assert_int_equal(tenv_run(&t, g, "for (i = 0; i < 0n10000000; i++) { }", &d, err, sizeof(err)), -HD_E_LIMIT);
	assert_string_equal(err, "err, exceeding the max execution count");
	script_globals_free(g);
}

static void test_interrupt(void **state)
{
	struct tenv t;
	char err[128];
	struct script_diag d;
	volatile int flag = 1;
	(void)state;
	tenv_init(&t);
	t.env.interrupt = &flag;
	assert_int_equal(tenv_run(&t, NULL, "print(1); i = 0; while (i < 5) { i++; } print(2);", &d, err, sizeof(err)),
			 -HD_E_INTERRUPTED);
	assert_string_equal(t.out, "1\n");
	flag = 0;
	assert_int_equal(tenv_run(&t, NULL, "i = 0; while (i < 5) { i++; } print(i);", &d, err, sizeof(err)), 0);
}

static void test_stack_limit(void **state)
{
	struct tenv t;
	char err[128];
	struct script_diag d;
	(void)state;
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, NULL, "int r(int n) { if (n == 0) { return 0; } return r(n - 1) + 1; } print(r(0n40));",
				  &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "28\n");
	assert_int_equal(tenv_run(&t, NULL, "int r(int n) { return r(n + 1); } r(0);", &d, err, sizeof(err)),
			 -HD_E_LIMIT);
	assert_string_equal(err, "err, stack buffer overflow");
}

/* a long script: thousands of branches verify and run */
static void test_big_script(void **state)
{
	size_t cap = 64 + 3000 * 32;
	char *src = malloc(cap);
	struct tenv t;
	struct script_diag d;
	char err[64];
	(void)state;
	strcpy(src, "x = 0;");
	for (int i = 0; i < 3000; i++)
		strcat(src, " if (x == 1) { x = 2; } x++;");
	strcat(src, " print(x);");
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, NULL, src, &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "bb9\n");   /* 3000 + 1: one jump to 2 */
	free(src);
}

struct failing {
	int left;               /* allocations before the failure */
	int live;               /* outstanding blocks */
};

static void *failing_alloc(void *ud, void *p, size_t oldsz, size_t newsz)
{
	struct failing *f = ud;
	(void)oldsz;
	if (newsz == 0) {
		if (p)
			f->live--;
		free(p);
		return NULL;
	}
	if (f->left-- <= 0)
		return NULL;
	if (!p)
		f->live++;
	return realloc(p, newsz);
}

/* every allocation of the compiler can fail: -ENOMEM, nothing leaks, no
 * global is declared (Lua ltests.c-style failure injection) */
static void test_alloc_failure(void **state)
{
	const char *src = ".g = 1; int dbl(int av) { return av * 2; } struct P { int x; }; "
			  "struct P v = {3}; printf(\"%d %d\\n\", dbl(v.x), .g);";
	struct script_globals *g = script_globals_new();
	int n;
	(void)state;
	for (n = 0; n < 1000; n++) {
		struct failing f = {n, 0};
		struct script_compile_opts o = {.sz = sizeof(o), .globals = g,
						.alloc = failing_alloc, .alloc_ud = &f};
		struct script_prog *p = NULL;
		struct script_diag d;
		int rc = script_compile(src, &o, &p, &d);
		if (rc == 0) {
			struct tenv t;
			char err[64];
			assert_true(f.live > 0);
			tenv_init(&t);
			assert_int_equal(script_run(p, &t.env, g, err, sizeof(err)), 0);
			assert_string_equal(t.out, "6 1\n");
			script_prog_free(p);
			assert_int_equal(f.live, 0);
			break;
		}
		if (rc != -ENOMEM)
			fail_msg("allocation %d: rc %d (%s)", n, rc, d.msg);
		assert_null(p);
		assert_int_equal(f.live, 0);
		assert_string_equal(d.msg, "Internal Error: out of memory");
	}
	assert_true(n > 2);     /* several allocations were exercised */
	assert_true(n < 1000);
	script_globals_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_relocation),
		cmocka_unit_test(test_verifier),
		cmocka_unit_test(test_step_budget),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_stack_limit),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_big_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
