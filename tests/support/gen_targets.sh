#!/bin/sh
# Usage: gen_targets.sh DIR "TARGET:VERSION ..." NAME...
# Checks the files of `qatc gen --target` (test_gen, test_gen_random). DIR holds
# NAME.c and NAME.h generated for every version (--target all), DIR/targets/TARGET
# the same model generated for TARGET, whose inner loops are VERSION's
# (templates/kernels.m4). For each target:
#   - its NAME.c holds only VERSION's code: no QATC_DOT switch, none of the other
#     versions' markers (names only their code has), and its own;
#   - preprocessed by a compiler for the target, it is the same C, token for
#     token, as the file with every version preprocessed by that compiler: both
#     compile to the same code there, which the other tests run bit-exact against
#     the reference kernels (every version on the host, the Arm ones under qemu).
# Exit 0 when all hold; otherwise the first failure.
set -u
set -f # markers are patterns
[ $# -ge 3 ] || { echo "usage: gen_targets.sh DIR \"TARGET:VERSION ...\" NAME..." >&2; exit 2; }
dir=$1; tdir=$1/targets; pairs=$2; shift 2

# markers VERSION: identifiers that only that version's inner loops use.
markers() {
    case $1 in
        DSP) echo "smlad sxtab16 dot4x2_dsp lanes_of" ;;
        THUMB1) echo "dot8_thumb1 QATC_T1_RUNS" ;;
        SMLAL) echo "split23 dot4x2_smlal pairs_of" ;;
        SSE2) echo "pmaddwd qatc_v16 pair16" ;;
        RV32) echo "RV32_TAP2 QATC_RV32_ASM" ;;
        PLAIN) echo "c0\\[k\\]" ;;
        *) echo "gen_targets.sh: no markers for version $1: add them here" >&2; return 1 ;;
    esac
}
versions=$(for p in $pairs; do echo "${p#*:}"; done | sort -u)

# compiler TARGET: a compiler invocation preprocessing for TARGET (both files), and the
# QATC_DOT the file with every version needs there ("" = its own choice).
compiler() {
    case $1 in
        host) echo "gcc|" ;;
        portable) echo "gcc|-DQATC_DOT=QATC_DOT_PLAIN" ;;
        cortex-m0 | cortex-m3 | cortex-m4)
            echo "arm-none-eabi-gcc -mcpu=$1 -mthumb -mfloat-abi=soft -Os|" ;;
        rv32) echo "riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 -ffreestanding -Os|" ;;
        *) echo "gen_targets.sh: no compiler for target $1: add it here" >&2; return 1 ;;
    esac
}

# tokens FILE: FILE's C, one token-ish word per line, blank lines gone.
tokens() { tr -s ' \t' '\n\n' < "$1" | grep -v '^$'; }

for p in $pairs; do
    target=${p%%:*}; version=${p#*:}
    [ -d "$tdir/$target" ] || { echo "gen_targets.sh: no folder $tdir/$target" >&2; exit 1; }
    own=$(markers "$version") || exit 1
    files=
    for name in "$@"; do files="$files $tdir/$target/$name.c"; done
    # shellcheck disable=SC2086
    bad=$(grep -l 'QATC_DOT\|QATC_RUNS' $files)
    [ -z "$bad" ] || { echo "$target: the version switch (QATC_DOT) in" $bad; exit 1; }
    others=
    for v in $versions; do
        [ "$v" = "$version" ] && continue
        for m in $(markers "$v"); do others="$others -e $m"; done
    done
    # shellcheck disable=SC2086
    bad=$(grep -lw $others $files)
    [ -z "$bad" ] || { echo "$target: other versions' code in" $bad:; grep -ow $others $bad | sort -u | head; exit 1; }
    # its own markers, in the models that have a conv2d (the first with one)
    for f in $files; do
        grep -q 'conv_shape' "$f" || continue
        for m in $own; do
            grep -qw "$m" "$f" || { echo "$target: $f lacks $version's $m"; exit 1; }
        done
        break
    done

    c=$(compiler "$target") || exit 1
    cc=${c%|*}; dot=${c#*|}
    command -v "${cc%% *}" > /dev/null || { echo "$target: ${cc%% *} is not installed"; exit 1; }
    all=
    for name in "$@"; do all="$all $dir/$name.c"; done
    # shellcheck disable=SC2086
    $cc $dot -E -P $all > "$tdir/all-$target.i" 2> "$tdir/all-$target.err" &&
        $cc -E -P $files > "$tdir/one-$target.i" 2> "$tdir/one-$target.err" ||
        { cat "$tdir/all-$target.err" "$tdir/one-$target.err"; echo "$target: preprocessing failed"; exit 1; }
    tokens "$tdir/all-$target.i" > "$tdir/all-$target.tok"
    tokens "$tdir/one-$target.i" > "$tdir/one-$target.tok"
    if ! cmp -s "$tdir/all-$target.tok" "$tdir/one-$target.tok"; then
        diff "$tdir/all-$target.tok" "$tdir/one-$target.tok" | head -20
        echo "$target ($version): preprocessed by $cc, not the C of the file with every version"
        exit 1
    fi
    echo "$target ($version), $# model(s): only $version's code, the same" \
         "$(wc -l < "$tdir/one-$target.tok") tokens as --target all"
done
exit 0
