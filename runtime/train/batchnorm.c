/* batchnorm — batch norm forward and backward (see batchnorm.h).
 *
 * Every pass runs over blocks of whole rows, bn_blocks(n, c) of them (up to
 * BN_BLOCKS, a function of the shape alone): threads never share a cache
 * line, as they would if they split the channels of rows of 16 or 32 floats.
 * Per-channel sums are kept per block, in double with the rows in order, and
 * the blocks are added in order, so no result depends on the thread count.
 * The loops over a block are workers compiled per instruction set
 * (SIMD_CLONES, simd.h). */
#include "batchnorm.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "simd.h"

#define BN_BLOCKS 32
#define BN_PART_MAX 16384 /* doubles of per-block sums, on the stack */

/* The number of row blocks: up to BN_BLOCKS, fewer for wide rows (the
 * per-block sums, 2·C doubles each, stay within BN_PART_MAX) or few rows. */
static long bn_blocks(long n, int c)
{
    long b = BN_PART_MAX / (2L * c);
    b = b < 1 ? 1 : b > BN_BLOCKS ? BN_BLOCKS : b;
    return b < n ? b : n;
}

/* Rows [r0, r1) of block blk of `blocks` over n rows. */
#define BN_ROW0(blk) (n * (blk) / blocks)

/* Per channel over rows [r0, r1): s1 = Σ d, s2 = Σ d², d = x − x0 (a sample
 * of the channel, so that a large mean does not cancel the variance away). */
SIMD_CLONES
static void bn_stats_rows(double *s1, double *s2, const float *inp, const float *x0, long r0,
                          long r1, int c)
{
    for (int ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++) {
            double d = (double)inp[r * c + ch] - x0[ch];
            s1[ch] += d;
            s2[ch] += d * d;
        }
}

/* Rows [r0, r1): out = x·scale + shift per channel. */
SIMD_CLONES
static void bn_affine_rows(float *out, const float *inp, long r0, long r1, int c,
                           const float *scale, const float *shift)
{
    for (long r = r0; r < r1; r++)
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++)
            out[r * c + ch] = inp[r * c + ch] * scale[ch] + shift[ch];
}

static void bn_affine(float *out, const float *inp, long n, int c, const float *scale,
                      const float *shift)
{
    long blocks = bn_blocks(n, c);
#pragma omp parallel for schedule(static) if (n * c > SIMD_PAR_MIN)
    for (long blk = 0; blk < blocks; blk++)
        bn_affine_rows(out, inp, BN_ROW0(blk), BN_ROW0(blk + 1), c, scale, shift);
}

/* mean = x0 + Σd/N,  Σ(x − mean)² = Σd² − (Σd)²/N, d = x − x0, x0 = row 0 */
void bn_train_stats(float *mean, float *rstd, float *running_mean, float *running_var,
                    const float *inp, int n, int c, float eps, float momentum)
{
    assert(n > 1);
    assert((running_mean == NULL) == (running_var == NULL));
    long blocks = bn_blocks(n, c);
    double part[2 * blocks * c]; /* (blocks, 2, C) */
#pragma omp parallel for schedule(static) if ((long)n * c > SIMD_PAR_MIN)
    for (long blk = 0; blk < blocks; blk++)
        bn_stats_rows(part + 2 * blk * c, part + (2 * blk + 1) * c, inp, inp, BN_ROW0(blk),
                      BN_ROW0(blk + 1), c);
    for (int ch = 0; ch < c; ch++) {
        double s1 = 0.0, s2 = 0.0;
        for (long blk = 0; blk < blocks; blk++) {
            s1 += part[2 * blk * c + ch];
            s2 += part[(2 * blk + 1) * c + ch];
        }
        double mu = inp[ch] + s1 / n;
        double ss = s2 - s1 * s1 / n;
        ss = ss > 0.0 ? ss : 0.0;
        mean[ch] = (float)mu;
        rstd[ch] = (float)(1.0 / sqrt(ss / n + eps));
        if (running_mean) {
            running_mean[ch] = (1.0f - momentum) * running_mean[ch] + momentum * (float)mu;
            running_var[ch] = (1.0f - momentum) * running_var[ch] +
                              momentum * (float)(ss / (n - 1));
        }
    }
}

