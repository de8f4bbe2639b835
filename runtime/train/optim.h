/* optim — optimizers and learning-rate schedules over one flat parameter
 * array with its flat gradient array (llm.c style: all parameters in one
 * allocation, all gradients in another, same order).
 *
 * Semantics are PyTorch's (torch.optim), dampening 0, amsgrad off:
 *   SGD:  g = grad + wd·p;  buf = momentum·buf + g  (buf = g on the first step,
 *         the same thing since buf starts at 0);  g = nesterov ? g + momentum·buf
 *         : buf (plain g when momentum is 0);  p −= lr·g
 *   Adam: g = grad + wd·p (L2, not AdamW);  t += 1;
 *         m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 *         p −= lr / (1−β1^t) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
 * The optimizer state (step count, momentum / Adam moments) lives in one
 * allocation that a checkpoint saves and restores as bytes
 * (optim_state, optim_state_bytes).
 */
#ifndef QATC_OPTIM_H
#define QATC_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

typedef enum { OPTIM_SGD, OPTIM_ADAM } optim_type;

typedef struct {
    optim_type type;
    float momentum;        /* SGD, >= 0 */
    int nesterov;          /* SGD: needs momentum > 0 */
    float weight_decay;    /* both: L2, g += weight_decay · p */
    float beta1, beta2;    /* Adam: in [0, 1) */
    float eps;             /* Adam: > 0 */
} optim_config;

typedef struct {
    optim_config cfg;
    size_t n;              /* parameters */
    void *state;           /* one allocation of state_bytes: step, then buf, buf2 */
    size_t state_bytes;
    int64_t *step;         /* steps taken (Adam's t), at the start of state */
    float *buf;            /* (n) SGD momentum buffer / Adam exp_avg; NULL for SGD without momentum */
    float *buf2;           /* (n) Adam exp_avg_sq; NULL for SGD */
} optim;

/* Allocates the state for n parameters (zeroed: step 0, buffers 0) after
 * checking cfg. Returns 0, or -1 with e set (bad config, out of memory);
 * on failure o is zeroed. */
int optim_build(optim *o, const optim_config *cfg, size_t n, qerr *e);

/* Releases the state and zeroes o. Safe on a zeroed optim. */
void optim_free(optim *o);

/* One step: updates params (n) from grads (n) with learning rate lr. grads is
 * not modified. Parallel (OpenMP) over elements; the result does not depend
 * on the thread count. */
void optim_step(optim *o, float *params, const float *grads, float lr);

/* The whole state as bytes, for a checkpoint: optim_state_bytes(o) bytes at
 * optim_state(o). Restoring = copying the saved bytes back into the state
 * of an optimizer built with the same config and n. */
void *optim_state(optim *o);
size_t optim_state_bytes(const optim *o);

/* ---- learning-rate schedules, in iterations (batches) ----------------------
 * constant: lr(i) = base
 * step:     lr(i) = base · gamma^floor(i / step_iters)      (PyTorch StepLR;
 *           step_iters = step_epochs · iterations_per_epoch for StepLR per epoch)
 * cosine:   lr(i) = eta_min + (base − eta_min) · (1 + cos(π · i / total_iters)) / 2
 *           PyTorch's CosineAnnealingLR stepped per ITERATION with
 *           T_max = total_iters = epochs · iterations_per_epoch: one half
 *           cosine over the whole phase, base at i = 0, reaching eta_min at
 *           i = total_iters (the step after the last batch); for i beyond,
 *           lr stays at eta_min. Per-iteration, not per-epoch, so that the
 *           lr falls smoothly and a phase cut short by `iterations` still
 *           ends near eta_min. */
typedef enum { OPTIM_LR_CONSTANT, OPTIM_LR_STEP, OPTIM_LR_COSINE } optim_lr_type;

typedef struct {
    optim_lr_type type;
    float base;            /* lr at iteration 0 */
    int64_t total_iters;   /* cosine: > 0 */
    int64_t step_iters;    /* step: > 0 */
    float gamma;           /* step: factor */
    float eta_min;         /* cosine: final lr */
} optim_lr_schedule;

/* The learning rate for iteration i (0-based, counted over the whole phase). */
float optim_lr_at(const optim_lr_schedule *s, int64_t i);

#endif
