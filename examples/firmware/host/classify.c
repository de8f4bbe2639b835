/* classify.c — the generated fmnist_cnn.c in a host application: classify
 * every image of an IDX file (plain or .gz, as the Fashion-MNIST test set)
 * and print the top-1 accuracy in `qatc eval`'s format, so the two can be
 * compared. Both entry points of the generated code are used, and must agree
 * byte for byte:
 *   fmnist_cnn_run(input, logits, arena)   the caller owns the arena (here
 *                                          from malloc; thread-safe with one
 *                                          arena per thread)
 *   fmnist_cnn_run_static(input, logits)   an arena inside fmnist_cnn.c
 *
 *   usage: classify IMAGES.idx[.gz] LABELS.idx[.gz] [N]   (N: only the first N images)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fmnist_cnn.h"

#if FMNIST_CNN_INPUT_ZERO_POINT != -128
#error "this program feeds q = pixel - 128: the model input must have scale 1/255, zero-point -128"
#endif

/* Reads a whole IDX file (gzip'd or not) with its header checked: magic
 * 0x00000800 + dims, then dims big-endian sizes. Returns the payload and its
 * sizes, or NULL after printing why. */
static uint8_t *read_idx(const char *path, int dims, uint32_t size[3])
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "classify: %s: cannot open\n", path);
        return NULL;
    }
    uint8_t head[16];
    int head_len = 4 + 4 * dims;
    uint8_t *data = NULL;
    if (gzread(f, head, (unsigned)head_len) != head_len || head[0] || head[1] || head[2] != 8 ||
        head[3] != dims) {
        fprintf(stderr, "classify: %s: not an IDX file of %d dimension(s)\n", path, dims);
        goto done;
    }
    size_t total = 1;
    for (int d = 0; d < dims; d++) {
        const uint8_t *p = head + 4 + 4 * d;
        size[d] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        total *= size[d];
    }
    data = malloc(total ? total : 1);
    if (!data || gzread(f, data, (unsigned)total) != (int)total) {
        fprintf(stderr, "classify: %s: truncated\n", path);
        free(data);
        data = NULL;
    }
done:
    gzclose(f);
    return data;
}

static int top1(const int8_t *logits)
{
    int best = 0;
    for (int i = 1; i < FMNIST_CNN_OUTPUT_SIZE; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: classify IMAGES.idx[.gz] LABELS.idx[.gz] [N]\n");
        return 2;
    }
    uint32_t isize[3], lsize[3];
    uint8_t *pixels = read_idx(argv[1], 3, isize);
    uint8_t *labels = pixels ? read_idx(argv[2], 1, lsize) : NULL;
    if (!labels) {
        free(pixels);
        return 1;
    }
    if (isize[1] * isize[2] != FMNIST_CNN_INPUT_SIZE || lsize[0] != isize[0]) {
        fprintf(stderr, "classify: %u images of %ux%u and %u labels do not fit the model (%d bytes)\n",
                isize[0], isize[1], isize[2], lsize[0], FMNIST_CNN_INPUT_SIZE);
        free(pixels);
        free(labels);
        return 1;
    }
    uint32_t count = isize[0];
    if (argc == 4 && (uint32_t)atol(argv[3]) < count)
        count = (uint32_t)atol(argv[3]);
    void *arena = malloc(FMNIST_CNN_ARENA_SIZE ? FMNIST_CNN_ARENA_SIZE : 1);
    if (!arena) {
        fprintf(stderr, "classify: out of memory\n");
        return 1;
    }
    uint32_t correct = 0, differ = 0;
    for (uint32_t n = 0; n < count; n++) {
        int8_t input[FMNIST_CNN_INPUT_SIZE], logits[FMNIST_CNN_OUTPUT_SIZE];
        int8_t logits_static[FMNIST_CNN_OUTPUT_SIZE];
        for (int i = 0; i < FMNIST_CNN_INPUT_SIZE; i++)    /* q = p / 255 / scale + zp = p - 128 */
            input[i] = (int8_t)(pixels[(size_t)n * FMNIST_CNN_INPUT_SIZE + i] - 128);
        if (fmnist_cnn_run(input, logits, arena) != 0 ||
            fmnist_cnn_run_static(input, logits_static) != 0) {
            fprintf(stderr, "classify: the model failed on image %u\n", n);
            return 1;
        }
        differ += memcmp(logits, logits_static, sizeof logits) != 0;
        correct += top1(logits) == labels[n];
    }
    free(arena);
    free(pixels);
    free(labels);
    if (differ) {
        fprintf(stderr, "classify: the two entry points disagree on %u images\n", differ);
        return 1;
    }
    printf("top1 %u/%u (%.2f%%)\n", correct, count, count ? 100.0 * correct / count : 0.0);
    return 0;
}
