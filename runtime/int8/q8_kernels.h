/* q8_kernels — the int8 reference kernels: the executable definition of
 * qatc's integer semantics (docs/integer-semantics.md). The generated C must
 * be bit-exact with these for every input.
 *
 * All tensors NHWC, batch 1. real = scale * (q - zp). Every kernel ends the
 * same way: requantize (fixedpoint.h) or divide, add the output zero-point,
 * clamp to [act_min, act_max]. Kernels never allocate and never fail; the
 * caller (q8_exec, or tests) guarantees shapes and ranges.
 */
#ifndef QATC_Q8_KERNELS_H
#define QATC_Q8_KERNELS_H

#include <stdint.h>

#include "fixedpoint.h"

/* The window of a conv or pool. Output row oy reads input rows
 *   iy = oy * stride_h - pad_top + ky * dilation_h,   ky = 0 .. kernel_h - 1
 * (columns likewise with stride_w, pad_left, dilation_w); rows and columns
 * outside the input are padding. With eff_h = (kernel_h - 1) * dilation_h + 1:
 *   out_h = (in_h + pad_top + pad_bottom - eff_h) / stride_h + 1. */
typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t kernel_h, kernel_w;        /* >= 1 */
    int32_t stride_h, stride_w;        /* >= 1 */
    int32_t dilation_h, dilation_w;    /* >= 1; pools: 1 */
    int32_t pad_top, pad_bottom;       /* >= 0 (convs: filled with the input zero-point; */
    int32_t pad_left, pad_right;       /* pools: skipped, each pad below the kernel) */
    int32_t depth_multiplier;          /* dwconv2d: out_c = in_c * depth_multiplier (>= 1) */
    int32_t in_zp;                     /* [-128, 127] */
    int32_t out_zp;                    /* [-128, 127] */
    int32_t act_min, act_max;          /* -128 <= act_min <= act_max <= 127 */
} q8_conv_params;

/* conv2d: acc = bias[oc] + sum_{ky,kx,ic} w[oc][ky][kx][ic] * (x - in_zp)
 * w: (out_c, kernel_h, kernel_w, in_c), rq: (out_c) (per tensor: all equal).
 * |acc| <= |bias| + kh*kw*in_c * 127 * 255 must fit int32 (q_model_check). */
void q8_conv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out);

/* depthwise conv2d with channel multiplier M = depth_multiplier:
 * out_c = in_c * M, output channel oc = ic * M + m reads input channel ic.
 * w: (kernel_h, kernel_w, out_c), bias and rq: (out_c). */
void q8_dwconv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out);

/* linear: out[o] = clamp(requant(bias[o] + sum_i w[o][i] * (x[i] - in_zp)) + out_zp)
 * w: (out_n, in_n). */
void q8_linear_s8(int32_t in_n, int32_t out_n, const int8_t *in, int32_t in_zp,
                  const int8_t *w, const int32_t *bias, const fxp_requant *rq,
                  int32_t out_zp, int32_t act_min, int32_t act_max, int8_t *out);

/* max pool on int8 directly (same scale and zero-point in and out): the
 * largest value of the window among the positions inside the input (padding
 * is ignored, never a value). Uses the window fields of p (dilation 1). */
void q8_maxpool_s8(const q8_conv_params *p, const int8_t *in, int8_t *out);

/* average pool, TFLite's rule (output quantization = input's): with acc the
 * sum of the raw int8 values of the window's positions inside the input and
 * count their number (padding never counts),
 *   out = clamp(round_half_away_from_zero(acc / count), act_min, act_max),
 * computed as TFLite does: acc > 0 ? (acc + count/2) / count
 *                                  : (acc - count/2) / count  (C division).
 * Uses the window fields of p (dilation 1), act_min, act_max. */
void q8_avgpool_s8(const q8_conv_params *p, const int8_t *in, int8_t *out);

/* average pool with an output scale of its own (format version 1's kind), no
 * padding: acc = sum over the window of (x - in_zp);
 * out = clamp(requant(acc, rq) + out_zp) with rq from in_scale / (out_scale * kh * kw).
 * Rounding is that of fxp_requantize (half towards +infinity). */
void q8_avgpool_rescale_s8(const q8_conv_params *p, const int8_t *in, fxp_requant rq,
                           int8_t *out);

/* softmax along the channels: rows of n int8 values (any scale s and
 * zero-point), out int8 with scale 1/256 and zero-point -128. table[d] =
 * round(2^Q8_SOFTMAX_EXP_BITS * exp(-s * d)) for d = 0..255 (from
 * q8_softmax_table); n <= Q8_SOFTMAX_MAX_ROW. Per row, with d_j = max - x_j:
 *   S = sum_j table[d_j]                      (uint32, 2^20 <= S <= 2^31)
 *   R = floor(2^47 / S)                       (one exact quotient per row)
 *   out_j = clamp(((table[d_j] * R + 2^38) >> 39) - 128, -128, 127)
 * i.e. round(256 * table[d_j] / S) - 128; within 1 LSB of the float softmax of
 * the dequantized row (see q8_kernels.c for the error bound). */
#define Q8_SOFTMAX_EXP_BITS 20
#define Q8_SOFTMAX_MAX_ROW 2048
#define Q8_SOFTMAX_TABLE 256
void q8_softmax_s8(int32_t rows, int32_t n, const int8_t *in, const int32_t *table,
                   int8_t *out);

/* Fills table (Q8_SOFTMAX_TABLE entries) for input scale s: table[d] =
 * round(2^Q8_SOFTMAX_EXP_BITS * exp(-s * d)), so table[0] = 2^20 and the
 * entries never increase. Returns 0, or -1 (table untouched) when s is not
 * finite and > 0. */
int q8_softmax_table(double s, int32_t *table);

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
