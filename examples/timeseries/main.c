/* main.c — the activity model on a Cortex-M0 (BBC micro:bit, 16 KB RAM)
 * under qemu, with the C that `qatc gen` wrote (activity.c, activity.h,
 * activity_golden.c).
 *
 * 1. Classifies the sample windows (samples.c: the first test windows of the
 *    SYNTHETIC data set, as int8) and prints each class with its
 *    probability: the model ends in a softmax, whose int8 output q means
 *    p = (q + 128) / 256, so the percentage is (q + 128) · 100 / 256 in
 *    integers.
 * 2. Runs the golden self-test: the outputs of the generated C for the
 *    golden windows against those of qatc's reference kernels, byte for
 *    byte. The exit status is the number of differing bytes (0 = pass).
 *
 * Startup, linker script and semihosting output come from ../firmware.
 */
#include <stdint.h>

#include "activity.h"
#include "samples.h"
#include "semihosting.h"

int activity_selftest(void); /* activity_golden.c */

static const char *const class_names[ACTIVITY_OUTPUT_SIZE] = {"still", "walk", "run", "fall"};

/* Scratch memory of the model: any 4-byte aligned RAM will do. */
static uint32_t arena[(ACTIVITY_ARENA_SIZE + 3) / 4];

/* Prints a non-negative integer. */
static void print_uint(uint32_t v)
{
    char s[11];
    int i = 10;
    s[i] = '\0';
    do {
        s[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    print(s + i);
}

/* Top-1: the lowest index among equal largest outputs (as qatc eval counts). */
static int top1(const int8_t *out, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (out[i] > out[best])
            best = i;
    return best;
}

int main(void)
{
    /* the generated model and the sample must agree on the input size */
    typedef char sample_fits_model[ACTIVITY_INPUT_SIZE == SAMPLE_SIZE ? 1 : -1];
    (void)sizeof(sample_fits_model);
    int wrong = 0;
    for (int n = 0; n < SAMPLE_COUNT; n++) {
        int8_t prob[ACTIVITY_OUTPUT_SIZE];
        if (activity_run(sample_input[n], prob, arena) != 0) {
            print("activity_run failed\n");
            exit_with(255);
            return 1;
        }
        int cls = top1(prob, ACTIVITY_OUTPUT_SIZE);
        wrong += cls != sample_label[n];
        print("window ");
        print_uint((uint32_t)n);
        print(": ");
        print(class_names[cls]);
        print(" (");
        print_uint((uint32_t)(prob[cls] + 128) * 100u / 256u);
        print("%), label ");
        print(class_names[sample_label[n]]);
        print(cls == sample_label[n] ? "\n" : "  <- wrong\n");
    }
    print_uint((uint32_t)(SAMPLE_COUNT - wrong));
    print(" of ");
    print_uint(SAMPLE_COUNT);
    print(" windows as labelled\n");
    int differ = activity_selftest();
    print("golden self-test: ");
    print_uint((uint32_t)differ);
    print(" output bytes differ from qatc's reference kernels\n");
    exit_with(differ > 127 ? 127 : differ); /* qemu stops here */
    return 0;
}
