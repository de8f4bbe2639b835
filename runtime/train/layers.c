#include "layers.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "gemm.h"

/* Elementwise loops below this size run on one thread (a parallel region
 * costs a few microseconds). */
#define PAR_MIN 32768

/* Inner loops run along channels (NHWC); their lengths are only known at run
 * time, which -O2 alone does not vectorize. */
#define SIMD _Pragma("omp simd")

/* Channels are reduced in chunks of this many double accumulators on the stack. */
#define CHUNK 64

/* Hot loops that are not GEMMs are compiled for AVX-512, AVX2 and baseline
 * x86-64 and picked when the program loads (GCC target_clones); only the
 * vector width changes, not the order of any sum. OpenMP outlines the body of
 * a parallel region into a function of its own, which would not be cloned, so
 * the cloned workers are called from inside the regions. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LY_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LY_CLONES
#endif

ly_conv_shape ly_conv_shape_make(int b, int h, int w, int c, int oc, int kh, int kw,
                               int sh, int sw, int ph, int pw)
{
    ly_conv_shape s = {b, h, w, c, oc, kh, kw, sh, sw, ph, pw, 0, 0};
    assert(b > 0 && h > 0 && w > 0 && c > 0 && oc > 0 && kh > 0 && kw > 0);
    assert(sh > 0 && sw > 0 && ph >= 0 && pw >= 0);
    assert(h + 2 * ph >= kh && w + 2 * pw >= kw);
    s.oh = (h + 2 * ph - kh) / sh + 1;
    s.ow = (w + 2 * pw - kw) / sw + 1;
    return s;
}

/* The range [c0, c1) of channels this thread owns inside a parallel region:
 * contiguous, at least 8 wide (to keep SIMD), possibly empty. */
static void my_channels(int c, int *c0, int *c1)
{
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int chunk = ((c + nt - 1) / nt + 7) / 8 * 8;
    *c0 = t * chunk < c ? t * chunk : c;
    *c1 = *c0 + chunk < c ? *c0 + chunk : c;
}

/* sum[ch] += Σ_r x[r][ch], accumulated in double, rows in order; threads own
 * channel ranges, so the result does not depend on the thread count.
 * sum (cols); x (rows, cols). */
static void colsum_acc(float *sum, const float *x, long rows, int cols)
{
#pragma omp parallel if (rows * cols > PAR_MIN)
    {
        int c0, c1;
        my_channels(cols, &c0, &c1);
        for (int k0 = c0; k0 < c1; k0 += CHUNK) {
            int k1 = k0 + CHUNK < c1 ? k0 + CHUNK : c1;
            double acc[CHUNK] = {0};
            for (long r = 0; r < rows; r++) {
                const float *xr = x + r * cols;
                SIMD
                for (int ch = k0; ch < k1; ch++)
                    acc[ch - k0] += xr[ch];
            }
            SIMD
            for (int ch = k0; ch < k1; ch++)
                sum[ch] += (float)acc[ch - k0];
        }
    }
}

/* Fills every row of out (rows, cols) with bias (cols). */
static void fill_rows(float *out, const float *bias, long rows, int cols)
{
#pragma omp parallel for if (rows * cols > PAR_MIN)
    for (long r = 0; r < rows; r++)
        memcpy(out + r * cols, bias, sizeof(float) * (size_t)cols);
}

/* ---- conv2d ---------------------------------------------------------------- */

static int conv_is_pointwise(const ly_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0;
}

/* Convolutions run over chunks of whole images of about CONV_CHUNK_FLOATS
 * im2col floats: the scratch stays bounded (4 MB) for any batch, while the
 * chunks stay big enough that the parallel regions are few (each one is a
 * wake-up and a barrier for the threads; L2-sized chunks of 128K floats
 * measured no faster). The chunk depends only on the shape, never on the
 * thread count. */
#define CONV_CHUNK_FLOATS (1024 * 1024)

static size_t conv_col_floats_per_image(const ly_conv_shape *s)
{
    return (size_t)s->oh * s->ow * s->kh * s->kw * s->c;
}

static int conv_chunk_images(const ly_conv_shape *s)
{
    size_t n = CONV_CHUNK_FLOATS / conv_col_floats_per_image(s);
    return n < 1 ? 1 : n > (size_t)s->b ? s->b : (int)n;
}

/* The kernel columns kx in [*kx0, *kx1) that fall inside the input for output
 * column ox. Within one kernel row they are contiguous in NHWC memory (and in
 * a col row), so each kernel row is one copy of (kx1 - kx0)·C floats. */
static void valid_kx(const ly_conv_shape *s, int ox, int *kx0, int *kx1)
{
    int ix0 = ox * s->sw - s->pw;
    *kx0 = ix0 < 0 ? -ix0 : 0;
    *kx1 = s->w - ix0 < s->kw ? s->w - ix0 : s->kw;
    if (*kx1 < *kx0)
        *kx1 = *kx0;
}

/* For images [b0, b0 + nb):
 * col[((b−b0),oy,ox)][(ky,kx,ic)] = inp[b, oy*sh-ph+ky, ox*sw-pw+kx, ic], 0 outside.
 * col (nb*OH*OW, KH*KW*C); inp (B, H, W, C). */
static void im2col(float *col, const float *inp, const ly_conv_shape *s, int b0, int nb)
{
    int kdim = s->kh * s->kw * s->c, c = s->c;
#pragma omp parallel for collapse(2)
    for (int bi = 0; bi < nb; bi++) {
        for (int oy = 0; oy < s->oh; oy++) {
            int b = b0 + bi;
            for (int ox = 0; ox < s->ow; ox++) {
                float *crow = col + (((size_t)bi * s->oh + oy) * s->ow + ox) * kdim;
                int kx0, kx1;
                valid_kx(s, ox, &kx0, &kx1);
                for (int ky = 0; ky < s->kh; ky++) {
                    int iy = oy * s->sh - s->ph + ky;
                    float *dst = crow + ky * s->kw * c;
                    int lo = kx0 * c, hi = kx1 * c, end = s->kw * c;
                    if (iy < 0 || iy >= s->h)
                        lo = hi = end;
                    /* offset of kernel column 0 (may lie outside; only [lo, hi) is read) */
                    ptrdiff_t at = (((ptrdiff_t)b * s->h + iy) * s->w + ox * s->sw - s->pw) * c;
                    SIMD
                    for (int j = 0; j < lo; j++)
                        dst[j] = 0.0f;
                    SIMD
                    for (int j = lo; j < hi; j++)
                        dst[j] = inp[at + j];
                    SIMD
                    for (int j = hi; j < end; j++)
                        dst[j] = 0.0f;
                }
            }
        }
    }
}

/* The adjoint of im2col for images [b0, b0 + nb):
 * dinp[b, iy, ix, ic] += dcol[((b−b0),oy,ox)][(ky,kx,ic)].
 * Threads own images, each image summed in a fixed order. */
static void col2im_acc(float *dinp, const float *dcol, const ly_conv_shape *s, int b0, int nb)
{
    int kdim = s->kh * s->kw * s->c, c = s->c;
#pragma omp parallel for
    for (int bi = 0; bi < nb; bi++) {
        int b = b0 + bi;
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                const float *crow = dcol + (((size_t)bi * s->oh + oy) * s->ow + ox) * kdim;
                int kx0, kx1;
                valid_kx(s, ox, &kx0, &kx1);
                for (int ky = 0; ky < s->kh; ky++) {
                    int iy = oy * s->sh - s->ph + ky;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    const float *src = crow + ky * s->kw * c;
                    ptrdiff_t at = (((ptrdiff_t)b * s->h + iy) * s->w + ox * s->sw - s->pw) * c;
                    SIMD
                    for (int j = kx0 * c; j < kx1 * c; j++)
                        dinp[at + j] += src[j];
                }
            }
        }
    }
}

