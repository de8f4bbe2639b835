m4_divert(-1)
# model_h.m4 — the generated NAME.h: sizes and quantization of input and
# output as integer macros (scales as comments), the arena size, and the
# entry points. Expanded after qatc.m4 (quotes [ ], see there).

# QATC_H_BEGIN(MODEL, GUARD, SOURCE, SUMMARY): banner, include guard, what the model is.
m4_define([QATC_H_BEGIN], [QATC_CHECK([$0], [4], $@)[]QATC_BANNER([$3])[
/* $1: $4 */
#ifndef $2
#define $2

#include <stddef.h>
#include <stdint.h>
]])

# QATC_H_TENSOR(PREFIX, WHAT, H, W, C, SIZE, ZERO_POINT, SCALE): size and quantization macros of the input or output.
m4_define([QATC_H_TENSOR], [QATC_CHECK([$0], [8], $@)[
/* $2: int8, NHWC ($3, $4, $5); real = scale * (q - zero_point), scale = $8 */
#define $1_H $3
#define $1_W $4
#define $1_C $5
#define $1_SIZE $6
#define $1_ZERO_POINT ($7)
]])

# QATC_H_END(MODEL, GUARD, UPPER, ARENA_SIZE, SELFTEST): the arena size and the entry points;
# SELFTEST 1 when NAME_golden.c is written too (it defines NAME_selftest), else 0.
m4_define([QATC_H_END], [QATC_CHECK([$0], [5], $@)[
/* Bytes of scratch memory $1_run needs (planned from tensor lifetimes;
 * 4-byte alignment is enough). */
#define $3_ARENA_SIZE $4

/* Runs the model on input ($3_INPUT_SIZE bytes) and writes
 * $3_OUTPUT_SIZE bytes of int8 output. arena: $3_ARENA_SIZE bytes,
 * used as scratch and left holding intermediate values. input, output and
 * arena must not overlap. Returns 0, or -1 when a pointer is NULL (output
 * then untouched). Reentrant: keeps no state between calls. */
int $1_run(const int8_t *input, int8_t *output, void *arena);

/* The same with a static arena (in .bss): not reentrant. Returns 0, or -1
 * when a pointer is NULL. */
int $1_run_static(const int8_t *input, int8_t *output);
]m4_ifelse([$5], [1], [[
/* Defined in $1_golden.c (qatc gen --golden): runs the golden inputs and
 * returns how many output bytes differ from the expected ones (0 = pass). */
int $1_selftest(void);
]])[
#endif
]])

m4_divert(0)m4_dnl
