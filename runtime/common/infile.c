/* infile — plain files through read(2), gzip'd ones through zlib's inflate
 * (not gzread: gzread ignores garbage after the last gzip member and reads a
 * FIFO without asking). */
#include "infile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One read(2) or one inflate call handles at most this much. */
#define INFILE_CHUNK ((uint64_t)1 << 30)
/* How far past the payload a gzip stream is decompressed to tell flipped
 * bits (the CRC fails) from real extra data. */
#define INFILE_DRAIN_MAX ((uint64_t)64 << 20)

static voidpf infile_zalloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    return malloc((size_t)items * size);
}

static void infile_zfree(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* read(2) of up to n bytes, retried on EINTR. Returns the count (0 at the
 * end of the file) or -1 with e set. */
static ssize_t infile_sysread(infile *f, void *buf, size_t n, qerr *e)
{
    for (;;) {
        ssize_t r = read(f->fd, buf, n);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return qerr_set(e, "%s: cannot read: %s", f->path, strerror(errno));
    }
}

/* Moves the unconsumed bytes to the front of buf and reads more behind them,
 * until buf holds at least want bytes or the file ends. Returns 0 or -1. */
static int infile_fill(infile *f, size_t want, qerr *e)
{
    if (f->pos > 0) {
        memmove(f->buf, f->buf + f->pos, f->len - f->pos);
        f->len -= f->pos;
        f->pos = 0;
    }
    while (f->len < want && !f->eof) {
        ssize_t r = infile_sysread(f, f->buf + f->len, INFILE_BUF - f->len, e);
        if (r < 0)
            return -1;
        if (r == 0)
            f->eof = 1;
        f->len += (size_t)r;
    }
    return 0;
}

int infile_open_regular(const char *path, int64_t *size, qerr *e)
{
    /* O_NONBLOCK: opening a FIFO with no writer returns at once (and is then
     * refused below) instead of waiting for one. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return qerr_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return qerr_set(e, "%s: cannot open: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return qerr_set(e, "%s: %s", path,
                        S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
    }
    if (size)
        *size = (int64_t)st.st_size;
    return fd;
}

int infile_open(infile *f, const char *path, qerr *e)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = path;
    int fd = infile_open_regular(path, NULL, e);
    if (fd < 0)
        return -1;
    f->fd = fd;
    f->buf = malloc(INFILE_BUF);
    if (!f->buf) {
        infile_close(f);
        return qerr_set(e, "%s: out of memory", path);
    }
    if (infile_fill(f, 2, e)) {
        infile_close(f);
        return -1;
    }
    if (f->len >= 2 && f->buf[0] == 0x1f && f->buf[1] == 0x8b) {
        f->z.zalloc = infile_zalloc;
        f->z.zfree = infile_zfree;
        int rc = inflateInit2(&f->z, 15 + 16); /* 32K window, gzip wrapper only */
        if (rc != Z_OK) {
            infile_close(f);
            return qerr_set(e, "%s: %s", path,
                            rc == Z_MEM_ERROR ? "out of memory" : "cannot start zlib");
        }
        f->gz = 1;
    }
    return 0;
}

/* After the end of a gzip member: another member may follow (it starts with
 * the magic), or nothing. Returns 0 or -1 with e set. */
static int infile_after_member(infile *f, qerr *e)
{
    if (f->len - f->pos < 2 && infile_fill(f, 2, e))
        return -1;
    if (f->len == f->pos) {
        f->gz_end = 1;
        return 0;
    }
    if (f->len - f->pos >= 2 && f->buf[f->pos] == 0x1f && f->buf[f->pos + 1] == 0x8b) {
        inflateReset(&f->z);
        return 0;
    }
    return qerr_set(e, "%s: unexpected data after the gzip stream", f->path);
}

static int64_t infile_read_gz(infile *f, uint8_t *out, uint64_t n, qerr *e)
{
    uint64_t got = 0;
    while (got < n && !f->gz_end) {
        if (f->pos == f->len && !f->eof && infile_fill(f, 1, e))
            return -1;
        uint64_t chunk = n - got < INFILE_CHUNK ? n - got : INFILE_CHUNK;
        f->z.next_in = f->buf + f->pos;
        f->z.avail_in = (uInt)(f->len - f->pos);
        f->z.next_out = out + got;
        f->z.avail_out = (uInt)chunk;
        int rc = inflate(&f->z, Z_NO_FLUSH);
        got += chunk - f->z.avail_out;
        f->pos = f->len - f->z.avail_in;
        switch (rc) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            if (infile_after_member(f, e))
                return -1;
            break;
        case Z_BUF_ERROR: /* no progress: the input ended inside the stream */
            if (f->z.avail_in == 0 && f->eof)
                return qerr_set(e, "%s: truncated gzip data: unexpected end of file", f->path);
            return qerr_set(e, "%s: corrupt gzip data: no progress", f->path);
        case Z_MEM_ERROR:
            return qerr_set(e, "%s: out of memory (gzip)", f->path);
        case Z_NEED_DICT:
            return qerr_set(e, "%s: corrupt gzip data: needs a preset dictionary", f->path);
        default:
            return qerr_set(e, "%s: corrupt gzip data: %s", f->path,
                            f->z.msg ? f->z.msg : "inflate failed");
        }
    }
    return (int64_t)got;
}

