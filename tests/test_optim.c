/* Tests of optim: SGD (momentum, Nesterov, weight decay) and Adam steps
 * against values worked out from PyTorch's formulas in double (by hand for
 * the first steps, the rest with a calculator: see the comments), schedules at
 * known points, state save/restore, config errors. */
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

#include "optim.h"

static void expect_near(const char *what, double got, double want, double tol)
{
    printf("  %-40s got %.9g want %.9g diff %.2g\n", what, got, want, fabs(got - want));
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.9g want %.9g (tolerance %g)", what, got, want, tol);
}

/* Three steps on one parameter p0 = 1 with grads 0.5, −0.3, 0.2 (a second
 * parameter gets the negated grads, so elementwise code is seen twice). */
static void run3(const optim_config *cfg, float lr, const double want[3], const char *name)
{
    optim o;
    qerr e;
    assert_int_equal(optim_build(&o, cfg, 2, &e), 0);
    float p[2] = {1.0f, -1.0f};
    const float g[3] = {0.5f, -0.3f, 0.2f};
    for (int s = 0; s < 3; s++) {
        float grad[2] = {g[s], -g[s]};
        optim_step(&o, p, grad, lr);
        char what[64];
        snprintf(what, sizeof what, "%s step %d", name, s + 1);
        expect_near(what, p[0], want[s], 2e-6);
        assert_true(p[1] == -p[0]);
    }
    assert_int_equal(*o.step, 3);
    optim_free(&o);
}

static void test_optim_sgd_momentum_weight_decay(void **state)
{
    (void)state;
    /* lr 0.1, momentum 0.9, wd 0.01:
     * 1: g = 0.5 + 0.01·1 = 0.51, buf = 0.51, p = 1 − 0.051 = 0.949
     * 2: g = −0.3 + 0.00949 = −0.29051, buf = 0.459 − 0.29051 = 0.16849,
     *    p = 0.949 − 0.016849 = 0.932151
     * 3: g = 0.2 + 0.00932151, buf = 0.151641 + 0.20932151, p = 0.896054749 */
    optim_config cfg = {.type = OPTIM_SGD, .momentum = 0.9f, .weight_decay = 0.01f};
    const double want[3] = {0.949, 0.932151, 0.896054749};
    run3(&cfg, 0.1f, want, "sgd momentum");
}

static void test_optim_sgd_nesterov(void **state)
{
    (void)state;
    /* 1: g = 0.51, buf = 0.51, g = 0.51 + 0.9·0.51 = 0.969, p = 0.9031
     * 2: g = −0.3 + 0.009031 = −0.290969, buf = 0.459 − 0.290969 = 0.168031,
     *    g = −0.290969 + 0.1512279 = −0.1397411, p = 0.91707411
     * 3: p = 0.863721158191 */
    optim_config cfg = {.type = OPTIM_SGD, .momentum = 0.9f, .nesterov = 1,
                          .weight_decay = 0.01f};
    const double want[3] = {0.9031, 0.91707411, 0.863721158191};
    run3(&cfg, 0.1f, want, "sgd nesterov");
}

static void test_optim_sgd_plain(void **state)
{
    (void)state;
    /* no momentum, no decay: p −= lr·g: 1 − 0.05, + 0.03, − 0.02; no buffer */
    optim_config cfg = {.type = OPTIM_SGD};
    const double want[3] = {0.95, 0.98, 0.96};
    run3(&cfg, 0.1f, want, "sgd plain");
    optim o;
    qerr e;
    assert_int_equal(optim_build(&o, &cfg, 5, &e), 0);
    assert_null(o.buf);
    assert_null(o.buf2);
    assert_int_equal(optim_state_bytes(&o), sizeof(int64_t));
    optim_free(&o);
}

static void test_optim_adam(void **state)
{
    (void)state;
    /* lr 0.1, β 0.9/0.999, eps 1e-8, wd 0.05:
     * 1: g = 0.55, m = 0.055, v = 0.0003025, step_size = 0.1/0.1 = 1,
     *    denom = 0.017393/0.0316228 + 1e-8 = 0.55 + 1e-8, p = 1 − 0.1 = 0.9 (+1.8e-9)
     * 2: g = −0.3 + 0.045 = −0.255, m = 0.0495 − 0.0255 = 0.024,
     *    v = 0.999·0.0003025 + 0.001·0.065025 = 0.0003672225,
     *    p = 0.9 − 0.1/0.19 · 0.024 / (0.0191630/0.0447102 + 1e-8) = 0.8705286955
     * 3: 0.8255612627 (same formulas, calculator) */
    optim_config cfg = {.type = OPTIM_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                          .weight_decay = 0.05f};
    const double want[3] = {0.9000000018, 0.8705286955, 0.8255612627};
    run3(&cfg, 0.1f, want, "adam");
}

/* Saving the state bytes after two steps and restoring them into a fresh
 * optimizer gives the same third step, bit for bit (SGD and Adam). */
