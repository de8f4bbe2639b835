m4_divert(-1)
# model_c.m4 — the generated NAME.c: one static function per layer, NAME_run
# and NAME_run_static. Expanded after qatc.m4 (quotes [ ], see there).
#
# Every layer function is one loop nest over constants: the generator passes
# the layer's shapes, strides, zero-points and clamp range as the body of an
# enum (CONSTANTS, e.g. "IN_H = 28, IN_W = 28, ..."), and its int8 weights,
# int32 biases and requantization multipliers/shifts as C initializers. The
# arithmetic is that of the runtime's reference kernels (runtime/int8/q8_kernels.c),
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
 * |acc * m0| < 2^62 and 2^(t - 1) <= 2^61, so the int64 sum p cannot overflow.
 * Usually M < 1/2 (t >= 32): then p >> t is the high word of p shifted by t - 32, and
 * |p >> t| < 2^30, so the rest is 32-bit arithmetic. Otherwise a value beyond +-256 is
 * clamped to +-256 first, which changes nothing: it lands outside [-128, 127] either way.
 * >> of a negative value is an arithmetic shift on every supported compiler. */
static int8_t requantize(int32_t acc, int32_t m0, int32_t shift, int32_t zp, int32_t lo,
                         int32_t hi)
{
    int32_t t = 31 - shift, y;
    int64_t p = (int64_t)acc * m0 + ((int64_t)1 << (t - 1));
    if (t >= 32) {
        y = (int32_t)(p >> 32) >> (t - 32);
    } else {
        int64_t q = p >> t;
        y = q < -256 ? -256 : q > 256 ? 256 : (int32_t)q;
    }
    y += zp;
    return (int8_t)(y < lo ? lo : y > hi ? hi : y);
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

# QATC_DOT(WHEN): the version switch and, under #if WHEN (1 with a linear layer, else
# QATC_RUNS: only cores that walk conv windows row by row use it then), dot_1x4, the
# inner product of linear layers and of some conv2d layers.
m4_define([QATC_DOT], [QATC_CHECK([$0], [1], $@)[
/* The inner products every conv2d and linear layer spends its time in: for four output
 * channels g = 0..3 at once (their weights w_g = w + g * w_step),
 *   acc[g] += sum_{i < n} w_g[i] * (x[i] - zp)
 * over n consecutive input bytes: one input (dot_1x4) or two (dot_2x4, further down: x and
 * x + x_step, two output pixels that share every weight they load). Each acc is the
 * partial sum of a layer's accumulator, which fits int32 (|bias| + taps * 127 * 255 does,
 * checked when the model was loaded), whatever the order of the terms.
 *
 * They come in versions, all computing the same sums exactly; the compiler's predefined
 * macros choose one (define QATC_DOT to force one: the tests run every C version on the host):
 *   QATC_DOT_DSP     Arm cores with the DSP extension (Cortex-M4, M7, M33, M55): SMLAD adds
 *                    two 16-bit products per instruction; four int8 per 32-bit load, split
 *                    into 16-bit lanes by SXTB16/SXTAB16 (which also subtracts zp).
 *   QATC_DOT_THUMB1  Thumb-1 cores (Cortex-M0, M0+, M23) with GCC or clang: the loop in
 *                    assembly, 4 instructions per multiply-accumulate (GCC's own Thumb-1
 *                    code for it needs 5 to 6).
 *   QATC_DOT_SMLAL   other 32-bit Arm cores (Cortex-M3): C in which two output pixels share
 *                    one 32-bit multiplier (SMLAL, a 64-bit accumulate, does both).
 *   QATC_DOT_SSE2    x86 with SSE2 (every x86-64) and GCC or clang: conv2d layers through
 *                    PMADDWD (eight 16-bit products summed in pairs into four int32 lanes),
 *                    their weights in a second layout made for it; linear layers as PLAIN.
 *   QATC_DOT_PLAIN   anything else: plain loops, left to the compiler.
 * Where a version is inlined into each layer (QATC_INLINE), the layer's shapes become
 * constants in it: loads take immediate offsets and the loops need fewer registers. */
#define QATC_DOT_PLAIN 0
#define QATC_DOT_SMLAL 1
#define QATC_DOT_DSP 2
#define QATC_DOT_THUMB1 3
#define QATC_DOT_SSE2 4
#ifndef QATC_DOT
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
#define QATC_DOT QATC_DOT_DSP
#elif defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__)
#define QATC_DOT QATC_DOT_THUMB1
#elif defined(__arm__) || defined(__thumb__)
#define QATC_DOT QATC_DOT_SMLAL
#elif defined(__SSE2__) && defined(__GNUC__)
#define QATC_DOT QATC_DOT_SSE2
#else
#define QATC_DOT QATC_DOT_PLAIN
#endif
#endif
#if defined(__GNUC__) && QATC_DOT != QATC_DOT_THUMB1
#define QATC_INLINE inline __attribute__((always_inline))
#else
#define QATC_INLINE /* Thumb-1: one copy of each helper, for flash */
#endif
#define QATC_ARG __attribute__((unused)) /* arguments of naked functions: used by assembly */
/* Cores whose inner products read the int8 input in place walk conv2d windows row by
 * row (see QATC_CONV). */
#define QATC_RUNS (QATC_DOT == QATC_DOT_DSP || QATC_DOT == QATC_DOT_THUMB1)
#if QATC_DOT == QATC_DOT_DSP && defined(__OPTIMIZE_SIZE__) && defined(__thumb2__)
#define QATC_DSP_ASM 1 /* at -Os dot_1x4's loop is assembly (dot4_dsp) */
#endif

#if $1

#if QATC_DOT == QATC_DOT_DSP
/* The DSP instructions, on 32-bit words holding two 16-bit lanes (lo = bits 0..15). */
static QATC_INLINE int32_t lanes(int32_t lo, int32_t hi) /* lo, hi wrapped to 16 bits */
{
    return (int32_t)((uint32_t)(uint16_t)hi << 16 | (uint16_t)lo);
}
#if defined(QATC_DSP_ASM)
/* the helpers below: unused at -Os, where the loops that use them are assembly */
#elif defined(__ARM_FEATURE_DSP)
static QATC_INLINE int32_t sxtb16(uint32_t v) /* lanes: int8 bytes 0 and 2 of v */
{
    return __builtin_arm_sxtb16((int32_t)v);
}
static QATC_INLINE int32_t sxtb16_ror8(uint32_t v) /* lanes: bytes 1 and 3 */
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
static QATC_INLINE int32_t sxtab16(int32_t a, uint32_t v) /* lanes of a + bytes 0 and 2 */
{
    return __builtin_arm_sxtab16(a, (int32_t)v);
}
static QATC_INLINE int32_t sxtab16_ror8(int32_t a, uint32_t v) /* lanes of a + bytes 1, 3 */
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
static QATC_INLINE int32_t smlad(int32_t a, int32_t b, int32_t acc) /* acc + a.lo b.lo + a.hi b.hi */
{
    return __builtin_arm_smlad(a, b, acc);
}
#else /* the same in C, so that this version runs (and is tested) on any host */
static int32_t lane(int32_t v, int k) /* lane k of v, as int16 */
{
    return (int16_t)(uint16_t)((uint32_t)v >> (16 * k));
}
static int32_t byte(uint32_t v, int k) /* byte k of v, as int8 */
{
    return (int8_t)(uint8_t)(v >> (8 * k));
}
static int32_t sxtb16(uint32_t v) { return lanes(byte(v, 0), byte(v, 2)); }
static int32_t sxtb16_ror8(uint32_t v) { return lanes(byte(v, 1), byte(v, 3)); }
static int32_t sxtab16(int32_t a, uint32_t v)
{
    return lanes(lane(a, 0) + byte(v, 0), lane(a, 1) + byte(v, 2));
}
static int32_t sxtab16_ror8(int32_t a, uint32_t v)
{
    return lanes(lane(a, 0) + byte(v, 1), lane(a, 1) + byte(v, 3));
}
static int32_t smlad(int32_t a, int32_t b, int32_t acc)
{
    return acc + lane(a, 0) * lane(b, 0) + lane(a, 1) * lane(b, 1);
}
#endif

#if !defined(QATC_DSP_ASM)
/* Four bytes from p, little-endian: p[0] in bits 0..7 (GCC makes this one load). */
static QATC_INLINE uint32_t load4(const int8_t *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
#endif
#endif

#if QATC_DOT == QATC_DOT_THUMB1
/* dot_1x4 for Thumb-1, in assembly: on these cores ldrsb takes no immediate offset, and
 * GCC's own code for the loop keeps pointers on the stack (5 to 6 instructions per
 * multiply-accumulate; this loop takes 4). A naked function (no code of the compiler's,
 * so it assembles the same at every optimization level): arguments as AAPCS passes them,
 * r0 = xe = x + n, r1 = we = w + n, r2 = w_step, r3 = acc, then n and nzp = -zp on the
 * stack. The loop, k from -n to -1:
 *   v = xe[k] + nzp;  acc[g] += (we + g * w_step)[k] * v  for g = 0..3
 * with acc[0..3] in r8..r11 (saved and restored), nzp in r12, acc's address in lr. */
__attribute__((naked, noinline)) static void dot4_thumb1(
    const int8_t *xe QATC_ARG, const int8_t *we QATC_ARG, int32_t w_step QATC_ARG,
    int32_t *acc QATC_ARG, int32_t n QATC_ARG, int32_t nzp QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\t"
            "mov r5, r9\n\t"
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"  /* n, nzp now at sp + 36, sp + 40 */
            "mov lr, r3\n\t"
            "adds r3, r1, r2\n\t"
            "adds r4, r3, r2\n\t"
            "adds r6, r4, r2\n\t"
            "mov r2, r3\n\t"             /* r1..r4: the ends of the 4 weight rows */
            "mov r3, r4\n\t"
            "mov r4, r6\n\t"
            "ldr r5, [sp, #36]\n\t"
            "negs r5, r5\n\t"            /* r5: k = -n */
            "ldr r6, [sp, #40]\n\t"
            "mov r12, r6\n\t"
            "mov r7, lr\n\t"
            "ldr r6, [r7, #0]\n\t"
            "mov r8, r6\n\t"
            "ldr r6, [r7, #4]\n\t"
            "mov r9, r6\n\t"
            "ldr r6, [r7, #8]\n\t"
            "mov r10, r6\n\t"
            "ldr r6, [r7, #12]\n\t"
            "mov r11, r6\n"
            "1:\n\t"
            "ldrsb r6, [r0, r5]\n\t"     /* v = x - zp */
            "add r6, r12\n\t"
            "ldrsb r7, [r1, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r8, r7\n\t"
            "ldrsb r7, [r2, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r9, r7\n\t"
            "ldrsb r7, [r3, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r10, r7\n\t"
            "ldrsb r7, [r4, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r11, r7\n\t"
            "adds r5, #1\n\t"
            "bne 1b\n\t"
            "mov r7, lr\n\t"
            "mov r6, r8\n\t"
            "str r6, [r7, #0]\n\t"
            "mov r6, r9\n\t"
            "str r6, [r7, #4]\n\t"
            "mov r6, r10\n\t"
            "str r6, [r7, #8]\n\t"
            "mov r6, r11\n\t"
            "str r6, [r7, #12]\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\t"
            "mov r9, r5\n\t"
            "mov r10, r6\n\t"
            "mov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}");
}
#endif

#if defined(QATC_DSP_ASM)
/* dot_1x4's loop at -Os (GCC's code for it then takes 33 instructions per four taps; this
 * one 25), in assembly: a naked function, arguments as AAPCS passes them: r0 = x,
 * r1 = end, r2 = w, r3 = w_step, then zz = lanes(-zp, -zp) and sums on the stack. Four
 * bytes of x at a time, up to end:
 *   E = lanes(x[0] - zp, x[2] - zp), O = lanes(x[1] - zp, x[3] - zp)      (SXTAB16)
 *   sums[g] += E . lanes(w_g[0], w_g[2]) + O . lanes(w_g[1], w_g[3])       (SXTB16, SMLAD)
 * for g = 0..3 (w_g = w + g * w_step), from 0; sums in r4..r7, w + 2 w_step in lr. */
__attribute__((naked, noinline)) static void dot4_dsp(
    const int8_t *x QATC_ARG, const int8_t *end QATC_ARG, const int8_t *w QATC_ARG,
    int32_t w_step QATC_ARG, int32_t zz QATC_ARG, int32_t sums[4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldr r12, [sp, #36]\n\t"         /* zz */
            "add lr, r2, r3, lsl #1\n\t"     /* lr: the weights of channel 2 */
            "movs r4, #0\n\t"
            "movs r5, #0\n\t"
            "movs r6, #0\n\t"
            "movs r7, #0\n\t"
            "b 2f\n"
            "1:\n\t"
            "ldr r10, [r0], #4\n\t"
            "sxtab16 r8, r12, r10\n\t"      /* E */
            "sxtab16 r9, r12, r10, ror #8\n\t" /* O */
            "ldr r10, [r2, r3]\n\t"         /* channel 1 */
            "sxtb16 r11, r10\n\t"
            "smlad r5, r8, r11, r5\n\t"
            "sxtb16 r11, r10, ror #8\n\t"
            "smlad r5, r9, r11, r5\n\t"
            "ldr r10, [r2], #4\n\t"         /* channel 0 */
            "sxtb16 r11, r10\n\t"
            "smlad r4, r8, r11, r4\n\t"
            "sxtb16 r11, r10, ror #8\n\t"
            "smlad r4, r9, r11, r4\n\t"
            "ldr r10, [lr, r3]\n\t"         /* channel 3 */
            "sxtb16 r11, r10\n\t"
            "smlad r7, r8, r11, r7\n\t"
            "sxtb16 r11, r10, ror #8\n\t"
            "smlad r7, r9, r11, r7\n\t"
            "ldr r10, [lr], #4\n\t"         /* channel 2 */
            "sxtb16 r11, r10\n\t"
            "smlad r6, r8, r11, r6\n\t"
            "sxtb16 r11, r10, ror #8\n\t"
            "smlad r6, r9, r11, r6\n"
            "2:\n\t"
            "cmp r0, r1\n\t"
            "bcc 1b\n\t"
            "ldr lr, [sp, #40]\n\t"          /* sums */
            "stm lr, {r4, r5, r6, r7}\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#endif

static QATC_INLINE void dot_1x4(const int8_t *x, const int8_t *w, int32_t w_step, int32_t n,
                                int32_t zp, int32_t acc[4])
{
#if QATC_DOT == QATC_DOT_THUMB1
    if (n > 0)
        dot4_thumb1(x + n, w + n, w_step, acc, n, -zp);
#else
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
#if QATC_DOT == QATC_DOT_DSP
    /* four bytes at a time: lanes (x[i] - zp, x[i+2] - zp) times (w[i], w[i+2]), plus
     * lanes (x[i+1] - zp, x[i+3] - zp) times (w[i+1], w[i+3]); |x - zp| <= 255 fits a lane */
    int32_t zz = lanes(-zp, -zp);
#if defined(QATC_DSP_ASM)
    int32_t sums[4]; /* set by dot4_dsp */
    i = n / 4 * 4;
    dot4_dsp(x, x + i, w, w_step, zz, sums);
    a0 += sums[0], a1 += sums[1], a2 += sums[2], a3 += sums[3];
#else
    for (; i + 4 <= n; i += 4) {
        uint32_t xv = load4(x + i), v;
        int32_t xe = sxtab16(zz, xv), xo = sxtab16_ror8(zz, xv);
        v = load4(w0 + i);
        a0 = smlad(xe, sxtb16(v), smlad(xo, sxtb16_ror8(v), a0));
        v = load4(w1 + i);
        a1 = smlad(xe, sxtb16(v), smlad(xo, sxtb16_ror8(v), a1));
        v = load4(w2 + i);
        a2 = smlad(xe, sxtb16(v), smlad(xo, sxtb16_ror8(v), a2));
        v = load4(w3 + i);
        a3 = smlad(xe, sxtb16(v), smlad(xo, sxtb16_ror8(v), a3));
    }
#endif
#endif
    for (; i < n; i++) { /* 16-bit factors: compilers vectorize into 16 x 16 -> 32 bits */
        int16_t v = (int16_t)(x[i] - zp);
        a0 += (int16_t)w0[i] * v;
        a1 += (int16_t)w1[i] * v;
        a2 += (int16_t)w2[i] * v;
        a3 += (int16_t)w3[i] * v;
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
#endif
}
#endif
]])

# QATC_CONV: conv_shape, the two ways of window sums, dot_2x4 (on some cores), for conv2d layers.
m4_define([QATC_CONV], [[
/* What the helpers below need to know of a conv2d layer (its enum constants). */
typedef struct {
    int32_t in_h, in_w, in_c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, in_zp;
} conv_shape;

/* A conv2d layer's window sums, two output pixels (rows cy and cy + 1, column cx) and four
 * channels at a time, come one of two ways:
 *   - QATC_RUNS, on cores whose inner products read the int8 input in place (DSP,
 *     Thumb-1): conv_sums() walks the windows kernel row by kernel row straight from the
 *     input, where a row's taps inside the input are consecutive bytes, and skips the
 *     padding;
 *   - otherwise (hosts, Cortex-M3), and on every core for layers with short kernel rows:
 *     gather() copies the two windows once, in the form the core's inner product reads
 *     best (qatc_col), and col_sums() does every channel from that copy.
 * A layer's weights are qatc_w elements, those of channels oc .. oc + 3 (oc a multiple of
 * four) from QATC_W_AT(weights, oc, taps) on: int8 OHWI rows, or on SSE2 the PMADDWD
 * layout (see there). col_sums() does QATC_GROUP channels at a time: four, or sixteen on
 * SSE2 (the layer's weights then padded with zero rows to a multiple of sixteen). */
#if QATC_DOT == QATC_DOT_SSE2
#if !defined(__SSE2__)
#error "QATC_DOT_SSE2 needs SSE2"
#endif
/* 128-bit vectors of GCC and clang; pmaddwd(a, b) lane i = a[2i] * b[2i] + a[2i+1] * b[2i+1]
 * (PMADDWD: exact, 2 * 255 * 127 fits easily). */
typedef int16_t qatc_v16 __attribute__((vector_size(16))); /* 8 x int16 */
typedef int32_t qatc_v32 __attribute__((vector_size(16))); /* 4 x int32 */
typedef int8_t qatc_v8 __attribute__((vector_size(8), may_alias, aligned(1))); /* 8 x int8 */
static QATC_INLINE qatc_v32 pmaddwd(qatc_v16 a, qatc_v16 b)
{
    return __builtin_ia32_pmaddwd128(a, b);
}
/* Weights per four channels c0..c3, one vector per pair of taps k = 2j, 2j + 1:
 * (w_c0[k], w_c0[k+1], w_c1[k], w_c1[k+1], ...), QATC_PAIRS(taps) of them (a zero tap
 * after the last when taps is odd). A window's pair of taps (v[k], v[k+1]) repeated four
 * times in another vector, PMADDWD gives the pair's share of the four channels' sums. */
#define QATC_PAIRS(taps) (((taps) + 1) / 2)
typedef qatc_v16 qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) / 4 * QATC_PAIRS(taps))
typedef qatc_v16 qatc_col; /* window 0's pairs of taps (x - zp, four times), then window 1's */
#define QATC_COL(taps) (2 * QATC_PAIRS(taps))
#define QATC_GROUP 16 /* channels per col_sums() */
#elif QATC_DOT == QATC_DOT_SMLAL
typedef int8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * (taps))
typedef int32_t qatc_col; /* tap k of both windows, (x0 - zp) + (x1 - zp) * 2^23 */
#define QATC_COL(taps) (taps)
#define QATC_GROUP 4
#elif QATC_DOT == QATC_DOT_PLAIN
typedef int8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * (taps))
typedef int16_t qatc_col; /* x - zp: window 0's taps, then window 1's */
#define QATC_COL(taps) (2 * (taps))
#define QATC_GROUP 4
#else
typedef int8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * (taps))
typedef int8_t qatc_col; /* x: window 0's taps, then window 1's */
#define QATC_COL(taps) (2 * (taps))
#define QATC_GROUP 4 /* the row-walking nests (QATC_RUNS) always do 4 */
#endif

#if QATC_RUNS
static QATC_INLINE void dot_2x4(const int8_t *x, int32_t x_step, const int8_t *w,
                                int32_t w_step, int32_t n, int32_t zp, int32_t acc[2][4])
{
#if QATC_DOT == QATC_DOT_DSP && !defined(__OPTIMIZE_SIZE__)
    /* two channels at a time: 2 pixels x 2 channels of accumulators (4 would not fit in
     * registers with the unpacked lanes). Not at -Os: GCC then spills them to the stack
     * (one pixel at a time, as below, takes 20% fewer instructions there). */
    int32_t zz = lanes(-zp, -zp);
    for (int32_t g = 0; g < 4; g += 2) {
        const int8_t *x0 = x, *x1 = x + x_step, *wa = w + g * w_step, *wb = wa + w_step;
        int32_t a0a = acc[0][g], a0b = acc[0][g + 1], a1a = acc[1][g], a1b = acc[1][g + 1];
        int32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            uint32_t x0v = load4(x0 + i), x1v = load4(x1 + i);
            uint32_t wav = load4(wa + i), wbv = load4(wb + i);
            int32_t x0e = sxtab16(zz, x0v), x1e = sxtab16(zz, x1v), t;
            t = sxtb16(wav);
            a0a = smlad(x0e, t, a0a), a1a = smlad(x1e, t, a1a);
            t = sxtb16(wbv);
            a0b = smlad(x0e, t, a0b), a1b = smlad(x1e, t, a1b);
            int32_t x0o = sxtab16_ror8(zz, x0v), x1o = sxtab16_ror8(zz, x1v);
            t = sxtb16_ror8(wav);
            a0a = smlad(x0o, t, a0a), a1a = smlad(x1o, t, a1a);
            t = sxtb16_ror8(wbv);
            a0b = smlad(x0o, t, a0b), a1b = smlad(x1o, t, a1b);
        }
        for (; i < n; i++) {
            int32_t v0 = x0[i] - zp, v1 = x1[i] - zp;
            a0a += wa[i] * v0, a1a += wa[i] * v1;
            a0b += wb[i] * v0, a1b += wb[i] * v1;
        }
        acc[0][g] = a0a, acc[0][g + 1] = a0b, acc[1][g] = a1a, acc[1][g + 1] = a1b;
    }
#else
    dot_1x4(x, w, w_step, n, zp, acc[0]);
    dot_1x4(x + x_step, w, w_step, n, zp, acc[1]);
#endif
}
#endif

]])

