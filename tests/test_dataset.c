/* Tests for dataset: loading with its checks, float input equal to the real
 * value of the int8 input, seeded shuffling and batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataset.h"
#include "idx.h"
#include "npy.h"
#include "qmodel.h"
#include "tmpdir.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"

typedef struct {
    char dir[TMPDIR_CAP];
    char images[320], labels[320];
    char x[320], y[320]; /* .npy inputs and labels/targets */
    dataset ds;
    qerr e;
} fixture;

/* Writes an IDX file: magic for ndim dims, dims, then data. */
static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint8_t magic[4] = {0, 0, 8, (uint8_t)ndim};
    fwrite(magic, 1, 4, fp);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        uint8_t be[4] = {(uint8_t)(dims[i] >> 24), (uint8_t)(dims[i] >> 16),
                         (uint8_t)(dims[i] >> 8), (uint8_t)dims[i]};
        fwrite(be, 1, 4, fp);
        count *= dims[i];
    }
    fwrite(data, 1, count, fp);
    fclose(fp);
}

/* n images of 3x2x2 with pixel (i, k) = i*12 + k (mod 256), labels i % 10. */
static void write_set(fixture *f, uint32_t n_images, uint32_t n_labels)
{
    uint8_t pix[100 * 12], lab[100];
    for (uint32_t i = 0; i < n_images * 12; i++)
        pix[i] = (uint8_t)(i * 37 + 5);
    for (uint32_t i = 0; i < n_labels; i++)
        lab[i] = (uint8_t)(i % 10);
    const uint32_t idims[4] = {n_images, 3, 2, 2}, ldims[1] = {n_labels};
    write_idx(f->images, 4, idims, pix);
    write_idx(f->labels, 1, ldims, lab);
}

static const q_shape shape322 = {3, 2, 2};
static const q_quant q255 = {0.00392156862745098, -128};

static dataset_input in_of(q_shape s, q_quant q)
{
    return (dataset_input){s.h, s.w, s.c, q.scale, q.zero_point};
}

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_dataset", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->images, sizeof f->images, "%s/images.idx", f->dir);
    snprintf(f->labels, sizeof f->labels, "%s/labels.idx", f->dir);
    snprintf(f->x, sizeof f->x, "%s/x.npy", f->dir);
    snprintf(f->y, sizeof f->y, "%s/y.npy", f->dir);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dataset_free(&f->ds);
    return tmpdir_fixture_free(f);
}

static void test_dataset_load(void **state)
{
    fixture *f = *state;
    write_set(f, 25, 25);
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 10, &f->e), 0);
    assert_int_equal(f->ds.n, 25);
    assert_int_equal(f->ds.h, 3);
    assert_int_equal(f->ds.w, 2);
    assert_int_equal(f->ds.c, 2);
    assert_int_equal(dataset_image_size(&f->ds), 12);
    assert_int_equal(f->ds.labels[13], 3);
    assert_int_equal(f->ds.codes[12 * 4 + 1], (uint8_t)((12 * 4 + 1) * 37 + 5));
    assert_string_equal(f->ds.images_path, f->images);
}

static void test_dataset_count_mismatch(void **state)
{
    fixture *f = *state;
    write_set(f, 25, 24);
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 10, &f->e), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s: images has 25, labels has 24 (%s)", f->images, f->labels);
    assert_string_equal(f->e.msg, want);
    assert_null(f->ds.codes);
    assert_null(f->ds.labels);
}

static void test_dataset_shape_mismatch(void **state)
{
    fixture *f = *state;
    write_set(f, 5, 5);
    const q_shape want_shape = {28, 28, 1};
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(want_shape, q255), 10, &f->e),
                     -1);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: images are 3x2x2 (H, W, C), the model input is 28x28x1", f->images);
    assert_string_equal(f->e.msg, want);
    assert_null(f->ds.codes);
}

static void test_dataset_label_out_of_range(void **state)
{
    fixture *f = *state;
    write_set(f, 12, 12);
    /* labels are i % 10: image 8 has label 8, not below 8 classes */
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 8, &f->e), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s: label 8 of image 8 is not below the model's 8 classes",
             f->labels);
    assert_string_equal(f->e.msg, want);
    /* 0 classes: no check */
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 0, &f->e), 0);
}

