#!/usr/bin/env bash
# Where one write's time goes: starts a 3-store playground with one region
# and REDRAFT_TRACE_DIR set (packages/common/src/util/trace.ts), warms it up,
# records the events of `redis-benchmark -t set -c 1 -n N` sent to the
# region's leader's store (no forwarding), and prints, with
# scripts/trace-stages.mjs, the stages of a write on the leader and on each
# follower and the network hops between them, in µs (p10/p50/p90).
# One client at a time, so that every event belongs to one write.
#
# Usage: scripts/trace-write.sh [-n N] [--tmpfs] [--keep DIR]
#   -n N        traced requests (default 2000)
#   --tmpfs     keep the data on /dev/shm: the write's path without the disk's time
#   --keep DIR  also copy the event files (one per process) to DIR
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"

n=2000
base=${TMPDIR:-/tmp}
keep=""
while (($#)); do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --tmpfs) base=/dev/shm; shift ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "trace-write: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "trace-write: -n: expected a positive integer, got '$n'" >&2; exit 2; }
[[ -d "$base" ]] || { echo "trace-write: $base does not exist" >&2; exit 2; }

tmp=$(mktemp -d "$base/redraft-trace.XXXXXX")
server_pid=""
install_server_cleanup trace-write

port=$(free_ports 8)
log="$tmp/playground.log"
mkdir -p "$tmp/events"
REDRAFT_TRACE_DIR="$tmp/events" start_bg "$log" node "$ROOT/bin/redraft.js" playground --port "$port" \
  --meta-port $((port + 3)) --meta-peer-port $((port + 4)) --peer-port $((port + 5)) \
  --initial-regions 1 --data-dir "$tmp/data" --log-level warn
server_pid=$STARTED_PID
wait_ping "$port" "$server_pid" "$log" 120
wait_cluster_ok "$port" "$server_pid" "$log"

# The leader's store: the master of CLUSTER NODES (host:port@peer-port).
lport=$(redis-cli -p "$port" cluster nodes | awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2]; exit }')
[[ -n "$lport" ]] || { echo "trace-write: no leader in CLUSTER NODES" >&2; exit 1; }
# Warm-up: a fresh Node process spends its first requests in V8's compilers.
redis-benchmark -p "$lport" -t set -c 50 -n 30000 -q >/dev/null
redis-benchmark -p "$lport" -t set -c 1 -n 2000 -q >/dev/null
# The processes look for the flag file every 50 ms.
touch "$tmp/events/on"
sleep 0.2
echo "redis-benchmark -t set -c 1 -n $n on the leader's store (data in $base):"
redis-benchmark -p "$lport" -t set -c 1 -n "$n" --csv | tail -1 |
  awk -F, '{ gsub(/"/, ""); printf "  %s ops/s, p50 %s ms, p99 %s ms\n", $2, $5, $7 }'
rm "$tmp/events/on"
sleep 0.2
stop_pid "$server_pid" 30
server_pid=""
[[ -n "$keep" ]] && mkdir -p "$keep" && cp "$tmp"/events/*.txt "$keep"/
node "$ROOT/scripts/trace-stages.mjs" "$tmp/events"
