#!/bin/sh
# Runs libFuzzer targets built by tests/fuzz/fuzz.mk.
#   run.sh fuzz  DIR SECONDS TARGET...   fuzz each target for SECONDS
#   run.sh check DIR SECONDS TARGET...   every seed and kept crasher once, then fuzz
# DIR is the fuzz build folder (binaries DIR/fuzz_T); new inputs go to
# DIR/corpus/T, crashes to DIR/crash-T-*. Prints libFuzzer's final figures per
# target; on a finding prints the end of the log and fails.
set -u
mode=$1 dir=$2 seconds=$3
shift 3
# -timeout: a slow input is a finding; -rss_limit_mb also caps single mallocs.
opts="-timeout=10 -rss_limit_mb=1024 -print_final_stats=1"
status=0
for t in "$@"; do
    bin=$dir/fuzz_$t
    seeds="tests/fuzz/$t/corpus"
    [ -d "tests/fuzz/$t/regressions" ] && seeds="$seeds tests/fuzz/$t/regressions"
    dict=
    [ -f "tests/fuzz/$t/dict" ] && dict="-dict=tests/fuzz/$t/dict"
    mkdir -p "$dir/corpus/$t"
    log=$dir/$t.log
    if [ "$mode" = check ]; then
        # -runs=0 runs the given inputs once each and stops.
        if ! "$bin" $opts -runs=0 $seeds >"$log" 2>&1; then
            echo "fuzz $t: a seed or kept crasher fails:" >&2
            tail -n 60 "$log" >&2
            status=1
            continue
        fi
        echo "fuzz $t: $(find $seeds -type f | wc -l) seeds and crashers pass"
    fi
    if ! "$bin" $opts $dict -artifact_prefix="$dir/crash-$t-" -max_total_time="$seconds" \
            "$dir/corpus/$t" $seeds >"$log" 2>&1; then
        echo "fuzz $t: FOUND A PROBLEM (input kept as $dir/crash-$t-*):" >&2
        tail -n 60 "$log" >&2
        status=1
        continue
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    echo "fuzz $t: ${seconds}s, $execs executions, no finding; last: $last"
done
exit $status