void bn_train_forward(float *out, float *mean, float *rstd, float *running_mean,
                      float *running_var, const float *inp, const float *gamma,
                      const float *beta, int n, int c, float eps, float momentum)
{
    bn_train_stats(mean, rstd, running_mean, running_var, inp, n, c, eps, momentum);
    /* out = gamma·(x − mean)·rstd + beta = x·scale + shift */
    float scale[c], shift[c];
    for (int ch = 0; ch < c; ch++) {
        scale[ch] = gamma[ch] * rstd[ch];
        shift[ch] = beta[ch] - mean[ch] * scale[ch];
    }
    bn_affine(out, inp, n, c, scale, shift);
}

/* The output gradient of element i: dout, or dout · [mask] with a mask
 * (mask is a constant NULL or not in each inlined copy). */
static SIMD_INLINE float bn_dy(const float *dout, const uint8_t *mask, long i)
{
    float d = dout[i]; /* loaded unconditionally: a select, not a branch */
    return mask ? (mask[i] ? d : 0.0f) : d;
}

/* The same as a product, dout · mask (mask 0 or 1), for the sums: GCC does
 * not vectorize the select there. It differs from bn_dy only in the sign of
 * a zero (which no sum can see) and where dout is not finite. */
static SIMD_INLINE float bn_dy_mul(const float *dout, const uint8_t *mask, long i)
{
    return mask ? dout[i] * (float)mask[i] : dout[i];
}

/* Per channel over rows [r0, r1): sdy = Σ dy, sdyx = Σ dy·xhat,
 * xhat = (x − m)·s (train: the batch mean and rstd; eval: the running mean
 * and 1/sqrt(rv + eps)). */
static SIMD_INLINE void
bn_grad_sums_body(double *sdy, double *sdyx, const float *dout, const uint8_t *mask,
                  const float *inp, const float *m, const float *s, long r0, long r1, int c)
{
    for (int ch = 0; ch < c; ch++)
        sdy[ch] = sdyx[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++) {
            float xhat = (inp[r * c + ch] - m[ch]) * s[ch];
            float dy = bn_dy_mul(dout, mask, r * c + ch);
            sdy[ch] += dy;
            sdyx[ch] += (double)dy * xhat;
        }
}

SIMD_CLONES
static void bn_grad_sums_rows(double *sdy, double *sdyx, const float *dout, const uint8_t *mask,
                              const float *inp, const float *m, const float *s, long r0,
                              long r1, int c)
{
    if (mask)
        bn_grad_sums_body(sdy, sdyx, dout, mask, inp, m, s, r0, r1, c);
    else
        bn_grad_sums_body(sdy, sdyx, dout, NULL, inp, m, s, r0, r1, c);
}

/* Rows [r0, r1) of the input gradient, all channels: v = the gradient of inp
 * (train: coef0·(dy − coef1 − xhat·coef2); eval: coef0·dy; coef (3, C)); with
 * set dinp = v, else dinp += v (dinp may equal dout with set); with resc,
 * dot[ch] = Σ v·inp (rows in order) and v · oscale[ch] goes to dinp. */
static SIMD_INLINE void
bn_input_grad_body(float *dinp, const float *dout, const uint8_t *mask, const float *inp,
                   const float *mean, const float *rstd, const float *coef,
                   const float *oscale, double *dot, long r0, long r1, int c, const int train,
                   const int set, const int resc)
{
    if (resc)
        for (int ch = 0; ch < c; ch++)
            dot[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++) {
            float v;
            if (train) {
                float xhat = (inp[r * c + ch] - mean[ch]) * rstd[ch];
                v = coef[ch] * (bn_dy(dout, mask, r * c + ch) - coef[c + ch] -
                                xhat * coef[2 * c + ch]);
            } else {
                v = coef[ch] * bn_dy(dout, mask, r * c + ch);
            }
            if (resc) {
                dot[ch] += (double)v * (double)inp[r * c + ch];
                v *= oscale[ch];
            }
            if (set)
                dinp[r * c + ch] = v;
            else
                dinp[r * c + ch] += v;
        }
}

