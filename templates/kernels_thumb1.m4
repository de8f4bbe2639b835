m4_divert(-1)
# kernels_thumb1.m4 — version THUMB1 of the inner loops (kernels.m4 lists what a version
# defines): Thumb-1 cores (Cortex-M0, M0+, M23), GCC or clang. Its helpers are not inlined
# (one copy of each, for flash; gather() is, per layer); dot_1x4's loop and the conv2d
# kernel are naked assembly functions. Conv2d weights in the bytes8 layout (gen/cgen.c
# bytes8_weights, bytes8_bias).

# _QATC_THUMB1_ABOUT: what the version is for.
m4_define([_QATC_THUMB1_ABOUT], [[Thumb-1 cores (Cortex-M0, M0+, M23) with GCC or clang: unsigned bytes
 *                    (which Thumb-1 loads with immediate offsets), 1 pixel x 8 channels per
 *                    call of the conv2d loop, 3.25 instructions per multiply-accumulate in
 *                    assembly.]])

# _QATC_THUMB1_PRELUDE: QATC_INLINE (not inline: one copy of each helper), QATC_ARG.
m4_define([_QATC_THUMB1_PRELUDE], [[#if defined(__GNUC__) /* unused: a model with 4-bit weights only needs col_sums4 */
#define QATC_INLINE __attribute__((unused)) /* Thumb-1: one copy of each helper, for flash */
#else
#define QATC_INLINE
#endif
]_QATC_NAKED_ARG])

