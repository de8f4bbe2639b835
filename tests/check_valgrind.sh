#!/bin/sh
# qatc under valgrind (memcheck), as a user runs it: no environment set up
# for it (qatc must not re-execute itself out from under valgrind). Each run
# must show no memcheck error (an invalid read such as `gen -o ""` once made,
# a use of an uninitialised value, a bad free): train, a --resume of the
# finished run, eval, gen --golden, report, and commands that fail (a bad
# config, a bad frozen model, an empty -o), whose one-line error must come
# out as usual. Skipped (with a note) when valgrind is not installed.
# Needs QATC and BUILD, as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_data.sh
if ! command -v valgrind >/dev/null; then
    echo "check_valgrind: valgrind is not installed: skipped"
    exit 0
fi
unset OMP_WAIT_POLICY GOMP_SPINCOUNT
W=$BUILD/valgrind
rm -rf "$W"
mkdir -p "$W"
tiny_data "$W" 32 8 8
cat >"$W/v.yaml" <<'YAML'
model:
  name: v
  input: {shape: [8, 8, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d: {out: 4, kernel: 3, pad: 1, bn: true, act: relu, name: c1}
    - conv2d: {out: 4, kernel: 3, pad: 1}
    - add: {with: c1}
    - maxpool: {kernel: 2}
    - avgpool: {global: true}
    - linear: {out: 4}
data:
  train: {images: img.idx, labels: lbl.idx}
  eval: {images: img.idx, labels: lbl.idx}
pretrain: {epochs: 1, batch: 8, optimizer: {type: sgd, lr: 0.05}}
quantization:
  calibration_batches: 2
  train: {epochs: 1, batch: 8, optimizer: {type: sgd, lr: 0.01}}
tuning: {random_seed: 3}
YAML
sed 's/kernel: 3, pad: 1}/kernel: 3, pad: 1, bn: 2}/' "$W/v.yaml" >"$W/bad.yaml"
printf 'qatc_frozen: 1\nname: x\ninput: {shape: [4194304, 4194304, 4194304], scale: 0.5, zero_point: 0}\n' \
    >"$W/bad.frozen.yaml"

failed=0 runs=0
# vg WANT-STATUS WHAT QATC-ARGS...: qatc under memcheck; WANT-STATUS 0 or
# "fail" (1 or 2 with one line on stderr besides nothing from valgrind).
vg() {
    want=$1 what=$2
    shift 2
    runs=$((runs + 1))
    timeout -s KILL 600 valgrind -q --error-exitcode=99 --log-file="$W/vg.log" \
        "$QATC" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    why=
    [ -s "$W/vg.log" ] && why="memcheck: $(head -n 20 "$W/vg.log")"
    [ -z "$why" ] && [ $rc -eq 99 ] && why="memcheck found errors"
    [ -z "$why" ] && [ "$want" = 0 ] && [ $rc -ne 0 ] &&
        why="exit status $rc: $(head -n 3 "$W/err")"
    [ -z "$why" ] && [ "$want" = fail ] && { [ $rc -ne 1 ] && [ $rc -ne 2 ]; } &&
        why="exit status $rc, expected 1 or 2"
    [ -z "$why" ] && [ "$want" = fail ] && [ "$(wc -l <"$W/err")" -ne 1 ] &&
        why="$(wc -l <"$W/err") lines on stderr, expected 1: $(head -n 3 "$W/err")"
    if [ -n "$why" ]; then
        failed=$((failed + 1))
        echo "check_valgrind: FAIL $what: qatc $*: $why" >&2
    fi
}

vg 0    "train"            train "$W/v.yaml" -o "$W/o" --threads 2 --quiet
vg 0    "resume finished"  train "$W/v.yaml" -o "$W/o" --threads 2 --quiet --resume
vg 0    "eval"             eval "$W/o/v.frozen.yaml" --images "$W/img.idx" --labels "$W/lbl.idx"
vg 0    "gen --golden"     gen "$W/o/v.frozen.yaml" -o "$W/g" --golden 3 --images "$W/img.idx"
vg 0    "report"           report "$W/o/v.frozen.yaml"
vg fail "gen -o ''"        gen "$W/o/v.frozen.yaml" -o ""
vg fail "train -o ''"      train "$W/v.yaml" -o "" --quiet
vg fail "a bad config"     train "$W/bad.yaml" -o "$W/b" --quiet
vg fail "a bad frozen"     gen "$W/bad.frozen.yaml" -o "$W/b"
vg fail "no command"
[ $failed -eq 0 ] || exit 1
echo "valgrind: $runs runs of qatc under memcheck, no error"
