#!/bin/sh
# Source coverage of the fuzzed modules by the fuzz corpora (llvm-cov):
#   sh tests/fuzz/coverage.sh [BUILD]     (default build)
# Builds each target with clang's source-based coverage in BUILD/fuzz-cov,
# runs it once over tests/fuzz/T/corpus, tests/fuzz/T/regressions and
# BUILD/fuzz/corpus/T (what make fuzz found), and prints llvm-cov's report
# (regions, functions, lines, branches) for the modules the target reads.
set -eu
build=${1:-build}
out=$build/fuzz-cov
mkdir -p "$out"
flags="-std=c11 -g -O0 -fopenmp -Iruntime/train -Iruntime/int8 -Iruntime/common -Itests/fuzz -D_GNU_SOURCE -w
       -fprofile-instr-generate -fcoverage-mapping"
for s in runtime/*/*.c tests/fuzz/fuzzfile.c; do
    # shellcheck disable=SC2086
    clang $flags -fsanitize=fuzzer-no-link -c "$s" -o "$out/$(basename "$s" .c).o"
done
# report TARGET MODULE...: the coverage of MODULE... by TARGET's corpora.
report() {
    t=$1
    shift
    # shellcheck disable=SC2086
    clang $flags -fsanitize=fuzzer "tests/fuzz/fuzz_$t.c" "$out"/*.o -lyaml -lz -lm \
        -o "$out/fuzz_$t"
    dirs="tests/fuzz/$t/corpus"
    [ -d "tests/fuzz/$t/regressions" ] && dirs="$dirs tests/fuzz/$t/regressions"
    [ -d "$build/fuzz/corpus/$t" ] && dirs="$dirs $build/fuzz/corpus/$t"
    # shellcheck disable=SC2086
    LLVM_PROFILE_FILE="$out/$t.profraw" "$out/fuzz_$t" -runs=0 -rss_limit_mb=1024 $dirs \
        >/dev/null 2>&1
    llvm-profdata merge -o "$out/$t.profdata" "$out/$t.profraw"
    echo "== fuzz_$t"
    llvm-cov report "$out/fuzz_$t" -instr-profile="$out/$t.profdata" "$@" | grep -v '^---'
}
report config runtime/train/config.c runtime/common/yamlx.c runtime/common/qnum.c
report idx runtime/common/idx.c runtime/common/infile.c
report npy runtime/common/npy.c runtime/common/infile.c runtime/common/dataset.c
report frozen runtime/int8/frozen_io.c runtime/int8/qmodel.c runtime/common/yamlx.c runtime/int8/q8_exec.c \
    runtime/int8/q8_kernels.c
report ckpt runtime/train/checkpoint.c runtime/train/cfgcanon.c
