m4_divert(-1)
# layers.m4 — the per-layer templates of the generated NAME.c: one static function per
# layer, calling the kernel library (kernels.m4). Included by model_c.m4; quotes [ ] (see
# qatc.m4).
#
# Every layer function is one loop nest over constants: the generator passes
# the layer's shapes, strides, zero-points and clamp range as the body of an
# enum (CONSTANTS, e.g. "IN_H = 28, IN_W = 28, ..."), and its int8 weights,
# int32 biases and requantization multipliers/shifts as C initializers. The
# arithmetic is that of the runtime's reference kernels (runtime/int8/q8_kernels.c),
# bit for bit: acc in int32, one rounding in int64, + zero-point, clamp.
# Tensors are NHWC int8: x[y][x][c] is in[(y * W + x) * C + c].
#
# A conv2d layer has two loop nests, row by row or with copied windows; which one runs
# depends on the version of the inner loops (_QATC_BY_ROWS), as does the layout of its
# weights (_QATC_BY_WEIGHTS).

# _QATC_CONV_DATA(CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, QUADS, BYTES8, BIAS8
# [, GROUP]): the constants of a conv2d layer, its weights in the layout of the version
# (WEIGHTS in QATC_VERSIONS, kernels.m4): WEIGHTS as int8 OHWI rows, PAIRED for PMADDWD,
# QUADS for SMLAD's tiles, BYTES8 as unsigned bytes with BIAS8, the bias that goes with
# them. GROUP: the channels a call of the kernel computes (QATC_GROUP unless given).
m4_define([_QATC_CONV_DATA], [[    enum { $1 };
    /* the channels ]m4_ifelse([$10], [], [[col_sums()]], [[line_sums()]])[ computes: W_ROWS rounded up to ]m4_ifelse([$10], [], [[QATC_GROUP]], [[$10]])[ */
    enum { G_ROWS = ]m4_ifelse([$10], [], [[(W_ROWS + QATC_GROUP - 1) / QATC_GROUP * QATC_GROUP]],
                               [[(W_ROWS + $10 - 1) / $10 * $10]])[ };
]_QATC_BY_WEIGHTS([[    /* weights for PMADDWD: wp[oc / 4][k / 2] = (w[oc][k], w[oc][k + 1], w[oc + 1][k], ...,
     * w[oc + 3][k + 1]), k = (ky * KERNEL_W + kx) * IN_C + ic the taps of w below (0 past
     * the last tap, to an even number of pairs, and in the rows from OUT_C to W_ROWS) */
    static const qatc_v16 wp[G_ROWS / 4][QATC_PAIRS(W_STEP)] = $6; /* rows past W_ROWS: 0 */
    const qatc_w *weights = &wp[0][0];
    static const int32_t bias[G_ROWS] = $3; /* 0 from OUT_C on */
]], [[    /* weights for SMLAD: wq[oc / 4][k / 4] = (w[oc][k], w[oc + 1][k], w[oc][k + 2],
     * w[oc + 1][k + 2]), the same for oc + 2, oc + 3, then for k + 1, k + 3 (k = 4j the taps
     * (ky * KERNEL_W + kx) * IN_C + ic, each kernel row padded to whole quads when that
     * costs none (QATC_ROWS4); 0 past the last tap and in the rows from OUT_C to W_ROWS) */
    static const int8_t wq[W_ROWS / 4][QATC_TAPS4(W_STEP) / 4][16] QATC_QUADS_ALIGNED = $7;
    const qatc_w *weights = &wq[0][0][0];
    static const int32_t bias[G_ROWS] = $3; /* 0 from OUT_C on */
]], [[    /* weights as unsigned bytes: wu[oc / 8][k] = (w[oc][k] + 128, ..., w[oc + 7][k] + 128)
     * (128 in the rows from OUT_C to G_ROWS), k = (ky * KERNEL_W + kx) * IN_C + ic */
    static const uint8_t wu[G_ROWS / 8][W_STEP][8] = $8;
    const qatc_w *weights = &wu[0][0][0];
    /* bias[oc] - (128 + IN_ZP) * (the sum of channel oc's weights), modulo 2^32: the
     * constant terms of the sums over unsigned bytes (0 from OUT_C on) */
    static const int32_t bias[G_ROWS] = $9;
]], [[    /* weights w[oc][ky][kx][ic]; rows from OUT_C to G_ROWS are 0 (the kernels do
     * QATC_GROUP channels at a time) */
    static const int8_t w[G_ROWS][KERNEL_H][KERNEL_W][IN_C] = $2;
    const qatc_w *weights = (const int8_t *)w;
    static const int32_t bias[G_ROWS] = $3; /* 0 from OUT_C on */
]])[    static const int32_t mult[OUT_C] = $4;
    static const int8_t shift[OUT_C] = $5;
    static const conv_shape shape = {IN_H,     IN_W,     IN_C,  KERNEL_H, KERNEL_W,
                                     STRIDE_H, STRIDE_W, PAD_H, PAD_W,    IN_ZP};
]])

