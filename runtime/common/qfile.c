#include "qfile.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes temporaries of path ("PATH.tmpXXXXXX") that a writer killed
 * before its commit or abort left behind (SIGKILL, power loss). */
static void qfile_remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    const char *base = slash ? slash + 1 : path;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        strcpy(dir, ".");
    size_t blen = strlen(base);
    if (blen == 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strlen(de->d_name) != blen + 10 || strncmp(de->d_name, base, blen) != 0 ||
            strncmp(de->d_name + blen, ".tmp", 4) != 0)
            continue;
        char stale[4096 + 256];
        snprintf(stale, sizeof stale, "%s/%s", dir, de->d_name);
        unlink(stale);
    }
    closedir(d);
}

int qfile_begin(qfile *q, const char *path, qerr *e)
{
    memset(q, 0, sizeof *q);
    if (strlen(path) + 16 > sizeof q->tmp)
        return qerr_set(e, "%s: path too long", path);
    strcpy(q->path, path);
    qfile_remove_stale(path);
    snprintf(q->tmp, sizeof q->tmp, "%s.tmpXXXXXX", path);
    int fd = mkstemp(q->tmp);
    if (fd < 0) {
        q->tmp[0] = '\0';
        return qerr_set(e, "%s: cannot create: %s", path, strerror(errno));
    }
    /* mkstemp makes the file 0600; an output file gets the usual 0666 & ~umask. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int err = errno;
        close(fd);
        unlink(q->tmp);
        q->tmp[0] = '\0';
        return qerr_set(e, "%s: cannot create: %s", path, strerror(err));
    }
    q->f = fdopen(fd, "wb");
    if (!q->f) {
        int err = errno;
        close(fd);
        unlink(q->tmp);
        q->tmp[0] = '\0';
        return qerr_set(e, "%s: cannot open: %s", path, strerror(err));
    }
    return 0;
}

/* Flushes, syncs and closes q's temporary. Returns 0, or an errno value
 * (the temporary is then still there). */
static int qfile_finish(qfile *q)
{
    errno = 0;
    int failed = ferror(q->f) || fflush(q->f) != 0 || fsync(fileno(q->f)) != 0;
    int err = failed ? (errno ? errno : EIO) : 0;
    if (fclose(q->f) != 0 && !failed)
        err = errno ? errno : EIO;
    q->f = NULL;
    return err;
}

int qfile_commit(qfile *q, qerr *e)
{
    int err = qfile_finish(q);
    int failed = err != 0;
    if (!failed && rename(q->tmp, q->path) != 0) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        unlink(q->tmp);
        q->tmp[0] = '\0';
        return qerr_set(e, "%s: write failed: %s", q->path, strerror(err ? err : EIO));
    }
    q->tmp[0] = '\0';
    return 0;
}

void qfile_abort(qfile *q)
{
    if (q->f)
        fclose(q->f);
    q->f = NULL;
    if (q->tmp[0])
        unlink(q->tmp);
    q->tmp[0] = '\0';
}

int qfile_check_not_input(const char *path, const char *const *inputs, int n, qerr *e)
{
    /* The name path (lstat) or the file it leads to (stat): either being an
     * input is refused. */
    struct stat out[2];
    int have[2] = {lstat(path, &out[0]) == 0, stat(path, &out[1]) == 0};
    if (!have[0] && !have[1])
        return 0;
    for (int i = 0; i < n; i++) {
        struct stat in;
        if (!inputs[i] || stat(inputs[i], &in) != 0)
            continue;
        for (int k = 0; k < 2; k++)
            if (have[k] && out[k].st_dev == in.st_dev && out[k].st_ino == in.st_ino)
                return qerr_set(e, "%s: is the input %s; qatc never writes over its inputs "
                                   "(choose another output folder or model name)",
                                path, inputs[i]);
    }
    return 0;
}

int qfile_mkdirs(const char *dir, qerr *e)
{
    char path[4096];
    if (!dir[0]) /* the loop below starts at path + 1 */
        return qerr_set(e, "'': an empty folder name (use . for the current folder)");
    if (strlen(dir) >= sizeof path)
        return qerr_set(e, "%s: path too long", dir);
    strcpy(path, dir);
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return qerr_set(e, "%s: cannot create folder: %s", path, strerror(errno));
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return qerr_set(e, "%s: not a folder", dir);
    return 0;
}

/* ---- a set of files replaced together ------------------------------------ */

void qfile_set_init(qfile_set *s)
{
    memset(s, 0, sizeof *s);
}

FILE *qfile_set_add(qfile_set *s, const char *path, qerr *e)
{
    if (s->n >= QFILE_SET_MAX) {
        qerr_set(e, "%s: more than %d files in one set", path, QFILE_SET_MAX);
        return NULL;
    }
    if (qfile_begin(&s->f[s->n], path, e))
        return NULL;
    s->aside[s->n][0] = '\0';
    s->moved[s->n] = 0;
    return s->f[s->n++].f;
}

