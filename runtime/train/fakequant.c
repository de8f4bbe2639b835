/* fakequant — fake quantization forward and STE backward (see fakequant.h). */
#include "fakequant.h"

#include <stddef.h>

#include "simd.h"

/* Adding and subtracting 1.5 * 2^23 rounds a float with |t| < 2^22 to an
 * integer in the current rounding mode (to nearest, ties to even), which is
 * what nearbyint does, without a libm call in the hot loop. */
#define FQ_ROUND_MAGIC 12582912.0f

float fq_round_half_even(float t)
{
    return (t + FQ_ROUND_MAGIC) - FQ_ROUND_MAGIC;
}

/* One element: t = x / s relative to the zero-point, clamped first to one
 * step beyond the range on each side (so rounding stays exact and NaN goes to
 * the low side), then rounded. lo_rel = qmin - zp, hi_rel = qmax - zp. */
static inline float fq_one(float x, float inv_s, float s, float lo_rel, float hi_rel,
                           uint8_t *pass)
{
    float t = x * inv_s;
    t = t >= lo_rel - 1.0f ? t : lo_rel - 1.0f;
    t = t > hi_rel + 1.0f ? hi_rel + 1.0f : t;
    float r = (t + FQ_ROUND_MAGIC) - FQ_ROUND_MAGIC;
    *pass = (uint8_t)((r >= lo_rel) & (r <= hi_rel)); /* no branch: the loop vectorizes */
    r = r < lo_rel ? lo_rel : r;
    r = r > hi_rel ? hi_rel : r;
    return r * s; /* real = s · (q − zp), r = q − zp */
}

float fq_value(float x, fq_params p, int *in_range)
{
    uint8_t pass;
    float y = fq_one(x, 1.0f / p.scale, p.scale, (float)(p.qmin - p.zero_point),
                     (float)(p.qmax - p.zero_point), &pass);
    if (in_range)
        *in_range = pass;
    return y;
}

/* Large tensors are cut into chunks of SIMD_CHUNK elements spread over the
 * OpenMP threads; each chunk runs a cloned SIMD kernel (simd.h). */

/* mode 0: mask = pass (or no mask when NULL); mode 1: mask &= pass */
SIMD_CLONES
static void fq_chunk(const float *x, int64_t n, float s, float inv_s, float lo, float hi,
                     float *y, uint8_t *mask, int mode)
{
    if (!mask) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            uint8_t pass;
            y[i] = fq_one(x[i], inv_s, s, lo, hi, &pass);
        }
    } else if (mode == 0) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            y[i] = fq_one(x[i], inv_s, s, lo, hi, &mask[i]);
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) {
            uint8_t pass;
            y[i] = fq_one(x[i], inv_s, s, lo, hi, &pass);
            mask[i] &= pass;
        }
    }
}

static void fq_run(const float *x, int64_t n, fq_params p, float *y, uint8_t *mask, int mode)
{
    const float s = p.scale, inv_s = 1.0f / p.scale;
    const float lo = (float)(p.qmin - p.zero_point), hi = (float)(p.qmax - p.zero_point);
    int64_t chunks = (n + SIMD_CHUNK - 1) / SIMD_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t at = k * SIMD_CHUNK, len = n - at < SIMD_CHUNK ? n - at : SIMD_CHUNK;
        fq_chunk(x + at, len, s, inv_s, lo, hi, y + at, mask ? mask + at : NULL, mode);
    }
}

void fq_forward_f32(const float *x, int64_t n, fq_params p, float *y, uint8_t *mask)
{
    fq_run(x, n, p, y, mask, 0);
}

void fq_forward_and_mask_f32(const float *x, int64_t n, fq_params p, float *y,
                             uint8_t *mask)
{
    fq_run(x, n, p, y, mask, 1);
}

void fq_forward_channels_f32(const float *x, int32_t n_channels, int64_t per_channel,
                             int64_t ch_stride, int64_t el_stride, const float *scale,
                             int32_t qmax, float *y, uint8_t *mask)
{
    const float hi = (float)qmax;
    for (int32_t c = 0; c < n_channels; c++) {
        const float s = scale[c], inv_s = 1.0f / scale[c];
        for (int64_t i = 0; i < per_channel; i++) {
            int64_t at = c * ch_stride + i * el_stride;
            uint8_t pass;
            y[at] = fq_one(x[at], inv_s, s, -hi, hi, &pass);
            if (mask)
                mask[at] = pass;
        }
    }
}

void fq_quantize_channels_s8(const float *x, int32_t n_channels, int64_t per_channel,
                             int64_t ch_stride, int64_t el_stride, const float *scale,
                             int32_t qmax, int8_t *q)
{
    const float hi = (float)qmax;
    for (int32_t c = 0; c < n_channels; c++) {
        const float inv_s = 1.0f / scale[c];
        for (int64_t i = 0; i < per_channel; i++) {
            int64_t at = c * ch_stride + i * el_stride;
            uint8_t pass;
            q[at] = (int8_t)fq_one(x[at], inv_s, 1.0f, -hi, hi, &pass); /* r = q − 0 */
        }
    }
}

SIMD_CLONES
static void fq_backward_chunk(const float *dy, const uint8_t *mask, int64_t n, float *dx,
                              int accumulate)
{
    if (accumulate) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            dx[i] += mask[i] ? dy[i] : 0.0f;
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            dx[i] = mask[i] ? dy[i] : 0.0f;
    }
}

void fq_backward_f32(const float *dy, const uint8_t *mask, int64_t n, float *dx,
                     int accumulate)
{
    int64_t chunks = (n + SIMD_CHUNK - 1) / SIMD_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t at = k * SIMD_CHUNK, len = n - at < SIMD_CHUNK ? n - at : SIMD_CHUNK;
        fq_backward_chunk(dy + at, mask + at, len, dx + at, accumulate);
    }
}
