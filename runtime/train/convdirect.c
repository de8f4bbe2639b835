/* convdirect — the direct convolution engine (see convdirect.h).
 *
 * With K = KH·KW·C and k = (ky, kx, ic) in that order,
 * off(k) = (ky·dil_h·WP + kx·dil_w)·C + ic in the padded input x (B, HP, WP, C):
 *
 *   forward  out[p][oc] = bias[oc] + Σ_k x[win(p) + off(k)] · wt[k][oc]
 *            wt (K, OC) = wᵀ; win(p) = the window origin of output pixel p
 *   dinp     (stride 1) the same sum over dout zero-padded by EH−1−pt above,
 *            EH−1−pb below, EW−1−pl left and EW−1−pr right (EH, EW the
 *            effective kernel (KH−1)·dil_h + 1, ...) with the flipped kernel,
 *            k' = (ky, kx, oc):
 *            dinp[q][ic] += Σ_k' dpad[win(q) + off(k')] · wf[k'][ic],
 *            wf[k'][ic] = w[oc][KH−1−ky][KW−1−kx][ic]
 *   dw       dwt[k][oc] = Σ_p x[win(p) + off(k)] · dout[p][oc],
 *            then dw[oc][k] += dwt[k][oc]
 *
 * The geometry of each pass (padded sizes, strides, output) is derived from
 * the ly_conv_shape in one place, geom_input and geom_dinp; the kernels see
 * only a dc_geom.
 *
 * Vectors of SIMD_VEC floats run along the output channels of each sum (so
 * the forward and dw need OC % 16 == 0, and dinp C % 16 == 0): a register
 * block of PB pixels x NV vectors (forward, dinp) or KB taps x NV vectors
 * (dw) is updated with broadcasts, which keeps the accumulators in registers.
 * Forward and dinp sum over k ascending; dw sums each tile of DC_TILE pixels
 * in a register block, then adds the tiles in order (within each pixel range,
 * see dc_dw). No split depends on the thread count, so neither do the
 * results. The kernels are compiled per instruction set, with a·b + c
 * contracted into an FMA where the clone has it (SIMD_CLONES_FMA, simd.h). */
#include "convdirect.h"

#include <omp.h>
#include <string.h>

#include "simd.h"

#define DC_NV_MAX 4   /* vectors per register block (64 channels) */
#define DC_PB_MAX 12  /* pixels (forward) or taps (dw) per register block */
#define DC_TASK 24    /* pixels per forward task: a multiple of every block */
#define DC_TILE 128   /* pixels per dw tile */

/* Pixels (or taps) per register block for nv vectors: 12 to 24 accumulators. */
static SIMD_INLINE int dc_block(int nv)
{
    return nv == 1 ? 12 : nv == 2 ? 8 : 6;
}

/* One direct pass: input x (B, HP, WP, C), already padded; a KH x KW window
 * with strides (sh, sw) and dilation (dh, dw); output (B, OH, OW, N),
 * N % SIMD_VEC == 0. */
typedef struct {
    const float *x;
    int hp, wp, c, kh, kw, sh, sw, dh, dw, oh, ow, n;
    long pixels; /* B·OH·OW */
} dc_geom;

/* xw[i] = the window origin in x of output pixel p0 + i, i < n; pixels past
 * the last one get the last one's (a block past the end recomputes it and
 * does not store it). */
static SIMD_INLINE void dc_windows(const float **xw, const dc_geom *g, long p0, int n)
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
static SIMD_INLINE void dc_fwd_block(float *out, const dc_geom *g, long p0,
                                     const float *const *xw, const float *wt, const float *bias,
                                     const float *oscale, int accumulate, int v0, const int NV,
                                     const int PB)
{
    simd_vec acc[DC_PB_MAX][DC_NV_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < PB; j++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            if (bias)
                SIMD_LOAD(acc[j][v], bias + (v0 + v) * SIMD_VEC);
            else
                acc[j][v] = (simd_vec){0};
    }
    const float *wrow = wt + v0 * SIMD_VEC;
    for (int ky = 0; ky < g->kh; ky++)
        for (int kx = 0; kx < g->kw; kx++) {
            size_t off = ((size_t)ky * g->dh * g->wp + (size_t)kx * g->dw) * g->c;
            for (int ic = 0; ic < g->c; ic++, wrow += g->n) {
                simd_vec wv[DC_NV_MAX];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    SIMD_LOAD(wv[v], wrow + v * SIMD_VEC);
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
            float *o = out + (size_t)(p0 + j) * g->n + (v0 + v) * SIMD_VEC;
            if (oscale) {
                simd_vec sv;
                SIMD_LOAD(sv, oscale + (v0 + v) * SIMD_VEC);
                acc[j][v] *= sv;
            }
            if (accumulate) {
                simd_vec old;
                SIMD_LOAD(old, o);
                acc[j][v] += old;
            }
            SIMD_STORE(o, acc[j][v]);
        }
    }
}

