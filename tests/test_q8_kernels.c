/* Tests of q8_kernels: every kernel against its naive twin
 * (tests/support/naive_kernels.c), bit-exactly, on random and directed cases
 * of every window form (rectangular kernels and strides, dilation, each side
 * padded on its own, channel multipliers, padded pools), the average pool's
 * TFLite rule on every window size against a rational reference, the softmax
 * against the float softmax, plus real-valued sanity checks of the
 * rescaling average pool and residual add. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "naive_kernels.h"
#include "qmodel.h"
#include "q8_kernels.h"
#include "rng.h"

/* ---- random ingredients ---- */

static int32_t rnd_range(rng_state *r, int32_t lo, int32_t hi) /* [lo, hi] */
{
    return lo + (int32_t)rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Zero-points with the extremes -128 and 127 well represented. */
static int32_t rnd_zp(rng_state *r)
{
    switch (rng_below(r, 6)) {
    case 0: return -128;
    case 1: return 127;
    case 2: return 0;
    default: return rnd_range(r, -128, 127);
    }
}

enum { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RANDOM, N_ACT_KINDS };

/* Clamp ranges of fused activations on an output with zero-point zp: none,
 * relu [zp, 127], relu6 [zp, zp + 6/s] for a random scale s, or any range. */
static void rnd_act(rng_state *r, int kind, int32_t zp, int32_t *lo, int32_t *hi)
{
    *lo = -128;
    *hi = 127;
    if (kind == ACT_RELU || kind == ACT_RELU6)
        *lo = zp;
    if (kind == ACT_RELU6) {
        int32_t six = rnd_range(r, 0, 255); /* round(6 / scale) */
        *hi = zp + six > 127 ? 127 : zp + six;
    }
    if (kind == ACT_RANDOM) {
        *lo = rnd_range(r, -128, 127);
        *hi = rnd_range(r, *lo, 127);
    }
}

static void rnd_s8(rng_state *r, int8_t *v, int32_t n, int32_t lo, int32_t hi)
{
    int mode = (int)rng_below(r, 10);
    int32_t c = rnd_range(r, lo, hi);
    for (int32_t i = 0; i < n; i++) {
        if (mode == 0) /* a constant tensor */
            v[i] = (int8_t)c;
        else if (mode == 1) /* only the extremes */
            v[i] = (int8_t)(rng_below(r, 2) ? lo : hi);
        else
            v[i] = (int8_t)rnd_range(r, lo, hi);
    }
}

/* A multiplier that keeps outputs mostly inside int8 for a sum of k products
 * of typical size ~73*73, spread over 2^-5..2^5 around it; now and then an
 * underflowing ratio ({0, 0}) or one >= 1 (saturating). */
static fxp_requant rnd_rq(rng_state *r, int32_t k)
{
    double m;
    uint32_t pick = rng_below(r, 40);
    if (pick == 0)
        m = 1e-12;
    else if (pick == 1)
        m = ldexp(1.0 + rng_uniform(r), (int)rng_below(r, 10));
    else
        m = 50.0 / (sqrt((double)k) * 5300.0) * exp2(10.0 * rng_uniform(r) - 5.0);
    fxp_requant rq;
    assert_int_equal(fxp_quantize_multiplier(m, &rq), 0);
    return rq;
}

static void rnd_rq_array(rng_state *r, fxp_requant *rq, int32_t n, int per_channel, int32_t k)
{
    rq[0] = rnd_rq(r, k);
    for (int32_t i = 1; i < n; i++)
        rq[i] = per_channel ? rnd_rq(r, k) : rq[0];
}

/* Biases within the accumulator bound |bias| + k * 127 * 255 < 2^31: usually
 * small, sometimes at the bound. */
static void rnd_bias(rng_state *r, int32_t *b, int32_t n, int32_t k)
{
    int64_t room = (int64_t)INT32_MAX - (int64_t)k * 127 * 255;
    assert_true(room > 0);
    int64_t lim = rng_below(r, 8) == 0 ? room : (room < 200000 ? room : 200000);
    for (int32_t i = 0; i < n; i++)
        b[i] = (int32_t)((int64_t)(rng_u64(r) % (uint64_t)(2 * lim + 1)) - lim);
}

/* ---- comparison and coverage ---- */

/* Outputs compared and those strictly inside int8 (not saturated), so a
 * test shows that its cases exercise more than the clamps. */
static long n_outputs, n_interior;

static void expect_same(const int8_t *got, const int8_t *want, int32_t n, const char *what,
                        long case_no, const char *desc)
{
    n_outputs += n;
    for (int32_t i = 0; i < n; i++)
        n_interior += got[i] > -128 && got[i] < 127;
    for (int32_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s case %ld (%s): first difference at index %ld: kernel %d, naive %d",
                     what, case_no, desc, (long)i, got[i], want[i]);
}

typedef struct {
    long cases, pad_nonzero_zp, stride_not_dividing, k1x1, c1, c3, non_square, per_channel,
        per_tensor, zp_min, zp_max, act[N_ACT_KINDS], pad_beyond_kernel, dilated, asymmetric,
        rect_kernel, rect_stride, multiplier, padded;
} coverage;

static void print_interior(const char *what)
{
    print_message("%s: %ld outputs, %.0f%% strictly inside (-128, 127)\n", what, n_outputs,
                  100.0 * (double)n_interior / (double)n_outputs);
    assert_true(n_interior * 2 > n_outputs);
    n_outputs = n_interior = 0;
}

static void print_coverage(const char *what, const coverage *c)
{
    print_interior(what);
    print_message("%s: %ld cases bit-exact with the naive twin (padded %ld, pad with zp!=0 %ld, "
                  "asymmetric pad %ld, pad>=kernel %ld, dilated %ld, rectangular kernel %ld, "
                  "rectangular stride %ld, stride not dividing %ld, multiplier>1 %ld, 1x1 %ld, "
                  "c=1 %ld, c=3 %ld, non-square %ld, per-channel %ld, per-tensor %ld, "
                  "zp=-128 %ld, zp=127 %ld, act none/relu/relu6/any %ld/%ld/%ld/%ld)\n",
                  what, c->cases, c->padded, c->pad_nonzero_zp, c->asymmetric,
                  c->pad_beyond_kernel, c->dilated, c->rect_kernel, c->rect_stride,
                  c->stride_not_dividing, c->multiplier, c->k1x1, c->c1, c->c3, c->non_square,
                  c->per_channel, c->per_tensor, c->zp_min, c->zp_max, c->act[ACT_NONE],
                  c->act[ACT_RELU], c->act[ACT_RELU6], c->act[ACT_RANDOM]);
}

static void describe(char *buf, size_t n, const q8_conv_params *p, int per_channel)
{
    snprintf(buf, n,
             "in %dx%dx%d out %dx%dx%d k %dx%d s %dx%d d %dx%d pad [%d, %d, %d, %d] M %d "
             "zp %d->%d act [%d,%d] %s",
             p->in_h, p->in_w, p->in_c, p->out_h, p->out_w, p->out_c, p->kernel_h,
             p->kernel_w, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->pad_top,
             p->pad_bottom, p->pad_left, p->pad_right, p->depth_multiplier, p->in_zp, p->out_zp,
             p->act_min, p->act_max, per_channel ? "per-channel" : "per-tensor");
}

static int32_t eff_kernel(int32_t k, int32_t d)
{
    return (k - 1) * d + 1;
}

static void count(coverage *c, const q8_conv_params *p, int per_channel, int act_kind)
{
    int32_t eh = eff_kernel(p->kernel_h, p->dilation_h), ew = eff_kernel(p->kernel_w, p->dilation_w);
    int padded = p->pad_top || p->pad_bottom || p->pad_left || p->pad_right;
    c->cases++;
    c->padded += padded;
    c->pad_nonzero_zp += padded && p->in_zp != 0;
    c->stride_not_dividing +=
        (p->in_h + p->pad_top + p->pad_bottom - eh) % p->stride_h != 0 ||
        (p->in_w + p->pad_left + p->pad_right - ew) % p->stride_w != 0;
    c->k1x1 += p->kernel_h == 1 && p->kernel_w == 1;
    c->c1 += p->in_c == 1;
    c->c3 += p->in_c == 3;
    c->non_square += p->in_h != p->in_w;
    c->per_channel += per_channel;
    c->per_tensor += !per_channel;
    c->zp_min += p->in_zp == -128 || p->out_zp == -128;
    c->zp_max += p->in_zp == 127 || p->out_zp == 127;
    c->act[act_kind]++;
    c->pad_beyond_kernel += p->pad_top >= eh || p->pad_bottom >= eh || p->pad_left >= ew ||
                            p->pad_right >= ew;
    c->dilated += p->dilation_h > 1 || p->dilation_w > 1;
    c->asymmetric += p->pad_top != p->pad_bottom || p->pad_left != p->pad_right;
    c->rect_kernel += p->kernel_h != p->kernel_w;
    c->rect_stride += p->stride_h != p->stride_w;
    c->multiplier += p->depth_multiplier > 1;
}

static void assert_covered(const coverage *c, int with_pad)
{
    assert_true(c->stride_not_dividing > 0 && c->k1x1 > 0 && c->c1 > 0 && c->c3 > 0);
    assert_true(c->non_square > 0 && c->zp_min > 0 && c->zp_max > 0);
    assert_true(c->rect_kernel > 0 && c->rect_stride > 0 && c->padded > 0 &&
                c->asymmetric > 0);
    for (int k = 0; k < N_ACT_KINDS; k++)
        assert_true(c->act[k] > 0);
    if (with_pad)
        assert_true(c->pad_nonzero_zp > 0 && c->per_channel > 0 && c->per_tensor > 0 &&
                    c->dilated > 0);
}

/* ---- conv-like shapes ---- */

typedef struct { /* a directed case: these fields fixed, the rest random */
    int32_t c, k, s, pad, zp;
    int act;
} directed;

/* Grows *in until a window of effective size eff fits the padded input. */
static void fit(int32_t *in, int32_t pad_a, int32_t pad_b, int32_t eff)
{
    while (*in + pad_a + pad_b < eff)
        (*in)++;
}

/* A pad for one side: mostly below the effective kernel (the only kind a
 * model has), at random up to 2; for convs now and then beyond the kernel
 * (the kernels take it: those windows read only padding). */
static int32_t rnd_pad(rng_state *r, int32_t eff, int pooling)
{
    int32_t hi = eff - 1 < 2 ? eff - 1 : 2;
    if (!pooling && rng_below(r, 16) == 0)
        return rnd_range(r, 0, 3);
    return rng_below(r, 3) ? rnd_range(r, 0, hi) : 0;
}

/* Fills the geometry and quantization of p. pooling: dilation 1, each pad
 * below the kernel, out_c = in_c. Convs draw dilations 1..3 per axis, pads
 * per side (so asymmetric), rectangular kernels and strides. */
static void rnd_geometry(rng_state *r, q8_conv_params *p, int pooling, const directed *d,
                         int *act_kind)
{
    memset(p, 0, sizeof *p);
    static const int32_t chans[] = {1, 2, 3, 4, 5, 8, 16};
    p->in_c = d ? d->c : chans[rng_below(r, 7)];
    p->in_h = rnd_range(r, 1, 11);
    p->in_w = rng_below(r, 3) ? rnd_range(r, 1, 11) : p->in_h;
    p->depth_multiplier = 1;
    p->dilation_h = p->dilation_w = 1;
    if (d) {
        p->kernel_h = p->kernel_w = d->k;
        int32_t pad = pooling && d->pad >= d->k ? d->k - 1 : d->pad;
        p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = pad;
        p->stride_h = p->stride_w = d->s;
    } else {
        if (!pooling && rng_below(r, 3) == 0) {
            p->dilation_h = rnd_range(r, 1, 3);
            p->dilation_w = rng_below(r, 2) ? p->dilation_h : rnd_range(r, 1, 3);
        }
        p->kernel_h = rnd_range(r, 1, 5);
        p->kernel_w = rng_below(r, 4) ? p->kernel_h : rnd_range(r, 1, 5);
        int32_t eh = eff_kernel(p->kernel_h, p->dilation_h);
        int32_t ew = eff_kernel(p->kernel_w, p->dilation_w);
        p->pad_top = rnd_pad(r, eh, pooling);
        p->pad_bottom = rng_below(r, 2) ? p->pad_top : rnd_pad(r, eh, pooling);
        p->pad_left = rng_below(r, 2) ? p->pad_top : rnd_pad(r, ew, pooling);
        p->pad_right = rng_below(r, 2) ? p->pad_left : rnd_pad(r, ew, pooling);
        if (pooling) { /* each pad below the kernel */
            p->pad_left = p->pad_left < ew ? p->pad_left : ew - 1;
            p->pad_right = p->pad_right < ew ? p->pad_right : ew - 1;
        }
        p->stride_h = rnd_range(r, 1, 3);
        p->stride_w = rng_below(r, 4) ? p->stride_h : rnd_range(r, 1, 3);
        if (pooling && rng_below(r, 5) == 0) { /* global */
            p->kernel_h = p->in_h;
            p->kernel_w = p->in_w;
            p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = 0;
        }
    }
    fit(&p->in_h, p->pad_top, p->pad_bottom, eff_kernel(p->kernel_h, p->dilation_h));
    fit(&p->in_w, p->pad_left, p->pad_right, eff_kernel(p->kernel_w, p->dilation_w));
    p->out_h = (p->in_h + p->pad_top + p->pad_bottom - eff_kernel(p->kernel_h, p->dilation_h)) /
                   p->stride_h + 1;
    p->out_w = (p->in_w + p->pad_left + p->pad_right - eff_kernel(p->kernel_w, p->dilation_w)) /
                   p->stride_w + 1;
    p->out_c = p->in_c;
    p->in_zp = d ? d->zp : rnd_zp(r);
    p->out_zp = rnd_zp(r);
    *act_kind = d ? d->act : (int)rng_below(r, N_ACT_KINDS);
    rnd_act(r, *act_kind, p->out_zp, &p->act_min, &p->act_max);
}

/* The directed grid: channels {1, 3} x kernel {1, 3} x stride {1, 2, 3} x
 * pad {0, 1, 2} on every side x input zero-point {-128, 0, 127} x every activation. */
#define N_DIRECTED (2L * 2 * 3 * 3 * 3 * N_ACT_KINDS)
static int directed_case(long i, directed *d)
{
    static const int32_t cs[] = {1, 3}, ks[] = {1, 3}, ss[] = {1, 2, 3}, pads[] = {0, 1, 2},
                         zps[] = {-128, 0, 127};
    if (i >= N_DIRECTED)
        return 0;
    d->c = cs[i % 2]; i /= 2;
    d->k = ks[i % 2]; i /= 2;
    d->s = ss[i % 3]; i /= 3;
    d->pad = pads[i % 3]; i /= 3;
    d->zp = zps[i % 3]; i /= 3;
    d->act = (int)i;
    return 1;
}

#define N_RANDOM 3000

static void run_conv_cases(int depthwise)
{
    rng_state r;
    rng_seed(&r, depthwise ? 11 : 10);
    coverage cov = {0};
    for (long i = 0;; i++) {
        directed d, *dp = NULL;
        if (directed_case(i, &d))
            dp = &d;
        else if (i >= N_DIRECTED + N_RANDOM)
            break;
        q8_conv_params p;
        int act_kind;
        rnd_geometry(&r, &p, 0, dp, &act_kind);
        if (!depthwise) {
            p.out_c = rng_below(&r, 4) ? rnd_range(&r, 1, 8) : rnd_range(&r, 1, 3);
        } else if (!dp && rng_below(&r, 3) == 0) {
            p.depth_multiplier = rnd_range(&r, 2, 4);
            p.out_c = p.in_c * p.depth_multiplier;
        }
        int per_channel = (int)(i & 1);
        int32_t k = p.kernel_h * p.kernel_w * (depthwise ? 1 : p.in_c);
        int32_t n_in = p.in_h * p.in_w * p.in_c, n_out = p.out_h * p.out_w * p.out_c;
        int32_t n_w = depthwise ? p.kernel_h * p.kernel_w * p.out_c : p.out_c * k;
        int8_t *in = malloc((size_t)n_in), *w = malloc((size_t)n_w);
        int8_t *got = malloc((size_t)n_out), *want = malloc((size_t)n_out);
        int32_t *bias = malloc((size_t)p.out_c * sizeof *bias);
        fxp_requant *rq = malloc((size_t)p.out_c * sizeof *rq);
        assert_non_null(in && w && got && want && bias && rq);
        rnd_s8(&r, in, n_in, -128, 127);
        rnd_s8(&r, w, n_w, -127, 127);
        rnd_bias(&r, bias, p.out_c, k);
        rnd_rq_array(&r, rq, p.out_c, per_channel, k);
        memset(got, 0x55, (size_t)n_out);
        if (depthwise) {
            q8_dwconv2d_s8(&p, in, w, bias, rq, got);
            naive_dwconv2d(&p, in, w, bias, rq, want);
        } else {
            q8_conv2d_s8(&p, in, w, bias, rq, got);
            naive_conv2d(&p, in, w, bias, rq, want);
        }
        char desc[256];
        describe(desc, sizeof desc, &p, per_channel);
        expect_same(got, want, n_out, depthwise ? "dwconv2d" : "conv2d", i, desc);
        count(&cov, &p, per_channel, act_kind);
        free(in), free(w), free(got), free(want), free(bias), free(rq);
    }
    print_coverage(depthwise ? "dwconv2d" : "conv2d", &cov);
    assert_covered(&cov, 1);
    if (depthwise)
        assert_true(cov.multiplier > 0);
}

static void test_q8_kernels_conv2d_matches_naive(void **state)
{
    (void)state;
    run_conv_cases(0);
}

static void test_q8_kernels_dwconv2d_matches_naive(void **state)
{
    (void)state;
    run_conv_cases(1);
}

/* Pools against their twins: max, average by division (TFLite, any padding)
 * and the rescaling average (format version 1, no padding). */
enum { POOL_MAX, POOL_AVG, POOL_AVG_RESCALE };
static const char *const pool_name[] = {"maxpool", "avgpool", "avgpool (rescaling)"};

static void run_pool_cases(int kind)
{
    rng_state r;
    rng_seed(&r, 20 + (uint64_t)kind);
    coverage cov = {0};
    for (long i = 0;; i++) {
        directed d, *dp = NULL;
        if (directed_case(i, &d))
            dp = &d; /* its pad is kept below the kernel */
        else if (i >= N_DIRECTED + N_RANDOM)
            break;
        q8_conv_params p;
        int act_kind;
        rnd_geometry(&r, &p, 1, dp, &act_kind);
        if (kind != POOL_AVG_RESCALE && !(kind == POOL_AVG && act_kind == ACT_RANDOM)) {
            /* max and division pools keep the input's quantization, no clamp */
            p.out_zp = p.in_zp;
            p.act_min = -128;
            p.act_max = 127;
            act_kind = ACT_NONE;
        }
        if (kind == POOL_AVG_RESCALE) {
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
            fit(&p.in_h, 0, 0, p.kernel_h);
            fit(&p.in_w, 0, 0, p.kernel_w);
            p.out_h = (p.in_h - p.kernel_h) / p.stride_h + 1;
            p.out_w = (p.in_w - p.kernel_w) / p.stride_w + 1;
        }
        int32_t n_in = p.in_h * p.in_w * p.in_c, n_out = p.out_h * p.out_w * p.out_c;
        int8_t *in = malloc((size_t)n_in), *got = malloc((size_t)n_out),
               *want = malloc((size_t)n_out);
        assert_non_null(in && got && want);
        rnd_s8(&r, in, n_in, -128, 127);
        memset(got, 0x55, (size_t)n_out);
        char desc[256];
        describe(desc, sizeof desc, &p, 0);
        if (kind == POOL_AVG_RESCALE) {
            /* rq from s_in / (s_out * kh * kw), s_in / s_out in 2^[-3, 3] */
            double ratio = exp2(6.0 * rng_uniform(&r) - 3.0);
            fxp_requant rq;
            assert_int_equal(
                fxp_quantize_multiplier(ratio / (p.kernel_h * p.kernel_w), &rq), 0);
            q8_avgpool_rescale_s8(&p, in, rq, got);
            naive_avgpool_rescale(&p, in, rq, want);
        } else if (kind == POOL_AVG) {
            q8_avgpool_s8(&p, in, got);
            naive_avgpool(&p, in, want);
        } else {
            q8_maxpool_s8(&p, in, got);
            naive_maxpool(&p, in, want);
        }
        expect_same(got, want, n_out, pool_name[kind], i, desc);
        count(&cov, &p, 0, act_kind);
        free(in), free(got), free(want);
    }
    print_coverage(pool_name[kind], &cov);
    if (kind == POOL_AVG_RESCALE) {
        assert_true(cov.rect_kernel > 0 && cov.rect_stride > 0 && cov.stride_not_dividing > 0);
        for (int k = 0; k < N_ACT_KINDS; k++)
            assert_true(cov.act[k] > 0);
    } else {
        assert_true(cov.padded > 0 && cov.asymmetric > 0 && cov.rect_kernel > 0 &&
                    cov.rect_stride > 0 && cov.stride_not_dividing > 0);
    }
}

static void test_q8_kernels_maxpool_matches_naive(void **state)
{
    (void)state;
    run_pool_cases(POOL_MAX);
}

static void test_q8_kernels_avgpool_matches_naive(void **state)
{
    (void)state;
    run_pool_cases(POOL_AVG);
}

static void test_q8_kernels_avgpool_rescale_matches_naive(void **state)
{
    (void)state;
    run_pool_cases(POOL_AVG_RESCALE);
}

/* TFLite's average pool, output by output, as a rational: the mean of the raw
 * values inside the input, rounded to the nearest integer, halves away from
 * zero. In double: sum / count is exact whenever it is a half (a half-integer
 * is representable and IEEE division rounds correctly), and elsewhere at
 * least 1/(2 count) away from a half, far beyond double's error. */
static int tflite_mean(const int8_t *in, const q8_conv_params *p, int32_t oy, int32_t ox,
                       int32_t c, int *half, int *design)
{
    double sum = 0, sum_zp = 0;
    int n = 0;
    for (int32_t y = 0; y < p->in_h; y++)
        for (int32_t x = 0; x < p->in_w; x++) {
            int32_t wy = y + p->pad_top - oy * p->stride_h, wx = x + p->pad_left - ox * p->stride_w;
            if (wy < 0 || wy >= p->kernel_h || wx < 0 || wx >= p->kernel_w)
                continue;
            sum += in[(y * p->in_w + x) * p->in_c + c];
            sum_zp += in[(y * p->in_w + x) * p->in_c + c] - p->in_zp;
            n++;
        }
    double mean = sum / n, frac = mean - floor(mean);
    *half = frac == 0.5;
    double q = mean < 0 ? -floor(-mean + 0.5) : floor(mean + 0.5);
    /* the other reading of "sum / count rounded half away from zero, + zero-point":
     * the sum of x - zp, rounded, then + zp (differs at halves when the sign flips) */
    double m2 = sum_zp / n;
    *design = (int)((m2 < 0 ? -floor(-m2 + 0.5) : floor(m2 + 0.5)) + p->in_zp);
    return (int)q;
}

/* The largest window a model may hold (Q_MAX_ELEMS input elements, one
 * channel) at the most negative input: acc = -2^31, so rounding it must not
 * form acc - count / 2 in 32 bits (the sanitizer builds catch it). */
static void test_q8_kernels_avgpool_largest_window(void **state)
{
    (void)state;
    q8_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_h = p.in_w = p.kernel_h = p.kernel_w = 4096;
    p.in_c = p.out_c = 1;
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = p.depth_multiplier = 1;
    p.out_h = p.out_w = 1;
    p.act_min = -128;
    p.act_max = 127;
    assert_int_equal((int64_t)p.in_h * p.in_w, Q_MAX_ELEMS);
    int8_t *in = malloc(Q_MAX_ELEMS), out = 0;
    assert_non_null(in);
    memset(in, -128, Q_MAX_ELEMS);
    q8_avgpool_s8(&p, in, &out);
    assert_int_equal(out, -128);
    memset(in, 127, Q_MAX_ELEMS);
    in[0] = 126; /* mean 127 - 2^-24: rounds to 127 */
    q8_avgpool_s8(&p, in, &out);
    assert_int_equal(out, 127);
    free(in);
}

/* Every window size 1..8 x 1..8, without padding, with TensorFlow's `same`
 * padding and with [1, 0, 0, 1]-style one-sided padding, strides 1..3, on
 * random inputs and on inputs built to hit exact halves (window sums of
 * count/2 + j*count): q8_avgpool_s8 equals the rational mean rounded half
 * away from zero, output by output. */
static void test_q8_kernels_avgpool_is_tflite_rule(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 23);
    long outputs = 0, halves = 0, partial = 0, design_differs = 0, cases = 0;
    for (int32_t kh = 1; kh <= 8; kh++)
        for (int32_t kw = 1; kw <= 8; kw++)
            for (int padding = 0; padding < 3; padding++)
                for (int rep = 0; rep < 6; rep++) {
                    q8_conv_params p;
                    memset(&p, 0, sizeof p);
                    p.in_h = kh + rnd_range(&r, 0, 6);
                    p.in_w = kw + rnd_range(&r, 0, 6);
                    p.in_c = rnd_range(&r, 1, 3);
                    p.out_c = p.in_c;
                    p.kernel_h = kh;
                    p.kernel_w = kw;
                    p.stride_h = rnd_range(&r, 1, 3);
                    p.stride_w = rnd_range(&r, 1, 3);
                    p.dilation_h = p.dilation_w = 1;
                    p.depth_multiplier = 1;
                    if (padding == 1) { /* TensorFlow's same */
                        int32_t oh = (p.in_h + p.stride_h - 1) / p.stride_h;
                        int32_t ow = (p.in_w + p.stride_w - 1) / p.stride_w;
                        int32_t th = (oh - 1) * p.stride_h + kh - p.in_h;
                        int32_t tw = (ow - 1) * p.stride_w + kw - p.in_w;
                        th = th < 0 ? 0 : th;
                        tw = tw < 0 ? 0 : tw;
                        p.pad_top = th / 2, p.pad_bottom = th - th / 2;
                        p.pad_left = tw / 2, p.pad_right = tw - tw / 2;
                    } else if (padding == 2) { /* one side only, each below the kernel */
                        p.pad_top = rnd_range(&r, 0, kh - 1);
                        p.pad_right = rnd_range(&r, 0, kw - 1);
                    }
                    p.out_h = (p.in_h + p.pad_top + p.pad_bottom - kh) / p.stride_h + 1;
                    p.out_w = (p.in_w + p.pad_left + p.pad_right - kw) / p.stride_w + 1;
                    p.in_zp = p.out_zp = rnd_zp(&r);
                    p.act_min = -128;
                    p.act_max = 127;
                    int32_t n_in = p.in_h * p.in_w * p.in_c, n_out = p.out_h * p.out_w * p.in_c;
                    int8_t *in = malloc((size_t)n_in), *got = malloc((size_t)n_out);
                    assert_non_null(in && got);
                    if (rep < 2) {
                        rnd_s8(&r, in, n_in, -128, 127);
                    } else {
                        /* few distinct values near 0 and of both signs: many exact
                         * halves, many sums that change sign */
                        for (int32_t i = 0; i < n_in; i++)
                            in[i] = (int8_t)(rep == 5 ? rnd_range(&r, -1, 0)
                                                      : rnd_range(&r, -rep, rep));
                    }
                    q8_avgpool_s8(&p, in, got);
                    for (int32_t oy = 0; oy < p.out_h; oy++)
                        for (int32_t ox = 0; ox < p.out_w; ox++)
                            for (int32_t c = 0; c < p.in_c; c++) {
                                int half, design;
                                int want = tflite_mean(in, &p, oy, ox, c, &half, &design);
                                int8_t g = got[(oy * p.out_w + ox) * p.in_c + c];
                                if (g != want)
                                    fail_msg("avgpool %dx%d stride %dx%d pad [%d, %d, %d, %d] "
                                             "output (%d, %d, %d): %d, the rational mean "
                                             "rounds to %d",
                                             kh, kw, p.stride_h, p.stride_w, p.pad_top,
                                             p.pad_bottom, p.pad_left, p.pad_right, oy, ox, c,
                                             g, want);
                                halves += half;
                                design_differs += design != want;
                                int32_t y0 = oy * p.stride_h - p.pad_top;
                                int32_t x0 = ox * p.stride_w - p.pad_left;
                                partial += y0 < 0 || x0 < 0 || y0 + kh > p.in_h ||
                                           x0 + kw > p.in_w;
                                outputs++;
                            }
                    cases++;
                    free(in), free(got);
                }
    print_message("avgpool: every window 1..8 x 1..8, %ld cases, %ld outputs equal to the "
                  "rational mean rounded half away from zero; %ld exact halves, %ld windows "
                  "cut by the padding; rounding sum(x - zp) / count and adding zp instead "
                  "would differ on %ld\n",
                  cases, outputs, halves, partial, design_differs);
    assert_true(halves > 1000 && partial > 1000 && design_differs > 0);
}

