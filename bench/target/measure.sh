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
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: measure.sh GENERATED_DIR NAME [SAMPLE.c]" >&2; exit 2; }
dir=$(cd "$1" && pwd); name=$2; upper=$(echo "$name" | tr a-z A-Z); sample=${3:-}
out=${QT_OUT:-$dir/bench}
mkdir -p "$out"
if [ -n "$sample" ]; then
    srcs="$sample"; sampleflag="-I$root/examples/firmware"
else
    srcs=""; sampleflag="-DQT_NO_SAMPLE"
fi
printf '%-9s %10s %7s %6s %6s %6s %8s %8s %6s %6s %6s\n' \
    core instr per_mac code lib other weights flash arena static stack
for core in ${QT_CORES:-m0 m3 m4 rv32}; do
    case $core in
        m0) machine=microbit; label=cortex-m0 ;;
        m3) machine=mps2-an385; label=cortex-m3 ;;
        m4) machine=mps2-an386; label=cortex-m4 ;;
        rv32) machine=virt; label=rv32imc ;;
        *) echo "measure.sh: unknown core '$core'" >&2; exit 2 ;;
    esac
    elf=$out/${name}_bench_$core.elf
    build() {
        # shellcheck disable=SC2086
        QT_CFLAGS="-DQT_NAME=$name -DQT_UPPER=$upper -DQT_HEADER=\"$name.h\" -I$dir
                   -I$root/bench/qemu_icount $sampleflag ${QT_OPT:-}" \
            "$root/tests/target/build.sh" "$core" "$elf" "$here/infer_main.c" \
            "$root/bench/qemu_icount/bench_marks.c" "$dir/$name.c" $srcs
    }
    if [ "$core" = m0 ] && ! build 2>"$out/${name}_bench_m0.build.log"; then
        # Too big for the micro:bit's 16 KB of RAM? The same M0 code on the
        # MPS2 memory map, run by the M3 of mps2-an385: the instructions are
        # the same, only unaligned accesses would not trap.
        grep -q "overflowed\|left for the stack" "$out/${name}_bench_m0.build.log" ||
            { cat "$out/${name}_bench_m0.build.log" >&2; exit 1; }
        echo "measure.sh: $name does not fit the micro:bit's RAM; cortex-m0* = M0 code on mps2-an385" >&2
        export QT_BOARD=mps2
        machine=mps2-an385
        label="cortex-m0*"
        build
        unset QT_BOARD
    elif [ "$core" != m0 ]; then
        build
    fi
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
