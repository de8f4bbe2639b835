/* npy — NumPy .npy arrays, plain or gzip'd: a strict reader and a writer.
 *
 * The file (NumPy's format 1.0, 2.0 and 3.0):
 *
 *   "\x93NUMPY"  major minor  HEADER_LEN (u16 LE for 1.0, u32 LE for 2.0/3.0)
 *   header: a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False,
 *           'shape': (100, 49, 10), }, padded with spaces and ended by '\n'
 *   data:   shape-product elements of descr, nothing after them
 *
 * What is read: the dtypes b1, u1, i1, u2, i2, u4, i4, u8, i8 and f4,
 * little-endian ('<'; '|' or any order for one-byte types), C order, 1 to
 * NPY_MAX_DIMS dimensions each ≥ 1, at most NPY_MAX_ELEMENTS elements, a
 * header of at most NPY_HEADER_MAX bytes holding exactly the keys 'descr',
 * 'fortran_order' and 'shape' (any order, each once; Python 2's 10L is
 * accepted in the shape). Refused, each with a one-line message "PATH:
 * problem" that names the field: another magic or version, a big-endian or
 * unsupported descr (f8, f2, structured, strings, objects), Fortran order, a
 * malformed dict, a 0 or too large dimension, more than NPY_MAX_ELEMENTS
 * elements, data shorter or longer than the shape says, a b1 byte other than
 * 0 or 1, and NaN or an infinity in f4 data (with the element's index: no
 * qatc use of floats survives one). A file starting with the gzip magic is
 * decompressed (infile.h: regular files only, nothing after the stream).
 */
#ifndef QATC_NPY_H
#define QATC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

typedef enum {
    NPY_B1, NPY_U1, NPY_I1, NPY_U2, NPY_I2, NPY_U4, NPY_I4, NPY_U8, NPY_I8, NPY_F4,
    NPY_N_DTYPES
} npy_dtype;

/* Sets of dtypes, for npy_read's accept. */
#define NPY_ONLY(t) (1u << (t))
#define NPY_INTEGERS                                                                          \
    (NPY_ONLY(NPY_B1) | NPY_ONLY(NPY_U1) | NPY_ONLY(NPY_I1) | NPY_ONLY(NPY_U2) |             \
     NPY_ONLY(NPY_I2) | NPY_ONLY(NPY_U4) | NPY_ONLY(NPY_I4) | NPY_ONLY(NPY_U8) | NPY_ONLY(NPY_I8))

#define NPY_MAX_DIMS 8
/* Largest element count: every element index fits an int32 (as for IDX). */
#define NPY_MAX_ELEMENTS ((int64_t)INT32_MAX)
/* Largest header: NumPy's own reader refuses longer ones by default. */
#define NPY_HEADER_MAX 10000

typedef struct {
    npy_dtype dtype;
    int ndim;                       /* 1..NPY_MAX_DIMS */
    int64_t shape[NPY_MAX_DIMS];    /* each ≥ 1 */
    int64_t count;                  /* product of shape, 1..NPY_MAX_ELEMENTS */
    void *data;                     /* (shape...) of dtype, host byte order, C order */
} npy_array;

/* "u1", "f4", ...; the byte size of one element. */
const char *npy_dtype_name(npy_dtype t);
size_t npy_dtype_size(npy_dtype t);

/* Whether bytes[0..n) start with the .npy magic "\x93NUMPY". */
int npy_is_magic(const uint8_t *bytes, size_t n);

/* Reads the .npy file at path, whose dtype must be in accept (a set of
 * NPY_ONLY bits; the message lists them: "PATH: header: 'descr' '<f8' is not
 * supported (u1, i1, f4)"). Returns 0 with out filled, or -1 with e set and
 * out zeroed, nothing allocated. */
int npy_read(const char *path, unsigned accept, npy_array *out, qerr *e);

/* Reads an array of any integer dtype (b1, u1..u8, i1..i8) and converts it to
 * int32 (out->dtype = NPY_I4): an element outside the int32 range is an
 * error naming its index ("PATH: data: element [7] is 4294967296, outside
 * int32"). Returns 0, or -1 with e set and out zeroed. */
int npy_read_int32(const char *path, npy_array *out, qerr *e);

/* Releases a's data and zeroes a. Safe on a zeroed array. */
void npy_free(npy_array *a);

/* The shape as NumPy prints it, "(100, 49, 10)" or "(5,)", into buf (cap
 * bytes; cut short if it does not fit). Returns buf. */
char *npy_shape_str(const npy_array *a, char *buf, size_t cap);

/* The header NumPy would write for a (dtype, ndim, shape): magic, version
 * (1, 2 or 3 for 1.0, 2.0, 3.0), length and the dict, padded so that the
 * data start at a multiple of 64 bytes. Writes it into buf when it fits
 * in cap bytes. Returns its length, or 0 when a is not a valid array (dtype,
 * ndim, a dimension < 1, count not the shape's product) or version is not
 * 1, 2 or 3. */
size_t npy_header(const npy_array *a, int version, uint8_t *buf, size_t cap);

/* Writes a to path as a .npy file (the header of npy_header, then the data
 * little-endian) through qfile: the file appears whole or not at all.
 * a must be valid (as for npy_header; an assertion). Returns 0, or -1 with e
 * set and path untouched. */
int npy_write(const char *path, const npy_array *a, int version, qerr *e);

#endif