void qfile_set_abort(qfile_set *s)
{
    for (int i = 0; i < s->n; i++) {
        qfile_abort(&s->f[i]);
        if (s->aside[i][0] && !s->moved[i])
            unlink(s->aside[i]);
        s->aside[i][0] = '\0';
    }
    s->n = 0;
}

/* A fresh unused name "PATH.tmpXXXXXX" beside path into out (the pattern
 * qfile_begin's clean-up knows). Returns 0 or an errno value. */
static int qfile_aside_name(const char *path, char *out, size_t cap)
{
    if ((size_t)snprintf(out, cap, "%s.tmpXXXXXX", path) >= cap)
        return ENAMETOOLONG;
    int fd = mkstemp(out);
    if (fd < 0)
        return errno;
    close(fd);
    unlink(out); /* only the name is wanted: link() will not replace a file */
    return 0;
}

/* Keeps the old version of s->f[i]'s target aside (step 2). Returns 0 or an
 * errno value. */
static int qfile_keep_old(qfile_set *s, int i)
{
    struct stat st;
    const char *path = s->f[i].path;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno; /* no old version */
    if (S_ISDIR(st.st_mode))
        return 0; /* nothing to keep: the rename over it fails, and that is reported */
    int err = qfile_aside_name(path, s->aside[i], sizeof s->aside[i]);
    if (err) {
        s->aside[i][0] = '\0';
        return err;
    }
    if (link(path, s->aside[i]) == 0)
        return 0;
    err = errno;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EMLINK ||
        err == ENOSYS) {
        s->moved[i] = 1; /* no hard links here: rename it aside at step 3 */
        return 0;
    }
    s->aside[i][0] = '\0';
    return err;
}

/* Takes back target i, replaced at step 3: its old version over it, or no
 * file when it had none. Returns 0 or -1. */
static int qfile_restore(qfile_set *s, int i)
{
    if (s->aside[i][0]) {
        if (rename(s->aside[i], s->f[i].path) != 0)
            return -1;
        s->aside[i][0] = '\0';
        return 0;
    }
    return unlink(s->f[i].path) == 0 || errno == ENOENT ? 0 : -1;
}

int qfile_set_commit(qfile_set *s, qerr *e)
{
    int n = s->n, err = 0, bad = -1;
    /* 1. every temporary complete on disk */
    for (int i = 0; i < n; i++) {
        int ferr = qfile_finish(&s->f[i]);
        if (ferr && bad < 0)
            bad = i, err = ferr;
    }
    /* 2. the old versions aside */
    for (int i = 0; i < n && bad < 0; i++) {
        int kerr = qfile_keep_old(s, i);
        if (kerr)
            bad = i, err = kerr;
    }
    if (bad >= 0) {
        qfile_set_abort(s);
        return qerr_set(e, "%s: write failed: %s", s->f[bad].path, strerror(err));
    }
    /* 3. the renames, taken back when one fails */
    int failed = -1, lost = -1, lost_err = 0;
    char lost_aside[sizeof s->aside[0]] = "";
    for (int i = 0; i < n && failed < 0; i++) {
        qfile *q = &s->f[i];
        if (s->moved[i] && rename(q->path, s->aside[i]) != 0) {
            s->aside[i][0] = '\0'; /* nothing was moved */
            s->moved[i] = 0;
            if (errno != ENOENT) { /* ENOENT: gone meanwhile, nothing to keep */
                err = errno, failed = i;
                break;
            }
        }
        if (rename(q->tmp, q->path) != 0) {
            err = errno, failed = i;
            break;
        }
        q->tmp[0] = '\0';
    }
    if (failed >= 0) {
        /* back to the old versions, from the failed one (when it was moved
         * aside) down to the first */
        for (int i = failed; i >= 0; i--) {
            if ((i == failed && !s->moved[i]) || qfile_restore(s, i) == 0)
                continue;
            lost = i, lost_err = errno;
            strcpy(lost_aside, s->aside[i]);
            s->aside[i][0] = '\0'; /* kept for the user: not removed below */
        }
        char msg[sizeof e->msg];
        if (lost < 0)
            snprintf(msg, sizeof msg, "%s: write failed: %s; the previous files are unchanged",
                     s->f[failed].path, strerror(err));
        else if (lost_aside[0])
            snprintf(msg, sizeof msg,
                     "%s: write failed: %s; and %s could not be restored (%s): its previous "
                     "version is %s",
                     s->f[failed].path, strerror(err), s->f[lost].path, strerror(lost_err),
                     lost_aside);
        else
            snprintf(msg, sizeof msg,
                     "%s: write failed: %s; and the new %s could not be removed (%s)",
                     s->f[failed].path, strerror(err), s->f[lost].path, strerror(lost_err));
        qfile_set_abort(s);
        return qerr_set(e, "%s", msg);
    }
    /* 4. the old versions go */
    for (int i = 0; i < n; i++)
        if (s->aside[i][0])
            unlink(s->aside[i]);
    s->n = 0;
    return 0;
}
