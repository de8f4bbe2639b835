/* batchnorm — float32 batch norm for training, per channel over N = B·H·W
 * rows of C (an NHWC tensor seen as (N, C)), forward and backward side by
 * side, with the conventions of layers.h: backward accumulates (+=) unless
 * its name ends in _set, any gradient may be NULL to skip it, nothing
 * allocates on the heap (the per-block sums live on the stack), nothing fails
 * (shapes are the caller's: assertions).
 *
 * Train: statistics of this batch,
 *   mean = Σ x / N,  var = Σ (x - mean)² / N (biased, used to normalise),
 *   rstd = 1 / sqrt(var + eps),  xhat = (x - mean) · rstd,
 *   out = gamma · xhat + beta;
 * and the running statistics as PyTorch (momentum 0.1 there):
 *   running_mean = (1 - momentum) · running_mean + momentum · mean
 *   running_var  = (1 - momentum) · running_var  + momentum · var · N / (N - 1)
 * Eval: the running statistics instead of the batch's.
 *
 * Threads (OpenMP): every pass runs over blocks of whole rows, a number fixed
 * by the shape; per-channel sums accumulate in double per block, rows in
 * order, and the blocks are added in order, so every result is bit-identical
 * for any thread count.
 */
#ifndef QATC_BATCHNORM_H
#define QATC_BATCHNORM_H

#include <stdint.h>

/* out (N, C); mean, rstd (C): written, saved for backward; running_mean,
 * running_var (C): updated, or both NULL to leave no trace; inp (N, C);
 * gamma, beta (C). N > 1. */
void bn_train_forward(float *out, float *mean, float *rstd, float *running_mean,
                      float *running_var, const float *inp, const float *gamma,
                      const float *beta, int n, int c, float eps, float momentum);

/* The statistics of bn_train_forward alone (mean, rstd and the running
 * statistics, bit-identical), without the output: for a caller that fuses the
 * normalisation into its next pass. */
void bn_train_stats(float *mean, float *rstd, float *running_mean, float *running_var,
                    const float *inp, int n, int c, float eps, float momentum);

/* out = gamma·(x - mean)·rstd + beta with mean, rstd functions of the batch ⇒
 *   dbeta  += Σ dout,   dgamma += Σ dout · xhat,
 *   dinp   += gamma · rstd / N · (N · dout − Σ dout − xhat · Σ dout·xhat)
 * dinp (N, C) or NULL; dgamma, dbeta (C) or NULL; dout, inp (N, C);
 * mean, rstd (C) from the forward; gamma (C). */
void bn_train_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                       const float *inp, const float *mean, const float *rstd,
                       const float *gamma, int n, int c);

/* bn_train_backward for an output gradient dout · [mask] (mask (N, C) bytes,
 * 0 or 1; NULL: dout as is), that WRITES dinp (=) instead of accumulating:
 * the fused form of "apply the mask, zero dinp, backward" for a trainer whose
 * BN output feeds a masked activation. dinp may equal dout.
 * With dinp_scale and dinp_dot (C each, both or neither; dinp needed), the
 * backward of a per-channel rescale in front of the BN, inp = y · s (QAT's
 * z = conv / sf) follows in the same pass: with v the gradient of inp,
 *   dinp_dot[c] = Σ_rows v · inp   (double, in 32 blocks of rows fixed by the
 *                                   shape, added in order; WRITTEN)
 *   dinp        = v · dinp_scale[c]  (bit-identical to the plain call times it) */
void bn_train_backward_set(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const uint8_t *mask, const float *inp, const float *mean,
                           const float *rstd, const float *gamma, const float *dinp_scale,
                           double *dinp_dot, int n, int c);

/* Eval: out = gamma · (x − running_mean) / sqrt(running_var + eps) + beta.
 * out, inp (N, C); gamma, beta, running_mean, running_var (C). */
void bn_eval_forward(float *out, const float *inp, const float *gamma, const float *beta,
                     const float *running_mean, const float *running_var, int n, int c,
                     float eps);

/* out = gamma·(x − rm)·r + beta, r = 1/sqrt(rv + eps) constant ⇒
 *   dinp += gamma · r · dout,  dgamma += Σ dout · (x − rm) · r,  dbeta += Σ dout
 * (PyTorch still trains gamma and beta with frozen statistics.) */
void bn_eval_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                      const float *inp, const float *gamma, const float *running_mean,
                      const float *running_var, int n, int c, float eps);

/* bn_eval_backward with dout · [mask], dinp WRITTEN (=) and the optional
 * rescale, as bn_train_backward_set. */
void bn_eval_backward_set(float *dinp, float *dgamma, float *dbeta, const float *dout,
                          const uint8_t *mask, const float *inp, const float *gamma,
                          const float *running_mean, const float *running_var,
                          const float *dinp_scale, double *dinp_dot, int n, int c, float eps);

#endif
