/* The benchmark image: one inference of a generated model between the
 * instruction-count markers (bench/qemu_icount), after an empty pair that
 * measures the markers' own cost; prints the top-1 class and the stack
 * high-water mark. The model comes in through macros (measure.sh sets them):
 *   QT_NAME    the model name, e.g. fmnist_cnn (prefix of its functions)
 *   QT_UPPER   the name in capitals, e.g. FMNIST_CNN (prefix of its macros)
 *   QT_HEADER  its header, e.g. "fmnist_cnn.h"
 * The input is sample_image (examples/firmware/sample.h), or with
 * QT_NO_SAMPLE a fixed pseudo-random one. */
#include <stdint.h>

#include "bench_marks.h"
#include "semihost.h"
#include "startup.h"
#include "bench_model.h"

#ifdef QT_NO_SAMPLE
static int8_t input[UPPER(_INPUT_SIZE)];
#else
#include "sample.h"
#define input sample_image
#endif

static int8_t output[UPPER(_OUTPUT_SIZE)];

int main(void)
{
#ifdef QT_NO_SAMPLE
    bench_model_input(input);
#endif
    bench_start();
    bench_stop();
    bench_start();
    int status = MODEL(_run_static)(input, output);
    bench_stop();
    int best = 0;
    for (int i = 1; i < UPPER(_OUTPUT_SIZE); i++)
        if (output[i] > output[best])
            best = i;
    semihost_write_int("class ", best);
    semihost_write_int(", stack bytes used ", (int32_t)startup_stack_used());
    semihost_write0("\n");
    return status == 0 ? 0 : 1;
}
