#!/bin/sh
# Usage: qemu.sh MACHINE IMAGE.elf [QEMU-OPTION...]
# Runs a bare-metal image with semihosting (its output on stderr, its exit
# status as ours) and a 20 s timeout (status 124): MACHINE virt under
# qemu-system-riscv32 -bios none (the image is entered at 0x80000000), any
# other (microbit, mps2-an385, mps2-an386) under qemu-system-arm. Further
# options (e.g. -plugin) are passed to qemu.
set -u
[ $# -ge 2 ] || { echo "usage: qemu.sh MACHINE IMAGE.elf [QEMU-OPTION...]" >&2; exit 2; }
machine=$1; elf=$2; shift 2
case $machine in
    virt) set -- qemu-system-riscv32 -M virt -bios none "$@" ;;
    *) set -- qemu-system-arm -M "$machine" "$@" ;;
esac
exec timeout "${QT_TIMEOUT:-20}" "$@" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$elf"
