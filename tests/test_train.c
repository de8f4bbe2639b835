/* Tests for train: a short run on synthetic images (bars in four
 * orientations) where the fake-quant network and the int8 model must agree on
 * top-1 for >= 99% of eval images; resume after interruptions gives a
 * bit-identical model; a validation split and augmentation give the same
 * model for 1 and 2 threads and through a resume; a tiny dense autoencoder
 * (loss mse, target input) judged by auc on .npy data; a diverging run stops
 * with a clear message and keeps its checkpoint; the QAT schedule matches the
 * seed's loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "dataset.h"
#include "frozen_io.h"
#include "metric.h"
#include "npy.h"
#include "rng.h"
#include "train.h"

#define SIDE 10
#define CLASSES 4

typedef struct {
    char dir[256];
} fixture;

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* n images SIDE×SIDE of class k: a bright 2-pixel bar, horizontal (0),
 * vertical (1), diagonal (2) or anti-diagonal (3), at a random offset, on
 * dim noise. */
static void write_set(const char *dir, const char *name, int n, uint64_t seed)
{
    char path[512];
    rng_state r;
    rng_seed(&r, seed);
    uint8_t *px = malloc((size_t)n * SIDE * SIDE), *lb = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int k = (int)rng_below(&r, CLASSES);
        int off = (int)rng_below(&r, SIDE - 2);
        uint8_t *im = px + (size_t)i * SIDE * SIDE;
        lb[i] = (uint8_t)k;
        for (int y = 0; y < SIDE; y++) {
            for (int x = 0; x < SIDE; x++) {
                int on = k == 0 ? (y == off || y == off + 1)
                         : k == 1 ? (x == off || x == off + 1)
                         : k == 2 ? (x - y == off - 4 || x - y == off - 3)
                                  : (x + y == off + 5 || x + y == off + 6);
                im[y * SIDE + x] = (uint8_t)(on ? 150 + rng_below(&r, 106)
                                                : rng_below(&r, 70));
            }
        }
    }
    snprintf(path, sizeof path, "%s/%s-images", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put_be32(f, 0x803), put_be32(f, (uint32_t)n), put_be32(f, SIDE), put_be32(f, SIDE);
    fwrite(px, 1, (size_t)n * SIDE * SIDE, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    put_be32(f, 0x801), put_be32(f, (uint32_t)n);
    fwrite(lb, 1, (size_t)n, f);
    fclose(f);
    free(px);
    free(lb);
}

/* A config for the synthetic set; stable = 0 drops batch norm so that a large
 * learning rate makes the weights explode; data_extra is added to data. */
static void write_config_data(const fixture *fx, const char *file, double pretrain_lr,
                              double pretrain_wd, int stable, double timeout,
                              const char *data_extra)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "model:\n"
            "  name: bars\n"
            "  input: {shape: [%d, %d, 1], scale: 0.00392156862745098, zero_point: -128}\n"
            "  layers:\n"
            "    - conv2d: {out: 8, kernel: 3, pad: 1, bn: %s, act: relu}\n"
            "    - maxpool: {kernel: 2}\n"
            "    - conv2d: {out: 12, kernel: 3, pad: 1, bn: %s, act: %s}\n"
            "    - avgpool: {global: true}\n"
            "    - flatten: {}\n"
            "    - linear: {out: %d}\n"
            "data:\n"
            "  train: {images: train-images, labels: train-labels}\n"
            "  eval: {images: eval-images, labels: eval-labels}\n"
            "%s"
            "pretrain:\n"
            "  epochs: 2\n"
            "  batch: 32\n"
            "  optimizer: {type: sgd, lr: %g, momentum: 0.9, weight_decay: %g}\n"
            "  lr_schedule: cosine\n"
            "quantization:\n"
            "  calibration_batches: 4\n"
            "  train:\n"
            "    epochs: 3\n"
            "    batch: 32\n"
            "    optimizer: {type: sgd, lr: 0.01, momentum: 0.9}\n"
            "    lr_schedule: cosine\n"
            "    freeze_bn_after: 1\n"
            "    disable_observer_after: 2\n"
            "tuning:\n"
            "  accuracy_criterion: {absolute: 0.02}\n"
            "  exit_policy: {timeout: %g}\n"
            "  random_seed: 5\n",
            SIDE, SIDE, stable ? "true" : "false", stable ? "true" : "false",
            stable ? "relu6" : "none", CLASSES, data_extra, pretrain_lr, pretrain_wd, timeout);
    fclose(f);
}

static void write_config(const fixture *fx, const char *file, double pretrain_lr,
                         double pretrain_wd, int stable, double timeout)
{
    write_config_data(fx, file, pretrain_lr, pretrain_wd, stable, timeout, "");
}

