#!/usr/bin/env bash
# Profiles the playground under redis-benchmark load: starts it with
# `node --cpu-prof` (REDRAFT_CHILD_NODE_FLAGS: Node refuses it in NODE_OPTIONS), waits for
# cluster_state:ok, runs redis-benchmark, stops it with SIGTERM (each
# process writes its .cpuprofile on a clean exit) and prints the top
# functions of each profile (scripts/cpuprofile-top.mjs).
#
# With --perf it uses Linux perf instead (native and kernel frames too: the
# RocksDB binding's threads, syscalls, V8's compiler and GC, which
# --cpu-prof does not see): children run with --perf-basic-prof, a first
# redis-benchmark run warms the JIT up, and `perf record` samples the three
# store processes (every thread) during a second one; scripts/perf-summary.mjs
# prints where their CPU went.
#
# With --flame FILE.svg (implies --perf) it also draws the samples as a
# flame graph (scripts/flamegraph.mjs); docs/flamegraphs/ holds the ones
# docs/performance.md discusses.
#
# Usage: scripts/profile.sh [-t set] [-n 100000] [-c 50] [-P 1] [--cluster] [--standalone] [--perf] [--flame FILE.svg] [--out DIR]
#   --standalone  profile one `redraft store` (no replication) instead of the playground
#   --out DIR     where the .cpuprofile files (or perf.data) go (default: a temp dir, printed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"

tests=set n=100000 clients=50 pipeline=1 cluster="" out="" use_perf="" flame="" standalone=""
while (($#)); do
  case "$1" in
    -t) tests=$2; shift 2 ;;
    -n) n=$2; shift 2 ;;
    -c) clients=$2; shift 2 ;;
    -P) pipeline=$2; shift 2 ;;
    --cluster) cluster=--cluster; shift ;;
    --perf) use_perf=1; shift ;;
    --flame) use_perf=1; flame=$2; shift 2 ;;
    --standalone) standalone=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/redraft-profile.XXXXXX")
out=${out:-$tmp/profiles}
mkdir -p "$out"
if [[ -n "$use_perf" ]]; then
  command -v perf >/dev/null || { echo "profile: perf not found (apt-get install linux-perf)" >&2; exit 1; }
  # (--perf-basic-prof also turns on V8's log: into OUT, not an isolate-*.log in the cwd)
  node_flags="--perf-basic-prof --no-logfile-per-isolate --logfile=$out/v8-%p.log"
else
  node_flags="--cpu-prof --cpu-prof-dir=$out"
fi
port=$(free_ports 8)
pid=""
trap '[[ -n "$pid" ]] && stop_pid "$pid" 30; rm -rf "$tmp/data"' EXIT
if [[ -n "$standalone" ]]; then
  # shellcheck disable=SC2086 # node_flags holds several flags
  start_bg "$tmp/playground.log" node $node_flags "$ROOT/bin/redraft.js" store --port "$port" --data-dir "$tmp/data"
  pid=$STARTED_PID
  wait_ping "$port" "$pid" "$tmp/playground.log" 60
  cluster=""
else
  start_bg "$tmp/playground.log" env REDRAFT_CHILD_NODE_FLAGS="$node_flags" \
    node "$ROOT/bin/redraft.js" playground --port "$port" --meta-port $((port + 3)) --meta-peer-port $((port + 4)) \
    --peer-port $((port + 5)) --initial-regions 3 --data-dir "$tmp/data"
  pid=$STARTED_PID
  for i in 0 1 2; do wait_ping $((port + i)) "$pid" "$tmp/playground.log" 60; done
  for ((i = 0; i < 600; i++)); do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
  # Leaders on every store (as scripts/bench.sh does), so that through one store
  # two thirds of the keys are forwarded and --cluster finds three masters.
  redis-cli -p $((port + 3)) scheduler enable leader-balance >/dev/null 2>&1 || true
  for ((i = 0; i < 600; i++)); do
    masters=$(redis-cli -p "$port" cluster nodes 2>/dev/null | awk '$3 ~ /master/ && NF > 8 {print $2}' | sort -u | wc -l)
    ((masters >= 3)) && break
    sleep 0.1
  done
fi
bench() { redis-benchmark -h 127.0.0.1 -p "$port" -t "$tests" -n "$n" -c "$clients" -P "$pipeline" $cluster -q; }
if [[ -n "$use_perf" ]]; then
  bench >/dev/null # the JIT's first optimizations are not the steady state
  stores=$(pgrep -d, -s "$pid" -f "redraft.js store")
  perf record -F 999 -g -p "$stores" -o "$out/perf.data" >"$tmp/perf.log" 2>&1 &
  perf_pid=$!
  sleep 1
  bench
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  node "$ROOT/scripts/perf-summary.mjs" "$out/perf.data"
  if [[ -n "$flame" ]]; then
    what="playground${cluster:+ $cluster}"
    [[ -n "$standalone" ]] && what="standalone store"
    node "$ROOT/scripts/flamegraph.mjs" "$out/perf.data" --out "$flame" \
      --title "redraft $what: redis-benchmark -t $tests -c $clients -P $pipeline -n $n (perf, every thread)"
  fi
  stop_pid "$pid" 30
  echo "perf.data in $out" >&2
  exit 0
fi
bench
stop_pid "$pid" 30
pid=""
echo "profiles in $out" >&2
node "$ROOT/scripts/cpuprofile-top.mjs" --top 20 "$out"/*.cpuprofile
