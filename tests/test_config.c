/* Tests for config: a full valid config read back field by field, defaults,
 * and invalid configs, each checked for the exact "FILE:LINE: FIELD: problem". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

typedef struct {
    char dir[256];
    char path[320];
    cfg_config c;
    qerr e;
} fixture;

static const char *const data_files[] = {"tri.idx", "trl.idx", "evi.idx.gz", "evl.idx.gz",
                                         NULL};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/test_config.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    /* cfg_read only checks that data files are readable */
    char p[400];
    snprintf(p, sizeof p, "%s/data", f->dir);
    mkdir(p, 0700);
    for (int i = 0; data_files[i]; i++) {
        snprintf(p, sizeof p, "%s/data/%s", f->dir, data_files[i]);
        FILE *fp = fopen(p, "wb");
        if (!fp)
            return -1;
        fclose(fp);
    }
    snprintf(f->path, sizeof f->path, "%s/net.yaml", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[400];
    for (int i = 0; data_files[i]; i++) {
        snprintf(p, sizeof p, "%s/data/%s", f->dir, data_files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/data", f->dir);
    rmdir(p);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int read_text(fixture *f, const char *text)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    memset(&f->e, 0, sizeof f->e);
    return cfg_read(f->path, &f->c, &f->e);
}

/* The config must fail with exactly "PATH:" rest. */
static void expect_error(fixture *f, const char *text, const char *rest)
{
    if (read_text(f, text) == 0)
        fail_msg("accepted, expected error '%s' for:\n%s", rest, text);
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", f->path, rest);
    if (strcmp(f->e.msg, want) != 0)
        fail_msg("for:\n%s\ngot:  %s\nwant: %s", text, f->e.msg, want);
}

static const char full_config[] =
    "model:\n"                                                                     /* 1 */
    "  name: tiny_net\n"                                                           /* 2 */
    "  input: {shape: [16, 12, 3], scale: 0.02, zero_point: -5}\n"                 /* 3 */
    "  layers:\n"                                                                  /* 4 */
    "    - conv2d:   {out: 8, kernel: 3, stride: 1, pad: 1, bn: true, act: relu}\n" /* 5 */
    "    - maxpool:  {kernel: 2}\n"                                                /* 6 */
    "    - dwconv2d: {kernel: 3, stride: 2, pad: 1, bn: true, act: relu6}\n"       /* 7 */
    "    - conv2d:   {out: 16, kernel: 1, bn: true, act: relu, name: b1}\n"        /* 8 */
    "    - conv2d:   {out: 16, kernel: 3, pad: 1, bn: false}\n"                    /* 9 */
    "    - add:      {with: b1, act: relu, name: sum}\n"                           /* 10 */
    "    - avgpool:  {kernel: 2, stride: 1}\n"                                     /* 11 */
    "    - avgpool:  {global: true}\n"                                             /* 12 */
    "    - flatten:  {}\n"                                                         /* 13 */
    "    - linear:   {out: 7}\n"                                                   /* 14 */
    "data:\n"
    "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
    "  eval:\n"
    "    images: data/evi.idx.gz\n"
    "    labels: data/evl.idx.gz\n"
    "pretrain:\n"
    "  epochs: 3\n"
    "  iterations: 10\n"
    "  batch: 32\n"
    "  optimizer: {type: adam, lr: 0.001, weight_decay: 0.0001, beta1: 0.8, beta2: 0.99, "
    "eps: 1e-7}\n"
    "  lr_schedule: step\n"
    "  lr_step_epochs: 2\n"
    "  lr_step_gamma: 0.5\n"
    "quantization:\n"
    "  approach: quant_aware_training\n"
    "  weight: {bits: 8, granularity: per_tensor, fake_quant: false}\n"
    "  activation: {bits: 8, observer: moving_average_minmax, averaging_constant: 0.1, "
    "fake_quant: true}\n"
    "  calibration_batches: 7\n"
    "  train:\n"
    "    epochs: 6\n"
    "    iterations: 0\n"
    "    batch: 16\n"
    "    optimizer: {type: sgd, lr: 0.005, momentum: 0.8, nesterov: true, weight_decay: 0.0}\n"
    "    lr_schedule: constant\n"
    "    freeze_bn_after: 2\n"
    "    disable_observer_after: 3\n"
    "evaluation:\n"
    "  accuracy: {metric: top1}\n"
    "tuning:\n"
    "  accuracy_criterion: {absolute: 0.005}\n"
    "  exit_policy: {timeout: 120}\n"
    "  random_seed: 42\n";

static void test_config_full(void **state)
{
    fixture *f = *state;
    if (read_text(f, full_config))
        fail_msg("%s", f->e.msg);
    cfg_config *c = &f->c;
    assert_string_equal(c->config_path, f->path);
    assert_string_equal(c->name, "tiny_net");
    assert_int_equal(c->input_shape.h, 16);
    assert_int_equal(c->input_shape.w, 12);
    assert_int_equal(c->input_shape.c, 3);
    assert_true(c->input_q.scale == 0.02);
    assert_int_equal(c->input_q.zero_point, -5);

    assert_int_equal(c->n_layers, 10);
    const cfg_layer *l = c->layers;
    assert_int_equal(l[0].geom.op, Q_OP_CONV2D);
    assert_int_equal(l[0].geom.out_c, 8);
    assert_int_equal(l[0].geom.win.kernel_h, 3);
    assert_int_equal(l[0].geom.win.stride_h, 1);
    assert_int_equal(l[0].geom.win.pad_top, 1);
    assert_int_equal(l[0].bn, 1);
    assert_int_equal(l[0].act, Q_ACT_RELU);
    assert_int_equal(l[0].line, 5);
    assert_string_equal(l[0].name, "");
    assert_int_equal(l[1].geom.op, Q_OP_MAXPOOL);
    assert_int_equal(l[1].geom.win.kernel_h, 2);
    assert_int_equal(l[1].geom.win.stride_h, 2); /* defaults to the kernel */
    assert_int_equal(l[2].geom.op, Q_OP_DWCONV2D);
    assert_int_equal(l[2].geom.win.stride_h, 2);
    assert_int_equal(l[2].act, Q_ACT_RELU6);
    assert_string_equal(l[3].name, "b1");
    assert_int_equal(l[3].geom.win.pad_top, 0);
    assert_int_equal(l[3].geom.win.stride_h, 1);
    assert_int_equal(l[4].bn, 0);
    assert_int_equal(l[4].act, Q_ACT_NONE);
    assert_int_equal(l[5].geom.op, Q_OP_ADD);
    assert_int_equal(l[5].input, 5); /* the previous layer's output */
    assert_int_equal(l[5].input2, 4); /* b1: layers[3]'s output */
    for (int i = 0; i < 10; i++)
        assert_int_equal(l[i].input, i);
    assert_int_equal(l[4].input2, -1);
    assert_int_equal(l[5].act, Q_ACT_RELU);
    assert_string_equal(l[5].name, "sum");
    assert_int_equal(l[6].geom.op, Q_OP_AVGPOOL);
    assert_int_equal(l[6].geom.global, 0);
    assert_int_equal(l[6].geom.win.stride_h, 1);
    assert_int_equal(l[7].geom.global, 1);
    assert_int_equal(l[8].geom.op, Q_OP_FLATTEN);
    assert_int_equal(l[9].geom.op, Q_OP_LINEAR);
    assert_int_equal(l[9].geom.out_c, 7);
    assert_int_equal(l[9].line, 14);

    char want[400];
    snprintf(want, sizeof want, "%s/data/tri.idx", f->dir);
    assert_string_equal(c->train_images, want);
    snprintf(want, sizeof want, "%s/data/trl.idx", f->dir);
    assert_string_equal(c->train_labels, want);
    snprintf(want, sizeof want, "%s/data/evi.idx.gz", f->dir);
    assert_string_equal(c->eval_images, want);
    snprintf(want, sizeof want, "%s/data/evl.idx.gz", f->dir);
    assert_string_equal(c->eval_labels, want);

    assert_int_equal(c->pretrain.epochs, 3);
    assert_int_equal(c->pretrain.iterations, 10);
    assert_int_equal(c->pretrain.batch, 32);
    assert_int_equal(c->pretrain.optimizer.type, CFG_ADAM);
    assert_true(c->pretrain.optimizer.lr == 0.001);
    assert_true(c->pretrain.optimizer.weight_decay == 0.0001);
    assert_true(c->pretrain.optimizer.beta1 == 0.8);
    assert_true(c->pretrain.optimizer.beta2 == 0.99);
    assert_true(c->pretrain.optimizer.eps == 1e-7);
    assert_int_equal(c->pretrain.lr_schedule, CFG_LR_STEP);
    assert_int_equal(c->pretrain.step_epochs, 2);
    assert_true(c->pretrain.step_gamma == 0.5);

    assert_int_equal(c->weight_bits, 8);
    assert_int_equal(c->weight_per_channel, 0);
    assert_int_equal(c->fake_quant_weights, 0);
    assert_int_equal(c->act_bits, 8);
    assert_true(c->averaging_constant == 0.1);
    assert_int_equal(c->fake_quant_acts, 1);
    assert_int_equal(c->calibration_batches, 7);
    assert_int_equal(c->qat.epochs, 6);
    assert_int_equal(c->qat.batch, 16);
    assert_int_equal(c->qat.optimizer.type, CFG_SGD);
    assert_true(c->qat.optimizer.momentum == 0.8);
    assert_int_equal(c->qat.optimizer.nesterov, 1);
    assert_true(c->qat.optimizer.weight_decay == 0.0);
    assert_int_equal(c->qat.lr_schedule, CFG_LR_CONSTANT);
    assert_int_equal(c->freeze_bn_after, 2);
    assert_int_equal(c->disable_observer_after, 3);

    assert_int_equal(c->criterion_relative, 0);
    assert_true(c->criterion == 0.005);
    assert_true(c->timeout_s == 120.0);
    assert_int_equal(c->seed, 42);

    /* shapes: 16x12x3 -conv-> 16x12x8 -pool-> 8x6x8 -dw s2-> 4x3x8 -1x1-> 4x3x16
     * -3x3-> 4x3x16 -add-> 4x3x16 -avg 2/1-> 3x2x16 -gap-> 1x1x16 -> 1x1x16 -> 1x1x7 */
    q_shape s[CFG_MAX_LAYERS + 1];
    assert_int_equal(cfg_shapes(c, s, &f->e), 0);
    const int32_t want_shapes[11][3] = {{16, 12, 3}, {16, 12, 8}, {8, 6, 8}, {4, 3, 8},
                                        {4, 3, 16},  {4, 3, 16},  {4, 3, 16}, {3, 2, 16},
                                        {1, 1, 16},  {1, 1, 16},  {1, 1, 7}};
    for (int i = 0; i < 11; i++)
        if (s[i].h != want_shapes[i][0] || s[i].w != want_shapes[i][1] ||
            s[i].c != want_shapes[i][2])
            fail_msg("tensor %d is %dx%dx%d, expected %dx%dx%d", i, s[i].h, s[i].w, s[i].c,
                     want_shapes[i][0], want_shapes[i][1], want_shapes[i][2]);
    assert_int_equal(cfg_classes(c), 7);
}

static void test_config_defaults(void **state)
{
    fixture *f = *state;
    if (read_text(f, "model:\n  layers:\n    - flatten:\n    - linear: {out: 10}\n"))
        fail_msg("%s", f->e.msg);
    cfg_config *c = &f->c;
    assert_string_equal(c->name, "net"); /* from net.yaml */
    assert_int_equal(c->input_shape.h, 28);
    assert_int_equal(c->input_shape.w, 28);
    assert_int_equal(c->input_shape.c, 1);
    assert_true(c->input_q.scale == 1.0 / 255.0);
    assert_int_equal(c->input_q.zero_point, -128);
    assert_int_equal(c->init, CFG_INIT_PYTORCH);
    assert_string_equal(c->train_images,
                        "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    assert_string_equal(c->train_labels,
                        "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
    assert_string_equal(c->eval_images,
                        "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    assert_string_equal(c->eval_labels,
                        "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    assert_int_equal(c->pretrain.epochs, 0);
    assert_int_equal(c->qat.epochs, 8);
    assert_int_equal(c->qat.batch, 64);
    assert_int_equal(c->qat.optimizer.type, CFG_SGD);
    assert_true(c->qat.optimizer.lr == 0.005);
    assert_true(c->qat.optimizer.momentum == 0.9);
    assert_int_equal(c->qat.lr_schedule, CFG_LR_COSINE);
    assert_int_equal(c->freeze_bn_after, 4);
    assert_int_equal(c->disable_observer_after, 5);
    assert_int_equal(c->weight_bits, 8);
    assert_int_equal(c->weight_per_channel, 1);
    assert_int_equal(c->fake_quant_weights, 1);
    assert_int_equal(c->fake_quant_acts, 1);
    assert_true(c->averaging_constant == 0.01);
    assert_int_equal(c->criterion_relative, 1);
    assert_true(c->criterion == 0.01);
    assert_true(c->timeout_s == 0.0);
    assert_int_equal(c->seed, 9527);
    assert_int_equal(cfg_classes(c), 10);

    /* pretrain given: its own defaults */
    if (read_text(f, "model:\n  layers: [linear: {out: 10}]\npretrain: {epochs: 6}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(c->pretrain.epochs, 6);
    assert_int_equal(c->pretrain.batch, 64);
    assert_true(c->pretrain.optimizer.lr == 0.05);
    assert_true(c->pretrain.optimizer.weight_decay == 0.0005);
    assert_int_equal(c->pretrain.lr_schedule, CFG_LR_COSINE);

    cfg_config d;
    cfg_defaults(&d);
    assert_int_equal(d.freeze_bn_after, 4);
    assert_int_equal(d.disable_observer_after, 5);
    assert_int_equal(d.qat.epochs, 8);
}

/* freeze_bn_after and disable_observer_after follow the epoch count unless given. */
static void test_config_schedule_defaults(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *train;
        int epochs, freeze, disable;
    } cases[] = {
        {"{epochs: 8}", 8, 4, 5},
        {"{epochs: 4}", 4, 2, 3},
        {"{epochs: 16}", 16, 8, 10},
        {"{epochs: 1}", 1, 0, 1},
        {"{epochs: 0}", 0, 0, 0},
        {"{epochs: 8, freeze_bn_after: 6}", 8, 6, 5},
        {"{epochs: 3, disable_observer_after: 9}", 3, 1, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "model: {layers: [linear: {out: 3}]}\n"
                                    "quantization: {train: %s}\n", cases[i].train);
        if (read_text(f, text))
            fail_msg("%s: %s", cases[i].train, f->e.msg);
        if (f->c.qat.epochs != cases[i].epochs || f->c.freeze_bn_after != cases[i].freeze ||
            f->c.disable_observer_after != cases[i].disable)
            fail_msg("%s: epochs %d freeze %d disable %d, expected %d %d %d", cases[i].train,
                     f->c.qat.epochs, f->c.freeze_bn_after, f->c.disable_observer_after,
                     cases[i].epochs, cases[i].freeze, cases[i].disable);
    }
    /* post-training quantization */
    if (read_text(f, "model: {layers: [linear: {out: 3}]}\n"
                     "quantization: {approach: post_training_static_quant}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.qat.epochs, 0);
}

static void test_config_misspelt_keys_suggest(void **state)
{
    fixture *f = *state;
    expect_error(f, "modle:\n  layers: []\n", "1: modle: unknown key, did you mean 'model'?");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernal: 3}\n",
                 "3: model.layers[0].conv2d.kernal: unknown key, did you mean 'kernel'?");
    expect_error(f, "model:\n  inptu: {shape: [4, 4, 1]}\n  layers: [linear: {out: 2}]\n",
                 "2: model.inptu: unknown key, did you mean 'input'?");
    expect_error(f, "model:\n  input: {shape: [4, 4, 1], zeropoint: 0}\n"
                    "  layers: [linear: {out: 2}]\n",
                 "2: model.input.zeropoint: unknown key, did you mean 'zero_point'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 1\n"
                    "  optimizer: {type: sgd, momentun: 0.9}\n",
                 "4: pretrain.optimizer.momentun: unknown key, did you mean 'momentum'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n  train:\n"
                    "    freeze_bn_afer: 3\n",
                 "4: quantization.train.freeze_bn_afer: unknown key, did you mean "
                 "'freeze_bn_after'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {relativ: 0.01}\n",
                 "3: tuning.accuracy_criterion.relativ: unknown key, did you mean "
                 "'relative'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {image: a, labels: b}\n",
                 "3: data.train.image: unknown key, did you mean 'images'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  weight: {granularty: per_tensor}\n",
                 "3: quantization.weight.granularty: unknown key, did you mean "
                 "'granularity'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nevaluation:\n"
                    "  accuracy: {metrc: top1}\n",
                 "3: evaluation.accuracy.metrc: unknown key, did you mean 'metric'?");
    /* a key that belongs to another layer type */
    expect_error(f, "model:\n  layers:\n    - maxpool: {kernel: 2, act: relu}\n"
                    "    - linear: {out: 2}\n",
                 "3: model.layers[0].maxpool.act: unknown key (valid keys: kernel, stride, "
                 "pad, name, from)");
    expect_error(f, "model:\n  layers: [linear: {out: 2}]\n  layers: [linear: {out: 3}]\n",
                 "3: model.layers: duplicate key (first on line 2)");
}

static void test_config_wrong_types(void **state)
{
    fixture *f = *state;
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: abc, kernel: 3}\n",
                 "3: model.layers[0].conv2d.out: expected an integer, got 'abc'");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3, bn: yes}\n",
                 "3: model.layers[0].conv2d.bn: expected true or false, got 'yes'");
    expect_error(f, "model:\n  input: {scale: fast}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.scale: expected a number, got 'fast'");
    expect_error(f, "model:\n  input: {shape: 28}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.shape: expected a sequence, got '28'");
    expect_error(f, "model:\n  layers: {linear: {out: 2}}\n",
                 "2: model.layers: expected a sequence, got a mapping");
    expect_error(f, "model: [1, 2]\n", "1: model: expected a mapping, got a sequence");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain: 4\n",
                 "2: pretrain: expected a mapping, got '4'");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning: {random_seed: -1}\n",
                 "2: tuning.random_seed: -1 is out of range [0, 9223372036854775807]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning: {random_seed: '7'}\n",
                 "2: tuning.random_seed: expected an integer, got the quoted string '7'");
}

