#!/bin/sh
# Usage: scripts/gen_identical.sh BASE-REVISION [FROZEN.yaml ...]
# For refactors that must not change the generated C: builds `qatc` at
# BASE-REVISION (in a scratch worktree) and in the current tree, generates
# every frozen model given (default: the reference CNN with 16 golden
# Fashion-MNIST images, and the 200 random models of test_gen_random, written
# by that test with QATC_GEN_RANDOM_WRITE_ONLY=1) with both, and compares the
# outputs byte for byte. Prints how many files were compared; exits 1 when
# any differs (and shows the first diff), 2 on a setup error.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -ge 1 ] || { echo "usage: gen_identical.sh BASE-REVISION [FROZEN.yaml ...]" >&2; exit 2; }
base=$1
shift
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
work=$(mktemp -d "${TMPDIR:-/tmp}/gen-identical.XXXXXX")
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1; rm -rf "$work"' EXIT

git worktree add -q --detach "$work/base" "$base" || exit 2
make -s -C "$work/base" -j2 qatc >/dev/null || { echo "gen_identical: building $base failed" >&2; exit 2; }
make -s -j2 qatc tests >/dev/null || { echo "gen_identical: building this tree failed" >&2; exit 2; }

if [ $# -eq 0 ]; then
    QATC_GEN_RANDOM_WRITE_ONLY=1 build/tests/test_gen_random >"$work/random.log" 2>&1 ||
        { cat "$work/random.log"; exit 2; }
    kept=$(sed -n 's/^gen-random: kept //p' "$work/random.log")
    [ -d "$kept" ] || { echo "gen_identical: test_gen_random kept no folder" >&2; exit 2; }
    mkdir "$work/random"
    mv "$kept"/r*.frozen.yaml "$work/random/"
    rm -rf "$kept"
    set -- tests/data/fmnist_cnn_random.frozen.yaml "$work"/random/r*.frozen.yaml
fi

n=0
for f in "$@"; do
    for side in base new; do
        q=$root/qatc
        [ $side = base ] && q=$work/base/qatc
        out=$work/out-$side/$(basename "$f" .frozen.yaml)
        mkdir -p "$out"
        case $f in
            */fmnist_cnn_random.frozen.yaml) "$q" gen "$f" -o "$out" --golden 16 --images "$images" ;;
            *) "$q" gen "$f" -o "$out" ;;
        esac >/dev/null || { echo "gen_identical: $side qatc gen $f failed" >&2; exit 2; }
    done
    n=$((n + 1))
done
files=$(find "$work/out-new" -type f | wc -l)
if ! diff -r "$work/out-base" "$work/out-new" >"$work/diff"; then
    head -40 "$work/diff"
    echo "gen_identical: the generated files of $n models differ from $base's ($files files)"
    exit 1
fi
echo "gen_identical: $n models, $files generated files byte-identical to $base's"