/* Forward tasks [t0, t1): DC_TASK pixels each, every vector group. */
SIMD_CLONES_FMA
static void dc_fwd_tasks(float *out, const dc_geom *g, long t0, long t1, const float *wt,
                         const float *bias, const float *oscale, int accumulate)
{
    int nvec = g->n / SIMD_VEC;
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
#pragma omp parallel if (g->pixels * g->n * g->kh * g->kw * g->c > SIMD_PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        dc_fwd_tasks(out, g, tasks * t / nt, tasks * (t + 1) / nt, wt, bias, oscale, accumulate);
    }
}

/* Taps [k0, k0 + KB) (those below K stored) x vectors [v0, v0 + NV) over
 * the pixels of one tile (windows xw, dout rows d):
 *   dwt[k][n] += Σ_p x[xw[p] + off(k)] · d[p][n]   (p ascending) */
static SIMD_INLINE void dc_dw_block(float *dwt, const dc_geom *g, const float *const *xw,
                                    const float *d, int np, int k0, int v0, const int NV,
                                    const int KB)
{
    int kdim = g->kh * g->kw * g->c;
    size_t off[DC_PB_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < KB; j++) {
        int k = k0 + j < kdim ? k0 + j : kdim - 1;
        int ic = k % g->c, kx = k / g->c % g->kw, ky = k / g->c / g->kw;
        off[j] = ((size_t)ky * g->dh * g->wp + (size_t)kx * g->dw) * g->c + ic;
    }
    simd_vec acc[DC_PB_MAX][DC_NV_MAX];
#pragma GCC unroll 12
    for (int j = 0; j < KB; j++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[j][v] = (simd_vec){0};
    for (int p = 0; p < np; p++) {
        simd_vec dv[DC_NV_MAX];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            SIMD_LOAD(dv[v], d + (size_t)p * g->n + (v0 + v) * SIMD_VEC);
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
            float *o = dwt + (size_t)(k0 + j) * g->n + (v0 + v) * SIMD_VEC;
            simd_vec old;
            SIMD_LOAD(old, o);
            acc[j][v] += old;
            SIMD_STORE(o, acc[j][v]);
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
    int kdim = g->kh * g->kw * g->c, nvec = g->n / SIMD_VEC;
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
    int kdim = g->kh * g->kw * g->c, nvec = g->n / SIMD_VEC, tasks = 0;
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
SIMD_CLONES_FMA
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
#pragma omp parallel if (units > 1 && g->pixels * (long)part > SIMD_PAR_MIN)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        dc_dw_units(dwt, g, dout, tasks, splits, units * t / nt, units * (t + 1) / nt);
    }
    for (int sp = 1; sp < splits; sp++)
        for (size_t i = 0; i < part; i++)
            dwt[i] += dwt[(size_t)sp * part + i];
}

/* Padding of a pass, per side. */
typedef struct {
    int t, b, l, r;
} dc_pad;

/* dst (B, H + p.t + p.b, W + p.l + p.r, C) = src (B, H, W, C) with a border
 * of zeros. */
static void pad_copy(float *dst, const float *src, int b, int h, int w, int c, dc_pad p)
{
    int hp = h + p.t + p.b, wp = w + p.l + p.r;
    size_t row = (size_t)w * c;
#pragma omp parallel for if ((long)b * hp * wp * c > SIMD_PAR_MIN)
    for (int i = 0; i < b; i++) {
        float *d = dst + (size_t)i * hp * wp * c;
        const float *s = src + (size_t)i * h * row;
        memset(d, 0, sizeof(float) * (size_t)p.t * wp * c);
        for (int y = 0; y < h; y++) {
            float *dr = d + ((size_t)(y + p.t) * wp) * c;
            memset(dr, 0, sizeof(float) * (size_t)p.l * c);
            memcpy(dr + (size_t)p.l * c, s + (size_t)y * row, sizeof(float) * row);
            memset(dr + (size_t)(p.l + w) * c, 0, sizeof(float) * (size_t)p.r * c);
        }
        memset(d + (size_t)(p.t + h) * wp * c, 0, sizeof(float) * (size_t)p.b * wp * c);
    }
}

/* The padding of the input in the forward and dw passes. */
static dc_pad pad_input(const ly_conv_shape *s)
{
    return (dc_pad){s->pt, s->pb, s->pl, s->pr};
}

/* The padding of dout in the dinp pass: the effective kernel less one, less
 * the forward's pad on the same side. */
static dc_pad pad_dinp(const ly_conv_shape *s)
{
    int eh = (s->kh - 1) * s->dil_h + 1, ew = (s->kw - 1) * s->dil_w + 1;
    return (dc_pad){eh - 1 - s->pt, eh - 1 - s->pb, ew - 1 - s->pl, ew - 1 - s->pr};
}

/* The pass over the input (forward and dw): x is the input padded by
 * pad_input, set by the caller. */
static dc_geom geom_input(const ly_conv_shape *s)
{
    dc_pad p = pad_input(s);
    dc_geom g = {NULL, s->h + p.t + p.b, s->w + p.l + p.r, s->c, s->kh, s->kw, s->sh, s->sw,
                 s->dil_h, s->dil_w, s->oh, s->ow, s->oc, (long)s->b * s->oh * s->ow};
    return g;
}

/* The pass of the input gradient: over dout (B, OH, OW, OC) padded by
 * pad_dinp, stride 1, into (B, H, W, C); x set by the caller. */
static dc_geom geom_dinp(const ly_conv_shape *s)
{
    dc_pad p = pad_dinp(s);
    dc_geom g = {NULL, s->oh + p.t + p.b, s->ow + p.l + p.r, s->oc, s->kh, s->kw, 1, 1,
                 s->dil_h, s->dil_w, s->h, s->w, s->c, (long)s->b * s->h * s->w};
    return g;
}

/* Floats of the padded input (0 without padding: the input is used in place). */
static size_t input_pad_floats(const ly_conv_shape *s)
{
    dc_geom g = geom_input(s);
    return s->pt || s->pb || s->pl || s->pr ? (size_t)s->b * g.hp * g.wp * s->c : 0;
}

int dc_fits(const ly_conv_shape *s)
{
    return s->oc % SIMD_VEC == 0;
}

int dc_fits_dinp(const ly_conv_shape *s)
{
    dc_pad p = pad_dinp(s);
    return s->c % SIMD_VEC == 0 && s->sh == 1 && s->sw == 1 && p.t >= 0 && p.b >= 0 &&
           p.l >= 0 && p.r >= 0;
}

/* The padded input + wt (forward), or + the dwt partials (dw). */
size_t dc_scratch_floats(const ly_conv_shape *s)
{
    dc_geom g = geom_input(s);
    return input_pad_floats(s) + (size_t)s->kh * s->kw * s->c * s->oc * (size_t)dc_dw_splits(&g);
}

/* The padded dout + wf. */
size_t dc_scratch_dinp_floats(const ly_conv_shape *s)
{
    dc_geom g = geom_dinp(s);
    return (size_t)s->b * g.hp * g.wp * s->oc + (size_t)s->kh * s->kw * s->c * s->oc;
}

/* The geometry of the forward and dw over inp, padded into scratch when
 * needed; *rest = the scratch after it. */
static dc_geom dc_input(const float *inp, float *scratch, const ly_conv_shape *s, float **rest)
{
    dc_geom g = geom_input(s);
    g.x = inp;
    *rest = scratch;
    if (input_pad_floats(s)) {
        pad_copy(scratch, inp, s->b, s->h, s->w, s->c, pad_input(s));
        g.x = scratch;
        *rest = scratch + input_pad_floats(s);
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

void dc_conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                       const float *oscale, float *scratch, const ly_conv_shape *s)
{
    float *wt;
    dc_geom g = dc_input(inp, scratch, s, &wt);
    transpose(wt, w, s->oc, s->kh * s->kw * s->c); /* wt (K, OC) = wᵀ */
    dc_forward(out, &g, wt, bias, oscale, 0);
}

void dc_conv2d_dw(float *dw, const float *dout, const float *inp, float *scratch,
                  const ly_conv_shape *s)
{
    float *dwt;
    dc_geom g = dc_input(inp, scratch, s, &dwt);
    dc_dw(dwt, &g, dout); /* dwt (K, OC) */
    transpose_acc(dw, dwt, s->oc, s->kh * s->kw * s->c);
}

/* dinp = the stride-1 convolution of dout, padded by pad_dinp, with the
 * flipped kernel (channels swapped), dilated as the forward */
void dc_conv2d_dinp(float *dinp, const float *dout, const float *w, float *scratch,
                    const ly_conv_shape *s)
{
    dc_geom g = geom_dinp(s);
    float *dpad = scratch, *wf = scratch + (size_t)s->b * g.hp * g.wp * s->oc;
    pad_copy(dpad, dout, s->b, s->oh, s->ow, s->oc, pad_dinp(s));
    flip_kernel(wf, w, s);
    g.x = dpad;
    dc_forward(dinp, &g, wf, NULL, NULL, 1);
}
