/* Tests of fixedpoint: fxp_requantize against an exact rational reference
 * (128-bit integers, quotient and remainder, no shifts), and
 * fxp_quantize_multiplier against exact double identities. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fixedpoint.h"
#include "rng.h"

typedef __int128 i128;

/* Exact round-half-up of acc * m0 / 2^t, saturated to int32. Written as a
 * truncating division plus a comparison of twice the remainder with the
 * divisor, so it shares nothing with the shift-based kernel. */
static int32_t ref_requantize(int32_t acc, int32_t m0, int shift)
{
    int t = 31 - shift;
    i128 num = (i128)acc * m0;
    i128 den = (i128)1 << t;
    i128 quo = num / den; /* towards zero */
    i128 rem = num % den; /* same sign as num */
    i128 y;
    if (rem >= 0)         /* value = quo + rem/den, rem/den in [0, 1) */
        y = quo + (2 * rem >= den ? 1 : 0);
    else                  /* rem/den in (-1, 0): -1/2 itself rounds up to quo */
        y = quo - (2 * rem < -den ? 1 : 0);
    if (y > INT32_MAX)
        return INT32_MAX;
    if (y < INT32_MIN)
        return INT32_MIN;
    return (int32_t)y;
}

static long n_requant_cases;

static void check_one(int32_t acc, int32_t m0, int shift)
{
    fxp_requant rq = {m0, shift};
    int32_t got = fxp_requantize(acc, rq);
    int32_t want = ref_requantize(acc, m0, shift);
    n_requant_cases++;
    if (got != want)
        fail_msg("fxp_requantize(acc=%ld, M0=%ld, shift=%d) = %ld, exact %ld", (long)acc,
                 (long)m0, shift, (long)got, (long)want);
}

static int32_t random_m0(rng_state *r)
{
    return (int32_t)((1u << 30) + rng_below(r, 1u << 30)); /* [2^30, 2^31) */
}

static int32_t random_acc(rng_state *r)
{
    /* Mix magnitudes: uniform int32 values are almost all huge. */
    uint32_t bits = rng_below(r, 32);
    int64_t mag = (int64_t)(rng_u64(r) & ((2ull << bits) - 1)); /* < 2^(bits+1) */
    int64_t v = rng_below(r, 2) ? -mag : mag;
    if (v > INT32_MAX)
        v = INT32_MAX;
    if (v < INT32_MIN)
        v = INT32_MIN;
    return (int32_t)v;
}

/* Every shift, edge and random multipliers; accumulators: the int32 edges,
 * every value in [-2048, 2048], values around each power of two, random. */
static void test_fixedpoint_requantize_every_shift(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 1);
    n_requant_cases = 0;
    const int32_t edge_acc[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
    for (int shift = FXP_SHIFT_MIN; shift <= FXP_SHIFT_MAX; shift++) {
        int32_t mults[12] = {1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 3 << 29};
        for (int i = 5; i < 12; i++)
            mults[i] = random_m0(&r);
        for (int k = 0; k < 12; k++) {
            int32_t m0 = mults[k];
            for (size_t i = 0; i < sizeof edge_acc / sizeof edge_acc[0]; i++)
                check_one(edge_acc[i], m0, shift);
            for (int32_t acc = -2048; acc <= 2048; acc++)
                check_one(acc, m0, shift);
            for (int b = 0; b < 31; b++)
                for (int32_t d = -2; d <= 2; d++) {
                    check_one((int32_t)((1u << b) - 1) + d + 1, m0, shift);
                    check_one(-(int32_t)((1u << b) - 1) + d - 1, m0, shift);
                }
            for (int i = 0; i < 2000; i++)
                check_one(random_acc(&r), m0, shift);
        }
    }
    print_message("fixedpoint: %ld requantize cases (62 shifts) match the exact reference\n",
                  n_requant_cases);
}

/* Exact ties acc*M0 = (2k+1) * 2^(t-1) for every t must round towards +inf:
 * M0 = 2^(t-1) * (2^(31-t) + 1) for t <= 30 (an odd multiple of 2^(t-1)),
 * M0 = 2^30 with acc = odd * 2^(t-31) for t >= 31. */
