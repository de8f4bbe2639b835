m4_divert(-1)
# golden_c.m4 — the generated NAME_golden.c: golden inputs, the outputs the
# runtime's reference kernels give for them, and NAME_selftest(). No main(),
# so it links into a host test or into firmware. Expanded after qatc.m4.

# QATC_GOLDEN(MODEL, UPPER, SOURCE, COUNT, ORIGIN, INPUTS, OUTPUTS): the whole golden file.
m4_define([QATC_GOLDEN], [QATC_CHECK([$0], [7], $@)[]QATC_BANNER([$3])[
/* Golden self-test of $1: $4 inputs ($5) and the outputs
 * qatc's reference kernels (runtime/int8/q8_exec.c) compute for them. */
#include <stddef.h>
#include <stdint.h>

#include "$1.h"

enum { GOLDEN_COUNT = $4 };

static const int8_t golden_input[GOLDEN_COUNT][$2_INPUT_SIZE] = $6;

static const int8_t golden_output[GOLDEN_COUNT][$2_OUTPUT_SIZE] = $7;

/* Runs every golden input through $1_run_static and returns how many output
 * bytes differ from the expected ones: 0 = pass. */
int $1_selftest(void)
{
    int differ = 0;
    for (int32_t n = 0; n < GOLDEN_COUNT; n++) {
        int8_t out[$2_OUTPUT_SIZE];
        if ($1_run_static(golden_input[n], out) != 0) {
            differ += $2_OUTPUT_SIZE;
            continue;
        }
        for (int32_t i = 0; i < $2_OUTPUT_SIZE; i++)
            if (out[i] != golden_output[n][i])
                differ++;
    }
    return differ;
}
]])

m4_divert(0)m4_dnl
