#!/bin/sh
# make bench: qatc against PyTorch (run here) and CMSIS-NN (anchor figures),
# everything on this machine, one table.
#
#   make bench                                     about 15-20 minutes on 2 cores
#   BENCH_ITERS=50 BENCH_PAIRS=1 sh bench/run.sh   quicker, noisier
#   BENCH_FULL=1 sh bench/run.sh                   the full 6 + 8 epoch schedule on
#                                                  all 10k test images (about an hour)
#   sh bench/readme_numbers.sh                     splice the table into README.md
#
# a. Training: the reference CNN (examples/fmnist/fmnist_cnn.yaml, copied to
#    OUT/fmnist_cnn.yaml with the bench's schedule) trained by `qatc train`
#    and by bench/pytorch_qat.py (PyTorch eager float + QAT, same model, data,
#    batch, optimizer and schedule), alternately: qatc, PyTorch, qatc,
#    PyTorch, ... Images/s of the training steps of each phase (evaluation
#    excluded) and the int8 top-1 of each on the same test images.
# s. Training speed of the four MLPerf Tiny models (examples/mlperf-tiny: KWS
#    DS-CNN, ResNet-8, VWW MobileNet, the AD autoencoder; data made by its
#    Makefile when missing): `qatc train` and bench/pytorch_qat.py --speed-only
#    (the same net built layer for layer from the same config, same batch,
#    optimizer and threads), alternately per model, 1 float + 1 QAT epoch of a
#    fixed number of batches each; PyTorch trains --warmup batches untimed
#    first (qatc times all of its own). Images/s of each phase only; qatc
#    chooses and reports on a small strided slice of the test set, so that
#    its evaluations stay short (they are not timed either way).
# p. Precision (make bench-precision: BENCH_PRECISION=1, this section alone;
#    about 2 hours on 2 busy cores): float, PTQ and QAT int8 top-1 of qatc and
#    of bench/pytorch_qat.py at 8-bit and 4-bit weights (W4A8, --weight-bits 4)
#    on the reference CNN (examples/fmnist/fmnist_cnn.yaml, fmnist_cnn_w4.yaml)
#    and examples/mobilenet (its config with the CNN's 6 + 8 epoch schedule and
#    freeze points; the W4 variant with quantization.weight.bits 4), the whole
#    training set every epoch, all 10k test images, seed 9527. A run whose
#    result (OUT/precision/MODEL-wBITS/qatc.txt or torch.txt) exists is not run
#    again: the section can be stopped and resumed; delete the folder to
#    measure again.
# b. Inference: `qatc gen` of the first qatc run's model; instructions per
#    inference on Cortex-M0/M3/M4 and rv32imc under qemu
#    (bench/target/measure.sh, H4's TCG plugin), per MAC (MACs from
#    `qatc report`), host instructions per
#    inference (bench/target/host_icount.sh, callgrind), and host time per
#    image (bench/host_time.c, right after each PyTorch run) against
#    PyTorch's int8 batch-1 time, as a ratio: one thread each, the median
#    of 300 single calls. The same network with 4-bit weights
#    (tests/data/fmnist_cnn_w4_random.frozen.yaml) on Cortex-M0/M3/M4 at -O2:
#    instructions and weight bytes against the 8-bit model's and CMSIS-NN's
#    int4 kernels.
# c. Footprint of the -Os firmware images: flash (kernel code, libgcc/libc,
#    weights), RAM (arena, other static data, stack high-water mark), and the
#    arena against the lower bound of its schedule.
#
# Environment (defaults in brackets; BENCH_FULL=1 changes the three marked *):
#   BENCH_ITERS         batches per epoch, 0 = the whole set [100 | full: 0] *
#   BENCH_EVAL          test images for accuracy, 0 = all 10k [2000 | full: 0] *
#   BENCH_PAIRS         alternating qatc/PyTorch run pairs [2 | full: 1] *
#   BENCH_FLOAT_EPOCHS  float pretraining epochs [6]
#   BENCH_QAT_EPOCHS    QAT epochs [8]
#   BENCH_THREADS       training threads of both [all cores]
#   BENCH_SPEED_MODELS  MLPerf Tiny models of section s [kws ic vww ad]; empty: none
#   BENCH_SPEED_ITERS   batches per phase in section s [kws 100, ic 100, vww 40, ad 200]
#   BENCH_SPEED_WARMUP  PyTorch's untimed first batches per phase in section s [5]
#   BENCH_SPEED_ONLY    1: section s alone (make bench-speed) [0]
#   BENCH_PRECISION     1: section p alone (make bench-precision) [0]
#   BENCH_PRECISION_RUNS  its runs, MODEL-wBITS [cnn-w8 cnn-w4 mobilenet-w8 mobilenet-w4]
#   BENCH_PRECISION_ITERS batches per epoch in section p, 0 = all (a quick check) [0]
#   BENCH_HOST_CFLAGS   host compiler flags of the generated C [-O2]
#   BENCH_OUT           output folder [out/bench]
#   QATC, PYTHON        the programs [./qatc, /usr/bin/python3 (Debian's, with torch)]
#   GOMP_SPINCOUNT      [1000] for both: what qatc train sets for itself; at
#                       libgomp's default, spinning threads make PyTorch ~10x
#                       slower on a shared machine
# Output: the table on stdout and in OUT/table.md; every figure as `key value`
# in OUT/raw.txt; logs and images in OUT. Progress on stderr. Timings appear
# only as ratios or images/s, never as pass/fail.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail() { echo "bench: $*" >&2; exit 1; }
uint() { # NAME VALUE: VALUE must be a non-negative integer
    case $2 in '' | *[!0-9]*) fail "$1: '$2' is not a non-negative integer" ;; esac
    echo "$2"
}
if [ "${BENCH_FULL:-0}" = 1 ]; then d_iters=0 d_eval=0 d_pairs=1; else d_iters=100 d_eval=2000 d_pairs=2; fi
iters=$(uint BENCH_ITERS "${BENCH_ITERS:-$d_iters}")
neval=$(uint BENCH_EVAL "${BENCH_EVAL:-$d_eval}")
pairs=$(uint BENCH_PAIRS "${BENCH_PAIRS:-$d_pairs}")
fepochs=$(uint BENCH_FLOAT_EPOCHS "${BENCH_FLOAT_EPOCHS:-6}")
qepochs=$(uint BENCH_QAT_EPOCHS "${BENCH_QAT_EPOCHS:-8}")
threads=$(uint BENCH_THREADS "${BENCH_THREADS:-$(nproc)}")
[ "$pairs" -ge 1 ] || fail "BENCH_PAIRS: at least 1"
[ "$threads" -ge 1 ] || fail "BENCH_THREADS: at least 1"
[ "$qepochs" -ge 1 ] || fail "BENCH_QAT_EPOCHS: at least 1"
[ "$neval" -le 10000 ] || fail "BENCH_EVAL: at most 10000 (the test set)"
speed_models=${BENCH_SPEED_MODELS-kws ic vww ad}
speed_iters=${BENCH_SPEED_ITERS:+$(uint BENCH_SPEED_ITERS "$BENCH_SPEED_ITERS")}
speed_only=$(uint BENCH_SPEED_ONLY "${BENCH_SPEED_ONLY:-0}")
precision=$(uint BENCH_PRECISION "${BENCH_PRECISION:-0}")
precision_iters=$(uint BENCH_PRECISION_ITERS "${BENCH_PRECISION_ITERS:-0}")
precision_runs=${BENCH_PRECISION_RUNS:-cnn-w8 cnn-w4 mobilenet-w8 mobilenet-w4}
for r in $precision_runs; do
    case $r in cnn-w[48] | mobilenet-w[48]) ;; *) fail "BENCH_PRECISION_RUNS: unknown run '$r'" ;; esac
