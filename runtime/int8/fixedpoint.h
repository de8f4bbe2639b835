/* fixedpoint — the integer requantization arithmetic (docs/integer-semantics.md).
 *
 * A real multiplier M > 0 is represented as M0 * 2^(shift - 31) with
 * M0 in [2^30, 2^31) (Q0.31) and an integer shift (TFLite QuantizeMultiplier
 * semantics). Requantization uses a single rounding:
 *     t = 31 - shift;  y = (int32)((acc * (int64)M0 + (1 << (t - 1))) >> t)
 * i.e. round half towards +infinity, then + zero_point, then clamp.
 */
#ifndef QATC_FIXEDPOINT_H
#define QATC_FIXEDPOINT_H

#include <stdint.h>

typedef struct {
    int32_t multiplier; /* M0 in [2^30, 2^31), or 0 when M underflows */
    int32_t shift;      /* in [FXP_SHIFT_MIN, FXP_SHIFT_MAX] */
} fxp_requant;

#define FXP_SHIFT_MIN (-31) /* t = 62: the largest right shift used */
#define FXP_SHIFT_MAX 30    /* t = 1 */

/* Computes M0 and shift for the real ratio m. Returns 0 on success, -1 when m
 * is not finite, not > 0, or too large (m >= 2^30, which needs t < 1). Ratios
 * below the smallest representable (m < 2^-32 after rounding) give
 * {multiplier 0, shift 0}: requantization then yields 0 for every acc. */
int fxp_quantize_multiplier(double m, fxp_requant *out);

/* round((acc * M0) / 2^t), ties towards +infinity, saturated to int32. */
int32_t fxp_requantize(int32_t acc, fxp_requant rq);

/* Saturating conversions. */
int8_t fxp_sat_s8(int32_t x);
int32_t fxp_clamp_s32(int32_t x, int32_t lo, int32_t hi);

#endif
