/* dataset — inputs from IDX or .npy, class labels or float targets, and
 * allocation-free batching. */
#include "dataset.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "infile.h"
#include "npy.h"

int8_t dataset_quantize_real(double x, double scale, int32_t zero_point)
{
    double q = round(x / scale) + (double)zero_point; /* q = round(x/s) + zp */
    return (int8_t)(q < -128.0 ? -128 : q > 127.0 ? 127 : q);
}

/* Whether path holds a .npy array (by its magic, through gzip too). */
static int dataset_is_npy(const char *path, int *is_npy, qerr *e)
{
    uint8_t head[6];
    size_t got = 0;
    if (infile_peek(path, head, sizeof head, &got, e))
        return -1;
    /* a start of the magic too: a .npy cut short is then called truncated */
    *is_npy = got > 0 && memcmp(head, "\x93NUMPY", got) == 0;
    if (!*is_npy && got >= 4 && (head[0] != 0 || head[1] != 0))
        return qerr_set(e, "%s: neither an IDX file nor a .npy array (starts with "
                           "0x%02x%02x%02x%02x)", path, head[0], head[1], head[2], head[3]);
    return 0;
}

/* The shape of one sample of a by the .npy rule: N×H×W×C → H×W×C, N×T×C →
 * 1×T×C, N×F → 1×1×F, and, when min_rank is 1, (N,) → 1×1×1. */
static int dataset_npy_sample(const char *path, const npy_array *a, int min_rank,
                              const char *what, int32_t hwc[3], qerr *e)
{
    char s[128];
    if (a->ndim < min_rank || a->ndim > 4)
        return qerr_set(e, "%s: %s of shape %s: expected %s", path, what,
                        npy_shape_str(a, s, sizeof s),
                        min_rank == 1 ? "(N, H, W, C), (N, T, C), (N, F) or (N,)"
                                      : "(N, H, W, C), (N, T, C) or (N, F)");
    hwc[0] = hwc[1] = hwc[2] = 1;
    for (int d = 1; d < a->ndim; d++)
        hwc[3 - a->ndim + d] = (int32_t)a->shape[d]; /* ≤ count ≤ INT32_MAX */
    return 0;
}

/* Reads .npy inputs into ds->codes and fills q_of/x_of for their source. */
static int dataset_npy_inputs(dataset *ds, const char *path, qerr *e)
{
    npy_array a;
    if (npy_read(path, NPY_ONLY(NPY_U1) | NPY_ONLY(NPY_I1) | NPY_ONLY(NPY_F4), &a, e))
        return -1;
    int32_t hwc[3];
    char s[128];
    if (dataset_npy_sample(path, &a, 2, "inputs", hwc, e)) {
        npy_free(&a);
        return -1;
    }
    const dataset_input *in = &ds->in;
    if (hwc[0] != in->h || hwc[1] != in->w || hwc[2] != in->c) {
        qerr_set(e, "%s: inputs of shape %s are %dx%dx%d each (H, W, C), the model input is "
                    "%dx%dx%d", path, npy_shape_str(&a, s, sizeof s), (int)hwc[0], (int)hwc[1],
                 (int)hwc[2], (int)in->h, (int)in->w, (int)in->c);
        npy_free(&a);
        return -1;
    }
    ds->n = (int32_t)a.shape[0];
    if (a.dtype == NPY_U1) {
        ds->source = DATASET_PIXELS;
        ds->codes = a.data; /* code = p */
        return 0;
    }
    if (a.dtype == NPY_I1) {
        ds->source = DATASET_INT8;
        uint8_t *c = a.data;
        for (int64_t k = 0; k < a.count; k++)
            c[k] = (uint8_t)(c[k] ^ 0x80); /* code = q + 128 */
        ds->codes = c;
        return 0;
    }
    ds->source = DATASET_REAL;
    ds->codes = malloc((size_t)a.count);
    if (!ds->codes) {
        npy_free(&a);
        return qerr_set(e, "%s: out of memory for %lld inputs", path, (long long)a.count);
    }
    const float *x = a.data;
    for (int64_t k = 0; k < a.count; k++)
        ds->codes[k] = (uint8_t)(dataset_quantize_real(x[k], in->scale, in->zero_point) + 128);
    npy_free(&a);
    return 0;
}