enum { AE_F = 8, AE_TRAIN = 320, AE_VAL = 100, AE_EVAL = 200 };

/* n feature vectors of AE_F floats as .npy (N, AE_F), and anomaly labels
 * (N,) u1 when labeled: a normal vector lies near a 2-dimensional plane
 * (x = a·u + b·v + noise of sd 0.02), an anomaly (every 5th when labeled)
 * up to 0.25 off it in each coordinate. */
static void write_ae_set(const char *dir, const char *name, int n, int labeled, uint64_t seed)
{
    static const float u[AE_F] = {0.5f, 0.4f, 0.3f, 0.1f, -0.1f, -0.3f, -0.4f, -0.5f};
    static const float v[AE_F] = {0.3f, -0.3f, 0.5f, -0.5f, 0.4f, -0.4f, 0.2f, -0.2f};
    rng_state r;
    rng_seed(&r, seed);
    float *x = malloc((size_t)n * AE_F * sizeof *x);
    uint8_t *y = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int anomaly = labeled && i % 5 == 2;
        float a = 2 * rng_uniform(&r) - 1, b = 2 * rng_uniform(&r) - 1;
        for (int j = 0; j < AE_F; j++)
            x[i * AE_F + j] = a * u[j] + b * v[j] +
                              (anomaly ? 0.25f * (2 * rng_uniform(&r) - 1) : 0.02f * rng_normal(&r));
        y[i] = (uint8_t)anomaly;
    }
    char path[512];
    qerr e = {{0}};
    npy_array ax = {NPY_F4, 2, {n, AE_F}, (int64_t)n * AE_F, x};
    snprintf(path, sizeof path, "%s/%s-x.npy", dir, name);
    assert_int_equal(npy_write(path, &ax, 1, &e), 0);
    if (labeled) {
        npy_array ay = {NPY_U1, 1, {n}, n, y};
        snprintf(path, sizeof path, "%s/%s-y.npy", dir, name);
        assert_int_equal(npy_write(path, &ay, 1, &e), 0);
    }
    free(x);
    free(y);
}

/* A dense autoencoder 8 -> 2 -> 8 judged by metric, chosen on validation;
 * relative: the accuracy criterion. */
static void write_ae_config(const fixture *fx, const char *file, const char *metric,
                            const char *validation, double relative)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "model:\n"
            "  name: ae\n"
            "  loss: mse\n"
            "  target: input\n"
            "  input: {shape: [1, 1, %d], scale: 0.0078125, zero_point: 0}\n"
            "  layers:\n"
            "    - linear: {out: 2}\n"
            "    - linear: {out: %d}\n"
            "data:\n"
            "  train: {inputs: ae_train-x.npy}\n"
            "  validation: %s\n"
            "  eval: {inputs: ae_eval-x.npy%s}\n"
            "pretrain:\n"
            "  epochs: 20\n"
            "  batch: 16\n"
            "  optimizer: {type: adam, lr: 0.03}\n"
            "quantization:\n"
            "  calibration_batches: 4\n"
            "  train:\n"
            "    epochs: 3\n"
            "    batch: 16\n"
            "    optimizer: {type: adam, lr: 0.001}\n"
            "evaluation: {accuracy: {metric: %s}}\n"
            "tuning:\n"
            "  accuracy_criterion: {relative: %g}\n"
            "  random_seed: 3\n",
            AE_F, AE_F, validation, strcmp(metric, "auc") ? "" : ", labels: ae_eval-y.npy",
            metric, relative);
    fclose(f);
}

/* The layers of the breadth work in one model for the bars (10x10x1): a
 * stride-2 rectangular conv with `same`'s uneven pads, a dilated depthwise
 * conv with a channel multiplier, a shortcut read with `from`, padded max and
 * average pools, a dilated conv with four different pads, linear with BN and
 * a final softmax. */