done
[ -n "$speed_models" ] || [ "$speed_only" = 0 ] || fail "BENCH_SPEED_ONLY=1 with no BENCH_SPEED_MODELS"
speed_warmup=$(uint BENCH_SPEED_WARMUP "${BENCH_SPEED_WARMUP:-5}")
for m in $speed_models; do
    case $m in kws | ic | vww | ad) ;; *) fail "BENCH_SPEED_MODELS: unknown model '$m' (kws ic vww ad)" ;; esac
done
host_cflags=${BENCH_HOST_CFLAGS:--O2}
out=${BENCH_OUT:-$root/out/bench}
QATC=${QATC:-$root/qatc}
PYTHON=${PYTHON:-/usr/bin/python3}
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-1000}"
data=/usr/share/datasets/fashion-mnist
example=$root/examples/fmnist/fmnist_cnn.yaml
name=fmnist_cnn

[ -x "$QATC" ] || fail "$QATC: not built (make qatc)"
[ -r "$data/t10k-images-idx3-ubyte.gz" ] || fail "$data: missing (Debian package dataset-fashion-mnist)"
"$PYTHON" -c 'import torch' 2>/dev/null || fail "$PYTHON has no torch (Debian package python3-torch)"
"$PYTHON" -c 'import numpy' 2>/dev/null || fail "$PYTHON has no numpy (Debian package python3-numpy)"
for tool in valgrind qemu-system-arm arm-none-eabi-gcc qemu-system-riscv32 riscv64-unknown-elf-gcc; do
    command -v $tool >/dev/null || fail "$tool: not installed (make bench installs it)"
