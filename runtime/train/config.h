/* config — the training config of `qatc train` (docs/config.md).
 *
 * Mirrors Intel Neural Compressor's conf.yaml where it can. Every key has a
 * default (cfg_defaults); unknown keys and bad values are rejected with
 * "FILE:LINE: FIELD: problem" and, for a misspelt key, the nearest valid one.
 */
#ifndef QATC_CONFIG_H
#define QATC_CONFIG_H

#include <stdint.h>

#include "augment.h"
#include "dataset.h"
#include "metric.h"
#include "qerr.h"
#include "qmodel.h"

#define CFG_MAX_LAYERS 64
#define CFG_PATH_MAX 4096
#define CFG_MAX_BYTES (1 << 20) /* a config file: bytes and YAML nodes (yamlx limits) */
#define CFG_MAX_NODES (1 << 16)

typedef struct {
    q_geom geom;             /* op, window, outputs: resolved by cfg_read (q_geom_derive) */
    char name[Q_NAME_MAX];   /* "" when not named */
    int line;                /* line in the config, for later messages */
    int bn;                  /* conv2d, dwconv2d, linear: batch norm (folded for QAT) */
    q_act act;               /* conv2d, dwconv2d, linear, add */
    int input;               /* the tensor it reads, numbered as in qmodel.h (0: the model
                              * input, j + 1: the output of layers[j]): i (the previous
                              * layer's output), or the one `from` names */
    int input2;              /* add: the tensor `with` names; -1 otherwise */
    int weight_bits;         /* conv2d, dwconv2d, linear: 8 or 4, resolved (the layer's
                              * weight_bits, else quantization.weight.bits); 0 otherwise */
    int weight_bits_fixed;   /* the layer gave weight_bits (mixed-precision tuning keeps it) */
} cfg_layer;

/* model.init: how fresh weights are drawn (layers.h: ly_uniform_init, ly_he_init) */
typedef enum { CFG_INIT_PYTORCH, CFG_INIT_HE } cfg_init;

/* model.loss and model.target: what the network is trained to give. */
typedef enum { CFG_LOSS_CROSS_ENTROPY, CFG_LOSS_MSE } cfg_loss;
typedef enum { CFG_TARGET_LABELS, CFG_TARGET_INPUT } cfg_target;

/* data.validation: none (the eval set chooses), a fraction of the training
 * set, or files. */
typedef enum { CFG_VALIDATION_NONE, CFG_VALIDATION_FRACTION, CFG_VALIDATION_FILES } cfg_validation;

/* tuning.strategy: basic (the configured widths), or mixed_precision (per
 * layer 4- or 8-bit weights chosen by the tuner, tune.h). */
typedef enum { CFG_STRATEGY_BASIC, CFG_STRATEGY_MIXED } cfg_strategy;

typedef enum { CFG_SGD, CFG_ADAM } cfg_optimizer_type;
typedef enum { CFG_LR_CONSTANT, CFG_LR_STEP, CFG_LR_COSINE } cfg_lr_schedule;

typedef struct {
    cfg_optimizer_type type;
    double lr, momentum, weight_decay;
    int nesterov;
    double beta1, beta2, eps;          /* adam */
} cfg_optimizer;

typedef struct {
    int32_t epochs;
    int32_t iterations;                /* batches per epoch, 0 = the whole set */
    int32_t batch;
    cfg_optimizer optimizer;
    cfg_lr_schedule lr_schedule;
    int32_t step_epochs;               /* step schedule: lr *= step_gamma every step_epochs */
    double step_gamma;
} cfg_phase;

