#include "layers.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "convdirect.h"
#include "gemm.h"
#include "simd.h"

/* Channels are reduced in chunks of this many double accumulators on the stack. */
#define CHUNK 64

/* Checks s and derives oh, ow: the output-size rule of qmodel.h's q_window. */
static ly_conv_shape shape_derive(ly_conv_shape s)
{
    assert(s.b > 0 && s.h > 0 && s.w > 0 && s.c > 0 && s.oc > 0 && s.kh > 0 && s.kw > 0);
    assert(s.sh > 0 && s.sw > 0 && s.dil_h > 0 && s.dil_w > 0);
    int eh = (s.kh - 1) * s.dil_h + 1, ew = (s.kw - 1) * s.dil_w + 1;
    assert(s.pt >= 0 && s.pb >= 0 && s.pl >= 0 && s.pr >= 0);
    assert(s.pt < eh && s.pb < eh && s.pl < ew && s.pr < ew);
    assert(s.h + s.pt + s.pb >= eh && s.w + s.pl + s.pr >= ew);
    s.oh = (s.h + s.pt + s.pb - eh) / s.sh + 1;
    s.ow = (s.w + s.pl + s.pr - ew) / s.sw + 1;
    return s;
}

ly_conv_shape ly_conv_shape_make(int b, int h, int w, int c, int oc, int kh, int kw,
                                 int sh, int sw, int ph, int pw)
{
    ly_conv_shape s = {.b = b, .h = h, .w = w, .c = c, .oc = oc, .kh = kh, .kw = kw,
                       .sh = sh, .sw = sw, .dil_h = 1, .dil_w = 1,
                       .pt = ph, .pb = ph, .pl = pw, .pr = pw};
    return shape_derive(s);
}

ly_conv_shape ly_conv_shape_of(int b, q_shape in, int oc, const q_window *win)
{
    ly_conv_shape s = {.b = b, .h = in.h, .w = in.w, .c = in.c, .oc = oc,
                       .kh = win->kernel_h, .kw = win->kernel_w,
                       .sh = win->stride_h, .sw = win->stride_w,
                       .dil_h = win->dilation_h, .dil_w = win->dilation_w,
                       .pt = win->pad_top, .pb = win->pad_bottom,
                       .pl = win->pad_left, .pr = win->pad_right};
    return shape_derive(s);
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
#pragma omp parallel if (rows * cols > SIMD_PAR_MIN)
    {
        int c0, c1;
        my_channels(cols, &c0, &c1);
        for (int k0 = c0; k0 < c1; k0 += CHUNK) {
            int k1 = k0 + CHUNK < c1 ? k0 + CHUNK : c1;
            double acc[CHUNK] = {0};
            for (long r = 0; r < rows; r++) {
                const float *xr = x + r * cols;
                SIMD_LOOP
                for (int ch = k0; ch < k1; ch++)
                    acc[ch - k0] += xr[ch];
            }
            SIMD_LOOP
            for (int ch = k0; ch < k1; ch++)
                sum[ch] += (float)acc[ch - k0];
        }
    }
}

/* Fills every row of out (rows, cols) with bias (cols). */
static void fill_rows(float *out, const float *bias, long rows, int cols)
{
#pragma omp parallel for if (rows * cols > SIMD_PAR_MIN)
    for (long r = 0; r < rows; r++)
        memcpy(out + r * cols, bias, sizeof(float) * (size_t)cols);
}

/* ---- window geometry -------------------------------------------------------
 * Where a window reads its input: the one place that maps an output position
 * and a kernel tap to input coordinates, for conv2d (im2col), dwconv2d and
 * the pools. Coordinates may lie outside the input (in the padding). */

/* Input row of kernel row ky for output row oy. */
static SIMD_INLINE int in_row(const ly_conv_shape *s, int oy, int ky)
{
    return oy * s->sh - s->pt + ky * s->dil_h;
}

/* Input column of kernel column kx for output column ox. */
static SIMD_INLINE int in_col(const ly_conv_shape *s, int ox, int kx)
{
    return ox * s->sw - s->pl + kx * s->dil_w;
}

/* The taps k in [*k0, *k1) of a kernel of k_n taps, d apart, whose input
 * coordinate i0 + k·d lies in [0, n) (i0: the coordinate of tap 0). */
