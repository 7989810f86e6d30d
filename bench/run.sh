#!/usr/bin/env bash
# Benchmarks, each against a peer measured in the same run.
#   bench/run.sh [s1|s2|s3|s4|s5|s6|s7|s8|s9|s10|s11|s12|all]  (default: all; s3 includes s4)
# Environment: BENCH_DURATION (s per measurement, 10), BENCH_ROUNDS (3),
# BENCH_CONNECTIONS (64). Needs root or sudo for the first install of
# nginx-light and wrk (Debian packages).
#
# S1 sync write, fresh keys:  writ (sync, SQLite) -> mock master
#                             vs nginx proxy_pass -> the same mock master
#                             vs the mock master direct
# S2 replay of completed keys: writ vs nginx proxy (which must call the master)
# S3/S4 async: durable 202s/s on POST /payments (mode: async) vs nginx proxying
#             the same write synchronously to the master and vs graphile-worker,
#             pg-boss and Restate; then the time until the workers have applied
#             every accepted command (end-to-end rate); then, at a fixed rate
#             (BENCH_LATENCY_RATE, 100/s), client-to-master latency (s4 alone
#             runs only this part). BENCH_PEERS=0 leaves the npm peers out.
# S5 bulk ingest: items/s accepted durably on POST /products/bulk (mode:
#             buffered, 1000-item NDJSON batches of new SKUs) and items/s
#             delivered to the master's bulk endpoint, vs inserting the same
#             rows straight into SQLite in one C++ transaction (bench_raw_insert)
# S6 recovery: a writ with 100k pending items is killed (kill -9) while
#             draining; time from the restart's exec to the first item
#             completed after it (items the dead writ held wait for their
#             lease, which is excluded: the others are due at once)
# S7 footprint: writ's resident memory over a store of 1M idempotency
#             records, store bytes per record, and the in-server GC's delete
#             rate with the p99 of live sync traffic (-c16) during it vs before
# S8 drafts:  saves (PUT with If-Match, 2 KiB JSON, round robin over 2,000
#             drafts) vs the same saves as plain SQLite UPSERTs in C++
#             (bench_raw_upsert: committed one by one, and 64 per commit);
#             submits (sync path: the record to the master and its answer)
#             vs S1's sync write, in the same run
# S9 edge:    writes to an edge route (local commit + 201; the master's copy
#             follows) vs S1's sync write with the same body and master, in
#             the same run; the same writes while every master call fails
#             (503), their p99; then, the master back, the records/s the
#             sync worker sends until none is pending; and both again with a
#             master that takes BENCH_MASTER_LATENCY_MS (20) to answer
# S10 dual copy: BENCH_COPY_ENTITIES (1,000,000) customers seeded at the
#             master and loaded into the copy through the change feed; reads
#             of one entity from the copy vs nginx serving the same JSON as
#             static files; local writes (PUT, synced later) vs S1's sync
#             write; `writ reconcile` of the whole collection with nothing
#             different and with 1% changed behind the feed, vs reading the
#             master's collection page by page (bench/peers/page_master.js,
#             node, without it when node is missing)
# S11 sagas:  trips of three steps (flight, hotel, car: three POSTs to the
#             master, each taking the previous answer's id) on a saga route,
#             sagas/s from the first request until every saga has ended, vs
#             Restate running the same three calls as a service (ctx.run per
#             call, invoked with `send` and an idempotency key); then, at a
#             fixed rate (BENCH_SAGA_RATE, 50/s), each saga's time from the
#             client's send to its last call's arrival at the master
# S12 NATS:   events/s the outbox relay publishes to JetStream: async
#             submissions (BENCH_NATS_FILL s of wrk, 3 events each) written
#             while nats-server is down, then drained once it is up (from the
#             first published event to the last), vs a libnats publisher
#             (bench_nats_publisher: js_PublishMsgAsync, 4096 in flight,
#             the way `nats bench --js` publishes) sending as many messages
#             of the same stored size to the same stream. nats-server runs on
#             the load core here, so writ and the peer each get the other one.
#
# Placement: the load generator (wrk) runs on core 0, every server on core 1
# (taskset), so each system gets the same single core. Measurements
# alternate A, B, A, B ... and the medians are reported with the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCENARIO=${1:-all}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if ((${#need[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# BENCH_BUILD names another build directory (the ctest short profile uses the
# test build); by default build/ (Release), built first if missing.
BUILD=${BENCH_BUILD:-$ROOT/build}
[[ -x $BUILD/writ || -n ${BENCH_BUILD:-} ]] || WRIT_SKIP_DEMO=1 scripts/setup.sh
WRIT="$BUILD/writ"

WORK=$(mktemp -d /tmp/writ-bench-XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${PG_STOP:-} ]] && { $PG_STOP >/dev/null 2>&1 || true; }
  [[ ${BENCH_CLEAN:-0} == 1 ]] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

CORE_LOAD=0; CORE_SRV=1
if (($(nproc) < 2)); then CORE_SRV=0; fi

