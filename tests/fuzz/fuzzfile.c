#include "fuzzfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256];
static char paths[4][512];

static void fuzzfile_die(const char *what, const char *path)
{
    fprintf(stderr, "fuzzfile: %s %s\n", what, path);
    abort();
}

/* Removes the folder and what the targets wrote into it. */
static void fuzzfile_cleanup(void)
{
    DIR *dd = opendir(dir);
    if (dd) {
        struct dirent *de;
        char p[600];
        while ((de = readdir(dd))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(dd);
    }
    rmdir(dir);
}

const char *fuzzfile_dir(const char *target)
{
    if (dir[0])
        return dir;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm"
                       : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/qatc-fuzz-%s-%ld", base, target, (long)getpid());
    if (mkdir(dir, 0700) != 0 && !(stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
        fuzzfile_die("cannot create", dir);
    atexit(fuzzfile_cleanup);
    return dir;
}

static const char *fuzzfile_path(const char *target, int slot, const char *name)
{
    if (slot < 0 || slot >= 4)
        fuzzfile_die("bad slot for", name);
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzzfile_dir(target), name);
    return paths[slot];
}

const char *fuzzfile_write(const char *target, int slot, const char *name, const uint8_t *data,
                           size_t n)
{
    const char *path = fuzzfile_path(target, slot, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        fuzzfile_die("cannot write", path);
    return path;
}

const char *fuzzfile_write_gz(const char *target, int slot, const char *name,
                              const uint8_t *data, size_t n)
{
    const char *path = fuzzfile_path(target, slot, name);
    gzFile gz = gzopen(path, "wb1");
    if (!gz || (n && gzwrite(gz, data, (unsigned)n) != (int)n) || gzclose(gz) != Z_OK)
        fuzzfile_die("cannot write", path);
    return path;
}

void fuzzfile_check_message(const char *msg, const char *prefix)
{
    if (!msg[0]) {
        fprintf(stderr, "fuzz: failure with an empty message\n");
        abort();
    }
    if (strncmp(msg, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "fuzz: message does not start with '%s': %s\n", prefix, msg);
        abort();
    }
    for (const char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            fprintf(stderr, "fuzz: message is not one line: %s\n", msg);
            abort();
        }
    }
}
