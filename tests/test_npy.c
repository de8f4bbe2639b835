/* Tests for npy: every dtype and format version written and read back, plain
 * and gzip'd; files laid out byte by byte as NumPy writes them; every way a
 * header or its data can lie, each with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "npy.h"
#include "file_case.h"
#include "tmpdir.h"

#define ALL_DTYPES (NPY_INTEGERS | NPY_ONLY(NPY_F4))
#define INPUTS (NPY_ONLY(NPY_U1) | NPY_ONLY(NPY_I1) | NPY_ONLY(NPY_F4))

typedef struct {
    file_case c; /* first: tmpdir_fixture_new's folder */
    npy_array a;
} fixture;

static int setup(void **state)
{
    return tmpdir_fixture_new(state, "test_npy", sizeof(fixture));
}

static int teardown(void **state)
{
    fixture *f = *state;
    npy_free(&f->a);
    return tmpdir_fixture_free(f);
}

/* A file built by hand: magic, version major.0, the length (2 bytes for
 * major 1, else 4) of dict as given (no padding), dict, then n data bytes. */
static size_t raw_npy(uint8_t *buf, int major, const char *dict, const void *data, size_t n)
{
    size_t len = strlen(dict), pos = 0;
    memcpy(buf, "\x93NUMPY", 6);
    pos = 6;
    buf[pos++] = (uint8_t)major;
    buf[pos++] = 0;
    buf[pos++] = (uint8_t)len;
    buf[pos++] = (uint8_t)(len >> 8);
    if (major != 1) {
        buf[pos++] = (uint8_t)(len >> 16);
        buf[pos++] = (uint8_t)(len >> 24);
    }
    memcpy(buf + pos, dict, len);
    pos += len;
    if (n)
        memcpy(buf + pos, data, n);
    return pos + n;
}

static uint8_t filebuf[1 << 16];

/* Writes a hand-built file (raw_npy) to the fixture's folder; returns its path. */
static const char *write_raw(fixture *f, int major, const char *dict, const void *data,
                             size_t n)
{
    size_t len = raw_npy(filebuf, major, dict, data, n);
    assert_int_equal(tmpdir_write(file_case_path(&f->c, "x.npy"), filebuf, len), 0);
    return f->c.path;
}

/* Reads a hand-built file with accept; expects failure with message "PATH: want". */
static void refused(fixture *f, unsigned accept, int major, const char *dict, const void *data,
                    size_t n, const char *want)
{
    write_raw(f, major, dict, data, n);
    memset(&f->c.e, 0, sizeof f->c.e);
    npy_array a;
    memset(&a, 0x55, sizeof a);
    if (npy_read(f->c.path, accept, &a, &f->c.e) == 0) {
        npy_free(&a);
        fail_msg("accepted: %s", dict);
    }
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
    file_case_assert_msg(&f->c, want);
}

/* count elements of dtype t with distinct values that exercise every byte,
 * the sign and (f4) fractions. */
static void *sample_data(npy_dtype t, int64_t count)
{
    size_t size = npy_dtype_size(t);
    uint8_t *p = malloc((size_t)count * size);
    assert_non_null(p);
    for (int64_t k = 0; k < count; k++) {
        uint8_t *el = p + (size_t)k * size;
        switch (t) {
        case NPY_B1: *el = (uint8_t)(k % 3 == 0); break;
        case NPY_U1: *el = (uint8_t)(k * 37 + 200); break;
        case NPY_I1: *(int8_t *)el = (int8_t)(k * 37 - 128); break;
        case NPY_U2: *(uint16_t *)el = (uint16_t)(k * 4099 + 60000); break;
        case NPY_I2: *(int16_t *)el = (int16_t)(k * 4099 - 32768); break;
        case NPY_U4: *(uint32_t *)el = (uint32_t)(k * 0x01020305u + 0x80000000u); break;
        case NPY_I4: *(int32_t *)el = (int32_t)(k * 0x01020305 - 0x7fffffff); break;
        case NPY_U8: *(uint64_t *)el = (uint64_t)k * 0x0102030405060709ull + (1ull << 63); break;
        case NPY_I8: *(int64_t *)el = (int64_t)k * 0x0102030405060709ll - (1ll << 62); break;
        case NPY_F4: *(float *)el = (float)k * -0.37f + 1e-3f; break;
        default: fail();
        }
    }
    return p;
}

