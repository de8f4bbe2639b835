/* Tests of layers, batchnorm and gemm.
 *
 * - Gradient checks: for every layer, every input and every parameter,
 *   central finite differences of L = Σ R·out (R random, accumulated in
 *   double) against the analytic backward; every element is checked. The
 *   gradient buffers start with random values, so the check also proves that
 *   backward accumulates (+=) rather than overwrites. Each check prints the
 *   max absolute difference and the max relative error
 *   |a − n| / max(|a|, |n|, 0.1).
 * - Forwards against independent naive references (double loops).
 * - GEMM: CBLAS and portable paths against a double reference and each other
 *   for all transpose combinations, edges of every block size, alpha/beta.
 * - Thread-count independence of the non-GEMM layers and of the portable GEMM.
 */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batchnorm.h"
#include "gemm.h"
#include "layers.h"
#include "rng.h"

/* ---- helpers ---------------------------------------------------------------- */

static float *rand_buf(rng_state *r, size_t n, float lo, float hi)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * rng_uniform(r);
    return p;
}

/* Values in [lo, hi) at least `gap` away from every kink in kinks[0..nk). */
static float *rand_buf_away(rng_state *r, size_t n, float lo, float hi, const float *kinks, int nk,
                            float gap)
{
    float *p = rand_buf(r, n, lo, hi);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < nk; k++) {
            while (fabsf(p[i] - kinks[k]) < gap) {
                p[i] = lo + (hi - lo) * rng_uniform(r);
                k = 0;
            }
        }
    }
    return p;
}

/* A random permutation of {0, 1, ..., n−1} · step + offset: distinct values. */
static float *distinct_buf(rng_state *r, size_t n, float step)
{
    int32_t *idx = malloc(sizeof(int32_t) * n);
    assert_non_null(idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (int32_t)i;
    rng_shuffle(r, idx, (int32_t)n);
    float *p = malloc(sizeof(float) * n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)idx[i] * step - (float)n * step / 2;
    free(idx);
    return p;
}

static void expect_close(const char *what, const float *got, const double *want, size_t n,
                         double tol)
{
    double maxd = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (d > maxd || isnan(got[i])) {
            maxd = isnan(got[i]) ? INFINITY : d;
            worst = i;
        }
    }
    printf("  %-34s n=%-6zu max diff %.3g\n", what, n, maxd);
    if (!(maxd <= tol))
        fail_msg("%s: index %zu: got %.9g want %.9g (tolerance %g)", what, worst,
                 got[worst], want[worst], tol);
}

/* ---- gradient check harness --------------------------------------------------- */

typedef struct {
    const char *name;
    float *x;   /* the tensor, perturbed in place */
    float *dx;  /* its gradient, accumulated by bwd */
    size_t n;
} gc_tensor;

typedef const float *(*fwd_fn)(void *ctx);            /* returns the output (nout) */
typedef void (*bwd_fn)(void *ctx, const float *dout); /* accumulates into the dx */

/* Tolerance on the relative error: float forwards make the numeric gradient
 * noisy at ~1e-4 (printed), while a wrong gradient is off by O(1). */
#define GC_TOL 5e-3

static double gc_worst_rel = 0.0; /* over every check of this binary */

static double gc_loss(fwd_fn fwd, void *ctx, const float *r, size_t nout)
{
    const float *out = fwd(ctx);
    double l = 0.0;
    for (size_t i = 0; i < nout; i++)
        l += (double)r[i] * out[i];
    return l;
}

/* Checks every element of every tensor; h the step, tol on the relative error. */
static void gradcheck(const char *layer, gc_tensor *t, int nt, size_t nout, fwd_fn fwd,
                      bwd_fn bwd, void *ctx, float h, double tol)
{
    rng_state rng;
    rng_seed(&rng, 77);
    float *r = rand_buf(&rng, nout, -1.0f, 1.0f);
    float *base[8];
    assert_true(nt <= 8);
    for (int i = 0; i < nt; i++) {
        base[i] = rand_buf(&rng, t[i].n, -0.5f, 0.5f);
        memcpy(t[i].dx, base[i], sizeof(float) * t[i].n);
    }
    fwd(ctx);
    bwd(ctx, r);
    for (int i = 0; i < nt; i++) {
        double maxdiff = 0.0, maxrel = 0.0;
        size_t worst = 0;
        double worst_a = 0, worst_n = 0;
        for (size_t j = 0; j < t[i].n; j++) {
            float save = t[i].x[j];
            t[i].x[j] = save + h;
            double lp = gc_loss(fwd, ctx, r, nout);
            t[i].x[j] = save - h;
            double lm = gc_loss(fwd, ctx, r, nout);
            t[i].x[j] = save;
            double num = (lp - lm) / (2.0 * ((double)(save + h) - (double)save));
            double ana = (double)t[i].dx[j] - (double)base[i][j];
            double diff = fabs(ana - num);
            double rel = diff / fmax(fmax(fabs(ana), fabs(num)), 0.1);
            if (diff > maxdiff)
                maxdiff = diff;
            if (rel > maxrel || isnan(ana)) {
                maxrel = isnan(ana) ? INFINITY : rel;
                worst = j;
                worst_a = ana;
                worst_n = num;
            }
        }
        printf("  gradcheck %-10s d%-6s n=%-4zu max|diff| %.2e  max rel %.2e\n", layer,
               t[i].name, t[i].n, maxdiff, maxrel);
        if (maxrel > gc_worst_rel)
            gc_worst_rel = maxrel;
        if (!(maxrel <= tol))
            fail_msg("%s d%s[%zu]: analytic %.7g numeric %.7g (rel %.3g > %g)", layer,
                     t[i].name, worst, worst_a, worst_n, maxrel, tol);
        free(base[i]);
    }
    free(r);
}

/* One context type for every layer under test. */
typedef struct {
    ly_conv_shape s;
    int b, in, outn, n, c, hw, k;
    float eps;
    float *x, *x2, *w, *bias, *gamma, *beta, *rm, *rv;
    float *dx, *dx2, *dw, *dbias, *dgamma, *dbeta;
    float *out, *scratch, *mean, *rstd, *tmp;
    int32_t *labels;
} lctx;

static void lctx_free(lctx *c)
{
    float *all[] = {c->x, c->x2, c->w, c->bias, c->gamma, c->beta, c->rm, c->rv,
                    c->dx, c->dx2, c->dw, c->dbias, c->dgamma, c->dbeta,
                    c->out, c->scratch, c->mean, c->rstd, c->tmp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    free(c->labels);
}

static float *zbuf(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static size_t in_size(const ly_conv_shape *s) { return (size_t)s->b * s->h * s->w * s->c; }
static size_t out_size(const ly_conv_shape *s) { return (size_t)s->b * s->oh * s->ow * s->oc; }

/* The shape of a window with every field given: kernel, stride, dilation and
 * the four pads (top, bottom, left, right), as a config resolves them. */
static ly_conv_shape shape_win(int b, int h, int w, int c, int oc, int kh, int kw, int sh,
                               int sw, int dh, int dw, int pt, int pb, int pl, int pr)
{
    q_window win = {kh, kw, sh, sw, dh, dw, pt, pb, pl, pr};
    return ly_conv_shape_of(b, (q_shape){h, w, c}, oc, &win);
}

/* Input row (col) of tap ky (kx) of output row oy (col ox), as qmodel.h
 * states it; outside [0, h) it is padding. */
static int ref_row(const ly_conv_shape *s, int oy, int ky) { return oy * s->sh - s->pt + ky * s->dil_h; }
static int ref_col(const ly_conv_shape *s, int ox, int kx) { return ox * s->sw - s->pl + kx * s->dil_w; }

/* ---- naive references (double) ------------------------------------------------ */

/* out[b,oy,ox,oc] = bias + Σ w[oc,ky,kx,ic] x[b,iy,ix,ic]; when depthwise
 * (multiplier M = OC / C): bias + Σ w[ky,kx,oc] x[b,iy,ix,oc / M], w (KH,KW,OC) */
static void ref_conv(double *out, const float *x, const float *w, const float *bias,
                     const ly_conv_shape *s, int depthwise)
{
    int m = s->oc / s->c;
    for (int b = 0; b < s->b; b++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int oc = 0; oc < s->oc; oc++) {
                    double acc = bias ? bias[oc] : 0.0;
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = 0; kx < s->kw; kx++) {
                            int iy = ref_row(s, oy, ky), ix = ref_col(s, ox, kx);
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            const float *xp = x + (((size_t)b * s->h + iy) * s->w + ix) * s->c;
                            if (depthwise)
                                acc += (double)w[(ky * s->kw + kx) * s->oc + oc] * xp[oc / m];
                            else
                                for (int ic = 0; ic < s->c; ic++)
                                    acc += (double)w[((oc * s->kh + ky) * s->kw + kx) * s->c + ic] *
                                           xp[ic];
                        }
                    out[(((size_t)b * s->oh + oy) * s->ow + ox) * s->oc + oc] = acc;
                }
}

/* ---- conv2d ------------------------------------------------------------------- */

static const float *conv_fwd(void *p)
{
    lctx *c = p;
    ly_conv2d_forward(c->out, c->x, c->w, c->bias, c->scratch, &c->s);
    return c->out;
}
static void conv_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_conv2d_backward(c->dx, c->dw, c->dbias, dout, c->x, c->w, c->scratch, &c->s);
}

static const float *dw_fwd(void *p)
{
    lctx *c = p;
    ly_dwconv2d_forward(c->out, c->x, c->w, c->bias, &c->s);
    return c->out;
}
static void dw_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_dwconv2d_backward(c->dx, c->dw, c->dbias, dout, c->x, c->w, &c->s);
}

/* A conv2d (depthwise 0) or dwconv2d (1) of shape s: the forward against
 * ref_conv, then the gradient check. */
