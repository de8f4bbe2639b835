/* Tests for qfile: a committed file appears whole with the usual permissions,
 * an aborted or failed one (a write error such as a full disk, simulated with
 * RLIMIT_FSIZE) leaves neither the file nor a temporary behind, and an
 * existing target is replaced only on commit; temporaries a killed writer
 * left are removed by the next writer of the same file; no output is an
 * input; a set of files replaces the old ones all together or not at all,
 * whichever rename fails (rename and link are wrapped at link time so that a
 * chosen call fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>

#include "qfile.h"
#include "tmpdir.h"

typedef struct {
    char dir[TMPDIR_CAP];
    char path[320];
} fixture;

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_qfile", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/out.txt", f->dir);
    return 0;
}

static int teardown(void **state)
{
    return tmpdir_fixture_free(*state);
}

/* Asserts that the file at path holds exactly text. */
static void assert_file_is(const char *path, const char *text)
{
    char *got = tmpdir_read(path, NULL);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

static void test_qfile_commit_gives_whole_file_with_umask_mode(void **state)
{
    fixture *f = *state;
    mode_t old = umask(022);
    qfile q;
    qerr e;
    assert_int_equal(qfile_begin(&q, f->path, &e), 0);
    fputs("hello\n", q.f);
    assert_int_equal(tmpdir_count(f->dir), 1); /* only the temporary so far */
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(qfile_commit(&q, &e), 0);
    umask(old);
    assert_file_is(f->path, "hello\n");
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644); /* not mkstemp's 0600 */
    assert_int_equal(tmpdir_count(f->dir), 1);
}

static void test_qfile_abort_leaves_target_untouched(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, "old\n"), 0);
    qfile q;
    qerr e;
    assert_int_equal(qfile_begin(&q, f->path, &e), 0);
    fputs("new and longer\n", q.f);
    qfile_abort(&q);
    assert_file_is(f->path, "old\n");
    assert_int_equal(tmpdir_count(f->dir), 1);
}

static void test_qfile_write_error_leaves_nothing(void **state)
{
    fixture *f = *state;
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096; /* the "disk" holds 4 KiB */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    qfile q;
    qerr e = {{0}};
    int rc = qfile_begin(&q, f->path, &e);
    if (rc == 0) {
        for (int i = 0; i < 4096; i++)
            fputs("0123456789abcdef", q.f);
        rc = qfile_commit(&q, &e);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(e.msg, "out.txt: write failed"));
    assert_int_equal(tmpdir_count(f->dir), 0);
}

static void test_qfile_removes_temporaries_of_a_killed_writer(void **state)
{
    fixture *f = *state;
    char stale[400], other[400];
    snprintf(stale, sizeof stale, "%s.tmpAbC123", f->path);  /* killed before commit */
    snprintf(other, sizeof other, "%s/keep.txt.tmpAbC123", f->dir); /* another file's */
    assert_int_equal(tmpdir_write_text(stale, ""), 0);
    assert_int_equal(tmpdir_write_text(other, ""), 0);
    qfile q;
    qerr e;
    assert_int_equal(qfile_begin(&q, f->path, &e), 0);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    assert_int_equal(qfile_commit(&q, &e), 0);
    assert_int_equal(tmpdir_count(f->dir), 2); /* out.txt and keep.txt.tmpAbC123 */
}

static void test_qfile_missing_folder_is_an_error(void **state)
{
    fixture *f = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/no/such/dir/out.txt", f->dir);
    qfile q;
    qerr e = {{0}};
    assert_int_equal(qfile_begin(&q, path, &e), -1);
    assert_non_null(strstr(e.msg, "cannot create"));
    qfile_abort(&q); /* safe after a failed begin */
    assert_int_equal(tmpdir_count(f->dir), 0);
}

static void test_qfile_mkdirs_creates_parents_and_rejects_files(void **state)
{
    fixture *f = *state;
    char deep[4200], mid[4200], top[4200];
    snprintf(top, sizeof top, "%s/a", f->dir);
    snprintf(mid, sizeof mid, "%s/a/b", f->dir);
    snprintf(deep, sizeof deep, "%s/a/b/c", f->dir);
    qerr e;
    assert_int_equal(qfile_mkdirs(deep, &e), 0);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(qfile_mkdirs(deep, &e), 0); /* existing: fine */
    assert_int_equal(rmdir(deep), 0);
    assert_int_equal(rmdir(mid), 0);
    assert_int_equal(rmdir(top), 0);

    assert_int_equal(tmpdir_write_text(f->path, ""), 0); /* a file where a folder should be */
    snprintf(deep, sizeof deep, "%s/x", f->path);
    assert_int_equal(qfile_mkdirs(deep, &e), -1);
    assert_non_null(strstr(e.msg, f->path));
    assert_int_equal(qfile_mkdirs(f->path, &e), -1);
    assert_non_null(strstr(e.msg, "not a folder"));
}

