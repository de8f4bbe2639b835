/* rng — a small seeded random number generator (xoshiro256**, seeded by
 * splitmix64), so that training, shuffling and tests repeat exactly for a seed
 * on every platform. Not for cryptography. */
#ifndef QATC_RNG_H
#define QATC_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} q_rng;

void q_rng_seed(q_rng *r, uint64_t seed);
uint64_t q_rng_u64(q_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t q_rng_below(q_rng *r, uint32_t n);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float q_rng_uniform(q_rng *r);
/* Standard normal (Box-Muller). */
float q_rng_normal(q_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void q_rng_shuffle(q_rng *r, int32_t *idx, int32_t n);

#endif
