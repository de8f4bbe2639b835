/* qmodel — the frozen int8 model in memory.
 *
 * This is the hand-off between the trainer (which builds one), the frozen
 * YAML format (frozen_io reads and writes one), the int8 reference
 * interpreter (q8_exec runs one) and the C generator (gen/ prints one).
 *
 * Tensors are numbered: tensor 0 is the model input, tensor i+1 is the output
 * of layer i. Every tensor is int8 NHWC (batch 1) with one scale and one
 * zero-point: real = scale * (q - zero_point). The model output is the output
 * of the last layer.
 *
 * Weights (symmetric, zero-point 0): 8-bit weights in [-127, 127], 4-bit
 * weights in [-7, 7], both held as int8 values here (and accumulated and
 * requantized the same way; only the generated C packs 4-bit ones two per
 * byte). Layout:
 *   conv2d   (out_c, kernel_h, kernel_w, in_c)   OHWI
 *   dwconv2d (kernel_h, kernel_w, in_c * M)      1HWC with channel multiplier M:
 *                                                output channel oc = ic * M + m reads
 *                                                input channel ic (TFLite's order)
 *   linear   (out_c, in_c)                       in_c = h*w*c of the input, NHWC order
 * Bias: int32 (out_c), scale = in_scale * w_scale[c], zero-point 0.
 * w_scale has out_c entries when per_channel, else 1 entry.
 *
 * Windows (q_window below): convs pad with the input zero-point; pools ignore
 * the positions outside the input (max pool takes the largest value inside,
 * average pool averages only the values inside) and have no dilation. A
 * global average pool is an avgpool whose kernel equals the input height and
 * width. An average pool whose output quantization equals its input's divides
 * by the count with TFLite's rounding (q8_avgpool_s8); one with its own output
 * scale (format version 1's kind, never padded) is requantized
 * (q8_avgpool_rescale_s8). Max pool and flatten keep their input's scale and
 * zero-point; flatten's output shape is (1, 1, h*w*c). Softmax (only as the
 * last layer) works along the channels of each pixel; its output has scale
 * 1/256 and zero-point -128.
 */
#ifndef QATC_QMODEL_H
#define QATC_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

#define Q_NAME_MAX 64
#define Q_FORMAT_VERSION 2 /* written; version 1 is read too */
#define Q_MAX_ELEMS (1 << 24) /* largest tensor, weight array, dimension or kernel size */
#define Q_MAX_LAYERS 4096     /* layers of one model */
#define Q_SCALE_MIN 1e-12     /* every scale of a frozen model is in [Q_SCALE_MIN, Q_SCALE_MAX] */
#define Q_SCALE_MAX 1e12

typedef enum {
    Q_OP_CONV2D,
    Q_OP_DWCONV2D,
    Q_OP_LINEAR,
    Q_OP_MAXPOOL,
    Q_OP_AVGPOOL,
    Q_OP_ADD,
    Q_OP_FLATTEN,
    Q_OP_SOFTMAX,
    Q_OP_COUNT
} q_op;

typedef enum { Q_ACT_NONE, Q_ACT_RELU, Q_ACT_RELU6, Q_ACT_COUNT } q_act;

typedef struct {
    int32_t h, w, c;
} q_shape;

typedef struct {
    double scale;       /* > 0, finite */
    int32_t zero_point; /* activations: [-128, 127]; weights: 0 */
} q_quant;

/* ---- the one shape rule -------------------------------------------------
 * The config, the training net and the frozen model all describe a layer's
 * geometry with a q_geom and derive its output shape with q_geom_derive, so a
 * new attribute lands here once.
 *
 * Window of a conv or pool: output row y reads input rows
 *   y * stride_h - pad_top + ky * dilation_h,  ky = 0 .. kernel_h - 1
 * (columns likewise); rows and columns outside the input are padding (the
 * input zero-point for convs). The effective kernel is (kernel - 1) * dilation + 1:
 *   out_h = (in_h + pad_top + pad_bottom - eff_kernel_h) / stride_h + 1. */
