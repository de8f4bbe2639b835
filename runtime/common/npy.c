/* npy — the .npy reader (a bounded parser of the header dict, not a Python
 * evaluator) and writer. */
#include "npy.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infile.h"
#include "qnum.h"
#include "qfile.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_DESCR_MAX 32   /* longest descr string kept (for messages) */

static const struct {
    const char *name;
    size_t size;
} npy_types[NPY_N_DTYPES] = {
    [NPY_B1] = {"b1", 1}, [NPY_U1] = {"u1", 1}, [NPY_I1] = {"i1", 1}, [NPY_U2] = {"u2", 2},
    [NPY_I2] = {"i2", 2}, [NPY_U4] = {"u4", 4}, [NPY_I4] = {"i4", 4}, [NPY_U8] = {"u8", 8},
    [NPY_I8] = {"i8", 8}, [NPY_F4] = {"f4", 4},
};

const char *npy_dtype_name(npy_dtype t)
{
    return (unsigned)t < NPY_N_DTYPES ? npy_types[t].name : "?";
}

size_t npy_dtype_size(npy_dtype t)
{
    return (unsigned)t < NPY_N_DTYPES ? npy_types[t].size : 0;
}

int npy_is_magic(const uint8_t *bytes, size_t n)
{
    return n >= NPY_MAGIC_LEN && memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) == 0;
}

static int npy_host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverses the bytes of each of count elements of size bytes (little-endian
 * file data on a big-endian host, and back). */
