/* bench_model — the generated model under benchmark, named by macros that the
 * benchmark scripts set (QT_NAME: the model's name, the prefix of its
 * functions, e.g. fmnist_cnn; QT_UPPER: the same in capitals, the prefix of
 * its macros; QT_HEADER: its header, e.g. "fmnist_cnn.h"), and the
 * pseudo-random input the benchmarks use when no sample is given (the
 * generated code has no data-dependent branches beyond clamps and the max
 * pool's comparisons, so any input costs the same). */
#ifndef QATC_BENCH_MODEL_H
#define QATC_BENCH_MODEL_H

#include <stdint.h>

#include QT_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL(suffix) CAT(QT_NAME, suffix)   /* fmnist_cnn_run_static */
#define UPPER(suffix) CAT(QT_UPPER, suffix)   /* FMNIST_CNN_INPUT_SIZE */

/* Fills the model's input with a fixed pseudo-random sequence. */
static inline void bench_model_input(int8_t *input)
{
    uint32_t x = 12345;
    for (int32_t i = 0; i < UPPER(_INPUT_SIZE); i++) {
        x = x * 1103515245u + 12345u;
        input[i] = (int8_t)(x >> 24);
    }
}

#endif
