/* fixedpoint — multiplier/shift from a real ratio and the single-rounding
 * requantization of docs/integer-semantics.md (see fixedpoint.h for the
 * representation).
 *
 * Accumulator bound. fxp_requantize accepts any int32 acc: with |acc| <= 2^31
 * and 0 <= M0 < 2^31 the product satisfies |acc * M0| < 2^62, and adding the
 * rounding term 2^(t-1) <= 2^61 keeps it below 2^63, so the int64 expression
 * never overflows for any shift in [FXP_SHIFT_MIN, FXP_SHIFT_MAX]. The result
 * only leaves int32 when M > 1 (shift > 0); it is then saturated.
 *
 * Rounding. y = floor((acc * M0 + 2^(t-1)) / 2^t) = floor(acc * M + 1/2):
 * round to nearest, ties towards +infinity (so -2.5 -> -2, 2.5 -> 3), one
 * rounding only (no separate doubling-high-mul then rounding shift as in
 * TFLite's double-rounding path). This is TFLite's TFLITE_SINGLE_ROUNDING and
 * CMSIS-NN's CMSIS_NN_USE_SINGLE_ROUNDING.
 */
#include "fixedpoint.h"

#include <assert.h>
#include <math.h>

/* The rounding term relies on >> of a negative int64 being an arithmetic
 * shift (floor division by 2^t), as on every compiler qatc supports. */
_Static_assert((-5LL >> 1) == -3LL, "arithmetic right shift of negative values required");

int fxp_quantize_multiplier(double m, fxp_requant *out)
{
    if (!isfinite(m) || !(m > 0))
        return -1;
    /* m = q * 2^e with q in [0.5, 1);  M0 = round(q * 2^31) in [2^30, 2^31],
     * so m ~= M0 * 2^(e - 31): shift = e. The relative error is at most
     * 0.5 / 2^30 = 2^-31. Ties of the mantissa round away from zero (llround). */
    int e;
    double q = frexp(m, &e);
    long long m0 = llround(ldexp(q, 31));
    if (m0 == (1LL << 31)) { /* q rounded up to 1.0: renormalize */
        m0 = 1LL << 30;
        e++;
    }
    if (e > FXP_SHIFT_MAX) /* m >= 2^30 (after rounding): t = 31 - shift < 1 */
        return -1;
    if (e < FXP_SHIFT_MIN) {
        /* m < 2^-32: |acc * m| < 2^31 * 2^-32 = 1/2 for every int32 acc, so the
         * exact round-half-up result is 0 everywhere, which {0, 0} gives. */
        out->multiplier = 0;
        out->shift = 0;
        return 0;
    }
    out->multiplier = (int32_t)m0;
    out->shift = e;
    return 0;
}

int32_t fxp_requantize(int32_t acc, fxp_requant rq)
{
    assert(rq.multiplier >= 0);
    assert(rq.shift >= FXP_SHIFT_MIN && rq.shift <= FXP_SHIFT_MAX);
    int t = 31 - rq.shift; /* in [1, 62] */
    /* y = round(acc * M0 / 2^t), ties towards +inf; no overflow (see top). */
    int64_t y = ((int64_t)acc * rq.multiplier + ((int64_t)1 << (t - 1))) >> t;
    if (y > INT32_MAX)
        return INT32_MAX;
    if (y < INT32_MIN)
        return INT32_MIN;
    return (int32_t)y;
}

int8_t fxp_sat_s8(int32_t x)
{
    return (int8_t)fxp_clamp_s32(x, INT8_MIN, INT8_MAX);
}

int32_t fxp_clamp_s32(int32_t x, int32_t lo, int32_t hi)
{
    assert(lo <= hi);
    return x < lo ? lo : x > hi ? hi : x;
}
