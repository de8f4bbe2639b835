/* Tests for augment: flips and shifts against hand-worked inputs (zero
 * padding), the draws' order and ranges, and determinism: the same seed gives
 * the same batches however the inputs are cut into batches, and aug_skip
 * replays an interrupted epoch exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "augment.h"
#include "rng.h"

static void expect(const float *got, const float *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: element %d is %g, want %g", what, i, (double)got[i], (double)want[i]);
}

/* A 2x3 input with two channels: (y, x, c) = 10·(3y + x + 1) + c. */
static void test_augment_by_hand(void **state)
{
    (void)state;
    float in[12], out[12];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            for (int c = 0; c < 2; c++)
                in[(y * 3 + x) * 2 + c] = (float)(10 * (3 * y + x + 1) + c);
    const float flip[12] = {30, 31, 20, 21, 10, 11, 60, 61, 50, 51, 40, 41};
    const float right[12] = {0, 0, 10, 11, 20, 21, 0, 0, 40, 41, 50, 51};
    const float up[12] = {40, 41, 50, 51, 60, 61, 0, 0, 0, 0, 0, 0};
    const float flip_left_down[12] = {0, 0, 0, 0, 0, 0, 20, 21, 10, 11, 0, 0};
    aug_draw d = {1, 0, 0};
    aug_apply(&d, in, out, 2, 3, 2);
    expect(out, flip, 12, "flip");
    d = (aug_draw){0, 0, 1};
    aug_apply(&d, in, out, 2, 3, 2);
    expect(out, right, 12, "shift right 1");
    d = (aug_draw){0, -1, 0};
    aug_apply(&d, in, out, 2, 3, 2);
    expect(out, up, 12, "shift up 1");
    d = (aug_draw){1, 1, -1}; /* flipped, then down 1 and left 1 */
    aug_apply(&d, in, out, 2, 3, 2);
    expect(out, flip_left_down, 12, "flip, down 1, left 1");
    d = (aug_draw){0, 0, 0};
    aug_apply(&d, in, out, 2, 3, 2);
    expect(out, in, 12, "nothing");
}

/* The draws: flip, dy, dx from one rng, in that order, each in range; an
 * axis of length 1 draws nothing. */
static void test_augment_draws(void **state)
{
    (void)state;
    aug_config a = {2, 1};
    rng_state r, mirror;
    rng_seed(&r, 5);
    mirror = r;
    int seen_dx[5] = {0}, seen_dy[5] = {0}, flips = 0;
    for (int i = 0; i < 2000; i++) {
        aug_draw d;
        aug_draw_one(&a, 8, 8, &r, &d);
        int f = (int)rng_below(&mirror, 2);
        int dy = (int)rng_below(&mirror, 5) - 2, dx = (int)rng_below(&mirror, 5) - 2;
        assert_int_equal(d.flip, f);
        assert_int_equal(d.dy, dy);
        assert_int_equal(d.dx, dx);
        seen_dy[d.dy + 2]++, seen_dx[d.dx + 2]++, flips += d.flip;
    }
    for (int k = 0; k < 5; k++)
        assert_true(seen_dx[k] > 300 && seen_dy[k] > 300);
    assert_true(flips > 900 && flips < 1100);
    /* 1 x T: only dx is drawn, so the next draw is the next input's flip */
    rng_seed(&r, 6);
    mirror = r;
    aug_draw d;
    aug_draw_one(&a, 1, 16, &r, &d);
    assert_int_equal(d.dy, 0);
    assert_int_equal(d.flip, (int)rng_below(&mirror, 2));
    assert_int_equal(d.dx, (int)rng_below(&mirror, 5) - 2);
    assert_memory_equal(&r, &mirror, sizeof r);
    /* nothing enabled: no draws at all */
    aug_config none = {0, 0};
    assert_false(aug_enabled(&none));
    aug_draw_one(&none, 8, 8, &r, &d);
    assert_memory_equal(&r, &mirror, sizeof r);
    assert_true(d.flip == 0 && d.dy == 0 && d.dx == 0);
}

/* The same seed gives the same augmented inputs whether they come as one
 * batch or as batches of 3 (the draws follow the inputs, not the batches),
 * and aug_skip past the first inputs continues exactly. */
static void test_augment_deterministic(void **state)
{
    (void)state;
    enum { N = 10, H = 5, W = 6, C = 3, SIZE = H * W * C };
    static float orig[N * SIZE], a[N * SIZE], b[N * SIZE], c[N * SIZE];
    float scratch[SIZE];
    for (int i = 0; i < N * SIZE; i++)
        orig[i] = (float)(i % 97) + 1.0f;
    aug_config cfg = {2, 1};
    rng_state ra, rb, rc;
    rng_seed(&ra, 9);
    rb = rc = ra;
    memcpy(a, orig, sizeof a);
    memcpy(b, orig, sizeof b);
    memcpy(c, orig, sizeof c);
    aug_batch(&cfg, &ra, a, N, H, W, C, scratch);
    for (int first = 0; first < N; first += 3)
        aug_batch(&cfg, &rb, b + first * SIZE, N - first < 3 ? N - first : 3, H, W, C, scratch);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(&ra, &rb, sizeof ra);
    /* resumed after 4 inputs */
    aug_skip(&cfg, &rc, 4, H, W);
    aug_batch(&cfg, &rc, c + 4 * SIZE, N - 4, H, W, C, scratch);
    assert_memory_equal(a + 4 * SIZE, c + 4 * SIZE, (N - 4) * SIZE * sizeof(float));
    /* and something did change */
    assert_true(memcmp(a, orig, sizeof a) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_augment_by_hand),
        cmocka_unit_test(test_augment_draws),
        cmocka_unit_test(test_augment_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