static void write_breadth_config(const fixture *fx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/breadth.yaml", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "model:\n"
            "  name: breadth\n"
            "  input: {shape: [%d, %d, 1], scale: 0.00392156862745098, zero_point: -128}\n"
            "  layers:\n"
            "    - conv2d: {out: 8, kernel: [4, 3], stride: 2, pad: same, bn: true, act: relu, "
            "name: c1}\n"
            "    - dwconv2d: {kernel: 3, pad: same, dilation: 2, multiplier: 2, bn: true, "
            "act: relu6}\n"
            "    - conv2d: {out: 8, kernel: 1, bn: true, name: b}\n"
            "    - conv2d: {from: c1, out: 8, kernel: [1, 3], pad: [0, 1], bn: true}\n"
            "    - add: {with: b, act: relu}\n"
            "    - maxpool: {kernel: 3, stride: 2, pad: 1}\n"
            "    - avgpool: {kernel: 2, stride: 1, pad: same}\n"
            "    - conv2d: {out: 12, kernel: 2, dilation: 2, pad: [1, 1, 0, 2], bn: true, "
            "act: relu}\n"
            "    - avgpool: {global: true}\n"
            "    - linear: {out: 16, bn: true, act: relu}\n"
            "    - linear: {out: %d}\n"
            "    - softmax: {}\n"
            "data:\n"
            "  train: {images: train-images, labels: train-labels}\n"
            "  eval: {images: eval-images, labels: eval-labels}\n"
            "pretrain:\n"
            "  epochs: 2\n"
            "  batch: 32\n"
            "  optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}\n"
            "quantization:\n"
            "  calibration_batches: 4\n"
            "  train:\n"
            "    epochs: 3\n"
            "    batch: 32\n"
            "    optimizer: {type: sgd, lr: 0.01, momentum: 0.9}\n"
            "    freeze_bn_after: 1\n"
            "    disable_observer_after: 2\n"
            "tuning:\n"
            "  accuracy_criterion: {absolute: 0.02}\n"
            "  random_seed: 5\n",
            SIDE, SIDE, CLASSES);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/test_train.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    write_set(fx->dir, "train", 640, 1);
    write_set(fx->dir, "eval", 400, 2);
    write_config(fx, "bars.yaml", 0.05, 0.0005, 1, 0);
    /* lr 10 with weight decay 0.9: every step multiplies the weights by about -8 */
    write_config(fx, "diverge.yaml", 10, 0.9, 0, 0);
    write_config(fx, "timeout.yaml", 0.05, 0.0005, 1, 1e-6);
    write_breadth_config(fx);
    write_config_data(fx, "val.yaml", 0.05, 0.0005, 1, 0,
                      "  validation: {fraction: 0.2}\n  augment: {shift: 2, flip: true}\n");
    write_ae_set(fx->dir, "ae_train", AE_TRAIN, 0, 11);
    write_ae_set(fx->dir, "ae_val", AE_VAL, 1, 12);
    write_ae_set(fx->dir, "ae_eval", AE_EVAL, 1, 13);
    write_ae_config(fx, "ae.yaml", "auc", "{inputs: ae_val-x.npy, labels: ae_val-y.npy}", 0.05);
    /* the int8 model's mse is the float one's plus the rounding of its output */
    write_ae_config(fx, "ae_mse.yaml", "mse", "{fraction: 0.25}", 3);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

/* Reads a whole file, NUL-terminated; returns its size (or -1). */
static long slurp(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    if (fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    else
        (*out)[n] = '\0';
    fclose(f);
    return n;
}

static void make_dir(const fixture *fx, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", fx->dir, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static int run_threads(const fixture *fx, const char *config, const char *out_dir, int resume,
                       int64_t stop_after, int threads, train_result *r, qerr *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fx->dir, config);
    train_opts o = {0};
    o.config_path = path;
    o.out_dir = out_dir;
    o.resume = resume;
    o.threads = threads;
    o.quiet = 1;
    o.stop_after = stop_after;
    return train_run(&o, r, e);
}

static int run(const fixture *fx, const char *config, const char *out_dir, int resume,
               int64_t stop_after, train_result *r, qerr *e)
{
    return run_threads(fx, config, out_dir, resume, stop_after, 2, r, e);
}

/* Whether two files hold the same bytes; says where they part. */
static int same_file(const char *pa, const char *pb)
{
    char *ma, *mb;
    long na = slurp(pa, &ma), nb = slurp(pb, &mb);
    assert_true(na > 0 && nb > 0);
    long first = -1;
    for (long i = 0; i < (na < nb ? na : nb) && first < 0; i++)
        if (ma[i] != mb[i])
            first = i;
    if (na != nb || first >= 0)
        print_error("%s and %s differ: sizes %ld / %ld, first differing byte %ld\n", pa, pb, na,
                    nb, first);
    free(ma);
    free(mb);
    return na == nb && first < 0;
}

/* The per-epoch log without its last column (seconds), which differs
 * between runs. */
static char *csv_without_seconds(const char *path)
{
    char *csv;
    assert_true(slurp(path, &csv) > 0);
    char *out = malloc(strlen(csv) + 1), *o = out;
    for (char *line = csv, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        char *last = line;
        for (char *p = line; p < nl; p++)
            if (*p == ',')
                last = p;
        memcpy(o, line, (size_t)(last - line));
        o += last - line;
        *o++ = '\n';
    }
    *o = '\0';
    free(csv);
    return out;
}

