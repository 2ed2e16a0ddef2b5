/*
** softfloat.c: IEEE-754 binary32/binary64 in integer code for the
** freestanding VM (see softfloat.h for the x86-compatible NaN and
** conversion rules).
**
** Representation used while rounding ("packed form"): a significand `sig`
** whose leading 1 is at bit 62 (f64) or bit 30 (f32), with 10 (f64) or 7
** (f32) extra low bits for rounding, and an exponent `exp` that is one less
** than the biased exponent of the result. Adding `sig >> 10` to `exp << 52`
** then lets the leading 1 carry into the exponent field, so normal,
** subnormal (exp 0) and overflowing results all pack with one addition.
**
** binary32 +,-,*,/ are computed exactly enough in binary64 and rounded
** once more to binary32: with 53 >= 2*24 + 2 significand bits this double
** rounding is known to give the correctly rounded binary32 result.
*/
#include "script/softfloat.h"

#define F64_FRAC_MASK UINT64_C(0x000fffffffffffff)
#define F64_QUIET     UINT64_C(0x0008000000000000)
#define F64_HIDDEN    UINT64_C(0x0010000000000000)
#define F32_FRAC_MASK UINT32_C(0x007fffff)
#define F32_QUIET     UINT32_C(0x00400000)

static int f64_exp(uint64_t a)
{
	return (int)((a >> 52) & 0x7ff);
}

static uint64_t f64_frac(uint64_t a)
{
	return a & F64_FRAC_MASK;
}

static bool f64_sign(uint64_t a)
{
	return (a >> 63) != 0;
}

static uint64_t f64_pack(bool sign, int exp, uint64_t sig)
{
	return ((uint64_t)sign << 63) + ((uint64_t)exp << 52) + sig;
}

static uint32_t f32_pack(bool sign, int exp, uint32_t sig)
{
	return ((uint32_t)sign << 31) + ((uint32_t)exp << 23) + sig;
}

/* Number of leading zero bits; x != 0. Inlined by the compiler (bsr/lzcnt). */
static int clz64(uint64_t x)
{
	return __builtin_clzll(x);
}

/* x >> n, with every bit shifted out ORed into bit 0 ("sticky"). */
static uint64_t shift_right_jam(uint64_t x, int n)
{
	if (n <= 0)
		return x;
	if (n < 64)
		return (x >> n) | ((x << (64 - n)) != 0);
	return x != 0;
}

/* Round a packed-form f64 (see banner) to nearest even and encode it. */
static uint64_t round_pack_f64(bool sign, int exp, uint64_t sig)
{
	unsigned round_bits = (unsigned)(sig & 0x3ff);

	if ((unsigned)exp >= 0x7fd) {
		if (exp < 0) {
			sig = shift_right_jam(sig, -exp);
			exp = 0;
			round_bits = (unsigned)(sig & 0x3ff);
		} else if (exp > 0x7fd || sig + 0x200 >= UINT64_C(0x8000000000000000)) {
			return f64_pack(sign, 0x7ff, 0);
		}
	}
	sig = (sig + 0x200) >> 10;
	if (round_bits == 0x200)
		sig &= ~UINT64_C(1);
	if (!sig)
		exp = 0;
	return f64_pack(sign, exp, sig);
}

/* Same for f32: leading 1 at bit 30, 7 rounding bits. */
static uint32_t round_pack_f32(bool sign, int exp, uint32_t sig)
{
	unsigned round_bits = sig & 0x7f;

	if ((unsigned)exp >= 0xfd) {
		if (exp < 0) {
			sig = (uint32_t)shift_right_jam(sig, -exp);
			exp = 0;
			round_bits = sig & 0x7f;
		} else if (exp > 0xfd || sig + 0x40 >= UINT32_C(0x80000000)) {
			return f32_pack(sign, 0xff, 0);
		}
	}
	sig = (sig + 0x40) >> 7;
	if (round_bits == 0x40)
		sig &= ~UINT32_C(1);
	if (!sig)
		exp = 0;
	return f32_pack(sign, exp, sig);
}

/* Normalise a nonzero value m * 2^(e - 1084) (any bit position) into
 * packed form and round it. */
static uint64_t norm_round_pack_f64(bool sign, int e, uint64_t m)
{
	int s = clz64(m) - 1;

	if (s >= 0)
		m <<= s;
	else
		m = shift_right_jam(m, 1);
	return round_pack_f64(sign, e - s, m);
}

/* x86 NaN propagation for two-operand SSE instructions. */
static uint64_t propagate_nan_f64(uint64_t a, uint64_t b)
{
	if (sf_f64_isnan(a))
		return a | F64_QUIET;
	return b | F64_QUIET;
}

