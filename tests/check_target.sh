#!/bin/sh
# The generated C on Cortex-M (issue 2's must-show): a model that uses every
# op (and one that also uses every form of format version 2: dilation,
# per-side padding, a channel multiplier, padded pools, TFLite's average pool,
# softmax), generated with its golden self-test, built for Cortex-M0
# (arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -mfloat-abi=soft -Os), links no
# floating-point helper, and its self-test passes under qemu on -M microbit
# (a Cortex-M0, which traps unaligned accesses) and on -M mps2-an385
# (Cortex-M3); built for M3 and for M4 it passes on mps2-an385 and
# mps2-an386. So does the model generated for each core alone (qatc gen
# --target cortex-m0/m3/m4), which a compiler for another core refuses. A copy
# whose expected outputs have one byte changed must fail with exactly one
# mismatch, so this check can fail. The reference CNN with 4-bit weights passes its
# golden self-test on M0, M3 and M4 too.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
QATC=${QATC:-$root/qatc}
CC=${CC:-cc}
target=$root/tests/target
out=$BUILD/check_target
rm -rf "$out"
mkdir -p "$out"

# The reference every-op model (random_model with every_op, fixed seed) and 8 images.
$CC -std=c11 -Wall -Wextra -Werror -I"$root/runtime/int8" -I"$root/runtime/common" \
    -I"$root/tests/support" \
    -o "$out/every_op" "$target/every_op.c" "$BUILD/obj/tests/support/random_model.o" \
    "$BUILD/libqatc_int8.a" "$BUILD/libqatc_common.a" -lyaml -lz -lm
"$out/every_op" 3 "$out/every_op.frozen.yaml" "$out/images.idx" 8
for want in "op: conv2d" "op: dwconv2d" "op: linear" "op: maxpool" "op: avgpool" "op: add" \
            "op: flatten" "act: relu" "act: relu6" "per_channel: true" "per_channel: false"; do
    grep -q "$want\$" "$out/every_op.frozen.yaml" ||
        { echo "FAIL: the every-op model has no '$want'"; exit 1; }
done
mkdir -p "$out/gen"
"$QATC" gen "$out/every_op.frozen.yaml" -o "$out/gen" --golden 8 --images "$out/images.idx"

. "$root/tests/support/expect.sh"
expect 0 "m0 on microbit" "$target/run.sh" m0 "$out/gen" every_op
echo "ok m0 image links no floating-point helper; from libgcc/libc it links:" \
    $(arm-none-eabi-nm "$out/gen/target-m0/every_op_selftest.elf" | awk '$3 ~ /^(__|mem)/ {print $3}' | sort -u)
expect 0 "m0 image on mps2-an385" env QT_MACHINE=mps2-an385 QT_OUT="$out/gen/target-m0-an385" \
    "$target/run.sh" m0 "$out/gen" every_op
expect 0 "m3 on mps2-an385" "$target/run.sh" m3 "$out/gen" every_op
expect 0 "m4 on mps2-an386" "$target/run.sh" m4 "$out/gen" every_op

