/* attrib — is accuracy limited by weight or by activation quantization?
 * (`qatc train --attribution`, docs/train.md §9)
 *
 * On a QAT-mode net whose observers have data, the metric of the
 * fake-quantized network (the int8 model's simulation) is measured with
 *   nothing quantized (the float reference: the same weights, BN folded on
 *   running statistics, no rounding), weights only, activations only, both;
 * and for each weighted layer (conv2d, dwconv2d, linear), with everything
 * else float:
 *   its weights alone at its own width, its weights alone at 4 bits, its
 *   output activations alone.
 * A drop is how much worse a measure is than the float reference, in the
 * metric's direction (top1, auc: float − value; mse: value − float), so
 * positive means worse. The evaluation itself is the caller's (a callback:
 * the trainer evaluates on the set that chooses, the validation set when
 * there is one).
 */
#ifndef QATC_ATTRIB_H
#define QATC_ATTRIB_H

#include <stdio.h>

#include "config.h"
#include "metric.h"
#include "net.h"
#include "qerr.h"

/* Evaluates the net as it is switched now; returns 0 with *value set, or -1 with e set. */
typedef int (*attrib_eval_fn)(void *ctx, double *value, qerr *e);

typedef struct {
    int layer;                 /* index in the net */
    char name[Q_NAME_MAX];     /* the config's name, else "l<i>" as in the frozen model */
    q_op op;
    int bits;                  /* its weight width (8 or 4) */
    int64_t weights;           /* its weight count */
    double w_own;              /* only its weights quantized, at `bits` */
    double w4;                 /* only its weights quantized, at 4 bits */
    double act;                /* only its output activations quantized */
} attrib_layer;

typedef struct {
    metric_kind metric;
    double none, weights, acts, both;
    int n;                     /* weighted layers */
    attrib_layer layers[CFG_MAX_LAYERS];
} attrib_table;

/* Measures t on n (QAT mode, observers with data; cfg gives the names).
 * Every switch, width and weight scale of n is as before on return, success
 * or not. Returns 0, or -1 with e set by eval. */
int attrib_measure(net *n, const cfg_config *cfg, attrib_eval_fn eval, void *ctx,
                   attrib_table *t, qerr *e);

/* A measure's drop against t->none (positive = worse). */
double attrib_drop(const attrib_table *t, double value);

/* Prints t as a table, headed "attribution STAGE (on SET_NAME)". */
void attrib_print(const attrib_table *t, const char *stage, const char *set_name, FILE *f);

/* NAME.attribution.csv: the header line, then t's rows for stage; metric
 * values as the epoch log writes them (top1 in percent). Columns: stage,
 * quantized (none, weights, activations, both, layer_weights,
 * layer_weights_4bit, layer_activations), layer, op, weight_bits, value,
 * drop. */
void attrib_csv_header(const attrib_table *t, FILE *f);
void attrib_csv_rows(const attrib_table *t, const char *stage, FILE *f);

#endif
