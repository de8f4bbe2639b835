/* libFuzzer target: npy_read, npy_read_int32 and the .npy paths of
 * dataset_load_as on arbitrary bytes.
 *
 * The first byte chooses: bit 0 set = the rest is written gzip-compressed
 * (so mutations reach the header behind zlib), clear = written as is; bits
 * 1-2 = what reads it: 0 npy_read of the input dtypes (u1, i1, f4), 1
 * npy_read_int32, 2 npy_read of every dtype, 3 the dataset: as inputs
 * (model input shape taken from the file) and as labels or targets beside
 * inputs of the same count; a file npy_read refuses goes to the dataset as
 * inputs all the same (sniffing by magic, IDX, garbage).
 *
 * Checks: no crash, leak or undefined behaviour; a rejection is one line
 * naming the file and leaves the array zeroed; an accepted array has a valid
 * shape and count, its values obey the reader's promises (f4 finite, b1 0 or
 * 1), an accepted plain file is exactly magic + header + data, every element
 * is read (so ASan sees a short buffer), and writing it back and reading that
 * gives the same array.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "dataset.h"
#include "fuzzfile.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static void check_zeroed(const npy_array *a)
{
    static const npy_array zero;
    if (memcmp(a, &zero, sizeof zero) != 0)
        fuzz_fail("a rejected array is not zeroed");
}

/* The promises of an accepted array; returns a sum over every byte. */
static unsigned check_array(const npy_array *a, unsigned accept)
{
    if (a->ndim < 1 || a->ndim > NPY_MAX_DIMS || !a->data)
        fuzz_fail("accepted an array with a bad ndim or no data");
    if ((unsigned)a->dtype >= NPY_N_DTYPES || !(accept & NPY_ONLY(a->dtype)))
        fuzz_fail("accepted a dtype outside accept");
    int64_t count = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] < 1 || a->shape[d] > NPY_MAX_ELEMENTS)
            fuzz_fail("accepted a dimension out of range");
        count *= a->shape[d];
        if (count > NPY_MAX_ELEMENTS)
            fuzz_fail("accepted more than NPY_MAX_ELEMENTS");
    }
    if (count != a->count)
        fuzz_fail("count is not the product of the shape");
    size_t bytes = (size_t)a->count * npy_dtype_size(a->dtype);
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i++)
        sum += ((const uint8_t *)a->data)[i];
    for (int64_t k = 0; a->dtype == NPY_F4 && k < a->count; k++)
        if (!isfinite(((const float *)a->data)[k]))
            fuzz_fail("accepted a non-finite f4");
    for (int64_t k = 0; a->dtype == NPY_B1 && k < a->count; k++)
        if (((const uint8_t *)a->data)[k] > 1)
            fuzz_fail("accepted a b1 byte other than 0 or 1");
    return sum;
}

/* A plain file is magic, version, length, header, data: nothing else. */
static void check_size(const uint8_t *body, size_t n, const npy_array *a)
{
    if (n < 12)
        fuzz_fail("accepted a file shorter than a header");
    size_t hlen = body[6] == 1 ? 10 + (size_t)(body[8] | body[9] << 8)
                               : 12 + (size_t)(body[8] | body[9] << 8 | body[10] << 16 |
                                               (uint32_t)body[11] << 24);
    if (hlen + (size_t)a->count * npy_dtype_size(a->dtype) != n)
        fuzz_fail("accepted a file whose size does not match its header");
}

/* Writes a back and reads it again: the same array. */
static void check_round_trip(const npy_array *a, unsigned accept)
{
    qerr e = {{0}};
    const char *p = fuzzfile_write("npy", 1, "again.npy", (const uint8_t *)"", 0);
    if (npy_write(p, a, 1 + (int)(a->count % 3), &e))
        fuzz_fail(e.msg);
    npy_array b;
    if (npy_read(p, accept, &b, &e))
        fuzz_fail(e.msg);
    if (b.dtype != a->dtype || b.ndim != a->ndim || b.count != a->count ||
        memcmp(b.shape, a->shape, sizeof(int64_t) * (size_t)a->ndim) != 0 ||
        memcmp(b.data, a->data, (size_t)a->count * npy_dtype_size(a->dtype)) != 0)
        fuzz_fail("written and read back, the array differs");
    npy_free(&b);
}

/* The dataset on the file as inputs (the model input shape is the file's),
 * and as class labels and as targets beside inputs of the same count. */
