/* Tests for idx: plain and gzip'd IDX files written here and read back, every
 * way a file can be broken, pixel quantization, and the real Fashion-MNIST
 * labels when the Debian package is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "idx.h"
#include "file_case.h"
#include "tmpdir.h"

#define FMNIST_T10K_LABELS "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"

typedef file_case fixture;

static int setup(void **state)
{
    return tmpdir_fixture_new(state, "test_idx", sizeof(fixture));
}

static int teardown(void **state)
{
    return tmpdir_fixture_free(*state);
}

/* Builds an IDX image in memory: magic for ndim dims, the dims, then payload
 * bytes i*7+3 (mod 256). Returns the size; buf must hold it. */
static size_t make_idx(uint8_t *buf, int ndim, const uint32_t *dims)
{
    size_t pos = 0;
    buf[pos++] = 0;
    buf[pos++] = 0;
    buf[pos++] = 0x08;
    buf[pos++] = (uint8_t)ndim;
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        buf[pos++] = (uint8_t)(dims[i] >> 24);
        buf[pos++] = (uint8_t)(dims[i] >> 16);
        buf[pos++] = (uint8_t)(dims[i] >> 8);
        buf[pos++] = (uint8_t)dims[i];
        count *= dims[i];
    }
    for (uint64_t i = 0; i < count; i++)
        buf[pos++] = (uint8_t)(i * 7 + 3);
    return pos;
}

/* Writes n bytes of data to the fixture's folder as name, plain or gzip'd;
 * returns the path (f->path). */
static const char *write_plain(fixture *f, const char *name, const uint8_t *data, size_t n)
{
    assert_int_equal(tmpdir_write(file_case_path(f, name), data, n), 0);
    return f->path;
}

static const char *write_gz(fixture *f, const char *name, const uint8_t *data, size_t n)
{
    assert_int_equal(tmpdir_write_gz(file_case_path(f, name), data, n), 0);
    return f->path;
}

static void assert_pixels(const idx_images *im, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++)
        if (im->pixels[i] != (uint8_t)(i * 7 + 3))
            fail_msg("pixel %llu is %u, expected %u", (unsigned long long)i, im->pixels[i],
                     (uint8_t)(i * 7 + 3));
}

static void test_idx_images_3d_plain_and_gzip(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[3] = {5, 4, 3};
    size_t n = make_idx(buf, 3, dims);
    const char *paths[2] = {NULL, NULL};
    char plain[400], gz[400];
    snprintf(plain, sizeof plain, "%s", write_plain(f, "a.idx", buf, n));
    snprintf(gz, sizeof gz, "%s", write_gz(f, "a.idx.gz", buf, n));
    paths[0] = plain;
    paths[1] = gz;
    for (int k = 0; k < 2; k++) {
        idx_images im;
        assert_int_equal(idx_read_images(paths[k], &im, &f->e), 0);
        assert_int_equal(im.n, 5);
        assert_int_equal(im.h, 4);
        assert_int_equal(im.w, 3);
        assert_int_equal(im.c, 1);
        assert_pixels(&im, 60);
        idx_images_free(&im);
        assert_null(im.pixels);
        assert_int_equal(im.n, 0);
    }
}

static void test_idx_images_4d(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[4] = {2, 3, 5, 3};
    size_t n = make_idx(buf, 4, dims);
    idx_images im;
    assert_int_equal(idx_read_images(write_gz(f, "a.idx.gz", buf, n), &im, &f->e), 0);
    assert_int_equal(im.n, 2);
    assert_int_equal(im.h, 3);
    assert_int_equal(im.w, 5);
    assert_int_equal(im.c, 3);
    assert_pixels(&im, 90);
    idx_images_free(&im);
}

static void test_idx_labels_plain_and_gzip(void **state)
{
    fixture *f = *state;
    uint8_t buf[256];
    const uint32_t dims[1] = {10};
    size_t n = make_idx(buf, 1, dims);
    for (int k = 0; k < 2; k++) {
        const char *p = k ? write_gz(f, "a.idx.gz", buf, n) : write_plain(f, "a.idx", buf, n);
        idx_labels lb;
        assert_int_equal(idx_read_labels(p, &lb, &f->e), 0);
        assert_int_equal(lb.n, 10);
        for (int i = 0; i < 10; i++)
            assert_int_equal(lb.labels[i], (uint8_t)(i * 7 + 3));
        idx_labels_free(&lb);
        assert_null(lb.labels);
    }
}

