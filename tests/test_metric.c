/* Tests for metric: the AUC (exact, ties counted half) against hand-computed
 * cases and a brute-force count over every pair, the mean squared error, the
 * criterion's direction per metric, and the int8 model's evaluation on a
 * hand-made model and data set (top1, mse against the input and against
 * float targets, auc) with 1 and 3 threads. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"
#include "frozen_io.h"
#include "metric.h"
#include "npy.h"
#include "rng.h"
#include "tmpdir.h"

static double auc_of(const double *s, const uint8_t *l, int32_t n)
{
    double a = -1;
    qerr e = {{0}};
    assert_int_equal(metric_auc(s, l, n, &a, &e), 0);
    return a;
}

/* The AUC by its definition: every (anomaly, normal) pair. */
static double auc_brute(const double *s, const uint8_t *l, int32_t n)
{
    double wins = 0, pairs = 0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < n; j++)
            if (l[i] == 1 && l[j] == 0) {
                wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
                pairs += 1;
            }
    return wins / pairs;
}

static void test_metric_auc_hand_cases(void **state)
{
    (void)state;
    /* separated, reversed, all tied */
    const double s1[4] = {0.1, 0.2, 0.8, 0.9};
    const uint8_t up[4] = {0, 0, 1, 1}, down[4] = {1, 1, 0, 0};
    assert_true(auc_of(s1, up, 4) == 1.0);
    assert_true(auc_of(s1, down, 4) == 0.0);
    const double same[4] = {3, 3, 3, 3};
    assert_true(auc_of(same, up, 4) == 0.5);
    /* normal {1, 2, 3}, anomalies {2, 4}: 2 beats 1, ties 2, loses to 3 (1.5);
     * 4 beats all three (3): 4.5 of 6 pairs */
    const double s2[5] = {1, 2, 3, 2, 4};
    const uint8_t l2[5] = {0, 0, 0, 1, 1};
    assert_true(auc_of(s2, l2, 5) == 0.75);
    /* order does not matter */
    const double s3[5] = {4, 2, 3, 1, 2};
    const uint8_t l3[5] = {1, 1, 0, 0, 0};
    assert_true(auc_of(s3, l3, 5) == 0.75);
    /* one class only: refused */
    double a;
    qerr e = {{0}};
    const uint8_t zeros[4] = {0, 0, 0, 0};
    assert_int_equal(metric_auc(s1, zeros, 4, &a, &e), -1);
    print_message("%s\n", e.msg);
    assert_non_null(strstr(e.msg, "0 anomalies (label 1) and 4 normal"));
}

/* Random scores with many ties against the pair count. */
static void test_metric_auc_matches_pairs(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 42);
    enum { N = 300 };
    double s[N];
    uint8_t l[N];
    double worst = 0;
    for (int round = 0; round < 20; round++) {
        int levels = 1 + round * 3;
        for (int i = 0; i < N; i++) {
            s[i] = (double)rng_below(&r, (uint32_t)levels) / 7.0;
            l[i] = (uint8_t)(rng_below(&r, 3) == 0);
        }
        l[0] = 0, l[1] = 1;
        double d = fabs(auc_of(s, l, N) - auc_brute(s, l, N));
        worst = d > worst ? d : worst;
    }
    print_message("auc vs every pair: max difference %g\n", worst);
    assert_true(worst < 1e-15);
}

static void test_metric_mse_and_value(void **state)
{
    (void)state;
    const float y[3] = {1, -2, 0.5f}, t[3] = {0, 0, 0.5f};
    assert_true(metric_example_mse(y, t, 3) == 5.0 / 3.0);
    const double sc[4] = {1, 2, 3, 6};
    const uint8_t lb[4] = {0, 1, 0, 1};
    double v;
    qerr e = {{0}};
    assert_int_equal(metric_value(METRIC_MSE, 4, 0, sc, lb, &v, &e), 0);
    assert_true(v == 3.0);
    assert_int_equal(metric_value(METRIC_TOP1, 4, 3, NULL, NULL, &v, &e), 0);
    assert_true(v == 0.75);
    assert_int_equal(metric_value(METRIC_AUC, 4, 0, sc, lb, &v, &e), 0);
    assert_true(v == 0.75); /* 2 beats 1; 6 beats 1 and 3; 2 loses to 3 */
}

/* Higher is better for top1 and auc, lower for mse; the bounds of both
 * criterion forms. */