typedef struct {
    int32_t kernel_h, kernel_w;                       /* >= 1 */
    int32_t stride_h, stride_w;                       /* >= 1; 0 = the default */
    int32_t dilation_h, dilation_w;                   /* >= 1; 0 = 1 */
    int32_t pad_top, pad_bottom, pad_left, pad_right; /* >= 0, each < the effective kernel */
} q_window;

/* How padding was given: the window's four sides, or a rule resolved from the
 * input size. Q_PAD_SAME is TensorFlow's: out = ceil(in / stride),
 *   total = max((out - 1) * stride + eff_kernel - in, 0),
 *   top (left) = total / 2, bottom (right) = the rest. */
typedef enum { Q_PAD_SIDES, Q_PAD_SAME, Q_PAD_VALID } q_pad_rule;

/* Everything that decides a layer's output shape. */
typedef struct {
    q_op op;
    q_window win;        /* conv2d, dwconv2d, maxpool, avgpool */
    q_pad_rule pad_rule; /* Q_PAD_SIDES unless a config said `same` or `valid` */
    int global;          /* avgpool over the whole input (the window becomes the input) */
    int32_t out_c;       /* conv2d, linear: output channels / features */
    int32_t multiplier;  /* dwconv2d: output channels per input channel (>= 1; 0 = 1);
                          * out_c = in_c * multiplier. Other ops: 0 or 1. */
} q_geom;

/* What q_geom_derive reports besides the shape. */
typedef struct {
    int64_t depth;   /* terms summed into one accumulator (weighted ops, pools' window,
                      * softmax's row) */
    int64_t weights; /* weight count (0 for ops without weights) */
} q_geom_sizes;

/* Terms one int32 accumulator may sum: depth * 127 * 255 <= INT32_MAX
 * (|w| <= 127, |x - zp| <= 255); q_model_check adds the bias to the bound. */
#define Q_MAX_DEPTH (INT32_MAX / (127 * 255))

/* Values one softmax row may have (its input channels): the row's sum of
 * fixed-point exponentials (q8_softmax_s8) stays within 2^31. */
#define Q_SOFTMAX_MAX_ROW 2048

typedef struct {
    q_op op;
    char name[Q_NAME_MAX]; /* unique, C identifier; the loader fills "l<i>" if absent */
    int input;             /* tensor index < this layer's own tensor (i+1) */
    int input2;            /* add only: the second tensor; -1 otherwise */
    q_act act;             /* conv2d, dwconv2d, linear, add; NONE elsewhere */
    q_window win;          /* conv, dwconv, pools: resolved (no defaults, explicit pads) */
    int32_t multiplier;    /* dwconv2d: channel multiplier M (out_c = in_c * M); 0 = 1.
                            * q_model_check sets it to 1 on every other op. */
    q_shape out_shape;     /* derived by q_model_check, stored in the file for readers */
    q_quant out_q;
    int per_channel;       /* conv2d, dwconv2d, linear */
    int weight_bits;       /* conv2d, dwconv2d, linear: 8 or 4 (weights in
                            * [-q_weight_max, q_weight_max]); 0 = 8. q_model_check
                            * sets it to 0 on ops without weights. */
    double *w_scale;       /* (per_channel ? out_c : 1) */
    int8_t *weights;       /* see layout above; NULL for ops without weights */
    int32_t *bias;         /* (out_c) */
    int line;              /* line in the source file, 0 when built in memory */
} q_layer;

typedef struct {
    char name[Q_NAME_MAX]; /* C identifier: prefix of everything generated */
    q_shape in_shape;
    q_quant in_q;
    int n_layers;
    q_layer *layers;       /* (n_layers), malloc'd; weights/bias/w_scale malloc'd too */
    int name_line, input_line; /* lines of `name` and `input` in the source file, 0 in memory */
} q_model;

