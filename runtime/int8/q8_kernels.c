/* q8_kernels — the int8 reference kernels (see q8_kernels.h).
 *
 * These are the definition of qatc's integer semantics, not a fast path:
 * plain loops in output order, one accumulator per output value, no clever
 * index arithmetic. Every kernel ends with finish(): requantize, add the
 * output zero-point, clamp to the activation range (the average pool's
 * division and the softmax end with their own rounding, then the clamp).
 *
 * Indexing (NHWC, batch 1): x[y][x][c] is in[(y * in_w + x) * in_c + c].
 * Window tap (ky, kx) of output (oy, ox) reads input row
 * oy * stride_h - pad_top + ky * dilation_h and column
 * ox * stride_w - pad_left + kx * dilation_w (window_row / window_col).
 */
#include "q8_kernels.h"

#include <assert.h>
#include <math.h>

/* out = clamp(requant(acc) + out_zp, act_min, act_max).
 * fxp_requantize saturates to int32; the zero-point is added in int64 so the
 * result is that of exact arithmetic: round(acc * M) + zp, clamped. */
static int8_t finish(int32_t acc, fxp_requant rq, int32_t out_zp, int32_t act_min,
                     int32_t act_max)
{
    int64_t y = (int64_t)fxp_requantize(acc, rq) + out_zp;
    if (y < act_min)
        y = act_min;
    if (y > act_max)
        y = act_max;
    return (int8_t)y;
}

static int32_t window_row(const q8_conv_params *p, int32_t oy, int32_t ky)
{
    return oy * p->stride_h - p->pad_top + ky * p->dilation_h;
}

static int32_t window_col(const q8_conv_params *p, int32_t ox, int32_t kx)
{
    return ox * p->stride_w - p->pad_left + kx * p->dilation_w;
}

/* Window fields: any padding >= 0 (a conv window wholly in the padding sums
 * nothing: acc = bias; q_model_check keeps each pad below the kernel). */
static void check_window(const q8_conv_params *p)
{
    assert(p->kernel_h >= 1 && p->kernel_w >= 1 && p->stride_h >= 1 && p->stride_w >= 1);
    assert(p->dilation_h >= 1 && p->dilation_w >= 1);
    assert(p->pad_top >= 0 && p->pad_bottom >= 0 && p->pad_left >= 0 && p->pad_right >= 0);
    assert(p->out_h == (p->in_h + p->pad_top + p->pad_bottom -
                        ((p->kernel_h - 1) * p->dilation_h + 1)) / p->stride_h + 1);
    assert(p->out_w == (p->in_w + p->pad_left + p->pad_right -
                        ((p->kernel_w - 1) * p->dilation_w + 1)) / p->stride_w + 1);
    assert(-128 <= p->act_min && p->act_min <= p->act_max && p->act_max <= 127);
    (void)p;
}

static void check_conv_params(const q8_conv_params *p)
{
    check_window(p);
    assert(p->in_zp >= -128 && p->in_zp <= 127 && p->out_zp >= -128 && p->out_zp <= 127);
    (void)p;
}

/* Pools: no dilation and every pad below the kernel, so each window holds at
 * least one position inside the input. */
static void check_pool_params(const q8_conv_params *p)
{
    check_window(p);
    assert(p->dilation_h == 1 && p->dilation_w == 1);
    assert(p->pad_top < p->kernel_h && p->pad_bottom < p->kernel_h);
    assert(p->pad_left < p->kernel_w && p->pad_right < p->kernel_w);
    assert(p->out_c == p->in_c);
    (void)p;
}

/* conv2d, NHWC in (in_h, in_w, in_c), OHWI w (out_c, kernel_h, kernel_w, in_c),
 * bias (out_c) int32 at scale s_in * s_w[oc], rq (out_c), out (out_h, out_w, out_c).
 *   acc = bias[oc] + sum_{ky,kx,ic} w[oc][ky][kx][ic] * (x[iy][ix][ic] - in_zp)
 *   with iy = window_row(oy, ky), ix = window_col(ox, kx).
 * Padded positions hold in_zp, so their term (in_zp - in_zp) * w is 0 and is
 * skipped (with dilation a window may lie wholly in the padding: acc = bias).
 * Weights in [-127, 127] (4-bit weights: int8 values in [-7, 7], the same
 * code), (x - in_zp) in [-255, 255]: the caller guarantees
 * |bias| + kernel_h*kernel_w*in_c * 127 * 255 < 2^31 (7 for 4-bit weights).
 * real(out) = s_out * (out - out_zp) ~= s_in * s_w[oc] * acc. */
