#!/usr/bin/env bash
# npm run bench:mixed — reads while writes are in flight: one redis-benchmark
# sends GETs while another sends SETs to the same 1000 keys, against
# redis-server (appendfsync always) and the playground's region leader, in
# one run. Reads wait for the writes of their region appended before them
# (docs/decisions.md, "One clock per region"); this shows what that costs.
# BENCH_N (GETs per run, default 100000; SETs are a third of it),
# BENCH_WARMUP (requests per test first, default 20000).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"
N="${BENCH_N:-100000}"
WARMUP="${BENCH_WARMUP:-20000}"
for v in "$N" "$WARMUP"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "usage: BENCH_N=N BENCH_WARMUP=N bench-mixed.sh (positive integers; got '$v')" >&2; exit 2; }
done
SETS=$(( N / 3 > 0 ? N / 3 : 1 ))
command -v redis-server >/dev/null || { echo "bench-mixed: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/redraft-bench-mixed.XXXXXX")
server_pid=""
install_server_cleanup bench-mixed

# mixed PORT LABEL: GETs and SETs at once; prints one table row.
mixed() {
  local port=$1 label=$2
  redis-benchmark -p "$port" -t set,get -n "$WARMUP" -c 20 -r 1000 -q >/dev/null 2>&1 # warm-up
  redis-benchmark -p "$port" -t get -n "$N" -c 25 -r 1000 --csv >"$tmp/get.csv" 2>/dev/null &
  local b=$!
  redis-benchmark -p "$port" -t set -n "$SETS" -c 25 -r 1000 --csv >"$tmp/set.csv" 2>/dev/null
  wait "$b"
  # CSV: "test","rps","avg","min","p50","p95","p99","max"
  local g s
  g=$(tail -1 "$tmp/get.csv" | tr -d '"')
  s=$(tail -1 "$tmp/set.csv" | tr -d '"')
  IFS=, read -r _ grps _ _ gp50 _ gp99 _ <<<"$g"
  IFS=, read -r _ srps _ _ sp50 _ sp99 _ <<<"$s"
  printf '%-10s %12.0f %8s %8s %12.0f %8s %8s\n' "$label" "$grps" "$gp50" "$gp99" "$srps" "$sp50" "$sp99"
  echo "$grps $srps" >"$tmp/$label.rps"
}

printf 'GETs (-n %s) and SETs (-n %s) at once, -c 25 each, 1000 keys; redis = redis-server appendonly yes, appendfsync always\n' "$N" "$SETS"
printf '%-10s %12s %8s %8s %12s %8s %8s\n' target 'GET ops/s' 'p50 ms' 'p99 ms' 'SET ops/s' 'p50 ms' 'p99 ms'

port=$(free_ports 1)
start_bg "$tmp/redis.log" redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --appendonly yes --appendfsync always --save '' --daemonize no
server_pid=$STARTED_PID
wait_ping "$port" "$server_pid" "$tmp/redis.log"
mixed "$port" redis
stop_pid "$server_pid"

# 3 RESP, meta admin, meta peer, 3 store peer ports.
port=$(free_ports 8)
log="$tmp/playground.log"
start_bg "$log" node "$ROOT/bin/redraft.js" playground --port "$port" --meta-port $((port + 3)) \
  --meta-peer-port $((port + 4)) --peer-port $((port + 5)) --data-dir "$tmp/playground" --log-level warn
server_pid=$STARTED_PID
wait_ping "$port" "$server_pid" "$log" 120
wait_cluster_ok "$port" "$server_pid" "$log"
# The region's leader: no command is forwarded.
leader_port=$(redis-cli -p "$port" cluster nodes | awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2]; exit }')
[[ -n "$leader_port" ]] || { echo "bench-mixed: no leader in CLUSTER NODES" >&2; exit 1; }
mixed "$leader_port" redraft

read -r rg rs <"$tmp/redis.rps"
read -r dg ds <"$tmp/redraft.rps"
awk -v dg="$dg" -v rg="$rg" -v ds="$ds" -v rs="$rs" 'BEGIN { printf "redraft/redis: GET %.2f, SET %.2f\n", dg / rg, ds / rs }'