/* The names the config and the frozen format use, each list ending in NULL. */
extern const char *const q_op_names[Q_OP_COUNT + 1];   /* "conv2d", ..., "softmax" */
extern const char *const q_act_names[Q_ACT_COUNT + 1]; /* "none", "relu", "relu6" */

/* Releases everything m owns and zeroes it. Safe on a zeroed or partly built model. */
void q_model_free(q_model *m);

/* Shape and quantization of tensor t (0 = input, i+1 = layer i). */
q_shape q_model_tensor_shape(const q_model *m, int t);
q_quant q_model_tensor_quant(const q_model *m, int t);

/* 1 when s is a C identifier ([A-Za-z_][A-Za-z0-9_]*) of fewer than Q_NAME_MAX
 * characters, else 0. Reads at most Q_NAME_MAX bytes of s. */
int q_is_identifier(const char *s);

/* 1 when NAME.h is a header of the C standard library (C89 to C23: stdint,
 * string, math, ...), else 0. qatc gen writes NAME.h, and with its folder on
 * the include path such a file would shadow the library's header, so no
 * model may have such a name (q_model_check, the config). */
int q_is_std_header_name(const char *s);

/* The output shape of a layer with geometry g whose input is `in` (and, for
 * add, whose second input is in2; ignored otherwise). First fills g's
 * defaults (stride: the kernel for pools, 1 for convs; dilation 1; dwconv2d's
 * multiplier 1), turns a global avgpool's window into the whole input, and
 * resolves a pad rule into the four sides (g->pad_rule becomes Q_PAD_SIDES),
 * so calling it again on the result derives the same. Checks every window
 * field (pools take no dilation), the kernel against the padded input, the
 * multiplier (dwconv2d only), add's shapes, and every size (elements of the
 * output and of the weights at most Q_MAX_ELEMS, depth at most Q_MAX_DEPTH,
 * a softmax row at most Q_SOFTMAX_MAX_ROW values), in 64-bit arithmetic.
 * The output of dwconv2d has in.c * multiplier channels; softmax keeps its
 * input's shape. Returns 0 with *out (and *sizes when not NULL) set, or -1
 * with why holding the problem (e.g. "5x5 is larger than the padded input 4x4
 * (pad 0)") and *key naming what is at fault: a config key ("kernel",
 * "stride", "dilation", "pad", "multiplier", "out", "with") or a size
 * ("output": too many output elements, "depth": too many terms per
 * accumulator or values per softmax row, "weights": too many weights), which
 * each caller names in its own vocabulary. */
int q_geom_derive(q_geom *g, q_shape in, q_shape in2, q_shape *out, q_geom_sizes *sizes,
                  const char **key, char *why, size_t cap);

/* The field of a frozen layer of op `op` that a q_geom_derive key names:
 * "output.shape" for "out" and "output", "kernel" (windowed ops) or "input"
 * for "depth", the key itself otherwise. */
const char *q_geom_field(q_op op, const char *key);

/* Elements of a shape (h*w*c) that q_model_check or the config accepted. */
int32_t q_shape_size(q_shape s);

/* a*b for sizes from a file: when a and b are in [0, Q_MAX_ELEMS] and the
 * product is at most Q_MAX_ELEMS, the product; otherwise -1. Nothing can
 * overflow (a product of two such values fits 2^48). */
int64_t q_size_mul(int64_t a, int64_t b);

/* h*w*c of a shape from a file: -1 when a dimension is outside
 * [1, Q_MAX_ELEMS] or the product exceeds Q_MAX_ELEMS (each partial product
 * checked before the next multiplication, so a shape whose product passes
 * 2^64 cannot wrap to a small one). */
int64_t q_shape_elems(q_shape s);

/* The largest weight magnitude of a width: 127 for 8 bits, 7 for 4 bits
 * (symmetric: -128 and -8 are never used); 0 for any other width. */
int32_t q_weight_max(int bits);

