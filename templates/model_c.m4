m4_divert(-1)
# model_c.m4 — the generated NAME.c: its opening (banner, table of contents, includes,
# the guard of a one-target file), the kernel library (kernels.m4), one static function
# per layer (layers.m4), then NAME_run and NAME_run_static. Expanded after qatc.m4
# (quotes [ ], see there); m4 finds the included files through -I (gen/m4run).
#
# The generator calls QATC_TARGET, QATC_C_BEGIN, QATC_REQUANTIZE, QATC_RESCALE and
# QATC_AVERAGE (when used), QATC_KERNELS, a layer macro per layer function, then
# QATC_RUN_BEGIN, a QATC_STEP or QATC_VIEW per layer and QATC_RUN_END.

m4_include([kernels.m4])
m4_include([layers.m4])

# QATC_C_BEGIN(MODEL, SOURCE, SUMMARY, FUNCTIONS): banner, what the file is, its contents
# (FUNCTIONS: a line per layer function and entry point), includes, and for one target the
# guard against others.
m4_define([QATC_C_BEGIN], [QATC_CHECK([$0], [4], $@)[]QATC_BANNER([$2])[
/* $1: $3
 *
 * Integer arithmetic only (int8 data, int32 accumulators), no allocation, no library
 * calls. real = scale * (q - zero_point); activations NHWC, weights OHWI.
 * Every weighted layer computes acc = bias + sum w * (x - in_zero_point) in
 * int32 and ends the same way: requantize (one rounding), add the output
 * zero-point, clamp to the fused activation's range. Needs a 32-bit int.
 *
 * Contents, in this order:
]_QATC_CONTENTS[
$4
 */
#include <stddef.h>
#include <stdint.h>

#include "$1.h"
]_QATC_GUARD([$1])])

# QATC_RUN_BEGIN(MODEL, ARENA_SIZE, PLAN): NAME_run up to its first step; PLAN is a comment.
m4_define([QATC_RUN_BEGIN], [QATC_CHECK([$0], [3], $@)[
/* $3 */
int $1_run(const int8_t *input, int8_t *output, void *arena)
{
]m4_ifelse([$2], [0], [[    (void)arena; /* every tensor lives in the caller's buffers */
    if (input == NULL || output == NULL)
        return -1;
]], [[    int8_t *a = (int8_t *)arena;

    if (input == NULL || output == NULL || a == NULL)
        return -1;
]])])

# QATC_STEP(MODEL, LAYER, ARGUMENTS, COMMENT): one call of a layer function in NAME_run.
m4_define([QATC_STEP], [QATC_CHECK([$0], [4], $@)[    $1_layer_$2($3); /* $4 */
]])

# QATC_VIEW(COMMENT): a step without code (a flatten viewing its input's bytes).
m4_define([QATC_VIEW], [QATC_CHECK([$0], [1], $@)[    /* $1 */
]])

# QATC_RUN_END(MODEL, ARENA_WORDS): the end of NAME_run, and NAME_run_static.
m4_define([QATC_RUN_END], [QATC_CHECK([$0], [2], $@)[    return 0;
}

int $1_run_static(const int8_t *input, int8_t *output)
{
    static int32_t arena[$2]; /* int32_t for 4-byte alignment; at least the arena size */
    return $1_run(input, output, arena);
}
]])

m4_divert(0)m4_dnl
