m4_divert(-1)
# kernels_rv32.m4 — version RV32 of the inner loops (kernels.m4 lists what a version
# defines): 32-bit RISC-V with the M extension (rv32imc, rv32imac), whose multiply-
# accumulate is a mul and an add. conv2d layers copy each pixel pair's windows once as
# bytes x + 128; col_sums() does eight channels of both pixels per tap in 16 registers,
# the loop in inline assembly (GCC, clang) with a C fallback.

# _QATC_RV32_ABOUT: what the version is for.
m4_define([_QATC_RV32_ABOUT], [[32-bit RISC-V with the M extension (rv32imc, rv32imac): conv2d tiles
 *                    of 2 pixels x 8 channels in 16 registers, 2.7 instructions per
 *                    multiply-accumulate in the loop (inline assembly; C elsewhere).]])

# _QATC_RV32_PRELUDE: QATC_INLINE.
m4_define([_QATC_RV32_PRELUDE], [_QATC_INLINE_ALWAYS])

# _QATC_RV32_DOT: dot_1x4 in plain C (for conv2d windows walked row by row; unused).
m4_define([_QATC_RV32_DOT], [_QATC_DOT_1X4_C([[]])])

# _QATC_RV32_CONV: int8 weights (G_ROWS rows, a multiple of 8); windows as bytes in words.
m4_define([_QATC_RV32_CONV], [[
]_QATC_INT8_W[typedef uint32_t qatc_col; /* 4 bytes u = x + 128: window 0's taps, then window 1's */
#define QATC_COL(taps) ((2 * (taps) + 3) / 4)
#define QATC_COL1(taps) (((taps) + 3) / 4) /* one pixel's (a linear layer's input) */
#define QATC_GROUP 8 /* channels per col_sums() */
]])

