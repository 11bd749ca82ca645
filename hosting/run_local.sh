#!/usr/bin/env bash
# K lnorm processes behind HAProxy on this machine, without Docker: what compose.yaml runs, with haproxy.cfg.
#
#   hosting/run_local.sh start [K] [PORT]   # HAProxy on PORT (default 8800); processes on PORT+1 ... PORT+K
#   hosting/run_local.sh restart N          # start process N again (after it died or was stopped)
#   hosting/run_local.sh stop               # stop HAProxy and every process, by the ids it wrote down
#   hosting/run_local.sh status
#
# K: one process per core (default: the cores this shell may use); each holds 350-550 MiB. Everything
# is on 127.0.0.1. The run directory, $LNORM_RUN_DIR (default /tmp/lnorm-hosting), holds the HAProxy
# config made from haproxy.cfg (its server lines replaced by the K local processes), the process ids
# (pids: one line per process, in order; haproxy.pid) and each process's log. bench/load.py reads the
# same ids: python bench/load.py --url http://127.0.0.1:PORT --pid-file "$LNORM_RUN_DIR/pids"
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="${LNORM_RUN_DIR:-/tmp/lnorm-hosting}"
HAPROXY="${LNORM_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
PYTHON="${PYTHON:-python}"
START_S=90

say() { printf '%s\n' "$*" >&2; }

healthy() {  # URL: until it answers its health check, at most START_S seconds
  local deadline=$((SECONDS + START_S))
  until [[ "$("$PYTHON" -c 'import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=2).read().decode())' \
             "$1/_stcore/health" 2>/dev/null)" == ok ]]; do
    ((SECONDS < deadline)) || { say "no answer from $1 within $START_S s"; return 1; }
    sleep 0.5
  done
}

start_process() {  # N PORT: process N of lnorm on PORT, its id on line N of pids
  local n=$1 port=$2
  (cd "$ROOT" && exec "$PYTHON" -m streamlit run app.py --server.port="$port" --server.address=127.0.0.1 \
     --server.headless=true >"$RUN/lnorm$n.log" 2>&1 </dev/null) &
  local pid=$!
  touch "$RUN/pids"
  "$PYTHON" - "$RUN/pids" "$n" "$pid" <<'PY'
import sys
path, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path).read().split()
lines += ["0"] * (n - len(lines))
lines[n - 1] = pid
open(path, "w").write("\n".join(lines) + "\n")
PY
  echo "$port" >"$RUN/port$n"
}

stop_pid() {  # PID: TERM, then KILL after 10 s
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
  local k=${1:-$(nproc)} port=${2:-8800}
  [[ -e "$RUN/haproxy.pid" ]] && { say "already running (see $RUN); run: $0 stop"; exit 1; }
  mkdir -p "$RUN"
  rm -f "$RUN/pids" "$RUN"/port*
  for n in $(seq "$k"); do start_process "$n" $((port + n)); done
  for n in $(seq "$k"); do healthy "http://127.0.0.1:$((port + n))" || { cmd_stop; exit 1; }; done
  { sed '/^[[:space:]]*server[[:space:]]/d' "$ROOT/hosting/haproxy.cfg"
    for n in $(seq "$k"); do printf '    server lnorm%s 127.0.0.1:%s cookie lnorm%s\n' "$n" $((port + n)) "$n"; done
  } >"$RUN/haproxy.cfg"
  LNORM_PORT=$port "$HAPROXY" -c -q -f "$RUN/haproxy.cfg"
  LNORM_PORT=$port "$HAPROXY" -D -p "$RUN/haproxy.pid" -f "$RUN/haproxy.cfg"
  echo "$port" >"$RUN/port"
  healthy "http://127.0.0.1:$port" || { cmd_stop; exit 1; }
  say "lnorm: $k processes behind HAProxy at http://127.0.0.1:$port (ids in $RUN/pids, $RUN/haproxy.pid)"
}

cmd_restart() {
  local n=${1:?which process: 1 to K}
  local port; port=$(cat "$RUN/port$n")
  local pid; pid=$(sed -n "${n}p" "$RUN/pids")
  stop_pid "$pid"
  start_process "$n" "$port"
  healthy "http://127.0.0.1:$port"
  say "process $n is back on port $port"
}

cmd_stop() {
  [[ -e "$RUN/haproxy.pid" ]] && stop_pid "$(cat "$RUN/haproxy.pid")"
  if [[ -e "$RUN/pids" ]]; then
    for pid in $(cat "$RUN/pids"); do stop_pid "$pid"; done
  fi
  rm -f "$RUN/haproxy.pid" "$RUN/pids" "$RUN"/port*
  say "stopped"
}

cmd_status() {
  [[ -e "$RUN/haproxy.pid" ]] || { say "not running"; return 0; }
  echo "haproxy $(cat "$RUN/haproxy.pid") on port $(cat "$RUN/port")"
  local n=0
  for pid in $(cat "$RUN/pids"); do
    n=$((n + 1))
    if kill -0 "$pid" 2>/dev/null; then state=up; else state=down; fi
    echo "lnorm$n $pid port $(cat "$RUN/port$n") $state"
  done
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) say "usage: $0 start [K] [PORT] | restart N | stop | status"; exit 2 ;;
esac
