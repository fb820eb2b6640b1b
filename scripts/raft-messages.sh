#!/usr/bin/env bash
# Counts what one write costs in Raft messages: starts a 3-store playground
# with one region, runs `redis-benchmark -t TEST -c C -n N` against its
# leader's store, and prints, per request and summed over the three stores, the
# difference of the stores' counters around the run:
#   redraft_store_raft_messages_sent_total      (Raft messages sent)
#   redraft_store_raft_empty_appends_sent_total (MsgApps without entries)
#   redraft_store_peer_frames_sent_total        (frames to other stores)
#   redraft_store_raft_late_readies_total       (should stay 0)
# Counts, unlike ops/s, barely move on a shared machine (they move with how
# many requests share a round).
#
# Usage: scripts/raft-messages.sh [-n N] [-c C] [-t TEST]   (defaults 20000, 50, set)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"

n=20000
clients=50
test_name=set
while (($#)); do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -c) clients=$2; shift 2 ;;
    -t) test_name=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "raft-messages: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "raft-messages: -n: expected a positive integer, got '$n'" >&2; exit 2; }
[[ "$clients" =~ ^[1-9][0-9]*$ ]] || { echo "raft-messages: -c: expected a positive integer, got '$clients'" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/redraft-msgs.XXXXXX")
server_pid=""
install_server_cleanup raft-messages

# 3 RESP, meta admin, meta peer, 3 store peer, 3 metrics ports.
port=$(free_ports 11)
mport=$((port + 8))
log="$tmp/playground.log"
start_bg "$log" node "$ROOT/bin/redraft.js" playground --port "$port" --meta-port $((port + 3)) \
  --meta-peer-port $((port + 4)) --peer-port $((port + 5)) --metrics-port "$mport" \
  --initial-regions 1 --data-dir "$tmp/data" --log-level warn
server_pid=$STARTED_PID
wait_ping "$port" "$server_pid" "$log" 120
wait_cluster_ok "$port" "$server_pid" "$log"

names=(redraft_store_raft_messages_sent_total redraft_store_raft_empty_appends_sent_total redraft_store_peer_frames_sent_total redraft_store_raft_late_readies_total)
sums() {
  local name i total
  for name in "${names[@]}"; do
    total=0
    for i in 0 1 2; do total=$((total + $(metric $((mport + i)) "$name"))); done
    echo "$total"
  done
}
# The region's leader (redis-benchmark --cluster refuses a one-master cluster).
leader_port=$(redis-cli -p "$port" cluster nodes | awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2]; exit }')
[[ -n "$leader_port" ]] || { echo "raft-messages: no leader in CLUSTER NODES" >&2; exit 1; }
mapfile -t before < <(sums)
redis-benchmark -p "$leader_port" -t "$test_name" -c "$clients" -n "$n" -r 100000 -q 2>&1 | tr '\r' '\n' | grep -a 'requests per second' | tail -1
mapfile -t after < <(sums)
printf '%-48s %12s %12s\n' "counter (three stores summed)" "total" "per request"
for i in "${!names[@]}"; do
  d=$((after[i] - before[i]))
  printf '%-48s %12d %12s\n' "${names[i]}" "$d" "$(awk -v d="$d" -v n="$n" 'BEGIN { printf "%.3f", d / n }')"
done
