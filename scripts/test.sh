#!/usr/bin/env bash
# The second README command: builds the test configuration and runs the
# whole suite with ctest. Idempotent.
#
# Builds (each in its own directory, each runs the full suite):
#   build-test   RelWithDebInfo with named crash points compiled in (under CI
#                also `ctest -L bench`: the benchmark scripts shrunk to seconds)
#   build-asan   AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan   ThreadSanitizer (store, server, upstream client are concurrent)
#   build-fuzz   clang + libFuzzer: each fuzz target over its seed corpus and
#                5,000 new inputs (tests/fuzz/; `ctest -L fuzz` there runs each for 60 s)
# By default only build-test runs; WRIT_SANITIZERS="asan tsan fuzz" (CI sets all
# three) adds the others. Extra arguments go to ctest, e.g. scripts/test.sh -L integration
set -euo pipefail
cd "$(dirname "$0")/.."

[[ "${WRIT_SKIP_INSTALL:-0}" == 1 ]] || scripts/install-deps.sh

JOBS=$(nproc)
SANITIZERS="${WRIT_SANITIZERS:-}"
if [[ "${CI:-}" == "true" && -z "${WRIT_SANITIZERS+x}" ]]; then
  SANITIZERS="asan tsan fuzz"
fi

run_suite() {  # dir, cmake args...
  local dir=$1
  shift
  echo "=== $dir: configure and build"
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
  echo "=== $dir: ctest"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "${CTEST_ARGS[@]}") | tee "$dir/ctest-summary.log"
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$dir/ctest-summary.log" | tail -1)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  PASSED=$((PASSED + total - failed))
  FAILED=$((FAILED + failed))
}
PASSED=0
FAILED=0

# Default: everything but the long chaos and soak profiles, the fuzz runs and
# the benchmark scripts' short profile (each selected by its label, e.g. -L bench).
CTEST_ARGS=("$@")
((${#CTEST_ARGS[@]})) || CTEST_ARGS=(-LE "chaos|fuzz|soak|bench")
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRIT_CRASH_POINTS=ON
# CI also runs bench/run.sh shrunk to seconds (ctest -L bench), to prove the
# benchmark scripts still work; it asserts no speed.
if [[ "${CI:-}" == "true" && $# -eq 0 ]]; then
  CTEST_ARGS_SAVED=("${CTEST_ARGS[@]}"); CTEST_ARGS=(-L bench)
  run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRIT_CRASH_POINTS=ON
  CTEST_ARGS=("${CTEST_ARGS_SAVED[@]}")
fi
for s in $SANITIZERS; do
  case "$s" in
    asan) run_suite build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRIT_CRASH_POINTS=ON -DWRIT_SANITIZE=address ;;
    tsan) TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
            run_suite build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWRIT_CRASH_POINTS=ON -DWRIT_SANITIZE=thread ;;
    fuzz) CTEST_ARGS_SAVED=("${CTEST_ARGS[@]}"); CTEST_ARGS=(-L fuzz_regression)
          run_suite build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DWRIT_FUZZ=ON \
            -DWRIT_TESTS=OFF
          CTEST_ARGS=("${CTEST_ARGS_SAVED[@]}") ;;
    *) echo "unknown sanitizer '$s' (use asan, tsan, fuzz)"; exit 2 ;;
  esac
done
echo "=== all suites passed"
echo "$PASSED passed, $FAILED failed"
