/* Tests for qfile: a committed file appears whole with the usual permissions,
 * an aborted or failed one (a write error such as a full disk, simulated with
 * RLIMIT_FSIZE) leaves neither the file nor a temporary behind, and an
 * existing target is replaced only on commit; temporaries a killed writer
 * left are removed by the next writer of the same file. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_qfile_commit_gives_whole_file_with_umask_mode),
        TMPDIR_TEST(test_qfile_abort_leaves_target_untouched),
        TMPDIR_TEST(test_qfile_write_error_leaves_nothing),
        TMPDIR_TEST(test_qfile_removes_temporaries_of_a_killed_writer),
        TMPDIR_TEST(test_qfile_missing_folder_is_an_error),
        TMPDIR_TEST(test_qfile_mkdirs_creates_parents_and_rejects_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
