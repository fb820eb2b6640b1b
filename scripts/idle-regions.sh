#!/usr/bin/env bash
# What idle regions cost: for each region count, starts the 3-store
# playground with --initial-regions N, waits until every region has a leader
# and the cluster has settled (idle regions hibernate after about one
# election timeout), then measures each store over a window with no client
# traffic: CPU (utime + stime from /proc, % of one core) and the bytes it
# sent to other stores and the meta (its Prometheus counter
# redraft_store_peer_bytes_sent_total: Raft heartbeats, store heartbeats,
# meta heartbeats). Prints a table, writes a CSV and, with gnuplot, a PNG.
#
# Usage: scripts/idle-regions.sh [options]
#   --regions "100 1000"  region counts, one playground each (default $IDLE_REGIONS, else "10 100 1000")
#   --seconds S           measuring window per count (default 20)
#   --settle S            wait after every region has a leader and every
#                         store holds its replicas (start-up s in the table; and, with
#                         hibernation, 99 % of the replicas sleep) (default 15)
#   --settle-max S        longest wait for the replicas to sleep (default 300)
#   --start-max S         longest wait for the start-up; a count that takes
#                         longer is reported as "did not start" (default 900)
#   --csv FILE            CSV output (default: none)
#   --plot FILE.png       plot of CPU and peer bytes against region count (needs gnuplot)
#   --hibernate BOOL      the stores' --hibernate-regions (default true)
#   --compare FILE.csv    also plot this CSV of an earlier run (e.g. --hibernate false)
#   --compare-label TEXT  its legend (default "compared run")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"

counts=${IDLE_REGIONS:-10 100 1000}
seconds=20
settle=15
settle_max=300
start_max=900
csv_out=""
plot_out=""
hibernate=true
compare=""
compare_label="compared run"
while (($#)); do
  case "$1" in
    --regions) counts=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --settle-max) settle_max=$2; shift 2 ;;
    --start-max) start_max=$2; shift 2 ;;
    --csv) csv_out=$2; shift 2 ;;
    --plot) plot_out=$2; shift 2 ;;
    --hibernate) hibernate=$2; shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --compare-label) compare_label=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "idle-regions: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v redis-cli >/dev/null || { echo "idle-regions: redis-cli not found (apt-get install redis-tools)" >&2; exit 1; }
if [[ -n "$plot_out" ]] && ! command -v gnuplot >/dev/null; then
  echo "idle-regions: --plot needs gnuplot (apt-get install gnuplot-nox)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/redraft-idle.XXXXXX")
server_pid=""
install_server_cleanup idle-regions

