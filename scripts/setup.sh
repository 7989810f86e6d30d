#!/usr/bin/env bash
# Installs the Debian 12 packages Writ needs (skipping those present) and builds
# it (Release, CMake + Ninja) into build/. Idempotent: safe to run again.
#   scripts/setup.sh            install + build
#   WRIT_SKIP_INSTALL=1 ...     build only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
)

if [[ "${WRIT_SKIP_INSTALL:-0}" != 1 ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "setup: all Debian packages present"
  fi
fi

BUILD_DIR="${WRIT_BUILD_DIR:-build}"
BUILD_TYPE="${WRIT_BUILD_TYPE:-Release}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${WRIT_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