# QATC_WEIGHT_BITS(BITS): the layers that follow have BITS-bit weights (8, or 4: packed two
# per byte, see _QATC_CONV_DATA4); the generator sets 4 for one layer and 8 again after it.
m4_define([QATC_WEIGHT_BITS], [QATC_CHECK([$0], [1], $@)m4_dnl
m4_define([_QATC_W4], m4_ifelse([$1], [4], [1], [$1], [8], [0],
  [QATC_FAIL([$0], [weights of $1 bits])]))])
m4_define([_QATC_W4], [0])

# _QATC_IF_W4(TEXT4, TEXT8): TEXT4 for a layer with 4-bit weights, else TEXT8.
m4_define([_QATC_IF_W4], [m4_ifelse(_QATC_W4, [1], [$1], [$2])])

# _QATC_CONV_DATA_FOR(...): _QATC_CONV_DATA's arguments, printed for the layer's weight bits.
m4_define([_QATC_CONV_DATA_FOR], [_QATC_IF_W4([_QATC_CONV_DATA4($@)], [_QATC_CONV_DATA($@)])])

# _QATC_CONV_DATA4(CONSTANTS, FLAT, BIAS, MULT, SHIFT, UNUSED, QUADS4, BYTES8_4, BIAS8): the
# constants of a conv2d layer with 4-bit weights, two per byte (element 2k in the low
# nibble, 2k + 1 in the high one), in the order the version reads them: QUADS4 for SMLAD's
# and SMLAL's tiles, BYTES8_4 with BIAS8 for Thumb-1, FLAT (OHWI rows) for the others.
m4_define([_QATC_CONV_DATA4], [[    enum { $1 };
    /* the channels col_sums4() computes: W_ROWS rounded up to QATC_GROUP */
    enum { G_ROWS = (W_ROWS + QATC_GROUP - 1) / QATC_GROUP * QATC_GROUP };
]_QATC_BY_WEIGHTS4([[    /* 4-bit weights for SMLAD and SMLAL, two per byte: per four channels a, b, c, d and
     * four taps k = 4j .. 4j + 3 (as in the 8-bit quads), two words: (a[k], b[k], a[k+2],
     * b[k+2]) in the high nibbles of the bytes and (c[k], d[k], c[k+2], d[k+2]) in the low
     * ones, then the same for k + 1, k + 3 */
    static const uint8_t wq4[W_ROWS * QATC_TAPS4(W_STEP) / 2] = $7;
    const uint8_t *weights4 = wq4;
    static const int32_t bias[G_ROWS] = $3; /* 0 from OUT_C on */
]], [[    /* 4-bit weights, two per byte: per eight channels, per tap k, channels 2j (low
     * nibble) and 2j + 1 (high nibble) in byte j (0 in the rows from OUT_C to G_ROWS) */
    static const uint8_t wu4[G_ROWS / 8 * W_STEP * 4] = $8;
    const uint8_t *weights4 = wu4;
    /* bias[oc] - (128 + IN_ZP) * (the sum of channel oc's weights), modulo 2^32 (0 from
     * OUT_C on) */
    static const int32_t bias[G_ROWS] = $9;
]], [[    /* 4-bit weights w[oc][ky][kx][ic] in this order, two per byte (element 2k in the low
     * nibble); rows from OUT_C to G_ROWS are 0 */
    static const uint8_t w4[(G_ROWS * W_STEP + 1) / 2] = $2;
    const uint8_t *weights4 = w4;
    static const int32_t bias[G_ROWS] = $3; /* 0 from OUT_C on */
]])[    static const int32_t mult[OUT_C] = $4;
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

# The loop nests. _QATC_RUNS_* walk windows with conv_sums (versions with ROWS 1; the
# conv outputs of a pool window two at a time, rows dy, dy + 1), _QATC_COPIED_* copy each
# pixel pair's windows once with gather() and reuse them for every channel (col_sums,
# which starts from the bias); their pairs go in raster order, over the output or over a
# pool window's conv outputs, so that only the last pixel of an odd count is alone.

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

# _QATC_NEXT_PAIR(Y0, X0, Y1, X1, W, INDENT): after pixels (Y0, X0) and (Y1, X1), the
# first of the next pair, in raster order over rows of W pixels.
m4_define([_QATC_NEXT_PAIR], [[$6$1 = $4 + 1 < $5 ? $3 : $3 + 1, $2 = $4 + 1 < $5 ? $4 + 1 : 0;
]])

m4_define([_QATC_COPIED_CONV], [_QATC_IF_W4([[    qatc_col col[QATC_COL(W_STEP) + 4]; /* the windows of two output pixels, then prep4's */]],
             [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two output pixels */]])[

    /* output pixels i and i + 1, (y0, x0) and (y1, x1) in raster order, their windows
     * copied once for all channels */
    for (int32_t i = 0, y0 = 0, x0 = 0; i < OUT_H * OUT_W; i += 2) {
        int two = i + 1 < OUT_H * OUT_W;
        int32_t y1 = x0 + 1 < OUT_W ? y0 : y0 + 1, x1 = x0 + 1 < OUT_W ? x0 + 1 : 0;
        gather(&shape, in, y0, x0, y1, x1, two, col);
]_QATC_IF_W4([[        prep4(col, W_STEP); /* what col_sums4 needs besides the windows */
]])[        for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
            int32_t acc[2][QATC_GROUP];
]_QATC_IF_W4([[            col_sums4(col, W_STEP, weights4, oc, IN_ZP, two, bias + oc, acc);
]], [[            col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP, two, bias + oc,
                     acc);
]])[            for (int32_t g = 0; g < QATC_GROUP && oc + g < OUT_C; g++) {
                int32_t c = oc + g;
                out[i * OUT_C + c] =
                    requantize(acc[0][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
                if (two)
                    out[(i + 1) * OUT_C + c] =
                        requantize(acc[1][g], mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
            }
        }
]_QATC_NEXT_PAIR([y0], [x0], [y1], [x1], [OUT_W], [        ])[    }
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

m4_define([_QATC_COPIED_MAXPOOL], [_QATC_IF_W4([[    qatc_col col[QATC_COL(W_STEP) + 4]; /* two conv output pixels' windows, then prep4's */]],
             [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two conv output pixels */]])[

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            int32_t best[G_ROWS]; /* the largest acc of the window, per channel */
            /* the pool window's conv outputs (dy0, dx0) and (dy1, dx1) in raster order, their
             * windows copied once for all channels */
            for (int32_t j = 0, dy0 = 0, dx0 = 0; j < POOL_H * POOL_W; j += 2) {
                int two = j + 1 < POOL_H * POOL_W;
                int32_t dy1 = dx0 + 1 < POOL_W ? dy0 : dy0 + 1;
                int32_t dx1 = dx0 + 1 < POOL_W ? dx0 + 1 : 0;
                gather(&shape, in, oy * POOL_H + dy0, ox * POOL_W + dx0, oy * POOL_H + dy1,
                       ox * POOL_W + dx1, two, col);
]_QATC_IF_W4([[                prep4(col, W_STEP); /* what col_sums4 needs besides the windows */
]])[                for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
                    int32_t acc[2][QATC_GROUP];
]_QATC_IF_W4([[                    col_sums4(col, W_STEP, weights4, oc, IN_ZP, two, bias + oc, acc);
]], [[                    col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP,
                             two, bias + oc, acc);
]])[                    for (int32_t g = 0; g < QATC_GROUP; g++) {
                        int32_t m = two && acc[1][g] > acc[0][g] ? acc[1][g] : acc[0][g];
                        if (j == 0 || m > best[oc + g])
                            best[oc + g] = m;
                    }
                }
]_QATC_NEXT_PAIR([dy0], [dx0], [dy1], [dx1], [POOL_W], [                ])[            }
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

m4_define([_QATC_COPIED_AVGPOOL], [_QATC_IF_W4([[    qatc_col col[QATC_COL(W_STEP) + 4]; /* two conv output pixels' windows, then prep4's */]],
             [[    qatc_col col[QATC_COL(W_STEP)]; /* the windows of two conv output pixels */]])[

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            int32_t sum[G_ROWS]; /* sum of (y - CONV_ZP) over the window, per channel */
            for (int32_t c = 0; c < G_ROWS; c++)
                sum[c] = 0;
            /* the pool window's conv outputs (dy0, dx0) and (dy1, dx1) in raster order, their
             * windows copied once for all channels */
            for (int32_t j = 0, dy0 = 0, dx0 = 0; j < POOL_H * POOL_W; j += 2) {
                int two = j + 1 < POOL_H * POOL_W;
                int32_t dy1 = dx0 + 1 < POOL_W ? dy0 : dy0 + 1;
                int32_t dx1 = dx0 + 1 < POOL_W ? dx0 + 1 : 0;
                gather(&shape, in, oy * POOL_H + dy0, ox * POOL_W + dx0, oy * POOL_H + dy1,
                       ox * POOL_W + dx1, two, col);
]_QATC_IF_W4([[                prep4(col, W_STEP); /* what col_sums4 needs besides the windows */
]])[                for (int32_t oc = 0; oc < OUT_C; oc += QATC_GROUP) {
                    int32_t acc[2][QATC_GROUP];
]_QATC_IF_W4([[                    col_sums4(col, W_STEP, weights4, oc, IN_ZP, two, bias + oc, acc);
]], [[                    col_sums(col, W_STEP, QATC_W_AT(weights, oc, W_STEP), W_STEP, IN_ZP,
                             two, bias + oc, acc);
]])[                    for (int32_t g = 0; g < QATC_GROUP && oc + g < OUT_C; g++) {
                        int32_t c = oc + g;
                        sum[c] += requantize(acc[0][g], mult[c], shift[c], CONV_ZP, CONV_MIN,
                                             CONV_MAX) - CONV_ZP;
                        if (two)
                            sum[c] += requantize(acc[1][g], mult[c], shift[c], CONV_ZP,
                                                 CONV_MIN, CONV_MAX) - CONV_ZP;
                    }
                }
]_QATC_NEXT_PAIR([dy0], [dx0], [dy1], [dx1], [POOL_W], [                ])[            }
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

# QATC_CONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, QUADS,
# BYTES8, BIAS8): a conv2d layer (the last four: its weights and bias in the layouts of
# some versions, see _QATC_CONV_DATA).
m4_define([QATC_CONV2D], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])]m4_dnl
[_QATC_BY_ROWS([_QATC_RUNS_CONV], [_QATC_COPIED_CONV])[}
]])

# QATC_CONV2D_COL(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, ...): a
# conv2d layer with short kernel rows: the copied-windows nest on every core.
m4_define([QATC_CONV2D_COL], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])[
]_QATC_COPIED_CONV[}
]])

# QATC_CONV2D_MAXPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, ...): a
# conv2d and the max pool after it (windows POOL_H x POOL_W, stride = window) in one loop nest.
m4_define([QATC_CONV2D_MAXPOOL], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])]m4_dnl
[_QATC_BY_ROWS([_QATC_RUNS_MAXPOOL], [_QATC_COPIED_MAXPOOL])[}
]])

