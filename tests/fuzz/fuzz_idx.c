/* libFuzzer target: idx_read_images and idx_read_labels on arbitrary bytes.
 *
 * The first byte chooses how the rest reaches the reader: bit 0 set = written
 * gzip-compressed (so mutations explore the IDX header behind zlib too), clear
 * = written as is (plain IDX, or corrupt/truncated gzip). Checks: no crash,
 * leak or undefined behaviour; a rejection is one line naming the file; an
 * accepted file has positive sizes, matches the bytes given, and every pixel
 * and label can be read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzzfile.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int gz = data[0] & 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const char *path = gz ? fuzzfile_write_gz("idx", 0, "fuzz.idx.gz", body, n)
                          : fuzzfile_write("idx", 0, "fuzz.idx", body, n);
    qerr e = {{0}};
    volatile unsigned sum = 0; /* every byte is read, so ASan sees a short buffer */

    idx_images im;
    if (idx_read_images(path, &im, &e) == 0) {
        if (im.n < 1 || im.h < 1 || im.w < 1 || im.c < 1 || !im.pixels)
            fuzz_fail("accepted images with a non-positive size");
        uint64_t count = (uint64_t)im.n * (uint64_t)im.h * (uint64_t)im.w * (uint64_t)im.c;
        /* A plain file (not gzip magic 1f 8b) is the header, 4 + 4 bytes per
         * dimension, and the pixels, nothing else. */
        if (!gz && body[0] == 0 && count + 4 + 4 * (uint64_t)body[3] != n)
            fuzz_fail("accepted images whose size does not match the file");
        for (uint64_t i = 0; i < count; i++)
            sum += im.pixels[i];
        idx_images_free(&im);
    } else {
        fuzzfile_check_message(e.msg, path);
    }

    e.msg[0] = '\0';
    idx_labels lb;
    if (idx_read_labels(path, &lb, &e) == 0) {
        if (lb.n < 1 || !lb.labels)
            fuzz_fail("accepted labels with a non-positive count");
        if (!gz && body[0] == 0 && (uint64_t)lb.n + 8 != n)
            fuzz_fail("accepted labels whose count does not match the file");
        for (int32_t i = 0; i < lb.n; i++)
            sum += lb.labels[i];
        idx_labels_free(&lb);
    } else {
        fuzzfile_check_message(e.msg, path);
    }
    (void)sum;
    return 0;
}
