#!/bin/sh
# Usage: steps.sh GENERATED_DIR NAME [SAMPLE.c]
# Instructions per step of one NAME_run on each core in $QT_CORES (default m0
# m3 m4 rv32): a copy of GENERATED_DIR/NAME.c gets instruction-count markers
# (bench/qemu_icount: bench_stop(); bench_start();) after each step of
# NAME_run, the benchmark image of measure.sh is built from it (-Os; $QT_OPT,
# e.g. -O2, overrides) and run under qemu with the icount plugin. A step's
# count is everything its layer function runs, the helpers it calls included
# (shared ones too: the kernels, requantize, libgcc), minus the markers' own
# cost. Exact at -Os; at -O2 the markers can change what GCC inlines into
# NAME_run a little (compare the total with measure.sh's). Prints one row per
# step (its comment in NAME_run), one column per core, then the total.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/image.sh"
mkdir -p "$out/steps"
# The marked copy: the steps are the lines "    NAME_layer_X(...); /* COMMENT */" of NAME_run.
awk -v step="^    ${name}_layer_" '
    NR == 1 { print; print "void bench_start(void);"; print "void bench_stop(void);"; next }
    $0 ~ step { print; print "    bench_stop();"; print "    bench_start();"; next }
    { print }' "$dir/$name.c" >"$out/steps/$name.c"
cp "$dir/$name.h" "$out/steps/"
sed -n "s|^    ${name}_layer_[^;]*; /\* \(.*\) \*/\$|\1|p" "$dir/$name.c" >"$out/steps/names"
dir=$out/steps # the images are built from the marked copy
cores=${QT_CORES:-m0 m3 m4 rv32}
for core in $cores; do
    elf=$out/steps/${name}_steps_$core.elf
    bench_image "$core" "$elf"
    # pairs: the empty one (the markers' cost), then one per step (the last closed by
    # infer_main.c's bench_stop, after NAME_run returns)
    "$root/bench/qemu_icount/icount.sh" "$machine" "$elf" 2>"$out/steps/$core.log" |
        awk 'NR == 1 { m = $1; next } { print $1 - m }' >"$out/steps/$core.counts" ||
        { cat "$out/steps/$core.log" >&2; exit 1; }
done
awk -v out="$out/steps" -v cores="$cores" '
    BEGIN {
        ncore = split(cores, c, " ")
        while ((getline line < (out "/names")) > 0) name[++rows] = line
        for (i = 1; i <= ncore; i++) {
            r = 0
            while ((getline line < (out "/" c[i] ".counts")) > 0) count[i, ++r] = line
        }
        printf "%-40s", "step"
        for (i = 1; i <= ncore; i++) printf " %11s", c[i] == "rv32" ? "rv32imc" : "cortex-" c[i]
        printf "\n"
        for (r = 1; r <= rows; r++) {
            printf "%-40s", substr(name[r], 1, 40)
            for (i = 1; i <= ncore; i++) { printf " %11s", count[i, r]; total[i] += count[i, r] }
            printf "\n"
        }
        printf "%-40s", "total"
        for (i = 1; i <= ncore; i++) printf " %11d", total[i]
        printf "\n"
    }'
