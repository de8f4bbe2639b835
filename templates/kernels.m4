m4_divert(-1)
# kernels.m4 — the kernel library of the generated NAME.c: the inner loops of the conv2d
# and linear layers (gather, col_sums; dot_1x4, dot_2x4, conv_sums), requantize() and
# rescale(). Included by model_c.m4; quotes [ ] (see qatc.m4).
#
# The inner loops come in versions, one per kind of core, all computing the same integer
# sums exactly. QATC_VERSIONS below is their table; each version is a self-contained block
# in its own file, kernels_NAME.m4 (NAME in lower case), defining
#   _QATC_NAME_ABOUT     one line (and its continuations) on what it is for
#   _QATC_NAME_PRELUDE   its C macros: QATC_INLINE, and those of its assembly
#   _QATC_NAME_DOT       dot_1x4(): conv2d on versions with ROWS 1
#   _QATC_NAME_CONV      qatc_w, QATC_W_AT, qatc_col, QATC_COL (QATC_COL1: of one pixel,
#                        when it is less), QATC_GROUP; dot_2x4()
#                        where ROWS is 1; what its gather and col_sums share
#   _QATC_NAME_GATHER    gather() and col_sums(): the copied-windows conv2d nests
#   _QATC_NAME_LINE      (optional) QATC_LINE_COPIES 0, QATC_LINE_GROUP and line_sums(): a
#                        linear layer's sums over its int8 input read in place, from the
#                        bias less zp * sum w; else col_sums() of one pixel over the input
#                        gather() copied (QATC_LINE_COPIES 1)
# using the shared pieces further down where they fit. A piece may differ between a file
# with every version and a file for one target (_QATC_IF_ALL): a version may, for
# example, carry a C emulation of its instructions for host tests in the first only.
# Adding a version: its file, and a row in QATC_VERSIONS (and, for `qatc gen --target`,
# the target's row in gen/cgen.c).
#
# C text passed to a macro of this library as an argument is quoted twice ([[...]]) and
# spliced outside the callee's quotes, so it is rescanned once and comes out verbatim.

# QATC_VERSIONS(ROW): ROW(NAME, NUMBER, ROWS, WEIGHTS, WHEN) for each version, in the order
# the compiler's predefined macros are tried; the last one (WHEN 1) takes what is left.
#   NAME     QATC_DOT_NAME in the C; kernels_name.m4 holds its code
#   NUMBER   the value of QATC_DOT_NAME
#   ROWS     1: its inner products read the int8 input in place, so conv2d layers with
#            long kernel rows walk their windows row by row (conv_sums); 0: they copy them
#   WEIGHTS  the layout of its conv2d weights, made by the generator (gen/cgen.c): int8
#            (OHWI rows), pairs (PMADDWD), quads (SMLAD's 2x4 tiles; SMLAL reads them too)
#            or bytes8 (unsigned bytes, eight channels a tap, with a bias of its own)
#   WHEN     the condition on predefined macros under which the file with every version
#            takes it (when no earlier row's holds)
m4_define([QATC_VERSIONS], [m4_dnl
$1([DSP], [2], [0], [quads], [defined(__ARM_FEATURE_DSP) && defined(__GNUC__)])m4_dnl
$1([THUMB1], [3], [0], [bytes8], [defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__)])m4_dnl
$1([SMLAL], [1], [0], [quads], [defined(__arm__) || defined(__thumb__)])m4_dnl
$1([RV32], [5], [0], [int8], [defined(__riscv) && defined(__riscv_mul) && __riscv_xlen == 32])m4_dnl
$1([SSE2], [4], [0], [pairs], [defined(__SSE2__) && defined(__GNUC__)])m4_dnl
$1([PLAIN], [0], [0], [int8], [1])m4_dnl
])

# _QATC_REGISTER(NAME, NUMBER, ROWS, WEIGHTS, WHEN): a row's properties as macros, its file read.
m4_define([_QATC_REGISTER], [m4_define([_QATC_$1_ROWS], [$3])m4_dnl
m4_define([_QATC_$1_WEIGHTS], [$4])m4_dnl
m4_ifelse([$3], [1], [_QATC_APPEND([_QATC_ROWS_IF], [QATC_DOT == QATC_DOT_$1])])m4_dnl
_QATC_APPEND([_QATC_$4_IF], [QATC_DOT == QATC_DOT_$1])m4_dnl
m4_include([kernels_]m4_translit([$1], [A-Z], [a-z])[.m4])])

# _QATC_APPEND(MACRO, CONDITION): MACRO becomes its old value || CONDITION (or CONDITION).
m4_define([_QATC_APPEND], [m4_define([$1], m4_ifdef([$1], [m4_defn([$1])[ || ]])[$2])])

QATC_VERSIONS([_QATC_REGISTER])

# The target the file is for (QATC_TARGET): all, or one version's.
m4_define([_QATC_ONE], [all])

# _QATC_IF_ALL(TEXT, OTHERWISE): TEXT in a file with every version, else OTHERWISE.
m4_define([_QATC_IF_ALL], [m4_ifelse(_QATC_ONE, [all], [$1], [$2])])

# _QATC_BY_ROWS(ROWS_NEST, COPIED_NEST): a conv2d layer's loop nest: the macro ROWS_NEST on
# versions that walk windows row by row, COPIED_NEST on the others (both, under
# #if QATC_RUNS, in a file with every version).
m4_define([_QATC_BY_ROWS], [m4_ifelse(_QATC_ONE, [all], [[
#if QATC_RUNS
]$1[#else
]$2[#endif
]], _QATC_ONE_ROWS, [1], [[
]$1[]], [[
]$2[]])])

