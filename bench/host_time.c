/* host_time — wall time per inference of a generated model on the host, the
 * statistic bench/pytorch_qat.py uses for PyTorch's int8 batch-1 latency:
 * 20 untimed inferences, then the median of QT_RUNS single timed ones (one
 * thread, one image at a time, the static arena; the median, because other
 * work on a shared machine delays some calls many times over). Prints
 * `us_per_image X`.
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
#include <stdlib.h>
#include <time.h>

#include "target/bench_model.h"

static int8_t input[UPPER(_INPUT_SIZE)];
static int8_t output[UPPER(_OUTPUT_SIZE)];
static double seconds[QT_RUNS];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    bench_model_input(input);
    int failed = 0;
    for (int run = 0; run < 20; run++)
        failed |= MODEL(_run_static)(input, output) != 0;
    for (int run = 0; run < QT_RUNS; run++) {
        double t0 = now_s();
        failed |= MODEL(_run_static)(input, output) != 0;
        seconds[run] = now_s() - t0;
    }
    if (failed) {
        fprintf(stderr, "host_time: the model returned an error\n");
        return 1;
    }
    qsort(seconds, QT_RUNS, sizeof seconds[0], by_value);
    printf("us_per_image %.1f\n", 1e6 * seconds[QT_RUNS / 2]);
    return 0;
}