/* ---- direct convolution -----------------------------------------------------
 * For the shapes of small CNNs (a few dozen channels, 3x3 kernels) im2col
 * costs as much as the GEMM itself: it writes KH·KW copies of the input,
 * which the BLAS then packs once more. The direct kernels read the NHWC input
 * in place (zero-padded into scratch when pad > 0). With K = KH·KW·C and
 * k = (ky, kx, ic) in that order, off(k) = (ky·WP + kx)·C + ic:
 *
 *   forward  out[p][oc] = bias[oc] + Σ_k xpad[win(p) + off(k)] · wt[k][oc]
 *            wt (K, OC) = wᵀ; win(p) = the window origin of output pixel p
 *   dinp     (stride 1) the same sum over dout zero-padded by KH−1−ph,
 *            KW−1−pw with the flipped kernel, k' = (ky, kx, oc):
 *            dinp[q][ic] += Σ_k' dpad[win(q) + off(k')] · wf[k'][ic],
 *            wf[k'][ic] = w[oc][KH−1−ky][KW−1−kx][ic]
 *   dw       dwt[k][oc] = Σ_p xpad[win(p) + off(k)] · dout[p][oc],
 *            then dw[oc][k] += dwt[k][oc]
 *
 * Vectors of DC_VEC floats run along the output channels of each sum (so the
 * direct path needs OC % 16 == 0, and for dinp C % 16 == 0): a register block
 * of PB pixels x NV vectors (forward, dinp) or KB taps x NV vectors (dw) is
 * updated with broadcasts, which keeps the accumulators in registers.
 * Forward and dinp sum over k ascending; dw sums each tile of DC_TILE pixels
 * in a register block, then adds the tiles in order (within each pixel range,
 * see dc_dw). No split depends on the thread count, so neither do the
 * results. */

#define DC_VEC 16     /* floats per vector */
#define DC_NV_MAX 4   /* vectors per register block (64 channels) */
#define DC_PB_MAX 12  /* pixels (forward) or taps (dw) per register block */
#define DC_TASK 24    /* pixels per forward task: a multiple of every block */
#define DC_TILE 128   /* pixels per dw tile */

typedef float dc_vec __attribute__((vector_size(DC_VEC * sizeof(float))));

/* The kernels are compiled for AVX-512, AVX2+FMA and baseline x86-64 and
 * picked when the program loads (as gemm.c); -std=c11 turns off the
 * contraction of a·b + c into an FMA, which these loops need: the clones
 * with FMA round once where baseline rounds twice (a machine always runs the
 * same clone). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DC_CLONES LY_CLONES __attribute__((optimize("fp-contract=fast")))
#else
#define DC_CLONES
#endif
#define DC_INLINE inline __attribute__((always_inline))

/* Unaligned vector load and store (memcpy: a vector by value would change the
 * calling convention between the clones). */
#define DC_LOAD(v, p) memcpy(&(v), (p), sizeof(dc_vec))
#define DC_STORE(p, v) memcpy((p), &(v), sizeof(dc_vec))

/* Lanes of a comparison: all ones where true, 0 where false. */
typedef int32_t dc_mask __attribute__((vector_size(DC_VEC * sizeof(int32_t))));

/* Per lane: a where the mask m is set, else b (bits, no arithmetic; a macro:
 * a vector returned by value would change the calling convention between
 * the clones). */
#define DC_SELECT(m, a, b) ((dc_vec)(((dc_mask)(a) & (m)) | ((dc_mask)(b) & ~(m))))

/* Pixels (or taps) per register block for nv vectors: 12 to 24 accumulators. */
static DC_INLINE int dc_block(int nv)
{
    return nv == 1 ? 12 : nv == 2 ? 8 : 6;
}

/* One direct pass: input x (B, HP, WP, C), already padded; a KH x KW window
 * with strides (sh, sw); output (B, OH, OW, N), N % DC_VEC == 0. */
typedef struct {
    const float *x;
    int hp, wp, c, kh, kw, sh, sw, oh, ow, n;
    long pixels; /* B·OH·OW */
} dc_geom;

/* xw[i] = the window origin in x of output pixel p0 + i, i < n; pixels past
 * the last one get the last one's (a block past the end recomputes it and
 * does not store it). */
static DC_INLINE void dc_windows(const float **xw, const dc_geom *g, long p0, int n)
{
    long ox = p0 % g->ow, t = p0 / g->ow, oy = t % g->oh, b = t / g->oh;
    for (int i = 0; i < n; i++) {
        xw[i] = g->x + (((size_t)b * g->hp + (size_t)oy * g->sh) * g->wp + (size_t)ox * g->sw) *
                           (size_t)g->c;
        if (p0 + i + 1 >= g->pixels)
            continue; /* stay on the last pixel */
        if (++ox == g->ow) {
            ox = 0;
            if (++oy == g->oh)
                oy = 0, b++;
        }
    }
}

/* Pixels [p0, p0 + PB) (those below g->pixels stored; windows xw), vectors
 * [v0, v0 + NV):
 *   out[p][n] (= or +=) (bias[n] + Σ_k x[win(p) + off(k)] · wt[k][n]) · oscale[n]
 * (bias, oscale: NULL for none) */
static DC_INLINE void dc_fwd_block(float *out, const dc_geom *g, long p0,
                                   const float *const *xw, const float *wt, const float *bias,
                                   const float *oscale, int accumulate, int v0, const int NV,
                                   const int PB)
{
    dc_vec acc[DC_PB_MAX][DC_NV_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < PB; j++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            if (bias)
                DC_LOAD(acc[j][v], bias + (v0 + v) * DC_VEC);
            else
                acc[j][v] = (dc_vec){0};
    }
    const float *wrow = wt + v0 * DC_VEC;
    for (int ky = 0; ky < g->kh; ky++)
        for (int kx = 0; kx < g->kw; kx++) {
            size_t off = ((size_t)ky * g->wp + kx) * g->c;
            for (int ic = 0; ic < g->c; ic++, wrow += g->n) {
                dc_vec wv[DC_NV_MAX];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    DC_LOAD(wv[v], wrow + v * DC_VEC);
#pragma GCC unroll 12
                for (int j = 0; j < PB; j++) {
                    float xs = xw[j][off + ic];
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[j][v] += xs * wv[v];
                }
            }
        }
#pragma GCC unroll 12
    for (int j = 0; j < PB; j++) {
        if (p0 + j >= g->pixels)
            break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            float *o = out + (size_t)(p0 + j) * g->n + (v0 + v) * DC_VEC;
            if (oscale) {
                dc_vec sv;
                DC_LOAD(sv, oscale + (v0 + v) * DC_VEC);
                acc[j][v] *= sv;
            }
            if (accumulate) {
                dc_vec old;
                DC_LOAD(old, o);
                acc[j][v] += old;
            }
            DC_STORE(o, acc[j][v]);
        }
    }
}