# QATC_GATHER(WHEN): gather() and col_sums(), under #if WHEN (1, or !QATC_RUNS when only
# the copied-windows nests of layers that have both use them).
m4_define([QATC_GATHER], [QATC_CHECK([$0], [1], $@)[
#if $1
/* col <- the windows of output pixels (cy, cx) and, when two, (cy + 1, cx): for tap
 * k = (ky * kernel_w + kx) * in_c + ic, v_p = x[iy][ix][ic] - in_zp of window p, or 0 where
 * the tap falls in the padding (or window 1 does not exist), stored as qatc_col says. */
#if QATC_DOT == QATC_DOT_SSE2
/* (a, b) four times: a pair of taps as PMADDWD reads it */
static QATC_INLINE qatc_v16 pair16(int16_t a, int16_t b)
{
    return (qatc_v16){a, b, a, b, a, b, a, b};
}

/* SSE2: window p's QATC_PAIRS(taps) pairs of taps from col + p * QATC_PAIRS(taps) on (a
 * zero tap after an odd last one). As in conv_sums(), the taps of a kernel row that fall
 * inside the input, lo .. hi - 1, are consecutive bytes of an input row; the others are
 * 0. With in_c even, pairs never straddle two kernel rows, and eight bytes at a time
 * become four pairs (sign-extended, - zp, PSHUFD repeats each 32-bit lane). */
static QATC_INLINE void gather(const conv_shape *s, const int8_t *in, int32_t cy, int32_t cx,
                               int two, qatc_col *col)
{
    int32_t taps = s->kernel_h * s->kernel_w * s->in_c, row = s->kernel_w * s->in_c;
    int32_t ix = cx * s->stride_w - s->pad_w;               /* input column of kx = 0 */
    int32_t kx0 = ix < 0 ? -ix : 0;                         /* taps kx0 .. kx1 - 1 inside */
    int32_t kx1 = ix + s->kernel_w > s->in_w ? s->in_w - ix : s->kernel_w;
    int16_t z = (int16_t)s->in_zp;
    qatc_v16 zp = {z, z, z, z, z, z, z, z};
    for (int32_t p = 0; p < 2; p++) {
        qatc_col *c = col + p * QATC_PAIRS(taps);
        int32_t odd = 0; /* with in_c odd: is the next tap the second of a pair? */
        int16_t v = 0;   /* and then the first one's value */
        for (int32_t ky = 0; ky < s->kernel_h; ky++) {
            int32_t iy = (cy + p) * s->stride_h - s->pad_h + ky;
            int inside = (p == 0 || two) && iy >= 0 && iy < s->in_h && kx0 < kx1;
            int32_t lo = inside ? kx0 * s->in_c : row, hi = inside ? kx1 * s->in_c : row;
            /* tap t of the kernel row, lo <= t < hi, is x[t - lo] */
            const int8_t *x = inside ? in + (iy * s->in_w + ix + kx0) * s->in_c : NULL;
            if (s->in_c % 2 == 0) {
                int32_t t = 0;
                for (; t < lo; t += 2)
                    *c++ = pair16(0, 0);
                for (; t + 8 <= hi; t += 8) {
                    /* lane j of q: the pair (x[t - lo + 2j] - zp, x[t - lo + 2j + 1] - zp) */
                    qatc_v16 v8 = __builtin_convertvector(*(const qatc_v8 *)(x + t - lo),
                                                          qatc_v16);
                    qatc_v32 q = (qatc_v32)(v8 - zp);
                    *c++ = (qatc_v16)__builtin_ia32_pshufd(q, 0x00);
                    *c++ = (qatc_v16)__builtin_ia32_pshufd(q, 0x55);
                    *c++ = (qatc_v16)__builtin_ia32_pshufd(q, 0xaa);
                    *c++ = (qatc_v16)__builtin_ia32_pshufd(q, 0xff);
                }
                for (; t < hi; t += 2)
                    *c++ = pair16((int16_t)(x[t - lo] - z), (int16_t)(x[t - lo + 1] - z));
                for (; t < row; t += 2)
                    *c++ = pair16(0, 0);
            } else {
                for (int32_t t = 0; t < row; t++, odd = !odd) {
                    int16_t u = t >= lo && t < hi ? (int16_t)(x[t - lo] - z) : 0;
                    if (odd)
                        *c++ = pair16(v, u);
                    else
                        v = u;
                }
            }
        }
        if (odd) /* the last tap and a zero */
            *c = pair16(v, 0);
    }
}
#else
static QATC_INLINE void gather(const conv_shape *s, const int8_t *in, int32_t cy, int32_t cx,
                               int two, qatc_col *col)
{
    int32_t taps = s->kernel_h * s->kernel_w * s->in_c, k = 0;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        int32_t iy0 = cy * s->stride_h - s->pad_h + ky, iy1 = iy0 + s->stride_h;
        int in0 = iy0 >= 0 && iy0 < s->in_h, in1 = two && iy1 >= 0 && iy1 < s->in_h;
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            int32_t ix = cx * s->stride_w - s->pad_w + kx;
            int inx = ix >= 0 && ix < s->in_w;
            for (int32_t ic = 0; ic < s->in_c; ic++, k++) {
                int32_t v0 = in0 && inx ? in[(iy0 * s->in_w + ix) * s->in_c + ic] - s->in_zp : 0;
                int32_t v1 = in1 && inx ? in[(iy1 * s->in_w + ix) * s->in_c + ic] - s->in_zp : 0;
#if QATC_DOT == QATC_DOT_SMLAL
                (void)taps;
                col[k] = v0 + v1 * (1 << 23);
#elif QATC_DOT == QATC_DOT_PLAIN
                col[k] = (int16_t)v0, col[taps + k] = (int16_t)v1;
#else
                col[k] = (int8_t)(v0 + s->in_zp), col[taps + k] = (int8_t)(v1 + s->in_zp);
#endif
            }
        }
    }
}
#endif

#if QATC_DOT == QATC_DOT_SMLAL
/* *s0 += S0, *s1 += S1 for t = S0 + S1 * 2^23, |S0| < 2^22: S0 is t's low 23 bits,
 * sign-extended, and S1 = (t - S0) / 2^23. */
static QATC_INLINE void split23(int64_t t, int32_t *s0, int32_t *s1)
{
    int32_t lo = ((int32_t)(t & 0x7fffff) ^ 0x400000) - 0x400000;
    *s0 += lo;
    *s1 += (int32_t)((t - lo) >> 23);
}

#if defined(__OPTIMIZE_SIZE__) && defined(__thumb2__) && defined(__GNUC__)
/* col_sums' loop at -Os (GCC then keeps half of its eight accumulator registers on the
 * stack: 17 instructions per tap), in assembly: 12, as GCC's own at -O2. A naked
 * function, arguments as AAPCS passes them: r0 = v, r1 = end, r2 = wk, r3 = w_step, t on
 * the stack. Over v up to end - 1 (wk advancing with it):
 *   t[g] = sum (int64)*v * wk[g * w_step]  for g = 0..3
 * with t[0..3] in r4:r5 .. r10:r11 (saved and restored), wk + 2 w_step in r12, end on
 * the stack. */
#define QATC_SMLAL_ASM 1
__attribute__((naked, noinline)) static void dot4_smlal(
    const int32_t *v QATC_ARG, const int32_t *end QATC_ARG, const int8_t *wk QATC_ARG,
    int32_t w_step QATC_ARG, int64_t t[4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "add r12, r2, r3, lsl #1\n\t"     /* r12: the weights of channel 2 */
            "push {r1}\n\t"                   /* end at sp; t at sp + 40 */
            "movs r4, #0\n\t"
            "movs r5, #0\n\t"
            "movs r6, #0\n\t"
            "movs r7, #0\n\t"
            "movs r8, #0\n\t"
            "movs r9, #0\n\t"
            "movs r10, #0\n\t"
            "movs r11, #0\n\t"
            "b 2f\n"
            "1:\n\t"
            "ldr r1, [r0], #4\n\t"            /* *v++ */
            "ldrsb lr, [r2, r3]\n\t"
            "smlal r6, r7, r1, lr\n\t"
            "ldrsb lr, [r2], #1\n\t"
            "smlal r4, r5, r1, lr\n\t"
            "ldrsb lr, [r12, r3]\n\t"
            "smlal r10, r11, r1, lr\n\t"
            "ldrsb lr, [r12], #1\n\t"
            "smlal r8, r9, r1, lr\n"
            "2:\n\t"
            "ldr lr, [sp]\n\t"
            "cmp r0, lr\n\t"
            "bcc 1b\n\t"
            "add sp, sp, #4\n\t"
            "ldr lr, [sp, #36]\n\t"
            "strd r4, r5, [lr, #0]\n\t"
            "strd r6, r7, [lr, #8]\n\t"
            "strd r8, r9, [lr, #16]\n\t"
            "strd r10, r11, [lr, #24]\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#endif
#endif

/* acc[p][g] += sum_{k < taps} w_g[k] * v_p[k] over the windows gather() copied, for the
 * QATC_GROUP channels g whose weights start at w (int8 rows: w, w + w_step, ...; SSE2:
 * the pairs layout, QATC_PAIRS(taps) vectors per four channels, w_step unused) */
static QATC_INLINE void col_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                 int32_t w_step, int32_t zp, int two,
                                 int32_t acc[2][QATC_GROUP])
{
#if QATC_DOT == QATC_DOT_SSE2
    /* sixteen channels, four per vector: lane i of s_pg is channel 4g + i's sum over the
     * pairs of taps, one PMADDWD per pair (w_g: channels 4g .. 4g + 3) */
    const qatc_v16 *x0 = col, *x1 = col + QATC_PAIRS(taps);
    const qatc_w *w0 = w, *w1 = w0 + QATC_PAIRS(taps), *w2 = w1 + QATC_PAIRS(taps),
                 *w3 = w2 + QATC_PAIRS(taps);
    qatc_v32 s00 = {0, 0, 0, 0}, s01 = s00, s02 = s00, s03 = s00;
    qatc_v32 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
    (void)w_step, (void)zp, (void)two;
    for (int32_t j = 0; j < QATC_PAIRS(taps); j++) {
        qatc_v16 v0 = x0[j], v1 = x1[j];
        s00 += pmaddwd(w0[j], v0), s10 += pmaddwd(w0[j], v1);
        s01 += pmaddwd(w1[j], v0), s11 += pmaddwd(w1[j], v1);
        s02 += pmaddwd(w2[j], v0), s12 += pmaddwd(w2[j], v1);
        s03 += pmaddwd(w3[j], v0), s13 += pmaddwd(w3[j], v1);
    }
    for (int32_t i = 0; i < 4; i++) {
        acc[0][i] += s00[i], acc[0][4 + i] += s01[i], acc[0][8 + i] += s02[i];
        acc[0][12 + i] += s03[i];
        acc[1][i] += s10[i], acc[1][4 + i] += s11[i], acc[1][8 + i] += s12[i];
        acc[1][12 + i] += s13[i];
    }
#elif QATC_DOT == QATC_DOT_SMLAL
    /* one SMLAL (32 x 32-bit multiply, 64-bit accumulate) per channel and tap serves both
     * windows: T_g = sum V * w_g[k] = S0_g + S1_g * 2^23 with S_p,g = sum v_p * w_g[k].
     * While |S0_g| < 2^22 - at most 128 taps of |v| <= 255 times |w| <= 127 - S0_g is
     * T_g's low 23 bits sign-extended and S1_g = (T_g - S0_g) / 2^23, both exact: longer
     * windows are summed 128 taps at a time. */
    (void)zp, (void)two;
    for (int32_t k0 = 0; k0 < taps; k0 += 128) {
        const int32_t *v = col + k0, *end = col + (taps - k0 > 128 ? k0 + 128 : taps);
        const int8_t *wk = w + k0; /* channel g's weight at wk[g * w_step] */
#if defined(QATC_SMLAL_ASM)
        int64_t t[4]; /* set by dot4_smlal */
        dot4_smlal(v, end, wk, w_step, t);
        int64_t t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3];
#else
        int64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (; v < end; v++, wk++) {
            t0 += (int64_t)*v * wk[0];
            t1 += (int64_t)*v * wk[w_step];
            t2 += (int64_t)*v * wk[2 * w_step];
            t3 += (int64_t)*v * wk[3 * w_step];
        }
#endif
        split23(t0, &acc[0][0], &acc[1][0]);
        split23(t1, &acc[0][1], &acc[1][1]);
        split23(t2, &acc[0][2], &acc[1][2]);
        split23(t3, &acc[0][3], &acc[1][3]);
    }
#elif QATC_DOT == QATC_DOT_PLAIN
    /* 8 sums over the same loads, 16-bit factors, a loop of constant length where the
     * layer's shape is: compilers vectorize it (16 x 16 -> 32-bit multiply-adds) */
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    const int16_t *c0 = col, *c1 = col + taps;
    int32_t a00 = acc[0][0], a01 = acc[0][1], a02 = acc[0][2], a03 = acc[0][3];
    int32_t a10 = acc[1][0], a11 = acc[1][1], a12 = acc[1][2], a13 = acc[1][3];
    (void)zp, (void)two;
    for (int32_t k = 0; k < taps; k++) {
        int16_t v0 = c0[k], v1 = c1[k], k0 = w0[k], k1 = w1[k], k2 = w2[k], k3 = w3[k];
        a00 += k0 * v0, a10 += k0 * v1;
        a01 += k1 * v0, a11 += k1 * v1;
        a02 += k2 * v0, a12 += k2 * v1;
        a03 += k3 * v0, a13 += k3 * v1;
    }
    acc[0][0] = a00, acc[0][1] = a01, acc[0][2] = a02, acc[0][3] = a03;
    acc[1][0] = a10, acc[1][1] = a11, acc[1][2] = a12, acc[1][3] = a13;
#else
    if (two)
        dot_2x4(col, taps, w, w_step, taps, zp, acc);
    else
        dot_1x4(col, w, w_step, taps, zp, acc[0]);
#endif
}
#endif
]])

