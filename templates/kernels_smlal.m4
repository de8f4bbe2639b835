m4_divert(-1)
# kernels_smlal.m4 — version SMLAL of the inner loops (kernels.m4 lists what a version
# defines): 32-bit Arm cores without the DSP extension and not Thumb-1 (Cortex-M3). A
# copied window holds both output pixels in one int32 per tap, so that one SMLAL does both;
# conv2d weights in the quads layout of version DSP (gen/cgen.c quad_weights).

# _QATC_SMLAL_ABOUT: what the version is for.
m4_define([_QATC_SMLAL_ABOUT], [[other 32-bit Arm cores (Cortex-M3): two output pixels share one 32-bit
 *                    multiplier (SMLAL, a 64-bit accumulate, does both); 2 pixels x 4
 *                    channels per call of the conv2d loop, in assembly on Thumb-2.]])

# _QATC_SMLAL_PRELUDE: QATC_INLINE, QATC_ARG.
m4_define([_QATC_SMLAL_PRELUDE], [_QATC_INLINE_ALWAYS[]_QATC_NAKED_ARG])

# _QATC_SMLAL_DOT: dot_1x4 in plain C (for conv2d windows walked row by row; unused).
m4_define([_QATC_SMLAL_DOT], [_QATC_DOT_1X4_C([[]])])

# _QATC_SMLAL_CONV: weights in the quads layout; a window pair as one int32 per tap.
m4_define([_QATC_SMLAL_CONV], [[
/* Cortex-M3 and other 32-bit Arm cores without DSP: two pixels in one multiplier.
 * col: two words k0, k1 (the taps to sum, from k0 to k1 - 1, as in version DSP), then
 * per tap k, V = (x0[k] - zp) + (x1[k] - zp) * 2^23 (each 0 in the padding, x1's when !two;
 * taps rounded up to four with zeros). One SMLAL (32 x 32-bit multiply, 64-bit
 * accumulate) per channel and tap serves both pixels: T_g = sum_k V * w_g[k] = S0_g + S1_g *
 * 2^23 with S_pg = sum_k (x_p[k] - zp) w_g[k]. While |S0_g| < 2^22 - at most 128 taps of
 * |x - zp| <= 255 times |w| <= 127 - T_g + 2^22 = (S0_g + 2^22) + S1_g 2^23 with S0_g + 2^22
 * from 0 to 2^23 - 1: its low 23 bits are S0_g + 2^22 and the rest is S1_g, both exact: windows
 * are summed 128 taps at a time. Weights in the quads layout of version DSP (any fixed
 * order of a channel's taps would do). Per tap: one load of V, four of a weight, four
 * SMLAL for eight multiply-accumulates. */
]_QATC_QUADS_W[typedef int32_t qatc_col;
#define QATC_COL(taps) (2 + QATC_TAPS4(taps))
#define QATC_GROUP 4
]])