static void npy_swap(void *data, int64_t count, size_t size)
{
    uint8_t *p = data;
    for (int64_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* ---- the header dict -------------------------------------------------------- */

/* A cursor over the header text h[0..n). */
typedef struct {
    const char *path;
    const char *h;
    size_t n, i;
    qerr *e;
} npy_parse;

static void npy_ws(npy_parse *p)
{
    while (p->i < p->n && (p->h[p->i] == ' ' || p->h[p->i] == '\t' || p->h[p->i] == '\n' ||
                           p->h[p->i] == '\r'))
        p->i++;
}

/* "PATH: header: expected WHAT at byte I, found 'c'" (or "found the end"). */
static int npy_expected(npy_parse *p, const char *what)
{
    if (p->i >= p->n)
        return qerr_set(p->e, "%s: header: expected %s at byte %zu, found the end", p->path,
                        what, p->i);
    return qerr_set(p->e, "%s: header: expected %s at byte %zu, found '%c'", p->path, what,
                    p->i, p->h[p->i]);
}

static int npy_char(npy_parse *p, char c, const char *what)
{
    npy_ws(p);
    if (p->i >= p->n || p->h[p->i] != c)
        return npy_expected(p, what);
    p->i++;
    return 0;
}

/* A quoted string ('...' or "...", no escapes) into out (cap bytes). */
static int npy_string(npy_parse *p, char *out, size_t cap, const char *what)
{
    npy_ws(p);
    if (p->i >= p->n || (p->h[p->i] != '\'' && p->h[p->i] != '"'))
        return npy_expected(p, what);
    char quote = p->h[p->i++];
    size_t start = p->i, len = 0;
    for (; p->i < p->n && p->h[p->i] != quote; p->i++, len++) {
        char c = p->h[p->i];
        if (c == '\\')
            return qerr_set(p->e, "%s: header: escape sequence at byte %zu (not supported)",
                            p->path, p->i);
        if (c == '\n' || c == '\r' || c == '\t')
            return qerr_set(p->e, "%s: header: string at byte %zu is not closed", p->path,
                            start - 1);
        if (len + 1 >= cap)
            return qerr_set(p->e, "%s: header: string at byte %zu is too long (over %zu characters)",
                            p->path, start - 1, cap - 1);
        out[len] = c;
    }
    if (p->i >= p->n)
        return qerr_set(p->e, "%s: header: string at byte %zu is not closed", p->path, start - 1);
    out[len] = '\0';
    p->i++;
    return 0;
}

/* The shape tuple: "()", "(5,)", "(5, 3)", "(5, 3,)"; Python 2's "5L" too.
 * Each dimension is checked to be ≥ 1 and at most NPY_MAX_ELEMENTS as it is
 * read; the element count afterwards. */
static int npy_shape(npy_parse *p, int *ndim, int64_t *shape)
{
    if (npy_char(p, '(', "'(' starting the 'shape' tuple"))
        return -1;
    *ndim = 0;
    int commas = 0;
    for (;;) {
        npy_ws(p);
        if (p->i < p->n && p->h[p->i] == ')')
            break;
        if (p->i >= p->n || p->h[p->i] < '0' || p->h[p->i] > '9') {
            if (p->i < p->n && p->h[p->i] == '-')
                return qerr_set(p->e, "%s: header: 'shape' dimension %d is negative", p->path,
                                *ndim);
            return npy_expected(p, "a dimension (a non-negative integer) in 'shape'");
        }
        if (*ndim == NPY_MAX_DIMS)
            return qerr_set(p->e, "%s: header: 'shape' has more than %d dimensions", p->path,
                            NPY_MAX_DIMS);
        /* the digits, read by qnum (qatc's one number parser) */
        size_t start = p->i;
        while (p->i < p->n && p->h[p->i] >= '0' && p->h[p->i] <= '9')
            p->i++;
        char digits[24];
        size_t len = p->i - start;
        int64_t v = 0;
        qnum_status st = len > 1 && p->h[start] == '0' ? QNUM_LEADING_ZERO
                         : QNUM_RANGE; /* more digits than any dimension has */
        if (len < sizeof digits) {
            memcpy(digits, p->h + start, len);
            digits[len] = '\0';
            st = qnum_int(digits, 0, NPY_MAX_ELEMENTS, &v);
        }
        if (st == QNUM_LEADING_ZERO)
            return qerr_set(p->e, "%s: header: 'shape' dimension %d '%.*s' has a leading zero",
                            p->path, *ndim, (int)(len > 40 ? 40 : len), p->h + start);
        if (p->i < p->n && (p->h[p->i] == 'L' || p->h[p->i] == 'l'))
            p->i++;
        if (st != QNUM_OK)
            return qerr_set(p->e, "%s: header: 'shape' dimension %d '%.*s' is over %lld",
                            p->path, *ndim, (int)(p->i - start > 40 ? 40 : p->i - start),
                            p->h + start, (long long)NPY_MAX_ELEMENTS);
        npy_ws(p);
        if (p->i >= p->n || (p->h[p->i] != ',' && p->h[p->i] != ')')) /* 0x6, 6.5 */
            return npy_expected(p, "',' or ')' in 'shape'");
        if (v == 0)
            return qerr_set(p->e, "%s: header: 'shape' dimension %d is 0 (an empty array)",
                            p->path, *ndim);
        shape[(*ndim)++] = (int64_t)v;
        if (p->h[p->i] == ')')
            break;
        p->i++;
        commas++;
    }
    p->i++; /* ')' */
    if (*ndim == 1 && commas == 0)
        return qerr_set(p->e, "%s: header: 'shape' (%lld) is not a tuple (one dimension is "
                              "written (%lld,))", p->path, (long long)shape[0],
                        (long long)shape[0]);
    if (*ndim == 0)
        return qerr_set(p->e, "%s: header: 'shape' () is a single value, not an array",
                        p->path);
    uint64_t count = 1;
    for (int d = 0; d < *ndim; d++) {
        count *= (uint64_t)shape[d]; /* < 2^31 · 2^31: no overflow */
        if (count > (uint64_t)NPY_MAX_ELEMENTS)
            return qerr_set(p->e, "%s: header: 'shape' has more than %lld elements", p->path,
                            (long long)NPY_MAX_ELEMENTS);
    }
    return 0;
}

/* Names of the dtypes in accept: "u1, i1, f4". */
static void npy_accept_names(unsigned accept, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int t = 0; t < NPY_N_DTYPES; t++)
        if (accept & NPY_ONLY(t))
            used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s",
                                     used ? ", " : "", npy_types[t].name);
}

/* The dtype of a descr string, checked against accept. */
static int npy_descr(const char *path, const char *descr, unsigned accept, npy_dtype *out,
                     qerr *e)
{
    char names[96];
    npy_accept_names(accept, names, sizeof names);
    char order = descr[0];
    const char *type = order == '<' || order == '>' || order == '|' || order == '=' ? descr + 1
                                                                                   : descr;
    int t = 0;
    while (t < NPY_N_DTYPES && strcmp(type, npy_types[t].name) != 0)
        t++;
    if (t == NPY_N_DTYPES || !(accept & NPY_ONLY(t)))
        return qerr_set(e, "%s: header: 'descr' '%s' is not supported (%s)", path, descr, names);
    if (type == descr)
        return qerr_set(e, "%s: header: 'descr' '%s' has no byte order (NumPy writes '%s%s')",
                        path, descr, npy_types[t].size == 1 ? "|" : "<", descr);
    if (npy_types[t].size > 1 && order == '>')
        return qerr_set(e, "%s: header: 'descr' '%s' is big-endian, only little-endian is "
                           "supported (save x.astype('<%s'))", path, descr, type);
    if (npy_types[t].size > 1 && order != '<')
        return qerr_set(e, "%s: header: 'descr' '%s' does not say little-endian ('<%s')", path,
                        descr, type);
    *out = (npy_dtype)t;
    return 0;
}

