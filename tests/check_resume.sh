#!/bin/sh
# Crash safety of `qatc train`: a tiny run killed with SIGKILL at random
# points (RESUME_KILLS times, default 3) and continued with --resume must end
# with a frozen model byte-identical to an uninterrupted run (same seed, same
# --threads) and the same per-epoch log (seconds aside). The run has a
# validation fraction and augmentation, whose split and draws a resumed run
# must repeat. After every kill,
# each output present must be whole: the frozen model reads back (qatc
# report). The kill points are random (below); RESUME_POINTS="3+20 5+7"
# repeats a failing run. Needs QATC and BUILD, as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_config.sh
tiny_check check_resume a b
THREADS=2
sed -i 's|^  eval: .*|&\n  validation: {fraction: 0.25}\n  augment: {shift: 2, flip: true}|' "$W/tiny.yaml"
grep -q 'validation: {fraction' "$W/tiny.yaml" || fail "no validation in the config"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The CSV without its last column (seconds, which differ between runs).
csv_cut() { sed 's/,[^,]*$//' "$1"; }

# A: uninterrupted, timed.
t0=$(now_ms)
"$QATC" train "$W/tiny.yaml" -o "$W/a" --threads $THREADS --quiet >"$W/a.log" 2>&1 ||
    fail "uninterrupted run: $(tail -n 3 "$W/a.log")"
dur=$(($(now_ms) - t0))
[ -f "$W/a/tiny.frozen.yaml" ] || fail "uninterrupted run wrote no tiny.frozen.yaml"

# B: killed at random points, each time continued with --resume (from
# scratch while no checkpoint exists yet). A kill point is "once the epoch
# log has R lines, plus X ms", R a random 1 or 2 lines past the last round,
# X random within one epoch's time, so that every kill lands inside the run.
lines=$(wc -l <"$W/a/tiny.csv")
per=$((dur / (lines - 1) + 1))
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
csv_lines() { if [ -f "$W/b/tiny.csv" ]; then wc -l <"$W/b/tiny.csv"; else echo 0; fi; }
points=${RESUME_POINTS:-}
if [ -z "$points" ]; then
    r=1
    for i in $(seq "${RESUME_KILLS:-3}"); do
        r=$((r + 1 + $(rand) % 2))
        [ $r -ge "$lines" ] && break
        points="$points $r+$(($(rand) % per))"
    done
fi
killed=0
for p in $points; do
    target=${p%+*} extra=${p#*+}
    resume=
    [ -f "$W/b/tiny.ckpt" ] && resume=--resume
    "$QATC" train "$W/tiny.yaml" -o "$W/b" --threads $THREADS --quiet $resume \
        >"$W/b.log" 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null && [ "$(csv_lines)" -lt "$target" ]; do sleep 0.01; done
    sleep "$(awk -v ms="$extra" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL $pid 2>/dev/null
    { wait $pid; } 2>/dev/null # (the shell's "Killed" notice)
    rc=$?
    if [ $rc -eq 137 ]; then
        killed=$((killed + 1))
    elif [ $rc -ne 0 ]; then
        fail "run killed at $p exited $rc: $(tail -n 3 "$W/b.log")"
    fi
    if [ -f "$W/b/tiny.frozen.yaml" ]; then
        "$QATC" report "$W/b/tiny.frozen.yaml" >/dev/null 2>"$W/report.err" ||
            fail "after a kill at $p the frozen model is not whole: $(cat "$W/report.err")"
    fi
done
[ $killed -gt 0 ] || fail "no run was killed (points:$points; run of $dur ms)"
resume=
[ -f "$W/b/tiny.ckpt" ] && resume=--resume
"$QATC" train "$W/tiny.yaml" -o "$W/b" --threads $THREADS --quiet $resume >"$W/b.log" 2>&1 ||
    fail "final resumed run: $(tail -n 3 "$W/b.log")"

cmp -s "$W/a/tiny.frozen.yaml" "$W/b/tiny.frozen.yaml" ||
    fail "killed at$points and resumed: the frozen model differs from the uninterrupted run"
csv_cut "$W/a/tiny.csv" >"$W/a.csv"
csv_cut "$W/b/tiny.csv" >"$W/b.csv"
cmp -s "$W/a.csv" "$W/b.csv" ||
    fail "killed at$points and resumed: the epoch log differs: $(diff "$W/a.csv" "$W/b.csv" | head -n 4)"
# Temporaries of writes the kills cut short are removed by the next write.
left=$(ls -A "$W/b" | grep -v -x -e tiny.frozen.yaml -e tiny.ckpt -e tiny.csv)
[ -z "$left" ] || fail "files left in the output folder: $(echo $left)"
echo "resume: run of ${dur} ms, $lines log lines; SIGKILL at$points (log lines+ms):" \
     "resumed model byte-identical, epoch log identical, no temporary left"