static void test_dataset_missing_files(void **state)
{
    fixture *f = *state;
    write_set(f, 5, 5);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.idx", f->dir);
    assert_int_equal(dataset_load(&f->ds, f->images, missing, in_of(shape322, q255), 10, &f->e), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(f->e.msg, want);
    /* images and labels swapped */
    assert_int_equal(dataset_load(&f->ds, f->labels, f->images, in_of(shape322, q255), 10, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "is a label file"));
    const q_quant bad = {0.0, 0};
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, bad), 10, &f->e), -1);
    snprintf(want, sizeof want, "%s: input scale 0 must be finite and > 0", f->images);
    assert_string_equal(f->e.msg, want);
    /* a scale that maps every pixel to one int8 value: refused before training */
    const q_quant flat = {2.5, -128}, two = {2.0, -128};
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, flat), 10, &f->e),
                     -1);
    assert_non_null(strstr(f->e.msg, "every pixel value 0..255 becomes the int8 value -128"));
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, two), 10, &f->e),
                     0); /* 255 -> 1/2 rounds away from zero: two values */
    dataset_free(&f->ds);
}

/* x is the real value of q for every pixel, for several quantizations. */
static void test_dataset_float_is_real_value_of_int8(void **state)
{
    fixture *f = *state;
    write_set(f, 100, 100);
    const q_quant quants[3] = {{0.00392156862745098, -128}, {0.0123, 3}, {0.5, 100}};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, quants[k]), 0,
                                      &f->e), 0);
        int32_t order[100];
        dataset_epoch_order(&f->ds, order, NULL);
        float x[100 * 12];
        int8_t q[100 * 12], want_q[100 * 12];
        uint8_t y[100], y8[100];
        assert_int_equal(dataset_batch_float(&f->ds, order, 0, 100, x, y), 100);
        assert_int_equal(dataset_batch_int8(&f->ds, order, 0, 100, q, y8), 100);
        idx_quantize_pixels(f->ds.codes, 1200, quants[k].scale, quants[k].zero_point, want_q);
        for (int i = 0; i < 1200; i++) {
            if (q[i] != want_q[i])
                fail_msg("quant %d: q[%d] = %d, expected %d", k, i, q[i], want_q[i]);
            float want_x = (float)(quants[k].scale * (double)(q[i] - quants[k].zero_point));
            if (x[i] != want_x)
                fail_msg("quant %d: x[%d] = %.9g, expected %.9g", k, i, (double)x[i],
                         (double)want_x);
        }
        assert_memory_equal(y, y8, 100);
        dataset_free(&f->ds);
    }
}

/* With scale 1/255 and zero-point -128, q = p - 128 and x = p / 255 in float. */
static void test_dataset_fashion_mnist_quantization(void **state)
{
    fixture *f = *state;
    write_set(f, 100, 100);
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 0, &f->e), 0);
    float maxdiff = 0;
    for (int v = 0; v < 256; v++) {
        assert_int_equal(f->ds.q_of[v], v - 128);
        float d = f->ds.x_of[v] - (float)v / 255.0f;
        maxdiff = d > maxdiff ? d : -d > maxdiff ? -d : maxdiff;
    }
    if (maxdiff > 1e-7f)
        fail_msg("x differs from p / 255 by up to %g", (double)maxdiff);
    assert_true(f->ds.x_of[0] == 0.0f);
    assert_true(f->ds.x_of[255] == 1.0f);
}

static void test_dataset_batches_cover_the_set(void **state)
{
    fixture *f = *state;
    write_set(f, 25, 25);
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 10, &f->e), 0);
    assert_int_equal(dataset_batches(&f->ds, 8, 0), 4);
    assert_int_equal(dataset_batches(&f->ds, 8, 2), 2);
    assert_int_equal(dataset_batches(&f->ds, 8, 9), 4);
    assert_int_equal(dataset_batches(&f->ds, 25, 0), 1);
    assert_int_equal(dataset_batches(&f->ds, 100, 0), 1);

    int32_t order[25];
    dataset_epoch_order(&f->ds, order, NULL);
    int8_t q[8 * 12];
    uint8_t y[8];
    int seen = 0;
    for (int32_t b = 0; b < 4; b++) {
        int32_t count = dataset_batch_int8(&f->ds, order, b, 8, q, y);
        assert_int_equal(count, b < 3 ? 8 : 1);
        for (int32_t i = 0; i < count; i++) {
            int img = b * 8 + i;
            assert_int_equal(y[i], img % 10);
            assert_int_equal(q[i * 12 + 5], (int8_t)(f->ds.codes[img * 12 + 5] - 128));
        }
        seen += count;
    }
    assert_int_equal(seen, 25);
    assert_int_equal(dataset_batch_int8(&f->ds, order, 4, 8, q, y), 0);
    assert_int_equal(dataset_batch_float(&f->ds, order, 4, 8, NULL, NULL), 0);
}

