#!/bin/sh
# The libFuzzer targets (tests/fuzz/fuzz.mk) in make check: built with clang
# under ASan+UBSan in $BUILD/fuzz, every seed and kept crasher run once, then
# FUZZ_CHECK_SECONDS (default 20) of fuzzing per target. Fails on any finding.
set -e
: "${BUILD:?}"
# A make of its own (not the jobserver of the make that runs this script).
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -s -j2 BUILD="$BUILD" \
    fuzz-check
