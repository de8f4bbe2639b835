#!/bin/sh
# Usage: measure.sh GENERATED_DIR NAME [SAMPLE.c]
# For each core in $QT_CORES (default: m0 m3 m4 rv32) builds the benchmark image
# (infer_main.c: one NAME_run between the markers) from GENERATED_DIR/NAME.c
# with tests/target/build.sh (-Os; $QT_OPT, e.g. -O2, overrides), runs it
# under qemu with the instruction-count plugin and prints one row per core:
#   core     cortex-m0 / m3 / m4, rv32imc (qemu-system-riscv32 -M virt)
#   instr    guest instructions of one NAME_run (markers' cost subtracted)
#   per_mac  instr / $QT_MACS when set (MACs per inference), else -
#   code     .text of the model; lib: .text from libgcc/libc; other: startup, main
#   weights  the model's constant data; flash: the whole image
#   arena    the model's static RAM (its arena); static: other .data/.bss;
#   stack    stack high-water mark of the run (stack painting)
# SAMPLE.c defines the input (examples/firmware/sample.c for a 28x28x1
# model); without it the input is pseudo-random. Images go to $QT_OUT
# (default GENERATED_DIR/bench). A model whose RAM does not fit the
# micro:bit's 16 KB is measured as M0 code on mps2-an385, row "cortex-m0*".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/image.sh"
printf '%-9s %10s %7s %6s %6s %6s %8s %8s %6s %6s %6s\n' \
    core instr per_mac code lib other weights flash arena static stack
for core in ${QT_CORES:-m0 m3 m4 rv32}; do
    elf=$out/${name}_bench_$core.elf
    bench_image "$core" "$elf"
    counts=$("$root/bench/qemu_icount/icount.sh" "$machine" "$elf" 2>"$out/${name}_bench_$core.log") ||
        { cat "$out/${name}_bench_$core.log" >&2; exit 1; }
    set -- $counts
    [ $# -eq 2 ] || { echo "measure.sh: expected 2 counts from $elf, got '$counts'" >&2; exit 1; }
    instr=$(($2 - $1))
    stack=$(sed -n 's/.*stack bytes used \([0-9]*\).*/\1/p' "$out/${name}_bench_$core.log")
    eval "$("$here/footprint.sh" "${elf%.elf}.map" "$name.o")"
    per_mac=-
    [ -n "${QT_MACS:-}" ] && per_mac=$(awk -v i="$instr" -v m="$QT_MACS" 'BEGIN{printf "%.2f", i / m}')
    printf '%-9s %10d %7s %6d %6d %6d %8d %8d %6d %6d %6s\n' "$label" "$instr" "$per_mac" \
        "$code_model" "$code_lib" "$code_other" "$weights" "$flash" "$ram_model" "$ram_other" "$stack"
done
