m4_divert(-1)
# model_c.m4 — the generated NAME.c: one static function per layer, NAME_run
# and NAME_run_static. Expanded after qatc.m4 (quotes [ ], see there).
#
# Every layer function is one loop nest over constants: the generator passes
# the layer's shapes, strides, zero-points and clamp range as the body of an
# enum (CONSTANTS, e.g. "IN_H = 28, IN_W = 28, ..."), and its int8 weights,
# int32 biases and requantization multipliers/shifts as C initializers. The
# arithmetic is that of the runtime's reference kernels (runtime/q8_kernels.c),
# bit for bit: acc in int32, one rounding in int64, + zero-point, clamp.
# Tensors are NHWC int8: x[y][x][c] is in[(y * W + x) * C + c].

# QATC_C_BEGIN(MODEL, SOURCE, SUMMARY): banner, what the file is, includes.
m4_define([QATC_C_BEGIN], [QATC_CHECK([$0], [3], $@)[]QATC_BANNER([$2])[
/* $1: $3
 *
 * Integer arithmetic only (int8 data, int32 accumulators), no allocation, no library
 * calls. real = scale * (q - zero_point); activations NHWC, weights OHWI.
 * Every weighted layer computes acc = bias + sum w * (x - in_zero_point) in
 * int32 and ends the same way: requantize (one rounding), add the output
 * zero-point, clamp to the fused activation's range. Needs a 32-bit int. */
#include <stddef.h>
#include <stdint.h>

#include "$1.h"
]])

# QATC_REQUANTIZE: the static helper requantize(), for files that use it.
m4_define([QATC_REQUANTIZE], [[
/* out = clamp(round(acc * M) + zp, lo, hi) with M = m0 * 2^(shift - 31),
 * 2^30 <= m0 < 2^31 (or m0 = 0), -31 <= shift <= 30, so 1 <= t = 31 - shift <= 62:
 *   round(acc * M) = (acc * m0 + 2^(t - 1)) >> t    (one rounding, ties up)
 * |acc * m0| < 2^62 and 2^(t - 1) <= 2^61, so the int64 sum cannot overflow.
 * >> of a negative value is an arithmetic shift on every supported compiler. */
static int8_t requantize(int32_t acc, int32_t m0, int32_t shift, int32_t zp, int32_t lo,
                         int32_t hi)
{
    int32_t t = 31 - shift;
    int64_t y = ((int64_t)acc * m0 + ((int64_t)1 << (t - 1))) >> t;
    y += zp;
    if (y < lo)
        y = lo;
    if (y > hi)
        y = hi;
    return (int8_t)y;
}
]])

# QATC_RESCALE: the static helper rescale() (round(x * M) without clamp), for adds.
m4_define([QATC_RESCALE], [[
/* round(x * M), M = m0 * 2^(shift - 31) <= 1/2 here, so the result fits int32:
 * the same single rounding as requantize(), without zero-point or clamp. */
static int32_t rescale(int32_t x, int32_t m0, int32_t shift)
{
    int32_t t = 31 - shift;
    return (int32_t)(((int64_t)x * m0 + ((int64_t)1 << (t - 1))) >> t);
}
]])

