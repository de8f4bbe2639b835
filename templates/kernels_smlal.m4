m4_divert(-1)
# kernels_smlal.m4 — version SMLAL of the inner loops (kernels.m4 lists what a version
# defines): 32-bit Arm cores without the DSP extension and not Thumb-1 (Cortex-M3). A
# copied window holds both output pixels in one int32 per tap, so that one SMLAL does both.

# _QATC_SMLAL_ABOUT: what the version is for.
m4_define([_QATC_SMLAL_ABOUT], [[other 32-bit Arm cores (Cortex-M3): C in which two output pixels share
 *                    one 32-bit multiplier (SMLAL, a 64-bit accumulate, does both).]])

# _QATC_SMLAL_PRELUDE: QATC_INLINE, QATC_ARG.
m4_define([_QATC_SMLAL_PRELUDE], [_QATC_INLINE_ALWAYS[]_QATC_NAKED_ARG])

# _QATC_SMLAL_DOT: dot_1x4 in plain C (linear layers).
m4_define([_QATC_SMLAL_DOT], [_QATC_DOT_1X4_C([[]])])

# _QATC_SMLAL_CONV: int8 weights; a window pair as one int32 per tap.
m4_define([_QATC_SMLAL_CONV], [[
]_QATC_INT8_W[typedef int32_t qatc_col; /* tap k of both windows, (x0 - zp) + (x1 - zp) * 2^23 */
#define QATC_COL(taps) (taps)
#define QATC_GROUP 4
]])

# _QATC_SMLAL_GATHER: gather() into V = v0 + v1 * 2^23, split23, dot4_smlal (-Os), col_sums().
m4_define([_QATC_SMLAL_GATHER], [_QATC_GATHER_C([[                (void)taps;
                col[k] = v0 + v1 * (1 << 23);
]])[
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
]_QATC_COL_SUMS([[    /* one SMLAL (32 x 32-bit multiply, 64-bit accumulate) per channel and tap serves both
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
]])])