static void test_idx_empty_file(void **state)
{
    fixture *f = *state;
    idx_images im = {0};
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", (const uint8_t *)"", 0), &im,
                                     &f->e), -1);
    file_case_assert_msg(f, "empty file");
    assert_null(im.pixels);
    idx_labels lb = {0};
    assert_int_equal(idx_read_labels(write_gz(f, "a.idx.gz", (const uint8_t *)"", 0), &lb,
                                     &f->e), -1);
    file_case_assert_msg(f, "empty file");
}

static void test_idx_missing_file(void **state)
{
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/none.idx", f->dir);
    idx_images im;
    assert_int_equal(idx_read_images(f->path, &im, &f->e), -1);
    file_case_assert_msg(f, "cannot open: No such file or directory");
    snprintf(f->path, sizeof f->path, "%s", f->dir);
    assert_int_equal(idx_read_images(f->path, &im, &f->e), -1);
    file_case_assert_msg(f, "is a directory");
}

static void test_idx_truncated_header(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[3] = {5, 4, 3};
    make_idx(buf, 3, dims);
    idx_images im;
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, 3), &im, &f->e), -1);
    file_case_assert_msg(f, "truncated header (3 of 4 magic bytes)");
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, 10), &im, &f->e), -1);
    file_case_assert_msg(f, "truncated header (6 of 12 dimension bytes)");
    assert_int_equal(idx_read_images(write_gz(f, "a.idx.gz", buf, 10), &im, &f->e), -1);
    file_case_assert_msg(f, "truncated header (6 of 12 dimension bytes)");
}

static void test_idx_truncated_payload(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[3] = {5, 4, 3};
    size_t n = make_idx(buf, 3, dims);
    idx_images im;
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, n - 1), &im, &f->e), -1);
    file_case_assert_msg(f, "truncated: header promises 60 bytes of pixels, file has 59");
    assert_int_equal(idx_read_images(write_gz(f, "a.idx.gz", buf, n - 7), &im, &f->e), -1);
    file_case_assert_msg(f, "truncated: header promises 60 bytes of pixels, file has 53");
    const uint32_t ldims[1] = {10};
    n = make_idx(buf, 1, ldims);
    idx_labels lb;
    assert_int_equal(idx_read_labels(write_plain(f, "a.idx", buf, n - 2), &lb, &f->e), -1);
    file_case_assert_msg(f, "truncated: header promises 10 bytes of labels, file has 8");
}

static void test_idx_trailing_data(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[1] = {10};
    size_t n = make_idx(buf, 1, dims);
    buf[n] = 0x55;
    idx_labels lb;
    assert_int_equal(idx_read_labels(write_plain(f, "a.idx", buf, n + 1), &lb, &f->e), -1);
    file_case_assert_msg(f, "unexpected data after the 10 bytes of labels");
    assert_int_equal(idx_read_labels(write_gz(f, "a.idx.gz", buf, n + 1), &lb, &f->e), -1);
    file_case_assert_msg(f, "unexpected data after the 10 bytes of labels");
    /* garbage after the gzip stream itself, behind a payload of the right size */
    size_t gzn;
    uint8_t *gz = (uint8_t *)tmpdir_read(write_gz(f, "a.idx.gz", buf, n), &gzn);
    assert_non_null(gz);
    uint8_t *junk = malloc(gzn + 3);
    assert_non_null(junk);
    memcpy(junk, gz, gzn);
    memcpy(junk + gzn, "xyz", 3);
    assert_int_equal(idx_read_labels(write_plain(f, "a.idx.gz", junk, gzn + 3), &lb, &f->e), -1);
    file_case_assert_msg(f, "unexpected data after the gzip stream");
    free(junk);
    free(gz);
}