# QATC_CONV2D_MAXPOOL_COL(...): the same with short kernel rows (copied windows on every core).
m4_define([QATC_CONV2D_MAXPOOL_COL], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])[
]_QATC_COPIED_MAXPOOL[}
]])

# QATC_CONV2D_AVGPOOL(MODEL, NAME, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, ...): a
# conv2d and the average pool after it (windows POOL_H x POOL_W, stride = window, or one
# window over everything) in one loop nest.
m4_define([QATC_CONV2D_AVGPOOL], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])]m4_dnl
[_QATC_BY_ROWS([_QATC_RUNS_AVGPOOL], [_QATC_COPIED_AVGPOOL])[}
]])

# QATC_CONV2D_AVGPOOL_COL(...): the same with short kernel rows (copied windows on every core).
m4_define([QATC_CONV2D_AVGPOOL_COL], [QATC_CHECK([$0], [12], $@)_QATC_CONV_HEAD([$1], [$2], [$3])]m4_dnl
[_QATC_CONV_DATA_FOR([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12])[
]_QATC_COPIED_AVGPOOL[}
]])

# QATC_DWCONV2D(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, KERNEL_H,
# KERNEL_W, STRIDE_H): depthwise, multiplier 1, undilated, 8-bit weights, one channel at a
# time: its weights in registers (w0 .. w<taps - 1>, the taps written out), its input rows
# copied into a padded plane of bytes x + 128 (a band of BAND output rows at a time), so that
# every output is the same straight sum over the plane at constant offsets, without a
# test or a zero-point. The generator folds the zero-point into the bias (CONSTANTS: PW
# columns, LEFT of them padding, then COPY_W input columns; RQ_T: requantize_high with one
# t for every channel (RQ_T > 0) or each channel's own (-1), else requantize (0)).
m4_define([QATC_DWCONV2D], [QATC_CHECK([$0], [11], $@)[
/* $3 */
static QATC_DW_FUNCTION void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };
    enum { PLANE_H = (BAND - 1) * STRIDE_H + KERNEL_H, RIGHT = PW - LEFT - COPY_W,
           PAD_U = IN_ZP + 128 /* the padding, x + 128 */ };
    /* weights w[c][ky * KERNEL_W + kx] */
    static const int8_t w[C][KERNEL_H * KERNEL_W] = $5;
    /* bias[c] - (128 + IN_ZP) * (the sum of channel c's weights), modulo 2^32: the sums
     * run over x + 128 */
    static const int32_t bias[C] = $6;
    static const int32_t mult[C] = $7;
    static const int8_t shift[C] = $8;
    uint8_t plane[PLANE_H][PW]; /* a band's input rows of one channel, x + 128, padded */

    if (BAND >= OUT_H) /* one band: its padding is the same for every channel */
        for (int32_t j = 0; j < PLANE_H; j++)
            for (int32_t i = 0; i < PW; i++)
                plane[j][i] = PAD_U;
    for (int32_t c = 0; c < C; c++) {
        /* requantize_high's t2 = t - 32 and round_zp = 2^(t - 33) + OUT_ZP 2^t2 with
         * t = 31 - shift + up, acc taken times 2^up (weights and bias shifted): t = RQ_T
         * for every channel (constants of the layer), or with RQ_T -1 at least 33 */
        int32_t t = 31 - shift[c], up = RQ_T > 0 ? RQ_T - t : RQ_T < 0 && t < 33 ? 33 - t : 0;
        int32_t t2 = RQ_T > 0 ? RQ_T - 32 : t + up - 32;
        int32_t round_zp = RQ_T ? (1 << (t2 - 1)) + OUT_ZP * (1 << t2) : 0;
        uint32_t b = (uint32_t)bias[c] << up;
]_QATC_DW_WEIGHTS([0], m4_eval([$9 * $10]))[
        for (int32_t oy0 = 0; oy0 < OUT_H; oy0 += BAND) {
            int32_t rows = OUT_H - oy0 < BAND ? OUT_H - oy0 : BAND;
            /* the band's input rows, from oy0 * STRIDE_H - PAD_H on (with one band, only
             * the bytes inside the input: the padding was filled once above) */
            for (int32_t j = 0; j < (rows - 1) * STRIDE_H + KERNEL_H; j++) {
                int32_t iy = oy0 * STRIDE_H - PAD_H + j;
                uint8_t *d = plane[j];
                if (iy < 0 || iy >= IN_H) {
                    for (int32_t i = 0; BAND < OUT_H && i < PW; i++)
                        d[i] = PAD_U;
                    continue;
                }
                const int8_t *x = in + iy * IN_W * C + c;
                for (int32_t i = 0; BAND < OUT_H && i < LEFT; i++)
                    d[i] = PAD_U;
                int32_t i = 0;
                for (; i + 4 <= COPY_W; i += 4, x += 4 * C) { /* four at a time: fewer steps */
                    d[LEFT + i] = (uint8_t)(x[0] + 128);
                    d[LEFT + i + 1] = (uint8_t)(x[C] + 128);
                    d[LEFT + i + 2] = (uint8_t)(x[2 * C] + 128);
                    d[LEFT + i + 3] = (uint8_t)(x[3 * C] + 128);
                }
                for (; i < COPY_W; i++, x += C)
                    d[LEFT + i] = (uint8_t)(x[0] + 128);
                for (i = 0; BAND < OUT_H && i < RIGHT; i++)
                    d[LEFT + COPY_W + i] = PAD_U;
            }
            /* two output rows at a time: the plane rows they share are loaded once */
            int32_t r = 0;
            for (; r + 1 < rows; r += 2) {
                const uint8_t *p = plane[r * STRIDE_H];
                int8_t *o = out + (oy0 + r) * OUT_W * C + c;
                for (int32_t ox = 0; ox < OUT_W; ox++, p += STRIDE_W, o += C) {
                    uint32_t a0 = b, a1 = b, x;
]_QATC_DW_PAIR([0], m4_eval([($11 + $9) * $10]), [$9], [$10], [$11])[]_QATC_DW_STORE([o[0]], [a0])[]_QATC_DW_STORE([o[OUT_W * C]], [a1])[                }
            }
            if (r < rows) {
                const uint8_t *p = plane[r * STRIDE_H];
                int8_t *o = out + (oy0 + r) * OUT_W * C + c;
                for (int32_t ox = 0; ox < OUT_W; ox++, p += STRIDE_W, o += C) {
                    uint32_t a0 = b]_QATC_DW_TAPS([0], m4_eval([$9 * $10]), [$10])[;
]_QATC_DW_STORE([o[0]], [a0])[                }
            }
        }
    }
}
]])

