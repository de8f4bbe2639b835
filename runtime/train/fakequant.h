/* fakequant — fake quantization with the straight-through estimator (STE).
 *
 * PyTorch eager-mode semantics (torch.fake_quantize_per_tensor_affine and
 * its per-channel twin, the "cachemask" kernels):
 *
 *   inv_s = 1.0f / s                       (float, as torch computes it)
 *   r     = nearbyint(x * inv_s) + zp      (round half to even)
 *   q     = clamp(r, qmin, qmax)
 *   y     = (q - zp) * s
 *   mask  = qmin <= r <= qmax               (the rounded, unclamped value)
 *
 * Backward (STE): dx = dy where mask, 0 elsewhere. A value that rounds onto
 * qmax still passes its gradient; one that rounds one step beyond does not.
 *
 * Activations use [-128, 127] with a per-tensor scale and zero-point;
 * weights [-127, 127], zero-point 0, a scale per output channel or per
 * tensor (observer.h computes the parameters).
 *
 * Large tensors are split over OpenMP threads; every element is computed on
 * its own, so results do not depend on the thread count.
 */
#ifndef QATC_FAKEQUANT_H
#define QATC_FAKEQUANT_H

#include <stdint.h>

typedef struct {
    float scale;       /* > 0 */
    int32_t zero_point;
    int32_t qmin, qmax; /* qmin <= zero_point <= qmax */
} fq_params;

/* Fake-quantizes x[0..n) into y (y may equal x) and stores the STE mask
 * (1 = gradient passes) when mask is not NULL. */
void fq_forward_f32(const float *x, int64_t n, fq_params p, float *y, uint8_t *mask);

/* The same, but ANDs the STE mask into mask (mask[i] &= in range): for a
 * fake quantizer behind an activation whose own mask is already there. */
void fq_forward_and_mask_f32(const float *x, int64_t n, fq_params p, float *y,
                             uint8_t *mask);

/* Per-channel fake quantization with symmetric weights (zero-point 0,
 * [qmin, qmax] = [-qmax, qmax]). Element i of channel c is
 * x[c * ch_stride + i * el_stride] for i in [0, per_channel):
 *   OHWI conv / linear weights: ch_stride = per_channel, el_stride = 1;
 *   HWC depthwise weights:      ch_stride = 1, el_stride = n_channels.
 * scale: (n_channels). y and mask use the same layout as x. */
void fq_forward_channels_f32(const float *x, int32_t n_channels, int64_t per_channel,
                             int64_t ch_stride, int64_t el_stride, const float *scale,
                             int32_t qmax, float *y, uint8_t *mask);

/* y = fq(x)  ⇒  dx += dy · mask (STE). dx may equal dy only when the caller
 * wants dx = dy · mask in place: then pass accumulate = 0. With accumulate = 1
 * the masked gradient is added to dx. */
void fq_backward_f32(const float *dy, const uint8_t *mask, int64_t n, float *dx,
                     int accumulate);

/* The int8 codes of symmetric per-channel weights (same layout and rounding
 * as fq_forward_channels_f32): q = clamp(nearbyint(x / s[c]), -qmax, qmax). */
void fq_quantize_channels_s8(const float *x, int32_t n_channels, int64_t per_channel,
                             int64_t ch_stride, int64_t el_stride, const float *scale,
                             int32_t qmax, int8_t *q);

/* The single-value forms, for tests and for callers that fake-quantize one
 * number (e.g. a clamp bound). fq_round_half_even is nearbyint in the default
 * rounding mode, for |t| < 2^22. */
float fq_round_half_even(float t);
float fq_value(float x, fq_params p, int *in_range);

#endif
