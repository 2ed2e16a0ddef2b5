/*
** test_softfloat.c: the integer soft-float must agree bit for bit with the
** host's SSE unit (default MXCSR) on edge values and on many random ones.
** Arithmetic is done in inline assembly so the operand order (which
** decides NaN propagation) is fixed.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "script/softfloat.h"

#define N_RANDOM 200000
#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- host reference ---- */

static double d_of(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint64_t u_of(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static float f_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t w_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

#define HW_OP64(name, insn)                                              \
	static uint64_t name(uint64_t a, uint64_t b)                     \
	{                                                                \
		double x = d_of(a), y = d_of(b);                         \
		__asm__(insn " %1, %0" : "+x"(x) : "x"(y));              \
		return u_of(x);                                          \
	}
#define HW_OP32(name, insn)                                              \
	static uint32_t name(uint32_t a, uint32_t b)                     \
	{                                                                \
		float x = f_of(a), y = f_of(b);                          \
		__asm__(insn " %1, %0" : "+x"(x) : "x"(y));              \
		return w_of(x);                                          \
	}
HW_OP64(hw_add64, "addsd")
HW_OP64(hw_sub64, "subsd")
HW_OP64(hw_mul64, "mulsd")
HW_OP64(hw_div64, "divsd")
HW_OP32(hw_add32, "addss")
HW_OP32(hw_sub32, "subss")
HW_OP32(hw_mul32, "mulss")
HW_OP32(hw_div32, "divss")

static int64_t hw_cvtt64(uint64_t a)
{
	int64_t r;
	double x = d_of(a);

	__asm__("cvttsd2si %1, %0" : "=r"(r) : "x"(x));
	return r;
}

static int32_t hw_cvtt32(uint64_t a)
{
	int32_t r;
	double x = d_of(a);

	__asm__("cvttsd2si %1, %0" : "=r"(r) : "x"(x));
	return r;
}

static uint64_t hw_f32_to_f64(uint32_t a)
{
	double r;
	float x = f_of(a);

	__asm__("cvtss2sd %1, %0" : "=x"(r) : "x"(x));
	return u_of(r);
}

static uint32_t hw_f64_to_f32(uint64_t a)
{
	float r;
	double x = d_of(a);

	__asm__("cvtsd2ss %1, %0" : "=x"(r) : "x"(x));
	return w_of(r);
}

/* ---- inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static const uint64_t edge64[] = {
	0, 0x8000000000000000ull,                         /* +-0 */
	1, 0x8000000000000001ull, 0x000fffffffffffffull,  /* subnormals */
	0x0008000000000000ull, 0x0010000000000000ull,     /* min normal */
	0x3ff0000000000000ull, 0xbff0000000000000ull,     /* +-1 */
	0x3ff0000000000001ull, 0x3fefffffffffffffull,
	0x4000000000000000ull, 0x3fe0000000000000ull,     /* 2, 0.5 */
	0x4340000000000000ull, 0x4330000000000000ull,     /* 2^53, 2^52 */
	0x43e0000000000000ull, 0xc3e0000000000000ull,     /* +-2^63 */
	0x43dfffffffffffffull, 0xc3e0000000000001ull,
	0x41dfffffffc00000ull, 0xc1e0000000000000ull,     /* 2^31-1, -2^31 */
	0xc1e0000000100000ull, 0x41e0000000000000ull,
	0x7fefffffffffffffull, 0xffefffffffffffffull,     /* max */
	0x7ff0000000000000ull, 0xfff0000000000000ull,     /* inf */
	0x7ff8000000000000ull, 0xfff8000000000000ull,     /* qNaN */
	0x7ff0000000000001ull, 0xfff4000000000000ull,     /* sNaN */
	0x7ff8000000000123ull,
	0x47efffffe0000000ull, 0x47efffffffffffffull,     /* f32 max range */
	0x36a0000000000000ull, 0x3690000000000000ull,     /* f32 min subnormal range */
	0x3810000000000000ull, 0x380fffffffffffffull,
	0x3fb999999999999aull, 0x3fd5555555555555ull,     /* 0.1, 1/3 */
};

/* A random f64 biased toward interesting exponents and fractions. */
static uint64_t rnd_f64(void)
{
	uint64_t r = rnd(), s = r >> 63, e, f;

	switch (r & 7) {
	case 0: e = 0; break;
	case 1: e = 0x7ff; break;
	case 2: e = 0x7fe - (r >> 8 & 3); break;
	case 3: e = 1 + (r >> 8 & 3); break;
	case 4: e = 1023 + (r >> 8 & 127) - 64; break;
	case 5: e = 1023 - 127 - 23 + (r >> 8 & 63) - 32; break; /* f32 edges */
	default: e = rnd() & 0x7ff; break;
	}
	switch (r >> 3 & 7) {
	case 0: f = 0; break;
	case 1: f = 0xfffffffffffffull; break;
	case 2: f = 1ull << (rnd() % 52); break;
	case 3: f = rnd() & 0xfffffffffffffull & ~((1ull << 29) - 1); break; /* f32-exact */
	case 4: f = (rnd() & 0xfffffffffffffull) | 1; break;
	default: f = rnd() & 0xfffffffffffffull; break;
	}
	if (e == 0x7ff && (r >> 20 & 3))
		f = 0;  /* more infinities than NaNs */
	return s << 63 | e << 52 | f;
}

static uint32_t rnd_f32(void)
{
	uint64_t r = rnd();
	uint32_t s = (uint32_t)(r >> 63), e, f;

	switch (r & 7) {
	case 0: e = 0; break;
	case 1: e = 0xff; break;
	case 2: e = 0xfe - (uint32_t)(r >> 8 & 3); break;
	case 3: e = 1 + (uint32_t)(r >> 8 & 3); break;
	case 4: e = 127 + (uint32_t)(r >> 8 & 31) - 16; break;
	default: e = (uint32_t)(rnd() & 0xff); break;
	}
	switch (r >> 3 & 3) {
	case 0: f = 0; break;
	case 1: f = 0x7fffff; break;
	default: f = (uint32_t)rnd() & 0x7fffff; break;
	}
	if (e == 0xff && (r >> 20 & 3))
		f = 0;
	return s << 31 | e << 23 | f;
}

/* Second operand close to the first (cancellation, rounding ties). */
static uint64_t near_f64(uint64_t a)
{
	uint64_t r = rnd();

	switch (r & 3) {
	case 0: return a ^ 0x8000000000000000ull;
	case 1: return a + (r >> 8 & 7) - 3;
	case 2: return (a ^ (r & 0x8000000000000000ull)) + ((r >> 8 & 0x3f) << 52);
	default: return rnd_f64();
	}
}

/* ---- comparison helpers ---- */

static int failures;

static void report(const char *what, uint64_t a, uint64_t b, uint64_t got, uint64_t want)
{
	if (++failures <= 10)
		fprintf(stderr, "%s(%016llx, %016llx) = %016llx, want %016llx\n", what,
			(unsigned long long)a, (unsigned long long)b,
			(unsigned long long)got, (unsigned long long)want);
}

typedef uint64_t (*op64_fn)(uint64_t, uint64_t);
typedef uint32_t (*op32_fn)(uint32_t, uint32_t);

static void check64(const char *what, op64_fn sf, op64_fn hw, uint64_t a, uint64_t b)
{
	uint64_t got = sf(a, b), want = hw(a, b);

	if (got != want)
		report(what, a, b, got, want);
}

static void check32(const char *what, op32_fn sf, op32_fn hw, uint32_t a, uint32_t b)
{
	uint32_t got = sf(a, b), want = hw(a, b);

	if (got != want)
		report(what, a, b, got, want);
}

static void run_op64(const char *what, op64_fn sf, op64_fn hw)
{
	size_t i, j;

	failures = 0;
	for (i = 0; i < ARRAY_N(edge64); i++)
		for (j = 0; j < ARRAY_N(edge64); j++)
			check64(what, sf, hw, edge64[i], edge64[j]);
	for (i = 0; i < N_RANDOM; i++) {
		uint64_t a = rnd_f64();

		check64(what, sf, hw, a, near_f64(a));
		check64(what, sf, hw, a, rnd_f64());
		/* fully random bit patterns */
		check64(what, sf, hw, rnd(), rnd());
	}
	assert_int_equal(failures, 0);
}

static void run_op32(const char *what, op32_fn sf, op32_fn hw)
{
	size_t i, j;

	failures = 0;
	for (i = 0; i < ARRAY_N(edge64); i++)
		for (j = 0; j < ARRAY_N(edge64); j++)
			check32(what, sf, hw, hw_f64_to_f32(edge64[i]),
				hw_f64_to_f32(edge64[j]));
	for (i = 0; i < N_RANDOM; i++) {
		uint32_t a = rnd_f32();

		check32(what, sf, hw, a, rnd_f32());
		check32(what, sf, hw, a, a ^ 0x80000000u);
		check32(what, sf, hw, a, a + (uint32_t)(rnd() & 7) - 3);
		check32(what, sf, hw, (uint32_t)rnd(), (uint32_t)rnd());
	}
	assert_int_equal(failures, 0);
}

static void test_f64_add(void **state)
{
	(void)state;
	run_op64("sf_f64_add", sf_f64_add, hw_add64);
}

static void test_f64_sub(void **state)
{
	(void)state;
	run_op64("sf_f64_sub", sf_f64_sub, hw_sub64);
}

static void test_f64_mul(void **state)
{
	(void)state;
	run_op64("sf_f64_mul", sf_f64_mul, hw_mul64);
}

static void test_f64_div(void **state)
{
	(void)state;
	run_op64("sf_f64_div", sf_f64_div, hw_div64);
}

static void test_f32_arith(void **state)
{
	(void)state;
	run_op32("sf_f32_add", sf_f32_add, hw_add32);
	run_op32("sf_f32_sub", sf_f32_sub, hw_sub32);
	run_op32("sf_f32_mul", sf_f32_mul, hw_mul32);
	run_op32("sf_f32_div", sf_f32_div, hw_div32);
}

/* Hand-picked results that document the rules, independent of the host. */
static void test_known_values(void **state)
{
	(void)state;
	/* 1 + 2^-53 is a tie: rounds to even (1.0); 1 + 3*2^-53 rounds up */
	assert_true(sf_f64_add(0x3ff0000000000000ull, 0x3ca0000000000000ull) ==
		    0x3ff0000000000000ull);
	assert_true(sf_f64_add(0x3ff0000000000000ull, 0x3cb8000000000000ull) ==
		    0x3ff0000000000002ull);
	/* 0.1 + 0.2 = 0.30000000000000004 */
	assert_true(sf_f64_add(0x3fb999999999999aull, 0x3fc999999999999aull) ==
		    0x3fd3333333333334ull);
	/* x - x = +0; -0 + -0 = -0 */
	assert_true(sf_f64_sub(0x4000000000000000ull, 0x4000000000000000ull) == 0);
	assert_true(sf_f64_add(SF_F64_SIGN, SF_F64_SIGN) == SF_F64_SIGN);
	/* invalid operations give x86's default NaN; a NaN operand wins */
	assert_true(sf_f64_sub(SF_F64_INF, SF_F64_INF) == SF_F64_DEFAULT_NAN);
	assert_true(sf_f64_mul(SF_F64_INF, 0) == SF_F64_DEFAULT_NAN);
	assert_true(sf_f64_div(0, SF_F64_SIGN) == SF_F64_DEFAULT_NAN);
	assert_true(sf_f64_add(0x7ff0000000000001ull, 0x7ff8000000000002ull) ==
		    0x7ff8000000000001ull);
	assert_true(sf_f64_div(0x3ff0000000000000ull, SF_F64_SIGN) == (SF_F64_INF | SF_F64_SIGN));
	/* 11.5 * 2 = 23; 1 / 3 */
	assert_true(sf_f64_mul(0x4027000000000000ull, 0x4000000000000000ull) ==
		    0x4037000000000000ull);
	assert_true(sf_f64_div(0x3ff0000000000000ull, 0x4008000000000000ull) ==
		    0x3fd5555555555555ull);
	/* smallest subnormal / 2 is a tie to even -> 0; 3 * min / 2 -> 2 * min */
	assert_true(sf_f64_mul(1, 0x3fe0000000000000ull) == 0);
	assert_true(sf_f64_mul(3, 0x3fe0000000000000ull) == 2);
	/* overflow -> inf */
	assert_true(sf_f64_mul(0x7fefffffffffffffull, 0x4000000000000000ull) == SF_F64_INF);
	/* comparisons */
	assert_true(sf_f64_eq(0, SF_F64_SIGN));
	assert_false(sf_f64_lt(SF_F64_SIGN, 0));
	assert_true(sf_f64_le(SF_F64_SIGN, 0));
	assert_false(sf_f64_eq(SF_F64_DEFAULT_NAN, SF_F64_DEFAULT_NAN));
	assert_false(sf_f64_le(SF_F64_DEFAULT_NAN, SF_F64_INF));
	assert_true(sf_f64_unordered(0, SF_F64_DEFAULT_NAN));
	assert_true(sf_f64_lt(0xbff0000000000000ull, 1));
	/* conversions */
	assert_true(sf_f64_to_i64(SF_F64_DEFAULT_NAN) == INT64_MIN);
	assert_true(sf_f64_to_i64(0x43e0000000000000ull) == INT64_MIN);
	assert_true(sf_f64_to_i64(0xc002000000000000ull) == -2);   /* -2.25 */
	assert_true(sf_f64_to_i64(0x3fefffffffffffffull) == 0);
	assert_true(sf_i64_to_f64(INT64_MIN) == 0xc3e0000000000000ull);
	assert_true(sf_u64_to_f64(UINT64_MAX) == 0x43f0000000000000ull);
	/* 2^53 + 1 is a tie -> 2^53; 2^53 + 3 -> 2^53 + 4 */
	assert_true(sf_u64_to_f64((1ull << 53) + 1) == 0x4340000000000000ull);
	assert_true(sf_u64_to_f64((1ull << 53) + 3) == 0x4340000000000002ull);
	assert_true(sf_i64_to_f32(16777217) == 0x4b800000u);
	assert_true(sf_f64_to_f32(0x3fb999999999999aull) == 0x3dcccccdu);
	assert_true(sf_f32_to_f64(0x7f800001u) == 0x7ff8000020000000ull);
	assert_true(sf_f64_to_u64(0x43e0000000000000ull) == 0x8000000000000000ull);
	assert_true(sf_f64_to_u64(0x43efffffffffffffull) == 0xfffffffffffff800ull);
	/* outside [0, 2^64): what gcc's comisd/cvttsd2si/btc sequence yields */
	assert_true(sf_f64_to_u64(0xbff0000000000000ull) == UINT64_MAX);   /* -1.0 */
	assert_true(sf_f64_to_u64(SF_F64_DEFAULT_NAN) == 0x8000000000000000ull);
	assert_true(sf_f64_to_u64(SF_F64_INF) == 0);
	assert_true(sf_f64_to_u64(0x43f0000000000000ull) == 0);             /* 2^64 */
	assert_true(sf_f32_to_u64(0x5f000000u) == 0x8000000000000000ull);   /* 2^63f */
	assert_true(sf_f64_to_i32(0xc1e0000000100000ull) == INT32_MIN);     /* -2^31 - 0.5 */
	assert_true(sf_f64_to_i32(0x41dfffffffe00000ull) == INT32_MAX);     /* 2^31 - 0.5 */
	assert_true(sf_f32_to_i64(0x7fc00000u) == INT64_MIN);
}

static void test_conversions(void **state)
{
	size_t i;

	(void)state;
	failures = 0;
	for (i = 0; i < N_RANDOM * 2; i++) {
		uint64_t r = rnd(), a;
		uint32_t f;
		int64_t v;
		uint64_t uv;
		double d;

		/* integers of every magnitude, including rounding ties */
		v = (int64_t)(r >> (rnd() % 64));
		if (i & 1)
			v = -v;
		if (sf_i64_to_f64(v) != u_of((double)v))
			report("sf_i64_to_f64", (uint64_t)v, 0, sf_i64_to_f64(v), u_of((double)v));
		if (sf_i64_to_f32(v) != w_of((float)v))
			report("sf_i64_to_f32", (uint64_t)v, 0, sf_i64_to_f32(v), w_of((float)v));
		uv = r >> (rnd() % 64);
		if (sf_u64_to_f64(uv) != u_of((double)uv))
			report("sf_u64_to_f64", uv, 0, sf_u64_to_f64(uv), u_of((double)uv));
		if (sf_u64_to_f32(uv) != w_of((float)uv))
			report("sf_u64_to_f32", uv, 0, sf_u64_to_f32(uv), w_of((float)uv));

		a = i < ARRAY_N(edge64) ? edge64[i] : rnd_f64();
		if ((uint64_t)sf_f64_to_i64(a) != (uint64_t)hw_cvtt64(a))
			report("sf_f64_to_i64", a, 0, (uint64_t)sf_f64_to_i64(a),
			       (uint64_t)hw_cvtt64(a));
		if (sf_f64_to_i32(a) != hw_cvtt32(a))
			report("sf_f64_to_i32", a, 0, (uint64_t)sf_f64_to_i32(a),
			       (uint64_t)hw_cvtt32(a));
		if (sf_f64_to_f32(a) != hw_f64_to_f32(a))
			report("sf_f64_to_f32", a, 0, sf_f64_to_f32(a), hw_f64_to_f32(a));
		/* unsigned conversion is defined in C only for [0, 2^64) */
		d = d_of(a);
		if (d >= 0 && d < 18446744073709551616.0 && sf_f64_to_u64(a) != (uint64_t)d)
			report("sf_f64_to_u64", a, 0, sf_f64_to_u64(a), (uint64_t)d);

		f = rnd_f32();
		if (sf_f32_to_f64(f) != hw_f32_to_f64(f))
			report("sf_f32_to_f64", f, 0, sf_f32_to_f64(f), hw_f32_to_f64(f));
		if ((uint64_t)sf_f32_to_i64(f) != (uint64_t)hw_cvtt64(hw_f32_to_f64(f)))
			report("sf_f32_to_i64", f, 0, (uint64_t)sf_f32_to_i64(f),
			       (uint64_t)hw_cvtt64(hw_f32_to_f64(f)));
		if (sf_f32_to_i32(f) != hw_cvtt32(hw_f32_to_f64(f)))
			report("sf_f32_to_i32", f, 0, (uint64_t)sf_f32_to_i32(f),
			       (uint64_t)hw_cvtt32(hw_f32_to_f64(f)));
		if (f_of(f) >= 0 && f_of(f) < 18446744073709551616.0f &&
		    sf_f32_to_u64(f) != (uint64_t)f_of(f))
			report("sf_f32_to_u64", f, 0, sf_f32_to_u64(f), (uint64_t)f_of(f));
	}
	assert_int_equal(failures, 0);
}

static void test_compare(void **state)
{
	size_t i, j;

	(void)state;
	failures = 0;
	for (i = 0; i < ARRAY_N(edge64); i++) {
		for (j = 0; j < ARRAY_N(edge64); j++) {
			uint64_t a = edge64[i], b = edge64[j];
			double x = d_of(a), y = d_of(b);
			uint32_t fa = hw_f64_to_f32(a), fb = hw_f64_to_f32(b);

			if (sf_f64_eq(a, b) != (x == y) || sf_f64_lt(a, b) != (x < y) ||
			    sf_f64_le(a, b) != (x <= y) ||
			    sf_f64_unordered(a, b) != (x != x || y != y))
				report("sf_f64_cmp", a, b, 0, 0);
			if (sf_f32_eq(fa, fb) != (f_of(fa) == f_of(fb)) ||
			    sf_f32_lt(fa, fb) != (f_of(fa) < f_of(fb)) ||
			    sf_f32_le(fa, fb) != (f_of(fa) <= f_of(fb)))
				report("sf_f32_cmp", fa, fb, 0, 0);
		}
	}
	for (i = 0; i < N_RANDOM; i++) {
		uint64_t a = rnd_f64(), b = (i & 1) ? near_f64(a) : rnd_f64();
		double x = d_of(a), y = d_of(b);

		if (sf_f64_eq(a, b) != (x == y) || sf_f64_lt(a, b) != (x < y) ||
		    sf_f64_le(a, b) != (x <= y))
			report("sf_f64_cmp", a, b, 0, 0);
	}
	assert_int_equal(failures, 0);
}

static void test_classify(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_N(edge64); i++) {
		uint64_t a = edge64[i];
		double x = d_of(a);
		uint32_t f = hw_f64_to_f32(a);

		assert_int_equal(sf_f64_isnan(a), x != x);
		assert_int_equal(sf_f64_isinf(a), x - x != x - x && x == x);
		assert_int_equal(sf_f64_isfinite(a), x - x == 0);
		assert_int_equal(sf_f64_iszero(a), x == 0);
		assert_int_equal(sf_f32_isnan(f), f_of(f) != f_of(f));
		assert_int_equal(sf_f32_isfinite(f), f_of(f) - f_of(f) == 0);
		assert_int_equal(sf_f32_iszero(f), f_of(f) == 0);
		assert_int_equal(sf_f32_isinf(f), !sf_f32_isfinite(f) && !sf_f32_isnan(f));
		assert_true(sf_f64_neg(a) == (a ^ SF_F64_SIGN));
		assert_true(sf_f32_neg(f) == (f ^ SF_F32_SIGN));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_f64_add),
		cmocka_unit_test(test_f64_sub),
		cmocka_unit_test(test_f64_mul),
		cmocka_unit_test(test_f64_div),
		cmocka_unit_test(test_f32_arith),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