# _QATC_DW_WEIGHTS(K, N): uint32_t wK = channel c's weight K times 2^up, .., up to N - 1.
m4_define([_QATC_DW_WEIGHTS], [m4_ifelse(m4_eval([$1 < $2]), [1],
[[        uint32_t w$1 = (uint32_t)w[c][$1] << up;
]_QATC_DW_WEIGHTS(m4_incr([$1]), [$2])])])

# _QATC_DW_STORE(LVALUE, ACC): LVALUE = ACC requantized (ACC the uint32_t sum, which is
# acc modulo 2^32).
m4_define([_QATC_DW_STORE], [[                    $1 = RQ_T ? (int8_t)requantize_high((int32_t)$2, mult[c], round_zp, t2, ACT_MIN, ACT_MAX)
                          : requantize((int32_t)$2, mult[c], shift[c], OUT_ZP, ACT_MIN, ACT_MAX);
]])

# _QATC_DW_PAIR(I, N, KERNEL_H, KERNEL_W, STRIDE_H): the sums a0, a1 of two output rows, one
# statement per plane byte I .. N - 1 (plane row k = I / KERNEL_W, column kx = I % KERNEL_W):
# row k is kernel row k of the first output and kernel row k - STRIDE_H of the second.
m4_define([_QATC_DW_PAIR], [m4_ifelse(m4_eval([$1 < $2]), [1],
[_QATC_DW_PAIR_TAP(m4_eval([$1 / $4]), m4_eval([$1 % $4]), [$3], [$4], [$5])]m4_dnl
[_QATC_DW_PAIR(m4_incr([$1]), [$2], [$3], [$4], [$5])])])

