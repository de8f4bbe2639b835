/* Tests for infile: plain and gzip'd files read back whole and in pieces,
 * concatenated gzip members, and every refusal: what is not a regular file
 * (a FIFO must not block), trailing garbage after the gzip stream, a stream
 * cut short, flipped bytes, a payload longer or shorter than promised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "infile.h"
#include "file_case.h"
#include "tmpdir.h"

typedef file_case fixture;

static int setup(void **state)
{
    return tmpdir_fixture_new(state, "test_infile", sizeof(fixture));
}

static int teardown(void **state)
{
    return tmpdir_fixture_free(*state);
}

/* n bytes of a pseudo-random sequence (so deflate cannot shrink it much). */
static uint8_t *noise(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 24);
    }
    return b;
}

/* The gzip'd form of data (written and read back through the fixture). */
static uint8_t *gzip_bytes(fixture *f, const uint8_t *data, size_t n, size_t *gzn)
{
    assert_int_equal(tmpdir_write_gz(file_case_path(f, "tmp.gz"), data, n), 0);
    uint8_t *g = (uint8_t *)tmpdir_read(f->path, gzn);
    assert_non_null(g);
    unlink(f->path);
    return g;
}

/* Reads path whole with infile_read_payload(count); returns the buffer or NULL. */
static uint8_t *read_all(fixture *f, const char *path, uint64_t count)
{
    infile in;
    memset(&f->e, 0, sizeof f->e);
    if (infile_open(&in, path, &f->e))
        return NULL;
    uint8_t *b = infile_read_payload(&in, count, "bytes", &f->e);
    infile_close(&in);
    return b;
}

static void test_infile_plain_and_gzip_round_trip(void **state)
{
    fixture *f = *state;
    /* bigger than the read-ahead buffer and than the payload's first chunk */
    const size_t n = 3 * INFILE_BUF + 12345;
    uint8_t *data = noise(n, 7);
    assert_int_equal(tmpdir_write(file_case_path(f, "a.bin"), data, n), 0);
    uint8_t *b = read_all(f, f->path, n);
    assert_non_null(b);
    assert_memory_equal(b, data, n);
    free(b);
    assert_int_equal(tmpdir_write_gz(file_case_path(f, "a.bin.gz"), data, n), 0);
    b = read_all(f, f->path, n);
    assert_non_null(b);
    assert_memory_equal(b, data, n);
    free(b);
    free(data);
}

/* Small reads one after another give the same bytes as one large read. */
static void test_infile_read_in_pieces(void **state)
{
    fixture *f = *state;
    const size_t n = 100000;
    uint8_t *data = noise(n, 3);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = file_case_path(f, gz ? "p.gz" : "p.bin");
        assert_int_equal(gz ? tmpdir_write_gz(p, data, n) : tmpdir_write(p, data, n), 0);
        infile in;
        assert_int_equal(infile_open(&in, p, &f->e), 0);
        assert_int_equal(in.gz, gz);
        uint8_t piece[777];
        size_t at = 0;
        int64_t r;
        while ((r = infile_read(&in, piece, sizeof piece, &f->e)) > 0) {
            assert_true(at + (size_t)r <= n);
            assert_memory_equal(piece, data + at, (size_t)r);
            at += (size_t)r;
        }
        assert_int_equal(r, 0);
        assert_int_equal(at, n);
        infile_close(&in);
        infile_close(&in); /* twice is safe */
    }
    free(data);
}

/* Two gzip members one after the other read as one stream (gzip -d does so). */
static void test_infile_gzip_members_concatenated(void **state)
{
    fixture *f = *state;
    uint8_t *data = noise(5000, 11);
    size_t n1, n2;
    uint8_t *g1 = gzip_bytes(f, data, 3000, &n1);
    uint8_t *g2 = gzip_bytes(f, data + 3000, 2000, &n2);
    uint8_t *both = malloc(n1 + n2);
    assert_non_null(both);
    memcpy(both, g1, n1);
    memcpy(both + n1, g2, n2);
    assert_int_equal(tmpdir_write(file_case_path(f, "two.gz"), both, n1 + n2), 0);
    uint8_t *b = read_all(f, f->path, 5000);
    assert_non_null(b);
    assert_memory_equal(b, data, 5000);
    free(b);
    free(both);
    free(g1);
    free(g2);
    free(data);
}

/* Bytes after the gzip stream that are not another member are refused:
 * garbage, zero padding, a lone byte of the magic. */
static void test_infile_gzip_trailing_garbage(void **state)
{
    fixture *f = *state;
    uint8_t *data = noise(1000, 5);
    size_t gn;
    uint8_t *g = gzip_bytes(f, data, 1000, &gn);
    uint8_t *bad = malloc(gn + 16);
    assert_non_null(bad);
    const char *tails[3] = {"garbage", "\0\0\0\0", "\x1f"};
    const size_t tail_len[3] = {7, 4, 1};
    for (int k = 0; k < 3; k++) {
        memcpy(bad, g, gn);
        memcpy(bad + gn, tails[k], tail_len[k]);
        assert_int_equal(tmpdir_write(file_case_path(f, "t.gz"), bad, gn + tail_len[k]), 0);
        assert_null(read_all(f, f->path, 1000));
        file_case_assert_msg(f, "unexpected data after the gzip stream");
    }
    free(bad);
    free(g);
    free(data);
}

