/* main.c — classify one Fashion-MNIST image on a Cortex-M or an RV32 core
 * with the C that `qatc gen` wrote for the fmnist example (fmnist_cnn.c,
 * fmnist_cnn.h), and report the class over semihosting.
 *
 * The model needs no heap, no floating point and no libc: it reads the int8
 * input, writes int8 logits, and uses FMNIST_CNN_ARENA_SIZE bytes of scratch
 * RAM that the caller places. Here the arena is a static buffer; it could
 * as well sit in a dedicated RAM bank or share memory with something that
 * is idle during inference. (fmnist_cnn_run_static is the same call with an
 * arena inside fmnist_cnn.c.)
 */
#include <stdint.h>

#include "fmnist_cnn.h"
#include "sample.h"
#include "semihosting.h"

static const char *const class_names[FMNIST_CNN_OUTPUT_SIZE] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* Scratch memory of the model: any 4-byte aligned RAM will do. */
static uint32_t arena[(FMNIST_CNN_ARENA_SIZE + 3) / 4];

/* Top-1: the lowest index among equal largest logits (as qatc eval counts). */
static int top1(const int8_t *logits, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

static void print_digit(int d)
{
    char s[2] = {(char)('0' + d), '\0'};
    print(s);
}

int main(void)
{
    int8_t logits[FMNIST_CNN_OUTPUT_SIZE];
    if (fmnist_cnn_run(sample_image, logits, arena) != 0) {
        print("fmnist_cnn_run failed\n");
        exit_with(1);
        return 1;
    }
    int cls = top1(logits, FMNIST_CNN_OUTPUT_SIZE);
    print("class ");
    print_digit(cls);
    print(" (");
    print(class_names[cls]);
    print("), label ");
    print_digit(sample_label);
    print(" (");
    print(class_names[sample_label]);
    print(")\n");
    exit_with(0);  /* qemu stops here; on a board, main returns to startup.c and sleeps */
    return 0;
}
