#!/bin/sh
# Usage: build.sh CORE OUT.elf SOURCE.c...
# Builds a bare-metal qemu image for CORE (m0, m3 or m4) from the sources plus
# this folder's startup and semihosting, as firmware would: arm-none-eabi-gcc
# -mthumb -mfloat-abi=soft -Os, unused sections dropped, newlib's libc and
# libgcc linked (GCC may emit memcpy/memset calls). Writes OUT.elf and
# OUT.map (the linker map, for footprint.sh). Extra compiler flags (e.g.
# -DNAME=..., -O2) come from $QT_CFLAGS. Then checks that the image links no
# floating-point helper (nofloat.sh). $QT_BOARD=mps2 links an m0 image for
# the MPS2 boards' larger memories (to measure a model whose arena does not
# fit the micro:bit's 16 KB; run it on -M mps2-an385).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 3 ] || { echo "usage: build.sh CORE OUT.elf SOURCE.c..." >&2; exit 2; }
core=$1; elf=$2; shift 2
case $core in
    m0) cpu="-mcpu=cortex-m0"; ld=microbit.ld ;;
    m3) cpu="-mcpu=cortex-m3"; ld=mps2.ld ;;
    m4) cpu="-mcpu=cortex-m4"; ld=mps2.ld ;;
    *) echo "build.sh: CORE must be m0, m3 or m4, not '$core'" >&2; exit 2 ;;
esac
[ "${QT_BOARD:-}" = mps2 ] && ld=mps2.ld
cflags="$cpu -mthumb -mfloat-abi=soft -Os -std=c99 -Wall -Wextra -Wconversion -Werror
        -ffunction-sections -fdata-sections -I$here ${QT_CFLAGS:-}"
objdir=${elf%.elf}.obj
rm -rf "$objdir"
mkdir -p "$objdir"
objs=
for src in "$here/startup.c" "$here/semihost.c" "$@"; do
    obj=$objdir/$(basename "${src%.c}").o
    # shellcheck disable=SC2086
    arm-none-eabi-gcc $cflags -c "$src" -o "$obj"
    objs="$objs $obj"
done
# shellcheck disable=SC2086
arm-none-eabi-gcc $cpu -mthumb -mfloat-abi=soft -nostdlib -T "$ld" -L "$here" \
    -Wl,--gc-sections -Wl,-Map="${elf%.elf}.map" -o "$elf" $objs \
    -Wl,--start-group -lc -lgcc -Wl,--end-group
"$here/nofloat.sh" "$elf"