/* rename(2) and link(2), wrapped: call number fail_rename of rename (0-based,
 * counted from the last reset) fails with EIO, and every link fails with
 * link_errno when it is not 0. */
int __real_rename(const char *from, const char *to);
int __real_link(const char *from, const char *to);
static int rename_calls, fail_rename = -1, fail_rename2 = -1, link_errno;

int __wrap_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to)
{
    int call = rename_calls++;
    if (call == fail_rename || call == fail_rename2) {
        errno = EIO;
        return -1;
    }
    return __real_rename(from, to);
}

int __wrap_link(const char *from, const char *to);
int __wrap_link(const char *from, const char *to)
{
    if (link_errno) {
        errno = link_errno;
        return -1;
    }
    return __real_link(from, to);
}

static void fail_renames(int first, int second)
{
    rename_calls = 0;
    fail_rename = first;
    fail_rename2 = second;
}

/* The set a.c, b.h, c.txt of the fixture's folder, each with text new. */
static int set_write(fixture *f, qfile_set *s, const char *text, qerr *e)
{
    static const char *const names[] = {"a.c", "b.h", "c.txt"};
    qfile_set_init(s);
    for (int i = 0; i < 3; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        FILE *out = qfile_set_add(s, path, e);
        if (!out)
            return -1;
        fprintf(out, "%s %s\n", text, names[i]);
    }
    return 0;
}

/* The old set: a.c and b.h exist, c.txt does not. */
static void old_set(fixture *f)
{
    char path[400];
    snprintf(path, sizeof path, "%s/a.c", f->dir);
    assert_int_equal(tmpdir_write_text(path, "old a.c\n"), 0);
    snprintf(path, sizeof path, "%s/b.h", f->dir);
    assert_int_equal(tmpdir_write_text(path, "old b.h\n"), 0);
}

/* The folder holds the old set, byte for byte, and nothing else. */
static void assert_old_set(fixture *f)
{
    char path[400];
    snprintf(path, sizeof path, "%s/a.c", f->dir);
    assert_file_is(path, "old a.c\n");
    snprintf(path, sizeof path, "%s/b.h", f->dir);
    assert_file_is(path, "old b.h\n");
    snprintf(path, sizeof path, "%s/c.txt", f->dir);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(tmpdir_count(f->dir), 2);
}

static void test_qfile_set_replaces_all(void **state)
{
    fixture *f = *state;
    old_set(f);
    qfile_set s;
    qerr e = {{0}};
    assert_int_equal(set_write(f, &s, "new", &e), 0);
    assert_int_equal(tmpdir_count(f->dir), 5); /* two old files, three temporaries */
    fail_renames(-1, -1);
    assert_int_equal(qfile_set_commit(&s, &e), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/a.c", f->dir);
    assert_file_is(path, "new a.c\n");
    snprintf(path, sizeof path, "%s/b.h", f->dir);
    assert_file_is(path, "new b.h\n");
    snprintf(path, sizeof path, "%s/c.txt", f->dir);
    assert_file_is(path, "new c.txt\n");
    assert_int_equal(tmpdir_count(f->dir), 3); /* no temporary, no old version aside */
    qfile_set_abort(&s); /* harmless after commit */
    assert_int_equal(tmpdir_count(f->dir), 3);
}

/* Whichever of the three renames fails, the old set is back. */
static void test_qfile_set_failed_rename_restores_the_old_set(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++) {
        old_set(f);
        qfile_set s;
        qerr e = {{0}};
        assert_int_equal(set_write(f, &s, "new", &e), 0);
        fail_renames(k, -1);
        assert_int_equal(qfile_set_commit(&s, &e), -1);
        fail_renames(-1, -1);
        static const char *const names[] = {"a.c: write failed", "b.h: write failed",
                                            "c.txt: write failed"};
        assert_non_null(strstr(e.msg, names[k]));
        assert_non_null(strstr(e.msg, "the previous files are unchanged"));
        assert_old_set(f);
    }
}

/* Where there are no hard links, the old versions are renamed aside: a
 * failure at any of the five renames (a.c aside, a.c new, b.h aside, b.h new,
 * c.txt new) restores the old set as well. */