# QATC_DOT: dot_1x4, the inner product of conv2d and linear layers.
m4_define([QATC_DOT], [[
/* The inner products every conv2d and linear layer spends its time in: for four output
 * channels g = 0..3 at once (their weights w_g = w + g * w_step),
 *   acc[g] += sum_{i < n} w_g[i] * (x[i] - zp)
 * over n consecutive input bytes: one input (dot_1x4) or two (dot_2x4, below: x and
 * x + x_step, two output pixels that share every weight they load). Each acc is the
 * partial sum of a layer's accumulator, which fits int32 (|bias| + taps * 127 * 255 does,
 * checked when the model was loaded), whatever the order of the terms. */
static void dot_1x4(const int8_t *x, const int8_t *w, int32_t w_step, int32_t n, int32_t zp,
                    int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t i = 0; i < n; i++) {
        int32_t v = x[i] - zp;
        a0 += w0[i] * v;
        a1 += w1[i] * v;
        a2 += w2[i] * v;
        a3 += w3[i] * v;
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
]])

# QATC_CONV_SUMS: dot_2x4, conv_shape and conv_sums(), the window sums of conv2d layers.
m4_define([QATC_CONV_SUMS], [[
static void dot_2x4(const int8_t *x, int32_t x_step, const int8_t *w, int32_t w_step,
                    int32_t n, int32_t zp, int32_t acc[2][4])
{
    dot_1x4(x, w, w_step, n, zp, acc[0]);
    dot_1x4(x + x_step, w, w_step, n, zp, acc[1]);
}

/* What conv_sums needs to know of a conv2d layer (its enum constants). */
typedef struct {
    int32_t in_h, in_w, in_c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, in_zp;
} conv_shape;

/* acc[p][g] += sum over the taps of output pixel (cy + p, cx) that fall inside the input
 * of w_g[ky][kx][ic] * (x[iy][ix][ic] - in_zp), for p = 0 and, when two, p = 1 (the next
 * output row), and the four channels g whose weights start at w, w + w_step, ... Taps in
 * the padding are skipped: their x - in_zp is 0. in: (in_h, in_w, in_c) int8 NHWC;
 * w: (kernel_h, kernel_w, in_c) per channel. In each kernel row the taps inside the input
 * are n consecutive bytes of the input row and of the weights. */
static void conv_sums(const conv_shape *s, const int8_t *in, const int8_t *w, int32_t cy,
                      int32_t cx, int two, int32_t acc[2][4])
{
    int32_t w_step = s->kernel_h * s->kernel_w * s->in_c;
    int32_t row = s->in_w * s->in_c;                        /* bytes of an input row */
    int32_t ix = cx * s->stride_w - s->pad_w;               /* input column of kx = 0 */
    int32_t kx0 = ix < 0 ? -ix : 0;                         /* taps kx0 .. kx1 - 1 inside */
    int32_t kx1 = ix + s->kernel_w > s->in_w ? s->in_w - ix : s->kernel_w;
    int32_t n = (kx1 - kx0) * s->in_c;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        int32_t iy = cy * s->stride_h - s->pad_h + ky;      /* input row of pixel 0 */
        int in0 = iy >= 0 && iy < s->in_h;
        int in1 = two && iy + s->stride_h >= 0 && iy + s->stride_h < s->in_h;
        const int8_t *wk = w + (ky * s->kernel_w + kx0) * s->in_c;
        if (in0 && in1)
            dot_2x4(in + iy * row + (ix + kx0) * s->in_c, s->stride_h * row, wk, w_step, n,
                    s->in_zp, acc);
        else if (in0)
            dot_1x4(in + iy * row + (ix + kx0) * s->in_c, wk, w_step, n, s->in_zp, acc[0]);
        else if (in1)
            dot_1x4(in + (iy + s->stride_h) * row + (ix + kx0) * s->in_c, wk, w_step, n,
                    s->in_zp, acc[1]);
    }
}
]])

# _QATC_CONV_DATA(CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): the constants of a conv2d layer.
m4_define([_QATC_CONV_DATA], [[    enum { $1 };
    /* weights w[oc][ky][kx][ic]; rows from OUT_C to W_ROWS are 0 (the kernels do four
     * channels at a time) */
    static const int8_t w[W_ROWS][KERNEL_H][KERNEL_W][IN_C] = $2;
    static const int32_t bias[OUT_C] = $3;
    static const int32_t mult[OUT_C] = $4;
    static const int8_t shift[OUT_C] = $5;
    static const conv_shape shape = {IN_H,     IN_W,     IN_C,  KERNEL_H, KERNEL_W,
                                     STRIDE_H, STRIDE_W, PAD_H, PAD_W,    IN_ZP};
    const int8_t *weights = (const int8_t *)w;   /* W_STEP bytes per channel */
]])