done

mkdir -p "$out"
raw=$out/raw.txt
: > "$raw.tmp"
put() { echo "$1 $2" >> "$raw.tmp"; }
t_start=$(date +%s)
step=0
[ "$precision" = 0 ] || speed_models= speed_only=1   # p alone: neither a, s nor b, c
ref_pairs=$([ "$speed_only" = 1 ] && echo 0 || echo "$pairs")
nsteps=$((2 * precision * $(echo $precision_runs | wc -w) + 2 * ref_pairs + 2 * (1 - speed_only) + 2 * pairs * $(echo $speed_models | wc -w)))
say() {
    step=$((step + 1))
    echo "bench: [$step/$nsteps] $* ($(($(date +%s) - t_start)) s so far)" >&2
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }

put meta.date "$(date -u +%Y-%m-%d)"
put meta.machine "$(uname -m)"
cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1 | tr -s ' ')
put meta.cpu "${cpu:-unknown}"
put meta.cores "$(nproc)"
put meta.threads "$threads"
put meta.iters "$iters"
put meta.float_epochs "$fepochs"
put meta.qat_epochs "$qepochs"
put meta.eval_images "$([ "$neval" -eq 0 ] && echo 10000 || echo "$neval")"
put meta.pairs "$pairs"
put meta.speed_only "$speed_only"
put meta.precision "$precision"
put meta.host_cflags "$host_cflags"
put meta.gomp_spincount "$GOMP_SPINCOUNT"
put meta.load_start "$(loadavg)"
put meta.commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
put meta.torch "$("$PYTHON" -c 'import torch; print(torch.__version__)')"
put meta.arm_gcc "$(arm-none-eabi-gcc -dumpversion)"
put meta.riscv_gcc "$(riscv64-unknown-elf-gcc -dumpversion)"
put meta.host_cc "$(${CC:-cc} --version | head -n 1)"

