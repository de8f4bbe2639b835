/* q8_exec — runs a whole q_model with the reference kernels (q8_kernels).
 *
 * This is what `qatc eval`, the golden vectors of `qatc gen --golden` and the
 * trainer's int8 evaluation use, so all of them give the numbers the generated
 * C gives.
 */
#ifndef QATC_Q8_EXEC_H
#define QATC_Q8_EXEC_H

#include <stdint.h>

#include "fixedpoint.h"
#include "q8_kernels.h"
#include "qmodel.h"
#include "qerr.h"

/* A model prepared for execution: requantization parameters derived from the
 * scales, one buffer per tensor. Build/free come in pairs. */
typedef struct q8_exec q8_exec;

/* Prepares m (which must have passed q_model_check and must outlive the
 * executor). Returns NULL with e set when memory runs out or a multiplier is
 * not representable. */
q8_exec *q8_exec_new(const q_model *m, qerr *e);
void q8_exec_free(q8_exec *x);

/* Runs one input (NHWC int8, in_shape) and writes the output tensor (int8,
 * q_shape_size of the last layer's out_shape). */
void q8_exec_run(q8_exec *x, const int8_t *in, int8_t *out);

/* The buffer of tensor t after the last run (for per-layer comparisons). */
const int8_t *q8_exec_tensor(const q8_exec *x, int t);

/* Requantization parameters of layer l (out_c entries for conv/dwconv/linear,
 * one for an avgpool that rescales, q_avgpool_rescales), as the generator must
 * print them. NULL for other ops, and for an avgpool that divides (TFLite's
 * rule: no multiplier). */
const fxp_requant *q8_exec_layer_requant(const q8_exec *x, int l);

/* The residual-add parameters of layer l (multipliers, zero-points, clamp), as
 * the generator must print them. NULL when layer l is not an add. */
const q8_add_params *q8_exec_layer_add(const q8_exec *x, int l);

/* The Q8_SOFTMAX_TABLE fixed-point exponentials of softmax layer l
 * (q8_softmax_table of its input scale), as the generator must print them.
 * NULL when layer l is not a softmax. */
const int32_t *q8_exec_layer_softmax_table(const q8_exec *x, int l);

#endif