static void test_dataset_shuffle_is_seeded_permutation(void **state)
{
    fixture *f = *state;
    write_set(f, 100, 100);
    assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 10, &f->e), 0);
    int32_t a[100], b[100], c[100];
    rng_state r1, r2, r3;
    rng_seed(&r1, 9527);
    rng_seed(&r2, 9527);
    rng_seed(&r3, 9528);
    dataset_epoch_order(&f->ds, a, &r1);
    dataset_epoch_order(&f->ds, b, &r2);
    dataset_epoch_order(&f->ds, c, &r3);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    int hit[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        assert_in_range(a[i], 0, 99);
        hit[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(hit[i], 1);
    assert_true(moved > 50);

    /* the next epoch's order depends only on the rng state, not on the
     * previous order: a resumed run that restores the rng repeats it */
    rng_state saved = r1;
    dataset_epoch_order(&f->ds, a, &r1);
    dataset_epoch_order(&f->ds, b, &saved);
    assert_memory_equal(a, b, sizeof a);

    /* a shuffled batch carries each image's own label */
    float x[10 * 12];
    uint8_t y[10];
    assert_int_equal(dataset_batch_float(&f->ds, a, 3, 10, x, y), 10);
    for (int i = 0; i < 10; i++) {
        int img = a[30 + i];
        assert_int_equal(y[i], img % 10);
        assert_true(x[i * 12] == f->ds.x_of[f->ds.codes[img * 12]]);
    }
}

static void test_dataset_fashion_mnist_test_set(void **state)
{
    fixture *f = *state;
    if (access(FMNIST "t10k-images-idx3-ubyte.gz", R_OK) != 0 ||
        access(FMNIST "t10k-labels-idx1-ubyte.gz", R_OK) != 0)
        skip();
    const q_shape s = {28, 28, 1};
    assert_int_equal(dataset_load(&f->ds, FMNIST "t10k-images-idx3-ubyte.gz",
                                  FMNIST "t10k-labels-idx1-ubyte.gz", in_of(s, q255), 10, &f->e), 0);
    assert_int_equal(f->ds.n, 10000);
    assert_int_equal(f->ds.labels[0], 9);
}

/* ---- .npy inputs, labels and targets ---------------------------------------- */

/* Writes a .npy file of dtype t and shape (d0, d1, ...; ndim of them). */
static void write_npy(const char *path, npy_dtype t, const void *data, int ndim, ...)
{
    npy_array a = {.dtype = t, .ndim = ndim, .count = 1, .data = (void *)data};
    va_list ap;
    va_start(ap, ndim);
    for (int d = 0; d < ndim; d++) {
        a.shape[d] = va_arg(ap, int);
        a.count *= a.shape[d];
    }
    va_end(ap);
    qerr e = {{0}};
    if (npy_write(path, &a, 1, &e))
        fail_msg("%s", e.msg);
}

/* "PATH: rest" */
static void assert_msg(const fixture *f, const char *path, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", path, rest);
    assert_string_equal(f->e.msg, want);
}

/* u1 .npy inputs are pixels exactly as IDX images are; int64 labels equal
 * the IDX labels. */
static void test_dataset_npy_u1_equals_idx(void **state)
{
    fixture *f = *state;
    write_set(f, 25, 25);
    uint8_t pix[25 * 12];
    int64_t lab[25];
    for (int i = 0; i < 25 * 12; i++)
        pix[i] = (uint8_t)(i * 37 + 5);
    for (int i = 0; i < 25; i++)
        lab[i] = i % 10;
    write_npy(f->x, NPY_U1, pix, 4, 25, 3, 2, 2);
    write_npy(f->y, NPY_I8, lab, 1, 25);
    dataset idx;
    assert_int_equal(dataset_load(&idx, f->images, f->labels, in_of(shape322, q255), 10, &f->e), 0);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in_of(shape322, q255), 10, &f->e), 0);
    assert_int_equal(f->ds.source, DATASET_PIXELS);
    assert_int_equal(f->ds.n, 25);
    assert_memory_equal(f->ds.codes, idx.codes, 25 * 12);
    assert_memory_equal(f->ds.labels, idx.labels, 25);
    assert_memory_equal(f->ds.q_of, idx.q_of, sizeof idx.q_of);
    assert_memory_equal(f->ds.x_of, idx.x_of, sizeof idx.x_of);
    assert_string_equal(f->ds.labels_path, f->y);
    assert_null(f->ds.targets);
    assert_int_equal(dataset_target_size(&f->ds), 0);
    /* .npy inputs with IDX labels, and the other way round */
    dataset mixed;
    assert_int_equal(dataset_load(&mixed, f->x, f->labels, in_of(shape322, q255), 10, &f->e), 0);
    assert_memory_equal(mixed.labels, idx.labels, 25);
    dataset_free(&mixed);
    assert_int_equal(dataset_load(&mixed, f->images, f->y, in_of(shape322, q255), 10, &f->e), 0);
    assert_memory_equal(mixed.codes, idx.codes, 25 * 12);
    dataset_free(&mixed);
    dataset_free(&idx);
}