# --- the eval slice: the first N test images, as IDX files -------------------
# slice SRC.gz N OUT ITEM_BYTES HEADER_BYTES (the count in bytes 4..7 patched)
slice() {
    {
        gzip -dc "$1" | head -c 4
        printf "\\$(printf %03o $(($2 >> 24 & 255)))\\$(printf %03o $(($2 >> 16 & 255)))"
        printf "\\$(printf %03o $(($2 >> 8 & 255)))\\$(printf %03o $(($2 & 255)))"
        gzip -dc "$1" | tail -c +9 | head -c $(($5 - 8 + $2 * $4))
    } > "$3.tmp"
    mv "$3.tmp" "$3"
}
if [ "$neval" -gt 0 ] && [ "$neval" -lt 10000 ]; then
    eval_images=$out/t10k-images-$neval
    eval_labels=$out/t10k-labels-$neval
    slice "$data/t10k-images-idx3-ubyte.gz" "$neval" "$eval_images" 784 16
    slice "$data/t10k-labels-idx1-ubyte.gz" "$neval" "$eval_labels" 1 8
else
    eval_images=$data/t10k-images-idx3-ubyte.gz
    eval_labels=$data/t10k-labels-idx1-ubyte.gz
fi

# --- the derived config: the example with the bench's schedule and eval set ----
cfg=$out/$name.yaml
awk -v iters="$iters" -v fe="$fepochs" -v qe="$qepochs" \
    -v images="$eval_images" -v labels="$eval_labels" '
/^[a-z]/ { top = $1 }
/^  [a-z]/ { sub2 = $1 }
top == "pretrain:" && /^  epochs:/ { sub(/epochs: *[0-9]+/, "epochs: " fe); n++ }
top == "quantization:" && sub2 == "train:" && /^    epochs:/ { sub(/epochs: *[0-9]+/, "epochs: " qe); n++ }
/^ +iterations:/ { sub(/iterations: *[0-9]+/, "iterations: " iters); n++ }
top == "data:" && sub2 == "eval:" && /^    images:/ { sub(/images: .*/, "images: " images); n++ }
top == "data:" && sub2 == "eval:" && /^    labels:/ { sub(/labels: .*/, "labels: " labels); n++ }
{ print }
END { if (n != 6) { print "bench: " FILENAME ": expected 6 schedule/eval lines, changed " n > "/dev/stderr"; exit 1 } }
' "$example" > "$cfg.tmp"
mv "$cfg.tmp" "$cfg"
batch=$(awk '/^pretrain:/ { p = 1 } p && /^  batch:/ { print $2; exit }' "$cfg")
put meta.batch "$batch"

