#!/bin/sh
# Usage: bench.sh [--table] [MODEL...]   (make bench; MODEL: kws ic vww ad, default all four)
#
# The inference figures of the MLPerf Tiny examples beside CMSIS-NN's: for each model,
# the code that `make gen` generated from MODEL/out/NAME.frozen.yaml (MODEL/out/gen) is
# built for Cortex-M0, M3, M4 and rv32imc at -Os and at -O2 and run under qemu with the
# instruction-count plugin (bench/target/measure.sh, the same method as the top-level
# `make bench`; the input is measure.sh's fixed pseudo-random one). M0 code runs on
# mps2-an385 when the model does not fit the micro:bit.
#
# Writes MODEL/out/bench-Os.txt and bench-O2.txt (measure.sh's rows) and prints one
# Markdown table: instructions per inference, the ratio to CMSIS-NN's (commit 99f736a,
# arm-none-eabi-gcc 12.2 -O2, counted under qemu), arena, kernel code and flash. With
# --table only the table, from the files an earlier run wrote.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
QATC=${QATC:-$root/qatc}

# MODEL NAME MACS  CMSIS-NN: M0 M3 M4 instructions, arena, kernel code M0 M4
cmsis() {
    case $1 in
        kws) echo kws_dscnn 2656768 29002597 10531192 7578199 16000 17656 20856 ;;
        ic) echo ic_resnet8 12501632 97547542 41843860 29779194 49728 13972 17296 ;;
        vww) echo vww_mobilenet 7489664 86928521 31954359 23767041 55296 17656 20856 ;;
        ad) echo ad_autoencoder 264192 1756091 952654 579773 768 2300 4012 ;;
        *) echo "bench.sh: unknown model '$1' (kws ic vww ad)" >&2; exit 2 ;;
    esac
}

measure=1
[ "${1:-}" = --table ] && { measure=0; shift; }
models=${*:-kws ic vww ad}
for m in $models; do cmsis "$m" > /dev/null; done   # an unknown model stops here
[ "$measure" = 1 ] && for m in $models; do
    set -- $(cmsis "$m")
    name=$1 macs=$2
    gen=$here/$m/out/gen
    [ -f "$gen/$name.c" ] || { echo "bench.sh: $gen/$name.c missing (make gen)" >&2; exit 1; }
    for opt in Os O2; do
        echo "bench.sh: $m -$opt" >&2
        QT_OUT=$here/$m/out/bench-$opt QT_OPT=-$opt QT_MACS=$macs \
            "$root/bench/target/measure.sh" "$gen" "$name" > "$here/$m/out/bench-$opt.txt.tmp"
        mv "$here/$m/out/bench-$opt.txt.tmp" "$here/$m/out/bench-$opt.txt"
    done
done

echo "| model | core | CMSIS-NN instr | qatc -O2 | ratio | qatc -Os | ratio | arena (CMSIS-NN) | code -Os / -O2 (CMSIS-NN kernels) | flash -Os |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in $models; do
    set -- $(cmsis "$m")
    # measure.sh rows: core instr per_mac code lib other weights flash arena static stack
    awk -v m="$m" -v c0="$3" -v c3="$4" -v c4="$5" -v carena="$6" -v k0="$7" -v k4="$8" '
        function commas(n,   s) { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
        FNR == 1 { f++; next }
        { core = $1; sub(/\*$/, "", core); sub(/^cortex-/, "", core); sub(/^rv32imc$/, "rv32", core)
          if (!(core in seen)) { seen[core] = 1; order[++n] = core }
          instr[f, core] = $2; code[f, core] = $4; flash[f, core] = $8; arena[core] = $9 }
        END {
            for (i = 1; i <= n; i++) {
                c = order[i]
                ref = c == "m0" ? c0 : c == "m3" ? c3 : c == "m4" ? c4 : 0
                kern = c == "m0" ? k0 : c == "m4" ? k4 : 0
                r2 = ref ? sprintf("%.2f", instr[2, c] / ref) : "-"
                rs = ref ? sprintf("%.2f", instr[1, c] / ref) : "-"
                printf "| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s / %s (%s) | %s |\n", m, c,
                    ref ? commas(ref) : "-", commas(instr[2, c]), r2, commas(instr[1, c]), rs,
                    commas(arena[c]), ref ? commas(carena) : "-", commas(code[1, c]), commas(code[2, c]),
                    kern ? commas(kern) : "-", commas(flash[1, c])
            }
        }' "$here/$m/out/bench-Os.txt" "$here/$m/out/bench-O2.txt"
done
