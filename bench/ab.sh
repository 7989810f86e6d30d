#!/usr/bin/env bash
# Before/after of a change: two writ binaries, alternating A, B, A, B, each
# round on a fresh SQLite store, same mock master, and the medians' ratio.
#   bench/ab.sh OLD_WRIT NEW_WRIT [s1|s2|s3]   (s1: sync fresh keys, s2: replays of
#   1000 completed keys, s3: async accept)
# Environment: BENCH_DURATION (s per measurement, 5), BENCH_ROUNDS (3),
# BENCH_CONNECTIONS (64), BENCH_AUTH=B (B runs with auth.api_keys and every
# request carries a client key: the cost of authentication, with the same
# binary as OLD and NEW), BENCH_TLS=B (B serves with server.tls, a P-256
# certificate made here, and wrk calls https: the cost of TLS on kept-alive
# connections). Placement as in bench/run.sh: wrk on core 0, writ and the mock
# master on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/ab.sh OLD_WRIT NEW_WRIT [s1|s2|s3]}
NEW=${2:?usage: bench/ab.sh OLD_WRIT NEW_WRIT [s1|s2|s3]}
SCENARIO=${3:-s1}
DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
AUTH=${BENCH_AUTH:-}
TLS=${BENCH_TLS:-}
SCRIPT_ARG=""  # the wrk script's argument; "" = a fresh key prefix per run
for b in "$OLD" "$NEW"; do [[ -x $b ]] || { echo "bench/ab.sh: $b is not an executable" >&2; exit 2; }; done
case $SCENARIO in
  s1) ROUTE="{method: POST, path: /orders, mode: sync, upstream: master, idempotency: {required: true}}"
      SCRIPT=unique_keys.lua ;;
  s2) ROUTE="{method: POST, path: /orders, mode: sync, upstream: master, idempotency: {required: true}}"
      SCRIPT=repeated_keys.lua SCRIPT_ARG=1000 ;;  # the warm-up completes the keys, the run replays them
  s3) ROUTE="{method: POST, path: /payments, mode: async, upstream: master, idempotency: {required: true},
     async: {concurrency: 64, poll_interval: 50ms}}"
      SCRIPT=async_submit.lua ;;
  *) echo "bench/ab.sh: scenario must be s1, s2 or s3" >&2; exit 2 ;;
esac
CORE_LOAD=0; CORE_SRV=1
(($(nproc) < 2)) && CORE_SRV=0

WORK=$(mktemp -d /tmp/writ-ab-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not up" >&2; return 1; }

MASTER_PORT=19190; WRIT_PORT=18180
taskset -c $CORE_SRV "$OLD" mock-master --listen 127.0.0.1:$MASTER_PORT --honor-idempotency-key >"$WORK/master.log" 2>&1 &
PIDS+=($!)
wait_port $MASTER_PORT
cat >"$WORK/writ.yaml" <<YAML
server: {listen: 127.0.0.1:$WRIT_PORT, threads: 1, admin_listen: off}
store: {url: sqlite:$WORK/writ.db}
upstreams: {master: {url: http://127.0.0.1:$MASTER_PORT, pool_size: 256}}
routes:
  - $ROUTE
YAML
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/pepper"
{ echo "auth: {api_keys: {pepper: \"\${file:$WORK/pepper}\"}}"; cat "$WORK/writ.yaml"; } >"$WORK/writ-auth.yaml"
if [[ -n $TLS ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$WORK/tls.key" -out "$WORK/tls.pem" 2>/dev/null
  sed "s|admin_listen: off}|admin_listen: off, tls: {cert: $WORK/tls.pem, key: $WORK/tls.key}}|" "$WORK/writ.yaml" \
    >"$WORK/writ-tls.yaml"
fi

# measure NAME BINARY -> appends "req/s p50 p99" to $WORK/NAME.txt
measure() {
  local name=$1 bin=$2 pid out config="$WORK/writ.yaml" key="" url="http://127.0.0.1:$WRIT_PORT"
  [[ $AUTH == "$name" ]] && config="$WORK/writ-auth.yaml"
  [[ $TLS == "$name" ]] && config="$WORK/writ-tls.yaml" url="https://127.0.0.1:$WRIT_PORT"
  rm -f "$WORK"/writ.db*
  taskset -c $CORE_SRV "$bin" serve --config "$config" >"$WORK/$name.log" 2>&1 &
  pid=$!
  wait_port $WRIT_PORT
  [[ $AUTH == "$name" ]] && key=$("$bin" apikeys create -c "$config" --tenant bench --roles client 2>/dev/null)
  WRIT_BENCH_KEY=$key taskset -c $CORE_LOAD wrk -t1 -c"$CONNS" -d2s -s "bench/$SCRIPT" "$url" \
    -- "${SCRIPT_ARG:-warm$RANDOM}" >/dev/null
  out=$(WRIT_BENCH_KEY=$key taskset -c $CORE_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "bench/$SCRIPT" \
    "$url" -- "${SCRIPT_ARG:-$name$RANDOM}")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rps p50 p99 bad
  bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
  [[ -n $bad ]] && echo "bench/ab.sh: $name: $bad answers were not 2xx (see $WORK/$name.log)" >&2
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  echo "$rps $p50 $p99" >>"$WORK/$name.txt"
  printf '  %-4s %10s req/s  p50 %8s  p99 %8s\n' "$name" "$rps" "$p50" "$p99"
}
median() { sort -g "$WORK/$1.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# bench/ab.sh $SCENARIO $(date -u +%Y-%m-%dT%H:%MZ): A=$OLD B=$NEW, $ROUNDS rounds of ${DURATION}s, -c$CONNS${AUTH:+, auth on for $AUTH}${TLS:+, TLS on for $TLS}"
for r in $(seq "$ROUNDS"); do
  measure A "$OLD"
  measure B "$NEW"
done
a=$(median A); b=$(median B)
echo "median req/s: A $a, B $b, B/A $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", b / a }')"
