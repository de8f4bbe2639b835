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
#include "qmodel.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"

typedef struct {
    char dir[256];
    char images[320], labels[320];
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
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/test_dataset.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->images, sizeof f->images, "%s/images.idx", f->dir);
    snprintf(f->labels, sizeof f->labels, "%s/labels.idx", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dataset_free(&f->ds);
    unlink(f->images);
    unlink(f->labels);
    rmdir(f->dir);
    free(f);
    return 0;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dataset_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_count_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_shape_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_label_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_missing_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_float_is_real_value_of_int8, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dataset_fashion_mnist_quantization, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dataset_batches_cover_the_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_shuffle_is_seeded_permutation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dataset_fashion_mnist_test_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
