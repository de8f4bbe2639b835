#!/bin/sh
# Usage: build.sh CORE OUT.elf SOURCE.c...
# Builds a bare-metal qemu image for CORE (m0, m3, m4 or rv32) from the
# sources plus this folder's startup and semihosting, as firmware would:
#   m0, m3, m4: arm-none-eabi-gcc -mthumb -mfloat-abi=soft, newlib's libc;
#   rv32:       riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 (no FPU),
#               picolibc (--specs=picolibc.specs, without its crt0);
# -Os, unused sections dropped, libc and libgcc linked (GCC may emit
# memcpy/memset calls). Writes OUT.elf and OUT.map (the linker map, for
# footprint.sh). Extra compiler flags (e.g. -DNAME=..., -O2) come from
# $QT_CFLAGS. Then checks that the image links no floating-point helper
# (nofloat.sh). $QT_BOARD=mps2 links an m0 image for the MPS2 boards' larger
# memories (to measure a model whose arena does not fit the micro:bit's 16 KB;
# run it on -M mps2-an385).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { echo "usage: build.sh CORE OUT.elf SOURCE.c..." >&2; exit 2; }
core=$1; elf=$2; shift 2
case $core in
    m0) arch="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"; ld=microbit.ld ;;
    m3) arch="-mcpu=cortex-m3 -mthumb -mfloat-abi=soft"; ld=mps2.ld ;;
    m4) arch="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft"; ld=mps2.ld ;;
    rv32) arch="-march=rv32imc -mabi=ilp32"; ld=virt.ld ;;
    *) echo "build.sh: CORE must be m0, m3, m4 or rv32, not '$core'" >&2; exit 2 ;;
esac
if [ "$core" = rv32 ]; then
    cc=riscv64-unknown-elf-gcc
    libc="--specs=picolibc.specs"                   # its headers and libc.a
    ldflags="$libc -nostartfiles"                   # our startup, not picolibc's crt0
else
    cc=arm-none-eabi-gcc
    libc=
    ldflags="-nostdlib"
fi
[ "${QT_BOARD:-}" = mps2 ] && ld=mps2.ld
cflags="$arch $libc -Os -std=c99 -Wall -Wextra -Wconversion -Werror
        -ffunction-sections -fdata-sections -I$here ${QT_CFLAGS:-}"
objdir=${elf%.elf}.obj
rm -rf "$objdir"
mkdir -p "$objdir"
objs=
for src in "$here/startup.c" "$here/semihost.c" "$@"; do
    obj=$objdir/$(basename "${src%.c}").o
    # shellcheck disable=SC2086
    $cc $cflags -c "$src" -o "$obj"
    objs="$objs $obj"
done
# shellcheck disable=SC2086
$cc $arch $ldflags -T "$ld" -L "$here" \
    -Wl,--gc-sections -Wl,-Map="${elf%.elf}.map" -o "$elf" $objs \
    -Wl,--start-group -lc -lgcc -Wl,--end-group
"$here/nofloat.sh" "$elf"
