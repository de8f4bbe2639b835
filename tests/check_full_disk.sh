#!/bin/sh
# A full disk gives an error, not a truncated file. `qatc train` and
# `qatc gen` write into an output folder that runs out of space at several
# sizes (so that different files hit the wall); each run must either succeed
# or exit non-zero (no signal) with one line on stderr, and leave only whole
# files: no temporary, a frozen model that reads back, and after a failed gen
# the old NAME.c, NAME.h and NAME_golden.c the folder held before, byte for
# byte (gen's files are all or nothing).
# The full disk is a small tmpfs when this runs as root and mount works, and
# else (and also) a file size limit (ulimit -f, SIGXFSZ ignored: writes fail
# with EFBIG). Needs QATC and BUILD, as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_config.sh
MNT=$BUILD/check_full_disk/mnt
[ -d "$MNT" ] && umount "$MNT" 2>/dev/null
tiny_check check_full_disk ref mnt
cleanup() { umount "$MNT" 2>/dev/null; }
trap cleanup EXIT

# A reference run, for the sizes of the files and a model to generate from.
"$QATC" train "$W/tiny.yaml" -o "$W/ref" --threads 2 --quiet >"$W/ref.log" 2>&1 ||
    fail "reference run: $(tail -n 3 "$W/ref.log")"

# outcome WHAT DIR RC [NAMED]: checks one run's status, stderr ($W/err) and
# DIR; with NAMED, the message must name a file in DIR (a size limit also
# hits temporaries elsewhere, such as m4's input, so only a full DIR must).
failed=0 passed=0
outcome() {
    what=$1 dir=$2 rc=$3 named=${4:-}
    [ "$rc" -ge 128 ] && fail "$what: exit status $rc (a signal)"
    if [ "$rc" -ne 0 ]; then
        [ "$(wc -l <"$W/err")" -eq 1 ] ||
            fail "$what: $(wc -l <"$W/err") lines on stderr, expected 1: $(head -n 3 "$W/err")"
        [ -z "$named" ] || grep -q "$dir/" "$W/err" ||
            fail "$what: the message names no file in $dir: $(cat "$W/err")"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
    # gen is all or nothing: a failed gen leaves the old files as they were.
    case $what in gen*) [ "$rc" -eq 0 ] || [ "$(old_set "$dir")" = "$(old_set "$W/old")" ] ||
        fail "$what: a failed gen changed the old files: $(old_set "$dir" | tr '\n' ' ')" ;; esac
    left=$(ls -A "$dir" | grep '\.tmp')
    [ -z "$left" ] || fail "$what: temporaries left: $left"
    for f in "$dir"/*.frozen.yaml; do
        [ -f "$f" ] || continue
        "$QATC" report "$f" >/dev/null 2>"$W/report.err" ||
            fail "$what: $f is not whole: $(cat "$W/report.err")"
    done
}

# The old generated files that a failed gen must leave as they are.
mkdir -p "$W/old"
for f in tiny.c tiny.h tiny_golden.c; do echo "/* the old $f */" >"$W/old/$f"; done
# old_set DIR: the names and checksums of the files in DIR (not lost+found).
old_set() { (cd "$1" && ls -A | grep -v lost+found | while read -r f; do cksum "$f"; done); }

# run_limited KB WHAT DIR ARGS...: qatc ARGS with a file size limit of KB KiB
# (gen writes into a folder holding old files).
run_limited() {
    kb=$1 what=$2 dir=$3
    shift 3
    rm -rf "$dir"
    mkdir -p "$dir"
    case $what in gen*) cp "$W"/old/* "$dir"/ ;; esac
    (trap '' XFSZ; ulimit -f $((kb * 2)) && exec "$QATC" "$@") >/dev/null 2>"$W/err"
    outcome "$what (file size limit ${kb} KiB)" "$dir" $?
}

# run_tmpfs KB WHAT ARGS...: qatc ARGS writing into a tmpfs at $MNT with KB
# KiB free (gen: besides three pages for the old files it finds there).
run_tmpfs() {
    kb=$1 what=$2
    shift 2
    umount "$MNT" 2>/dev/null
    case $what in gen*) size=$((kb + 12)) ;; *) size=$kb ;; esac
    mount -t tmpfs -o size=${size}k tmpfs "$MNT" || return 1
    case $what in gen*) cp "$W"/old/* "$MNT"/ ;; esac
    "$QATC" "$@" >/dev/null 2>"$W/err"
    outcome "$what (tmpfs of ${kb} KiB)" "$MNT" $? named
    umount "$MNT"
}

F=$W/ref/tiny.frozen.yaml
sizes="4 8 12 16 24 32"
for kb in $sizes; do
    run_limited "$kb" "train" "$W/lim" train "$W/tiny.yaml" -o "$W/lim" --threads 2 --quiet
    run_limited "$kb" "gen" "$W/lim" gen "$F" -o "$W/lim" --golden 4 --images "$W/data/img.idx"
done
how="file size limits"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4k tmpfs "$MNT" 2>/dev/null; then
    umount "$MNT"
    for kb in $sizes; do
        run_tmpfs "$kb" "train" train "$W/tiny.yaml" -o "$MNT" --threads 2 --quiet ||
            fail "mount of a ${kb} KiB tmpfs failed"
        run_tmpfs "$kb" "gen" gen "$F" -o "$MNT" --golden 4 --images "$W/data/img.idx" ||
            fail "mount of a ${kb} KiB tmpfs failed"
    done
    how="file size limits and full tmpfs"
fi
[ $failed -gt 0 ] || fail "no run ran out of space: the sizes ($sizes KiB) are too large"
echo "full disk ($how of $sizes KiB): $failed runs failed cleanly, $passed fitted;" \
     "no temporary or partial file left"
