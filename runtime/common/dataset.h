/* dataset — a set of model inputs with their labels or targets in memory,
 * and its batches for training and evaluation.
 *
 * The inputs come from an IDX image file or a .npy array (chosen by the
 * file's magic, not its name). Every input element is kept as one byte, its
 * code, with one int8 input q and one float input x per code:
 *
 *   IDX or .npy u1 (pixels p):  code = p,       q = clamp(round(p / 255 / scale) + zero_point)
 *   .npy i1 (int8 inputs):      code = q + 128, q as stored (already quantized)
 *   .npy f4 (real values x):    code = q + 128, q = clamp(round(x / scale) + zero_point)
 *   every source:               x = (float)(scale × (q − zero_point))   (the real value of q)
 *
 * so the float model and the int8 model see the same numbers (x is the double
 * product rounded once to float); both are looked up in 256-entry tables
 * built at load time. clamp is to [-128, 127], round is half away from zero.
 *
 * A .npy input array is N×H×W×C, N×T×C (each input 1×T×C) or N×F (1×1×F).
 * Labels are class numbers (IDX labels, or a .npy (N,) array of any integer
 * type), or, for regression (loss: mse), float targets: a .npy f4 array
 * N×H×W×C, N×T×C, N×F or (N,) (1×1×1), the shape of the model output; or
 * absent (an autoencoder's target is its input).
 *
 * Epochs: dataset_epoch_order writes the visiting order (identity, or a
 * Fisher-Yates shuffle drawn from a rng_state, so an epoch's order depends only
 * on the rng state at its start: a resumed run repeats it). Batch b of an
 * epoch holds order[b·batch .. min((b+1)·batch, n)); the last batch may be
 * short. The batch functions write into caller-provided buffers and never
 * allocate.
 */
#ifndef QATC_DATASET_H
#define QATC_DATASET_H

#include <stdint.h>

#include "qerr.h"
#include "rng.h"

#define DATASET_PATH_MAX 4096

/* What the model expects of one input: its shape (H, W, C) and the int8
 * quantization of its values (real = scale × (q − zero_point)). */
typedef struct {
    int32_t h, w, c;
    double scale;
    int32_t zero_point;
} dataset_input;

/* Where the inputs came from (how a code became q). */
typedef enum {
    DATASET_PIXELS, /* uint8 pixels: IDX, or .npy u1 */
    DATASET_INT8,   /* .npy i1: int8 inputs as they are */
    DATASET_REAL,   /* .npy f4: real values, quantized at load */
} dataset_source;

/* What the labels file must hold. */
typedef enum {
    DATASET_CLASSES, /* class numbers: IDX labels or a .npy (N,) of any integer type */
    DATASET_TARGETS, /* float targets of the model output's shape: .npy f4 (loss: mse) */
    DATASET_NONE,    /* no labels file (target: input; inputs only) */
} dataset_labels_kind;

typedef struct {
    dataset_labels_kind kind;
    int32_t n_classes; /* CLASSES: every label below it (2..256), or 0: any label in 0..255 */
    int32_t h, w, c;   /* TARGETS: the model output shape each target must have */
} dataset_want;

/* Largest magnitude of a float target: its squared error stays far from
 * float's range even summed over a batch. */
#define DATASET_TARGET_MAX 1e9

typedef struct {
    int32_t n, h, w, c;
    dataset_source source;
    uint8_t *codes;           /* (n, h, w, c): one byte per input element, see q_of, x_of */
    uint8_t *labels;          /* (n) class numbers (CLASSES), else NULL */
    float *targets;           /* (n, th, tw, tc) (TARGETS), else NULL */
    int32_t th, tw, tc;       /* the shape of one target; 0 without targets */
    dataset_input in;         /* the model input (shape and quantization) */
    int8_t q_of[256];         /* int8 input of each code */
    float x_of[256];          /* float input of each code: in.scale × (q − zp) */
    char images_path[DATASET_PATH_MAX];
    char labels_path[DATASET_PATH_MAX]; /* "" without a labels file */
} dataset;

/* Reads the inputs (IDX or .npy) and, as want says, the class labels, the
 * float targets or nothing (labels must then be NULL), and checks them
 * against the model: equal counts ("INPUTS: images has N, labels has M
 * (LABELS)"), each input of the model input's shape (H, W, C), each target
 * of want's shape, each label in 0..255 and below want.n_classes when that is
 * > 0, each target finite and within ±DATASET_TARGET_MAX. in.scale must be
 * finite and > 0. Returns 0, or -1 with e set (one line naming the file); on
 * failure ds is zeroed and nothing stays allocated. */
int dataset_load_as(dataset *ds, const char *inputs, const char *labels, dataset_input in,
                    dataset_want want, qerr *e);

/* dataset_load_as with class labels: want = {DATASET_CLASSES, n_classes}. */
int dataset_load(dataset *ds, const char *images, const char *labels, dataset_input in,
                 int32_t n_classes, qerr *e);

/* The int8 input of a real value x: clamp(round(x / scale) + zero_point,
 * -128, 127), round half away from zero (x finite, scale > 0). */
int8_t dataset_quantize_real(double x, double scale, int32_t zero_point);

/* Moves n_part of ds's inputs, with their labels or targets, into part (a
 * validation set): the ones at the first n_part places of a shuffle of
 * 0 .. n − 1 drawn from r (rng_shuffle), so the choice depends only on r's
 * state and n. Both sets keep file order; part gets ds's shape, source,
 * tables and paths. 0 < n_part < ds->n. Returns 0, or -1 with e set when
 * memory runs out (ds is then unchanged and part zeroed). */
int dataset_split(dataset *ds, dataset *part, int32_t n_part, rng_state *r, qerr *e);

/* Releases what ds owns and zeroes it. Safe on a zeroed dataset. */
void dataset_free(dataset *ds);

/* Number of elements of one input (h·w·c). */
int32_t dataset_image_size(const dataset *ds);

/* Number of elements of one target (th·tw·tc), 0 without targets. */
int32_t dataset_target_size(const dataset *ds);

/* Batches in one epoch: ceil(n / batch), or iterations when 0 < iterations <
 * that (a shorter epoch; the set is never wrapped around). batch > 0. */
int32_t dataset_batches(const dataset *ds, int32_t batch, int32_t iterations);

/* Fills order (ds->n entries) with 0..n-1 and, when rng is not NULL,
 * shuffles it with rng_shuffle. */
void dataset_epoch_order(const dataset *ds, int32_t *order, rng_state *rng);

/* Batch b of an epoch visited in order: writes the inputs' float values into
 * x (count, h, w, c) and their labels into y (count), where count = the
 * return value (batch, or fewer for the last batch; 0 when b is past the
 * end). x must hold batch·h·w·c floats, y batch bytes. y may be NULL, and
 * must be when the set has no class labels. */
int32_t dataset_batch_float(const dataset *ds, const int32_t *order, int32_t b,
                            int32_t batch, float *x, uint8_t *y);

/* The same with the int8 inputs (what the int8 model and the generated C get). */
int32_t dataset_batch_int8(const dataset *ds, const int32_t *order, int32_t b,
                           int32_t batch, int8_t *x, uint8_t *y);

/* The targets of batch b into t (count, th, tw, tc); t must hold
 * batch·th·tw·tc floats. Returns count as above; the set must have targets. */
int32_t dataset_batch_targets(const dataset *ds, const int32_t *order, int32_t b,
                              int32_t batch, float *t);

#endif
