/* The host benchmark program: QT_RUNS inferences of a generated model, so
 * that valgrind --tool=callgrind --toggle-collect=NAME_run... counts the
 * instructions inside them (host_icount.sh). Macros as in infer_main.c. */
#include <stdint.h>
#include <stdio.h>

#include QT_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL(suffix) CAT(QT_NAME, suffix)   /* fmnist_cnn_run */
#define UPPER(suffix) CAT(QT_UPPER, suffix)   /* FMNIST_CNN_INPUT_SIZE */

static int8_t input[UPPER(_INPUT_SIZE)];
static int8_t output[UPPER(_OUTPUT_SIZE)];

int main(void)
{
    uint32_t x = 12345;
    for (int32_t i = 0; i < UPPER(_INPUT_SIZE); i++) {
        x = x * 1103515245u + 12345u;
        input[i] = (int8_t)(x >> 24);
    }
    int failed = 0;
    for (int run = 0; run < QT_RUNS; run++)
        failed |= MODEL(_run_static)(input, output) != 0;
    printf("output[0] %d\n", output[0]);
    return failed;
}