/* Unpack a finite f64 into a significand with the hidden bit at bit 52
 * (or a subnormal/zero fraction) and an exponent e with value m*2^(e-1075). */
static uint64_t unpack_f64(uint64_t a, int *e)
{
	int ex = f64_exp(a);

	if (ex == 0) {
		*e = 1;
		return f64_frac(a);
	}
	*e = ex;
	return f64_frac(a) | F64_HIDDEN;
}

/* Shift a nonzero unpacked significand so that bit 52 is its leading 1. */
static uint64_t normalize_f64(uint64_t m, int *e)
{
	int s = clz64(m) - 11;

	*e -= s;
	return m << s;
}

/* ---- binary64 ---- */

bool sf_f64_isnan(uint64_t a)
{
	return f64_exp(a) == 0x7ff && f64_frac(a) != 0;
}

bool sf_f64_isinf(uint64_t a)
{
	return (a << 1) == (SF_F64_INF << 1);
}

bool sf_f64_isfinite(uint64_t a)
{
	return f64_exp(a) != 0x7ff;
}

bool sf_f64_iszero(uint64_t a)
{
	return (a << 1) == 0;
}

uint64_t sf_f64_neg(uint64_t a)
{
	return a ^ SF_F64_SIGN;
}

/* a + b when b's sign has already been applied (`sb`); NaNs handled. */
static uint64_t add_core_f64(uint64_t a, bool sa, uint64_t b, bool sb)
{
	int ea, eb;
	uint64_t ma, mb, m;
	bool sign;

	if (f64_exp(a) == 0x7ff || f64_exp(b) == 0x7ff) {
		if (f64_exp(a) == 0x7ff && f64_exp(b) == 0x7ff && sa != sb)
			return SF_F64_DEFAULT_NAN;
		if (f64_exp(a) == 0x7ff)
			return f64_pack(sa, 0x7ff, 0);
		return f64_pack(sb, 0x7ff, 0);
	}
	ma = unpack_f64(a, &ea) << 9;
	mb = unpack_f64(b, &eb) << 9;
	/* make a the operand of larger magnitude */
	if (eb > ea || (eb == ea && mb > ma)) {
		uint64_t tm = ma;
		int te = ea;
		bool ts = sa;

		ma = mb, ea = eb, sa = sb;
		mb = tm, eb = te, sb = ts;
	}
	mb = shift_right_jam(mb, ea - eb);
	sign = sa;
	if (sa == sb) {
		m = ma + mb;
	} else {
		m = ma - mb;
		if (!m)  /* exact cancellation: +0 in round to nearest */
			return 0;
	}
	if (!m)  /* both zero, same sign */
		return f64_pack(sign, 0, 0);
	/* value = m * 2^(ea - 1075 - 9) = m * 2^((ea - 0) - 1084) */
	return norm_round_pack_f64(sign, ea, m);
}

uint64_t sf_f64_add(uint64_t a, uint64_t b)
{
	if (sf_f64_isnan(a) || sf_f64_isnan(b))
		return propagate_nan_f64(a, b);
	return add_core_f64(a, f64_sign(a), b, f64_sign(b));
}

uint64_t sf_f64_sub(uint64_t a, uint64_t b)
{
	if (sf_f64_isnan(a) || sf_f64_isnan(b))
		return propagate_nan_f64(a, b);
	return add_core_f64(a, f64_sign(a), b ^ SF_F64_SIGN, !f64_sign(b));
}

/* 64 x 64 -> 128 bit product (hi, lo) from 32-bit halves. */
static void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a0 = a & 0xffffffff, a1 = a >> 32;
	uint64_t b0 = b & 0xffffffff, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);

	*lo = (mid << 32) | (p00 & 0xffffffff);
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

uint64_t sf_f64_mul(uint64_t a, uint64_t b)
{
	bool sign = f64_sign(a) ^ f64_sign(b);
	int ea, eb;
	uint64_t ma, mb, hi, lo;

	if (sf_f64_isnan(a) || sf_f64_isnan(b))
		return propagate_nan_f64(a, b);
	if (f64_exp(a) == 0x7ff || f64_exp(b) == 0x7ff) {
		if (sf_f64_iszero(a) || sf_f64_iszero(b))
			return SF_F64_DEFAULT_NAN;
		return f64_pack(sign, 0x7ff, 0);
	}
	if (sf_f64_iszero(a) || sf_f64_iszero(b))
		return f64_pack(sign, 0, 0);
	ma = normalize_f64(unpack_f64(a, &ea), &ea) << 10;
	mb = normalize_f64(unpack_f64(b, &eb), &eb) << 11;
	mul64(ma, mb, &hi, &lo);
	hi |= lo != 0;
	/* value = hi * 2^(ea + eb - 2107); packed exponent ea + eb - 1023 */
	return norm_round_pack_f64(sign, ea + eb - 1023, hi);
}

