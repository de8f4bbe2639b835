#!/bin/sh
# Usage: bench/rv32/requantize_check.sh [OUT]
# Expands the generated file's requantize() and rescale() from the templates
# (QATC_REQUANTIZE, QATC_RESCALE in templates/kernels.m4) into OUT/helpers.h
# and checks them against the int64 formulas (requantize_check.c, 18 million
# cases), built with gcc and clang at -O2. OUT defaults to out/rv32.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/out/rv32}
mkdir -p "$out"
printf 'm4_include([kernels.m4])m4_divert(0)QATC_REQUANTIZE[]QATC_RESCALE[]' |
    m4 -P -I "$root/templates" "$root/templates/qatc.m4" - > "$out/helpers.h"
for cc in gcc clang; do
    $cc -std=c99 -O2 -Wall -Wextra -Wconversion -Werror -I"$out" -o "$out/requantize_check" \
        "$here/requantize_check.c"
    echo "$cc: $("$out/requantize_check")"
done
