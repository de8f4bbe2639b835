/* augment — random shifts and horizontal flips of the float training inputs
 * (data.augment), seeded, so that a run repeats exactly for its seed whatever
 * the thread count.
 *
 * For each input of a batch, in the batch's order, the draws come from one
 * rng in this order:
 *   flip   (when enabled)   rng_below(r, 2): 1 mirrors the input left to right;
 *   dy     (shift N > 0, H > 1)  rng_below(r, 2N + 1) − N, the shift down;
 *   dx     (shift N > 0, W > 1)  rng_below(r, 2N + 1) − N, the shift right;
 * an axis of length 1 (H of a 1-D model) is never shifted. The input is
 * flipped first, then shifted:
 *   f[y][x][c]   = in[y][W − 1 − x][c] when flipped, else in[y][x][c]
 *   out[y][x][c] = f[y − dy][x − dx][c]
 * and 0 where that falls outside the input: real zero, which is the input
 * zero-point in int8, as a convolution's padding. The draws depend only on the
 * rng state and how many inputs came before, so a resumed epoch replays them
 * (aug_skip). Only the float training batches are augmented; evaluation,
 * calibration and the int8 model never are.
 */
#ifndef QATC_AUGMENT_H
#define QATC_AUGMENT_H

#include <stdint.h>

#include "rng.h"

typedef struct {
    int32_t shift; /* N: shifts drawn from −N .. N pixels per axis; 0 = none */
    int flip;      /* horizontal flips with probability 1/2 */
} aug_config;

/* What was drawn for one input. */
typedef struct {
    int flip;
    int32_t dy, dx;
} aug_draw;

/* 1 when a changes anything (shift > 0 or flip). */
int aug_enabled(const aug_config *a);

/* Draws one input's flip and shift for an h×w input (see above). */
void aug_draw_one(const aug_config *a, int32_t h, int32_t w, rng_state *r, aug_draw *d);

/* out = in flipped and shifted as d says; in, out (h, w, c), not aliased. */
void aug_apply(const aug_draw *d, const float *in, float *out, int32_t h, int32_t w, int32_t c);

/* Augments count inputs x (count, h, w, c) in place, drawing from r in input
 * order; scratch holds h·w·c floats. */
void aug_batch(const aug_config *a, rng_state *r, float *x, int32_t count, int32_t h,
               int32_t w, int32_t c, float *scratch);

/* Advances r past the draws of count inputs of h×w (as aug_batch would),
 * without touching any input: a resumed epoch continues where it stopped. */
void aug_skip(const aug_config *a, rng_state *r, int64_t count, int32_t h, int32_t w);

#endif