static void test_optim_state_save_restore(void **state)
{
    (void)state;
    const optim_config cfgs[2] = {
        {.type = OPTIM_SGD, .momentum = 0.9f, .nesterov = 1, .weight_decay = 1e-3f},
        {.type = OPTIM_ADAM, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f},
    };
    enum { N = 37 };
    for (int c = 0; c < 2; c++) {
        optim a, b;
        qerr e;
        assert_int_equal(optim_build(&a, &cfgs[c], N, &e), 0);
        assert_int_equal(optim_build(&b, &cfgs[c], N, &e), 0);
        assert_int_equal(optim_state_bytes(&a),
                         sizeof(int64_t) + (c ? 2 : 1) * N * sizeof(float));
        float p[N], g[N];
        for (int i = 0; i < N; i++) {
            p[i] = (float)i / N - 0.5f;
            g[i] = (float)(i % 7) - 3.0f;
        }
        optim_step(&a, p, g, 0.01f);
        optim_step(&a, p, g, 0.01f);
        float p_saved[N];
        memcpy(p_saved, p, sizeof p);
        unsigned char *saved = malloc(optim_state_bytes(&a));
        assert_non_null(saved);
        memcpy(saved, optim_state(&a), optim_state_bytes(&a));
        optim_step(&a, p, g, 0.01f);
        memcpy(optim_state(&b), saved, optim_state_bytes(&b));
        assert_int_equal(*b.step, 2);
        optim_step(&b, p_saved, g, 0.01f);
        assert_memory_equal(p, p_saved, sizeof p);
        free(saved);
        optim_free(&a);
        optim_free(&b);
        assert_null(a.state);
    }
}

/* Elementwise updates do not depend on the thread count. */
static void test_optim_thread_independent(void **state)
{
    (void)state;
    enum { N = 100000 };
    float *p[2], *g = malloc(sizeof(float) * N);
    assert_non_null(g);
    for (int i = 0; i < N; i++)
        g[i] = sinf((float)i);
    int saved = omp_get_max_threads();
    optim_config cfg = {.type = OPTIM_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                          .weight_decay = 1e-4f};
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        optim o;
        qerr e;
        assert_int_equal(optim_build(&o, &cfg, N, &e), 0);
        p[t] = calloc(N, sizeof(float));
        assert_non_null(p[t]);
        for (int s = 0; s < 3; s++)
            optim_step(&o, p[t], g, 1e-3f);
        optim_free(&o);
    }
    omp_set_num_threads(saved);
    assert_memory_equal(p[0], p[1], sizeof(float) * N);
    free(p[0]);
    free(p[1]);
    free(g);
}

static void test_optim_bad_config(void **state)
{
    (void)state;
    optim o;
    qerr e;
    optim_config nest = {.type = OPTIM_SGD, .nesterov = 1};
    assert_int_equal(optim_build(&o, &nest, 4, &e), -1);
    printf("  %s\n", e.msg);
    assert_non_null(strstr(e.msg, "nesterov"));
    assert_null(o.state);
    optim_config adam = {.type = OPTIM_ADAM, .beta1 = 0.9f, .beta2 = 1.0f, .eps = 1e-8f};
    assert_int_equal(optim_build(&o, &adam, 4, &e), -1);
    printf("  %s\n", e.msg);
    assert_non_null(strstr(e.msg, "betas"));
    optim_config neg = {.type = OPTIM_SGD, .weight_decay = -1.0f};
    assert_int_equal(optim_build(&o, &neg, 4, &e), -1);
    printf("  %s\n", e.msg);
    optim_config huge = {.type = OPTIM_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    assert_int_equal(optim_build(&o, &huge, SIZE_MAX / 4, &e), -1);
    printf("  %s\n", e.msg);
    assert_null(o.state);
}

static void test_optim_lr_schedules(void **state)
{
    (void)state;
    optim_lr_schedule c = {.type = OPTIM_LR_CONSTANT, .base = 0.3f};
    expect_near("constant i=1000", optim_lr_at(&c, 1000), 0.3f, 0);

    optim_lr_schedule st = {.type = OPTIM_LR_STEP, .base = 0.1f, .step_iters = 10, .gamma = 0.5f};
    expect_near("step i=0", optim_lr_at(&st, 0), 0.1f, 0);
    expect_near("step i=9", optim_lr_at(&st, 9), 0.1, 1e-8);
    expect_near("step i=10", optim_lr_at(&st, 10), 0.05, 1e-8);
    expect_near("step i=25", optim_lr_at(&st, 25), 0.025, 1e-8);

    /* (lr values are floats: tolerance 1e-8 ≈ an ulp at 0.1)
     * cosine over 100 iterations from 0.05 to 0:
     * i=25: 0.05·(1 + cos(π/4))/2 = 0.0426776695 */
    optim_lr_schedule cs = {.type = OPTIM_LR_COSINE, .base = 0.05f, .total_iters = 100};
    expect_near("cosine i=0", optim_lr_at(&cs, 0), 0.05f, 0);
    expect_near("cosine i=25", optim_lr_at(&cs, 25), 0.0426776695, 1e-8);
    expect_near("cosine i=50", optim_lr_at(&cs, 50), 0.025, 1e-8);
    expect_near("cosine i=100", optim_lr_at(&cs, 100), 0.0, 1e-8);
    expect_near("cosine i=150 (past the end)", optim_lr_at(&cs, 150), 0.0, 0);
    /* with eta_min 0.01: i=30: 0.01 + 0.04·(1 + cos(0.3π))/2 = 0.041755705 */
    optim_lr_schedule cm = {.type = OPTIM_LR_COSINE, .base = 0.05f, .total_iters = 100, .eta_min = 0.01f};
    expect_near("cosine eta_min i=30", optim_lr_at(&cm, 30), 0.041755705, 1e-8);
    expect_near("cosine eta_min i=100", optim_lr_at(&cm, 100), 0.01, 1e-8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optim_sgd_momentum_weight_decay),
        cmocka_unit_test(test_optim_sgd_nesterov),
        cmocka_unit_test(test_optim_sgd_plain),
        cmocka_unit_test(test_optim_adam),
        cmocka_unit_test(test_optim_state_save_restore),
        cmocka_unit_test(test_optim_thread_independent),
        cmocka_unit_test(test_optim_bad_config),
        cmocka_unit_test(test_optim_lr_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