/* f4 inputs: q = round(x / scale) + zp (ties away from zero), clamped; the
 * float input is the real value of q; N×T×C is read as N×1×T×C. */
static void test_dataset_npy_f4_quantized(void **state)
{
    fixture *f = *state;
    /* 2 inputs of 1x3x2 (T = 3, C = 2) */
    const float x[12] = {0.125f, -0.125f, 0.375f, 0.0f, 1e6f, -1e6f,
                         31.75f, 31.87f, -32.0f, -32.25f, 0.1f, -0.1f};
    /* scale 0.25, zero-point 0: x/s = 0.5 -0.5 1.5 0 4e6 -4e6 127 127.48 -128 -129 0.4 -0.4 */
    const int8_t want_q[12] = {1, -1, 2, 0, 127, -128, 127, 127, -128, -128, 0, 0};
    write_npy(f->x, NPY_F4, x, 3, 2, 3, 2);
    const int64_t lab[2] = {1, 0};
    write_npy(f->y, NPY_I8, lab, 1, 2);
    const dataset_input in = {1, 3, 2, 0.25, 0};
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 2, &f->e), 0);
    assert_int_equal(f->ds.source, DATASET_REAL);
    assert_int_equal(dataset_image_size(&f->ds), 6);
    int32_t order[2] = {0, 1};
    int8_t q[12];
    float xf[12];
    uint8_t y[2];
    assert_int_equal(dataset_batch_int8(&f->ds, order, 0, 2, q, y), 2);
    assert_int_equal(dataset_batch_float(&f->ds, order, 0, 2, xf, NULL), 2);
    for (int i = 0; i < 12; i++) {
        if (q[i] != want_q[i])
            fail_msg("x[%d] = %g: q = %d, expected %d", i, (double)x[i], q[i], want_q[i]);
        if (xf[i] != (float)(0.25 * want_q[i]))
            fail_msg("x[%d] = %g: float input %g, expected %g", i, (double)x[i], (double)xf[i],
                     0.25 * want_q[i]);
    }
    assert_int_equal(y[0], 1);
    assert_int_equal(y[1], 0);
    /* a zero-point shifts q and the clamp: q = round(x/s) - 100 */
    dataset_free(&f->ds);
    const dataset_input in2 = {1, 3, 2, 0.25, -100};
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in2, 2, &f->e), 0);
    assert_int_equal(dataset_batch_int8(&f->ds, order, 0, 2, q, NULL), 2);
    assert_int_equal(q[0], -99);
    assert_int_equal(q[5], -128);
    assert_int_equal(q[6], 27);
    assert_int_equal(q[4], 127);
}