# The same model generated for one core (qatc gen --target): only that core's inner loops
# (test_gen checks which), warning-free with gcc and clang at -Os and -O2, its self-test
# passes there; compiled for another core it stops at its #error.
for pair in cortex-m0:m0 cortex-m3:m3 cortex-m4:m4; do
    t=${pair%%:*}; core=${pair#*:}
    mkdir -p "$out/$t"
    "$QATC" gen "$out/every_op.frozen.yaml" -o "$out/$t" --target "$t" --golden 8 \
        --images "$out/images.idx" > /dev/null
    for opt in -Os -O2; do
        clang --target=arm-none-eabi -mcpu="$t" -mthumb -mfloat-abi=soft -ffreestanding $opt \
            -std=c99 -Wall -Wextra -Wconversion -Werror -c "$out/$t/every_op.c" -o "$out/$t/clang.o" ||
            { echo "FAIL --target $t: clang $opt"; exit 1; }
    done
    expect 0 "--target $t on $core" "$target/run.sh" "$core" "$out/$t" every_op
done
expect 0 "--target cortex-m3 at -O2 on m3" env QT_CFLAGS=-O2 QT_OUT="$out/cortex-m3/O2" \
    "$target/run.sh" m3 "$out/cortex-m3" every_op
expect 0 "--target cortex-m4 at -O2 on m4" env QT_CFLAGS=-O2 QT_OUT="$out/cortex-m4/O2" \
    "$target/run.sh" m4 "$out/cortex-m4" every_op
if arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -c "$out/cortex-m0/every_op.c" -o /dev/null \
       2> "$out/wrong.log" || ! grep -q 'was generated for cortex-m0' "$out/wrong.log"; then
    cat "$out/wrong.log"
    echo "FAIL: the --target cortex-m0 file compiled for a Cortex-M4 without its #error"
    exit 1
fi
echo "ok --target cortex-m0 for a Cortex-M4: stops at its #error"

# The forms of format version 2 (every_op with breadth, seed 1: dilation, per-side padding,
# a channel multiplier, padded pools, TFLite's average pool, softmax) on every core, in
# the file with every version and in each core's own.
"$out/every_op" 1 "$out/every_form.frozen.yaml" "$out/form_images.idx" 8 breadth
"$QATC" report "$out/every_form.frozen.yaml" > "$out/every_form.report"
for want in "dilation [2-9]" "pad \[[0-9, ]*\].*channel multiplier [2-9]" "divided by the count" \
            "pool.*pad \[[0-9, ]*[1-9]" "softmax"; do
    grep -q "$want" "$out/every_form.report" ||
        { echo "FAIL: the every-form model has no '$want'"; exit 1; }
done
mkdir -p "$out/form"
"$QATC" gen "$out/every_form.frozen.yaml" -o "$out/form" --golden 8 \
    --images "$out/form_images.idx" > /dev/null
expect 0 "every-form m0 on microbit" "$target/run.sh" m0 "$out/form" every_form
expect 0 "every-form m3 on mps2-an385" "$target/run.sh" m3 "$out/form" every_form
expect 0 "every-form m4 on mps2-an386" "$target/run.sh" m4 "$out/form" every_form
for pair in cortex-m0:m0 cortex-m3:m3 cortex-m4:m4; do
    t=${pair%%:*}; core=${pair#*:}
    mkdir -p "$out/form-$t"
    "$QATC" gen "$out/every_form.frozen.yaml" -o "$out/form-$t" --target "$t" --golden 8 \
        --images "$out/form_images.idx" > /dev/null
    expect 0 "every-form --target $t on $core" "$target/run.sh" "$core" "$out/form-$t" every_form
done

# The reference CNN with 4-bit weights (tests/data/fmnist_cnn_w4_random.frozen.yaml, packed
# two per byte; the 4-bit kernels of Thumb-1, SMLAL and DSP in assembly): its golden
# self-test on each core, at -Os and -O2, in the file with every version and in each
# core's own.
{
    printf '\000\000\010\003\000\000\000\004\000\000\000\034\000\000\000\034'
    LC_ALL=C awk 'BEGIN { for (i = 0; i < 4 * 784; i++) printf "%c", (i * 37 + int(i / 97)) % 256 }'
} > "$out/w4_images.idx"
w4=$root/tests/data/fmnist_cnn_w4_random.frozen.yaml
mkdir -p "$out/w4"
"$QATC" gen "$w4" -o "$out/w4" --golden 4 --images "$out/w4_images.idx" > /dev/null
for core in m0 m3 m4; do
    expect 0 "W4 CNN on $core" "$target/run.sh" "$core" "$out/w4" fmnist_cnn_w4
    expect 0 "W4 CNN on $core at -O2" env QT_CFLAGS=-O2 QT_OUT="$out/w4/O2-$core" \
        "$target/run.sh" "$core" "$out/w4" fmnist_cnn_w4
done
for pair in cortex-m0:m0 cortex-m3:m3 cortex-m4:m4; do
    t=${pair%%:*}; core=${pair#*:}
    mkdir -p "$out/w4-$t"
    "$QATC" gen "$w4" -o "$out/w4-$t" --target "$t" --golden 4 --images "$out/w4_images.idx" \
        > /dev/null
    expect 0 "W4 CNN --target $t on $core" "$target/run.sh" "$core" "$out/w4-$t" fmnist_cnn_w4
done

# The negative check: the first expected output byte changed (v+1, or 126 for 127).
mkdir -p "$out/bad"
cp "$out/gen/every_op.c" "$out/gen/every_op.h" "$out/bad/"
"$target/corrupt_golden.sh" "$out/gen/every_op_golden.c" "$out/bad/every_op_golden.c" ||
    { echo "FAIL: cannot corrupt every_op_golden.c"; exit 1; }
expect 1 "m0 with one corrupted expected byte reports 1 mismatch" "$target/run.sh" m0 "$out/bad" every_op