# _QATC_RV32_GATHER: gather() into bytes x + 128, the assembly pieces of col_sums(), col_sums().
m4_define([_QATC_RV32_GATHER], [[
/* RV32IM has no SIMD and no multiply-add: every multiply-accumulate is a mul and an add,
 * so what a tile saves is loads. col_sums() takes 2 pixels x 8 channels: per tap 2 bytes
 * of the windows (lbu) and 8 weights (lb, OHWI rows w_step bytes apart, immediate offsets
 * from one pointer) feed 16 mul and 16 add into 16 accumulators in registers.
 *
 * The windows hold u = x + 128 = x ^ 0x80 (0..255, four bytes per xor), not x - zp:
 *   sum w (x - zp) = sum w u - (zp + 128) sum w,
 * the padding holds zp + 128 (its x - zp is 0), and for zp = -128 (inputs after a relu,
 * images) the sums need nothing more; other layers subtract (zp + 128) sum w. */
#if defined(__GNUC__)
typedef uint32_t qatc_word __attribute__((may_alias)); /* four bytes of any type */
#endif

/* col <- the windows of output pixels (cy0, cx0) and, when two, (cy1, cx1) as bytes: tap
 * k = (ky * kernel_w + kx) * in_c + ic of window p at byte p * taps + k, u = x[iy][ix][ic]
 * + 128, or in_zp + 128 where the tap falls in the padding (window 1 is left as it is when
 * it does not exist). The taps of a kernel row that fall inside the input, lo .. hi - 1,
 * are consecutive bytes of an input row (row_taps): with in_c a multiple of four and the
 * input 4-byte aligned (col is), they are copied four at a time. */
static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0, int32_t cx0,
                               int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t row = s->kernel_w * s->in_c, taps = s->kernel_h * row;
    uint8_t pad = (uint8_t)(s->in_zp + 128);
#if defined(__GNUC__)
    int words = s->in_c % 4 == 0 && ((uintptr_t)in & 3) == 0;
    qatc_word padw = pad * 0x01010101u, flip = 0x80808080u;
#endif
    for (int32_t p = 0; p < (two ? 2 : 1); p++) {
        uint8_t *c = (uint8_t *)col + p * taps;
        for (int32_t ky = 0; ky < s->kernel_h; ky++, c += row) {
            int32_t lo, hi;
            /* tap t of the kernel row, lo <= t < hi, is x[t - lo] */
            const int8_t *x = row_taps(s, in, p ? cy1 : cy0, p ? cx1 : cx0, ky, &lo, &hi);
            if (!x)
                x = in, lo = hi = row;
#if defined(__GNUC__)
            if (words) {
                qatc_word *cw = (qatc_word *)c, *lo_end = cw + lo / 4, *hi_end = cw + hi / 4;
                qatc_word *row_end = cw + row / 4;
                const qatc_word *xw = (const qatc_word *)x;
                while (cw < lo_end)
                    *cw++ = padw;
                while (cw < hi_end)
                    *cw++ = *xw++ ^ flip;
                while (cw < row_end)
                    *cw++ = padw;
                continue;
            }
#endif
            for (int32_t t = 0; t < row; t++) /* one loop: three would become library calls */
                c[t] = t >= lo && t < hi ? (uint8_t)(x[t - lo] ^ 0x80) : pad;
        }
    }
}

#if defined(__GNUC__) && defined(__OPTIMIZE__) && defined(__riscv) && defined(__riscv_mul) && \
    !defined(__riscv_32e)
/* Pieces of col_sums' assembly: acc[0][g] in s1..s8, acc[1][g] in s9..s11, t0..t4;
 * u_0, u_1 in t5, t6; the weight in a6, the products in a7, a5. The weights of channels
 * 0..3 are at immediate offsets g * w_step + K from %[w], those of 4..7 from %[w] too or,
 * when 7 w_step + 3 does not fit lb's 12-bit offset (%[far]), (g - 4) * w_step + K from
 * %[w4].
 * RV32_W(G, K): a6 = w_G[K]. */
#define RV32_W(G, K)                                                                        \
    ".if %[far] && " #G " >= 4\n\t"                                                         \
    "lb a6, (" #G "-4)*%[ws]+" #K "(%[w4])\n\t"                                             \
    ".else\n\t"                                                                             \
    "lb a6, " #G "*%[ws]+" #K "(%[w])\n\t"                                                  \
    ".endif\n\t"
/* RV32_MAC2(G, K, A0, A1): acc[0][G] (A0) += w_G[K] u_0, acc[1][G] (A1) += w_G[K] u_1 */
#define RV32_MAC2(G, K, A0, A1)                                                             \
    RV32_W(G, K) "mul a7, a6, t5\n\tmul a5, a6, t6\n\t"                                     \
    "add " A0 ", " A0 ", a7\n\tadd " A1 ", " A1 ", a5\n\t"
/* RV32_TAP2(K): tap K of the iteration for both pixels */
#define RV32_TAP2(K)                                                                        \
    "lbu t5, " #K "(%[col])\n\tlbu t6, %[taps]+" #K "(%[col])\n\t"                          \
    RV32_MAC2(0, K, "s1", "s9") RV32_MAC2(1, K, "s2", "s10")                                \
    RV32_MAC2(2, K, "s3", "s11") RV32_MAC2(3, K, "s4", "t0")                                \
    RV32_MAC2(4, K, "s5", "t1") RV32_MAC2(5, K, "s6", "t2")                                 \
    RV32_MAC2(6, K, "s7", "t3") RV32_MAC2(7, K, "s8", "t4")
/* RV32_MAC1(G, K, A0): acc[0][G] (A0) += w_G[K] u_0 */
#define RV32_MAC1(G, K, A0) RV32_W(G, K) "mul a7, a6, t5\n\tadd " A0 ", " A0 ", a7\n\t"
/* RV32_TAP1(K): tap K of the iteration for pixel 0 alone */
#define RV32_TAP1(K)                                                                        \
    "lbu t5, " #K "(%[col])\n\t"                                                            \
    RV32_MAC1(0, K, "s1") RV32_MAC1(1, K, "s2") RV32_MAC1(2, K, "s3")                       \
    RV32_MAC1(3, K, "s4") RV32_MAC1(4, K, "s5") RV32_MAC1(5, K, "s6")                       \
    RV32_MAC1(6, K, "s7") RV32_MAC1(7, K, "s8")
/* RV32_STEP(N): the pointers N taps on (N a string: an operand) */
#define RV32_STEP(N)                                                                        \
    "addi %[col], %[col], " N "\n\taddi %[w], %[w], " N "\n\t"                              \
    ".if %[far]\n\taddi %[w4], %[w4], " N "\n\t.endif\n\t"
/* RV32_LOOP(TAP): the first taps % RV32_UNROLL taps, then RV32_UNROLL per iteration up to
 * end: 4 (at -O2: 0.05 instructions per multiply-accumulate fewer), or 2 at -Os */
#if defined(__OPTIMIZE_SIZE__)
#define RV32_UNROLL 2
#else
#define RV32_UNROLL 4
#endif
#define RV32_LOOP(TAP)                                                                      \
    ".if %[rem] >= 1\n\t" TAP(0) ".endif\n\t.if %[rem] >= 2\n\t" TAP(1) ".endif\n\t"       \
    ".if %[rem] >= 3\n\t" TAP(2) ".endif\n\t.if %[rem]\n\t" RV32_STEP("%[rem]") ".endif\n\t"  \
    ".if %[loops]\n1:\n\t" TAP(0) TAP(1) ".if %[unroll] == 4\n\t" TAP(2) TAP(3) ".endif\n\t"  \
    RV32_STEP("%[unroll]") "bne %[col], %[end], 1b\n\t.endif\n\t"
/* RV32_ACC(OP): OP (lw or sw) pixel 0's 8 accumulators; RV32_ACC1(OP): pixel 1's */
#define RV32_ACC(OP)                                                                        \
    OP " s1, 0(%[acc])\n\t" OP " s2, 4(%[acc])\n\t" OP " s3, 8(%[acc])\n\t"                 \
    OP " s4, 12(%[acc])\n\t" OP " s5, 16(%[acc])\n\t" OP " s6, 20(%[acc])\n\t"              \
    OP " s7, 24(%[acc])\n\t" OP " s8, 28(%[acc])\n\t"
#define RV32_ACC1(OP)                                                                       \
    OP " s9, 32(%[acc])\n\t" OP " s10, 36(%[acc])\n\t" OP " s11, 40(%[acc])\n\t"            \
    OP " t0, 44(%[acc])\n\t" OP " t1, 48(%[acc])\n\t" OP " t2, 52(%[acc])\n\t"              \
    OP " t3, 56(%[acc])\n\t" OP " t4, 60(%[acc])\n\t"
/* the operands of both loops */
#define RV32_OUTPUTS(N) [col] "+r"(u), [w] "+r"(wk), [w4] "+r"(w4), "+m"(*(int32_t(*)[N])acc)
#define RV32_INPUTS                                                                         \
    [end] "r"(end), [acc] "r"(acc), [taps] "i"(taps), [ws] "i"(w_step),                     \
        [far] "i"(far), [rem] "i"(taps % RV32_UNROLL), [loops] "i"(taps / RV32_UNROLL),     \
        [unroll] "i"(RV32_UNROLL),                                                          \
        "m"(*(const uint8_t(*)[2 * taps])u), "m"(*(const int8_t(*)[8 * w_step])wk)
#define RV32_CLOBBERS                                                                       \
    "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t0", "t1", "t2",   \
        "t3", "t4", "t5", "t6", "a5", "a6", "a7"
#define QATC_RV32_ASM 1
#endif
]_QATC_COL_SUMS([[#if defined(QATC_RV32_ASM)
    /* In assembly where the layer's shapes are constants (inlined into each layer) and
     * the offsets fit lbu's and lb's 12 bits: GCC's own code for this loop keeps some of
     * the 16 accumulators on the stack. Per tap 2 lbu, 8 lb, 16 mul and 16 add (42.75
     * instructions with the loop's at -O2, four taps per iteration), or for one pixel
     * 1 lbu, 8 lb, 8 mul and 8 add. Otherwise, and at -O0, the C below. */
    for (int32_t g = 0; g < 8; g++)
        acc[0][g] = acc[1][g] = start[g];
    if (__builtin_constant_p(taps) && __builtin_constant_p(w_step) && taps + 3 <= 2047 &&
        3 * w_step + 3 <= 2047) {
        const int32_t far = 7 * w_step + 3 > 2047;
        const uint8_t *u = (const uint8_t *)col, *end = u + taps;
        const int8_t *wk = w, *w4 = w + 4 * w_step;
        if (two)
            __asm__(RV32_ACC("lw") RV32_ACC1("lw") RV32_LOOP(RV32_TAP2)
                    RV32_ACC("sw") RV32_ACC1("sw")
                    : RV32_OUTPUTS(16) : RV32_INPUTS : RV32_CLOBBERS);
        else
            __asm__(RV32_ACC("lw") RV32_LOOP(RV32_TAP1) RV32_ACC("sw")
                    : RV32_OUTPUTS(8) : RV32_INPUTS : RV32_CLOBBERS);
    } else
#else
    for (int32_t g = 0; g < 8; g++)
        acc[0][g] = acc[1][g] = start[g];
#endif
    {
        /* two pixels x four channels at a time, 16-bit factors */
        const uint8_t *u0 = (const uint8_t *)col, *u1 = u0 + taps;
        for (int32_t g0 = 0; g0 < 8; g0 += 4) {
            const int8_t *w0 = w + g0 * w_step, *w1 = w0 + w_step, *w2 = w1 + w_step,
                         *w3 = w2 + w_step;
            int32_t a00 = acc[0][g0], a01 = acc[0][g0 + 1], a02 = acc[0][g0 + 2],
                    a03 = acc[0][g0 + 3];
            int32_t a10 = acc[1][g0], a11 = acc[1][g0 + 1], a12 = acc[1][g0 + 2],
                    a13 = acc[1][g0 + 3];
            for (int32_t k = 0; k < taps; k++) {
                int16_t v0 = u0[k], v1 = two ? u1[k] : 0;
                int16_t k0 = w0[k], k1 = w1[k], k2 = w2[k], k3 = w3[k];
                a00 += k0 * v0, a10 += k0 * v1;
                a01 += k1 * v0, a11 += k1 * v1;
                a02 += k2 * v0, a12 += k2 * v1;
                a03 += k3 * v0, a13 += k3 * v1;
            }
            acc[0][g0] = a00, acc[0][g0 + 1] = a01, acc[0][g0 + 2] = a02, acc[0][g0 + 3] = a03;
            acc[1][g0] = a10, acc[1][g0 + 1] = a11, acc[1][g0 + 2] = a12, acc[1][g0 + 3] = a13;
        }
    }
    if (zp != -128) { /* the sums of w u less (zp + 128) sum w (see above) */
        for (int32_t g = 0; g < 8; g++) {
            int32_t sum = 0;
            for (int32_t k = 0; k < taps; k++)
                sum += w[g * w_step + k];
            acc[0][g] -= (zp + 128) * sum, acc[1][g] -= (zp + 128) * sum;
        }
    }
]],
[[int8 rows: w, w + w_step, ..., G_ROWS of them, a multiple of eight]])])

