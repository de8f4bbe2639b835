/* Tests for fakequant and observer against hand-computed values:
 * rounding ties (half to even), clamp edges and the STE mask, the
 * moving-average observer over a sequence, zero-point nudging, weight scales. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fakequant.h"
#include "observer.h"

/* Exact float comparison of n values, naming the first wrong index. */
static void expect_floats(const float *got, const float *want, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        if (!(got[i] == want[i])) {
            print_error("%s[%d] = %.9g, want %.9g\n", what, i, (double)got[i], (double)want[i]);
            fail();
        }
    }
}

static void expect_mask(const uint8_t *got, const uint8_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            print_error("mask[%d] = %d, want %d\n", i, got[i], want[i]);
            fail();
        }
    }
}

static void test_fakequant_round_half_even(void **state)
{
    (void)state;
    const float t[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999998f, 126.5f, -127.5f};
    const float want[] = {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, -2.0f, 2.0f, 126.0f, -128.0f};
    float got[9];
    for (int i = 0; i < 9; i++)
        got[i] = fq_round_half_even(t[i]);
    expect_floats(got, want, 9, "round");
}

/* s = 0.5, zp = 3, [-128, 127]: representable reals are 0.5 · (q − 3), from
 * −65.5 (q = −128) to 62 (q = 127). */
static void test_fakequant_forward_ties_and_edges(void **state)
{
    (void)state;
    fq_params p = {0.5f, 3, -128, 127};
    const float x[] = {
        0.25f,   /* t = 0.5  → 0 (tie to even)           */
        0.75f,   /* t = 1.5  → 2                          */
        1.25f,   /* t = 2.5  → 2                          */
        -0.75f,  /* t = −1.5 → −2                         */
        62.0f,   /* t = 124 = qmax − zp: inside           */
        62.25f,  /* t = 124.5 → 124 (even): inside        */
        62.5f,   /* t = 125: one beyond, clamped, masked  */
        62.75f,  /* t = 125.5 → 126: clamped, masked      */
        1e9f,    /* far beyond                            */
        -65.5f,  /* t = −131 = qmin − zp: inside          */
        -65.25f, /* t = −130.5 → −130: inside             */
        -65.75f, /* t = −131.5 → −132 (even): masked      */
        -INFINITY,
        NAN,     /* NaN goes to the low edge, masked      */
    };
    const float want[] = {0.0f, 1.0f, 1.0f, -1.0f, 62.0f, 62.0f, 62.0f, 62.0f, 62.0f,
                          -65.5f, -65.0f, -65.5f, -65.5f, -65.5f};
    const uint8_t want_mask[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0};
    enum { N = sizeof x / sizeof x[0] };
    float y[N];
    uint8_t mask[N];
    fq_forward_f32(x, N, p, y, mask);
    expect_floats(y, want, N, "y");
    expect_mask(mask, want_mask, N);

    /* in place, without a mask, gives the same values */
    float z[N];
    for (int i = 0; i < N; i++)
        z[i] = x[i];
    fq_forward_f32(z, N, p, z, NULL);
    expect_floats(z, want, N, "in place");

    int in_range = -1;
    assert_true(fq_value(62.5f, p, &in_range) == 62.0f);
    assert_int_equal(in_range, 0);
    assert_true(fq_value(0.75f, p, &in_range) == 1.0f);
    assert_int_equal(in_range, 1);
}

/* Backward: dx = dy where the mask passes; accumulate adds. */
static void test_fakequant_backward_ste(void **state)
{
    (void)state;
    fq_params p = {0.5f, 3, -128, 127};
    const float x[] = {0.25f, 62.25f, 62.5f, -65.5f, -65.75f, 1e9f};
    const float dy[] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    float y[6];
    uint8_t mask[6];
    fq_forward_f32(x, 6, p, y, mask);

    float dx[6];
    fq_backward_f32(dy, mask, 6, dx, 0);
    const float want[] = {1.0f, 2.0f, 0.0f, 4.0f, 0.0f, 0.0f};
    expect_floats(dx, want, 6, "dx");

    float acc[6] = {10.0f, 10.0f, 10.0f, 10.0f, 10.0f, 10.0f};
    fq_backward_f32(dy, mask, 6, acc, 1);
    const float want_acc[] = {11.0f, 12.0f, 10.0f, 14.0f, 10.0f, 10.0f};
    expect_floats(acc, want_acc, 6, "accumulated dx");
}

/* Per-channel weights in both layouts: channel-major (OHWI) and
 * channel-minor (depthwise HWC). Weights are symmetric in [-127, 127]. */
static void test_fakequant_per_channel_weights(void **state)
{
    (void)state;
    const float scale[2] = {0.5f, 0.25f};
    /* channel 0: t = 0.5 → 0, 1.5 → 2, 200 → 127 (masked)
     * channel 1: t = 0.5 → 0, −1.5 → −2, −127.5 → −128 (even) → −127 (masked) */
    const float w[6] = {0.25f, 0.75f, 100.0f, 0.125f, -0.375f, -31.875f};
    const float want[6] = {0.0f, 1.0f, 63.5f, 0.0f, -0.5f, -31.75f};
    const uint8_t want_mask[6] = {1, 1, 0, 1, 1, 0};
    float y[6];
    uint8_t mask[6];
    fq_forward_channels_f32(w, 2, 3, 3, 1, scale, 127, y, mask);
    expect_floats(y, want, 6, "ohwi");
    expect_mask(mask, want_mask, 6);

    /* the same numbers transposed: element i of channel c at i * 2 + c */
    float wt[6], want_t[6], yt[6];
    uint8_t mask_t[6], want_mask_t[6];
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 3; i++) {
            wt[i * 2 + c] = w[c * 3 + i];
            want_t[i * 2 + c] = want[c * 3 + i];
            want_mask_t[i * 2 + c] = want_mask[c * 3 + i];
        }
    }
    fq_forward_channels_f32(wt, 2, 3, 1, 2, scale, 127, yt, mask_t);
    expect_floats(yt, want_t, 6, "hwc");
    expect_mask(mask_t, want_mask_t, 6);
}