# info_sum PORT FIELD: a field of INFO cluster summed over the three stores
# (cheaper than /metrics, which renders a series per region: at 10,000
# regions a scrape stalled a store long enough to look silent to the others).
info_sum() {
  local i sum=0 v
  for i in 0 1 2; do
    v=$(redis-cli -p $(($1 + i)) info cluster 2>/dev/null | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }')
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

rows=()
hz=$(getconf CLK_TCK)
for n in $counts; do
  # 3 RESP, meta admin, meta peer, 3 store peer, 3 metrics ports.
  port=$(free_ports 11)
  dir="$tmp/data-$n"
  log="$tmp/playground-$n.log"
  mport=$((port + 8))
  echo "idle-regions: [$n regions] starting the playground on port $port" >&2
  start_bg "$log" node "$ROOT/bin/redraft.js" playground --port "$port" --meta-port $((port + 3)) \
    --meta-peer-port $((port + 4)) --peer-port $((port + 5)) --metrics-port "$mport" \
    --initial-regions "$n" --hibernate-regions "$hibernate" --data-dir "$dir" --log-level warn
  server_pid=$STARTED_PID
  t0=$(date +%s)
  wait_ping "$port" "$server_pid" "$log" 600
  # Started: every region has a leader and every store holds its replica of every region.
  started=true
  until [[ "$(info_sum "$port" regions_leading)" -ge "$n" && "$(info_sum "$port" regions)" -ge $((n * 3)) ]]; do
    kill -0 "$server_pid" 2>/dev/null || { echo "idle-regions: the playground exited; log tail:" >&2; tail -n 40 "$log" >&2; exit 1; }
    if (($(date +%s) - t0 >= start_max)); then started=false; break; fi
    sleep 1
  done
  if [[ $started == false ]]; then
    echo "idle-regions: [$n regions] did not start: $(info_sum "$port" regions_leading) leaders, $(info_sum "$port" regions) of $((n * 3)) replicas after $start_max s" >&2
    rows+=("$n NaN NaN NaN 0 >$start_max")
    stop_pid "$server_pid" 60
    server_pid=""
    rm -rf "$dir"
    continue
  fi
  startup=$(($(date +%s) - t0))
  echo "idle-regions: [$n regions] every region has a leader and every store its replicas after $startup s; settling" >&2
  # With hibernation: until 99 % of the replicas sleep (late replicas catch up
  # by snapshot first), at most --settle-max; then --settle more seconds.
  if [[ "$hibernate" == true ]]; then
    t1=$(date +%s)
    while (($(info_sum "$port" regions_hibernating) * 100 < n * 3 * 99)) && (($(date +%s) - t1 < settle_max)); do sleep 1; done
    echo "idle-regions: [$n regions] $(info_sum "$port" regions_hibernating) of $((n * 3)) replicas hibernate after $(($(date +%s) - t1)) s" >&2
  fi
  sleep "$settle"
  mapfile -t pids < <(store_pids "$server_pid")
  declare -a c0=() b0=() c1s=()
  # The scrapes stay out of the CPU window, which starts 5 s after the first
  # (at 10,000 regions one costs a store a tenth of a second or more: a series per region).
  for i in 0 1 2; do b0[i]=$(metric $((mport + i)) redraft_store_peer_bytes_sent_total); done
  bt0=$(date +%s.%N)
  sleep 5
  for i in 0 1 2; do c0[i]=$(cpu_ticks "${pids[i]}"); done
  sleep "$seconds"
  for i in 0 1 2; do c1s[i]=$(cpu_ticks "${pids[i]}"); done
  cpu_sum=0
  bytes_sum=0
  per_store=""
  hib=0
  for i in 0 1 2; do
    c1=${c1s[i]}
    b1=$(metric $((mport + i)) redraft_store_peer_bytes_sent_total)
    [[ $i == 0 ]] && bsecs=$(awk -v a="$bt0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    pct=$(awk -v d=$((c1 - c0[i])) -v hz="$hz" -v s="$seconds" 'BEGIN { printf "%.1f", d / hz / s * 100 }')
    bps=$(awk -v a="${b0[i]}" -v b="$b1" -v s="$bsecs" 'BEGIN { printf "%.0f", (b - a) / s }')
    per_store+=" $pct%"
    cpu_sum=$(awk -v a="$cpu_sum" -v b="$pct" 'BEGIN { print a + b }')
    bytes_sum=$((bytes_sum + bps))
  done
  hib=$(info_sum "$port" regions_hibernating)
  cpu_avg=$(awk -v a="$cpu_sum" 'BEGIN { printf "%.1f", a / 3 }')
  kbps_avg=$(awk -v a="$bytes_sum" 'BEGIN { printf "%.1f", a / 3 / 1024 }')
  rss=$(awk '/VmRSS/ { s += $2 } END { printf "%.0f", s / 3 / 1024 }' $(printf '/proc/%s/status ' "${pids[@]}"))
  rows+=("$n $cpu_avg $kbps_avg $rss $hib $startup")
  echo "idle-regions: [$n regions] CPU per store:$per_store; peer bytes ${kbps_avg} KB/s per store; RSS ${rss} MB per store; replicas hibernating $hib of $((n * 3))" >&2
  stop_pid "$server_pid" 60
  server_pid=""
  rm -rf "$dir"
done

echo
echo "idle regions: 3-store playground (--hibernate-regions $hibernate), no client traffic, ${seconds} s window after ${settle} s settle; per store (mean of three)"
printf '%-8s %-18s %-18s %-10s %-22s %s\n' regions 'CPU % of a core' 'peer KB/s sent' 'RSS MB' 'replicas hibernating' 'start-up s'
for r in "${rows[@]}"; do
  read -r n c k m h u <<<"$r"
  printf '%-8s %-18s %-18s %-10s %-22s %s\n' "$n" "$c" "$k" "$m" "$h of $((n * 3))" "$u"
done
if [[ -n "$csv_out" ]]; then
  echo "regions,cpu_pct_per_store,peer_kb_per_s_per_store,rss_mb_per_store,replicas_hibernating,startup_s" >"$csv_out"
  for r in "${rows[@]}"; do tr ' ' ',' <<<"$r" >>"$csv_out"; done
fi
if [[ -n "$plot_out" ]]; then
  data="$tmp/plot.dat"
  printf '%s\n' "${rows[@]}" >"$data"
  label="hibernation $([[ "$hibernate" == true ]] && echo on || echo off)"
  plots="\"$data\" using 1:2 with linespoints lw 2 pt 7 lc rgb \"#1f77b4\" title \"CPU, $label\", \"$data\" using 1:3 axes x1y2 with linespoints lw 2 dt 2 pt 5 lc rgb \"#1f77b4\" title \"peer KB/s, $label\""
  if [[ -n "$compare" ]]; then
    tail -n +2 "$compare" | tr ',' ' ' >"$tmp/compare.dat"
    plots+=", \"$tmp/compare.dat\" using 1:2 with linespoints lw 2 pt 7 lc rgb \"#d62728\" title \"CPU, $compare_label\", \"$tmp/compare.dat\" using 1:3 axes x1y2 with linespoints lw 2 dt 2 pt 5 lc rgb \"#d62728\" title \"peer KB/s, $compare_label\""
  fi
  gnuplot <<EOF
set terminal pngcairo size 960,560 font ",11"
set output "$plot_out"
set title "redraft: idle regions, per store (3-store playground, no client traffic; npm run bench:idle)"
set logscale x
set xlabel "regions (each store holds a replica of every region)"
set ylabel "CPU, % of one core per store"
set y2label "peer bytes sent, KB/s per store"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot $plots, 5 with lines dt 3 lc rgb "gray" title "target: under 5 % at 1,000 regions"
EOF
  echo "idle-regions: plot written to $plot_out" >&2
fi