# QATC_CONV_SUMS: conv_sums(), a conv2d window walked kernel row by kernel row.
m4_define([QATC_CONV_SUMS], [[
#if QATC_RUNS
/* acc[p][g] += sum over the taps of output pixel (cy + p, cx) that fall inside the input
 * of w_g[ky][kx][ic] * (x[iy][ix][ic] - in_zp), for p = 0 and, when two, p = 1 (the next
 * output row), and the four channels g whose weights start at w, w + w_step, ... Taps in
 * the padding are skipped: their x - in_zp is 0. in: (in_h, in_w, in_c) int8 NHWC;
 * w: (kernel_h, kernel_w, in_c) per channel. In each kernel row the taps inside the input
 * are n consecutive bytes of the input row and of the weights. */
static QATC_INLINE void conv_sums(const conv_shape *s, const int8_t *in, const int8_t *w,
                                  int32_t cy, int32_t cx, int two, int32_t acc[2][4])
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
#endif
]])

# _QATC_CONV_DATA(CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED): the constants of a conv2d
# layer; PAIRED the weights in the layout of QATC_DOT_SSE2.
m4_define([_QATC_CONV_DATA], [[    enum { $1 };
    /* the channels col_sums() computes: W_ROWS rounded up to QATC_GROUP */
    enum { G_ROWS = (W_ROWS + QATC_GROUP - 1) / QATC_GROUP * QATC_GROUP };
#if QATC_DOT == QATC_DOT_SSE2
    /* weights for PMADDWD: wp[oc / 4][k / 2] = (w[oc][k], w[oc][k + 1], w[oc + 1][k], ...,
     * w[oc + 3][k + 1]), k = (ky * KERNEL_W + kx) * IN_C + ic the taps of w below (0 past
     * the last tap, to an even number of pairs, and in the rows from OUT_C to W_ROWS) */
    static const qatc_v16 wp[G_ROWS / 4][QATC_PAIRS(W_STEP)] = $6; /* rows past W_ROWS: 0 */
    const qatc_w *weights = &wp[0][0];
#else
    /* weights w[oc][ky][kx][ic]; rows from OUT_C to W_ROWS are 0 (the kernels do four
     * channels at a time) */
    static const int8_t w[W_ROWS][KERNEL_H][KERNEL_W][IN_C] = $2;
    const qatc_w *weights = (const int8_t *)w;
#endif
    static const int32_t bias[OUT_C] = $3;
    static const int32_t mult[OUT_C] = $4;
    static const int8_t shift[OUT_C] = $5;
    static const conv_shape shape = {IN_H,     IN_W,     IN_C,  KERNEL_H, KERNEL_W,
                                     STRIDE_H, STRIDE_W, PAD_H, PAD_W,    IN_ZP};
]])

