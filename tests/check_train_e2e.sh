#!/bin/sh
# qatc train end to end on a slice of real Fashion-MNIST:
#   - a tiny CNN trains for a few dozen batches (float, PTQ, QAT with the
#     freeze schedule) and writes NAME.frozen.yaml, NAME.csv, NAME.ckpt;
#   - qatc gen --golden builds with the strict flags and its self-test (the
#     expected outputs come from the reference kernels) passes: the generated
#     C matches the reference bit for bit;
#   - the generated C's top-1 count on the eval slice equals qatc eval's;
#   - Ctrl-C writes a checkpoint and exits 130; --resume finishes with a model
#     byte-identical to an uninterrupted run (which used another thread
#     count: results do not depend on it);
#   - bad input: one line on stderr, non-zero exit, no output.
# Environment (make check): QATC (the binary), BUILD (scratch), CC.
set -eu
QATC=${QATC:-$PWD/qatc}
BUILD=${BUILD:-$PWD/build}
CC=${CC:-cc}
data=/usr/share/datasets/fashion-mnist
work=$BUILD/check_train_e2e
fail() { echo "check_train_e2e: $*" >&2; exit 1; }
if [ ! -r "$data/train-images-idx3-ubyte.gz" ]; then
    echo "check_train_e2e: $data missing (Debian package dataset-fashion-mnist): skipped"
    exit 0
fi
. "$(dirname "$0")/support/host_selftest.sh"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# --- slices: the first N images of an IDX file, with the count patched -------
# slice SRC.gz N OUT ITEM_BYTES HEADER_BYTES
slice() {
    {
        gzip -dc "$1" | head -c 4
        printf "\\$(printf %03o $(($2 >> 24 & 255)))\\$(printf %03o $(($2 >> 16 & 255)))"
        printf "\\$(printf %03o $(($2 >> 8 & 255)))\\$(printf %03o $(($2 & 255)))"
        gzip -dc "$1" | tail -c +9 | head -c $(($5 - 8 + $2 * $4))
    } > "$3"
}
slice "$data/train-images-idx3-ubyte.gz" 3000 train-images 784 16
slice "$data/train-labels-idx1-ubyte.gz" 3000 train-labels 1 8
slice "$data/t10k-images-idx3-ubyte.gz" 500 eval-images 784 16
slice "$data/t10k-labels-idx1-ubyte.gz" 500 eval-labels 1 8