static void test_npy_round_trip_every_dtype_and_version(void **state)
{
    fixture *f = *state;
    const int64_t shapes[3][4] = {{7, 0, 0, 0}, {5, 3, 0, 0}, {2, 3, 4, 5}};
    const int ndims[3] = {1, 2, 4};
    for (int t = 0; t < NPY_N_DTYPES; t++)
        for (int version = 1; version <= 3; version++)
            for (int s = 0; s < 3; s++)
                for (int gz = 0; gz < 2; gz++) {
                    npy_array a = {.dtype = (npy_dtype)t, .ndim = ndims[s], .count = 1};
                    for (int d = 0; d < a.ndim; d++) {
                        a.shape[d] = shapes[s][d];
                        a.count *= a.shape[d];
                    }
                    a.data = sample_data(a.dtype, a.count);
                    const char *p = file_case_path(&f->c, "rt.npy");
                    assert_int_equal(npy_write(p, &a, version, &f->c.e), 0);
                    if (gz) { /* the same bytes, gzip'd */
                        size_t n;
                        char *plain = tmpdir_read(p, &n);
                        assert_non_null(plain);
                        assert_int_equal(tmpdir_write_gz(file_case_path(&f->c, "rt.npy.gz"), plain, n), 0);
                        free(plain);
                    }
                    npy_array b;
                    if (npy_read(f->c.path, ALL_DTYPES, &b, &f->c.e))
                        fail_msg("%s v%d.0 shape %d gz %d: %s", npy_dtype_name(a.dtype), version,
                                 s, gz, f->c.e.msg);
                    assert_int_equal(b.dtype, a.dtype);
                    assert_int_equal(b.ndim, a.ndim);
                    assert_memory_equal(b.shape, a.shape, sizeof(int64_t) * (size_t)a.ndim);
                    assert_int_equal(b.count, a.count);
                    assert_memory_equal(b.data, a.data, (size_t)a.count * npy_dtype_size(a.dtype));
                    npy_free(&b);
                    free(a.data);
                }
}

/* The header is NumPy's, byte for byte: magic, version, length, the dict in
 * NumPy's spelling, spaces and '\n' up to a multiple of 64; the data
 * little-endian right after. */
static void test_npy_write_layout(void **state)
{
    fixture *f = *state;
    float x[6] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f, -0.25f};
    npy_array a = {.dtype = NPY_F4, .ndim = 2, .shape = {2, 3}, .count = 6, .data = x};
    assert_int_equal(npy_write(file_case_path(&f->c, "w.npy"), &a, 1, &f->c.e), 0);
    size_t n;
    uint8_t *b = (uint8_t *)tmpdir_read(f->c.path, &n);
    assert_non_null(b);
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_int_equal(n, 128 + 24);
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    assert_int_equal(b[8] | b[9] << 8, 118);
    assert_memory_equal(b + 10, dict, sizeof dict - 1);
    for (size_t i = 10 + sizeof dict - 1; i < 127; i++)
        assert_int_equal(b[i], ' ');
    assert_int_equal(b[127], '\n');
    assert_memory_equal(b + 128, "\x00\x00\x80\x3f", 4); /* 1.0f little-endian */
    assert_memory_equal(b + 132, "\x00\x00\x00\xc0", 4); /* -2.0f */
    free(b);

    /* one dimension: "(5,)"; one-byte types: '|'; version 2: a 4-byte length */
    uint8_t u[5] = {1, 2, 3, 4, 5};
    npy_array c = {.dtype = NPY_U1, .ndim = 1, .shape = {5}, .count = 5, .data = u};
    uint8_t hdr[256];
    size_t hn = npy_header(&c, 2, hdr, sizeof hdr);
    assert_int_equal(hn, 128);
    assert_memory_equal(hdr, "\x93NUMPY\x02\x00\x74\x00\x00\x00", 12);
    const char dict1[] = "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }";
    assert_memory_equal(hdr + 12, dict1, sizeof dict1 - 1);

    /* invalid arrays and versions are refused */
    assert_int_equal(npy_header(&c, 4, hdr, sizeof hdr), 0);
    c.count = 4;
    assert_int_equal(npy_header(&c, 1, hdr, sizeof hdr), 0);
    c.count = 5;
    c.shape[0] = 0;
    assert_int_equal(npy_header(&c, 1, hdr, sizeof hdr), 0);
    /* nothing but the written file is left in the folder (qfile) */
    assert_int_equal(tmpdir_count(f->c.dir), 1);
}

