/* dataset — a labelled image set in memory, and its batches for training and
 * evaluation.
 *
 * One pixel value p (uint8) has one int8 input q and one float input x:
 *
 *   q = clamp(round(p / 255 / scale) + zero_point, -128, 127)   (idx_quantize_pixels)
 *   x = (float)(scale × (q − zero_point))                        (the real value of q)
 *
 * so the float model and the int8 model see the same numbers (x is the double
 * product rounded once to float). Both are looked up in 256-entry tables built
 * at load time.
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

typedef struct {
    int32_t n, h, w, c;
    uint8_t *pixels;          /* (n, h, w, c) */
    uint8_t *labels;          /* (n), each < n_classes when that was given */
    dataset_input in;         /* the model input (shape and quantization) */
    int8_t q_of[256];         /* int8 input of each pixel value */
    float x_of[256];          /* float input of each pixel value: in.scale × (q − zp) */
    char images_path[DATASET_PATH_MAX];
    char labels_path[DATASET_PATH_MAX];
} dataset;

/* Reads the images and labels IDX files (plain or .gz) into ds and checks
 * them against the model: equal counts ("IMAGES: images has N, labels has M
 * (LABELS)"), the image shape equal to the model input shape (H, W, C), and,
 * when n_classes > 0, every label below n_classes. in.scale must be
 * finite and > 0. Returns 0, or -1 with e set; on failure ds is zeroed and nothing
 * stays allocated. */
int dataset_load(dataset *ds, const char *images, const char *labels, dataset_input in,
                 int32_t n_classes, qerr *e);

/* Releases what ds owns and zeroes it. Safe on a zeroed dataset. */
void dataset_free(dataset *ds);

/* Number of elements of one image (h·w·c). */
int32_t dataset_image_size(const dataset *ds);

/* Batches in one epoch: ceil(n / batch), or iterations when 0 < iterations <
 * that (a shorter epoch; the set is never wrapped around). batch > 0. */
int32_t dataset_batches(const dataset *ds, int32_t batch, int32_t iterations);

/* Fills order (ds->n entries) with 0..n-1 and, when rng is not NULL,
 * shuffles it with rng_shuffle. */
void dataset_epoch_order(const dataset *ds, int32_t *order, rng_state *rng);

/* Batch b of an epoch visited in order: writes the images' float inputs into
 * x (count, h, w, c) and their labels into y (count), where count = the
 * return value (batch, or fewer for the last batch; 0 when b is past the
 * end). x must hold batch·h·w·c floats, y batch bytes. y may be NULL. */
int32_t dataset_batch_float(const dataset *ds, const int32_t *order, int32_t b,
                            int32_t batch, float *x, uint8_t *y);

/* The same with the int8 inputs (what the int8 model and the generated C get). */
int32_t dataset_batch_int8(const dataset *ds, const int32_t *order, int32_t b,
                           int32_t batch, int8_t *x, uint8_t *y);

#endif