# config NAME PRETRAIN_EPOCHS PRETRAIN_ITERS QAT_EPOCHS QAT_ITERS
config() {
    cat > "$1.yaml" <<EOF
model:
  name: $1
  input: {shape: [28, 28, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d:  {out: 8, kernel: 3, pad: 1, bn: true, act: relu}
    - maxpool: {kernel: 2}
    - conv2d:  {out: 16, kernel: 3, pad: 1, bn: true, act: relu}
    - maxpool: {kernel: 2}
    - conv2d:  {out: 16, kernel: 3, pad: 1, bn: true, act: relu6}
    - avgpool: {global: true}
    - flatten: {}
    - linear:  {out: 10}
data:
  train: {images: train-images, labels: train-labels}
  eval:  {images: eval-images, labels: eval-labels}
pretrain:
  epochs: $2
  iterations: $3
  batch: 32
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}
  lr_schedule: cosine
quantization:
  calibration_batches: 5
  train:
    epochs: $4
    iterations: $5
    batch: 32
    optimizer: {type: sgd, lr: 0.005, momentum: 0.9}
    lr_schedule: cosine
    freeze_bn_after: 1
    disable_observer_after: 2
tuning:
  accuracy_criterion: {absolute: 0.05}
  random_seed: 11
EOF
}

# --- train ---------------------------------------------------------------------
"$QATC" train --help | grep -q -- '--resume' || fail "train --help: no --resume"
config tiny 1 48 3 12
mkdir out
"$QATC" train tiny.yaml -o out --threads 2 > train.txt
cat train.txt
for f in tiny.frozen.yaml tiny.csv tiny.ckpt; do
    [ -s "out/$f" ] || fail "train: out/$f missing"
done
head -1 out/tiny.csv | grep -qx 'epoch,phase,loss,float_top1,int8_top1,lr,seconds' ||
    fail "train: CSV header"
[ "$(grep -c ',float,' out/tiny.csv)" = 1 ] || fail "train: CSV float rows"
[ "$(grep -c ',ptq,' out/tiny.csv)" = 1 ] || fail "train: CSV ptq row"
[ "$(grep -c ',qat,' out/tiny.csv)" = 3 ] || fail "train: CSV qat rows"
grep -q '^accuracy criterion' train.txt || fail "train: no criterion line"

# --- gen, strict build, golden self-test --------------------------------------
mkdir gen
"$QATC" gen out/tiny.frozen.yaml -o gen --golden 20 --images eval-images > /dev/null
host_selftest gen tiny

# --- the generated C's top-1 == qatc eval's -------------------------------------
"$QATC" eval out/tiny.frozen.yaml --images eval-images --labels eval-labels > eval.txt
tail -1 eval.txt
cat > top1.c <<'EOF'
/* top-1 of the generated C on eval-images / eval-labels (q = pixel - 128). */
#include <stdio.h>
#include "tiny.h"
int main(void)
{
    FILE *fi = fopen("eval-images", "rb"), *fl = fopen("eval-labels", "rb");
    unsigned char px[784], lb;
    signed char in[784], out[10];
    int n = 0, ok = 0;
    if (!fi || !fl || fseek(fi, 16, SEEK_SET) || fseek(fl, 8, SEEK_SET))
        return 2;
    while (fread(px, 1, 784, fi) == 784 && fread(&lb, 1, 1, fl) == 1) {
        for (int i = 0; i < 784; i++)
            in[i] = (signed char)(px[i] - 128);
        tiny_run_static(in, out);
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (out[k] > out[best])
                best = k;
        ok += best == lb;
        n++;
    }
    printf("top1 %d/%d\n", ok, n);
    return 0;
}
EOF
$CC -O2 -Igen -o top1 top1.c tiny.o
./top1 > top1.txt
cat top1.txt
want=$(tail -1 eval.txt | sed -E 's/^top1 ([0-9]+\/[0-9]+).*/\1/')
got=$(sed -E 's/^top1 ([0-9]+\/[0-9]+).*/\1/' top1.txt)
[ "$want" = "$got" ] || fail "generated C top-1 $got != qatc eval $want"

# --- Ctrl-C, then --resume: the same model as without the interruption -----------
config long 3 80 1 20
mkdir full cut
"$QATC" train long.yaml -o full --threads 2 --quiet
"$QATC" train long.yaml -o cut --threads 1 --quiet &
pid=$!
i=0
while [ ! -s cut/long.ckpt ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT $pid 2>/dev/null || true
rc=0
wait $pid || rc=$?
if [ $rc = 130 ]; then
    echo "interrupted (exit 130); resuming"
    "$QATC" train long.yaml -o cut --threads 1 --resume --quiet
elif [ $rc = 0 ]; then
    echo "note: the run ended before Ctrl-C arrived; resume not exercised"
else
    fail "train: exit $rc after SIGINT"
fi
cmp full/long.frozen.yaml cut/long.frozen.yaml ||
    fail "the resumed 1-thread model differs from the uninterrupted 2-thread one"

# --- bad input ---------------------------------------------------------------------
mkdir bad
if "$QATC" train missing.yaml -o bad 2> err.txt; then fail "train: missing config accepted"; fi
[ "$(wc -l < err.txt)" = 1 ] || fail "train: error is not one line: $(cat err.txt)"
if "$QATC" train tiny.yaml --threads zero 2> err.txt; then fail "train: bad --threads accepted"; fi
if "$QATC" train tiny.yaml -o bad --resume 2> err.txt; then fail "train: resume without checkpoint"; fi
grep -q 'no checkpoint' err.txt || fail "train: resume error: $(cat err.txt)"
[ -z "$(ls bad)" ] || fail "train: files left after errors: $(ls bad)"
echo "check_train_e2e: passed"
