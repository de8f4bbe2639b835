/* qnum — the one number parser of qatc: the config, the frozen model and the
 * command line read numbers with the same rules.
 *
 *   integer  [+-]?DIGITS             decimal only; no leading zeros ("010" is 8
 *                                    in YAML 1.1 and 10 in YAML 1.2: refused
 *                                    rather than guessed), "0" itself is fine
 *   number   [+-]?(DIGITS[.DIGITS?] | .DIGITS)([eE][+-]?DIGITS)?
 *                                    decimal only: no hex floats (0x1p-4), no
 *                                    inf or nan, no digit separators
 *
 * Nothing around the number (no spaces), nothing after it. An integer out of
 * its range is refused, never clamped (a 20-digit value is "out of range",
 * not INT64_MAX); a number too large for a double is refused, one too small
 * becomes 0 or a subnormal (as strtod gives it).
 */
#ifndef QATC_QNUM_H
#define QATC_QNUM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    QNUM_OK,
    QNUM_SYNTAX,        /* not written as a number of that kind */
    QNUM_LEADING_ZERO,  /* an integer such as 010 */
    QNUM_RANGE,         /* outside [lo, hi] (integers), or beyond a double */
} qnum_status;

/* Parses the whole of s as an integer in [lo, hi] into *out (left as it was
 * unless QNUM_OK). */
qnum_status qnum_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* Parses the whole of s as a finite number into *out (left as it was unless
 * QNUM_OK). */
qnum_status qnum_double(const char *s, double *out);

/* Why s was refused, for a message after "FIELD: ", e.g. "expected an
 * integer, got '4x'", "99999999999999999999 is out of range [0, 100]";
 * lo and hi are used for QNUM_RANGE of an integer (is_int). Returns out. */
const char *qnum_why(qnum_status st, const char *s, int is_int, int64_t lo, int64_t hi,
                     char *out, size_t cap);

#endif