/* Files as other writers make them: NumPy 1.x/2.x padding, Python 2's "L"
 * suffix, double quotes, keys in another order, no trailing comma. */
static void test_npy_other_spellings(void **state)
{
    fixture *f = *state;
    const uint8_t data[6] = {9, 8, 7, 6, 5, 4};
    const char *dicts[] = {
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 3L), }                  \n",
        "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2, 3)}\n",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<u1'}",
        "{ 'descr' : '|u1' ,\n 'fortran_order' : False ,\t'shape' : ( 2 , 3 , ) , }   \n",
    };
    for (size_t k = 0; k < sizeof dicts / sizeof dicts[0]; k++) {
        for (int major = 1; major <= 3; major++) {
            write_raw(f, major, dicts[k], data, 6);
            if (npy_read(f->c.path, INPUTS, &f->a, &f->c.e))
                fail_msg("%s: %s", dicts[k], f->c.e.msg);
            assert_int_equal(f->a.dtype, NPY_U1);
            assert_int_equal(f->a.ndim, 2);
            assert_int_equal(f->a.shape[0], 2);
            assert_int_equal(f->a.shape[1], 3);
            assert_memory_equal(f->a.data, data, 6);
            npy_free(&f->a);
        }
    }
}

static void test_npy_bad_magic_and_version(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write(file_case_path(&f->c, "x.npy"), "", 0), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "empty file");
    assert_int_equal(tmpdir_write(f->c.path, "PK\x03\x04 a zip (.npz)", 18), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "not a .npy file (starts with 0x504b03042061, not 0x934e554d5059)");
    assert_int_equal(tmpdir_write(f->c.path, "\x93NUM", 4), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated header (4 of the 8 bytes of magic and version)");
    assert_int_equal(tmpdir_write(f->c.path, "\x93NUMPY\x01", 7), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated header (7 of the 8 bytes of magic and version)");

    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }";
    size_t n = raw_npy(filebuf, 1, dict, "x", 1);
    filebuf[6] = 4;
    assert_int_equal(tmpdir_write(f->c.path, filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, ".npy format version 4.0 is not supported (1.0, 2.0, 3.0)");
    filebuf[6] = 1;
    filebuf[7] = 1;
    assert_int_equal(tmpdir_write(f->c.path, filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, ".npy format version 1.1 is not supported (1.0, 2.0, 3.0)");
    filebuf[6] = 0;
    filebuf[7] = 0;
    assert_int_equal(tmpdir_write(f->c.path, filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, ".npy format version 0.0 is not supported (1.0, 2.0, 3.0)");
}

static void test_npy_header_length_lies(void **state)
{
    fixture *f = *state;
    /* a length over the limit (version 2: 4 bytes), checked before reading */
    uint8_t b[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0x11, 0x27, 0, 0}; /* 10001 */
    assert_int_equal(tmpdir_write(file_case_path(&f->c, "x.npy"), b, 12), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "header length 10001 is over the 10000-byte limit");
    b[8] = 0xff, b[9] = 0xff, b[10] = 0xff, b[11] = 0xff;
    assert_int_equal(tmpdir_write(f->c.path, b, 12), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "header length 4294967295 is over the 10000-byte limit");
    /* the length field cut short, and a header shorter than its length */
    assert_int_equal(tmpdir_write(f->c.path, b, 10), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated header (2 of the 4 bytes of the header length)");
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }";
    size_t n = raw_npy(filebuf, 1, dict, NULL, 0);
    assert_int_equal(tmpdir_write(f->c.path, filebuf, n - 5), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated header (52 of the 57 bytes its length says)");
    /* a length shorter than the dict: the dict is cut */
    filebuf[8] = 40;
    assert_int_equal(tmpdir_write(f->c.path, filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "header: expected a quoted key or '}' at byte 40, found the end");
}

/* Every malformed dict, with its message. */
static void test_npy_malformed_dict(void **state)
{
    fixture *f = *state;
    const uint8_t d6[6] = {0};
    static const struct {
        const char *dict, *want;
    } cases[] = {
        {"", "header: expected '{' starting the header dict at byte 0, found the end"},
        {"['descr']", "header: expected '{' starting the header dict at byte 0, found '['"},
        {"{}", "header: key 'descr' is missing"},
        {"{'descr': '|u1', 'shape': (6,)}", "header: key 'fortran_order' is missing"},
        {"{'descr': '|u1', 'fortran_order': False}", "header: key 'shape' is missing"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6,), 'x': 1}",
         "header: key 'x' at byte 56 is not allowed (only 'descr', 'fortran_order', 'shape')"},
        {"{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (6,)}",
         "header: key 'descr' is given twice"},
        {"{descr: '|u1'}", "header: expected a quoted key or '}' at byte 1, found 'd'"},
        {"{'descr' '|u1'}", "header: expected ':' after the key at byte 9, found '''"},
        {"{'descr': '|u1' 'fortran_order': False}",
         "header: expected ',' or '}' in the header dict at byte 16, found '''"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6,)", 
         "header: expected ',' or '}' in the header dict at byte 54, found the end"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6,)} x",
         "header: unexpected 'x' at byte 56 after the dict"},
        {"{'descr': '|u1, 'fortran_order': False, 'shape': (6,)}",
         "header: expected ',' or '}' in the header dict at byte 17, found 'f'"},
        {"{'descr': 'a\\x', 'fortran_order': False, 'shape': (6,)}",
         "header: escape sequence at byte 12 (not supported)"},
        {"{'descr': '|u1", "header: string at byte 10 is not closed"},
        {"{'descr': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}",
         "header: string at byte 10 is too long (over 31 characters)"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}",
         "header: 'descr' is a structured dtype (not supported)"},
        {"{'descr': '|u1', 'fortran_order': 0, 'shape': (6,)}",
         "header: expected True or False for 'fortran_order' at byte 34, found '0'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': [6]}",
         "header: expected '(' starting the 'shape' tuple at byte 50, found '['"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6)}",
         "header: 'shape' (6) is not a tuple (one dimension is written (6,))"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': ()}",
         "header: 'shape' () is a single value, not an array"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6, -1)}",
         "header: 'shape' dimension 1 is negative"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6, x)}",
         "header: expected a dimension (a non-negative integer) in 'shape' at byte 54, found 'x'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6 3)}",
         "header: expected ',' or ')' in 'shape' at byte 53, found '3'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (6, 3.5)}",
         "header: expected ',' or ')' in 'shape' at byte 55, found '.'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (06,)}",
         "header: 'shape' dimension 0 '06' has a leading zero"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (0x6,)}",
         "header: expected ',' or ')' in 'shape' at byte 52, found 'x'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (\x01,)}",
         "header: byte 51 (0x01) is not printable ASCII"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (\xc3\xa9,)}",
         "header: byte 51 (0xc3) is not printable ASCII"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        refused(f, INPUTS, 1, cases[k].dict, d6, 6, cases[k].want);
}