static void test_config_out_of_range(void **state)
{
    fixture *f = *state;
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3, stride: 0}\n",
                 "3: model.layers[0].conv2d.stride: 0 is out of range [1, 4096]");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 0, kernel: 3}\n",
                 "3: model.layers[0].conv2d.out: 0 is out of range [1, 4096]");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3, pad: 3}\n",
                 "3: model.layers[0].conv2d.pad: 3 must be less than the kernel (3)");
    expect_error(f, "model:\n  input: {shape: [28, 0, 1]}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.shape[1]: 0 is out of range [1, 4096]");
    expect_error(f, "model:\n  input: {shape: [28, 28]}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.shape: expected [H, W, C] (3 numbers), got 2");
    expect_error(f, "model:\n  input: {scale: 0}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.scale: 0 is out of range [1e-12, 1e+06]");
    expect_error(f, "model:\n  input: {zero_point: 128}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.zero_point: 128 is out of range [-128, 127]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {lr: 0}\n",
                 "4: pretrain.optimizer.lr: 0 is out of range (0, 10]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {momentum: 1.0}\n",
                 "4: pretrain.optimizer.momentum: 1.0 is out of range [0, 1)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  batch: 0\n",
                 "4: pretrain.batch: 0 is out of range [1, 65536]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  batch: 1\n",
                 "4: pretrain.batch: 1: a batch needs at least 2 images (batch norm normalizes "
                 "over the batch)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n  train: {batch: 1}\n",
                 "3: quantization.train.batch: 1: a batch needs at least 2 images (batch norm "
                 "normalizes over the batch)");
    expect_error(f, "model:\n  input: {scale: 1e-13}\n  layers: [linear: {out: 2}]\n",
                 "2: model.input.scale: 1e-13 is out of range [1e-12, 1e+06]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n  train:\n"
                    "    epochs: -1\n",
                 "4: quantization.train.epochs: -1 is out of range [0, 10000]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  activation: {averaging_constant: 0}\n",
                 "3: quantization.activation.averaging_constant: 0 is out of range (0, 1]");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  weight: {bits: 2}\n",
                 "3: quantization.weight.bits: 2 is not supported (8 or 4)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {relative: 1.5}\n",
                 "3: tuning.accuracy_criterion.relative: 1.5 is out of range [0, 1)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  exit_policy: {timeout: -5}\n",
                 "3: tuning.exit_policy.timeout: -5 is out of range [0, 1e+09]");
}

