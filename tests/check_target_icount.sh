#!/bin/sh
# The instruction-counting plugin (bench/qemu_icount) counts exactly: a loop
# of two instructions per iteration run 1000 and 3000 times must differ by
# exactly 4000 instructions on Cortex-M0, M3, M4 and rv32imc (qemu-system-riscv32
# -M virt), and the empty marker pair
# must cost a handful of instructions; counted per address, the loop's
# addresses must hold exactly its instructions.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$root/build}
out=$BUILD/check_target_icount
mkdir -p "$out"
for pair in m0:microbit m3:mps2-an385 m4:mps2-an386 rv32:virt; do
    core=${pair%%:*}; machine=${pair#*:}
    elf=$out/loop_$core.elf
    "$root/tests/target/build.sh" "$core" "$elf" \
        "$root/bench/qemu_icount/loop_main.c" "$root/bench/qemu_icount/bench_marks.c"
    counts=$("$root/bench/qemu_icount/icount.sh" "$machine" "$elf" 2>/dev/null | tr '\n' ' ')
    set -- $counts
    [ $# -eq 3 ] || { echo "FAIL $core: expected 3 counts, got '$counts'"; exit 1; }
    empty=$1; c1000=$2; c3000=$3
    if [ $((c3000 - c1000)) -ne 4000 ] || [ "$empty" -lt 1 ] || [ "$empty" -gt 10 ] ||
       [ $((c1000 - empty)) -lt 2000 ] || [ $((c1000 - empty)) -gt 2010 ]; then
        echo "FAIL $core: counts empty=$empty spin(1000)=$c1000 spin(3000)=$c3000;" \
             "want spin(3000)-spin(1000)=4000 exactly"
        exit 1
    fi
    echo "ok $core ($machine): empty pair $empty, spin(1000) $c1000, spin(3000) $c3000 instructions"
    # Per address (-p), the last pair: the addresses inside spin ran
    # 2 * 3000 + 1 (its return) times in all, and all addresses add up to the total.
    "$root/bench/qemu_icount/icount.sh" -p "$machine" "$elf" >"$out/pcs_$core.txt" 2>/dev/null
    range=$("$root/tests/target/elftool.sh" nm "$elf" -S | awk '$4 == "spin" { print $1, $2 }')
    set -- $range
    spin=$(awk -v lo=$((0x$1)) -v hi=$((0x$1 + 0x$2)) '
        { pc = 0; for (i = 3; i <= length($1); i++) pc = pc * 16 + index("0123456789abcdef", substr($1, i, 1)) - 1
          if (pc >= lo && pc < hi) s += $2 } END { print s }' "$out/pcs_$core.txt")
    total=$(awk '{ s += $2 } END { print s }' "$out/pcs_$core.txt")
    if [ "$spin" != 6001 ] || [ "$total" != "$c3000" ]; then
        cat "$out/pcs_$core.txt"
        echo "FAIL $core per address: spin $spin (want 6001), all addresses $total (want $c3000)"
        exit 1
    fi
    echo "ok $core per address: spin $spin of $total instructions"
done