# --- machine and durability ------------------------------------------------
probe_fsync() {  # fdatasync/s on the disk holding $WORK
  local n=300 t0 t1
  t0=$(date +%s.%N)
  dd if=/dev/zero of="$WORK/fsync-probe" bs=4k count=$n oflag=dsync status=none
  t1=$(date +%s.%N)
  rm -f "$WORK/fsync-probe"
  awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
echo "# writ bench $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "fdatasync/s (dd oflag=dsync, 4 KiB): $(probe_fsync)"
echo "durability: writ SQLite journal_mode=WAL synchronous=FULL, group commit; every 2xx after commit"
echo "load: wrk -t1 -c$CONNS -d${DURATION}s on core $CORE_LOAD; servers on core $CORE_SRV; $ROUNDS rounds, alternating"
echo

# --- servers ---------------------------------------------------------------
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not up" >&2; return 1; }

MASTER_PORT=19090; WRIT_PORT=18080; NGINX_PORT=18081
COPY_ENTITIES=${BENCH_COPY_ENTITIES:-1000000}; COPY_CHUNK=${BENCH_COPY_CHUNK:-1000}
COPY_READ_SET=$((COPY_ENTITIES < 10000 ? COPY_ENTITIES : 10000))
taskset -c $CORE_SRV "$WRIT" mock-master --listen 127.0.0.1:$MASTER_PORT --honor-idempotency-key >"$WORK/master.log" 2>&1 &
PIDS+=($!)
wait_port $MASTER_PORT

cat >"$WORK/writ.yaml" <<YAML
server: {listen: 127.0.0.1:$WRIT_PORT, threads: 1, admin_listen: off}
store: {url: sqlite:$WORK/writ.db}
upstreams: {master: {url: http://127.0.0.1:$MASTER_PORT, pool_size: 256}}
routes:
  - {method: POST, path: /orders, mode: sync, upstream: master, idempotency: {required: true}}
  - {method: POST, path: /payments, mode: async, upstream: master, idempotency: {required: true},
     async: {concurrency: 64, poll_interval: 50ms}}
  - {name: bulk, method: POST, path: /products/bulk, mode: buffered, upstream: master, max_body: 64MiB,
     buffered: {item_key: /sku, batch_size: 500, bulk_path: /products/_bulk, max_pending_items: 100000000},
     async: {concurrency: 4, poll_interval: 50ms}}
  - {path: /applications/drafts, mode: draft, upstream: master, upstream_path: /applications, max_body: 64KiB}
  - {path: /edge/orders, mode: edge, upstream: master, upstream_path: /orders,
     async: {concurrency: 64, poll_interval: 50ms, backoff_base: 200ms, backoff_max: 2s}}
  - {method: POST, path: /trips, mode: saga, upstream: master, async: {concurrency: 64, poll_interval: 50ms},
     saga: {steps: [
       {name: flight, path: /flights, body: {account: "{{/input/accountId}}", amount: "{{/input/amount}}"},
        compensate: {path: "/flights/{{/steps/flight/body/id}}"}},
       {name: hotel, path: /hotels, body: {account: "{{/input/accountId}}", flight: "{{/steps/flight/body/id}}"},
        compensate: {path: "/hotels/{{/steps/hotel/body/id}}"}},
       {name: car, path: /cars, body: {account: "{{/input/accountId}}", hotel: "{{/steps/hotel/body/id}}"}}]}}
  - {method: POST, path: /trips/timed, mode: saga, upstream: master, async: {concurrency: 64, poll_interval: 50ms},
     saga: {steps: [
       {name: flight, path: /flights, body: {account: "{{/input/accountId}}", amount: "{{/input/amount}}"},
        compensate: {path: "/flights/{{/steps/flight/body/id}}"}},
       {name: hotel, path: /hotels, body: {account: "{{/input/accountId}}", flight: "{{/steps/flight/body/id}}"},
        compensate: {path: "/hotels/{{/steps/hotel/body/id}}"}},
       {name: car, path: /cars,
        body: {account: "{{/input/accountId}}", hotel: "{{/steps/hotel/body/id}}", sentAt: "{{/input/sentAt}}"}}]}}
  - {path: /customers, mode: dual-copy, upstream: master,
     copy: {refresh: {path: "/customers?updatedSince={cursor}&limit=5000", interval: 1s, data: /data},
            max_staleness: 1h, on_stale: serve, on_conflict: master_wins,
            reconcile: {path: "/customers?after={after}&limit={limit}", chunk: $COPY_CHUNK, ignore_fields: [/id]}},
     async: {concurrency: 64, poll_interval: 50ms, backoff_base: 200ms, backoff_max: 2s}}
YAML
taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/writ.yaml" >"$WORK/writ.log" 2>&1 &
PIDS+=($!)
wait_port $WRIT_PORT

mkdir -p "$WORK/nginx"
USER_LINE=""; [[ $(id -u) -eq 0 ]] && USER_LINE="user root;"
cat >"$WORK/nginx.conf" <<NGINX
$USER_LINE
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream master { server 127.0.0.1:$MASTER_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /static/ { alias $WORK/static/; default_type application/json; }
    location / {
      proxy_pass http://master;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
taskset -c $CORE_SRV "$NGINX" -c "$WORK/nginx.conf" -p "$WORK/nginx" 2>"$WORK/nginx-start.log" &
PIDS+=($!)
wait_port $NGINX_PORT

# --- measurement -----------------------------------------------------------
# run NAME PORT SCRIPT ARG -> appends "rps p50_ms p99_ms" to $WORK/NAME.txt
run() {
  local name=$1 port=$2 script=$3 out
  shift 3
  out=$(taskset -c $CORE_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "bench/$script" "http://127.0.0.1:$port" -- "$@")
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  echo "$(to_ms "$p50") $(to_ms "$p99") $rps" >>"$WORK/$name.txt"
  printf '  %-14s %10s req/s  p50 %8s  p99 %8s  %s\n' "$name" "$rps" "$p50" "$p99" "$errs"
}
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n+=0; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }
median() { sort -g -k"$2" "$WORK/$1.txt" | awk -v k="$2" '{a[NR]=$k} END {print a[int((NR+1)/2)]}'; }
summary() {  # peer-last list of names
  printf '\n  %-14s %12s %10s %10s %8s\n' system "median req/s" "p50 ms" "p99 ms" ratio
  local base; base=$(median "$1" 3)
  for n in "$@"; do
    local r; r=$(median "$n" 3)
    printf '  %-14s %12s %10s %10s %8s\n' "$n" "$r" "$(median "$n" 1)" "$(median "$n" 2)" \
      "$(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')"
  done
  echo "  (ratio: throughput relative to $1)"
}

if [[ $SCENARIO == s1 || $SCENARIO == all ]]; then
  echo "## S1 sync write, fresh keys (POST /orders, 90-byte JSON body)"
  run warmup-writ $WRIT_PORT unique_keys.lua warm >/dev/null
  run warmup-nginx $NGINX_PORT unique_keys.lua warm >/dev/null
  for r in $(seq "$ROUNDS"); do
    run s1-writ $WRIT_PORT unique_keys.lua "w$r"
    run s1-nginx $NGINX_PORT unique_keys.lua "n$r"
    run s1-direct $MASTER_PORT unique_keys.lua "d$r"
  done
  summary s1-nginx s1-writ s1-direct
  # Added latency at half of writ's peak: the same fixed request rate (wrk paced
  # by bench/paced_unique_keys.lua) to writ and to the master direct.
  HALF=$(awk -v r="$(median s1-writ 3)" 'BEGIN { printf "%d", r / 2 }')
  echo
  echo "## S1 at half of writ's peak: $HALF req/s to writ and to the master direct"
  for r in $(seq "$ROUNDS"); do
    run s1h-writ $WRIT_PORT paced_unique_keys.lua "hw$r" "$HALF"
    run s1h-direct $MASTER_PORT paced_unique_keys.lua "hd$r" "$HALF"
  done
  summary s1h-direct s1h-writ
  echo "  p99 added by writ over direct at $HALF req/s: $(awk -v a="$(median s1h-writ 2)" -v b="$(median s1h-direct 2)" \
    'BEGIN { printf "%.3f ms", a - b }') (p50: $(awk -v a="$(median s1h-writ 1)" -v b="$(median s1h-direct 1)" \
    'BEGIN { printf "%.3f ms", a - b }'))"
  echo
fi

if [[ $SCENARIO == s2 || $SCENARIO == all ]]; then
  echo "## S2 replay of 1000 completed keys"
  for i in $(seq 0 999); do
    curl -s -o /dev/null -X POST http://127.0.0.1:$WRIT_PORT/orders -H 'Content-Type: application/json' \
      -H "Idempotency-Key: replay-$i" \
      -d '{"customer":"c-17","amount":1250,"currency":"EUR","lines":[{"sku":"A-1","qty":2}]}'
  done
  for r in $(seq "$ROUNDS"); do
    run s2-writ $WRIT_PORT repeated_keys.lua 1000
    run s2-nginx $NGINX_PORT repeated_keys.lua 1000
  done
  summary s2-nginx s2-writ
  echo
fi
queue_depth() {  # accepted + processing commands of the async route (of the writ on port $1)
  curl -s "http://127.0.0.1:${1:-$WRIT_PORT}/metrics" |
    awk '/^writ_async_queue\{.*status="(accepted|processing)"/ {n += $NF} END {print n + 0}'
}

# A PostgreSQL server of the bench's own (initdb + pg_ctl in $WORK, as the
# postgres user when root), pinned to the server core, and a writ on it.
PG_PORT=15432; WRIT_PG_PORT=18085
start_postgres_writ() {
  command -v pg_config >/dev/null || return 1
  local bin as="" dir="$WORK/pg"
  bin=$(pg_config --bindir)
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; as="runuser -u postgres --"; fi
  $as "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null || return 1
  taskset -c $CORE_SRV $as "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200" start >/dev/null || return 1
  PG_STOP="$as $bin/pg_ctl -D $dir/data -m fast stop"
  sed -e "s#listen: 127.0.0.1:$WRIT_PORT#listen: 127.0.0.1:$WRIT_PG_PORT#" \
      -e "s#url: sqlite:$WORK/writ.db#url: postgres://postgres@127.0.0.1:$PG_PORT/postgres#" "$WORK/writ.yaml" >"$WORK/writ-pg.yaml"
  "$WRIT" migrate --config "$WORK/writ-pg.yaml" >/dev/null || return 1
  taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/writ-pg.yaml" >"$WORK/writ-pg.log" 2>&1 &
  PIDS+=($!)
  wait_port $WRIT_PG_PORT
}

# The job queues an API would use instead (graphile-worker, pg-boss), each
# behind a minimal Node handler on the same PostgreSQL (bench/peers), from
# npm into the work directory. Ports 18391, 18392.
start_peers() {
  [[ ${BENCH_PEERS:-1} == 1 ]] && command -v npm >/dev/null && [[ -n ${PG_STOP:-} ]] || return 1
  mkdir -p "$WORK/peers"
  (cd "$WORK/peers" && npm install --silent --no-audit --no-fund graphile-worker@0.16.6 pg-boss@10.1.5 pg@8 \
    >"$WORK/peers/npm.log" 2>&1) || return 1
  local kind port=18391
  for kind in graphile pgboss; do
    psql -q -h 127.0.0.1 -p $PG_PORT -U postgres -c "CREATE DATABASE $kind" >/dev/null || return 1
    NODE_PATH="$WORK/peers/node_modules" taskset -c $CORE_SRV node bench/peers/queue_peer.js "$kind" $port \
      "postgres://postgres@127.0.0.1:$PG_PORT/$kind" "http://127.0.0.1:$MASTER_PORT" >"$WORK/peer-$kind.log" 2>&1 &
    PIDS+=($!)
    wait_port $port
    port=$((port + 1))
  done
}
peer_depth() { curl -s "http://127.0.0.1:$1/_depth" | sed -E 's/.*"depth":([0-9]+).*/\1/'; }

# Restate (restate-server from npm, its defaults: replicated loglet with the
# RocksDB WAL fsynced) with a Node service that calls the master
# (bench/peers/restate_peer.js). Clients use its ingress `send` with an
# idempotency key. Ingress 18393, admin 19070, the service 19080, depth 18394.
RESTATE_VERSION=1.7.12; RESTATE_SDK_VERSION=1.9.1  # the newest SDK that runs on Debian's Node 20
restate_depth() { peer_depth 18394; }
start_restate() {
  [[ ${RESTATE_UP:-0} == 1 ]] && return 0  # started by an earlier scenario of this run
  [[ ${BENCH_PEERS:-1} == 1 ]] && command -v npm >/dev/null || return 1
  mkdir -p "$WORK/restate"
  (cd "$WORK/restate" && npm install --silent --no-audit --no-fund "@restatedev/restate-server@$RESTATE_VERSION" \
    "@restatedev/restate-sdk@$RESTATE_SDK_VERSION" >"$WORK/restate/npm.log" 2>&1) || return 1
  # The platform package's binary itself (not the npm wrapper, which would
  # leave it running when killed).
  local bin
  bin=$(find "$WORK/restate/node_modules/@restatedev" -path '*restate-server-linux-*/bin/restate-server' | head -1)
  [[ -x $bin ]] || return 1
  (cd "$WORK/restate" && RESTATE_INGRESS__BIND_ADDRESS=127.0.0.1:18393 RESTATE_ADMIN__BIND_ADDRESS=127.0.0.1:19070 \
    RESTATE_BIND_ADDRESS=127.0.0.1:15122 RESTATE_DISABLE_TELEMETRY=true RESTATE_LOG_FILTER=warn \
    exec taskset -c $CORE_SRV "$bin" --base-dir "$WORK/restate/data" --no-logo >"$WORK/restate/server.log" 2>&1) &
  PIDS+=($!)
  RESTATE_LOGGING=ERROR NODE_PATH="$WORK/restate/node_modules" taskset -c $CORE_SRV node bench/peers/restate_peer.js \
    19080 18394 http://127.0.0.1:19070 "http://127.0.0.1:$MASTER_PORT" >"$WORK/restate/peer.log" 2>&1 &
  PIDS+=($!)
  wait_port 19070 && wait_port 19080 && wait_port 18394 || return 1
  local _
  for _ in $(seq 100); do
    curl -sf -X POST http://127.0.0.1:19070/deployments -H 'Content-Type: application/json' \
      -d '{"uri":"http://127.0.0.1:19080"}' >/dev/null && wait_port 18393 && RESTATE_UP=1 && return 0
    sleep 0.2
  done
  return 1
}

# S3/S4 for one system: accept until wrk stops, then the drain; NAME PORT ROUND [DEPTH_FN [PATH]]
async_round() {
  local name=$1 port=$2 r=$3 depth=${4:-queue_depth} before after t0 t1 e2e
  local path=("${@:5}")
  before=$(curl -s http://127.0.0.1:$MASTER_PORT/_stats | sed -E 's/.*"applied":([0-9]+).*/\1/')
  t0=$(date +%s.%N)
  run "s3-$name" "$port" async_submit.lua "$name$r" "${path[@]}"
  while (($($depth "$port") > 0)); do sleep 0.1; done
  t1=$(date +%s.%N)
  after=$(curl -s http://127.0.0.1:$MASTER_PORT/_stats | sed -E 's/.*"applied":([0-9]+).*/\1/')
  e2e=$(awk -v n=$((after - before)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  echo "0 0 $e2e" >>"$WORK/s4-$name-e2e.txt"
  printf '  %-14s %10s applied/s  (%d applied at the master, until the queue was empty)\n' "s4-$name-e2e" "$e2e" \
    $((after - before))
}

if [[ $SCENARIO == s3 || $SCENARIO == s4 || $SCENARIO == all ]]; then
  echo "## S3 async accept (POST /payments -> durable 202) and S4 end to end (accepted -> applied at the master)"
  PG_NAMES=()
  if start_postgres_writ; then
    PG_NAMES=(s3-writ-pg s4-writ-pg-e2e)
    echo "  (writ-pg: the same config on PostgreSQL $(pg_config --version | awk '{print $2}'), fsync=on, synchronous_commit=on)"
  else
    echo "  (PostgreSQL not available: SQLite only)"
  fi
  PEER_NAMES=()
  if ((${#PG_NAMES[@]})) && start_peers; then
    PEER_NAMES=(s3-graphile s4-graphile-e2e s3-pgboss s4-pgboss-e2e)
    echo "  (peers: graphile-worker 0.16.6 and pg-boss 10.1.5 behind Node $(node --version) handlers, same PostgreSQL)"
  else
    echo "  (graphile-worker / pg-boss peers not available: no npm registry or no PostgreSQL)"
  fi
  if start_restate; then
    PEER_NAMES+=(s3-restate s4-restate-e2e)
    echo "  (peer: Restate $RESTATE_VERSION (restate-server, default durability) + restate-sdk $RESTATE_SDK_VERSION service)"
  else
    echo "  (Restate peer not available: no npm registry, or it did not start: $WORK/restate)"
  fi
  run warmup-writ $WRIT_PORT async_submit.lua warm >/dev/null
  while (($(queue_depth) > 0)); do sleep 0.1; done
  # `s4` skips the throughput rounds and measures only the latency below.
  for r in $( [[ $SCENARIO == s4 ]] || seq "$ROUNDS"); do
    async_round writ $WRIT_PORT "$r"
    ((${#PG_NAMES[@]})) && async_round writ-pg $WRIT_PG_PORT "$r"
    if ((${#PEER_NAMES[@]})); then
      async_round graphile 18391 "$r" peer_depth
      async_round pgboss 18392 "$r" peer_depth
    fi
    [[ " ${PEER_NAMES[*]} " == *" s3-restate "* ]] && async_round restate 18393 "$r" restate_depth /payments/submit/send
    run s3-nginx $NGINX_PORT async_submit.lua "n$r"
  done
  if [[ $SCENARIO != s4 ]]; then
    summary s3-nginx s3-writ s4-writ-e2e "${PG_NAMES[@]}" "${PEER_NAMES[@]}"
    echo "  (s3-nginx: the same write proxied synchronously to the master; s4: applied/s from the first request"
    echo "   until the queue was empty, including the drain after wrk stopped)"
    echo
  fi
  # S4 latency: submissions at a fixed rate below every system's capacity (the
  # slowest peer accepts ~270/s on one core), each carrying the client's send
  # time; the master reports when each arrived.
  LAT_RATE=${BENCH_LATENCY_RATE:-100}
  echo "## S4 accept-to-master latency at $LAT_RATE submissions/s (client send -> master arrival)"
  LAT_SYSTEMS=("writ $WRIT_PORT queue_depth")
  ((${#PG_NAMES[@]})) && LAT_SYSTEMS+=("writ-pg $WRIT_PG_PORT queue_depth")
  [[ " ${PEER_NAMES[*]} " == *" s3-graphile "* ]] && LAT_SYSTEMS+=("graphile 18391 peer_depth" "pgboss 18392 peer_depth")
  [[ " ${PEER_NAMES[*]} " == *" s3-restate "* ]] && LAT_SYSTEMS+=("restate 18393 restate_depth /payments/submit/send")
  for r in $(seq "$ROUNDS"); do
    for sys in "${LAT_SYSTEMS[@]}"; do
      read -r name port depth path <<<"$sys"
      path=${path:-/payments}
      curl -s -X POST http://127.0.0.1:$MASTER_PORT/_reset >/dev/null
      run "s4l-$name-accept" "$port" paced_async_submit.lua "l$name$r" "$path" "$LAT_RATE" >/dev/null
      while (($($depth "$port") > 0)); do sleep 0.1; done
      lat=$(curl -s http://127.0.0.1:$MASTER_PORT/_latency)
      p50=$(sed -E 's/.*"p50Ms":([0-9.eE+-]+).*/\1/' <<<"$lat"); p99=$(sed -E 's/.*"p99Ms":([0-9.eE+-]+).*/\1/' <<<"$lat")
      n=$(sed -E 's/.*"count":([0-9]+).*/\1/' <<<"$lat")
      p50=$(awk -v v="$p50" 'BEGIN { printf "%.2f", v }'); p99=$(awk -v v="$p99" 'BEGIN { printf "%.2f", v }')
      echo "$p50 $p99 $n" >>"$WORK/s4l-$name.txt"
      printf '  %-14s accept-to-master p50 %8s ms  p99 %8s ms  (%s writes; 202 p50 %s ms, p99 %s ms)\n' "s4l-$name" \
        "$p50" "$p99" "$n" "$(tail -1 "$WORK/s4l-$name-accept.txt" | cut -d' ' -f1)" \
        "$(tail -1 "$WORK/s4l-$name-accept.txt" | cut -d' ' -f2)"
    done
  done
  printf '\n  %-14s %14s %14s\n' system "p50 ms (median)" "p99 ms (median)"
  for sys in "${LAT_SYSTEMS[@]}"; do
    read -r name _ <<<"$sys"
    printf '  %-14s %14s %14s\n' "s4l-$name" "$(median "s4l-$name" 1)" "$(median "s4l-$name" 2)"
  done
  echo "  (bar: writ p50 accept-to-master <= 5 ms)"
  echo
fi
bulk_pending() {
  curl -s http://127.0.0.1:$WRIT_PORT/v1/routes/bulk/buffer | sed -E 's/.*"pending":([0-9]+).*/\1/'
}
master_applied() { curl -s http://127.0.0.1:$MASTER_PORT/_stats | sed -E 's/.*"applied":([0-9]+).*/\1/'; }

if [[ $SCENARIO == s5 || $SCENARIO == all ]]; then
  BULK_ITEMS=${BENCH_BULK_ITEMS:-1000}; BULK_CONNS=${BENCH_BULK_CONNECTIONS:-4}; RAW_ROWS=${BENCH_RAW_ROWS:-200000}
  echo "## S5 bulk ingest (POST /products/bulk, NDJSON batches of $BULK_ITEMS new items, $BULK_CONNS connections)"
  RAW="$BUILD/bench_raw_insert"
  for r in $(seq "$ROUNDS"); do
    # Ingest alone (the route paused), like the raw insert it is compared with.
    curl -s -X POST http://127.0.0.1:$WRIT_PORT/v1/routes/bulk/pause >/dev/null
    out=$(taskset -c $CORE_LOAD wrk -t1 -c"$BULK_CONNS" -d"${DURATION}s" --latency -s bench/bulk_upload.lua \
      "http://127.0.0.1:$WRIT_PORT" -- "s5r$r" "$BULK_ITEMS")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    items=$(awk -v r="$rps" -v n="$BULK_ITEMS" 'BEGIN { printf "%.0f", r * n }')
    p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
    echo "$p50 $p99 $items" >>"$WORK/s5-writ-accept.txt"
    printf '  %-18s %10s items/s accepted  (batch p50 %s ms, p99 %s ms) %s\n' s5-writ-accept "$items" "$p50" "$p99" "$errs"
    # Then the drain alone: resume and time until the buffer is empty.
    before=$(master_applied)
    t0=$(date +%s.%N)
    curl -s -X POST http://127.0.0.1:$WRIT_PORT/v1/routes/bulk/resume >/dev/null
    while (($(bulk_pending) > 0)); do sleep 0.05; done
    t1=$(date +%s.%N)
    after=$(master_applied)
    delivered=$(awk -v n=$((after - before)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "0 0 $delivered" >>"$WORK/s5-writ-delivered.txt"
    printf '  %-18s %10s items/s at the master (%d items in bulk requests of 500)\n' s5-writ-delivered \
      "$delivered" $((after - before))
    raw=$(taskset -c $CORE_SRV "$RAW" "$WORK/raw-$r.db" "$RAW_ROWS")
    rm -f "$WORK/raw-$r.db"*
    echo "0 0 $raw" >>"$WORK/s5-raw-insert.txt"
    printf '  %-18s %10s rows/s (%d rows, one transaction, synchronous=FULL)\n' s5-raw-insert "$raw" "$RAW_ROWS"
  done
  summary s5-raw-insert s5-writ-accept s5-writ-delivered
  echo "  (ratio: items/s relative to the raw insert. accept: uploads with the route paused, durable 202s;"
  echo "   delivered: the drain alone after resume, writ and the mock master sharing one core)"
  echo
fi
if [[ $SCENARIO == s6 || $SCENARIO == all ]]; then
  PENDING=${BENCH_RECOVERY_ITEMS:-100000}
  echo "## S6 recovery after kill -9 with $PENDING pending items (buffered route, SQLite)"
  R_PORT=18082
  cat >"$WORK/recovery.yaml" <<YAML
server: {listen: 127.0.0.1:$R_PORT, threads: 1, admin_listen: off}
store: {url: sqlite:$WORK/recovery.db}
upstreams: {master: {url: http://127.0.0.1:$MASTER_PORT, pool_size: 64}}
routes:
  - {name: bulk, method: POST, path: /products/bulk, mode: buffered, upstream: master, max_body: 64MiB,
     buffered: {item_key: /sku, batch_size: 500, bulk_path: /products/_bulk, max_pending_items: 100000000},
     async: {concurrency: 4, poll_interval: 50ms, lease: 30s}}
YAML
  start_recovery_writ() {
    taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/recovery.yaml" >>"$WORK/recovery.log" 2>&1 &
    R_PID=$!
    PIDS+=($R_PID)
  }
  r_pending() { curl -s http://127.0.0.1:$R_PORT/v1/routes/bulk/buffer | sed -E 's/.*"pending":([0-9]+).*/\1/'; }
  for r in $(seq "$ROUNDS"); do
    rm -f "$WORK/recovery.db"*
    start_recovery_writ
    wait_port $R_PORT
    curl -s -X POST http://127.0.0.1:$R_PORT/v1/routes/bulk/pause >/dev/null
    for b in $(seq $((PENDING / 1000))); do
      lua_items=""; for i in $(seq 1000); do lua_items+="{\"sku\":\"r$r-$b-$i\"}"$'\n'; done
      curl -s -o /dev/null -X POST http://127.0.0.1:$R_PORT/products/bulk -H 'Content-Type: application/x-ndjson' \
        --data-binary "$lua_items"
    done
    curl -s -X POST http://127.0.0.1:$R_PORT/v1/routes/bulk/resume >/dev/null
    sleep 0.2
    kill -9 $R_PID; wait $R_PID 2>/dev/null || true
    t0=$(date +%s%N)
    start_recovery_writ
    at_kill=""
    while [[ -z $at_kill ]]; do at_kill=$(r_pending 2>/dev/null || true); [[ $at_kill =~ ^[0-9]+$ ]] || at_kill=""; done
    t_up=$(date +%s%N)
    up=$(( (t_up - t0) / 1000000 ))
    if ((at_kill == 0)); then  # the drain finished before the kill: nothing to recover
      printf '  %-18s round skipped: nothing was pending at the restart (use more BENCH_RECOVERY_ITEMS)\n' s6-recovery
    else
      # Bounded: items the dead writ held come back after their 30 s lease at the latest.
      deadline=$(( $(date +%s) + 120 ))
      while (($(r_pending) >= at_kill)) && (($(date +%s) < deadline)); do sleep 0.002; done
      t1=$(date +%s%N)
      ms=$(( (t1 - t0) / 1000000 ))
      echo "0 0 $ms" >>"$WORK/s6-recovery.txt"
      printf '  %-18s %6s ms to the first completed item (%s pending at the restart; serving after %s ms)\n' \
        s6-recovery "$ms" "$at_kill" "$up"
    fi
    kill $R_PID; wait $R_PID 2>/dev/null || true
  done
  printf '\n  s6-recovery median %s ms (bar: < 1000 ms)\n\n' "$( [[ -f $WORK/s6-recovery.txt ]] && median s6-recovery 3 || echo none)"
fi
if [[ $SCENARIO == s7 || $SCENARIO == all ]]; then
  RECORDS=${BENCH_FOOTPRINT_RECORDS:-1000000}
  echo "## S7 footprint: $RECORDS idempotency records (SQLite), GC under live traffic"
  F_PORT=18083
  "$BUILD/bench_seed_keys" "$WORK/footprint.db" "$RECORDS" 3600000
  bytes=$(stat -c %s "$WORK/footprint.db")
  cat >"$WORK/footprint.yaml" <<YAML
server: {listen: 127.0.0.1:$F_PORT, threads: 1, admin_listen: off}
store: {url: sqlite:$WORK/footprint.db, gc_interval: 1s, gc_batch: 1000}
upstreams: {master: {url: http://127.0.0.1:$MASTER_PORT, pool_size: 256}}
routes:
  - {method: POST, path: /orders, mode: sync, upstream: master, idempotency: {required: true}}
YAML
  taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/footprint.yaml" >"$WORK/footprint.log" 2>&1 &
  F_PID=$!; PIDS+=($F_PID)
  wait_port $F_PORT
  CONNS_SAVED=$CONNS; CONNS=16
  run s7-live-before $F_PORT unique_keys.lua "f1"
  rss=$(awk '/VmRSS/ {print $2}' /proc/$F_PID/status)
  printf '  store: %d records in %d bytes = %d bytes per record; writ RSS %d MiB while serving\n' \
    "$RECORDS" "$bytes" $((bytes / RECORDS)) $((rss / 1024))
  kill $F_PID; wait $F_PID 2>/dev/null || true
  "$BUILD/bench_seed_keys" "$WORK/footprint.db" expire
  taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/footprint.yaml" >>"$WORK/footprint.log" 2>&1 &
  F_PID=$!; PIDS+=($F_PID)
  wait_port $F_PORT
  gc_deleted() { curl -s http://127.0.0.1:$F_PORT/metrics | awk '/^writ_gc_deleted_total/ {print $NF}'; }
  sleep 1.2  # the first GC round starts after gc_interval
  g0=$(gc_deleted); t0=$(date +%s.%N)
  run s7-live-during-gc $F_PORT unique_keys.lua "f2"
  g1=$(gc_deleted); t1=$(date +%s.%N)
  CONNS=$CONNS_SAVED
  rate=$(awk -v n=$((${g1:-0} - ${g0:-0})) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  printf '  GC deleted %d records in %.1f s under live traffic: %s records/s\n' $((${g1:-0} - ${g0:-0})) \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$rate"
  kill $F_PID; wait $F_PID 2>/dev/null || true
  summary s7-live-before s7-live-during-gc
  echo "  (live traffic: wrk -c16 sync writes with fresh keys; bar: GC >= 50k records/s, p99 within +20%)"
  echo
fi
if [[ $SCENARIO == s8 || $SCENARIO == all ]]; then
  SAVE_DRAFTS=${BENCH_SAVE_DRAFTS:-2000}
  RAW_SAVES=${BENCH_RAW_SAVES:-20000}
  echo "## S8 drafts: saves (PUT + If-Match, 2 KiB JSON, $SAVE_DRAFTS drafts) vs a raw SQLite UPSERT; submits (sync) vs S1"
  make_drafts() {  # FILE SECONDS [order]: creates drafts for SECONDS, their ids into FILE
    rm -f "$1"
    taskset -c $CORE_LOAD wrk -t1 -c16 -d"${2}s" -s bench/draft_create.lua "http://127.0.0.1:$WRIT_PORT" -- "$1" \
      "${3:-}" >/dev/null
  }
  for r in $(seq "$ROUNDS"); do
    make_drafts "$WORK/s8-all-$r.txt" 2
    head -n "$SAVE_DRAFTS" "$WORK/s8-all-$r.txt" >"$WORK/s8-save-$r.txt"
    run s8-save $WRIT_PORT draft_save.lua "$WORK/s8-save-$r.txt"
    for batch in 1 64; do
      saves=$((batch == 1 ? RAW_SAVES / 4 : RAW_SAVES * 5))
      raw=$(taskset -c $CORE_SRV "$BUILD/bench_raw_upsert" "$WORK/raw-upsert-$r.db" "$saves" "$batch" "$SAVE_DRAFTS")
      rm -f "$WORK/raw-upsert-$r.db"*
      echo "0 0 $raw" >>"$WORK/s8-raw-upsert-$batch.txt"
      printf '  %-18s %10s saves/s (%d saves, %d per commit, synchronous=FULL)\n' "s8-raw-upsert-$batch" "$raw" \
        "$saves" "$batch"
    done
  done
  summary s8-raw-upsert-1 s8-raw-upsert-64 s8-save
  echo "  (ratio: saves/s relative to UPSERTs committed one by one; s8-raw-upsert-64 commits 64 per fsync)"
  echo
  echo "## S8 submit (sync: the record to the master, its answer replayed to retries) vs S1 in the same run"
  echo "   (each draft holds S1's 90-byte order, so both send the master the same body)"
  for r in $(seq "$ROUNDS"); do
    make_drafts "$WORK/s8-submit-$r.txt" $((DURATION * 2)) order
    run s8-submit $WRIT_PORT draft_submit.lua "$WORK/s8-submit-$r.txt" "sub$r"
    run s8-s1-writ $WRIT_PORT unique_keys.lua "s8w$r"
  done
  summary s8-s1-writ s8-submit
  echo "  (each draft submitted once; a Non-2xx count above means a repeat ran past the drafts created)"
  echo
fi
if [[ $SCENARIO == s9 || $SCENARIO == all ]]; then
  echo "## S9 edge: writes (POST /edge/orders, local commit + 201) vs S1's sync write, same body and master"
  pending() {  # edge records waiting to sync
    "$WRIT" edge list -c "$WORK/writ.yaml" --route /edge/orders --status pending --limit 100000000 2>/dev/null |
      tail -n +2 | wc -l
  }
  drained() {  # waits until the sync worker has sent every edge record (at most 10 min)
    for _ in $(seq 1200); do [[ $(curl -s "http://127.0.0.1:$WRIT_PORT/edge/orders?syncStatus=pending&limit=1") == \
      '{"records":[]}' ]] && return 0; sleep 0.5; done; echo "edge records still pending" >&2; return 1
  }
  for r in $(seq "$ROUNDS"); do
    run s9-edge $WRIT_PORT edge_create.lua "e$r"
    drained  # the sync of this round's records is not charged to S1's round
    run s9-s1-writ $WRIT_PORT unique_keys.lua "s9w$r"
  done
  summary s9-s1-writ s9-edge
  echo "  (bar: an edge write >= 3x S1's sync write; the worker syncs in the background during the edge rounds)"
  echo
  echo "## S9 edge vs S1 with a master that answers in ${BENCH_MASTER_LATENCY_MS:-20} ms (mock master latencyMs)"
  curl -s -X POST "http://127.0.0.1:$MASTER_PORT/_faults" -d "{\"latencyMs\":${BENCH_MASTER_LATENCY_MS:-20}}" >/dev/null
  for r in $(seq "$ROUNDS"); do
    run s9l-edge $WRIT_PORT edge_create.lua "le$r"
    drained
    run s9l-s1-writ $WRIT_PORT unique_keys.lua "ls9w$r"
  done
  curl -s -X POST "http://127.0.0.1:$MASTER_PORT/_faults" -d '{"latencyMs":0}' >/dev/null
  summary s9l-s1-writ s9l-edge
  echo
  echo "## S9 edge with the master down (every master call answered 503), then the sync once it is back"
  curl -s -X POST "http://127.0.0.1:$MASTER_PORT/_faults" -d '{"errorRate":1}' >/dev/null
  for r in $(seq "$ROUNDS"); do run s9-edge-down $WRIT_PORT edge_create.lua "down$r"; done
  summary s9-edge-down
  n=$(pending)
  t0=$(date +%s.%N)
  curl -s -X POST "http://127.0.0.1:$MASTER_PORT/_faults" -d '{"errorRate":0}' >/dev/null
  drained
  t1=$(date +%s.%N)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "  s9-sync: %d records written while the master was down synced in %.1f s: %.0f records/s\n", n, b - a, n / (b - a) }'
  echo "  (one request per record, async.concurrency 64; the time includes up to backoff_max 2 s before the first retries)"
  echo
fi
if [[ $SCENARIO == s10 || $SCENARIO == all ]]; then
  echo "## S10 dual copy: $COPY_ENTITIES customers (GET /customers/{id} from the copy, PUT synced later, writ reconcile)"
  t0=$(date +%s.%N)
  curl -sf -X POST "http://127.0.0.1:$MASTER_PORT/_seed" -d "{\"collection\":\"customers\",\"count\":$COPY_ENTITIES}" >/dev/null
  t1=$(date +%s.%N)
  # The feed hands out records in the order they changed, and every page commits with its cursor:
  # the last seeded record in the copy means the whole collection is there.
  for _ in $(seq 3600); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WRIT_PORT/customers/cus_$COPY_ENTITIES") == 200 ]] && break
    sleep 0.5
  done
  t2=$(date +%s.%N)
  awk -v n="$COPY_ENTITIES" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "  s10-load: %d entities seeded in %.1f s, in the copy %.1f s later (refresh pages of 5000, every 1 s): %.0f entities/s\n", n, b - a, c - b, n / (c - b) }'
  # nginx serves the same bytes as static files: each read set entity as writ answers it (one curl,
  # one keep-alive connection). The copy's answer is its record: the entity under "data", with its
  # sync state and times; the window (Writ-As-Of, Age, ETag, Writ-Pending-Writes) in headers.
  mkdir -p "$WORK/static/customers"
  for ((i = 1; i <= COPY_READ_SET; i++)); do
    printf 'url = "http://127.0.0.1:%s/customers/cus_%d"\noutput = "%s/static/customers/cus_%d"\n' "$WRIT_PORT" "$i" "$WORK" "$i"
  done >"$WORK/static.curl"
  curl -s -K "$WORK/static.curl"
  echo "  (nginx serves the copy's own answers as files: $(wc -c <"$WORK/static/customers/cus_1") B for cus_1)"
  run warmup-copy $WRIT_PORT copy_read.lua /customers/ "$COPY_READ_SET" >/dev/null
  run warmup-static $NGINX_PORT copy_read.lua /static/customers/ "$COPY_READ_SET" >/dev/null
  for r in $(seq "$ROUNDS"); do
    run s10-read-copy $WRIT_PORT copy_read.lua /customers/ "$COPY_READ_SET"
    run s10-read-nginx $NGINX_PORT copy_read.lua /static/customers/ "$COPY_READ_SET"
  done
  for r in $(seq "$ROUNDS"); do run s10-healthz $WRIT_PORT get_path.lua /healthz; done
  summary s10-read-nginx s10-read-copy s10-healthz
  echo "  (bar: a read from the copy >= 0.8x nginx serving the same JSON; $COPY_READ_SET ids at random;"
  echo "   s10-healthz: writ's GET /healthz, its HTTP stack with no route or store behind it, a ceiling for any read)"
  echo
  copy_drained() {  # waits until every local write has been sent to the master (at most 10 min)
    for _ in $(seq 1200); do [[ $(curl -s "http://127.0.0.1:$WRIT_PORT/customers?syncStatus=pending&limit=1") == \
      '{"records":[]}' ]] && return 0; sleep 0.5; done; echo "copy writes still pending" >&2; return 1
  }
  for r in $(seq "$ROUNDS"); do
    run s10-write-copy $WRIT_PORT copy_write.lua "$COPY_READ_SET"
    copy_drained  # the sync of this round's writes is not charged to S1's round
    run s10-s1-writ $WRIT_PORT unique_keys.lua "s10w$r"
  done
  summary s10-s1-writ s10-write-copy
  echo "  (a local write: PUT of a whole customer without If-Match, committed and answered 200, synced after)"
  echo
  echo "## S10 reconciliation of $COPY_ENTITIES entities (chunk $COPY_CHUNK), vs reading the master's collection page by page"
  reconcile() {  # NAME [args]: one writ reconcile run on core 0, "entities seconds mismatches" to $WORK/NAME.txt
    local name=$1 a b rc=0 out
    shift
    a=$(date +%s.%N)
    out=$(taskset -c $CORE_LOAD "$WRIT" reconcile /customers -c "$WORK/writ.yaml" --json "$@" 2>>"$WORK/reconcile.log") || rc=$?
    b=$(date +%s.%N)
    ((rc <= 2)) || { echo "writ reconcile failed ($rc)" >&2; return 1; }
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["compared"], sys.argv[2], sum(r["mismatches"].values()) if isinstance(r["mismatches"], dict) else r["mismatches"])' \
      "$out" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')" >>"$WORK/$name.txt"
    tail -1 "$WORK/$name.txt" | awk -v n="$name" '{ printf "  %-22s %9d entities in %7.2f s: %9.0f entities/s, %d mismatches\n", n, $1, $2, $1 / $2, $3 }'
  }
  page_master() {  # NAME: the peer, "entities seconds" to $WORK/NAME.txt
    taskset -c $CORE_LOAD node bench/peers/page_master.js "http://127.0.0.1:$MASTER_PORT" /customers "$COPY_CHUNK" >>"$WORK/$1.txt"
    tail -1 "$WORK/$1.txt" | awk -v n="$1" '{ printf "  %-22s %9d entities in %7.2f s: %9.0f entities/s\n", n, $1, $2, $1 / $2 }'
  }
  rate() { sort -g -k2 "$WORK/$1.txt" | awk '{a[NR]=$1/$2} END {printf "%.0f", a[int((NR+1)/2)]}'; }
  peer=0; command -v node >/dev/null && peer=1
  for r in $(seq "$ROUNDS"); do
    reconcile s10-reconcile-equal
    ((peer)) && page_master s10-page-master
  done
  # 1% changed behind the feed (the master's version moves, its change feed does not).
  python3 -c 'import json,sys; n=int(sys.argv[1]); print(json.dumps({"collection":"customers","change":["cus_%d" % i for i in range(1, n + 1, 100)]}))' \
    "$COPY_ENTITIES" >"$WORK/tamper.json"
  curl -sf -X POST "http://127.0.0.1:$MASTER_PORT/_tamper" --data-binary @"$WORK/tamper.json" >/dev/null
  for r in $(seq "$ROUNDS"); do reconcile s10-reconcile-1pct; done
  if ((peer)); then
    for n in s10-reconcile-equal s10-reconcile-1pct; do
      awk -v n="$n" -v a="$(rate "$n")" -v b="$(rate s10-page-master)" 'BEGIN { printf "  %-22s median %9.0f entities/s  %.2fx reading the master alone (%.0f/s)\n", n, a, a / b, b }'
    done
  else
    echo "  (no node: the peer was not run)"
  fi
  echo "  (report only: the 1% stay different, so every 1% round finds them again)"
  echo
fi
if [[ $SCENARIO == s11 || $SCENARIO == all ]]; then
  echo "## S11 sagas of three steps (flight, hotel, car: three calls to the master, each with the previous answer)"
  saga_depth() {  # sagas not yet ended (at most 1000 counted: > 0 is all that matters)
    curl -s "http://127.0.0.1:$1/v1/sagas?status=running&limit=1000" | grep -o '"sagaId"' | wc -l
  }
  SAGA_PEERS=()
  if start_restate; then
    SAGA_PEERS=(s11-restate)
    echo "  (peer: Restate $RESTATE_VERSION + restate-sdk $RESTATE_SDK_VERSION, service trips/book: three ctx.run calls)"
  else
    echo "  (Restate peer not available: no npm registry, BENCH_PEERS=0, or it did not start)"
  fi
  saga_round() {  # NAME PORT ROUND PATH DEPTH_FN: sagas/s from the first request until every one has ended
    local name=$1 port=$2 r=$3 path=$4 depth=$5 before after t0 t1
    before=$(master_applied)
    t0=$(date +%s.%N)
    run "s11-$name-accept" "$port" async_submit.lua "t$name$r" "$path" >/dev/null
    while (($($depth "$port") > 0)); do sleep 0.1; done
    t1=$(date +%s.%N)
    after=$(master_applied)
    local sagas=$(((after - before) / 3))
    echo "0 0 $(awk -v n=$sagas -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" >>"$WORK/s11-$name.txt"
    printf '  %-16s %10s sagas/s  (%d sagas, %d calls at the master, until every saga had ended)\n' "s11-$name" \
      "$(tail -1 "$WORK/s11-$name.txt" | cut -d' ' -f3)" "$sagas" $((after - before))
  }
  for r in $(seq "$ROUNDS"); do
    saga_round writ $WRIT_PORT "$r" /trips saga_depth
    ((${#SAGA_PEERS[@]})) && saga_round restate 18393 "$r" /trips/book/send restate_depth
  done
  summary "${SAGA_PEERS[@]}" s11-writ
  echo "  (sagas/s end to end: from the first request until every saga had ended, the drain included)"
  SAGA_RATE=${BENCH_SAGA_RATE:-50}
  echo "  per saga at $SAGA_RATE sagas/s: client send -> the car's call at the master"
  for r in $(seq "$ROUNDS"); do
    for sys in "writ $WRIT_PORT saga_depth /trips/timed" ${SAGA_PEERS[@]:+"restate 18393 restate_depth /trips/book/send"}; do
      read -r name port depth path <<<"$sys"
      curl -s -X POST http://127.0.0.1:$MASTER_PORT/_reset >/dev/null
      run "s11l-$name-accept" "$port" paced_async_submit.lua "s$name$r" "$path" "$SAGA_RATE" >/dev/null
      while (($($depth "$port") > 0)); do sleep 0.1; done
      lat=$(curl -s http://127.0.0.1:$MASTER_PORT/_latency)
      p50=$(sed -E 's/.*"p50Ms":([0-9.eE+-]+).*/\1/' <<<"$lat"); p99=$(sed -E 's/.*"p99Ms":([0-9.eE+-]+).*/\1/' <<<"$lat")
      n=$(sed -E 's/.*"count":([0-9]+).*/\1/' <<<"$lat")
      p50=$(awk -v v="$p50" 'BEGIN { printf "%.2f", v }'); p99=$(awk -v v="$p99" 'BEGIN { printf "%.2f", v }')
      echo "$p50 $p99 $n" >>"$WORK/s11l-$name.txt"
      printf '  %-16s per saga p50 %8s ms  p99 %8s ms  (%s sagas)\n' "s11l-$name" "$p50" "$p99" "$n"
    done
  done
  printf '\n  %-16s %14s %14s\n' system "p50 ms (median)" "p99 ms (median)"
  for name in writ ${SAGA_PEERS[@]:+restate}; do
    printf '  %-16s %14s %14s\n' "s11l-$name" "$(median "s11l-$name" 1)" "$(median "s11l-$name" 2)"
  done
  echo "  (bar: writ sagas/s >= 5x Restate's)"
  echo
fi
if [[ $SCENARIO == s12 || $SCENARIO == all ]]; then
  echo "## S12 events from the outbox to NATS JetStream (async submissions, 3 events each)"
  NATS_BIN=""
  for c in "$ROOT/.deps/nats/usr/bin/nats-server" "$(command -v nats-server || true)" /usr/sbin/nats-server; do
    [[ -n $c && -x $c ]] && { NATS_BIN=$c; break; }
  done
  PUBLISHER="$BUILD/bench_nats_publisher"
  if [[ -z $NATS_BIN || ! -x $PUBLISHER ]]; then
    echo "  (no nats-server or $PUBLISHER: run scripts/install-deps.sh and build)"
  else
    NATS_PORT=14222; S12_PORT=18087; NATS_URL=nats://127.0.0.1:$NATS_PORT
    NATS_FILL=${BENCH_NATS_FILL:-$(((DURATION + 1) / 2))}
    nats_start() {
      taskset -c $CORE_LOAD "$NATS_BIN" -js -a 127.0.0.1 -p $NATS_PORT -sd "$WORK/nats" >>"$WORK/nats.log" 2>&1 &
      NATS_PID=$!
      PIDS+=($NATS_PID)
      wait_port $NATS_PORT
    }
    published() { curl -s http://127.0.0.1:$S12_PORT/metrics | awk '/^writ_nats_published_total/ {n += $NF} END {print n + 0}'; }
    for r in $(seq "$ROUNDS"); do
      cat >"$WORK/s12.yaml" <<YAML
server: {listen: 127.0.0.1:$S12_PORT, threads: 1, admin_listen: off}
store: {url: sqlite:$WORK/s12-$r.db}
nats: {url: "$NATS_URL", timeout: 5s, max_backoff: 200ms, batch: ${BENCH_NATS_BATCH:-512}}
upstreams: {master: {url: http://127.0.0.1:$MASTER_PORT, pool_size: 256}}
routes:
  - {method: POST, path: /payments, mode: async, upstream: master, async: {concurrency: 64, poll_interval: 50ms},
     sinks: {nats: {}}}
YAML
      taskset -c $CORE_SRV "$WRIT" serve --config "$WORK/s12.yaml" >"$WORK/s12-$r.log" 2>&1 &
      S12_PID=$!
      PIDS+=($S12_PID)
      wait_port $S12_PORT
      # The backlog: written while nats-server is down.
      out=$(taskset -c $CORE_LOAD wrk -t1 -c"$CONNS" -d"${NATS_FILL}s" -s bench/async_submit.lua \
        "http://127.0.0.1:$S12_PORT" -- "e$r")
      while (($(queue_depth $S12_PORT) > 0)); do sleep 0.1; done
      events=$("$PUBLISHER" events "$WORK/s12-$r.db")
      nats_start
      while (($(published) < events)); do sleep 0.1; done
      kill "$S12_PID" 2>/dev/null; wait "$S12_PID" 2>/dev/null || true
      # Timed by the marks' own clock: from the first event marked published
      # to the last (no polling in the way).
      read -r marked first last <<<"$("$PUBLISHER" published-span "$WORK/s12-$r.db")"
      rate=$(awk -v n=$((marked - 1)) -v a="$first" -v b="$last" 'BEGIN { printf "%.0f", (b > a && n > 0) ? n * 1000 / (b - a) : 0 }')
      echo "0 0 $rate" >>"$WORK/s12-writ.txt"
      printf '  %-16s %10s events/s  (%d events of %s submissions, %d ms from the first mark to the last)\n' \
        "s12-writ" "$rate" "$events" "$((events / 3))" "$((last - first))"
      # The peer: as many messages, of the average size writ's took in the
      # stream (measured once, while the stream holds only writ's).
      if [[ -z ${S12_SIZE:-} ]]; then
        read -r msgs bytes <<<"$("$PUBLISHER" stream-bytes "$NATS_URL" WRIT_EVENTS)"
        S12_SIZE=$((bytes / (msgs > 0 ? msgs : 1)))
      fi
      size=$S12_SIZE
      read -r sent secs <<<"$(taskset -c $CORE_SRV "$PUBLISHER" publish "$NATS_URL" WRIT_EVENTS writ.events.peer \
        "$events" "$size" 2>>"$WORK/s12-peer.log")"
      rate=$(awk -v n="$sent" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
      echo "0 0 $rate" >>"$WORK/s12-libnats.txt"
      printf '  %-16s %10s events/s  (%d messages of %d bytes, each acknowledged)\n' "s12-libnats" "$rate" "$sent" "$size"
      kill "$NATS_PID" 2>/dev/null; wait "$NATS_PID" 2>/dev/null || true
    done
    summary s12-libnats s12-writ
    echo "  (bar: writ >= 0.5x the libnats publisher)"
  fi
  echo
fi
echo "logs and configs: $WORK"