/* quantization.weight.bits is every weighted layer's default; a layer's own
 * weight_bits wins (and is marked fixed for mixed-precision tuning). */
static void test_config_weight_bits(void **state)
{
    fixture *f = *state;
    assert_int_equal(read_text(f, "model:\n  layers:\n"
                                  "    - conv2d: {out: 4, kernel: 3, weight_bits: 8}\n"
                                  "    - maxpool: {kernel: 2}\n"
                                  "    - dwconv2d: {kernel: 3}\n"
                                  "    - linear: {out: 3, weight_bits: 4}\n"
                                  "quantization:\n  weight: {bits: 4}\n"),
                     0);
    cfg_config *c = &f->c;
    assert_int_equal(c->weight_bits, 4);
    static const int bits[4] = {8, 0, 4, 4}, fixed[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c->layers[i].weight_bits, bits[i]);
        assert_int_equal(c->layers[i].weight_bits_fixed, fixed[i]);
    }
    assert_int_equal(c->strategy, CFG_STRATEGY_BASIC);
    /* without the quantization section every layer has 8 */
    assert_int_equal(read_text(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3}\n"
                                  "    - linear: {out: 3, weight_bits: 4}\n"
                                  "tuning: {strategy: mixed_precision}\n"),
                     0);
    assert_int_equal(c->layers[0].weight_bits, 8);
    assert_int_equal(c->layers[1].weight_bits, 4);
    assert_int_equal(c->strategy, CFG_STRATEGY_MIXED);

    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3, weight_bits: 5}\n",
                 "3: model.layers[0].conv2d.weight_bits: 5 is not supported (8 or 4)");
    expect_error(f, "model:\n  layers:\n    - linear: {out: 4, weight_bits: '4'}\n",
                 "3: model.layers[0].linear.weight_bits: expected an integer, got the quoted "
                 "string '4'");
    expect_error(f, "model:\n  layers:\n    - linear: {out: 4, weight_bits: 4.0}\n",
                 "3: model.layers[0].linear.weight_bits: expected an integer, got '4.0'");
    expect_error(f, "model:\n  layers:\n    - maxpool: {kernel: 2, weight_bits: 4}\n"
                    "    - linear: {out: 2}\n",
                 "3: model.layers[0].maxpool.weight_bits: unknown key (valid keys: kernel, "
                 "stride, pad, name, from)");
    expect_error(f, "model:\n  layers:\n    - linear: {out: 4, weigth_bits: 4}\n",
                 "3: model.layers[0].linear.weigth_bits: unknown key, did you mean "
                 "'weight_bits'?");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  weight: {bits: 16}\n",
                 "3: quantization.weight.bits: 16 is not supported (8 or 4)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning: {strategy: mixed}\n",
                 "2: tuning.strategy: unknown value 'mixed' (one of: basic, mixed_precision)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  approach: post_training_static_quant\n"
                    "tuning: {strategy: mixed_precision}\n",
                 "4: tuning.strategy: mixed_precision trains each candidate with QAT; it needs "
                 "quantization.train.epochs > 0");
}