static void test_q8_kernels_linear_matches_naive(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 30);
    long act_count[N_ACT_KINDS] = {0}, per_channel_cases = 0;
    for (long i = 0; i < N_RANDOM; i++) {
        int32_t in_n = rng_below(&r, 4) ? rnd_range(&r, 1, 64) : rnd_range(&r, 1, 3000);
        int32_t out_n = rnd_range(&r, 1, 12);
        int32_t in_zp = rnd_zp(&r), out_zp = rnd_zp(&r), lo, hi;
        int act_kind = (int)rng_below(&r, N_ACT_KINDS), per_channel = (int)(i & 1);
        rnd_act(&r, act_kind, out_zp, &lo, &hi);
        int8_t *in = malloc((size_t)in_n), *w = malloc((size_t)in_n * out_n);
        int8_t *got = malloc((size_t)out_n), *want = malloc((size_t)out_n);
        int32_t *bias = malloc((size_t)out_n * sizeof *bias);
        fxp_requant *rq = malloc((size_t)out_n * sizeof *rq);
        assert_non_null(in && w && got && want && bias && rq);
        rnd_s8(&r, in, in_n, -128, 127);
        rnd_s8(&r, w, in_n * out_n, -127, 127);
        rnd_bias(&r, bias, out_n, in_n);
        rnd_rq_array(&r, rq, out_n, per_channel, in_n);
        q8_linear_s8(in_n, out_n, in, in_zp, w, bias, rq, out_zp, lo, hi, got);
        naive_linear(in_n, out_n, in, in_zp, w, bias, rq, out_zp, lo, hi, want);
        char desc[128];
        snprintf(desc, sizeof desc, "%d -> %d, zp %d->%d, act [%d,%d]", in_n, out_n, in_zp,
                 out_zp, lo, hi);
        expect_same(got, want, out_n, "linear", i, desc);
        act_count[act_kind]++;
        per_channel_cases += per_channel;
        free(in), free(w), free(got), free(want), free(bias), free(rq);
    }
    print_interior("linear");
    print_message("linear: %d cases bit-exact with the naive twin (per-channel %ld, act "
                  "none/relu/relu6/any %ld/%ld/%ld/%ld)\n",
                  N_RANDOM, per_channel_cases, act_count[0], act_count[1], act_count[2],
                  act_count[3]);
}

