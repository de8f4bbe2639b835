/* idx — IDX files (the MNIST / Fashion-MNIST format), plain or gzip'd.
 *
 * Images: magic 0x00000803 (N, H, W) or 0x00000804 (N, H, W, C), uint8.
 * Labels: magic 0x00000801 (N), uint8. Big-endian sizes. A file starting
 * with the gzip magic is decompressed; files are read by infile's rules
 * (regular files only, nothing after the gzip stream).
 */
#ifndef QATC_IDX_H
#define QATC_IDX_H

#include <stdint.h>

#include "qerr.h"

typedef struct {
    int32_t n, h, w, c;  /* c = 1 for (N, H, W) files */
    uint8_t *pixels;     /* (n, h, w, c) */
} idx_images;

typedef struct {
    int32_t n;
    uint8_t *labels;     /* (n) */
} idx_labels;

/* Read a whole file. Returns 0, or -1 with e naming the file and the problem
 * (missing, not a regular file, bad magic, truncated, trailing data,
 * corrupt gzip, absurd sizes); nothing is
 * allocated on failure. */
int idx_read_images(const char *path, idx_images *out, qerr *e);
int idx_read_labels(const char *path, idx_labels *out, qerr *e);
void idx_images_free(idx_images *im);
void idx_labels_free(idx_labels *lb);

/* Pixel p (uint8) to int8 input: q = round(p / 255 / scale) + zero_point,
 * clamped to [-128, 127] (round half away from zero). With scale 1/255 and
 * zero_point -128 this is exactly p - 128. Fills out[0..n). */
void idx_quantize_pixels(const uint8_t *p, int32_t n, double scale, int32_t zero_point,
                         int8_t *out);

#endif
