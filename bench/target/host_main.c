/* The host benchmark program: QT_RUNS inferences of a generated model, so
 * that valgrind --tool=callgrind --toggle-collect=NAME_run... counts the
 * instructions inside them (host_icount.sh). Macros as in infer_main.c. */
#include <stdint.h>
#include <stdio.h>

#include "bench_model.h"

static int8_t input[UPPER(_INPUT_SIZE)];
static int8_t output[UPPER(_OUTPUT_SIZE)];

int main(void)
{
    bench_model_input(input);
    int failed = 0;
    for (int run = 0; run < QT_RUNS; run++)
        failed |= MODEL(_run_static)(input, output) != 0;
    printf("output[0] %d\n", output[0]);
    return failed;
}
