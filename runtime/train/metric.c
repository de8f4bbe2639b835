/* metric — top1, mse and auc; the criterion's direction; the int8 model on a
 * data set (metric.h). */
#include "metric.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_exec.h"

const char *const metric_names[METRIC_COUNT + 1] = {"top1", "mse", "auc", NULL};

int metric_higher_is_better(metric_kind k)
{
    return k != METRIC_MSE;
}

int metric_better(metric_kind k, double a, double b)
{
    return metric_higher_is_better(k) ? a > b : a < b;
}

double metric_bound(metric_kind k, double baseline, int relative, double c)
{
    if (metric_higher_is_better(k))
        return relative ? baseline * (1.0 - c) : baseline - c;
    return relative ? baseline * (1.0 + c) : baseline + c;
}

int metric_meets(metric_kind k, double value, double bound)
{
    return metric_higher_is_better(k) ? value >= bound : value <= bound;
}

char *metric_format(metric_kind k, double value, char *buf, size_t cap)
{
    if (k == METRIC_TOP1)
        snprintf(buf, cap, "%.2f%%", 100.0 * value);
    else if (k == METRIC_MSE)
        snprintf(buf, cap, "%.6g", value);
    else
        snprintf(buf, cap, "%.4f", value);
    return buf;
}

double metric_example_mse(const float *y, const float *t, int32_t n)
{
    double sum = 0.0;
    for (int32_t j = 0; j < n; j++) {
        double d = (double)y[j] - (double)t[j];
        sum += d * d;
    }
    return sum / (double)n;
}

/* ---- AUC ------------------------------------------------------------------ */

typedef struct {
    double score;
    uint8_t label;
} scored;

/* Ascending score; NaN above every number, equal to another NaN. */
static int by_score(const void *pa, const void *pb)
{
    double a = ((const scored *)pa)->score, b = ((const scored *)pb)->score;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

int metric_auc(const double *score, const uint8_t *label, int32_t n, double *auc, qerr *e)
{
    int64_t pos = 0, neg = 0;
    for (int32_t i = 0; i < n; i++) {
        assert(label[i] <= 1);
        pos += label[i] == 1;
    }
    neg = n - pos;
    if (pos == 0 || neg == 0)
        return qerr_set(e, "auc: %d examples, %lld anomalies (label 1) and %lld normal "
                           "(label 0): the AUC needs both",
                        (int)n, (long long)pos, (long long)neg);
    scored *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return qerr_set(e, "auc: out of memory for %d scores", (int)n);
    for (int32_t i = 0; i < n; i++)
        s[i] = (scored){score[i], label[i]};
    qsort(s, (size_t)n, sizeof *s, by_score);
    /* Walk groups of equal scores upwards: each anomaly beats every normal
     * example below its group and ties with those inside it. twice counts
     * halves as ones: 2·(wins) + ties ≤ 2·pos·neg < 2^63. */
    int64_t twice = 0, neg_below = 0;
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        int64_t gp = 0, gn = 0;
        while (j < n && by_score(&s[i], &s[j]) == 0) {
            gp += s[j].label == 1;
            gn += s[j].label == 0;
            j++;
        }
        twice += 2 * gp * neg_below + gp * gn;
        neg_below += gn;
        i = j;
    }
    free(s);
    *auc = (double)twice / (2.0 * (double)pos * (double)neg);
    return 0;
}

int metric_value(metric_kind k, int32_t n, int64_t correct, const double *score,
                 const uint8_t *label, double *value, qerr *e)
{
    assert(n > 0);
    if (k == METRIC_TOP1) {
        *value = (double)correct / (double)n;
        return 0;
    }
    if (k == METRIC_AUC)
        return metric_auc(score, label, n, value, e);
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++)
        sum += score[i];
    *value = sum / (double)n;
    return 0;
}

/* ---- the int8 model on a data set ------------------------------------------ */

int metric_check_model(const q_model *m, metric_kind k, int has_targets, qerr *e)
{
    q_shape out = m->layers[m->n_layers - 1].out_shape, in = m->in_shape;
    if (k == METRIC_TOP1 && (out.h != 1 || out.w != 1 || out.c < 2 || out.c > 256))
        return qerr_set(e, "model %s ends in %dx%dx%d, not in 2 to 256 class scores (1x1xK): "
                           "top1 does not apply (mse or auc?)",
                        m->name, (int)out.h, (int)out.w, (int)out.c);
    if ((k == METRIC_AUC || (k == METRIC_MSE && !has_targets)) &&
        (out.h != in.h || out.w != in.w || out.c != in.c))
        return qerr_set(e, "model %s ends in %dx%dx%d, its input is %dx%dx%d: %s compares the "
                           "output with the input, so the shapes must be equal%s",
                        m->name, (int)out.h, (int)out.w, (int)out.c, (int)in.h, (int)in.w,
                        (int)in.c, metric_names[k],
                        k == METRIC_MSE ? " (or give float targets as labels)" : "");
    return 0;
}

int metric_int8(const q_model *m, const dataset *ds, metric_kind k, uint8_t *pred,
                double *score, int64_t *correct, double *value, qerr *e)
{
    assert(ds->n > 0);
    assert(k == METRIC_MSE || ds->labels);
    int32_t in_n = dataset_image_size(ds);
    int32_t out_n = q_shape_size(m->layers[m->n_layers - 1].out_shape);
    q_quant oq = q_model_tensor_quant(m, m->n_layers);
    double *sc = score;
    if (k != METRIC_TOP1 && !sc && !(sc = malloc((size_t)ds->n * sizeof *sc)))
        return qerr_set(e, "int8 evaluation: out of memory");
    int64_t hits = 0;
    int failed = 0;
#pragma omp parallel reduction(+ : hits) reduction(| : failed)
    {
        qerr te = {{0}};
        q8_exec *x = q8_exec_new(m, &te);
        int8_t *in = malloc((size_t)in_n), *out = malloc((size_t)out_n);
        float *y = malloc((size_t)out_n * sizeof *y);
        float *xin = k == METRIC_TOP1 || ds->targets ? NULL : malloc((size_t)in_n * sizeof *xin);
        if (!x || !in || !out || !y || (k != METRIC_TOP1 && !ds->targets && !xin)) {
            failed = 1;
#pragma omp critical
            *e = x ? (qerr){"int8 evaluation: out of memory"} : te;
        }
#pragma omp for schedule(static)
        for (int32_t i = 0; i < ds->n; i++) {
            if (failed)
                continue;
            int32_t one = i; /* a batch of one: example i */
            dataset_batch_int8(ds, &one, 0, 1, in, NULL);
            q8_exec_run(x, in, out);
            if (k == METRIC_TOP1) {
                int top = q8_argmax(out, out_n);
                if (pred)
                    pred[i] = (uint8_t)top;
                hits += top == ds->labels[i];
                continue;
            }
            for (int32_t j = 0; j < out_n; j++) /* real = s·(q − zp) */
                y[j] = (float)(oq.scale * (double)(out[j] - oq.zero_point));
            const float *t;
            if (ds->targets) {
                t = ds->targets + (size_t)i * (size_t)out_n;
            } else {
                dataset_batch_float(ds, &one, 0, 1, xin, NULL);
                t = xin;
            }
            sc[i] = metric_example_mse(y, t, out_n);
        }
        q8_exec_free(x);
        free(in);
        free(out);
        free(y);
        free(xin);
    }
    int rc = failed ? -1 : metric_value(k, ds->n, hits, sc, ds->labels, value, e);
    if (correct)
        *correct = hits;
    if (sc != score)
        free(sc);
    return rc;
}
