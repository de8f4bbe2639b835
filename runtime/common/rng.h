/* rng — a small seeded random number generator (xoshiro256**, seeded by
 * splitmix64), so that training, shuffling and tests repeat exactly for a seed
 * on every platform. Not for cryptography. */
#ifndef QATC_RNG_H
#define QATC_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_state;

void rng_seed(rng_state *r, uint64_t seed);
uint64_t rng_u64(rng_state *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t rng_below(rng_state *r, uint32_t n);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rng_uniform(rng_state *r);
/* Standard normal (Box-Muller). */
float rng_normal(rng_state *r);
/* Fisher-Yates shuffle of idx[0..n). */
void rng_shuffle(rng_state *r, int32_t *idx, int32_t n);

#endif
