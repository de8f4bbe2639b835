/* random_model — random valid frozen models for property tests.
 *
 * Builds random stacks of every op of qmodel.h (conv2d, dwconv2d, linear,
 * maxpool, avgpool with a window or global, add referring back to an earlier
 * tensor of equal shape, flatten) with random shapes (1..8 channels,
 * non-square, strides that do not divide, 1x1 kernels, padding), inputs that
 * sometimes branch from an earlier tensor instead of the previous one,
 * per-channel and per-tensor weights, every fused activation.
 *
 * Output scales, zero-points and biases are calibrated layer by layer: the
 * partial model runs on random inputs through q8_exec and the scale is set
 * so that what the input moves spans ~30 steps; zero-points then centre the
 * values (or sit near -128 under relu), with one in sixteen drawn over the
 * whole int8 range for the edges. About 3 in 4 models have outputs that
 * depend on their input (test_qmodel measures it); the rest go dead, mostly
 * through relu on one- or two-channel tensors.
 *
 * With `breadth` the models also draw every window form the int8 core has
 * and the generator does not print yet: rectangular kernels and strides
 * chosen per axis, dilation, padding given per side (asymmetric), as
 * TensorFlow's `same` or as `valid`, depthwise channel multipliers, padded
 * max and average pools, average pools that keep their input's quantization
 * (TFLite's division; the others rescale), now and then a softmax at the
 * end, and 4-bit weights (in [-7, 7]) on one weighted layer in three. Without it the draws are exactly those of earlier versions, so the
 * same seed gives the same model as before.
 *
 * Every model passes q_model_check. Models stay small (by default at most
 * 1024 elements per tensor and about 16k weights) so that generated C compiles
 * quickly. The same seed gives the same model on every platform.
 */
#ifndef QATC_RANDOM_MODEL_H
#define QATC_RANDOM_MODEL_H

#include <stdint.h>

#include "qmodel.h"
#include "rng.h"

typedef struct {
    int max_layers;      /* random layers before the last one: 0..max_layers (default 8) */
    int every_op;        /* 1: every op (and global avgpool) appears at least once */
    int end_linear;      /* 1 (default): the last layer is a linear (logits); 0: any op */
    int32_t max_elems;   /* elements per tensor (default 1024) */
    int32_t max_weights; /* weights per layer are capped near max_weights / layers (default 16000) */
    int per_channel;     /* -1 (default): random per layer; 0 per tensor; 1 per channel */
    int breadth;         /* 1: every window form and softmax (above); default 0 */
    int weight4;         /* 1: one weighted layer in three has 4-bit weights; default 0 */
} random_model_opts;

/* The defaults above. */
void random_model_default_opts(random_model_opts *o);

/* Builds a random valid model into *out (which it overwrites; free it with
 * q_model_free). o may be NULL for the defaults. Returns 0, or -1 when memory
 * runs out or the model fails q_model_check (a bug in this helper); *out is
 * then zeroed. */
int random_model(rng_state *r, const random_model_opts *o, q_model *out);

#endif
