/* cgen — the C generator: a frozen q_model to NAME.c and NAME.h (and
 * NAME_golden.c), integer-only C99 (docs/generated-code.md).
 *
 * This side prints the data — weights, biases, requantization multipliers
 * and shifts (the very parameters the reference interpreter q8_exec uses),
 * shapes and zero-points as C constants, the arena plan (gen/plan) — as an
 * m4 program calling the macros of the templates (templates/qatc.m4 and friends), which assemble the code;
 * m4 runs through gen/m4run. Output is byte-identical for the same model and
 * source name: no timestamps, no host-dependent text.
 */
#ifndef QATC_CGEN_H
#define QATC_CGEN_H

#include <stdint.h>

#include "qerr.h"
#include "qmodel.h"

/* A target of `qatc gen --target`: which version of the inner loops NAME.c holds
 * (templates/kernels.m4, QATC_VERSIONS), and where it may be compiled. */
typedef struct {
    const char *name;    /* the --target value */
    const char *version; /* the version of the inner loops; "all": every one */
    const char *guard;   /* condition on the compiler's predefined macros under which
                            the file compiles (else #error); NULL: anywhere. It implies
                            that the file with every version would choose this version */
    const char *what;    /* what the target is, in a few words */
} cgen_target;

/* The targets, ending with a NULL name; the first one, "all", is the default. */
extern const cgen_target cgen_targets[];

/* The target called name, or NULL. */
const cgen_target *cgen_target_find(const char *name);

typedef struct {
    const char *source;        /* the frozen file, named in the banner (base name only) */
    const char *templates;     /* the templates folder (m4run_find_templates) */
    const char *target;        /* a cgen_targets name; NULL: "all" */
    int32_t n_golden;          /* 0: no golden file */
    const int8_t *golden_in;   /* (n_golden, input size) int8 NHWC inputs */
    const char *golden_origin; /* where the inputs come from, for a comment */
    const char *images;        /* the file golden_in was read from, or NULL: like
                                * source, an input that no output may be */
    int32_t dw_plane_max;      /* the most bytes of a depthwise layer's plane (one channel's
                                * padded input rows, QATC_DWCONV2D); 0: 1024. The tests
                                * make it small to draw layers done in bands of rows */
} cgen_opts;

/* Writes DIR/NAME.c and DIR/NAME.h, and DIR/NAME_golden.c when
 * o->n_golden > 0 (expected outputs computed with q8_exec), for the target
 * o->target (its inner loops only; an unknown target is an error). m must have
 * passed q_model_check. An output that is one of the inputs (o->source,
 * o->images; compared by device and inode) is refused before anything is
 * written. The files are one qfile_set: all replace their old versions, or
 * none does. Returns 0, or -1 with e set and every file as it was. */
int cgen_write(const q_model *m, const char *dir, const cgen_opts *o, qerr *e);

/* Division by a count known when generating (TFLite's average pool, without a divide
 * instruction): for every n in [0, cgen_div_max(count)], the largest n the pool can divide
 * (|sum| <= 128 count, plus count / 2 for the rounding),
 *   floor(n / count) = (n * recip) >> shift
 * exactly (the proof is at cgen_reciprocal; tests/test_gen.c checks it). wide: some such
 * n * recip needs more than 32 bits. */
typedef struct {
    uint32_t recip;
    int shift; /* 0 .. 63 */
    int wide;
} cgen_recip;

int64_t cgen_div_max(int32_t count);

/* The reciprocal of count, 1 <= count <= Q_MAX_ELEMS: 0, or -1 when count is out of that
 * range or its reciprocal would not fit 32 bits (counts above 16.7 million). */
int cgen_reciprocal(int32_t count, cgen_recip *r);

#endif
