/*
** softfloat.h: IEEE-754 binary32/binary64 arithmetic in integer code, for
** the freestanding VM (no FPU, `-mgeneral-regs-only`). Values travel as bit
** patterns: uint32_t for float (f32), uint64_t for double (f64).
**
** Results are bit-exact with x86-64 SSE in its default mode (MXCSR: round to
** nearest even, no flush-to-zero, no denormals-are-zero, exceptions masked):
**  - an operation whose first operand is a NaN returns that NaN quieted,
**    else a NaN second operand quieted (addsd/mulsd/... operand order);
**  - an invalid operation (inf-inf, 0*inf, 0/0, inf/inf) returns x86's
**    "default NaN": f64 0xfff8000000000000, f32 0xffc00000;
**  - float->integer conversions truncate toward zero; NaN or out of range
**    gives the "integer indefinite" value (cvttsd2si): INT64_MIN / INT32_MIN.
** No function has side effects or reads global state.
*/
#ifndef HD_SCRIPT_SOFTFLOAT_H
#define HD_SCRIPT_SOFTFLOAT_H

#include <stdbool.h>
#include <stdint.h>

/** Useful constants (bit patterns). */
#define SF_F64_DEFAULT_NAN UINT64_C(0xfff8000000000000)
#define SF_F32_DEFAULT_NAN UINT32_C(0xffc00000)
#define SF_F64_INF         UINT64_C(0x7ff0000000000000)
#define SF_F32_INF         UINT32_C(0x7f800000)
#define SF_F64_SIGN        UINT64_C(0x8000000000000000)
#define SF_F32_SIGN        UINT32_C(0x80000000)

/* ---- binary64 arithmetic ---- */

/** @brief a + b, correctly rounded (nearest even). */
uint64_t sf_f64_add(uint64_t a, uint64_t b);
/** @brief a - b. */
uint64_t sf_f64_sub(uint64_t a, uint64_t b);
/** @brief a * b. */
uint64_t sf_f64_mul(uint64_t a, uint64_t b);
/** @brief a / b (x/0 = signed infinity, 0/0 = default NaN). */
uint64_t sf_f64_div(uint64_t a, uint64_t b);
/** @brief -a (flips the sign bit, also of NaNs and zeros). */
uint64_t sf_f64_neg(uint64_t a);

/* ---- binary32 arithmetic ---- */

/** @brief a + b. */
uint32_t sf_f32_add(uint32_t a, uint32_t b);
/** @brief a - b. */
uint32_t sf_f32_sub(uint32_t a, uint32_t b);
/** @brief a * b. */
uint32_t sf_f32_mul(uint32_t a, uint32_t b);
/** @brief a / b. */
uint32_t sf_f32_div(uint32_t a, uint32_t b);
/** @brief -a. */
uint32_t sf_f32_neg(uint32_t a);

/* ---- comparisons (C semantics: any NaN operand makes eq/lt/le false,
 *      so `!=` is `!sf_..._eq`; +0 == -0) ---- */

/** @brief a == b. */
bool sf_f64_eq(uint64_t a, uint64_t b);
/** @brief a < b. */
bool sf_f64_lt(uint64_t a, uint64_t b);
/** @brief a <= b. */
bool sf_f64_le(uint64_t a, uint64_t b);
/** @brief true if a or b is a NaN. */
bool sf_f64_unordered(uint64_t a, uint64_t b);
/** @brief a == b. */
bool sf_f32_eq(uint32_t a, uint32_t b);
/** @brief a < b. */
bool sf_f32_lt(uint32_t a, uint32_t b);
/** @brief a <= b. */
bool sf_f32_le(uint32_t a, uint32_t b);
/** @brief true if a or b is a NaN. */
bool sf_f32_unordered(uint32_t a, uint32_t b);

/* ---- classification ---- */

/** @brief a is a NaN (quiet or signalling). */
bool sf_f64_isnan(uint64_t a);
/** @brief a is +inf or -inf. */
bool sf_f64_isinf(uint64_t a);
/** @brief a is neither NaN nor infinite. */
bool sf_f64_isfinite(uint64_t a);
/** @brief a is +0 or -0. */
bool sf_f64_iszero(uint64_t a);
/** @brief a is a NaN. */
bool sf_f32_isnan(uint32_t a);
/** @brief a is +inf or -inf. */
bool sf_f32_isinf(uint32_t a);
/** @brief a is neither NaN nor infinite. */
bool sf_f32_isfinite(uint32_t a);
/** @brief a is +0 or -0. */
bool sf_f32_iszero(uint32_t a);

/* ---- conversions (int -> float round to nearest even; cvtsi2sd) ---- */

/** @brief (double)v. */
uint64_t sf_i64_to_f64(int64_t v);
/** @brief (double)v for unsigned v (correctly rounded). */
uint64_t sf_u64_to_f64(uint64_t v);
/** @brief (float)v. */
uint32_t sf_i64_to_f32(int64_t v);
/** @brief (float)v for unsigned v. */
uint32_t sf_u64_to_f32(uint64_t v);
/** @brief float -> double (exact; a signalling NaN is quieted). */
uint64_t sf_f32_to_f64(uint32_t a);
/** @brief double -> float, rounded to nearest even (may overflow to inf
 *  or underflow to a subnormal/zero). */
uint32_t sf_f64_to_f32(uint64_t a);

/* ---- float -> integer, truncating toward zero (cvttsd2si/cvttss2si) ---- */

/** @brief (int64_t)a; NaN or |a| >= 2^63 (except -2^63) -> INT64_MIN. */
int64_t sf_f64_to_i64(uint64_t a);
/** @brief (int32_t)a; NaN or out of range -> INT32_MIN. */
int32_t sf_f64_to_i32(uint64_t a);
/** @brief (int64_t)a for a float. */
int64_t sf_f32_to_i64(uint32_t a);
/** @brief (int32_t)a for a float. */
int32_t sf_f32_to_i32(uint32_t a);
/** @brief (uint64_t)a the way gcc compiles it on x86-64: a < 2^63 ->
 *  sf_f64_to_i64(a); otherwise sf_f64_to_i64(a - 2^63) ^ 2^63. So values
 *  in [0, 2^64) convert exactly (truncated); negative ones give the two's
 *  complement of the truncated value (if > -2^63); NaN gives 2^63 and
 *  a >= 2^64 gives 0 (what that instruction sequence yields). */
uint64_t sf_f64_to_u64(uint64_t a);
/** @brief (uint64_t)a for a float, same rules. */
uint64_t sf_f32_to_u64(uint32_t a);

#endif
