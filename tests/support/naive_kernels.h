/* naive_kernels — a second, deliberately naive implementation of every int8
 * reference kernel (q8_kernels), written separately to test them bit-exactly.
 *
 * It shares no code with q8_kernels or fixedpoint: an explicit padded copy of
 * the input filled with the zero-point (four sides), contributions scattered
 * from the (padded) input into int64 accumulators, dilated taps found by
 * divisibility, pools that scatter only the positions inside the input, and
 * requantization as an exact 128-bit floor division (no right shift, no
 * int32 saturation). The parameter structs are the kernels' own, so a test
 * can hand the same case to both; the naive versions derive the output sizes
 * themselves and assert that the struct agrees.
 * These allocate (abort on out of memory): test use only.
 */
#ifndef QATC_NAIVE_KERNELS_H
#define QATC_NAIVE_KERNELS_H

#include <stdint.h>

#include "q8_kernels.h"

/* round(v * M0 / 2^(31 - shift)), ties towards +inf, exactly, in 128 bits;
 * then + zp and clamped to [lo, hi]. */
int8_t naive_requant_clamp(int64_t v, fxp_requant rq, int32_t zp, int32_t lo, int32_t hi);

void naive_conv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out);
void naive_dwconv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out);
void naive_linear(int32_t in_n, int32_t out_n, const int8_t *in, int32_t in_zp,
                  const int8_t *w, const int32_t *bias, const fxp_requant *rq, int32_t out_zp,
                  int32_t act_min, int32_t act_max, int8_t *out);
void naive_maxpool(const q8_conv_params *p, const int8_t *in, int8_t *out);
/* TFLite's average pool: the mean of the raw values inside the input, rounded
 * half away from zero as floor((2|sum| + count) / (2 count)) with the sign of sum. */
void naive_avgpool(const q8_conv_params *p, const int8_t *in, int8_t *out);
void naive_avgpool_rescale(const q8_conv_params *p, const int8_t *in, fxp_requant rq,
                           int8_t *out);
/* The softmax of q8_softmax_s8, in 128-bit arithmetic, with the same table. */
void naive_softmax(int32_t rows, int32_t n, const int8_t *in, const int32_t *table, int8_t *out);
void naive_add(const q8_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
               int8_t *out);

#endif
