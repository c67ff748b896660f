#!/bin/sh
# Refreshes the committed screenshots of the web UI (docs/screenshots/) by
# running the browser tests against a fresh build: the same pages, data and
# checks as CI (tests/e2e/test_ui.py), with the screenshots kept.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BILOR_BUILD:-$here/build-dev}
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C "$build" bilor
mkdir -p "$here/docs/screenshots"
BILOR_SCREENSHOTS="$here/docs/screenshots" BILOR_BIN="$build/src/bilor" \
    python3 "$here/tests/e2e/test_ui.py" "$@"