/* The class labels of a .npy array of any integer type into ds->labels. */
static int dataset_npy_labels(dataset *ds, const char *path, int32_t n_classes, qerr *e)
{
    npy_array a;
    if (npy_read_int32(path, &a, e))
        return -1;
    char s[128];
    int rc = 0;
    if (a.ndim != 1)
        rc = qerr_set(e, "%s: labels of shape %s: expected (N,), one class number per input",
                      path, npy_shape_str(&a, s, sizeof s));
    else if (a.shape[0] != ds->n)
        rc = qerr_set(e, "%s: images has %d, labels has %lld (%s)", ds->images_path, (int)ds->n,
                      (long long)a.shape[0], path);
    const int32_t *v = a.data;
    for (int64_t i = 0; rc == 0 && i < a.count; i++) {
        if (v[i] < 0)
            rc = qerr_set(e, "%s: label %d of image %lld is negative", path, (int)v[i],
                          (long long)i);
        else if (n_classes > 0 && v[i] >= n_classes)
            rc = qerr_set(e, "%s: label %d of image %lld is not below the model's %d classes",
                          path, (int)v[i], (long long)i, (int)n_classes);
        else if (v[i] > 255)
            rc = qerr_set(e, "%s: label %d of image %lld is over 255 (at most 256 classes)",
                          path, (int)v[i], (long long)i);
    }
    if (rc == 0) {
        ds->labels = malloc((size_t)a.count);
        if (!ds->labels)
            rc = qerr_set(e, "%s: out of memory for %lld labels", path, (long long)a.count);
    }
    for (int64_t i = 0; rc == 0 && i < a.count; i++)
        ds->labels[i] = (uint8_t)v[i];
    npy_free(&a);
    return rc;
}

/* Float targets (.npy f4) into ds->targets, checked against want's shape. */
static int dataset_npy_targets(dataset *ds, const char *path, dataset_want want, qerr *e)
{
    npy_array a;
    if (npy_read(path, NPY_ONLY(NPY_F4), &a, e))
        return -1;
    int32_t hwc[3];
    char s[128];
    int rc = dataset_npy_sample(path, &a, 1, "targets", hwc, e);
    if (rc == 0 && (hwc[0] != want.h || hwc[1] != want.w || hwc[2] != want.c))
        rc = qerr_set(e, "%s: targets of shape %s are %dx%dx%d each (H, W, C), the model output "
                         "is %dx%dx%d", path, npy_shape_str(&a, s, sizeof s), (int)hwc[0],
                      (int)hwc[1], (int)hwc[2], (int)want.h, (int)want.w, (int)want.c);
    else if (rc == 0 && a.shape[0] != ds->n)
        rc = qerr_set(e, "%s: images has %d, labels has %lld (%s)", ds->images_path, (int)ds->n,
                      (long long)a.shape[0], path);
    const float *t = a.data;
    for (int64_t k = 0; rc == 0 && k < a.count; k++)
        if (fabsf(t[k]) > DATASET_TARGET_MAX)
            rc = qerr_set(e, "%s: target %lld of input %lld is %g, beyond ±%g (its squared "
                             "error would overflow)", path, (long long)(k % (a.count / a.shape[0])),
                          (long long)(k / (a.count / a.shape[0])), (double)t[k],
                          DATASET_TARGET_MAX);
    if (rc) {
        npy_free(&a);
        return -1;
    }
    ds->targets = a.data;
    ds->th = hwc[0];
    ds->tw = hwc[1];
    ds->tc = hwc[2];
    return 0;
}

/* Reads IDX images into ds->codes (code = pixel). */
static int dataset_idx_inputs(dataset *ds, const char *path, qerr *e)
{
    idx_images im;
    if (idx_read_images(path, &im, e))
        return -1;
    if (im.h != ds->in.h || im.w != ds->in.w || im.c != ds->in.c) {
        qerr_set(e, "%s: images are %dx%dx%d (H, W, C), the model input is %dx%dx%d", path,
                 (int)im.h, (int)im.w, (int)im.c, (int)ds->in.h, (int)ds->in.w, (int)ds->in.c);
        idx_images_free(&im);
        return -1;
    }
    ds->source = DATASET_PIXELS;
    ds->n = im.n;
    ds->codes = im.pixels;
    return 0;
}

/* IDX class labels into ds->labels. */
static int dataset_idx_labels(dataset *ds, const char *path, int32_t n_classes, qerr *e)
{
    idx_labels lb;
    if (idx_read_labels(path, &lb, e))
        return -1;
    int rc = 0;
    if (lb.n != ds->n)
        rc = qerr_set(e, "%s: images has %d, labels has %d (%s)", ds->images_path, (int)ds->n,
                      (int)lb.n, path);
    for (int32_t i = 0; rc == 0 && n_classes > 0 && i < lb.n; i++)
        if (lb.labels[i] >= n_classes)
            rc = qerr_set(e, "%s: label %d of image %d is not below the model's %d classes",
                          path, lb.labels[i], (int)i, (int)n_classes);
    if (rc) {
        idx_labels_free(&lb);
        return -1;
    }
    ds->labels = lb.labels;
    return 0;
}

