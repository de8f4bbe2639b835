/* observer — moving-average activation statistics and weight scales (see observer.h). */
#include "observer.h"

#include <float.h>
#include <math.h>

#include "fakequant.h"

void obs_act_init(obs_act *o, float averaging_constant, int32_t qmin, int32_t qmax)
{
    o->min_val = INFINITY;
    o->max_val = -INFINITY;
    o->averaging_constant = averaging_constant;
    o->enabled = 1;
    o->qmin = qmin;
    o->qmax = qmax;
}

int obs_act_has_data(const obs_act *o)
{
    return !(o->min_val == INFINITY && o->max_val == -INFINITY);
}

void obs_act_update_minmax(obs_act *o, float batch_min, float batch_max)
{
    if (!o->enabled || !(batch_min <= batch_max))
        return;
    if (!obs_act_has_data(o)) {
        o->min_val = batch_min;
        o->max_val = batch_max;
        return;
    }
    const float c = o->averaging_constant;
    o->min_val = o->min_val + c * (batch_min - o->min_val);
    o->max_val = o->max_val + c * (batch_max - o->max_val);
}

void obs_act_update(obs_act *o, const float *x, int64_t n)
{
    if (!o->enabled || n <= 0)
        return;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    obs_act_update_minmax(o, lo, hi);
}

int obs_act_qparams(const obs_act *o, float *scale, int32_t *zero_point)
{
    if (!obs_act_has_data(o))
        return -1;
    float lo = o->min_val < 0.0f ? o->min_val : 0.0f;
    float hi = o->max_val > 0.0f ? o->max_val : 0.0f;
    float s = (hi - lo) / (float)(o->qmax - o->qmin);
    if (!(s > FLT_EPSILON))
        s = FLT_EPSILON;
    /* zp = qmin − round(lo / s): q = zp is real 0 exactly */
    float zp = (float)o->qmin - fq_round_half_even(lo / s);
    zp = zp < (float)o->qmin ? (float)o->qmin : zp;
    zp = zp > (float)o->qmax ? (float)o->qmax : zp;
    *scale = s;
    *zero_point = (int32_t)zp;
    return 0;
}

/* s = max|w| / qmax, with the guards of observer.h. */
static float weight_scale_from_max(float max_abs, int32_t qmax)
{
    if (max_abs == 0.0f)
        return 1.0f;
    float s = max_abs / (float)qmax;
    return s > FLT_EPSILON ? s : FLT_EPSILON;
}

void obs_weight_scales(const float *w, int32_t n_channels, int64_t per_channel,
                       int64_t ch_stride, int64_t el_stride, int32_t qmax, float *scale)
{
    for (int32_t c = 0; c < n_channels; c++) {
        float m = 0.0f;
        for (int64_t i = 0; i < per_channel; i++) {
            float a = fabsf(w[c * ch_stride + i * el_stride]);
            m = a > m ? a : m;
        }
        scale[c] = weight_scale_from_max(m, qmax);
    }
}

float obs_weight_scale_tensor(const float *w, int64_t n, int32_t qmax)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(w[i]);
        m = a > m ? a : m;
    }
    return weight_scale_from_max(m, qmax);
}
