m4_divert(-1)
# kernels_plain.m4 — version PLAIN of the inner loops (kernels.m4 lists what a version
# defines): plain C for any other core, left to the compiler's vectorizer.

# _QATC_PLAIN_ABOUT: what the version is for.
m4_define([_QATC_PLAIN_ABOUT], [[anything else: plain C loops, left to the compiler.]])

# _QATC_PLAIN_PRELUDE: QATC_INLINE.
m4_define([_QATC_PLAIN_PRELUDE], [_QATC_INLINE_ALWAYS])

# _QATC_PLAIN_DOT: dot_1x4 in plain C.
m4_define([_QATC_PLAIN_DOT], [_QATC_DOT_1X4_C([[]])])

# _QATC_PLAIN_CONV: int8 weights; windows as int16 x - zp.
m4_define([_QATC_PLAIN_CONV], [[
]_QATC_INT8_W[typedef int16_t qatc_col; /* x - zp: window 0's taps, then window 1's */
#define QATC_COL(taps) (2 * (taps))
#define QATC_GROUP 4
]])

# _QATC_PLAIN_GATHER: gather() into int16, col_sums() as eight sums over the same loads.
m4_define([_QATC_PLAIN_GATHER], [_QATC_GATHER_C([[                col[k] = (int16_t)v0, col[taps + k] = (int16_t)v1;
]])_QATC_COL_SUMS([[    /* 8 sums over the same loads, 16-bit factors, a loop of constant length where the
     * layer's shape is: compilers vectorize it (16 x 16 -> 32-bit multiply-adds) */
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    const int16_t *c0 = col, *c1 = col + taps;
    int32_t a00 = start[0], a01 = start[1], a02 = start[2], a03 = start[3];
    int32_t a10 = a00, a11 = a01, a12 = a02, a13 = a03;
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
]])])

# _QATC_PLAIN_LINE: line_sums(), a linear layer's: its int8 input read in place.
m4_define([_QATC_PLAIN_LINE], [[
/* A linear layer's sums, the input read in place (the generator folded -zp * sum w into
 * the layer's bias, start), four channels (OHWI rows) a call:
 *   acc[0][g] = start[g] + sum_k w_g[k] x[k] */
#define QATC_LINE_COPIES 0 /* the input is read in place */
#define QATC_LINE_GROUP 4
static QATC_INLINE void line_sums(const int8_t *x, int32_t taps, const qatc_w *w, int32_t zp,
                                  const int32_t *start, int32_t acc[2][QATC_LINE_GROUP])
{
    (void)zp;
    for (int32_t g = 0; g < 4; g++) {
        const int8_t *wg = w + g * taps;
        int32_t a = start[g];
        for (int32_t k = 0; k < taps; k++)
            a += (int16_t)wg[k] * (int16_t)x[k];
        acc[0][g] = a;
    }
}
]])

# _QATC_PLAIN_SUMS4: col_sums4() over the int16 windows, 4-bit weights in the OHWI order.
m4_define([_QATC_PLAIN_SUMS4], [_QATC_PREP4_NONE[]_QATC_FLAT_SUMS4([[    const int16_t *c0 = col, *c1 = col + taps; /* window 1: 0 when !two */
    (void)zp, (void)two;
]], [[c0[k]]], [[c1[k]]])])