/* Bytes that `count` weights of `bits` bits take packed: count for 8 bits,
 * ceil(count / 2) for 4 bits (two per byte). The one rule for "weight bytes"
 * (the trainer's tuning, qatc report). */
int64_t q_weight_bytes(int64_t count, int bits);

/* Number of int8 weights and of output channels of layer l (0 for ops without weights). */
int32_t q_layer_weight_count(const q_model *m, const q_layer *l);
int32_t q_layer_out_channels(const q_layer *l);

/* The int8 clamp range of a fused activation on an output with quantization q:
 * none [-128,127]; relu [max(-128, zp), 127]; relu6 additionally
 * min(127, zp + round(6 / scale)). */
void q_act_range(q_act act, q_quant q, int32_t *act_min, int32_t *act_max);

/* Checks that m is a valid model and derives every out_shape (and the output
 * quantization of maxpool, flatten and softmax) from the input shape and layer
 * parameters: references resolve backwards, kernels fit the padded input,
 * add inputs have equal shapes, softmax only last, scales finite and > 0,
 * zero-points, weights and sizes in range, accumulators cannot overflow
 * int32. `file` names the source in messages (layer->line gives the line).
 * Returns 0, or -1 with e set; on failure out_shapes may be partly derived.
 *
 * Derivation: out_shape.c of conv2d and linear is their number of outputs and
 * must be set; every other out_shape field that is 0 is derived, and a
 * non-zero one must equal the derived value. The same holds for the output
 * quantization of maxpool and flatten ({0, 0} is derived from the input's)
 * and of softmax ({0, 0} becomes {1/256, -128}, the only one allowed).
 * multiplier 0 becomes 1, weight_bits 0 becomes 8 (8 and 4 are accepted;
 * 4-bit weights must lie in [-7, 7], and the accumulator bound then uses 7). Fields an op does not use (input2 except for add, the window
 * for linear, add, flatten and softmax, multiplier except for dwconv2d,
 * per_channel and weight_bits without weights) are ignored and normalized
 * (window zeroed, multiplier 1, weight_bits 0). An average pool with padding
 * must keep its input's quantization (only the division rule counts the
 * window's elements inside the input). */
int q_model_check(q_model *m, const char *file, qerr *e);

/* 1 when the average pool l has an output quantization of its own (format
 * version 1's kind: the window sum is requantized by s_in / (s_out * kh * kw),
 * q8_avgpool_rescale_s8), 0 when it keeps its input's scale and zero-point
 * (TFLite's division with rounding half away from zero, q8_avgpool_s8). */
int q_avgpool_rescales(const q_model *m, const q_layer *l);

/* What a layer of a checked model uses beyond what format version 1 could
 * say, one bit each, so that a consumer that does not support a feature yet
 * (the C generator) can refuse it by name. */
enum {
    Q_FEAT_DILATION = 1 << 0,       /* conv2d/dwconv2d with dilation > 1 */
    Q_FEAT_ASYMMETRIC_PAD = 1 << 1, /* pad_top != pad_bottom or pad_left != pad_right */
    Q_FEAT_POOL_PAD = 1 << 2,       /* maxpool/avgpool with padding */
    Q_FEAT_MULTIPLIER = 1 << 3,     /* dwconv2d with channel multiplier > 1 */
    Q_FEAT_AVGPOOL_DIV = 1 << 4,    /* avgpool with TFLite's division (!q_avgpool_rescales) */
    Q_FEAT_SOFTMAX = 1 << 5,        /* the softmax op */
    Q_FEAT_WEIGHT4 = 1 << 6,        /* 4-bit weights (weight_bits 4) */
};
#define Q_FEAT_COUNT 7
/* "dilation", "asymmetric padding", "pool padding", "channel multiplier",
 * "average pool by division", "softmax", "4-bit weights", NULL: name i is
 * bit 1 << i. */
extern const char *const q_feature_names[Q_FEAT_COUNT + 1];
unsigned q_layer_features(const q_model *m, const q_layer *l);

#endif
