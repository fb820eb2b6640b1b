#!/usr/bin/env bash
# Benchmarks redraft against Debian's redis-server with appendfsync always,
# one after the other in one run, with redis-benchmark
# (-t set,get,hset,incr -c 50 -n 100000, without and with -P 16), and prints
# ops/s of each and the ratio redraft/redis; p99 latency; the CPU seconds each
# server spent per 100k requests of each test (for the playground: the three
# store processes summed; utime + stime from /proc, which moves less than
# ops/s on a shared machine) and redis-benchmark's own; for the playground,
# how many commands its stores forwarded per request (about 1 through one
# store; 0 with --cluster, else a leader moved and it warns); SET latency with one
# client (-c 1); RSS per server process after loading 1M keys of 100 bytes;
# where each of issue 11's targets stands; and the CPU per request the servers
# may use for each target against redis to be met on this machine. Every
# server is started here on free ports with a temp data dir and stopped by pid
# (also on Ctrl-C/error).
#
# Usage: scripts/bench.sh [options]
#   -n N                requests per test (default $BENCH_N, else 100000)
#   -c C                clients (default $BENCH_CLIENTS, else 50)
#   -t TESTS            redis-benchmark tests (default $BENCH_TESTS, else set,get,hset,incr)
#   --pipelines "1 16"  pipeline depths to run (default $BENCH_PIPELINES, else "1 16")
#   --targets "..."     which targets, in order (default $BENCH_TARGETS, else
#                       "redis redis-mem node-floor redraft-standalone redraft redraft-cluster"):
#                         redis              redis-server --appendonly yes --appendfsync always --save ''
#                         redis-mem          redis-server without persistence (GET only: the GET target)
#                         node-floor         a bare Node RESP server keeping keys in a Map
#                                            (scripts/node-floor.mjs): what Node pays for the
#                                            protocol alone, the floor of any store written in it
#                         redraft-standalone one store, no replication (redraft store)
#                         redraft            the 3-store playground, all clients on one store that
#                                            leads none of the benchmark's keys (every command is
#                                            forwarded to the leader's store)
#                         redraft-cluster    the playground through redis-benchmark --cluster
#                                            (each key sent straight to its region's leader)
#   --cluster           shorthand: append redraft-cluster to the targets
#   --warmup N          requests per test and pipeline depth sent to each server before
#                       its measured runs, results discarded (default $BENCH_WARMUP, else
#                       20000; 0 skips): a fresh Node process spends its first tens of
#                       thousands of requests in V8's compilers, which is not what a
#                       running server costs (a -P 16 run of 20000 requests is mostly that)
#   --latency-n N       requests of the -c 1 SET latency run (default $BENCH_LATENCY_N, else 2000; 0 skips)
#   --rss-keys N        keys loaded before RSS is read (default $BENCH_RSS_KEYS, else 1000000; 0 skips)
#   --csv FILE          also write all results as CSV to FILE
# Environment: REDRAFT_BENCH_CMD overrides how redraft starts ({port}, {dir}
# are replaced), REDRAFT_BENCH_PORTS the ports it reserves (default 3),
# BENCH_CLUSTER_MIN_SECONDS (whole seconds, default 8) how long a --cluster run
# must last before it is not run again with more requests (redis-benchmark
# --cluster ends a run only on its 250 ms timer, so a short run reads low).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/test-lib.sh
. "$ROOT/scripts/test-lib.sh"