static void test_infile_gzip_truncated_and_corrupt(void **state)
{
    fixture *f = *state;
    const size_t n = 50000;
    uint8_t *data = noise(n, 9);
    size_t gn;
    uint8_t *g = gzip_bytes(f, data, n, &gn);
    /* cut inside the gzip header, in the deflate data, inside the trailer */
    const size_t keep[3] = {5, gn / 2, gn - 3};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(tmpdir_write(file_case_path(f, "c.gz"), g, keep[k]), 0);
        assert_null(read_all(f, f->path, n));
        file_case_assert_msg(f, "truncated gzip data: unexpected end of file");
    }
    /* a flipped byte in the deflate data, in the CRC, in the length */
    const size_t flip[3] = {gn / 2, gn - 8, gn - 2};
    for (int k = 0; k < 3; k++) {
        g[flip[k]] ^= 0x5a;
        assert_int_equal(tmpdir_write(file_case_path(f, "c.gz"), g, gn), 0);
        g[flip[k]] ^= 0x5a;
        assert_null(read_all(f, f->path, n));
        if (!strstr(f->e.msg, ": corrupt gzip data: "))
            fail_msg("flip at %zu of %zu: %s", flip[k], gn, f->e.msg);
    }
    free(g);
    free(data);
}

/* A flipped bit that makes inflate produce more bytes than the payload is
 * still called corrupt (the CRC at the end fails), not "unexpected data". */
static void test_infile_gzip_corrupt_with_extra_output(void **state)
{
    fixture *f = *state;
    uint8_t data[2000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    size_t gn;
    uint8_t *g = gzip_bytes(f, data, sizeof data, &gn);
    int corrupt = 0;
    for (size_t at = 10; at + 8 < gn; at++) {
        g[at] ^= 0x5a;
        assert_int_equal(tmpdir_write(file_case_path(f, "x.gz"), g, gn), 0);
        g[at] ^= 0x5a;
        uint8_t *b = read_all(f, f->path, sizeof data);
        if (b) { /* a flip that still decodes to the same bytes cannot pass the CRC */
            free(b);
            fail_msg("flip at %zu accepted", at);
        }
        if (strstr(f->e.msg, "unexpected data after"))
            fail_msg("flip at %zu: %s", at, f->e.msg);
        corrupt += strstr(f->e.msg, ": corrupt gzip data: ") != NULL;
    }
    assert_true(corrupt > 0);
    free(g);
}

static void test_infile_payload_length(void **state)
{
    fixture *f = *state;
    uint8_t data[100];
    memset(data, 0x42, sizeof data);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = file_case_path(f, gz ? "l.gz" : "l.bin");
        assert_int_equal(gz ? tmpdir_write_gz(p, data, 100) : tmpdir_write(p, data, 100), 0);
        assert_null(read_all(f, p, 101));
        file_case_assert_msg(f, "truncated: header promises 101 bytes of bytes, file has 100");
        assert_null(read_all(f, p, 99));
        file_case_assert_msg(f, "unexpected data after the 99 bytes of bytes");
        uint8_t *b = read_all(f, p, 100);
        assert_non_null(b);
        free(b);
    }
}

static void test_infile_not_a_regular_file(void **state)
{
    fixture *f = *state;
    infile in;
    assert_int_equal(infile_open(&in, file_case_path(f, "none"), &f->e), -1);
    file_case_assert_msg(f, "cannot open: No such file or directory");
    infile_close(&in);
    assert_int_equal(infile_open(&in, f->dir, &f->e), -1);
    snprintf(f->path, sizeof f->path, "%s", f->dir);
    file_case_assert_msg(f, "is a directory");
    assert_int_equal(infile_open(&in, "/dev/null", &f->e), -1);
    assert_string_equal(f->e.msg, "/dev/null: is not a regular file");
    /* A FIFO with no writer: refused at once (this test would hang otherwise). */
    assert_int_equal(mkfifo(file_case_path(f, "fifo"), 0600), 0);
    assert_int_equal(infile_open(&in, f->path, &f->e), -1);
    file_case_assert_msg(f, "is not a regular file");
}

static void test_infile_peek(void **state)
{
    fixture *f = *state;
    const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    uint8_t got[16];
    size_t n = 0;
    assert_int_equal(tmpdir_write_gz(file_case_path(f, "m.gz"), magic, 8), 0);
    assert_int_equal(infile_peek(f->path, got, sizeof got, &n, &f->e), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(got, magic, 8);
    assert_int_equal(tmpdir_write(file_case_path(f, "e"), "", 0), 0);
    assert_int_equal(infile_peek(f->path, got, sizeof got, &n, &f->e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(infile_peek(file_case_path(f, "missing"), got, sizeof got, &n, &f->e), -1);
    file_case_assert_msg(f, "cannot open: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_infile_plain_and_gzip_round_trip),
        TMPDIR_TEST(test_infile_read_in_pieces),
        TMPDIR_TEST(test_infile_gzip_members_concatenated),
        TMPDIR_TEST(test_infile_gzip_trailing_garbage),
        TMPDIR_TEST(test_infile_gzip_truncated_and_corrupt),
        TMPDIR_TEST(test_infile_gzip_corrupt_with_extra_output),
        TMPDIR_TEST(test_infile_payload_length),
        TMPDIR_TEST(test_infile_not_a_regular_file),
        TMPDIR_TEST(test_infile_peek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