# --- a. training, alternating; host time per image after each PyTorch run ----
gen=$out/gen
host_time=$out/host_time
i=1
while [ "$i" -le "$ref_pairs" ]; do
    say "qatc train, run $i of $pairs"
    dir=$out/qatc.$i
    rm -rf "$dir"
    mkdir -p "$dir"
    t0=$(date +%s)
    "$QATC" train "$cfg" -o "$dir" --threads "$threads" > "$dir/train.log" 2>&1 ||
        { tail -n 5 "$dir/train.log" >&2; fail "qatc train failed (log: $dir/train.log)"; }
    put "qatc.$i.wall_s" $(($(date +%s) - t0))
    log=$dir/train.log
    put "qatc.$i.float_images_per_s" "$(sed -n 's/^float training: .* \([0-9.]*\) images\/s.*/\1/p' "$log")"
    put "qatc.$i.qat_images_per_s" "$(sed -n 's/^qat training: .* \([0-9.]*\) images\/s.*/\1/p' "$log")"
    # the CSV: epoch,phase,loss,float_top1,int8_top1,lr,seconds (percentages)
    csv=$dir/$name.csv
    put "qatc.$i.float_top1" "$(awk -F, '$2 == "float" { a = $4 } END { print a }' "$csv")"
    put "qatc.$i.ptq_int8_top1" "$(awk -F, '$2 == "ptq" { a = $5 } END { print a }' "$csv")"
    put "qatc.$i.qat_int8_top1" "$(awk -F, '$2 == "qat" { a = $5 } END { print a }' "$csv")"
    put "qatc.$i.kept_int8_top1" "$(sed -n 's/.*best int8 \([0-9.]*\)%.*/\1/p' "$log")"
    put "qatc.$i.kept_epoch" "$(sed -n 's/.*best int8 [0-9.]*% (qat epoch \([0-9]*\)).*/\1/p' "$log")"
    if [ "$i" -eq 1 ]; then
        rm -rf "$gen"
        mkdir -p "$gen"
        "$QATC" gen "$dir/$name.frozen.yaml" -o "$gen" > /dev/null
        # shellcheck disable=SC2086
        ${CC:-cc} -std=c11 $host_cflags -DQT_NAME=$name -DQT_UPPER="$(echo $name | tr a-z A-Z)" \
            -DQT_HEADER="\"$name.h\"" -DQT_RUNS=300 -I"$gen" \
            -o "$host_time" bench/host_time.c "$gen/$name.c"
    fi

    say "PyTorch eager float + QAT, run $i of $pairs"
    t0=$(date +%s)
    "$PYTHON" bench/pytorch_qat.py --config "$cfg" --float-epochs "$fepochs" --qat-epochs "$qepochs" \
        --iterations "$iters" --batch "$batch" --threads "$threads" --eval-images "$neval" \
        > "$out/torch.$i.txt" 2> "$out/torch.$i.log" ||
        { tail -n 5 "$out/torch.$i.log" >&2; fail "bench/pytorch_qat.py failed (log: $out/torch.$i.log)"; }
    put "torch.$i.wall_s" $(($(date +%s) - t0))
    # accuracies as percentages, as qatc's
    awk -v i="$i" '$1 ~ /top1$/ { $2 = sprintf("%.2f", 100 * $2) } { print "torch." i "." $1, $2 }' \
        "$out/torch.$i.txt" >> "$raw.tmp"
    put "host.$i.us_per_image" "$("$host_time" | awk '{ print $2 }')"
    i=$((i + 1))
done
put meta.load_mid "$(loadavg)"

# --- s. training speed of the MLPerf Tiny models, alternating ----------------
tiny=$root/examples/mlperf-tiny
[ -z "$speed_models" ] || put meta.speed_models "$(echo $speed_models | tr ' ' ,)"
put meta.speed_warmup "$speed_warmup"
for m in $speed_models; do
    case $m in
        kws) mname=kws_dscnn n=100 ;;
        ic) mname=ic_resnet8 n=100 ;;
        vww) mname=vww_mobilenet n=40 ;;
        ad) mname=ad_autoencoder n=200 ;;
    esac
    n=${speed_iters:-$n}
    sdir=$out/speed/$m
    mkdir -p "$sdir"
    [ -r "$tiny/$m/data/y_test.npy" ] ||
        make --no-print-directory -s -C "$tiny" "$m/data/y_test.npy" >&2 ||
        fail "examples/mlperf-tiny: make $m/data/y_test.npy failed"
    # every 10th test input: both classes of AD's AUC, and short evaluations
    "$PYTHON" -c 'import numpy as np, sys
d, o = sys.argv[1], sys.argv[2]
for f in ("x_test", "y_test"):
    np.save(o + "/" + f + "_10.npy", np.load(d + "/" + f + ".npy")[::10])' "$tiny/$m/data" "$sdir"
    small="{inputs: $sdir/x_test_10.npy, labels: $sdir/y_test_10.npy}"
    # the config with 1 float + 1 QAT epoch of n batches, absolute train paths,
    # the small slice as validation and eval set, 10 calibration batches
    awk -v n="$n" -v dir="$tiny/$m" -v small="$small" '