static void test_config_enum_values(void **state)
{
    fixture *f = *state;
    if (read_text(f, "model: {init: he, layers: [linear: {out: 2}]}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.init, CFG_INIT_HE);
    expect_error(f, "model:\n  init: kaiming\n  layers: [linear: {out: 2}]\n",
                 "2: model.init: unknown value 'kaiming' (one of: pytorch, he)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 3, act: rleu}\n",
                 "3: model.layers[0].conv2d.act: unknown value 'rleu', did you mean 'relu'? "
                 "(one of: none, relu, relu6)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  lr_schedule: cosin\n",
                 "4: pretrain.lr_schedule: unknown value 'cosin', did you mean 'cosine'? "
                 "(one of: constant, step, cosine)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {type: rmsprop}\n",
                 "4: pretrain.optimizer.type: unknown value 'rmsprop' (one of: sgd, adam)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  approach: dynamic\n",
                 "3: quantization.approach: unknown value 'dynamic' (one of: "
                 "quant_aware_training, post_training_static_quant)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  weight: {granularity: per_layer}\n",
                 "3: quantization.weight.granularity: unknown value 'per_layer' (one of: "
                 "per_channel, per_tensor)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  activation: {observer: minmax}\n",
                 "3: quantization.activation.observer: unknown value 'minmax' (one of: "
                 "moving_average_minmax)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nevaluation:\n"
                    "  accuracy: {metric: top5}\n",
                 "3: evaluation.accuracy.metric: unknown value 'top5', did you mean 'top1'? "
                 "(one of: top1, mse, auc)");
}

static void test_config_layer_list(void **state)
{
    fixture *f = *state;
    expect_error(f, "model:\n  layers:\n    - conv3d: {out: 4, kernel: 3}\n",
                 "3: model.layers[0]: unknown layer type 'conv3d', did you mean 'conv2d'?");
    expect_error(f, "model:\n  layers:\n    - dense: {out: 4}\n",
                 "3: model.layers[0]: unknown layer type 'dense' (one of: conv2d, dwconv2d, "
                 "linear, maxpool, avgpool, add, flatten, softmax)");
    expect_error(f, "model:\n  layers:\n    - conv2d\n",
                 "3: model.layers[0]: expected one layer as a one-key mapping such as "
                 "'- conv2d: {out: 16, kernel: 3}', got a scalar");
    expect_error(f, "model:\n  layers:\n    - {flatten: {}, linear: {out: 2}}\n",
                 "3: model.layers[0]: expected one layer as a one-key mapping such as "
                 "'- conv2d: {out: 16, kernel: 3}', got a mapping with several keys");
    expect_error(f, "model:\n  layers: []\n", "2: model.layers: no layers");
    expect_error(f, "model:\n  name: tiny\n", "1: model: missing key 'layers'");
    expect_error(f, "model:\n  layers:\n    - conv2d: {kernel: 3}\n",
                 "3: model.layers[0].conv2d: missing key 'out'");
    expect_error(f, "model:\n  layers:\n    - conv2d:\n        kernel: 3\n        pad: 1\n",
                 "3: model.layers[0].conv2d: missing key 'out'");
    expect_error(f, "model:\n  layers:\n    - linear:\n",
                 "3: model.layers[0].linear: missing key 'out'");
    expect_error(f, "model:\n  layers:\n    - maxpool: {stride: 2}\n",
                 "3: model.layers[0].maxpool: missing key 'kernel'");
    expect_error(f, "model:\n  layers:\n    - avgpool: {}\n",
                 "3: model.layers[0].avgpool: missing key 'kernel' (or global: true)");
    expect_error(f, "model:\n  layers:\n    - avgpool: {global: true, kernel: 2}\n",
                 "3: model.layers[0].avgpool.kernel: not allowed with global: true (the "
                 "kernel is the whole input)");
    expect_error(f, "tuning: {random_seed: 1}\n", "1: config: missing key 'model'");
}

static void test_config_names_and_with(void **state)
{
    fixture *f = *state;
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1, name: a}\n"
                    "    - add: {with: b}\n",
                 "4: model.layers[1].add.with: no earlier layer is named 'b' (named so far: a; "
                 "`input` is the model input)");
    /* `with` cannot refer forward */
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1}\n"
                    "    - add: {with: later}\n    - conv2d: {out: 4, kernel: 1, name: later}\n",
                 "4: model.layers[1].add.with: no earlier layer is named 'later' (named so "
                 "far: none; `input` is the model input)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1}\n    - add: {}\n",
                 "4: model.layers[1].add: missing key 'with' (the name of an earlier layer to "
                 "add to this one's input)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1, name: a}\n"
                    "    - conv2d: {out: 4, kernel: 1, name: a}\n",
                 "4: model.layers[1].conv2d.name: 'a' is already the name of layers[0] "
                 "(line 3)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1, name: 2nd}\n",
                 "3: model.layers[0].conv2d.name: '2nd' is not a C identifier (letters, "
                 "digits, _; at most 63 characters)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1, name: l3}\n",
                 "3: model.layers[0].conv2d.name: 'l3' is reserved (input, l0, l1, ... name "
                 "the model input and unnamed layers)");
    expect_error(f, "model:\n  layers:\n    - conv2d: {out: 4, kernel: 1, name: input}\n",
                 "3: model.layers[0].conv2d.name: 'input' is reserved (input, l0, l1, ... "
                 "name the model input and unnamed layers)");
    expect_error(f, "model:\n  name: my-net\n  layers: [linear: {out: 2}]\n",
                 "2: model.name: 'my-net' is not a C identifier (letters, digits, _; at most "
                 "63 characters)");
}

static void test_config_bad_shapes(void **state)
{
    fixture *f = *state;
    expect_error(f, "model:\n  input: {shape: [4, 4, 1]}\n  layers:\n"
                    "    - conv2d: {out: 4, kernel: 7, pad: 1}\n",
                 "4: model.layers[0].conv2d.kernel: 7x7 is larger than the padded input 6x6 "
                 "(pad 1)");
    expect_error(f, "model:\n  input: {shape: [4, 4, 1]}\n  layers:\n"
                    "    - maxpool: {kernel: 2}\n    - maxpool: {kernel: 2}\n"
                    "    - maxpool: {kernel: 2}\n",
                 "6: model.layers[2].maxpool.kernel: 2x2 is larger than the input 1x1");
    expect_error(f, "model:\n  input: {shape: [8, 8, 1]}\n  layers:\n"
                    "    - conv2d: {out: 4, kernel: 3, pad: 1, name: a}\n"
                    "    - conv2d: {out: 8, kernel: 3, pad: 1}\n    - add: {with: a}\n",
                 "6: model.layers[2].add.with: 'a': its shape 8x8x4 differs from this layer's input 8x8x8");
    expect_error(f, "model:\n  input: {shape: [8, 8, 1]}\n  layers:\n"
                    "    - conv2d: {out: 4, kernel: 3, pad: 1, name: a}\n"
                    "    - maxpool: {kernel: 2}\n    - add: {with: a}\n",
                 "6: model.layers[2].add.with: 'a': its shape 8x8x4 differs from this layer's input 4x4x4");
    expect_error(f, "model:\n  input: {shape: [8, 8, 1]}\n  layers:\n"
                    "    - conv2d: {out: 10, kernel: 3}\n",
                 "4: model.layers[0].conv2d: the model ends in 6x6x10; it must end in a "
                 "vector of 2 to 256 class scores (1x1xK): end with linear, or with avgpool "
                 "{global: true}");
    expect_error(f, "model:\n  layers:\n    - linear: {out: 1}\n",
                 "3: model.layers[0].linear: the model ends in 1x1x1; it must end in a vector "
                 "of 2 to 256 class scores (1x1xK): end with linear, or with avgpool {global: "
                 "true}");
    expect_error(f, "model:\n  input: {shape: [256, 256, 3]}\n  layers:\n"
                    "    - linear: {out: 10}\n",
                 "4: model.layers[0].linear.out: each output sums 196608 products; more than "
                 "66311 could overflow the int32 accumulator");
    expect_error(f, "model:\n  input: {shape: [8, 8, 1024]}\n  layers:\n"
                    "    - conv2d: {out: 4096, kernel: 5, pad: 2}\n",
                 "4: model.layers[0].conv2d.out: 104857600 weights exceed 16777216");
    /* a batch of the largest tensor must fit int32 elements */
    expect_error(f, "model:\n  input: {shape: [4096, 4096, 1]}\n  layers:\n"
                    "    - avgpool: {global: true}\n    - linear: {out: 2}\n"
                    "pretrain:\n  epochs: 1\n  batch: 128\n",
                 "8: pretrain.batch: 128 images of the largest tensor (16777216 values each) "
                 "exceed 2147483647 values; use a batch of at most 127");
}