/* bn_input_grad_body for one mode (train a constant), one copy of the loop
 * per case, so that each vectorizes without tests. */
static SIMD_INLINE void bn_input_grad_cases(float *dinp, const float *dout, const uint8_t *mask,
                                            const float *inp, const float *mean,
                                            const float *rstd, const float *coef,
                                            const float *oscale, double *dot, long r0, long r1,
                                            int c, const int train, int set)
{
#define BN_IG(m, st, rs)                                                                     \
    bn_input_grad_body(dinp, dout, m, inp, mean, rstd, coef, rs ? oscale : NULL,             \
                       rs ? dot : NULL, r0, r1, c, train, st, rs)
    if (set && mask && oscale)
        BN_IG(mask, 1, 1);
    else if (set && mask)
        BN_IG(mask, 1, 0);
    else if (set && oscale)
        BN_IG(NULL, 1, 1);
    else if (set)
        BN_IG(NULL, 1, 0);
    else
        BN_IG(NULL, 0, 0);
#undef BN_IG
}

SIMD_CLONES
static void bn_input_grad_rows(float *dinp, const float *dout, const uint8_t *mask,
                               const float *inp, const float *mean, const float *rstd,
                               const float *coef, const float *oscale, double *dot, long r0,
                               long r1, int c, int train, int set)
{
    if (train)
        bn_input_grad_cases(dinp, dout, mask, inp, mean, rstd, coef, oscale, dot, r0, r1, c, 1,
                            set);
    else
        bn_input_grad_cases(dinp, dout, mask, inp, mean, rstd, coef, oscale, dot, r0, r1, c, 0,
                            set);
}

/* The backward of both modes, train (batch statistics mean, rstd) or eval
 * (m = running mean, s = 1/sqrt(rv + eps)): the parameter sums by blocks,
 * then the input gradient by blocks (after a barrier: it needs every block's
 * sums). part: (blocks, 2, C) doubles of scratch; coef (3, C). */
static void bn_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const uint8_t *mask, const float *inp, const float *m, const float *s,
                        const float *gamma, const float *oscale, double *odot, long n, int c,
                        int train, int set, double *part, float *coef)
{
    long blocks = bn_blocks(n, c);
    int sums = train || dgamma || dbeta; /* train: coef needs them */
#pragma omp parallel if (n * c > SIMD_PAR_MIN)
    {
        if (sums) {
#pragma omp for schedule(static)
            for (long blk = 0; blk < blocks; blk++)
                bn_grad_sums_rows(part + 2 * blk * c, part + (2 * blk + 1) * c, dout, mask, inp,
                                  m, s, BN_ROW0(blk), BN_ROW0(blk + 1), c);
        }
#pragma omp single
        for (int ch = 0; ch < c; ch++) {
            double sdy = 0.0, sdyx = 0.0;
            for (long blk = 0; sums && blk < blocks; blk++) {
                sdy += part[2 * blk * c + ch];
                sdyx += part[(2 * blk + 1) * c + ch];
            }
            if (dbeta)
                dbeta[ch] += (float)sdy;
            if (dgamma)
                dgamma[ch] += (float)sdyx;
            /* train: dinp = gamma·rstd/N · (N·dy − Σ dy − xhat·Σ dy·xhat);
             * eval: dinp = gamma·r·dy */
            coef[ch] = gamma[ch] * s[ch];
            coef[c + ch] = (float)(sdy / n);
            coef[2 * c + ch] = (float)(sdyx / n);
        }
        if (dinp) {
            /* part is free again: the block sums of the rescale go there */
#pragma omp for schedule(static)
            for (long blk = 0; blk < blocks; blk++)
                bn_input_grad_rows(dinp, dout, mask, inp, m, s, coef, oscale,
                                   oscale ? part + blk * c : NULL, BN_ROW0(blk),
                                   BN_ROW0(blk + 1), c, train, set);
            if (oscale) {
#pragma omp single
                for (int ch = 0; ch < c; ch++) {
                    double d = 0.0;
                    for (long blk = 0; blk < blocks; blk++)
                        d += part[blk * c + ch];
                    odot[ch] = d;
                }
            }
        }
    }
}