# _QATC_ACC_START(INDENT): acc[p][g] = the bias of channel oc + g (0 past OUT_C).
m4_define([_QATC_ACC_START], [[$1int32_t acc[2][QATC_GROUP];
$1for (int32_t g = 0; g < QATC_GROUP; g++)
$1    acc[0][g] = acc[1][g] = oc + g < OUT_C ? bias[oc + g] : 0;
]])

# _QATC_STORE_TWO: requantize and store acc of pixels (oy, ox) and (oy + 1, ox), channels oc..
m4_define([_QATC_STORE_TWO], [[                for (int32_t g = 0; g < QATC_GROUP && oc + g < OUT_C; g++) {
                    int32_t c = oc + g;
                    out[(oy * OUT_W + ox) * OUT_C + c] =
                        requantize(acc[0][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                    if (two)
                        out[((oy + 1) * OUT_W + ox) * OUT_C + c] =
                            requantize(acc[1][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                }
]])

# The loop nests. _QATC_RUNS_* walk windows with conv_sums (QATC_RUNS cores),
# _QATC_COPIED_* copy each pixel pair's windows once with gather() and reuse
# them for every channel (col_sums). Pooled nests go over pool windows; the
# conv outputs of a window two at a time (rows dy, dy + 1).

m4_define([_QATC_RUNS_CONV], [[    /* two output rows at a time (they share every weight loaded), four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy += 2) {
        int two = oy + 1 < OUT_H;
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
]_QATC_ACC_START([                ])[                conv_sums(&shape, in, weights + oc * W_STEP, oy, ox, two, acc);
]_QATC_STORE_TWO[            }
        }
    }
]])

m4_define([_QATC_COPIED_CONV], [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two output pixels */

    /* two output rows at a time, their windows copied once for all channels */
    for (int32_t oy = 0; oy < OUT_H; oy += 2) {
        int two = oy + 1 < OUT_H;
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            gather(&shape, in, oy, ox, two, col);
            for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
]_QATC_ACC_START([                ])[                col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP, two,
                         acc);
]_QATC_STORE_TWO[            }
        }
    }
]])

m4_define([_QATC_RUNS_MAXPOOL], [[    /* for each pool window: its conv outputs two rows at a time, four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
                int32_t best[4] = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
                for (int32_t dx = 0; dx < POOL_W; dx++) {
                    for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                        int two = dy + 1 < POOL_H;
]_QATC_ACC_START([                        ])[                        conv_sums(&shape, in, weights + oc * W_STEP, oy * POOL_H + dy,
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
]])

m4_define([_QATC_COPIED_MAXPOOL], [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two conv output pixels */

    /* for each pool window: its conv outputs two rows at a time, their windows copied once
     * for all channels */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            int32_t best[G_ROWS]; /* the largest acc of the window, per channel */
            for (int32_t c = 0; c < G_ROWS; c++)
                best[c] = INT32_MIN;
            for (int32_t dx = 0; dx < POOL_W; dx++) {
                for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                    int two = dy + 1 < POOL_H;
                    gather(&shape, in, oy * POOL_H + dy, ox * POOL_W + dx, two, col);
                    for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
]_QATC_ACC_START([                        ])[                        col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP,
                                 two, acc);
                        for (int32_t g = 0; g < QATC_GROUP; g++) {
                            if (acc[0][g] > best[oc + g])
                                best[oc + g] = acc[0][g];
                            if (two && acc[1][g] > best[oc + g])
                                best[oc + g] = acc[1][g];
                        }
                    }
                }
            }
            /* the max of requantize(acc) over the window is requantize(max acc):
             * requantize never decreases (M > 0) */
            for (int32_t c = 0; c < OUT_C; c++)
                out[(oy * OUT_W + ox) * OUT_C + c] =
                    requantize(best[c], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
        }
    }
]])

