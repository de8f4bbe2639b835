#!/bin/sh
# make demo: the whole path a user takes, on Fashion-MNIST.
#   train (short schedule) -> int8 accuracy -> generate C -> classify the test
#   set with the generated C on the host -> Cortex-M0 and M4 firmware (flash,
#   RAM) -> golden self-test under qemu on M0 and M4.
# Everything goes to out/demo. Run from the top of the checkout after `make`.
set -eu
QATC=${QATC:-./qatc}
OUT=${OUT:-out/demo}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
CONFIG=${CONFIG:-examples/fmnist/fmnist_demo.yaml}
NAME=fmnist_cnn
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
mkdir -p "$OUT"
start=$(date +%s)
step() { printf '\n== [%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "1/6 train $CONFIG (float pretraining, then QAT) -> $OUT/$NAME.frozen.yaml"
"$QATC" train "$CONFIG" -o "$OUT"

step "2/6 int8 accuracy of the frozen model with the reference kernels (qatc eval)"
"$QATC" eval "$OUT/$NAME.frozen.yaml" --images "$IMAGES" --labels "$LABELS" | tee "$OUT/eval.txt"

step "3/6 generate $OUT/gen/$NAME.c, $NAME.h and ${NAME}_golden.c (16 golden vectors)"
"$QATC" gen "$OUT/$NAME.frozen.yaml" -o "$OUT/gen" --golden 16 --images "$IMAGES"
"$QATC" report "$OUT/$NAME.frozen.yaml" | tail -n 1

step "4/6 host program with the generated C classifies the 10,000 test images"
make -s -C examples/firmware MODEL_DIR="$(pwd)/$OUT/gen" OUT="$(pwd)/$OUT/fw" host-run |
    tee "$OUT/host.txt"
eval_line=$(tail -n 1 "$OUT/eval.txt")
host_line=$(tail -n 1 "$OUT/host.txt")
echo "qatc eval:     $eval_line"
echo "generated C:   $host_line"
[ "$eval_line" = "$host_line" ] || { echo "demo: the generated C disagrees with qatc eval" >&2; exit 1; }

step "5/6 firmware for Cortex-M0 (micro:bit) and Cortex-M4 (MPS2-AN386): size and one image"
for core in m0 m4; do
    echo "-- $core (text = code + weights, data + bss = RAM incl. the arena)"
    make -s -C examples/firmware MODEL_DIR="$(pwd)/$OUT/gen" OUT="$(pwd)/$OUT/fw" CORE=$core run
done

step "6/6 golden self-test (runtime reference == generated C) under qemu on M0 and M4"
for core in m0 m4; do
    QT_OUT="$OUT/target-$core" sh tests/target/run.sh $core "$OUT/gen" $NAME
done

step "done: model, C files, firmware and logs are in $OUT"