static SIMD_INLINE void valid_taps(int i0, int n, int k_n, int d, int *k0, int *k1)
{
    *k0 = i0 < 0 ? (-i0 + d - 1) / d : 0;                 /* first k with i0 + k·d >= 0 */
    *k1 = n - i0 <= 0 ? 0 : (n - i0 + d - 1) / d;         /* first k with i0 + k·d >= n */
    *k1 = *k1 < k_n ? *k1 : k_n;
    if (*k1 < *k0)
        *k1 = *k0;
}

/* The kernel rows ky in [*ky0, *ky1) that fall inside the input for output
 * row oy. */
static SIMD_INLINE void valid_ky(const ly_conv_shape *s, int oy, int *ky0, int *ky1)
{
    valid_taps(in_row(s, oy, 0), s->h, s->kh, s->dil_h, ky0, ky1);
}

/* The kernel columns kx in [*kx0, *kx1) that fall inside the input for output
 * column ox. Without dilation they are contiguous within one kernel row in
 * NHWC memory (and in a col row), so each kernel row is one copy of
 * (kx1 - kx0)·C floats. */
static SIMD_INLINE void valid_kx(const ly_conv_shape *s, int ox, int *kx0, int *kx1)
{
    valid_taps(in_col(s, ox, 0), s->w, s->kw, s->dil_w, kx0, kx1);
}

/* Offset of input pixel (b, iy, ix) in (B, H, W, C) (iy, ix may lie outside:
 * the caller reads only inside). */
static SIMD_INLINE ptrdiff_t in_at(const ly_conv_shape *s, int b, int iy, int ix)
{
    return (((ptrdiff_t)b * s->h + iy) * s->w + ix) * s->c;
}

/* Offset in the input of tap (ky, kx) of the window of output pixel
 * (b, oy, ox) (inside the input: the caller checks). */
static SIMD_INLINE ptrdiff_t in_tap(const ly_conv_shape *s, int b, int oy, int ox, int ky,
                                    int kx)
{
    return in_at(s, b, in_row(s, oy, ky), in_col(s, ox, kx));
}

/* Offset of output pixel (b, oy, ox) in (B, OH, OW, OC). */
static SIMD_INLINE size_t out_at(const ly_conv_shape *s, int b, int oy, int ox)
{
    return (((size_t)b * s->oh + oy) * s->ow + ox) * s->oc;
}

/* ---- conv2d ----------------------------------------------------------------
 * Three engines, chosen per pass by conv_engine_of alone:
 *   pointwise  a 1x1, stride 1, unpadded convolution is a GEMM on the input
 *              itself (no scratch);
 *   direct     convdirect.h: on the input in place, 16 output channels per
 *              vector, when the shape suits it;
 *   im2col     col = im2col(inp) over chunks of whole images, then a GEMM
 *              (the input gradient: a GEMM, then col2im). */

typedef enum { CONV_FORWARD, CONV_DW, CONV_DINP } conv_pass;
typedef enum { CONV_POINTWISE, CONV_DIRECT, CONV_IM2COL } conv_engine;

static int conv_is_pointwise(const ly_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pb == 0 &&
           s->pl == 0 && s->pr == 0;
}

