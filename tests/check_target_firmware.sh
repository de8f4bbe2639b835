#!/bin/sh
# The reference CNN (tests/data/fmnist_cnn_random.frozen.yaml, random
# weights) on the targets: its golden self-test passes on a Cortex-M0 with
# the micro:bit's 16 KB of RAM, also when generated for that core alone
# (--target cortex-m0); examples/firmware builds and runs it on M0,
# M4 and rv32imc (qemu's virt board) and prints a class, and links it for a
# GD32VF103 (gd32vf103.ld: 128 KB flash, 32 KB RAM); the example's host
# program runs both entry points (static and caller arena) on 100 test
# images and they agree.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
QATC=${QATC:-$root/qatc}
data=/usr/share/datasets/fashion-mnist
out=$BUILD/check_target_firmware
rm -rf "$out"
mkdir -p "$out/model"
"$QATC" gen "$root/tests/data/fmnist_cnn_random.frozen.yaml" -o "$out/model" \
    --golden 2 --images "$data/t10k-images-idx3-ubyte.gz"

status=0
"$root/tests/target/run.sh" m0 "$out/model" fmnist_cnn >"$out/selftest.log" 2>&1 || status=$?
[ $status -eq 0 ] || { cat "$out/selftest.log"; echo "FAIL reference CNN self-test on microbit: status $status"; exit 1; }
echo "ok reference CNN on microbit (16 KB RAM): $(grep selftest: "$out/selftest.log")"

# generated for the Cortex-M0 alone (qatc gen --target cortex-m0): the same self-test
mkdir -p "$out/model-m0"
"$QATC" gen "$root/tests/data/fmnist_cnn_random.frozen.yaml" -o "$out/model-m0" \
    --target cortex-m0 --golden 2 --images "$data/t10k-images-idx3-ubyte.gz" > /dev/null
"$root/tests/target/run.sh" m0 "$out/model-m0" fmnist_cnn >"$out/selftest-m0.log" 2>&1 || status=$?
[ $status -eq 0 ] || { cat "$out/selftest-m0.log"; echo "FAIL reference CNN --target cortex-m0 on microbit: status $status"; exit 1; }
echo "ok reference CNN, --target cortex-m0, on microbit: $(grep selftest: "$out/selftest-m0.log")"

for core in m0 m4 rv32; do
    make -s -C "$root/examples/firmware" MODEL_DIR="$out/model" OUT="$out/fw" CORE=$core run \
        >"$out/fw-$core.log" 2>&1 || { cat "$out/fw-$core.log"; echo "FAIL examples/firmware on $core"; exit 1; }
    grep -q '^class [0-9] (.*), label 9 (Ankle boot)$' "$out/fw-$core.log" ||
        { cat "$out/fw-$core.log"; echo "FAIL examples/firmware on $core printed no class"; exit 1; }
    echo "ok examples/firmware on $core: $(grep '^class' "$out/fw-$core.log")"
done

make -s -C "$root/examples/firmware" MODEL_DIR="$out/model" OUT="$out/fw-gd32vf103" CORE=rv32 \
    LDS=gd32vf103.ld bin >"$out/fw-gd32vf103.log" 2>&1 &&
    [ -s "$out/fw-gd32vf103/firmware-rv32.bin" ] ||
    { cat "$out/fw-gd32vf103.log"; echo "FAIL examples/firmware for the GD32VF103"; exit 1; }
echo "ok examples/firmware links for the GD32VF103: $(tail -1 "$out/fw-gd32vf103.log" | awk '{ print "text", $1, "data", $2, "bss", $3 }')"

make -s -C "$root/examples/firmware" MODEL_DIR="$out/model" OUT="$out/fw" host >"$out/host.log" 2>&1 ||
    { cat "$out/host.log"; echo "FAIL examples/firmware host build"; exit 1; }
"$out/fw/classify" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 100 \
    >"$out/host.log" 2>&1 || { cat "$out/host.log"; echo "FAIL examples/firmware host program"; exit 1; }
echo "ok examples/firmware host program, both entry points agree: $(cat "$out/host.log")"