static void test_qfile_set_without_hard_links(void **state)
{
    fixture *f = *state;
    link_errno = EPERM;
    for (int k = 0; k < 6; k++) {
        old_set(f);
        qfile_set s;
        qerr e = {{0}};
        assert_int_equal(set_write(f, &s, "new", &e), 0);
        fail_renames(k, -1);
        int rc = qfile_set_commit(&s, &e);
        fail_renames(-1, -1);
        if (k == 5) { /* no fifth call fails: the new set */
            assert_int_equal(rc, 0);
            assert_int_equal(tmpdir_count(f->dir), 3);
            char path[400];
            snprintf(path, sizeof path, "%s/b.h", f->dir);
            assert_file_is(path, "new b.h\n");
            snprintf(path, sizeof path, "%s/c.txt", f->dir);
            assert_int_equal(unlink(path), 0);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_old_set(f);
    }
    link_errno = 0;
}

/* A restore that fails too is named, with where the old version is. */
static void test_qfile_set_failed_restore_is_named(void **state)
{
    fixture *f = *state;
    old_set(f);
    qfile_set s;
    qerr e = {{0}};
    assert_int_equal(set_write(f, &s, "new", &e), 0);
    fail_renames(2, 3); /* c.txt fails, then b.h's restore */
    assert_int_equal(qfile_set_commit(&s, &e), -1);
    fail_renames(-1, -1);
    assert_non_null(strstr(e.msg, "c.txt: write failed"));
    const char *aside = strstr(e.msg, "its previous version is ");
    assert_non_null(aside);
    assert_non_null(strstr(e.msg, "b.h could not be restored"));
    aside += strlen("its previous version is ");
    assert_file_is(aside, "old b.h\n");
    char path[400];
    snprintf(path, sizeof path, "%s/a.c", f->dir);
    assert_file_is(path, "old a.c\n"); /* a.c was restored */
    assert_int_equal(tmpdir_count(f->dir), 3); /* a.c, the new b.h, b.h's old version */
}

/* A write error (a full disk) in any file changes nothing. */
static void test_qfile_set_write_error_changes_nothing(void **state)
{
    fixture *f = *state;
    old_set(f);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    qfile_set s;
    qerr e = {{0}};
    assert_int_equal(set_write(f, &s, "new", &e), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 0; i < 4096; i++)
        fputs("0123456789abcdef", s.f[1].f); /* b.h does not fit */
    int rc = qfile_set_commit(&s, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(e.msg, "b.h: write failed"));
    assert_old_set(f);
}

static void test_qfile_check_not_input_compares_files_not_names(void **state)
{
    fixture *f = *state;
    char other[400], hard[400], soft[400], spelt[400], absent[400];
    snprintf(other, sizeof other, "%s/other.txt", f->dir);
    snprintf(hard, sizeof hard, "%s/hard.txt", f->dir);
    snprintf(soft, sizeof soft, "%s/soft.txt", f->dir);
    snprintf(spelt, sizeof spelt, "%s/./../%s/out.txt", f->dir, strrchr(f->dir, '/') + 1);
    snprintf(absent, sizeof absent, "%s/absent.txt", f->dir);
    assert_int_equal(tmpdir_write_text(f->path, "input\n"), 0);
    assert_int_equal(tmpdir_write_text(other, "other\n"), 0);
    assert_int_equal(link(f->path, hard), 0);
    assert_int_equal(symlink("out.txt", soft), 0);
    const char *inputs[] = {NULL, f->path};
    qerr e = {{0}};
    assert_int_equal(qfile_check_not_input(other, inputs, 2, &e), 0);
    assert_int_equal(qfile_check_not_input(absent, inputs, 2, &e), 0);
    assert_int_equal(qfile_check_not_input(other, inputs, 0, &e), 0);
    const char *const same[] = {f->path, spelt, hard, soft};
    for (int i = 0; i < 4; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(qfile_check_not_input(same[i], inputs, 2, &e), -1);
        assert_non_null(strstr(e.msg, same[i]));
        assert_non_null(strstr(e.msg, "qatc never writes over its inputs"));
    }
    assert_file_is(f->path, "input\n");
}

/* "" names no folder (and was read one byte past its end). */
static void test_qfile_mkdirs_refuses_an_empty_name(void **state)
{
    (void)state;
    qerr e = {{0}};
    assert_int_equal(qfile_mkdirs("", &e), -1);
    assert_string_equal(e.msg, "'': an empty folder name (use . for the current folder)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_qfile_commit_gives_whole_file_with_umask_mode),
        TMPDIR_TEST(test_qfile_abort_leaves_target_untouched),
        TMPDIR_TEST(test_qfile_write_error_leaves_nothing),
        TMPDIR_TEST(test_qfile_removes_temporaries_of_a_killed_writer),
        TMPDIR_TEST(test_qfile_missing_folder_is_an_error),
        TMPDIR_TEST(test_qfile_mkdirs_creates_parents_and_rejects_files),
        TMPDIR_TEST(test_qfile_check_not_input_compares_files_not_names),
        cmocka_unit_test(test_qfile_mkdirs_refuses_an_empty_name),
        TMPDIR_TEST(test_qfile_set_replaces_all),
        TMPDIR_TEST(test_qfile_set_failed_rename_restores_the_old_set),
        TMPDIR_TEST(test_qfile_set_without_hard_links),
        TMPDIR_TEST(test_qfile_set_failed_restore_is_named),
        TMPDIR_TEST(test_qfile_set_write_error_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