/^[a-z]/ { top = $1 }
/^  [a-z]/ { sub2 = $1 }
/^ +iterations:/ || /^  calibration_batches:/ { next }
top == "data:" && /^  train:/ { gsub(/: data\//, ": " dir "/data/") }
top == "data:" && /^  (validation|eval):/ { sub(/:.*/, ": " small); c++ }
top == "pretrain:" && /^  epochs:/ { sub(/epochs: *[0-9]+/, "epochs: 1"); print; print "  iterations: " n; c++; next }
top == "quantization:" && /^  approach:/ { print; print "  calibration_batches: 10"; c++; next }
top == "quantization:" && sub2 == "train:" && /^    epochs:/ {
    sub(/epochs: *[0-9]+/, "epochs: 1"); print; print "    iterations: " n; c++; next }
{ print }
END { if (c != 5) { print "bench: " FILENAME ": expected 5 data/schedule lines, changed " c > "/dev/stderr"; exit 1 } }
' "$tiny/$m/$mname.yaml" > "$sdir/$mname.yaml.tmp"
    mv "$sdir/$mname.yaml.tmp" "$sdir/$mname.yaml"
    put "speed.$m.iters" "$n"
    put "speed.$m.batch" "$(awk '/^pretrain:/ { p = 1 } p && /^  batch:/ { print $2; exit }' "$sdir/$mname.yaml")"
    i=1
    while [ "$i" -le "$pairs" ]; do
        say "training speed $m: qatc train, run $i of $pairs"
        log=$sdir/qatc.$i.log
        "$QATC" train "$sdir/$mname.yaml" -o "$sdir/qatc.$i" --threads "$threads" > "$log" 2>&1 ||
            { tail -n 5 "$log" >&2; fail "qatc train $m failed (log: $log)"; }
        put "speed.$m.qatc.$i.float_images_per_s" "$(sed -n 's/^float training: .* \([0-9.]*\) images\/s.*/\1/p' "$log")"
        put "speed.$m.qatc.$i.qat_images_per_s" "$(sed -n 's/^qat training: .* \([0-9.]*\) images\/s.*/\1/p' "$log")"
        say "training speed $m: PyTorch eager, run $i of $pairs"
        "$PYTHON" bench/pytorch_qat.py --config "$tiny/$m/$mname.yaml" --speed-only \
            --float-epochs 1 --qat-epochs 1 --iterations "$n" --warmup "$speed_warmup" \
            --threads "$threads" > "$sdir/torch.$i.txt" 2> "$sdir/torch.$i.log" ||
            { tail -n 5 "$sdir/torch.$i.log" >&2; fail "bench/pytorch_qat.py $m failed (log: $sdir/torch.$i.log)"; }
        awk -v p="speed.$m.torch.$i." '{ print p $1, $2 }' "$sdir/torch.$i.txt" >> "$raw.tmp"
        i=$((i + 1))
    done
done
put meta.load_speed_end "$(loadavg)"

# the checks, the table and the end (also of BENCH_SPEED_ONLY=1)
finish() {
    # a figure that failed to parse is an error, not an empty or wrong cell
    awk 'NF < 2 { print "bench: no value for " $1 > "/dev/stderr"; bad = 1 }
         $1 !~ /^meta\./ && $2 !~ /^-?[0-9]+(\.[0-9]+)?$/ {
             print "bench: " $1 ": not a number: " $2 > "/dev/stderr"; bad = 1 }
         END { exit bad }' "$raw.tmp" ||
        fail "see the logs in $out"
    mv "$raw.tmp" "$raw"
    "$PYTHON" bench/table.py "$raw" > "$out/table.md.tmp"
    mv "$out/table.md.tmp" "$out/table.md"
    cat "$out/table.md"
    echo "bench: raw figures in $raw, table in $out/table.md; README: sh bench/readme_numbers.sh" >&2
    exit 0
}
# --- p. precision: W8 and W4A8, qatc and PyTorch (BENCH_PRECISION=1) ---------
# prec_config RUN OUT: the config of a run (MODEL-wBITS), with the CNN's 6 + 8
# epoch schedule and freeze points for mobilenet and its bits for -w4
prec_config() {
    case $1 in
        cnn-w8) cp examples/fmnist/fmnist_cnn.yaml "$2" ;;
        cnn-w4) cp examples/fmnist/fmnist_cnn_w4.yaml "$2" ;;
        mobilenet-w*)
            awk -v bits="${1#mobilenet-w}" '