static void test_metric_criterion_direction(void **state)
{
    (void)state;
    assert_true(metric_better(METRIC_TOP1, 0.9, 0.8));
    assert_false(metric_better(METRIC_TOP1, 0.8, 0.8));
    assert_true(metric_better(METRIC_AUC, 0.9, 0.8));
    assert_true(metric_better(METRIC_MSE, 0.1, 0.2));
    assert_false(metric_better(METRIC_MSE, 0.2, 0.1));
    assert_true(fabs(metric_bound(METRIC_TOP1, 0.9, 1, 0.01) - 0.891) < 1e-15);
    assert_true(fabs(metric_bound(METRIC_AUC, 0.9, 0, 0.05) - 0.85) < 1e-15);
    assert_true(fabs(metric_bound(METRIC_MSE, 0.2, 1, 0.5) - 0.3) < 1e-15);
    assert_true(fabs(metric_bound(METRIC_MSE, 0.2, 0, 0.05) - 0.25) < 1e-15);
    assert_true(metric_meets(METRIC_TOP1, 0.9, 0.891));
    assert_false(metric_meets(METRIC_TOP1, 0.89, 0.891));
    assert_true(metric_meets(METRIC_MSE, 0.25, 0.3));
    assert_false(metric_meets(METRIC_MSE, 0.31, 0.3));
    char buf[32];
    assert_string_equal(metric_format(METRIC_TOP1, 0.9123, buf, sizeof buf), "91.23%");
    assert_string_equal(metric_format(METRIC_MSE, 0.0123456789, buf, sizeof buf), "0.0123457");
    assert_string_equal(metric_format(METRIC_AUC, 0.91234, buf, sizeof buf), "0.9123");
}

/* A model whose output is max(x, 0) of its 1x1x2 input (a 1x1 depthwise
 * convolution with weight 1 and ReLU; scales 1, zero-points 0), so every
 * value below is worked out by hand. */
static const char relu_model[] =
    "qatc_frozen: 1\n"
    "name: relu\n"
    "input: {shape: [1, 1, 2], scale: 1, zero_point: 0}\n"
    "layers:\n"
    "  - op: dwconv2d\n"
    "    name: dw\n"
    "    input: input\n"
    "    kernel: [1, 1]\n"
    "    stride: [1, 1]\n"
    "    pad: [0, 0]\n"
    "    act: relu\n"
    "    output: {shape: [1, 1, 2], scale: 1, zero_point: 0}\n"
    "    per_channel: false\n"
    "    weight_scale: [0.007874015748031496]\n"
    "    bias: [0, 0]\n"
    "    weights:\n"
    "      - [127, 127]\n"
    "output: dw\n";

typedef struct {
    char dir[TMPDIR_CAP], model[320], x[320], cls[320], anom[320], tgt[320];
} fixture;

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_metric", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->model, sizeof f->model, "%s/relu.frozen.yaml", f->dir);
    snprintf(f->x, sizeof f->x, "%s/x.npy", f->dir);
    snprintf(f->cls, sizeof f->cls, "%s/cls.npy", f->dir);
    snprintf(f->anom, sizeof f->anom, "%s/anom.npy", f->dir);
    snprintf(f->tgt, sizeof f->tgt, "%s/tgt.npy", f->dir);
    qerr e = {{0}};
    /* inputs (int8, as they are): outputs max(x, 0); error against the input
     * = mean of min(x, 0)^2 per example: 2, 1, 0, 8 */
    int8_t x[8] = {3, -2, -1, -1, 5, 4, 0, -4};
    int64_t cls[4] = {0, 1, 1, 0};  /* top-1 of the outputs: 0, 0, 0, 0 */
    uint8_t anom[4] = {1, 0, 0, 1}; /* anomalies: errors 2 and 8, normal: 1 and 0 */
    float tgt[8] = {3, 1, 0, 0, 5, 2, 1, 1}; /* squared errors 0+1, 0+0, 0+4, 1+1 */
    npy_array a = {NPY_I1, 2, {4, 2}, 8, x};
    npy_array c = {NPY_I8, 1, {4}, 4, cls};
    npy_array n = {NPY_U1, 1, {4}, 4, anom};
    npy_array t = {NPY_F4, 2, {4, 2}, 8, tgt};
    if (tmpdir_write_text(f->model, relu_model) || npy_write(f->x, &a, 1, &e) ||
        npy_write(f->cls, &c, 1, &e) || npy_write(f->anom, &n, 1, &e) ||
        npy_write(f->tgt, &t, 1, &e))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    return tmpdir_fixture_free(*state);
}