/* How pass `pass` of a conv2d of shape s runs: the one place that chooses. */
static conv_engine conv_engine_of(const ly_conv_shape *s, conv_pass pass)
{
    if (conv_is_pointwise(s))
        return CONV_POINTWISE;
    if (pass == CONV_DINP ? dc_fits_dinp(s) : dc_fits(s))
        return CONV_DIRECT;
    return CONV_IM2COL;
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

/* One kernel row of a col row: dst[(kx, ic)] = inp[b, iy, in_col(ox, kx), ic]
 * for kx in [kx0, kx1) (inside), 0 elsewhere; iy outside the input: all 0.
 * dst (KW·C). */
static SIMD_INLINE void im2col_row(float *dst, const float *inp, const ly_conv_shape *s, int b,
                                   int iy, int ox, int kx0, int kx1)
{
    int c = s->c, end = s->kw * c;
    if (iy < 0 || iy >= s->h)
        kx0 = kx1 = s->kw;
    if (s->dil_w != 1) { /* taps apart: one copy of C floats each */
        for (int kx = 0; kx < s->kw; kx++) {
            float *d = dst + kx * c;
            if (kx < kx0 || kx >= kx1) {
                SIMD_LOOP
                for (int j = 0; j < c; j++)
                    d[j] = 0.0f;
            } else {
                const float *x = inp + in_at(s, b, iy, in_col(s, ox, kx));
                SIMD_LOOP
                for (int j = 0; j < c; j++)
                    d[j] = x[j];
            }
        }
        return;
    }
    int lo = kx0 * c, hi = kx1 * c;
    /* offset of kernel column 0 (may lie outside; only [lo, hi) is read) */
    ptrdiff_t at = in_at(s, b, iy, in_col(s, ox, 0));
    SIMD_LOOP
    for (int j = 0; j < lo; j++)
        dst[j] = 0.0f;
    SIMD_LOOP
    for (int j = lo; j < hi; j++)
        dst[j] = inp[at + j];
    SIMD_LOOP
    for (int j = hi; j < end; j++)
        dst[j] = 0.0f;
}

/* For images [b0, b0 + nb):
 * col[((b−b0),oy,ox)][(ky,kx,ic)] = inp[b, in_row(oy, ky), in_col(ox, kx), ic], 0 outside.
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
                for (int ky = 0; ky < s->kh; ky++)
                    im2col_row(crow + ky * s->kw * c, inp, s, b, in_row(s, oy, ky), ox, kx0,
                               kx1);
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
                    int iy = in_row(s, oy, ky);
                    if (iy < 0 || iy >= s->h)
                        continue;
                    const float *src = crow + ky * s->kw * c;
                    if (s->dil_w != 1) { /* taps apart: C floats each */
                        for (int kx = kx0; kx < kx1; kx++) {
                            float *dx = dinp + in_at(s, b, iy, in_col(s, ox, kx));
                            const float *sx = src + kx * c;
                            SIMD_LOOP
                            for (int j = 0; j < c; j++)
                                dx[j] += sx[j];
                        }
                        continue;
                    }
                    ptrdiff_t at = in_at(s, b, iy, in_col(s, ox, 0));
                    SIMD_LOOP
                    for (int j = kx0 * c; j < kx1 * c; j++)
                        dinp[at + j] += src[j];
                }
            }
        }
    }
}

/* Pass `pass` on a GEMM engine, chunk by chunk in image order: im2col (col
 * in scratch), or pointwise (col = inp itself, all images at once):
 *   CONV_FORWARD  res (B, OH, OW, OC) = col · wᵀ + beta · res
 *   CONV_DW       res (OC, K) += doutᵀ · col   (the chunks summed in order)
 *   CONV_DINP     res (B, H, W, C) += col2im(dout · w)
 * with K = KH·KW·C; inp (B, H, W, C), dout (B, OH, OW, OC), w (OC, K), each
 * read by the passes that need it. */
static void gemm_engine_pass(conv_pass pass, int pointwise, float *res, const float *inp,
                             const float *dout, const float *w, float beta, float *scratch,
                             const ly_conv_shape *s)
{
    int kdim = s->kh * s->kw * s->c, pix = s->oh * s->ow;
    int chunk = pointwise ? s->b : conv_chunk_images(s);
    for (int b0 = 0; b0 < s->b; b0 += chunk) {
        int nb = s->b - b0 < chunk ? s->b - b0 : chunk, m = nb * pix;
        size_t rows0 = (size_t)b0 * pix * s->oc; /* the chunk's rows in out and dout */
        const float *col = scratch;
        if (pointwise)
            col = inp + (size_t)b0 * pix * s->c;
        else if (pass != CONV_DINP)
            im2col(scratch, inp, s, b0, nb);
        switch (pass) {
        case CONV_FORWARD: /* out rows (m, OC) = col (m, K) · wᵀ */
            gemm_f32(0, 1, m, s->oc, kdim, 1.0f, col, kdim, w, kdim, beta, res + rows0, s->oc);
            break;
        case CONV_DW: /* dw (OC, K) += dout_cᵀ (OC, m) · col (m, K) */
            gemm_f32(1, 0, s->oc, kdim, m, 1.0f, dout + rows0, s->oc, col, kdim, 1.0f, res, kdim);
            break;
        case CONV_DINP: /* dcol (m, K) = dout_c (m, OC) · w (OC, K), then scattered back
                         * (pointwise: dinp (m, C) += dout_c · w directly) */
            if (pointwise) {
                gemm_f32(0, 0, m, s->c, s->oc, 1.0f, dout + rows0, s->oc, w, kdim, 1.0f,
                         res + (size_t)b0 * pix * s->c, s->c);
            } else {
                gemm_f32(0, 0, m, kdim, s->oc, 1.0f, dout + rows0, s->oc, w, kdim, 0.0f,
                         scratch, kdim);
                col2im_acc(res, scratch, s, b0, nb);
            }
            break;
        }
    }
}

