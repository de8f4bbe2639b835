/* layers — float32 training layers, forward and backward side by side
 * (llm.c style). The QAT trainer (fake quantization, fused conv+BN, the
 * network graph) is built on top of these. Batch norm is batchnorm.h's; the
 * direct convolution engine behind conv2d is convdirect.h's.
 *
 * Layouts (the same as the int8 model, runtime/int8/qmodel.h, so that conversion
 * is a copy):
 *   activations  NHWC   (B, H, W, C), contiguous
 *   conv2d       OHWI   (OC, KH, KW, IC)
 *   dwconv2d     HWC    (KH, KW, C·M), channel multiplier M (output channel
 *                       ic·M + m reads input channel ic, TFLite's order)
 *   linear              (OUT, IN)
 *
 * Flatten is a no-op: an NHWC tensor (B, H, W, C) in memory IS the (B, H*W*C)
 * matrix in the order the int8 model flattens (index (h*W + w)*C + c), so a
 * linear layer reads it directly and there is no flatten function.
 *
 * Conventions:
 *   - forward overwrites its output; it may not alias the input unless the
 *     function says so (relu, relu6 and add may run in place).
 *   - backward comes right after its forward. Arguments: the gradients it
 *     writes first (dinp, dweight, dbias, as llm.c), then the output gradient
 *     dout, then what the forward read. It ACCUMULATES (+=) into dinp, dweight
 *     and dbias, so the caller zeroes all gradients once per step (and a
 *     tensor read by two layers gets the sum). Any of dinp / dweight / dbias
 *     may be NULL to skip it (e.g. dinp of the first layer). The one exception
 *     are the losses (ly_softmax_xent, ly_mse), which write (=) the gradient of
 *     the last tensor: they start backpropagation.
 *   - nothing allocates; the caller passes scratch (sizes documented below).
 *   - nothing fails: shapes are the caller's responsibility (programmer
 *     errors are assertions).
 *
 * Threads (OpenMP; gemm_set_threads sets the count): linear layers and
 * the convolutions that the direct kernels do not take go through gemm_f32
 * (gemm.h); the other loops are split over images, rows, channels or fixed
 * tasks so that every output element is computed in a fixed order. With
 * gemm.h's thread-independent slicing, every result is bit-identical for any
 * thread count (tested); the GEMM backend (OpenBLAS core or portable) and the
 * instruction set of the direct kernels (FMA or not) change the last bits.
 * Reductions over the batch (bias, dwconv weight gradients) accumulate in
 * double.
 */
#ifndef QATC_LAYERS_H
#define QATC_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "qmodel.h"
#include "rng.h"

/* Geometry of a convolution or pooling window (qmodel.h's q_window in the
 * layers' terms). Output row oy reads input rows
 *   oy·sh − pt + ky·dil_h,  ky = 0 .. KH − 1
 * (columns likewise with sw, pl, dil_w); rows and columns outside the input
 * are padding: zero for the convolutions, left out by the pools. With the
 * effective kernel (KH − 1)·dil_h + 1, per axis:
 *   oh = (h + pt + pb − ((KH − 1)·dil_h + 1)) / sh + 1   (floor)
 * Pools have oc = c and dilation 1; a dwconv2d with channel multiplier M has
 * oc = c·M (output channel ic·M + m reads input channel ic). */
typedef struct {
    int b, h, w, c;          /* input (B, H, W, C) */
    int oc;                  /* output channels: conv2d any, dwconv2d C·M, pools C */
    int kh, kw, sh, sw;      /* kernel, stride */
    int dil_h, dil_w;        /* dilation (1: taps next to each other) */
    int pt, pb, pl, pr;      /* padding: top, bottom, left, right */
    int oh, ow;              /* derived by ly_conv_shape_make / ly_conv_shape_of */
} ly_conv_shape;

/* Fills a ly_conv_shape with the same padding on both sides of each axis (ph
 * top and bottom, pw left and right) and dilation 1, and derives oh, ow.
 * Asserts that the kernel fits the padded input and every size is positive. */
ly_conv_shape ly_conv_shape_make(int b, int h, int w, int c, int oc, int kh, int kw,
                                 int sh, int sw, int ph, int pw);

