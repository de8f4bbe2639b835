#!/bin/sh
# Numerics guards of `qatc train`, provoked with an absurd optimizer
# (lr 10 with weight decay 0.9: every step multiplies the weights by -8):
#   - in float pretraining the loss becomes NaN within the first epoch: the
#     run stops with one line naming the phase, epoch and batch and saying
#     that no checkpoint exists yet; nothing half-written is left;
#   - in QAT the weights grow out of int8 range (the loss can stay finite):
#     the conversion after the epoch refuses the model with one line naming
#     the config and the last good checkpoint, which is kept, still resumes
#     (to the same stop), and the best model so far stays whole.
# Needs QATC and BUILD, as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_config.sh
tiny_check check_numerics pre qat
ABSURD='{type: sgd, lr: 10, momentum: 0.0, weight_decay: 0.9}'
# pretraining in batches of 4 (the first "batch: 16"): 128 steps in the first
# epoch, where the weights overflow after about 50 whatever model.init draws
sed -e "s/optimizer: {type: sgd, lr: 0.05, momentum: 0.9}/optimizer: $ABSURD/" \
    -e "0,/  batch: 16/s//  batch: 4/" "$W/tiny.yaml" >"$W/pre.yaml"
sed "s/optimizer: {type: sgd, lr: 0.02, momentum: 0.9}/optimizer: $ABSURD/" "$W/tiny.yaml" \
    >"$W/qat.yaml"
cmp -s "$W/pre.yaml" "$W/tiny.yaml" && { echo "check_numerics: pre.yaml unchanged" >&2; exit 1; }
cmp -s "$W/qat.yaml" "$W/tiny.yaml" && { echo "check_numerics: qat.yaml unchanged" >&2; exit 1; }
# stopped WHAT RC: a clean stop: status 1..127, one line on stderr.
stopped() {
    [ "$2" -ne 0 ] || fail "$1: training did not stop"
    [ "$2" -lt 128 ] || fail "$1: exit status $2 (a signal)"
    [ "$(wc -l <"$W/err")" -eq 1 ] || fail "$1: $(wc -l <"$W/err") lines on stderr: $(head -n 3 "$W/err")"
}

"$QATC" train "$W/pre.yaml" -o "$W/pre" --threads 2 --quiet >/dev/null 2>"$W/err"
stopped "pretrain" $?
grep -q "^qatc train: $W/pre.yaml: float epoch 0 batch [0-9]*: the loss is \(NaN\|infinite\)" "$W/err" ||
    fail "pretrain: no NaN/infinite loss message: $(cat "$W/err")"
grep -q "No checkpoint yet" "$W/err" || fail "pretrain: should say there is no checkpoint: $(cat "$W/err")"
[ -z "$(ls -A "$W/pre" | grep -v -x tiny.csv)" ] ||
    fail "pretrain: files left: $(ls -A "$W/pre")"
msg_pre=$(cat "$W/err")

"$QATC" train "$W/qat.yaml" -o "$W/qat" --threads 2 --quiet >/dev/null 2>"$W/err"
stopped "qat" $?
grep -q "^qatc train: $W/qat.yaml: " "$W/err" || fail "qat: the message names no config: $(cat "$W/err")"
grep -q "The last good checkpoint is $W/qat/tiny.ckpt" "$W/err" ||
    fail "qat: the message names no checkpoint: $(cat "$W/err")"
[ -f "$W/qat/tiny.ckpt" ] || fail "qat: the checkpoint is gone"
"$QATC" report "$W/qat/tiny.frozen.yaml" >/dev/null 2>"$W/report.err" ||
    fail "qat: the best model so far is not whole: $(cat "$W/report.err")"
msg_qat=$(cat "$W/err")
cp "$W/qat/tiny.ckpt" "$W/kept.ckpt"
"$QATC" train "$W/qat.yaml" -o "$W/qat" --threads 2 --quiet --resume >/dev/null 2>"$W/err"
stopped "qat resumed" $?
[ "$(cat "$W/err")" = "$msg_qat" ] ||
    fail "qat: resuming from the kept checkpoint stops differently: $(cat "$W/err")"
cmp -s "$W/qat/tiny.ckpt" "$W/kept.ckpt" || fail "qat: the resumed stop changed the checkpoint"
echo "numerics: NaN loss in pretraining and int8 overflow in QAT stop cleanly, the last good" \
     "checkpoint kept and resumable"
echo "  $msg_pre"
echo "  $msg_qat"