/* Random input scales in 2^[-8, 0] with ratios up to 2^6 between them. */
static double rnd_scale(rng_state *r)
{
    return exp2(-8.0 * rng_uniform(r));
}

static void test_q8_kernels_add_matches_naive(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 40);
    long act_count[N_ACT_KINDS] = {0}, elements = 0;
    for (long i = 0; i < N_RANDOM; i++) {
        double s1 = rnd_scale(&r), s2 = rng_below(&r, 8) ? rnd_scale(&r) : s1;
        double s_out = (s1 + s2) * exp2(2.0 * rng_uniform(&r) - 0.5);
        q8_add_params p;
        memset(&p, 0, sizeof p);
        assert_int_equal(q8_add_params_from_scales(s1, s2, s_out, &p), 0);
        p.in1_zp = rnd_zp(&r);
        p.in2_zp = rnd_zp(&r);
        p.out_zp = rnd_zp(&r);
        int act_kind = (int)rng_below(&r, N_ACT_KINDS);
        rnd_act(&r, act_kind, p.out_zp, &p.act_min, &p.act_max);
        int32_t n = rnd_range(&r, 1, 300);
        int8_t *a = malloc((size_t)n), *b = malloc((size_t)n), *got = malloc((size_t)n),
               *want = malloc((size_t)n);
        assert_non_null(a && b && got && want);
        rnd_s8(&r, a, n, -128, 127);
        rnd_s8(&r, b, n, -128, 127);
        q8_add_s8(&p, n, a, b, got);
        naive_add(&p, n, a, b, want);
        char desc[160];
        snprintf(desc, sizeof desc, "n %d scales %g %g -> %g zp %d %d -> %d act [%d,%d]", n,
                 s1, s2, s_out, p.in1_zp, p.in2_zp, p.out_zp, p.act_min, p.act_max);
        expect_same(got, want, n, "add", i, desc);
        act_count[act_kind]++;
        elements += n;
        free(a), free(b), free(got), free(want);
    }
    print_interior("add");
    print_message("add: %d cases (%ld elements) bit-exact with the naive twin (act "
                  "none/relu/relu6/any %ld/%ld/%ld/%ld)\n",
                  N_RANDOM, elements, act_count[0], act_count[1], act_count[2], act_count[3]);
}