# _QATC_SMLAL_GATHER: pairs_of(), gather() into V = v0 + v1 * 2^23, split23(), dot4x2_smlal
# and col_sums().
m4_define([_QATC_SMLAL_GATHER], [[
/* c[i] = (x0[i] - zp) + (x1[i] - zp) * 2^23 for i < 4n (n > 0), k = zp * (1 + 2^23) */
static QATC_INLINE void pairs_of(qatc_col *c, const int8_t *x0, const int8_t *x1, int32_t n,
                                 int32_t k)
{
#if defined(__thumb2__) && defined(__GNUC__)
    /* the loop in assembly, a word of each pixel at a time: 6 instructions a tap at every
     * optimization level (GCC's -Os code takes 9) */
    uint32_t a, b, t, u;
    __asm__ volatile("1:\n\t"
                     "ldr %[a], [%[x0]], #4\n\t"
                     "ldr %[b], [%[x1]], #4\n\t"
                     "sxtb %[t], %[a]\n\t"
                     "sxtb %[u], %[b]\n\t"
                     "add %[t], %[t], %[u], lsl #23\n\t"
                     "sub %[t], %[t], %[k]\n\t"
                     "str %[t], [%[c]], #4\n\t"
                     "sxtb %[t], %[a], ror #8\n\t"
                     "sxtb %[u], %[b], ror #8\n\t"
                     "add %[t], %[t], %[u], lsl #23\n\t"
                     "sub %[t], %[t], %[k]\n\t"
                     "str %[t], [%[c]], #4\n\t"
                     "sxtb %[t], %[a], ror #16\n\t"
                     "sxtb %[u], %[b], ror #16\n\t"
                     "add %[t], %[t], %[u], lsl #23\n\t"
                     "sub %[t], %[t], %[k]\n\t"
                     "str %[t], [%[c]], #4\n\t"
                     "asr %[t], %[a], #24\n\t"
                     "asr %[u], %[b], #24\n\t"
                     "add %[t], %[t], %[u], lsl #23\n\t"
                     "sub %[t], %[t], %[k]\n\t"
                     "str %[t], [%[c]], #4\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b"
                     : [a] "=&r"(a), [b] "=&r"(b), [t] "=&r"(t), [u] "=&r"(u), [x0] "+r"(x0),
                       [x1] "+r"(x1), [c] "+r"(c), [n] "+r"(n)
                     : [k] "r"(k)
                     : "cc", "memory");
#else
    for (int32_t i = 0; i < 4 * n; i++)
        c[i] = x0[i] + x1[i] * (1 << 23) - k;
#endif
}

/* x[t - lo] - zp for lo <= t < hi, else 0 (a tap of row_taps(), 0 in the padding) */
static QATC_SHAPED int32_t tap(const int8_t *x, int32_t lo, int32_t hi, int32_t t, int32_t zp)
{
    return t >= lo && t < hi ? x[t - lo] - zp : 0;
}

static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0, int32_t cx0,
                               int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t row = s->kernel_w * s->in_c, taps = s->kernel_h * row, zp = s->in_zp;
    int32_t ky0 = s->kernel_h, ky1 = 0; /* the kernel rows inside the input for either pixel */
    int rows4 = QATC_ROWS4(s->kernel_h, row);
    int32_t step = rows4 ? QATC_TAPS4(row) : row; /* kernel rows apart in col */
    qatc_col *c = col + 2;
    for (int32_t ky = 0; ky < s->kernel_h; ky++, c += step) {
        int32_t lo0, hi0, lo1 = 0, hi1 = 0, t = 0;
        const int8_t *x0 = row_taps(s, in, cy0, cx0, ky, &lo0, &hi0);
        const int8_t *x1 = two ? row_taps(s, in, cy1, cx1, ky, &lo1, &hi1) : NULL;
        if (lo0 < hi0 || lo1 < hi1)
            ky0 = ky < ky0 ? ky : ky0, ky1 = ky + 1;
        /* both pixels' taps inside from lo to hi - 1 (often the whole row) */
        int32_t lo = lo0 > lo1 ? lo0 : lo1, hi = hi0 < hi1 ? hi0 : hi1;
        if (lo >= hi)
            lo = hi = row;
        for (; t < lo; t++)
            c[t] = tap(x0, lo0, hi0, t, zp) + tap(x1, lo1, hi1, t, zp) * (1 << 23);
        if (hi - lo >= 4) {
            pairs_of(c + t, x0 + t - lo0, x1 + t - lo1, (hi - lo) / 4, zp * (1 + (1 << 23)));
            t += (hi - lo) / 4 * 4;
        }
        for (; t < hi; t++)
            c[t] = (x0[t - lo0] - zp) + (x1[t - lo1] - zp) * (1 << 23);
        for (; t < row; t++)
            c[t] = tap(x0, lo0, hi0, t, zp) + tap(x1, lo1, hi1, t, zp) * (1 << 23);
        for (; t < step; t++)
            c[t] = 0;
    }
    for (int32_t k = s->kernel_h * step; k < QATC_TAPS4(taps); k++)
        col[2 + k] = 0;
    if (rows4 && ky0 < ky1) /* rows of whole quads: the padded ones left out */
        col[0] = ky0 * step, col[1] = ky1 * step;
    else
        col[0] = 0, col[1] = QATC_TAPS4(taps);
}

/* *s0 += S0, *s1 += S1 for t = S0 + S1 * 2^23, |S0| < 2^22: S0 is t's low 23 bits,
 * sign-extended, and S1 = (t - S0) / 2^23. */
static QATC_INLINE void split23(int64_t t, int32_t *s0, int32_t *s1)
{
    int32_t lo = ((int32_t)(t & 0x7fffff) ^ 0x400000) - 0x400000;
    *s0 += lo;
    *s1 += (int32_t)((t - lo) >> 23);
}

#if defined(__thumb2__) && defined(__GNUC__)
/* col_sums in assembly, a naked function (the same code at every optimization level; GCC's
 * code for the loop keeps half of its accumulators on the stack at -Os): r0 = col, r1 = its
 * end, r2 = the group's weights, r3 = start, then acc on the stack (set to start, then the
 * sums of each 128 taps added). T_g + 2^22 in r4:r5,
 * r6:r7, r8:r9, r10:r11; V in r1, a weight in r3, the end of the 128 taps in r12, of col in
 * lr. One tap, V at r0 + V, the four channels' weights at r2 + W0 .. W3 (quads): */
#define QATC_SMLAL_TAP(V, W0, W1, W2, W3)                                                 \
    "ldr r1, [r0, #" #V "]\n\t"                                                           \
    "ldrsb r3, [r2, #" #W0 "]\n\tsmlal r4, r5, r1, r3\n\t"                                \
    "ldrsb r3, [r2, #" #W1 "]\n\tsmlal r6, r7, r1, r3\n\t"                                \
    "ldrsb r3, [r2, #" #W2 "]\n\tsmlal r8, r9, r1, r3\n\t"                                \
    "ldrsb r3, [r2, #" #W3 "]\n\tsmlal r10, r11, r1, r3\n\t"
/* acc[0][G / 4] += S0, acc[1][G / 4] += S1 of the accumulator pair LO:HI (T + 2^22) */
#define QATC_SMLAL_SPLIT(LO, HI, G)                                                       \
    "ubfx r1, " #LO ", #0, #23\n\t"                                                       \
    "sub r1, r1, #0x400000\n\t"                    /* S0 */                               \
    "lsrs r3, " #LO ", #23\n\t"                                                           \
    "orr r3, r3, " #HI ", lsl #9\n\t"              /* S1 */                               \
    "ldr " #LO ", [r12, #" #G "]\n\t"                                                     \
    "add " #LO ", " #LO ", r1\n\t"                                                        \
    "str " #LO ", [r12, #" #G "]\n\t"                                                     \
    "ldr " #LO ", [r12, #16+" #G "]\n\t"                                                  \
    "add " #LO ", " #LO ", r3\n\t"                                                        \
    "str " #LO ", [r12, #16+" #G "]\n\t"
/* four taps take 38 instructions (taps 1, 2, 3, then 0, whose loads step the pointers) */
__attribute__((naked, noinline)) static void dot4x2_smlal(
    const int32_t *col QATC_ARG, const int32_t *end QATC_ARG, const int8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, int32_t acc[2][4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldm r3, {r4, r5, r6, r7}\n\t"
            "ldr r3, [sp, #36]\n\t"             /* acc */
            "stm r3, {r4, r5, r6, r7}\n\t"
            "add r3, r3, #16\n\t"
            "stm r3, {r4, r5, r6, r7}\n\t"
            "mov lr, r1\n"
            "1:\n\t"
            "add r12, r0, #512\n\t"              /* 128 taps, or what is left */
            "cmp r12, lr\n\t"
            "it hi\n\t"
            "movhi r12, lr\n\t"
            "mov r4, #0x400000\n\t"
            "movs r5, #0\n\t"
            "mov r6, #0x400000\n\t"
            "movs r7, #0\n\t"
            "mov r8, #0x400000\n\t"
            "mov r9, #0\n\t"
            "mov r10, #0x400000\n\t"
            "mov r11, #0\n"
            "2:\n\t"
            QATC_SMLAL_TAP(4, 8, 9, 12, 13)
            QATC_SMLAL_TAP(8, 2, 3, 6, 7)
            QATC_SMLAL_TAP(12, 10, 11, 14, 15)
            "ldr r1, [r0], #16\n\t"
            "ldrsb r3, [r2, #1]\n\tsmlal r6, r7, r1, r3\n\t"
            "ldrsb r3, [r2, #4]\n\tsmlal r8, r9, r1, r3\n\t"
            "ldrsb r3, [r2, #5]\n\tsmlal r10, r11, r1, r3\n\t"
            "ldrsb r3, [r2], #16\n\tsmlal r4, r5, r1, r3\n\t"
            "cmp r0, r12\n\t"
            "bne 2b\n\t"
            "ldr r12, [sp, #36]\n\t"
            QATC_SMLAL_SPLIT(r4, r5, 0)
            QATC_SMLAL_SPLIT(r6, r7, 4)
            QATC_SMLAL_SPLIT(r8, r9, 8)
            QATC_SMLAL_SPLIT(r10, r11, 12)
            "cmp r0, lr\n\t"
            "bne 1b\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define QATC_SMLAL_KERNEL_ASM 1
#endif

static QATC_INLINE void col_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                 int32_t w_step, int32_t zp, int two, const int32_t *start,
                                 int32_t acc[2][QATC_GROUP])
{
    int32_t k0 = col[0], k1 = col[1];
    (void)taps, (void)w_step, (void)zp, (void)two;
#if defined(QATC_SMLAL_KERNEL_ASM)
    dot4x2_smlal(col + 2 + k0, col + 2 + k1, w + 4 * k0, start, acc);
#else
    for (int32_t g = 0; g < 4; g++)
        acc[0][g] = acc[1][g] = start[g];
    for (int32_t c0 = k0; c0 < k1; c0 += 128) {
        int32_t c1 = k1 - c0 > 128 ? c0 + 128 : k1;
        int64_t t[4] = {0, 0, 0, 0};
        for (int32_t k = c0; k < c1; k++) /* channel g's tap k in the quads layout */
            for (int32_t g = 0; g < 4; g++)
                t[g] += (int64_t)col[2 + k] *
                        w[16 * (k / 4) + 8 * (k % 2) + 4 * (g / 2) + g % 2 + 2 * (k % 4 / 2)];
        for (int32_t g = 0; g < 4; g++)
            split23(t[g], &acc[0][g], &acc[1][g]);
    }
#endif
}
]])