/* i1 inputs are the int8 inputs themselves; N×F is read as N×1×1×F. */
static void test_dataset_npy_i1_as_is(void **state)
{
    fixture *f = *state;
    int8_t x[3 * 256];
    for (int i = 0; i < 3 * 256; i++)
        x[i] = (int8_t)(i - 128);
    write_npy(f->x, NPY_I1, x, 2, 3, 256);
    const uint16_t lab[3] = {2, 0, 1};
    write_npy(f->y, NPY_U2, lab, 1, 3);
    const dataset_input in = {1, 1, 256, 0.5, 3};
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 3, &f->e), 0);
    assert_int_equal(f->ds.source, DATASET_INT8);
    int32_t order[3] = {2, 0, 1};
    int8_t q[3 * 256];
    float xf[3 * 256];
    uint8_t y[3];
    assert_int_equal(dataset_batch_int8(&f->ds, order, 0, 3, q, y), 3);
    assert_int_equal(dataset_batch_float(&f->ds, order, 0, 3, xf, NULL), 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(q + i * 256, x + order[i] * 256, 256);
        assert_int_equal(y[i], lab[order[i]]);
        for (int k = 0; k < 256; k++)
            assert_true(xf[i * 256 + k] == (float)(0.5 * (q[i * 256 + k] - 3)));
    }
}

static void test_dataset_npy_shape_mismatch(void **state)
{
    fixture *f = *state;
    const float x[2 * 49 * 10] = {0};
    const int32_t lab[2] = {0, 1};
    write_npy(f->y, NPY_I4, lab, 1, 2);
    write_npy(f->x, NPY_F4, x, 3, 2, 49, 10);
    const dataset_input kws = {49, 10, 1, 0.25, 0};
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, kws, 2, &f->e), -1);
    assert_msg(f, f->x, "inputs of shape (2, 49, 10) are 1x49x10 each (H, W, C), the model "
                        "input is 49x10x1");
    assert_null(f->ds.codes);
    write_npy(f->x, NPY_F4, x, 4, 2, 49, 10, 1);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, kws, 2, &f->e), 0);
    dataset_free(&f->ds);
    write_npy(f->x, NPY_F4, x, 1, 980);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, kws, 2, &f->e), -1);
    assert_msg(f, f->x, "inputs of shape (980,): expected (N, H, W, C), (N, T, C) or (N, F)");
    write_npy(f->x, NPY_F4, x, 5, 2, 49, 10, 1, 1);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, kws, 2, &f->e), -1);
    assert_msg(f, f->x, "inputs of shape (2, 49, 10, 1, 1): expected (N, H, W, C), (N, T, C) or "
                        "(N, F)");
    /* an unsupported input dtype names the accepted ones */
    const double d[2] = {0, 0};
    npy_array a = {.dtype = NPY_I8, .ndim = 2, .shape = {1, 2}, .count = 2, .data = (void *)d};
    assert_int_equal(npy_write(f->x, &a, 1, &f->e), 0);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, kws, 2, &f->e), -1);
    assert_msg(f, f->x, "header: 'descr' '<i8' is not supported (u1, i1, f4)");
}

static void test_dataset_npy_labels(void **state)
{
    fixture *f = *state;
    uint8_t x[6 * 4] = {0};
    write_npy(f->x, NPY_U1, x, 2, 6, 4);
    const dataset_input in = {1, 1, 4, 1.0 / 255, -128};
    int64_t lab[6] = {0, 1, 2, 3, 4, 5};
    write_npy(f->y, NPY_I8, lab, 1, 6);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 6, &f->e), 0);
    assert_int_equal(f->ds.labels[5], 5);
    dataset_free(&f->ds);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 5, &f->e), -1);
    assert_msg(f, f->y, "label 5 of image 5 is not below the model's 5 classes");
    lab[2] = -1;
    write_npy(f->y, NPY_I8, lab, 1, 6);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 6, &f->e), -1);
    assert_msg(f, f->y, "label -1 of image 2 is negative");
    lab[2] = 300;
    write_npy(f->y, NPY_I8, lab, 1, 6);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 0, &f->e), -1);
    assert_msg(f, f->y, "label 300 of image 2 is over 255 (at most 256 classes)");
    lab[2] = 1ll << 33;
    write_npy(f->y, NPY_I8, lab, 1, 6);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 0, &f->e), -1);
    assert_msg(f, f->y, "data: element [2] is 8589934592, outside int32");
    lab[2] = 2;
    write_npy(f->y, NPY_I8, lab, 2, 6, 1);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 6, &f->e), -1);
    assert_msg(f, f->y, "labels of shape (6, 1): expected (N,), one class number per input");
    write_npy(f->y, NPY_I8, lab, 1, 5);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 6, &f->e), -1);
    char want[1024];
    snprintf(want, sizeof want, "images has 6, labels has 5 (%s)", f->y);
    assert_msg(f, f->x, want);
    const float fl[6] = {0};
    write_npy(f->y, NPY_F4, fl, 1, 6);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in, 6, &f->e), -1);
    assert_msg(f, f->y, "header: 'descr' '<f4' is not supported (b1, u1, i1, u2, i2, u4, i4, u8, "
                        "i8)");
    assert_null(f->ds.codes);
    assert_null(f->ds.labels);
}

