/* convdirect — the direct convolution engine: conv2d forward, weight
 * gradient and input gradient computed on the NHWC input in place (zero-padded
 * into scratch when the convolution pads, on any side), 16 output channels per
 * vector, any dilation.
 *
 * For the shapes of small CNNs (a few dozen channels, 3x3 kernels) im2col
 * costs as much as the GEMM itself: it writes KH·KW copies of the input,
 * which the BLAS then packs once more. This engine reads the input where it
 * is. Layouts and sums are those of layers.h's conv2d; ly_conv2d_* (layers.c)
 * decides which shapes come here (its conv_engine_of), so a caller of the
 * layers never calls this module itself.
 *
 * Every result is bit-identical for any thread count: no split of the work
 * depends on it (convdirect.c). The clones with FMA (simd.h) round a·b + c
 * once where baseline x86-64 rounds twice.
 */
#ifndef QATC_CONVDIRECT_H
#define QATC_CONVDIRECT_H

#include <stddef.h>

#include "layers.h"

/* Whether the engine computes the forward and the weight gradient of s:
 * OC % 16 == 0. */
int dc_fits(const ly_conv_shape *s);

/* Whether it computes the input gradient of s (as the stride-1 convolution
 * of dout with the flipped kernel): C % 16 == 0, stride 1, and pads that
 * leave the flipped kernel a pad >= 0 (each pad below the effective kernel
 * (K − 1)·dilation + 1, as every resolved window has). */
int dc_fits_dinp(const ly_conv_shape *s);

/* Floats of scratch that dc_conv2d_forward and dc_conv2d_dw need (the padded
 * input, then wᵀ or the partial sums of dw). */
size_t dc_scratch_floats(const ly_conv_shape *s);

/* Floats of scratch that dc_conv2d_dinp needs (dout padded by the effective
 * kernel less one less the forward's pad on each side, then the flipped
 * kernel). */
size_t dc_scratch_dinp_floats(const ly_conv_shape *s);

/* out[b,oy,ox,oc] = (bias[oc] + Σ_{ky,kx,ic} w[oc,ky,kx,ic] · inp[..]) · oscale[oc]
 * (bias, oscale: NULL for none; the multiply happens before the store).
 * out (B, OH, OW, OC) written; inp (B, H, W, C); w (OC, KH, KW, C);
 * scratch dc_scratch_floats(s). dc_fits(s). */
void dc_conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                       const float *oscale, float *scratch, const ly_conv_shape *s);

/* dw[oc][ky,kx,ic] += Σ_{b,oy,ox} dout[b,oy,ox,oc] · inp[b, iy, ix, ic]
 * dw (OC, KH, KW, C); dout (B, OH, OW, OC); inp (B, H, W, C);
 * scratch dc_scratch_floats(s). dc_fits(s). */
void dc_conv2d_dw(float *dw, const float *dout, const float *inp, float *scratch,
                  const ly_conv_shape *s);

/* dinp[b,iy,ix,ic] += Σ_{oc,ky,kx} w[oc,ky,kx,ic] · dout[b,oy,ox,oc] over the
 * outputs whose window holds (iy, ix). dinp (B, H, W, C); dout (B, OH, OW,
 * OC); w (OC, KH, KW, C); scratch dc_scratch_dinp_floats(s).
 * dc_fits_dinp(s). */
void dc_conv2d_dinp(float *dinp, const float *dout, const float *w, float *scratch,
                    const ly_conv_shape *s);

#endif