/* Floats of scratch that pass `pass` needs. */
static size_t conv_scratch_floats(const ly_conv_shape *s, conv_pass pass)
{
    switch (conv_engine_of(s, pass)) {
    case CONV_POINTWISE:
        return 0;
    case CONV_DIRECT:
        return pass == CONV_DINP ? dc_scratch_dinp_floats(s) : dc_scratch_floats(s);
    case CONV_IM2COL:
        break;
    }
    return (size_t)conv_chunk_images(s) * conv_col_floats_per_image(s);
}

size_t ly_conv2d_scratch_floats(const ly_conv_shape *s)
{
    size_t most = 0;
    for (conv_pass pass = CONV_FORWARD; pass <= CONV_DINP; pass++) {
        size_t n = conv_scratch_floats(s, pass);
        most = n > most ? n : most;
    }
    return most;
}

/* Pass `pass` of a conv2d of shape s, on the engine conv_engine_of chooses:
 *   CONV_FORWARD  res = out (B, OH, OW, OC) = conv2d(inp, w, bias) · oscale
 *                 per channel (bias, oscale: NULL for none)
 *   CONV_DW       res = dw (OC, KH, KW, C) += the weight gradient of dout
 *   CONV_DINP     res = dinp (B, H, W, C) += the input gradient of dout
 * inp, dout, w: as ly_conv2d_backward, each read by the passes that need it. */
static void conv_run(conv_pass pass, float *res, const float *inp, const float *dout,
                     const float *w, const float *bias, const float *oscale, float *scratch,
                     const ly_conv_shape *s)
{
    conv_engine engine = conv_engine_of(s, pass);
    if (engine == CONV_DIRECT) {
        if (pass == CONV_FORWARD) /* it multiplies by oscale before it stores */
            dc_conv2d_forward(res, inp, w, bias, oscale, scratch, s);
        else if (pass == CONV_DW)
            dc_conv2d_dw(res, dout, inp, scratch, s);
        else
            dc_conv2d_dinp(res, dout, w, scratch, s);
        return;
    }
    long rows = (long)s->b * s->oh * s->ow;
    if (bias)
        fill_rows(res, bias, rows, s->oc);
    gemm_engine_pass(pass, engine == CONV_POINTWISE, res, inp, dout, w, bias ? 1.0f : 0.0f,
                     scratch, s);
    if (oscale) {
#pragma omp parallel for if (rows * s->oc > SIMD_PAR_MIN)
        for (long r = 0; r < rows; r++)
            for (int oc = 0; oc < s->oc; oc++)
                res[r * s->oc + oc] *= oscale[oc];
    }
}

void ly_conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                       float *scratch, const ly_conv_shape *s)
{
    conv_run(CONV_FORWARD, out, inp, NULL, w, bias, NULL, scratch, s);
}

void ly_conv2d_forward_scaled(float *out, const float *inp, const float *w, const float *oscale,
                              float *scratch, const ly_conv_shape *s)
{
    conv_run(CONV_FORWARD, out, inp, NULL, w, NULL, oscale, scratch, s);
}

/* out = col · wᵀ + bias  ⇒  dw += doutᵀ · col,  dbias += Σ_rows dout,
 *                           dinp += col2im(dout · w)
 * (dw and dinp each on the engine conv_engine_of chooses for it) */
void ly_conv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                        const float *inp, const float *w, float *scratch,
                        const ly_conv_shape *s)
{
    if (dbias)
        colsum_acc(dbias, dout, (long)s->b * s->oh * s->ow, s->oc);
    if (dw)
        conv_run(CONV_DW, dw, inp, dout, NULL, NULL, NULL, scratch, s);
    if (dinp)
        conv_run(CONV_DINP, dinp, NULL, dout, w, NULL, NULL, scratch, s);
}

/* ---- window sums (dwconv2d, avgpool) ---------------------------------------- */

/* o (OC) += Σ over the taps of output pixel (b, oy, ox) that lie inside the
 * input of w[ky,kx,o] · x[o / M] (w (KH, KW, OC), M = OC / C; NULL: weight 1
 * and OC = C), taps in order. */
