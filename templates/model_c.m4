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

# QATC_CONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a conv2d layer.
m4_define([QATC_CONV2D], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
    enum { $4 };
    static const int8_t w[OUT_C][KERNEL_H][KERNEL_W][IN_C] = $5;
    static const int32_t bias[OUT_C] = $6;
    static const int32_t mult[OUT_C] = $7;
    static const int8_t shift[OUT_C] = $8;

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc++) {
                /* acc = bias + sum w * (x - IN_ZP); padding is IN_ZP and adds 0 */
                int32_t acc = bias[oc];
                for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                    int32_t iy = oy * STRIDE_H - PAD_H + ky;
                    if (iy < 0 || iy >= IN_H)
                        continue;
                    for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                        int32_t ix = ox * STRIDE_W - PAD_W + kx;
                        if (ix < 0 || ix >= IN_W)
                            continue;
                        for (int32_t ic = 0; ic < IN_C; ic++)
                            acc += w[oc][ky][kx][ic] * (in[(iy * IN_W + ix) * IN_C + ic] - IN_ZP);
                    }
                }
                out[(oy * OUT_W + ox) * OUT_C + oc] =
                    requantize(acc, mult[oc], shift[oc], OUT_ZP, ACT_MIN, ACT_MAX);
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
    static const int8_t w[OUT_N][IN_N] = $5;
    static const int32_t bias[OUT_N] = $6;
    static const int32_t mult[OUT_N] = $7;
    static const int8_t shift[OUT_N] = $8;

    for (int32_t o = 0; o < OUT_N; o++) {
        /* acc = bias + sum w * (x - IN_ZP) */
        int32_t acc = bias[o];
        for (int32_t i = 0; i < IN_N; i++)
            acc += w[o][i] * (in[i] - IN_ZP);
        out[o] = requantize(acc, mult[o], shift[o], OUT_ZP, ACT_MIN, ACT_MAX);
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

# QATC_STEP(MODEL, LAYER, ARGUMENTS, COMMENT): one call of a layer function in NAME_run.
m4_define([QATC_STEP], [QATC_CHECK([$0], [4], $@)[    $1_layer_$2($3); /* $4 */
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