static void test_fixedpoint_requantize_ties(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 2);
    long n = 0;
    for (int t = 1; t <= 62; t++) {
        int shift = 31 - t;
        for (int i = 0; i < 200; i++) {
            int32_t m0;
            int64_t acc;
            if (t <= 30) {
                m0 = (int32_t)(((int64_t)1 << (t - 1)) * ((1 << (31 - t)) + 1));
                /* value ~ acc * 2^(30-t): keep acc < 2^(t+1) so it fits int32 */
                uint32_t lim = t >= 20 ? 1u << 20 : 1u << t;
                acc = 2 * (int64_t)rng_below(&r, lim) + 1;
            } else {
                m0 = 1 << 30;
                int room = 62 - t; /* acc = odd * 2^(t-31) must fit int32 */
                uint32_t lim = room >= 20 ? 1u << 20 : 1u << room;
                acc = (2 * (int64_t)rng_below(&r, lim) + 1) * ((int64_t)1 << (t - 31));
            }
            if (i & 1)
                acc = -acc;
            if (acc > INT32_MAX || acc < INT32_MIN)
                continue;
            /* value = acc*M0/2^t = k + 1/2 exactly; expected k + 1 = floor(value) + 1. */
            i128 num = (i128)acc * m0;
            i128 fl = num >= 0 ? num >> t : -((-num + ((i128)1 << t) - 1) >> t);
            assert_true((num - fl * ((i128)1 << t)) * 2 == ((i128)1 << t)); /* a real tie */
            int64_t want = (int64_t)fl + 1;
            if (want > INT32_MAX || want < INT32_MIN)
                continue;
            int32_t got = fxp_requantize((int32_t)acc, (fxp_requant){m0, shift});
            if (got != want)
                fail_msg("tie acc=%lld M0=%ld t=%d: got %ld, want %lld", (long long)acc,
                         (long)m0, t, (long)got, (long long)want);
            n++;
        }
    }
    print_message("fixedpoint: %ld exact ties round towards +inf\n", n);
}

/* Hand-computed cases: M = 1/2 (M0 = 2^30, shift 0) and M = 1. */
static void test_fixedpoint_requantize_hand_cases(void **state)
{
    (void)state;
    fxp_requant half = {1 << 30, 0}, one = {1 << 30, 1};
    assert_int_equal(fxp_requantize(3, half), 2);   /* 1.5 -> 2 */
    assert_int_equal(fxp_requantize(-3, half), -1); /* -1.5 -> -1 */
    assert_int_equal(fxp_requantize(-1, half), 0);  /* -0.5 -> 0 */
    assert_int_equal(fxp_requantize(1, half), 1);   /* 0.5 -> 1 */
    assert_int_equal(fxp_requantize(-4, half), -2);
    assert_int_equal(fxp_requantize(INT32_MIN, half), INT32_MIN / 2);
    assert_int_equal(fxp_requantize(INT32_MAX, half), 1 << 30); /* 2^30 - 0.5 -> 2^30 */
    assert_int_equal(fxp_requantize(INT32_MIN, one), INT32_MIN);
    assert_int_equal(fxp_requantize(INT32_MAX, one), INT32_MAX);
    assert_int_equal(fxp_requantize(-7, one), -7);
    /* The largest M = (2^31 - 1) / 2 = 2^30 - 1/2: saturates both ways. */
    fxp_requant big = {INT32_MAX, FXP_SHIFT_MAX};
    assert_int_equal(fxp_requantize(3, big), INT32_MAX);       /* 3 * 2^30 - 1.5 */
    assert_int_equal(fxp_requantize(-3, big), INT32_MIN);
    assert_int_equal(fxp_requantize(2, big), INT32_MAX);       /* 2^31 - 1 exactly */
    assert_int_equal(fxp_requantize(-2, big), INT32_MIN + 1);  /* -2^31 + 1 exactly */
    assert_int_equal(fxp_requantize(1, big), 1 << 30);         /* 2^30 - 0.5, a tie -> up */
    assert_int_equal(fxp_requantize(-1, big), -(1 << 30) + 1); /* -2^30 + 0.5 -> up */
    assert_int_equal(fxp_requantize(INT32_MIN, big), INT32_MIN);
    assert_int_equal(fxp_requantize(0, big), 0);
    /* Smallest M = 2^-32: INT32_MIN * 2^-32 = -1/2 rounds up to 0. */
    fxp_requant tiny = {1 << 30, FXP_SHIFT_MIN};
    assert_int_equal(fxp_requantize(INT32_MIN, tiny), 0);
    assert_int_equal(fxp_requantize(INT32_MAX, tiny), 0);
}

/* The {0, 0} of an underflowing ratio yields 0 for every accumulator. */
static void test_fixedpoint_requantize_zero_multiplier(void **state)
{
    (void)state;
    fxp_requant zero;
    assert_int_equal(fxp_quantize_multiplier(1e-30, &zero), 0);
    assert_int_equal(zero.multiplier, 0);
    assert_int_equal(zero.shift, 0);
    const int32_t accs[] = {INT32_MIN, -1, 0, 1, INT32_MAX};
    for (size_t i = 0; i < sizeof accs / sizeof accs[0]; i++)
        assert_int_equal(fxp_requantize(accs[i], zero), 0);
}

