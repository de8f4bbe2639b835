#include "naive_kernels.h"

#include <assert.h>
#include <stdlib.h>

typedef __int128 i128;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* floor(a / b) for b > 0 */
static i128 floor_div(i128 a, i128 b)
{
    i128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int8_t naive_requant_clamp(int64_t v, fxp_requant rq, int32_t zp, int32_t lo, int32_t hi)
{
    /* round(v M0 / den) = floor((2 v M0 + den) / (2 den)), den = 2^(31 - shift) */
    i128 den = (i128)1 << (31 - rq.shift);
    i128 y = floor_div(2 * (i128)v * rq.multiplier + den, 2 * den) + zp;
    return (int8_t)(y < lo ? lo : y > hi ? hi : y);
}

/* A (in_h + 2 pad_h, in_w + 2 pad_w, c) copy of the input, the border filled
 * with the input zero-point. */
static int8_t *padded_copy(const q8_conv_params *p, const int8_t *in, int32_t c)
{
    int32_t hp = p->in_h + 2 * p->pad_h, wp = p->in_w + 2 * p->pad_w;
    int8_t *pad = xcalloc((size_t)hp * wp * c, 1);
    for (int32_t i = 0; i < hp * wp * c; i++)
        pad[i] = (int8_t)p->in_zp;
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++)
            for (int32_t k = 0; k < c; k++)
                pad[((y + p->pad_h) * wp + x + p->pad_w) * c + k] = in[(y * p->in_w + x) * c + k];
    return pad;
}

/* Output position (oy, ox) that tap (ky, kx) of the window reads from padded
 * position (py, px), or 0 when no window places that tap there. */
static int window_of(const q8_conv_params *p, int32_t py, int32_t px, int32_t ky, int32_t kx,
                     int32_t oh, int32_t ow, int32_t *oy, int32_t *ox)
{
    int32_t ty = py - ky, tx = px - kx;
    if (ty < 0 || tx < 0 || ty % p->stride_h || tx % p->stride_w)
        return 0;
    *oy = ty / p->stride_h;
    *ox = tx / p->stride_w;
    return *oy < oh && *ox < ow;
}

static void sizes(const q8_conv_params *p, int padded, int32_t *oh, int32_t *ow)
{
    int32_t ph = padded ? p->pad_h : 0, pw = padded ? p->pad_w : 0;
    *oh = (p->in_h + 2 * ph - p->kernel_h) / p->stride_h + 1;
    *ow = (p->in_w + 2 * pw - p->kernel_w) / p->stride_w + 1;
    assert(*oh == p->out_h && *ow == p->out_w);
}

void naive_conv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    int32_t oh, ow, ci = p->in_c, co = p->out_c;
    sizes(p, 1, &oh, &ow);
    int32_t hp = p->in_h + 2 * p->pad_h, wp = p->in_w + 2 * p->pad_w;
    int8_t *pad = padded_copy(p, in, ci);
    int64_t *acc = xcalloc((size_t)oh * ow * co, sizeof *acc);
    for (int32_t i = 0; i < oh * ow; i++)
        for (int32_t o = 0; o < co; o++)
            acc[i * co + o] = bias[o];
    /* scatter every padded input value into the outputs whose window covers it */
    for (int32_t py = 0; py < hp; py++)
        for (int32_t px = 0; px < wp; px++)
            for (int32_t ky = 0; ky < p->kernel_h; ky++)
                for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                    int32_t oy, ox;
                    if (!window_of(p, py, px, ky, kx, oh, ow, &oy, &ox))
                        continue;
                    for (int32_t o = 0; o < co; o++)
                        for (int32_t i = 0; i < ci; i++)
                            acc[(oy * ow + ox) * co + o] +=
                                (int64_t)w[((o * p->kernel_h + ky) * p->kernel_w + kx) * ci + i] *
                                ((int64_t)pad[(py * wp + px) * ci + i] - p->in_zp);
                }
    for (int32_t i = 0; i < oh * ow; i++)
        for (int32_t o = 0; o < co; o++)
            out[i * co + o] = naive_requant_clamp(acc[i * co + o], rq[o], p->out_zp, p->act_min,
                                                  p->act_max);
    free(acc);
    free(pad);
}