/* The moving average over a sequence, with c = 0.5 so every step is exact. */
static void test_observer_moving_average_sequence(void **state)
{
    (void)state;
    obs_act o;
    obs_act_init(&o, 0.5f, -128, 127);
    float s;
    int32_t zp;
    assert_int_equal(obs_act_has_data(&o), 0);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), -1);

    const float b1[] = {-1.0f, 2.0f, 0.5f, NAN};
    obs_act_update(&o, b1, 4); /* the first batch sets min/max; NaN ignored */
    assert_true(o.min_val == -1.0f && o.max_val == 2.0f);
    const float b2[] = {-3.0f, 4.0f};
    obs_act_update(&o, b2, 2); /* −1 + 0.5 (−3 + 1) = −2;  2 + 0.5 (4 − 2) = 3 */
    assert_true(o.min_val == -2.0f && o.max_val == 3.0f);
    const float b3[] = {1.0f, 2.0f};
    obs_act_update(&o, b3, 2); /* −2 + 0.5 (1 + 2) = −0.5;  3 + 0.5 (2 − 3) = 2.5 */
    assert_true(o.min_val == -0.5f && o.max_val == 2.5f);

    o.enabled = 0; /* disabled: statistics frozen */
    obs_act_update(&o, b2, 2);
    assert_true(o.min_val == -0.5f && o.max_val == 2.5f);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), 0);
    assert_true(s == 3.0f / 255.0f);
}

/* Scale and zero-point: the zero-point tie rounds half to even, range edges
 * force 0 inside, degenerate ranges get FLT_EPSILON. */
static void test_observer_qparams(void **state)
{
    (void)state;
    obs_act o;
    float s;
    int32_t zp;

    /* s = 63.75 / 255 = 0.25 exactly; lo / s = −42.5 → −42 (even) → zp = −86 */
    obs_act_init(&o, 0.01f, -128, 127);
    obs_act_update_minmax(&o, -10.625f, 53.125f);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), 0);
    assert_true(s == 0.25f);
    assert_int_equal(zp, -86);
    /* real 0 is exact: fake-quantizing 0 gives 0 */
    fq_params p = {s, zp, -128, 127};
    assert_true(fq_value(0.0f, p, NULL) == 0.0f);

    /* all positive (after ReLU): lo = 0, zp = qmin */
    obs_act_init(&o, 0.01f, -128, 127);
    obs_act_update_minmax(&o, 1.0f, 2.0f);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), 0);
    assert_true(s == 2.0f / 255.0f);
    assert_int_equal(zp, -128);

    /* all negative: hi = 0, zp = qmax */
    obs_act_init(&o, 0.01f, -128, 127);
    obs_act_update_minmax(&o, -3.0f, -1.0f);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), 0);
    assert_true(s == 3.0f / 255.0f);
    assert_int_equal(zp, 127);

    /* constant zero: the scale is guarded */
    obs_act_init(&o, 0.01f, -128, 127);
    const float zeros[3] = {0.0f, 0.0f, 0.0f};
    obs_act_update(&o, zeros, 3);
    assert_int_equal(obs_act_qparams(&o, &s, &zp), 0);
    assert_true(s == FLT_EPSILON);
    assert_int_equal(zp, -128);
}

static void test_observer_weight_scales(void **state)
{
    (void)state;
    /* OHWI, 3 channels of 2: max|w| = 1.27, 0 (all zero), 254 */
    const float w[6] = {0.5f, -1.27f, 0.0f, -0.0f, 254.0f, 3.0f};
    float s[3];
    obs_weight_scales(w, 3, 2, 2, 1, 127, s);
    const float want[3] = {1.27f / 127.0f, 1.0f, 2.0f};
    expect_floats(s, want, 3, "scale");

    /* channel-minor layout: channel c at i * 3 + c */
    const float wt[6] = {0.5f, 0.0f, 254.0f, -1.27f, -0.0f, 3.0f};
    obs_weight_scales(wt, 3, 2, 1, 3, 127, s);
    expect_floats(s, want, 3, "scale hwc");

    assert_true(obs_weight_scale_tensor(w, 6, 127) == 2.0f);
    const float tiny[2] = {1e-30f, 0.0f};
    assert_true(obs_weight_scale_tensor(tiny, 2, 127) == FLT_EPSILON);
    const float zero[2] = {0.0f, -0.0f};
    assert_true(obs_weight_scale_tensor(zero, 2, 127) == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fakequant_round_half_even),
        cmocka_unit_test(test_fakequant_forward_ties_and_edges),
        cmocka_unit_test(test_fakequant_backward_ste),
        cmocka_unit_test(test_fakequant_per_channel_weights),
        cmocka_unit_test(test_observer_moving_average_sequence),
        cmocka_unit_test(test_observer_qparams),
        cmocka_unit_test(test_observer_weight_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