static void conv_case(const char *name, ly_conv_shape s, int with_bias, int depthwise)
{
    rng_state r;
    rng_seed(&r, depthwise ? 2 : 1);
    lctx c = {.s = s};
    size_t nw = depthwise ? (size_t)s.kh * s.kw * s.oc : (size_t)s.oc * s.kh * s.kw * s.c;
    c.x = rand_buf(&r, in_size(&s), -1, 1);
    c.w = rand_buf(&r, nw, -1, 1);
    c.bias = with_bias ? rand_buf(&r, s.oc, -1, 1) : NULL;
    c.dx = zbuf(in_size(&s));
    c.dw = zbuf(nw);
    c.dbias = with_bias ? zbuf(s.oc) : NULL;
    c.out = zbuf(out_size(&s));
    c.scratch = depthwise ? NULL : zbuf(ly_conv2d_scratch_floats(&s));
    fwd_fn fwd = depthwise ? dw_fwd : conv_fwd;
    bwd_fn bwd = depthwise ? dw_bwd : conv_bwd;

    double *want = malloc(sizeof(double) * out_size(&s));
    assert_non_null(want);
    ref_conv(want, c.x, c.w, c.bias, &s, depthwise);
    fwd(&c);
    char what[64];
    snprintf(what, sizeof what, "%s forward", name);
    expect_close(what, c.out, want, out_size(&s), 1e-5);
    free(want);

    gc_tensor t[3] = {{"inp", c.x, c.dx, in_size(&s)}, {"w", c.w, c.dw, nw},
                      {"bias", c.bias, c.dbias, (size_t)s.oc}};
    gradcheck(name, t, with_bias ? 3 : 2, out_size(&s), fwd, bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
}

static void test_layers_conv2d_gradcheck(void **state)
{
    (void)state;
    /* 3x3 stride 1 pad 1, non-square input */
    conv_case("conv3x3", ly_conv_shape_make(2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1), 1, 0);
    /* stride 2, pad 1, odd sizes */
    conv_case("conv_s2", ly_conv_shape_make(2, 7, 5, 2, 3, 3, 3, 2, 2, 1, 1), 1, 0);
    /* non-square kernel, unequal strides and pads, no bias */
    conv_case("conv_3x2", ly_conv_shape_make(3, 6, 7, 3, 5, 3, 2, 2, 1, 0, 1), 0, 0);
    /* 1x1 stride 1 pad 0: the path without im2col */
    conv_case("conv1x1", ly_conv_shape_make(2, 4, 3, 5, 6, 1, 1, 1, 1, 0, 0), 1, 0);
    /* 1x1 with stride 2: im2col path */
    conv_case("conv1x1s2", ly_conv_shape_make(2, 5, 4, 3, 2, 1, 1, 2, 2, 0, 0), 1, 0);
    /* 16 in, 16 out channels: the direct kernels (forward, dinp and dw) */
    conv_case("conv_direct", ly_conv_shape_make(1, 4, 3, 16, 16, 3, 3, 1, 1, 1, 1), 1, 0);
    /* a 4x3 kernel, stride 2, `same`'s uneven pads (top 1, bottom 2, left 0, right 1) */
    conv_case("conv_same_s2", shape_win(2, 9, 6, 2, 3, 4, 3, 2, 2, 1, 1, 1, 2, 0, 1), 1, 0);
    /* dilation 2, pad 2 on every side */
    conv_case("conv_dil2", shape_win(2, 7, 6, 3, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2), 1, 0);
    /* a 3x2 kernel, stride [1, 2], dilation [2, 3], four different pads */
    conv_case("conv_dil_rect", shape_win(2, 8, 9, 2, 3, 3, 2, 1, 2, 2, 3, 1, 3, 2, 0), 0, 0);
    /* 1-D: H = 1, kernel [1, 3], dilation 2, `same` (pad 2 left and right) */
    conv_case("conv_1d_dil", shape_win(3, 1, 12, 3, 4, 1, 3, 1, 1, 1, 2, 0, 0, 2, 2), 1, 0);
    /* 1x1 with dilation 3: dilation changes nothing, the pointwise GEMM */
    conv_case("conv1x1_dil", shape_win(2, 4, 3, 5, 6, 1, 1, 1, 1, 3, 3, 0, 0, 0, 0), 1, 0);
    /* the direct kernels with dilation 2 and uneven pads (dinp direct too) */
    conv_case("conv_direct_dil", shape_win(1, 6, 5, 16, 16, 3, 2, 1, 1, 2, 2, 1, 3, 2, 0), 1, 0);
    /* the direct forward and dw at stride 2 with `same`'s pads (dinp: im2col) */
    conv_case("conv_direct_s2", shape_win(2, 7, 6, 3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1), 1, 0);
}

/* ---- dwconv2d ----------------------------------------------------------------- */

static void test_layers_dwconv2d_gradcheck(void **state)
{
    (void)state;
    conv_case("dw3x3", ly_conv_shape_make(2, 5, 6, 3, 3, 3, 3, 1, 1, 1, 1), 1, 1);
    conv_case("dw_s2", ly_conv_shape_make(2, 7, 6, 5, 5, 3, 3, 2, 2, 1, 1), 1, 1);
    conv_case("dw_2x3", ly_conv_shape_make(3, 5, 6, 4, 4, 2, 3, 1, 2, 1, 0), 0, 1);
    /* more channels than one accumulator chunk (64) */
    conv_case("dw_c70", ly_conv_shape_make(1, 3, 3, 70, 70, 3, 3, 1, 1, 1, 1), 1, 1);
    /* dilation 2 and uneven pads */
    conv_case("dw_dil2", shape_win(2, 7, 6, 3, 3, 3, 3, 1, 1, 2, 2, 2, 1, 0, 3), 1, 1);
    /* channel multiplier 2 (output ic·2 + m reads input ic) */
    conv_case("dw_mult2", shape_win(2, 5, 6, 3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), 1, 1);
    /* multiplier 3 with stride 2, dilation [2, 1] and `same`'s pads, no bias */
    conv_case("dw_mult3_s2", shape_win(2, 8, 7, 2, 6, 3, 2, 2, 2, 2, 1, 2, 2, 0, 1), 0, 1);
    /* multiplier 2 over 35 channels: 70 outputs, across an accumulator chunk */
    conv_case("dw_mult2_c35", shape_win(1, 3, 4, 35, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), 1, 1);
    /* 1-D: H = 1, kernel [1, 5], multiplier 2 */
    conv_case("dw_1d_mult2", shape_win(2, 1, 9, 2, 4, 1, 5, 1, 1, 1, 1, 0, 0, 2, 2), 1, 1);
}

/* ---- linear ------------------------------------------------------------------- */

static const float *lin_fwd(void *p)
{
    lctx *c = p;
    ly_linear_forward(c->out, c->x, c->w, c->bias, c->b, c->in, c->outn);
    return c->out;
}
static void lin_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_linear_backward(c->dx, c->dw, c->dbias, dout, c->x, c->w, c->b, c->in, c->outn);
}

static void test_layers_linear_gradcheck(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 3);
    lctx c = {.b = 3, .in = 7, .outn = 5};
    c.x = rand_buf(&r, 21, -1, 1);
    c.w = rand_buf(&r, 35, -1, 1);
    c.bias = rand_buf(&r, 5, -1, 1);
    c.dx = zbuf(21);
    c.dw = zbuf(35);
    c.dbias = zbuf(5);
    c.out = zbuf(15);
    double want[15];
    for (int b = 0; b < 3; b++)
        for (int o = 0; o < 5; o++) {
            double acc = c.bias[o];
            for (int i = 0; i < 7; i++)
                acc += (double)c.w[o * 7 + i] * c.x[b * 7 + i];
            want[b * 5 + o] = acc;
        }
    lin_fwd(&c);
    expect_close("linear forward", c.out, want, 15, 1e-5);
    gc_tensor t[3] = {{"inp", c.x, c.dx, 21}, {"w", c.w, c.dw, 35}, {"bias", c.bias, c.dbias, 5}};
    gradcheck("linear", t, 3, 15, lin_fwd, lin_bwd, &c, 1e-2f, GC_TOL);
    /* without bias */
    free(c.bias);
    c.bias = NULL;
    gradcheck("linear_nb", t, 2, 15, lin_fwd, lin_bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
}

/* ---- batch norm --------------------------------------------------------------- */

static const float *bn_train_fwd(void *p)
{
    lctx *c = p;
    bn_train_forward(c->out, c->mean, c->rstd, NULL, NULL, c->x, c->gamma, c->beta,
                     c->n, c->c, c->eps, 0.1f);
    return c->out;
}
static void bn_train_bwd(void *p, const float *dout)
{
    lctx *c = p;
    bn_train_backward(c->dx, c->dgamma, c->dbeta, dout, c->x, c->mean, c->rstd,
                      c->gamma, c->n, c->c);
}
static const float *bn_eval_fwd(void *p)
{
    lctx *c = p;
    bn_eval_forward(c->out, c->x, c->gamma, c->beta, c->rm, c->rv, c->n, c->c, c->eps);
    return c->out;
}
static void bn_eval_bwd(void *p, const float *dout)
{
    lctx *c = p;
    bn_eval_backward(c->dx, c->dgamma, c->dbeta, dout, c->x, c->gamma, c->rm, c->rv,
                     c->n, c->c, c->eps);
}

static void bn_setup(lctx *c, int n, int ch, uint64_t seed)
{
    rng_state r;
    rng_seed(&r, seed);
    c->n = n;
    c->c = ch;
    c->eps = 1e-5f;
    c->x = rand_buf(&r, (size_t)n * ch, -1, 2);
    c->gamma = rand_buf(&r, ch, 0.5f, 1.5f);
    c->beta = rand_buf(&r, ch, -1, 1);
    c->rm = rand_buf(&r, ch, -0.5f, 0.5f);
    c->rv = rand_buf(&r, ch, 0.5f, 2.0f);
    c->dx = zbuf((size_t)n * ch);
    c->dgamma = zbuf(ch);
    c->dbeta = zbuf(ch);
    c->out = zbuf((size_t)n * ch);
    c->mean = zbuf(ch);
    c->rstd = zbuf(ch);
}

