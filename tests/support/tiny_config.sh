# A tiny training config for the end-to-end checks (seconds, not minutes).
# Source this file (from the top folder; it sources tiny_data.sh); then
#   tiny_config DIR [EXTRA-QAT-LR]
# writes DIR/data/{img,lbl}.idx (training, 512 images 12x12),
# DIR/data/eval/{img,lbl}.idx (128 other images) and DIR/tiny.yaml: a small
# residual CNN (conv, maxpool, conv, conv, add, global avgpool, linear), two
# float epochs and four QAT epochs with the BN freeze and observer stop inside
# the schedule. The QAT learning rate is EXTRA-QAT-LR when given (default 0.02).
. tests/support/tiny_data.sh

tiny_config() {
    mkdir -p "$1/data/eval"
    tiny_data "$1/data" 512 12 12 1
    tiny_data "$1/data/eval" 128 12 12 2
    cat >"$1/tiny.yaml" <<EOF
model:
  name: tiny
  input: {shape: [12, 12, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d: {out: 4, kernel: 3, pad: 1, bn: true, act: relu}
    - maxpool: {kernel: 2}
    - conv2d: {out: 8, kernel: 3, pad: 1, bn: true, act: relu, name: b1}
    - conv2d: {out: 8, kernel: 3, pad: 1, bn: true}
    - add: {with: b1, act: relu}
    - avgpool: {global: true}
    - flatten: {}
    - linear: {out: 4}
data:
  train: {images: data/img.idx, labels: data/lbl.idx}
  eval: {images: data/eval/img.idx, labels: data/eval/lbl.idx}
pretrain:
  epochs: 3
  batch: 16
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
quantization:
  calibration_batches: 2
  train:
    epochs: 5
    batch: 16
    optimizer: {type: sgd, lr: ${2:-0.02}, momentum: 0.9}
    freeze_bn_after: 2
    disable_observer_after: 3
tuning:
  random_seed: 11
EOF
}

# tiny_check NAME [SUBDIR...]: the start of check NAME on the tiny config:
# W=$BUILD/NAME emptied (with its SUBDIRs made) and the config written there;
# fail MESSAGE then ends the check with "NAME: FAIL: MESSAGE".
tiny_check() {
    CHECK=$1
    shift
    W=$BUILD/$CHECK
    rm -rf "$W"
    mkdir -p "$W"
    for sub in "$@"; do
        mkdir -p "$W/$sub"
    done
    tiny_config "$W"
}

fail() {
    echo "$CHECK: FAIL: $*" >&2
    exit 1
}