/* The add computes s1 (x1 - zp1) + s2 (x2 - zp2) in units of s_out to within
 * one step (two fine roundings at 2^-20 of the larger input scale, then one). */
static void test_q8_kernels_add_approximates_real(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 41);
    long n = 0, exact = 0;
    for (int i = 0; i < 2000; i++) {
        double s1 = rnd_scale(&r), s2 = rnd_scale(&r), s_out = (s1 + s2) * 0.75;
        q8_add_params p;
        memset(&p, 0, sizeof p);
        p.in1_zp = rnd_zp(&r);
        p.in2_zp = rnd_zp(&r);
        p.out_zp = rnd_zp(&r);
        p.act_min = -128;
        p.act_max = 127;
        assert_int_equal(q8_add_params_from_scales(s1, s2, s_out, &p), 0);
        for (int j = 0; j < 64; j++) {
            int8_t a = (int8_t)rnd_range(&r, -128, 127), b = (int8_t)rnd_range(&r, -128, 127);
            int8_t got;
            q8_add_s8(&p, 1, &a, &b, &got);
            double real = (s1 * (a - p.in1_zp) + s2 * (b - p.in2_zp)) / s_out + p.out_zp;
            double want = fmin(127.0, fmax(-128.0, floor(real + 0.5)));
            if (fabs(got - want) > 1.0)
                fail_msg("add %d,%d scales %g %g -> %g: got %d, real %g", a, b, s1, s2, s_out,
                         got, real);
            exact += got == want;
            n++;
        }
    }
    print_message("add: %ld/%ld equal to the rounded real sum, the rest within 1\n", exact, n);
    assert_true(exact > n * 9 / 10);
}