/* The code tables of ds's source and quantization. */
static void dataset_tables(dataset *ds)
{
    const dataset_input *in = &ds->in;
    if (ds->source == DATASET_PIXELS) {
        uint8_t all[256];
        for (int v = 0; v < 256; v++)
            all[v] = (uint8_t)v;
        idx_quantize_pixels(all, 256, in->scale, in->zero_point, ds->q_of);
    } else {
        for (int v = 0; v < 256; v++)
            ds->q_of[v] = (int8_t)(v - 128); /* code = q + 128 */
    }
    for (int v = 0; v < 256; v++)
        ds->x_of[v] = (float)(in->scale * (double)(ds->q_of[v] - in->zero_point)); /* real = s·(q − zp) */
}

int dataset_load_as(dataset *ds, const char *inputs, const char *labels, dataset_input in,
                    dataset_want want, qerr *e)
{
    memset(ds, 0, sizeof *ds);
    assert((want.kind == DATASET_NONE) == (labels == NULL));
    if (strlen(inputs) >= sizeof ds->images_path)
        return qerr_set(e, "%.100s...: path too long", inputs);
    if (labels && strlen(labels) >= sizeof ds->labels_path)
        return qerr_set(e, "%.100s...: path too long", labels);
    if (!isfinite(in.scale) || in.scale <= 0)
        return qerr_set(e, "%s: input scale %g must be finite and > 0", inputs, in.scale);
    ds->in = in;
    strcpy(ds->images_path, inputs);
    if (labels)
        strcpy(ds->labels_path, labels);

    int npy_in = 0, npy_lb = 0;
    int rc = dataset_is_npy(inputs, &npy_in, e);
    if (rc == 0)
        rc = npy_in ? dataset_npy_inputs(ds, inputs, e) : dataset_idx_inputs(ds, inputs, e);
    if (rc == 0 && labels)
        rc = dataset_is_npy(labels, &npy_lb, e);
    if (rc == 0 && want.kind == DATASET_CLASSES)
        rc = npy_lb ? dataset_npy_labels(ds, labels, want.n_classes, e)
                    : dataset_idx_labels(ds, labels, want.n_classes, e);
    if (rc == 0 && want.kind == DATASET_TARGETS)
        rc = npy_lb ? dataset_npy_targets(ds, labels, want, e)
                    : qerr_set(e, "%s: float targets (loss: mse) must be a .npy array of f4, "
                                  "not an IDX file", labels);
    if (rc) {
        dataset_free(ds);
        return -1;
    }
    ds->h = in.h;
    ds->w = in.w;
    ds->c = in.c;
    dataset_tables(ds);
    if (ds->source == DATASET_PIXELS && ds->q_of[0] == ds->q_of[255]) {
        int q = ds->q_of[0];
        dataset_free(ds);
        return qerr_set(e, "%s: with the input scale %g every pixel value 0..255 becomes the "
                           "int8 value %d: the images would carry nothing (pixels are the real "
                           "values p / 255 in [0, 1], so the scale must be at most 2; 1/255 "
                           "keeps all 256 values)",
                        inputs, in.scale, q);
    }
    return 0;
}

int dataset_load(dataset *ds, const char *images, const char *labels, dataset_input in,
                 int32_t n_classes, qerr *e)
{
    dataset_want want = {DATASET_CLASSES, n_classes, 0, 0, 0};
    return dataset_load_as(ds, images, labels, in, want, e);
}