static void test_config_linear_flattens_implicitly(void **state)
{
    fixture *f = *state;
    if (read_text(f, "model:\n  input: {shape: [6, 5, 2]}\n  layers:\n"
                     "    - linear: {out: 4, act: relu}\n    - linear: {out: 3}\n"))
        fail_msg("%s", f->e.msg);
    q_shape s[CFG_MAX_LAYERS + 1];
    assert_int_equal(cfg_shapes(&f->c, s, &f->e), 0);
    assert_int_equal(s[1].h, 1);
    assert_int_equal(s[1].w, 1);
    assert_int_equal(s[1].c, 4);
    assert_int_equal(cfg_classes(&f->c), 3);
}

static void test_config_phases(void **state)
{
    fixture *f = *state;
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  batch: 32\n",
                 "2: pretrain: missing key 'epochs' (0 skips float pretraining)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {type: adam, momentum: 0.9}\n",
                 "4: pretrain.optimizer.momentum: only for type: sgd");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {beta1: 0.9}\n",
                 "4: pretrain.optimizer.beta1: only for type: adam");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  optimizer: {momentum: 0, nesterov: true}\n",
                 "4: pretrain.optimizer.nesterov: needs momentum > 0");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  lr_schedule: step\n",
                 "2: pretrain: missing key 'lr_step_epochs' (lr_schedule: step multiplies the "
                 "lr by lr_step_gamma every lr_step_epochs epochs)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\npretrain:\n  epochs: 2\n"
                    "  lr_step_gamma: 0.5\n",
                 "4: pretrain.lr_step_gamma: only for lr_schedule: step");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\nquantization:\n"
                    "  approach: post_training_static_quant\n  train: {epochs: 3}\n",
                 "4: quantization.train.epochs: must be 0 with approach: "
                 "post_training_static_quant");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {relative: 0.01, absolute: 0.01}\n",
                 "3: tuning.accuracy_criterion: give relative or absolute, not both");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {}\n",
                 "3: tuning.accuracy_criterion: expected relative: FRACTION or absolute: "
                 "FRACTION");
}

static void test_config_data_paths(void **state)
{
    fixture *f = *state;
    char text[1024];
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {images: data/tri.idx, labels: data/trl.idx}\n",
                 "2: data: missing key 'eval' (inputs and labels to evaluate on)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {images: data/tri.idx}\n",
                 "3: data.train: missing key 'labels' (class numbers)");
    char want[1024];
    snprintf(want, sizeof want,
             "4: data.eval.labels: cannot read '%s/data/nope.gz': No such file or directory",
             f->dir);
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                    "  eval: {images: data/evi.idx.gz, labels: data/nope.gz}\n",
                 want);
    /* absolute paths stay as they are */
    snprintf(text, sizeof text,
             "model: {layers: [linear: {out: 2}]}\ndata:\n"
             "  train: {images: %s/data/tri.idx, labels: data/trl.idx}\n"
             "  eval: {images: data/evi.idx.gz, labels: data/evl.idx.gz}\n", f->dir);
    if (read_text(f, text))
        fail_msg("%s", f->e.msg);
    snprintf(want, sizeof want, "%s/data/tri.idx", f->dir);
    assert_string_equal(f->c.train_images, want);
}

/* model.loss, model.target, evaluation.accuracy.metric: defaults, the
 * combinations that make sense, and the model's end shape for each. */