/* The rescaling average pool's output is the rounded mean to within one step. */
static void test_q8_kernels_avgpool_rescale_approximates_mean(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 22);
    long exact = 0, n = 0;
    for (int i = 0; i < 500; i++) {
        q8_conv_params p;
        int act_kind;
        rnd_geometry(&r, &p, 1, NULL, &act_kind);
        p.act_min = -128;
        p.act_max = 127;
        p.kernel_h = p.in_h; /* global */
        p.kernel_w = p.in_w;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
        p.out_h = p.out_w = 1;
        double ratio = exp2(4.0 * rng_uniform(&r) - 2.0); /* s_in / s_out */
        fxp_requant rq;
        assert_int_equal(fxp_quantize_multiplier(ratio / (p.in_h * p.in_w), &rq), 0);
        int32_t n_in = p.in_h * p.in_w * p.in_c;
        int8_t *in = malloc((size_t)n_in), *got = malloc((size_t)p.in_c);
        assert_non_null(in && got);
        rnd_s8(&r, in, n_in, -128, 127);
        q8_avgpool_rescale_s8(&p, in, rq, got);
        for (int32_t c = 0; c < p.in_c; c++) {
            double sum = 0;
            for (int32_t j = 0; j < p.in_h * p.in_w; j++)
                sum += in[j * p.in_c + c] - p.in_zp;
            double real = ratio * sum / (p.in_h * p.in_w) + p.out_zp;
            double want = fmin(127.0, fmax(-128.0, floor(real + 0.5)));
            if (fabs(got[c] - want) > 1.0)
                fail_msg("global avgpool channel %d: got %d, real %g", c, got[c], real);
            exact += got[c] == want;
            n++;
        }
        free(in), free(got);
    }
    print_message("avgpool (rescaling): %ld/%ld global means equal to the rounded real mean\n",
                  exact, n);
    assert_true(exact > n * 9 / 10);
}