static SIMD_INLINE void window_sum(float *o, const float *inp, const float *w,
                                   const ly_conv_shape *s, int b, int oy, int ox)
{
    int c = s->c, m = s->oc / s->c, ky0, ky1, kx0, kx1;
    valid_ky(s, oy, &ky0, &ky1);
    valid_kx(s, ox, &kx0, &kx1);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++) {
            const float *x = inp + in_tap(s, b, oy, ox, ky, kx);
            if (!w) {
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    o[ch] += x[ch];
                continue;
            }
            const float *wk = w + (ky * s->kw + kx) * s->oc;
            if (m == 1) {
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    o[ch] += wk[ch] * x[ch];
            } else { /* output ic·M + j reads input ic */
                for (int ic = 0; ic < c; ic++)
                    for (int j = 0; j < m; j++)
                        o[ic * m + j] += wk[ic * m + j] * x[ic];
            }
        }
}

/* The adjoint of window_sum: dinp[tap][ic] += Σ_j w[ky,kx,ic·M+j] · d[ic·M+j]
 * (w NULL: d[ic] · scale) for the same taps; d (OC). */
static SIMD_INLINE void window_scatter(float *dinp, const float *d, const float *w, float scale,
                                       const ly_conv_shape *s, int b, int oy, int ox)
{
    int c = s->c, m = s->oc / s->c, ky0, ky1, kx0, kx1;
    valid_ky(s, oy, &ky0, &ky1);
    valid_kx(s, ox, &kx0, &kx1);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++) {
            float *dx = dinp + in_tap(s, b, oy, ox, ky, kx);
            if (!w) {
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    dx[ch] += d[ch] * scale;
                continue;
            }
            const float *wk = w + (ky * s->kw + kx) * s->oc;
            if (m == 1) {
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    dx[ch] += wk[ch] * d[ch];
            } else {
                for (int ic = 0; ic < c; ic++)
                    for (int j = 0; j < m; j++)
                        dx[ic] += wk[ic * m + j] * d[ic * m + j];
            }
        }
}

/* ---- dwconv2d -------------------------------------------------------------- */

void ly_dwconv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                         const ly_conv_shape *s)
{
    assert(s->oc % s->c == 0);
    int oc = s->oc;
#pragma omp parallel for collapse(2)
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                float *o = out + out_at(s, b, oy, ox);
                SIMD_LOOP
                for (int ch = 0; ch < oc; ch++)
                    o[ch] = bias ? bias[ch] : 0.0f;
                window_sum(o, inp, w, s, b, oy, ox);
            }
        }
    }
}

/* out = Σ w·x + bias  ⇒  dinp += w·dout (threads own images),
 * dw[ky,kx,o] += Σ_{b,oy,ox} x[o / M]·dout[o] (threads own (tap, channel
 * chunk), double accumulation), dbias += Σ dout */
void ly_dwconv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                          const float *inp, const float *w, const ly_conv_shape *s)
{
    assert(s->oc % s->c == 0);
    int oc = s->oc, m = s->oc / s->c;
    if (dinp) {
#pragma omp parallel for
        for (int b = 0; b < s->b; b++)
            for (int oy = 0; oy < s->oh; oy++)
                for (int ox = 0; ox < s->ow; ox++)
                    window_scatter(dinp, dout + out_at(s, b, oy, ox), w, 1.0f, s, b, oy, ox);
    }
    if (dw) {
        int chunks = (oc + CHUNK - 1) / CHUNK, taps = s->kh * s->kw;
#pragma omp parallel for schedule(dynamic)
        for (int task = 0; task < taps * chunks; task++) {
            int tap = task / chunks, k0 = (task % chunks) * CHUNK;
            int k1 = k0 + CHUNK < oc ? k0 + CHUNK : oc;
            int ky = tap / s->kw, kx = tap % s->kw;
            double acc[CHUNK] = {0};
            for (int b = 0; b < s->b; b++) {
                for (int oy = 0; oy < s->oh; oy++) {
                    int iy = in_row(s, oy, ky);
                    if (iy < 0 || iy >= s->h)
                        continue;
                    for (int ox = 0; ox < s->ow; ox++) {
                        int ix = in_col(s, ox, kx);
                        if (ix < 0 || ix >= s->w)
                            continue;
                        const float *x = inp + in_at(s, b, iy, ix);
                        const float *d = dout + out_at(s, b, oy, ox);
                        if (m == 1) {
                            SIMD_LOOP
                            for (int ch = k0; ch < k1; ch++)
                                acc[ch - k0] += (double)x[ch] * d[ch];
                        } else {
                            for (int ch = k0; ch < k1; ch++)
                                acc[ch - k0] += (double)x[ch / m] * d[ch];
                        }
                    }
                }
            }
            SIMD_LOOP
            for (int ch = k0; ch < k1; ch++)
                dw[tap * oc + ch] += (float)acc[ch - k0];
        }
    }
    if (dbias)
        colsum_acc(dbias, dout, (long)s->b * s->oh * s->ow, oc);
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


/* ---- activations ----------------------------------------------------------- */

void ly_relu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

/* out = max(0, x)  ⇒  dinp += dout · [out > 0] */
void ly_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = dout[i]; /* loaded unconditionally: a select, not a branch */
        dinp[i] += out[i] > 0.0f ? d : 0.0f;
    }
}