static void test_layers_batchnorm_train_gradcheck(void **state)
{
    (void)state;
    lctx c = {0};
    bn_setup(&c, 2 * 3 * 4, 5, 4); /* N = B·H·W = 24 rows, 5 channels */
    gc_tensor t[3] = {{"inp", c.x, c.dx, 120}, {"gamma", c.gamma, c.dgamma, 5},
                      {"beta", c.beta, c.dbeta, 5}};
    gradcheck("bn_train", t, 3, 120, bn_train_fwd, bn_train_bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
    /* more channels than one accumulator chunk */
    lctx d = {0};
    bn_setup(&d, 6, 67, 5);
    gc_tensor t2[3] = {{"inp", d.x, d.dx, 6 * 67}, {"gamma", d.gamma, d.dgamma, 67},
                       {"beta", d.beta, d.dbeta, 67}};
    gradcheck("bn_c67", t2, 3, 6 * 67, bn_train_fwd, bn_train_bwd, &d, 1e-2f, GC_TOL);
    lctx_free(&d);
}

static void test_layers_batchnorm_eval_gradcheck(void **state)
{
    (void)state;
    lctx c = {0};
    bn_setup(&c, 24, 5, 6);
    gc_tensor t[3] = {{"inp", c.x, c.dx, 120}, {"gamma", c.gamma, c.dgamma, 5},
                      {"beta", c.beta, c.dbeta, 5}};
    gradcheck("bn_eval", t, 3, 120, bn_eval_fwd, bn_eval_bwd, &c, 1e-2f, GC_TOL);
    double want[120];
    for (int i = 0; i < 24; i++)
        for (int ch = 0; ch < 5; ch++)
            want[i * 5 + ch] = c.gamma[ch] * (c.x[i * 5 + ch] - (double)c.rm[ch]) /
                               sqrt((double)c.rv[ch] + c.eps) + c.beta[ch];
    bn_eval_fwd(&c);
    expect_close("bn_eval forward", c.out, want, 120, 1e-5);
    lctx_free(&c);
}

/* Forward statistics and the PyTorch running-stat update (momentum, unbiased var). */
static void test_layers_batchnorm_train_forward_stats(void **state)
{
    (void)state;
    /* one channel, N = 4: x = 1, 2, 3, 6: mean 3, biased var 3.5, unbiased 14/3 */
    float x[4] = {1, 2, 3, 6}, out[4], mean, rstd, g = 2.0f, bt = 0.5f;
    float rm = 1.0f, rv = 2.0f;
    bn_train_forward(out, &mean, &rstd, &rm, &rv, x, &g, &bt, 4, 1, 1e-5f, 0.1f);
    double r = 1.0 / sqrt(3.5 + 1e-5);
    double want_out[4] = {2 * (-2) * r + 0.5, 2 * (-1) * r + 0.5, 0.5, 2 * 3 * r + 0.5};
    expect_close("bn_train out", out, want_out, 4, 1e-6);
    double want_stats[4] = {3.0, r, 0.9 * 1.0 + 0.1 * 3.0, 0.9 * 2.0 + 0.1 * 14.0 / 3.0};
    float got_stats[4] = {mean, rstd, rm, rv};
    expect_close("bn_train mean rstd running", got_stats, want_stats, 4, 1e-6);

    /* several channels against a double reference */
    lctx c = {0};
    bn_setup(&c, 50, 70, 8);
    float *rm2 = zbuf(70), *rv2 = zbuf(70);
    for (int ch = 0; ch < 70; ch++)
        rv2[ch] = 1.0f;
    bn_train_forward(c.out, c.mean, c.rstd, rm2, rv2, c.x, c.gamma, c.beta, 50, 70,
                     c.eps, 0.1f);
    double *want = malloc(sizeof(double) * 50 * 70), wrv[70];
    assert_non_null(want);
    for (int ch = 0; ch < 70; ch++) {
        double s = 0, ss = 0;
        for (int i = 0; i < 50; i++)
            s += c.x[i * 70 + ch];
        double mu = s / 50;
        for (int i = 0; i < 50; i++)
            ss += (c.x[i * 70 + ch] - mu) * (c.x[i * 70 + ch] - mu);
        for (int i = 0; i < 50; i++)
            want[i * 70 + ch] = c.gamma[ch] * (c.x[i * 70 + ch] - mu) / sqrt(ss / 50 + c.eps) +
                                c.beta[ch];
        wrv[ch] = 0.9 + 0.1 * ss / 49;
    }
    expect_close("bn_train out c70", c.out, want, 50 * 70, 1e-5);

    /* a mean 1e6 times the spread: the shifted one-pass sums keep the variance */
    float big[6] = {10000.0f, 10000.01f, 9999.99f, 10000.02f, 9999.98f, 10000.0f};
    float bout[6], bmean, brstd, one = 1.0f, zero = 0.0f;
    bn_train_forward(bout, &bmean, &brstd, NULL, NULL, big, &one, &zero, 6, 1, 0.0f, 0.1f);
    double bs = 0, bss = 0;
    for (int i = 0; i < 6; i++)
        bs += big[i];
    for (int i = 0; i < 6; i++)
        bss += (big[i] - bs / 6) * (big[i] - bs / 6);
    double want_b[2] = {bs / 6, 1.0 / sqrt(bss / 6)};
    float got_b[2] = {bmean, brstd};
    expect_close("bn_train large mean: mean rstd", got_b, want_b, 2, 1e-6);
    expect_close("bn_train running_var c70", rv2, wrv, 70, 1e-6);
    free(want);
    free(rm2);
    free(rv2);
    lctx_free(&c);
}

/* ---- activations -------------------------------------------------------------- */

static const float *relu_fwd(void *p)
{
    lctx *c = p;
    ly_relu_forward(c->out, c->x, (size_t)c->n);
    return c->out;
}
static void relu_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_relu_backward(c->dx, dout, c->out, (size_t)c->n);
}
static const float *relu6_fwd(void *p)
{
    lctx *c = p;
    ly_relu6_forward(c->out, c->x, (size_t)c->n);
    return c->out;
}
static void relu6_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_relu6_backward(c->dx, dout, c->out, (size_t)c->n);
}

/* The fused batch-norm entry points against the plain ones, bit for bit:
 * bn_train_stats = the statistics of bn_train_forward;
 * bn_*_backward_set(mask) = mask applied to dout, then the plain
 * backward into zeros (in place too, dinp == dout), and with the rescale =
 * that result times the scale, with the dot product to double rounding. 70
 * channels: a full and a partial chunk. */
static void test_layers_batchnorm_fused_entry_points(void **state)
{
    (void)state;
    enum { N = 480, C = 70 }; /* N·C above the size that runs in parallel */
    rng_state r;
    rng_seed(&r, 22);
    float *x = rand_buf(&r, N * C, -2, 3), *dout = rand_buf(&r, N * C, -1, 1);
    float *g = rand_buf(&r, C, 0.5f, 1.5f), *bt = rand_buf(&r, C, -1, 1);
    float *rv = rand_buf(&r, C, 0.5f, 2.0f), *rm = rand_buf(&r, C, -1, 1);
    uint8_t mask[N * C];
    float *masked = zbuf(N * C);
    for (int i = 0; i < N * C; i++) {
        mask[i] = (uint8_t)(rng_below(&r, 3) != 0);
        masked[i] = mask[i] ? dout[i] : 0.0f;
    }
    /* statistics */
    float *out = zbuf(N * C), mean[C], rstd[C], mean2[C], rstd2[C];
    float rm1[C], rv1[C], rm2[C], rv2[C];
    memcpy(rm1, rm, sizeof rm1);
    memcpy(rv1, rv, sizeof rv1);
    memcpy(rm2, rm, sizeof rm2);
    memcpy(rv2, rv, sizeof rv2);
    bn_train_forward(out, mean, rstd, rm1, rv1, x, g, bt, N, C, 1e-5f, 0.1f);
    bn_train_stats(mean2, rstd2, rm2, rv2, x, N, C, 1e-5f, 0.1f);
    assert_memory_equal(mean, mean2, sizeof mean);
    assert_memory_equal(rstd, rstd2, sizeof rstd);
    assert_memory_equal(rm1, rm2, sizeof rm1);
    assert_memory_equal(rv1, rv2, sizeof rv1);
    /* train backward: plain (into zeros) vs set, separate and in place */
    float *want = zbuf(N * C + 2 * C), *got = zbuf(N * C + 2 * C), *inplace = zbuf(N * C);
    bn_train_backward(want, want + N * C, want + N * C + C, masked, x, mean, rstd, g,
                      N, C);
    for (int i = 0; i < N * C; i++)
        got[i] = NAN; /* written, never read */
    bn_train_backward_set(got, got + N * C, got + N * C + C, dout, mask, x, mean, rstd,
                          g, NULL, NULL, N, C);
    assert_memory_equal(want, got, sizeof(float) * (N * C + 2 * C));
    memcpy(inplace, dout, sizeof(float) * N * C);
    bn_train_backward_set(inplace, NULL, NULL, inplace, mask, x, mean, rstd, g, NULL,
                          NULL, N, C);
    assert_memory_equal(want, inplace, sizeof(float) * N * C);
    /* with the rescale: dinp = v · s bit for bit; dot = Σ_rows v · x in double
     * (summed in blocks of rows: equal to the sum in row order to 1e-12) */
    float *sc = rand_buf(&r, C, 0.5f, 2.0f), *scaled = zbuf(N * C);
    double dot[C], wdot[C];
    for (int ch = 0; ch < C; ch++) {
        wdot[ch] = 0.0;
        for (int i = 0; i < N; i++)
            wdot[ch] += (double)want[i * C + ch] * (double)x[i * C + ch];
    }
    bn_train_backward_set(scaled, NULL, NULL, dout, mask, x, mean, rstd, g, sc, dot, N,
                          C);
    for (int ch = 0; ch < C; ch++)
        assert_true(fabs(dot[ch] - wdot[ch]) <= 1e-12 * fmax(1.0, fabs(wdot[ch])));
    for (int i = 0; i < N * C; i++)
        assert_true(scaled[i] == want[i] * sc[i % C]);
    /* the same bits with 1 and with 3 threads */
    double dot1[C], dot3[C];
    float *s1 = zbuf(N * C), *s3 = zbuf(N * C);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    bn_train_backward_set(s1, NULL, NULL, dout, mask, x, mean, rstd, g, sc, dot1, N,
                          C);
    omp_set_num_threads(3);
    bn_train_backward_set(s3, NULL, NULL, dout, mask, x, mean, rstd, g, sc, dot3, N,
                          C);
    omp_set_num_threads(saved);
    assert_memory_equal(dot1, dot3, sizeof dot1);
    assert_memory_equal(s1, s3, sizeof(float) * N * C);
    free(s1);
    free(s3);
    /* eval backward */
    memset(want, 0, sizeof(float) * (N * C + 2 * C));
    memset(got, 0, sizeof(float) * (N * C + 2 * C));
    bn_eval_backward(want, want + N * C, want + N * C + C, masked, x, g, rm, rv, N, C,
                     1e-5f);
    for (int i = 0; i < N * C; i++)
        got[i] = NAN;
    bn_eval_backward_set(got, got + N * C, got + N * C + C, dout, mask, x, g, rm, rv,
                         NULL, NULL, N, C, 1e-5f);
    assert_memory_equal(want, got, sizeof(float) * (N * C + 2 * C));
    for (int ch = 0; ch < C; ch++) {
        wdot[ch] = 0.0;
        for (int i = 0; i < N; i++)
            wdot[ch] += (double)want[i * C + ch] * (double)x[i * C + ch];
    }
    bn_eval_backward_set(scaled, NULL, NULL, dout, mask, x, g, rm, rv, sc, dot, N, C,
                         1e-5f);
    for (int ch = 0; ch < C; ch++)
        assert_true(fabs(dot[ch] - wdot[ch]) <= 1e-12 * fmax(1.0, fabs(wdot[ch])));
    for (int i = 0; i < N * C; i++)
        assert_true(scaled[i] == want[i] * sc[i % C]);
    free(sc);
    free(scaled);
    free(x);
    free(dout);
    free(g);
    free(bt);
    free(rv);
    free(rm);
    free(masked);
    free(out);
    free(want);
    free(got);
    free(inplace);
}

