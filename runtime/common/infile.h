/* infile — a data file read from start to end, plain or gzip'd.
 *
 * The readers of foreign data files (idx, npy) read through here, so they
 * share one set of rules:
 *
 * - only a regular file is opened, and without blocking: a FIFO, a device or
 *   a folder is refused at once (a FIFO with no writer would block forever);
 * - a file that starts with the gzip magic (1f 8b) is decompressed with
 *   zlib's inflate; members concatenated one after another are read as one
 *   stream (as gzip -d does); anything else after the last member (trailing
 *   garbage) is refused, as trailing bytes of a plain file are refused by the
 *   readers;
 * - a gzip stream cut short is "truncated gzip data", flipped bytes (caught
 *   by inflate or by the CRC-32 and length of the gzip trailer) "corrupt gzip
 *   data";
 * - zlib allocates through malloc, so out-of-memory paths can be tested.
 *
 * Every error message starts with the path: "PATH: problem".
 */
#ifndef QATC_INFILE_H
#define QATC_INFILE_H

#include <stdint.h>
#include <zlib.h>

#include "qerr.h"

#define INFILE_BUF (1 << 16)

typedef struct {
    const char *path;  /* as given to infile_open (not copied) */
    int fd;
    int gz;            /* decompressing */
    int gz_end;        /* the last gzip member ended and nothing follows */
    int eof;           /* the file itself has no more bytes */
    z_stream z;
    uint8_t *buf;      /* INFILE_BUF bytes read ahead from the file */
    size_t pos, len;   /* buf[pos..len) not consumed yet */
} infile;

/* Opens path for reading: refuses what is not a regular file ("is a
 * directory", "is not a regular file") and chooses plain or gzip by the first
 * two bytes. Returns 0, or -1 with e set and nothing left open or allocated. */
int infile_open(infile *f, const char *path, qerr *e);

/* The first step of infile_open, for the readers of qatc's own files (YAML,
 * checkpoints), which read them plain: opens path read-only without blocking
 * (a FIFO with no writer cannot hang the caller) and refuses what is not a
 * regular file. Returns the descriptor, its size in *size when size is not
 * NULL, or -1 with e set ("PATH: cannot open: REASON", "PATH: is a
 * directory", "PATH: is not a regular file"). */
int infile_open_regular(const char *path, int64_t *size, qerr *e);

/* Reads up to n bytes into buf (the decompressed bytes for a gzip file).
 * Returns how many were read: n, or fewer only at the end of the data; or -1
 * with e set on a read error, truncated or corrupt gzip data, data after the
 * gzip stream, or memory running out in zlib. */
int64_t infile_read(infile *f, void *buf, uint64_t n, qerr *e);

/* Reads exactly count bytes into a new buffer (the caller frees it) and
 * checks that the data end there (for gzip, this also checks the trailer of
 * the last member). The buffer grows with the bytes actually read, so a
 * header that promises gigabytes in a small file costs no more memory than
 * the file. what names the bytes in the messages: "PATH: truncated: header
 * promises N bytes of WHAT, file has M", "PATH: unexpected data after the N
 * bytes of WHAT". Returns the buffer (NULL when count is 0 and the data end
 * there, or on failure with e set). */
uint8_t *infile_read_payload(infile *f, uint64_t count, const char *what, qerr *e);

/* Closes the file and frees what infile_open allocated. Safe after a failed
 * open and twice. */
void infile_close(infile *f);

/* Reads the first up to cap bytes of path (decompressed) into buf: what
 * chooses a reader by its magic. *got receives how many (fewer at the end of
 * a short file). Returns 0, or -1 with e set. */
int infile_peek(const char *path, uint8_t *buf, size_t cap, size_t *got, qerr *e);

#endif
