/* tmpdir — scratch folders and files for the unit tests: make a fresh private
 * folder, write a file into it from a string or bytes (plain or gzip'd), read
 * a file back, count what a folder holds, remove the folder with everything
 * in it.
 *
 * Each function returns a status rather than asserting, so that a test says
 * what it expects (assert_int_equal(tmpdir_write(...), 0)) and a teardown can
 * use them too.
 */
#ifndef QATC_TMPDIR_H
#define QATC_TMPDIR_H

#include <stddef.h>

/* Makes a fresh, empty folder BASE/TAG.XXXXXX and puts its path into dir (cap
 * bytes). BASE is $TMPDIR when set, else /dev/shm when writable (qfile syncs
 * every file it writes; on tmpfs that costs nothing), else /tmp.
 * Returns 0, or -1 (errno set; nothing created) when the path does not fit or
 * mkdtemp fails. */
int tmpdir_make(const char *tag, char *dir, size_t cap);

/* The capacity of a fixture's folder path (tmpdir_fixture_new). */
#define TMPDIR_CAP 256

/* A cmocka test of a file whose setup and teardown are called setup and
 * teardown (usually over tmpdir_fixture_new and tmpdir_fixture_free). */
#define TMPDIR_TEST(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

/* A cmocka fixture of size bytes, zeroed, whose struct BEGINS with
 * char dir[TMPDIR_CAP], put into *state with a fresh folder
 * (tmpdir_make(tag)) in dir. Returns 0, or -1 with nothing left behind when
 * memory or the folder fails. */
int tmpdir_fixture_new(void **state, const char *tag, size_t size);

/* Removes the folder of a tmpdir_fixture_new fixture and frees it.
 * Returns 0, or -1 when something in the folder could not be removed. */
int tmpdir_fixture_free(void *fixture);

/* Removes the folder dir and everything in it (no symbolic link followed).
 * Returns how many entries it held, at any depth (0: it was empty), or -1
 * when something could not be removed (what could be is gone). */
int tmpdir_remove(const char *dir);

/* How many entries the folder dir holds directly (besides . and ..), or -1
 * when it cannot be opened. */
int tmpdir_count(const char *dir);

/* Writes the len bytes at data to path, creating or truncating it.
 * Returns 0, or -1 when the file cannot be created or written (a partial
 * file may be left). */
int tmpdir_write(const char *path, const void *data, size_t len);

/* tmpdir_write of a string, without its terminating NUL. */
int tmpdir_write_text(const char *path, const char *text);

/* Writes the len bytes at data to path gzip-compressed (zlib's gzwrite).
 * Returns 0 or -1, as tmpdir_write. */
int tmpdir_write_gz(const char *path, const void *data, size_t len);

/* The whole regular file at path, malloc'd and NUL-terminated (the caller frees it);
 * its size goes to *len unless len is NULL. NULL when the file cannot be
 * opened or read, or memory runs out. */
char *tmpdir_read(const char *path, size_t *len);

#endif