n=${BENCH_N:-100000}
clients=${BENCH_CLIENTS:-50}
tests=${BENCH_TESTS:-set,get,hset,incr}
pipelines=${BENCH_PIPELINES:-1 16}
targets=${BENCH_TARGETS:-redis redis-mem node-floor redraft-standalone redraft redraft-cluster}
warmup=${BENCH_WARMUP:-20000}
# redis-benchmark --cluster runs a thread per master and ends a run only on its
# 250 ms progress timer, so the elapsed time it divides by is rounded up to the
# next tick: a run of half a second reads up to a third slow. A --cluster run
# shorter than about this many seconds runs again with more requests (at least
# -n), which bounds that error to about 4 %.
cluster_min_seconds=${BENCH_CLUSTER_MIN_SECONDS:-8}
latency_n=${BENCH_LATENCY_N:-2000}
rss_keys=${BENCH_RSS_KEYS:-1000000}
csv_out=""
# Three regions, so that leaders (and redis-benchmark --cluster masters) spread
# over the stores: the bench turns on the meta's leader-balance scheduler and
# waits until each store leads one (the initial elections often leave one
# store leading nothing, and --cluster then finds two masters).
# Its stores serve metrics on {port+8..10}, so that the bench can count the
# commands each run forwarded (a --cluster run should forward none).
default_redraft="node $ROOT/bin/redraft.js playground --port {port} --meta-port {port+3} --meta-peer-port {port+4} --peer-port {port+5} --metrics-port {port+8} --initial-regions 3 --data-dir {dir}"
redraft_cmd=${REDRAFT_BENCH_CMD:-$default_redraft}
# the playground: 3 stores, meta admin + raft, 3 store peer ports, 3 metrics ports
redraft_ports=${REDRAFT_BENCH_PORTS:-11}
standalone_cmd="node $ROOT/bin/redraft.js store --port {port} --data-dir {dir}"
redis_cmd="redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly yes --appendfsync always --save '' --daemonize no"
redis_mem_cmd="redis-server --port {port} --bind 127.0.0.1 --dir {dir} --appendonly no --save '' --daemonize no"
node_floor_cmd="node $ROOT/scripts/node-floor.mjs --port {port}"

while (($#)); do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -c) clients=$2; shift 2 ;;
    -t) tests=$2; shift 2 ;;
    --pipelines) pipelines=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --cluster) targets="$targets redraft-cluster"; shift ;;
    --warmup) warmup=$2; shift 2 ;;
    --latency-n) latency_n=$2; shift 2 ;;
    --rss-keys) rss_keys=$2; shift 2 ;;
    --csv) csv_out=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for flag in "-n:$n" "-c:$clients" "--warmup:$warmup" "--latency-n:$latency_n" "--rss-keys:$rss_keys" "BENCH_CLUSTER_MIN_SECONDS:$cluster_min_seconds"; do
  [[ "${flag#*:}" =~ ^[0-9]+$ ]] || { echo "bench: ${flag%%:*}: expected a whole number, got '${flag#*:}'" >&2; exit 2; }
done
((n > 0 && clients > 0)) || { echo "bench: -n and -c must be at least 1" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "bench: redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "bench: redis-server not found (apt-get install redis-server)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/redraft-bench.XXXXXX")
server_pid=""
bench_pid=""
stop_all() {
  if [[ -n "$bench_pid" ]]; then kill "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null; fi
  if [[ -n "$server_pid" ]]; then stop_pid "$server_pid" 15; fi
  if (($1 != 0)); then echo "bench: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
install_cleanup bench stop_all

# Results: results[target|pipeline|TEST]=rps, p50[...]/p99[...]=ms, cpu[...]=s per 100k,
# client_cpu[...]=redis-benchmark's own s per 100k; lat50[target]/lat99[target]: SET at
# -c 1 (ms); rss[target]: MB per server process; forwarded[...]: commands the
# playground's stores forwarded to another store, per request (metrics).
declare -A results=() p50=() p99=() cpu=() client_cpu=() lat50=() lat99=() rss=() forwarded=()
ran_targets=()

# spread_leaders PORT: on a playground (meta admin on PORT+3), turns on the
# leader-balance scheduler and waits (up to 60 s) until three stores lead slots.
spread_leaders() {
  local port=$1 i masters=0
  redis-cli -p $((port + 3)) scheduler enable leader-balance >/dev/null 2>&1 || true
  for ((i = 0; i < 600; i++)); do
    masters=$(redis-cli -p "$port" cluster nodes 2>/dev/null | awk '$3 ~ /master/ && NF > 8 {print $2}' | sort -u | wc -l)
    ((masters >= 3)) && return 0
    sleep 0.1
  done
  echo "bench: leaders still on $masters stores after 60 s" >&2
}

# forwarding_port PORT: the RESP port of a store that leads none of the keys
# redis-benchmark writes (without -r each test uses one key: key:__rand_int__,
# counter:__rand_int__, myhash), so that every command sent to it is forwarded
# and the through-one-store figure does not depend on where the elections
# put the leaders; PORT itself when every store leads one of those keys.
forwarding_port() {
  local port=$1 slots
  slots=$(for k in key:__rand_int__ counter:__rand_int__ myhash; do redis-cli -p "$port" cluster keyslot "$k"; done | tr '\n' ' ')
  redis-cli -p "$port" cluster nodes 2>/dev/null | awk -v slots="$slots" -v fallback="$port" '
    $3 ~ /master/ {
      split($2, a, "[:@]"); leads = 0
      for (i = 9; i <= NF; i++) {
        n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])
        split(slots, ks, " "); for (k in ks) if (ks[k] + 0 >= lo + 0 && ks[k] + 0 <= hi + 0) leads = 1
      }
      if (!leads && !found) { found = a[2] }
    }
    END { print (found ? found : fallback) }'
}