/* Parses the header dict h[0..n) into a (dtype, ndim, shape, count). */
static int npy_parse_header(const char *path, const char *h, size_t n, unsigned accept,
                            npy_array *a, qerr *e)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if ((c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t')
            return qerr_set(e, "%s: header: byte %zu (0x%02x) is not printable ASCII", path, i,
                            c);
    }
    npy_parse p = {path, h, n, 0, e};
    char descr[NPY_DESCR_MAX] = "", key[32];
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    if (npy_char(&p, '{', "'{' starting the header dict"))
        return -1;
    for (;;) {
        npy_ws(&p);
        if (p.i < n && p.h[p.i] == '}')
            break;
        size_t key_at = p.i;
        if (npy_string(&p, key, sizeof key, "a quoted key or '}'") ||
            npy_char(&p, ':', "':' after the key"))
            return -1;
        int *have = !strcmp(key, "descr")           ? &have_descr
                    : !strcmp(key, "fortran_order") ? &have_fortran
                    : !strcmp(key, "shape")         ? &have_shape
                                                    : NULL;
        if (!have)
            return qerr_set(e, "%s: header: key '%s' at byte %zu is not allowed (only 'descr', "
                               "'fortran_order', 'shape')", path, key, key_at);
        if (*have)
            return qerr_set(e, "%s: header: key '%s' is given twice", path, key);
        *have = 1;
        npy_ws(&p);
        if (have == &have_descr) {
            if (p.i < n && (p.h[p.i] == '[' || p.h[p.i] == '{'))
                return qerr_set(e, "%s: header: 'descr' is a structured dtype (not supported)",
                                path);
            if (npy_string(&p, descr, sizeof descr, "a quoted 'descr'"))
                return -1;
        } else if (have == &have_fortran) {
            if (n - p.i >= 4 && !memcmp(p.h + p.i, "True", 4))
                fortran = 1, p.i += 4;
            else if (n - p.i >= 5 && !memcmp(p.h + p.i, "False", 5))
                fortran = 0, p.i += 5;
            else
                return npy_expected(&p, "True or False for 'fortran_order'");
        } else if (npy_shape(&p, &a->ndim, a->shape)) {
            return -1;
        }
        npy_ws(&p);
        if (p.i < n && p.h[p.i] == ',') {
            p.i++;
            continue;
        }
        if (p.i < n && p.h[p.i] == '}')
            break;
        return npy_expected(&p, "',' or '}' in the header dict");
    }
    p.i++; /* '}' */
    npy_ws(&p);
    if (p.i < n)
        return qerr_set(e, "%s: header: unexpected '%c' at byte %zu after the dict", path,
                        p.h[p.i], p.i);
    if (!have_descr || !have_fortran || !have_shape)
        return qerr_set(e, "%s: header: key '%s' is missing", path,
                        !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    if (npy_descr(path, descr, accept, &a->dtype, e))
        return -1;
    if (fortran)
        return qerr_set(e, "%s: header: 'fortran_order' is True: Fortran-order arrays are not "
                           "supported (save np.ascontiguousarray(x))", path);
    a->count = 1;
    for (int d = 0; d < a->ndim; d++)
        a->count *= a->shape[d];
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* "[i0, i1, ...]": the index in a of flat element k. */
static void npy_index_str(const npy_array *a, int64_t k, char *buf, size_t cap)
{
    int64_t idx[NPY_MAX_DIMS];
    for (int d = a->ndim - 1; d >= 0; d--) {
        idx[d] = k % a->shape[d];
        k /= a->shape[d];
    }
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < a->ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                                 (long long)idx[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* The data checks no dtype can express: b1 bytes are 0 or 1, f4 values finite. */
static int npy_check_values(const char *path, const npy_array *a, qerr *e)
{
    char where[160];
    if (a->dtype == NPY_B1) {
        const uint8_t *b = a->data;
        for (int64_t k = 0; k < a->count; k++)
            if (b[k] > 1) {
                npy_index_str(a, k, where, sizeof where);
                return qerr_set(e, "%s: data: element %s is %u, not a bool (0 or 1)", path, where,
                                b[k]);
            }
    } else if (a->dtype == NPY_F4) {
        const float *x = a->data;
        for (int64_t k = 0; k < a->count; k++)
            if (!isfinite(x[k])) {
                npy_index_str(a, k, where, sizeof where);
                return qerr_set(e, "%s: data: element %s is %s (values must be finite)", path,
                                where, isnan(x[k]) ? "NaN" : x[k] > 0 ? "inf" : "-inf");
            }
    }
    return 0;
}

/* Reads magic, version and header of an open file into a. */
static int npy_read_header(infile *f, unsigned accept, npy_array *a, qerr *e)
{
    uint8_t pre[12];
    int64_t got = infile_read(f, pre, 8, e);
    if (got < 0)
        return -1;
    if (got == 0)
        return qerr_set(e, "%s: empty file", f->path);
    if (memcmp(pre, NPY_MAGIC, (size_t)(got < NPY_MAGIC_LEN ? got : NPY_MAGIC_LEN)) != 0) {
        char hex[32];
        size_t used = 0;
        for (int64_t i = 0; i < (got < 6 ? got : 6); i++)
            used += (size_t)snprintf(hex + used, sizeof hex - used, "%02x", pre[i]);
        return qerr_set(e, "%s: not a .npy file (starts with 0x%s, not 0x934e554d5059)", f->path,
                        hex);
    }
    if (got < 8)
        return qerr_set(e, "%s: truncated header (%lld of the 8 bytes of magic and version)",
                        f->path, (long long)got);
    int major = pre[6], minor = pre[7];
    if (minor != 0 || major < 1 || major > 3)
        return qerr_set(e, "%s: .npy format version %d.%d is not supported (1.0, 2.0, 3.0)",
                        f->path, major, minor);
    int lenbytes = major == 1 ? 2 : 4;
    got = infile_read(f, pre + 8, (uint64_t)lenbytes, e);
    if (got < 0)
        return -1;
    if (got < lenbytes)
        return qerr_set(e, "%s: truncated header (%lld of the %d bytes of the header length)",
                        f->path, (long long)got, lenbytes);
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (lenbytes == 4)
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (hlen > NPY_HEADER_MAX)
        return qerr_set(e, "%s: header length %lu is over the %d-byte limit", f->path,
                        (unsigned long)hlen, NPY_HEADER_MAX);
    char h[NPY_HEADER_MAX];
    got = infile_read(f, h, hlen, e);
    if (got < 0)
        return -1;
    if (got < (int64_t)hlen)
        return qerr_set(e, "%s: truncated header (%lld of the %lu bytes its length says)",
                        f->path, (long long)got, (unsigned long)hlen);
    return npy_parse_header(f->path, h, hlen, accept, a, e);
}

int npy_read(const char *path, unsigned accept, npy_array *out, qerr *e)
{
    memset(out, 0, sizeof *out);
    infile f;
    if (infile_open(&f, path, e))
        return -1;
    npy_array a = {0};
    int rc = npy_read_header(&f, accept, &a, e);
    if (rc == 0) {
        /* count ≤ 2^31 and size ≤ 8: the product fits easily */
        a.data = infile_read_payload(&f, (uint64_t)a.count * npy_types[a.dtype].size, "data", e);
        rc = a.data ? 0 : -1;
    }
    infile_close(&f);
    if (rc == 0 && !npy_host_is_le())
        npy_swap(a.data, a.count, npy_types[a.dtype].size);
    if (rc == 0)
        rc = npy_check_values(path, &a, e);
    if (rc) {
        free(a.data);
        return -1;
    }
    *out = a;
    return 0;
}

int npy_read_int32(const char *path, npy_array *out, qerr *e)
{
    memset(out, 0, sizeof *out);
    npy_array a;
    if (npy_read(path, NPY_INTEGERS, &a, e))
        return -1;
    if (a.dtype == NPY_I4) {
        *out = a;
        return 0;
    }
    int32_t *v = malloc((size_t)a.count * sizeof *v);
    if (!v) {
        npy_free(&a);
        return qerr_set(e, "%s: out of memory for %lld labels", path, (long long)a.count);
    }
    for (int64_t k = 0; k < a.count; k++) {
        int64_t x;
        uint64_t ux = 0;
        int is_unsigned = 0;
        switch (a.dtype) {
        case NPY_B1:
        case NPY_U1: x = ((const uint8_t *)a.data)[k]; break;
        case NPY_I1: x = ((const int8_t *)a.data)[k]; break;
        case NPY_U2: x = ((const uint16_t *)a.data)[k]; break;
        case NPY_I2: x = ((const int16_t *)a.data)[k]; break;
        case NPY_U4: x = ((const uint32_t *)a.data)[k]; break;
        case NPY_I8: x = ((const int64_t *)a.data)[k]; break;
        case NPY_U8:
            ux = ((const uint64_t *)a.data)[k];
            is_unsigned = 1;
            x = ux > INT32_MAX ? INT64_MAX : (int64_t)ux;
            break;
        default: x = 0; assert(0); break;
        }
        if (x < INT32_MIN || x > INT32_MAX) {
            char where[160];
            npy_index_str(&a, k, where, sizeof where);
            if (is_unsigned)
                qerr_set(e, "%s: data: element %s is %llu, outside int32", path, where,
                         (unsigned long long)ux);
            else
                qerr_set(e, "%s: data: element %s is %lld, outside int32", path, where,
                         (long long)x);
            free(v);
            npy_free(&a);
            return -1;
        }
        v[k] = (int32_t)x;
    }
    free(a.data);
    a.data = v;
    a.dtype = NPY_I4;
    *out = a;
    return 0;
}

void npy_free(npy_array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

char *npy_shape_str(const npy_array *a, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < a->ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                                 (long long)a->shape[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, a->ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- writing ------------------------------------------------------------- */

static int npy_valid(const npy_array *a)
{
    if ((unsigned)a->dtype >= NPY_N_DTYPES || a->ndim < 1 || a->ndim > NPY_MAX_DIMS)
        return 0;
    int64_t count = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] < 1 || a->shape[d] > NPY_MAX_ELEMENTS)
            return 0;
        count *= a->shape[d];
        if (count > NPY_MAX_ELEMENTS)
            return 0;
    }
    return count == a->count;
}

size_t npy_header(const npy_array *a, int version, uint8_t *buf, size_t cap)
{
    if (!npy_valid(a) || version < 1 || version > 3)
        return 0;
    char dict[512], shape[256];
    npy_shape_str(a, shape, sizeof shape);
    const char *order = npy_types[a->dtype].size == 1 ? "|" : "<";
    int len = snprintf(dict, sizeof dict, "{'descr': '%s%s', 'fortran_order': False, 'shape': %s, }",
                       order, npy_types[a->dtype].name, shape);
    size_t pre = NPY_MAGIC_LEN + 2 + (version == 1 ? 2 : 4);
    /* pad with spaces, then '\n', to a multiple of 64 */
    size_t total = (pre + (size_t)len + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    if (total > cap)
        return total;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = (uint8_t)version;
    buf[7] = 0;
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    if (version > 1) {
        buf[10] = (uint8_t)(hlen >> 16);
        buf[11] = (uint8_t)(hlen >> 24);
    }
    memcpy(buf + pre, dict, (size_t)len);
    memset(buf + pre + len, ' ', hlen - (size_t)len - 1);
    buf[total - 1] = '\n';
    return total;
}

int npy_write(const char *path, const npy_array *a, int version, qerr *e)
{
    uint8_t hdr[512];
    size_t hn = npy_header(a, version, hdr, sizeof hdr);
    assert(hn > 0 && hn <= sizeof hdr);
    qfile q;
    if (qfile_begin(&q, path, e))
        return -1;
    fwrite(hdr, 1, hn, q.f);
    size_t size = npy_types[a->dtype].size;
    if (npy_host_is_le() || size == 1) {
        fwrite(a->data, size, (size_t)a->count, q.f);
    } else {
        uint8_t chunk[4096];
        const uint8_t *p = a->data;
        for (int64_t k = 0; k < a->count;) {
            int64_t m = a->count - k < (int64_t)(sizeof chunk / size)
                            ? a->count - k
                            : (int64_t)(sizeof chunk / size);
            memcpy(chunk, p + (size_t)k * size, (size_t)m * size);
            npy_swap(chunk, m, size);
            fwrite(chunk, size, (size_t)m, q.f);
            k += m;
        }
    }
    return qfile_commit(&q, e);
}
