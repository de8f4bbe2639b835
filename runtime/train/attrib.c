/* attrib — weight/activation attribution (see attrib.h). */
#include "attrib.h"

#include <stdlib.h>
#include <string.h>

/* What attrib_measure changes, to put back. */
typedef struct {
    int fq_weights, fq_acts;
    int fq_w[CFG_MAX_LAYERS], fq_a[CFG_MAX_LAYERS], bits[CFG_MAX_LAYERS];
    float *scales;   /* every weighted layer's w_scale, in layer order */
} saved;

static int is_weighted(q_op op)
{
    return op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_LINEAR;
}

static int save(net *n, saved *s, qerr *e)
{
    size_t total = 0;
    s->fq_weights = n->fq_weights, s->fq_acts = n->fq_acts;
    for (int i = 0; i < n->n_layers; i++) {
        s->fq_w[i] = n->layers[i].fq_w, s->fq_a[i] = n->layers[i].fq_a;
        s->bits[i] = n->layers[i].weight_bits;
        total += is_weighted(n->layers[i].op) ? (size_t)n->layers[i].n_wscale : 0;
    }
    s->scales = malloc((total ? total : 1) * sizeof(float));
    if (!s->scales)
        return qerr_set(e, "attribution: out of memory");
    size_t at = 0;
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        if (!is_weighted(L->op))
            continue;
        memcpy(s->scales + at, L->w_scale, (size_t)L->n_wscale * sizeof(float));
        at += (size_t)L->n_wscale;
    }
    return 0;
}

static void restore(net *n, saved *s)
{
    size_t at = 0;
    net_set_fake_quant(n, s->fq_weights, s->fq_acts);
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        net_set_layer_fake_quant(n, i, s->fq_w[i], s->fq_a[i]);
        if (!is_weighted(L->op))
            continue;
        net_set_weight_bits(n, i, s->bits[i]);
        /* exactly the scales of before (a rescale there and back may round) */
        memcpy(L->w_scale, s->scales + at, (size_t)L->n_wscale * sizeof(float));
        at += (size_t)L->n_wscale;
    }
    free(s->scales);
}

/* Every layer's own switches to (w, a), the net's to on. */
static void switch_all(net *n, int w, int a)
{
    net_set_fake_quant(n, 1, 1);
    for (int i = 0; i < n->n_layers; i++)
        net_set_layer_fake_quant(n, i, w, a);
}