/^[a-z]/ { top = $1 }
/^  [a-z]/ { sub2 = $1 }
top == "pretrain:" && /^  epochs:/ { sub(/epochs: *[0-9]+/, "epochs: 6"); c++ }
top == "quantization:" && /^  weight:/ { sub(/bits: *[0-9]+/, "bits: " bits); c++ }
top == "quantization:" && sub2 == "train:" && /^    epochs:/ { sub(/epochs: *[0-9]+/, "epochs: 8"); c++ }
/^    freeze_bn_after:/ { sub(/after: *[0-9]+/, "after: 4"); c++ }
/^    disable_observer_after:/ { sub(/after: *[0-9]+/, "after: 5"); c++ }
{ print }
END { if (c != 5) { print "bench: " FILENAME ": expected 5 schedule lines, changed " c > "/dev/stderr"; exit 1 } }
' examples/mobilenet/fmnist_mobilenet.yaml > "$2" ;;
    esac
}
if [ "$precision" = 1 ]; then
    put meta.precision_iters "$precision_iters"
    put meta.precision_runs "$(echo $precision_runs | tr ' ' ,)"
    for r in $precision_runs; do
        pdir=$out/precision/$r
        mkdir -p "$pdir"
        prec_config "$r" "$pdir/config.yaml.tmp.0"
        sed "s/iterations: 0/iterations: $precision_iters/" "$pdir/config.yaml.tmp.0" > "$pdir/config.yaml.tmp"
        rm "$pdir/config.yaml.tmp.0"
        mv "$pdir/config.yaml.tmp" "$pdir/config.yaml"
        pname=$(awk '/^  name:/ { print $2; exit }' "$pdir/config.yaml")
        say "precision $r: qatc train"
        if [ ! -s "$pdir/qatc.txt" ]; then
            "$QATC" train "$pdir/config.yaml" -o "$pdir/qatc" --threads "$threads" > "$pdir/qatc.log" 2>&1 ||
                { tail -n 5 "$pdir/qatc.log" >&2; fail "qatc train $r failed (log: $pdir/qatc.log)"; }
            # the CSV: epoch,phase,loss,float_top1,int8_top1,lr,seconds (percentages)
            awk -F, '$2 == "float" { f = $4 } $2 == "ptq" { p = $5 } $2 == "qat" { q = $5 }
                END { print "float_top1", f; print "ptq_int8_top1", p; print "qat_int8_top1", q }' \
                "$pdir/qatc/$pname.csv" > "$pdir/qatc.txt.tmp"
            echo "kept_int8_top1 $(sed -n 's/.*best int8 \([0-9.]*\)%.*/\1/p' "$pdir/qatc.log")" >> "$pdir/qatc.txt.tmp"
            mv "$pdir/qatc.txt.tmp" "$pdir/qatc.txt"
        fi
        awk -v p="prec.$r.qatc." '{ print p $1, $2 }' "$pdir/qatc.txt" >> "$raw.tmp"
        say "precision $r: PyTorch eager"
        if [ ! -s "$pdir/torch.txt" ]; then
            "$PYTHON" bench/pytorch_qat.py --config "$pdir/config.yaml" --weight-bits "${r#*-w}" \
                --float-epochs 6 --qat-epochs 8 --iterations "$precision_iters" --eval-images 0 --latency-runs 0 \
                --threads "$threads" > "$pdir/torch.txt.tmp" 2> "$pdir/torch.log" ||
                { tail -n 5 "$pdir/torch.log" >&2; fail "bench/pytorch_qat.py $r failed (log: $pdir/torch.log)"; }
            mv "$pdir/torch.txt.tmp" "$pdir/torch.txt"
        fi
        awk -v p="prec.$r.torch." '$1 ~ /top1$/ { $2 = sprintf("%.2f", 100 * $2) } { print p $1, $2 }' \
            "$pdir/torch.txt" >> "$raw.tmp"
    done
    put meta.seconds $(($(date +%s) - t_start))
    finish