typedef struct {
    char config_path[CFG_PATH_MAX];    /* the file this was read from */

    /* model */
    char name[Q_NAME_MAX];
    q_shape input_shape;               /* H, W, C */
    q_quant input_q;
    cfg_init init;
    cfg_loss loss;                     /* cross_entropy (classes) or mse */
    cfg_target target;                 /* labels, or input (an autoencoder; loss mse) */
    int n_layers;
    cfg_layer layers[CFG_MAX_LAYERS];

    /* data: absolute or relative to the current folder (resolved from the config's
     * folder); a labels path is "" where cfg_labels_kind says DATASET_NONE */
    char train_images[CFG_PATH_MAX], train_labels[CFG_PATH_MAX];
    char eval_images[CFG_PATH_MAX], eval_labels[CFG_PATH_MAX];
    cfg_validation validation;
    double validation_fraction;        /* CFG_VALIDATION_FRACTION: in (0, 1) */
    char val_images[CFG_PATH_MAX], val_labels[CFG_PATH_MAX]; /* CFG_VALIDATION_FILES */
    int validation_line;               /* line of data.validation, for later messages */
    aug_config augment;                /* data.augment; {0, 0} = none */

    /* evaluation */
    metric_kind metric;                /* top1 (cross-entropy), mse or auc (loss mse) */

    /* pretrain (float); pretrain.epochs 0 or absent section = skip */
    cfg_phase pretrain;

    /* quantization */
    int weight_bits;                   /* 8 or 4: the default of every weighted layer */
    int weight_per_channel;
    int act_bits;                      /* 8 */
    double averaging_constant;         /* moving_average_minmax */
    int fake_quant_weights;            /* 1; 0 switches weight fake quant off */
    int fake_quant_acts;               /* 1; 0 switches activation fake quant off */
    cfg_phase qat;                     /* epochs 0 = post-training static quantization */
    int32_t calibration_batches;       /* PTQ: batches of training data for the observers */
    int32_t freeze_bn_after;           /* QAT epoch (0-based) from which BN uses running stats */
    int32_t disable_observer_after;    /* QAT epoch from which scales are frozen */

    /* tuning */
    cfg_strategy strategy;             /* basic, or mixed_precision */
    int criterion_relative;            /* 1: relative, 0: absolute */
    double criterion;                  /* 0.01 relative, or absolute points as a fraction */
    double timeout_s;                  /* 0 = run the whole schedule */
    uint64_t seed;
} cfg_config;

/* Fills c with every default (a valid config lacks only layers and data). */
void cfg_defaults(cfg_config *c);

/* Reads and validates path into c (defaults first, then the file). Layer
 * shapes are derived and checked against the input shape (q_geom_derive:
 * kernel larger than the padded input, add of mismatched shapes, sizes), and
 * each layer's geom is stored resolved (defaults filled in, padding as four
 * sides). Returns 0, or -1 with e set to "FILE:LINE: FIELD: problem". */
int cfg_read(const char *path, cfg_config *c, qerr *e);

/* The shape of every tensor of the layer stack: shapes[0] is the input,
 * shapes[i + 1] the output of layers[i] (shapes holds n_layers + 1 entries).
 * A linear layer reads its input as one NHWC vector (an implicit flatten);
 * with loss cross_entropy the last layer must give 1x1xK class scores,
 * 2 <= K <= 256; with target input the input's shape. Returns 0, or
 * -1 with e set ("FILE:LINE: model.layers[i].TYPE.KEY: problem") for a
 * config that cfg_read would reject; shapes is then partly filled. */
int cfg_shapes(const cfg_config *c, q_shape *shapes, qerr *e);

/* Number of classes (K of the last layer's 1x1xK output; for loss mse the
 * output's channels), 0 for an invalid layer stack. */
int32_t cfg_classes(const cfg_config *c);

/* What the labels file of a set must hold: the training set (train = 1), or
 * a set the model is judged on (validation files, eval). Cross-entropy:
 * DATASET_CLASSES. loss mse with target labels: DATASET_TARGETS (float
 * targets). target input: DATASET_NONE for training and for metric mse (the
 * target is the input), DATASET_CLASSES for metric auc's anomaly labels (1 =
 * anomaly, 0 = normal). */
dataset_labels_kind cfg_labels_kind(const cfg_config *c, int train);

#endif
