#!/bin/sh
# make bench: qatc against PyTorch (run here) and CMSIS-NN (anchor figures),
# everything on this machine, one table.
#
#   make bench                                     about 10-15 minutes on 2 cores
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
nsteps=$((2 * pairs + 2))
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
while [ "$i" -le "$pairs" ]; do
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
    "$PYTHON" bench/pytorch_qat.py --float-epochs "$fepochs" --qat-epochs "$qepochs" \
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
