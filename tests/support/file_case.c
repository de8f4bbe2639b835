/* file_case — see file_case.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "file_case.h"

const char *file_case_path(file_case *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

void file_case_assert_msg(const file_case *f, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", f->path, rest);
    assert_string_equal(f->e.msg, want);
}
