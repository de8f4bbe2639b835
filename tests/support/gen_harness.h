/* gen_harness — what the generator tests share: scratch folders, running
 * compilers and programs, reading files back.
 *
 * GH_STRICT is the warning set the generated C must pass (DESIGN.md §4);
 * generated files are compiled with -include of a header poisoning float
 * and double (gh_write_poison), so any floating-point word is an error.
 */
#ifndef QATC_GEN_HARNESS_H
#define QATC_GEN_HARNESS_H

#include <stddef.h>

#define GH_STRICT "-std=c99 -Wall -Wextra -Wconversion -Werror"

/* Makes a fresh folder $TMPDIR/qatc-TAG.XXXXXX; its path goes into dir.
 * Returns 0 or -1. */
int gh_tmpdir(const char *tag, char *dir, size_t cap);

/* Removes the folder and everything in it. */
void gh_rmdir(const char *dir);

/* Runs a shell command (formatted); returns its exit status (-1 when it
 * could not run or was killed). */
int gh_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes text to path. Returns 0 or -1. */
int gh_write(const char *path, const char *text);

/* The whole file, NUL-terminated, malloc'd; *len its size (may be NULL).
 * NULL when it cannot be read. */
char *gh_read(const char *path, size_t *len);

/* Writes DIR/poison.h: #pragma GCC poison float double. Returns 0 or -1. */
int gh_write_poison(const char *dir);

/* The templates folder for tests: $QATC_TEMPLATES, else "templates" (make
 * runs the tests from the top of the checkout). */
const char *gh_templates(void);

/* Whether an executable is on PATH (e.g. "clang"). */
int gh_have(const char *program);

#endif
