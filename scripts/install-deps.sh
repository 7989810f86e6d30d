#!/usr/bin/env bash
# Installs the Debian 12 packages Writ needs to build and test, skipping
# those already present. Needs root or sudo. Idempotent.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  openssl                     # the TLS tests make their certificates with it
  libsqlite3-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libpq-dev                   # PostgreSQL store (libpq)
  libjwt-dev                  # auth.jwt: JWT verification (HS256, RS256, ES256)
  postgresql                  # the tests start their own server (initdb + pg_ctl), never the system one
  nlohmann-json3-dev          # JSON patch and merge patch of drafts (one .cpp)
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev   # libFuzzer targets (tests/fuzz), test builds only
  wrk nginx-light             # bench/run.sh and its short profile (ctest -L bench)
)

# valijson (JSON Schema) is header-only, but Debian's libvalijson-dev depends
# on Qt, Poco and four other JSON libraries' development packages. We fetch
# the .deb from Debian with apt-get and unpack only its headers into .deps/.
install_valijson() {
  local dest=.deps/valijson
  [[ -f $dest/usr/include/valijson/validator.hpp ]] && return 0
  if [[ -f /usr/include/valijson/validator.hpp ]]; then return 0; fi
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libvalijson-dev >/dev/null 2>&1) || {
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download libvalijson-dev >/dev/null)
  }
  mkdir -p "$dest"
  dpkg -x "$tmp"/libvalijson-dev_*.deb "$dest"
  rm -rf "$tmp"
  echo "install-deps: valijson headers unpacked into $dest"
}
# promtool checks examples/alerts.yaml (a test). It ships in Debian's
# prometheus package, whose install would also set up the Prometheus server
# as a system service: we fetch the .deb and unpack only promtool into .deps/.
install_promtool() {
  local dest=.deps/prometheus
  [[ -x $dest/usr/bin/promtool ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || {
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download prometheus >/dev/null)
  }
  mkdir -p "$dest"
  dpkg -x "$tmp"/prometheus_*.deb "$tmp/x"
  mkdir -p "$dest/usr/bin"
  cp "$tmp/x/usr/bin/promtool" "$dest/usr/bin/promtool"
  rm -rf "$tmp"
  echo "install-deps: promtool unpacked into $dest"
}
cd "$(dirname "$0")/.."
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
install_valijson
install_promtool
