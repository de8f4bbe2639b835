/* qerr — one error message, filled by whoever fails first.
 *
 * Functions that touch input, I/O or memory return 0 on success and -1 on
 * failure, writing a one-line message into a caller-owned qerr. Only main()
 * prints it. The message has the form "FILE:LINE: FIELD: what is wrong" when a
 * file position is known, so a user can jump to the spot.
 */
#ifndef QATC_QERR_H
#define QATC_QERR_H

#include <stdarg.h>

typedef struct {
    char msg[512];
} qerr;

/* Formats the message into e (if e is not NULL). Always returns -1, so a
 * failing function can end with `return qerr_set(e, ...)`. An earlier message
 * is overwritten (it may be an argument). Control characters are escaped
 * ("\n" as \ and n), so the message stays one line whatever the input held. */
int qerr_set(qerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same, prefixed by "FILE:LINE: " (line 0 prints "FILE: "). */
int qerr_at(qerr *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
