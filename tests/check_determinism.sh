#!/bin/sh
# Determinism: the same config, seed and thread count give byte-identical
# frozen models and epoch logs (seconds aside); the same frozen model gives
# byte-identical generated files and the same eval output. Runs the tiny
# config with 1 and with 2 threads, twice each, and says whether the two
# thread counts agree (they need not: docs/robustness.md). Needs QATC and
# BUILD, as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_config.sh
tiny_check check_determinism
csv_cut() { sed 's/,[^,]*$//' "$1"; }

for t in 1 2; do
    for run in a b; do
        d=$W/t$t$run
        mkdir -p "$d"
        "$QATC" train "$W/tiny.yaml" -o "$d" --threads $t --quiet >"$d.log" 2>&1 ||
            fail "train --threads $t: $(tail -n 3 "$d.log")"
        csv_cut "$d/tiny.csv" >"$d.csv"
    done
    cmp -s "$W/t${t}a/tiny.frozen.yaml" "$W/t${t}b/tiny.frozen.yaml" ||
        fail "two runs with --threads $t give different frozen models"
    cmp -s "$W/t${t}a.csv" "$W/t${t}b.csv" ||
        fail "two runs with --threads $t give different epoch logs:" \
             "$(diff "$W/t${t}a.csv" "$W/t${t}b.csv" | head -n 4)"
done
if cmp -s "$W/t1a/tiny.frozen.yaml" "$W/t2a/tiny.frozen.yaml"; then
    threads="1 and 2 threads give the same model"
else
    threads="1 and 2 threads give different models (allowed: docs/robustness.md)"
fi

F=$W/t1a/tiny.frozen.yaml
for run in a b; do
    mkdir -p "$W/gen$run"
    "$QATC" gen "$F" -o "$W/gen$run" --golden 8 --images "$W/data/eval/img.idx" \
        >"$W/gen$run.log" 2>&1 || fail "gen: $(tail -n 3 "$W/gen$run.log")"
    "$QATC" eval "$F" --images "$W/data/eval/img.idx" --labels "$W/data/eval/lbl.idx" \
        >"$W/eval$run.out" 2>&1 || fail "eval: $(tail -n 3 "$W/eval$run.out")"
done
[ -n "$(ls -A "$W/gena")" ] || fail "gen wrote nothing"
for f in $(ls -A "$W/gena"); do
    cmp -s "$W/gena/$f" "$W/genb/$f" || fail "gen twice: $f differs"
done
[ "$(ls -A "$W/gena")" = "$(ls -A "$W/genb")" ] || fail "gen twice: different files"
cmp -s "$W/evala.out" "$W/evalb.out" || fail "eval twice: different output"
echo "determinism: train twice with 1 and with 2 threads: identical frozen models and logs;" \
     "$threads; gen ($(ls -A "$W/gena" | tr '\n' ' '| sed 's/ $//')) and eval twice: identical"