/* Float targets (loss: mse): N×F and (N,) against the model output shape,
 * batched in the epoch's order. */
static void test_dataset_npy_targets(void **state)
{
    fixture *f = *state;
    float x[4 * 3], t[4 * 3];
    for (int i = 0; i < 12; i++) {
        x[i] = (float)i * 0.1f;
        t[i] = (float)i * -1.5f;
    }
    write_npy(f->x, NPY_F4, x, 2, 4, 3);
    write_npy(f->y, NPY_F4, t, 2, 4, 3);
    const dataset_input in = {1, 1, 3, 0.01, 0};
    const dataset_want mse = {DATASET_TARGETS, 0, 1, 1, 3};
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, mse, &f->e), 0);
    assert_null(f->ds.labels);
    assert_int_equal(dataset_target_size(&f->ds), 3);
    int32_t order[4] = {3, 1, 0, 2};
    float tb[3 * 3];
    assert_int_equal(dataset_batch_targets(&f->ds, order, 1, 3, tb), 1);
    assert_memory_equal(tb, t + 2 * 3, 3 * sizeof(float));
    assert_int_equal(dataset_batch_targets(&f->ds, order, 0, 3, tb), 3);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(tb + i * 3, t + order[i] * 3, 3 * sizeof(float));
    assert_int_equal(dataset_batch_targets(&f->ds, order, 2, 3, tb), 0);
    dataset_free(&f->ds);

    /* the output shape does not match */
    const dataset_want mse2 = {DATASET_TARGETS, 0, 1, 1, 2};
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, mse2, &f->e), -1);
    assert_msg(f, f->y, "targets of shape (4, 3) are 1x1x3 each (H, W, C), the model output is "
                        "1x1x2");
    /* (N,): one value each */
    write_npy(f->y, NPY_F4, t, 1, 4);
    const dataset_want one = {DATASET_TARGETS, 0, 1, 1, 1};
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, one, &f->e), 0);
    assert_int_equal(dataset_target_size(&f->ds), 1);
    dataset_free(&f->ds);
    /* count, magnitude, dtype, IDX */
    write_npy(f->y, NPY_F4, t, 1, 3);
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, one, &f->e), -1);
    char want[1024];
    snprintf(want, sizeof want, "images has 4, labels has 3 (%s)", f->y);
    assert_msg(f, f->x, want);
    t[7] = 2e9f;
    write_npy(f->y, NPY_F4, t, 2, 4, 3);
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, mse, &f->e), -1);
    assert_msg(f, f->y, "target 1 of input 2 is 2e+09, beyond ±1e+09 (its squared error would "
                        "overflow)");
    const int32_t it[4] = {0};
    write_npy(f->y, NPY_I4, it, 1, 4);
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, one, &f->e), -1);
    assert_msg(f, f->y, "header: 'descr' '<i4' is not supported (f4)");
    write_set(f, 4, 4);
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->labels, in, one, &f->e), -1);
    assert_msg(f, f->labels, "float targets (loss: mse) must be a .npy array of f4, not an IDX "
                             "file");
    assert_null(f->ds.codes);
}

/* dataset_split: a seeded choice (the same for the same rng state, another
 * for another), both parts a partition of the set in file order, labels and
 * targets moved with their inputs. */
