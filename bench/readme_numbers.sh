#!/bin/sh
# Usage: readme_numbers.sh [TABLE.md [README.md]]
# Puts the table of a `make bench` run (default out/bench/table.md; it starts
# with the date and machine it was measured on) into README.md (default: the
# checkout's) between the lines
#   <!-- numbers:begin -->
#   <!-- numbers:end -->
# replacing what was there. Without those lines it appends a "## Numbers"
# section holding them at the end. Everything else in the README stays byte
# for byte. The README is replaced whole (a temporary file renamed over it) or
# not at all; an unmatched or repeated marker is an error.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -le 2 ] || { echo "usage: readme_numbers.sh [TABLE.md [README.md]]" >&2; exit 2; }
table=${1:-$root/out/bench/table.md}
readme=${2:-$root/README.md}
begin='<!-- numbers:begin -->'
end='<!-- numbers:end -->'
[ -s "$table" ] || { echo "readme_numbers.sh: $table: missing or empty (run make bench first)" >&2; exit 1; }
[ -r "$readme" ] || { echo "readme_numbers.sh: $readme: cannot read" >&2; exit 1; }
if grep -qxF -e "$begin" -e "$end" "$table"; then
    echo "readme_numbers.sh: $table: holds a numbers marker itself" >&2
    exit 1
fi
nb=$(grep -cxF "$begin" "$readme" || true)
ne=$(grep -cxF "$end" "$readme" || true)
tmp=$readme.numbers.tmp
trap 'rm -f "$tmp"' EXIT
if [ "$nb" -eq 0 ] && [ "$ne" -eq 0 ]; then
    {
        cat "$readme"
        printf '\n## Numbers\n\n'
        printf 'From one run of `make bench` (bench/run.sh; `sh bench/readme_numbers.sh` puts its\n'
        printf 'table here). Instruction counts are exact; speeds are ratios of runs taken side by\n'
        printf 'side on the same machine.\n\n'
        echo "$begin"
        awk 1 "$table"   # with its last newline even if the file lacks it
        echo "$end"
    } > "$tmp"
elif [ "$nb" -eq 1 ] && [ "$ne" -eq 1 ]; then
    lb=$(grep -nxF "$begin" "$readme" | cut -d: -f1)
    le=$(grep -nxF "$end" "$readme" | cut -d: -f1)
    [ "$lb" -lt "$le" ] || { echo "readme_numbers.sh: $readme:$le: '$end' before '$begin'" >&2; exit 1; }
    {
        head -n "$lb" "$readme"
        awk 1 "$table"   # with its last newline even if the file lacks it
        tail -n +"$le" "$readme"
    } > "$tmp"
else
    echo "readme_numbers.sh: $readme: want one '$begin' and one '$end' line, found $nb and $ne" >&2
    exit 1
fi
mv "$tmp" "$readme"
trap - EXIT
echo "readme_numbers.sh: $readme: numbers from $table" >&2