fi
[ "$speed_only" = 0 ] || { put meta.seconds $(($(date +%s) - t_start)); finish; }

# --- b, c. inference and footprint of the generated C --------------------------
say "qatc eval and report of the kept model (run 1)"
"$QATC" eval "$out/qatc.1/$name.frozen.yaml" --images "$eval_images" --labels "$eval_labels" \
    > "$out/eval.txt"
put qatc.eval_int8_top1 "$(sed -n 's/^top1 .*(\([0-9.]*\)%)$/\1/p' "$out/eval.txt")"
"$QATC" report "$out/qatc.1/$name.frozen.yaml" > "$out/report.txt"
# totals: N MACs per run; flash F bytes of constant data (...); arena A bytes (lower bound L)
totals=$(grep '^totals:' "$out/report.txt") || fail "qatc report printed no totals line"
macs=$(echo "$totals" | sed -n 's/^totals: \([0-9]*\) MACs.*/\1/p')
put model.macs "$macs"
put model.const_bytes "$(echo "$totals" | sed -n 's/.*flash \([0-9]*\) bytes.*/\1/p')"
put model.arena "$(echo "$totals" | sed -n 's/.*arena \([0-9]*\) bytes.*/\1/p')"
put model.arena_lower_bound "$(echo "$totals" | sed -n 's/.*lower bound \([0-9]*\).*/\1/p')"

say "Cortex-M0/M3/M4 and rv32imc under qemu (-Os and -O2) and callgrind on the host"
for opt in Os O2; do
    QT_OUT=$out/mcu-$opt QT_OPT=-$opt QT_MACS=$macs \
        bench/target/measure.sh "$gen" "$name" examples/firmware/sample.c > "$out/mcu-$opt.txt"
    # core instr per_mac code lib other weights flash arena static stack
    awk -v opt="$opt" 'NR > 1 {
        core = $1; sub(/^cortex-/, "", core); sub(/^rv32imc$/, "rv32", core)
        if (sub(/\*$/, "", core)) print "mcu." opt "." core ".on_mps2 1"   # too big for the micro:bit
        split("instr per_mac code lib other weights flash arena static stack", k, " ")
        for (j = 1; j <= 10; j++) print "mcu." opt "." core "." k[j], $(j + 1)
    }' "$out/mcu-$opt.txt" >> "$raw.tmp"
done
# 4-bit weights (W4): the same network with random int4 weights (instruction counts do not
# depend on the weights' values), -O2, Cortex-M0/M3/M4
w4gen=$out/w4-gen
mkdir -p "$w4gen"
"$QATC" gen tests/data/fmnist_cnn_w4_random.frozen.yaml -o "$w4gen" > /dev/null
QT_OUT=$out/mcu-w4 QT_OPT=-O2 QT_CORES="m0 m3 m4" \
    bench/target/measure.sh "$w4gen" fmnist_cnn_w4 examples/firmware/sample.c > "$out/mcu-w4.txt"
awk 'NR > 1 { core = $1; sub(/^cortex-/, "", core); sub(/\*$/, "", core)
              print "mcu.w4.O2." core ".instr", $2; print "mcu.w4.O2." core ".weights", $7 }' \
    "$out/mcu-w4.txt" >> "$raw.tmp"
put host.instr "$(QT_OUT=$out/host QT_HOST_CFLAGS="$host_cflags" bench/target/host_icount.sh "$gen" "$name")"
put meta.load_end "$(loadavg)"
put meta.seconds $(($(date +%s) - t_start))
finish
