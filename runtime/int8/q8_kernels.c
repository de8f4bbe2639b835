/* q8_kernels — the int8 reference kernels (see q8_kernels.h).
 *
 * These are the definition of qatc's integer semantics, not a fast path:
 * plain loops in output order, one accumulator per output value, no clever
 * index arithmetic. Every kernel ends with finish(): requantize, add the
 * output zero-point, clamp to the activation range.
 *
 * Indexing (NHWC, batch 1): x[y][x][c] is in[(y * in_w + x) * in_c + c].
 */
#include "q8_kernels.h"

#include <assert.h>

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

static void check_conv_params(const q8_conv_params *p)
{
    assert(p->kernel_h >= 1 && p->kernel_w >= 1 && p->stride_h >= 1 && p->stride_w >= 1);
    assert(p->pad_h >= 0 && p->pad_w >= 0);
    assert(p->out_h == (p->in_h + 2 * p->pad_h - p->kernel_h) / p->stride_h + 1);
    assert(p->out_w == (p->in_w + 2 * p->pad_w - p->kernel_w) / p->stride_w + 1);
    assert(p->in_zp >= -128 && p->in_zp <= 127 && p->out_zp >= -128 && p->out_zp <= 127);
    assert(-128 <= p->act_min && p->act_min <= p->act_max && p->act_max <= 127);
    (void)p;
}

static void check_pool_params(const q8_conv_params *p)
{
    assert(p->kernel_h >= 1 && p->kernel_w >= 1 && p->stride_h >= 1 && p->stride_w >= 1);
    assert(p->kernel_h <= p->in_h && p->kernel_w <= p->in_w);
    assert(p->out_h == (p->in_h - p->kernel_h) / p->stride_h + 1);
    assert(p->out_w == (p->in_w - p->kernel_w) / p->stride_w + 1);
    assert(p->out_c == p->in_c);
    (void)p;
}

/* conv2d, NHWC in (in_h, in_w, in_c), OHWI w (out_c, kernel_h, kernel_w, in_c),
 * bias (out_c) int32 at scale s_in * s_w[oc], rq (out_c), out (out_h, out_w, out_c).
 *   acc = bias[oc] + sum_{ky,kx,ic} w[oc][ky][kx][ic] * (x[iy][ix][ic] - in_zp)
 *   with iy = oy * stride_h - pad_h + ky, ix = ox * stride_w - pad_w + kx.
 * Padded positions hold in_zp, so their term (in_zp - in_zp) * w is 0 and is
 * skipped. Weights in [-127, 127], (x - in_zp) in [-255, 255]: the caller
 * guarantees |bias| + kernel_h*kernel_w*in_c * 127 * 255 < 2^31.
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
                    int32_t iy = oy * p->stride_h - p->pad_h + ky;
                    if (iy < 0 || iy >= p->in_h)
                        continue; /* padding row: contributes 0 */
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t ix = ox * p->stride_w - p->pad_w + kx;
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

/* depthwise conv2d, channel multiplier 1: in (in_h, in_w, c), w (kernel_h, kernel_w, c),
 * bias (c), rq (c), out (out_h, out_w, c); in_c == out_c == c.
 *   acc = bias[c] + sum_{ky,kx} w[ky][kx][c] * (x[iy][ix][c] - in_zp)
 * Padding and rounding as conv2d; the caller guarantees
 * |bias| + kernel_h*kernel_w * 127 * 255 < 2^31. */
void q8_dwconv2d_s8(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    check_conv_params(p);
    assert(p->in_c == p->out_c);
    const int32_t nc = p->out_c;
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t c = 0; c < nc; c++) {
                int32_t acc = bias[c];
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    int32_t iy = oy * p->stride_h - p->pad_h + ky;
                    if (iy < 0 || iy >= p->in_h)
                        continue;
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t ix = ox * p->stride_w - p->pad_w + kx;
                        if (ix < 0 || ix >= p->in_w)
                            continue;
                        acc += w[(ky * p->kernel_w + kx) * nc + c] *
                               (in[(iy * p->in_w + ix) * nc + c] - p->in_zp);
                    }
                }
                out[(oy * p->out_w + ox) * nc + c] =
                    finish(acc, rq[c], p->out_zp, p->act_min, p->act_max);
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

/* max pool: in (in_h, in_w, c), out (out_h, out_w, c), no padding, window
 * kernel_h x kernel_w moved by stride. Works on the int8 values directly: the
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
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t iy = oy * p->stride_h + ky, ix = ox * p->stride_w + kx;
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

/* average pool: in (in_h, in_w, c), out (out_h, out_w, c), no padding.
 *   acc = sum over the kernel_h x kernel_w window of (x - in_zp)
 *   out = clamp(requant(acc, rq) + out_zp, act_min, act_max)
 * with rq from in_scale / (out_scale * kernel_h * kernel_w), so
 * real(out) ~= mean of real(x). Rounding: one rounding, half towards +inf
 * (fxp_requantize), not TFLite's division rounding half away from zero.
 * |acc| <= kernel_h * kernel_w * 255 < 2^31 when kernel_h * kernel_w < 2^23. */
void q8_avgpool_s8(const q8_conv_params *p, const int8_t *in, fxp_requant rq, int8_t *out)
{
    check_pool_params(p);
    assert((int64_t)p->kernel_h * p->kernel_w < (1 << 23));
    assert(-128 <= p->act_min && p->act_min <= p->act_max && p->act_max <= 127);
    const int32_t nc = p->in_c;
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        for (int32_t ox = 0; ox < p->out_w; ox++) {
            for (int32_t c = 0; c < nc; c++) {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < p->kernel_h; ky++) {
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t iy = oy * p->stride_h + ky, ix = ox * p->stride_w + kx;
                        acc += in[(iy * p->in_w + ix) * nc + c] - p->in_zp;
                    }
                }
                out[(oy * p->out_w + ox) * nc + c] =
                    finish(acc, rq, p->out_zp, p->act_min, p->act_max);
            }
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
