#!/bin/sh
# The generator commands end to end, with the reference CNN of examples/fmnist
# (tests/data/fmnist_cnn_random.frozen.yaml, random weights):
#   - qatc report prints per-layer figures, the arena plan and the totals;
#   - qatc gen --golden writes NAME.c, NAME.h, NAME_golden.c; regenerating
#     gives identical bytes; the files build with $CC under the strict flags
#     with float/double poisoned and the self-test passes, on the host and
#     under qemu on Cortex-M0, M3 and M4 (tests/target/run.sh; M3 and M4 at -Os
#     and -O2, which compile their C differently);
#   - qatc eval's top-1 equals the top-1 the generated C computes;
#   - bad input (missing or malformed file, bad options) exits non-zero
#     with one line on stderr and leaves no file;
#   - `make install` puts qatc and its templates under PREFIX, and the
#     installed qatc works outside the source tree.
# Environment (make check): QATC (the binary), BUILD (scratch), CC.
set -eu
QATC=${QATC:-$PWD/qatc}
BUILD=${BUILD:-$PWD/build}
CC=${CC:-cc}
src=$PWD
. "$src/tests/support/host_selftest.sh"
ref=$src/tests/data/fmnist_cnn_random.frozen.yaml
work=$BUILD/check_gen
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "check_gen: $*" >&2; exit 1; }

# --- report -----------------------------------------------------------------
"$QATC" report --help > /dev/null
"$QATC" report "$ref" > report.txt
grep -q '^0    conv1 ' report.txt || fail "report: no conv1 line"
grep -q 'arena plan' report.txt || fail "report: no arena plan"
grep '^totals:' report.txt || fail "report: no totals"

# --- 20 images and labels 0..9, 0..9 as IDX (deterministic bytes) --------------------
{
    printf '\000\000\010\003\000\000\000\024\000\000\000\034\000\000\000\034'
    LC_ALL=C awk 'BEGIN { for (i = 0; i < 20 * 784; i++)
                            printf "%c", (i * 37 + int(i / 97) * (1 + int(i / 784))) % 256 }'
} > images.idx
{
    printf '\000\000\010\001\000\000\000\024'
    LC_ALL=C awk 'BEGIN { for (i = 0; i < 20; i++) printf "%c", i % 10 }'
} > labels.idx

# --- gen --golden, regeneration, strict build, self-test ---------------------------
"$QATC" gen --help > /dev/null
mkdir out again
"$QATC" gen "$ref" -o out --golden 5 --images images.idx > /dev/null
(cd out && "$QATC" gen "$ref" -o ../again --golden 5 --images ../images.idx > /dev/null)
for f in fmnist_cnn.c fmnist_cnn.h fmnist_cnn_golden.c; do
    [ -s "out/$f" ] || fail "gen: out/$f missing"
    cmp "out/$f" "again/$f" || fail "gen: $f differs when generated again"
done
host_selftest out fmnist_cnn || fail "gen: the golden self-test"

# --- the same self-test on Cortex-M0, M3 and M4 under qemu (the kernels differ per core) ----
for core in m0 m3 m4; do
    QT_CFLAGS="-include $work/poison.h" QT_OUT="$work/target-$core" \
        sh "$src/tests/target/run.sh" $core out fmnist_cnn > "target-$core.log" 2>&1 ||
        { cat "target-$core.log" >&2; fail "the reference CNN's self-test failed on $core"; }
    echo "$core: $(grep 'selftest:' "target-$core.log")"
done
# clang for the same cores compiles it warning-free too (the versions say "GCC or clang"),
# at -Os and -O2 (the DSP helpers go unused at -Os, where their loops are assembly)
if command -v clang > /dev/null; then
    for cpu in cortex-m0 cortex-m3 cortex-m4; do
        for opt in -Os -O2; do
            clang --target=arm-none-eabi -mcpu=$cpu -mthumb -mfloat-abi=soft -ffreestanding \
                $opt -std=c99 -Wall -Wextra -Wconversion -Werror -c out/fmnist_cnn.c \
                -o clang-arm.o || fail "clang $cpu $opt: the generated C does not build"
        done
    done
    echo "clang for cortex-m0/m3/m4 at -Os and -O2: builds warning-free"
fi
# at -O2 too on M3 and M4: their conv inner loops are assembly at every level, but the C
# around them (window copies, requantization) and dot_1x4 differ
for core in m3 m4; do
    QT_CFLAGS="-include $work/poison.h -O2" QT_OUT="$work/target-$core-O2" \
        sh "$src/tests/target/run.sh" $core out fmnist_cnn > "target-$core-O2.log" 2>&1 ||
        { cat "target-$core-O2.log" >&2; fail "the reference CNN's self-test failed on $core at -O2"; }
    echo "$core -O2: $(grep 'selftest:' "target-$core-O2.log")"