/* Forward tasks [t0, t1): DC_TASK pixels each, every vector group. */
DC_CLONES
static void dc_fwd_tasks(float *out, const dc_geom *g, long t0, long t1, const float *wt,
                         const float *bias, const float *oscale, int accumulate)
{
    int nvec = g->n / DC_VEC;
    const float *xw[DC_TASK];
    for (long t = t0; t < t1; t++) {
        long task0 = t * DC_TASK;
        dc_windows(xw, g, task0, DC_TASK);
        for (int v0 = 0; v0 < nvec; v0 += DC_NV_MAX) {
            int nv = nvec - v0 < DC_NV_MAX ? nvec - v0 : DC_NV_MAX, pb = dc_block(nv);
            for (int i = 0; i < DC_TASK && task0 + i < g->pixels; i += pb) {
                long p0 = task0 + i;
                if (nv == 1)
                    dc_fwd_block(out, g, p0, xw + i, wt, bias, oscale, accumulate, v0, 1, 12);
                else if (nv == 2)
                    dc_fwd_block(out, g, p0, xw + i, wt, bias, oscale, accumulate, v0, 2, 8);
                else if (nv == 3)
                    dc_fwd_block(out, g, p0, xw + i, wt, bias, oscale, accumulate, v0, 3, 6);
                else
                    dc_fwd_block(out, g, p0, xw + i, wt, bias, oscale, accumulate, v0, 4, 6);
            }
        }
    }
}

/* out (B, OH, OW, N) (= or +=) the direct sum over g (see above), times
 * oscale per channel when not NULL. */
static void dc_forward(float *out, const dc_geom *g, const float *wt, const float *bias,
                       const float *oscale, int accumulate)
{
    long tasks = (g->pixels + DC_TASK - 1) / DC_TASK;
#pragma omp parallel if (g->pixels * g->n * g->kh * g->kw * g->c > PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        dc_fwd_tasks(out, g, tasks * t / nt, tasks * (t + 1) / nt, wt, bias, oscale, accumulate);
    }
}

/* Taps [k0, k0 + KB) (those below K stored) x vectors [v0, v0 + NV) over
 * the pixels of one tile (windows xw, dout rows d):
 *   dwt[k][n] += Σ_p x[xw[p] + off(k)] · d[p][n]   (p ascending) */
static DC_INLINE void dc_dw_block(float *dwt, const dc_geom *g, const float *const *xw,
                                  const float *d, int np, int k0, int v0, const int NV,
                                  const int KB)
{
    int kdim = g->kh * g->kw * g->c;
    size_t off[DC_PB_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < KB; j++) {
        int k = k0 + j < kdim ? k0 + j : kdim - 1;
        int ic = k % g->c, kx = k / g->c % g->kw, ky = k / g->c / g->kw;
        off[j] = ((size_t)ky * g->wp + kx) * g->c + ic;
    }
    dc_vec acc[DC_PB_MAX][DC_NV_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < KB; j++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[j][v] = (dc_vec){0};
    for (int p = 0; p < np; p++) {
        dc_vec dv[DC_NV_MAX];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            DC_LOAD(dv[v], d + (size_t)p * g->n + (v0 + v) * DC_VEC);
        const float *x = xw[p];
#pragma GCC unroll 12
        for (int j = 0; j < KB; j++) {
            float xs = x[off[j]];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[j][v] += xs * dv[v];
        }
    }
#pragma GCC unroll 12
    for (int j = 0; j < KB; j++) {
        if (k0 + j >= kdim)
            break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            float *o = dwt + (size_t)(k0 + j) * g->n + (v0 + v) * DC_VEC;
            dc_vec old;
            DC_LOAD(old, o);
            acc[j][v] += old;
            DC_STORE(o, acc[j][v]);
        }
    }
}

/* The dw work is cut into tasks: a register block of taps x one vector group
 * (the last group may be narrower, with more taps per block). With fewer
 * than DC_DW_UNITS tasks, the pixels are also cut into that many ranges of
 * whole tiles ("splits"), each summed into a partial dwt of its own, and the
 * partials added in order afterwards. Both cuts depend on the shape only. */
#define DC_DW_UNITS 4

/* Vector group (v0, nv) and first tap k0 of task t. */
static void dc_dw_task(const dc_geom *g, int t, int *v0, int *nv, int *k0)
{
    int kdim = g->kh * g->kw * g->c, nvec = g->n / DC_VEC;
    for (int v = 0;; v += DC_NV_MAX) {
        int n = nvec - v < DC_NV_MAX ? nvec - v : DC_NV_MAX, kb = dc_block(n);
        int blocks = (kdim + kb - 1) / kb;
        if (t < blocks) {
            *v0 = v, *nv = n, *k0 = t * kb;
            return;
        }
        t -= blocks;
    }
}

static int dc_dw_tasks_count(const dc_geom *g)
{
    int kdim = g->kh * g->kw * g->c, nvec = g->n / DC_VEC, tasks = 0;
    for (int v = 0; v < nvec; v += DC_NV_MAX) {
        int kb = dc_block(nvec - v < DC_NV_MAX ? nvec - v : DC_NV_MAX);
        tasks += (kdim + kb - 1) / kb;
    }
    return tasks;
}

static int dc_dw_splits(const dc_geom *g)
{
    long tiles = (g->pixels + DC_TILE - 1) / DC_TILE;
    int splits = dc_dw_tasks_count(g) < DC_DW_UNITS ? DC_DW_UNITS : 1;
    return tiles < splits ? (int)tiles : splits;
}

/* Work units [u0, u1) (unit u: task u % tasks over the tiles of split
 * u / tasks, into dwt + split·K·N), tile by tile in order. */
DC_CLONES
static void dc_dw_units(float *dwt, const dc_geom *g, const float *dout, int tasks, int splits,
                        int u0, int u1)
{
    size_t part = (size_t)g->kh * g->kw * g->c * g->n;
    long tiles = (g->pixels + DC_TILE - 1) / DC_TILE;
    const float *xw[DC_TILE];
    for (int sp = u0 / tasks; sp < splits && sp * tasks < u1; sp++) {
        int t0 = u0 > sp * tasks ? u0 - sp * tasks : 0;
        int t1 = u1 < (sp + 1) * tasks ? u1 - sp * tasks : tasks;
        for (long tile = tiles * sp / splits; tile < tiles * (sp + 1) / splits; tile++) {
            long p0 = tile * DC_TILE;
            int np = g->pixels - p0 < DC_TILE ? (int)(g->pixels - p0) : DC_TILE;
            dc_windows(xw, g, p0, np);
            const float *d = dout + (size_t)p0 * g->n;
            float *acc = dwt + (size_t)sp * part;
            for (int t = t0; t < t1; t++) {
                int v0, nv, k0;
                dc_dw_task(g, t, &v0, &nv, &k0);
                if (nv == 1)
                    dc_dw_block(acc, g, xw, d, np, k0, v0, 1, 12);
                else if (nv == 2)
                    dc_dw_block(acc, g, xw, d, np, k0, v0, 2, 8);
                else if (nv == 3)
                    dc_dw_block(acc, g, xw, d, np, k0, v0, 3, 6);
                else
                    dc_dw_block(acc, g, xw, d, np, k0, v0, 4, 6);
            }
        }
    }
}

/* dwt (K, N) = Σ over g's pixels (see above); threads own units. dwt holds
 * dc_dw_splits(g) partials of K·N floats (the first is the result). */
