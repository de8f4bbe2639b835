/* train — the whole of `qatc train` (docs/train.md, docs/config.md).
 *
 * 1. Float pretraining (pretrain.epochs, may be 0): conv → BN → act.
 * 2. Post-training quantization, measured for comparison: the observers are
 *    calibrated on quantization.calibration_batches training batches (float
 *    forward, BN on running statistics, no weight updates), the net is
 *    converted and the int8 model evaluated. With quantization.train.epochs 0
 *    this is the result.
 * 3. QAT (quantization.train.epochs): fused conv+BN with fake quantization
 *    (net.h), observers reset at its start, a fresh optimizer. The schedule,
 *    with epochs counted from 0 within QAT:
 *      BN uses running statistics during epoch e  ⇔  e >= freeze_bn_after
 *      observers frozen during epoch e            ⇔  e >= disable_observer_after
 *    and the switch happens at the END of epoch k − 1, before that epoch's
 *    evaluation, exactly as the seed's loop body
 *      train_one_epoch(); if nepoch > 3: disable_observer; if nepoch > 2: freeze_bn_stats; convert; evaluate
 *    does with freeze_bn_after 4 (nepoch > 2 ⇔ nepoch + 1 >= 3 + 1) and
 *    disable_observer_after 5 (nepoch > 3 ⇔ nepoch + 1 >= 5).
 *    After every epoch the net is converted to int8 and the int8 model
 *    evaluated with q8_exec (metric_int8: one executor per thread) on the
 *    validation set and the eval set; the best on the choosing set (the
 *    validation set, else the eval set; ties: the earlier) is written to
 *    DIR/NAME.frozen.yaml. The eval set is reported, and chooses only
 *    without data.validation.
 * 4. The result: the kept int8 model's metric (evaluation.accuracy.metric:
 *    top1, mse or auc, metric.h) against the float baseline (the float
 *    model's when quantization starts), both on the choosing set, under
 *    tuning.accuracy_criterion in the metric's direction (metric_bound):
 *    relative r → int8 >= float · (1 − r), absolute a → int8 >= float − a;
 *    for mse int8 <= float · (1 + r), int8 <= float + a.
 *    tuning.exit_policy.timeout (seconds; 0 = none)
 *    limits quantization as Intel Neural Compressor's fit limits tuning: the
 *    time since PTQ started (summed over resumed runs) is checked before each
 *    QAT epoch and after every QAT batch; when it is up, a started epoch ends
 *    there and is evaluated, and the best int8 model so far (PTQ included) is
 *    the result. Float pretraining is not limited.
 *
 * Loss (model.loss): cross-entropy against class labels, or mse against
 * float targets or (target: input) the input batch itself. data.augment
 * shifts and flips the float training batches (augment.h); a validation
 * fraction is split off the training set with an rng seeded by the run's
 * seed (dataset_split), so it is drawn again, identically, on resume.
 *
 * With attribution (attrib.h), the fake-quant net is measured on the
 * choosing set right after PTQ calibration (stage "ptq": the float weights
 * with the calibrated scales) and at the end of the run (stage "end": the
 * net as QAT left it), each as a table on stdout (also with quiet) and as
 * rows of DIR/NAME.attribution.csv; a resumed run keeps the file's "ptq"
 * rows. The measurements change nothing in the training.
 *
 * Files in DIR: NAME.frozen.yaml (the best int8 model), NAME.ckpt (the
 * checkpoint, checkpoint.h: written atomically after every epoch, on Ctrl-C
 * and on timeout), NAME.csv (one row per epoch: epoch, phase, loss,
 * float_M, int8_M on the eval set, with a validation set val_float_M,
 * val_int8_M, then lr, seconds; M the metric; float_M of a QAT row is the
 * fake-quant network's). With resume, training continues from the
 * checkpoint exactly: the final model is bit-identical to an uninterrupted
 * run with the same seed (with any thread count: see docs/train.md). The
 * checkpoint keeps the config's settings (cfgcanon.h); resuming with a config
 * whose settings differ fails, naming the first differing one.
 */
#ifndef QATC_TRAIN_H
#define QATC_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "qerr.h"

typedef struct {
    const char *config_path;
    const char *out_dir;            /* NULL = the current folder */
    int resume;
    int threads;                    /* <= 0: all processors */
    int have_seed;
    uint64_t seed;                  /* overrides tuning.random_seed when have_seed */
    int quiet;                      /* no progress line, no epoch lines */
    int sqnr;                       /* print per-layer SQNR at the end */
    int attribution;                /* attrib.h tables after PTQ and at the end, on stdout
                                       and in DIR/NAME.attribution.csv */
    volatile sig_atomic_t *interrupt; /* set asynchronously (SIGINT); may be NULL */
    int64_t stop_after;             /* > 0: stop as on an interrupt after this many
                                       training batches of this run (tests, split runs) */
} train_opts;

/* The values are evaluation.accuracy.metric's (top1 and auc as fractions,
 * mse as it is) on the set that chooses: the validation set, or the eval set
 * without data.validation. */
typedef struct {
    metric_kind metric;
    double float_acc;               /* baseline */
    double ptq_acc;                 /* -1 when not measured */
    double best_acc;                /* the kept (best) int8 model's */
    double best_eval;               /* the kept model's on the eval set (= best_acc
                                       without a validation set) */
    int best_epoch;                 /* QAT epoch of the best model (-1: PTQ) */
    int criterion_met;
    int timed_out;
    double agreement;               /* last QAT epoch of this run: share of eval images on
                                       which the fake-quant net and the int8 model agree
                                       on top-1 (1 when no QAT epoch ran) */
    double min_agreement;           /* the lowest over this run's QAT epochs */
} train_result;

/* The QAT schedule: during QAT epoch `epoch` (0-based) batch norm uses its
 * running statistics when epoch >= freeze_bn_after, and the observers are
 * frozen when epoch >= disable_observer_after. The trainer switches to the
 * state of epoch e + 1 at the end of epoch e, before evaluating it. */
void train_qat_flags(const cfg_config *c, int epoch, int *bn_frozen, int *observers);

/* Runs the whole schedule (or continues it with resume). Returns 0 when
 * done, 1 when interrupted (a checkpoint was written; resume continues), or
 * -1 with e set: bad config or data, I/O, a non-finite loss (the last good
 * checkpoint is kept and named in the message). r may be NULL. */
int train_run(const train_opts *o, train_result *r, qerr *e);

#endif
