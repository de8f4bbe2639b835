/* dataset — labelled IDX image sets and allocation-free batching. */
#include "dataset.h"

#include <math.h>
#include <string.h>

#include "idx.h"

int dataset_load(dataset *ds, const char *images, const char *labels, dataset_input in,
                 int32_t n_classes, qerr *e)
{
    memset(ds, 0, sizeof *ds);
    if (strlen(images) >= sizeof ds->images_path)
        return qerr_set(e, "%.100s...: path too long", images);
    if (strlen(labels) >= sizeof ds->labels_path)
        return qerr_set(e, "%.100s...: path too long", labels);
    if (!isfinite(in.scale) || in.scale <= 0)
        return qerr_set(e, "%s: input scale %g must be finite and > 0", images, in.scale);

    idx_images im;
    idx_labels lb;
    if (idx_read_images(images, &im, e))
        return -1;
    if (idx_read_labels(labels, &lb, e)) {
        idx_images_free(&im);
        return -1;
    }
    int rc = 0;
    if (im.n != lb.n)
        rc = qerr_set(e, "%s: images has %d, labels has %d (%s)", images, (int)im.n,
                      (int)lb.n, labels);
    else if (im.h != in.h || im.w != in.w || im.c != in.c)
        rc = qerr_set(e, "%s: images are %dx%dx%d (H, W, C), the model input is %dx%dx%d",
                      images, (int)im.h, (int)im.w, (int)im.c, (int)in.h, (int)in.w,
                      (int)in.c);
    for (int32_t i = 0; rc == 0 && n_classes > 0 && i < lb.n; i++)
        if (lb.labels[i] >= n_classes)
            rc = qerr_set(e, "%s: label %d of image %d is not below the model's %d classes",
                          labels, lb.labels[i], (int)i, (int)n_classes);
    if (rc) {
        idx_images_free(&im);
        idx_labels_free(&lb);
        return -1;
    }

    ds->n = im.n;
    ds->h = im.h;
    ds->w = im.w;
    ds->c = im.c;
    ds->pixels = im.pixels;
    ds->labels = lb.labels;
    ds->in = in;
    strcpy(ds->images_path, images);
    strcpy(ds->labels_path, labels);
    uint8_t all[256];
    for (int v = 0; v < 256; v++)
        all[v] = (uint8_t)v;
    idx_quantize_pixels(all, 256, in.scale, in.zero_point, ds->q_of);
    for (int v = 0; v < 256; v++)
        ds->x_of[v] = (float)(in.scale * (double)(ds->q_of[v] - in.zero_point)); /* real = s·(q − zp) */
    return 0;
}

void dataset_free(dataset *ds)
{
    idx_images im = {.pixels = ds->pixels};
    idx_labels lb = {.labels = ds->labels};
    idx_images_free(&im);
    idx_labels_free(&lb);
    memset(ds, 0, sizeof *ds);
}

int32_t dataset_image_size(const dataset *ds)
{
    return ds->h * ds->w * ds->c;
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
    for (int32_t i = 0; i < count; i++) {
        int32_t img = order[first + i];
        const uint8_t *p = ds->pixels + (size_t)img * size; /* (h, w, c) */
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
