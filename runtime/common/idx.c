/* idx — IDX files through zlib's gz* functions, which read gzip'd and plain
 * files alike (a plain file is passed through unchanged). */
#include "idx.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_TYPE_UBYTE 0x08
/* Largest payload accepted: every element index fits an int32. */
#define IDX_MAX_ELEMENTS ((uint64_t)INT32_MAX)

typedef struct {
    gzFile gz;
    const char *path;
} idx_file;

static int idx_open(idx_file *f, const char *path, qerr *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return qerr_set(e, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return qerr_set(e, "%s: is a directory", path);
    f->path = path;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return qerr_set(e, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1 << 17);
    return 0;
}

/* zlib's message for the last error, without the "PATH: " it puts in front. */
static const char *idx_gz_message(idx_file *f, int *code)
{
    const char *msg = gzerror(f->gz, code);
    size_t len = strlen(f->path);
    if (!strncmp(msg, f->path, len) && !strncmp(msg + len, ": ", 2))
        msg += len + 2;
    return msg;
}

/* Reads exactly n bytes. Returns the number read (< n at the end of the data),
 * or -1 with e set when zlib reports corrupt data. A short count after which
 * zlib reports an error is also -1 (a truncated gzip stream). */
static int64_t idx_read(idx_file *f, void *buf, uint64_t n, qerr *e)
{
    uint64_t got = 0;
    while (got < n) {
        uint64_t chunk = n - got < (1u << 30) ? n - got : (1u << 30);
        int r = gzread(f->gz, (uint8_t *)buf + got, (unsigned)chunk);
        if (r < 0) {
            int code;
            const char *msg = idx_gz_message(f, &code);
            return qerr_set(e, "%s: %s gzip data: %s", f->path,
                            code == Z_BUF_ERROR ? "truncated" : "corrupt", msg);
        }
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    if (got < n) {
        int code;
        const char *msg = idx_gz_message(f, &code);
        if (code != Z_OK)
            return qerr_set(e, "%s: %s gzip data: %s", f->path,
                            code == Z_BUF_ERROR ? "truncated" : "corrupt", msg);
    }
    return (int64_t)got;
}

/* Reads the magic and the dimensions: dims[0..*ndim). Checks the element
 * type, the dimension count (one of ndim_ok[0..2]) and that every dimension is
 * at least 1 and the element count at most IDX_MAX_ELEMENTS. */
static int idx_read_header(idx_file *f, int want_images, int *ndim, int32_t dims[4], qerr *e)
{
    uint8_t magic[4];
    int64_t got = idx_read(f, magic, 4, e);
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
    got = idx_read(f, raw, (uint64_t)*ndim * 4, e);
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

/* Reads the count bytes of payload into a new buffer and checks that nothing
 * follows them. The buffer grows with the data actually read, so a header
 * promising gigabytes in a small file costs no more memory than the file.
 * Returns the buffer, or NULL with e set. */
static uint8_t *idx_read_payload(idx_file *f, uint64_t count, const char *what, qerr *e)
{
    uint64_t cap = count < (1u << 20) ? count : (1u << 20), got = 0;
    uint8_t *buf = NULL;
    for (;;) {
        uint8_t *grown = realloc(buf, cap);
        if (!grown) {
            free(buf);
            qerr_set(e, "%s: out of memory for %llu bytes", f->path, (unsigned long long)cap);
            return NULL;
        }
        buf = grown;
        int64_t r = idx_read(f, buf + got, cap - got, e);
        if (r < 0) {
            free(buf);
            return NULL;
        }
        got += (uint64_t)r;
        if (got < cap || cap == count)
            break;
        cap = count - cap < cap ? count : 2 * cap;
    }
    if (got < count) {
        qerr_set(e, "%s: truncated: header promises %llu bytes of %s, file has %llu", f->path,
                 (unsigned long long)count, what, (unsigned long long)got);
        free(buf);
        return NULL;
    }
    /* One more read: finds trailing bytes, and makes zlib check the gzip
     * trailer (CRC and length) of the stream just consumed. */
    uint8_t extra[64];
    int64_t more = idx_read(f, extra, sizeof extra, e);
    if (more != 0) {
        if (more > 0)
            qerr_set(e, "%s: unexpected data after the %llu bytes of %s", f->path,
                     (unsigned long long)count, what);
        free(buf);
        return NULL;
    }
    return buf;
}

int idx_read_images(const char *path, idx_images *out, qerr *e)
{
    idx_file f;
    if (idx_open(&f, path, e))
        return -1;
    int ndim = 0;
    int32_t dims[4] = {0, 0, 0, 1};
    int rc = idx_read_header(&f, 1, &ndim, dims, e);
    uint8_t *pixels = NULL;
    if (rc == 0) {
        uint64_t count = (uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)dims[2] *
                         (uint64_t)dims[3];
        pixels = idx_read_payload(&f, count, "pixels", e);
        rc = pixels ? 0 : -1;
    }
    gzclose(f.gz);
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
    idx_file f;
    if (idx_open(&f, path, e))
        return -1;
    int ndim = 0;
    int32_t dims[4] = {0, 0, 0, 0};
    int rc = idx_read_header(&f, 0, &ndim, dims, e);
    uint8_t *labels = NULL;
    if (rc == 0) {
        labels = idx_read_payload(&f, (uint64_t)dims[0], "labels", e);
        rc = labels ? 0 : -1;
    }
    gzclose(f.gz);
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
