#!/bin/sh
# Usage: host_icount.sh GENERATED_DIR NAME
# Host instructions per inference of GENERATED_DIR/NAME.c: builds host_main.c
# with the host cc ($QT_HOST_CFLAGS, default -O2), runs 10 inferences under
# valgrind --tool=callgrind collecting only inside NAME_run_static, and
# prints the instructions (Ir) per inference.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: host_icount.sh GENERATED_DIR NAME" >&2; exit 2; }
dir=$(cd "$1" && pwd); name=$2; upper=$(echo "$name" | tr a-z A-Z); runs=10
out=${QT_OUT:-$dir/bench}
mkdir -p "$out"
prog=$out/${name}_host
# shellcheck disable=SC2086
${CC:-cc} -std=c99 ${QT_HOST_CFLAGS:--O2} -DQT_NAME="$name" -DQT_UPPER="$upper" -DQT_HEADER="\"$name.h\"" \
    -DQT_RUNS=$runs -I"$dir" -o "$prog" "$here/host_main.c" "$dir/$name.c"
valgrind --tool=callgrind --collect-atstart=no --toggle-collect="${name}_run_static" \
    --callgrind-out-file="$out/callgrind.$name" "$prog" >/dev/null 2>"$out/callgrind.$name.log" ||
    { cat "$out/callgrind.$name.log" >&2; exit 1; }
total=$(sed -n 's/^summary: *//p' "$out/callgrind.$name")
[ -n "$total" ] || { echo "host_icount.sh: no callgrind summary" >&2; exit 1; }
echo $((total / runs))