m4_define([_QATC_RUNS_AVGPOOL], [[    /* for each pool window: its conv outputs two rows at a time, four channels at a time */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc += 4) {
                int32_t sum[4] = {0, 0, 0, 0}; /* sum of (y - CONV_ZP) over the window */
                for (int32_t dx = 0; dx < POOL_W; dx++) {
                    for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                        int two = dy + 1 < POOL_H;
]_QATC_ACC_START([                        ])[                        conv_sums(&shape, in, weights + oc * W_STEP, oy * POOL_H + dy,
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
]])

m4_define([_QATC_COPIED_AVGPOOL], [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two conv output pixels */

    /* for each pool window: its conv outputs two rows at a time, their windows copied once
     * for all channels */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            int32_t sum[G_ROWS]; /* sum of (y - CONV_ZP) over the window, per channel */
            for (int32_t c = 0; c < G_ROWS; c++)
                sum[c] = 0;
            for (int32_t dx = 0; dx < POOL_W; dx++) {
                for (int32_t dy = 0; dy < POOL_H; dy += 2) {
                    int two = dy + 1 < POOL_H;
                    gather(&shape, in, oy * POOL_H + dy, ox * POOL_W + dx, two, col);
                    for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
]_QATC_ACC_START([                        ])[                        col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP,
                                 two, acc);
                        for (int32_t g = 0; g < QATC_GROUP && oc + g < OUT_C; g++) {
                            int32_t c = oc + g;
                            sum[c] += requantize(acc[0][g], mult[c], shift[c], CONV_ZP, CONV_MIN,
                                                 CONV_MAX) - CONV_ZP;
                            if (two)
                                sum[c] += requantize(acc[1][g], mult[c], shift[c], CONV_ZP,
                                                     CONV_MIN, CONV_MAX) - CONV_ZP;
                        }
                    }
                }
            }
            /* the average in the pool output's scale: sum * s_conv / (s_out * POOL_H *
             * POOL_W), by POOL_MULT and POOL_SHIFT */
            for (int32_t c = 0; c < OUT_C; c++)
                out[(oy * OUT_W + ox) * OUT_C + c] =
                    requantize(sum[c], POOL_MULT, POOL_SHIFT, OUT_ZP, ACT_MIN, ACT_MAX);
        }
    }
]])