static void test_layers_relu_gradcheck(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 9);
    const float kinks[2] = {0.0f, 6.0f};
    lctx c = {.n = 200};
    c.x = rand_buf_away(&r, 200, -3, 3, kinks, 1, 0.05f);
    c.dx = zbuf(200);
    c.out = zbuf(200);
    gc_tensor t[1] = {{"inp", c.x, c.dx, 200}};
    gradcheck("relu", t, 1, 200, relu_fwd, relu_bwd, &c, 1e-2f, GC_TOL);
    free(c.x);
    c.x = rand_buf_away(&r, 200, -2, 8, kinks, 2, 0.05f);
    t[0].x = c.x;
    gradcheck("relu6", t, 1, 200, relu6_fwd, relu6_bwd, &c, 1e-2f, GC_TOL);

    /* values and the gradient exactly at the kinks (0 at 0 and at 6), in place */
    float v[6] = {-1.0f, 0.0f, 0.5f, 6.0f, 7.0f, 5.5f}, dv[6] = {0}, one[6] = {1, 1, 1, 1, 1, 1};
    ly_relu6_forward(v, v, 6);
    ly_relu6_backward(dv, one, v, 6);
    double want_v[6] = {0, 0, 0.5, 6, 6, 5.5}, want_dv[6] = {0, 0, 1, 0, 0, 1};
    expect_close("relu6 in place values", v, want_v, 6, 0);
    expect_close("relu6 kink gradients", dv, want_dv, 6, 0);
    float u[3] = {-1.0f, 0.0f, 2.0f}, du[3] = {0};
    ly_relu_forward(u, u, 3);
    ly_relu_backward(du, one, u, 3);
    double want_u[3] = {0, 0, 2}, want_du[3] = {0, 0, 1};
    expect_close("relu in place values", u, want_u, 3, 0);
    expect_close("relu kink gradients", du, want_du, 3, 0);
    lctx_free(&c);
}

/* ---- pools -------------------------------------------------------------------- */

static const float *maxpool_fwd(void *p)
{
    lctx *c = p;
    ly_maxpool_forward(c->out, c->x, &c->s);
    return c->out;
}
static void maxpool_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_maxpool_backward(c->dx, dout, c->x, &c->s);
}
static const float *avgpool_fwd(void *p)
{
    lctx *c = p;
    ly_avgpool_forward(c->out, c->x, &c->s);
    return c->out;
}
static void avgpool_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_avgpool_backward(c->dx, dout, &c->s);
}

static void pool_case(const char *name, ly_conv_shape s, int is_max)
{
    rng_state r;
    rng_seed(&r, 10);
    lctx c = {.s = s};
    /* distinct values 0.05 apart: no ties within 2h */
    c.x = distinct_buf(&r, in_size(&s), 0.05f);
    c.dx = zbuf(in_size(&s));
    c.out = zbuf(out_size(&s));
    double *want = malloc(sizeof(double) * out_size(&s));
    assert_non_null(want);
    /* over the window's elements inside the input (padding takes no part) */
    for (int b = 0; b < s.b; b++)
        for (int oy = 0; oy < s.oh; oy++)
            for (int ox = 0; ox < s.ow; ox++)
                for (int ch = 0; ch < s.c; ch++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    int count = 0;
                    for (int ky = 0; ky < s.kh; ky++)
                        for (int kx = 0; kx < s.kw; kx++) {
                            int iy = ref_row(&s, oy, ky), ix = ref_col(&s, ox, kx);
                            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                                continue;
                            double v = c.x[(((size_t)b * s.h + iy) * s.w + ix) * s.c + ch];
                            acc = is_max ? fmax(acc, v) : acc + v;
                            count++;
                        }
                    assert_true(count == ly_pool_count(&s, oy, ox));
                    want[(((size_t)b * s.oh + oy) * s.ow + ox) * s.c + ch] =
                        is_max ? acc : acc / count;
                }
    (is_max ? maxpool_fwd : avgpool_fwd)(&c);
    char what[64];
    snprintf(what, sizeof what, "%s forward", name);
    expect_close(what, c.out, want, out_size(&s), 1e-6);
    free(want);
    gc_tensor t[1] = {{"inp", c.x, c.dx, in_size(&s)}};
    gradcheck(name, t, 1, out_size(&s), is_max ? maxpool_fwd : avgpool_fwd,
              is_max ? maxpool_bwd : avgpool_bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
}

static void test_layers_pool_gradcheck(void **state)
{
    (void)state;
    pool_case("maxpool2", ly_conv_shape_make(2, 6, 4, 3, 3, 2, 2, 2, 2, 0, 0), 1);
    pool_case("maxpool3s2", ly_conv_shape_make(2, 7, 5, 3, 3, 3, 3, 2, 2, 0, 0), 1);
    pool_case("maxpool2x3", ly_conv_shape_make(2, 5, 7, 2, 2, 2, 3, 1, 2, 0, 0), 1);
    /* 16 and 32 channels: the whole-vector path, overlapping windows too */
    pool_case("maxpool2_c16", ly_conv_shape_make(2, 5, 4, 16, 16, 2, 2, 2, 2, 0, 0), 1);
    pool_case("maxpool3s2_c32", ly_conv_shape_make(1, 5, 5, 32, 32, 3, 3, 2, 2, 0, 0), 1);
    pool_case("avgpool2", ly_conv_shape_make(2, 6, 4, 3, 3, 2, 2, 2, 2, 0, 0), 0);
    pool_case("avgpool3x2", ly_conv_shape_make(2, 5, 7, 3, 3, 3, 2, 1, 2, 0, 0), 0);
    /* padded: ResNet's 3x3 stride 2 pad 1; `same` with uneven pads; the
     * whole-vector path with padding; 1-D (H = 1) */
    pool_case("maxpool3s2p1", ly_conv_shape_make(2, 7, 6, 3, 3, 3, 3, 2, 2, 1, 1), 1);
    pool_case("maxpool_same", shape_win(2, 5, 6, 2, 2, 2, 3, 2, 2, 1, 1, 0, 1, 1, 1), 1);
    pool_case("maxpool_p_c16", shape_win(1, 5, 4, 16, 16, 3, 2, 1, 2, 1, 1, 1, 1, 0, 1), 1);
    pool_case("maxpool_1d", shape_win(2, 1, 9, 3, 3, 1, 3, 1, 2, 1, 1, 0, 0, 1, 1), 1);
    /* counts 4, 6 and 9 in one pool; uneven pads; 1-D */
    pool_case("avgpool3p1", ly_conv_shape_make(2, 5, 6, 3, 3, 3, 3, 1, 1, 1, 1), 0);
    pool_case("avgpool_same", shape_win(2, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 0, 1, 0, 1), 0);
    pool_case("avgpool_1d", shape_win(2, 1, 8, 3, 3, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1), 0);
}

/* ly_avgpool_grid_forward against the int8 rule computed in integers: Q =
 * the window's int8 sum over the count of its elements inside the input,
 * rounded half away from zero (TFLite's average pool), bit for bit, on
 * windows whose sums often end in exact halves (2x2, 2x3, 1x2 and padded
 * ones), a global 14x14 pool (196 values) and scales that are not powers of
 * two; values near the ends of the range. */
static void test_layers_avgpool_grid(void **state)
{
    (void)state;
    const ly_conv_shape shapes[] = {
        ly_conv_shape_make(3, 6, 6, 5, 5, 2, 2, 2, 2, 0, 0),
        ly_conv_shape_make(2, 6, 7, 3, 3, 2, 3, 1, 1, 0, 0),
        shape_win(2, 1, 9, 4, 4, 1, 2, 1, 1, 1, 1, 0, 0, 0, 1),
        ly_conv_shape_make(2, 5, 6, 3, 3, 3, 3, 1, 1, 1, 1),
        shape_win(2, 5, 5, 70, 70, 2, 2, 2, 2, 1, 1, 0, 1, 0, 1),
        ly_conv_shape_make(2, 14, 14, 6, 6, 14, 14, 1, 1, 0, 0),
    };
    const float scales[] = {0.0123f, 0.25f, 3.7f};
    const int32_t zps[] = {-128, -3, 127};
    rng_state r;
    rng_seed(&r, 26);
    long halves = 0, total = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const ly_conv_shape *s = &shapes[i];
        size_t nx = in_size(s), ny = out_size(s);
        int8_t *q = malloc(nx);
        float *x = malloc(sizeof(float) * nx), *out = malloc(sizeof(float) * ny);
        assert_true(q && x && out);
        for (int k = 0; k < 3; k++) {
            float sc = scales[k];
            int32_t zp = zps[k];
            for (size_t j = 0; j < nx; j++) { /* often the extremes */
                uint32_t u = rng_below(&r, 4);
                q[j] = (int8_t)(u == 0 ? -128 : u == 1 ? 127 : (int)rng_below(&r, 256) - 128);
                x[j] = (float)(q[j] - zp) * sc; /* as the fake quantizer writes it */
            }
            ly_avgpool_grid_forward(out, x, sc, zp, -128, 127, s);
            for (int b = 0; b < s->b; b++)
                for (int oy = 0; oy < s->oh; oy++)
                    for (int ox = 0; ox < s->ow; ox++)
                        for (int ch = 0; ch < s->c; ch++) {
                            int32_t sum = 0, n = 0;
                            for (int ky = 0; ky < s->kh; ky++)
                                for (int kx = 0; kx < s->kw; kx++) {
                                    int iy = ref_row(s, oy, ky), ix = ref_col(s, ox, kx);
                                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                        continue;
                                    sum += q[(((size_t)b * s->h + iy) * s->w + ix) * s->c + ch];
                                    n++;
                                }
                            /* half away from zero: |sum|/n rounded up at .5, sign back */
                            int32_t mag = (2 * abs(sum) + n) / (2 * n);
                            int32_t want = sum < 0 ? -mag : mag;
                            halves += (2 * abs(sum)) % (2 * n) == n;
                            total++;
                            size_t at = (((size_t)b * s->oh + oy) * s->ow + ox) * s->c + ch;
                            float w = (float)(want - zp) * sc;
                            if (out[at] != w)
                                fail_msg("shape %zu scale %g zp %d: output %zu is %.9g, the "
                                         "int8 rule gives q = %d (%.9g)", i, (double)sc,
                                         (int)zp, at, (double)out[at], (int)want, (double)w);
                        }
        }
        free(q);
        free(x);
        free(out);
    }
    printf("  avgpool on the int8 grid: %ld outputs, %ld of them exact halves, all equal to "
           "the int8 rule\n", total, halves);
    assert_true(halves > total / 20);
}