void naive_dwconv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    int32_t oh, ow, c = p->in_c;
    assert(p->out_c == c);
    sizes(p, 1, &oh, &ow);
    int32_t hp = p->in_h + 2 * p->pad_h, wp = p->in_w + 2 * p->pad_w;
    int8_t *pad = padded_copy(p, in, c);
    int64_t *acc = xcalloc((size_t)oh * ow * c, sizeof *acc);
    for (int32_t k = 0; k < c; k++) /* channel outermost */
        for (int32_t py = 0; py < hp; py++)
            for (int32_t px = 0; px < wp; px++)
                for (int32_t ky = 0; ky < p->kernel_h; ky++)
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t oy, ox;
                        if (window_of(p, py, px, ky, kx, oh, ow, &oy, &ox))
                            acc[(oy * ow + ox) * c + k] +=
                                (int64_t)w[(ky * p->kernel_w + kx) * c + k] *
                                ((int64_t)pad[(py * wp + px) * c + k] - p->in_zp);
                    }
    for (int32_t i = 0; i < oh * ow * c; i++)
        out[i] = naive_requant_clamp(acc[i] + bias[i % c], rq[i % c], p->out_zp, p->act_min,
                                     p->act_max);
    free(acc);
    free(pad);
}

void naive_linear(int32_t in_n, int32_t out_n, const int8_t *in, int32_t in_zp,
                  const int8_t *w, const int32_t *bias, const fxp_requant *rq, int32_t out_zp,
                  int32_t act_min, int32_t act_max, int8_t *out)
{
    int64_t *acc = xcalloc((size_t)out_n, sizeof *acc);
    for (int32_t i = 0; i < in_n; i++) /* input outermost */
        for (int32_t o = 0; o < out_n; o++)
            acc[o] += (int64_t)w[o * in_n + i] * ((int64_t)in[i] - in_zp);
    for (int32_t o = 0; o < out_n; o++)
        out[o] = naive_requant_clamp(acc[o] + bias[o], rq[o], out_zp, act_min, act_max);
    free(acc);
}

void naive_maxpool(const q8_conv_params *p, const int8_t *in, int8_t *out)
{
    int32_t oh, ow, c = p->in_c;
    sizes(p, 0, &oh, &ow);
    int *seen = xcalloc((size_t)oh * ow * c, sizeof *seen);
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++)
            for (int32_t ky = 0; ky < p->kernel_h; ky++)
                for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                    int32_t oy, ox;
                    if (!window_of(p, y, x, ky, kx, oh, ow, &oy, &ox))
                        continue;
                    for (int32_t k = 0; k < c; k++) {
                        int32_t o = (oy * ow + ox) * c + k;
                        int8_t v = in[(y * p->in_w + x) * c + k];
                        if (!seen[o] || v > out[o])
                            out[o] = v;
                        seen[o] = 1;
                    }
                }
    free(seen);
}

void naive_avgpool(const q8_conv_params *p, const int8_t *in, fxp_requant rq, int8_t *out)
{
    int32_t oh, ow, c = p->in_c;
    sizes(p, 0, &oh, &ow);
    int64_t *sum = xcalloc((size_t)oh * ow * c, sizeof *sum);
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++)
            for (int32_t ky = 0; ky < p->kernel_h; ky++)
                for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                    int32_t oy, ox;
                    if (window_of(p, y, x, ky, kx, oh, ow, &oy, &ox))
                        for (int32_t k = 0; k < c; k++)
                            sum[(oy * ow + ox) * c + k] +=
                                (int64_t)in[(y * p->in_w + x) * c + k] - p->in_zp;
                }
    for (int32_t i = 0; i < oh * ow * c; i++)
        out[i] = naive_requant_clamp(sum[i], rq, p->out_zp, p->act_min, p->act_max);
    free(sum);
}

/* round(v M0 / 2^(31 - shift)), ties towards +inf, exactly: the add's
 * intermediate values (|v| < 2^29) never come near int32 limits */
static int64_t naive_round(int64_t v, fxp_requant rq)
{
    i128 den = (i128)1 << (31 - rq.shift);
    return (int64_t)floor_div(2 * (i128)v * rq.multiplier + den, 2 * den);
}

void naive_add(const q8_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
               int8_t *out)
{
    const int64_t lift = (int64_t)1 << Q8_ADD_LEFT_SHIFT;
    for (int32_t i = 0; i < n; i++) {
        int64_t a1 = naive_round(((int64_t)in1[i] - p->in1_zp) * lift, p->in1_rq);
        int64_t a2 = naive_round(((int64_t)in2[i] - p->in2_zp) * lift, p->in2_rq);
        out[i] = naive_requant_clamp(a1 + a2, p->out_rq, p->out_zp, p->act_min, p->act_max);
    }
}
