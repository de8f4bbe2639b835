m4_divert(-1)
# kernels_sse2.m4 — version SSE2 of the inner loops (kernels.m4 lists what a version
# defines): x86 with SSE2 (every x86-64), GCC or clang. conv2d layers through PMADDWD, on
# GCC/clang vectors, their weights in a second layout made for it (cgen's paired_weights).

# _QATC_SSE2_ABOUT: what the version is for.
m4_define([_QATC_SSE2_ABOUT], [[x86 with SSE2 (every x86-64) and GCC or clang: conv2d layers through
 *                    PMADDWD (eight 16-bit products summed in pairs into four int32 lanes),
 *                    their weights in a second layout made for it; linear layers in plain C.]])

# _QATC_SSE2_PRELUDE: QATC_INLINE.
m4_define([_QATC_SSE2_PRELUDE], [_QATC_INLINE_ALWAYS])

# _QATC_SSE2_DOT: dot_1x4 in plain C (for conv2d windows walked row by row; unused).
m4_define([_QATC_SSE2_DOT], [_QATC_DOT_1X4_C([[]])])

# _QATC_SSE2_CONV: the vector types, pmaddwd, and weights and windows as pairs of taps.
m4_define([_QATC_SSE2_CONV], [[
]_QATC_IF_ALL([[#if !defined(__SSE2__)
#error "QATC_DOT_SSE2 needs SSE2"
#endif
]])[/* 128-bit vectors of GCC and clang; pmaddwd(a, b) lane i = a[2i] * b[2i] + a[2i+1] * b[2i+1]
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
]])

# _QATC_SSE2_GATHER: gather() into pairs of taps, col_sums() sixteen channels at a time.
m4_define([_QATC_SSE2_GATHER], [[
]_QATC_GATHER_DOC[/* (a, b) four times: a pair of taps as PMADDWD reads it */
static QATC_INLINE qatc_v16 pair16(int16_t a, int16_t b)
{
    return (qatc_v16){a, b, a, b, a, b, a, b};
}

/* SSE2: window p's QATC_PAIRS(taps) pairs of taps from col + p * QATC_PAIRS(taps) on (a
 * zero tap after an odd last one). The taps of a kernel row that fall inside the input,
 * lo .. hi - 1, are consecutive bytes of an input row (row_taps); the others are 0. With
 * in_c even, pairs never straddle two kernel rows, and eight bytes at a time become four
 * pairs (sign-extended, - zp, PSHUFD repeats each 32-bit lane). */
static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0, int32_t cx0,
                               int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t taps = s->kernel_h * s->kernel_w * s->in_c, row = s->kernel_w * s->in_c;
    int16_t z = (int16_t)s->in_zp;
    qatc_v16 zp = {z, z, z, z, z, z, z, z};
    for (int32_t p = 0; p < 2; p++) {
        qatc_col *c = col + p * QATC_PAIRS(taps);
        int32_t odd = 0; /* with in_c odd: is the next tap the second of a pair? */
        int16_t v = 0;   /* and then the first one's value */
        for (int32_t ky = 0; ky < s->kernel_h; ky++) {
            int32_t lo = row, hi = row;
            /* tap t of the kernel row, lo <= t < hi, is x[t - lo] */
            const int8_t *x = p == 0 || two ? row_taps(s, in, p ? cy1 : cy0, p ? cx1 : cx0, ky,
                                                       &lo, &hi)
                                            : NULL;
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
]_QATC_COL_SUMS([[    /* sixteen channels, four per vector: lane i of s_pg is channel 4g + i's sum over the
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
        acc[0][i] = start[i] + s00[i], acc[0][4 + i] = start[4 + i] + s01[i];
        acc[0][8 + i] = start[8 + i] + s02[i], acc[0][12 + i] = start[12 + i] + s03[i];
        acc[1][i] = start[i] + s10[i], acc[1][4 + i] = start[4 + i] + s11[i];
        acc[1][8 + i] = start[8 + i] + s12[i], acc[1][12 + i] = start[12 + i] + s13[i];
    }
]],
[[the pairs layout, QATC_PAIRS(taps) vectors per four channels, w_step unused]])])

# _QATC_SSE2_LINE: line_sums(), a linear layer's: its int8 input read in place.
m4_define([_QATC_SSE2_LINE], [[
/* A linear layer's sums, the input read in place (the generator folded -zp * sum w into
 * the layer's bias, start), sixteen channels a call, in plain C over the PMADDWD layout
 * (channel g's tap k is w[g / 4 * QATC_PAIRS(taps) + k / 2][2 * (g % 4) + k % 2]):
 *   acc[0][g] = start[g] + sum_k w_g[k] x[k] */
#define QATC_LINE_COPIES 0 /* the input is read in place */
#define QATC_LINE_GROUP QATC_GROUP
static QATC_INLINE void line_sums(const int8_t *x, int32_t taps, const qatc_w *w, int32_t zp,
                                  const int32_t *start, int32_t acc[2][QATC_LINE_GROUP])
{
    (void)zp;
    for (int32_t g = 0; g < QATC_GROUP; g++) {
        const qatc_w *wg = w + g / 4 * QATC_PAIRS(taps);
        int32_t a = start[g];
        for (int32_t k = 0; k < taps; k++)
            a += wg[k / 2][2 * (g % 4) + k % 2] * x[k];
        acc[0][g] = a;
    }
}
]])

# _QATC_SSE2_SUMS4: col_sums4() over the windows' pairs of taps, 4-bit weights in the OHWI
# order; in C.
m4_define([_QATC_SSE2_SUMS4], [_QATC_PREP4_NONE[]_QATC_FLAT_SUMS4([[    const qatc_v16 *x0 = col, *x1 = col + QATC_PAIRS(taps); /* (v[2j], v[2j+1]), 4 times */
    (void)zp, (void)two;
]], [[x0[k / 2][k % 2]]], [[x1[k / 2][k % 2]]])])