static void dc_dw(float *dwt, const dc_geom *g, const float *dout)
{
    size_t part = (size_t)g->kh * g->kw * g->c * g->n;
    int tasks = dc_dw_tasks_count(g), splits = dc_dw_splits(g), units = tasks * splits;
    memset(dwt, 0, sizeof(float) * part * (size_t)splits);
#pragma omp parallel if (units > 1 && g->pixels * (long)part > PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        dc_dw_units(dwt, g, dout, tasks, splits, units * t / nt, units * (t + 1) / nt);
    }
    for (int sp = 1; sp < splits; sp++)
        for (size_t i = 0; i < part; i++)
            dwt[i] += dwt[(size_t)sp * part + i];
}

/* dst (B, H + 2·ph, W + 2·pw, C) = src (B, H, W, C) with a border of zeros. */
static void pad_copy(float *dst, const float *src, int b, int h, int w, int c, int ph, int pw)
{
    int hp = h + 2 * ph, wp = w + 2 * pw;
    size_t row = (size_t)w * c;
#pragma omp parallel for if ((long)b * hp * wp * c > PAR_MIN)
    for (int i = 0; i < b; i++) {
        float *d = dst + (size_t)i * hp * wp * c;
        const float *s = src + (size_t)i * h * row;
        memset(d, 0, sizeof(float) * (size_t)ph * wp * c);
        for (int y = 0; y < h; y++) {
            float *dr = d + ((size_t)(y + ph) * wp) * c;
            memset(dr, 0, sizeof(float) * (size_t)pw * c);
            memcpy(dr + (size_t)pw * c, s + (size_t)y * row, sizeof(float) * row);
            memset(dr + (size_t)(pw + w) * c, 0, sizeof(float) * (size_t)pw * c);
        }
        memset(d + (size_t)(ph + h) * wp * c, 0, sizeof(float) * (size_t)ph * wp * c);
    }
}

/* The direct forward and dw need OC % 16 == 0 (and are not used for 1x1
 * stride-1 unpadded convolutions, which are a plain GEMM); dinp needs stride
 * 1, C % 16 == 0 and pads that leave the flipped kernel a non-negative pad. */
static int dc_fits(const ly_conv_shape *s)
{
    return s->oc % DC_VEC == 0 && !conv_is_pointwise(s);
}

static int dc_fits_dinp(const ly_conv_shape *s)
{
    return s->c % DC_VEC == 0 && !conv_is_pointwise(s) && s->sh == 1 && s->sw == 1 &&
           s->ph <= s->kh - 1 && s->pw <= s->kw - 1;
}

/* Floats of scratch for the direct forward/dw: padded input + wt, or the
 * dwt partials. */
static size_t dc_scratch(const ly_conv_shape *s)
{
    size_t pad = s->ph || s->pw ? (size_t)s->b * (s->h + 2 * s->ph) * (s->w + 2 * s->pw) * s->c
                                : 0;
    dc_geom g = {NULL, s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->oh, s->ow, s->oc,
                 (long)s->b * s->oh * s->ow};
    return pad + (size_t)s->kh * s->kw * s->c * s->oc * (size_t)dc_dw_splits(&g);
}

/* For dinp: padded dout + wf. */
static size_t dc_scratch_dinp(const ly_conv_shape *s)
{
    size_t ph = (size_t)(s->kh - 1 - s->ph), pw = (size_t)(s->kw - 1 - s->pw);
    return (size_t)s->b * (s->oh + 2 * ph) * (s->ow + 2 * pw) * s->oc +
           (size_t)s->kh * s->kw * s->c * s->oc;
}

/* The geometry of the forward and dw over inp, padded into scratch when
 * needed; *rest = the scratch after it. */
static dc_geom dc_input(const float *inp, float *scratch, const ly_conv_shape *s, float **rest)
{
    dc_geom g = {inp, s->h, s->w, s->c, s->kh, s->kw, s->sh, s->sw, s->oh, s->ow, s->oc,
                 (long)s->b * s->oh * s->ow};
    *rest = scratch;
    if (s->ph || s->pw) {
        pad_copy(scratch, inp, s->b, s->h, s->w, s->c, s->ph, s->pw);
        g.x = scratch;
        g.hp = s->h + 2 * s->ph;
        g.wp = s->w + 2 * s->pw;
        *rest = scratch + (size_t)s->b * g.hp * g.wp * s->c;
    }
    return g;
}

/* t (cols, rows) = aᵀ, a (rows, cols). */
static void transpose(float *t, const float *a, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
}

/* a (rows, cols) += tᵀ, t (cols, rows). */
static void transpose_acc(float *a, const float *t, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            a[(size_t)r * cols + c] += t[(size_t)c * rows + r];
}

/* wf[(ky, kx, oc)][ic] = w[oc][KH−1−ky][KW−1−kx][ic]: wf (KH, KW, OC, C). */
static void flip_kernel(float *wf, const float *w, const ly_conv_shape *s)
{
    for (int ky = 0; ky < s->kh; ky++)
        for (int kx = 0; kx < s->kw; kx++)
            for (int oc = 0; oc < s->oc; oc++)
                memcpy(wf + (((size_t)ky * s->kw + kx) * s->oc + oc) * s->c,
                       w + (((size_t)oc * s->kh + (s->kh - 1 - ky)) * s->kw + (s->kw - 1 - kx)) *
                               s->c,
                       sizeof(float) * (size_t)s->c);
}

size_t ly_conv2d_scratch_floats(const ly_conv_shape *s)
{
    if (conv_is_pointwise(s))
        return 0;
    size_t im2col = (size_t)conv_chunk_images(s) * conv_col_floats_per_image(s);
    size_t fwd = dc_fits(s) ? dc_scratch(s) : im2col;
    size_t dinp = dc_fits_dinp(s) ? dc_scratch_dinp(s) : im2col;
    return fwd > dinp ? fwd : dinp;
}

/* out[.., oc] = conv2d(inp, w, bias)[.., oc] · oscale[oc] (oscale NULL: 1). */
static void conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                           const float *oscale, float *scratch, const ly_conv_shape *s)
{
    int kdim = s->kh * s->kw * s->c, pix = s->oh * s->ow;
    if (dc_fits(s)) {
        float *wt;
        dc_geom g = dc_input(inp, scratch, s, &wt);
        transpose(wt, w, s->oc, kdim); /* wt (K, OC) = wᵀ */
        dc_forward(out, &g, wt, bias, oscale, 0);
        return;
    }
    ly_conv2d_forward(out, inp, w, bias, scratch, s);
    if (oscale) {
        long rows = (long)s->b * pix;
#pragma omp parallel for if (rows * s->oc > PAR_MIN)
        for (long r = 0; r < rows; r++)
            for (int oc = 0; oc < s->oc; oc++)
                out[r * s->oc + oc] *= oscale[oc];
    }
}

void ly_conv2d_forward_scaled(float *out, const float *inp, const float *w, const float *oscale,
                             float *scratch, const ly_conv_shape *s)
{
    conv2d_forward(out, inp, w, NULL, oscale, scratch, s);
}

void ly_conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                      float *scratch, const ly_conv_shape *s)
{
    int kdim = s->kh * s->kw * s->c, pix = s->oh * s->ow;
    if (dc_fits(s)) {
        conv2d_forward(out, inp, w, bias, NULL, scratch, s);
        return;
    }
    if (bias)
        fill_rows(out, bias, (long)s->b * pix, s->oc);
    float beta = bias ? 1.0f : 0.0f;
    if (conv_is_pointwise(s)) { /* col = inp */
        gemm_f32(0, 1, s->b * pix, s->oc, kdim, 1.0f, inp, kdim, w, kdim, beta, out, s->oc);
        return;
    }
    int chunk = conv_chunk_images(s);
    for (int b0 = 0; b0 < s->b; b0 += chunk) {
        int nb = s->b - b0 < chunk ? s->b - b0 : chunk;
        im2col(scratch, inp, s, b0, nb);
        /* out rows (nb*OH*OW, OC) = col (nb*OH*OW, K) · wᵀ, w (OC, K) */
        gemm_f32(0, 1, nb * pix, s->oc, kdim, 1.0f, scratch, kdim, w, kdim, beta,
                out + (size_t)b0 * pix * s->oc, s->oc);
    }
}