/* ---- softmax ---- */

/* Input scales over the range models use and beyond: 2^[-14, 3]. */
static double rnd_softmax_scale(rng_state *r)
{
    return exp2(-14.0 + 17.0 * rng_uniform(r));
}

/* Rows that stress the softmax: uniform, a few large values among small ones,
 * all equal, one extreme each side, ties at the maximum. */
static void rnd_row(rng_state *r, int8_t *v, int32_t n)
{
    int mode = (int)rng_below(r, 6);
    int32_t base = rnd_range(r, -128, 127);
    for (int32_t j = 0; j < n; j++) {
        switch (mode) {
        case 0: v[j] = (int8_t)rnd_range(r, -128, 127); break;
        case 1: v[j] = (int8_t)(rng_below(r, 8) ? rnd_range(r, -128, -100) : rnd_range(r, 90, 127)); break;
        case 2: v[j] = (int8_t)base; break;
        case 3: v[j] = (int8_t)(j == 0 ? 127 : -128); break;
        case 4: v[j] = (int8_t)(rng_below(r, 2) ? base : rnd_range(r, -128, base)); break;
        default: v[j] = (int8_t)rnd_range(r, base - 8 < -128 ? -128 : base - 8, base); break;
        }
    }
}

static void test_q8_kernels_softmax_table(void **state)
{
    (void)state;
    int32_t t[Q8_SOFTMAX_TABLE], before[Q8_SOFTMAX_TABLE];
    rng_state r;
    rng_seed(&r, 60);
    for (int k = 0; k < 1000; k++) {
        double s = k == 0 ? 1e-12 : k == 1 ? 1e12 : rnd_softmax_scale(&r);
        assert_int_equal(q8_softmax_table(s, t), 0);
        assert_int_equal(t[0], 1 << Q8_SOFTMAX_EXP_BITS);
        for (int d = 0; d < Q8_SOFTMAX_TABLE; d++) {
            long double want = ldexpl(expl(-(long double)s * d), Q8_SOFTMAX_EXP_BITS);
            if (fabsl((long double)t[d] - want) > 0.5L + 1e-9L)
                fail_msg("scale %g: table[%d] = %d, 2^20 exp(-s d) = %.6Lf", s, d, t[d], want);
            if (d > 0 && t[d] > t[d - 1])
                fail_msg("scale %g: table increases at %d", s, d);
        }
    }
    memcpy(before, t, sizeof t);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(q8_softmax_table(bad[k], t), -1);
        assert_memory_equal(t, before, sizeof t);
    }
}