# _QATC_DW_PAIR_TAP(K, KX, KERNEL_H, KERNEL_W, STRIDE_H): one statement of _QATC_DW_PAIR.
m4_define([_QATC_DW_PAIR_TAP], [m4_ifelse(m4_eval([$1 < $3 || ($1 >= $5 && $1 - $5 < $3)]), [1],
[[                    x = p[$1 * PW + $2];]m4_ifelse(m4_eval([$1 < $3]), [1],
[[ a0 += w]m4_eval([$1 * $4 + $2])[ * x;]])m4_ifelse(m4_eval([$1 >= $5 && $1 - $5 < $3]), [1],
[[ a1 += w]m4_eval([($1 - $5) * $4 + $2])[ * x;]])[
]])])

# _QATC_DW_TAPS(K, N, KERNEL_W): + wK * p[ky * PW + kx] for taps K .. N - 1, k = ky *
# KERNEL_W + kx, three to a line.
m4_define([_QATC_DW_TAPS], [m4_ifelse(m4_eval([$1 < $2]), [1],
[_QATC_DW_TAP([$1], m4_eval([$1 / $3]), m4_eval([$1 % $3]))_QATC_DW_TAPS(m4_incr([$1]), [$2], [$3])])])

# _QATC_DW_TAP(K, KY, KX): one term of _QATC_DW_TAPS.
m4_define([_QATC_DW_TAP], [m4_ifelse(m4_eval([$1 % 3]), [0], [
                        ])[ + w$1 * p[$2 * PW + $3]]])