uint64_t sf_f64_div(uint64_t a, uint64_t b)
{
	bool sign = f64_sign(a) ^ f64_sign(b);
	int ea, eb, i;
	uint64_t ma, mb, q = 0;

	if (sf_f64_isnan(a) || sf_f64_isnan(b))
		return propagate_nan_f64(a, b);
	if (f64_exp(a) == 0x7ff) {
		if (f64_exp(b) == 0x7ff)
			return SF_F64_DEFAULT_NAN;
		return f64_pack(sign, 0x7ff, 0);
	}
	if (f64_exp(b) == 0x7ff)
		return f64_pack(sign, 0, 0);
	if (sf_f64_iszero(b)) {
		if (sf_f64_iszero(a))
			return SF_F64_DEFAULT_NAN;
		return f64_pack(sign, 0x7ff, 0);
	}
	if (sf_f64_iszero(a))
		return f64_pack(sign, 0, 0);
	ma = normalize_f64(unpack_f64(a, &ea), &ea);
	mb = normalize_f64(unpack_f64(b, &eb), &eb);
	if (ma < mb) {
		ma <<= 1;
		ea--;
	}
	/* restoring division: 63 quotient bits, leading 1 at bit 62 */
	for (i = 0; i < 63; i++) {
		q <<= 1;
		if (ma >= mb) {
			ma -= mb;
			q |= 1;
		}
		ma <<= 1;
	}
	q |= ma != 0;
	return round_pack_f64(sign, ea - eb + 1022, q);
}

bool sf_f64_unordered(uint64_t a, uint64_t b)
{
	return sf_f64_isnan(a) || sf_f64_isnan(b);
}

bool sf_f64_eq(uint64_t a, uint64_t b)
{
	if (sf_f64_unordered(a, b))
		return false;
	return a == b || ((a | b) << 1) == 0;
}

bool sf_f64_lt(uint64_t a, uint64_t b)
{
	bool sa = f64_sign(a), sb = f64_sign(b);

	if (sf_f64_unordered(a, b))
		return false;
	if (sa != sb)
		return sa && ((a | b) << 1) != 0;
	return a != b && (sa ^ (a < b));
}

bool sf_f64_le(uint64_t a, uint64_t b)
{
	bool sa = f64_sign(a), sb = f64_sign(b);

	if (sf_f64_unordered(a, b))
		return false;
	if (sa != sb)
		return sa || ((a | b) << 1) == 0;
	return a == b || (sa ^ (a < b));
}

/* ---- conversions ---- */

uint64_t sf_u64_to_f64(uint64_t v)
{
	if (!v)
		return 0;
	/* value = v * 2^0 = v * 2^(1084 - 1084) */
	return norm_round_pack_f64(false, 1084, v);
}

uint64_t sf_i64_to_f64(int64_t v)
{
	bool neg = v < 0;
	uint64_t mag = neg ? 0 - (uint64_t)v : (uint64_t)v;

	if (!mag)
		return 0;
	return norm_round_pack_f64(neg, 1084, mag);
}

static uint32_t mag_to_f32(bool neg, uint64_t mag)
{
	int s;
	uint64_t sig;

	if (!mag)
		return 0;
	s = clz64(mag);
	/* leading 1 to bit 63, then down to bit 30 with sticky bits */
	sig = shift_right_jam(mag << s, 33);
	/* value = sig * 2^(33 - s); f32 packed value = sig * 2^(exp - 156) */
	return round_pack_f32(neg, 189 - s, (uint32_t)sig);
}

uint32_t sf_u64_to_f32(uint64_t v)
{
	return mag_to_f32(false, v);
}

uint32_t sf_i64_to_f32(int64_t v)
{
	bool neg = v < 0;

	return mag_to_f32(neg, neg ? 0 - (uint64_t)v : (uint64_t)v);
}

uint64_t sf_f32_to_f64(uint32_t a)
{
	bool sign = (a >> 31) != 0;
	int e = (int)((a >> 23) & 0xff);
	uint64_t frac = a & F32_FRAC_MASK;

	if (e == 0xff) {
		if (frac)
			return f64_pack(sign, 0x7ff, (frac << 29) | F64_QUIET);
		return f64_pack(sign, 0x7ff, 0);
	}
	if (e == 0) {
		int s;

		if (!frac)
			return f64_pack(sign, 0, 0);
		/* subnormal: leading 1 to bit 23 */
		s = clz64(frac) - 40;
		frac = (frac << s) & F32_FRAC_MASK;
		e = 1 - s;
	}
	return f64_pack(sign, e - 127 + 1023, frac << 29);
}