static void test_dataset_split(void **state)
{
    fixture *f = *state;
    write_set(f, 40, 40);
    int32_t part_of[2][40];
    for (int run = 0; run < 3; run++) {
        dataset val;
        rng_state r;
        rng_seed(&r, run == 2 ? 8 : 7);
        assert_int_equal(dataset_load(&f->ds, f->images, f->labels, in_of(shape322, q255), 10,
                                      &f->e), 0);
        assert_int_equal(dataset_split(&f->ds, &val, 10, &r, &f->e), 0);
        assert_int_equal(val.n, 10);
        assert_int_equal(f->ds.n, 30);
        assert_int_equal(val.h * val.w * val.c, 12);
        assert_memory_equal(val.x_of, f->ds.x_of, sizeof val.x_of);
        /* image i starts with code (i·12·37 + 5) mod 256, label i mod 10:
         * recover i and check that every image is in exactly one part, in order */
        int seen[40] = {0}, last[2] = {-1, -1};
        for (int p = 0; p < 2; p++) {
            const dataset *d = p ? &val : &f->ds;
            for (int32_t k = 0; k < d->n; k++) {
                int i = -1;
                for (int c = 0; c < 40; c++)
                    if (d->codes[(size_t)k * 12] == (uint8_t)(c * 12 * 37 + 5) &&
                        d->codes[(size_t)k * 12 + 11] == (uint8_t)((c * 12 + 11) * 37 + 5))
                        i = c;
                assert_true(i > last[p]);
                last[p] = i;
                seen[i]++;
                assert_int_equal(d->labels[k], i % 10);
                if (run < 2)
                    part_of[run][i] = p;
            }
        }
        for (int i = 0; i < 40; i++)
            assert_int_equal(seen[i], 1);
        if (run == 2) {
            int differ = 0;
            for (int k = 0; k < val.n; k++)
                for (int i = 0; i < 40; i++)
                    differ += part_of[0][i] == 0 && val.codes[(size_t)k * 12] ==
                                                        (uint8_t)(i * 12 * 37 + 5);
            assert_true(differ > 0); /* seed 8 chose some other image */
        }
        dataset_free(&val);
        dataset_free(&f->ds);
    }
    assert_memory_equal(part_of[0], part_of[1], sizeof part_of[0]);

    /* targets travel with their inputs */
    float x[6 * 2], t[6];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    for (int i = 0; i < 6; i++)
        t[i] = (float)i * 10.0f;
    write_npy(f->x, NPY_F4, x, 2, 6, 2);
    write_npy(f->y, NPY_F4, t, 1, 6);
    const dataset_input in = {1, 1, 2, 1.0, 0};
    const dataset_want mse = {DATASET_TARGETS, 0, 1, 1, 1};
    assert_int_equal(dataset_load_as(&f->ds, f->x, f->y, in, mse, &f->e), 0);
    dataset val;
    rng_state r;
    rng_seed(&r, 3);
    assert_int_equal(dataset_split(&f->ds, &val, 2, &r, &f->e), 0);
    for (int p = 0; p < 2; p++) {
        const dataset *d = p ? &val : &f->ds;
        for (int32_t k = 0; k < d->n; k++) /* input (2i, 2i+1) has target 10i */
            assert_true(d->targets[k] == 5.0f * d->x_of[d->codes[(size_t)k * 2]]);
    }
    dataset_free(&val);
}

/* Inputs alone (an autoencoder's target is its input; gen --golden). */
static void test_dataset_inputs_only(void **state)
{
    fixture *f = *state;
    const float x[5 * 2] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    write_npy(f->x, NPY_F4, x, 2, 5, 2);
    const dataset_input in = {1, 1, 2, 0.125, 0};
    const dataset_want none = {DATASET_NONE, 0, 0, 0, 0};
    assert_int_equal(dataset_load_as(&f->ds, f->x, NULL, in, none, &f->e), 0);
    assert_int_equal(f->ds.n, 5);
    assert_null(f->ds.labels);
    assert_null(f->ds.targets);
    assert_string_equal(f->ds.labels_path, "");
    int32_t order[5];
    dataset_epoch_order(&f->ds, order, NULL);
    int8_t q[10];
    assert_int_equal(dataset_batch_int8(&f->ds, order, 0, 5, q, NULL), 5);
    for (int i = 0; i < 10; i++)
        assert_int_equal(q[i], (int)(x[i] * 8));
}

