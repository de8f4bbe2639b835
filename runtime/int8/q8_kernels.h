/* q8_kernels — the int8 reference kernels: the executable definition of
 * qatc's integer semantics (docs/integer-semantics.md). The generated C must
 * be bit-exact with these for every input.
 *
 * All tensors NHWC, batch 1. real = scale * (q - zp). Every kernel ends the
 * same way: requantize (fixedpoint.h), add the output zero-point, clamp to
 * [act_min, act_max]. Kernels never allocate and never fail; the caller
 * (q8_exec, or tests) guarantees shapes and ranges.
 */
#ifndef QATC_Q8_KERNELS_H
#define QATC_Q8_KERNELS_H

#include <stdint.h>

#include "fixedpoint.h"

typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;       /* out = (in + 2*pad - kernel) / stride + 1 */
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;              /* the same on both sides; padding is the input zero-point */
    int32_t in_zp;                     /* [-128, 127] */
    int32_t out_zp;                    /* [-128, 127] */
    int32_t act_min, act_max;          /* -128 <= act_min <= act_max <= 127 */
} q8_conv_params;

/* conv2d: acc = bias[oc] + sum_{ky,kx,ic} w[oc][ky][kx][ic] * (x - in_zp)
 * w: (out_c, kernel_h, kernel_w, in_c), rq: (out_c) (per tensor: all equal).
 * |acc| <= |bias| + kh*kw*in_c * 127 * 255 must fit int32 (q_model_check). */
void q8_conv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out);

/* depthwise conv2d, channel multiplier 1 (out_c == in_c).
 * w: (kernel_h, kernel_w, c). */
void q8_dwconv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out);

/* linear: out[o] = clamp(requant(bias[o] + sum_i w[o][i] * (x[i] - in_zp)) + out_zp)
 * w: (out_n, in_n). */
void q8_linear_s8(int32_t in_n, int32_t out_n, const int8_t *in, int32_t in_zp,
                  const int8_t *w, const int32_t *bias, const fxp_requant *rq,
                  int32_t out_zp, int32_t act_min, int32_t act_max, int8_t *out);

/* max pool on int8 directly (same scale and zero-point in and out); no padding;
 * uses in_*, out_*, kernel_*, stride_* of p. */
void q8_maxpool_s8(const q8_conv_params *p, const int8_t *in, int8_t *out);

/* average pool, no padding: acc = sum over the window of (x - in_zp);
 * out = clamp(requant(acc, rq) + out_zp) with rq from in_scale / (out_scale * kh * kw).
 * Rounding is that of fxp_requantize (half towards +infinity). */
void q8_avgpool_s8(const q8_conv_params *p, const int8_t *in, fxp_requant rq, int8_t *out);

/* residual add, TFLite style with single rounding:
 *   s = 2 * max(s1, s2);  a_i = ((x_i - zp_i) << Q8_ADD_LEFT_SHIFT) requantized by s_i / s
 *   out = clamp(requant(a_1 + a_2, s / (2^Q8_ADD_LEFT_SHIFT * s_out)) + zp_out)
 * See q8_add_params_from_scales for how the multipliers are derived. */
#define Q8_ADD_LEFT_SHIFT 20
typedef struct {
    int32_t in1_zp, in2_zp, out_zp;
    fxp_requant in1_rq, in2_rq, out_rq;
    int32_t act_min, act_max;
} q8_add_params;

/* Fills the multipliers of p from the three scales. Returns 0, or -1 when a
 * ratio is not representable (fxp_quantize_multiplier fails). */
int q8_add_params_from_scales(double s1, double s2, double s_out, q8_add_params *p);

void q8_add_s8(const q8_add_params *p, int32_t n, const int8_t *in1,
               const int8_t *in2, int8_t *out);

/* top-1: the index of the largest value, the lowest index among equal maxima. n >= 1. */
int q8_argmax(const int8_t *v, int32_t n);

#endif
