/* gen_harness — commands and files for the generator tests. */
#include "gen_harness.h"
#include "tmpdir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int gh_sh(const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    fflush(NULL); /* keep our output in order with the command's */
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

int gh_write_poison(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/poison.h", dir);
    return tmpdir_write_text(path, "/* generated code must not name a floating-point type */\n"
                          "#pragma GCC poison float double\n");
}

const char *gh_templates(void)
{
    const char *t = getenv("QATC_TEMPLATES");
    return t && *t ? t : "templates";
}

int gh_have(const char *program)
{
    return gh_sh("command -v %s >/dev/null 2>&1", program) == 0;
}
