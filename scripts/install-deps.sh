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
  libnats-dev                 # the NATS JetStream event sink (nats.c)
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
# Unpacks one binary of a Debian package into .deps/<dir>/usr/bin without
# installing the package: promtool (package prometheus) checks
# examples/alerts.yaml, and nats-server (package nats-server) runs JetStream
# for the NATS sink's tests. Both packages would set their server up as a
# system service; the tests start their own on loopback instead.
unpack_binary() {
  local package=$1 path=$2 dir=$3
  local dest=.deps/$dir name
  name=$(basename "$path")
  [[ -x $dest/usr/bin/$name ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$package" >/dev/null 2>&1) || {
    $SUDO apt-get update -qq
    (cd "$tmp" && apt-get download "$package" >/dev/null)
  }
  dpkg -x "$tmp"/"$package"_*.deb "$tmp/x"
  mkdir -p "$dest/usr/bin"
  cp "$tmp/x/$path" "$dest/usr/bin/$name"
  rm -rf "$tmp"
  echo "install-deps: $name unpacked into $dest"
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
unpack_binary prometheus usr/bin/promtool prometheus
unpack_binary nats-server usr/sbin/nats-server nats
