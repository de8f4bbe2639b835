#!/bin/sh
# Usage: bench/rv32/proto.sh [OUT]
# The RV32IM inner-loop prototype (README.md here) end to end, on the
# reference CNN (tests/data/fmnist_cnn_random.frozen.yaml):
#   1. qatc gen with 8 Fashion-MNIST test images as golden inputs, into
#      OUT/plain; a copy in OUT/tiled with rv32_proto.patch applied;
#   2. bit-exactness: the tiled copy's golden self-test under
#      qemu-system-riscv32 at -Os and -O2 (tests/target/run.sh rv32), its C
#      fallback (the same file on the host with -DQATC_DOT=QATC_DOT_RV32, gcc
#      and clang, -O0 and -O2), and requantize_check.c (the word-wise
#      requantize() against the int64 formula, 12 million cases);
#   3. instructions per inference and per MAC, code and flash, at -O2 and
#      -Os, of the plain and the tiled C (bench/target/measure.sh), and per
#      layer at -O2 (bench/target/layers.sh).
# OUT defaults to out/rv32. Fails if a step fails or a self-test differs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/out/rv32}
QATC=${QATC:-$root/qatc}
CC=${CC:-cc}
data=/usr/share/datasets/fashion-mnist
model=$root/tests/data/fmnist_cnn_random.frozen.yaml
name=fmnist_cnn
[ -x "$QATC" ] || { echo "proto.sh: $QATC: not built (make qatc)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/plain"
"$QATC" gen "$model" -o "$out/plain" --golden 8 --images "$data/t10k-images-idx3-ubyte.gz" >/dev/null
cp -r "$out/plain" "$out/tiled"
patch -s -d "$out/tiled" -p1 < "$here/rv32_proto.patch" ||
    { echo "proto.sh: rv32_proto.patch does not apply to what qatc gen writes now" >&2; exit 1; }
printf '#pragma GCC poison float double\n' > "$out/poison.h"

echo "== bit-exactness of the tiled copy"
for opt in -Os -O2; do
    QT_CFLAGS="-include $out/poison.h $opt" QT_OUT="$out/tiled/selftest$opt" \
        "$root/tests/target/run.sh" rv32 "$out/tiled" $name > "$out/selftest$opt.log" 2>&1 ||
        { cat "$out/selftest$opt.log"; echo "proto.sh: rv32 self-test failed at $opt" >&2; exit 1; }
    echo "rv32imc $opt: $(grep 'selftest:' "$out/selftest$opt.log")"
done
cat > "$out/host_selftest.c" <<'C'
#include <stdio.h>
int fmnist_cnn_selftest(void);
int main(void)
{
    int bad = fmnist_cnn_selftest();
    printf("%d output bytes differ\n", bad);
    return bad != 0;
}
C
for cc in gcc clang; do
    for opt in -O0 -O2; do
        for f in $name ${name}_golden; do
            $cc -std=c99 -Wall -Wextra -Wconversion -Werror $opt -include "$out/poison.h" \
                -DQATC_DOT=QATC_DOT_RV32 -I"$out/tiled" -c "$out/tiled/$f.c" -o "$out/$f.o"
        done
        $cc -o "$out/host" "$out/host_selftest.c" "$out/$name.o" "$out/${name}_golden.o"
        echo "host $cc $opt, the C of the RV32 version: $("$out/host")"
    done
done
$CC -std=c99 -O2 -Wall -Wextra -I"$out/tiled" -o "$out/requantize_check" "$here/requantize_check.c"
"$out/requantize_check"

echo "== instructions (qemu-system-riscv32, bench/qemu_icount), code and flash bytes"
macs=$("$QATC" report "$model" | sed -n 's/^totals: \([0-9]*\) MACs.*/\1/p')
for version in plain tiled; do
    for opt in -O2 -Os; do
        echo "$version $opt:"
        QT_CORES=rv32 QT_OPT=$opt QT_MACS=$macs QT_OUT="$out/$version/bench$opt" \
            "$root/bench/target/measure.sh" "$out/$version" $name "$root/examples/firmware/sample.c"
    done
done
echo "== per layer, -O2: plain, then tiled"
for version in plain tiled; do
    QT_CORES=rv32 QT_OPT=-O2 QT_OUT="$out/$version/layers" \
        "$root/bench/target/layers.sh" "$out/$version" $name "$root/examples/firmware/sample.c"
done