/* ly_pool_count: the elements of a window inside the input, by hand. */
static void test_layers_pool_count(void **state)
{
    (void)state;
    /* 3x3 stride 1 pad 1 over 4x5: corners 4, edges 6, inside 9 */
    ly_conv_shape s = ly_conv_shape_make(1, 4, 5, 1, 1, 3, 3, 1, 1, 1, 1);
    assert_int_equal(ly_pool_count(&s, 0, 0), 4);
    assert_int_equal(ly_pool_count(&s, 0, 2), 6);
    assert_int_equal(ly_pool_count(&s, 1, 1), 9);
    assert_int_equal(ly_pool_count(&s, 3, 4), 4);
    /* `same` 2x2 stride 2 over 5x5: pad bottom and right 1, last row/col 2 */
    ly_conv_shape t = shape_win(1, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 0, 1, 0, 1);
    assert_int_equal(t.oh, 3);
    assert_int_equal(ly_pool_count(&t, 0, 0), 4);
    assert_int_equal(ly_pool_count(&t, 2, 0), 2);
    assert_int_equal(ly_pool_count(&t, 2, 2), 1);
    /* no padding: always KH·KW */
    ly_conv_shape u = ly_conv_shape_make(1, 6, 6, 1, 1, 2, 3, 2, 1, 0, 0);
    assert_int_equal(ly_pool_count(&u, 2, 3), 6);
}

/* Ties: the whole gradient goes to the first maximal element (ky, then kx). */
static void test_layers_maxpool_ties_first(void **state)
{
    (void)state;
    ly_conv_shape s = ly_conv_shape_make(1, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0);
    /* channel 0: all equal -> (0,0); channel 1: max 3 at (0,1) and (1,0) -> (0,1) */
    float x[8] = {1, 0, 1, 3, 1, 3, 1, 2}, out[2], dx[8] = {0}, dout[2] = {5, 7};
    ly_maxpool_forward(out, x, &s);
    ly_maxpool_backward(dx, dout, x, &s);
    double want_out[2] = {1, 3}, want_dx[8] = {5, 0, 0, 7, 0, 0, 0, 0};
    expect_close("maxpool ties out", out, want_out, 2, 0);
    expect_close("maxpool ties dinp", dx, want_dx, 8, 0);
    /* the same two channels in lanes 0 and 1 of 16 (the whole-vector path) */
    ly_conv_shape v = ly_conv_shape_make(1, 2, 2, 16, 16, 2, 2, 2, 2, 0, 0);
    float xv[64] = {0}, outv[16], dxv[64] = {0}, doutv[16] = {5, 7};
    for (int p = 0; p < 4; p++)
        xv[p * 16] = x[p * 2], xv[p * 16 + 1] = x[p * 2 + 1];
    ly_maxpool_forward(outv, xv, &v);
    ly_maxpool_backward(dxv, doutv, xv, &v);
    assert_true(outv[0] == 1 && outv[1] == 3);
    for (int p = 0; p < 4; p++) {
        assert_true(dxv[p * 16] == want_dx[p * 2]);
        assert_true(dxv[p * 16 + 1] == want_dx[p * 2 + 1]);
    }
}

static const float *gap_fwd(void *p)
{
    lctx *c = p;
    ly_global_avgpool_forward(c->out, c->x, c->b, c->hw, c->c);
    return c->out;
}
static void gap_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_global_avgpool_backward(c->dx, dout, c->b, c->hw, c->c);
}

/* ly_maxpool_backward_set = ly_maxpool_backward into zeros, bit for bit, over
 * every element (dinp starts NaN): windows that tile the input, leave a
 * border uncovered (odd size), or leave gaps (stride > kernel); ties (values
 * on a coarse grid) included. */
static void test_layers_maxpool_backward_set(void **state)
{
    (void)state;
    const ly_conv_shape shapes[] = {
        ly_conv_shape_make(3, 6, 4, 16, 16, 2, 2, 2, 2, 0, 0),
        ly_conv_shape_make(2, 7, 5, 70, 70, 2, 2, 2, 2, 0, 0),
        ly_conv_shape_make(2, 8, 7, 3, 3, 2, 2, 3, 3, 0, 0),
        ly_conv_shape_make(1, 7, 7, 5, 5, 3, 2, 3, 2, 0, 0),
        /* padded windows (every element in one window, or some in none) */
        shape_win(2, 5, 5, 16, 16, 2, 2, 2, 2, 1, 1, 0, 1, 0, 1),
        shape_win(2, 7, 6, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 0),
    };
    rng_state r;
    rng_seed(&r, 23);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const ly_conv_shape *s = &shapes[i];
        size_t nx = in_size(s), ny = out_size(s);
        float *x = rand_buf(&r, nx, -1, 1), *dout = rand_buf(&r, ny, -1, 1);
        for (size_t j = 0; j < nx; j++)
            x[j] = roundf(x[j] * 4.0f) / 4.0f; /* ties */
        float *want = zbuf(nx), *got = malloc(sizeof(float) * nx);
        assert_non_null(got);
        for (size_t j = 0; j < nx; j++)
            got[j] = NAN;
        ly_maxpool_backward(want, dout, x, s);
        ly_maxpool_backward_set(got, dout, x, s);
        assert_memory_equal(want, got, sizeof(float) * nx);
        free(x);
        free(dout);
        free(want);
        free(got);
    }
}

static void test_layers_global_avgpool_gradcheck(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 11);
    lctx c = {.b = 3, .hw = 5 * 4, .c = 6};
    size_t n = 3 * 20 * 6;
    c.x = rand_buf(&r, n, -1, 1);
    c.dx = zbuf(n);
    c.out = zbuf(18);
    double want[18];
    for (int b = 0; b < 3; b++)
        for (int ch = 0; ch < 6; ch++) {
            double acc = 0;
            for (int p = 0; p < 20; p++)
                acc += c.x[(b * 20 + p) * 6 + ch];
            want[b * 6 + ch] = acc / 20;
        }
    gap_fwd(&c);
    expect_close("global avgpool forward", c.out, want, 18, 1e-6);
    /* the same as an avgpool with kernel (H, W) */
    float out2[18];
    ly_conv_shape s = ly_conv_shape_make(3, 5, 4, 6, 6, 5, 4, 1, 1, 0, 0);
    ly_avgpool_forward(out2, c.x, &s);
    expect_close("avgpool kernel=(H,W) == global", out2, want, 18, 1e-6);
    gc_tensor t[1] = {{"inp", c.x, c.dx, n}};
    gradcheck("gavgpool", t, 1, 18, gap_fwd, gap_bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
}

/* ---- add ---------------------------------------------------------------------- */

static const float *add_fwd(void *p)
{
    lctx *c = p;
    ly_add_forward(c->out, c->x, c->x2, (size_t)c->n);
    return c->out;
}
static void add_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_add_backward(c->dx, c->dx2, dout, (size_t)c->n);
}

static void test_layers_add_gradcheck(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 12);
    lctx c = {.n = 60};
    c.x = rand_buf(&r, 60, -1, 1);
    c.x2 = rand_buf(&r, 60, -1, 1);
    c.dx = zbuf(60);
    c.dx2 = zbuf(60);
    c.out = zbuf(60);
    gc_tensor t[2] = {{"a", c.x, c.dx, 60}, {"b", c.x2, c.dx2, 60}};
    gradcheck("add", t, 2, 60, add_fwd, add_bwd, &c, 1e-2f, GC_TOL);
    /* x + x: both gradients into one buffer give 2·dout */
    float x[3] = {1, 2, 3}, dx[3] = {0}, dout[3] = {1, -2, 0.5f}, out[3];
    ly_add_forward(out, x, x, 3);
    ly_add_backward(dx, dx, dout, 3);
    double want[3] = {2, -4, 1};
    expect_close("add x+x gradient", dx, want, 3, 0);
    lctx_free(&c);
}