static void fuzz_dataset(const char *path)
{
    qerr e = {{0}};
    npy_array a;
    if (npy_read(path, NPY_ONLY(NPY_U1) | NPY_ONLY(NPY_I1) | NPY_ONLY(NPY_F4), &a, &e) == 0) {
        if (a.ndim >= 2 && a.ndim <= 4) {
            dataset_input in = {1, 1, 1, 0.0625, -3};
            int32_t *hwc = &in.h;
            for (int d = 1; d < a.ndim; d++)
                hwc[3 - a.ndim + d] = (int32_t)a.shape[d];
            dataset ds;
            dataset_want none = {DATASET_NONE, 0, 0, 0, 0};
            if (dataset_load_as(&ds, path, NULL, in, none, &e))
                fuzz_fail(e.msg); /* npy_read took it: so must the dataset */
            if (ds.n != a.shape[0] || !ds.codes || ds.labels || ds.targets)
                fuzz_fail("dataset of .npy inputs: wrong count or fields");
            volatile int8_t sink = 0;
            size_t elems = (size_t)ds.n * (size_t)dataset_image_size(&ds);
            for (size_t i = 0; i < elems; i++)
                sink = (int8_t)(sink ^ ds.q_of[ds.codes[i]]);
            (void)sink;
            dataset_free(&ds);
        }
        npy_free(&a);
    }
    /* as labels and as targets, beside N inputs of 1x1x1 */
    e.msg[0] = '\0';
    int64_t n = 0;
    npy_array any;
    if (npy_read(path, NPY_INTEGERS | NPY_ONLY(NPY_F4), &any, &e) == 0) {
        n = any.shape[0];
        npy_free(&any);
    }
    if (n < 1 || n > 4096) {
        /* not a .npy the dataset can take: it must refuse it cleanly too
         * (the sniffing by magic, IDX files, garbage) */
        dataset ds;
        dataset_input in = {1, 1, 1, 1.0 / 255, -128};
        dataset_want none = {DATASET_NONE, 0, 0, 0, 0};
        e.msg[0] = '\0';
        if (dataset_load_as(&ds, path, NULL, in, none, &e) == 0)
            dataset_free(&ds);
        else
            fuzzfile_check_message(e.msg, path);
        return;
    }
    uint8_t *pix = calloc((size_t)n, 1);
    if (!pix)
        fuzz_fail("out of memory");
    npy_array xa = {NPY_U1, 1, {n}, n, pix};
    xa.ndim = 2;
    xa.shape[1] = 1;
    const char *xp = fuzzfile_write("npy", 2, "x.npy", (const uint8_t *)"", 0);
    if (npy_write(xp, &xa, 1, &e))
        fuzz_fail(e.msg);
    free(pix);
    dataset_input in = {1, 1, 1, 1.0 / 255, -128};
    dataset ds;
    dataset_want want[3] = {{DATASET_CLASSES, 0, 0, 0, 0},
                            {DATASET_CLASSES, 10, 0, 0, 0},
                            {DATASET_TARGETS, 0, 1, 1, 1}};
    for (int k = 0; k < 3; k++) {
        e.msg[0] = '\0';
        if (dataset_load_as(&ds, xp, path, in, want[k], &e) == 0) {
            if (ds.n != n)
                fuzz_fail("dataset: wrong count");
            for (int32_t i = 0; k < 2 && i < ds.n; i++)
                if (!ds.labels || (want[k].n_classes && ds.labels[i] >= want[k].n_classes))
                    fuzz_fail("dataset: a label out of range");
            for (int32_t i = 0; k == 2 && i < ds.n; i++)
                if (!ds.targets || !(fabsf(ds.targets[i]) <= DATASET_TARGET_MAX))
                    fuzz_fail("dataset: a target out of range");
            dataset_free(&ds);
        } else {
            if (strncmp(e.msg, path, strlen(path)) && strncmp(e.msg, xp, strlen(xp)))
                fuzz_fail(e.msg);
            fuzzfile_check_message(e.msg, "/");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int gz = data[0] & 1, mode = data[0] >> 1 & 3;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const char *path = gz ? fuzzfile_write_gz("npy", 0, "fuzz.npy.gz", body, n)
                          : fuzzfile_write("npy", 0, "fuzz.npy", body, n);
    if (mode == 3) {
        fuzz_dataset(path);
        return 0;
    }
    static const unsigned accepts[3] = {
        NPY_ONLY(NPY_U1) | NPY_ONLY(NPY_I1) | NPY_ONLY(NPY_F4),
        NPY_ONLY(NPY_I4), /* npy_read_int32's result */
        NPY_INTEGERS | NPY_ONLY(NPY_F4),
    };
    qerr e = {{0}};
    npy_array a;
    memset(&a, 0x5a, sizeof a);
    int rc = mode == 1 ? npy_read_int32(path, &a, &e) : npy_read(path, accepts[mode], &a, &e);
    if (rc == 0) {
        volatile unsigned sum = check_array(&a, accepts[mode]);
        (void)sum;
        if (!gz && mode != 1 && npy_is_magic(body, n))
            check_size(body, n, &a);
        check_round_trip(&a, accepts[mode]);
        npy_free(&a);
    } else {
        fuzzfile_check_message(e.msg, path);
        check_zeroed(&a);
    }
    return 0;
}
