/* qnum — decimal integers and numbers, whole strings, no clamping (qnum.h). */
#include "qnum.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

qnum_status qnum_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    const char *p = s;
    int neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!is_digit(*p))
        return QNUM_SYNTAX;
    const char *digits = p;
    /* |value| as uint64, sticky "too big" past 2^63: no overflow, however
     * many digits follow (they must still be digits) */
    uint64_t mag = 0;
    int big = 0;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (big || mag > ((UINT64_C(1) << 63) - d) / 10)
            big = 1;
        else
            mag = mag * 10 + d;
    }
    if (*p != '\0')
        return QNUM_SYNTAX;
    if (digits[0] == '0' && p - digits > 1)
        return QNUM_LEADING_ZERO;
    if (big)
        return QNUM_RANGE;
    int64_t v;
    if (neg)
        v = mag == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)mag;
    else if (mag > (uint64_t)INT64_MAX)
        return QNUM_RANGE;
    else
        v = (int64_t)mag;
    if (v < lo || v > hi)
        return QNUM_RANGE;
    *out = v;
    return QNUM_OK;
}

qnum_status qnum_double(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    /* infinities and NaN, as C or YAML writes them: numbers, but not finite */
    static const char *const not_finite[] = {"inf", "infinity", "nan", ".inf", ".nan"};
    for (size_t i = 0; i < sizeof not_finite / sizeof not_finite[0]; i++)
        if (!strcasecmp(p, not_finite[i]))
            return QNUM_RANGE;
    int before = 0, after = 0;
    while (is_digit(*p))
        p++, before++;
    if (*p == '.') {
        p++;
        while (is_digit(*p))
            p++, after++;
    }
    if (before + after == 0)
        return QNUM_SYNTAX;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!is_digit(*p))
            return QNUM_SYNTAX;
        while (is_digit(*p))
            p++;
    }
    if (*p != '\0')
        return QNUM_SYNTAX;
    /* the syntax is strtod's decimal form, so strtod reads all of it */
    errno = 0;
    double v = strtod(s, NULL);
    if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return QNUM_RANGE;
    *out = v;
    return QNUM_OK;
}

const char *qnum_why(qnum_status st, const char *s, int is_int, int64_t lo, int64_t hi,
                     char *out, size_t cap)
{
    switch (st) {
    case QNUM_OK:
        snprintf(out, cap, "fine");
        break;
    case QNUM_SYNTAX:
        snprintf(out, cap, "expected %s, got '%.60s'", is_int ? "an integer" : "a number", s);
        break;
    case QNUM_LEADING_ZERO:
        snprintf(out, cap, "'%.60s': leading zeros are ambiguous (octal in YAML 1.1); write it "
                           "without them", s);
        break;
    case QNUM_RANGE:
        if (is_int)
            snprintf(out, cap, "%.60s is out of range [%lld, %lld]", s, (long long)lo,
                     (long long)hi);
        else
            snprintf(out, cap, "expected a finite number, got '%.60s'", s);
        break;
    }
    return out;
}
