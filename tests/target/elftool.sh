#!/bin/sh
# Usage: elftool.sh TOOL IMAGE.elf [ARG...]
# Runs the binutils TOOL (nm, addr2line, objdump, size, ...) of the image's
# architecture on it: arm-none-eabi-TOOL for an Arm image,
# riscv64-unknown-elf-TOOL for a RISC-V one (read from the ELF header's
# e_machine). The image comes last on the command line, after ARGs, except
# for addr2line, which takes it as -e IMAGE before them.
set -u
[ $# -ge 2 ] || { echo "usage: elftool.sh TOOL IMAGE.elf [ARG...]" >&2; exit 2; }
tool=$1; elf=$2; shift 2
# e_machine, bytes 18 and 19 of the header (little-endian): 0x28 Arm, 0xf3 RISC-V
machine=$(od -An -tx1 -j18 -N1 "$elf" 2>/dev/null | tr -d ' ')
case $machine in
    28) prefix=arm-none-eabi- ;;
    f3) prefix=riscv64-unknown-elf- ;;
    *) echo "elftool.sh: $elf is not an Arm or RISC-V ELF image" >&2; exit 2 ;;
esac
if [ "$tool" = addr2line ]; then
    exec "${prefix}addr2line" -e "$elf" "$@"
fi
exec "$prefix$tool" "$@" "$elf"
