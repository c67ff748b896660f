#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: installs what the tests need,
# lints, builds with -Werror and ASan+UBSan (and a Release build with -Werror),
# then runs every unit, fuzz-corpus and end-to-end test through ctest. ctest's
# summary is the last thing printed.
#   BILOR_SANITIZE=""  scripts/test.sh   builds without sanitizers (faster)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BILOR_TEST_BUILD:-$here/build-test}"
sanitize="${BILOR_SANITIZE-address,undefined}"

bash "$here/scripts/install-deps.sh" --test
bash "$here/scripts/lint.sh"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBILOR_WERROR=ON -DBILOR_SANITIZE="$sanitize" >/dev/null
ninja -C "$build"
# Optimised builds see more (-Wmaybe-uninitialized at -O3): keep Release warning-free too.
cmake -S "$here" -B "$build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBILOR_WERROR=ON \
    >/dev/null
ninja -C "$build-release"
# LeakSanitizer is on with ASan; UBSan findings abort (-fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$build"
exec ctest --output-on-failure --no-tests=error --no-label-summary -j2 --timeout 900
