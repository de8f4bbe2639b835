/* simd — how the trainer's hot loops are vectorized and spread over threads:
 * the macros that layers, batchnorm, convdirect, gemm, fakequant, net and
 * optim share.
 *
 * Hot loops that are not plain elementwise code are compiled for AVX-512,
 * AVX2 and baseline x86-64 and picked when the program loads (GCC
 * target_clones, SIMD_CLONES). Only the vector width changes, not the order
 * of any sum, so every clone computes the same bits (SIMD_CLONES_FMA aside).
 * OpenMP outlines the body of a parallel region into a function of its own,
 * which would not be cloned, so the cloned workers are called from inside the
 * regions. Elsewhere (clang, other CPUs) the macros compile to plain C.
 */
#ifndef QATC_SIMD_H
#define QATC_SIMD_H

#include <stdint.h>
#include <string.h>

/* Elementwise loops below this many elements run on one thread (a parallel
 * region costs a few microseconds). */
#define SIMD_PAR_MIN 32768

/* Long elementwise work is cut into chunks of this many elements, spread over
 * the threads, each chunk run by a cloned worker. */
#define SIMD_CHUNK 16384

/* Before a loop whose length is known only at run time (the channels of an
 * NHWC row), which -O2 alone does not vectorize. */
#define SIMD_LOOP _Pragma("omp simd")

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* SIMD_CLONES that also contract a·b + c into one FMA where the clone has it
 * (-std=c11 turns contraction off): such clones round once where baseline
 * rounds twice, so they may differ in the last bits (a machine always runs
 * the same clone). */
#define SIMD_CLONES_FMA SIMD_CLONES __attribute__((optimize("fp-contract=fast")))
#else
#define SIMD_CLONES
#define SIMD_CLONES_FMA
#endif

/* A helper inlined into every clone that calls it (a call would leave it
 * compiled for baseline x86-64 only). */
#define SIMD_INLINE inline __attribute__((always_inline))

/* Explicit vectors (GCC's vector extension, which clang has too): SIMD_VEC
 * floats, and the lanes of a comparison of two (all ones where true, 0 where
 * false). */
#define SIMD_VEC 16
typedef float simd_vec __attribute__((vector_size(SIMD_VEC * sizeof(float))));
typedef int32_t simd_mask __attribute__((vector_size(SIMD_VEC * sizeof(int32_t))));

/* Unaligned vector load and store (memcpy: a vector by value would change the
 * calling convention between the clones). */
#define SIMD_LOAD(v, p) memcpy(&(v), (p), sizeof(simd_vec))
#define SIMD_STORE(p, v) memcpy((p), &(v), sizeof(simd_vec))

/* Per lane: a where the mask m is set, else b (bits, no arithmetic; a macro:
 * a vector returned by value would change the calling convention between the
 * clones). */
#define SIMD_SELECT(m, a, b) ((simd_vec)(((simd_mask)(a) & (m)) | ((simd_mask)(b) & ~(m))))

#endif