/* metric_int8 with 1 and 3 threads: the value must be the same bits. */
static double eval_both(const q_model *m, const dataset *ds, metric_kind k, uint8_t *pred,
                        double *score)
{
    double v[2];
    qerr e = {{0}};
    for (int i = 0; i < 2; i++) {
        omp_set_num_threads(i ? 3 : 1);
        int rc = metric_int8(m, ds, k, pred, score, NULL, &v[i], &e);
        if (rc)
            print_error("%s\n", e.msg);
        assert_int_equal(rc, 0);
    }
    assert_memory_equal(&v[0], &v[1], sizeof v[0]);
    return v[0];
}

static void test_metric_int8_by_hand(void **state)
{
    fixture *f = *state;
    q_model m;
    qerr e = {{0}};
    assert_int_equal(frozen_read(f->model, &m, &e), 0);
    dataset_input in = {1, 1, 2, 1.0, 0};
    const dataset_want classes = {.kind = DATASET_CLASSES, .n_classes = 2};
    const dataset_want none = {.kind = DATASET_NONE};
    dataset ds;
    uint8_t pred[4];
    double score[4];

    /* top1: every output's top-1 is 0 (ties go to the lowest index); labels 0, 1, 1, 0 */
    assert_int_equal(metric_check_model(&m, METRIC_TOP1, 0, &e), 0);
    assert_int_equal(dataset_load_as(&ds, f->x, f->cls, in, classes, &e), 0);
    assert_true(eval_both(&m, &ds, METRIC_TOP1, pred, NULL) == 0.5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pred[i], 0);
    dataset_free(&ds);

    /* mse against the input: (2 + 1 + 0 + 8) / 4 */
    assert_int_equal(metric_check_model(&m, METRIC_MSE, 0, &e), 0);
    assert_int_equal(dataset_load_as(&ds, f->x, NULL, in, none, &e), 0);
    assert_true(eval_both(&m, &ds, METRIC_MSE, NULL, score) == 11.0 / 4.0);
    assert_true(score[0] == 2 && score[1] == 1 && score[2] == 0 && score[3] == 8);
    dataset_free(&ds);

    /* mse against float targets: (1 + 0 + 4 + 2) / 8 */
    dataset_want tw = {DATASET_TARGETS, 0, 1, 1, 2};
    assert_int_equal(dataset_load_as(&ds, f->x, f->tgt, in, tw, &e), 0);
    assert_true(eval_both(&m, &ds, METRIC_MSE, NULL, NULL) == 7.0 / 8.0);
    dataset_free(&ds);

    /* auc: anomalies score 2 and 8, normal examples 1 and 0 */
    assert_int_equal(metric_check_model(&m, METRIC_AUC, 0, &e), 0);
    assert_int_equal(dataset_load_as(&ds, f->x, f->anom, in, classes, &e), 0);
    assert_true(eval_both(&m, &ds, METRIC_AUC, NULL, NULL) == 1.0);
    dataset_free(&ds);
    /* with labels 0, 1, 1, 0 the anomalies score 1 and 0: AUC 0 */
    assert_int_equal(dataset_load_as(&ds, f->x, f->cls, in, classes, &e), 0);
    assert_true(eval_both(&m, &ds, METRIC_AUC, NULL, NULL) == 0.0);
    dataset_free(&ds);
    q_model_free(&m);
}

/* The model's output must suit the metric. */
static void test_metric_check_model(void **state)
{
    fixture *f = *state;
    q_model m;
    qerr e = {{0}};
    assert_int_equal(frozen_read(f->model, &m, &e), 0);
    m.layers[0].out_shape.c = 1; /* 1x1x1: one output is no class scores, nor the input */
    assert_int_equal(metric_check_model(&m, METRIC_TOP1, 0, &e), -1);
    print_message("%s\n", e.msg);
    assert_non_null(strstr(e.msg, "ends in 1x1x1, not in 2 to 256 class scores"));
    assert_int_equal(metric_check_model(&m, METRIC_AUC, 0, &e), -1);
    print_message("%s\n", e.msg);
    assert_non_null(strstr(e.msg, "its input is 1x1x2"));
    assert_int_equal(metric_check_model(&m, METRIC_MSE, 1, &e), 0); /* targets: their shape */
    m.layers[0].out_shape.c = 2;
    q_model_free(&m);
}

#define T(name) TMPDIR_TEST(name)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_auc_hand_cases),
        cmocka_unit_test(test_metric_auc_matches_pairs),
        cmocka_unit_test(test_metric_mse_and_value),
        cmocka_unit_test(test_metric_criterion_direction),
        T(test_metric_int8_by_hand),
        T(test_metric_check_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