static int64_t infile_read_plain(infile *f, uint8_t *out, uint64_t n, qerr *e)
{
    uint64_t got = 0;
    while (got < n) {
        if (f->pos < f->len) {
            uint64_t k = f->len - f->pos < n - got ? f->len - f->pos : n - got;
            memcpy(out + got, f->buf + f->pos, (size_t)k);
            f->pos += (size_t)k;
            got += k;
        } else if (f->eof) {
            break;
        } else if (n - got >= INFILE_BUF) { /* large reads go straight to out */
            uint64_t chunk = n - got < INFILE_CHUNK ? n - got : INFILE_CHUNK;
            ssize_t r = infile_sysread(f, out + got, (size_t)chunk, e);
            if (r < 0)
                return -1;
            if (r == 0)
                f->eof = 1;
            got += (uint64_t)r;
        } else if (infile_fill(f, 1, e)) {
            return -1;
        }
    }
    return (int64_t)got;
}

int64_t infile_read(infile *f, void *buf, uint64_t n, qerr *e)
{
    return f->gz ? infile_read_gz(f, buf, n, e) : infile_read_plain(f, buf, n, e);
}

uint8_t *infile_read_payload(infile *f, uint64_t count, const char *what, qerr *e)
{
    assert(count > 0);
    uint64_t cap = count < (1u << 20) ? count : (1u << 20), got = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (cap > SIZE_MAX) {
            free(buf);
            qerr_set(e, "%s: out of memory for %llu bytes", f->path, (unsigned long long)cap);
            return NULL;
        }
        uint8_t *grown = realloc(buf, (size_t)cap);
        if (!grown) {
            free(buf);
            qerr_set(e, "%s: out of memory for %llu bytes", f->path, (unsigned long long)cap);
            return NULL;
        }
        buf = grown;
        int64_t r = infile_read(f, buf + got, cap - got, e);
        if (r < 0) {
            free(buf);
            return NULL;
        }
        got += (uint64_t)r;
        if (got < cap || cap == count)
            break;
        cap = count - cap < cap ? count : 2 * cap;
    }
    if (got < count) {
        qerr_set(e, "%s: truncated: header promises %llu bytes of %s, file has %llu", f->path,
                 (unsigned long long)count, what, (unsigned long long)got);
        free(buf);
        return NULL;
    }
    /* One more read: finds trailing bytes, and makes inflate check the gzip
     * trailer (CRC and length) of the stream just consumed. */
    uint8_t extra[4096];
    int64_t more = infile_read(f, extra, 64, e);
    /* Decompressed bytes beyond the payload are often flipped bits in the
     * deflate data, which the CRC at the stream's end would show: read on
     * (a bounded amount) so that such a file is called corrupt. */
    if (more > 0 && f->gz) {
        uint64_t drained = 0;
        int64_t r;
        while ((r = infile_read(f, extra, sizeof extra, e)) > 0 && drained < INFILE_DRAIN_MAX)
            drained += (uint64_t)r;
        if (r < 0)
            more = -1; /* corrupt after all: e says how */
    }
    if (more != 0) {
        if (more > 0)
            qerr_set(e, "%s: unexpected data after the %llu bytes of %s", f->path,
                     (unsigned long long)count, what);
        free(buf);
        return NULL;
    }
    return buf;
}

void infile_close(infile *f)
{
    if (f->gz)
        inflateEnd(&f->z);
    f->gz = 0;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
}

int infile_peek(const char *path, uint8_t *buf, size_t cap, size_t *got, qerr *e)
{
    infile f;
    if (infile_open(&f, path, e))
        return -1;
    int64_t r = infile_read(&f, buf, cap, e);
    infile_close(&f);
    if (r < 0)
        return -1;
    *got = (size_t)r;
    return 0;
}
