# Sourced by the end-to-end checks.
# host_selftest DIR NAME: compiles DIR/NAME.c and DIR/NAME_golden.c (what
# `qatc gen --golden` wrote) as the generated code's contract demands
# (-std=c99 -Wall -Wextra -Wconversion -Werror, float and double poisoned),
# links them with a main that calls NAME_selftest, and runs it in the current
# folder; the status is the self-test's (0: every output byte agrees with the
# reference kernels).
host_selftest() {
    printf '#pragma GCC poison float double\n' >poison.h
    ${CC:-cc} -std=c99 -Wall -Wextra -Wconversion -Werror -O2 -include poison.h -I"$1" \
        -c "$1/$2.c" "$1/$2_golden.c" || return 1
    cat >selftest.c <<C
#include <stdio.h>
#include "$2.h"
int main(void)
{
    int bad = $2_selftest();
    printf("selftest: %d output bytes differ from the reference kernels\n", bad);
    return bad != 0;
}
C
    ${CC:-cc} -O2 -I"$1" -o selftest selftest.c "$2.o" "$2_golden.o" && ./selftest
}
