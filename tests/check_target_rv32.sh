#!/bin/sh
# The generated C on an FPU-less RISC-V core (rv32imc): the reference CNN
# (tests/data/fmnist_cnn_random.frozen.yaml, random weights) with 8
# Fashion-MNIST test images as golden inputs, built by tests/target/build.sh
# rv32 (riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32, picolibc) with
# float and double poisoned, links no floating-point helper and passes its
# self-test under qemu-system-riscv32 -M virt, bit-exact, at -Os and at -O2
# (the RV32IM version's assembly at both), and calls no libgcc 64-bit helper
# (requantize's product is mul and mulh, the rest 32-bit words). An image with float arithmetic must be refused, and a copy whose
# expected outputs have one byte changed must fail with exactly one
# mismatch, so this check can fail. The file generated for rv32 alone
# (--target rv32) passes the same self-test, and so does the network with 4-bit
# weights (at -Os and -O2). The random models run on rv32imc
# in test_gen_random (tests/support/gen_build.sh).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
QATC=${QATC:-$root/qatc}
target=$root/tests/target
data=/usr/share/datasets/fashion-mnist
out=$BUILD/check_target_rv32
rm -rf "$out"
mkdir -p "$out/gen" "$out/bad"
for tool in riscv64-unknown-elf-gcc qemu-system-riscv32; do
    command -v $tool > /dev/null || { echo "FAIL: $tool is not installed (make deps)"; exit 1; }
done
"$QATC" gen "$root/tests/data/fmnist_cnn_random.frozen.yaml" -o "$out/gen" \
    --golden 8 --images "$data/t10k-images-idx3-ubyte.gz" > /dev/null
printf '#pragma GCC poison float double\n' > "$out/poison.h"

. "$root/tests/support/expect.sh"
for opt in -Os -O2; do
    expect 0 "reference CNN on rv32imc $opt" env QT_CFLAGS="-include $out/poison.h $opt" \
        QT_OUT="$out/gen/target-rv32$opt" "$target/run.sh" rv32 "$out/gen" fmnist_cnn
    helpers=$(riscv64-unknown-elf-nm "$out/gen/target-rv32$opt/fmnist_cnn_selftest.elf" |
              awk '$2 ~ /[Tt]/ && $3 ~ /^(__|mem)/ {print $3}' | sort -u)
    echo "ok $opt image links no floating-point helper; from libgcc/libc it links:" $helpers
    case " $(echo $helpers) " in
        *di3\ *) echo "FAIL: the $opt image calls a 64-bit helper:" $helpers; exit 1 ;;
    esac
done

# Generated for rv32 alone (qatc gen --target rv32): only its version, the same self-test.
mkdir -p "$out/gen-rv32"
"$QATC" gen "$root/tests/data/fmnist_cnn_random.frozen.yaml" -o "$out/gen-rv32" --target rv32 \
    --golden 8 --images "$data/t10k-images-idx3-ubyte.gz" > /dev/null
expect 0 "reference CNN, --target rv32, on rv32imc" env QT_CFLAGS="-include $out/poison.h" \
    "$target/run.sh" rv32 "$out/gen-rv32" fmnist_cnn

# The same network with 4-bit weights (tests/data/fmnist_cnn_w4_random.frozen.yaml): the
# rows unpacked per call, then RV32's assembly, at -Os and -O2.
mkdir -p "$out/w4"
"$QATC" gen "$root/tests/data/fmnist_cnn_w4_random.frozen.yaml" -o "$out/w4" \
    --golden 8 --images "$data/t10k-images-idx3-ubyte.gz" > /dev/null
for opt in -Os -O2; do
    expect 0 "reference CNN with 4-bit weights on rv32imc $opt" \
        env QT_CFLAGS="-include $out/poison.h $opt" QT_OUT="$out/w4/target-rv32$opt" \
        "$target/run.sh" rv32 "$out/w4" fmnist_cnn_w4
done

# nofloat.sh can fail on RISC-V: an image with soft-float arithmetic is refused.
cat > "$out/float.c" <<'C'
volatile float f = 1.5f;
int main(void) { return (int)(f * 3.0f); }
C
if "$target/build.sh" rv32 "$out/float.elf" "$out/float.c" > "$out/float.log" 2>&1; then
    echo "FAIL: an rv32 image with float arithmetic passed nofloat.sh"; exit 1
fi
grep -q 'links floating-point helpers:.*__mulsf3' "$out/float.log" ||
    { cat "$out/float.log"; echo "FAIL: nofloat.sh did not name __mulsf3"; exit 1; }
echo "ok nofloat.sh refuses a float image: $(grep -o 'helpers:.*' "$out/float.log")"

# The negative check: the first expected output byte changed.
cp "$out/gen/fmnist_cnn.c" "$out/gen/fmnist_cnn.h" "$out/bad/"
"$target/corrupt_golden.sh" "$out/gen/fmnist_cnn_golden.c" "$out/bad/fmnist_cnn_golden.c" ||
    { echo "FAIL: cannot corrupt fmnist_cnn_golden.c"; exit 1; }
expect 1 "rv32imc with one corrupted expected byte reports 1 mismatch" \
    "$target/run.sh" rv32 "$out/bad" fmnist_cnn
