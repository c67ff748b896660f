#!/usr/bin/env bash
# Installs everything Bilor needs to build, run and test on Debian 12.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test tooling (python clients, node packages)
# Idempotent: packages already present are skipped quickly.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

build_pkgs=(build-essential cmake ninja-build pkg-config
    libmicrohttpd-dev libcjson-dev libsqlite3-dev zlib1g-dev libdeflate-dev libbrotli-dev
    libzstd-dev liblz4-dev libsodium-dev libcurl4-openssl-dev libdw-dev curl ca-certificates)
test_pkgs=(python3 python3-sentry-sdk clang clang-format llvm libclang-rt-14-dev pmccabe procps chromium)
# The log doors' real clients (rsyslog with omfwd/omrelp/omelasticsearch, logger, graypy).
test_pkgs+=(bsdutils rsyslog rsyslog-relp rsyslog-elasticsearch python3-graypy)
# Node.js may come from elsewhere (NodeSource bundles npm and conflicts with
# Debian's npm package): only ask Debian for it when the commands are missing.
command -v node >/dev/null 2>&1 || test_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || test_pkgs+=(npm)

missing=()
check() {
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
}
check "${build_pkgs[@]}"
[ "$want_test" = 1 ] && check "${test_pkgs[@]}"

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "$want_test" = 1 ]; then
    # Node test tooling (real clients: @sentry/node and @sentry/browser, @elastic/elasticsearch,
    # OpenTelemetry log exporters, playwright-core), pinned in tests/e2e/node/package.json.
    if command -v npm >/dev/null 2>&1; then
        # Again whenever package-lock.json is newer than what npm last installed.
        (cd "$here/tests/e2e/node" &&
            { [ node_modules/.package-lock.json -nt package-lock.json ] ||
                npm install --no-audit --no-fund --silent; })
    fi
fi
