#!/usr/bin/env bash
# The first README command: installs the Debian packages Writ needs, builds
# Release with CMake + Ninja into build/, and runs `writ demo`. Idempotent.
#   WRIT_SKIP_INSTALL=1   do not touch packages
#   WRIT_SKIP_DEMO=1      build only
set -euo pipefail
cd "$(dirname "$0")/.."

[[ "${WRIT_SKIP_INSTALL:-0}" == 1 ]] || scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DWRIT_TESTS=OFF
cmake --build build -j "$(nproc)"
echo "setup: built $(pwd)/build/writ"

if [[ "${WRIT_SKIP_DEMO:-0}" != 1 ]]; then
  build/writ demo
fi
