#!/bin/sh
# .npy data and an autoencoder end to end, through the commands (seconds):
#   - a tiny convolutional autoencoder (loss mse, target input, metric auc)
#     trains on .npy u1 images of smooth ramps, with validation files and
#     augmentation; the anomalies of the validation and eval sets are noise;
#   - qatc eval --metric auc on the kept model prints the auc the trainer
#     reported for it on the eval set; --metric mse runs without labels;
#   - qatc gen --golden --inputs FILE.npy builds with the strict flags and its
#     self-test passes (the generated C equals the reference kernels);
#   - the same data as a classifier's (.npy inputs, int64 labels): qatc eval's
#     top1 is what the trainer reported.
# The .npy files are written with sh and awk only. Needs QATC, BUILD and CC,
# as make check gives.
set -eu
: "${QATC:?}" "${BUILD:?}"
CC=${CC:-cc}
W=$BUILD/check_npy_e2e
fail() { echo "check_npy_e2e: FAIL: $*" >&2; exit 1; }
. "$(dirname "$0")/support/host_selftest.sh"
rm -rf "$W"
mkdir -p "$W"
cd "$W"

# npy_images FILE N ANOMALY_EVERY SEED: N 6x6 images as FILE.npy (N, 6, 6, 1)
# u1 and labels as FILE-labels.npy (N,) i8: image i is a ramp (p = base + 20·x
# across, or + 20·y down, small noise), or, when ANOMALY_EVERY > 0 and i mod
# ANOMALY_EVERY = 1, noise. The label is 1 for noise (an anomaly), else 0;
# with ANOMALY_EVERY 0 it is the ramp's direction (0 across, 1 down).
npy_images() {
    LC_ALL=C awk -v n="$2" -v every="$3" -v seed="$4" -v x="$1.npy" -v y="$1-labels.npy" '
    function head(f, dict,    len, i) {
        len = int((10 + length(dict) + 1 + 63) / 64) * 64 - 10
        printf "%cNUMPY%c%c%c%c%s", 147, 1, 0, len % 256, int(len / 256), dict > f
        for (i = length(dict) + 1; i < len; i++) printf " " > f
        printf "\n" > f
    }
    function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) % 256 }
    BEGIN {
        s = seed
        head(x, "{\047descr\047: \047|u1\047, \047fortran_order\047: False, \047shape\047: (" n ", 6, 6, 1), }")
        head(y, "{\047descr\047: \047<i8\047, \047fortran_order\047: False, \047shape\047: (" n ",), }")
        for (i = 0; i < n; i++) {
            anomaly = every > 0 && i % every == 1
            base = 20 + rnd() % 60; vertical = rnd() % 2
            for (r = 0; r < 6; r++)
                for (c = 0; c < 6; c++) {
                    p = anomaly ? rnd() % 200 : base + 20 * (vertical ? r : c) + rnd() % 7
                    printf "%c", p > x
                }
            label = (every > 0) ? anomaly : vertical
            printf "%c%c%c%c%c%c%c%c", label, 0, 0, 0, 0, 0, 0, 0 > y
        }
    }'
}
npy_images train 256 0 1
npy_images val 60 4 2
npy_images eval 100 4 3

cat >ae.yaml <<'YAML'
model:
  name: ae
  loss: mse
  target: input
  input: {shape: [6, 6, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d: {out: 4, kernel: 3, pad: 1, bn: true, act: relu}
    - conv2d: {out: 1, kernel: 3, pad: 1}
data:
  train: {inputs: train.npy}
  validation: {inputs: val.npy, labels: val-labels.npy}
  eval: {inputs: eval.npy, labels: eval-labels.npy}
  augment: {shift: 1, flip: true}
pretrain:
  epochs: 6
  batch: 16
  optimizer: {type: adam, lr: 0.01}
quantization:
  calibration_batches: 4
  train:
    epochs: 2
    batch: 16
    optimizer: {type: adam, lr: 0.001}
evaluation: {accuracy: {metric: auc}}
tuning:
  accuracy_criterion: {absolute: 0.1}
  random_seed: 5
YAML
"$QATC" train ae.yaml -o out --threads 2 >train.txt 2>&1 || fail "train: $(tail -n 3 train.txt)"
cat train.txt
head -1 out/ae.csv | grep -qx 'epoch,phase,loss,float_auc,int8_auc,val_float_auc,val_int8_auc,lr,seconds' ||
    fail "CSV header: $(head -1 out/ae.csv)"
grep -q '^validation: 60 inputs (data.validation) choose the kept model' train.txt ||
    fail "train does not say which set chose"
kept=$(sed -n 's/^the kept model on the 100 eval inputs: int8 auc \([0-9.]*\)$/\1/p' train.txt)
[ -n "$kept" ] || fail "train did not report the kept model on the eval set"
"$QATC" eval out/ae.frozen.yaml --inputs eval.npy --labels eval-labels.npy --metric auc >eval.txt
cat eval.txt
[ "$(tail -1 eval.txt)" = "auc $kept" ] || fail "qatc eval: '$(tail -1 eval.txt)', train: auc $kept"
awk -v a="$kept" 'BEGIN { exit !(a > 0.9) }' || fail "auc $kept: the noise is not found"
"$QATC" eval out/ae.frozen.yaml --images eval.npy --metric mse >mse.txt
tail -1 mse.txt | grep -qE '^mse [0-9.e-]+$' || fail "qatc eval --metric mse: $(tail -1 mse.txt)"
tail -1 mse.txt

mkdir gen
"$QATC" gen out/ae.frozen.yaml -o gen --golden 10 --inputs eval.npy >/dev/null
grep -q 'the first 10 inputs of eval.npy' gen/ae_golden.c || fail "golden origin comment"
host_selftest gen ae || fail "the autoencoder's self-test"

# a classifier on .npy inputs and int64 labels (ramp direction: 0 across, 1 down)
npy_images ctrain 256 0 7
npy_images ceval 64 0 8
cat >cls.yaml <<'YAML'
model:
  name: cls
  input: {shape: [6, 6, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d: {out: 4, kernel: 3, bn: true, act: relu}
    - avgpool: {global: true}
    - linear: {out: 2}
data:
  train: {inputs: ctrain.npy, labels: ctrain-labels.npy}
  validation: {fraction: 0.25}
  eval: {inputs: ceval.npy, labels: ceval-labels.npy}
pretrain: {epochs: 1, batch: 16}
quantization: {calibration_batches: 2, train: {epochs: 1, batch: 16}}
tuning: {random_seed: 5}
YAML
"$QATC" train cls.yaml -o cout --threads 2 >ctrain.txt 2>&1 || fail "train cls: $(tail -n 3 ctrain.txt)"
kept=$(sed -n 's/^the kept model on the 64 eval inputs: int8 top1 \([0-9.]*%\)$/\1/p' ctrain.txt)
"$QATC" eval cout/cls.frozen.yaml --inputs ceval.npy --labels ceval-labels.npy >ceval.txt
tail -1 ceval.txt | grep -q "($kept)\$" || fail "qatc eval: '$(tail -1 ceval.txt)', train: $kept"
echo "check_npy_e2e: passed (autoencoder auc $(tail -1 eval.txt | cut -d' ' -f2) on eval," \
     "$(tail -1 mse.txt); classifier $(tail -1 ceval.txt))"