void ly_relu6_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i] > 0.0f ? inp[i] : 0.0f;
        out[i] = x < 6.0f ? x : 6.0f;
    }
}

/* out = clamp(x, 0, 6)  ⇒  dinp += dout · [0 < out < 6] */
void ly_relu6_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = dout[i], y = out[i];
        dinp[i] += ((y > 0.0f) & (y < 6.0f)) ? d : 0.0f;
    }
}

/* ---- pools -----------------------------------------------------------------
 * Every window visits only its taps inside the input (valid_ky, valid_kx):
 * all of them without padding. */

int ly_pool_count(const ly_conv_shape *s, int oy, int ox)
{
    int ky0, ky1, kx0, kx1;
    valid_ky(s, oy, &ky0, &ky1);
    valid_kx(s, ox, &kx0, &kx1);
    return (ky1 - ky0) * (kx1 - kx0);
}

/* *mx = the maximum over the window of output pixel (b, oy, ox), per lane, of
 * the vector at channel v (o = x > o ? x : o, taps in order). */
static SIMD_INLINE void window_max_vec(simd_vec *mx, const float *inp, const ly_conv_shape *s,
                                       int b, int oy, int ox, int v)
{
    int ky0, ky1, kx0, kx1;
    valid_ky(s, oy, &ky0, &ky1);
    valid_kx(s, ox, &kx0, &kx1);
    simd_vec m, x;
    SIMD_LOAD(m, inp + in_tap(s, b, oy, ox, ky0, kx0) + v);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = ky == ky0 ? kx0 + 1 : kx0; kx < kx1; kx++) {
            SIMD_LOAD(x, inp + in_tap(s, b, oy, ox, ky, kx) + v);
            m = SIMD_SELECT(x > m, x, m);
        }
    *mx = m;
}

/* mx[j] = the maximum over the window of output pixel (b, oy, ox) of channel
 * k0 + j, j < kn (taps in order). */
static SIMD_INLINE void window_max(float *mx, const float *inp, const ly_conv_shape *s, int b,
                                   int oy, int ox, int k0, int kn)
{
    int ky0, ky1, kx0, kx1;
    valid_ky(s, oy, &ky0, &ky1);
    valid_kx(s, ox, &kx0, &kx1);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = kx0; kx < kx1; kx++) {
            const float *x = inp + in_tap(s, b, oy, ox, ky, kx) + k0;
            if (ky == ky0 && kx == kx0) {
                SIMD_LOOP
                for (int j = 0; j < kn; j++)
                    mx[j] = x[j];
            } else {
                SIMD_LOOP
                for (int j = 0; j < kn; j++)
                    mx[j] = x[j] > mx[j] ? x[j] : mx[j];
            }
        }
}

/* Image b of ly_maxpool_forward. */
SIMD_CLONES
static void maxpool_image(float *out, const float *inp, const ly_conv_shape *s, int b)
{
    int c = s->c;
    if (c % SIMD_VEC == 0) { /* whole vectors: o = x > o ? x : o per lane */
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int v = 0; v < c; v += SIMD_VEC) {
                    simd_vec o;
                    window_max_vec(&o, inp, s, b, oy, ox, v);
                    SIMD_STORE(out + out_at(s, b, oy, ox) + v, o);
                }
        return;
    }
    for (int oy = 0; oy < s->oh; oy++)
        for (int ox = 0; ox < s->ow; ox++)
            window_max(out + out_at(s, b, oy, ox), inp, s, b, oy, ox, 0, c);
}

