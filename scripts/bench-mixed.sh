#!/usr/bin/env bash
# npm run bench:mixed — reads while writes are in flight: one redis-benchmark
# sends GETs while another sends SETs to the same 1000 keys, against
# redis-server (appendfsync always) and the playground's region leader, in
# one run. Reads wait for the writes of their region appended before them
# (docs/decisions.md, "One clock per region"); this shows what that costs.
# BENCH_N (GETs per run, default 100000; SETs are a third of it),
# BENCH_WARMUP (requests per test first, default 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_N:-100000}"
WARMUP="${BENCH_WARMUP:-20000}"
for v in "$N" "$WARMUP"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "usage: BENCH_N=N BENCH_WARMUP=N bench-mixed.sh (positive integers; got '$v')" >&2; exit 2; }
done
SETS=$(( N / 3 > 0 ? N / 3 : 1 ))
DIR="$(mktemp -d /tmp/redraft-bench-mixed-XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# mixed PORT LABEL: GETs and SETs at once; prints one table row.
mixed() {
  local port=$1 label=$2
  redis-benchmark -p "$port" -t set,get -n "$WARMUP" -c 20 -r 1000 -q >/dev/null 2>&1 # warm-up
  redis-benchmark -p "$port" -t get -n "$N" -c 25 -r 1000 --csv >"$DIR/get.csv" 2>/dev/null &
  local b=$!
  redis-benchmark -p "$port" -t set -n "$SETS" -c 25 -r 1000 --csv >"$DIR/set.csv" 2>/dev/null
  wait "$b"
  # CSV: "test","rps","avg","min","p50","p95","p99","max"
  local g s
  g=$(tail -1 "$DIR/get.csv" | tr -d '"')
  s=$(tail -1 "$DIR/set.csv" | tr -d '"')
  IFS=, read -r _ grps _ _ gp50 _ gp99 _ <<<"$g"
  IFS=, read -r _ srps _ _ sp50 _ sp99 _ <<<"$s"
  printf '%-10s %12.0f %8s %8s %12.0f %8s %8s\n' "$label" "$grps" "$gp50" "$gp99" "$srps" "$sp50" "$sp99"
  echo "$grps $srps" >"$DIR/$label.rps"
}

printf 'GETs (-n %s) and SETs (-n %s) at once, -c 25 each, 1000 keys; redis = redis-server appendonly yes, appendfsync always\n' "$N" "$SETS"
printf '%-10s %12s %8s %8s %12s %8s %8s\n' target 'GET ops/s' 'p50 ms' 'p99 ms' 'SET ops/s' 'p50 ms' 'p99 ms'

RP=$(free_port)
redis-server --port "$RP" --dir "$DIR" --appendonly yes --appendfsync always --save '' --daemonize no >"$DIR/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
mixed "$RP" redis

SP=$(free_port)
MP=$(free_port)
node bin/redraft.js playground --port "$SP" --data-dir "$DIR/playground" --meta-port "$MP" --meta-peer-port "$(free_port)" --peer-port "$(free_port)" --log-level warn >"$DIR/playground.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 240); do redis-cli -p "$SP" set bench:ready 1 2>/dev/null | grep -q OK && break; sleep 0.5; done
LP=""
for _ in $(seq 1 60); do
  LP=$(redis-cli -p "$MP" region list 2>/dev/null | grep -o 'leader_addr=127.0.0.1:[0-9]*' | head -1 | cut -d: -f2 || true)
  [[ -n "$LP" ]] && break
  sleep 0.5
done
[[ -n "$LP" ]] || { echo "no region leader known; playground log:" >&2; tail -20 "$DIR/playground.log" >&2; exit 1; }
mixed "$LP" redraft

read -r rg rs <"$DIR/redis.rps"
read -r dg ds <"$DIR/redraft.rps"
awk -v dg="$dg" -v rg="$rg" -v ds="$ds" -v rs="$rs" 'BEGIN { printf "redraft/redis: GET %.2f, SET %.2f\n", dg / rg, ds / rs }'