# QATC_CONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a conv2d layer.
m4_define([QATC_CONV2D], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
]_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8])[
    /* two output rows at a time (they share every weight loaded), four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy += 2) {
        int two = oy + 1 < OUT_H;
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
                int32_t acc[2][4];
                for (int32_t g = 0; g < 4; g++)
                    acc[0][g] = acc[1][g] = oc + g < OUT_C ? bias[oc + g] : 0;
                conv_sums(&shape, in, weights + oc * W_STEP, oy, ox, two, acc);
                for (int32_t g = 0; g < 4 && oc + g < OUT_C; g++) {
                    int32_t c = oc + g;
                    out[(oy * OUT_W + ox) * OUT_C + c] =
                        requantize(acc[0][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                    if (two)
                        out[((oy + 1) * OUT_W + ox) * OUT_C + c] =
                            requantize(acc[1][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                }
            }
        }
    }
}
]])

# QATC_CONV2D_MAXPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a conv2d
# and the max pool after it (windows POOL_H x POOL_W, stride = window) in one loop nest.
m4_define([QATC_CONV2D_MAXPOOL], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
]_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8])[
    /* for each pool window: its conv outputs two rows at a time, four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
                int32_t best[4] = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
                for (int32_t dx = 0; dx < POOL_W; dx++) {
                    for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                        int two = dy + 1 < POOL_H;
                        int32_t acc[2][4];
                        for (int32_t g = 0; g < 4; g++)
                            acc[0][g] = acc[1][g] = oc + g < OUT_C ? bias[oc + g] : 0;
                        conv_sums(&shape, in, weights + oc * W_STEP, oy * POOL_H + dy,
                                  ox * POOL_W + dx, two, acc);
                        for (int32_t g = 0; g < 4; g++) {
                            if (acc[0][g] > best[g])
                                best[g] = acc[0][g];
                            if (two && acc[1][g] > best[g])
                                best[g] = acc[1][g];
                        }
                    }
                }
                /* the max of requantize(acc) over the window is requantize(max acc):
                 * requantize never decreases (M > 0) */
                for (int32_t g = 0; g < 4 && oc + g < OUT_C; g++) {
                    int32_t c = oc + g;
                    out[(oy * OUT_W + ox) * OUT_C + c] =
                        requantize(best[g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                }
            }
        }
    }
}
]])

# QATC_CONV2D_AVGPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a conv2d
# and the average pool after it (windows POOL_H x POOL_W, stride = window, or one window
# over everything) in one loop nest.
m4_define([QATC_CONV2D_AVGPOOL], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
]_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8])[
    /* for each pool window: its conv outputs two rows at a time, four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
                int32_t sum[4] = {0, 0, 0, 0}; /* sum of (y - CONV_ZP) over the window */
                for (int32_t dx = 0; dx < POOL_W; dx++) {
                    for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                        int two = dy + 1 < POOL_H;
                        int32_t acc[2][4];
                        for (int32_t g = 0; g < 4; g++)
                            acc[0][g] = acc[1][g] = oc + g < OUT_C ? bias[oc + g] : 0;
                        conv_sums(&shape, in, weights + oc * W_STEP, oy * POOL_H + dy,
                                  ox * POOL_W + dx, two, acc);
                        for (int32_t g = 0; g < 4 && oc + g < OUT_C; g++) {
                            int32_t c = oc + g;
                            sum[g] += requantize(acc[0][g], mult[c], shift[c], CONV_ZP,
                                                 CONV_MIN, CONV_MAX) - CONV_ZP;
                            if (two)
                                sum[g] += requantize(acc[1][g], mult[c], shift[c], CONV_ZP,
                                                     CONV_MIN, CONV_MAX) - CONV_ZP;
                        }
                    }
                }
                /* the average in the pool output's scale: sum * s_conv / (s_out * POOL_H *
                 * POOL_W), by POOL_MULT and POOL_SHIFT */
                for (int32_t g = 0; g < 4 && oc + g < OUT_C; g++)
                    out[(oy * OUT_W + ox) * OUT_C + oc + g] =
                        requantize(sum[g], POOL_MULT, POOL_SHIFT, OUT_ZP, ACT_MIN, ACT_MAX);
            }
        }
    }
}
]])