/* out = col · wᵀ + bias  ⇒  dw += doutᵀ · col,  dbias += Σ_rows dout,
 *                           dinp += col2im(dout · w)
 * (direct where the shape allows, else chunk by chunk: dw sums the chunks in
 * order) */
void ly_conv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, float *scratch,
                       const ly_conv_shape *s)
{
    int kdim = s->kh * s->kw * s->c, pix = s->oh * s->ow;
    if (dbias)
        colsum_acc(dbias, dout, (long)s->b * pix, s->oc);
    if (conv_is_pointwise(s)) {
        int m = s->b * pix;
        if (dw) /* dw (OC, C) += doutᵀ (OC, M) · inp (M, C) */
            gemm_f32(1, 0, s->oc, kdim, m, 1.0f, dout, s->oc, inp, kdim, 1.0f, dw, kdim);
        if (dinp) /* dinp (M, C) += dout (M, OC) · w (OC, C) */
            gemm_f32(0, 0, m, s->c, s->oc, 1.0f, dout, s->oc, w, kdim, 1.0f, dinp, s->c);
        return;
    }
    if (dw && dc_fits(s)) {
        float *dwt;
        dc_geom g = dc_input(inp, scratch, s, &dwt);
        dc_dw(dwt, &g, dout); /* dwt (K, OC) */
        transpose_acc(dw, dwt, s->oc, kdim);
        dw = NULL;
    }
    if (dinp && dc_fits_dinp(s)) {
        /* dinp = the stride-1 convolution of dout, padded by KH−1−ph, KW−1−pw,
         * with the flipped kernel (channels swapped) */
        int ph = s->kh - 1 - s->ph, pw = s->kw - 1 - s->pw;
        float *dpad = scratch;
        float *wf = scratch + (size_t)s->b * (s->oh + 2 * ph) * (s->ow + 2 * pw) * s->oc;
        pad_copy(dpad, dout, s->b, s->oh, s->ow, s->oc, ph, pw);
        flip_kernel(wf, w, s);
        dc_geom g = {dpad, s->oh + 2 * ph, s->ow + 2 * pw, s->oc, s->kh, s->kw, 1, 1,
                     s->h, s->w, s->c, (long)s->b * s->h * s->w};
        dc_forward(dinp, &g, wf, NULL, NULL, 1);
        dinp = NULL;
    }
    if (!dw && !dinp)
        return;
    int chunk = conv_chunk_images(s);
    for (int b0 = 0; b0 < s->b; b0 += chunk) {
        int nb = s->b - b0 < chunk ? s->b - b0 : chunk, m = nb * pix;
        const float *dout_c = dout + (size_t)b0 * pix * s->oc;
        if (dw) {
            im2col(scratch, inp, s, b0, nb);
            /* dw (OC, K) += dout_cᵀ (OC, m) · col (m, K) */
            gemm_f32(1, 0, s->oc, kdim, m, 1.0f, dout_c, s->oc, scratch, kdim, 1.0f, dw, kdim);
        }
        if (dinp) {
            /* dcol (m, K) = dout_c (m, OC) · w (OC, K), then scattered back */
            gemm_f32(0, 0, m, kdim, s->oc, 1.0f, dout_c, s->oc, w, kdim, 0.0f, scratch, kdim);
            col2im_acc(dinp, scratch, s, b0, nb);
        }
    }
}

/* ---- dwconv2d -------------------------------------------------------------- */

void ly_dwconv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                        const ly_conv_shape *s)
{
    assert(s->oc == s->c);
    int c = s->c;
#pragma omp parallel for collapse(2)
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                float *o = out + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
                SIMD
                for (int ch = 0; ch < c; ch++)
                    o[ch] = bias ? bias[ch] : 0.0f;
                for (int ky = 0; ky < s->kh; ky++) {
                    int iy = oy * s->sh - s->ph + ky;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    for (int kx = 0; kx < s->kw; kx++) {
                        int ix = ox * s->sw - s->pw + kx;
                        if (ix < 0 || ix >= s->w)
                            continue;
                        const float *x = inp + (((size_t)b * s->h + iy) * s->w + ix) * c;
                        const float *wk = w + (ky * s->kw + kx) * c;
                        SIMD
                        for (int ch = 0; ch < c; ch++)
                            o[ch] += wk[ch] * x[ch];
                    }
                }
            }
        }
    }
}

/* out = Σ w·x + bias  ⇒  dinp += w·dout (threads own images),
 * dw[ky,kx,c] += Σ_{b,oy,ox} x·dout (threads own (tap, channel chunk), double
 * accumulation), dbias += Σ dout */
void ly_dwconv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                         const float *inp, const float *w, const ly_conv_shape *s)
{
    assert(s->oc == s->c);
    int c = s->c;
    if (dinp) {
#pragma omp parallel for
        for (int b = 0; b < s->b; b++) {
            for (int oy = 0; oy < s->oh; oy++) {
                for (int ox = 0; ox < s->ow; ox++) {
                    const float *d = dout + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
                    for (int ky = 0; ky < s->kh; ky++) {
                        int iy = oy * s->sh - s->ph + ky;
                        if (iy < 0 || iy >= s->h)
                            continue;
                        for (int kx = 0; kx < s->kw; kx++) {
                            int ix = ox * s->sw - s->pw + kx;
                            if (ix < 0 || ix >= s->w)
                                continue;
                            float *dx = dinp + (((size_t)b * s->h + iy) * s->w + ix) * c;
                            const float *wk = w + (ky * s->kw + kx) * c;
                            SIMD
                            for (int ch = 0; ch < c; ch++)
                                dx[ch] += wk[ch] * d[ch];
                        }
                    }
                }
            }
        }
    }
    if (dw) {
        int chunks = (c + CHUNK - 1) / CHUNK, taps = s->kh * s->kw;
#pragma omp parallel for schedule(dynamic)
        for (int task = 0; task < taps * chunks; task++) {
            int tap = task / chunks, k0 = (task % chunks) * CHUNK;
            int k1 = k0 + CHUNK < c ? k0 + CHUNK : c;
            int ky = tap / s->kw, kx = tap % s->kw;
            double acc[CHUNK] = {0};
            for (int b = 0; b < s->b; b++) {
                for (int oy = 0; oy < s->oh; oy++) {
                    int iy = oy * s->sh - s->ph + ky;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    for (int ox = 0; ox < s->ow; ox++) {
                        int ix = ox * s->sw - s->pw + kx;
                        if (ix < 0 || ix >= s->w)
                            continue;
                        const float *x = inp + (((size_t)b * s->h + iy) * s->w + ix) * c;
                        const float *d = dout + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
                        SIMD
                        for (int ch = k0; ch < k1; ch++)
                            acc[ch - k0] += (double)x[ch] * d[ch];
                    }
                }
            }
            SIMD
            for (int ch = k0; ch < k1; ch++)
                dw[tap * c + ch] += (float)acc[ch - k0];
        }
    }
    if (dbias)
        colsum_acc(dbias, dout, (long)s->b * s->oh * s->ow, c);
}