/* A pool's shape: as many outputs as inputs per pixel, no dilation. */
static int pool_shape_ok(const ly_conv_shape *s)
{
    return s->oc == s->c && s->dil_h == 1 && s->dil_w == 1;
}

void ly_maxpool_forward(float *out, const float *inp, const ly_conv_shape *s)
{
    assert(pool_shape_ok(s));
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > SIMD_PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_image(out, inp, s, b);
}

/* Image b of ly_maxpool_backward(_set): per chunk of channels, the window
 * maximum, then a scan in window order that routes dout to the first element
 * equal to it (branch-free, along channels). With set (windows that do not
 * overlap), the image's dinp is written: zeros first where no window or a
 * window's other elements lie. */
static SIMD_INLINE void
maxpool_backward_body(float *dinp, const float *dout, const float *inp, const ly_conv_shape *s,
                      int b, const int set)
{
    int c = s->c, ky0, ky1, kx0, kx1;
    if (set && (s->oh * s->sh != s->h || s->ow * s->sw != s->w || s->sh != s->kh ||
                s->sw != s->kw || s->pt || s->pb || s->pl || s->pr))
        /* some elements may lie in no window */
        memset(dinp + (size_t)b * s->h * s->w * c, 0, sizeof(float) * (size_t)s->h * s->w * c);
    if (c % SIMD_VEC == 0) { /* whole vectors, the same steps per lane */
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int v = 0; v < c; v += SIMD_VEC) {
                    simd_vec mx, x, left, old;
                    window_max_vec(&mx, inp, s, b, oy, ox, v);
                    SIMD_LOAD(left, dout + out_at(s, b, oy, ox) + v);
                    valid_ky(s, oy, &ky0, &ky1);
                    valid_kx(s, ox, &kx0, &kx1);
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) {
                            float *at = dinp + in_tap(s, b, oy, ox, ky, kx) + v;
                            SIMD_LOAD(x, inp + (at - dinp));
                            /* g = left at the first maximum, else +0 */
                            simd_vec zero = {0}, g = SIMD_SELECT(x == mx, left, zero);
                            left -= g;
                            if (set) {
                                g += 0.0f; /* −0 becomes +0, as 0 + g */
                            } else {
                                SIMD_LOAD(old, at);
                                g += old;
                            }
                            SIMD_STORE(at, g);
                        }
                }
        return;
    }
    for (int oy = 0; oy < s->oh; oy++) {
        for (int ox = 0; ox < s->ow; ox++) {
            const float *d = dout + out_at(s, b, oy, ox);
            for (int k0 = 0; k0 < c; k0 += CHUNK) {
                int kn = c - k0 < CHUNK ? c - k0 : CHUNK;
                float mx[CHUNK], left[CHUNK]; /* left: gradient not yet routed */
                window_max(mx, inp, s, b, oy, ox, k0, kn);
                SIMD_LOOP
                for (int j = 0; j < kn; j++)
                    left[j] = d[k0 + j];
                valid_ky(s, oy, &ky0, &ky1);
                valid_kx(s, ox, &kx0, &kx1);
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++) {
                        size_t at = (size_t)in_tap(s, b, oy, ox, ky, kx) + k0;
                        SIMD_LOOP
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

SIMD_CLONES
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
    assert(pool_shape_ok(s));
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > SIMD_PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_backward_image(dinp, dout, inp, s, b, 0);
}

void ly_maxpool_backward_set(float *dinp, const float *dout, const float *inp,
                             const ly_conv_shape *s)
{
    assert(pool_shape_ok(s));
    assert(s->sh >= s->kh && s->sw >= s->kw);
#pragma omp parallel for if ((long)s->b * s->h * s->w * s->c > SIMD_PAR_MIN)
    for (int b = 0; b < s->b; b++)
        maxpool_backward_image(dinp, dout, inp, s, b, 1);
}

void ly_avgpool_forward(float *out, const float *inp, const ly_conv_shape *s)
{
    assert(pool_shape_ok(s));
    int c = s->c;
#pragma omp parallel for collapse(2)
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                float *o = out + out_at(s, b, oy, ox);
                float inv = 1.0f / (float)ly_pool_count(s, oy, ox);
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    o[ch] = 0.0f;
                window_sum(o, inp, NULL, s, b, oy, ox);
                SIMD_LOOP
                for (int ch = 0; ch < c; ch++)
                    o[ch] *= inv;
            }
        }
    }
}