static void test_dataset_npy_gzip_and_garbage(void **state)
{
    fixture *f = *state;
    uint8_t pix[3 * 12];
    for (int i = 0; i < 36; i++)
        pix[i] = (uint8_t)(i * 7);
    write_npy(f->x, NPY_U1, pix, 4, 3, 3, 2, 2);
    const int8_t lab[3] = {0, 1, 1};
    write_npy(f->y, NPY_I1, lab, 1, 3);
    size_t n;
    char *raw = tmpdir_read(f->x, &n);
    assert_non_null(raw);
    char gz[400];
    snprintf(gz, sizeof gz, "%s/x.npy.gz", f->dir);
    assert_int_equal(tmpdir_write_gz(gz, raw, n), 0);
    free(raw);
    assert_int_equal(dataset_load(&f->ds, gz, f->y, in_of(shape322, q255), 2, &f->e), 0);
    assert_memory_equal(f->ds.codes, pix, 36);
    dataset_free(&f->ds);
    /* neither IDX nor .npy: the file is named */
    assert_int_equal(tmpdir_write_text(f->x, "GIF89a, not data"), 0);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in_of(shape322, q255), 2, &f->e), -1);
    assert_msg(f, f->x, "neither an IDX file nor a .npy array (starts with 0x47494638)");
    assert_int_equal(dataset_load(&f->ds, gz, f->x, in_of(shape322, q255), 2, &f->e), -1);
    assert_msg(f, f->x, "neither an IDX file nor a .npy array (starts with 0x47494638)");
    assert_null(f->ds.codes);
    /* a .npy cut inside its magic is a truncated .npy */
    assert_int_equal(tmpdir_write(f->x, "\x93NUMP", 5), 0);
    assert_int_equal(dataset_load(&f->ds, f->x, f->y, in_of(shape322, q255), 2, &f->e), -1);
    assert_msg(f, f->x, "truncated header (5 of the 8 bytes of magic and version)");
}

static void test_dataset_quantize_real(void **state)
{
    (void)state;
    assert_int_equal(dataset_quantize_real(0.5, 1.0, 0), 1);     /* ties away from zero */
    assert_int_equal(dataset_quantize_real(-0.5, 1.0, 0), -1);
    assert_int_equal(dataset_quantize_real(2.5, 1.0, 0), 3);
    assert_int_equal(dataset_quantize_real(0.49, 1.0, 0), 0);
    assert_int_equal(dataset_quantize_real(1.0, 1.0 / 255, -128), 127);
    assert_int_equal(dataset_quantize_real(0.0, 1.0 / 255, -128), -128);
    assert_int_equal(dataset_quantize_real(1e300, 1e-300, 0), 127); /* inf clamps */
    assert_int_equal(dataset_quantize_real(-1e300, 1e-300, 5), -128);
    assert_int_equal(dataset_quantize_real(1.0, 0.25, 100), 104);
    assert_int_equal(dataset_quantize_real(7.0, 0.25, 100), 127);
    /* the pixel rule is the real rule at x = p / 255 */
    int8_t px[256];
    uint8_t all[256];
    for (int v = 0; v < 256; v++)
        all[v] = (uint8_t)v;
    idx_quantize_pixels(all, 256, 0.0123, 3, px);
    for (int v = 0; v < 256; v++)
        assert_int_equal(px[v], dataset_quantize_real((double)v / 255.0, 0.0123, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_dataset_load),
        TMPDIR_TEST(test_dataset_count_mismatch),
        TMPDIR_TEST(test_dataset_shape_mismatch),
        TMPDIR_TEST(test_dataset_label_out_of_range),
        TMPDIR_TEST(test_dataset_missing_files),
        TMPDIR_TEST(test_dataset_float_is_real_value_of_int8),
        TMPDIR_TEST(test_dataset_fashion_mnist_quantization),
        TMPDIR_TEST(test_dataset_batches_cover_the_set),
        TMPDIR_TEST(test_dataset_shuffle_is_seeded_permutation),
        TMPDIR_TEST(test_dataset_fashion_mnist_test_set),
        TMPDIR_TEST(test_dataset_npy_u1_equals_idx),
        TMPDIR_TEST(test_dataset_npy_f4_quantized),
        TMPDIR_TEST(test_dataset_npy_i1_as_is),
        TMPDIR_TEST(test_dataset_npy_shape_mismatch),
        TMPDIR_TEST(test_dataset_npy_labels),
        TMPDIR_TEST(test_dataset_npy_targets),
        TMPDIR_TEST(test_dataset_split),
        TMPDIR_TEST(test_dataset_inputs_only),
        TMPDIR_TEST(test_dataset_npy_gzip_and_garbage),
        cmocka_unit_test(test_dataset_quantize_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
