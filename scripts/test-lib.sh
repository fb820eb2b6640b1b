# Shell helpers shared by the scripts that start servers (bench.sh,
# redis-tcl.sh, idle-regions.sh, raft-messages.sh; source it). Servers run in
# their own session/process group and are stopped by pid.

# free_ports N: prints the first of N consecutive ports free on 127.0.0.1
# (random base in 20000-32000, below the kernel's ephemeral range).
free_ports() {
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const tryBind = (p) => new Promise((res) => { const s = net.createServer(); s.once("error", () => res(null)); s.listen({ port: p, host: "127.0.0.1", exclusive: true }, () => res(s)); });
    (async () => {
      for (let a = 0; a < 200; a++) {
        const base = 20000 + Math.floor(Math.random() * (12000 - n));
        const held = [];
        for (let i = 0; i < n; i++) { const s = await tryBind(base + i); if (!s) break; held.push(s); }
        await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
        if (held.length === n) { console.log(base); return; }
      }
      console.error("no free ports"); process.exit(1);
    })();' "$1"
}

# start_bg LOGFILE CMD...: starts CMD in a new session (its own process
# group, so its children can be killed with it); sets STARTED_PID.
start_bg() {
  local log=$1
  shift
  setsid "$@" >>"$log" 2>&1 </dev/null &
  STARTED_PID=$!
}

# stop_pid PID [TIMEOUT_S]: SIGTERM to PID, SIGKILL to its group after the
# timeout (default 10 s); then sweeps what is left of its group.
stop_pid() {
  local pid=$1 timeout=${2:-10} i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop_pid: $pid did not stop within ${timeout}s, SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true # strays of its group
  wait "$pid" 2>/dev/null || true
}

# install_cleanup NAME FN: on exit, Ctrl-C or SIGTERM, runs `FN RC` once
# (RC: the exit status; 130 after Ctrl-C, 143 after SIGTERM; errors ignored)
# and exits with RC. FN stops what the script started, by pid, and keeps or
# removes its logs.
install_cleanup() {
  trap "_run_cleanup $2 \$?" EXIT
  trap "echo '$1: interrupted' >&2; _run_cleanup $2 130" INT
  trap "echo '$1: terminated' >&2; _run_cleanup $2 143" TERM
}
_run_cleanup() {
  trap - EXIT INT TERM
  set +e
  "$1" "$2"
  exit "$2"
}

# install_server_cleanup NAME: install_cleanup for scripts that run one
# server at a time ($server_pid, logs in $tmp): stops it; removes $tmp, or
# keeps it and says so when the script failed.
install_server_cleanup() {
  _server_script=$1
  install_cleanup "$1" _stop_server
}
_stop_server() {
  if [[ -n "${server_pid:-}" ]]; then stop_pid "$server_pid" 30; fi
  if (($1 != 0)); then echo "$_server_script: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}

# wait_for PID LOGFILE TIMEOUT_S WHAT COMMAND...: runs COMMAND every 0.1 s
# until it succeeds; fails early (printing the log's tail) if PID dies, or
# after TIMEOUT_S. WHAT says what was awaited, for the message.
wait_for() {
  local pid=$1 log=$2 timeout=$3 what=$4 i
  shift 4
  for ((i = 0; i < timeout * 10; i++)); do
    if "$@"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server (pid $pid) exited before $what; log tail:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "server (pid $pid): not $what within ${timeout}s; log tail:" >&2
  tail -n 40 "$log" >&2
  return 1
}
answers_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }
cluster_state_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }

# wait_ping PORT PID LOGFILE [TIMEOUT_S]: polls until 127.0.0.1:PORT answers
# PONG (default 60 s).
wait_ping() { wait_for "$2" "$3" "${4:-60}" "answering PING on port $1" answers_ping "$1"; }

# wait_cluster_ok PORT PID LOGFILE [TIMEOUT_S]: polls until the playground
# store on 127.0.0.1:PORT says cluster_state:ok, every slot has a leader
# (default 120 s).
wait_cluster_ok() { wait_for "$2" "$3" "${4:-120}" "serving every slot (cluster_state:ok on port $1)" cluster_state_ok "$1"; }

# expand_cmd TEMPLATE PORT DIR: substitutes {port} and {dir} in a command
# template (a string later run by `bash -c "exec ..."`).
expand_cmd() {
  local t=$1 n
  # {port+N}: the N-th port after {port} (a playground needs several).
  for n in 1 2 3 4 5 6 7 8 9; do t=${t//\{port+$n\}/$(($2 + n))}; done
  t=${t//\{port\}/$2}
  t=${t//\{dir\}/$3}
  printf '%s' "$t"
}

# store_pids PID: the store processes among PID's children (a playground), or
# PID itself if it has none (a standalone server).
store_pids() {
  local pid=$1 c found=0
  for c in $(pgrep -P "$pid" 2>/dev/null); do
    if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q ' store '; then
      echo "$c"
      found=1
    fi
  done
  ((found)) || echo "$pid"
}

# cpu_ticks PID...: clock ticks of CPU (utime + stime) the processes used so far.
cpu_ticks() {
  local total=0 c stat rest
  for c in "$@"; do
    stat=$(cat "/proc/$c/stat" 2>/dev/null) || continue
    rest=${stat##*) } # fields after the command name, from field 3 (state)
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12])) # utime, stime: fields 14 and 15
  done
  echo "$total"
}

# metric PORT NAME: the value of an unlabelled Prometheus sample at
# 127.0.0.1:PORT/metrics (0 if absent).
metric() {
  curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}
