#!/bin/sh
# Usage: gen_build.sh DIR
# Builds and runs the generated models in DIR (test_gen_random): DIR holds
# rNNN.c, rNNN.h, rNNN_golden.c, driver.c (calls every rNNN_selftest) and
# poison.h. The generated files are compiled six times, two compilers side
# by side (one invocation each), under -std=c99 -Wall -Wextra -Wconversion
# -Werror with float/double poisoned; the driver, which includes <stdio.h>,
# is compiled on its own. Then the models with every op (every fourth) are
# built with -fsanitize=address,undefined and run. Each build uses another
# version of the generated inner products (QATC_DOT, see the generated file):
# gcc the Cortex-M3 one (two pixels per SMLAL), clang the Cortex-M4 one
# (SMLAD, its instructions emulated in C), then gcc the host's own (on x86,
# SSE2's PMADDWD) and clang the plain C of other hosts, then gcc and clang
# the C of the RV32IM one (its assembly runs in the rv32imc image below); the
# sanitizer build the host's own, and after it gcc the Cortex-M0 one (unsigned
# bytes, eight channels at a time). Side by side with the sanitizer build, the
# same models go into one rv32imc image (tests/target/build.sh rv32: riscv64-unknown-elf-gcc
# -march=rv32imc -mabi=ilp32 -Os, strict flags, float/double poisoned, no
# floating-point helper linked) whose self-tests run under
# qemu-system-riscv32; then into one image for each of Cortex-M0, M3 and M4
# (tests/target/build.sh m0/m3/m4: arm-none-eabi-gcc -Os, the assembly inner
# loops of Thumb-1, SMLAL and DSP) run under qemu-system-arm on mps2-an385
# (M0 and M3; the M0 image linked for the MPS2 memories, as 50 models' static
# arenas do not fit the micro:bit's 16 KB) and mps2-an386 (M4). Exit 0 when
# everything builds and every self-test passes; otherwise the failing log's
# tail.
set -u
target=$(cd "$(dirname "$0")/../target" && pwd)
cd "$1" || exit 2
strict="-std=c99 -Wall -Wextra -Wconversion -Werror"

