/* idx — IDX files, plain or gzip'd, read through infile. */
#include "idx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infile.h"

#define IDX_TYPE_UBYTE 0x08
/* Largest payload accepted: every element index fits an int32. */
#define IDX_MAX_ELEMENTS ((uint64_t)INT32_MAX)

/* Reads the magic and the dimensions: dims[0..*ndim). Checks the element
 * type, the dimension count (one of ndim_ok[0..2]) and that every dimension is
 * at least 1 and the element count at most IDX_MAX_ELEMENTS. */
static int idx_read_header(infile *f, int want_images, int *ndim, int32_t dims[4], qerr *e)
{
    uint8_t magic[4];
    int64_t got = infile_read(f, magic, 4, e);
    if (got < 0)
        return -1;
    if (got == 0)
        return qerr_set(e, "%s: empty file", f->path);
    if (got < 4)
        return qerr_set(e, "%s: truncated header (%lld of 4 magic bytes)", f->path,
                        (long long)got);
    if (magic[0] != 0 || magic[1] != 0)
        return qerr_set(e, "%s: not an IDX file (magic 0x%02x%02x%02x%02x)", f->path,
                        magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != IDX_TYPE_UBYTE)
        return qerr_set(e, "%s: IDX element type 0x%02x, expected unsigned bytes (0x08)",
                        f->path, magic[2]);
    *ndim = magic[3];
    if (want_images && *ndim == 1)
        return qerr_set(e, "%s: is a label file (1 dimension), expected images "
                           "(N, H, W) or (N, H, W, C)", f->path);
    if (want_images && *ndim != 3 && *ndim != 4)
        return qerr_set(e, "%s: images with %d dimensions, expected (N, H, W) or (N, H, W, C)",
                        f->path, *ndim);
    if (!want_images && *ndim != 1)
        return qerr_set(e, "%s: %d dimensions, expected labels (N)%s", f->path, *ndim,
                        *ndim == 3 || *ndim == 4 ? " (is this an image file?)" : "");

    uint8_t raw[16];
    got = infile_read(f, raw, (uint64_t)*ndim * 4, e);
    if (got < 0)
        return -1;
    if (got < *ndim * 4)
        return qerr_set(e, "%s: truncated header (%lld of %d dimension bytes)", f->path,
                        (long long)got, *ndim * 4);
    uint64_t count = 1;
    for (int i = 0; i < *ndim; i++) {
        uint32_t v = (uint32_t)raw[4 * i] << 24 | (uint32_t)raw[4 * i + 1] << 16 |
                     (uint32_t)raw[4 * i + 2] << 8 | (uint32_t)raw[4 * i + 3];
        if (v == 0)
            return qerr_set(e, "%s: dimension %d is 0", f->path, i);
        if (v > INT32_MAX)
            return qerr_set(e, "%s: dimension %d is %u, too large", f->path, i, v);
        count *= v;
        if (count > IDX_MAX_ELEMENTS)
            return qerr_set(e, "%s: more than %llu elements, too large", f->path,
                            (unsigned long long)IDX_MAX_ELEMENTS);
        dims[i] = (int32_t)v;
    }
    return 0;
}

int idx_read_images(const char *path, idx_images *out, qerr *e)
{
    infile f;
    if (infile_open(&f, path, e))
        return -1;
    int ndim = 0;
    int32_t dims[4] = {0, 0, 0, 1};
    int rc = idx_read_header(&f, 1, &ndim, dims, e);
    uint8_t *pixels = NULL;
    if (rc == 0) {
        uint64_t count = (uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)dims[2] *
                         (uint64_t)dims[3];
        pixels = infile_read_payload(&f, count, "pixels", e);
        rc = pixels ? 0 : -1;
    }
    infile_close(&f);
    if (rc)
        return -1;
    out->n = dims[0];
    out->h = dims[1];
    out->w = dims[2];
    out->c = dims[3];
    out->pixels = pixels;
    return 0;
}

int idx_read_labels(const char *path, idx_labels *out, qerr *e)
{
    infile f;
    if (infile_open(&f, path, e))
        return -1;
    int ndim = 0;
    int32_t dims[4] = {0, 0, 0, 0};
    int rc = idx_read_header(&f, 0, &ndim, dims, e);
    uint8_t *labels = NULL;
    if (rc == 0) {
        labels = infile_read_payload(&f, (uint64_t)dims[0], "labels", e);
        rc = labels ? 0 : -1;
    }
    infile_close(&f);
    if (rc)
        return -1;
    out->n = dims[0];
    out->labels = labels;
    return 0;
}

void idx_images_free(idx_images *im)
{
    free(im->pixels);
    memset(im, 0, sizeof *im);
}

void idx_labels_free(idx_labels *lb)
{
    free(lb->labels);
    memset(lb, 0, sizeof *lb);
}

void idx_quantize_pixels(const uint8_t *p, int32_t n, double scale, int32_t zero_point,
                         int8_t *out)
{
    /* q = round(p / 255 / scale) + zero_point, clamped: once per pixel value. */
    int8_t table[256];
    for (int v = 0; v < 256; v++) {
        double q = round((double)v / 255.0 / scale) + (double)zero_point;
        table[v] = (int8_t)(q < -128.0 ? -128 : q > 127.0 ? 127 : q);
    }
    for (int32_t i = 0; i < n; i++)
        out[i] = table[p[i]];
}