/* ---- softmax cross-entropy ---------------------------------------------------- */

static const float *xent_fwd(void *p)
{
    lctx *c = p;
    c->out[0] = ly_softmax_xent(NULL, c->x, c->labels, c->b, c->k);
    return c->out;
}
static void xent_bwd(void *p, const float *dout)
{
    lctx *c = p;
    ly_softmax_xent(c->tmp, c->x, c->labels, c->b, c->k);
    for (int i = 0; i < c->b * c->k; i++)
        c->dx[i] += dout[0] * c->tmp[i];
}

static void test_layers_softmax_xent(void **state)
{
    (void)state;
    /* hand case: logits (0, ln 3) for label 1: p = (1/4, 3/4), loss = ln(4/3);
     * logits (2, 2) for label 0: p = (1/2, 1/2), loss = ln 2. Mean of the two. */
    float lg[4] = {0.0f, (float)log(3.0), 2.0f, 2.0f}, d[4];
    int32_t lb[2] = {1, 0};
    float loss = ly_softmax_xent(d, lg, lb, 2, 2);
    double want_loss[1] = {(log(4.0 / 3.0) + log(2.0)) / 2};
    expect_close("xent loss hand case", &loss, want_loss, 1, 1e-6);
    double want_d[4] = {0.25 / 2, (0.75 - 1) / 2, (0.5 - 1) / 2, 0.5 / 2};
    expect_close("xent dlogits hand case", d, want_d, 4, 1e-6);
    /* in place, large logits stay finite */
    float big[3] = {1000.0f, 0.0f, -1000.0f};
    int32_t l0 = 0;
    loss = ly_softmax_xent(big, big, &l0, 1, 3);
    double want_big[3] = {0, 0, 0}, want_bl[1] = {0};
    expect_close("xent large logits loss", &loss, want_bl, 1, 1e-6);
    expect_close("xent large logits in place", big, want_big, 3, 1e-6);

    rng_state r;
    rng_seed(&r, 13);
    lctx c = {.b = 4, .k = 6};
    c.x = rand_buf(&r, 24, -3, 3);
    c.dx = zbuf(24);
    c.tmp = zbuf(24);
    c.out = zbuf(1);
    c.labels = malloc(sizeof(int32_t) * 4);
    assert_non_null(c.labels);
    for (int i = 0; i < 4; i++)
        c.labels[i] = (int32_t)rng_below(&r, 6);
    gc_tensor t[1] = {{"logits", c.x, c.dx, 24}};
    gradcheck("xent", t, 1, 1, xent_fwd, xent_bwd, &c, 1e-2f, GC_TOL);
    lctx_free(&c);
}

static void test_layers_argmax_lowest_tie(void **state)
{
    (void)state;
    float x[5] = {1, 3, 2, 3, -1};
    assert_int_equal(ly_argmax(x, 5), 1);
    float y[1] = {-5};
    assert_int_equal(ly_argmax(y, 1), 0);
}

/* ---- He init ------------------------------------------------------------------ */

static void test_layers_he_init(void **state)
{
    (void)state;
    size_t n = 200000;
    float *w = zbuf(n), *w2 = zbuf(n);
    rng_state r;
    rng_seed(&r, 14);
    ly_he_init(w, n, 72, &r);
    rng_seed(&r, 14);
    ly_he_init(w2, n, 72, &r);
    assert_memory_equal(w, w2, sizeof(float) * n);
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        ss += (double)w[i] * w[i];
    }
    double mean = s / n, sd = sqrt(ss / n - mean * mean), want = sqrt(2.0 / 72);
    printf("  he init fan_in 72: mean %.4g sd %.5g (want 0, %.5g)\n", mean, sd, want);
    /* standard errors: mean want/sqrt(n) = 3.7e-4, sd want/sqrt(2n) = 2.6e-4 */
    assert_true(fabs(mean) < 5 * want / sqrt((double)n));
    assert_true(fabs(sd - want) < 5 * want / sqrt(2.0 * n));
    free(w);
    free(w2);
}

/* PyTorch's default init: U(-b, b), b = 1/sqrt(fan_in): every draw inside,
 * both tails reached, mean 0 and sd b/sqrt(3) within 5 standard errors. */
static void test_layers_uniform_init(void **state)
{
    (void)state;
    size_t n = 200000;
    float *w = zbuf(n), *w2 = zbuf(n);
    rng_state r;
    rng_seed(&r, 15);
    ly_uniform_init(w, n, 144, &r);
    rng_seed(&r, 15);
    ly_uniform_init(w2, n, 144, &r);
    assert_memory_equal(w, w2, sizeof(float) * n);
    double b = 1.0 / 12, s = 0, ss = 0, lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        ss += (double)w[i] * w[i];
        lo = fmin(lo, w[i]), hi = fmax(hi, w[i]);
    }
    double mean = s / n, sd = sqrt(ss / n - mean * mean), want = b / sqrt(3.0);
    printf("  uniform init fan_in 144: mean %.4g sd %.5g range [%.5g, %.5g] (want 0, %.5g, "
           "within +-%.5g)\n", mean, sd, lo, hi, want, b);
    assert_true(lo >= -b && hi <= b);
    assert_true(lo < -0.999 * b && hi > 0.999 * b);
    assert_true(fabs(mean) < 5 * want / sqrt((double)n));
    /* the sd of x^2 for U(-b, b) is b^2 * sqrt(4/45): the standard error of sd is about
     * b * sqrt(4/45) / (2 sqrt(1/3) sqrt(n)) */
    assert_true(fabs(sd - want) < 5 * b * sqrt(4.0 / 45) / (2 * sqrt(1.0 / 3) * sqrt((double)n)));
    free(w);
    free(w2);
}

/* ---- GEMM --------------------------------------------------------------------- */

static void ref_gemm(double *c, int ta, int tb, int m, int n, int k, float alpha,
                     const float *a, int lda, const float *b, int ldb, float beta,
                     const float *c0, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int kk = 0; kk < k; kk++) {
                double av = ta ? a[(size_t)kk * lda + i] : a[(size_t)i * lda + kk];
                double bv = tb ? b[(size_t)j * ldb + kk] : b[(size_t)kk * ldb + j];
                acc += av * bv;
            }
            c[(size_t)i * n + j] = alpha * acc + (beta == 0.0f ? 0.0 : beta * c0[(size_t)i * ldc + j]);
        }
}

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *,
                        int, float, float *, int);

/* Runs fn into a fresh copy of c0 and compares with the reference (tolerance
 * scaled by sqrt(k)); returns the result (m·ldc floats), caller frees. */
static float *gemm_case(gemm_fn fn, const char *name, int ta, int tb, int m, int n, int k,
                        float alpha, float beta, int pad, uint64_t seed)
{
    rng_state r;
    rng_seed(&r, seed);
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb;
    float *a = rand_buf(&r, na, -1, 1), *b = rand_buf(&r, nb, -1, 1);
    float *c0 = rand_buf(&r, (size_t)m * ldc, -1, 1);
    float *c = malloc(sizeof(float) * (size_t)m * ldc + 1);
    assert_non_null(c);
    memcpy(c, c0, sizeof(float) * (size_t)m * ldc);
    if (beta == 0.0f) /* C must not be read */
        for (size_t i = 0; i < (size_t)m * ldc; i++)
            c[i] = NAN;
    double *want = malloc(sizeof(double) * (size_t)m * n + 1);
    assert_non_null(want);
    ref_gemm(want, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
    fn(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    float *packed = malloc(sizeof(float) * (size_t)m * n + 1);
    assert_non_null(packed);
    for (int i = 0; i < m; i++)
        memcpy(packed + (size_t)i * n, c + (size_t)i * ldc, sizeof(float) * (size_t)n);
    char what[96];
    snprintf(what, sizeof what, "%s %c%c %dx%dx%d a%g b%g", name, ta ? 'T' : 'N',
             tb ? 'T' : 'N', m, n, k, alpha, beta);
    expect_close(what, packed, want, (size_t)m * n, 2e-6 * sqrt((double)k + 1));
    /* the padding columns of C are untouched */
    for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            if (beta != 0.0f)
                assert_true(c[(size_t)i * ldc + j] == c0[(size_t)i * ldc + j]);
    free(a);
    free(b);
    free(c0);
    free(c);
    free(want);
    return packed;
}

static void test_layers_gemm_paths_agree(void **state)
{
    (void)state;
    printf("  gemm_f32 uses %s\n", gemm_backend());
    assert_int_equal(gemm_has_blas(), strcmp(gemm_backend(), "portable") != 0);
    /* sizes across every block edge of the portable code (MR 4, NR 8, MC 64, NC 256, KC 256) */
    const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {70, 300, 260},
                            {130, 20, 600}, {5, 513, 3}, {64, 256, 256}};
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    int case_no = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const float *p = ab[case_no++ % 3];
                int m = sizes[si][0], n = sizes[si][1], k = sizes[si][2];
                float *x = gemm_case(gemm_f32, "gemm_f32", ta, tb, m, n, k, p[0], p[1], si % 2,
                                     100 + case_no);
                float *y = gemm_case(gemm_f32_portable, "portable", ta, tb, m, n, k, p[0], p[1],
                                     si % 2, 100 + case_no);
                double maxd = 0;
                for (size_t i = 0; i < (size_t)m * n; i++)
                    maxd = fmax(maxd, fabs((double)x[i] - y[i]));
                assert_true(maxd <= 1e-5 * sqrt((double)k));
                free(x);
                free(y);
            }
    /* k == 0: C = beta·C */
    float c[2] = {1.0f, 2.0f};
    gemm_f32(0, 0, 1, 2, 0, 1.0f, c, 1, c, 2, 3.0f, c, 2);
    double want[2] = {3, 6};
    expect_close("gemm k=0 scales C", c, want, 2, 0);
}