void q8_conv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    check_conv_params(p);
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t oc = 0; oc < p->out_c; oc++) {
                int32_t acc = bias[oc];
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    int32_t iy = window_row(p, oy, ky);
                    if (iy < 0 || iy >= p->in_h)
                        continue; /* padding row: contributes 0 */
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t ix = window_col(p, ox, kx);
                        if (ix < 0 || ix >= p->in_w)
                            continue;
                        const int8_t *x = &in[(iy * p->in_w + ix) * p->in_c];
                        const int8_t *wk =
                            &w[((oc * p->kernel_h + ky) * p->kernel_w + kx) * p->in_c];
                        for (int32_t ic = 0; ic < p->in_c; ic++)
                            acc += wk[ic] * (x[ic] - p->in_zp);
                    }
                }
                out[(oy * p->out_w + ox) * p->out_c + oc] =
                    finish(acc, rq[oc], p->out_zp, p->act_min, p->act_max);
            }
        }
    }
}

/* depthwise conv2d with channel multiplier M: in (in_h, in_w, in_c),
 * w (kernel_h, kernel_w, out_c), bias (out_c), rq (out_c), out (out_h, out_w, out_c),
 * out_c = in_c * M; output channel oc = ic * M + m reads input channel ic:
 *   acc = bias[oc] + sum_{ky,kx} w[ky][kx][oc] * (x[iy][ix][oc / M] - in_zp)
 * Padding and rounding as conv2d; the caller guarantees
 * |bias| + kernel_h*kernel_w * 127 * 255 < 2^31. */
void q8_dwconv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    check_conv_params(p);
    const int32_t mult = p->depth_multiplier;
    assert(mult >= 1 && p->out_c == p->in_c * mult);
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t ic = 0; ic < p->in_c; ic++) {
                for (int32_t m = 0; m < mult; m++) {
                    int32_t oc = ic * mult + m;
                    int32_t acc = bias[oc];
                    for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                        int32_t iy = window_row(p, oy, ky);
                        if (iy < 0 || iy >= p->in_h)
                            continue;
                        for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                            int32_t ix = window_col(p, ox, kx);
                            if (ix < 0 || ix >= p->in_w)
                                continue;
                            acc += w[(ky * p->kernel_w + kx) * p->out_c + oc] *
                                   (in[(iy * p->in_w + ix) * p->in_c + ic] - p->in_zp);
                        }
                    }
                    out[(oy * p->out_w + ox) * p->out_c + oc] =
                        finish(acc, rq[oc], p->out_zp, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* linear (fully connected): in (in_n), w (out_n, in_n), bias (out_n), rq (out_n),
 * out (out_n).
 *   acc = bias[o] + sum_i w[o][i] * (x[i] - in_zp)
 * The caller guarantees |bias| + in_n * 127 * 255 < 2^31. in_zp, out_zp in
 * [-128, 127], -128 <= act_min <= act_max <= 127. */
void q8_linear_s8(int32_t in_n, int32_t out_n, const int8_t *in, int32_t in_zp,
                  const int8_t *w, const int32_t *bias, const fxp_requant *rq,
                  int32_t out_zp, int32_t act_min, int32_t act_max, int8_t *out)
{
    assert(-128 <= act_min && act_min <= act_max && act_max <= 127);
    for (int32_t o = 0; o < out_n; o++) {
        int32_t acc = bias[o];
        for (int32_t i = 0; i < in_n; i++)
            acc += w[o * in_n + i] * (in[i] - in_zp);
        out[o] = finish(acc, rq[o], out_zp, act_min, act_max);
    }
}

/* max pool: in (in_h, in_w, c), out (out_h, out_w, c). The largest value
 * among the window's positions inside the input; padding is never a
 * candidate (TFLite's MaxPool). Works on the int8 values directly: the
 * output has the input's scale and zero-point (max commutes with the affine,
 * increasing dequantization), so there is no requantization or clamp. */
void q8_maxpool_s8(const q8_conv_params *p, const int8_t *in, int8_t *out)
{
    check_pool_params(p);
    const int32_t nc = p->in_c;
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t c = 0; c < nc; c++) {
                int8_t best = INT8_MIN;
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    int32_t iy = window_row(p, oy, ky);
                    if (iy < 0 || iy >= p->in_h)
                        continue;
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t ix = window_col(p, ox, kx);
                        if (ix < 0 || ix >= p->in_w)
                            continue;
                        int8_t v = in[(iy * p->in_w + ix) * nc + c];
                        if (v > best)
                            best = v;
                    }
                }
                out[(oy * p->out_w + ox) * nc + c] = best;
            }
        }
    }
}

