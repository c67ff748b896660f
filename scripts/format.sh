#!/usr/bin/env bash
# Formats the C sources with .clang-format (Debian's clang-format 14), in place;
# with --check, lists what differs and fails instead (scripts/lint.sh runs that).
# examples/ is left as written: docs/client-c.md shows it line for line, and a test
# checks that the two agree.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
mapfile -t files < <(git ls-files 'src/*.[ch]' 'lib/*.[ch]' 'include/*.h' 'tests/unit/*.[ch]' \
    'tests/fuzz/*.c' 'tools/*.[ch]')
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in "${files[@]}"; do
        if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "format: $f differs from .clang-format (scripts/format.sh fixes it)" >&2
            bad=1
        fi
    done
    exit "$bad"
fi
clang-format --style=file -i "${files[@]}"