/* ---- linear ---------------------------------------------------------------- */

void ly_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                      int b, int in, int out_n)
{
    if (bias)
        fill_rows(out, bias, b, out_n);
    /* out (B, OUT) = inp (B, IN) · wᵀ, w (OUT, IN) */
    gemm_f32(0, 1, b, out_n, in, 1.0f, inp, in, w, in, bias ? 1.0f : 0.0f, out, out_n);
}

/* out = inp · wᵀ + bias  ⇒  dinp += dout · w,  dw += doutᵀ · inp,  dbias += Σ_b dout */
void ly_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int b, int in, int out_n)
{
    if (dinp) /* dinp (B, IN) += dout (B, OUT) · w (OUT, IN) */
        gemm_f32(0, 0, b, in, out_n, 1.0f, dout, out_n, w, in, 1.0f, dinp, in);
    if (dw) /* dw (OUT, IN) += doutᵀ (OUT, B) · inp (B, IN) */
        gemm_f32(1, 0, out_n, in, b, 1.0f, dout, out_n, inp, in, 1.0f, dw, in);
    if (dbias)
        colsum_acc(dbias, dout, b, out_n);
}

/* ---- batch norm ------------------------------------------------------------
 * Every pass runs over blocks of whole rows, bn_blocks(n, c) of them (up to
 * BN_BLOCKS, a function of the shape alone): threads never share a cache
 * line, as they would if they split the channels of rows of 16 or 32 floats.
 * Per-channel sums are kept per block, in double with the rows in order, and
 * the blocks are added in order, so no result depends on the thread count.
 * The loops over a block are workers compiled per instruction set
 * (LY_CLONES). */

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
LY_CLONES
static void bn_stats_rows(double *s1, double *s2, const float *inp, const float *x0, long r0,
                          long r1, int c)
{
    for (int ch = 0; ch < c; ch++)
        s1[ch] = s2[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD
        for (int ch = 0; ch < c; ch++) {
            double d = (double)inp[r * c + ch] - x0[ch];
            s1[ch] += d;
            s2[ch] += d * d;
        }
}

/* Rows [r0, r1): out = x·scale + shift per channel. */
LY_CLONES
static void bn_affine_rows(float *out, const float *inp, long r0, long r1, int c,
                           const float *scale, const float *shift)
{
    for (long r = r0; r < r1; r++)
        SIMD
        for (int ch = 0; ch < c; ch++)
            out[r * c + ch] = inp[r * c + ch] * scale[ch] + shift[ch];
}

static void bn_affine(float *out, const float *inp, long n, int c, const float *scale,
                      const float *shift)
{
    long blocks = bn_blocks(n, c);
#pragma omp parallel for schedule(static) if (n * c > PAR_MIN)
    for (long blk = 0; blk < blocks; blk++)
        bn_affine_rows(out, inp, BN_ROW0(blk), BN_ROW0(blk + 1), c, scale, shift);
}

/* mean = x0 + Σd/N,  Σ(x − mean)² = Σd² − (Σd)²/N, d = x − x0, x0 = row 0 */
void ly_batchnorm_train_stats(float *mean, float *rstd, float *running_mean,
                             float *running_var, const float *inp, int n, int c, float eps,
                             float momentum)
{
    assert(n > 1);
    assert((running_mean == NULL) == (running_var == NULL));
    long blocks = bn_blocks(n, c);
    double part[2 * blocks * c]; /* (blocks, 2, C) */
#pragma omp parallel for schedule(static) if ((long)n * c > PAR_MIN)
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

void ly_batchnorm_train_forward(float *out, float *mean, float *rstd,
                               float *running_mean, float *running_var,
                               const float *inp, const float *gamma, const float *beta,
                               int n, int c, float eps, float momentum)
{
    ly_batchnorm_train_stats(mean, rstd, running_mean, running_var, inp, n, c, eps, momentum);
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
static inline __attribute__((always_inline)) float bn_dy(const float *dout,
                                                         const uint8_t *mask, long i)
{
    float d = dout[i]; /* loaded unconditionally: a select, not a branch */
    return mask ? (mask[i] ? d : 0.0f) : d;
}

/* The same as a product, dout · mask (mask 0 or 1), for the sums: GCC does
 * not vectorize the select there. It differs from bn_dy only in the sign of
 * a zero (which no sum can see) and where dout is not finite. */
static inline __attribute__((always_inline)) float bn_dy_mul(const float *dout,
                                                             const uint8_t *mask, long i)
{
    return mask ? dout[i] * (float)mask[i] : dout[i];
}

/* Per channel over rows [r0, r1): sdy = Σ dy, sdyx = Σ dy·xhat,
 * xhat = (x − m)·s (train: the batch mean and rstd; eval: the running mean
 * and 1/sqrt(rv + eps)). */
static inline __attribute__((always_inline)) void
bn_grad_sums_body(double *sdy, double *sdyx, const float *dout, const uint8_t *mask,
                  const float *inp, const float *m, const float *s, long r0, long r1, int c)
{
    for (int ch = 0; ch < c; ch++)
        sdy[ch] = sdyx[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD
        for (int ch = 0; ch < c; ch++) {
            float xhat = (inp[r * c + ch] - m[ch]) * s[ch];
            float dy = bn_dy_mul(dout, mask, r * c + ch);
            sdy[ch] += dy;
            sdyx[ch] += (double)dy * xhat;
        }
}

LY_CLONES
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
static inline __attribute__((always_inline)) void
bn_input_grad_body(float *dinp, const float *dout, const uint8_t *mask, const float *inp,
                   const float *mean, const float *rstd, const float *coef,
                   const float *oscale, double *dot, long r0, long r1, int c, const int train,
                   const int set, const int resc)
{
    if (resc)
        for (int ch = 0; ch < c; ch++)
            dot[ch] = 0.0;
    for (long r = r0; r < r1; r++)
        SIMD
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

LY_CLONES
static void bn_input_grad_rows(float *dinp, const float *dout, const uint8_t *mask,
                               const float *inp, const float *mean, const float *rstd,
                               const float *coef, const float *oscale, double *dot, long r0,
                               long r1, int c, int train, int set)
{
    /* one copy of the loop per case, so that each vectorizes without tests */
#define BN_IG(tr, m, st, rs)                                                                 \
    bn_input_grad_body(dinp, dout, m, inp, mean, rstd, coef, rs ? oscale : NULL,             \
                       rs ? dot : NULL, r0, r1, c, tr, st, rs)
    if (train) {
        if (set && mask && oscale)
            BN_IG(1, mask, 1, 1);
        else if (set && mask)
            BN_IG(1, mask, 1, 0);
        else if (set && oscale)
            BN_IG(1, NULL, 1, 1);
        else if (set)
            BN_IG(1, NULL, 1, 0);
        else
            BN_IG(1, NULL, 0, 0);
    } else {
        if (set && mask && oscale)
            BN_IG(0, mask, 1, 1);
        else if (set && mask)
            BN_IG(0, mask, 1, 0);
        else if (set && oscale)
            BN_IG(0, NULL, 1, 1);
        else if (set)
            BN_IG(0, NULL, 1, 0);
        else
            BN_IG(0, NULL, 0, 0);
    }
#undef BN_IG
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
#pragma omp parallel if (n * c > PAR_MIN)
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
void ly_batchnorm_train_backward(float *dinp, float *dgamma, float *dbeta,
                                const float *dout, const float *inp,
                                const float *mean, const float *rstd, const float *gamma,
                                int n, int c)
{
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c];
    bn_backward(dinp, dgamma, dbeta, dout, NULL, inp, mean, rstd, gamma, NULL, NULL, n, c, 1,
                0, part, coef);
}

void ly_batchnorm_train_backward_set(float *dinp, float *dgamma, float *dbeta,
                                    const float *dout, const uint8_t *mask, const float *inp,
                                    const float *mean, const float *rstd, const float *gamma,
                                    const float *dinp_scale, double *dinp_dot, int n, int c)
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

void ly_batchnorm_eval_forward(float *out, const float *inp, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, int n, int c, float eps)
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
void ly_batchnorm_eval_backward(float *dinp, float *dgamma, float *dbeta,
                               const float *dout, const float *inp, const float *gamma,
                               const float *running_mean, const float *running_var,
                               int n, int c, float eps)
{
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c], r[c];
    running_rstd(r, running_var, c, eps);
    bn_backward(dinp, dgamma, dbeta, dout, NULL, inp, running_mean, r, gamma, NULL, NULL, n, c,
                0, 0, part, coef);
}

void ly_batchnorm_eval_backward_set(float *dinp, float *dgamma, float *dbeta,
                                   const float *dout, const uint8_t *mask, const float *inp,
                                   const float *gamma, const float *running_mean,
                                   const float *running_var, const float *dinp_scale,
                                   double *dinp_dot, int n, int c, float eps)
{
    assert((dinp_scale == NULL) == (dinp_dot == NULL) && (dinp || !dinp_scale));
    double part[2 * bn_blocks(n, c) * c];
    float coef[3 * c], r[c];
    running_rstd(r, running_var, c, eps);
    bn_backward(dinp, dgamma, dbeta, dout, mask, inp, running_mean, r, gamma, dinp_scale,
                dinp_dot, n, c, 0, 1, part, coef);
}

/* ---- activations ----------------------------------------------------------- */

void ly_relu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

/* out = max(0, x)  ⇒  dinp += dout · [out > 0] */
void ly_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for simd if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = dout[i]; /* loaded unconditionally: a select, not a branch */
        dinp[i] += out[i] > 0.0f ? d : 0.0f;
    }
}

void ly_relu6_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i] > 0.0f ? inp[i] : 0.0f;
        out[i] = x < 6.0f ? x : 6.0f;
    }
}