# QATC_LINEAR(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT, PAIRED, QUADS,
# BYTES8, BIAS8): a fully connected layer, computed as what it is, a 1x1 conv2d on one
# pixel of IN_C = IN_N channels: its weights in the layout of the version (the conv2d's,
# _QATC_CONV_DATA; W_ROWS a multiple of eight), then line_sums() for QATC_LINE_GROUP
# outputs at a time (kernels.m4). Most versions read the int8 input in place: BIAS is
# then bias - IN_ZP * sum w (the generator's), the sums' constant term. The others
# (QATC_LINE_COPIES) sum the input gather() copied once, from BIAS8 (Thumb-1's).
m4_define([QATC_LINEAR], [QATC_CHECK([$0], [12], $@)[
/* $3 */
static void $1_layer_$2(const int8_t *in /* (IN_N) */, int8_t *out /* (OUT_N) */)
{
]_QATC_CONV_DATA([$4], [$5], [$6], [$7], [$8], [$9], [$10], [$11], [$12],
  [QATC_LINE_GROUP])[#if QATC_LINE_COPIES
    qatc_col x[QATC_COL1(W_STEP)]; /* the input, copied once for all outputs */
    gather(&shape, in, 0, 0, 0, 0, 0, x);
#else
    const int8_t *x = in; /* read in place: bias[oc] is bias - IN_ZP * sum w */
    (void)shape;
#endif
    for (int32_t oc = 0; oc < OUT_C; oc += QATC_LINE_GROUP) {
        /* acc = bias + sum w * (x - IN_ZP), outputs oc .. oc + QATC_LINE_GROUP - 1 */
        int32_t acc[2][QATC_LINE_GROUP];
        line_sums(x, W_STEP, QATC_W_AT(weights, oc, W_STEP), IN_ZP, bias + oc, acc);
        for (int32_t g = 0; g < QATC_LINE_GROUP && oc + g < OUT_C; g++)
            out[oc + g] = requantize(acc[0][g], mult[oc + g], shift[oc + g], OUT_ZP, ACT_MIN,
                                     ACT_MAX);
    }
}
]])

# QATC_LINEAR4(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a fully
# connected layer with 4-bit weights, packed in the order (out, in) (dot4_1x4).
m4_define([QATC_LINEAR4], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(const int8_t *in /* (IN_N) */, int8_t *out /* (OUT_N) */)
{
    enum { $4 };
    /* 4-bit weights w[o][i] in this order, two per byte (element 2k in the low nibble); rows
     * from OUT_N to W_ROWS are 0 (four outputs at a time) */
    static const uint8_t w4[(W_ROWS * IN_N + 1) / 2] = $5;
    static const int32_t bias[OUT_N] = $6;
    static const int32_t mult[OUT_N] = $7;
    static const int8_t shift[OUT_N] = $8;

    for (int32_t o = 0; o < OUT_N; o += 4) {
        /* acc = bias + sum w * (x - IN_ZP), outputs o .. o + 3 */
        int32_t acc[4];
        for (int32_t g = 0; g < 4; g++)
            acc[g] = o + g < OUT_N ? bias[o + g] : 0;
        dot4_1x4(in, w4, o * IN_N, IN_N, IN_N, IN_ZP, acc);
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


# ---- Forms beyond format version 1 -----------------------------------------------------
# Each is one plain C loop nest, the same on every version of the inner loops (the fast
# kernels above take the undilated windows only), printed only for layers that use the
# form, so models without them get exactly the code above.

# QATC_CONV2D_GENERAL(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT): a conv2d
# with any window (dilation DIL_H x DIL_W), in plain C.
m4_define([QATC_CONV2D_GENERAL], [QATC_CHECK([$0], [8], $@)_QATC_CONV_HEAD([$1], [$2], [$3])[    enum { $4 };
]_QATC_IF_W4([[    /* 4-bit weights w[oc][ky][kx][ic] in this order, two per byte (element 2k in the low
     * nibble) */
    static const uint8_t w4[(OUT_C * KERNEL_H * KERNEL_W * IN_C + 1) / 2] = $5;
]], [[    static const int8_t w[OUT_C][KERNEL_H][KERNEL_W][IN_C] = $5;
]])[    static const int32_t bias[OUT_C] = $6;
    static const int32_t mult[OUT_C] = $7;
    static const int8_t shift[OUT_C] = $8;

    /* tap (ky, kx) of output (oy, ox) reads input row oy * STRIDE_H - PAD_TOP + ky * DIL_H
     * and column ox * STRIDE_W - PAD_LEFT + kx * DIL_W; taps outside the input are padding
     * (x = IN_ZP, nothing to add) */
    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t oc = 0; oc < OUT_C; oc++) {
                int32_t acc = bias[oc];
                for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                    int32_t iy = oy * STRIDE_H - PAD_TOP + ky * DIL_H;
                    if (iy < 0 || iy >= IN_H)
                        continue;
                    for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                        int32_t ix = ox * STRIDE_W - PAD_LEFT + kx * DIL_W;
                        if (ix < 0 || ix >= IN_W)
                            continue;
                        const int8_t *x = in + (iy * IN_W + ix) * IN_C;
                        for (int32_t ic = 0; ic < IN_C; ic++)
]_QATC_IF_W4([[                            acc += qatc_nib(w4, ((oc * KERNEL_H + ky) * KERNEL_W + kx) * IN_C + ic) *
                                   (x[ic] - IN_ZP);
]], [[                            acc += w[oc][ky][kx][ic] * (x[ic] - IN_ZP);
]])[                    }
                }
                out[(oy * OUT_W + ox) * OUT_C + oc] =
                    requantize(acc, mult[oc], shift[oc], OUT_ZP, ACT_MIN, ACT_MAX);
            }
        }
    }
}
]])

