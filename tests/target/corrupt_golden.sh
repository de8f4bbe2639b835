#!/bin/sh
# Usage: corrupt_golden.sh NAME_golden.c OUT.c
# Writes a copy of a golden self-test file whose first expected output byte
# is changed (v + 1, or 126 for 127), for the negative checks: the copy's
# self-test must report exactly one mismatch. Fails when the file has no
# golden_output array or the copy would be the same.
set -u
[ $# -eq 2 ] || { echo "usage: corrupt_golden.sh NAME_golden.c OUT.c" >&2; exit 2; }
awk '
    !done && !seen && /golden_output\[/ { seen = 1; i = index($0, "="); head = substr($0, 1, i); $0 = substr($0, i + 1) }
    !done && seen && match($0, /-?[0-9]+/) {
        v = substr($0, RSTART, RLENGTH) + 0
        $0 = substr($0, 1, RSTART - 1) (v == 127 ? 126 : v + 1) substr($0, RSTART + RLENGTH)
        done = 1
    }
    { print head $0; head = "" }
    END { if (!done) exit 1 }' "$1" > "$2" ||
    { echo "corrupt_golden.sh: no golden_output array to corrupt in $1" >&2; exit 1; }
if cmp -s "$1" "$2"; then
    echo "corrupt_golden.sh: corrupting $1 changed nothing" >&2
    exit 1
fi