/* out = clamp(x, 0, 6)  ⇒  dinp += dout · [0 < out < 6] */
void ly_relu6_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for simd if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = dout[i], y = out[i];
        dinp[i] += ((y > 0.0f) & (y < 6.0f)) ? d : 0.0f;
    }
}

/* ---- pools ----------------------------------------------------------------- */

/* Image b of ly_maxpool_forward. */
LY_CLONES
static void maxpool_image(float *out, const float *inp, const ly_conv_shape *s, int b)
{
    int c = s->c;
    if (c % DC_VEC == 0) { /* whole vectors: o = x > o ? x : o per lane */
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int v = 0; v < c; v += DC_VEC) {
                    dc_vec o, x;
                    DC_LOAD(o, inp + (((size_t)b * s->h + oy * s->sh) * s->w + ox * s->sw) *
                                         c + v);
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = ky == 0; kx < s->kw; kx++) {
                            DC_LOAD(x, inp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                              ox * s->sw + kx) * c + v);
                            o = DC_SELECT(x > o, x, o);
                        }
                    DC_STORE(out + (((size_t)b * s->oh + oy) * s->ow + ox) * c + v, o);
                }
        return;
    }
    for (int oy = 0; oy < s->oh; oy++) {
        for (int ox = 0; ox < s->ow; ox++) {
            float *o = out + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
            for (int ky = 0; ky < s->kh; ky++) {
                for (int kx = 0; kx < s->kw; kx++) {
                    int iy = oy * s->sh + ky, ix = ox * s->sw + kx;
                    const float *x = inp + (((size_t)b * s->h + iy) * s->w + ix) * c;
                    if (ky == 0 && kx == 0) {
                        SIMD
                        for (int ch = 0; ch < c; ch++)
                            o[ch] = x[ch];
                    } else {
                        SIMD
                        for (int ch = 0; ch < c; ch++)
                            o[ch] = x[ch] > o[ch] ? x[ch] : o[ch];
                    }
                }
            }
        }
    }
}

void ly_maxpool_forward(float *out, const float *inp, const ly_conv_shape *s)
{
    assert(s->oc == s->c && s->ph == 0 && s->pw == 0);
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_image(out, inp, s, b);
}

/* Image b of ly_maxpool_backward(_set): per chunk of channels, the window
 * maximum, then a scan in window order that routes dout to the first element
 * equal to it (branch-free, along channels). With set (windows that do not
 * overlap), the image's dinp is written: zeros first where no window or a
 * window's other elements lie. */
static inline __attribute__((always_inline)) void
maxpool_backward_body(float *dinp, const float *dout, const float *inp, const ly_conv_shape *s,
                      int b, const int set)
{
    int c = s->c;
    if (set && (s->oh * s->sh != s->h || s->ow * s->sw != s->w || s->sh != s->kh ||
                s->sw != s->kw)) /* some elements lie in no window */
        memset(dinp + (size_t)b * s->h * s->w * c, 0, sizeof(float) * (size_t)s->h * s->w * c);
    if (c % DC_VEC == 0) { /* whole vectors, the same steps per lane */
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int v = 0; v < c; v += DC_VEC) {
                    dc_vec mx, x, left, old;
                    DC_LOAD(mx, inp + (((size_t)b * s->h + oy * s->sh) * s->w + ox * s->sw) *
                                          c + v);
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = ky == 0; kx < s->kw; kx++) {
                            DC_LOAD(x, inp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                              ox * s->sw + kx) * c + v);
                            mx = DC_SELECT(x > mx, x, mx);
                        }
                    DC_LOAD(left, dout + (((size_t)b * s->oh + oy) * s->ow + ox) * c + v);
                    for (int ky = 0; ky < s->kh; ky++)
                        for (int kx = 0; kx < s->kw; kx++) {
                            float *at = dinp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                                ox * s->sw + kx) * c + v;
                            DC_LOAD(x, inp + (at - dinp));
                            /* g = left at the first maximum, else +0 */
                            dc_vec zero = {0}, g = DC_SELECT(x == mx, left, zero);
                            left -= g;
                            if (set) {
                                g += 0.0f; /* −0 becomes +0, as 0 + g */
                            } else {
                                DC_LOAD(old, at);
                                g += old;
                            }
                            DC_STORE(at, g);
                        }
                }
        return;
    }
    for (int oy = 0; oy < s->oh; oy++) {
        for (int ox = 0; ox < s->ow; ox++) {
            const float *d = dout + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
            for (int k0 = 0; k0 < c; k0 += CHUNK) {
                int kn = c - k0 < CHUNK ? c - k0 : CHUNK;
                float mx[CHUNK], left[CHUNK]; /* left: gradient not yet routed */
                for (int ky = 0; ky < s->kh; ky++)
                    for (int kx = 0; kx < s->kw; kx++) {
                        const float *x = inp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                                ox * s->sw + kx) * c + k0;
                        if (ky == 0 && kx == 0) {
                            SIMD
                            for (int j = 0; j < kn; j++)
                                mx[j] = x[j];
                        } else {
                            SIMD
                            for (int j = 0; j < kn; j++)
                                mx[j] = x[j] > mx[j] ? x[j] : mx[j];
                        }
                    }
                SIMD
                for (int j = 0; j < kn; j++)
                    left[j] = d[k0 + j];
                for (int ky = 0; ky < s->kh; ky++)
                    for (int kx = 0; kx < s->kw; kx++) {
                        size_t at = (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                     ox * s->sw + kx) * c + k0;
                        SIMD
                        for (int j = 0; j < kn; j++) {
                            /* 0/1 as a number, not a branch (the compare of floats
                             * would otherwise block vectorization) */
                            float g = (float)(inp[at + j] == mx[j]) * left[j];
                            if (set) /* + 0: a −0 (0 · negative) becomes 0, as 0 + g */
                                dinp[at + j] = g + 0.0f;
                            else
                                dinp[at + j] += g;
                            left[j] -= g;
                        }
                    }
            }
        }
    }
}

