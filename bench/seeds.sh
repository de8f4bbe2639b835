#!/bin/sh
# Usage: sh bench/seeds.sh CONFIG.yaml SEED...
# Trains CONFIG once per seed (`qatc train --seed S`, one after the other, all
# cores each) and prints a markdown table: per seed the float top-1 of the last
# float epoch, the PTQ int8 top-1, the best and the last QAT int8 top-1, and
# the wall time; then the mean and sample standard deviation of each column.
# Run-to-run spread is the yardstick for any change to a schedule or an
# initialisation: on the reference CNN one seed differs from the next by a few
# tenths of a point, as much as most changes do.
#   sh bench/seeds.sh examples/fmnist/fmnist_cnn.yaml 9527 1 2 3    about 25 min
# Environment: QATC [./qatc], SEEDS_OUT [out/seeds]: OUT/NAME-seed-S/ keeps
# each run's frozen model, CSV log and stderr.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
qatc=${QATC:-$root/qatc}
out=${SEEDS_OUT:-out/seeds}
[ $# -ge 2 ] || { echo "usage: sh bench/seeds.sh CONFIG.yaml SEED..." >&2; exit 2; }
config=$1
shift
[ -r "$config" ] || { echo "seeds.sh: $config: cannot read" >&2; exit 1; }
[ -x "$qatc" ] || { echo "seeds.sh: $qatc: not built (run make)" >&2; exit 1; }
name=$(basename "$config" .yaml)
rows=$out/$name-rows.txt
mkdir -p "$out"
: >"$rows"
for s in "$@"; do
    case $s in '' | *[!0-9]*) echo "seeds.sh: seed '$s' is not a non-negative integer" >&2; exit 2 ;; esac
    dir=$out/$name-seed-$s
    mkdir -p "$dir"
    echo "seeds.sh: seed $s -> $dir" >&2
    t0=$(date +%s)
    "$qatc" train "$config" -o "$dir" --seed "$s" --quiet 2>"$dir/stderr.txt" ||
        { echo "seeds.sh: seed $s failed:" >&2; cat "$dir/stderr.txt" >&2; exit 1; }
    wall=$(($(date +%s) - t0))
    csv=$(ls "$dir"/*.csv)
    # the CSV: epoch,phase,loss,float_top1,int8_top1,lr,seconds (docs/train.md)
    awk -F, -v seed="$s" -v wall="$wall" '
        $2 == "float" { fl = $4 }
        $2 == "ptq"   { ptq = $5 }
        $2 == "qat" && $5 != "" { last = $5; if (best == "" || $5 > best) best = $5 }
        END { printf "%s %s %s %s %s %s\n", seed, fl == "" ? "-" : fl, ptq == "" ? "-" : ptq,
                     best == "" ? "-" : best, last == "" ? "-" : last, wall }' "$csv" >>"$rows"
done
echo "| seed | float | PTQ int8 | QAT int8, best epoch | QAT int8, last epoch | wall s |"
echo "|---:|---:|---:|---:|---:|---:|"
awk '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
awk '
    { for (i = 2; i <= 6; i++) if ($i != "-") { n[i]++; s[i] += $i; ss[i] += $i * $i } }
    END {
        printf "| mean ± sd |"
        for (i = 2; i <= 6; i++) {
            if (!n[i]) { printf " - |"; continue }
            m = s[i] / n[i]; v = n[i] > 1 ? (ss[i] - n[i] * m * m) / (n[i] - 1) : 0
            printf (i < 6 ? " %.2f ± %.2f |" : " %.0f |"), m, sqrt(v > 0 ? v : 0)
        }
        printf "\n"
    }' "$rows"
