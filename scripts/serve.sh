#!/usr/bin/env bash
# Installs the build dependencies, builds Bilor (Release) and runs
# `bilor serve` on the embedded default store. Extra arguments go to serve,
# e.g. scripts/serve.sh --listen 0.0.0.0:8000 --data-dir /var/lib/bilor
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/install-deps.sh"
cmake -S "$here" -B "$here/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$here/build-release" bilor
exec "$here/build-release/src/bilor" serve "$@"