LY_CLONES
static void maxpool_backward_image(float *dinp, const float *dout, const float *inp,
                                   const ly_conv_shape *s, int b, int set)
{
    if (set)
        maxpool_backward_body(dinp, dout, inp, s, b, 1);
    else
        maxpool_backward_body(dinp, dout, inp, s, b, 0);
}

/* out = max over the window  ⇒  dinp[first argmax] += dout (threads own images) */
void ly_maxpool_backward(float *dinp, const float *dout, const float *inp,
                        const ly_conv_shape *s)
{
    assert(s->oc == s->c && s->ph == 0 && s->pw == 0);
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_backward_image(dinp, dout, inp, s, b, 0);
}

void ly_maxpool_backward_set(float *dinp, const float *dout, const float *inp,
                            const ly_conv_shape *s)
{
    assert(s->oc == s->c && s->ph == 0 && s->pw == 0);
    assert(s->sh >= s->kh && s->sw >= s->kw);
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_backward_image(dinp, dout, inp, s, b, 1);
}

void ly_avgpool_forward(float *out, const float *inp, const ly_conv_shape *s)
{
    assert(s->oc == s->c && s->ph == 0 && s->pw == 0);
    int c = s->c;
    float inv = 1.0f / (float)(s->kh * s->kw);
#pragma omp parallel for collapse(2)
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                float *o = out + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
                SIMD
                for (int ch = 0; ch < c; ch++)
                    o[ch] = 0.0f;
                for (int ky = 0; ky < s->kh; ky++)
                    for (int kx = 0; kx < s->kw; kx++) {
                        const float *x = inp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                                ox * s->sw + kx) * c;
                        SIMD
                        for (int ch = 0; ch < c; ch++)
                            o[ch] += x[ch];
                    }
                SIMD
                for (int ch = 0; ch < c; ch++)
                    o[ch] *= inv;
            }
        }
    }
}

/* out = Σ window / (KH·KW)  ⇒  dinp[window] += dout / (KH·KW) (threads own images) */
void ly_avgpool_backward(float *dinp, const float *dout, const ly_conv_shape *s)
{
    assert(s->oc == s->c && s->ph == 0 && s->pw == 0);
    int c = s->c;
    float inv = 1.0f / (float)(s->kh * s->kw);
#pragma omp parallel for
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                const float *d = dout + (((size_t)b * s->oh + oy) * s->ow + ox) * c;
                for (int ky = 0; ky < s->kh; ky++)
                    for (int kx = 0; kx < s->kw; kx++) {
                        float *dx = dinp + (((size_t)b * s->h + oy * s->sh + ky) * s->w +
                                            ox * s->sw + kx) * c;
                        SIMD
                        for (int ch = 0; ch < c; ch++)
                            dx[ch] += d[ch] * inv;
                    }
            }
        }
    }
}

void ly_global_avgpool_forward(float *out, const float *inp, int b, int hw, int c)
{
    float inv = 1.0f / (float)hw;
#pragma omp parallel for if ((long)b * hw * c > PAR_MIN)
    for (int i = 0; i < b; i++) {
        float *o = out + (size_t)i * c;
        SIMD
        for (int ch = 0; ch < c; ch++)
            o[ch] = 0.0f;
        for (int p = 0; p < hw; p++) {
            const float *x = inp + ((size_t)i * hw + p) * c;
            SIMD
            for (int ch = 0; ch < c; ch++)
                o[ch] += x[ch];
        }
        SIMD
        for (int ch = 0; ch < c; ch++)
            o[ch] *= inv;
    }
}

/* out = Σ_hw x / hw  ⇒  dinp += dout / hw */
void ly_global_avgpool_backward(float *dinp, const float *dout, int b, int hw, int c)
{
    float inv = 1.0f / (float)hw;
#pragma omp parallel for if ((long)b * hw * c > PAR_MIN)
    for (int i = 0; i < b; i++) {
        const float *d = dout + (size_t)i * c;
        for (int p = 0; p < hw; p++) {
            float *dx = dinp + ((size_t)i * hw + p) * c;
            SIMD
            for (int ch = 0; ch < c; ch++)
                dx[ch] += d[ch] * inv;
        }
    }
}

/* ---- add ------------------------------------------------------------------- */

void ly_add_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* out = a + b  ⇒  da += dout, db += dout */
void ly_add_backward(float *da, float *db, const float *dout, size_t n)
{
    if (da) {
#pragma omp parallel for simd if (n > PAR_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for simd if (n > PAR_MIN)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
    }
}

/* ---- loss ------------------------------------------------------------------ */

/* loss = −Σ_b log softmax(logits_b)[label_b] / B  ⇒  dlogits = (p − onehot) / B */
float ly_softmax_xent(float *dlogits, const float *logits, const int32_t *labels,
                     int b, int k)
{
    double loss = 0.0;
    for (int i = 0; i < b; i++) {
        const float *l = logits + (size_t)i * k;
        int y = labels[i];
        assert(y >= 0 && y < k);
        float mx = l[0];
        for (int j = 1; j < k; j++)
            mx = l[j] > mx ? l[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < k; j++)
            sum += exp((double)l[j] - mx);
        loss -= ((double)l[y] - mx) - log(sum);
        if (dlogits) {
            float *d = dlogits + (size_t)i * k;
            for (int j = 0; j < k; j++) {
                double p = exp((double)l[j] - mx) / sum;
                d[j] = (float)((p - (j == y)) / b);
            }
        }
    }
    return (float)(loss / b);
}

float ly_mse(float *dy, const float *y, const float *t, int b, int k)
{
    size_t n = (size_t)b * (size_t)k;
    double loss = 0.0;
    for (size_t j = 0; j < n; j++) {
        double d = (double)y[j] - (double)t[j];
        loss += d * d;
        if (dy)
            dy[j] = (float)(2.0 * d / (double)n);
    }
    return (float)(loss / (double)n);
}

int ly_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* ---- initialisation -------------------------------------------------------- */

void ly_he_init(float *w, size_t n, int fan_in, rng_state *r)
{
    assert(fan_in > 0);
    float std = (float)sqrt(2.0 / fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = std * rng_normal(r);
}

void ly_uniform_init(float *x, size_t n, int fan_in, rng_state *r)
{
    assert(fan_in > 0);
    float bound = 1.0f / sqrtf((float)fan_in);
    for (size_t i = 0; i < n; i++)
        x[i] = bound * (2.0f * rng_uniform(r) - 1.0f);
}