static void test_npy_unsupported_descr(void **state)
{
    fixture *f = *state;
    const uint8_t d8[8] = {0};
    char dict[160];
    static const struct {
        const char *descr, *want;
    } cases[] = {
        {"<f8", "header: 'descr' '<f8' is not supported (u1, i1, f4)"},
        {"<f2", "header: 'descr' '<f2' is not supported (u1, i1, f4)"},
        {"<i8", "header: 'descr' '<i8' is not supported (u1, i1, f4)"},
        {"|b1", "header: 'descr' '|b1' is not supported (u1, i1, f4)"},
        {"<U4", "header: 'descr' '<U4' is not supported (u1, i1, f4)"},
        {"|O", "header: 'descr' '|O' is not supported (u1, i1, f4)"},
        {"float32", "header: 'descr' 'float32' is not supported (u1, i1, f4)"},
        {">f4", "header: 'descr' '>f4' is big-endian, only little-endian is supported "
                "(save x.astype('<f4'))"},
        {"f4", "header: 'descr' 'f4' has no byte order (NumPy writes '<f4')"},
        {"|f4", "header: 'descr' '|f4' does not say little-endian ('<f4')"},
        {"=f4", "header: 'descr' '=f4' does not say little-endian ('<f4')"},
        {"u1", "header: 'descr' 'u1' has no byte order (NumPy writes '|u1')"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
                 cases[k].descr);
        refused(f, INPUTS, 1, dict, d8, 8, cases[k].want);
    }
    /* labels accept every integer type, but not floats */
    refused(f, NPY_INTEGERS, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", d8,
            8, "header: 'descr' '<f4' is not supported (b1, u1, i1, u2, i2, u4, i4, u8, i8)");
    refused(f, NPY_INTEGERS, 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", d8,
            8, "header: 'descr' '>i8' is big-endian, only little-endian is supported "
               "(save x.astype('<i8'))");
    /* one-byte types: the byte order does not matter */
    for (int k = 0; k < 3; k++) {
        const char *descr[3] = {"<u1", ">i1", "=u1"};
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (8,), }",
                 descr[k]);
        write_raw(f, 1, dict, d8, 8);
        assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), 0);
        npy_free(&f->a);
    }
}

