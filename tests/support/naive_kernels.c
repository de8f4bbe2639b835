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

/* A (in_h + pad_top + pad_bottom, in_w + pad_left + pad_right, c) copy of the
 * input, the border filled with the input zero-point. */
static int8_t *padded_copy(const q8_conv_params *p, const int8_t *in, int32_t c)
{
    int32_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
    int8_t *pad = xcalloc((size_t)hp * wp * c, 1);
    for (int32_t i = 0; i < hp * wp * c; i++)
        pad[i] = (int8_t)p->in_zp;
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++)
            for (int32_t k = 0; k < c; k++)
                pad[((y + p->pad_top) * wp + x + p->pad_left) * c + k] =
                    in[(y * p->in_w + x) * c + k];
    return pad;
}

/* Output position (oy, ox) whose window places tap (ky, kx) at padded
 * position (py, px), or 0 when no window does: the window of (oy, ox) starts
 * at padded (oy * stride_h, ox * stride_w) and its taps are dilation apart. */
static int window_of(const q8_conv_params *p, int32_t py, int32_t px, int32_t ky, int32_t kx,
                     int32_t oh, int32_t ow, int32_t *oy, int32_t *ox)
{
    int32_t ty = py - ky * p->dilation_h, tx = px - kx * p->dilation_w;
    if (ty < 0 || tx < 0 || ty % p->stride_h || tx % p->stride_w)
        return 0;
    *oy = ty / p->stride_h;
    *ox = tx / p->stride_w;
    return *oy < oh && *ox < ow;
}

/* Output height and width: the number of window starts that fit the padded input. */
static void sizes(const q8_conv_params *p, int32_t *oh, int32_t *ow)
{
    int32_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
    int32_t span_h = (p->kernel_h - 1) * p->dilation_h, span_w = (p->kernel_w - 1) * p->dilation_w;
    *oh = *ow = 0;
    for (int32_t y = 0; y + span_h < hp; y += p->stride_h)
        (*oh)++;
    for (int32_t x = 0; x + span_w < wp; x += p->stride_w)
        (*ow)++;
    assert(*oh == p->out_h && *ow == p->out_w);
}

void naive_conv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                  const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    int32_t oh, ow, ci = p->in_c, co = p->out_c;
    sizes(p, &oh, &ow);
    int32_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
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

/* Output channel o = k * M + m reads input channel k = o / M. */
void naive_dwconv2d(const q8_conv_params *p, const int8_t *in, const int8_t *w,
                    const int32_t *bias, const fxp_requant *rq, int8_t *out)
{
    int32_t oh, ow, c = p->in_c, mult = p->depth_multiplier, co = c * mult;
    assert(mult >= 1 && p->out_c == co);
    sizes(p, &oh, &ow);
    int32_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
    int8_t *pad = padded_copy(p, in, c);
    int64_t *acc = xcalloc((size_t)oh * ow * co, sizeof *acc);
    for (int32_t o = 0; o < co; o++) /* output channel outermost */
        for (int32_t py = 0; py < hp; py++)
            for (int32_t px = 0; px < wp; px++)
                for (int32_t ky = 0; ky < p->kernel_h; ky++)
                    for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                        int32_t oy, ox;
                        if (window_of(p, py, px, ky, kx, oh, ow, &oy, &ox))
                            acc[(oy * ow + ox) * co + o] +=
                                (int64_t)w[(ky * p->kernel_w + kx) * co + o] *
                                ((int64_t)pad[(py * wp + px) * c + o / mult] - p->in_zp);
                    }
    for (int32_t i = 0; i < oh * ow * co; i++)
        out[i] = naive_requant_clamp(acc[i] + bias[i % co], rq[i % co], p->out_zp, p->act_min,
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

/* Scatters every input position (y, x) into the pool windows that cover it
 * (in padded coordinates y + pad_top, x + pad_left), calling visit once per
 * (output element, input value); padding is never visited. */
typedef void (*pool_visit)(void *ctx, int32_t o, int8_t v);

static void pool_scatter(const q8_conv_params *p, const int8_t *in, void *ctx, pool_visit visit)
{
    int32_t oh, ow, c = p->in_c;
    sizes(p, &oh, &ow);
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++)
            for (int32_t ky = 0; ky < p->kernel_h; ky++)
                for (int32_t kx = 0; kx < p->kernel_w; kx++) {
                    int32_t oy, ox;
                    if (!window_of(p, y + p->pad_top, x + p->pad_left, ky, kx, oh, ow, &oy, &ox))
                        continue;
                    for (int32_t k = 0; k < c; k++)
                        visit(ctx, (oy * ow + ox) * c + k, in[(y * p->in_w + x) * c + k]);
                }
}

