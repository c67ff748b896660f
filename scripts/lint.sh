#!/usr/bin/env bash
# Source checks that a compiler does not make (style.md): layering (which the
# build enforces too, docs/architecture.md "Layers"), what libbilor may see, the
# libmicrohttpd boundary, banned.h everywhere, and function complexity.
#   scripts/lint.sh --print-layers   prints the layer table it read and exits
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
fail=0
complain() { echo "lint: $*" >&2; fail=1; }

# Layering: a folder may include only from itself and the layers below it. The
# table is src/CMakeLists.txt's bilor_layer(<folder> DEPS <layer>... LIBS ...)
# calls, read here so the lint and the build cannot disagree (tests/build checks
# that this reading matches what CMake built). The allowed set of a layer is
# itself plus the allowed sets of its DEPS, which are declared above it.
declare -A allowed_set=()
layer_order=()
while read -r dir deps; do
    set_="$dir"
    for dep in $deps; do
        [ -n "${allowed_set[$dep]+x}" ] ||
            complain "src/CMakeLists.txt: layer $dir uses $dep, which is not declared above it"
        set_="$set_ ${allowed_set[$dep]-}"
    done
    allowed_set[$dir]="$(tr ' ' '\n' <<<"$set_" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')"
    layer_order+=("$dir")
done < <(awk '
    { sub(/#.*/, "") }
    /^[ \t]*bilor_layer[ \t]*\(/ { call = ""; on = 1 }
    on { call = call " " $0; if (index($0, ")")) { on = 0; print call } }
' src/CMakeLists.txt | sed -E 's/^[[:space:]]*bilor_layer[[:space:]]*\(//; s/\).*//' |
    awk '{ out = $1; mode = ""
           for (i = 2; i <= NF; i++) {
               if ($i == "DEPS" || $i == "LIBS") { mode = $i; continue }
               if (mode == "DEPS") out = out " " $i
           }
           print out }')
if [ "${1-}" = "--print-layers" ]; then
    for dir in "${layer_order[@]}"; do echo "$dir : ${allowed_set[$dir]}"; done
    exit "$fail"
fi
allowed() { echo "${allowed_set[$1]-}"; }

# Only src/http/ may include <microhttpd.h>.
for f in $(grep -rl 'microhttpd.h' src || true); do
    case "$f" in src/http/*) ;; *) complain "$f includes microhttpd.h (only src/http/ may)";; esac
done

# Every server .c includes core/banned.h (after its other includes).
for f in $(find src -name '*.c'); do
    grep -q '#include "core/banned.h"' "$f" || complain "$f does not include core/banned.h"
done

# The quoted includes of one file: "<folder>/x.h" must name an allowed folder,
# a bare "x.h" a file beside it; nothing climbs out with "../" or names a path.
check_includes() { # file allowed-folders what
    local f="$1" ok="$2" what="$3" inc
    while read -r inc; do
        case "$inc" in
            ../*|*/../*|/*) complain "$f includes \"$inc\" (no relative or absolute paths)" ;;
            tools/*|bench/*|measure/*) complain "$f includes \"$inc\" from tools/" ;;
            */*) case " $ok " in *" ${inc%%/*} "*) ;;
                     *) complain "$f includes \"$inc\" ($what may not see ${inc%%/*}/)" ;;
                 esac ;;
            *) [ -f "$(dirname "$f")/$inc" ] ||
                   complain "$f includes \"$inc\", which is not beside it" ;;
        esac
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/p' "$f")
}
for dir in $(cd src && ls -d */ | tr -d /); do
    ok="$(allowed "$dir")"
    [ -z "$ok" ] && { complain "src/$dir has no bilor_layer() in src/CMakeLists.txt"; continue; }
    for f in $(find "src/$dir" -name '*.[ch]'); do
        check_includes "$f" "$ok" "layer $dir"
    done
done
# src/main.c is the bilor program, built on the cli layer.
check_includes src/main.c "$(allowed cli)" "src/main.c"

# libbilor lives in other people's processes: of this tree it sees only its
# public header, its own folder and core/banned.h (macros, nothing linked).
for f in $(find lib -name '*.c'); do
    grep -q '#include "core/banned.h"' "$f" || complain "$f does not include core/banned.h"
done
for f in $(find lib -name '*.[ch]'); do
    while read -r inc; do
        case "$inc" in
            bilor/*|client/*|core/banned.h) ;;
            *) complain "$f includes \"$inc\" (libbilor may include bilor/, client/ and core/banned.h only)" ;;
        esac
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/p' "$f")
done
# The public header pulls in nothing private.
for f in $(find include -name '*.h'); do
    check_includes "$f" "bilor" "the public header"
done

# Cyclomatic complexity: nothing over 30 (style.md §13).
if command -v pmccabe >/dev/null 2>&1; then
    while read -r cc _ _ _ _ loc; do
        [ "$cc" -gt 30 ] && complain "complexity $cc > 30: $loc"
    done < <(pmccabe $(find src lib -name '*.c' 2>/dev/null) 2>/dev/null | awk '{print $1, $2, $3, $4, $5, $6 $7}')
fi

# Formatting: .clang-format, as scripts/format.sh applies it (clang-format from Debian).
if command -v clang-format >/dev/null 2>&1; then
    bash "$here/scripts/format.sh" --check || complain "sources differ from .clang-format"
else
    complain "clang-format is missing (scripts/install-deps.sh --test installs it)"
fi

[ "$fail" = 0 ] && echo "lint: ok"
exit "$fail"