# _QATC_THUMB1_DOT: dot4_thumb1, and dot_1x4 calling it (in a file with every version, dot_1x4
# in C where the core is not Thumb-1).
m4_define([_QATC_THUMB1_DOT], [_QATC_IF_ALL([[
#if defined(__thumb__) && !defined(__thumb2__)]])[
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

static QATC_INLINE void dot_1x4(const int8_t *x, const int8_t *w, int32_t w_step, int32_t n,
                                int32_t zp, int32_t acc[4])
{
    if (n > 0)
        dot4_thumb1(x + n, w + n, w_step, acc, n, -zp);
}
]_QATC_IF_ALL([[#else /* the same sums in C, so that this version runs on any host */
]_QATC_DOT_1X4_C([[]])[#endif
]])])

# _QATC_THUMB1_CONV: weights as unsigned bytes (the bytes8 layout, with a bias of its own),
# windows as x + 128 with their sums and runs.
m4_define([_QATC_THUMB1_CONV], [[
/* Cortex-M0, M0+, M23 (Thumb-1): one pixel x eight channels per call.
 * Thumb-1 loads a signed byte only from a register offset, an unsigned one also from an
 * immediate offset: so both factors are unsigned bytes, and one pointer reaches the eight
 * channels' weights of four taps. x' = x + 128 (the padding: zp + 128, i.e. x = zp) and
 * u = w + 128; with S = sum_k x'_k over the window,
 *   acc = bias + sum_k w_k (x_k - zp)
 *       = (bias - (128 + zp) sum_k w_k) + sum_k u_k x'_k - 128 S.
 * The generator folds the first term into the layer's bias (its Thumb-1 copy), gather()
 * stores 128 S with each window. All of it is exact modulo 2^32, and the result fits int32.
 * When zp = -128 the padding's x' is 0 and adds nothing: the sums then leave it out, over
 * up to QATC_T1_RUNS runs of taps inside the input (a kernel row's, or several rows' when
 * they are whole; with more of them the last run also covers the padding between).
 * col: per pixel a block: the word 128 S, the number of runs, each run's first tap and
 * number of taps (the whole window as one run when zp != -128), then the taps' x'
 * (rounded up to a word). Weights ("bytes8" layout): per eight channels, per tap k, the
 * eight u. Per tap one load of x' for eight multiply-accumulates of three instructions
 * each (load u, MULS, ADD). */
typedef uint8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * (taps))
typedef int32_t qatc_col;
#define QATC_T1_RUNS 4
#define QATC_HEAD (2 + 2 * QATC_T1_RUNS)                   /* words before a block's x' */
#define QATC_STR_(x) #x
#define QATC_STR(x) QATC_STR_(x) /* a macro's value as a string (for assembly) */
#define QATC_BLOCK(taps) (QATC_HEAD + ((taps) + 3) / 4) /* words per pixel */
#define QATC_COL(taps) (2 * QATC_BLOCK(taps))
#define QATC_COL1(taps) QATC_BLOCK(taps) /* one pixel's (a linear layer's input) */
#define QATC_GROUP 8
#if defined(__GNUC__)
typedef uint32_t qatc_word __attribute__((may_alias)); /* four bytes of input or col */
#endif
]])

# _QATC_THUMB1_GATHER: gather(), dot8_thumb1 and col_sums().
m4_define([_QATC_THUMB1_GATHER], [[
static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0, int32_t cx0,
                               int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t row = s->kernel_w * s->in_c, taps = s->kernel_h * row;
    uint32_t pad = (uint8_t)(s->in_zp + 128); /* x' of a tap in the padding */
#if defined(__GNUC__)
    int words = s->in_c % 4 == 0 && ((uintptr_t)in & 3) == 0; /* rows of aligned words */
#else
    int words = 0;
#endif
    for (int32_t p = 0; p < 1 + (two != 0); p++) {
        qatc_col *block = col + p * QATC_BLOCK(taps);
        uint8_t *xb = (uint8_t *)(block + QATC_HEAD);
        uint32_t sum = 0;
        int32_t runs = 0, *run = block + 2; /* (first tap, taps) */
        for (int32_t ky = 0; ky < s->kernel_h; ky++, xb += row) {
            int32_t lo, hi, t = 0;
            const int8_t *x = row_taps(s, in, p ? cy1 : cy0, p ? cx1 : cx0, ky, &lo, &hi);
            if (lo < hi) { /* a run from ky * row + lo to ky * row + hi, joined to the last
                            * one when it starts there or when there are QATC_T1_RUNS */
                if (runs > 0 && (run[-2] + run[-1] == ky * row + lo || runs == QATC_T1_RUNS))
                    run[-1] = ky * row + hi - run[-2];
                else
                    run[0] = ky * row + lo, run[1] = hi - lo, run += 2, runs++;
            }
            sum += pad * (uint32_t)(row - (hi - lo));
            for (; t < lo; t++)
                xb[t] = (uint8_t)pad;
#if defined(__GNUC__)
            while (words && t < hi) {
                /* four taps a word, x' = x ^ 0x80 in each byte; the bytes summed in two
                 * 16-bit lanes, at most 128 words at a time (lanes below 2^16) */
                uint32_t two_lanes = 0;
                for (int32_t end = hi - t > 512 ? t + 512 : hi; t < end; t += 4, x += 4) {
                    uint32_t v = *(const qatc_word *)x ^ 0x80808080u;
                    *(qatc_word *)(xb + t) = v;
                    two_lanes += (v & 0x00ff00ffu) + (v >> 8 & 0x00ff00ffu);
                }
                sum += (two_lanes & 0xffffu) + (two_lanes >> 16);
            }
#endif
            for (; t < hi; t++, x++) {
                uint32_t b = (uint8_t)(*x + 128);
                xb[t] = (uint8_t)b, sum += b;
            }
            for (; t < row; t++)
                xb[t] = (uint8_t)pad;
        }
        block[0] = (int32_t)(sum * 128u);
        if (pad != 0) /* the padding adds (zp + 128) u: every tap, one run */
            runs = 1, block[2] = 0, block[3] = taps;
        block[1] = runs;
    }
}

#if defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__)
/* One pixel's sums in assembly, a naked function (the same code at every optimization
 * level): r0 = the pixel's block of col, r1 = the group's weights, r2 = start, r3 = acc
 * (its eight sums). acc[0..3] in r4..r7, acc[4..7] in r8..r11, x' in r1, the end
 * of the run's four-taps part in r12, of the run in lr; on the stack the next run, the
 * runs left, the block's x' and the weights. One tap, x' at r0 + X, its eight u at
 * r2 + W .. W + 7 (the assembler adds up the offsets): */
#define QATC_T1_TAP(X, W)                                                                 \
    "ldrb r1, [r0, #" #X "]\n\t"                                                          \
    "ldrb r3, [r2, #" #W "+0]\n\tmuls r3, r1, r3\n\tadds r4, r4, r3\n\t"                  \
    "ldrb r3, [r2, #" #W "+1]\n\tmuls r3, r1, r3\n\tadds r5, r5, r3\n\t"                  \
    "ldrb r3, [r2, #" #W "+2]\n\tmuls r3, r1, r3\n\tadds r6, r6, r3\n\t"                  \
    "ldrb r3, [r2, #" #W "+3]\n\tmuls r3, r1, r3\n\tadds r7, r7, r3\n\t"                  \
    "ldrb r3, [r2, #" #W "+4]\n\tmuls r3, r1, r3\n\tadd r8, r3\n\t"                       \
    "ldrb r3, [r2, #" #W "+5]\n\tmuls r3, r1, r3\n\tadd r9, r3\n\t"                       \
    "ldrb r3, [r2, #" #W "+6]\n\tmuls r3, r1, r3\n\tadd r10, r3\n\t"                      \
    "ldrb r3, [r2, #" #W "+7]\n\tmuls r3, r1, r3\n\tadd r11, r3\n\t"
/* acc[g] = start[g] + sum over the runs' taps k of u[8k + g] * x'[k] - 128 S; four taps
 * take 104 instructions (3.25 per multiply-accumulate), a lone tap 29, a run about 20
 * more */
__attribute__((naked, noinline)) static void dot8_thumb1(
    const int32_t *block QATC_ARG, const uint8_t *w QATC_ARG, const int32_t *start QATC_ARG,
    int32_t acc[8] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\t"
            "mov r5, r9\n\t"
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"
            "mov r6, r3\n\t"              /* acc */
            "mov r7, r1\n\t"              /* the weights */
            "movs r5, #4 * " QATC_STR(QATC_HEAD) "\n\t"
            "adds r5, r0, r5\n\t"         /* x' */
            "ldr r4, [r0, #4]\n\t"        /* runs */
            "movs r3, #8\n\t"
            "adds r3, r0, r3\n\t"         /* the first run */
            "push {r3, r4, r5, r6, r7}\n\t" /* sp: next run, runs, x', acc, weights */
            "ldr r1, [r0]\n\t"            /* 128 S */
            "mov r3, r2\n\t"              /* start */
            "ldr r4, [r3, #16]\n\t"       /* start[g] - 128 S */
            "subs r4, r4, r1\n\t"
            "mov r8, r4\n\t"
            "ldr r4, [r3, #20]\n\t"
            "subs r4, r4, r1\n\t"
            "mov r9, r4\n\t"
            "ldr r4, [r3, #24]\n\t"
            "subs r4, r4, r1\n\t"
            "mov r10, r4\n\t"
            "ldr r4, [r3, #28]\n\t"
            "subs r4, r4, r1\n\t"
            "mov r11, r4\n\t"
            "ldmia r3!, {r4, r5, r6, r7}\n\t"
            "subs r4, r4, r1\n\t"
            "subs r5, r5, r1\n\t"
            "subs r6, r6, r1\n\t"
            "subs r7, r7, r1\n\t"
            "ldr r0, [sp, #4]\n\t"
            "cmp r0, #0\n\t"
            "bne 5f\n\t"
            "b 6f\n"                      /* (conditional branches reach 256 bytes) */
            "5:\n\t"                      /* a run: taps k0 .. k0 + n - 1 */
            "ldr r0, [sp]\n\t"
            "ldmia r0!, {r1, r3}\n\t"     /* k0, n */
            "str r0, [sp]\n\t"
            "ldr r0, [sp, #8]\n\t"
            "adds r0, r0, r1\n\t"         /* x' of tap k0 */
            "lsls r1, r1, #3\n\t"
            "ldr r2, [sp, #16]\n\t"
            "adds r2, r2, r1\n\t"         /* its weights */
            "adds r1, r0, r3\n\t"
            "mov lr, r1\n\t"              /* the run's end */
            "lsrs r3, r3, #2\n\t"
            "lsls r3, r3, #2\n\t"
            "adds r1, r0, r3\n\t"
            "mov r12, r1\n\t"             /* the end of its four-taps part */
            "cmp r0, r12\n\t"
            "beq 2f\n"
            "1:\n\t"
            QATC_T1_TAP(0, 0) QATC_T1_TAP(1, 8) QATC_T1_TAP(2, 16) QATC_T1_TAP(3, 24)
            "adds r0, #4\n\t"
            "adds r2, #32\n\t"
            "cmp r0, r12\n\t"
            "bne 1b\n"
            "2:\n\t"
            "cmp r0, lr\n\t"
            "beq 4f\n"
            "3:\n\t"
            QATC_T1_TAP(0, 0)
            "adds r0, #1\n\t"
            "adds r2, #8\n\t"
            "cmp r0, lr\n\t"
            "bne 3b\n"
            "4:\n\t"
            "ldr r0, [sp, #4]\n\t"
            "subs r0, r0, #1\n\t"
            "str r0, [sp, #4]\n\t"
            "beq 6f\n\t"
            "b 5b\n"
            "6:\n\t"
            "ldr r3, [sp, #12]\n\t"
            "stmia r3!, {r4, r5, r6, r7}\n\t"
            "mov r4, r8\n\t"
            "mov r5, r9\n\t"
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            "stmia r3!, {r4, r5, r6, r7}\n\t"
            "add sp, sp, #20\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\t"
            "mov r9, r5\n\t"
            "mov r10, r6\n\t"
            "mov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}");
}
#define QATC_T1_KERNEL_ASM 1
#endif

static QATC_INLINE void col_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                 int32_t w_step, int32_t zp, int two, const int32_t *start,
                                 int32_t acc[2][QATC_GROUP])
{
    (void)w_step, (void)zp;
#if defined(QATC_T1_KERNEL_ASM)
    dot8_thumb1(col, w, start, acc[0]);
    if (two)
        dot8_thumb1(col + QATC_BLOCK(taps), w, start, acc[1]);
#else
    for (int32_t p = 0; p < 1 + (two != 0); p++) {
        const qatc_col *block = col + p * QATC_BLOCK(taps);
        const uint8_t *xb = (const uint8_t *)(block + QATC_HEAD);
        for (int32_t g = 0; g < QATC_GROUP; g++) {
            uint32_t a = (uint32_t)start[g] - (uint32_t)block[0];
            for (int32_t r = 0; r < block[1]; r++)
                for (int32_t k = block[2 + 2 * r]; k < block[2 + 2 * r] + block[3 + 2 * r]; k++)
                    a += (uint32_t)w[QATC_GROUP * k + g] * xb[k];
            acc[p][g] = (int32_t)a;
        }
    }
#endif
}
]])

