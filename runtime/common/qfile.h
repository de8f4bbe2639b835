/* qfile — output files that appear whole or not at all.
 *
 * Every file qatc writes goes through here: it is written to a temporary
 * file beside the target and renamed over it only after every byte reached
 * the disk, so a crash, a full disk or an error leaves no partial file.
 *
 * Several files that belong together (the generated NAME.c, NAME.h and
 * NAME_golden.c) are written as one set (qfile_set): all of them replace
 * their old versions, or none does.
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
 * dir exists as a folder afterwards, or -1 with e set (also for "", which
 * names no folder). */
int qfile_mkdirs(const char *dir, qerr *e);

/* Removes the temporary file; the target is untouched. Safe after a failed begin. */
void qfile_abort(qfile *q);

/* ---- a set of files replaced together ------------------------------------ */

#define QFILE_SET_MAX 8

typedef struct {
    int n;
    qfile f[QFILE_SET_MAX];         /* f[i].f: write file i here until commit or abort */
    char aside[QFILE_SET_MAX][4112]; /* the old version of file i during the renames */
    int moved[QFILE_SET_MAX];       /* 1: the old version was moved, not linked, aside */
} qfile_set;

/* An empty set. */
void qfile_set_init(qfile_set *s);

/* Adds path to the set: its temporary is opened as qfile_begin does (at most
 * QFILE_SET_MAX files). Returns the stream to write it through, or NULL with
 * e set (the files added before stay in the set: abort it). */
FILE *qfile_set_add(qfile_set *s, const char *path, qerr *e);

/* Replaces every file of the set, or none:
 *   1. every temporary is flushed, synced and closed: an error (a full disk)
 *      removes them all and changes nothing;
 *   2. the old version of each target that exists is kept aside under a
 *      temporary name beside it (a hard link, so the target never goes
 *      missing; where the file system has no hard links, it is renamed aside
 *      at step 3 instead, right before the new version takes its name);
 *   3. each temporary is renamed over its target. When one rename fails,
 *      the targets already replaced get their old versions back (renamed
 *      over them; a target that did not exist is removed), and the
 *      temporaries are removed;
 *   4. the old versions kept aside are removed.
 * Returns 0, or -1 with e set ("PATH: write failed: REASON"), every target
 * then as it was before. Should a restore itself fail, e says which and
 * where its old version was left. A process killed during step 3 leaves
 * each file whole (old or new), the old versions aside under temporary
 * names, which the next write of that file removes. */
int qfile_set_commit(qfile_set *s, qerr *e);

/* Removes every temporary of the set; no target is touched. Safe after a
 * failed add and after commit. */
void qfile_set_abort(qfile_set *s);

#endif