/* The ly_conv_shape of window win (qmodel.h, resolved: no defaults, the four
 * pads explicit) over b images of shape in, with oc output channels (in.c for
 * pools, in.c·M for a dwconv2d with multiplier M): where the trainer's layers
 * take the model's geometry. Asserts what ly_conv_shape_make does, and each
 * pad below the effective kernel. */
ly_conv_shape ly_conv_shape_of(int b, q_shape in, int oc, const q_window *win);

/* ---- conv2d ----------------------------------------------------------------
 * out[b,oy,ox,oc] = bias[oc] + sum_{ky,kx,ic} w[oc,ky,kx,ic] *
 *                   inp[b, oy*sh - pt + ky*dil_h, ox*sw - pl + kx*dil_w, ic]
 * (0 outside the input). Each pass (forward, weight gradient, input gradient)
 * runs on one of three engines, chosen from the shape alone (layers.c:
 * conv_engine_of): a 1x1, stride 1, unpadded convolution is a GEMM on the
 * input itself; with OC % 16 == 0 (the input gradient: C % 16 == 0 and
 * stride 1) the direct engine (convdirect.h) computes it on the zero-padded
 * input, 16 output channels per vector, any padding and dilation; otherwise
 * im2col + GEMM, over chunks of whole
 * images: col (n*OH*OW, KH*KW*IC) for n images at a time, out rows =
 * col · wᵀ. n is chosen from the shape alone (col up to about 1M floats, at
 * least one image), which bounds the scratch and the number of GEMM calls.
 * scratch: ly_conv2d_scratch_floats(s) floats (0 for a 1x1, stride 1, pad 0
 * convolution, which uses the input as col directly; NULL is fine then).
 * The same scratch serves forward and backward and may be shared by all
 * layers (take the largest); its content between calls does not matter. */
size_t ly_conv2d_scratch_floats(const ly_conv_shape *s);

/* out (B, OH, OW, OC); inp (B, H, W, C); w (OC, KH, KW, C); bias (OC) or NULL
 * (= zero); scratch (see above). */
void ly_conv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                      float *scratch, const ly_conv_shape *s);

/* Without bias, each output channel times a factor (QAT's z = conv / sf):
 *   out[b,oy,ox,oc] = conv2d(inp, w)[b,oy,ox,oc] · oscale[oc]
 * bit-identical to ly_conv2d_forward followed by the multiply, which the
 * direct kernels do before they store. oscale (OC); the rest as forward. */
void ly_conv2d_forward_scaled(float *out, const float *inp, const float *w, const float *oscale,
                             float *scratch, const ly_conv_shape *s);

/* out = col · wᵀ + bias  ⇒  dw += doutᵀ · col,  dbias += Σ_rows dout,
 *                           dcol = dout · w,  dinp += col2im(dcol)
 * dinp (B, H, W, C) or NULL; dw (OC, KH, KW, C) or NULL; dbias (OC) or NULL;
 * dout (B, OH, OW, OC); inp, w as in forward; scratch as in forward. */
void ly_conv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, float *scratch,
                       const ly_conv_shape *s);

/* ---- dwconv2d (depthwise, channel multiplier M = s->oc / s->c) -------------
 * out[b,oy,ox,o] = bias[o] + sum_{ky,kx} w[ky,kx,o] *
 *                  inp[b, oy*sh - pt + ky*dil_h, ox*sw - pl + kx*dil_w, o / M]
 * (0 outside the input): output channel o = ic·M + m reads input channel ic.
 * out (B, OH, OW, C·M); inp (B, H, W, C); w (KH, KW, C·M); bias (C·M) or NULL. */
void ly_dwconv2d_forward(float *out, const float *inp, const float *w, const float *bias,
                        const ly_conv_shape *s);

/* out = Σ w·x + bias  ⇒  dinp[.., ic] += Σ_m w[ky,kx,ic·M+m] · dout[.., ic·M+m],
 *                        dw[ky,kx,o] += Σ_{b,oy,ox} inp[.., o / M] · dout[.., o],
 *                        dbias[o] += Σ dout[.., o]
 * dinp (B, H, W, C) or NULL; dw (KH, KW, C·M) or NULL; dbias (C·M) or NULL;
 * dout (B, OH, OW, C·M). */