typedef struct {
    int8_t *out;
    int *seen;
    int64_t *sum;
    int64_t *count;
} pool_ctx;

static void visit_max(void *ctx, int32_t o, int8_t v)
{
    pool_ctx *c = ctx;
    if (!c->seen[o] || v > c->out[o])
        c->out[o] = v;
    c->seen[o] = 1;
}

static void visit_sum(void *ctx, int32_t o, int8_t v)
{
    pool_ctx *c = ctx;
    c->sum[o] += v;
    c->count[o]++;
}

void naive_maxpool(const q8_conv_params *p, const int8_t *in, int8_t *out)
{
    int32_t n = p->out_h * p->out_w * p->out_c;
    pool_ctx c = {.out = out, .seen = xcalloc((size_t)n, sizeof(int))};
    pool_scatter(p, in, &c, visit_max);
    for (int32_t i = 0; i < n; i++)
        assert(c.seen[i]); /* every window holds an input position */
    free(c.seen);
}

void naive_avgpool(const q8_conv_params *p, const int8_t *in, int8_t *out)
{
    int32_t n = p->out_h * p->out_w * p->out_c;
    pool_ctx c = {.sum = xcalloc((size_t)n, sizeof(int64_t)),
                  .count = xcalloc((size_t)n, sizeof(int64_t))};
    pool_scatter(p, in, &c, visit_sum);
    for (int32_t i = 0; i < n; i++) {
        int64_t s = c.sum[i], k = c.count[i];
        assert(k >= 1);
        int64_t mag = (2 * (s < 0 ? -s : s) + k) / (2 * k); /* floor(|s|/k + 1/2) */
        int64_t q = s < 0 ? -mag : mag;
        out[i] = (int8_t)(q < p->act_min ? p->act_min : q > p->act_max ? p->act_max : q);
    }
    free(c.sum);
    free(c.count);
}

void naive_avgpool_rescale(const q8_conv_params *p, const int8_t *in, fxp_requant rq,
                           int8_t *out)
{
    assert(!p->pad_top && !p->pad_bottom && !p->pad_left && !p->pad_right);
    int32_t n = p->out_h * p->out_w * p->out_c;
    pool_ctx c = {.sum = xcalloc((size_t)n, sizeof(int64_t)),
                  .count = xcalloc((size_t)n, sizeof(int64_t))};
    pool_scatter(p, in, &c, visit_sum);
    for (int32_t i = 0; i < n; i++) /* sum of (x - zp) = sum of x - count * zp */
        out[i] = naive_requant_clamp(c.sum[i] - c.count[i] * p->in_zp, rq, p->out_zp,
                                     p->act_min, p->act_max);
    free(c.sum);
    free(c.count);
}

void naive_softmax(int32_t rows, int32_t n, const int8_t *in, const int32_t *table, int8_t *out)
{
    for (int32_t r = 0; r < rows; r++) {
        /* the maximum: the value that no other exceeds */
        int32_t max = -128;
        while (max < 127) {
            int above = 0;
            for (int32_t j = 0; j < n; j++)
                above |= in[r * n + j] > max;
            if (!above)
                break;
            max++;
        }
        i128 sum = 0;
        for (int32_t j = n - 1; j >= 0; j--)
            sum += table[max - in[r * n + j]];
        i128 recip = floor_div((i128)1 << 47, sum);
        for (int32_t j = 0; j < n; j++) {
            i128 y = floor_div(table[max - in[r * n + j]] * recip + ((i128)1 << 38),
                               (i128)1 << 39) - 128;
            out[r * n + j] = (int8_t)(y > 127 ? 127 : y);
        }
    }
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