/* average pool, TFLite's rule: in (in_h, in_w, c), out (out_h, out_w, c),
 * output scale and zero-point equal to the input's.
 *   acc   = sum of the raw int8 values x at the window's positions inside the input
 *   count = their number (1 <= count <= kernel_h * kernel_w: padding never counts)
 *   out   = clamp(round_half_away_from_zero(acc / count), act_min, act_max)
 * Since real = s (x - zp) is affine, mean(real) = s (mean(x) - zp): rounding
 * mean(x) itself is TFLite's choice (tensorflow/lite/kernels/internal/
 * reference/integer_ops/pooling.h, AveragePool), written as its C division
 * that truncates towards zero: count / 2 added to (or subtracted from) acc
 * before dividing rounds halves away from zero. |acc| <= 128 * count <= 2^31
 * (count <= Q_MAX_ELEMS = 2^24), but acc - count / 2 may not fit in int32: the
 * rounding is done in 64 bits. */
void q8_avgpool_s8(const q8_conv_params *p, const int8_t *in, int8_t *out)
{
    check_pool_params(p);
    const int32_t nc = p->in_c;
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t c = 0; c < nc; c++) {
                int32_t acc = 0, count = 0;
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    int32_t iy = window_row(p, oy, ky);
                    if (iy < 0 || iy >= p->in_h)
                        continue;
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t ix = window_col(p, ox, kx);
                        if (ix < 0 || ix >= p->in_w)
                            continue;
                        acc += in[(iy * p->in_w + ix) * nc + c];
                        count++;
                    }
                }
                assert(count >= 1);
                int64_t half = count / 2;
                int32_t q = (int32_t)(acc > 0 ? (acc + half) / count : (acc - half) / count);
                if (q < p->act_min)
                    q = p->act_min;
                if (q > p->act_max)
                    q = p->act_max;
                out[(oy * p->out_w + ox) * nc + c] = (int8_t)q;
            }
        }
    }
}

/* average pool with its own output scale (format version 1): in (in_h, in_w, c),
 * out (out_h, out_w, c), no padding.
 *   acc = sum over the kernel_h x kernel_w window of (x - in_zp)
 *   out = clamp(requant(acc, rq) + out_zp, act_min, act_max)
 * with rq from in_scale / (out_scale * kernel_h * kernel_w), so
 * real(out) ~= mean of real(x). Rounding: one rounding, half towards +inf
 * (fxp_requantize) of the approximate multiplier, which is why models that
 * keep the input's quantization use q8_avgpool_s8 instead.
 * |acc| <= kernel_h * kernel_w * 255 < 2^31 when kernel_h * kernel_w < 2^23. */
void q8_avgpool_rescale_s8(const q8_conv_params *p, const int8_t *in, fxp_requant rq,
                           int8_t *out)
{
    check_pool_params(p);
    assert(!p->pad_top && !p->pad_bottom && !p->pad_left && !p->pad_right);
    assert((int64_t)p->kernel_h * p->kernel_w < (1 << 23));
    const int32_t nc = p->in_c;
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t c = 0; c < nc; c++) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t iy = window_row(p, oy, ky), ix = window_col(p, ox, kx);
                        acc += in[(iy * p->in_w + ix) * nc + c] - p->in_zp;
                    }
                }
                out[(oy * p->out_w + ox) * nc + c] =
                    finish(acc, rq, p->out_zp, p->act_min, p->act_max);
            }
        }
    }
}

/* ---- softmax -------------------------------------------------------------
 *
 * p_j = exp(s (x_j - zp)) / sum_k exp(s (x_k - zp)) = e_j / sum_k e_k with
 * e_j = exp(-s d_j), d_j = max - x_j in [0, 255]: the zero-point cancels and
 * every e_j is in (0, 1], the row's maximum has e = 1.
 *
 * Fixed-point exp: a table of the 256 possible values, T[d] = round(2^20
 * e^(-s d)), made once from the input scale (q8_softmax_table; the generated C
 * prints the same integers). T[0] = 2^20 exactly; tiny values round to 0.
 *
 * Per row: S = sum_j T[d_j] in [2^20, n 2^20] (uint32 for n <= 2048); one
 * exact quotient R = floor(2^47 / S) in [2^16, 2^27]; then each output is a
 * multiply and a shift: y_j = (T[d_j] R + 2^38) >> 39 in [0, 256], out =
 * clamp(y_j - 128). The quotient is exact, so any way of computing it
 * (hardware divide, a 64/32-bit library division, a shift-and-subtract loop
 * without any divide instruction) gives the same R; a row of n values costs
 * one quotient instead of n divisions.
 *
 * Error, in output steps (1/256): with T_j = 2^20 e_j + t_j (|t_j| <= 1/2),
 *   |256 T_i / S - 256 p_i| <= 256 (|t_i| + p_i sum_j |t_j|) / S
 *                           <= 256 (1 + n) / 2^21 < 0.2502  (S >= 2^20, n <= 2048),
 * R's truncation takes off less than 2^20 * 2^8 / 2^47 = 2^-19, and the final
 * rounding adds 1/2: |out - (256 p_i - 128)| < 0.7503 step, and within 1 step
 * where the clamp at 127 cuts p_i ~ 1 (256 p_i - 128 <= 128).
 * test_q8_kernels measures it against the float softmax. */
