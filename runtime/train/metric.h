/* metric — how a model is judged: top-1 accuracy, mean squared error, or the
 * ROC AUC of an anomaly score (evaluation.accuracy.metric, `qatc eval
 * --metric`), the accuracy criterion's direction, and the int8 model's
 * evaluation on a data set, which `qatc train` and `qatc eval` share.
 *
 *   top1  correct / n: the share of examples whose top-1 output (the lowest
 *         index among equal maxima) equals the class label; higher is better.
 *   mse   (1 / (n·E)) Σ_i Σ_j (y_ij − t_ij)², E = elements of one output: the
 *         mean over examples of each example's mean squared error against its
 *         target (a float target, or the example's own input for an
 *         autoencoder); lower is better. For the int8 model y is the
 *         dequantized output s_out·(q − zp_out), for the float model its output.
 *   auc   the ROC AUC of the per-example mean squared error against the input
 *         (the reconstruction error) as the score that an example is an
 *         anomaly, labels 1 = anomaly and 0 = normal: the probability that a
 *         random anomaly scores above a random normal example, ties counted
 *         half,
 *           AUC = (#{(a, n): s_a > s_n} + ½ #{(a, n): s_a = s_n}) / (A·N),
 *         computed exactly by sorting; higher is better. Needs both classes.
 *
 * Every sum runs in double, in example order, after the per-example values
 * are known, so no result depends on the thread count.
 */
#ifndef QATC_METRIC_H
#define QATC_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "qerr.h"
#include "qmodel.h"

typedef enum { METRIC_TOP1, METRIC_MSE, METRIC_AUC, METRIC_COUNT } metric_kind;

/* "top1", "mse", "auc", NULL: the config's and the command line's names. */
extern const char *const metric_names[METRIC_COUNT + 1];

/* 1 for top1 and auc, 0 for mse. */
int metric_higher_is_better(metric_kind k);

/* 1 when a is strictly better than b by k (a tie is not better). */
int metric_better(metric_kind k, double a, double b);

/* The accuracy criterion (tuning.accuracy_criterion): the bound the int8
 * value must reach against the float baseline. Higher is better (top1, auc):
 * baseline·(1 − c) (relative) or baseline − c (absolute), to be reached from
 * above; mse: baseline·(1 + c) or baseline + c, from below. */
double metric_bound(metric_kind k, double baseline, int relative, double c);

/* 1 when value meets the bound of metric_bound (value ≥ bound, or ≤ for mse). */
int metric_meets(metric_kind k, double value, double bound);

/* The value as people read it: top1 "91.23%", mse "0.0123457" (%.6g), auc
 * "0.9123". Returns buf. */
char *metric_format(metric_kind k, double value, char *buf, size_t cap);

/* Σ (y[j] − t[j])² / n over j < n, in double: one example's mean squared error. */
double metric_example_mse(const float *y, const float *t, int32_t n);

/* The exact ROC AUC of score (n) against label (n; 1 = anomaly, 0 = normal,
 * any other value is an assertion) with ties counted half (see above); a NaN
 * score sorts above every number. Returns 0 with *auc set, or -1 with e set
 * when the labels hold no anomaly or no normal example, or memory runs out. */
int metric_auc(const double *score, const uint8_t *label, int32_t n, double *auc, qerr *e);

/* The metric of n examples from what was measured per example: top1 =
 * correct / n; mse = the mean of score (each example's mean squared error);
 * auc = metric_auc(score, label). n > 0. Returns 0, or -1 with e set (auc).
 */
int metric_value(metric_kind k, int32_t n, int64_t correct, const double *score,
                 const uint8_t *label, double *value, qerr *e);

/* Whether m's output suits metric k on a set with (has_targets) or without
 * float targets: top1 needs 1×1×K class scores, 2 ≤ K ≤ 256; mse without
 * targets and auc compare the output with the input, so its shape must equal
 * the input's (mse with targets: the data set checks their shape). Returns 0,
 * or -1 with e set ("the model ends in 28x28x1, not in class scores (1x1xK)"). */
int metric_check_model(const q_model *m, metric_kind k, int has_targets, qerr *e);

/* Evaluates the int8 model m on every example of ds with the reference
 * kernels (q8_exec, one executor per thread), by metric k (see above); the
 * model must pass metric_check_model and ds must have class labels for top1
 * and auc. pred (ds->n bytes, may be NULL) receives each example's top-1
 * (top1 only); score (ds->n, may be NULL) each example's mean squared error
 * (mse and auc). *correct (may be NULL) receives top1's count. ds->n > 0.
 * Returns 0 with *value set, or -1 with e set (out of memory, auc without
 * both classes). */
int metric_int8(const q_model *m, const dataset *ds, metric_kind k, uint8_t *pred,
                double *score, int64_t *correct, double *value, qerr *e);

#endif