# QATC_DWCONV2D_GENERAL(MODEL, LAYER, COMMENT, CONSTANTS, WEIGHTS, BIAS, MULT, SHIFT):
# depthwise with channel multiplier DEPTH_MULT (output channel ic * DEPTH_MULT + m reads
# input channel ic) and any window (dilation DIL_H x DIL_W).
m4_define([QATC_DWCONV2D_GENERAL], [QATC_CHECK([$0], [8], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, IN_C) */, int8_t *out /* (OUT_H, OUT_W, OUT_C) */)
{
    enum { $4 };
]_QATC_IF_W4([[    /* 4-bit weights w[ky][kx][oc] in this order, two per byte (element 2k in the low nibble) */
    static const uint8_t w4[(KERNEL_H * KERNEL_W * OUT_C + 1) / 2] = $5;
]], [[    static const int8_t w[KERNEL_H][KERNEL_W][OUT_C] = $5;
]])[    static const int32_t bias[OUT_C] = $6;
    static const int32_t mult[OUT_C] = $7;
    static const int8_t shift[OUT_C] = $8;

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
            for (int32_t ic = 0; ic < IN_C; ic++) {
                for (int32_t m = 0; m < DEPTH_MULT; m++) {
                    /* acc = bias + sum w * (x - IN_ZP) over the window of input channel ic */
                    int32_t oc = ic * DEPTH_MULT + m, acc = bias[oc];
                    for (int32_t ky = 0; ky < KERNEL_H; ky++) {
                        int32_t iy = oy * STRIDE_H - PAD_TOP + ky * DIL_H;
                        if (iy < 0 || iy >= IN_H)
                            continue;
                        for (int32_t kx = 0; kx < KERNEL_W; kx++) {
                            int32_t ix = ox * STRIDE_W - PAD_LEFT + kx * DIL_W;
                            if (ix < 0 || ix >= IN_W)
                                continue;
]_QATC_IF_W4([[                            acc += qatc_nib(w4, (ky * KERNEL_W + kx) * OUT_C + oc) *
                                   (in[(iy * IN_W + ix) * IN_C + ic] - IN_ZP);
]], [[                            acc += w[ky][kx][oc] * (in[(iy * IN_W + ix) * IN_C + ic] - IN_ZP);
]])[                        }
                    }
                    out[(oy * OUT_W + ox) * OUT_C + oc] =
                        requantize(acc, mult[oc], shift[oc], OUT_ZP, ACT_MIN, ACT_MAX);
                }
            }
        }
    }
}
]])

# _QATC_POOL_WINDOW: rows ya .. yb - 1 and columns xa .. xb - 1 of the input, the positions
# of output (oy, ox)'s window inside it (padding is never part of a window).
m4_define([_QATC_POOL_WINDOW], [[            int32_t y0 = oy * STRIDE_H - PAD_TOP, x0 = ox * STRIDE_W - PAD_LEFT;
            int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + KERNEL_H < IN_H ? y0 + KERNEL_H : IN_H;
            int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + KERNEL_W < IN_W ? x0 + KERNEL_W : IN_W;
]])

