#!/bin/sh
# Usage: layers.sh GENERATED_DIR NAME [SAMPLE.c]
# Instructions per layer of one NAME_run_static on each core in $QT_CORES
# (default m0 m3 m4 rv32). The benchmark image of measure.sh is built with -g
# (debug information only: the code is byte-identical), the icount plugin
# counts every instruction address (icount.sh -p), and addr2line's inline
# chain of each address attributes it to the generated layer function
# (NAME_layer_*) it belongs to, even when GCC inlined that function into
# NAME_run. Addresses outside any layer keep the name of their own function:
# NAME_run (the calls between layers), or a helper GCC kept out of line
# (requantize, libgcc's __aeabi_lmul, ...), whose callers the count per
# address cannot tell apart. Prints one row per name, one column per core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/image.sh"
cores=${QT_CORES:-m0 m3 m4 rv32}
for core in $cores; do
    elf=$out/${name}_layers_$core.elf
    bench_image "$core" "$elf" -g
    pcs=$out/${name}_layers_$core.pcs
    "$root/bench/qemu_icount/icount.sh" -p "$machine" "$elf" >"$pcs" 2>"$out/${name}_layers_$core.log" ||
        { cat "$out/${name}_layers_$core.log" >&2; exit 1; }
    # addr2line -a -f -i prints, per address: the address, then (function,
    # file:line) from the innermost inlined function out to the real one.
    awk '{ print $1 }' "$pcs" | "$root/tests/target/elftool.sh" addr2line "$elf" -a -f -i |
        awk -v layer="^${name}_layer_" '
            /^0x/ { if (n) print pick; n = 0; pick = ""; next }
            { if (n++ % 2) next                     # file:line
              if ($1 ~ layer) pick = $1
              else if (pick !~ layer) pick = $1 }    # the outermost, unless in a layer
            END { if (n) print pick }' |
        paste -d ' ' - "$pcs" | awk '{ count[$1] += $3 } END { for (f in count) print count[f], f }' |
        sort -k1,1nr >"$out/${name}_layers_$core.txt"
done
# One table: rows in the order of the first core's counts, one column per core.
first=$(echo "$cores" | awk '{ print $1 }')
awk -v out="$out" -v name="$name" -v cores="$cores" -v first="$first" '
    BEGIN {
        ncore = split(cores, c, " ")
        for (i = 1; i <= ncore; i++) {
            f = out "/" name "_layers_" c[i] ".txt"
            while ((getline line < f) > 0) {
                split(line, p, " ")
                count[i, p[2]] = p[1]; total[i] += p[1]
                if (!(p[2] in seen)) { seen[p[2]] = 1; order[++rows] = p[2] }
            }
        }
        printf "%-32s", "function"
        for (i = 1; i <= ncore; i++) printf " %11s", c[i] == "rv32" ? "rv32imc" : "cortex-" c[i]
        printf "\n"
        for (r = 1; r <= rows; r++) {
            printf "%-32s", order[r]
            for (i = 1; i <= ncore; i++) printf " %11s", ((i, order[r]) in count) ? count[i, order[r]] : "-"
            printf "\n"
        }
        printf "%-32s", "total"
        for (i = 1; i <= ncore; i++) printf " %11d", total[i]
        printf "\n"
    }'