done

# --- eval == the generated C's top-1 ---------------------------------------------
"$QATC" eval --help > /dev/null
"$QATC" eval "$ref" --images images.idx --labels labels.idx > eval.txt
tail -1 eval.txt
tail -1 eval.txt | grep -Eq '^top1 [0-9]+/20 \([0-9]+\.[0-9]{2}%\)$' || fail "eval: bad last line"
cat > top1.c <<'EOF'
/* top-1 of the generated C on images.idx / labels.idx (q = pixel - 128). */
#include <stdio.h>
#include "fmnist_cnn.h"
int main(void)
{
    FILE *fi = fopen("images.idx", "rb"), *fl = fopen("labels.idx", "rb");
    unsigned char px[784], head[16], lab;
    int8_t in[784], out[FMNIST_CNN_OUTPUT_SIZE];
    int n = 0, correct = 0;
    if (!fi || !fl || fread(head, 1, 16, fi) != 16 || fread(head, 1, 8, fl) != 8)
        return 2;
    while (fread(px, 1, 784, fi) == 784 && fread(&lab, 1, 1, fl) == 1) {
        for (int i = 0; i < 784; i++)
            in[i] = (int8_t)(px[i] - 128);
        if (fmnist_cnn_run_static(in, out) != 0)
            return 2;
        int best = 0;
        for (int i = 1; i < FMNIST_CNN_OUTPUT_SIZE; i++)
            if (out[i] > out[best])
                best = i;
        correct += best == lab;
        n++;
    }
    printf("top1 %d/%d\n", correct, n);
    return 0;
}
EOF
$CC -O2 -Iout -o top1 top1.c fmnist_cnn.o
want=$(tail -1 eval.txt | cut -d' ' -f2)
got=$(./top1 | cut -d' ' -f2)
[ "$want" = "$got" ] || fail "eval says $want, the generated C says $got"

# --- bad input: non-zero, one line on stderr, no file -----------------------------
expect_fail() { # DESCRIPTION COMMAND...
    what=$1
    shift
    rm -rf bad && mkdir bad
    if "$@" > /dev/null 2> err.txt; then fail "$what: exit status 0"; fi
    [ "$(wc -l < err.txt)" = 1 ] || { cat err.txt >&2; fail "$what: not one line on stderr"; }
    [ -z "$(ls -A bad)" ] || fail "$what: left $(ls bad) behind"
    echo "bad input ($what): $(cat err.txt)"
}
printf 'qatc_frozen: 1\nname: [oops\n' > malformed.yaml
sed 's/kernel: \[3, 3\]/kernel: [3, 99]/' "$ref" > badkernel.yaml
expect_fail "missing file" "$QATC" gen nowhere.frozen.yaml -o bad
expect_fail "malformed YAML" "$QATC" gen malformed.yaml -o bad
expect_fail "invalid model" "$QATC" gen badkernel.yaml -o bad
"$QATC" gen "$ref" -o new/sub > /dev/null && [ -f new/sub/fmnist_cnn.c ] ||
    fail "gen -o does not create a missing folder"
: > notafolder
expect_fail "output folder under a file" "$QATC" gen "$ref" -o notafolder/sub
expect_fail "golden without images" "$QATC" gen "$ref" -o bad --golden 2
expect_fail "golden past the end" "$QATC" gen "$ref" -o bad --golden 21 --images images.idx
expect_fail "unknown option" "$QATC" gen "$ref" -o bad --fast
expect_fail "unknown target" "$QATC" gen "$ref" -o bad --target z80
expect_fail "report missing file" "$QATC" report nowhere.frozen.yaml
expect_fail "eval without labels" "$QATC" eval "$ref" --images images.idx

# --- make install, and the installed qatc outside the source tree --------------------
make -s -C "$src" --no-print-directory install PREFIX="$work/prefix" > /dev/null
[ -x prefix/bin/qatc ] && [ -f prefix/share/qatc/templates/qatc.m4 ] || fail "install: files missing"
mkdir elsewhere
(cd elsewhere && env -u QATC_TEMPLATES "$work/prefix/bin/qatc" gen "$ref" -o . > /dev/null) ||
    fail "installed qatc: gen failed outside the source tree"
cmp elsewhere/fmnist_cnn.c out/fmnist_cnn.c || fail "installed qatc: different output"
cp prefix/bin/qatc lonely-qatc
expect_fail "no templates" env -u QATC_TEMPLATES ./lonely-qatc gen "$ref" -o bad
echo "check_gen: all passed"