# _QATC_BY_WEIGHTS(PAIRS, QUADS, BYTES8, INT8): the C text for conv2d weights in the
# version's layout (WEIGHTS in QATC_VERSIONS; each, under #if, in a file with every
# version; a layout no version uses is left out).
m4_define([_QATC_BY_WEIGHTS], [m4_ifelse(_QATC_ONE, [all], [m4_define([_QATC_ELSE], [[#if]])m4_dnl
_QATC_WEIGHTS_CASE([pairs], [$1])_QATC_WEIGHTS_CASE([quads], [$2])m4_dnl
_QATC_WEIGHTS_CASE([bytes8], [$3])m4_ifelse(_QATC_ELSE, [#if], [$4], [[#else
]$4[#endif
]])], _QATC_ONE_WEIGHTS, [pairs], [$1], _QATC_ONE_WEIGHTS, [quads], [$2],
  _QATC_ONE_WEIGHTS, [bytes8], [$3], [$4])])

# _QATC_BY_WEIGHTS4(QUADS, BYTES8, FLAT): the same for a conv2d layer with 4-bit weights:
# QUADS on versions with the quads layout, BYTES8 on those with bytes8, FLAT (the layer's
# OHWI order) on the others (pairs and int8).
m4_define([_QATC_BY_WEIGHTS4], [m4_ifelse(_QATC_ONE, [all], [m4_define([_QATC_ELSE], [[#if]])m4_dnl
_QATC_WEIGHTS_CASE([quads], [$1])_QATC_WEIGHTS_CASE([bytes8], [$2])m4_dnl
m4_ifelse(_QATC_ELSE, [#if], [$3], [[#else
]$3[#endif
]])], _QATC_ONE_WEIGHTS, [quads], [$1], _QATC_ONE_WEIGHTS, [bytes8], [$2], [$3])])

# _QATC_WEIGHTS_CASE(LAYOUT, TEXT): #if (or #elif) a version with LAYOUT is chosen, TEXT.
m4_define([_QATC_WEIGHTS_CASE], [m4_ifdef([_QATC_$1_IF], [_QATC_ELSE[ ]_QATC_$1_IF[
]$2[]m4_define([_QATC_ELSE], [[#elif]])])])

# QATC_TARGET(TARGET, VERSION, GUARD, FOR): the file is for TARGET (`qatc gen --target`):
# all (VERSION all) for every version, or one, whose inner loops are VERSION's. GUARD is
# the condition on the compiler's predefined macros where the file may be compiled (1:
# anywhere), FOR what the target is, in words. Prints nothing: QATC_C_BEGIN writes the
# guard, the other macros the chosen code.
m4_define([QATC_TARGET], [QATC_CHECK([$0], [4], $@)m4_dnl
m4_ifelse([$2], [all], [], [m4_ifdef([_QATC_$2_ROWS], [],
  [QATC_FAIL([$0], [no version $2 in QATC_VERSIONS])])])m4_dnl
m4_define([_QATC_TARGET_NAME], [[$1]])m4_dnl
m4_define([_QATC_ONE], [$2])m4_dnl
m4_define([_QATC_GUARD_IF], [[$3]])m4_define([_QATC_GUARDED], m4_ifelse([$3], [1], [0], [1]))m4_dnl
m4_define([_QATC_TARGET_FOR], [[$4]])m4_dnl
m4_ifelse([$2], [all], [], [m4_define([_QATC_ONE_ROWS], m4_defn([_QATC_$2_ROWS]))m4_dnl
m4_define([_QATC_ONE_WEIGHTS], m4_defn([_QATC_$2_WEIGHTS]))])])

# _QATC_CONTENTS: the kernel library's line in the file's table of contents.
m4_define([_QATC_CONTENTS], [_QATC_IF_ALL([[ *   the inner loops in versions, one per kind of core (QATC_DOT, chosen by
 *     the compiler's predefined macros), then requantize()]],
[[ *   the inner loops for ]_QATC_TARGET_NAME[ only (qatc gen --target ]_QATC_TARGET_NAME[:
 *     ]_QATC_TARGET_FOR[), then requantize()]])])

# _QATC_GUARD(MODEL): for one target, #error unless the compiler's macros say it is that.
m4_define([_QATC_GUARD], [_QATC_IF_ALL([], [m4_ifelse(_QATC_GUARDED, [0], [],
[[
/* The inner loops below are for ]_QATC_TARGET_NAME[ only. */
#if !(]_QATC_GUARD_IF[)
#error "$1.c was generated for ]_QATC_TARGET_NAME[ (]_QATC_TARGET_FOR[), which this compiler does not target: generate it with qatc gen --target for the core you build for, or with --target all"
#endif
]])])])

# QATC_REQUANTIZE: the static helper requantize(), for files that use it; after
# QATC_KERNELS (inlined where the version's helpers are; Thumb-1 forms its 64-bit product
# from 16-bit halves).
m4_define([QATC_REQUANTIZE], [[
/* out = clamp(round(acc * M) + zp, lo, hi) with M = m0 * 2^(shift - 31),
 * 2^30 <= m0 < 2^31 (or m0 = 0), -31 <= shift <= 30, so 1 <= t = 31 - shift <= 62:
 *   round(acc * M) = (acc * m0 + 2^(t - 1)) >> t    (one rounding, ties up)
 * with |acc * m0| < 2^62. Only the product p = acc * m0 is 64-bit (on 32-bit cores one
 * multiply giving two words, p_hi:p_lo); the rest is done on words, so that no compiler
 * calls a 64-bit shift or add (libgcc's __ashldi3, __ashrdi3). Usually M < 1/2 (t >= 32):
 *   (p + 2^(t - 1)) >> t = ((p >> (t - 1)) + 1) >> 1,  p >> (t - 1) = (p >> 31) >> (t - 32)
 * where p >> 31 fits a word: the middle of p_hi:p_lo. Otherwise the sum and the shift are
 * done on two words and a value beyond +-256 is clamped to +-256 first, which changes
 * nothing: it lands outside [-128, 127] either way.
 * >> of a negative value is an arithmetic shift on every supported compiler. */
static ]_QATC_RQ_INLINE[int8_t requantize(int32_t acc, int32_t m0, int32_t shift, int32_t zp,
                                     int32_t lo, int32_t hi)
{
    int32_t t = 31 - shift, y;
]_QATC_RQ_PRODUCT[]_QATC_RQ_WORDS[    y += zp;
    return (int8_t)(y < lo ? lo : y > hi ? hi : y);
}
]])

# QATC_REQUANTIZE_HIGH: the static helper requantize_high(), for depthwise layers
# (QATC_DWCONV2D); after QATC_REQUANTIZE (the same 64-bit product).
m4_define([QATC_REQUANTIZE_HIGH], [[
/* requantize() when 33 <= t = 31 - shift <= 54, given as t2 = t - 32 and round_zp =
 * 2^(t - 33) + zp 2^t2: 2^(t - 1) is then a multiple of 2^32, so (p + 2^(t - 1)) >> t =
 * (p_hi + 2^(t - 33)) >> t2 (the low word cannot carry into the quotient), and adding
 * zp 2^t2 before the shift adds zp after it; |p_hi| < 2^30 and |round_zp| < 2^29 + 2^21
 * leave no sum to clamp. Returns the clamped value (the caller stores its low byte).
 * Always inlined: its arguments are constants of the layer's loop. */
#if defined(__GNUC__)
#define QATC_RQ_HIGH_INLINE inline __attribute__((always_inline))
#else
#define QATC_RQ_HIGH_INLINE
#endif
/* GCC's predictive commoning (-O2) would carry a depthwise sum's input bytes from one
 * output to the next in registers it does not have: spilled, they cost more than the
 * loads they save (Cortex-M4: 450 k instead of 350 k per layer of the KWS model). */
#if defined(__GNUC__) && !defined(__clang__)
#define QATC_DW_FUNCTION __attribute__((optimize("no-predictive-commoning")))
#else
#define QATC_DW_FUNCTION
#endif
static QATC_RQ_HIGH_INLINE int32_t requantize_high(int32_t acc, int32_t m0, int32_t round_zp,
                                                   int32_t t2, int32_t lo, int32_t hi)
{
]_QATC_RQ_PRODUCT[    int32_t y = (p_hi + round_zp) >> t2;
    (void)p_lo;
#if defined(__ARM_FEATURE_SAT) && defined(__GNUC__)
    if (lo == -128 && hi == 127) /* one SSAT */
        return (int32_t)__builtin_arm_ssat(y, 8);
#endif
    y = y > hi ? hi : y; /* min, then max: two conditional moves on Thumb-2 */
    return y < lo ? lo : y;
}
]])

# _QATC_KERNELS_OUT: 1 when QATC_KERNELS printed the inner loops (QATC_DOT, QATC_INLINE).
m4_define([_QATC_KERNELS_OUT], [m4_ifdef([_QATC_NEED_CONV],
  [m4_eval(_QATC_NEED_LINEAR || _QATC_NEED_CONV)], [0])])

# _QATC_RQ_INLINE: requantize's specifiers after static: QATC_INLINE where it is defined.
m4_define([_QATC_RQ_INLINE], [m4_ifelse(_QATC_KERNELS_OUT, [1], [[QATC_INLINE ]])])

# _QATC_RQ_PRODUCT: requantize's p_hi:p_lo = acc * m0: the 64-bit product, or on Thumb-1
# (the version, or in a file with every version when QATC_DOT chose it) from 16-bit halves.
m4_define([_QATC_RQ_PRODUCT], [m4_ifelse(_QATC_ONE, [THUMB1], [_QATC_RQ_HALVES],
  _QATC_ONE, [all], [m4_ifelse(_QATC_KERNELS_OUT, [1], [[    uint32_t p_lo;
    int32_t p_hi;
#if QATC_DOT == QATC_DOT_THUMB1
]_QATC_RQ_HALVES[#else
]_QATC_RQ_64[#endif
]], [_QATC_RQ_64_DECL])], [_QATC_RQ_64_DECL])])

# _QATC_RQ_64_DECL: p_hi:p_lo from the int64 product, declared.
m4_define([_QATC_RQ_64_DECL], [[    uint32_t p_lo;
    int32_t p_hi;
]_QATC_RQ_64])

# _QATC_RQ_64: p_hi:p_lo from the int64 product (one multiply giving two words on 32-bit cores).
m4_define([_QATC_RQ_64], [[    {
        int64_t p = (int64_t)acc * m0;
        p_lo = (uint32_t)p;
        p_hi = (int32_t)(p >> 32); /* the high word: no shift at run time */
    }
]])

# _QATC_RQ_WORDS: y = round(p * 2^-t), clamped to +-256 for t < 32, on words.
m4_define([_QATC_RQ_WORDS], [[    if (t >= 32) {
        int32_t w = (int32_t)((uint32_t)p_hi << 1 | p_lo >> 31); /* p >> 31 */
        y = ((w >> (t - 32)) + 1) >> 1;
    } else {
        /* q = (p + 2^(t - 1)) >> t, 1 <= t <= 31, as two words (q_hi, q_lo) */
        uint32_t r = (uint32_t)1 << (t - 1), s_lo = p_lo + r;
        int32_t s_hi = p_hi + (s_lo < r);
        uint32_t q_lo = s_lo >> t | (uint32_t)s_hi << (32 - t);
        int32_t q_hi = s_hi >> t;
        y = q_hi > 0 || (q_hi == 0 && q_lo > 256)                  ? 256
            : q_hi < -1 || (q_hi == -1 && q_lo < (uint32_t)-256) ? -256
                                                                 : (int32_t)q_lo;
    }
]])

# _QATC_RQ_HALVES: p_hi:p_lo from a product of 16-bit halves (no __aeabi_lmul on Thumb-1).
m4_define([_QATC_RQ_HALVES], [m4_ifelse(_QATC_ONE, [THUMB1], [[    uint32_t p_lo;
    int32_t p_hi;
]])[    {
        /* Thumb-1 has no 32 x 32 -> 64-bit multiply (GCC would call __aeabi_lmul): acc * m0
         * = p_hi * 2^32 + p_lo from 16-bit halves, acc = ah 2^16 + al, m0 = bh 2^16 + bl
         * (al, bl, bh unsigned, ah signed; every product fits 32 bits, and mid < 3 * 2^16) */
        uint32_t al = (uint32_t)acc & 0xffffu, bl = (uint32_t)m0 & 0xffffu,
                 bh = (uint32_t)m0 >> 16;
        int32_t ah = acc >> 16;
        uint32_t ll = al * bl, lh = al * bh;
        int32_t hl = ah * (int32_t)bl;
        uint32_t mid = (ll >> 16) + (lh & 0xffffu) + ((uint32_t)hl & 0xffffu);
        p_hi = ah * (int32_t)bh + (hl >> 16) + (int32_t)(lh >> 16) + (int32_t)(mid >> 16);
        p_lo = mid << 16 | (ll & 0xffffu);
    }
]])

# QATC_RESCALE: the static helper rescale() (round(x * M) without clamp), for adds.
m4_define([QATC_RESCALE], [[
/* round(x * M), M = m0 * 2^(shift - 31) <= 1/2 here, so the result fits int32:
 * the same single rounding as requantize(), on words the same way, without zero-point
 * or clamp (for t <= 31 the result is the low word of the two-word sum shifted). */
static int32_t rescale(int32_t x, int32_t m0, int32_t shift)
{
    int32_t t = 31 - shift;
    int64_t p = (int64_t)x * m0;
    uint32_t p_lo = (uint32_t)p;
    int32_t p_hi = (int32_t)(p >> 32);
    if (t >= 32) {
        int32_t w = (int32_t)((uint32_t)p_hi << 1 | p_lo >> 31); /* p >> 31 */
        return ((w >> (t - 32)) + 1) >> 1;
    }
    uint32_t r = (uint32_t)1 << (t - 1), s_lo = p_lo + r;
    uint32_t s_hi = (uint32_t)p_hi + (s_lo < r);
    return (int32_t)(s_lo >> t | s_hi << (32 - t));
}
]])

# QATC_KERNELS(LINEAR, CONV, GATHER, ROWS): the inner loops a model needs, for the target
# of QATC_TARGET. LINEAR: 1 when it has a linear layer; CONV: 1 when it has a conv2d
# layer or a linear one (a 1x1 conv2d on one pixel); GATHER: 1 when a conv2d copies its
# windows on every core (short kernel rows; every linear layer);
# ROWS: 1 when a conv2d walks them row by row where its version can. Nothing when LINEAR
# and CONV are 0.
m4_define([QATC_KERNELS], [QATC_CHECK([$0], [4], $@)m4_dnl
m4_define([_QATC_NEED_LINEAR], [$1])m4_define([_QATC_NEED_CONV], [$2])m4_dnl
m4_define([_QATC_NEED_GATHER], [$3])m4_define([_QATC_NEED_ROWS], [$4])m4_dnl
m4_ifelse(m4_eval([$1 || $2]), [0], [],
  _QATC_ONE, [all], [_QATC_KERNELS_ALL[]], [_QATC_KERNELS_ONE[]])])

# _QATC_KERNELS_ALL: every version, QATC_DOT choosing one.
m4_define([_QATC_KERNELS_ALL], [_QATC_DOT_ABOUT([[They come in versions, all computing the same sums exactly; the compiler's predefined
 * macros choose one (define QATC_DOT to force one: the tests run every C version on the host;
 * qatc gen --target writes a file with one version only):
]QATC_VERSIONS([_QATC_ABOUT_ROW])])[]QATC_VERSIONS([_QATC_NUMBER_ROW])[#ifndef QATC_DOT
]m4_define([_QATC_ELSE], [[#if]])QATC_VERSIONS([_QATC_CHOICE_ROW])[#endif
#endif
/* Cores whose inner products read the int8 input in place walk conv2d windows row by
 * row (see conv_sums). */
#define QATC_RUNS (]m4_ifdef([_QATC_ROWS_IF], [_QATC_ROWS_IF], [[0]])[)
]m4_ifelse(_QATC_NEED_CONV, [1], [_QATC_CONV_SHAPE[]])[
]m4_define([_QATC_ELSE], [[#if]])QATC_VERSIONS([_QATC_BLOCK_ROW])[
#else
#error "QATC_DOT is none of the versions above"
#endif
]m4_ifelse(m4_eval(_QATC_NEED_CONV && _QATC_NEED_ROWS), [1], [_QATC_CONV_SUMS[]])])

# _QATC_KERNELS_ONE: the version of QATC_TARGET.
m4_define([_QATC_KERNELS_ONE], [_QATC_DOT_ABOUT([[This file holds the version for ]_QATC_TARGET_NAME[ (qatc gen --target ]_QATC_TARGET_NAME[; with
 * --target all it holds every version, for the compiler's predefined macros to choose):
]_QATC_ABOUT_LINE(_QATC_TARGET_NAME, _QATC_ONE)])m4_dnl
m4_ifelse(_QATC_NEED_CONV, [1], [_QATC_CONV_SHAPE[]])[
]_QATC_BLOCK(_QATC_ONE)m4_dnl
m4_ifelse(m4_eval(_QATC_NEED_CONV && _QATC_NEED_ROWS && _QATC_ONE_ROWS), [1], [_QATC_CONV_SUMS[]])])

# _QATC_DOT_ABOUT(VERSIONS): the comment above the inner loops; VERSIONS the part on versions.
m4_define([_QATC_DOT_ABOUT], [[
/* The inner products every conv2d and linear layer spends its time in: over the copied
 * windows of two output pixels that share every weight they load (gather() and
 * col_sums(), further down), or over a linear layer's input, one pixel of a 1x1 conv2d,
 * read in place or copied once for all its outputs (line_sums()). Each
 * acc is the partial sum of a layer's accumulator, which fits int32 (|bias| + taps * 127 *
 * 255 does, checked when the model was loaded), whatever the order of the terms.
 *
 * ]$1[ * Where a version is inlined into each layer (QATC_INLINE), the layer's shapes become
 * constants in it: loads take immediate offsets and the loops need fewer registers. */
]])

# _QATC_ABOUT_LINE(TAG, NAME): " *   TAG  what version NAME is for" and its continuations.
m4_define([_QATC_ABOUT_LINE], [[ *   ]m4_substr([$1                 ], [0], [17])_QATC_$2_ABOUT[
]])

# The rows of the file with every version (QATC_VERSIONS(ROW) calls each for every row;
# _QATC_ELSE is #if on the first row, #elif after):
# _QATC_ABOUT_ROW(NAME, ...): what version NAME is for, in the comment above the library.
m4_define([_QATC_ABOUT_ROW], [_QATC_ABOUT_LINE([QATC_DOT_$1], [$1])])
# _QATC_NUMBER_ROW(NAME, NUMBER, ...): #define QATC_DOT_NAME NUMBER.
m4_define([_QATC_NUMBER_ROW], [[#define QATC_DOT_$1 $2
]])
# _QATC_CHOICE_ROW(NAME, NUMBER, ROWS, WEIGHTS, WHEN): a step of the #if ladder choosing QATC_DOT.
m4_define([_QATC_CHOICE_ROW], [m4_ifelse([$5], [1], [[#else
]], [_QATC_ELSE[ $5
]m4_define([_QATC_ELSE], [[#elif]])])[#define QATC_DOT QATC_DOT_$1
]])
# _QATC_BLOCK_ROW(NAME, ...): version NAME's code under #if (or #elif) QATC_DOT == QATC_DOT_NAME.
m4_define([_QATC_BLOCK_ROW], [_QATC_ELSE[ QATC_DOT == QATC_DOT_$1
]m4_define([_QATC_ELSE], [[
#elif]])_QATC_BLOCK([$1])])

# _QATC_BLOCK(NAME): version NAME's code, the pieces the model needs (QATC_KERNELS).
m4_define([_QATC_BLOCK], [_QATC_$1_PRELUDE[]m4_dnl
m4_ifelse(m4_eval(_QATC_NEED_CONV && _QATC_$1_ROWS), [1], [_QATC_$1_DOT[]])m4_dnl
m4_ifelse(_QATC_NEED_CONV, [1], [_QATC_$1_CONV[]])m4_dnl
m4_ifelse(m4_eval(_QATC_NEED_CONV && (_QATC_NEED_GATHER || !_QATC_$1_ROWS)), [1],
  [_QATC_$1_GATHER[]])m4_dnl
m4_ifelse(_QATC_NEED_LINEAR, [1], [m4_ifdef([_QATC_$1_LINE], [_QATC_$1_LINE[]],
  [_QATC_LINE_BY_COL[]])_QATC_COL1[]])])

# _QATC_COL1: QATC_COL1(taps), the qatc_col elements of one pixel's copy (a linear layer's
# input), where the version does not say (its layout then keeps room for two).
m4_define([_QATC_COL1], [[#if !defined(QATC_COL1)
#define QATC_COL1(taps) QATC_COL(taps)
#endif
]])

# _QATC_LINE_BY_COL: line_sums() of a version without one of its own (_QATC_NAME_LINE):
# col_sums() of one pixel, over the input gather() copied.
m4_define([_QATC_LINE_BY_COL], [[
/* A linear layer's sums, QATC_LINE_GROUP outputs a call: col_sums() of one pixel, over the
 * input gather() copied (from the layer's bias in this version's layout). */
#define QATC_LINE_COPIES 1
#define QATC_LINE_GROUP QATC_GROUP
static QATC_INLINE void line_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                  int32_t zp, const int32_t *start,
                                  int32_t acc[2][QATC_LINE_GROUP])
{
    col_sums(col, taps, w, taps, zp, 0, start, acc);
}
]])

# ---- Pieces that several versions share ------------------------------------------------

# _QATC_INLINE_ALWAYS: QATC_INLINE for versions whose helpers are inlined into each layer
# (unused: which helpers a file uses depends on the core, the level and its layers, and
# clang warns of an unused static inline function).
m4_define([_QATC_INLINE_ALWAYS], [[#if defined(__GNUC__)
#define QATC_INLINE inline __attribute__((always_inline, unused))
#else
#define QATC_INLINE
#endif
]])

# _QATC_NAKED_ARG: QATC_ARG, for versions with naked assembly functions.
m4_define([_QATC_NAKED_ARG], [[#define QATC_ARG __attribute__((unused)) /* arguments of naked functions: used by assembly */
]])

# _QATC_DOT_1X4_C(FAST): dot_1x4 in C: FAST (C text) may do a multiple of four bytes first,
# advancing i; plain loops do the rest.
m4_define([_QATC_DOT_1X4_C], [[
static QATC_INLINE void dot_1x4(const int8_t *x, const int8_t *w, int32_t w_step, int32_t n,
                                int32_t zp, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
]$1[    for (; i < n; i++) { /* 16-bit factors: compilers vectorize into 16 x 16 -> 32 bits */
        int16_t v = (int16_t)(x[i] - zp);
        a0 += (int16_t)w0[i] * v;
        a1 += (int16_t)w1[i] * v;
        a2 += (int16_t)w2[i] * v;
        a3 += (int16_t)w3[i] * v;
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
]])

# _QATC_CONV_SHAPE: conv_shape, row_taps(), and how a conv2d layer's window sums come.
m4_define([_QATC_CONV_SHAPE], [[
/* What the helpers below need to know of a conv2d layer (its enum constants). */
typedef struct {
    int32_t in_h, in_w, in_c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, in_zp;
} conv_shape;

/* Helpers inlined into each layer on every core, so that its shapes become constants. */
#if defined(__GNUC__)
#define QATC_SHAPED inline __attribute__((always_inline, unused))
#else
#define QATC_SHAPED
#endif

/* The taps of kernel row ky of output pixel (cy, cx) that fall inside the input: of the
 * row's kernel_w * in_c taps (kx, ic), those t with *lo <= t < *hi, tap t being x[t - *lo]
 * for the x returned (consecutive bytes of an input row). None (lo = hi = 0, NULL) when
 * the kernel row lies in the padding. The one place the copies below learn a layer's
 * geometry from, where they move whole runs of taps. */
static QATC_SHAPED const int8_t *row_taps(const conv_shape *s, const int8_t *in, int32_t cy,
                                          int32_t cx, int32_t ky, int32_t *lo, int32_t *hi)
{
    int32_t iy = cy * s->stride_h - s->pad_h + ky, ix = cx * s->stride_w - s->pad_w;
    int32_t kx0 = ix < 0 ? -ix : 0;                            /* taps kx0 .. kx1 - 1 inside */
    int32_t kx1 = ix + s->kernel_w > s->in_w ? s->in_w - ix : s->kernel_w;
    if (iy < 0 || iy >= s->in_h || kx0 >= kx1) {
        *lo = *hi = 0;
        return NULL;
    }
    *lo = kx0 * s->in_c, *hi = kx1 * s->in_c;
    return in + (iy * s->in_w + ix + kx0) * s->in_c;
}

/* A conv2d layer's window sums come two output pixels at a time, (cy0, cx0) and, when two,
 * (cy1, cx1): the layer's nest pairs them in raster order, so that they usually share
 * their kernel rows. ]_QATC_IF_ALL([[Where a version walks windows row by row (QATC_RUNS),
 * conv_sums() reads them straight from the input for layers with long kernel rows;
 * otherwise ]], [m4_ifelse(_QATC_ONE_ROWS, [1], [[For layers with long kernel rows
 * conv_sums() walks them row by row straight from the input (this core's inner products
 * read the int8 input in place); otherwise ]])])[gather() copies the pair's windows once, in
 * the form the version's inner product reads best (qatc_col, taps in OHWI order
 * k = (ky * kernel_w + kx) * in_c + ic, the padding as x = zp), and col_sums() adds them up
 * for QATC_GROUP channels at a time:
 *   acc[p][g] = start[g] + sum_k w_g[k] * (x_p[k] - zp)
 * for pixel p = 0, 1 (1 only when two) and the channels g of the group, start being the
 * layer's bias from the group's first channel on. A layer's weights are qatc_w elements,
 * those of channels oc .. oc + QATC_GROUP - 1 from QATC_W_AT(weights, oc, taps) on, in the
 * version's layout (the generator writes it; rows past the layer's channels are padding). */
]])

# _QATC_QUADS_W: conv2d weights in the quads layout (DSP, SMLAL), and the rounding to quads.
m4_define([_QATC_QUADS_W], [[typedef int8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * QATC_TAPS4(taps))
#if defined(__GNUC__)
#define QATC_QUADS_ALIGNED __attribute__((aligned(4))) /* whole words (LDM needs them) */
#else
#define QATC_QUADS_ALIGNED
#endif
/* Taps rounded up to four; the quads layout pads each kernel row of row taps to a multiple
 * of four when that costs no more quads (then a kernel row is whole quads) */
#define QATC_TAPS4(taps) (((taps) + 3) / 4 * 4)
#define QATC_ROWS4(kernel_h, row) \
    ((kernel_h) * QATC_TAPS4(row) == QATC_TAPS4((kernel_h) * (row)))
]])

# _QATC_INT8_W: conv2d weights as int8 OHWI rows.
m4_define([_QATC_INT8_W], [[typedef int8_t qatc_w;
#define QATC_W_AT(w, oc, taps) ((w) + (oc) * (taps))
]])

# _QATC_GATHER_DOC: the comment above gather().
m4_define([_QATC_GATHER_DOC], [[/* col <- the windows of output pixels (cy0, cx0) and, when two, (cy1, cx1): for tap
 * k = (ky * kernel_w + kx) * in_c + ic, v_p = x[iy][ix][ic] - in_zp of window p, or 0 where
 * the tap falls in the padding (or window 1 does not exist), stored as qatc_col says. */
]])

# _QATC_GATHER_C(STORE): gather() tap by tap; STORE (C text) stores v0 and v1 as tap k.
m4_define([_QATC_GATHER_C], [[
]_QATC_GATHER_DOC[static QATC_SHAPED void gather(const conv_shape *s, const int8_t *in, int32_t cy0,
                               int32_t cx0, int32_t cy1, int32_t cx1, int two, qatc_col *col)
{
    int32_t taps = s->kernel_h * s->kernel_w * s->in_c, k = 0;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        int32_t iy0 = cy0 * s->stride_h - s->pad_h + ky;
        int32_t iy1 = cy1 * s->stride_h - s->pad_h + ky;
        int in0 = iy0 >= 0 && iy0 < s->in_h, in1 = two && iy1 >= 0 && iy1 < s->in_h;
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            int32_t ix0 = cx0 * s->stride_w - s->pad_w + kx;
            int32_t ix1 = cx1 * s->stride_w - s->pad_w + kx;
            int inx0 = in0 && ix0 >= 0 && ix0 < s->in_w;
            int inx1 = in1 && ix1 >= 0 && ix1 < s->in_w;
            for (int32_t ic = 0; ic < s->in_c; ic++, k++) {
                int32_t v0 = inx0 ? in[(iy0 * s->in_w + ix0) * s->in_c + ic] - s->in_zp : 0;
                int32_t v1 = inx1 ? in[(iy1 * s->in_w + ix1) * s->in_c + ic] - s->in_zp : 0;
]$1[            }
        }
    }
}
]])

# _QATC_COL_SUMS(BODY, WEIGHTS): col_sums() with body BODY (C text); WEIGHTS (C text)
# says how they are laid out, default int8 rows.
m4_define([_QATC_COL_SUMS], [[
/* acc[p][g] = start[g] + sum_{k < taps} w_g[k] * v_p[k] over the windows gather() copied,
 * for the QATC_GROUP channels g whose weights start at w (]m4_ifelse([$2], [], [[int8 rows: w, w + w_step, ...]], [$2])[) */
static QATC_INLINE void col_sums(const qatc_col *col, int32_t taps, const qatc_w *w,
                                 int32_t w_step, int32_t zp, int two, const int32_t *start,
                                 int32_t acc[2][QATC_GROUP])
{
]$1[}
]])

# _QATC_IN_PLACE_CONV(DOT_2X4): the conv2d part of versions whose inner products read the
# int8 input in place: their types, dot_2x4 with body DOT_2X4 (C text).
m4_define([_QATC_IN_PLACE_CONV], [[
]_QATC_INT8_W[typedef int8_t qatc_col; /* x: window 0's taps, then window 1's */
#define QATC_COL(taps) (2 * (taps))
#define QATC_GROUP 4 /* the row-walking nests always do 4 */

static QATC_INLINE void dot_2x4(const int8_t *x, int32_t x_step, const int8_t *w,
                                int32_t w_step, int32_t n, int32_t zp, int32_t acc[2][4])
{
]$1[}
]])

# _QATC_DOT_2X4_TWICE: dot_2x4's body as two dot_1x4.
m4_define([_QATC_DOT_2X4_TWICE], [[    dot_1x4(x, w, w_step, n, zp, acc[0]);
    dot_1x4(x + x_step, w, w_step, n, zp, acc[1]);
]])

# _QATC_IN_PLACE_GATHER: gather() and col_sums() for versions whose inner products read the
# int8 input in place: the windows copied as int8, summed by dot_2x4/dot_1x4.
m4_define([_QATC_IN_PLACE_GATHER], [_QATC_GATHER_C([[                col[k] = (int8_t)(v0 + s->in_zp), col[taps + k] = (int8_t)(v1 + s->in_zp);
]])_QATC_COL_SUMS([[    for (int32_t g = 0; g < 4; g++)
        acc[0][g] = acc[1][g] = start[g];
    if (two)
        dot_2x4(col, taps, w, w_step, taps, zp, acc);
    else
        dot_1x4(col, w, w_step, taps, zp, acc[0]);
]])])

# _QATC_CONV_SUMS: conv_sums(), a conv2d window walked kernel row by kernel row.
m4_define([_QATC_CONV_SUMS], [_QATC_IF_ALL([[
#if QATC_RUNS]])[
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
]_QATC_IF_ALL([[#endif
]])])

# ---- 4-bit weights -----------------------------------------------------------------------
# Layers with 4-bit weights (int4 in [-7, 7]) carry them two per byte: element 2k in the
# low nibble, 2k + 1 in the high one, a zero nibble after an odd last one, the elements in
# the order the version reads them (the generator packs them: gen/cgen.c, packed4). Their
# conv2d layers copy windows as the 8-bit ones do (gather) and sum them with col_sums4,
# which each version defines in its file (_QATC_NAME_SUMS4) next to its col_sums.

# QATC_NIBBLES(LINEAR4): qatc_nib(), for a model with a layer with 4-bit weights; LINEAR4:
# 1 when it has a linear one: dot4_1x4() too.
m4_define([QATC_NIBBLES], [QATC_CHECK([$0], [1], $@)[
/* (unused: which helpers a file uses depends on the core) */
#if defined(__GNUC__)
#define QATC_UNPACK inline __attribute__((unused))
#else
#define QATC_UNPACK inline
#endif

/* Element i of 4-bit weights packed two per byte (element 2k in the low nibble of byte k,
 * 2k + 1 in its high nibble; int4, two's complement). */
static QATC_UNPACK int32_t qatc_nib(const uint8_t *w, int32_t i)
{
    int32_t b = w[i >> 1];
    return (((i & 1 ? b >> 4 : b) & 15) ^ 8) - 8;
}
]m4_ifelse([$1], [1], [[
/* dot_1x4 for 4-bit weights: acc[g] += sum_{i < n} w(first + g * w_step + i) * (x[i] - zp)
 * for g = 0..3, w(j) = qatc_nib(w, j): a linear layer's four outputs. When first and w_step
 * are even, two weights per byte loaded. */
static QATC_UNPACK void dot4_1x4(const int8_t *x, const uint8_t *w, int32_t first,
                                 int32_t w_step, int32_t n, int32_t zp, int32_t acc[4])
{
    for (int32_t g = 0; g < 4; g++) {
        int32_t a = acc[g], j = first + g * w_step, i = 0;
        if ((j & 1) == 0) {
            const uint8_t *p = w + (j >> 1);
            for (; i + 2 <= n; i += 2, p++) {
                int32_t b = *p;
                a += (((b & 15) ^ 8) - 8) * (x[i] - zp) + ((b >> 4 ^ 8) - 8) * (x[i + 1] - zp);
            }
        }
        for (; i < n; i++)
            a += qatc_nib(w, j + i) * (x[i] - zp);
        acc[g] = a;
    }
}
]])])

# QATC_KERNELS4: col_sums4() of each version (of the target's), for a model with a conv2d
# layer with 4-bit weights; after QATC_KERNELS (which printed each version's gather and
# types) and QATC_NIBBLES. col_sums4(col, taps, w, oc, zp, two, start, acc) is col_sums with
# the weights of channels oc .. oc + QATC_GROUP - 1 read from the layer's packed weights w.
m4_define([QATC_KERNELS4], [_QATC_IF_ALL([m4_define([_QATC_ELSE], [[#if]])[
/* col_sums4(): col_sums() of conv2d layers with 4-bit weights, in each version. */
]QATC_VERSIONS([_QATC_BLOCK4_ROW])[#endif
]], [[
/* col_sums4(): col_sums() of conv2d layers with 4-bit weights. */
]_QATC_SUMS4_OF(_QATC_ONE)])])

# _QATC_SUMS4_OF(NAME): version NAME's col_sums4.
m4_define([_QATC_SUMS4_OF], [_QATC_$1_SUMS4[]])

# _QATC_BLOCK4_ROW(NAME, ...): version NAME's col_sums4 under #if (or #elif).
m4_define([_QATC_BLOCK4_ROW], [_QATC_ELSE[ QATC_DOT == QATC_DOT_$1
]m4_define([_QATC_ELSE], [[#elif]])_QATC_$1_SUMS4[]])

# _QATC_FLAT_SUMS4(DECL, X0, X1): col_sums4 in C for versions whose 4-bit weights are in the
# layer's flat OHWI order (channel oc's row from element oc * taps on): DECL (C text)
# declares what X0 and X1, the values x - zp of tap k of window 0 and 1, read.
m4_define([_QATC_FLAT_SUMS4], [[
/* acc[p][g] = start[g] + sum_k w_g[k] * (x_p[k] - zp), w_g[k] = qatc_nib(w, (oc + g) * taps
 * + k): the QATC_GROUP channels from oc on, 4-bit weights in the OHWI order */
static QATC_INLINE void col_sums4(const qatc_col *col, int32_t taps, const uint8_t *w,
                                  int32_t oc, int32_t zp, int two, const int32_t *start,
                                  int32_t acc[2][QATC_GROUP])
{
]$1[    for (int32_t g = 0; g < QATC_GROUP; g++) {
        int32_t j = (oc + g) * taps, a0 = start[g], a1 = start[g];
        for (int32_t k = 0; k < taps; k++) {
            int32_t v = qatc_nib(w, j + k);
            a0 += v * (]$2[), a1 += v * (]$3[);
        }
        acc[0][g] = a0, acc[1][g] = a1;
    }
}
]])

# _QATC_PREP4_NONE: prep4() of versions whose col_sums4 needs nothing more than gather's
# copy (the nests of 4-bit layers call prep4 after gather; version DSP sums the windows).
m4_define([_QATC_PREP4_NONE], [[
#define prep4(col, taps) ((void)(col), (void)(taps))
]])