static void test_config_loss_target_metric(void **state)
{
    fixture *f = *state;
    /* defaults: a classifier judged by top1 */
    if (read_text(f, "model: {layers: [linear: {out: 2}]}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.loss, CFG_LOSS_CROSS_ENTROPY);
    assert_int_equal(f->c.target, CFG_TARGET_LABELS);
    assert_int_equal(f->c.metric, METRIC_TOP1);
    assert_int_equal(cfg_labels_kind(&f->c, 1), DATASET_CLASSES);
    /* regression: any end shape, metric mse by default, float targets */
    if (read_text(f, "model:\n  loss: mse\n  input: {shape: [4, 4, 2]}\n"
                     "  layers: [conv2d: {out: 1, kernel: 3}]\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.loss, CFG_LOSS_MSE);
    assert_int_equal(f->c.metric, METRIC_MSE);
    assert_int_equal(cfg_labels_kind(&f->c, 1), DATASET_TARGETS);
    assert_int_equal(cfg_labels_kind(&f->c, 0), DATASET_TARGETS);
    /* an autoencoder judged by auc: no training labels, anomaly labels to judge */
    if (read_text(f, "model:\n  loss: mse\n  target: input\n  input: {shape: [1, 1, 8]}\n"
                     "  layers: [linear: {out: 3}, linear: {out: 8}]\n"
                     "evaluation: {accuracy: {metric: auc}}\n"
                     "tuning: {accuracy_criterion: {absolute: 0.02}}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.target, CFG_TARGET_INPUT);
    assert_int_equal(f->c.metric, METRIC_AUC);
    assert_int_equal(cfg_labels_kind(&f->c, 1), DATASET_NONE);
    assert_int_equal(cfg_labels_kind(&f->c, 0), DATASET_CLASSES);
    assert_string_equal(f->c.train_labels, ""); /* the default data, without labels */
    assert_true(f->c.criterion == 0.02 && !f->c.criterion_relative);
    /* mse may grow by any factor or amount */
    if (read_text(f, "model: {loss: mse, target: input, input: {shape: [1, 1, 2]},\n"
                     "  layers: [linear: {out: 2}]}\n"
                     "tuning: {accuracy_criterion: {relative: 1.5}}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(cfg_labels_kind(&f->c, 0), DATASET_NONE);
    assert_string_equal(f->c.eval_labels, "");
    assert_true(f->c.criterion == 1.5);

    expect_error(f, "model:\n  loss: mae\n  layers: [linear: {out: 2}]\n",
                 "2: model.loss: unknown value 'mae', did you mean 'mse'? (one of: cross_entropy, mse)");
    expect_error(f, "model:\n  target: inputs\n  layers: [linear: {out: 2}]\n",
                 "2: model.target: unknown value 'inputs', did you mean 'input'? (one of: "
                 "labels, input)");
    expect_error(f, "model:\n  target: input\n  layers: [linear: {out: 2}]\n",
                 "2: model.target: input (an autoencoder) needs loss: mse");
    expect_error(f, "model:\n  loss: mse\n  target: input\n  input: {shape: [2, 2, 1]}\n"
                    "  layers:\n    - linear: {out: 4}\n",
                 "6: model.layers[0].linear: the model ends in 1x1x4; with target: input it "
                 "must end in the input's shape 2x2x1");
    expect_error(f, "model:\n  loss: mse\n  layers:\n    - linear: {out: 4}\n"
                    "    - softmax: {}\n",
                 "5: model.layers[1].softmax: softmax needs loss: cross_entropy (with loss: "
                 "mse the model ends in its values, not in probabilities)");
    expect_error(f, "model:\n  input: {shape: [4, 4, 2]}\n"
                    "  layers: [conv2d: {out: 1, kernel: 3}]\n",
                 "3: model.layers[0].conv2d: the model ends in 2x2x1; it must end in a vector "
                 "of 2 to 256 class scores (1x1xK): end with linear, or with avgpool {global: "
                 "true}");
    expect_error(f, "model: {loss: mse, layers: [linear: {out: 2}]}\n"
                    "evaluation:\n  accuracy: {metric: top1}\n",
                 "3: evaluation.accuracy.metric: top1 needs loss: cross_entropy (class scores); "
                 "with loss: mse use mse or auc");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\n"
                    "evaluation:\n  accuracy: {metric: mse}\n",
                 "3: evaluation.accuracy.metric: mse needs loss: mse; a classifier "
                 "(cross_entropy) is judged by top1");
    expect_error(f, "model: {loss: mse, layers: [linear: {out: 2}]}\n"
                    "evaluation:\n  accuracy: {metric: auc}\n",
                 "3: evaluation.accuracy.metric: auc needs target: input (its score is an "
                 "autoencoder's reconstruction error)");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {absolute: 2}\n",
                 "3: tuning.accuracy_criterion.absolute: 2 is out of range [0, 1]");
    expect_error(f, "model: {loss: mse, layers: [linear: {out: 2}]}\ntuning:\n"
                    "  accuracy_criterion: {relative: -1}\n",
                 "3: tuning.accuracy_criterion.relative: -1 is out of range [0, 1e+09]");
}

/* data: `inputs` (alias `images`), labels as the loss and metric need them,
 * validation (a fraction or files) and augment. */
static void test_config_data_keys(void **state)
{
    fixture *f = *state;
    char want[1024];
    const char *ae = "model:\n  loss: mse\n  target: input\n  input: {shape: [1, 1, 8]}\n"
                     "  layers: [linear: {out: 3}, linear: {out: 8}]\n"; /* 5 lines */
    char text[2048];
    /* an autoencoder judged by auc on validation files, reported on eval */
    snprintf(text, sizeof text,
             "%sevaluation: {accuracy: {metric: auc}}\n"
             "data:\n"
             "  train: {inputs: data/tri.idx}\n"
             "  validation: {inputs: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
             "  eval: {images: data/evi.idx.gz, labels: data/evl.idx.gz}\n", ae);
    if (read_text(f, text))
        fail_msg("%s", f->e.msg);
    const cfg_config *c = &f->c;
    snprintf(want, sizeof want, "%s/data/tri.idx", f->dir);
    assert_string_equal(c->train_images, want);
    assert_string_equal(c->train_labels, "");
    assert_int_equal(c->validation, CFG_VALIDATION_FILES);
    snprintf(want, sizeof want, "%s/data/evl.idx.gz", f->dir);
    assert_string_equal(c->val_labels, want);
    assert_string_equal(c->eval_labels, want);
    assert_int_equal(c->validation_line, 9);
    /* a classifier with a validation fraction and augmentation */
    if (read_text(f, "model:\n  input: {shape: [6, 5, 1]}\n  layers: [linear: {out: 2}]\n"
                     "data:\n"
                     "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                     "  validation: {fraction: 0.125}\n"
                     "  eval: {inputs: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
                     "  augment: {shift: 4, flip: true}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(c->validation, CFG_VALIDATION_FRACTION);
    assert_true(c->validation_fraction == 0.125);
    assert_int_equal(c->validation_line, 6);
    assert_int_equal(c->augment.shift, 4);
    assert_int_equal(c->augment.flip, 1);
    /* defaults: none */
    if (read_text(f, "model: {layers: [linear: {out: 2}]}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(c->validation, CFG_VALIDATION_NONE);
    assert_true(c->augment.shift == 0 && c->augment.flip == 0);
    /* a 1-D input shifts along W only: shift below W */
    if (read_text(f, "model:\n  input: {shape: [1, 16, 3]}\n  layers: [linear: {out: 2}]\n"
                     "data:\n"
                     "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                     "  eval: {inputs: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
                     "  augment: {shift: 15}\n"))
        fail_msg("%s", f->e.msg);

    const char *cls = "model: {input: {shape: [6, 5, 1]}, layers: [linear: {out: 2}]}\n"
                      "data:\n"
                      "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                      "  eval: {images: data/evi.idx.gz, labels: data/evl.idx.gz}\n";
    struct {
        const char *extra, *error;
    } bad[] = {
        {"  validation: {fraction: 0}\n", "5: data.validation.fraction: 0 is out of range (0, 1)"},
        {"  validation: {fraction: 1}\n", "5: data.validation.fraction: 1 is out of range (0, 1)"},
        {"  validation: {fraction: half}\n",
         "5: data.validation.fraction: expected a number, got 'half'"},
        {"  validation: {fraction: 0.1, labels: data/trl.idx}\n",
         "5: data.validation: give fraction or files (inputs, labels), not both"},
        {"  validation: {fractoin: 0.1}\n",
         "5: data.validation.fractoin: unknown key, did you mean 'fraction'?"},
        {"  validation: {}\n", "5: data.validation: missing key 'inputs' (or images)"},
        {"  validation: {inputs: data/evi.idx.gz}\n",
         "5: data.validation: missing key 'labels' (class numbers)"},
        {"  validation: 0.1\n", "5: data.validation: expected a mapping, got '0.1'"},
        {"  augment: {shift: -1}\n", "5: data.augment.shift: -1 is out of range [0, 4096]"},
        {"  augment: {shift: 5}\n",
         "5: data.augment.shift: 5 is not below the input's 6x5 (a shift must leave some of it)"},
        {"  augment: {flip: yes}\n", "5: data.augment.flip: expected true or false, got 'yes'"},
        {"  augment: {rotate: 10}\n",
         "5: data.augment.rotate: unknown key (valid keys: shift, flip)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", cls, bad[i].extra);
        expect_error(f, text, bad[i].error);
    }
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {inputs: data/tri.idx, images: data/tri.idx, labels: data/trl.idx}\n",
                 "3: data.train.images: give inputs or images (two names of one key), not both");
    expect_error(f, "model: {layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {labels: data/trl.idx}\n",
                 "3: data.train: missing key 'inputs' (or images)");
    expect_error(f, "model: {input: {shape: [1, 1, 4]}, layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                    "  eval: {images: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
                    "  augment: {shift: 1}\n",
                 "5: data.augment.shift: the input is 1x1x4: nothing to shift");
    expect_error(f, "model: {input: {shape: [8, 1, 1]}, layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {images: data/tri.idx, labels: data/trl.idx}\n"
                    "  eval: {images: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
                    "  augment: {flip: true}\n",
                 "5: data.augment.flip: the input is 8x1: a horizontal flip changes nothing");
    /* labels as the loss and the metric need them */
    snprintf(text, sizeof text, "%sdata:\n  train: {inputs: data/tri.idx, labels: data/trl.idx}\n",
             ae);
    expect_error(f, text, "7: data.train.labels: not used with target: input (the target is "
                          "the input)");
    snprintf(text, sizeof text, "%sdata:\n  train: {inputs: data/tri.idx}\n"
                                "  eval: {inputs: data/evi.idx.gz, labels: data/evl.idx.gz}\n",
             ae);
    expect_error(f, text, "8: data.eval.labels: not used with target: input and metric mse (the "
                          "target is the input; labels are for metric: auc)");
    snprintf(text, sizeof text, "%sevaluation: {accuracy: {metric: auc}}\n"
                                "data:\n  train: {inputs: data/tri.idx}\n"
                                "  eval: {inputs: data/evi.idx.gz}\n", ae);
    expect_error(f, text, "9: data.eval: missing key 'labels' (1 = anomaly, 0 = normal, for "
                          "metric: auc)");
    snprintf(text, sizeof text, "%sevaluation: {accuracy: {metric: auc}}\n"
                                "data:\n  train: {inputs: data/tri.idx}\n"
                                "  eval: {inputs: data/evi.idx.gz, labels: data/evl.idx.gz}\n"
                                "  validation: {fraction: 0.2}\n", ae);
    expect_error(f, text, "10: data.validation.fraction: metric auc needs anomaly labels, and "
                          "the training set of an autoencoder has none: give validation files "
                          "{inputs: F, labels: F}");
    expect_error(f, "model: {loss: mse, layers: [linear: {out: 2}]}\ndata:\n"
                    "  train: {inputs: data/tri.idx}\n",
                 "3: data.train: missing key 'labels' (float targets, a .npy of f4, for loss: "
                 "mse)");
}

static void test_config_file_errors(void **state)
{
    fixture *f = *state;
    expect_error(f, "", " empty config (expected a mapping with model, data, pretrain, "
                        "quantization, evaluation, tuning)");
    expect_error(f, "model:\n  layers: [\n", "3: YAML syntax error: did not find expected node "
                                             "content while parsing a flow node");
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.yaml", f->dir);
    assert_int_equal(cfg_read(missing, &f->c, &f->e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(f->e.msg, want);
}

/* Shape s must be h x w x c. */
static void expect_shape(q_shape s, int h, int w, int c, int t)
{
    if (s.h != h || s.w != w || s.c != c)
        fail_msg("tensor %d is %dx%dx%d, expected %dx%dx%d", t, (int)s.h, (int)s.w, (int)s.c, h,
                 w, c);
}

/* Window geometry in every form, resolved when the config is read: kernels,
 * strides and dilations as an integer or [h, w]; pad as an integer, [h, w],
 * [top, bottom, left, right], same (TensorFlow's, uneven with stride 2) or
 * valid; padded pools; the channel multiplier; `from` and `with` naming
 * earlier layers; bn on linear. A DS-CNN-like stem over 49x10 MFCCs. */
static void test_config_window_forms(void **state)
{
    fixture *f = *state;
    const char *text =
        "model:\n"
        "  input: {shape: [49, 10, 1]}\n"
        "  layers:\n"
        "    - conv2d: {out: 8, kernel: [10, 4], stride: [2, 2], pad: same, bn: true, name: c1}\n"
        "    - dwconv2d: {kernel: 3, pad: same, dilation: 2, multiplier: 2, bn: true}\n"
        "    - conv2d: {out: 16, kernel: 1, bn: true, name: b}\n"
        "    - conv2d: {from: c1, out: 16, kernel: 1, name: sc}\n"
        "    - add: {with: b, act: relu}\n"
        "    - conv2d: {out: 4, kernel: [3, 1], dilation: [2, 1], pad: [2, 0]}\n"
        "    - maxpool: {kernel: 3, stride: 2, pad: 1}\n"
        "    - avgpool: {kernel: [2, 3], pad: [0, 1, 0, 0]}\n"
        "    - avgpool: {kernel: [7, 1], pad: valid}\n"
        "    - linear: {out: 12, bn: true}\n";
    if (read_text(f, text))
        fail_msg("%s", f->e.msg);
    const cfg_layer *l = f->c.layers;
    /* same over 49 rows, stride 2, kernel 10: 25 rows, 9 padded, 4 on top */
    const q_window *w = &l[0].geom.win;
    assert_int_equal(l[0].geom.pad_rule, Q_PAD_SIDES); /* resolved */
    assert_int_equal(w->kernel_h, 10);
    assert_int_equal(w->kernel_w, 4);
    assert_int_equal(w->stride_h, 2);
    assert_int_equal(w->pad_top, 4);
    assert_int_equal(w->pad_bottom, 5);
    assert_int_equal(w->pad_left, 1);
    assert_int_equal(w->pad_right, 1);
    assert_int_equal(w->dilation_h, 1);
    /* dilation 2 makes the 3x3 kernel 5x5: same pads 2 on every side */
    w = &l[1].geom.win;
    assert_int_equal(w->dilation_h, 2);
    assert_int_equal(w->dilation_w, 2);
    assert_int_equal(w->pad_top, 2);
    assert_int_equal(w->pad_right, 2);
    assert_int_equal(l[1].geom.multiplier, 2);
    assert_int_equal(l[3].input, 1); /* from: c1 */
    assert_int_equal(l[2].input, 2);
    assert_int_equal(l[4].input, 4);
    assert_int_equal(l[4].input2, 3); /* with: b */
    w = &l[5].geom.win;
    assert_int_equal(w->dilation_h, 2);
    assert_int_equal(w->dilation_w, 1);
    assert_int_equal(w->pad_top, 2);
    assert_int_equal(w->pad_bottom, 2);
    assert_int_equal(w->pad_left, 0);
    w = &l[6].geom.win;
    assert_int_equal(w->pad_top, 1);
    assert_int_equal(w->pad_right, 1);
    assert_int_equal(w->stride_w, 2);
    w = &l[7].geom.win;
    assert_int_equal(w->stride_h, 2); /* a pool's stride defaults to its kernel */
    assert_int_equal(w->stride_w, 3);
    assert_int_equal(w->pad_bottom, 1);
    assert_int_equal(w->pad_top, 0);
    assert_int_equal(l[9].bn, 1);
    q_shape s[CFG_MAX_LAYERS + 1];
    assert_int_equal(cfg_shapes(&f->c, s, &f->e), 0);
    const int want[11][3] = {{49, 10, 1}, {25, 5, 8}, {25, 5, 16}, {25, 5, 16},
                             {25, 5, 16}, {25, 5, 16}, {25, 5, 4}, {13, 3, 4},
                             {7, 1, 4},   {1, 1, 4},  {1, 1, 12}};
    for (int t = 0; t < 11; t++)
        expect_shape(s[t], want[t][0], want[t][1], want[t][2], t);
    assert_int_equal(cfg_classes(&f->c), 12);

    /* 1-D (H = 1): a dilated kernel [1, 5] with same padding; pad [h, w] */
    if (read_text(f, "model:\n  input: {shape: [1, 100, 3]}\n  layers:\n"
                     "    - conv2d: {out: 8, kernel: [1, 5], dilation: [1, 2], pad: same}\n"
                     "    - conv2d: {out: 8, kernel: [1, 3], stride: [1, 2], pad: [0, 1]}\n"
                     "    - avgpool: {global: true}\n"
                     "    - linear: {out: 3}\n"))
        fail_msg("%s", f->e.msg);
    w = &f->c.layers[0].geom.win;
    assert_int_equal(w->pad_left, 4);
    assert_int_equal(w->pad_right, 4);
    assert_int_equal(w->pad_top, 0);
    w = &f->c.layers[1].geom.win;
    assert_int_equal(w->pad_top, 0);
    assert_int_equal(w->pad_bottom, 0);
    assert_int_equal(w->pad_left, 1);
    assert_int_equal(w->pad_right, 1);
    assert_int_equal(cfg_shapes(&f->c, s, &f->e), 0);
    expect_shape(s[1], 1, 100, 8, 1);
    expect_shape(s[2], 1, 50, 8, 2);

    /* a final softmax, with or without {} */
    if (read_text(f, "model:\n  input: {shape: [4, 4, 2]}\n  layers:\n"
                     "    - linear: {out: 3}\n    - softmax: {}\n"))
        fail_msg("%s", f->e.msg);
    assert_int_equal(f->c.layers[1].geom.op, Q_OP_SOFTMAX);
    assert_int_equal(cfg_classes(&f->c), 3);
    if (read_text(f, "model:\n  input: {shape: [4, 4, 2]}\n  layers:\n"
                     "    - linear: {out: 3, name: s}\n    - softmax:\n"))
        fail_msg("%s", f->e.msg);

    /* `with: input` and `from: input`; a dilation on a 1x1 kernel is fine */
    if (read_text(f, "model:\n  input: {shape: [4, 4, 2]}\n  layers:\n"
                     "    - conv2d: {out: 2, kernel: 1, dilation: 3}\n"
                     "    - add: {with: input, name: s}\n"
                     "    - add: {from: input, with: s}\n"
                     "    - linear: {out: 2}\n"))
        fail_msg("%s", f->e.msg);
}

/* Bad forms of the window keys, `from`, `multiplier` and `bn`. */
static void test_config_window_errors(void **state)
{
    fixture *f = *state;
#define L3(layer) "model:\n  input: {shape: [8, 8, 2]}\n  layers:\n    - " layer "\n"
    expect_error(f, L3("conv2d: {out: 2, kernel: [3, 3, 3]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.kernel: expected an integer or [h, w], got 3 values");
    expect_error(f, L3("conv2d: {out: 2, kernel: {h: 3}}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.kernel: expected an integer or [h, w], got a mapping");
    expect_error(f, L3("conv2d: {out: 2, kernel: [3, 0]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.kernel[1]: 0 is out of range [1, 4096]");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, stride: [1, two]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.stride[1]: expected an integer, got 'two'");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, dilation: 0}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.dilation: 0 is out of range [1, 4096]");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, pad: [1, 2, 3]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.pad: expected an integer, [h, w], [top, bottom, "
                 "left, right], same or valid, got 3 values");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, pad: sam}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.pad: unknown value 'sam', did you mean 'same'? (an "
                 "integer, [h, w], [top, bottom, left, right], same or valid)");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, pad: full}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.pad: unknown value 'full' (an integer, [h, w], "
                 "[top, bottom, left, right], same or valid)");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, pad: [0, -1]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.pad[1]: -1 is out of range [0, 4096]");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, pad: [0, 0, 3, 0]}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.pad: [0, 0, 3, 0] must each be >= 0 and less than "
                 "the kernel 3x3");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, dilation: 4}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.kernel: 3x3 (dilated: 9x9) is larger than the "
                 "input 8x8");
    expect_error(f, L3("maxpool: {kernel: 2, dilation: 2}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].maxpool.dilation: pools take no dilation (as TFLite's)");
    expect_error(f, L3("avgpool: {global: true, pad: 1}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].avgpool.pad: not allowed with global: true");
    expect_error(f, L3("avgpool: {kernel: 2, pad: 2}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].avgpool.pad: 2 must be less than the kernel (2)");
    expect_error(f, L3("dwconv2d: {kernel: 3, multiplier: 0}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].dwconv2d.multiplier: 0 is out of range [1, 4096]");
    expect_error(f, L3("conv2d: {out: 2, kernel: 3, multiplier: 2}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.multiplier: unknown key (valid keys: out, kernel, "
                 "stride, dilation, pad, bn, act, name, from, weight_bits)");
    expect_error(f, L3("maxpool: {kernel: 2, bn: true}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].maxpool.bn: unknown key (valid keys: kernel, stride, pad, "
                 "name, from)");
    expect_error(f, L3("conv2d: {out: 2, kernel: 1, name: a}") "    - linear: {out: 2, from: b}\n",
                 "5: model.layers[1].linear.from: no earlier layer is named 'b' (named so far: "
                 "a; `input` is the model input)");
    expect_error(f, L3("conv2d: {out: 2, kernel: 1, from: a, name: a}") "    - linear: {out: 2}\n",
                 "4: model.layers[0].conv2d.from: no earlier layer is named 'a' (named so far: "
                 "none; `input` is the model input)");
    expect_error(f, L3("conv2d: {out: 2, kernel: 1, name: a}")
                    "    - conv2d: {out: 2, kernel: 1}\n    - linear: {out: 2, from: a}\n",
                 "5: model.layers[1].conv2d: no later layer reads its output (the next layer "
                 "reads 'a' through `from`); every layer but the last must feed another");
    expect_error(f, L3("conv2d: {out: 3, kernel: 1, name: a}") "    - add: {with: input}\n"
                    "    - linear: {out: 2}\n",
                 "5: model.layers[1].add.with: 'input': its shape 8x8x2 differs from this "
                 "layer's input 8x8x3");
    expect_error(f, L3("linear: {out: 4}") "    - softmax: {}\n    - linear: {out: 2}\n",
                 "5: model.layers[1].softmax: only the last layer may be softmax (the model's "
                 "output; training reads the scores before it)");
    expect_error(f, L3("linear: {out: 4}") "    - softmax: {axis: 1}\n",
                 "5: model.layers[1].softmax.axis: unknown key (valid keys: name, from)");
    expect_error(f, L3("conv2d: {out: 4, kernel: 3}") "    - softmax: {}\n",
                 "5: model.layers[1].softmax: the model ends in 6x6x4; it must end in a vector "
                 "of 2 to 256 class scores (1x1xK): end with linear, or with avgpool {global: "
                 "true}");
#undef L3
}

/* cfg_shapes on a config built in memory. */
static void test_config_shapes_in_memory(void **state)
{
    fixture *f = *state;
    cfg_config c;
    cfg_defaults(&c);
    strcpy(c.config_path, "mem");
    c.n_layers = 2;
    c.layers[0] = (cfg_layer){.geom = {.op = Q_OP_CONV2D, .out_c = 4,
                                       .win = {.kernel_h = 30, .kernel_w = 30}},
                              .line = 7, .input = 0, .input2 = -1};
    c.layers[1] = (cfg_layer){.geom = {.op = Q_OP_LINEAR, .out_c = 10}, .line = 8, .input = 1,
                              .input2 = -1};
    q_shape s[CFG_MAX_LAYERS + 1];
    assert_int_equal(cfg_shapes(&c, s, &f->e), -1);
    assert_string_equal(f->e.msg,
                        "mem:7: model.layers[0].conv2d.kernel: 30x30 is larger than the "
                        "input 28x28");
    assert_int_equal(cfg_classes(&c), 0);
    c.layers[0].geom.win.kernel_h = c.layers[0].geom.win.kernel_w = 3;
    assert_int_equal(cfg_shapes(&c, s, &f->e), 0);
    assert_int_equal(s[1].h, 26);
    assert_int_equal(cfg_classes(&c), 10);
}

/* examples/fmnist/fmnist_cnn.yaml: the reference CNN of issue 3. The path is
 * relative to the checkout, where make runs the tests. */
static void test_config_fmnist_example(void **state)
{
    fixture *f = *state;
    const char *path = "examples/fmnist/fmnist_cnn.yaml";
    if (access(path, R_OK) != 0)
        fail_msg("%s not found: run the tests from the top of the checkout", path);
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0)
        skip(); /* its data paths must exist */
    if (cfg_read(path, &f->c, &f->e))
        fail_msg("%s", f->e.msg);
    const cfg_config *c = &f->c;
    assert_string_equal(c->name, "fmnist_cnn");
    assert_int_equal(c->n_layers, 8);
    static const q_op types[8] = {Q_OP_CONV2D, Q_OP_MAXPOOL, Q_OP_CONV2D, Q_OP_MAXPOOL,
                                            Q_OP_CONV2D, Q_OP_AVGPOOL, Q_OP_FLATTEN, Q_OP_LINEAR};
    static const int32_t outs[3] = {16, 32, 64};
    for (int i = 0; i < 8; i++)
        assert_int_equal(c->layers[i].geom.op, types[i]);
    for (int k = 0; k < 3; k++) {
        const cfg_layer *l = &c->layers[2 * k];
        assert_int_equal(l->geom.out_c, outs[k]);
        assert_int_equal(l->geom.win.kernel_h, 3);
        assert_int_equal(l->geom.win.pad_top, 1);
        assert_int_equal(l->bn, 1);
        assert_int_equal(l->act, Q_ACT_RELU);
    }
    assert_int_equal(c->layers[5].geom.global, 1);
    q_shape s[CFG_MAX_LAYERS + 1];
    assert_int_equal(cfg_shapes(c, s, &f->e), 0);
    assert_int_equal(s[2].h, 14);
    assert_int_equal(s[4].h, 7);
    assert_int_equal(s[5].c, 64);
    assert_int_equal(cfg_classes(c), 10);
    assert_true(c->input_q.scale == 0.00392156862745098);
    assert_int_equal(c->input_q.zero_point, -128);
    assert_int_equal(c->pretrain.epochs, 6);
    assert_true(c->pretrain.optimizer.lr == 0.05);
    assert_int_equal(c->qat.epochs, 8);
    assert_true(c->qat.optimizer.lr == 0.005);
    assert_int_equal(c->freeze_bn_after, 4);
    assert_int_equal(c->disable_observer_after, 5);
    assert_int_equal(c->seed, 9527);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_full),
        T(test_config_defaults),
        T(test_config_schedule_defaults),
        T(test_config_misspelt_keys_suggest),
        T(test_config_wrong_types),
        T(test_config_out_of_range),
        T(test_config_weight_bits),
        T(test_config_enum_values),
        T(test_config_layer_list),
        T(test_config_names_and_with),
        T(test_config_window_forms),
        T(test_config_window_errors),
        T(test_config_bad_shapes),
        T(test_config_linear_flattens_implicitly),
        T(test_config_phases),
        T(test_config_data_paths),
        T(test_config_loss_target_metric),
        T(test_config_data_keys),
        T(test_config_file_errors),
        T(test_config_shapes_in_memory),
        T(test_config_fmnist_example),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