static void test_npy_fortran_order(void **state)
{
    fixture *f = *state;
    const uint8_t d6[6] = {0};
    refused(f, INPUTS, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", d6, 6,
            "header: 'fortran_order' is True: Fortran-order arrays are not supported "
            "(save np.ascontiguousarray(x))");
}

/* Shapes whose size is absurd are refused from the header alone, before any
 * allocation or arithmetic that could overflow. */
static void test_npy_shape_overflow(void **state)
{
    fixture *f = *state;
    refused(f, INPUTS, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (65536, 32768), }",
            NULL, 0, "header: 'shape' has more than 2147483647 elements");
    /* 2^32 · 2^32 wraps to 0 in 64 bits; 2^64 + 1 wraps to 1 */
    refused(f, INPUTS, 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
            NULL, 0, "header: 'shape' dimension 0 '4294967296' is over 2147483647");
    refused(f, INPUTS, 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (18446744073709551617,), }",
            NULL, 0, "header: 'shape' dimension 0 '18446744073709551617' is over 2147483647");
    /* read by qnum: never clamped, however many digits; leading zeros refused */
    refused(f, INPUTS, 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': "
            "(1000000000000000000000000000000000000000,), }",
            NULL, 0, "header: 'shape' dimension 0 '1000000000000000000000000000000000000000' "
                     "is over 2147483647");
    refused(f, INPUTS, 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': "
            "(0000000000000000000000000000006,), }",
            NULL, 0, "header: 'shape' dimension 0 '0000000000000000000000000000006' has a "
                     "leading zero");
    refused(f, INPUTS, 1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2147483648), }", NULL, 0,
            "header: 'shape' dimension 1 '2147483648' is over 2147483647");
    refused(f, INPUTS, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 0, 3), }",
            NULL, 0, "header: 'shape' dimension 1 is 0 (an empty array)");
    refused(f, INPUTS, 1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", NULL, 0,
            "header: 'shape' has more than 8 dimensions");
    /* the largest count is fine as far as the header goes: the data are short */
    refused(f, INPUTS, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647,), }",
            "abcd", 4, "truncated: header promises 8589934588 bytes of data, file has 4");
}