# QATC_MAXPOOL_PAD(MODEL, LAYER, COMMENT, CONSTANTS): max pool with padding: the largest
# value among the window's positions inside the input.
m4_define([QATC_MAXPOOL_PAD], [QATC_CHECK([$0], [4], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
]_QATC_POOL_WINDOW[            for (int32_t c = 0; c < C; c++) {
                int8_t best = -128;
                for (int32_t iy = ya; iy < yb; iy++) {
                    for (int32_t ix = xa; ix < xb; ix++) {
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

# QATC_AVERAGE(WIDTH): the static helper averageWIDTH() (32 or 64: the width of its product).
m4_define([QATC_AVERAGE], [QATC_CHECK([$0], [1], $@)[
/* round(sum / count) with halves away from zero, clamped to [lo, hi], without a divide
 * instruction: with n = |sum| + floor(count / 2), floor(n / count) = (n * recip) >> rshift
 * exactly, where recip = ceil(2^rshift / count) and the generator chose rshift so that
 * n * (recip * count - 2^rshift) < 2^rshift for every n up to 128 count + count / 2
 * (|sum| <= 128 count). ]m4_ifelse([$1], [32], [[Here every n * recip fits 32 bits.]],
[[The product n * recip needs 64 bits.]])[ */
static int8_t average$1(int32_t sum, int32_t count, uint32_t recip, int32_t rshift,
                        int32_t lo, int32_t hi)
{
    uint32_t n = (sum < 0 ? 0u - (uint32_t)sum : (uint32_t)sum) + ((uint32_t)count >> 1);
]m4_ifelse([$1], [32], [[    int32_t q = (int32_t)((n * recip) >> rshift);
]], [[    int32_t q = (int32_t)(((uint64_t)n * recip) >> rshift);
]])[    if (sum < 0)
        q = -q;
    return (int8_t)(q < lo ? lo : q > hi ? hi : q);
}
]])

# QATC_AVGPOOL_DIV(MODEL, LAYER, COMMENT, CONSTANTS, RECIP, RSHIFT, WIDTH): average pool
# that keeps its input's scale and zero-point (TFLite's): the sum of the values inside the
# input divided by their count, rounded half away from zero. Counts run from FIRST_COUNT
# to FIRST_COUNT + N_COUNTS - 1; RECIP and RSHIFT hold their reciprocals (averageWIDTH).
m4_define([QATC_AVGPOOL_DIV], [QATC_CHECK([$0], [7], $@)[
/* $3 */
static void $1_layer_$2(
    const int8_t *in /* (IN_H, IN_W, C) */, int8_t *out /* (OUT_H, OUT_W, C) */)
{
    enum { $4 };
    /* floor(n / count) = (n * recip[count - FIRST_COUNT]) >> rshift[count - FIRST_COUNT] */
    static const uint32_t recip[N_COUNTS] = $5;
    static const uint8_t rshift[N_COUNTS] = $6;

    for (int32_t oy = 0; oy < OUT_H; oy++) {
        for (int32_t ox = 0; ox < OUT_W; ox++) {
]_QATC_POOL_WINDOW[            int32_t k = (yb - ya) * (xb - xa) - FIRST_COUNT; /* the count's entry */
            for (int32_t c = 0; c < C; c++) {
                int32_t sum = 0;
                for (int32_t iy = ya; iy < yb; iy++)
                    for (int32_t ix = xa; ix < xb; ix++)
                        sum += in[(iy * IN_W + ix) * C + c];
                out[(oy * OUT_W + ox) * C + c] =
                    average$7(sum, k + FIRST_COUNT, recip[k], rshift[k], ACT_MIN, ACT_MAX);
            }
        }
    }
}
]])

# QATC_SOFTMAX(MODEL, LAYER, COMMENT, CONSTANTS, TABLE): softmax along the channels of each
# pixel (ROWS rows of N values), output scale 1/256 and zero-point -128; TABLE the 256
# fixed-point exponentials of the input scale s: round(2^20 e^(-s d)).
m4_define([QATC_SOFTMAX], [QATC_CHECK([$0], [5], $@)[
/* $3 */
static void $1_layer_$2(const int8_t *in /* (ROWS, N) */, int8_t *out /* (ROWS, N) */)
{
    enum { $4 };
    /* e[d] = round(2^20 e^(-s d)), s the input scale: the exponential of a value d steps
     * below its row's maximum (e[0] = 2^20) */
    static const int32_t e[256] = $5;

    for (int32_t r = 0; r < ROWS; r++) {
        const int8_t *x = in + r * N;
        int8_t *y = out + r * N;
        int32_t max = x[0];
        for (int32_t j = 1; j < N; j++)
            if (x[j] > max)
                max = x[j];
        uint32_t sum = 0; /* in [2^20, N * 2^20], N <= 2048: fits */
        for (int32_t j = 0; j < N; j++)
            sum += (uint32_t)e[max - x[j]];
        /* recip = floor(2^47 / sum) < 2^28 by long division, one quotient bit at a time (no
         * divide instruction): rem < sum <= 2^31 before each doubling, so it fits 32 bits */
        uint32_t rem = 1, recip = 0;
        for (int32_t b = 0; b < 47; b++) {
            rem <<= 1;
            recip <<= 1;
            if (rem >= sum) {
                rem -= sum;
                recip |= 1u;
            }
        }
        /* out = round(256 e / sum) - 128 = ((e * recip + 2^38) >> 39) - 128, at most 127 */
        for (int32_t j = 0; j < N; j++) {
            uint64_t t = (uint64_t)(uint32_t)e[max - x[j]] * recip + ((uint64_t)1 << 38);
            int32_t q = (int32_t)(t >> 39) - 128;
            y[j] = (int8_t)(q > 127 ? 127 : q);
        }
    }
}
]])