# _QATC_SMLAL_SUMS4: col_sums4() over V = v0 + v1 * 2^23, 4-bit weights in the quads layout
# (gen/cgen.c quad4_weights).
m4_define([_QATC_SMLAL_SUMS4], [_QATC_PREP4_NONE[
/* Channel g's weight of tap k of a group's 4-bit quads: byte 8 (k / 4) + 4 (k % 2) +
 * 2 (k % 4 / 2) + g % 2, its high nibble for g = 0, 1 and its low one for g = 2, 3. */
static QATC_INLINE int32_t quad4_weight(const uint8_t *w, int32_t k, int32_t g)
{
    int32_t b = w[8 * (k / 4) + 4 * (k % 2) + 2 * (k % 4 / 2) + g % 2];
    return (((g < 2 ? b >> 4 : b) & 15) ^ 8) - 8;
}

#if defined(__thumb2__) && defined(__GNUC__)
/* col_sums4 in assembly, as dot4x2_smlal: SBFX takes each 4-bit weight out of a word of
 * eight (two taps of the four channels) in one instruction. The end of the 128 taps on the
 * stack (r12 holds the weights' word). One tap, V at r0 + V, the four channels' weights
 * at bits A, B, C, D of r12: */
#define QATC_SMLAL_TAP4(V, A, B, C, D)                                                    \
    "ldr r1, [r0, #" #V "]\n\t"                                                           \
    "sbfx r3, r12, #" #A ", #4\n\tsmlal r4, r5, r1, r3\n\t"                               \
    "sbfx r3, r12, #" #B ", #4\n\tsmlal r6, r7, r1, r3\n\t"                               \
    "sbfx r3, r12, #" #C ", #4\n\tsmlal r8, r9, r1, r3\n\t"                               \
    "sbfx r3, r12, #" #D ", #4\n\tsmlal r10, r11, r1, r3\n\t"
/* four taps take 41 instructions (taps 1 and 3 from the second word, 2 and 0 from the
 * first, whose loads step the pointers) */
__attribute__((naked, noinline)) static void dot4x2_smlal4(
    const int32_t *col QATC_ARG, const int32_t *end QATC_ARG, const uint8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, int32_t acc[2][4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "sub sp, sp, #8\n\t"                 /* the end of the 128 taps at sp */
            "ldm r3, {r4, r5, r6, r7}\n\t"
            "ldr r3, [sp, #44]\n\t"              /* acc */
            "stm r3, {r4, r5, r6, r7}\n\t"
            "add r3, r3, #16\n\t"
            "stm r3, {r4, r5, r6, r7}\n\t"
            "mov lr, r1\n"
            "1:\n\t"
            "add r12, r0, #512\n\t"              /* 128 taps, or what is left */
            "cmp r12, lr\n\t"
            "it hi\n\t"
            "movhi r12, lr\n\t"
            "str r12, [sp]\n\t"
            "mov r4, #0x400000\n\t"
            "movs r5, #0\n\t"
            "mov r6, #0x400000\n\t"
            "movs r7, #0\n\t"
            "mov r8, #0x400000\n\t"
            "mov r9, #0\n\t"
            "mov r10, #0x400000\n\t"
            "mov r11, #0\n"
            "2:\n\t"
            "ldr r12, [r2, #4]\n\t"              /* taps k + 1, k + 3 */
            QATC_SMLAL_TAP4(4, 4, 12, 0, 8)
            QATC_SMLAL_TAP4(12, 20, 28, 16, 24)
            "ldr r12, [r2], #8\n\t"              /* taps k, k + 2 */
            QATC_SMLAL_TAP4(8, 20, 28, 16, 24)
            "ldr r1, [r0], #16\n\t"
            "sbfx r3, r12, #4, #4\n\tsmlal r4, r5, r1, r3\n\t"
            "sbfx r3, r12, #12, #4\n\tsmlal r6, r7, r1, r3\n\t"
            "sbfx r3, r12, #0, #4\n\tsmlal r8, r9, r1, r3\n\t"
            "sbfx r3, r12, #8, #4\n\tsmlal r10, r11, r1, r3\n\t"
            "ldr r3, [sp]\n\t"
            "cmp r0, r3\n\t"
            "bne 2b\n\t"
            "ldr r12, [sp, #44]\n\t"
            QATC_SMLAL_SPLIT(r4, r5, 0)
            QATC_SMLAL_SPLIT(r6, r7, 4)
            QATC_SMLAL_SPLIT(r8, r9, 8)
            QATC_SMLAL_SPLIT(r10, r11, 12)
            "cmp r0, lr\n\t"
            "bne 1b\n\t"
            "add sp, sp, #8\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define QATC_SMLAL_KERNEL4_ASM 1
#endif

static QATC_INLINE void col_sums4(const qatc_col *col, int32_t taps, const uint8_t *w,
                                  int32_t oc, int32_t zp, int two, const int32_t *start,
                                  int32_t acc[2][QATC_GROUP])
{
    int32_t k0 = col[0], k1 = col[1];
    (void)zp, (void)two;
    w += oc * QATC_TAPS4(taps) / 2; /* 8 bytes per four taps and four channels */
#if defined(QATC_SMLAL_KERNEL4_ASM)
    dot4x2_smlal4(col + 2 + k0, col + 2 + k1, w + 2 * k0, start, acc);
#else
    for (int32_t g = 0; g < 4; g++)
        acc[0][g] = acc[1][g] = start[g];
    for (int32_t c0 = k0; c0 < k1; c0 += 128) {
        int32_t c1 = k1 - c0 > 128 ? c0 + 128 : k1;
        int64_t t[4] = {0, 0, 0, 0};
        for (int32_t k = c0; k < c1; k++)
            for (int32_t g = 0; g < 4; g++)
                t[g] += (int64_t)col[2 + k] * quad4_weight(w, k, g);
        for (int32_t g = 0; g < 4; g++)
            split23(t[g], &acc[0][g], &acc[1][g]);
    }
#endif
}
]])

# _QATC_SMLAL_LINE: line_sums(), a linear layer's: its int8 input read in place, eight
# channels a call (dot8x1_smlal).
m4_define([_QATC_SMLAL_LINE], [[
/* A linear layer's sums: the input read in place (one pixel: 32-bit MLA suffices, no
 * split; no - zp: the generator folded -zp * sum w into the layer's bias, start), eight
 * channels a call (two groups of the quads layout, the second from w4 = w + 4 *
 * QATC_TAPS4(taps)), so that each load of x serves eight multiply-accumulates:
 *   acc[0][g] = start[g] + sum_k w_g[k] x[k],  g = 0..7
 * Per tap one LDRSB of x, eight LDRSB of a weight, eight MLA; the taps past the last
 * whole four in C. */
#define QATC_LINE_COPIES 0 /* the input is read in place */
#define QATC_LINE_GROUP 8
#if defined(__thumb2__) && defined(__GNUC__)
/* The loop in assembly, a naked function: r0 = x, r1 = its end (whole fours), r2 = the
 * weights of channels 0..3, r3 = start, then on the stack w4 (channels 4..7) and acc.
 * acc[0..7] in r4..r11, x in r3, a weight in r12, w in r1 and w4 in r2 (both stepped 16
 * bytes a quad), the end in lr. Tap J (0..3) of a quad, x at r0 + J, channel g's weight
 * at 8 (J % 2) + 2 (J / 2) + 4 (g / 2 % 2) + g % 2 (g < 4 from r1, else from r2): */
#define QATC_SMLAL_TAP1(J, K)                                                             \
    "ldrsb r3, [r0, #" #J "]\n\t"                                                         \
    "ldrsb r12, [r1, #" #K "]\n\tmla r4, r3, r12, r4\n\t"                                \
    "ldrsb r12, [r1, #" #K "+1]\n\tmla r5, r3, r12, r5\n\t"                              \
    "ldrsb r12, [r1, #" #K "+4]\n\tmla r6, r3, r12, r6\n\t"                              \
    "ldrsb r12, [r1, #" #K "+5]\n\tmla r7, r3, r12, r7\n\t"                              \
    "ldrsb r12, [r2, #" #K "]\n\tmla r8, r3, r12, r8\n\t"                                \
    "ldrsb r12, [r2, #" #K "+1]\n\tmla r9, r3, r12, r9\n\t"                              \
    "ldrsb r12, [r2, #" #K "+4]\n\tmla r10, r3, r12, r10\n\t"                            \
    "ldrsb r12, [r2, #" #K "+5]\n\tmla r11, r3, r12, r11\n\t"
/* four taps take 70 instructions for 32 MACs (taps 1, 2, 3, then 0, whose loads step the
 * pointers) */
__attribute__((naked, noinline)) static void dot8x1_smlal(
    const int8_t *x QATC_ARG, const int8_t *end QATC_ARG, const int8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, const int8_t *w4 QATC_ARG, int32_t acc[8] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" /* w4, acc at sp + 36, 40 */
            "ldm r3, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
            "mov lr, r1\n\t"
            "mov r1, r2\n\t"
            "ldr r2, [sp, #36]\n"
            "1:\n\t"
            QATC_SMLAL_TAP1(1, 8)
            QATC_SMLAL_TAP1(2, 2)
            QATC_SMLAL_TAP1(3, 10)
            "ldrsb r3, [r0], #4\n\t"
            "ldrsb r12, [r1, #1]\n\tmla r5, r3, r12, r5\n\t"
            "ldrsb r12, [r1, #4]\n\tmla r6, r3, r12, r6\n\t"
            "ldrsb r12, [r1, #5]\n\tmla r7, r3, r12, r7\n\t"
            "ldrsb r12, [r1], #16\n\tmla r4, r3, r12, r4\n\t"
            "ldrsb r12, [r2, #1]\n\tmla r9, r3, r12, r9\n\t"
            "ldrsb r12, [r2, #4]\n\tmla r10, r3, r12, r10\n\t"
            "ldrsb r12, [r2, #5]\n\tmla r11, r3, r12, r11\n\t"
            "ldrsb r12, [r2], #16\n\tmla r8, r3, r12, r8\n\t"
            "cmp r0, lr\n\t"
            "bne 1b\n\t"
            "ldr r12, [sp, #40]\n\t"
            "stm r12, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define QATC_SMLAL_LINE_ASM 1
#endif

static QATC_INLINE void line_sums(const int8_t *x, int32_t n, const qatc_w *w, int32_t zp,
                                  const int32_t *start, int32_t acc[2][QATC_LINE_GROUP])
{
    const qatc_w *w4 = QATC_W_AT(w, 4, n);
    int32_t k = 0;
    (void)zp;
#if defined(QATC_SMLAL_LINE_ASM)
    k = n / 4 * 4;
    if (k > 0)
        dot8x1_smlal(x, x + k, w, start, w4, acc[0]);
    else
#endif
        for (int32_t g = 0; g < 8; g++)
            acc[0][g] = start[g];
    for (; k < n; k++) /* channel g's tap k in the quads layout */
        for (int32_t g = 0; g < 8; g++)
            acc[0][g] += x[k] * (g < 4 ? w : w4)[16 * (k / 4) + 8 * (k % 2) + 4 * (g % 4 / 2) +
                                               g % 2 + 2 * (k % 4 / 2)];
}
]])