static void test_npy_data_length(void **state)
{
    fixture *f = *state;
    const char *dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";
    uint8_t d[14] = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0};
    refused(f, NPY_INTEGERS, 1, dict, d, 11,
            "truncated: header promises 12 bytes of data, file has 11");
    refused(f, NPY_INTEGERS, 1, dict, d, 13, "unexpected data after the 12 bytes of data");
    refused(f, NPY_INTEGERS, 1, dict, d, 0, "truncated: header promises 12 bytes of data, file has 0");
    /* the same through gzip */
    size_t n = raw_npy(filebuf, 1, dict, d, 14);
    assert_int_equal(tmpdir_write_gz(file_case_path(&f->c, "x.npy.gz"), filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, NPY_INTEGERS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "unexpected data after the 12 bytes of data");
    assert_int_equal(tmpdir_write_gz(f->c.path, filebuf, n - 3), 0);
    assert_int_equal(npy_read(f->c.path, NPY_INTEGERS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated: header promises 12 bytes of data, file has 11");
    assert_int_equal(tmpdir_write_gz(f->c.path, filebuf, n - 2), 0);
    assert_int_equal(npy_read(f->c.path, NPY_INTEGERS, &f->a, &f->c.e), 0);
    assert_int_equal(((int16_t *)f->a.data)[5], 6);
}

/* NaN and infinities in f4 data are refused with the element's index. */
static void test_npy_non_finite_floats(void **state)
{
    fixture *f = *state;
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2), }";
    float x[12];
    for (int k = 0; k < 12; k++)
        x[k] = (float)k * 0.5f - 2.0f;
    write_raw(f, 1, dict, x, sizeof x);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), 0);
    assert_true(((float *)f->a.data)[11] == 3.5f);
    npy_free(&f->a);
    x[9] = NAN;
    refused(f, INPUTS, 1, dict, x, sizeof x, "data: element [1, 1, 1] is NaN (values must be finite)");
    x[9] = 1.0f;
    x[2] = -INFINITY;
    refused(f, INPUTS, 1, dict, x, sizeof x, "data: element [0, 1, 0] is -inf (values must be finite)");
    x[2] = INFINITY;
    refused(f, INPUTS, 1, dict, x, sizeof x, "data: element [0, 1, 0] is inf (values must be finite)");
}

static void test_npy_bool_values(void **state)
{
    fixture *f = *state;
    const char *dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }";
    refused(f, NPY_INTEGERS, 1, dict, "\x00\x01\x02\x01", 4,
            "data: element [2] is 2, not a bool (0 or 1)");
    write_raw(f, 1, dict, "\x00\x01\x01\x00", 4);
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), 0);
    const int32_t want[4] = {0, 1, 1, 0};
    assert_memory_equal(f->a.data, want, sizeof want);
}

/* Labels of every integer type become int32; values outside int32 are named. */
static void test_npy_labels_to_int32(void **state)
{
    fixture *f = *state;
    for (int t = 0; t < NPY_N_DTYPES; t++) {
        if (t == NPY_F4 || t == NPY_B1)
            continue;
        size_t size = npy_dtype_size((npy_dtype)t);
        uint8_t data[5 * 8];
        /* 0, 1, 9, 127 and the type's largest value that fits int32 */
        const int64_t v[5] = {0, 1, 9, 127,
                              t == NPY_U1 ? 255 : t == NPY_I1 ? -128 : t == NPY_U2 ? 65535
                              : t == NPY_I2 ? -32768 : t == NPY_U4 || t == NPY_U8 ? INT32_MAX
                              : INT32_MIN};
        for (int k = 0; k < 5; k++)
            for (size_t b = 0; b < size; b++)
                data[(size_t)k * size + b] = (uint8_t)((uint64_t)v[k] >> (8 * b));
        char dict[100];
        snprintf(dict, sizeof dict, "{'descr': '%s%s', 'fortran_order': False, 'shape': (5,), }",
                 size == 1 ? "|" : "<", npy_dtype_name((npy_dtype)t));
        write_raw(f, 1, dict, data, 5 * size);
        if (npy_read_int32(f->c.path, &f->a, &f->c.e))
            fail_msg("%s: %s", npy_dtype_name((npy_dtype)t), f->c.e.msg);
        assert_int_equal(f->a.dtype, NPY_I4);
        assert_int_equal(f->a.count, 5);
        for (int k = 0; k < 5; k++)
            if (((int32_t *)f->a.data)[k] != v[k])
                fail_msg("%s element %d: %d, expected %lld", npy_dtype_name((npy_dtype)t), k,
                         ((int32_t *)f->a.data)[k], (long long)v[k]);
        npy_free(&f->a);
    }
    /* out of range, with the index */
    const char *d_i8 = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }";
    int64_t big[4] = {1, 2, 3, (int64_t)1 << 40};
    write_raw(f, 1, d_i8, big, sizeof big);
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "data: element [1, 1] is 1099511627776, outside int32");
    assert_null(f->a.data);
    big[3] = 0;
    big[2] = (int64_t)INT32_MIN - 1;
    write_raw(f, 1, d_i8, big, sizeof big);
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "data: element [1, 0] is -2147483649, outside int32");
    uint64_t ubig[1] = {UINT64_MAX};
    write_raw(f, 1, "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", ubig, 8);
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "data: element [0] is 18446744073709551615, outside int32");
    uint32_t u4[2] = {7, 0x80000000u};
    write_raw(f, 1, "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", u4, 8);
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "data: element [1] is 2147483648, outside int32");
    write_raw(f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", u4, 8);
    memset(&f->a, 0x55, sizeof f->a); /* a refused file leaves the array zeroed */
    assert_int_equal(npy_read_int32(f->c.path, &f->a, &f->c.e), -1);
    assert_null(f->a.data);
    assert_int_equal(f->a.ndim, 0);
    file_case_assert_msg(&f->c, "header: 'descr' '<f4' is not supported (b1, u1, i1, u2, i2, u4, i4, u8, i8)");
}

