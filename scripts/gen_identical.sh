#!/bin/sh
# Usage: scripts/gen_identical.sh BASE-REVISION [FROZEN.yaml ...]
# For refactors that must not change the generated C: builds `qatc` at
# BASE-REVISION (in a scratch worktree) and in the current tree, generates
# every frozen model given with both, and compares the outputs byte for byte.
# Default models: the reference CNN with 16 golden Fashion-MNIST images, and
# the 200 random models of test_gen_random, written by that test with
# QATC_GEN_RANDOM_WRITE_ONLY=1 and QATC_GEN_RANDOM_BREADTH=0 (none of the
# forms of format version 2, which a base before them cannot print and whose
# draws differ) -- each side's own test_gen_random writes them for its own
# qatc, so the two may differ in frozen format version (the models are the
# same when random_model draws the same). Prints how many
# files were compared; exits 1 when any differs (and shows the first diff and
# the list of models that differ), 2 on a setup error.
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
random=
[ $# -eq 0 ] && random=build/tests/test_gen_random
make -s -C "$work/base" -j2 qatc $random >/dev/null ||
    { echo "gen_identical: building $base failed" >&2; exit 2; }
make -s -j2 qatc tests >/dev/null || { echo "gen_identical: building this tree failed" >&2; exit 2; }

# write_random SIDE TREE: TREE's test_gen_random writes the random models into W/random-SIDE.
write_random() {
    (cd "$2" && QATC_GEN_RANDOM_BREADTH=0 QATC_GEN_RANDOM_WRITE_ONLY=1 build/tests/test_gen_random) \
        >"$work/random-$1.log" 2>&1 || { cat "$work/random-$1.log"; exit 2; }
    kept=$(sed -n 's/^gen-random: kept //p' "$work/random-$1.log")
    [ -d "$kept" ] || { echo "gen_identical: $1 test_gen_random kept no folder" >&2; exit 2; }
    mkdir "$work/random-$1"
    mv "$kept"/r*.frozen.yaml "$work/random-$1/"
    rm -rf "$kept"
}
if [ $# -eq 0 ]; then
    write_random base "$work/base"
    write_random new "$root"
    set -- tests/data/fmnist_cnn_random.frozen.yaml "$work"/random-new/r*.frozen.yaml
fi

n=0
for f in "$@"; do
    for side in base new; do
        q=$root/qatc
        src=$f
        if [ $side = base ]; then
            q=$work/base/qatc
            case $f in "$work"/random-new/*) src=$work/random-base/$(basename "$f") ;; esac
        fi
        out=$work/out-$side/$(basename "$f" .frozen.yaml)
        mkdir -p "$out"
        case $f in
            */fmnist_cnn_random.frozen.yaml) "$q" gen "$src" -o "$out" --golden 16 --images "$images" ;;
            *) "$q" gen "$src" -o "$out" ;;
        esac >/dev/null || { echo "gen_identical: $side qatc gen $src failed" >&2; exit 2; }
    done
    n=$((n + 1))
done
files=$(find "$work/out-new" -type f | wc -l)
if ! diff -r "$work/out-base" "$work/out-new" >"$work/diff"; then
    head -40 "$work/diff"
    differ=$(diff -rq "$work/out-base" "$work/out-new" | sed -n 's|.*out-base/\([^/:]*\).*|\1|p' |
             sort -u)
    echo "gen_identical: models whose files differ:" $differ
    echo "gen_identical: the generated files of $(echo "$differ" | wc -w) of $n models differ" \
         "from $base's ($files files)"
    exit 1
fi
echo "gen_identical: $n models, $files generated files byte-identical to $base's"