int attrib_measure(net *n, const cfg_config *cfg, attrib_eval_fn eval, void *ctx,
                   attrib_table *t, qerr *e)
{
    saved s;
    if (save(n, &s, e))
        return -1;
    memset(t, 0, sizeof *t);
    t->metric = cfg->metric;
    int rc = 0;
    static const int sw[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
    double *whole[4] = {&t->none, &t->weights, &t->acts, &t->both};
    for (int k = 0; k < 4 && rc == 0; k++) {
        switch_all(n, sw[k][0], sw[k][1]);
        rc = eval(ctx, whole[k], e);
    }
    for (int i = 0; i < n->n_layers && rc == 0; i++) {
        net_layer *L = &n->layers[i];
        if (!is_weighted(L->op))
            continue;
        attrib_layer *a = &t->layers[t->n++];
        a->layer = i;
        if (cfg->layers[i].name[0])
            snprintf(a->name, sizeof a->name, "%s", cfg->layers[i].name);
        else
            snprintf(a->name, sizeof a->name, "l%d", i);
        a->op = L->op;
        a->bits = L->weight_bits;
        a->weights = L->n_w;
        switch_all(n, 0, 0);
        net_set_layer_fake_quant(n, i, 1, 0);
        rc = eval(ctx, &a->w_own, e);
        if (rc == 0 && a->bits == 4) {
            a->w4 = a->w_own;
        } else if (rc == 0) {
            int bits = L->weight_bits;
            size_t ns = (size_t)L->n_wscale * sizeof(float);
            float *keep = malloc(ns);
            if (!keep) {
                rc = qerr_set(e, "attribution: out of memory");
                break;
            }
            memcpy(keep, L->w_scale, ns);
            net_set_weight_bits(n, i, 4);
            rc = eval(ctx, &a->w4, e);
            net_set_weight_bits(n, i, bits);
            memcpy(L->w_scale, keep, ns);
            free(keep);
        }
        if (rc == 0) {
            net_set_layer_fake_quant(n, i, 0, 1);
            rc = eval(ctx, &a->act, e);
        }
    }
    restore(n, &s);
    return rc;
}

double attrib_drop(const attrib_table *t, double value)
{
    return metric_higher_is_better(t->metric) ? t->none - value : value - t->none;
}

/* A value as the table shows it: "91.23%" for top1, else as metric_format. */
static const char *val(const attrib_table *t, double v, char *buf, size_t cap)
{
    return metric_format(t->metric, v, buf, cap);
}

/* A drop in the metric's unit: points for top1, else the metric's own. */
static const char *drop(const attrib_table *t, double v, char *buf, size_t cap)
{
    double d = attrib_drop(t, v);
    if (t->metric == METRIC_TOP1)
        snprintf(buf, cap, "%+.2f", 100.0 * d);
    else
        snprintf(buf, cap, "%+.4g", d);
    return buf;
}

void attrib_print(const attrib_table *t, const char *stage, const char *set_name, FILE *f)
{
    char a[48], b[48];
    fprintf(f, "attribution %s (%s on %s; drop = how much worse than float, %s):\n", stage,
            metric_names[t->metric], set_name, t->metric == METRIC_TOP1 ? "points" : "as the metric");
    fprintf(f, "  %-28s %10s\n", "float (nothing quantized)", val(t, t->none, a, sizeof a));
    const char *what[3] = {"weights only", "activations only", "weights and activations"};
    double v[3] = {t->weights, t->acts, t->both};
    for (int k = 0; k < 3; k++)
        fprintf(f, "  %-28s %10s  drop %s\n", what[k], val(t, v[k], a, sizeof a),
                drop(t, v[k], b, sizeof b));
    fprintf(f, "  %-16s %-8s %4s %8s  %10s %7s  %10s %7s  %10s %7s\n", "layer", "op", "bits",
            "weights", "w alone", "drop", "w at 4 bit", "drop", "out acts", "drop");
    for (int i = 0; i < t->n; i++) {
        const attrib_layer *l = &t->layers[i];
        char c[48], d[48], g[48];
        fprintf(f, "  %-16s %-8s %4d %8lld  %10s %7s", l->name, q_op_names[l->op], l->bits,
                (long long)l->weights, val(t, l->w_own, a, sizeof a),
                drop(t, l->w_own, b, sizeof b));
        fprintf(f, "  %10s %7s  %10s %7s\n", val(t, l->w4, c, sizeof c),
                drop(t, l->w4, d, sizeof d), val(t, l->act, g, sizeof g),
                drop(t, l->act, a, sizeof a));
    }
    double dw = attrib_drop(t, t->weights), da = attrib_drop(t, t->acts);
    drop(t, t->weights, a, sizeof a);
    drop(t, t->acts, b, sizeof b);
    if (dw <= 0 && da <= 0)
        fprintf(f, "  neither limits it: weights only %s, activations only %s (negative: no "
                   "worse than float, the network has adapted to its quantization)\n", a, b);
    else if (dw > da)
        fprintf(f, "  limited more by weight quantization (drop %s) than by activations (%s)\n",
                a, b);
    else if (da > dw)
        fprintf(f, "  limited more by activation quantization (drop %s) than by weights (%s)\n",
                b, a);
    else
        fprintf(f, "  weights and activations cost the same (drop %s)\n", a);
}

void attrib_csv_header(const attrib_table *t, FILE *f)
{
    fprintf(f, "stage,quantized,layer,op,weight_bits,%s,drop\n", metric_names[t->metric]);
}

static void csv_value(const attrib_table *t, double v, char *buf, size_t cap)
{
    if (t->metric == METRIC_TOP1)
        snprintf(buf, cap, "%.4f", 100.0 * v);
    else
        snprintf(buf, cap, "%.6g", v);
}

static void csv_row(const attrib_table *t, FILE *f, const char *stage, const char *what,
                    const attrib_layer *l, int bits, double v)
{
    char a[48], b[48];
    csv_value(t, v, a, sizeof a);
    double d = attrib_drop(t, v);
    csv_value(t, d, b, sizeof b);
    if (l && bits)
        fprintf(f, "%s,%s,%s,%s,%d,%s,%s\n", stage, what, l->name, q_op_names[l->op], bits, a, b);
    else if (l)
        fprintf(f, "%s,%s,%s,%s,,%s,%s\n", stage, what, l->name, q_op_names[l->op], a, b);
    else
        fprintf(f, "%s,%s,,,,%s,%s\n", stage, what, a, b);
}

void attrib_csv_rows(const attrib_table *t, const char *stage, FILE *f)
{
    csv_row(t, f, stage, "none", NULL, 0, t->none);
    csv_row(t, f, stage, "weights", NULL, 0, t->weights);
    csv_row(t, f, stage, "activations", NULL, 0, t->acts);
    csv_row(t, f, stage, "both", NULL, 0, t->both);
    for (int i = 0; i < t->n; i++) {
        const attrib_layer *l = &t->layers[i];
        csv_row(t, f, stage, "layer_weights", l, l->bits, l->w_own);
        csv_row(t, f, stage, "layer_weights_4bit", l, 4, l->w4);
        csv_row(t, f, stage, "layer_activations", l, 0, l->act);
    }
}
