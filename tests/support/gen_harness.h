/* gen_harness — what the generator tests share: running compilers and
 * programs (scratch folders and files: tmpdir.h, included here).
 *
 * GH_STRICT is the warning set the generated C must pass (docs/generated-code.md);
 * generated files are compiled with -include of a header poisoning float
 * and double (gh_write_poison), so any floating-point word is an error.
 */
#ifndef QATC_GEN_HARNESS_H
#define QATC_GEN_HARNESS_H

#include <stddef.h>

#include "tmpdir.h"

#define GH_STRICT "-std=c99 -Wall -Wextra -Wconversion -Werror"

/* Runs a shell command (formatted); returns its exit status (-1 when it
 * could not run or was killed). */
int gh_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes DIR/poison.h: #pragma GCC poison float double. Returns 0 or -1. */
int gh_write_poison(const char *dir);

/* The templates folder for tests: $QATC_TEMPLATES, else "templates" (make
 * runs the tests from the top of the checkout). */
const char *gh_templates(void);

/* Whether an executable is on PATH (e.g. "clang"). */
int gh_have(const char *program);

#endif