/* out = Σ window / n  ⇒  dinp[window] += dout / n (threads own images) */
void ly_avgpool_backward(float *dinp, const float *dout, const ly_conv_shape *s)
{
    assert(pool_shape_ok(s));
#pragma omp parallel for
    for (int b = 0; b < s->b; b++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                float inv = 1.0f / (float)ly_pool_count(s, oy, ox);
                window_scatter(dinp, dout + out_at(s, b, oy, ox), NULL, inv, s, b, oy, ox);
            }
}

/* Q = round_half_away(Σ q / n) on the input's grid, per output element */
void ly_avgpool_grid_forward(float *out, const float *inp, float scale, int32_t zp, int32_t qmin,
                             int32_t qmax, const ly_conv_shape *s)
{
    assert(pool_shape_ok(s));
    int c = s->c;
    float inv = 1.0f / scale; /* as the fake quantizer computes q − zp = round(x / s) */
#pragma omp parallel for collapse(2) if ((long)s->b * s->h * s->w * c > SIMD_PAR_MIN)
    for (int b = 0; b < s->b; b++) {
        for (int oy = 0; oy < s->oh; oy++) {
            for (int ox = 0; ox < s->ow; ox++) {
                int ky0, ky1, kx0, kx1;
                valid_ky(s, oy, &ky0, &ky1);
                valid_kx(s, ox, &kx0, &kx1);
                int32_t n = (ky1 - ky0) * (kx1 - kx0);
                float *o = out + out_at(s, b, oy, ox);
                for (int k0 = 0; k0 < c; k0 += CHUNK) {
                    int kn = c - k0 < CHUNK ? c - k0 : CHUNK;
                    int32_t acc[CHUNK] = {0};
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) {
                            const float *x = inp + in_tap(s, b, oy, ox, ky, kx) + k0;
                            for (int j = 0; j < kn; j++) /* q = round(x / s) + zp */
                                acc[j] += (int32_t)lrintf(x[j] * inv) + zp;
                        }
                    for (int j = 0; j < kn; j++) {
                        /* half away from zero, as the int8 kernel divides */
                        int32_t q = acc[j] > 0 ? (acc[j] + n / 2) / n : (acc[j] - n / 2) / n;
                        q = q < qmin ? qmin : q > qmax ? qmax : q;
                        o[k0 + j] = (float)(q - zp) * scale;
                    }
                }
            }
        }
    }
}

void ly_global_avgpool_forward(float *out, const float *inp, int b, int hw, int c)
{
    float inv = 1.0f / (float)hw;
#pragma omp parallel for if ((long)b * hw * c > SIMD_PAR_MIN)
    for (int i = 0; i < b; i++) {
        float *o = out + (size_t)i * c;
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++)
            o[ch] = 0.0f;
        for (int p = 0; p < hw; p++) {
            const float *x = inp + ((size_t)i * hw + p) * c;
            SIMD_LOOP
            for (int ch = 0; ch < c; ch++)
                o[ch] += x[ch];
        }
        SIMD_LOOP
        for (int ch = 0; ch < c; ch++)
            o[ch] *= inv;
    }
}

/* out = Σ_hw x / hw  ⇒  dinp += dout / hw */
void ly_global_avgpool_backward(float *dinp, const float *dout, int b, int hw, int c)
{
    float inv = 1.0f / (float)hw;
#pragma omp parallel for if ((long)b * hw * c > SIMD_PAR_MIN)
    for (int i = 0; i < b; i++) {
        const float *d = dout + (size_t)i * c;
        for (int p = 0; p < hw; p++) {
            float *dx = dinp + ((size_t)i * hw + p) * c;
            SIMD_LOOP
            for (int ch = 0; ch < c; ch++)
                dx[ch] += d[ch] * inv;
        }
    }
}

/* ---- add ------------------------------------------------------------------- */

void ly_add_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* out = a + b  ⇒  da += dout, db += dout */
void ly_add_backward(float *da, float *db, const float *dout, size_t n)
{
    if (da) {
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
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

void ly_softmax_forward(float *out, const float *inp, int rows, int k)
{
#pragma omp parallel for if ((long)rows * k > SIMD_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const float *x = inp + (size_t)r * k;
        float *o = out + (size_t)r * k;
        float mx = x[0];
        for (int j = 1; j < k; j++)
            mx = x[j] > mx ? x[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            o[j] = expf(x[j] - mx);
            sum += o[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < k; j++)
            o[j] *= inv;
    }
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