static void test_q8_kernels_softmax_matches_naive(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 61);
    int32_t table[Q8_SOFTMAX_TABLE];
    for (long i = 0; i < N_RANDOM; i++) {
        int32_t rows = rnd_range(&r, 1, 4);
        int32_t n = i % 100 == 0 ? Q8_SOFTMAX_MAX_ROW
                    : rng_below(&r, 8) == 0 ? rnd_range(&r, 1, Q8_SOFTMAX_MAX_ROW)
                                            : rnd_range(&r, 1, 40);
        double s = rnd_softmax_scale(&r);
        assert_int_equal(q8_softmax_table(s, table), 0);
        int8_t *in = malloc((size_t)(rows * n)), *got = malloc((size_t)(rows * n)),
               *want = malloc((size_t)(rows * n));
        assert_non_null(in && got && want);
        for (int32_t k = 0; k < rows; k++)
            rnd_row(&r, in + k * n, n);
        q8_softmax_s8(rows, n, in, table, got);
        naive_softmax(rows, n, in, table, want);
        char desc[96];
        snprintf(desc, sizeof desc, "%d rows of %d, scale %g", rows, n, s);
        expect_same(got, want, rows * n, "softmax", i, desc);
        free(in), free(got), free(want);
    }
    n_outputs = n_interior = 0; /* softmax outputs sit at -128 by design */
    print_message("softmax: %d cases bit-exact with the naive twin\n", N_RANDOM);
}

/* |out - (256 p - 128)| in output steps for one row, p the float softmax
 * (long double) of the dequantized row. *worst_free is the largest error
 * where the clamp at 127 plays no part (256 p - 128 < 127.5); *exact counts
 * outputs equal to the correctly rounded, clamped 256 p - 128. */
