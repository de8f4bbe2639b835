#include "qerr.h"

#include <stdio.h>

int qerr_set(qerr *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int qerr_at(qerr *e, const char *file, int line, const char *fmt, ...)
{
    if (e) {
        char body[sizeof e->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        if (line > 0)
            snprintf(e->msg, sizeof e->msg, "%s:%d: %s", file, line, body);
        else
            snprintf(e->msg, sizeof e->msg, "%s: %s", file, body);
    }
    return -1;
}
