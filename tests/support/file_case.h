/* file_case — the part of a unit test's fixture that tests a reader of files:
 * its scratch folder (first, as tmpdir_fixture_new wants), the path of the file
 * at hand, and the error the reader reported. Readers report "PATH: what", so a
 * test names the file once (file_case_path) and checks only the rest. */
#ifndef QATC_FILE_CASE_H
#define QATC_FILE_CASE_H

#include "qerr.h"
#include "tmpdir.h"

typedef struct {
    char dir[TMPDIR_CAP];
    char path[320];
    qerr e;
} file_case;

/* f->path <- "DIR/name"; returns f->path. */
const char *file_case_path(file_case *f, const char *name);

/* Asserts (cmocka) that f->e.msg is exactly "PATH: rest", PATH being f->path. */
void file_case_assert_msg(const file_case *f, const char *rest);

#endif