/* Both GEMM paths are bit-identical for 1, 2 and 3 threads. */
static void test_layers_gemm_thread_independent(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    gemm_fn fns[2] = {gemm_f32_portable, gemm_f32};
    const char *names[2] = {"portable threads", "gemm_f32 threads"};
    for (int f = 0; f < 2; f++) {
        float *x[3];
        for (int t = 0; t < 3; t++) {
            omp_set_num_threads(t + 1);
            x[t] = gemm_case(fns[f], names[f], 1, 0, 300, 90, 700, 1.0f, 0.0f, 0, 7);
        }
        omp_set_num_threads(saved);
        assert_memory_equal(x[0], x[1], sizeof(float) * 300 * 90);
        assert_memory_equal(x[0], x[2], sizeof(float) * 300 * 90);
        for (int t = 0; t < 3; t++)
            free(x[t]);
    }
}

/* Layers give bit-identical results for 1 and 2 threads (sizes above the
 * single-thread cut-offs), conv2d included (gemm_f32 on either path). */
static void test_layers_thread_independent(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    rng_state r;
    rng_seed(&r, 15);
    ly_conv_shape s = ly_conv_shape_make(8, 14, 14, 40, 40, 3, 3, 1, 1, 1, 1);
    size_t n = in_size(&s), nw = 9 * 40;
    float *x = rand_buf(&r, n, -1, 2), *w = rand_buf(&r, nw, -1, 1), *dout = rand_buf(&r, n, -1, 1);
    float *g = rand_buf(&r, 40, 0.5f, 1.5f), *bt = rand_buf(&r, 40, -1, 1);
    size_t cnw = (size_t)40 * 9 * 40;
    float *cw = rand_buf(&r, cnw, -0.1f, 0.1f);
    float *res[2][7];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        float *dx = zbuf(n), *dw = zbuf(nw), *db = zbuf(40), *bn = zbuf(n), *bdx = zbuf(n + 80);
        float mean[40], rstd[40];
        ly_dwconv2d_backward(dx, dw, db, dout, x, w, &s);
        /* conv2d through gemm_f32 (CBLAS slices or portable tiles) */
        float *cdx = zbuf(n + cnw), *cout = zbuf(n), *cscr = zbuf(ly_conv2d_scratch_floats(&s));
        ly_conv2d_forward(cout, x, cw, NULL, cscr, &s);
        ly_conv2d_backward(cdx, cdx + n, NULL, dout, x, cw, cscr, &s);
        res[t][5] = cout;
        res[t][6] = cdx;
        free(cscr);
        bn_train_forward(bn, mean, rstd, NULL, NULL, x, g, bt, 8 * 14 * 14, 40, 1e-5f, 0.1f);
        bn_train_backward(bdx, bdx + n, bdx + n + 40, dout, x, mean, rstd, g,
                          8 * 14 * 14, 40);
        res[t][0] = dx;
        res[t][1] = dw;
        res[t][2] = db;
        res[t][3] = bn;
        res[t][4] = bdx;
    }
    omp_set_num_threads(saved);
    const size_t sizes[7] = {n, nw, 40, n, n + 80, n, n + cnw};
    for (int i = 0; i < 7; i++) {
        assert_memory_equal(res[0][i], res[1][i], sizeof(float) * sizes[i]);
        free(res[0][i]);
        free(res[1][i]);
    }
    free(x);
    free(w);
    free(dout);
    free(g);
    free(bt);
    free(cw);
}

/* The layers of the new geometry give bit-identical results for 1 and 3
 * threads, sizes above the single-thread cut-offs: conv2d with dilation and
 * uneven pads on im2col (20 output channels) and on the direct engine (32),
 * dwconv2d with multiplier 2, dilation and pads, padded max and average pools. */
static void test_layers_thread_independent_geometry(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 25);
    ly_conv_shape ci = shape_win(4, 15, 13, 8, 20, 3, 3, 1, 2, 2, 1, 2, 1, 0, 1);
    ly_conv_shape cd = shape_win(4, 15, 13, 16, 32, 3, 3, 1, 1, 2, 2, 1, 2, 2, 1);
    ly_conv_shape dw = shape_win(4, 15, 13, 24, 48, 3, 3, 1, 1, 2, 2, 2, 2, 1, 3);
    ly_conv_shape mp = shape_win(4, 15, 13, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    ly_conv_shape ap = shape_win(4, 15, 13, 24, 24, 2, 3, 2, 2, 1, 1, 0, 1, 1, 1);
    const ly_conv_shape *convs[2] = {&ci, &cd};
    size_t nx = in_size(&cd) > in_size(&dw) ? in_size(&cd) : in_size(&dw);
    float *x = rand_buf(&r, nx, -1, 1), *w = rand_buf(&r, (size_t)32 * 9 * 16, -1, 1);
    float *dout = rand_buf(&r, out_size(&dw) > out_size(&cd) ? out_size(&dw) : out_size(&cd),
                           -1, 1);
    float *res[2][7];
    size_t sizes[7];
    int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t == 0 ? 1 : 3);
        for (int k = 0; k < 2; k++) { /* conv2d: out, then dinp and dw in one buffer */
            const ly_conv_shape *s = convs[k];
            size_t ny = out_size(s), ni = in_size(s), nw = (size_t)s->oc * 9 * s->c;
            float *scr = zbuf(ly_conv2d_scratch_floats(s));
            res[t][2 * k] = zbuf(ny);
            res[t][2 * k + 1] = zbuf(ni + nw);
            ly_conv2d_forward(res[t][2 * k], x, w, NULL, scr, s);
            ly_conv2d_backward(res[t][2 * k + 1], res[t][2 * k + 1] + ni, NULL, dout, x, w,
                               scr, s);
            sizes[2 * k] = ny, sizes[2 * k + 1] = ni + nw;
            free(scr);
        }
        size_t ndw = out_size(&dw) + in_size(&dw) + 9 * 48 + 48;
        float *d = res[t][4] = zbuf(ndw);
        ly_dwconv2d_forward(d, x, w, NULL, &dw);
        d += out_size(&dw);
        ly_dwconv2d_backward(d, d + in_size(&dw), d + in_size(&dw) + 9 * 48, dout, x, w, &dw);
        sizes[4] = ndw;
        const ly_conv_shape *pools[2] = {&mp, &ap};
        for (int k = 0; k < 2; k++) {
            const ly_conv_shape *s = pools[k];
            float *p = res[t][5 + k] = zbuf(out_size(s) + in_size(s));
            if (k == 0) {
                ly_maxpool_forward(p, x, s);
                ly_maxpool_backward(p + out_size(s), dout, x, s);
            } else {
                ly_avgpool_forward(p, x, s);
                ly_avgpool_backward(p + out_size(s), dout, s);
            }
            sizes[5 + k] = out_size(s) + in_size(s);
        }
    }
    omp_set_num_threads(saved);
    for (int i = 0; i < 7; i++) {
        assert_memory_equal(res[0][i], res[1][i], sizeof(float) * sizes[i]);
        free(res[0][i]);
        free(res[1][i]);
    }
    free(x);
    free(w);
    free(dout);
}

/* Naive conv backward in double: dinp, dw (OHWI) for out = conv(x, w). */
static void ref_conv_backward(double *dx, double *dw, const float *dout, const float *x,
                              const float *w, const ly_conv_shape *s)
{
    memset(dx, 0, sizeof(double) * in_size(s));
    memset(dw, 0, sizeof(double) * s->oc * s->kh * s->kw * s->c);
    for (int b = 0; b < s->b; b++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int oc = 0; oc < s->oc; oc++) {
                    double d = dout[(((size_t)b * s->oh + oy) * s->ow + ox) * s->oc + oc];
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = 0; kx < s->kw; kx++) {
                            int iy = ref_row(s, oy, ky), ix = ref_col(s, ox, kx);
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                continue;
                            size_t xi = (((size_t)b * s->h + iy) * s->w + ix) * s->c;
                            size_t wi = (((size_t)oc * s->kh + ky) * s->kw + kx) * s->c;
                            for (int ic = 0; ic < s->c; ic++) {
                                dx[xi + ic] += d * w[wi + ic];
                                dw[wi + ic] += d * x[xi + ic];
                            }
                        }
                }
}

/* A shape whose im2col takes two chunks (6 images, then 2): forward and
 * backward against the naive references. */
static void test_layers_conv2d_chunked(void **state)
{
    (void)state;
    ly_conv_shape s = ly_conv_shape_make(8, 40, 38, 12, 8, 3, 3, 1, 1, 1, 1);
    size_t per_image = (size_t)40 * 38 * 9 * 12; /* 164160: 6 images in 1M floats */
    assert_int_equal(ly_conv2d_scratch_floats(&s), 6 * per_image);
    rng_state r;
    rng_seed(&r, 16);
    size_t nw = (size_t)8 * 9 * 12;
    float *x = rand_buf(&r, in_size(&s), -1, 1), *w = rand_buf(&r, nw, -1, 1);
    float *dout = rand_buf(&r, out_size(&s), -1, 1), *out = zbuf(out_size(&s));
    float *scratch = zbuf(ly_conv2d_scratch_floats(&s)), *dx = zbuf(in_size(&s)), *dw = zbuf(nw);
    double *want = malloc(sizeof(double) * out_size(&s));
    double *wdx = malloc(sizeof(double) * in_size(&s)), *wdw = malloc(sizeof(double) * nw);
    assert_true(want && wdx && wdw);
    ref_conv(want, x, w, NULL, &s, 0);
    ly_conv2d_forward(out, x, w, NULL, scratch, &s);
    expect_close("conv chunked forward", out, want, out_size(&s), 1e-5);
    ref_conv_backward(wdx, wdw, dout, x, w, &s);
    ly_conv2d_backward(dx, dw, NULL, dout, x, w, scratch, &s);
    expect_close("conv chunked dinp", dx, wdx, in_size(&s), 1e-5);
    /* each dw element sums 12160 products of size ~0.25: float error up to ~2e-4 */
    expect_close("conv chunked dw", dw, wdw, nw, 5e-4);
    free(x);
    free(w);
    free(dout);
    free(out);
    free(scratch);
    free(dx);
    free(dw);
    free(want);
    free(wdx);
    free(wdw);
}