# _QATC_RV32_LINE: line_sums(), a linear layer's: its int8 input read in place (lb),
# sixteen channels a call, in assembly.
m4_define([_QATC_RV32_LINE], [[
/* A linear layer's sums: the input read in place (lb: x itself; the generator folded
 * -zp * sum w into the layer's bias, start), sixteen channels a call (OHWI rows, four
 * pointers four rows apart), so that each load of x serves sixteen multiply-accumulates:
 *   acc[0][g] = start[g] + sum_k w_g[k] x[k],  g = 0..15
 * per tap 1 lb of x, 16 lb, 16 mul and 16 add (3.06 instructions per multiply-accumulate),
 * in assembly where the layer's shapes are constants and 3 taps + 3 <= 2047 (lb's offsets). */
#define QATC_LINE_COPIES 0 /* the input is read in place */
#define QATC_LINE_GROUP 16
#if defined(QATC_RV32_ASM)
/* acc[g] in s1..s11, t0..t4; x in t5, the weight in t6, the product in a7. Channel 4P + J's
 * weight of tap K at J * w_step + K from %[wP] (P = 0..3), or, when the sixteen rows are
 * within lb's reach of one pointer (%[near]: 15 w_step + 3 <= 2047), at (4P + J) * w_step +
 * K from %[w0] (then only it steps). RV32_MAC16(P, J, K, A): */
#define RV32_MAC16(P, J, K, A)                                                              \
    ".if %[near]\n\tlb t6, (4*" #P "+" #J ")*%[ws]+" #K "(%[w0])\n\t.else\n\t"              \
    "lb t6, " #J "*%[ws]+" #K "(%[w" #P "])\n\t.endif\n\t"                                  \
    "mul a7, t6, t5\n\tadd " A ", " A ", a7\n\t"
/* RV32_TAP16(K): tap K of the iteration */
#define RV32_TAP16(K)                                                                       \
    "lb t5, " #K "(%[col])\n\t"                                                            \
    RV32_MAC16(0, 0, K, "s1") RV32_MAC16(0, 1, K, "s2") RV32_MAC16(0, 2, K, "s3")           \
    RV32_MAC16(0, 3, K, "s4") RV32_MAC16(1, 0, K, "s5") RV32_MAC16(1, 1, K, "s6")           \
    RV32_MAC16(1, 2, K, "s7") RV32_MAC16(1, 3, K, "s8") RV32_MAC16(2, 0, K, "s9")           \
    RV32_MAC16(2, 1, K, "s10") RV32_MAC16(2, 2, K, "s11") RV32_MAC16(2, 3, K, "t0")         \
    RV32_MAC16(3, 0, K, "t1") RV32_MAC16(3, 1, K, "t2") RV32_MAC16(3, 2, K, "t3")           \
    RV32_MAC16(3, 3, K, "t4")
/* RV32_STEP16(N): the pointers N taps on */
#define RV32_STEP16(N)                                                                      \
    "addi %[col], %[col], " N "\n\taddi %[w0], %[w0], " N "\n\t.if !%[near]\n\t"            \
    "addi %[w1], %[w1], " N "\n\taddi %[w2], %[w2], " N "\n\taddi %[w3], %[w3], " N "\n\t"  \
    ".endif\n\t"
/* RV32_LOOP16: the first taps % RV32_UNROLL, then RV32_UNROLL per iteration up to end */
#define RV32_LOOP16                                                                         \
    ".if %[rem] >= 1\n\t" RV32_TAP16(0) ".endif\n\t"                                       \
    ".if %[rem] >= 2\n\t" RV32_TAP16(1) ".endif\n\t"                                       \
    ".if %[rem] >= 3\n\t" RV32_TAP16(2) ".endif\n\t"                                       \
    ".if %[rem]\n\t" RV32_STEP16("%[rem]") ".endif\n\t"                                    \
    ".if %[loops]\n1:\n\t" RV32_TAP16(0) RV32_TAP16(1)                                      \
    ".if %[unroll] == 4\n\t" RV32_TAP16(2) RV32_TAP16(3) ".endif\n\t"                      \
    RV32_STEP16("%[unroll]") "bne %[col], %[end], 1b\n\t.endif\n\t"
/* RV32_ACC16(OP): OP (lw or sw) the 16 accumulators */
#define RV32_ACC16(OP)                                                                      \
    RV32_ACC(OP) OP " s9, 32(%[acc])\n\t" OP " s10, 36(%[acc])\n\t"                       \
    OP " s11, 40(%[acc])\n\t" OP " t0, 44(%[acc])\n\t" OP " t1, 48(%[acc])\n\t"          \
    OP " t2, 52(%[acc])\n\t" OP " t3, 56(%[acc])\n\t" OP " t4, 60(%[acc])\n\t"
#endif

static QATC_INLINE void line_sums(const int8_t *x, int32_t taps, const qatc_w *w, int32_t zp,
                                  const int32_t *start, int32_t acc[2][QATC_LINE_GROUP])
{
    (void)zp;
    for (int32_t g = 0; g < 16; g++)
        acc[0][g] = start[g];
#if defined(QATC_RV32_ASM)
    if (__builtin_constant_p(taps) && 3 * taps + 3 <= 2047) {
        const int8_t *u = x, *end = x + taps;
        const int8_t *w0 = w, *w1 = w + 4 * taps, *w2 = w + 8 * taps, *w3 = w + 12 * taps;
        __asm__(RV32_ACC16("lw") RV32_LOOP16 RV32_ACC16("sw")
                : [col] "+r"(u), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),
                  "+m"(*(int32_t(*)[16])acc[0])
                : [end] "r"(end), [acc] "r"(acc[0]), [ws] "i"(taps),
                  [near] "i"(15 * taps + 3 <= 2047), [rem] "i"(taps % RV32_UNROLL),
                  [loops] "i"(taps / RV32_UNROLL), [unroll] "i"(RV32_UNROLL),
                  "m"(*(const int8_t(*)[taps])x), "m"(*(const int8_t(*)[16 * taps])w)
                : "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t0",
                  "t1", "t2", "t3", "t4", "t5", "t6", "a7");
        return;
    }
#endif
    for (int32_t g = 0; g < 16; g++) {
        const int8_t *wg = w + g * taps;
        int32_t a = acc[0][g];
        for (int32_t k = 0; k < taps; k++)
            a += wg[k] * x[k];
        acc[0][g] = a;
    }
}
]])

# _QATC_RV32_SUMS4: col_sums4(): the group's eight rows of 4-bit weights (in the OHWI order)
# unpacked to int8 once per call, then col_sums' tile over them.
m4_define([_QATC_RV32_SUMS4], [_QATC_PREP4_NONE[
/* The eight rows of channels oc .. oc + 7 are the 8 taps elements from oc * taps on (an
 * even element: oc is a multiple of eight), unpacked into wb, taps bytes apart as col_sums
 * reads them (its assembly where the shapes are constants). */
static QATC_INLINE void col_sums4(const qatc_col *col, int32_t taps, const uint8_t *w,
                                  int32_t oc, int32_t zp, int two, const int32_t *start,
                                  int32_t acc[2][QATC_GROUP])
{
    int8_t wb[QATC_GROUP * taps];
    const uint8_t *p = w + oc * taps / 2;
    for (int32_t b = 0; b < QATC_GROUP / 2 * taps; b++) {
        int32_t v = p[b];
        wb[2 * b] = (int8_t)(((v & 15) ^ 8) - 8);
        wb[2 * b + 1] = (int8_t)((v >> 4 ^ 8) - 8);
    }
    col_sums(col, taps, wb, taps, zp, two, start, acc);
}
]])
