/* observer — the statistics that choose scales and zero-points.
 *
 * Activations (torch.ao.quantization MovingAverageMinMaxObserver):
 *   first batch:  min = min(X), max = max(X)
 *   later:        min += c · (min(X) − min),  max += c · (max(X) − max)
 *   qparams:      lo = min(min, 0), hi = max(max, 0)      (0 always inside)
 *                 s  = max((hi − lo) / (qmax − qmin), FLT_EPSILON)
 *                 zp = clamp(qmin − round_half_even(lo / s), qmin, qmax)
 *   so q = zp represents real 0 exactly. All in float, as torch does.
 *   int8 activations: [qmin, qmax] = [-128, 127].
 *
 * Weights (symmetric, zero-point 0, [-qmax, qmax] = [-127, 127] for 8 bits):
 *   s[c] = max|w[c]| / qmax per output channel (or one over the whole
 *   tensor); an all-zero channel gets s = 1 (any scale represents it, and 1
 *   keeps its int32 bias small), a tiny one at least FLT_EPSILON.
 *   The weight "observer" is a min/max of the current weights (torch's
 *   PerChannelMinMaxObserver on one tensor): while enabled the scale follows
 *   the weights, once disabled it stays frozen.
 */
#ifndef QATC_OBSERVER_H
#define QATC_OBSERVER_H

#include <stdint.h>

typedef struct {
    float min_val, max_val;    /* +inf / -inf before the first batch */
    float averaging_constant;  /* c in (0, 1] */
    int enabled;               /* 0: updates are ignored (frozen statistics) */
    int32_t qmin, qmax;
} obs_act;

/* A fresh, enabled observer that has seen nothing. */
void obs_act_init(obs_act *o, float averaging_constant, int32_t qmin, int32_t qmax);

/* Folds the batch x[0..n) into the statistics when enabled (n > 0). NaN
 * values are ignored by the min/max. */
void obs_act_update(obs_act *o, const float *x, int64_t n);

/* Folds an already reduced batch minimum and maximum (what obs_act_update does
 * after its scan; for callers that compute min/max while producing x). */
void obs_act_update_minmax(obs_act *o, float batch_min, float batch_max);

/* 1 when the observer has seen at least one batch. */
int obs_act_has_data(const obs_act *o);

/* Scale and zero-point from the statistics (formulas above). Returns 0, or
 * -1 when the observer has seen no data (scale/zero_point untouched). */
int obs_act_qparams(const obs_act *o, float *scale, int32_t *zero_point);

/* Symmetric per-channel weight scales. Element i of channel c is
 * w[c * ch_stride + i * el_stride], i in [0, per_channel) (see
 * fq_forward_channels_f32). Writes scale[0..n_channels). */
void obs_weight_scales(const float *w, int32_t n_channels, int64_t per_channel,
                       int64_t ch_stride, int64_t el_stride, int32_t qmax, float *scale);

/* One symmetric scale over w[0..n). */
float obs_weight_scale_tensor(const float *w, int64_t n, int32_t qmax);

#endif