int q8_softmax_table(double s, int32_t *table)
{
    if (!isfinite(s) || !(s > 0))
        return -1;
    for (int32_t d = 0; d < Q8_SOFTMAX_TABLE; d++)
        table[d] = (int32_t)llround(ldexp(exp(-s * (double)d), Q8_SOFTMAX_EXP_BITS));
    return 0;
}

void q8_softmax_s8(int32_t rows, int32_t n, const int8_t *in, const int32_t *table,
                   int8_t *out)
{
    assert(n >= 1 && n <= Q8_SOFTMAX_MAX_ROW);
    assert(table[0] == (1 << Q8_SOFTMAX_EXP_BITS));
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = &in[r * n];
        int8_t *y = &out[r * n];
        int32_t max = x[0];
        for (int32_t j = 1; j < n; j++)
            if (x[j] > max)
                max = x[j];
        uint32_t sum = 0; /* <= n * 2^20 <= 2^31 */
        for (int32_t j = 0; j < n; j++)
            sum += (uint32_t)table[max - x[j]];
        uint64_t recip = ((uint64_t)1 << 47) / sum; /* in [2^16, 2^27] */
        for (int32_t j = 0; j < n; j++) {
            uint64_t t = (uint64_t)(uint32_t)table[max - x[j]];
            int32_t q = (int32_t)((t * recip + ((uint64_t)1 << 38)) >> 39) - 128;
            y[j] = (int8_t)(q > 127 ? 127 : q);
        }
    }
}

/* Residual add (TFLite style, single rounding everywhere). With
 * s = 2 * max(s1, s2) and L = Q8_ADD_LEFT_SHIFT = 20:
 *   in1_rq ~ s1 / s,  in2_rq ~ s2 / s         (both <= 1/2)
 *   out_rq ~ s / (2^L * s_out)
 * Fails (-1, p untouched) when a ratio is not representable: a scale not
 * finite or not > 0, or s / s_out >= 2^50. A ratio below 2^-32 (one input
 * scale 2^31 times smaller than the other) becomes {0, 0}: that input then
 * adds nothing, which is its exact contribution rounded. */
int q8_add_params_from_scales(double s1, double s2, double s_out, q8_add_params *p)
{
    if (!(s1 > 0) || !(s2 > 0) || !(s_out > 0))
        return -1;
    double s = 2.0 * (s1 > s2 ? s1 : s2);
    fxp_requant rq1, rq2, rqo;
    if (fxp_quantize_multiplier(s1 / s, &rq1) || fxp_quantize_multiplier(s2 / s, &rq2) ||
        fxp_quantize_multiplier(s / ((double)(1 << Q8_ADD_LEFT_SHIFT) * s_out), &rqo))
        return -1;
    p->in1_rq = rq1;
    p->in2_rq = rq2;
    p->out_rq = rqo;
    return 0;
}

/* Residual add of two int8 tensors of n elements (any shape, same layout):
 *   a_i = requant((x_i - zp_i) * 2^20, in_i_rq)      x_i - zp_i in [-255, 255]
 *   out = clamp(requant(a_1 + a_2, out_rq) + out_zp, act_min, act_max)
 * real(out) ~= s1 (x1 - zp1) + s2 (x2 - zp2). Each requant rounds once, half
 * towards +inf. Bounds: |(x - zp) * 2^20| <= 255 * 2^20 < 2^28, and in_i_rq
 * <= 1/2 gives |a_i| <= 2^27, so |a_1 + a_2| < 2^28: no overflow. The shift
 * is written as a multiplication because << of a negative int is undefined. */
void q8_add_s8(const q8_add_params *p, int32_t n, const int8_t *in1,
               const int8_t *in2, int8_t *out)
{
    assert(-128 <= p->act_min && p->act_min <= p->act_max && p->act_max <= 127);
    const int32_t lift = 1 << Q8_ADD_LEFT_SHIFT;
    for (int32_t i = 0; i < n; i++) {
        int32_t a1 = fxp_requantize((in1[i] - p->in1_zp) * lift, p->in1_rq);
        int32_t a2 = fxp_requantize((in2[i] - p->in2_zp) * lift, p->in2_rq);
        out[i] = finish(a1 + a2, p->out_rq, p->out_zp, p->act_min, p->act_max);
    }
}

int q8_argmax(const int8_t *v, int32_t n)
{
    assert(n >= 1);
    int best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best]) /* strict: the first maximum wins */
            best = (int)i;
    return best;
}