# QATC_DWCONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): depthwise, multiplier 1.
m4_define([QATC_DWCONV2D], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };
    static const int8_t w[KERNEL_H][KERNEL_W][C] = $5;
    static const int32_t bias[C] = $6;
    static const int32_t mult[C] = $7;
    static const int8_t shift[C] = $8;

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t c = 0; c < C; c++) {
                /* acc = bias + sum w * (x - IN_ZP) over one channel's window */
                int32_t acc = bias[c];
                for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                    int32_t iy = oy * STRIDE_H - PAD_H + ky;
                    if (iy < 0 || iy >= IN_H)
                        continue;
                    for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                        int32_t ix = ox * STRIDE_W - PAD_W + kx;
                        if (ix < 0 || ix >= IN_W)
                            continue;
                        acc += w[ky][kx][c] * (in[(iy * IN_W + ix) * C + c] - IN_ZP);
                    }
                }
                out[(oy * OUT_W + ox) * C + c] =
                    requantize(acc, mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
            }
        }
    }
}
]])

# QATC_LINEAR(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a fully connected layer.
m4_define([QATC_LINEAR], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(const int8_t *in /* (IN_N) */, int8_t *out /* (OUT_N) */)
{
    enum { $4 };
    /* weights w[o][i]; rows from OUT_N to W_ROWS are 0 (four outputs at a time) */
    static const int8_t w[W_ROWS][IN_N] = $5;
    static const int32_t bias[OUT_N] = $6;
    static const int32_t mult[OUT_N] = $7;
    static const int8_t shift[OUT_N] = $8;

    for (int32_t o = 0; o < OUT_N; o += 4) {
        /* acc = bias + sum w * (x - IN_ZP), outputs o .. o + 3 */
        int32_t acc[4];
        for (int32_t g = 0; g < 4; g++)
            acc[g] = o + g < OUT_N ? bias[o + g] : 0;
        dot_1x4(in, (const int8_t *)w + o * IN_N, IN_N, IN_N, IN_ZP, acc);
        for (int32_t g = 0; g < 4 && o + g < OUT_N; g++)
            out[o + g] = requantize(acc[g], mult[o + g], shift[o + g], OUT_ZP, ACT_MIN, ACT_MAX);
    }
}
]])

# QATC_MAXPOOL(MODEL, LAYER, COMMENT, CONSTANTS): max pool on int8 (same scale and zero-point out).
m4_define([QATC_MAXPOOL], [QATC_CHECK([$0], [4], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t c = 0; c < C; c++) {
                int8_t best = -128;
                for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                    for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                        int32_t iy = oy * STRIDE_H + ky, ix = ox * STRIDE_W + kx;
                        int8_t v = in[(iy * IN_W + ix) * C + c];
                        if (v > best)
                            best = v;
                    }
                }
                out[(oy * OUT_W + ox) * C + c] = best;
            }
        }
    }
}
]])

# QATC_AVGPOOL(MODEL, LAYER, COMMENT, CONSTANTS): average pool; MULT/SHIFT encode s_in / (s_out * KERNEL_H * KERNEL_W).
m4_define([QATC_AVGPOOL], [QATC_CHECK([$0], [4], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t c = 0; c < C; c++) {
                /* acc = sum of (x - IN_ZP) over the window; the average in the output's
                 * scale is acc * s_in / (s_out * KERNEL_H * KERNEL_W), by MULT and SHIFT */
                int32_t acc = 0;
                for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                    for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                        int32_t iy = oy * STRIDE_H + ky, ix = ox * STRIDE_W + kx;
                        acc += in[(iy * IN_W + ix) * C + c] - IN_ZP;
                    }
                }
                out[(oy * OUT_W + ox) * C + c] =
                    requantize(acc, MULT, SHIFT, OUT_ZP, ACT_MIN, ACT_MAX);
            }
        }
    }
}
]])

