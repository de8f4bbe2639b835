/* qfile — output files that appear whole or not at all.
 *
 * Every file qatc writes goes through here: it is written to a temporary
 * file beside the target and renamed over it only after every byte reached
 * the disk, so a crash, a full disk or an error leaves no partial file.
 */
#ifndef QATC_QFILE_H
#define QATC_QFILE_H

#include <stdio.h>

#include "qerr.h"

typedef struct {
    FILE *f;        /* write here between begin and commit/abort */
    char path[4096];
    char tmp[4096];
} qfile;

/* Opens a temporary file beside path ("PATH.tmpXXXXXX", mode 0666 & ~umask),
 * first removing such temporaries of path that a killed writer left behind
 * (so two processes must not write the same path at once). Returns 0, or -1
 * with e set (nothing created). */
int qfile_begin(qfile *q, const char *path, qerr *e);

/* Flushes, syncs and renames the temporary file to its path. On any error
 * (including an earlier write error, e.g. a full disk) the temporary file is
 * removed, the target is untouched, and -1 is returned with e set. */
int qfile_commit(qfile *q, qerr *e);

/* Refuses to write path when it is one of the n files in inputs (NULL
 * entries skipped): the same file by device and inode, whatever the names
 * (another spelling of the path, a symbolic or hard link). Run before the
 * first write, so that no command ever replaces one of its inputs. Returns 0
 * (path does not exist, or is none of them), or -1 with e set: "PATH: is
 * the input INPUT; qatc never writes over its inputs". */
int qfile_check_not_input(const char *path, const char *const *inputs, int n, qerr *e);

/* Creates folder dir and its missing parents (like mkdir -p). Returns 0 when
 * dir exists as a folder afterwards, or -1 with e set. */
int qfile_mkdirs(const char *dir, qerr *e);

/* Removes the temporary file; the target is untouched. Safe after a failed begin. */
void qfile_abort(qfile *q);

#endif