# _QATC_THUMB1_SUMS4: col_sums4() over the windows of gather() (x' = x + 128, the runs),
# 4-bit weights per eight channels per tap, channels 2j and 2j + 1 in byte j.
m4_define([_QATC_THUMB1_SUMS4], [_QATC_PREP4_NONE[
/* acc[p][g] = start[g] + sum_k w_g[k] x'_p[k] over the runs of taps of pixel p (the taps
 * outside them have x' = 0), start being the Thumb-1 bias (bias - (128 + zp) sum_k w_g[k]):
 * the same sums as col_sums with u = w + 128, as sum_k u x' - 128 S = sum_k w x'. The
 * weights of channel g of tap k: nibble g % 2 of byte 4 k + g / 2 of the group's. */
#if defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__)
/* One pixel's sums over 4-bit weights in assembly, as dot8_thumb1: r0 = the pixel's block
 * of col, r1 = the group's weights, r2 = start, r3 = acc (its eight sums). A byte B of
 * weights holds channels l (low nibble) and h (high nibble); B' = B ^ 0x88 = (l + 8) +
 * 16 (h + 8), both nibbles now unsigned, so one LDRB, EORS and LSRS give the factors B'
 * and B' >> 4 = h + 8:
 *   raw_l = sum_k B'_k x'_k = sum l x' + 8 S + 16 (sum h x' + 8 S),  raw_h = sum h x' + 8 S,
 * so sum h x' = raw_h - 8 S and sum l x' = raw_l - 16 raw_h - 8 S (S = sum_k x'_k; 128 S,
 * below 2^32, is the block's first word; all modulo 2^32), each added to start. Sums of
 * channels 0..7 in r6, r7, r8..r12, lr; x' in r1, B' in r3, h + 8 in r4, 0x88 in r5; on
 * the stack the next run, the runs left, the block's x', the weights, the end of the
 * run's four-taps part, the run's end, 8 S, start and acc. One tap, x' at r0 + X, its
 * four bytes at r2 + W .. W + 3: */
#define QATC_T1_TAP4_BYTE(W, LO, HI)                                                      \
    "ldrb r3, [r2, #" #W "]\n\teors r3, r5\n\tlsrs r4, r3, #4\n\t"                        \
    "muls r3, r1, r3\n\tadd " LO ", r3\n\tmuls r4, r1, r4\n\tadd " HI ", r4\n\t"
#define QATC_T1_TAP4(X, W)                                                                \
    "ldrb r1, [r0, #" #X "]\n\t"                                                          \
    QATC_T1_TAP4_BYTE(W + 0, "r6", "r7") QATC_T1_TAP4_BYTE(W + 1, "r8", "r9")             \
    QATC_T1_TAP4_BYTE(W + 2, "r10", "r11") QATC_T1_TAP4_BYTE(W + 3, "r12", "lr")
/* acc[j] = start[j] + raw_l - 16 raw_h - 8 S, acc[j + 1] = start[j + 1] + raw_h - 8 S for
 * the pair in LO, HI (low registers) at byte offset J of acc and start; 8 S in r0, start
 * in r1, acc in r2 */
#define QATC_T1_FIX4(J, LO, HI)                                                           \
    "lsls r3, " HI ", #4\n\tsubs " LO ", " LO ", r3\n\tsubs " LO ", " LO ", r0\n\t"          \
    "subs " HI ", " HI ", r0\n\t"                                                           \
    "ldr r3, [r1, #" #J "]\n\tadds " LO ", " LO ", r3\n\tstr " LO ", [r2, #" #J "]\n\t"     \
    "ldr r3, [r1, #" #J "+4]\n\tadds " HI ", " HI ", r3\n\tstr " HI ", [r2, #" #J "+4]\n\t"
/* four taps take 121 instructions (3.8 per multiply-accumulate), a lone tap 34 */
__attribute__((naked, noinline)) static void dot8_thumb1_4(
    const int32_t *block QATC_ARG, const uint8_t *w QATC_ARG, const int32_t *start QATC_ARG,
    int32_t acc[8] QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\t"
            "mov r5, r9\n\t"
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"
            "sub sp, sp, #40\n\t"
            "str r1, [sp, #16]\n\t"       /* the weights */
            "str r2, [sp, #32]\n\t"       /* start */
            "str r3, [sp, #36]\n\t"       /* acc */
            "ldr r4, [r0]\n\t"
            "lsrs r4, r4, #4\n\t"
            "str r4, [sp, #28]\n\t"       /* 8 S */
            "movs r5, #4 * " QATC_STR(QATC_HEAD) "\n\t"
            "adds r5, r0, r5\n\t"
            "str r5, [sp, #8]\n\t"        /* x' */
            "ldr r4, [r0, #4]\n\t"
            "str r4, [sp, #4]\n\t"        /* runs */
            "movs r3, #8\n\t"
            "adds r3, r0, r3\n\t"
            "str r3, [sp]\n\t"            /* the first run */
            "movs r6, #0\n\t"
            "movs r7, #0\n\t"
            "mov r8, r6\n\t"
            "mov r9, r6\n\t"
            "mov r10, r6\n\t"
            "mov r11, r6\n\t"
            "mov r12, r6\n\t"
            "mov lr, r6\n\t"
            "movs r5, #0x88\n\t"
            "cmp r4, #0\n\t"
            "bne 5f\n\t"
            "b 6f\n"
            "5:\n\t"                      /* a run: taps k0 .. k0 + n - 1 */
            "ldr r0, [sp]\n\t"
            "ldmia r0!, {r1, r3}\n\t"     /* k0, n */
            "str r0, [sp]\n\t"
            "ldr r0, [sp, #8]\n\t"
            "adds r0, r0, r1\n\t"         /* x' of tap k0 */
            "lsls r1, r1, #2\n\t"
            "ldr r2, [sp, #16]\n\t"
            "adds r2, r2, r1\n\t"         /* its weights */
            "adds r1, r0, r3\n\t"
            "str r1, [sp, #24]\n\t"       /* the run's end */
            "lsrs r3, r3, #2\n\t"
            "lsls r3, r3, #2\n\t"
            "adds r1, r0, r3\n\t"
            "str r1, [sp, #20]\n\t"       /* the end of its four-taps part */
            "cmp r0, r1\n\t"
            "beq 2f\n"
            "1:\n\t"
            QATC_T1_TAP4(0, 0) QATC_T1_TAP4(1, 4) QATC_T1_TAP4(2, 8) QATC_T1_TAP4(3, 12)
            "adds r0, #4\n\t"
            "adds r2, #16\n\t"
            "ldr r1, [sp, #20]\n\t"
            "cmp r0, r1\n\t"
            "bne 1b\n"
            "2:\n\t"
            "ldr r1, [sp, #24]\n\t"
            "cmp r0, r1\n\t"
            "beq 4f\n"
            "3:\n\t"
            QATC_T1_TAP4(0, 0)
            "adds r0, #1\n\t"
            "adds r2, #4\n\t"
            "ldr r1, [sp, #24]\n\t"
            "cmp r0, r1\n\t"
            "bne 3b\n"
            "4:\n\t"
            "ldr r0, [sp, #4]\n\t"
            "subs r0, r0, #1\n\t"
            "str r0, [sp, #4]\n\t"
            "beq 6f\n\t"
            "b 5b\n"
            "6:\n\t"
            "ldr r0, [sp, #28]\n\t"       /* 8 S */
            "ldr r1, [sp, #32]\n\t"       /* start */
            "ldr r2, [sp, #36]\n\t"       /* acc */
            QATC_T1_FIX4(0, "r6", "r7")
            "mov r6, r8\n\t"
            "mov r7, r9\n\t"
            QATC_T1_FIX4(8, "r6", "r7")
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            QATC_T1_FIX4(16, "r6", "r7")
            "mov r6, r12\n\t"
            "mov r7, lr\n\t"
            QATC_T1_FIX4(24, "r6", "r7")
            "add sp, sp, #40\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\t"
            "mov r9, r5\n\t"
            "mov r10, r6\n\t"
            "mov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}");
}
#define QATC_T1_KERNEL4_ASM 1
#endif

static QATC_INLINE void col_sums4(const qatc_col *col, int32_t taps, const uint8_t *w,
                                  int32_t oc, int32_t zp, int two, const int32_t *start,
                                  int32_t acc[2][QATC_GROUP])
{
    (void)zp;
    w += oc * taps / 2; /* 4 bytes per tap and eight channels */
#if defined(QATC_T1_KERNEL4_ASM)
    dot8_thumb1_4(col, w, start, acc[0]);
    if (two)
        dot8_thumb1_4(col + QATC_BLOCK(taps), w, start, acc[1]);
#else
    for (int32_t p = 0; p < 1 + (two != 0); p++) {
        const qatc_col *block = col + p * QATC_BLOCK(taps);
        const uint8_t *xb = (const uint8_t *)(block + QATC_HEAD);
        for (int32_t g = 0; g < QATC_GROUP; g++) {
            int32_t a = start[g];
            for (int32_t r = 0; r < block[1]; r++)
                for (int32_t k = block[2 + 2 * r]; k < block[2 + 2 * r] + block[3 + 2 * r]; k++)
                    a += qatc_nib(w, 8 * k + g) * xb[k];
            acc[p][g] = a;
        }
    }
#endif
}
]])