/* A gzip stream cut short: the header reads, the deflate data ends early. */
static void test_idx_truncated_gzip_stream(void **state)
{
    fixture *f = *state;
    static uint8_t buf[70000];
    const uint32_t dims[3] = {10, 80, 80};
    size_t n = make_idx(buf, 3, dims);
    /* pseudo-random payload so the deflate data is long */
    uint32_t x = 12345;
    for (size_t i = 16; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 24);
    }
    size_t gzn;
    uint8_t *gzbuf = (uint8_t *)tmpdir_read(write_gz(f, "a.idx.gz", buf, n), &gzn);
    assert_non_null(gzbuf);
    assert_true(gzn > 1000);
    for (int cut = 0; cut < 3; cut++) {
        /* cut in the deflate data, just before the CRC trailer, inside it */
        size_t keep = cut == 0 ? gzn / 2 : cut == 1 ? gzn - 8 : gzn - 3;
        write_plain(f, "a.idx.gz", gzbuf, keep);
        idx_images im = {0};
        assert_int_equal(idx_read_images(f->path, &im, &f->e), -1);
        assert_null(im.pixels);
        assert_non_null(strstr(f->e.msg, f->path));
        if (!strstr(f->e.msg, ": truncated gzip data: unexpected end of file"))
            fail_msg("cut at %zu of %zu: unexpected message: %s", keep, gzn, f->e.msg);
    }
    free(gzbuf);
}

/* Flipped bits in the deflate data or in the CRC are caught. */
static void test_idx_corrupt_gzip(void **state)
{
    fixture *f = *state;
    static uint8_t buf[70000];
    const uint32_t dims[3] = {10, 80, 80};
    size_t n = make_idx(buf, 3, dims);
    size_t gzn;
    uint8_t *gzbuf = (uint8_t *)tmpdir_read(write_gz(f, "a.idx.gz", buf, n), &gzn);
    assert_non_null(gzbuf);
    uint8_t *bad = malloc(gzn);
    assert_non_null(bad);
    /* a byte in the middle, and the first byte of the CRC32 trailer */
    const size_t where[2] = {gzn / 2, gzn - 8};
    for (int k = 0; k < 2; k++) {
        memcpy(bad, gzbuf, gzn);
        bad[where[k]] ^= 0x5a;
        write_plain(f, "a.idx.gz", bad, gzn);
        idx_images im = {0};
        assert_int_equal(idx_read_images(f->path, &im, &f->e), -1);
        if (!strstr(f->e.msg, ": corrupt gzip data: "))
            fail_msg("flip at %zu: unexpected message: %s", where[k], f->e.msg);
        assert_null(im.pixels);
    }
    free(bad);
    free(gzbuf);
}

static void test_idx_wrong_magic(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    const uint32_t dims[3] = {5, 4, 3};
    size_t n = make_idx(buf, 3, dims);
    idx_images im;
    idx_labels lb;

    buf[0] = 0x12;
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, n), &im, &f->e), -1);
    file_case_assert_msg(f, "not an IDX file (magic 0x12000803)");
    buf[0] = 0;
    buf[2] = 0x0d; /* float */
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, n), &im, &f->e), -1);
    file_case_assert_msg(f, "IDX element type 0x0d, expected unsigned bytes (0x08)");
    buf[2] = 0x08;
    buf[3] = 2;
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, n), &im, &f->e), -1);
    file_case_assert_msg(f, "images with 2 dimensions, expected (N, H, W) or (N, H, W, C)");

    /* images given as labels, and labels given as images */
    buf[3] = 3;
    assert_int_equal(idx_read_labels(write_plain(f, "a.idx", buf, n), &lb, &f->e), -1);
    file_case_assert_msg(f, "3 dimensions, expected labels (N) (is this an image file?)");
    const uint32_t ldims[1] = {10};
    n = make_idx(buf, 1, ldims);
    assert_int_equal(idx_read_images(write_gz(f, "a.idx.gz", buf, n), &im, &f->e), -1);
    file_case_assert_msg(f, "is a label file (1 dimension), expected images (N, H, W) or (N, H, W, C)");
}