uint32_t sf_f64_to_f32(uint64_t a)
{
	bool sign = f64_sign(a);
	int e;
	uint64_t m;

	if (f64_exp(a) == 0x7ff) {
		if (f64_frac(a))
			return f32_pack(sign, 0xff, (uint32_t)(f64_frac(a) >> 29) | F32_QUIET);
		return f32_pack(sign, 0xff, 0);
	}
	if (sf_f64_iszero(a))
		return f32_pack(sign, 0, 0);
	m = normalize_f64(unpack_f64(a, &e), &e);
	/* leading 1 from bit 52 to bit 30; f32 packed exponent e - 897 */
	return round_pack_f32(sign, e - 897, (uint32_t)shift_right_jam(m, 22));
}

int64_t sf_f64_to_i64(uint64_t a)
{
	int e = f64_exp(a);
	uint64_t m, mag;

	if (sf_f64_isnan(a) || e >= 1023 + 63)
		return INT64_MIN;
	if (e < 1023)
		return 0;
	m = f64_frac(a) | F64_HIDDEN;
	mag = e >= 1075 ? m << (e - 1075) : m >> (1075 - e);
	return f64_sign(a) ? (int64_t)(0 - mag) : (int64_t)mag;
}

int32_t sf_f64_to_i32(uint64_t a)
{
	/* |a| >= 2^31 (which includes every value that truncates to -2^31)
	 * and NaN give INT32_MIN, the same as cvttsd2si with a 32-bit result */
	if (sf_f64_isnan(a) || f64_exp(a) >= 1023 + 31)
		return INT32_MIN;
	return (int32_t)sf_f64_to_i64(a);
}

uint64_t sf_f64_to_u64(uint64_t a)
{
	const uint64_t two63 = UINT64_C(0x43e0000000000000);

	if (sf_f64_isnan(a) || sf_f64_lt(a, two63))
		return (uint64_t)sf_f64_to_i64(a);
	return (uint64_t)sf_f64_to_i64(sf_f64_sub(a, two63)) ^ SF_F64_SIGN;
}

/* ---- binary32: through binary64 (exact widening, one final rounding) ---- */

bool sf_f32_isnan(uint32_t a)
{
	return ((a >> 23) & 0xff) == 0xff && (a & F32_FRAC_MASK) != 0;
}

bool sf_f32_isinf(uint32_t a)
{
	return (a << 1) == (SF_F32_INF << 1);
}

bool sf_f32_isfinite(uint32_t a)
{
	return ((a >> 23) & 0xff) != 0xff;
}

bool sf_f32_iszero(uint32_t a)
{
	return (a << 1) == 0;
}

uint32_t sf_f32_neg(uint32_t a)
{
	return a ^ SF_F32_SIGN;
}

uint32_t sf_f32_add(uint32_t a, uint32_t b)
{
	return sf_f64_to_f32(sf_f64_add(sf_f32_to_f64(a), sf_f32_to_f64(b)));
}

uint32_t sf_f32_sub(uint32_t a, uint32_t b)
{
	return sf_f64_to_f32(sf_f64_sub(sf_f32_to_f64(a), sf_f32_to_f64(b)));
}

uint32_t sf_f32_mul(uint32_t a, uint32_t b)
{
	return sf_f64_to_f32(sf_f64_mul(sf_f32_to_f64(a), sf_f32_to_f64(b)));
}

uint32_t sf_f32_div(uint32_t a, uint32_t b)
{
	return sf_f64_to_f32(sf_f64_div(sf_f32_to_f64(a), sf_f32_to_f64(b)));
}

bool sf_f32_eq(uint32_t a, uint32_t b)
{
	return sf_f64_eq(sf_f32_to_f64(a), sf_f32_to_f64(b));
}

bool sf_f32_lt(uint32_t a, uint32_t b)
{
	return sf_f64_lt(sf_f32_to_f64(a), sf_f32_to_f64(b));
}

bool sf_f32_le(uint32_t a, uint32_t b)
{
	return sf_f64_le(sf_f32_to_f64(a), sf_f32_to_f64(b));
}

bool sf_f32_unordered(uint32_t a, uint32_t b)
{
	return sf_f32_isnan(a) || sf_f32_isnan(b);
}

int64_t sf_f32_to_i64(uint32_t a)
{
	return sf_f64_to_i64(sf_f32_to_f64(a));
}

int32_t sf_f32_to_i32(uint32_t a)
{
	return sf_f64_to_i32(sf_f32_to_f64(a));
}

uint64_t sf_f32_to_u64(uint32_t a)
{
	return sf_f64_to_u64(sf_f32_to_f64(a));
}