# forwarded_total PORT: commands a default playground on PORT has forwarded so
# far, its three stores summed (redraft_store_forwarded_commands_total on
# its metrics ports PORT+8..10); empty for any other server.
forwarded_total() {
  local port=$1 i total=0
  [[ -z "${REDRAFT_BENCH_CMD:-}" ]] || return 0
  for i in 8 9 10; do total=$((total + $(metric $((port + i)) redraft_store_forwarded_commands_total))); done
  echo "$total"
}

# bench_run NAME OUTFILE WHAT [redis-benchmark flags...]: runs redis-benchmark
# against 127.0.0.1 into OUTFILE, in the background + wait so that a signal is
# handled at once; on failure prints its stderr (saying WHAT failed) and fails.
# Sets bench_client_cpu: the CPU seconds redis-benchmark itself used (it shares
# the machine with the servers). Bash's `times` reports this shell's reaped
# children; it writes to a file, since in a $(...) subshell it would say 0.
bench_run() {
  local name=$1 out=$2 what=$3 rc=0
  shift 3
  times >"$tmp/times.before"
  redis-benchmark -h 127.0.0.1 "$@" >"$out" 2>>"$tmp/$name.bench.err" &
  bench_pid=$!
  wait "$bench_pid" || rc=$?
  times >"$tmp/times.after"
  bench_pid=""
  bench_client_cpu=$(cat "$tmp/times.before" "$tmp/times.after" | awk '
    NR == 2 || NR == 4 { split($1, u, "m"); split($2, s, "m"); v = u[1] * 60 + u[2] + s[1] * 60 + s[2] }
    NR == 2 { before = v } NR == 4 { after = v } END { printf "%.3f", after - before }')
  if ((rc != 0)); then
    echo "bench: [$name] $what failed (status $rc):" >&2
    cat "$tmp/$name.bench.err" >&2
    return 1
  fi
}

# run_target NAME CMD_TEMPLATE NPORTS NWAIT TESTS [extra redis-benchmark flags...]
# Reserves NPORTS consecutive ports from {port}, starts the server, waits
# until the first NWAIT of them answer PING, runs TESTS at every pipeline
# depth, the -c 1 SET latency run and the key load for RSS, stops it.
run_target() {
  local name=$1 template=$2 nports=$3 nwait=$4 target_tests=$5
  shift 5
  local port dir cmd log pl out
  port=$(free_ports "$nports")
  dir="$tmp/$name-data"
  mkdir -p "$dir"
  log="$tmp/$name.log"
  cmd=$(expand_cmd "$template" "$port" "$dir")
  echo "bench: [$name] starting: $cmd" >&2
  pushd "$ROOT" >/dev/null
  start_bg "$log" bash -c "exec $cmd"
  server_pid=$STARTED_PID
  popd >/dev/null
  for ((i = 0; i < nwait; i++)); do wait_ping $((port + i)) "$server_pid" "$log" "${BENCH_START_TIMEOUT:-60}"; done
  # A playground serves once every slot has a leader (cluster_state:ok).
  if ((nports > 1)); then
    for ((i = 0; i < 600; i++)); do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
    [[ -z "${REDRAFT_BENCH_CMD:-}" ]] && spread_leaders "$port"
  fi
  # Through one store: the one whose commands all go elsewhere (forwarding_port).
  local bport=$port
  if [[ "$name" == redraft && -z "${REDRAFT_BENCH_CMD:-}" ]]; then
    bport=$(forwarding_port "$port")
    echo "bench: [$name] clients on port $bport (leads none of the benchmark's keys)" >&2
  fi
  local test cpu0 cpu1 fwd0="" fwd1="" hz tn attempt longer
  hz=$(getconf CLK_TCK)
  if ((warmup > 0)); then
    for pl in $pipelines; do
      echo "bench: [$name] warm-up: redis-benchmark -t $target_tests -c $clients -n $warmup -P $pl $*" >&2
      bench_run "$name" /dev/null warm-up -p "$bport" -t "$target_tests" -c "$clients" -n "$warmup" -P "$pl" --csv "$@" || return 1
    done
  fi
  for pl in $pipelines; do
  # One redis-benchmark per test, so that the server's CPU is known per test.
  for test in ${target_tests//,/ }; do
    tn=$n
    for ((attempt = 0; ; attempt++)); do
      echo "bench: [$name] redis-benchmark -t $test -c $clients -n $tn -P $pl $*" >&2
      cpu0=$(cpu_ticks $(store_pids "$server_pid"))
      ((nports > 1)) && fwd0=$(forwarded_total "$port")
      bench_run "$name" "$tmp/$name.$pl.csv" redis-benchmark -p "$bport" -t "$test" -c "$clients" -n "$tn" -P "$pl" --csv "$@" || return 1
      cpu1=$(cpu_ticks $(store_pids "$server_pid"))
      ((nports > 1)) && fwd1=$(forwarded_total "$port")
      # --cluster: a run shorter than cluster_min_seconds goes again, sized from its rate (read low, so the next one is longer).
      [[ " $* " == *" --cluster "* ]] && ((attempt < 3)) || break
      longer=$(awk -F, -v t="\"${test^^}\"" -v n="$tn" -v s="$cluster_min_seconds" '$1 == t { gsub(/"/, "", $2); r = $2 + 0; if (r > 0 && n / r < 0.75 * s) print int(r * s); else print 0 }' "$tmp/$name.$pl.csv")
      ((${longer:-0} > tn)) || break
      tn=$longer
    done
    out=$(cat "$tmp/$name.$pl.csv")
    # "test","rps","avg","min","p50","p95","p99","max"
    while IFS=, read -r t rps _avg _min med _p95 tail99 _rest; do
      t=${t//\"/}
      [[ "$t" == test || -z "$t" ]] && continue
      results["$name|$pl|$t"]=${rps//\"/}
      p50["$name|$pl|$t"]=${med//\"/}
      p99["$name|$pl|$t"]=${tail99//\"/}
      cpu["$name|$pl|$t"]=$(awk -v d=$((cpu1 - cpu0)) -v hz="$hz" -v n="$tn" 'BEGIN { printf "%.1f", d / hz * 100000 / n }')
      client_cpu["$name|$pl|$t"]=$(awk -v c="$bench_client_cpu" -v n="$tn" 'BEGIN { printf "%.1f", c * 100000 / n }')
      [[ -n "$fwd0" && -n "$fwd1" ]] && forwarded["$name|$pl|$t"]=$(awk -v d=$((fwd1 - fwd0)) -v n="$tn" 'BEGIN { printf "%.2f", d / n }')
    done <<<"$out"
  done
  done
  if ((latency_n > 0)) && [[ ",$target_tests," == *,set,* ]]; then
    echo "bench: [$name] redis-benchmark -t set -c 1 -n $latency_n $*" >&2
    bench_run "$name" "$tmp/$name.lat.csv" "latency run" -p "$bport" -t set -c 1 -n "$latency_n" --csv "$@" || return 1
    while IFS=, read -r t _rps _avg _min med _p95 tail99 _rest; do
      [[ "${t//\"/}" == SET ]] || continue
      lat50["$name"]=${med//\"/}
      lat99["$name"]=${tail99//\"/}
    done <"$tmp/$name.lat.csv"
  fi
  if ((rss_keys > 0)) && [[ "$name" != redis-mem && "$name" != node-floor ]]; then
    local cluster_flag=()
    [[ " $* " == *" --cluster "* ]] && cluster_flag=(--cluster)
    echo "bench: [$name] loading $rss_keys keys of 100 bytes for RSS" >&2
    node "$ROOT/scripts/load-keys.mjs" --port "$port" --keys "$rss_keys" --value-bytes 100 "${cluster_flag[@]}" >&2 || return 1
    # shellcheck disable=SC2046
    rss["$name"]=$(awk '/VmRSS/ { s += $2; n++ } END { printf "%.0f", s / n / 1024 }' $(printf '/proc/%s/status ' $(store_pids "$server_pid")))
  fi
  stop_pid "$server_pid" 15
  server_pid=""
  ran_targets+=("$name")
}

for target in $targets; do
  case "$target" in
    redraft-standalone) run_target redraft-standalone "$standalone_cmd" 1 1 "$tests" ;;
    redraft) run_target redraft "$redraft_cmd" "$redraft_ports" 1 "$tests" ;;
    redis) run_target redis "$redis_cmd" 1 1 "$tests" ;;
    # Only GET: the issue's GET target compares with redis-server without persistence.
    redis-mem) [[ ",$tests," == *,get,* ]] && run_target redis-mem "$redis_mem_cmd" 1 1 get ;;
    node-floor) run_target node-floor "$node_floor_cmd" 1 1 "$tests" ;;
    # The 3-store playground through cluster-aware redis-benchmark (it reads
    # CLUSTER NODES and sends each key to its region's leader's store).
    redraft-cluster) run_target redraft-cluster "$redraft_cmd" "$redraft_ports" 3 "$tests" --cluster ;;
    *) echo "bench: unknown target $target" >&2; exit 2 ;;
  esac
done

# --- the table: ops/s per target, ratio of each redraft target to redis ---
upper_tests=$(tr '[:lower:]' '[:upper:]' <<<"${tests//,/ }")
base=""
for t in "${ran_targets[@]}"; do [[ "$t" == redis ]] && base=redis; done
echo
echo "redis-benchmark -c $clients -n $n (after a warm-up of $warmup per test and -P); ops/s (p50 ms); redis = redis-server $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') appendonly yes, appendfsync always"
[[ " ${ran_targets[*]} " == *" redraft-cluster "* ]] &&
  echo "(redraft-cluster: at least $n requests, and a run shorter than about $cluster_min_seconds s again with more: redis-benchmark --cluster ends a run only on its 250 ms timer)"
header=$(printf '%-6s %-3s' test -P)
for t in "${ran_targets[@]}"; do header+=$(printf ' %22s' "$t"); done
if [[ -n "$base" ]]; then
  for t in "${ran_targets[@]}"; do [[ "$t" != redis* ]] && header+=$(printf ' %16s' "$t/redis"); done
fi
echo "$header"
[[ -n "$csv_out" ]] && echo "target,pipeline,test,rps,p50_ms,p99_ms,cpu_s_per_100k,forwarded_per_request" >"$csv_out"
for pl in $pipelines; do
  for test in $upper_tests; do
    row=$(printf '%-6s %-3s' "$test" "$pl")
    for t in "${ran_targets[@]}"; do
      k="$t|$pl|$test"
      row+=$(printf ' %22s' "${results[$k]:-n/a} (${p50[$k]:-?})")
      [[ -n "$csv_out" && -n "${results[$k]:-}" ]] && echo "$t,$pl,$test,${results[$k]:-},${p50[$k]:-},${p99[$k]:-},${cpu[$k]:-},${forwarded[$k]:-}" >>"$csv_out"
    done
    if [[ -n "$base" ]]; then
      for t in "${ran_targets[@]}"; do
        [[ "$t" == redis* ]] && continue
        a=${results["$t|$pl|$test"]:-}
        b=${results["redis|$pl|$test"]:-}
        if [[ -n "$a" && -n "$b" ]]; then
          row+=$(printf ' %16s' "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
        else
          row+=$(printf ' %16s' n/a)
        fi
      done
    fi
    echo "$row"
  done
done

# print_table TITLE ARRAY: one row per test and pipeline, one column per
# target, the values of the associative array named ARRAY ([target|pl|TEST]).
print_table() {
  local -n values=$2
  echo
  echo "$1"
  local header row pl test t
  header=$(printf '%-6s %-3s' test -P)
  for t in "${ran_targets[@]}"; do header+=$(printf ' %22s' "$t"); done
  echo "$header"
  for pl in $pipelines; do
    for test in $upper_tests; do
      row=$(printf '%-6s %-3s' "$test" "$pl")
      for t in "${ran_targets[@]}"; do row+=$(printf ' %22s' "${values["$t|$pl|$test"]:-n/a}"); done
      echo "$row"
    done
  done
}
print_table "server CPU seconds per 100k requests (utime + stime; playground: its three stores summed)" cpu
print_table "redis-benchmark's own CPU seconds per 100k requests (the client shares the machine with the servers)" client_cpu
print_table "p99 latency, ms (-c $clients)" p99
if ((${#forwarded[@]} > 0)); then
  print_table "commands forwarded to another store, per request (playground: its three stores summed; about 1 through one store, 0 with --cluster)" forwarded
  for pl in $pipelines; do
    for test in $upper_tests; do
      f=${forwarded["redraft-cluster|$pl|$test"]:-0}
      awk -v f="$f" 'BEGIN { exit !(f >= 0.01) }' &&
        echo "bench: warning: the --cluster run of $test -P $pl forwarded $f commands per request (a leader moved during it?), so its figure is partly a through-one-store one" >&2
    done
  done
fi

# --- one client, and memory ---
echo
echo "SET with one client (-c 1 -n $latency_n): p50 / p99 ms; RSS per server process after loading $rss_keys keys of 100 bytes (playground: mean of its stores)"
printf '%-20s %-16s %s\n' target 'p50 / p99 ms' 'RSS MB'
for t in "${ran_targets[@]}"; do
  [[ "$t" == redis-mem ]] && continue
  printf '%-20s %-16s %s\n' "$t" "${lat50[$t]:-n/a} / ${lat99[$t]:-n/a}" "${rss[$t]:-n/a}"
done

# --- issue 11's targets: measured ratio, the target, met or not ---
# ratio A_KEY B_KEY: results[A] / results[B], or empty if either is missing.
ratio() {
  local a=${results[$1]:-} b=${results[$2]:-}
  [[ -n "$a" && -n "$b" ]] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
# target_line WHAT VALUE OP GOAL: one line, "met" when VALUE OP GOAL holds.
target_line() {
  local what=$1 v=$2 op=$3 goal=$4 verdict
  if [[ -z "$v" ]]; then verdict="not measured"
  elif awk -v v="$v" -v g="$goal" -v op="$op" 'BEGIN { exit !((op == ">=") ? v >= g : v <= g) }'; then verdict=met
  else verdict="not yet"; fi
  printf '  %-58s %8s  (target %s %s)  %s\n' "$what" "${v:-n/a}" "$op" "$goal" "$verdict"
}
echo
echo "issue 11 targets (ratios within this run)"
for test in SET INCR HSET; do
  [[ -n "${results["redraft-cluster|1|$test"]:-}" ]] || continue
  target_line "--cluster $test / redis appendfsync always" "$(ratio "redraft-cluster|1|$test" "redis|1|$test")" '>=' 1.0
done
[[ -n "${results["redraft-cluster|1|GET"]:-}" ]] &&
  target_line "--cluster GET / redis without persistence" "$(ratio "redraft-cluster|1|GET" "redis-mem|1|GET")" '>=' 0.8
for pl in $pipelines; do
  for test in $upper_tests; do
    [[ -n "${results["redraft|$pl|$test"]:-}" ]] || continue
    target_line "through one store / --cluster, $test -P $pl" "$(ratio "redraft|$pl|$test" "redraft-cluster|$pl|$test")" '>=' 0.6
  done
done
if [[ " $pipelines " == *" 16 "* ]]; then
  target_line "--cluster SET -P 16 / redis -P 16" "$(ratio "redraft-cluster|16|SET" "redis|16|SET")" '>=' 0.5
  target_line "--cluster GET -P 16 / redis -P 16" "$(ratio "redraft-cluster|16|GET" "redis|16|GET")" '>=' 0.3
fi
target_line "standalone SET / redis appendfsync always" "$(ratio "redraft-standalone|1|SET" "redis|1|SET")" '>=' 1.0
for pl in $pipelines; do
  v=$(ratio "node-floor|$pl|SET" "redis|$pl|SET") || v=""
  [[ -n "$v" ]] && printf '  %-58s %8s  (no persistence, no replication: the floor of a Node server)\n' "node-floor SET -P $pl / redis appendfsync always -P $pl" "$v"
done
target_line "playground SET p50 at -c 1, ms (--cluster)" "${lat50[redraft-cluster]:-}" '<=' 1.0

# --- what Node and RocksDB cost alone: the floor under each write target ---
# RocksDB's writes of a replicated write's rows (scripts/rocks-rows.mjs: a log
# put, a data put and the log row's delete per replica, synced batches of 20
# as at -P 1 and of 160 as at -P 16; one put per write for the standalone
# store), when a redraft target ran.
declare -A rocks_write=() rocks_put=()
if [[ " ${ran_targets[*]} " == *" redraft"* ]]; then
  echo "bench: RocksDB's writes alone (scripts/rocks-rows.mjs)" >&2
  while IFS=, read -r b w p; do rocks_write[$b]=$w; rocks_put[$b]=$p; done \
    < <(node "$ROOT/scripts/rocks-rows.mjs" --csv --writes 50000 --batch 20 --batch 160)
fi
# floor_us TEST PL REPLICAS: node-floor's CPU per request of TEST at PL plus
# RocksDB's rows for it: REPLICAS x a replica's rows, or one put when REPLICAS
# is 0 (the standalone store); empty when either was not measured.
floor_us() {
  local test=$1 pl=$2 replicas=$3 batch=20 node rows
  ((pl > 1)) && batch=160
  node=${cpu["node-floor|$pl|$test"]:-}
  if ((replicas == 0)); then rows=${rocks_put[$batch]:-}; else rows=${rocks_write[$batch]:-}; fi
  [[ -n "$node" && -n "$rows" ]] || return 0
  awk -v node="$node" -v rows="$rows" -v r="$replicas" 'BEGIN { printf "%.1f", node * 10 + (r == 0 ? rows : r * rows) }'
}

# budget_line WHAT TARGET PL TEST GOAL BASE FLOOR: the CPU per request the servers may
# use, summed, if TARGET is to make GOAL x BASE's ops/s on this machine: its cores'
# time at that rate less what redis-benchmark itself used per request (in the BASE
# run, at about that rate); beside it, what TARGET used and FLOOR (floor_us; may be empty).
ncores=$(nproc)
budget_line() {
  local what=$1 target=$2 pl=$3 test=$4 goal=$5 base=$6 floor=$7
  local rps=${results["$base|$pl|$test"]:-} client=${client_cpu["$base|$pl|$test"]:-} used=${cpu["$target|$pl|$test"]:-}
  [[ -n "$rps" && -n "$client" && -n "$used" ]] || return 0
  awk -v what="$what" -v rps="$rps" -v goal="$goal" -v cores="$ncores" -v client="$client" -v used="$used" -v floor="$floor" 'BEGIN {
    rate = rps * goal; budget = cores * 1e6 / rate - client * 10
    line = sprintf("  %-44s at %7.0f ops/s: <= %6.1f us (client %5.1f us)  used %6.1f us", what, rate, budget, client * 10, used * 10)
    if (floor != "") line = line sprintf("  floor %6.1f us%s", floor, (floor + 0 > budget ? "  (above the budget)" : ""))
    print line }'
}
echo
echo "CPU per request the servers (summed) may use for a target to be met on these $ncores cores, which redis-benchmark shares"
for test in SET INCR HSET; do budget_line "--cluster $test -P 1 at 1.0x redis" redraft-cluster 1 "$test" 1.0 redis "$(floor_us "$test" 1 3)"; done
budget_line "--cluster GET -P 1 at 0.8x redis-mem" redraft-cluster 1 GET 0.8 redis-mem ""
[[ " $pipelines " == *" 16 "* ]] && budget_line "--cluster SET -P 16 at 0.5x redis" redraft-cluster 16 SET 0.5 redis "$(floor_us SET 16 3)"
budget_line "standalone SET at 1.0x redis" redraft-standalone 1 SET 1.0 redis "$(floor_us SET 1 0)"
if ((${#rocks_write[@]} > 0)); then
  echo "  floor: what no store written in Node on this RocksDB binding can go below here: node-floor's CPU per"
  echo "  request (a Node server that parses and answers, keeping keys only in a Map) plus RocksDB's writes alone of the"
  echo "  write's rows (scripts/rocks-rows.mjs; per replica and write: batches of 20 ${rocks_write[20]:-?} us, of 160"
  echo "  ${rocks_write[160]:-?} us; one put alone, batches of 20: ${rocks_put[20]:-?} us), three replicas for --cluster"
fi