static void test_idx_absurd_dims(void **state)
{
    fixture *f = *state;
    uint8_t buf[4096];
    idx_images im;
    const uint32_t zero[3] = {5, 0, 3};
    size_t n = make_idx(buf, 3, zero);
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", buf, n), &im, &f->e), -1);
    file_case_assert_msg(f, "dimension 1 is 0");

    /* the header alone: 70000 x 200 x 200 x 1 is 2.8e9 elements */
    const uint32_t big[3] = {70000, 200, 200};
    uint8_t hdr[16] = {0, 0, 8, 3};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++)
            hdr[4 + 4 * i + b] = (uint8_t)(big[i] >> (24 - 8 * b));
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", hdr, 16), &im, &f->e), -1);
    file_case_assert_msg(f, "more than 2147483647 elements, too large");

    hdr[4] = 0x80; /* N = 0x80011170 > INT32_MAX */
    assert_int_equal(idx_read_images(write_plain(f, "a.idx", hdr, 16), &im, &f->e), -1);
    file_case_assert_msg(f, "dimension 0 is 2147553648, too large");
}

static void test_idx_quantize_pixels(void **state)
{
    (void)state;
    uint8_t p[256];
    int8_t q[256];
    for (int i = 0; i < 256; i++)
        p[i] = (uint8_t)i;

    /* scale 1/255, zero-point -128: exactly p - 128 */
    idx_quantize_pixels(p, 256, 0.00392156862745098, -128, q);
    for (int i = 0; i < 256; i++)
        if (q[i] != i - 128)
            fail_msg("q[%d] = %d, expected %d", i, q[i], i - 128);

    /* scale 2/255, zero-point 0: round(p / 2) half away from zero, clamped to 127 */
    idx_quantize_pixels(p, 256, 2.0 / 255.0, 0, q);
    for (int i = 0; i < 256; i++) {
        int want = (i + 1) / 2;
        want = want > 127 ? 127 : want;
        if (q[i] != want)
            fail_msg("q[%d] = %d, expected %d", i, q[i], want);
    }

    /* scale 1/255, zero-point 10: clamps high pixels to 127 */
    idx_quantize_pixels(p, 256, 1.0 / 255.0, 10, q);
    for (int i = 0; i < 256; i++) {
        int want = i + 10 > 127 ? 127 : i + 10;
        if (q[i] != want)
            fail_msg("q[%d] = %d, expected %d", i, q[i], want);
    }

    /* zero-point -200 is beyond int8: everything small clamps to -128 */
    idx_quantize_pixels(p, 3, 1.0 / 255.0, -200, q);
    assert_int_equal(q[0], -128);
    assert_int_equal(q[2], -128);
}

static void test_idx_fashion_mnist_labels(void **state)
{
    fixture *f = *state;
    if (access(FMNIST_T10K_LABELS, R_OK) != 0)
        skip();
    idx_labels lb;
    assert_int_equal(idx_read_labels(FMNIST_T10K_LABELS, &lb, &f->e), 0);
    assert_int_equal(lb.n, 10000);
    int count[10] = {0};
    for (int i = 0; i < lb.n; i++) {
        assert_true(lb.labels[i] < 10);
        count[lb.labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(count[k], 1000); /* the test set is balanced */
    assert_int_equal(lb.labels[0], 9);    /* the first test image is an ankle boot */
    idx_labels_free(&lb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_idx_images_3d_plain_and_gzip),
        TMPDIR_TEST(test_idx_images_4d),
        TMPDIR_TEST(test_idx_labels_plain_and_gzip),
        TMPDIR_TEST(test_idx_empty_file),
        TMPDIR_TEST(test_idx_missing_file),
        TMPDIR_TEST(test_idx_truncated_header),
        TMPDIR_TEST(test_idx_truncated_payload),
        TMPDIR_TEST(test_idx_trailing_data),
        TMPDIR_TEST(test_idx_truncated_gzip_stream),
        TMPDIR_TEST(test_idx_corrupt_gzip),
        TMPDIR_TEST(test_idx_wrong_magic),
        TMPDIR_TEST(test_idx_absurd_dims),
        cmocka_unit_test(test_idx_quantize_pixels),
        TMPDIR_TEST(test_idx_fashion_mnist_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
