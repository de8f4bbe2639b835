#!/bin/sh
# Usage: nofloat.sh IMAGE.elf
# Fails (status 1, listing them) when the linked image (Arm or RISC-V)
# contains a floating-point helper from libgcc or the ARM EABI:
# __aeabi_f*/__aeabi_d* (arithmetic, compare, conversion), __aeabi_*2f/*2d
# (int to float), __*sf3/__*df3/__*tf3/__*sf2/__*df2 (soft-float arithmetic
# and compare, also RISC-V's), __fix*, __float*, __extend*, __trunc*, and
# complex __*sc3/__*dc3. Integer helpers (__aeabi_lmul, __aeabi_uidiv,
# __aeabi_llsl, __muldi3, __ashrdi3, ...) are fine.
set -u
elf=$1
syms=$("$(dirname "$0")/elftool.sh" nm "$elf" -P) || { echo "nofloat: cannot read $elf" >&2; exit 2; }
found=$(printf '%s\n' "$syms" | awk '{print $1}' | grep -E \
  '^(__aeabi_[fd]|__aeabi_c[fd]|__aeabi_[a-z0-9]*2[fd]$|__[a-z0-9]*[sdtx]f[23]$|__[a-z]*[sdtx]c3$|__fix|__float|__extend|__trunc)' |
  sort -u)
if [ -n "$found" ]; then
    echo "nofloat: $elf links floating-point helpers:" $found >&2
    exit 1
fi
exit 0
