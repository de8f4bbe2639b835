/* tmpdir — scratch folders and files for the unit tests (tmpdir.h). */
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int tmpdir_make(const char *tag, char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    int n = snprintf(dir, cap, "%s/%s.XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_fixture_new(void **state, const char *tag, size_t size)
{
    char *f = size >= TMPDIR_CAP ? calloc(1, size) : NULL;
    if (!f || tmpdir_make(tag, f, TMPDIR_CAP) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int tmpdir_fixture_free(void *fixture)
{
    int left = tmpdir_remove(fixture);
    free(fixture);
    return left < 0 ? -1 : 0;
}

/* nftw's callback has no user pointer: it counts into these. */
static int remove_entries, remove_failed;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    remove_entries += ftw->level > 0; /* level 0 is the folder itself */
    if (remove(path) != 0)
        remove_failed = 1;
    return 0;
}

int tmpdir_remove(const char *dir)
{
    remove_entries = 0;
    remove_failed = 0;
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return -1;
    return remove_failed ? -1 : remove_entries;
}

int tmpdir_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

int tmpdir_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = len > 0 && fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

int tmpdir_write_text(const char *path, const char *text)
{
    return tmpdir_write(path, text, strlen(text));
}

int tmpdir_write_gz(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz)
        return -1;
    int bad = 0;
    /* gzwrite takes an unsigned count: write in pieces of at most 1 GiB */
    for (size_t done = 0; done < len && !bad;) {
        unsigned piece = len - done > (1u << 30) ? 1u << 30 : (unsigned)(len - done);
        bad = gzwrite(gz, (const char *)data + done, piece) != (int)piece;
        done += piece;
    }
    bad |= gzclose(gz) != Z_OK;
    return bad ? -1 : 0;
}

char *tmpdir_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        n = (size_t)st.st_size;
        buf = malloc(n + 1);
    }
    if (buf && fread(buf, 1, n, f) != n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