/* out = gamma·xhat + beta, xhat = (x − mean)·rstd over the batch ⇒
 *   dbeta += Σ dout,  dgamma += Σ dout·xhat,
 *   dinp  += gamma·rstd/N · (N·dout − Σ dout − xhat·Σ dout·xhat) */
void bn_train_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                       const float *inp, const float *mean, const float *rstd,
                       const float *gamma, int n, int c)
{
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c];
    bn_backward(dinp, dgamma, dbeta, dout, NULL, inp, mean, rstd, gamma, NULL, NULL, n, c, 1,
                0, part, coef);
}

void bn_train_backward_set(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const uint8_t *mask, const float *inp, const float *mean,
                           const float *rstd, const float *gamma, const float *dinp_scale,
                           double *dinp_dot, int n, int c)
{
    assert((dinp_scale == NULL) == (dinp_dot == NULL) && (dinp || !dinp_scale));
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c];
    bn_backward(dinp, dgamma, dbeta, dout, mask, inp, mean, rstd, gamma, dinp_scale, dinp_dot,
                n, c, 1, 1, part, coef);
}

/* r[ch] = 1/sqrt(rv + eps) for every channel. */
static void running_rstd(float *r, const float *running_var, int c, float eps)
{
    for (int ch = 0; ch < c; ch++)
        r[ch] = 1.0f / sqrtf(running_var[ch] + eps);
}

void bn_eval_forward(float *out, const float *inp, const float *gamma, const float *beta,
                     const float *running_mean, const float *running_var, int n, int c,
                     float eps)
{
    /* out = gamma·(x − rm)·r + beta = x·scale + shift */
    float r[c], scale[c], shift[c];
    running_rstd(r, running_var, c, eps);
    for (int ch = 0; ch < c; ch++) {
        scale[ch] = gamma[ch] * r[ch];
        shift[ch] = beta[ch] - running_mean[ch] * scale[ch];
    }
    bn_affine(out, inp, n, c, scale, shift);
}

/* out = gamma·(x − rm)·r + beta, r = 1/sqrt(rv + eps) ⇒
 *   dinp += gamma·r·dout,  dgamma += Σ dout·(x − rm)·r,  dbeta += Σ dout */
void bn_eval_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                      const float *inp, const float *gamma, const float *running_mean,
                      const float *running_var, int n, int c, float eps)
{
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c], r[c];
    running_rstd(r, running_var, c, eps);
    bn_backward(dinp, dgamma, dbeta, dout, NULL, inp, running_mean, r, gamma, NULL, NULL, n, c,
                0, 0, part, coef);
}

void bn_eval_backward_set(float *dinp, float *dgamma, float *dbeta, const float *dout,
                          const uint8_t *mask, const float *inp, const float *gamma,
                          const float *running_mean, const float *running_var,
                          const float *dinp_scale, double *dinp_dot, int n, int c, float eps)
{
    assert((dinp_scale == NULL) == (dinp_dot == NULL) && (dinp || !dinp_scale));
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c], r[c];
    running_rstd(r, running_var, c, eps);
    bn_backward(dinp, dgamma, dbeta, dout, mask, inp, running_mean, r, gamma, dinp_scale,
                dinp_dot, n, c, 0, 1, part, coef);
}