build() { # DIR COMPILER [-DQATC_DOT=...]
    mkdir -p "$1" && cd "$1" &&
    $2 $strict -O1 ${3:-} -I.. -include ../poison.h -c ../r[0-9]*.c &&
    $2 -O1 -o "../drv_$1" ../driver.c ./*.o &&
    "../drv_$1"
}
pair() { # NAME1 COMPILER1 DEFINE1 NAME2 COMPILER2 DEFINE2: two builds side by side
    (build "$1" "$2" "$3") > "$1.log" 2>&1 & a=$!
    (build "$4" "$5" "$6") > "$4.log" 2>&1 & b=$!
    wait $a; as=$?
    wait $b; bs=$?
    echo "$2 (${3:-the host's version}): $(tail -1 "$1.log")"
    echo "$5 (${6:-the host's version}): $(tail -1 "$4.log")"
    [ $as = 0 ] || { echo "$1 failed (status $as):"; tail -20 "$1.log"; exit 1; }
    [ $bs = 0 ] || { echo "$4 failed (status $bs):"; tail -20 "$4.log"; exit 1; }
}
pair smlal gcc -DQATC_DOT=QATC_DOT_SMLAL dsp clang -DQATC_DOT=QATC_DOT_DSP
pair host gcc "" plain clang -DQATC_DOT=QATC_DOT_PLAIN
pair rv32gcc gcc -DQATC_DOT=QATC_DOT_RV32 rv32clang clang -DQATC_DOT=QATC_DOT_RV32

# The sanitizer build and the rv32imc image, side by side: models r000, r004, ...
# (those with every op).
names=$(ls r*[0-9].c | sed 's/\.c$//' | awk '{ if (substr($0, 2) % 4 == 0) print }')
srcs=$(for n in $names; do printf '%s.c %s_golden.c ' "$n" "$n"; done)
count=$(echo $names | wc -w)
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
# rv32_driver.c: the self-test of the rv32imc and Cortex-M images (tests/target/main.c
# calls it), names the failing models over semihosting and returns their number.
{
    echo '#include "semihost.h"'
    for n in $names; do echo "int ${n}_selftest(void);"; done
    echo 'int rv32_selftest(void)'
    echo '{'
    echo '    int bad = 0;'
    for n in $names; do
        echo "    if (${n}_selftest() != 0) {"
        printf '        semihost_write0("%s: output bytes differ\\n");\n' "$n"
        echo '        bad++;'
        echo '    }'
    done
    echo '    return bad;'
    echo '}'
} > rv32_driver.c
san() {
    # shellcheck disable=SC2086
    gcc -std=c99 -O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
        -o drv_san san_driver.c $srcs && ./drv_san
}
rv32() {
    for tool in riscv64-unknown-elf-gcc qemu-system-riscv32; do
        command -v $tool > /dev/null || { echo "$tool is not installed (make deps)"; return 2; }
    done
    mkdir -p rv32 || return 2
    # shellcheck disable=SC2086
    QT_CFLAGS="-I. -include $PWD/poison.h -DQT_SELFTEST=rv32_selftest" \
        "$target/build.sh" rv32 rv32/random.elf "$target/main.c" rv32_driver.c $srcs &&
    "$target/qemu.sh" virt rv32/random.elf
}
arm() { # CORE MACHINE: the same image for a Cortex-M core under qemu-system-arm
    for tool in arm-none-eabi-gcc qemu-system-arm; do
        command -v $tool > /dev/null || { echo "$tool is not installed (make deps)"; return 2; }
    done
    mkdir -p "$1" || return 2
    # shellcheck disable=SC2086
    QT_BOARD=mps2 QT_CFLAGS="-I. -include $PWD/poison.h -DQT_SELFTEST=rv32_selftest" \
        "$target/build.sh" "$1" "$1/random.elf" "$target/main.c" rv32_driver.c $srcs &&
    QT_TIMEOUT=120 "$target/qemu.sh" "$2" "$1/random.elf"
}
(san) > san.log 2>&1 & a=$!
(rv32) > rv32.log 2>&1 & b=$!
wait $a; s=$?
(build thumb1 gcc -DQATC_DOT=QATC_DOT_THUMB1) > thumb1.log 2>&1; t=$?
wait $b; r=$?
echo "gcc (-DQATC_DOT=QATC_DOT_THUMB1): $(tail -1 thumb1.log)"
echo "sanitizers ($count models): $(tail -1 san.log)"
echo "rv32imc under qemu ($count models): $(grep 'selftest:' rv32.log || tail -1 rv32.log)"
[ $t = 0 ] || { echo "thumb1 failed (status $t):"; tail -20 thumb1.log; exit 1; }
[ $s = 0 ] || { echo "sanitizer build failed (status $s):"; tail -20 san.log; exit 1; }
[ $r = 0 ] || { echo "rv32imc build or self-test failed (status $r):"; tail -20 rv32.log; exit 1; }
(arm m0 mps2-an385) > m0.log 2>&1 & a=$!
(arm m3 mps2-an385) > m3.log 2>&1 & b=$!
wait $a; s=$?
wait $b; r=$?
arm m4 mps2-an386 > m4.log 2>&1; f=$?
for core in m0 m3 m4; do
    echo "Cortex-M${core#m} under qemu ($count models): $(grep 'selftest:' $core.log || tail -1 $core.log)"
done
for x in m0:$s m3:$r m4:$f; do
    [ "${x#*:}" = 0 ] ||
        { echo "${x%:*} build or self-test failed (status ${x#*:}):"; tail -20 "${x%:*}.log"; exit 1; }
done
exit 0