void ly_dwconv2d_backward(float *dinp, float *dw, float *dbias, const float *dout,
                         const float *inp, const float *w, const ly_conv_shape *s);

/* ---- linear ----------------------------------------------------------------
 * out[b,o] = bias[o] + sum_i w[o,i] * inp[b,i]
 * out (B, OUT); inp (B, IN) (an NHWC tensor flattened, see above);
 * w (OUT, IN); bias (OUT) or NULL. */
void ly_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                      int b, int in, int out_n);

/* out = inp · wᵀ + bias  ⇒  dinp += dout · w,  dw += doutᵀ · inp,  dbias += Σ_b dout
 * dinp (B, IN) or NULL; dw (OUT, IN) or NULL; dbias (OUT) or NULL; dout (B, OUT). */
void ly_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int b, int in, int out_n);

/* ---- activations (elementwise on n floats; out may equal inp) -------------- */

/* out = max(0, x) */
void ly_relu_forward(float *out, const float *inp, size_t n);
/* out = max(0, x)  ⇒  dinp += dout · [out > 0]   (takes the forward OUTPUT, so
 * it also works after an in-place forward; the gradient at x = 0 is 0) */
void ly_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* out = min(max(0, x), 6) */
void ly_relu6_forward(float *out, const float *inp, size_t n);
/* out = clamp(x, 0, 6)  ⇒  dinp += dout · [0 < out < 6]   (0 at both kinks, as
 * PyTorch's hardtanh) */
void ly_relu6_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- pools (s->oc == s->c, dilation 1) --------------------------------------
 * A window's positions outside the input (its padding) take no part: the max
 * and the mean are over the elements inside, as the int8 kernels count them.
 * Every window holds at least one (each pad is below the kernel). */

/* The number of input elements inside the window of output pixel (oy, ox):
 * KH·KW without padding. */
int ly_pool_count(const ly_conv_shape *s, int oy, int ox);

/* out[b,oy,ox,c] = max over the window's elements inside the input of
 * inp[b, oy*sh - pt + ky, ox*sw - pl + kx, c]
 * out (B, OH, OW, C); inp (B, H, W, C). */
void ly_maxpool_forward(float *out, const float *inp, const ly_conv_shape *s);
/* out = max over the window  ⇒  dinp[first argmax] += dout; the argmax is
 * recomputed from inp, scanning ky then kx, and the FIRST maximal element wins
 * (so ties send the whole gradient to one input, as PyTorch's CPU kernel).
 * dinp (B, H, W, C); dout (B, OH, OW, C); inp (B, H, W, C). */
void ly_maxpool_backward(float *dinp, const float *dout, const float *inp,
                        const ly_conv_shape *s);
/* ly_maxpool_backward for windows that do not overlap (stride >= kernel on
 * both axes), WRITING (=) dinp: the first argmax of each window gets dout, its
 * other elements and those in no window 0. For a trainer that would
 * otherwise zero dinp first. */
void ly_maxpool_backward_set(float *dinp, const float *dout, const float *inp,
                            const ly_conv_shape *s);

/* out[b,oy,ox,c] = Σ over the window's elements inside the input of
 * inp[b, oy*sh - pt + ky, ox*sw - pl + kx, c], times 1 / n (n = ly_pool_count)
 * out (B, OH, OW, C); inp (B, H, W, C). */
void ly_avgpool_forward(float *out, const float *inp, const ly_conv_shape *s);
/* out = Σ window / n  ⇒  dinp[each window element inside] += dout / n
 * (overlapping windows add up). dinp (B, H, W, C); dout (B, OH, OW, C). */
void ly_avgpool_backward(float *dinp, const float *dout, const ly_conv_shape *s);

/* The average pool of the int8 model (TFLite's rule) on inputs that lie on
 * the int8 grid of scale `scale` and zero-point zp (each x = scale·(q − zp),
 * q an integer):
 *   Q   = Σ q / n rounded half away from zero (n = ly_pool_count), clamped
 *         to [qmin, qmax]
 *   out = scale · (Q − zp)
 * q is recovered as round(x / scale) + zp (exact for values on the grid) and
 * summed in int32 (|Σ q| <= 128·n), so the result is the int8 kernel's to the
 * bit, whatever the window. Its gradient is ly_avgpool_backward's (the
 * straight-through estimator of the rounding). out (B, OH, OW, C); inp (B,
 * H, W, C). */