# _QATC_CONV_HEAD(MODEL, LAYER, COMMENT): the comment and the opening of a conv2d layer function.
m4_define([_QATC_CONV_HEAD], [[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
]])

# QATC_CONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED): a conv2d
# layer (PAIRED: its weights in the layout of QATC_DOT_SSE2).
m4_define([QATC_CONV2D], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
#if QATC_RUNS
]_QATC_RUNS_CONV[#else
]_QATC_COPIED_CONV[#endif
}
]])

# QATC_CONV2D_COL(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED): a
# conv2d layer with short kernel rows: the copied-windows nest on every core.
m4_define([QATC_CONV2D_COL], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
]_QATC_COPIED_CONV[}
]])

# QATC_CONV2D_MAXPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED): a
# conv2d and the max pool after it (windows POOL_H x POOL_W, stride = window) in one loop nest.
m4_define([QATC_CONV2D_MAXPOOL], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
#if QATC_RUNS
]_QATC_RUNS_MAXPOOL[#else
]_QATC_COPIED_MAXPOOL[#endif
}
]])

# QATC_CONV2D_MAXPOOL_COL(...): the same with short kernel rows (copied windows on every core).
m4_define([QATC_CONV2D_MAXPOOL_COL], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
]_QATC_COPIED_MAXPOOL[}
]])

# QATC_CONV2D_AVGPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED): a
# conv2d and the average pool after it (windows POOL_H x POOL_W, stride = window, or one
# window over everything) in one loop nest.
m4_define([QATC_CONV2D_AVGPOOL], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
#if QATC_RUNS
]_QATC_RUNS_AVGPOOL[#else
]_QATC_COPIED_AVGPOOL[#endif
}
]])

# QATC_CONV2D_AVGPOOL_COL(...): the same with short kernel rows (copied windows on every core).
m4_define([QATC_CONV2D_AVGPOOL_COL], [QATC_CHECK([$0], [9], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9])[
]_QATC_COPIED_AVGPOOL[}
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