static long n_qm_cases;

/* Checks the representation of an accepted m: ranges, and that M0 is the
 * nearest integer to m * 2^(31 - shift) (all products by powers of two are
 * exact in double), hence |M0 2^(shift-31) - m| <= 2^-31 m. */
static void check_round_trip(double m)
{
    fxp_requant rq = {-1, -1};
    n_qm_cases++;
    if (fxp_quantize_multiplier(m, &rq) != 0)
        fail_msg("fxp_quantize_multiplier(%a) rejected", m);
    /* Below (2^31 - 1/2) 2^-63 the mantissa does not carry up to 2^-32: {0, 0}. */
    if (m < ldexp(0x1p31 - 0.5, -63)) {
        if (rq.multiplier != 0 || rq.shift != 0)
            fail_msg("m=%a: expected {0,0}, got {%ld,%ld}", m, (long)rq.multiplier,
                     (long)rq.shift);
        return;
    }
    if (rq.multiplier < (1 << 30) || rq.shift < FXP_SHIFT_MIN || rq.shift > FXP_SHIFT_MAX)
        fail_msg("m=%a: out of range {%ld,%ld}", m, (long)rq.multiplier, (long)rq.shift);
    double scaled = ldexp(m, 31 - rq.shift);
    if (fabs(scaled - rq.multiplier) > 0.5)
        fail_msg("m=%a: M0=%ld shift=%ld is not the nearest (m*2^(31-shift)=%.17g)", m,
                 (long)rq.multiplier, (long)rq.shift, scaled);
    double back = ldexp(rq.multiplier, rq.shift - 31);
    if (fabs(back - m) > ldexp(m, -31))
        fail_msg("m=%a: relative error above 2^-31", m);
}

static void test_fixedpoint_quantize_multiplier_round_trip(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 3);
    n_qm_cases = 0;
    for (int i = 0; i < 200000; i++) { /* random over [2^-32, 2^30) */
        double frac = 0.5 + ldexp((double)(rng_u64(&r) >> 11), -54); /* [0.5, 1) */
        int e = -31 + (int)rng_below(&r, 61);                          /* [-31, 29] */
        check_round_trip(ldexp(frac, e));
    }
    for (int k = -32; k <= 29; k++) { /* powers of two and just below */
        double p = ldexp(1.0, k);
        check_round_trip(p);
        fxp_requant rq;
        assert_int_equal(fxp_quantize_multiplier(p, &rq), 0);
        assert_int_equal(rq.multiplier, 1 << 30);
        assert_int_equal(rq.shift, k + 1);
        /* just below: the mantissa rounds to 2^31 and carries into the shift */
        check_round_trip(nextafter(p, 0.0));
        assert_int_equal(fxp_quantize_multiplier(nextafter(p, 0.0), &rq), 0);
        assert_int_equal(rq.multiplier, 1 << 30);
        assert_int_equal(rq.shift, k + 1);
        /* (1 - 2^-31) p is the largest mantissa: M0 = 2^31 - 1 */
        /* (below 2^-32, i.e. k = -32, it underflows to {0, 0}) */
        check_round_trip(p * (1.0 - 0x1p-31));
        assert_int_equal(fxp_quantize_multiplier(p * (1.0 - 0x1p-31), &rq), 0);
        assert_int_equal(rq.multiplier, k > -32 ? INT32_MAX : 0);
        assert_int_equal(rq.shift, k > -32 ? k : 0);
        /* exact mantissa tie (2^31 - 1/2) rounds up, with carry */
        check_round_trip(p * (1.0 - 0x1p-32));
        check_round_trip(p * 0.75);
    }
    print_message("fixedpoint: %ld quantize_multiplier round trips within 2^-31\n",
                  n_qm_cases);
}

