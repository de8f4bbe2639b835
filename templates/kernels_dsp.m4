m4_divert(-1)
# kernels_dsp.m4 — version DSP of the inner loops (kernels.m4 lists what a version defines):
# Arm cores with the DSP extension (Cortex-M4, M7, M33, M55). In a file with every version
# it carries a C emulation of its instructions, so that the tests run it on any host.

# _QATC_DSP_ABOUT: what the version is for.
m4_define([_QATC_DSP_ABOUT], [[Arm cores with the DSP extension (Cortex-M4, M7, M33, M55): SMLAD adds
 *                    two 16-bit products per instruction; four int8 per 32-bit load, split
 *                    into 16-bit lanes by SXTB16/SXTAB16 (which also subtracts zp).]])

# _QATC_DSP_PRELUDE: QATC_INLINE, QATC_ARG, QATC_DSP_ASM (-Os: dot_1x4's loop in assembly).
m4_define([_QATC_DSP_PRELUDE], [_QATC_INLINE_ALWAYS[]_QATC_NAKED_ARG[#if defined(__OPTIMIZE_SIZE__) && defined(__thumb2__)
#define QATC_DSP_ASM 1 /* at -Os dot_1x4's loop is assembly (dot4_dsp) */
#endif
]])

# _QATC_DSP_DOT: the DSP instructions, dot4_dsp (-Os) and dot_1x4.
m4_define([_QATC_DSP_DOT], [[
/* The DSP instructions, on 32-bit words holding two 16-bit lanes (lo = bits 0..15). */
static QATC_INLINE int32_t lanes(int32_t lo, int32_t hi) /* lo, hi wrapped to 16 bits */
{
    return (int32_t)((uint32_t)(uint16_t)hi << 16 | (uint16_t)lo);
}
#if defined(QATC_DSP_ASM)
/* the helpers below: unused at -Os, where the loops that use them are assembly */
]_QATC_IF_ALL([[#elif defined(__ARM_FEATURE_DSP)
]], [[#else
]])[static QATC_INLINE int32_t sxtb16(uint32_t v) /* lanes: int8 bytes 0 and 2 of v */
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

#if !defined(QATC_DSP_ASM)
/* Four bytes from p, little-endian: p[0] in bits 0..7 (GCC makes this one load). */
static QATC_INLINE uint32_t load4(const int8_t *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
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

# _QATC_DSP_CONV: int8 weights and windows; dot_2x4 two channels at a time (-O2).
m4_define([_QATC_DSP_CONV], [_QATC_IN_PLACE_CONV([[#if !defined(__OPTIMIZE_SIZE__)
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
]_QATC_DOT_2X4_TWICE[#endif
]])])

# _QATC_DSP_GATHER: the windows copied as int8.
m4_define([_QATC_DSP_GATHER], [_QATC_IN_PLACE_GATHER])
