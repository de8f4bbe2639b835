#!/bin/sh
# The assembly inner loops of the generated conv2d layers (Cortex-M0 dot8_thumb1,
# M3 dot4x2_smlal, M4 dot4x2_dsp, and the inline-assembly window copies) on
# models of many shapes, where make check otherwise runs them on two models
# only (the random models of test_gen_random run the same sums in C on the
# host): the every-op model of seeds 1 to 6 (tests/target/every_op.c), and
# each again with every zero-point set to -128 where the model allows (then
# the M0 kernel leaves the padding out too), each generated with its golden self-test and run under
# qemu on Cortex-M0 (-Os), M3 and M4 (-O2; -Os runs the same assembly).
# Models whose RAM does not fit the micro:bit run as M0 code on mps2-an385.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
QATC=${QATC:-$root/qatc}
CC=${CC:-cc}
target=$root/tests/target
out=$BUILD/check_target_kernels
rm -rf "$out"
mkdir -p "$out"
$CC -std=c11 -Wall -Wextra -Werror -I"$root/runtime/int8" -I"$root/runtime/common" \
    -I"$root/tests/support" \
    -o "$out/every_op" "$target/every_op.c" "$BUILD/obj/tests/support/random_model.o" \
    "$BUILD/libqatc_int8.a" "$BUILD/libqatc_common.a" -lyaml -lz -lm

# run CORE DIR OPT: the self-test of DIR/every_op.c on CORE, on the micro:bit's
# memory map or, when its RAM is too small, the MPS2's
run() {
    log=$2/$1.log
    if QT_CFLAGS="$3" QT_OUT="$2/target-$1" sh "$target/run.sh" "$1" "$2" every_op >"$log" 2>&1; then
        return 0
    fi
    grep -q "overflowed\|left for the stack" "$log" || { cat "$log"; return 1; }
    QT_BOARD=mps2 QT_MACHINE=mps2-an385 QT_CFLAGS="$3" QT_OUT="$2/target-$1" \
        sh "$target/run.sh" "$1" "$2" every_op >"$log" 2>&1 || { cat "$log"; return 1; }
}

# zp128 FILE: every zero-point -128 where the model stays valid: a max pool's or a
# flatten's output keeps its input's, an average pool's differs from its input's (with
# its scale too it would be the division form, which qatc gen does not print yet)
zp128() {
    awk '/^input: / { z["input"] = -128 }
         /^  - op: / { op = $3 }
         /^    name: / { name = $2 }
         /^    input: / { src = $2 }
         /zero_point: -?[0-9]+}/ {
             v = -128
             if (op == "maxpool" || op == "flatten") v = z[src]
             else if (op == "avgpool") v = z[src] == -128 ? -127 : -128
             if (/^input: /) v = -128
             else z[name] = v
             sub(/zero_point: -?[0-9]+}/, "zero_point: " v "}")
         }
         { print }' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

n=0
for seed in 1 2 3 4 5 6; do
    for zp in own 128; do
        dir=$out/s$seed-$zp
        mkdir -p "$dir"
        "$out/every_op" "$seed" "$dir/every_op.frozen.yaml" "$dir/images.idx" 3
        [ $zp = own ] || zp128 "$dir/every_op.frozen.yaml"
        "$QATC" gen "$dir/every_op.frozen.yaml" -o "$dir" --golden 3 --images "$dir/images.idx" \
            >/dev/null
        run m0 "$dir" "" || { echo "FAIL seed $seed ($zp zero-points) on m0"; exit 1; }
        run m3 "$dir" -O2 || { echo "FAIL seed $seed ($zp zero-points) on m3"; exit 1; }
        run m4 "$dir" -O2 || { echo "FAIL seed $seed ($zp zero-points) on m4"; exit 1; }
        n=$((n + 1))
    done
done
convs=$(cat "$out"/s*/every_op.c | grep -c "^static void every_op_layer_conv2d" || true)
echo "ok $n models ($convs conv2d layers) pass their self-tests on Cortex-M0, M3 and M4"