/* Asserts that files a/NAME and b/NAME are byte for byte the same. */
static void expect_same_file(const char *a, const char *b, const char *name)
{
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    assert_true(same_file(pa, pb));
}

/* The whole schedule; the fake-quant net and the int8 model agree on top-1
 * for >= 99% of eval images after every QAT epoch. Then the same run
 * interrupted twice (mid float epoch, mid QAT epoch) and resumed gives a
 * byte-identical frozen model. */
static void test_train_agreement_and_resume(void **state)
{
    fixture *fx = *state;
    char a[512], b[512];
    make_dir(fx, "a", a, sizeof a);
    make_dir(fx, "b", b, sizeof b);
    train_result r;
    qerr e = {{0}};
    int rc = run(fx, "bars.yaml", a, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("float %.2f%%, ptq %.2f%%, best int8 %.2f%% (epoch %d), top-1 agreement "
                  "last %.2f%% min %.2f%%\n",
                  100 * r.float_acc, 100 * r.ptq_acc, 100 * r.best_acc, r.best_epoch,
                  100 * r.agreement, 100 * r.min_agreement);
    assert_true(r.min_agreement >= 0.99);
    assert_true(r.best_acc >= 0.9);
    assert_true(r.criterion_met);

    /* 20 batches per epoch: stop in float epoch 1, then in QAT epoch 1 */
    assert_int_equal(run(fx, "bars.yaml", b, 0, 27, &r, &e), 1);
    assert_int_equal(run(fx, "bars.yaml", b, 1, 40, &r, &e), 1);
    rc = run(fx, "bars.yaml", b, 1, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);

    char pa[600], pb[600], *ma, *mb;
    snprintf(pa, sizeof pa, "%s/bars.frozen.yaml", a);
    snprintf(pb, sizeof pb, "%s/bars.frozen.yaml", b);
    long na = slurp(pa, &ma), nb = slurp(pb, &mb);
    assert_true(na > 0 && nb > 0);
    long first = -1;
    for (long i = 0; i < (na < nb ? na : nb) && first < 0; i++)
        if (ma[i] != mb[i])
            first = i;
    if (na != nb || first >= 0)
        print_error("resumed model differs: sizes %ld / %ld, first differing byte %ld\n", na, nb,
                    first);
    assert_true(na == nb && first < 0);
    free(ma);
    free(mb);
}

/* The breadth model (write_breadth_config): trained to the end, the
 * fake-quant net and the int8 model agree on top-1 for >= 99% of eval
 * images after every QAT epoch; the frozen model is byte for byte the same
 * with 1 thread and with 3, and when the 1-thread run is interrupted twice
 * (mid float epoch, mid QAT epoch) and resumed. */
static void test_train_breadth_layers(void **state)
{
    fixture *fx = *state;
    char a[512], b[512], c[512];
    make_dir(fx, "ba", a, sizeof a);
    make_dir(fx, "bb", b, sizeof b);
    make_dir(fx, "bc", c, sizeof c);
    train_result r;
    qerr e = {{0}};
    int rc = run_threads(fx, "breadth.yaml", a, 0, 0, 1, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("breadth: float %.2f%%, ptq %.2f%%, best int8 %.2f%% (epoch %d), top-1 "
                  "agreement last %.2f%% min %.2f%%\n",
                  100 * r.float_acc, 100 * r.ptq_acc, 100 * r.best_acc, r.best_epoch,
                  100 * r.agreement, 100 * r.min_agreement);
    assert_true(r.min_agreement >= 0.99);
    assert_true(r.best_acc >= 0.9);

    rc = run_threads(fx, "breadth.yaml", b, 0, 0, 3, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    expect_same_file(a, b, "breadth.frozen.yaml");

    assert_int_equal(run_threads(fx, "breadth.yaml", c, 0, 27, 1, &r, &e), 1);
    assert_int_equal(run_threads(fx, "breadth.yaml", c, 1, 40, 1, &r, &e), 1);
    rc = run_threads(fx, "breadth.yaml", c, 1, 0, 1, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    expect_same_file(a, c, "breadth.frozen.yaml");
}

/* data.validation {fraction} and data.augment: the same run with 1 and with
 * 2 threads, and interrupted twice and resumed, gives the same frozen model
 * and the same log (seconds aside): the split, the draws and the choice of
 * the kept model depend on the seed alone. */
static void test_train_validation_augment_deterministic(void **state)
{
    fixture *fx = *state;
    char a[512], b[512], c[512];
    make_dir(fx, "va", a, sizeof a);
    make_dir(fx, "vb", b, sizeof b);
    make_dir(fx, "vc", c, sizeof c);
    train_result r;
    qerr e = {{0}};
    int rc = run_threads(fx, "val.yaml", a, 0, 0, 1, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("validation: float %.2f%%, best int8 %.2f%% (epoch %d), on eval %.2f%%\n",
                  100 * r.float_acc, 100 * r.best_acc, r.best_epoch, 100 * r.best_eval);
    assert_true(r.best_eval > 0.5);
    assert_int_equal(run_threads(fx, "val.yaml", b, 0, 0, 2, &r, &e), 0);
    /* 16 batches per epoch (512 of 640 images train): stop in float epoch 1, in QAT epoch 0 */
    assert_int_equal(run_threads(fx, "val.yaml", c, 0, 21, 2, &r, &e), 1);
    assert_int_equal(run_threads(fx, "val.yaml", c, 1, 20, 1, &r, &e), 1);
    rc = run_threads(fx, "val.yaml", c, 1, 0, 2, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    char pa[600], pb[600], pc[600];
    snprintf(pa, sizeof pa, "%s/bars.frozen.yaml", a);
    snprintf(pb, sizeof pb, "%s/bars.frozen.yaml", b);
    snprintf(pc, sizeof pc, "%s/bars.frozen.yaml", c);
    assert_true(same_file(pa, pb));
    assert_true(same_file(pa, pc));
    snprintf(pa, sizeof pa, "%s/bars.csv", a);
    snprintf(pb, sizeof pb, "%s/bars.csv", b);
    snprintf(pc, sizeof pc, "%s/bars.csv", c);
    char *la = csv_without_seconds(pa), *lb = csv_without_seconds(pb),
         *lc = csv_without_seconds(pc);
    print_message("%s", la);
    assert_string_equal(la, lb);
    assert_string_equal(la, lc);
    assert_non_null(strstr(la, "epoch,phase,loss,float_top1,int8_top1,val_float_top1,"
                               "val_int8_top1,lr\n"));
    free(la);
    free(lb);
    free(lc);
}

/* A dense autoencoder (loss mse, target input) on .npy float features,
 * chosen by auc on validation files: normal vectors near a plane reconstruct
 * well, anomalies do not. The kept model's auc on the eval set is what
 * metric_int8 gives for the frozen model. Then the same with metric mse and
 * a validation fraction. */
static void test_train_autoencoder(void **state)
{
    fixture *fx = *state;
    char d[512], path[600];
    make_dir(fx, "ae", d, sizeof d);
    train_result r;
    qerr e = {{0}};
    int rc = run(fx, "ae.yaml", d, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("autoencoder, auc: float %.4f, ptq %.4f, best int8 %.4f (epoch %d) on "
                  "validation; eval %.4f\n",
                  r.float_acc, r.ptq_acc, r.best_acc, r.best_epoch, r.best_eval);
    assert_int_equal(r.metric, METRIC_AUC);
    assert_true(r.float_acc > 0.95 && r.best_acc > 0.95 && r.best_eval > 0.95);
    assert_true(r.criterion_met);
    q_model m;
    snprintf(path, sizeof path, "%s/ae.frozen.yaml", d);
    assert_int_equal(frozen_read(path, &m, &e), 0);
    dataset ev;
    char x[600], y[600];
    snprintf(x, sizeof x, "%s/ae_eval-x.npy", fx->dir);
    snprintf(y, sizeof y, "%s/ae_eval-y.npy", fx->dir);
    dataset_input in = {1, 1, AE_F, 0.0078125, 0};
    dataset_want want = {.kind = DATASET_CLASSES, .n_classes = 2};
    assert_int_equal(dataset_load_as(&ev, x, y, in, want, &e), 0);
    double auc;
    assert_int_equal(metric_int8(&m, &ev, METRIC_AUC, NULL, NULL, NULL, &auc, &e), 0);
    assert_true(auc == r.best_eval);
    dataset_free(&ev);
    q_model_free(&m);
    char *csv;
    snprintf(path, sizeof path, "%s/ae.csv", d);
    assert_true(slurp(path, &csv) > 0);
    assert_non_null(strstr(csv, "epoch,phase,loss,float_auc,int8_auc,val_float_auc,"
                                "val_int8_auc,lr,seconds\n"));
    free(csv);

    make_dir(fx, "ae_mse", d, sizeof d);
    rc = run(fx, "ae_mse.yaml", d, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("autoencoder, mse: float %.6f, ptq %.6f, best int8 %.6f (epoch %d) on "
                  "validation; eval %.6f\n",
                  r.float_acc, r.ptq_acc, r.best_acc, r.best_epoch, r.best_eval);
    assert_int_equal(r.metric, METRIC_MSE);
    /* the features' variance is about 0.1, the noise's 0.0004: a good 2-d code
     * leaves little more than the noise (the eval set holds the anomalies too) */
    assert_true(r.float_acc < 0.001 && r.best_acc < 0.002 && r.best_eval < 0.01);
    assert_true(r.criterion_met);
}

/* A learning rate that makes the loss explode stops the run with a message
 * naming the problem and what checkpoint there is. */
static void test_train_non_finite_loss_stops(void **state)
{
    fixture *fx = *state;
    char d[512];
    make_dir(fx, "nan", d, sizeof d);
    train_result r;
    qerr e = {{0}};
    assert_int_equal(run(fx, "diverge.yaml", d, 0, 0, &r, &e), -1);
    print_message("%s\n", e.msg);
    assert_non_null(strstr(e.msg, "the loss is"));
    /* it diverges in the first epoch (fixed seed), before any checkpoint */
    assert_non_null(strstr(e.msg, "No checkpoint yet"));
}

/* exit_policy.timeout: with a limit shorter than PTQ takes, QAT does not
 * start; the PTQ model is the result, written, and the run says it timed out. */
static void test_train_timeout_keeps_best(void **state)
{
    fixture *fx = *state;
    char d[512], path[600];
    make_dir(fx, "timeout", d, sizeof d);
    train_result r;
    qerr e = {{0}};
    int rc = run(fx, "timeout.yaml", d, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(r.timed_out);
    assert_true(r.best_acc > 0.5);
    assert_int_equal(r.best_epoch, -1); /* PTQ */
    snprintf(path, sizeof path, "%s/bars.frozen.yaml", d);
    assert_int_equal(access(path, F_OK), 0);
    /* header, two float epochs and PTQ in the log */
    char *csv;
    snprintf(path, sizeof path, "%s/bars.csv", d);
    assert_true(slurp(path, &csv) > 0);
    int rows = 0;
    for (char *p = csv; *p; p++)
        rows += *p == '\n';
    print_message("%s", csv);
    assert_int_equal(rows, 1 + 2 + 1);
    free(csv);
}

/* The schedule of the seed with 8 epochs: at the end of epoch n (0-based),
 * `if n > 2: freeze_bn_stats`, `if n > 3: disable_observer`; train_qat_flags
 * gives the state DURING an epoch, which is the state set at the end of the
 * epoch before. */
/* Writes dst: the config src with each `from` replaced by its `to` (each must occur). */
static void write_variant(const fixture *fx, const char *src, const char *dst,
                          const char *const *from, const char *const *to, int n)
{
    char path[600], *text;
    snprintf(path, sizeof path, "%s/%s", fx->dir, src);
    assert_true(slurp(path, &text) > 0);
    for (int i = 0; i < n; i++) {
        char *at = strstr(text, from[i]);
        assert_non_null(at);
        size_t lf = strlen(from[i]), lt = strlen(to[i]), len = strlen(text);
        char *next = malloc(len - lf + lt + 1);
        memcpy(next, text, (size_t)(at - text));
        memcpy(next + (at - text), to[i], lt);
        strcpy(next + (at - text) + lt, at + lf);
        free(text);
        text = next;
    }
    snprintf(path, sizeof path, "%s/%s", fx->dir, dst);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
}

/* 4-bit weights (quantization.weight.bits: 4, the linear layer at 8 by its
 * own weight_bits): the frozen model records each layer's width, 4-bit
 * weights lie in [-7, 7] and reach it, and QAT's fake-quant net still agrees
 * with the int8 model on top-1 for >= 98% of eval images. */
static void test_train_4bit_weights(void **state)
{
    fixture *fx = *state;
    static const char *const from[] = {"quantization:\n", "    - linear: {out: 4}\n"};
    static const char *const to[] = {"quantization:\n  weight: {bits: 4}\n",
                                     "    - linear: {out: 4, weight_bits: 8}\n"};
    write_variant(fx, "bars.yaml", "bars4.yaml", from, to, 2);
    char d[512], path[600];
    make_dir(fx, "w4", d, sizeof d);
    train_result r;
    qerr e = {{0}};
    int rc = run(fx, "bars4.yaml", d, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("4-bit: float %.2f%%, ptq %.2f%%, best int8 %.2f%% (epoch %d), top-1 "
                  "agreement min %.2f%%\n",
                  100 * r.float_acc, 100 * r.ptq_acc, 100 * r.best_acc, r.best_epoch,
                  100 * r.min_agreement);
    assert_true(r.min_agreement >= 0.98);
    assert_true(r.best_acc >= 0.85);
    snprintf(path, sizeof path, "%s/bars.frozen.yaml", d);
    q_model m;
    assert_int_equal(frozen_read(path, &m, &e), 0);
    static const int bits[6] = {4, 0, 4, 0, 0, 8};
    for (int i = 0; i < m.n_layers; i++) {
        const q_layer *l = &m.layers[i];
        assert_int_equal(l->weight_bits, bits[i]);
        if (!l->weights)
            continue;
        int wmax = bits[i] == 4 ? 7 : 127, seen = 0;
        int32_t nw = q_layer_weight_count(&m, l);
        for (int32_t j = 0; j < nw; j++)
            seen = abs(l->weights[j]) > seen ? abs(l->weights[j]) : seen;
        assert_int_equal(seen, wmax);
    }
    q_model_free(&m);
}

/* --attribution: NAME.attribution.csv holds, after PTQ and at the end, the
 * four whole-net rows and three rows per weighted layer; its float row after
 * PTQ is the float model's accuracy; and measuring changes nothing: the
 * frozen model is byte-identical to a run without it. */
static void test_train_attribution(void **state)
{
    fixture *fx = *state;
    char a[512], b[512], path[600], pb[600];
    make_dir(fx, "at", a, sizeof a);
    make_dir(fx, "plain", b, sizeof b);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/bars.yaml", fx->dir);
    train_opts o = {0};
    o.config_path = cfg;
    o.out_dir = a;
    o.threads = 2;
    o.quiet = 1;
    o.attribution = 1;
    train_result r;
    qerr e = {{0}};
    int rc = train_run(&o, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(run(fx, "bars.yaml", b, 0, 0, &r, &e), 0);
    snprintf(path, sizeof path, "%s/bars.frozen.yaml", a);
    snprintf(pb, sizeof pb, "%s/bars.frozen.yaml", b);
    assert_true(same_file(path, pb));

    snprintf(path, sizeof path, "%s/bars.attribution.csv", a);
    char *csv;
    assert_true(slurp(path, &csv) > 0);
    print_message("%s", csv);
    assert_non_null(strstr(csv, "stage,quantized,layer,op,weight_bits,top1,drop\n"));
    char want[128];
    snprintf(want, sizeof want, "\nptq,none,,,,%.4f,0.0000\n", 100 * r.float_acc);
    assert_non_null(strstr(csv, want));
    static const char *const rows[] = {
        "ptq,weights,,,,", "ptq,activations,,,,", "ptq,both,,,,",
        "ptq,layer_weights,l0,conv2d,8,", "ptq,layer_weights_4bit,l0,conv2d,4,",
        "ptq,layer_activations,l0,conv2d,,", "ptq,layer_weights,l2,conv2d,8,",
        "ptq,layer_weights,l5,linear,8,", "ptq,layer_activations,l5,linear,,",
        "end,none,,,,", "end,both,,,,", "end,layer_weights_4bit,l5,linear,4,"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(want, sizeof want, "\n%s", rows[i]);
        if (!strstr(csv, want))
            print_error("no row %s\n", rows[i]);
        assert_non_null(strstr(csv, want));
    }
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * (4 + 3 * 3));
    free(csv);
}

/* tuning.strategy mixed_precision: the trials run PTQ and QAT from the same
 * float net; on the easy bar set trial 0 (every tunable layer at 4 bits)
 * meets the criterion and is kept, while the linear layer keeps its own
 * weight_bits 8. The log has the trial's rows, the trial file is gone, and
 * a second run gives the same model. */
static void test_train_mixed_precision(void **state)
{
    fixture *fx = *state;
    static const char *const from[] = {"tuning:\n", "    - linear: {out: 4}\n"};
    static const char *const to[] = {"tuning:\n  strategy: mixed_precision\n",
                                     "    - linear: {out: 4, weight_bits: 8}\n"};
    write_variant(fx, "bars.yaml", "mixed.yaml", from, to, 2);
    char a[512], b[512], path[600], pb[600];
    make_dir(fx, "ma", a, sizeof a);
    make_dir(fx, "mb", b, sizeof b);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/mixed.yaml", fx->dir);
    train_opts o = {0};
    o.config_path = cfg;
    o.out_dir = a;
    o.threads = 2;
    train_result r;
    qerr e = {{0}};
    int rc = train_run(&o, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(r.criterion_met);
    snprintf(path, sizeof path, "%s/bars.frozen.yaml", a);
    q_model m;
    assert_int_equal(frozen_read(path, &m, &e), 0);
    static const int bits[6] = {4, 0, 4, 0, 0, 8};
    for (int i = 0; i < m.n_layers; i++)
        assert_int_equal(m.layers[i].weight_bits, bits[i]);
    q_model_free(&m);
    snprintf(path, sizeof path, "%s/bars.trial.frozen.yaml", a);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/bars.csv", a);
    char *csv;
    assert_true(slurp(path, &csv) > 0);
    assert_non_null(strstr(csv, "\n0,trial0,"));
    assert_null(strstr(csv, "trial1"));
    free(csv);
    o.out_dir = b;
    o.quiet = 1;
    assert_int_equal(train_run(&o, &r, &e), 0);
    snprintf(path, sizeof path, "%s/bars.frozen.yaml", a);
    snprintf(pb, sizeof pb, "%s/bars.frozen.yaml", b);
    assert_true(same_file(path, pb));
}

/* mixed_precision when no trial meets the criterion (mse no worse than the
 * float model's: the int8 output's rounding alone breaks it): every trial
 * runs, 0 (both layers at 4 bits), 1 (one back at 8), 2 (both at 8), and the
 * kept model is the one with the best mse. */
static void test_train_mixed_precision_falls_back(void **state)
{
    fixture *fx = *state;
    write_ae_config(fx, "ae0.yaml", "mse", "{fraction: 0.25}", 0);
    static const char *const from[] = {"tuning:\n"};
    static const char *const to[] = {"tuning:\n  strategy: mixed_precision\n"};
    write_variant(fx, "ae0.yaml", "ae_mixed.yaml", from, to, 1);
    char d[512], path[600];
    make_dir(fx, "aem", d, sizeof d);
    train_result r;
    qerr e = {{0}};
    int rc = run(fx, "ae_mixed.yaml", d, 0, 0, &r, &e);
    if (rc != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    print_message("mixed, mse: float %.6g, kept int8 %.6g\n", r.float_acc, r.best_acc);
    assert_false(r.criterion_met);
    snprintf(path, sizeof path, "%s/ae.csv", d);
    char *csv;
    assert_true(slurp(path, &csv) > 0);
    assert_non_null(strstr(csv, "\n2,trial0,"));
    assert_non_null(strstr(csv, "\n2,trial1,"));
    assert_non_null(strstr(csv, "\n2,trial2,"));
    assert_null(strstr(csv, "trial3"));
    /* the kept model's mse on the validation set is the best trial's: no
     * trial's PTQ or QAT epoch has a lower val_int8_mse */
    double lowest = 1e300;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, ",trial") && !strstr(line, ",ptq,"))
            continue;
        char *p = line;
        for (int comma = 0; comma < 6; p++) /* N,phase,loss,float,int8,val_float,[val_int8] */
            comma += *p == ',';
        double v = strtod(p, NULL);
        lowest = v < lowest ? v : lowest;
    }
    free(csv);
    print_message("lowest val_int8_mse over the trials' epochs %.6g\n", lowest);
    assert_true(fabs(r.best_acc - lowest) <= 1e-5 * lowest);
    q_model m;
    snprintf(path, sizeof path, "%s/ae.frozen.yaml", d);
    assert_int_equal(frozen_read(path, &m, &e), 0);
    for (int i = 0; i < m.n_layers; i++)
        assert_true(m.layers[i].weight_bits == 4 || m.layers[i].weight_bits == 8);
    q_model_free(&m);
}

static void test_train_schedule_matches_seed(void **state)
{
    (void)state;
    cfg_config c;
    memset(&c, 0, sizeof c);
    c.qat.epochs = 8;
    c.freeze_bn_after = 4;
    c.disable_observer_after = 5;
    int seed_bn_frozen = 0, seed_observers = 1; /* during epoch 0 */
    for (int n = 0; n < 8; n++) {
        int bn, obs;
        train_qat_flags(&c, n, &bn, &obs);
        if (bn != seed_bn_frozen || obs != seed_observers)
            print_error("epoch %d: bn_frozen %d observers %d, seed %d %d\n", n, bn, obs,
                        seed_bn_frozen, seed_observers);
        assert_int_equal(bn, seed_bn_frozen);
        assert_int_equal(obs, seed_observers);
        /* the seed's end of epoch n */
        if (n > 3)
            seed_observers = 0;
        if (n > 2)
            seed_bn_frozen = 1;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_schedule_matches_seed),
        cmocka_unit_test_setup_teardown(test_train_agreement_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_breadth_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_validation_augment_deterministic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_train_autoencoder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_non_finite_loss_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_timeout_keeps_best, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_4bit_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_attribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_mixed_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_mixed_precision_falls_back, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
