m4_divert(-1)
# kernels_dsp.m4 — version DSP of the inner loops (kernels.m4 lists what a version defines):
# Arm cores with the DSP extension (Cortex-M4, M7, M33, M55). 2 pixels x 4 channels per
# call of its conv2d kernel, SMLAD on weights the generator pre-arranges (the quads layout,
# gen/cgen.c quad_weights). Its loops are naked assembly functions on these cores (the same
# code at every optimization level); in a file with every version it also carries a C
# emulation of its instructions, so that the tests run it on any host.

# _QATC_DSP_ABOUT: what the version is for.
m4_define([_QATC_DSP_ABOUT], [[Arm cores with the DSP extension (Cortex-M4, M7, M33, M55): SMLAD adds
 *                    two 16-bit products per instruction; 2 pixels x 4 channels per call,
 *                    input lanes made by SXTAB16 (which also subtracts zp), weights split by
 *                    SXTB16, the loop in assembly.]])

# _QATC_DSP_PRELUDE: QATC_INLINE, QATC_ARG, QATC_DSP_ASM (-Os: dot_1x4's loop in assembly),
# the DSP instructions (or their C emulation) and load4().
m4_define([_QATC_DSP_PRELUDE], [_QATC_INLINE_ALWAYS[]_QATC_NAKED_ARG[#if defined(__OPTIMIZE_SIZE__) && defined(__thumb2__)
#define QATC_DSP_ASM 1 /* at -Os dot_1x4's loop is assembly (dot4_dsp) */
#endif

/* The DSP instructions, on 32-bit words holding two 16-bit lanes (lo = bits 0..15). */
static QATC_INLINE int32_t lanes(int32_t lo, int32_t hi) /* lo, hi wrapped to 16 bits */
{
    return (int32_t)((uint32_t)(uint16_t)hi << 16 | (uint16_t)lo);
}
#if defined(__ARM_FEATURE_DSP)
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
]_QATC_IF_ALL([[#else /* the same in C, so that this version runs (and is tested) on any host */
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
]])[#endif

/* Four bytes from p, little-endian: p[0] in bits 0..7 (GCC makes this one load). */
static QATC_INLINE uint32_t load4(const int8_t *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
]])

# _QATC_DSP_DOT: dot4_dsp (-Os) and dot_1x4, for linear layers.
m4_define([_QATC_DSP_DOT], [[
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
]_QATC_DOT_1X4_C([[    /* four bytes at a time: lanes (x[i] - zp, x[i+2] - zp) times (w[i], w[i+2]), plus
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
]])])

# _QATC_DSP_CONV: weights in the quads layout, windows as 16-bit lanes (and the taps to sum).
m4_define([_QATC_DSP_CONV], [[
/* Cortex-M4 and the other cores with the DSP extension: two pixels x four channels, SMLAD.
 * col: two words k0, k1 (the taps to sum, from k0 to k1 - 1: kernel rows in the padding
 * for both pixels are left out when rows are whole quads), then the windows as 16-bit
 * lanes v = x - zp (0 in the padding and past the last tap; kernel rows padded as
 * QATC_ROWS4 says), per four taps k = 4j .. 4j + 3 four words E0, E1, O0, O1:
 * E_p = lanes(v_p[k], v_p[k+2]), O_p = lanes(v_p[k+1], v_p[k+3]) of pixel p, so that
 * SXTAB16 makes them from four input bytes at once (and subtracts zp). Weights ("quads"
 * layout), per four channels a, b, c, d and four taps: the bytes (a[k], b[k], a[k+2],
 * b[k+2]), (c[k], d[k], c[k+2], d[k+2]), then the same for k + 1 and k + 3; SXTB16 splits
 * each word into the lanes (a[k], a[k+2]) and (b[k], b[k+2]), which SMLAD multiplies with
 * E0 and E1 (two multiply-accumulates each). Per four taps, eight lane words of input
 * unpacked once for all channels, four weight words unpacked once for both pixels: 30
 * instructions for 32 multiply-accumulates. */
]_QATC_QUADS_W[typedef int16_t qatc_col;
#define QATC_COL(taps) (4 + 2 * QATC_TAPS4(taps))
#define QATC_GROUP 4
typedef int32_t qatc_word __attribute__((may_alias)); /* two lanes of col at once */
]])

# _QATC_DSP_GATHER: rows_inside(), lanes_of(), gather(), dot4x2_dsp and col_sums().
m4_define([_QATC_DSP_GATHER], [[
/* The kernel rows of output pixel (cy, cx) with taps inside the input: from *ky0 to *ky1 - 1
 * (*ky0 = *ky1 = 0: none). */
static QATC_SHAPED void rows_inside(const conv_shape *s, int32_t cy, int32_t cx, int32_t *ky0,
                                    int32_t *ky1)
{
    int32_t iy = cy * s->stride_h - s->pad_h, ix = cx * s->stride_w - s->pad_w;
    int32_t a = iy < 0 ? -iy : 0, b = iy + s->kernel_h > s->in_h ? s->in_h - iy : s->kernel_h;
    if (a >= b || ix >= s->in_w || ix + s->kernel_w <= 0)
        a = b = 0;
    *ky0 = a, *ky1 = b;
}

/* c[4i] = lanes(x[4i] - zp, x[4i+2] - zp), c[4i+2] = lanes(x[4i+1] - zp, x[4i+3] - zp) for
 * i < n (n > 0), zz = lanes(-zp, -zp): n words of input as a pixel's E and O words */
static QATC_INLINE void lanes_of(qatc_word *c, const int8_t *x, int32_t n, int32_t zz)
{
#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
    /* the loop in assembly: 7 instructions a word at every optimization level (GCC's -Os
     * code for it takes twice that) */
    uint32_t u, e;
    __asm__ volatile("1:\n\t"
                     "ldr %[u], [%[x]], #4\n\t"
                     "sxtab16 %[e], %[zz], %[u]\n\t"
                     "sxtab16 %[u], %[zz], %[u], ror #8\n\t"
                     "str %[u], [%[c], #8]\n\t"
                     "str %[e], [%[c]], #16\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b"
                     : [u] "=&r"(u), [e] "=&r"(e), [x] "+r"(x), [c] "+r"(c), [n] "+r"(n)
                     : [zz] "r"(zz)
                     : "cc", "memory");
#else
    for (; n > 0; n--, c += 4, x += 4) {
        uint32_t u = load4(x);
        c[0] = sxtab16(zz, u), c[2] = sxtab16_ror8(zz, u);
    }
#endif
}

static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0, int32_t cx0,
                               int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t row = s->kernel_w * s->in_c, taps = s->kernel_h * row;
    int32_t zz = lanes(-s->in_zp, -s->in_zp);
    int32_t row4 = QATC_TAPS4(row), size = s->in_h * s->in_w * s->in_c;
    int rows4 = QATC_ROWS4(s->kernel_h, row); /* always when row is a multiple of four */
    qatc_word *range = (qatc_word *)col;
    qatc_col *v = col + 4;
    for (int32_t p = 0; p < 2; p++) {
        int32_t cy = p ? cy1 : cy0, cx = p ? cx1 : cx0;
        if (p == 1 && !two) { /* no second pixel: its lanes are 0 */
            for (int32_t h = 2; h < 2 * QATC_TAPS4(taps); h += 4)
                v[h] = v[h + 1] = 0;
        } else if (rows4) {
            /* four taps from one 32-bit load, the words E_p and O_p by SXTAB16; tap by tap
             * where the taps inside the input are not whole words (a word may go past the
             * row's last tap, whose weights are 0 from there, but not past the input) */
            qatc_word *c = (qatc_word *)v + p;
            for (int32_t ky = 0; ky < s->kernel_h; ky++) {
                int32_t lo, hi, t = 0;
                const int8_t *x = row_taps(s, in, cy, cx, ky, &lo, &hi);
                if (lo < hi && (lo % 4 != 0 || (hi % 4 != 0 && (hi < row ||
                                (x - in) + (QATC_TAPS4(hi) - lo) > size)))) {
                    for (; t < row4; t += 4, c += 4) {
                        int32_t q[4];
                        for (int32_t r = 0; r < 4; r++)
                            q[r] = t + r >= lo && t + r < hi ? x[t + r - lo] - s->in_zp : 0;
                        c[0] = lanes(q[0], q[2]), c[2] = lanes(q[1], q[3]);
                    }
                    continue;
                }
                for (; t < lo; t += 4, c += 4)
                    c[0] = c[2] = 0;
                if (lo < hi) { /* with row4 > row: taps past row have weight 0 */
                    lanes_of(c, x, (QATC_TAPS4(hi) - lo) / 4, zz);
                    c += QATC_TAPS4(hi) - lo, t = QATC_TAPS4(hi);
                }
                for (; t < row4; t += 4, c += 4)
                    c[0] = c[2] = 0;
            }
        } else {
            /* tap by tap, four at a time: t of kernel row ky (0 past the last row) */
            int32_t ky = 0, t = 0, lo, hi;
            const int8_t *x = row_taps(s, in, cy, cx, 0, &lo, &hi);
            qatc_word *c = (qatc_word *)v + p;
            for (int32_t k = 0; k < taps; k += 4, c += 4) {
                int32_t q[4];
                for (int32_t r = 0; r < 4; r++) {
                    q[r] = ky < s->kernel_h && t >= lo && t < hi ? x[t - lo] - s->in_zp : 0;
                    if (++t == row) {
                        t = 0, ky++;
                        if (ky < s->kernel_h)
                            x = row_taps(s, in, cy, cx, ky, &lo, &hi);
                    }
                }
                c[0] = lanes(q[0], q[2]), c[2] = lanes(q[1], q[3]);
            }
        }
    }
    if (rows4) { /* rows of whole quads: those in the padding for both pixels left out */
        int32_t a0, b0, a1, b1;
        rows_inside(s, cy0, cx0, &a0, &b0);
        if (two)
            rows_inside(s, cy1, cx1, &a1, &b1);
        else
            a1 = a0, b1 = b0;
        if (a0 == b0) /* a pixel without taps inside adds nothing to the range */
            a0 = a1, b0 = b1;
        else if (a1 == b1)
            a1 = a0, b1 = b0;
        range[0] = (a0 < a1 ? a0 : a1) * row4, range[1] = (b0 > b1 ? b0 : b1) * row4;
    }
    if (!rows4 || range[0] == range[1])
        range[0] = 0, range[1] = QATC_TAPS4(taps);
}

#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
/* col_sums' loop in assembly (GCC cannot keep its eight accumulators, four input and two
 * weight registers in the fourteen there are): a naked function, so the same code at every
 * optimization level. Arguments as AAPCS passes them: r0 = col, r1 = its end, r2 = the
 * group's weights, r3 = start, then acc on the stack. acc[0][0..3] in r4..r7, acc[1][0..3]
 * in r8..r11, the weights' pointer in r1, the end on the stack. One step: */
#define QATC_DSP_STEP                                                                     \
    "ldrd r2, r3, [r0], #8\n\t"    /* E0, E1 (O0, O1 the second time) */                  \
    "ldr r12, [r1], #4\n\t"        /* channels a, b: (a[k], b[k], a[k+2], b[k+2]) */      \
    "sxtb16 lr, r12\n\t"           /* lanes (a[k], a[k+2]) */                             \
    "sxtb16 r12, r12, ror #8\n\t"  /* lanes (b[k], b[k+2]) */                             \
    "smlad r4, r2, lr, r4\n\t"                                                            \
    "smlad r8, r3, lr, r8\n\t"                                                            \
    "smlad r5, r2, r12, r5\n\t"                                                           \
    "smlad r9, r3, r12, r9\n\t"                                                           \
    "ldr r12, [r1], #4\n\t"        /* channels c, d */                                    \
    "sxtb16 lr, r12\n\t"                                                                  \
    "sxtb16 r12, r12, ror #8\n\t"                                                         \
    "smlad r6, r2, lr, r6\n\t"                                                            \
    "smlad r10, r3, lr, r10\n\t"                                                          \
    "smlad r7, r2, r12, r7\n\t"                                                           \
    "smlad r11, r3, r12, r11\n\t"
/* two steps (E, then O) are a quad of four taps; the loop does four quads, entered at the
 * right one for the number of quads (TBB): 120 instructions and 3 of loop per 128 MACs */
#define QATC_DSP_QUAD QATC_DSP_STEP QATC_DSP_STEP
__attribute__((naked, noinline)) static void dot4x2_dsp(
    const int16_t *col QATC_ARG, const int16_t *end QATC_ARG, const int8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, int32_t acc[2][4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "ldm r3, {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\t"
            "mov r9, r5\n\t"
            "mov r10, r6\n\t"
            "mov r11, r7\n\t"
            "push {r1}\n\t"                      /* end at sp, acc at sp + 40 */
            "subs r12, r1, r0\n\t"               /* 16 bytes of col per quad */
            "mov r1, r2\n\t"
            "ubfx r12, r12, #4, #2\n\t"          /* quads modulo 4: enter at 1, 4, 3, 2 */
            "tbb [pc, r12]\n"
            "5:\n\t"
            ".byte (1f - 5b) / 2, (4f - 5b) / 2, (3f - 5b) / 2, (2f - 5b) / 2\n"
            "1:\n\t"
            QATC_DSP_QUAD
            "2:\n\t"
            QATC_DSP_QUAD
            "3:\n\t"
            QATC_DSP_QUAD
            "4:\n\t"
            QATC_DSP_QUAD
            "ldr r2, [sp]\n\t"
            "cmp r0, r2\n\t"
            "bne 1b\n\t"
            "ldr r3, [sp, #40]\n\t"
            "stm r3, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
            "add sp, sp, #4\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}

#define QATC_DSP_KERNEL_ASM 1
#endif

static QATC_INLINE void col_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                 int32_t w_step, int32_t zp, int two, const int32_t *start,
                                 int32_t acc[2][QATC_GROUP])
{
    const qatc_word *range = (const qatc_word *)col;
    int32_t k0 = range[0], k1 = range[1];
    (void)taps, (void)w_step, (void)zp, (void)two;
    col += 4 + 2 * k0, w += 4 * k0; /* 8 lanes and 16 weights per four taps */
#if defined(QATC_DSP_KERNEL_ASM)
    dot4x2_dsp(col, col + 2 * (k1 - k0), w, start, acc);
#else
    for (int32_t g = 0; g < 4; g++)
        acc[0][g] = acc[1][g] = start[g];
    for (int32_t j = 0; j < 2 * (k1 - k0); j += 8, w += 16) {
        for (int32_t h = 0; h < 2; h++) { /* taps k, k + 2, then k + 1, k + 3 */
            int32_t x0 = lanes(col[j + 4 * h], col[j + 4 * h + 1]);
            int32_t x1 = lanes(col[j + 4 * h + 2], col[j + 4 * h + 3]);
            for (int32_t q = 0; q < 2; q++) { /* channels a, b, then c, d */
                uint32_t v = load4(w + 8 * h + 4 * q);
                int32_t wa = sxtb16(v), wb = sxtb16_ror8(v);
                acc[0][2 * q] = smlad(x0, wa, acc[0][2 * q]);
                acc[1][2 * q] = smlad(x1, wa, acc[1][2 * q]);
                acc[0][2 * q + 1] = smlad(x0, wb, acc[0][2 * q + 1]);
                acc[1][2 * q + 1] = smlad(x1, wb, acc[1][2 * q + 1]);
            }
        }
    }
#endif
}
]])

# _QATC_DSP_SUMS4: prep4(), dot4x2_dsp4 and col_sums4() over the 16-bit lanes, 4-bit weights
# in the quads layout (gen/cgen.c quad4_weights).
m4_define([_QATC_DSP_SUMS4], [[
/* 4-bit weights. A word w of a group's quads holds in its high nibbles what the 8-bit
 * layout's word for channels a, b holds, (a[k], b[k], a[k+2], b[k+2]), and in its low ones
 * the word for c, d. With w' = w ^ 0x08080808 the low nibbles become c + 8 (1..15, as the
 * weights are in [-7, 7]), so SXTB16 of w' gives lanes 16 a + c + 8 (exactly: the high
 * nibble is the sign and the rest adds up) and UXTB16 of w' & 0x0F0F0F0F lanes c + 8: per
 * word of eight weights one load, EOR, AND and four extends for eight SMLAD, as many as the
 * 8-bit kernel's (two loads, four SXTB16). With X_p the sum of pixel p's lanes (x - zp)
 * and sums started at -8 X_p:
 *   r_a = 16 S_a + S_c + 8 X_p - 8 X_p,  r_c = S_c + 8 X_p - 8 X_p = S_c,
 * so S_a = (r_a - r_c) >> 4 (exact) and S_c = r_c (b and d the same). |16 a + c + 8| <=
 * 127: without the start, the partial sums stay within taps * 255 * 127, as for 8 bits;
 * with it SMLAD's sums wrap modulo 2^32 at worst, and the results are exact. prep4()
 * stores -8 X_0 and -8 X_1 after the windows, in the two words past QATC_COL(taps) that
 * the nests of 4-bit layers add. */
static QATC_INLINE void prep4(qatc_col *col, int32_t taps)
{
    const qatc_word *c = (const qatc_word *)(col + 4);
    qatc_word *x = (qatc_word *)(col + QATC_COL(taps));
    int32_t x0 = 0, x1 = 0, ones = lanes(1, 1);
    for (int32_t j = 0; j < QATC_TAPS4(taps); j += 4, c += 4) { /* words E0, E1, O0, O1 */
        x0 = smlad(c[0], ones, smlad(c[2], ones, x0));
        x1 = smlad(c[1], ones, smlad(c[3], ones, x1));
    }
    x[0] = -8 * x0, x[1] = -8 * x1;
}

#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
/* col_sums4's loop in assembly, as dot4x2_dsp: r0 = col, r1 = its end, r2 = the group's
 * 4-bit weights, r3 = start, then acc and the words -8 X_p on the stack. One step (the
 * E words, then the O words), 16 instructions for 16 multiply-accumulates: */
#define QATC_DSP_STEP4                                                                    \
    "ldrd r2, r3, [r0], #8\n\t"    /* E0, E1 (O0, O1 the second time) */                  \
    "ldr r12, [r1], #4\n\t"        /* a, b in the high nibbles, c, d in the low ones */   \
    "eor r12, r12, #0x08080808\n\t"                                                       \
    "sxtb16 lr, r12\n\t"           /* lanes 16 a + c + 8 */                               \
    "smlad r4, r2, lr, r4\n\t"                                                            \
    "smlad r8, r3, lr, r8\n\t"                                                            \
    "sxtb16 lr, r12, ror #8\n\t"   /* lanes 16 b + d + 8 */                               \
    "smlad r5, r2, lr, r5\n\t"                                                            \
    "smlad r9, r3, lr, r9\n\t"                                                            \
    "and r12, r12, #0x0F0F0F0F\n\t"                                                       \
    "uxtb16 lr, r12\n\t"           /* lanes c + 8 */                                      \
    "smlad r6, r2, lr, r6\n\t"                                                            \
    "smlad r10, r3, lr, r10\n\t"                                                          \
    "uxtb16 r12, r12, ror #8\n\t"  /* lanes d + 8 */                                      \
    "smlad r7, r2, r12, r7\n\t"                                                           \
    "smlad r11, r3, r12, r11\n\t"
#define QATC_DSP_QUAD4 QATC_DSP_STEP4 QATC_DSP_STEP4
__attribute__((naked, noinline)) static void dot4x2_dsp4(
    const int16_t *col QATC_ARG, const int16_t *end QATC_ARG, const uint8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, int32_t acc[2][4] QATC_ARG, const int32_t *nx8 QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "push {r1, r3}\n\t"                  /* end at sp, start at sp + 4 */
            "ldr r12, [sp, #48]\n\t"             /* nx8: -8 X_0, -8 X_1 */
            "ldr r4, [r12]\n\t"
            "mov r5, r4\n\t"
            "mov r6, r4\n\t"
            "mov r7, r4\n\t"
            "ldr r8, [r12, #4]\n\t"
            "mov r9, r8\n\t"
            "mov r10, r8\n\t"
            "mov r11, r8\n\t"
            "subs r12, r1, r0\n\t"               /* 16 bytes of col per quad */
            "mov r1, r2\n\t"
            "ubfx r12, r12, #4, #2\n\t"          /* quads modulo 4: enter at 1, 4, 3, 2 */
            "tbb [pc, r12]\n"
            "5:\n\t"
            ".byte (1f - 5b) / 2, (4f - 5b) / 2, (3f - 5b) / 2, (2f - 5b) / 2\n"
            "1:\n\t"
            QATC_DSP_QUAD4
            "2:\n\t"
            QATC_DSP_QUAD4
            "3:\n\t"
            QATC_DSP_QUAD4
            "4:\n\t"
            QATC_DSP_QUAD4
            "ldr r2, [sp]\n\t"
            "cmp r0, r2\n\t"
            "bne 1b\n\t"
            "ldr r12, [sp, #4]\n\t"              /* acc = start + the sums */
            "ldm r12, {r0, r1, r2, r3}\n\t"
            "subs r4, r4, r6\n\t"
            "subs r5, r5, r7\n\t"
            "add r4, r0, r4, asr #4\n\t"
            "add r5, r1, r5, asr #4\n\t"
            "add r6, r6, r2\n\t"
            "add r7, r7, r3\n\t"
            "sub r8, r8, r10\n\t"
            "sub r9, r9, r11\n\t"
            "add r8, r0, r8, asr #4\n\t"
            "add r9, r1, r9, asr #4\n\t"
            "add r10, r10, r2\n\t"
            "add r11, r11, r3\n\t"
            "ldr r3, [sp, #44]\n\t"
            "stm r3, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
            "add sp, sp, #8\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define QATC_DSP_KERNEL4_ASM 1
#endif

static QATC_INLINE void col_sums4(const qatc_col *col, int32_t taps, const uint8_t *w,
                                  int32_t oc, int32_t zp, int two, const int32_t *start,
                                  int32_t acc[2][QATC_GROUP])
{
    const qatc_word *range = (const qatc_word *)col;
    const qatc_word *nx8 = (const qatc_word *)(col + QATC_COL(taps)); /* from prep4 */
    int32_t k0 = range[0], k1 = range[1];
    (void)zp, (void)two;
    w += oc * QATC_TAPS4(taps) / 2 + 2 * k0; /* 8 bytes per four taps and four channels */
    col += 4 + 2 * k0;                       /* 8 lanes per four taps */
#if defined(QATC_DSP_KERNEL4_ASM)
    dot4x2_dsp4(col, col + 2 * (k1 - k0), w, start, acc, nx8);
#else
    int32_t r[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}}; /* -8 X_p added at the end (no effect on
                                                     * r_a - r_c): partial sums as for 8 bits */
    for (int32_t j = 0; j < 2 * (k1 - k0); j += 8, w += 8) {
        for (int32_t h = 0; h < 2; h++) { /* taps k, k + 2, then k + 1, k + 3 */
            int32_t x0 = lanes(col[j + 4 * h], col[j + 4 * h + 1]);
            int32_t x1 = lanes(col[j + 4 * h + 2], col[j + 4 * h + 3]);
            uint32_t v = load4((const int8_t *)w + 4 * h) ^ 0x08080808u, cd = v & 0x0F0F0F0Fu;
            int32_t wg[4] = {sxtb16(v), sxtb16_ror8(v), lanes((int32_t)(cd & 0xFF),
                             (int32_t)(cd >> 16 & 0xFF)), lanes((int32_t)(cd >> 8 & 0xFF),
                             (int32_t)(cd >> 24))};
            for (int32_t g = 0; g < 4; g++) {
                r[0][g] = smlad(x0, wg[g], r[0][g]);
                r[1][g] = smlad(x1, wg[g], r[1][g]);
            }
        }
    }
    for (int32_t p = 0; p < 2; p++)
        for (int32_t g = 0; g < 2; g++) {
            acc[p][g] = start[g] + ((r[p][g] - r[p][g + 2]) >> 4);
            acc[p][g + 2] = start[g + 2] + (r[p][g + 2] + nx8[p]);
        }
#endif
}
]])

# _QATC_DSP_LINE: line_sums(), a linear layer's: its int8 input read in place, four
# channels of the quads layout a call, the loop in assembly (dot4x1_dsp).
m4_define([_QATC_DSP_LINE], [[
/* A linear layer's sums: the input read in place, four bytes a word, whose SXTB16 gives
 * the lanes E = (x[k], x[k+2]) and O = (x[k+1], x[k+3]) (no - zp: the generator folded
 * -zp * sum w into the layer's bias, start), four channels a call:
 *   acc[0][g] = start[g] + sum_k w_g[k] x[k],  g = 0..3
 * weights in the quads layout; the taps past the last whole word in C. */
#define QATC_LINE_COPIES 0 /* the input is read in place */
#define QATC_LINE_GROUP 4
#if defined(__ARM_FEATURE_DSP) && defined(__thumb2__)
/* The loop, a naked function: r0 = x, r1 = its end (whole words), r2 = the weights,
 * r3 = start, then acc on the stack. acc[0..3] in r4..r7, E in r3, O in r2, the quad's
 * four weight words in r8..r11 (one LDM: the quads arrays are word-aligned), the weights'
 * pointer in r1, the end in lr. One quad of taps, 20 instructions for 16 MACs: */
#define QATC_DSP_QUAD1                                                                    \
    "ldr r12, [r0], #4\n\t"         /* x[k .. k+3] */                                     \
    "sxtb16 r3, r12\n\t"            /* E */                                               \
    "sxtb16 r2, r12, ror #8\n\t"    /* O */                                               \
    "ldm r1!, {r8, r9, r10, r11}\n\t"                                                     \
    "sxtb16 r12, r8\n\t"            /* lanes (a[k], a[k+2]) */                            \
    "smlad r4, r3, r12, r4\n\t"                                                           \
    "sxtb16 r12, r8, ror #8\n\t"    /* lanes (b[k], b[k+2]) */                            \
    "smlad r5, r3, r12, r5\n\t"                                                           \
    "sxtb16 r12, r9\n\t"                                                                  \
    "smlad r6, r3, r12, r6\n\t"                                                           \
    "sxtb16 r12, r9, ror #8\n\t"                                                          \
    "smlad r7, r3, r12, r7\n\t"                                                           \
    "sxtb16 r12, r10\n\t"           /* lanes (a[k+1], a[k+3]) */                          \
    "smlad r4, r2, r12, r4\n\t"                                                           \
    "sxtb16 r12, r10, ror #8\n\t"                                                         \
    "smlad r5, r2, r12, r5\n\t"                                                           \
    "sxtb16 r12, r11\n\t"                                                                 \
    "smlad r6, r2, r12, r6\n\t"                                                           \
    "sxtb16 r12, r11, ror #8\n\t"                                                         \
    "smlad r7, r2, r12, r7\n\t"
/* four quads a loop, entered at the right one (TBB): 80 instructions and 2 of loop per
 * 64 MACs */
__attribute__((naked, noinline)) static void dot4x1_dsp(
    const int8_t *x QATC_ARG, const int8_t *end QATC_ARG, const int8_t *w QATC_ARG,
    const int32_t *start QATC_ARG, int32_t acc[4] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" /* acc at sp + 36 */
            "ldm r3, {r4, r5, r6, r7}\n\t"
            "mov lr, r1\n\t"
            "subs r12, r1, r0\n\t"               /* 4 bytes of x per quad */
            "mov r1, r2\n\t"
            "ubfx r12, r12, #2, #2\n\t"          /* quads modulo 4: enter at 1, 4, 3, 2 */
            "tbb [pc, r12]\n"
            "5:\n\t"
            ".byte (1f - 5b) / 2, (4f - 5b) / 2, (3f - 5b) / 2, (2f - 5b) / 2\n"
            "1:\n\t"
            QATC_DSP_QUAD1
            "2:\n\t"
            QATC_DSP_QUAD1
            "3:\n\t"
            QATC_DSP_QUAD1
            "4:\n\t"
            QATC_DSP_QUAD1
            "cmp r0, lr\n\t"
            "bne 1b\n\t"
            "ldr r3, [sp, #36]\n\t"
            "stm r3, {r4, r5, r6, r7}\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}");
}
#define QATC_DSP_LINE_ASM 1
#endif

static QATC_INLINE void line_sums(const int8_t *x, int32_t n, const qatc_w *w, int32_t zp,
                                  const int32_t *start, int32_t acc[2][QATC_LINE_GROUP])
{
    int32_t q = n / 4 * 4; /* the taps in whole words */
    (void)zp;
#if defined(QATC_DSP_LINE_ASM)
    if (q > 0)
        dot4x1_dsp(x, x + q, w, start, acc[0]);
    else
        for (int32_t g = 0; g < 4; g++)
            acc[0][g] = start[g];
#else
    for (int32_t g = 0; g < 4; g++)
        acc[0][g] = start[g];
    for (int32_t k = 0; k < q; k += 4) {
        uint32_t v = load4(x + k);
        int32_t e = sxtb16(v), o = sxtb16_ror8(v);
        for (int32_t h = 0; h < 2; h++) { /* channels a, b, then c, d */
            uint32_t we = load4(w + 4 * k + 4 * h), wo = load4(w + 4 * k + 8 + 4 * h);
            acc[0][2 * h] = smlad(e, sxtb16(we), smlad(o, sxtb16(wo), acc[0][2 * h]));
            acc[0][2 * h + 1] =
                smlad(e, sxtb16_ror8(we), smlad(o, sxtb16_ror8(wo), acc[0][2 * h + 1]));
        }
    }
#endif
    for (int32_t k = q; k < n; k++) /* channel g's tap k in the quads layout */
        for (int32_t g = 0; g < 4; g++)
            acc[0][g] += x[k] * w[16 * (k / 4) + 8 * (k % 2) + 4 * (g / 2) + g % 2 + 2 * (k % 4 / 2)];
}
]])
