#!/bin/sh
# Usage: gen_build.sh DIR
# Builds and runs the generated models in DIR (test_gen_random): DIR holds
# rNNN.c, rNNN.h, rNNN_golden.c, driver.c (calls every rNNN_selftest) and
# poison.h. The generated files are compiled with gcc and with clang (side by
# side, one invocation each) under -std=c99 -Wall -Wextra -Wconversion
# -Werror with float/double poisoned; the driver, which includes <stdio.h>,
# is compiled on its own. Then the models with every op (every fourth) are
# built with -fsanitize=address,undefined and run. Each build uses another
# version of the generated inner products (QATC_DOT, see the generated file):
# gcc the Cortex-M3 one (two pixels per SMLAL), clang the Cortex-M4 one
# (SMLAD, its instructions emulated in C), the sanitizer build the plain C of
# hosts. Exit 0 when everything builds and every self-test passes; otherwise
# the failing log's tail.
set -u
cd "$1" || exit 2
strict="-std=c99 -Wall -Wextra -Wconversion -Werror"

build() { # COMPILER QATC_DOT
    mkdir -p "$1" && cd "$1" &&
    $1 $strict -O1 -DQATC_DOT="$2" -I.. -include ../poison.h -c ../r*.c &&
    $1 -O1 -o "../drv_$1" ../driver.c ./*.o &&
    "../drv_$1"
}
(build gcc QATC_DOT_SMLAL) > gcc.log 2>&1 & g=$!
(build clang QATC_DOT_DSP) > clang.log 2>&1 & c=$!
wait $g; gs=$?
wait $c; cs=$?
echo "gcc (QATC_DOT_SMLAL): $(tail -1 gcc.log)"
echo "clang (QATC_DOT_DSP, emulated): $(tail -1 clang.log)"
[ $gs = 0 ] || { echo "gcc failed (status $gs):"; tail -20 gcc.log; exit 1; }
[ $cs = 0 ] || { echo "clang failed (status $cs):"; tail -20 clang.log; exit 1; }

# The sanitizer build: models r000, r004, ... (those with every op).
names=$(ls r*[0-9].c | sed 's/\.c$//' | awk '{ if (substr($0, 2) % 4 == 0) print }')
{
    echo '#include <stdio.h>'
    for n in $names; do echo "int ${n}_selftest(void);"; done
    echo 'int main(void)'
    echo '{'
    echo '    int bad = 0;'
    for n in $names; do echo "    bad += ${n}_selftest() != 0;"; done
    printf '%s\n' '    printf("%d models differ\n", bad);'
    echo '    return bad > 0;'
    echo '}'
} > san_driver.c
srcs=$(for n in $names; do printf '%s.c %s_golden.c ' "$n" "$n"; done)
# shellcheck disable=SC2086
gcc -std=c99 -O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
    -o drv_san san_driver.c $srcs > san.log 2>&1 && ./drv_san >> san.log 2>&1
s=$?
echo "sanitizers ($(echo $names | wc -w) models): $(tail -1 san.log)"
[ $s = 0 ] || { echo "sanitizer build failed (status $s):"; tail -20 san.log; exit 1; }
exit 0
