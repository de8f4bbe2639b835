#!/bin/sh
# Usage: icount.sh [-p] MACHINE IMAGE.elf
# Runs a bare-metal image under qemu -M MACHINE (tests/target/qemu.sh:
# qemu-system-arm, or qemu-system-riscv32 for MACHINE virt) with the icount
# plugin (built here with the host cc on first use, into $BUILD/qemu_icount)
# and prints, one per line on stdout, the instructions executed between each
# call of bench_start() and the following bench_stop() in the image (their
# addresses come from the image's nm: arm-none-eabi-nm or
# riscv64-unknown-elf-nm). The image's own output (semihosting) goes to
# stderr. Fails if the image fails or reports no pair.
# With -p: instead, for the last pair only, "0xADDR COUNT" for every
# instruction address executed inside it (to map onto functions or, through
# the debug information, onto inlined functions: bench/target/layers.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=$here/../../tests/target
per_pc=0
[ "${1:-}" = -p ] && { per_pc=1; shift; }
[ $# -eq 2 ] || { echo "usage: icount.sh [-p] MACHINE IMAGE.elf" >&2; exit 2; }
machine=$1; elf=$2
build=${BUILD:-$here/../../build}
so=$build/qemu_icount/icount.so
if [ ! -f "$so" ] || [ "$here/icount.c" -nt "$so" ]; then
    mkdir -p "$build/qemu_icount"
    ${HOSTCC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -fvisibility=hidden \
        -o "$so.tmp" "$here/icount.c"
    mv "$so.tmp" "$so"
fi
addr() {
    a=$("$target/elftool.sh" nm "$elf" | awk -v s="$1" '$3 == s {print "0x" $1}')
    [ -n "$a" ] || { echo "icount.sh: $elf has no symbol $1" >&2; exit 2; }
    echo "$a"
}
start=$(addr bench_start)
stop=$(addr bench_stop)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
QT_TIMEOUT=120 "$target/qemu.sh" "$machine" "$elf" \
    -plugin "$so,start=$start,stop=$stop$([ $per_pc = 1 ] && echo ,pcs=on)" -d plugin -D "$log" >&2 || status=$?
if [ $status -ne 0 ]; then
    echo "icount.sh: $elf on $machine exited with status $status" >&2
    exit 1
fi
grep -q '^icount: ' "$log" || { echo "icount.sh: no bench_start/bench_stop pair ran" >&2; exit 1; }
if [ $per_pc = 1 ]; then
    awk '/^icount: / { n = 0 } /^icount_pc: / { pc[++n] = $2 " " $3 }
         END { for (i = 1; i <= n; i++) print pc[i] }' "$log"
else
    sed -n 's/^icount: //p' "$log"
fi