/* One forward and backward of the direct-path test with `threads` threads:
 * res[0] = out, res[1] = dx, res[2] = dw (dx, dw start from dx0, dw0). */
static void direct_run(float *res[3], const ly_conv_shape *s, int threads, const float *x,
                       const float *w, const float *bias, const float *dout, const float *dx0,
                       const float *dw0)
{
    size_t nx = in_size(s), ny = out_size(s), nw = (size_t)s->oc * s->kh * s->kw * s->c;
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    float *scratch = zbuf(ly_conv2d_scratch_floats(s));
    res[0] = zbuf(ny);
    res[1] = zbuf(nx);
    res[2] = zbuf(nw);
    memcpy(res[1], dx0, sizeof(float) * nx);
    memcpy(res[2], dw0, sizeof(float) * nw);
    ly_conv2d_forward(res[0], x, w, bias, scratch, s);
    ly_conv2d_backward(res[1], res[2], NULL, dout, x, w, scratch, s);
    free(scratch);
    omp_set_num_threads(saved);
}

/* The direct convolution (OC % 16 == 0; dinp also C % 16 == 0 and stride 1)
 * against the naive references: forward with bias, and backward accumulating
 * into gradients that start random; and bit-identical with 1 and 3 threads.
 * The shapes cover every register block (16, 32, 48, 64 and 80 output
 * channels: one to four vectors, and a group of four plus one), pixel counts
 * that leave partial blocks and tasks, pads 0 to 2 (the flipped kernel's pad
 * of dinp from 2 to 0), non-square kernels, stride 2 (dinp then through
 * im2col), C = 1 (dinp through im2col) and a dw cut into pixel ranges. */
static void test_layers_conv2d_direct(void **state)
{
    (void)state;
    const ly_conv_shape shapes[] = {
        ly_conv_shape_make(3, 7, 5, 1, 16, 3, 3, 1, 1, 1, 1),
        ly_conv_shape_make(2, 6, 7, 16, 32, 3, 3, 1, 1, 1, 1),
        ly_conv_shape_make(2, 5, 5, 16, 48, 3, 2, 1, 1, 0, 1),
        ly_conv_shape_make(1, 9, 6, 32, 64, 5, 3, 1, 1, 2, 0),
        ly_conv_shape_make(2, 7, 7, 16, 80, 3, 3, 2, 2, 1, 1),
        ly_conv_shape_make(3, 8, 6, 3, 16, 3, 3, 2, 1, 1, 1),
        /* one dw task (9 taps x 16 channels), 1292 pixels: dw in 4 pixel ranges */
        ly_conv_shape_make(4, 17, 19, 1, 16, 3, 3, 1, 1, 1, 1),
        /* dilation 2 with four different pads (the flipped kernel's pads 4 − pad) */
        shape_win(2, 7, 6, 16, 32, 3, 3, 1, 1, 2, 2, 2, 1, 0, 3),
        /* 1-D: H = 1, kernel [1, 5], dilation 3, pad 6 on both sides */
        shape_win(2, 1, 20, 16, 16, 1, 5, 1, 1, 1, 3, 0, 0, 6, 6),
        /* stride 2 with `same`'s uneven pads (dinp through im2col) */
        shape_win(2, 9, 8, 16, 16, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1),
    };
    rng_state r;
    rng_seed(&r, 21);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const ly_conv_shape *s = &shapes[i];
        size_t nx = in_size(s), ny = out_size(s), nw = (size_t)s->oc * s->kh * s->kw * s->c;
        float *x = rand_buf(&r, nx, -1, 1), *w = rand_buf(&r, nw, -1, 1);
        float *bias = rand_buf(&r, s->oc, -1, 1), *dout = rand_buf(&r, ny, -1, 1);
        float *dx0 = rand_buf(&r, nx, -1, 1), *dw0 = rand_buf(&r, nw, -1, 1);
        double *want = malloc(sizeof(double) * ny), *wdx = malloc(sizeof(double) * nx);
        double *wdw = malloc(sizeof(double) * nw);
        assert_true(want && wdx && wdw);
        ref_conv(want, x, w, bias, s, 0);
        ref_conv_backward(wdx, wdw, dout, x, w, s);
        for (size_t j = 0; j < nx; j++)
            wdx[j] += dx0[j];
        for (size_t j = 0; j < nw; j++)
            wdw[j] += dw0[j];
        float *one[3], *three[3];
        direct_run(one, s, 1, x, w, bias, dout, dx0, dw0);
        direct_run(three, s, 3, x, w, bias, dout, dx0, dw0);
        /* float sums of n products of size <= 1: allow 2e-7 per term */
        double terms[3] = {(double)s->kh * s->kw * s->c, (double)s->kh * s->kw * s->oc,
                           (double)s->b * s->oh * s->ow};
        const double *wants[3] = {want, wdx, wdw};
        const size_t sizes[3] = {ny, nx, nw};
        const char *names[3] = {"forward", "dinp", "dw"};
        for (int k = 0; k < 3; k++) {
            char what[64];
            snprintf(what, sizeof what, "direct %zu %s", i, names[k]);
            expect_close(what, one[k], wants[k], sizes[k], 2e-7 * terms[k]);
            assert_memory_equal(one[k], three[k], sizeof(float) * sizes[k]);
            free(one[k]);
            free(three[k]);
        }
        free(x);
        free(w);
        free(bias);
        free(dout);
        free(dx0);
        free(dw0);
        free(want);
        free(wdx);
        free(wdw);
    }
}

/* ly_conv2d_forward_scaled = ly_conv2d_forward (no bias), then each channel
 * times its factor, bit for bit: on the direct path (32 channels) and on
 * im2col (5 channels). */
static void test_layers_conv2d_forward_scaled(void **state)
{
    (void)state;
    const ly_conv_shape shapes[] = {
        ly_conv_shape_make(2, 6, 5, 16, 32, 3, 3, 1, 1, 1, 1),
        ly_conv_shape_make(2, 6, 5, 3, 5, 3, 3, 1, 1, 1, 1),
    };
    rng_state r;
    rng_seed(&r, 24);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const ly_conv_shape *s = &shapes[i];
        size_t nx = in_size(s), ny = out_size(s), nw = (size_t)s->oc * s->kh * s->kw * s->c;
        float *x = rand_buf(&r, nx, -1, 1), *w = rand_buf(&r, nw, -1, 1);
        float *sc = rand_buf(&r, s->oc, 0.5f, 2.0f), *want = zbuf(ny), *got = zbuf(ny);
        float *scratch = zbuf(ly_conv2d_scratch_floats(s));
        ly_conv2d_forward(want, x, w, NULL, scratch, s);
        for (size_t j = 0; j < ny; j++)
            want[j] *= sc[j % s->oc];
        ly_conv2d_forward_scaled(got, x, w, sc, scratch, s);
        assert_memory_equal(want, got, sizeof(float) * ny);
        free(x);
        free(w);
        free(sc);
        free(want);
        free(got);
        free(scratch);
    }
}

static void test_layers_scratch_size(void **state)
{
    (void)state;
    ly_conv_shape s = ly_conv_shape_make(4, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1);
    assert_int_equal(s.oh, 28);
    assert_int_equal(s.ow, 28);
    assert_int_equal(ly_conv2d_scratch_floats(&s), (size_t)4 * 28 * 28 * 9);
    ly_conv_shape p = ly_conv_shape_make(4, 7, 7, 32, 64, 1, 1, 1, 1, 0, 0);
    assert_int_equal(ly_conv2d_scratch_floats(&p), 0);
    ly_conv_shape d = ly_conv_shape_make(1, 7, 6, 2, 2, 3, 2, 2, 3, 1, 0);
    assert_int_equal(d.oh, 4); /* (7 + 2 − 3) / 2 + 1 */
    assert_int_equal(d.ow, 2); /* (6 − 2) / 3 + 1 */
}

/* main() ran gemm_spin_setup: the program now runs with a spin count (or
 * the user's own wait policy). */
static void test_layers_spin_setup(void **state)
{
    (void)state;
    const char *policy = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    printf("  OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s\n", policy ? policy : "(unset)",
           spin ? spin : "(unset)");
    assert_true(policy || spin);
}

int main(int argc, char **argv)
{
    (void)argc;
    gemm_spin_setup(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_spin_setup),
        cmocka_unit_test(test_layers_conv2d_gradcheck),
        cmocka_unit_test(test_layers_dwconv2d_gradcheck),
        cmocka_unit_test(test_layers_linear_gradcheck),
        cmocka_unit_test(test_layers_batchnorm_train_gradcheck),
        cmocka_unit_test(test_layers_batchnorm_eval_gradcheck),
        cmocka_unit_test(test_layers_batchnorm_train_forward_stats),
        cmocka_unit_test(test_layers_batchnorm_fused_entry_points),
        cmocka_unit_test(test_layers_relu_gradcheck),
        cmocka_unit_test(test_layers_pool_gradcheck),
        cmocka_unit_test(test_layers_pool_count),
        cmocka_unit_test(test_layers_avgpool_grid),
        cmocka_unit_test(test_layers_maxpool_ties_first),
        cmocka_unit_test(test_layers_maxpool_backward_set),
        cmocka_unit_test(test_layers_global_avgpool_gradcheck),
        cmocka_unit_test(test_layers_add_gradcheck),
        cmocka_unit_test(test_layers_softmax_xent),
        cmocka_unit_test(test_layers_argmax_lowest_tie),
        cmocka_unit_test(test_layers_he_init),
        cmocka_unit_test(test_layers_uniform_init),
        cmocka_unit_test(test_layers_gemm_paths_agree),
        cmocka_unit_test(test_layers_gemm_thread_independent),
        cmocka_unit_test(test_layers_thread_independent),
        cmocka_unit_test(test_layers_thread_independent_geometry),
        cmocka_unit_test(test_layers_conv2d_chunked),
        cmocka_unit_test(test_layers_conv2d_direct),
        cmocka_unit_test(test_layers_conv2d_forward_scaled),
        cmocka_unit_test(test_layers_scratch_size),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("worst gradient-check relative error: %.3e\n", gc_worst_rel);
    return rc;
}
