#!/bin/sh
# Usage: run.sh CORE GENERATED_DIR NAME
# Builds GENERATED_DIR/NAME.c and NAME_golden.c with the self-test main for
# CORE (m0, m3, m4, rv32), checks that no floating-point helper is linked,
# runs the image under qemu-system-arm (m0: -M microbit, m3: -M mps2-an385,
# m4: -M mps2-an386; $QT_MACHINE overrides, e.g. an M0 image on mps2-an385)
# or qemu-system-riscv32 (rv32: -M virt -bios none)
# with a 20 s timeout, and exits with the self-test's status: 0 = every
# golden output matched, 1..127 = that many mismatches, 250 = a fault,
# 124 = timeout, other = build or qemu failure.
# The image goes to $QT_OUT (default GENERATED_DIR/target-CORE).
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 3 ] || { echo "usage: run.sh CORE GENERATED_DIR NAME" >&2; exit 2; }
core=$1; dir=$2; name=$3
case $core in
    m0) machine=microbit ;;
    m3) machine=mps2-an385 ;;
    m4) machine=mps2-an386 ;;
    rv32) machine=virt ;;
    *) echo "run.sh: CORE must be m0, m3, m4 or rv32, not '$core'" >&2; exit 2 ;;
esac
machine=${QT_MACHINE:-$machine}
out=${QT_OUT:-$dir/target-$core}
mkdir -p "$out" || exit 2
elf=$out/${name}_selftest.elf
QT_CFLAGS="-DQT_SELFTEST=${name}_selftest -I$dir ${QT_CFLAGS:-}" \
    "$here/build.sh" "$core" "$elf" "$here/main.c" "$dir/$name.c" "$dir/${name}_golden.c" ||
    { echo "run.sh: building $elf for $core failed" >&2; exit 2; }
"$here/qemu.sh" "$machine" "$elf"
status=$?
echo "run.sh: $name on $core ($machine): exit status $status" >&2
exit $status