# QATC_ADD(MODEL, LAYER, COMMENT, CONSTANTS): residual add, TFLite style; out may be in1 or in2 (in place).
m4_define([QATC_ADD], [QATC_CHECK([$0], [4], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in1 /* (N) */, const int8_t *in2 /* (N) */, int8_t *out /* (N) */)
{
    enum { $4 };

    /* a_k = round((x_k - ZP_k) * 2^LEFT_SHIFT * M_k), M_k = s_k / (2 max(s1, s2)) <= 1/2;
     * out = clamp(round((a_1 + a_2) * M_OUT) + OUT_ZP), M_OUT = 2 max(s1, s2) / (2^LEFT_SHIFT s_out).
     * |a_1 + a_2| < 2^28. Element i is read before it is written: out may alias an input. */
    for (int32_t i = 0; i < N; i++) {
        int32_t a1 = rescale((in1[i] - IN1_ZP) * (1 << LEFT_SHIFT), IN1_MULT, IN1_SHIFT);
        int32_t a2 = rescale((in2[i] - IN2_ZP) * (1 << LEFT_SHIFT), IN2_MULT, IN2_SHIFT);
        out[i] = requantize(a1 + a2, OUT_MULT, OUT_SHIFT, OUT_ZP, ACT_MIN, ACT_MAX);
    }
}
]])

# QATC_COPY(MODEL, LAYER, COMMENT, CONSTANTS): a flatten that ends the model: copy N bytes to the output.
m4_define([QATC_COPY], [QATC_CHECK([$0], [4], $@)[
/* $3 */
static void $1_layer_$2(const int8_t *in /* (N) */, int8_t *out /* (N) */)
{
    enum { $4 };

    for (int32_t i = 0; i < N; i++)
        out[i] = in[i];
}
]])

# QATC_RUN_BEGIN(MODEL, ARENA_SIZE, PLAN): NAME_run up to its first step; PLAN is a comment.
m4_define([QATC_RUN_BEGIN], [QATC_CHECK([$0], [3], $@)[
/* QATC_AFTER_STEP(step) runs after each step of $1_run: nothing unless the build
 * defines it, e.g. as a profiler's marker (bench/ counts instructions per layer so). */
#ifndef QATC_AFTER_STEP
#define QATC_AFTER_STEP(step)
#endif

/* $3 */
int $1_run(const int8_t *input, int8_t *output, void *arena)
{
]m4_ifelse([$2], [0], [[    (void)arena; /* every tensor lives in the caller's buffers */
    if (input == NULL || output == NULL)
        return -1;
]], [[    int8_t *a = (int8_t *)arena;

    if (input == NULL || output == NULL || a == NULL)
        return -1;
]])])

# QATC_STEP(MODEL, LAYER, ARGUMENTS, COMMENT, STEP): one call of a layer function in NAME_run.
m4_define([QATC_STEP], [QATC_CHECK([$0], [5], $@)[    $1_layer_$2($3); /* $4 */
    QATC_AFTER_STEP($5);
]])

# QATC_VIEW(COMMENT): a step without code (a flatten viewing its input's bytes).
m4_define([QATC_VIEW], [QATC_CHECK([$0], [1], $@)[    /* $1 */
]])

# QATC_RUN_END(MODEL, ARENA_WORDS): the end of NAME_run, and NAME_run_static.
m4_define([QATC_RUN_END], [QATC_CHECK([$0], [2], $@)[    return 0;
}

int $1_run_static(const int8_t *input, int8_t *output)
{
    static int32_t arena[$2]; /* int32_t for 4-byte alignment; at least the arena size */
    return $1_run(input, output, arena);
}
]])

m4_divert(0)m4_dnl