static void test_npy_gzip(void **state)
{
    fixture *f = *state;
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    const float x[3] = {0.25f, -1.0f, 8.0f};
    size_t n = raw_npy(filebuf, 3, dict, x, sizeof x);
    assert_int_equal(tmpdir_write_gz(file_case_path(&f->c, "x.npy.gz"), filebuf, n), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), 0);
    assert_memory_equal(f->a.data, x, sizeof x);
    npy_free(&f->a);
    /* the gzip stream cut short */
    size_t gzn;
    uint8_t *gz = (uint8_t *)tmpdir_read(f->c.path, &gzn);
    assert_non_null(gz);
    assert_int_equal(tmpdir_write(f->c.path, gz, gzn - 4), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "truncated gzip data: unexpected end of file");
    free(gz);
    /* a gzip'd file that is not .npy */
    assert_int_equal(tmpdir_write_gz(f->c.path, "hello world", 11), 0);
    assert_int_equal(npy_read(f->c.path, INPUTS, &f->a, &f->c.e), -1);
    file_case_assert_msg(&f->c, "not a .npy file (starts with 0x68656c6c6f20, not 0x934e554d5059)");
}

static void test_npy_shape_str_and_names(void **state)
{
    (void)state;
    char buf[64];
    npy_array a = {.ndim = 3, .shape = {100, 49, 10}};
    assert_string_equal(npy_shape_str(&a, buf, sizeof buf), "(100, 49, 10)");
    a.ndim = 1;
    assert_string_equal(npy_shape_str(&a, buf, sizeof buf), "(100,)");
    assert_string_equal(npy_shape_str(&a, buf, 4), "(10");
    assert_string_equal(npy_dtype_name(NPY_I8), "i8");
    assert_int_equal(npy_dtype_size(NPY_U2), 2);
    assert_true(npy_is_magic((const uint8_t *)"\x93NUMPY\x01", 7));
    assert_false(npy_is_magic((const uint8_t *)"\x93NUMP", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_npy_round_trip_every_dtype_and_version),
        TMPDIR_TEST(test_npy_write_layout),
        TMPDIR_TEST(test_npy_other_spellings),
        TMPDIR_TEST(test_npy_bad_magic_and_version),
        TMPDIR_TEST(test_npy_header_length_lies),
        TMPDIR_TEST(test_npy_malformed_dict),
        TMPDIR_TEST(test_npy_unsupported_descr),
        TMPDIR_TEST(test_npy_fortran_order),
        TMPDIR_TEST(test_npy_shape_overflow),
        TMPDIR_TEST(test_npy_data_length),
        TMPDIR_TEST(test_npy_non_finite_floats),
        TMPDIR_TEST(test_npy_bool_values),
        TMPDIR_TEST(test_npy_labels_to_int32),
        TMPDIR_TEST(test_npy_gzip),
        cmocka_unit_test(test_npy_shape_str_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
