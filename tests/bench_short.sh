#!/usr/bin/env bash
# `ctest -L bench`: bench/run.sh (and bench/ab.sh) with every scenario shrunk to seconds, to prove
# the scripts still work (servers start, load runs, every summary is printed).
# It asserts no speed. Usage: tests/bench_short.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/writ-bench-short-XXXXXX.log)
BENCH_BUILD=$build BENCH_DURATION=1 BENCH_ROUNDS=1 BENCH_CONNECTIONS=8 BENCH_PEERS=${BENCH_PEERS:-0} \
  BENCH_RAW_ROWS=5000 BENCH_RECOVERY_ITEMS=20000 BENCH_FOOTPRINT_RECORDS=20000 BENCH_CLEAN=1 \
  BENCH_SAVE_DRAFTS=200 BENCH_RAW_SAVES=2000 BENCH_COPY_ENTITIES=2000 \
  bench/run.sh all 2>&1 | tee "$log"
# The before/after script, with the same binary on both sides.
BENCH_DURATION=1 BENCH_ROUNDS=1 BENCH_CONNECTIONS=8 bench/ab.sh "$build/writ" "$build/writ" s3 2>&1 | tee -a "$log"
missing=0
for want in 'fdatasync/s' '^  s1-writ ' '^  s1h-writ ' 'p99 added by writ over direct' '^  s2-writ ' \
            '^  s3-writ ' '^  s4-writ-e2e ' '^  s5-writ-accept ' '^  s5-writ-delivered ' \
            's4l-writ ' 's6-recovery median' 'bytes per record' 'GC deleted' 'median req/s: A .*B/A' \
            '^  s8-save ' '^  s8-raw-upsert-1 ' '^  s8-submit ' '^  s9-edge ' '^  s9l-edge ' '^  s9-edge-down ' 's9-sync: ' \
            's10-load: ' '^  s10-read-copy ' '^  s10-healthz ' '^  s10-write-copy ' '^  s10-reconcile-equal ' \
            '^  s10-reconcile-1pct .* 20 mismatches' '^  s11-writ .* sagas/s' '^  s11l-writ .* per saga p50' \
            '^  s12-writ .* events/s' '^  s12-libnats .* events/s'; do
  grep -qE -- "$want" "$log" || { echo "bench_short: no line matching '$want'"; missing=1; }
done
rm -f "$log"
((missing == 0)) && echo "bench_short: every scenario ran"
exit $missing
