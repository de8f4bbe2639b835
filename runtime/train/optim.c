#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

int optim_build(optim *o, const optim_config *cfg, size_t n, qerr *e)
{
    memset(o, 0, sizeof *o);
    if (cfg->type == OPTIM_SGD) {
        if (!(cfg->momentum >= 0.0f))
            return qerr_set(e, "optimizer: momentum %g must be >= 0", cfg->momentum);
        if (cfg->nesterov && !(cfg->momentum > 0.0f))
            return qerr_set(e, "optimizer: nesterov needs momentum > 0");
    } else if (cfg->type == OPTIM_ADAM) {
        if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f))
            return qerr_set(e, "optimizer: adam betas (%g, %g) must be in [0, 1)",
                            cfg->beta1, cfg->beta2);
        if (!(cfg->eps > 0.0f))
            return qerr_set(e, "optimizer: adam eps %g must be > 0", cfg->eps);
    } else {
        return qerr_set(e, "optimizer: unknown type %d", (int)cfg->type);
    }
    if (!(cfg->weight_decay >= 0.0f))
        return qerr_set(e, "optimizer: weight_decay %g must be >= 0", cfg->weight_decay);

    /* Layout of the one allocation: int64 step | buf (n) | buf2 (n). */
    size_t nbuf = cfg->type == OPTIM_ADAM ? 2 : cfg->momentum > 0.0f ? 1 : 0;
    if (n > (SIZE_MAX - sizeof(int64_t)) / sizeof(float) / (nbuf ? nbuf : 1))
        return qerr_set(e, "optimizer: %zu parameters is too many", n);
    size_t bytes = sizeof(int64_t) + nbuf * n * sizeof(float);
    void *state = calloc(1, bytes);
    if (!state)
        return qerr_set(e, "optimizer: out of memory (%zu bytes)", bytes);
    o->cfg = *cfg;
    o->n = n;
    o->state = state;
    o->state_bytes = bytes;
    o->step = (int64_t *)state;
    float *floats = (float *)((char *)state + sizeof(int64_t));
    o->buf = nbuf >= 1 ? floats : NULL;
    o->buf2 = nbuf >= 2 ? floats + n : NULL;
    return 0;
}

void optim_free(optim *o)
{
    free(o->state);
    memset(o, 0, sizeof *o);
}

/* SGD: g = grad + wd·p;  buf = mom·buf + g;  g = nesterov ? g + mom·buf : buf;
 * p −= lr·g */
static void sgd_step(optim *o, float *p, const float *grad, float lr)
{
    float wd = o->cfg.weight_decay, mom = o->cfg.momentum;
    int nesterov = o->cfg.nesterov;
    float *buf = o->buf;
    size_t n = o->n;
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        if (buf) {
            buf[i] = mom * buf[i] + g;
            g = nesterov ? g + mom * buf[i] : buf[i];
        }
        p[i] -= lr * g;
    }
}

/* Adam: g = grad + wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 * p −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps) */
static void adam_step(optim *o, float *p, const float *grad, float lr)
{
    float wd = o->cfg.weight_decay, b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    double t = (double)*o->step;
    float step_size = (float)(lr / (1.0 - pow(b1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    float *m = o->buf, *v = o->buf2;
    size_t n = o->n;
#pragma omp parallel for simd if (n > SIMD_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

void optim_step(optim *o, float *params, const float *grads, float lr)
{
    *o->step += 1;
    if (o->cfg.type == OPTIM_SGD)
        sgd_step(o, params, grads, lr);
    else
        adam_step(o, params, grads, lr);
}

void *optim_state(optim *o) { return o->state; }

size_t optim_state_bytes(const optim *o) { return o->state_bytes; }

float optim_lr_at(const optim_lr_schedule *s, int64_t i)
{
    switch (s->type) {
    case OPTIM_LR_STEP:
        return (float)(s->base * pow(s->gamma, (double)(i / s->step_iters)));
    case OPTIM_LR_COSINE: {
        if (i >= s->total_iters)
            return s->eta_min;
        double c = cos(3.14159265358979323846 * (double)i / (double)s->total_iters);
        return (float)(s->eta_min + (s->base - s->eta_min) * (1.0 + c) / 2.0);
    }
    case OPTIM_LR_CONSTANT:
    default:
        return s->base;
    }
}
