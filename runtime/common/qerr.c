#include "qerr.h"

#include <stdio.h>

/* Messages are one line: control characters that came from the input (a
 * multi-line YAML scalar, a file name with a newline) are shown escaped,
 * "\n" as the two characters \ and n, others as \xHH. */
static void qerr_one_line(char *dst, size_t cap, const char *src)
{
    size_t used = 0;
    for (; *src && used + 1 < cap; src++) {
        unsigned char ch = (unsigned char)*src;
        char esc[8];
        if (ch >= 0x20 && ch != 0x7f) {
            dst[used++] = (char)ch;
            continue;
        }
        int len = ch == '\n' ? snprintf(esc, sizeof esc, "\\n")
                  : ch == '\r' ? snprintf(esc, sizeof esc, "\\r")
                  : ch == '\t' ? snprintf(esc, sizeof esc, "\\t")
                  : snprintf(esc, sizeof esc, "\\x%02x", ch);
        if (used + (size_t)len + 1 > cap)
            break;
        for (int i = 0; i < len; i++)
            dst[used++] = esc[i];
    }
    dst[used] = '\0';
}

int qerr_set(qerr *e, const char *fmt, ...)
{
    if (e) {
        char raw[sizeof e->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        qerr_one_line(e->msg, sizeof e->msg, raw);
    }
    return -1;
}

int qerr_at(qerr *e, const char *file, int line, const char *fmt, ...)
{
    if (e) {
        char body[sizeof e->msg], raw[sizeof e->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        if (line > 0)
            snprintf(raw, sizeof raw, "%s:%d: %s", file, line, body);
        else
            snprintf(raw, sizeof raw, "%s: %s", file, body);
        qerr_one_line(e->msg, sizeof e->msg, raw);
    }
    return -1;
}
