/* Unit tests of the language: each script's whole output (or its compile
 * / run-time error) is compared, covering spec sections 2-11 and the
 * observed-behaviour table of section 16 (v0.23 column). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <unistd.h>

#include "script_test_env.h"

struct lcase {
	const char *src;
	const char *out;        /* expected output; NULL: must fail */
	const char *err;        /* for failures: substring of the message */
};

static const struct lcase cases[] = {
	/* numbers and the hex-word rule */
	{"x = 10; printf(\"%llx\\n\", x);", "10\n", NULL},
	{"x = 0n10; print(x);", "a\n", NULL},
	{"x = 0y101; print(x); x = 0o17; print(x);", "5\nf\n", NULL},
	{"x = 0t17;", NULL, "Syntax Error"},
	{"x = ffff`ffff; print(x);", "ffffffff\n", NULL},
	{"x = cafe + 1; print(x);", "caff\n", NULL},
	{"abc = 5;", NULL, "Syntax Error: Invalid Syntax"},
	{"face_value = 3; print(face_value);", "3\n", NULL},
	{"x = dead_; print(x);", "deaf8\n", NULL},
	{"x = rax; print(x);", "1\n", NULL},
	{"PRINT(1);", NULL, "Undefined Function"},
	/* operators, v0.23 typed semantics */
	{"x = 1 << 40;", NULL, "FUNC_SHIFT_LEFT_TYPED"},
	{"x = -1 >> 4; print(x);", "ffffffffffffffff\n", NULL},
	{"x = 0 - 8; x = x >> 1; print(x);", "7ffffffffffffffc\n", NULL},
	{"x = -7 / 2; print(x);", "fffffffffffffffd\n", NULL},
	{"x = 1 / 0;", NULL, "FUNC_DIV_TYPED"},
	{"x = 5 % 0;", NULL, "FUNC_MOD_TYPED"},
	{"x = ~~5; print(x); x = - -5; print(x); x = +-5; print(x);", "5\n5\nfffffffffffffffb\n", NULL},
	{"x = !0; print(x);", "1\n", NULL},
	{"x = 1 < 2;", NULL, "Syntax Error: Invalid Syntax"},
	{"x = 0 - 1; if (x < 0) { printf(\"neg-signed\\n\"); } else { printf(\"neg-unsigned\\n\"); }",
	 "neg-unsigned\n", NULL},
	{"if (@rax - 2 < 0) { print(1); }", "1\n", NULL},
	{"if (3 & 2 == 2) { print(1); }", "1\n", NULL},
	{"if (1 == 1 == 1) { print(1); } if (2 > 1 > 0) { print(2); }", "1\n2\n", NULL},
	{"if (1 || 1 / 0) { print(7); } if (0 && 1 / 0) { print(8); } else { print(9); }", "7\n9\n", NULL},
	{"if (~~@rax) { print(1); }", NULL, "Syntax Error: Invalid Syntax"},
	{"if (0) { print(1); } else if (1) { print(2); }", NULL, "Syntax Error"},
	{"x = 1 | 2 ^ 3 & 4 << 1 + 1; print(x);", "3\n", NULL},
	{"x = 10 - 2 - 3; print(x); x = 100 / 10 / 2; print(x);", "b\n8\n", NULL},
	/* printf */
	{"print(-1);", "ffffffffffffffff\n", NULL},
	{"printf(\"%d %i %u %x %o %c|\\n\", 0xffffffff, 0xffffffff, 0xffffffff, 0x123456789, 8, 0x41);",
	 "-1 -1 4294967295 23456789 10 A|\n", NULL},
	{"printf(\"%hd %hu %hx %ho|\\n\", 0x1ffff, 0x1ffff, 0x12345, 8);", "-1 65535 2345 10|\n", NULL},
	{"printf(\"%lld %llu|\\n\", 0xffffffffffffffff, 0xffffffffffffffff);",
	 "-1 18446744073709551615|\n", NULL},
	{"printf(\"tab\\there\\x41\\\\ \\\"q\\\"\\n\");", "tab\thereA\\ \"q\"\n", NULL},
	{"printf(\"%llx %llx\\n\", 1);", NULL, "Syntax Error"},
	{"printf(\"%08x|\\n\", 5);", NULL, "Syntax Error"},
	{"printf(\"%s\", \"abc\");", NULL, "Syntax Error"},
	{"printf(\"a\"); printf(\"%f\", 1);", NULL, "FUNC_PRINTF"},
	{"printf(\"\\q\");", NULL, "Syntax Error"},
	/* strings and memory built-ins */
	{"x = strcmp(\"a\", \"b\"); printf(\"%llx\\n\", x);", "ffffffffffffffff\n", NULL},
	{"printf(\"%llx %llx\\n\", strlen(\"abc\"), wcslen(L\"abcd\"));", "3 4\n", NULL},
	{"printf(\"%llx %llx %llx\\n\", strncmp(\"abcx\", \"abcy\", 3), memcmp(\"ab\", \"ac\", 2), wcscmp(L\"b\", L\"a\"));",
	 "0 ffffffffffffffff 1\n", NULL},
	{"x = 0x1122334455667788; y = &x; printf(\"%llx %llx %llx %llx %llx %llx %llx\\n\", db(y), dw(y), dd(y), dq(y), poi(y), hi(y), low(y));",
	 "88 7788 55667788 1122334455667788 1122334455667788 5566 7788\n", NULL},
	{"x = 0x1122334455667788; y = &x; r = ed(y, 0xaabbccdd); printf(\"%llx %llx\\n\", x, r);",
	 "11223344aabbccdd 1\n", NULL},
	{"x = 0x1122; r = eb(&x, 0xff); s = eq(10, 1); printf(\"%llx %llx %llx\\n\", x, r, s);", "11ff 1 0\n", NULL},
	{"x = 5; r = interlocked_exchange_add(&x, 9); printf(\"%llx %llx\\n\", x, r);", "e 5\n", NULL},
	{"x = 5; r = interlocked_compare_exchange(&x, 9, 6); printf(\"%llx %llx\\n\", x, r);", "5 5\n", NULL},
	{"x = 5; r = interlocked_increment(&x); s = interlocked_exchange(&x, 2); printf(\"%llx %llx %llx\\n\", x, r, s);",
	 "2 6 6\n", NULL},
	{"x = 1; y = 0x22; memcpy(&x, &y, 1); print(x);", "22\n", NULL},
	{"x = 0; spinlock_lock(&x); av = x; spinlock_unlock(&x); printf(\"%llx %llx\\n\", av, x);", "1 0\n", NULL},
	{"x = 7; y = reference(x); print(dq(y)); print(neg(1)); print(not(0));",
	 "7\nffffffffffffffff\nffffffffffffffff\n", NULL},
	{"print(check_address(0));", "0\n", NULL},
	/* registers */
	{"@rax = 0x1122334455667788; @ah = 0xff; printf(\"%llx\\n\", @rax);", "112233445566ff88\n", NULL},
	{"@rax = 0x1122334455667788; @eax = 0xffffffff; printf(\"%llx\\n\", @rax);", "11223344ffffffff\n", NULL},
	{"@rax++; print(@rax); x = &@rax; print(x);", "2\n0\n", NULL},
	{"$pid = 1;", NULL, "Syntax Error"},
	{"x = @cr3;", NULL, "Register '@cr3' is not available to a user-mode debugger"},
	{"@idtr = 1;", NULL, "Register '@idtr' is not available"},
	{"x = @dr7 + @rflags + @cs + @rip; print(x);", "0\n", NULL},
	{"print($pid);", "1092\n", NULL},
	/* assignments */
	{"x = 1; x += 2; x -= 1; x *= 6; x /= 4; x %= 2; print(x);", "1\n", NULL},
	{"x = 6; x <<= 2; x >>= 1; x &= 0xe; x |= 1; x ^= 3; print(x);", "e\n", NULL},
	{"gx = hy = 5; print(gx); print(hy);", "5\n5\n", NULL},
	{"print(undefined_local);", NULL, "Syntax Error: Unresolved Variable"},
	{"tmp_counter = tmp_counter + 1;", NULL, "Syntax Error: Unresolved Variable"},
	{"x = x++;", NULL, "Syntax Error"},
	{"x = 1;;", NULL, "Syntax Error"},
	{"{ x = 1; { y = 2; } print(y); }", NULL, "Syntax Error"},
	{"{ x = 3; print(x); }", "3\n", NULL},
	{"if (0) printf(\"x\");", NULL, "Syntax Error"},
	{"y = 9; p = &y; *p = 7; print(y);", "7\n", NULL},
	/* control flow */
	{"for (i = 0; i < 5; i++) { if (i == 2) { continue; } printf(\"%d\", i); }", "0134", NULL},
	{"i = 0; while (i < 5) { i++; continue; }", NULL, "Syntax Error"},
	{"for (i = 0; ; i++) { }", NULL, "Syntax Error"},
	{"for (; i < 3;) { }", NULL, "Syntax Error"},
	{"i = 0; do { i++; } while (i < 3); print(i);", "3\n", NULL},
	{"i = 0; while (i < 0n10) { i++; if (i == 4) { break; } } print(i);", "4\n", NULL},
	{"x = 2; if (x == 1) { print(1); } elsif (x == 2) { print(2); } else { print(3); }", "2\n", NULL},
	{"while (1) { }", NULL, "exceeding the max execution count"},
	{"for (int i = 0; i < 2; i++) { } print(i);", "2\n", NULL},
	/* functions */
	{"int fn1(int p1) { return p1 + 1; } print(fn1(5));", "6\n", NULL},
	{"int mod4(int p) { p = 9; return p; } x = 3; print(mod4(x)); print(x);", "9\n3\n", NULL},
	{"int g16(int p) { x = 100; return p; } x = 1; g16(2); print(x);", "1\n", NULL},
	{"int noret(int n) { n = n + 1; } print(noret(1));", "0\n", NULL},
	{"int g14(int p) { return; }", NULL, "Not returning a value in noo-void function"},
	{"void v(int p) { return p; }", NULL, "Returning a value in void function"},
	{"int deep(int n) { if (n == 0) { return 0; } return 1 + deep(n - 1); } print(deep(0n100));",
	 NULL, "stack buffer overflow"},
	{"int fact(int n) { if (n <= 1) { return 1; } return n * fact(n - 1); } printf(\"%d\\n\", fact(0n10));",
	 "3628800\n", NULL},
	{"int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); } printf(\"%d\\n\", fib(9));",
	 "34\n", NULL},
	{"print(nofunc(1));", NULL, "Undefined Function"},
	/* writing a frame's reserved slots through a pointer cannot redirect
	 * the return (return addresses live outside the script's stack) */
	{"int smash(int p) { q = &p; *(q + 8) = 0x12345; *(q + 0n16) = 7; return 1; } print(smash(1)); print(2);",
	 "1\n2\n", NULL},
	{"int two(int a, int b) { return a + b; } print(two(1));", NULL, "Syntax Error"},
	/* arrays, structs, types */
	{"int t1[3] = {1,2,3}; t1[1] = 9; printf(\"%d %d\\n\", t1[1], *(2 + t1));", "9 3\n", NULL},
	{"int t[3][3][3] = {{1,2,3,4},{5}}; print(t[0][0][3]); print(t[1][0][0]);", "4\n5\n", NULL},
	{"int x;", NULL, "Syntax Error"},
	{"int x = 5; int x = 6; print(x);", "6\n", NULL},
	{"unsigned int u = 0 - 1; printf(\"%llx\\n\", u);", "ffffffff\n", NULL},
	{"char sc = 0xff; unsigned char u = 0x12345; printf(\"%lld %lld\\n\", sc, u);", "-1 69\n", NULL},
	{"struct P { int x; int y; }; struct P v = {0n31, 0n32}; v.x += 5; struct P *p = &v; p->y = 7; printf(\"%d %d %d\\n\", v.x, v.y, sizeof(struct P));",
	 "36 7 8\n", NULL},
	{"struct P { int x; }; struct P { int y; };", NULL, "Duplicate struct definition"},
	{"struct P { int x; int x; };", NULL, "Duplicate struct member"},
	{"struct Q; struct Q v;", NULL, "Incomplete struct type"},
	{"typedef unsigned short word; word w = 0x12345; printf(\"%lld %lld\\n\", w, sizeof(word));", "9029 2\n", NULL},
	{"typedef int a1x; typedef int a1x;", NULL, "Duplicate typedef name"},
	{"long long long x = 1;", NULL, "Undefined Variable Type"},
	{"int t[0] = {0};", NULL, "Invalid or overflowing array size"},
	{"printf(\"%lld\\n\", (int)(unsigned char)0x12345);", "69\n", NULL},
	{"char *l = (char *)0xffffffffffffffff; char *r = (char *)0xfffffffffffffff0; printf(\"%lld %lld\\n\", l - r, r - l);",
	 "15 -15\n", NULL},
	{"local_value = 0n55; unsigned long long e = &local_value;", NULL, "Syntax Error"},
	/* post-v0.23 extensions: char literals, wchar_t, string arrays,
	 * array / struct / pointer-to-array parameters, uninitialised arrays */
	{"char txt[] = \"1234\"; printf(\"%d %d %c %d\\n\", strlen(txt), sizeof(txt), txt[0], txt[4]);",
	 "4 5 1 0\n", NULL},
	{"wchar_t wt[] = L\"AB\"; printf(\"%d %d %d\\n\", wcslen(wt), sizeof(wt), wt[1] - L'B');", "2 6 0\n", NULL},
	{"char fx[8] = \"abc\"; char ls[] = {'x', 'y'}; printf(\"%d %d %d\\n\", fx[7], sizeof(ls), ls[1]);",
	 "0 2 121\n", NULL},
	{"print('\\n'); print(L'\\x263a');", "a\n263a\n", NULL},
	{"int tz[4]; print(tz[3]); struct S { int x; }; struct S sv; print(sv.x);", "0\n0\n", NULL},
	{"int sum(int vs[], int cnt) { int s = 0; for (int i = 0; i < cnt; i++) { s += vs[i]; } return s; } "
	 "int vals[3] = {1, 2, 3}; print(sum(vals, 3));", "6\n", NULL},
	{"int rd(int (*m)[3], int r, int col) { return m[r][col]; } int mm[2][3] = {{1,2,3},{4,5,6}}; print(rd(mm, 1, 2));",
	 "6\n", NULL},
	{"int sz(int m[2][3]) { return sizeof(m) * 0n100 + sizeof(m[0]); } int mm[2][3] = {0}; printf(\"%d\\n\", sz(mm));",
	 "812\n", NULL},
	{"struct Pt { int x; int y; }; int mv(struct Pt p) { p.x = 9; return p.x + p.y; } "
	 "struct Pt q = {1, 2}; printf(\"%d %d\\n\", mv(q), q.x);", "11 1\n", NULL},
	{"struct In; int use(struct In v) { return 0; }", NULL, "Incomplete struct type"},
	{"int cm(int v[][3]) { return 0; } int mm[2][4]; cm(mm);", NULL, "Syntax Error: Invalid Syntax"},
	{"int cm(int v[][3]) { return 0; } int fl[6]; int *fp = fl; cm(fp);", NULL, "Syntax Error: Invalid Syntax"},
	{"int vla(int w, int v[][w]) { return 0; }", NULL, "Syntax Error: Invalid Syntax"},
	{"struct A1 { int v; }; struct B1 { int v; }; int ta(struct A1 p) { return 0; } struct B1 bv = {1}; ta(bv);",
	 NULL, "Syntax Error: Invalid Syntax"},
	/* floats */
	{"x = 1.5; printf(\"%llx\\n\", x);", "1\n", NULL},
	{"double dv = 9.0; double ev = dv / 4.0; float fv = 11.5; printf(\"%f %f %f\\n\", ev, fv, -dv);",
	 "2.250000 11.500000 -9.000000\n", NULL},
	{"float av = 0.1; float bv = 0.2; if (av + bv == 0.3) { print(1); } else { print(0); }", "0\n", NULL},
	{"double z = 0.0; double r = 1.0 / z;", NULL, "FUNC_DIV_TYPED"},
	{"double v = 1..2;", NULL, "Invalid floating-point literal"},
	{"double v = 0x1.2;", NULL, "Invalid floating-point literal"},
	{"double v = 1.0f;", NULL, "Invalid floating-point literal"},
	{"float v = 999999999999999999999999999999999999999.0;", NULL, "out of range"},
	{"double v = 1.5; v = v % 2.0;", NULL, "Unsupported floating-point operation"},
	{"double v = 1.5; printf(\"%x\", v);", NULL, "FUNC_PRINTF"},
	/* event functions without an event layer: HyperDbg's user-mode text */
	{"event_enable(1); print(2);", "err, enabling events is not possible in user-mode\n2\n", NULL},
	{"x = poi_pa(0); print(x);",
	 "err, using physical address keywords (poi_pa) is not possible in user-mode\n0\n", NULL},
	{"memcpy_pa(0, 0, 1); eq_pa(0, 1); print(1);",
	 "err, using physical address keywords (memcpy_pa) is not possible in user-mode\n"
	 "err, using physical address keywords (eq_pa) is not possible in user-mode\n1\n", NULL},
	/* comments */
	{"x = 1; // comment\n/* block /* no nesting */ print(x);", "1\n", NULL},
	{"x = 1; /* unterminated", NULL, "Unknown Token"},
};

