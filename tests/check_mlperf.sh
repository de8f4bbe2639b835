#!/bin/sh
# The four MLPerf Tiny models of examples/mlperf-tiny, end to end in miniature:
#   - mkdata builds and makes a tiny set of each (a few dozen inputs);
#   - each config, as committed but with a one-batch schedule (one float batch,
#     post-training quantization on one calibration batch), trains;
#   - qatc report counts the reference models' MACs (the issue's figures);
#   - qatc gen --golden 1 of each builds for Cortex-M0 (on mps2-an385: none fits
#     the micro:bit), M3 and M4 and its golden self-test passes under qemu: the
#     generated C computes what the reference kernels compute, bit for bit.
# The trained figures are the example's (make -C examples/mlperf-tiny train bench);
# this only shows that the configs, the generator and the targets agree.
# Needs QATC, BUILD and CC, as make check gives.
set -eu
: "${QATC:?}" "${BUILD:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
ex=$root/examples/mlperf-tiny
W=$BUILD/check_mlperf
fail() { echo "check_mlperf: FAIL: $*" >&2; exit 1; }
rm -rf "$W"
mkdir -p "$W"

make -s -C "$ex" OUT="$W/bin" "$W/bin/mkdata" > "$W/make.log" 2>&1 ||
    { cat "$W/make.log"; fail "mkdata does not build"; }

# MODEL NAME MACS
for spec in "kws kws_dscnn 2656768" "ic ic_resnet8 12501632" "vww vww_mobilenet 7489664" \
            "ad ad_autoencoder 264192"; do
    set -- $spec
    m=$1 name=$2 macs=$3
    d=$W/$m
    mkdir -p "$d/out"
    "$W/bin/mkdata" "$m" "$d/data" --train 40 --val 4 --test 2 > /dev/null ||
        fail "mkdata $m"
    # the committed config with a one-batch schedule
    awk '
        /^[a-z]/ { top = $1 }
        /^  [a-z]/ { sub2 = $1 }
        top == "pretrain:" && /^  epochs:/ { print "  epochs: 1"; print "  iterations: 1"; next }
        top == "quantization:" && /^  approach:/ { print; print "  calibration_batches: 1"; next }
        top == "quantization:" && sub2 == "train:" && /^    epochs:/ { print "    epochs: 0"; next }
        top == "quantization:" && sub2 == "train:" && /^    (freeze_bn_after|disable_observer_after):/ { next }
        /^ +iterations:/ { next }
        { print }' "$ex/$m/$name.yaml" > "$d/$name.yaml"
    "$QATC" train "$d/$name.yaml" -o "$d/out" --threads 1 --quiet > "$d/train.log" 2>&1 ||
        { tail -n 5 "$d/train.log"; fail "$m: qatc train"; }
    got=$("$QATC" report "$d/out/$name.frozen.yaml" | sed -n 's/^totals: \([0-9]*\) MACs.*/\1/p')
    [ "$got" = "$macs" ] || fail "$m: qatc report counts $got MACs, the reference model has $macs"
    echo "ok $m: trains, $macs MACs"
    "$QATC" gen "$d/out/$name.frozen.yaml" -o "$d/gen" --golden 1 --inputs "$d/data/x_test.npy" \
        > /dev/null || fail "$m: qatc gen"
    for core in m0 m3 m4; do
        if [ $core = m0 ]; then board="QT_BOARD=mps2 QT_MACHINE=mps2-an385"; else board=; fi
        # shellcheck disable=SC2086
        env $board QT_OUT="$d/target-$core" "$root/tests/target/run.sh" $core "$d/gen" "$name" \
            > "$d/$core.log" 2>&1 || { cat "$d/$core.log"; fail "$m: the self-test on $core"; }
        echo "ok $m on $core: $(grep -h 'selftest:' "$d/$core.log")"
    done
done