/* m >= 1 up to just below 2^30; m tiny. */
static void test_fixedpoint_quantize_multiplier_ranges(void **state)
{
    (void)state;
    fxp_requant rq;
    assert_int_equal(fxp_quantize_multiplier(1.0, &rq), 0);
    assert_int_equal(rq.multiplier, 1 << 30);
    assert_int_equal(rq.shift, 1);
    assert_int_equal(fxp_quantize_multiplier(1.5, &rq), 0);
    assert_int_equal(rq.multiplier, 3 << 29);
    assert_int_equal(rq.shift, 1);
    assert_int_equal(fxp_quantize_multiplier(0x1p29, &rq), 0);
    assert_int_equal(rq.shift, FXP_SHIFT_MAX);
    assert_int_equal(fxp_quantize_multiplier(0x1p30 - 0.5, &rq), 0); /* M0 = 2^31 - 1 */
    assert_int_equal(rq.multiplier, INT32_MAX);
    assert_int_equal(rq.shift, FXP_SHIFT_MAX);
    /* m = 2^-32 is the smallest representable; one ulp below carries to it */
    assert_int_equal(fxp_quantize_multiplier(0x1p-32, &rq), 0);
    assert_int_equal(rq.multiplier, 1 << 30);
    assert_int_equal(rq.shift, FXP_SHIFT_MIN);
    assert_int_equal(fxp_quantize_multiplier(nextafter(0x1p-32, 0), &rq), 0);
    assert_int_equal(rq.multiplier, 1 << 30);
    assert_int_equal(rq.shift, FXP_SHIFT_MIN);
    const double tiny[] = {0x1.8p-33, 0x1p-33, 1e-20, 1e-300, 5e-324};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        assert_int_equal(fxp_quantize_multiplier(tiny[i], &rq), 0);
        assert_int_equal(rq.multiplier, 0);
        assert_int_equal(rq.shift, 0);
        /* exact: every int32 acc times m is within (-1/2, 1/2), which rounds to 0 */
        assert_true(fabs((double)INT32_MIN * tiny[i]) < 0.5);
    }
}

/* NaN, infinities, zero, negatives and m >= 2^30 are rejected; out untouched. */
static void test_fixedpoint_quantize_multiplier_rejects(void **state)
{
    (void)state;
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, -1.0, -1e-40,
                          0x1p30, nextafter(0x1p30, 0), 0x1p31, 1e300, DBL_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fxp_requant rq = {12345, 7};
        if (fxp_quantize_multiplier(bad[i], &rq) != -1)
            fail_msg("fxp_quantize_multiplier(%a) accepted", bad[i]);
        assert_int_equal(rq.multiplier, 12345);
        assert_int_equal(rq.shift, 7);
    }
}

/* Random real ratios end to end: |requant(acc) - acc*m| <= 1/2 + |acc| m 2^-31. */
static void test_fixedpoint_requantize_approximates_real(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 4);
    for (int i = 0; i < 100000; i++) {
        double m = ldexp(0.5 + 0.5 * rng_uniform(&r), -24 + (int)rng_below(&r, 26));
        fxp_requant rq;
        assert_int_equal(fxp_quantize_multiplier(m, &rq), 0);
        int32_t acc = (int32_t)rng_below(&r, 1u << 24) - (1 << 23);
        long double exact = (long double)acc * m;
        if (fabsl(exact) > 2e9L)
            continue;
        long double err = fabsl((long double)fxp_requantize(acc, rq) - exact);
        if (err > 0.5L + fabsl(exact) * 0x1p-31L + 1e-9L)
            fail_msg("acc=%ld m=%a: error %Lg", (long)acc, m, err);
    }
}

static void test_fixedpoint_saturation_helpers(void **state)
{
    (void)state;
    assert_int_equal(fxp_sat_s8(INT32_MIN), -128);
    assert_int_equal(fxp_sat_s8(-129), -128);
    assert_int_equal(fxp_sat_s8(-128), -128);
    assert_int_equal(fxp_sat_s8(0), 0);
    assert_int_equal(fxp_sat_s8(127), 127);
    assert_int_equal(fxp_sat_s8(128), 127);
    assert_int_equal(fxp_sat_s8(INT32_MAX), 127);
    assert_int_equal(fxp_clamp_s32(5, -3, 3), 3);
    assert_int_equal(fxp_clamp_s32(-5, -3, 3), -3);
    assert_int_equal(fxp_clamp_s32(2, -3, 3), 2);
    assert_int_equal(fxp_clamp_s32(INT32_MIN, INT32_MIN, INT32_MAX), INT32_MIN);
    assert_int_equal(fxp_clamp_s32(7, 7, 7), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixedpoint_requantize_every_shift),
        cmocka_unit_test(test_fixedpoint_requantize_ties),
        cmocka_unit_test(test_fixedpoint_requantize_hand_cases),
        cmocka_unit_test(test_fixedpoint_requantize_zero_multiplier),
        cmocka_unit_test(test_fixedpoint_quantize_multiplier_round_trip),
        cmocka_unit_test(test_fixedpoint_quantize_multiplier_ranges),
        cmocka_unit_test(test_fixedpoint_quantize_multiplier_rejects),
        cmocka_unit_test(test_fixedpoint_requantize_approximates_real),
        cmocka_unit_test(test_fixedpoint_saturation_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
