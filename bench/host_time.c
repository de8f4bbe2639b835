/* host_time — wall time per inference of a generated model on the host, the
 * statistic bench/pytorch_qat.py uses for PyTorch's int8 batch-1 latency:
 * 20 untimed inferences, then the mean over QT_RUNS timed ones (one thread,
 * one image at a time, the static arena). Prints `us_per_image X`.
 * The model comes in through macros (bench/run.sh sets them), as in
 * bench/target/host_main.c:
 *   QT_NAME    the model name, e.g. fmnist_cnn (prefix of its functions)
 *   QT_UPPER   the name in capitals, e.g. FMNIST_CNN (prefix of its macros)
 *   QT_HEADER  its header, e.g. "fmnist_cnn.h"
 *   QT_RUNS    timed inferences
 * The input is pseudo-random; the generated code has no data-dependent
 * branches beyond clamps and the max pool's comparisons. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include QT_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL(suffix) CAT(QT_NAME, suffix)   /* fmnist_cnn_run_static */
#define UPPER(suffix) CAT(QT_UPPER, suffix)   /* FMNIST_CNN_INPUT_SIZE */

static int8_t input[UPPER(_INPUT_SIZE)];
static int8_t output[UPPER(_OUTPUT_SIZE)];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    uint32_t x = 12345;
    for (int32_t i = 0; i < UPPER(_INPUT_SIZE); i++) {
        x = x * 1103515245u + 12345u;
        input[i] = (int8_t)(x >> 24);
    }
    int failed = 0;
    for (int run = 0; run < 20; run++)
        failed |= MODEL(_run_static)(input, output) != 0;
    double t0 = now_s();
    for (int run = 0; run < QT_RUNS; run++)
        failed |= MODEL(_run_static)(input, output) != 0;
    double dt = now_s() - t0;
    if (failed) {
        fprintf(stderr, "host_time: the model returned an error\n");
        return 1;
    }
    printf("us_per_image %.1f\n", 1e6 * dt / QT_RUNS);
    return 0;
}