int dataset_split(dataset *ds, dataset *part, int32_t n_part, rng_state *r, qerr *e)
{
    assert(n_part > 0 && n_part < ds->n);
    size_t size = (size_t)dataset_image_size(ds), tsize = (size_t)dataset_target_size(ds);
    memset(part, 0, sizeof *part);
    int32_t *idx = malloc((size_t)ds->n * sizeof *idx);
    uint8_t *chosen = calloc((size_t)ds->n, 1);
    part->codes = malloc((size_t)n_part * size);
    part->labels = ds->labels ? malloc((size_t)n_part) : NULL;
    part->targets = ds->targets ? malloc((size_t)n_part * tsize * sizeof(float)) : NULL;
    if (!idx || !chosen || !part->codes || (ds->labels && !part->labels) ||
        (ds->targets && !part->targets)) {
        free(idx);
        free(chosen);
        dataset_free(part);
        return qerr_set(e, "%s: out of memory for a validation set of %d inputs",
                        ds->images_path, (int)n_part);
    }
    for (int32_t i = 0; i < ds->n; i++)
        idx[i] = i;
    rng_shuffle(r, idx, ds->n);
    for (int32_t i = 0; i < n_part; i++)
        chosen[idx[i]] = 1;
    /* in file order: chosen inputs to part, the others moved down in ds */
    int32_t np = 0, nk = 0;
    for (int32_t i = 0; i < ds->n; i++) {
        dataset *to = chosen[i] ? part : ds;
        int32_t at = chosen[i] ? np++ : nk++;
        memmove(to->codes + (size_t)at * size, ds->codes + (size_t)i * size, size);
        if (ds->labels)
            to->labels[at] = ds->labels[i];
        if (ds->targets)
            memmove(to->targets + (size_t)at * tsize, ds->targets + (size_t)i * tsize,
                    tsize * sizeof(float));
    }
    free(idx);
    free(chosen);
    uint8_t *codes = part->codes, *labels = part->labels;
    float *targets = part->targets;
    *part = *ds; /* shape, source, tables, paths */
    part->n = n_part;
    part->codes = codes, part->labels = labels, part->targets = targets;
    ds->n = nk;
    return 0;
}

void dataset_free(dataset *ds)
{
    free(ds->codes);
    free(ds->labels);
    free(ds->targets);
    memset(ds, 0, sizeof *ds);
}

int32_t dataset_image_size(const dataset *ds)
{
    return ds->h * ds->w * ds->c;
}

int32_t dataset_target_size(const dataset *ds)
{
    return ds->th * ds->tw * ds->tc;
}

int32_t dataset_batches(const dataset *ds, int32_t batch, int32_t iterations)
{
    int32_t whole = (int32_t)(((int64_t)ds->n + batch - 1) / batch);
    return iterations > 0 && iterations < whole ? iterations : whole;
}

void dataset_epoch_order(const dataset *ds, int32_t *order, rng_state *rng)
{
    for (int32_t i = 0; i < ds->n; i++)
        order[i] = i;
    if (rng)
        rng_shuffle(rng, order, ds->n);
}

/* Batch b of an epoch visited in order, as the inputs of one model: the float
 * inputs into xf or the int8 inputs into xq (exactly one of them not NULL,
 * (count, h, w, c)), the labels into y (count) unless y is NULL. Returns
 * count: images order[b·batch .. min((b+1)·batch, n)), 0 past the end. */
static int32_t dataset_batch(const dataset *ds, const int32_t *order, int32_t b,
                             int32_t batch, float *xf, int8_t *xq, uint8_t *y)
{
    int64_t first = (int64_t)b * batch;
    if (b < 0 || first >= ds->n)
        return 0;
    int32_t count = (int32_t)(ds->n - first < batch ? ds->n - first : batch);
    size_t size = (size_t)dataset_image_size(ds);
    assert(!y || ds->labels);
    for (int32_t i = 0; i < count; i++) {
        int32_t img = order[first + i];
        const uint8_t *p = ds->codes + (size_t)img * size; /* (h, w, c) */
        if (xf) {
            float *xi = xf + (size_t)i * size;
            for (size_t k = 0; k < size; k++)
                xi[k] = ds->x_of[p[k]];
        } else {
            int8_t *xi = xq + (size_t)i * size;
            for (size_t k = 0; k < size; k++)
                xi[k] = ds->q_of[p[k]];
        }
        if (y)
            y[i] = ds->labels[img];
    }
    return count;
}

int32_t dataset_batch_float(const dataset *ds, const int32_t *order, int32_t b,
                            int32_t batch, float *x, uint8_t *y)
{
    return dataset_batch(ds, order, b, batch, x, NULL, y);
}

int32_t dataset_batch_int8(const dataset *ds, const int32_t *order, int32_t b,
                           int32_t batch, int8_t *x, uint8_t *y)
{
    return dataset_batch(ds, order, b, batch, NULL, x, y);
}

int32_t dataset_batch_targets(const dataset *ds, const int32_t *order, int32_t b,
                              int32_t batch, float *t)
{
    assert(ds->targets);
    int64_t first = (int64_t)b * batch;
    if (b < 0 || first >= ds->n)
        return 0;
    int32_t count = (int32_t)(ds->n - first < batch ? ds->n - first : batch);
    size_t size = (size_t)dataset_target_size(ds);
    for (int32_t i = 0; i < count; i++)
        memcpy(t + (size_t)i * size, ds->targets + (size_t)order[first + i] * size,
               size * sizeof *t);
    return count;
}