void ly_avgpool_grid_forward(float *out, const float *inp, float scale, int32_t zp, int32_t qmin,
                             int32_t qmax, const ly_conv_shape *s);

/* Global average pool: out[b,c] = Σ_{h,w} inp[b,h,w,c] / (H·W), i.e. an
 * avgpool with kernel (H, W); out (B, C) = (B, 1, 1, C); inp (B, H, W, C),
 * hw = H·W. */
void ly_global_avgpool_forward(float *out, const float *inp, int b, int hw, int c);
/* out = Σ_hw x / hw  ⇒  dinp[b,h,w,c] += dout[b,c] / hw */
void ly_global_avgpool_backward(float *dinp, const float *dout, int b, int hw, int c);

/* ---- residual add (n floats; out may equal a or b) ------------------------- */

/* out = a + b */
void ly_add_forward(float *out, const float *a, const float *b, size_t n);
/* out = a + b  ⇒  da += dout, db += dout (either may be NULL; da == db, for
 * x + x, gets 2·dout) */
void ly_add_backward(float *da, float *db, const float *dout, size_t n);

/* ---- loss ------------------------------------------------------------------
 * Softmax cross-entropy, mean over the batch:
 *   p = softmax(logits[b]),  loss = −Σ_b log p[b][label_b] / B
 * Returns the loss (computed in double, stable with the max subtracted).
 * If dlogits is not NULL it is WRITTEN (not accumulated):
 *   dlogits[b][k] = (p[b][k] − [k == label_b]) / B
 * dlogits, logits (B, K); labels (B), each in [0, K). dlogits may equal logits. */
float ly_softmax_xent(float *dlogits, const float *logits, const int32_t *labels,
                     int b, int k);

/* Softmax along each row of k values (the model's optional last layer):
 *   out[r][j] = exp(x[r][j] − max_r) / Σ_i exp(x[r][i] − max_r)
 * (the exponentials in float, their sum in double). out, inp (rows, k); out
 * may equal inp. It has no backward here: in training the loss reads the
 * logits before it (net.h). */
void ly_softmax_forward(float *out, const float *inp, int rows, int k);

/* Mean squared error, mean over every element of the batch (PyTorch's
 * MSELoss(reduction='mean')):
 *   loss = Σ_b Σ_k (y[b][k] − t[b][k])² / (B·K)
 *   ⇒  dy[b][k] = 2 (y[b][k] − t[b][k]) / (B·K)
 * Returns the loss (summed in double). If dy is not NULL it is WRITTEN (not
 * accumulated), like dlogits above. dy, y, t (B, K); dy may equal y. */
float ly_mse(float *dy, const float *y, const float *t, int b, int k);

/* Top-1 of one row: the lowest index among equal maximal values (as q8_argmax;
 * docs/integer-semantics.md).
 * x (n), n > 0. */
int ly_argmax(const float *x, int n);

/* ---- initialisation --------------------------------------------------------
 * He (Kaiming) normal, fan_in mode, gain sqrt(2) (ReLU), as PyTorch's
 * kaiming_normal_(w, mode='fan_in', nonlinearity='relu'):
 *   w ~ N(0, 2 / fan_in)
 * fan_in: conv2d KH·KW·IC, dwconv2d KH·KW, linear IN. Biases are the
 * caller's (zero). w (n), drawn in order from r. */
void ly_he_init(float *w, size_t n, int fan_in, rng_state *r);

/* PyTorch's default for nn.Conv2d and nn.Linear, kaiming_uniform_(w, a=sqrt(5))
 * and the bias's own uniform draw, both come to
 *   x ~ U(-bound, bound),  bound = 1 / sqrt(fan_in)
 * (std 1 / sqrt(3 fan_in), 2.4x smaller than He's). x (n), drawn in order from r. */
void ly_uniform_init(float *x, size_t n, int fan_in, rng_state *r);

#endif