static double softmax_row_error(const int8_t *x, const int8_t *y, int32_t n, double s,
                                double *worst_free, long *exact)
{
    long double sum = 0, worst = 0;
    int32_t max = -128;
    for (int32_t j = 0; j < n; j++)
        max = x[j] > max ? x[j] : max;
    for (int32_t j = 0; j < n; j++)
        sum += expl(-(long double)s * (max - x[j]));
    for (int32_t j = 0; j < n; j++) {
        long double p = expl(-(long double)s * (max - x[j])) / sum;
        long double err = fabsl((long double)y[j] + 128 - 256 * p);
        long double best = floorl(256 * p + 0.5L) - 128;
        *exact += y[j] == (best > 127 ? 127 : best);
        worst = err > worst ? err : worst;
        if (256 * p - 128 < 127.5L && (double)err > *worst_free)
            *worst_free = (double)err;
    }
    return (double)worst;
}

/* The softmax is within one output step (1/256) of the float softmax of the
 * dequantized input: every two-value row exhaustively at 40 scales, then
 * random rows of 1..2048 values at random scales. The step is reached only
 * by the clamp (p ~ 1 would be 128); elsewhere the error stays near 1/2. */
static void test_q8_kernels_softmax_within_one_step(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 62);
    int32_t table[Q8_SOFTMAX_TABLE];
    double max_err = 0, max_free = 0;
    long outputs = 0, exact = 0;
    int8_t x[2], y[2];
    for (int k = 0; k < 40; k++) {
        double s = k == 0 ? 1.0 / 16 : rnd_softmax_scale(&r);
        assert_int_equal(q8_softmax_table(s, table), 0);
        for (int a = -128; a <= 127; a++)
            for (int b = -128; b <= 127; b++) {
                x[0] = (int8_t)a;
                x[1] = (int8_t)b;
                q8_softmax_s8(1, 2, x, table, y);
                double err = softmax_row_error(x, y, 2, s, &max_free, &exact);
                max_err = err > max_err ? err : max_err;
                outputs += 2;
            }
    }
    long rows = 0;
    for (int k = 0; k < 20000; k++) {
        int32_t n = k % 50 == 0 ? Q8_SOFTMAX_MAX_ROW
                    : rng_below(&r, 4) == 0 ? rnd_range(&r, 1, Q8_SOFTMAX_MAX_ROW)
                                            : rnd_range(&r, 1, 32);
        double s = rnd_softmax_scale(&r);
        assert_int_equal(q8_softmax_table(s, table), 0);
        int8_t *in = malloc((size_t)n), *out = malloc((size_t)n);
        assert_non_null(in && out);
        rnd_row(&r, in, n);
        q8_softmax_s8(1, n, in, table, out);
        double err = softmax_row_error(in, out, n, s, &max_free, &exact);
        if (err > 1.0)
            fail_msg("softmax row of %d at scale %g: %.4f steps from the float softmax", n, s,
                     err);
        max_err = err > max_err ? err : max_err;
        outputs += n;
        rows++;
        free(in), free(out);
    }
    print_message("softmax: %ld outputs (every pair at 40 scales, %ld random rows of 1..%d): "
                  "max error %.4f steps of 1/256 (%.4f where the clamp at 127 plays no part); "
                  "%ld outputs (%.4f%%) differ from the correctly rounded float softmax\n",
                  outputs, rows, Q8_SOFTMAX_MAX_ROW, max_err, max_free, outputs - exact,
                  100.0 * (double)(outputs - exact) / (double)outputs);
    assert_true(max_err <= 1.0 && max_free < 0.76);
}

static void test_q8_kernels_add_params_from_scales(void **state)
{
    (void)state;
    q8_add_params p;
    memset(&p, 0, sizeof p);
    /* equal scales: both inputs by 1/2, output by 2 s / (2^20 s) = 2^-19 */
    assert_int_equal(q8_add_params_from_scales(0.1, 0.1, 0.1, &p), 0);
    assert_int_equal(p.in1_rq.multiplier, 1 << 30);
    assert_int_equal(p.in1_rq.shift, 0);
    assert_int_equal(p.in2_rq.multiplier, 1 << 30);
    assert_int_equal(p.in2_rq.shift, 0);
    assert_int_equal(p.out_rq.multiplier, 1 << 30);
    assert_int_equal(p.out_rq.shift, -18);
    /* the larger scale always maps to 1/2 */
    assert_int_equal(q8_add_params_from_scales(0.25, 1.0, 0.5, &p), 0);
    assert_int_equal(p.in2_rq.multiplier, 1 << 30);
    assert_int_equal(p.in2_rq.shift, 0);
    assert_int_equal(p.in1_rq.shift, -2); /* 1/8 */
    const double bad[][3] = {{0, 1, 1},      {1, 0, 1},       {1, 1, 0},  {-1, 1, 1},
                             {NAN, 1, 1},    {1, INFINITY, 1}, {1, 1, NAN}, {1, 1, -1},
                             {1, 1, 0x1p-50}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q8_add_params before = p;
        if (q8_add_params_from_scales(bad[i][0], bad[i][1], bad[i][2], &p) != -1)
            fail_msg("scales %g %g %g accepted", bad[i][0], bad[i][1], bad[i][2]);
        assert_memory_equal(&p, &before, sizeof p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_kernels_conv2d_matches_naive),
        cmocka_unit_test(test_q8_kernels_dwconv2d_matches_naive),
        cmocka_unit_test(test_q8_kernels_linear_matches_naive),
        cmocka_unit_test(test_q8_kernels_maxpool_matches_naive),
        cmocka_unit_test(test_q8_kernels_avgpool_matches_naive),
        cmocka_unit_test(test_q8_kernels_avgpool_rescale_matches_naive),
        cmocka_unit_test(test_q8_kernels_avgpool_is_tflite_rule),
        cmocka_unit_test(test_q8_kernels_avgpool_largest_window),
        cmocka_unit_test(test_q8_kernels_add_matches_naive),
        cmocka_unit_test(test_q8_kernels_add_approximates_real),
        cmocka_unit_test(test_q8_kernels_avgpool_rescale_approximates_mean),
        cmocka_unit_test(test_q8_kernels_add_params_from_scales),
        cmocka_unit_test(test_q8_kernels_softmax_table),
        cmocka_unit_test(test_q8_kernels_softmax_matches_naive),
        cmocka_unit_test(test_q8_kernels_softmax_within_one_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