static void test_cases(void **state)
{
	int failures = 0;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tenv t;
		struct script_globals *g = script_globals_new();
		struct script_diag d = {0};
		char err[256] = "";
		int rc;

		tenv_init(&t);
		rc = tenv_run(&t, g, cases[i].src, &d, err, sizeof(err));
		script_globals_free(g);
		if (cases[i].out) {
			if (rc != 0 || strcmp(t.out, cases[i].out)) {
				print_error("case %zu: %s\n  want \"%s\"\n  got rc=%d \"%s\" %s%s\n", i,
					    cases[i].src, cases[i].out, rc, t.out, d.msg, err);
				failures++;
			}
		} else {
			const char *msg = rc == -HD_E_PARSE || rc == -HD_E_NOSYM ? d.msg : err;
			if (rc == 0 || !strstr(msg, cases[i].err)) {
				print_error("case %zu: %s\n  want error \"%s\"\n  got rc=%d \"%s\" out \"%s\"\n",
					    i, cases[i].src, cases[i].err, rc, msg, t.out);
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

static void test_long_expression(void **state)
{
	char src[4096] = "x = 1";
	struct tenv t;
	struct script_diag d;
	char err[64];
	(void)state;
	for (int i = 0; i < 600; i++)
		strcat(src, "+1");
	strcat(src, ";");
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, NULL, src, &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.msg, "Internal Error: Please split the expression to many smaller expressions.");
	strcpy(src, "x = 1");
	for (int i = 0; i < 100; i++)
		strcat(src, "+1");
	strcat(src, "; print(x);");
	assert_int_equal(tenv_run(&t, NULL, src, &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "65\n");
}

static void test_diag_position(void **state)
{
	struct script_globals *g = script_globals_new();
	struct script_compile_opts o = {.sz = sizeof(o), .globals = g};
	struct script_prog *p = NULL;
	struct script_diag d;
	(void)state;
	assert_int_equal(script_compile("x = 1;\n  y = 2 +;\nz = 3;", &o, &p, &d), -HD_E_PARSE);
	assert_null(p);
	assert_int_equal(d.line, 2);
	assert_int_equal(d.col, 10);
	assert_string_equal(d.text, "  y = 2 +;");
	assert_string_equal(d.msg, "Syntax Error: Invalid Syntax");
	script_globals_free(g);
}

static void test_globals_persist(void **state)
{
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, g, "print(.g);", &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.msg, "Syntax Error: Unresolved Variable");
	assert_int_equal(tenv_run(&t, g, ".g = 5;", &d, err, sizeof(err)), 0);
	assert_int_equal(tenv_run(&t, g, "print(.g); .g = .g + 1;", &d, err, sizeof(err)), 0);
	assert_int_equal(tenv_run(&t, g, "print(.g);", &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "5\n6\n");
	/* a failed compile declares nothing */
	assert_int_equal(tenv_run(&t, g, ".h = 1; x = ;", &d, err, sizeof(err)), -HD_E_PARSE);
	assert_int_equal(tenv_run(&t, g, "print(.h);", &d, err, sizeof(err)), -HD_E_PARSE);
	/* locals do not survive a run */
	assert_int_equal(tenv_run(&t, g, "loc = 1;", &d, err, sizeof(err)), 0);
	assert_int_equal(tenv_run(&t, g, "print(loc);", &d, err, sizeof(err)), -HD_E_PARSE);
	/* a global first mentioned in a function before its assignment */
	assert_int_equal(tenv_run(&t, g, "int f(int a) { return .later; } .later = 1;", &d, err, sizeof(err)),
			 -HD_E_PARSE);
	script_globals_free(g);
}

static void test_runtime_error_keeps_output(void **state)
{
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, g, "print(1); x = 1 / 0; print(2);", &d, err, sizeof(err)),
			 -HD_E_RUNTIME);
	assert_string_equal(t.out, "1\n");
	assert_string_equal(err, "err, ScriptEngineExecute, function = FUNC_DIV_TYPED");
	script_globals_free(g);
}

/* One printf may produce at most 4095 characters (HyperDbg's 4096-byte
 * packet with its NUL): one more is a run-time error of the run; the text
 * printed before stays and nothing of the failing printf is printed. */
static void test_printf_limit(void **state)
{
	static char src[8192];
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	for (size_t len = 4095; len <= 4096; len++) {
		int n = snprintf(src, sizeof(src), "printf(\"<\"); printf(\"");
		memset(src + n, 'a', len);
		snprintf(src + n + len, sizeof(src) - (size_t)n - len, "\"); printf(\">\");");
		tenv_init(&t);
		int rc = tenv_run(&t, g, src, &d, err, sizeof(err));
		if (len == 4095) {
			assert_int_equal(rc, 0);
			assert_int_equal(t.outlen, 4097);
			assert_int_equal(t.out[4096], '>');
		} else {
			assert_int_equal(rc, -HD_E_RUNTIME);
			assert_string_equal(err, "err, ScriptEngineExecute, function = FUNC_PRINTF");
			assert_string_equal(t.out, "<");
		}
	}
	/* a number that would go past the limit fails too */
	int n = snprintf(src, sizeof(src), "printf(\"");
	memset(src + n, 'a', 4090);
	for (int v = 0; v < 2; v++) {
		/* 4090 + 1 characters fit, 4090 + 16 do not */
		snprintf(src + n + 4090, sizeof(src) - (size_t)n - 4090, "%%llx\", %s); print(1);",
			 v ? "ffffffffffffffff" : "1");
		tenv_init(&t);
		int rc = tenv_run(&t, g, src, &d, err, sizeof(err));
		assert_int_equal(rc, v ? -HD_E_RUNTIME : 0);
		assert_int_equal(t.outlen, v ? 0 : 4091 + 2);
	}
	script_globals_free(g);
}

/* %s/%ws read the script's own storage through the VM (an environment
 * without memory, like hdbg's test mode); anything else unreadable is a
 * run-time error of printf. */
static void test_printf_strings(void **state)
{
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	t.env.mem_read = NULL;
	assert_int_equal(tenv_run(&t, g, "char s[] = \"abc\"; wchar_t w[] = L\"wide\"; .q = 5a59; "
					 "printf(\"%s|%ws|%s\\n\", s, w, &.q);", &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "abc|wide|YZ\n");
	for (int i = 0; i < 3; i++) {
		static const char *const bad[] = {
			"printf(\"<\"); printf(\"%s\\n\", 1); print(2);",
			"printf(\"<\"); printf(\"%ws\\n\", 0); print(2);",
			"printf(\"<\"); printf(\"%s\\n\", @rsp); print(2);",
		};
		tenv_init(&t);
		t.env.mem_read = NULL;
		assert_int_equal(tenv_run(&t, g, bad[i], &d, err, sizeof(err)), -HD_E_RUNTIME);
		assert_string_equal(err, "err, ScriptEngineExecute, function = FUNC_PRINTF");
		assert_string_equal(t.out, "<");
	}
	script_globals_free(g);
}

static int ptext(void *ud, int id, char *buf, size_t cap)
{
	(void)ud;
	if (id == 15)
		return -1;      /* not available: pseudo_read's value */
	snprintf(buf, cap, "%s", id == 2 ? "myprog" : "2026-01-02");
	return 0;
}

/* $pname/$date/$time: text of the environment in the run's own storage */
static void test_pseudo_text(void **state)
{
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	t.env.mem_read = NULL;
	t.env.pseudo_text = ptext;
	assert_int_equal(tenv_run(&t, g, "printf(\"%s %s %llx %d %d %d\\n\", $pname, $date, $time, "
				  "strlen($pname), strcmp($pname, \"myprog\"), db($date + 4));"
				  "p = $pname; printf(\"%d %s\\n\", eb(p, 41), p);", &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "myprog 2026-01-02 0 6 0 45\n0 myprog\n");
	script_globals_free(g);
}

static void test_include(void **state)
{
	char path[] = "/tmp/hd_script_incXXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char src[256];
	struct tenv t;
	struct script_globals *g = script_globals_new();
	struct script_diag d;
	char err[128];
	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("? {\n int twice(int v) { return v * 2; }\n .inc_g = 3;\n}\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "#include \"%s\"; print(twice(.inc_g));", path);
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, g, src, &d, err, sizeof(err)), 0);
	assert_string_equal(t.out, "6\n");
	unlink(path);
	assert_int_equal(tenv_run(&t, g, src, &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.file, "");
	script_globals_free(g);
}

static const char *render(const struct script_diag *d)
{
	static struct hd_buf b;
	hd_buf_reset(&b);
	script_diag_render(d, &b);
	return hd_buf_str(&b);
}

/* Compile errors with the source line and a caret; in an #include'd file
 * (parse and compile errors) the file is named and the position is its. */
static void test_diag_render(void **state)
{
	char path[] = "/tmp/hd_script_incXXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char src[256], want[512];
	struct tenv t;
	struct script_globals *g = script_globals_new();
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	assert_int_equal(tenv_run(&t, g, "x = 1;\ny = 2 +;\nz = 3;", &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(render(&d), "script line 2 column 8: Syntax Error: Invalid Syntax: 'y = 2 +;'\n"
					"  y = 2 +;\n"
					"         ^");
	/* tabs are kept so that the caret lines up; CR of a CRLF line dropped */
	assert_int_equal(tenv_run(&t, g, "\tx =\t;\r\n", &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(render(&d), "script line 1 column 6: Syntax Error: Invalid Syntax: '\tx =\t;'\n"
					"  \tx =\t;\n"
					"  \t   \t^");
	/* an error past the end of the text: the caret one past the last column */
	assert_int_equal(tenv_run(&t, g, "x = 1 +", &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(render(&d), "script line 1 column 8: Syntax Error: Invalid Syntax: 'x = 1 +'\n"
					"  x = 1 +\n"
					"         ^");
	/* in an included file: a parse error ... */
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("one = 1;\n\ttwo = 2 +;\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "x = 1;\n#include \"%s\";", path);
	assert_int_equal(tenv_run(&t, g, src, &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.file, path);
	snprintf(want, sizeof(want), "script file '%s' line 2 column 11: Syntax Error: Invalid Syntax: "
		 "'\ttwo = 2 +;'\n  \ttwo = 2 +;\n  \t         ^", path);
	assert_string_equal(render(&d), want);
	/* ... and a compile (type) error found after parsing */
	f = fopen(path, "w");
	fputs("float fl = 1.0;\nnum = fl % 2;\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "#include \"%s\"; print(1);", path);
	assert_int_equal(tenv_run(&t, g, src, &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.file, path);
	assert_int_equal(d.line, 2);
	assert_string_equal(d.text, "num = fl % 2;");
	/* back in the script's own text after the include */
	f = fopen(path, "w");
	fputs("one = 1;\n", f);
	fclose(f);
	snprintf(src, sizeof(src), "#include \"%s\";\nthree = ;", path);
	assert_int_equal(tenv_run(&t, g, src, &d, err, sizeof(err)), -HD_E_PARSE);
	assert_string_equal(d.file, "");
	assert_int_equal(d.line, 2);
	assert_string_equal(d.text, "three = ;");
	unlink(path);
	script_globals_free(g);
}

static int ev_ctl(void *ud, int func, const uint64_t *args, int nargs)
{
	struct tenv *t = ud;
	if (t->nevents < 8)
		t->events[t->nevents++] = func * 100 + (nargs ? (int)args[0] : 0);
	return func == 47 ? -1 : 0;
}

static void test_event_callbacks(void **state)
{
	struct script_globals *g = script_globals_new();
	struct tenv t;
	struct script_diag d;
	char err[128];
	(void)state;
	tenv_init(&t);
	t.env.event_ctl = ev_ctl;
	assert_int_equal(tenv_run(&t, g, "event_enable(3); event_disable(4); event_clear(5); event_sc(1); flush(); pause(); print(1);",
				  &d, err, sizeof(err)), -HD_E_RUNTIME);
	assert_int_equal(t.nevents, 6);
	assert_int_equal(t.events[0], 38 * 100 + 3);
	assert_int_equal(t.events[1], 39 * 100 + 4);
	assert_int_equal(t.events[2], 40 * 100 + 5);
	assert_int_equal(t.events[3], 44 * 100 + 1);
	assert_int_equal(t.events[4], 48 * 100);
	assert_int_equal(t.events[5], 47 * 100);
	assert_string_equal(t.out, "");
	assert_non_null(strstr(err, "FUNC_PAUSE"));
	script_globals_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_diag_position),
		cmocka_unit_test(test_long_expression),
		cmocka_unit_test(test_globals_persist),
		cmocka_unit_test(test_runtime_error_keeps_output),
		cmocka_unit_test(test_printf_limit),
		cmocka_unit_test(test_printf_strings),
		cmocka_unit_test(test_pseudo_text),
		cmocka_unit_test(test_diag_render),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_event_callbacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
