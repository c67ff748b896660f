#!/usr/bin/env bash
# Source checks that a compiler does not make (style.md): layering, the
# libmicrohttpd boundary, banned.h everywhere, and function complexity.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
fail=0
complain() { echo "lint: $*" >&2; fail=1; }

# Only src/http/ may include <microhttpd.h>.
for f in $(grep -rl 'microhttpd.h' src || true); do
    case "$f" in src/http/*) ;; *) complain "$f includes microhttpd.h (only src/http/ may)";; esac
done

# Every server .c includes core/banned.h (after its other includes).
for f in $(find src -name '*.c'); do
    grep -q '#include "core/banned.h"' "$f" || complain "$f does not include core/banned.h"
done

# Layering: a folder may include only from itself and the layers below it.
allowed() {
    case "$1" in
        core) echo "core" ;;
        config) echo "core config" ;;
        journal) echo "core journal" ;;
        search) echo "core search" ;;
        ingest) echo "core ingest" ;;
        store) echo "core store" ;;
        auth) echo "core auth store" ;;
        digest) echo "core digest ingest journal store" ;;
        door) echo "core config door ingest journal store" ;;
        listen) echo "core config door ingest journal listen store" ;;
        api) echo "core config api auth digest door ingest journal search store" ;;
        http) echo "core config api auth digest door ingest journal search store http" ;;
        cli) echo "core config api auth digest door ingest journal listen search store http cli" ;;
        *) echo "" ;;
    esac
}
for dir in $(cd src && ls -d */ | tr -d /); do
    ok="$(allowed "$dir")"
    [ -z "$ok" ] && { complain "src/$dir has no layer in scripts/lint.sh"; continue; }
    for inc in $(grep -rhoE '#include "[a-z_]+/' "src/$dir" | sed -E 's/#include "([a-z_]+)\//\1/' | sort -u); do
        case " $ok " in *" $inc "*) ;; *) complain "src/$dir includes from src/$inc (layer above it)";; esac
    done
done

# Cyclomatic complexity: nothing over 30 (style.md §13).
if command -v pmccabe >/dev/null 2>&1; then
    while read -r cc _ _ _ _ loc; do
        [ "$cc" -gt 30 ] && complain "complexity $cc > 30: $loc"
    done < <(pmccabe $(find src lib -name '*.c' 2>/dev/null) 2>/dev/null | awk '{print $1, $2, $3, $4, $5, $6 $7}')
fi

[ "$fail" = 0 ] && echo "lint: ok"
exit "$fail"
