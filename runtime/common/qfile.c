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

int qfile_commit(qfile *q, qerr *e)
{
    int failed = ferror(q->f) || fflush(q->f) != 0 || fsync(fileno(q->f)) != 0;
    int err = errno;
    if (fclose(q->f) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    q->f = NULL;
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
