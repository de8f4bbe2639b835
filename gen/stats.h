/* stats — what a layer costs: multiply-accumulates and the bytes of constant
 * data the generated C stores for it (what `qatc report` prints and the
 * generated file's summary states).
 *
 * Constant data per weighted layer (conv2d, dwconv2d, linear), as printed by
 * gen/cgen.c: int8 weights (conv2d and linear rows padded with zeros to a
 * multiple of four output channels, as the generated kernels read them;
 * 4-bit weights count ceil(n / 2) bytes of those, packed two per byte,
 * q_weight_bytes),
 * int32 biases, and per output channel an int32 multiplier and an int8
 * shift; a dilated conv2d stores its rows unpadded (its plain C nest does one
 * channel at a time). Tables: a softmax's 256 int32 exponentials, an average
 * pool of TFLite's kind its uint32 reciprocal and uint8 shift per window count
 * (stats_pool_counts). Other pools and adds keep their few constants in the
 * code (enum values), counted as 0 bytes of data, as are the 40-byte shape
 * records of conv2d layers.
 */
#ifndef QATC_STATS_H
#define QATC_STATS_H

#include <stdint.h>

#include "qmodel.h"

typedef struct {
    int64_t macs;          /* multiply-accumulates of one run (conv, dwconv, linear) */
    int64_t weight_bytes;  /* weights, rows padded as the generated C stores them, 4-bit
                              ones packed two per byte */
    int64_t bias_bytes;    /* int32 biases */
    int64_t requant_bytes; /* int32 multiplier + int8 shift per output channel */
    int64_t table_bytes;   /* softmax exponentials, average pool reciprocals */
} stats_layer;

/* The numbers of positions inside the input that the windows of pool ly take: from *first
 * (the smallest window inside, rows times columns) to *first + *n - 1 (the largest). */
void stats_pool_counts(const q_model *m, const q_layer *ly, int32_t *first, int32_t *n);

/* The costs of layer l of m (which passed q_model_check). */
void stats_of_layer(const q_model *m, int l, stats_layer *s);

/* Totals over every layer. */
void stats_of_model(const q_model *m, stats_layer *total);

#endif
