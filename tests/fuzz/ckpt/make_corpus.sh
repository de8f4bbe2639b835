#!/bin/sh
# Seeds of fuzz_ckpt: checkpoints of its fixed config at every phase, written
# by ckpt_write through the target itself (QATC_FUZZ_CKPT_SEEDS), each with
# mode byte 0 (the file as it is) and 1 (CRCs computed anew after mutation).
#   make fuzz-build && sh tests/fuzz/ckpt/make_corpus.sh [BUILD]
set -eu
build=${1:-build}
out=tests/fuzz/ckpt/corpus
mkdir -p "$out"
QATC_FUZZ_CKPT_SEEDS=$out "$build/fuzz/fuzz_ckpt"
# a checkpoint of another build's header size and garbage, as refusals to start from
head -c 64 /dev/zero >"$out/zeros"
printf 'QATCCKP1\001\000\000\000' >"$out/magic_only"
ls "$out" | wc -l
