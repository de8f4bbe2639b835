#!/bin/sh
# The include boundary between the three libraries (docs/architecture.md):
#   runtime/common  may include  runtime/common
#   runtime/int8    may include  runtime/int8, runtime/common
#   runtime/train   may include  runtime/train, runtime/int8, runtime/common
# and system headers. The Makefile's per-library include paths already stop a
# plain #include "net.h" in an int8 file from compiling; this check also
# catches what an include path cannot: a relative escape such as
# #include "../train/net.h", or a project header named with <...>.
#
# Every #include of runtime/*/*.[ch] is resolved as the compiler would: "x.h"
# in the including file's folder first, then (like <x.h>) in the folders the
# library may see. It is an offence when the file found lies outside those
# folders, when the name is only found in a folder the library may not see
# (runtime/*, gen, tests/support), or when the include is computed
# (#include MACRO). Each offence is one line FILE:LINE: ...; exit status 1.
#
# Then the check tests itself on a scratch tree with planted escapes, which it
# must report one by one (so that it cannot pass by seeing nothing).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

libs="common int8 train"
project_dirs="runtime/common runtime/int8 runtime/train gen tests/support"

# The folders library $1 may include from.
may_see() {
    case $1 in
        common) echo "runtime/common" ;;
        int8) echo "runtime/int8 runtime/common" ;;
        train) echo "runtime/train runtime/int8 runtime/common" ;;
    esac
}

# 0 when path $1 (relative to the tree) lies in one of the folders $2.
inside() {
    for _folder in $2; do
        case $1 in "$_folder"/*) return 0 ;; esac
    done
    return 1
}

# Prints one line per offence in the tree at $1.
check_tree() {
    tree=$1
    for lib in $libs; do
        ok=$(may_see "$lib")
        oklist=$(echo "$ok" | sed 's/ /, /g')
        for f in "$tree"/runtime/"$lib"/*.[ch]; do
            [ -e "$f" ] || continue
            rel=${f#"$tree"/}
            dir=$(dirname "$rel")
            # One line per #include: LINE, TAB, "name or <name (? when
            # computed), TAB, the directive as written.
            awk '/^[ \t]*#[ \t]*include/ {
                     spec = $0
                     sub(/^[ \t]*#[ \t]*include[ \t]*/, "", spec)
                     if (match(spec, /^"[^"]*"/) || match(spec, /^<[^>]*>/))
                         spec = substr(spec, 1, RLENGTH - 1)
                     else
                         spec = "?"
                     text = $0
                     sub(/^[ \t]+/, "", text)
                     printf "%d\t%s\t%s\n", FNR, spec, text
                 }' "$f" | while IFS='	' read -r line spec text; do
                if [ "$spec" = "?" ]; then
                    echo "$rel:$line: $text: a computed include cannot be checked; name the header"
                    continue
                fi
                name=${spec#?}
                # Where the compiler looks: "x.h" in the file's folder first.
                cands=
                case $spec in \"*) cands=$dir/$name ;; esac
                for d in $ok; do cands="$cands $d/$name"; done
                found=
                for c in $cands; do
                    if [ -f "$tree/$c" ]; then
                        case $c in
                            *..*) found=$(realpath -m --relative-to="$tree" "$tree/$c") ;;
                            *) found=$c ;;
                        esac
                        break
                    fi
                done
                if [ -n "$found" ]; then
                    case $found in
                        ../*|/*) echo "$rel:$line: $text reaches $found, outside the project" ;;
                        *) inside "$found" "$ok" ||
                            echo "$rel:$line: $text reaches $found; runtime/$lib may include only $oklist" ;;
                    esac
                    continue
                fi
                # Not found where the library may look: a system header, unless
                # the name is a header of a part it may not see.
                for d in $project_dirs; do
                    inside "$d/$name" "$ok" && continue
                    if [ -f "$tree/$d/$name" ]; then
                        echo "$rel:$line: $text names $d/$name; runtime/$lib may include only $oklist"
                        break
                    fi
                done
            done
        done
    done
}

out=$(check_tree "$root")
if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "check_layering: $(printf '%s\n' "$out" | wc -l) include(s) cross a library boundary (docs/architecture.md)" >&2
    exit 1
fi
nfiles=0
for f in "$root"/runtime/*/*.[ch]; do nfiles=$((nfiles + 1)); done

# The self-test: a tree with one good file per library and planted escapes.
work=$(mktemp -d "${TMPDIR:-/tmp}/check-layering.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/runtime/common" "$work/runtime/int8" "$work/runtime/train" "$work/gen" \
    "$work/tests/support"
for h in runtime/common/qerr.h runtime/int8/qmodel.h runtime/train/net.h gen/cgen.h \
    tests/support/tmpdir.h; do
    : > "$work/$h"
done
cat > "$work/runtime/int8/good.c" <<'EOF'
#include "qmodel.h"
#include "qerr.h"
#include "../common/qerr.h"
#include <stdint.h>
#include "stdio.h"
EOF
cat > "$work/runtime/train/good.c" <<'EOF'
#include "net.h"
#include "qmodel.h"
#include <qerr.h>
EOF
cat > "$work/runtime/int8/bad.c" <<'EOF'
#include "qmodel.h"
/* an escape the include path cannot stop */
#include "../train/net.h"
  #  include <net.h>
#include QATC_HEADER
EOF
cat > "$work/runtime/common/bad.h" <<'EOF'
#include <stddef.h>
#include "qmodel.h"
EOF
cat > "$work/runtime/train/bad.c" <<'EOF'
#include "../../gen/cgen.h"
#include "tmpdir.h"
EOF
got=$(check_tree "$work")
expect="runtime/common/bad.h:2:
runtime/int8/bad.c:3:
runtime/int8/bad.c:4:
runtime/int8/bad.c:5:
runtime/train/bad.c:1:
runtime/train/bad.c:2:"
where=$(printf '%s\n' "$got" | sed 's/^\([^:]*:[0-9]*:\).*/\1/' | sort)
if [ "$where" != "$expect" ]; then
    echo "check_layering: the self-test's planted escapes were not reported as expected." >&2
    echo "expected:" >&2
    printf '%s\n' "$expect" >&2
    echo "got:" >&2
    printf '%s\n' "$got" >&2
    exit 1
fi
echo "check_layering: the $nfiles files of runtime/ include only what their library may;" \
    "the self-test's $(printf '%s\n' "$got" | wc -l) planted escapes were all reported"
