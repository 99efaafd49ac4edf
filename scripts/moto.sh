#!/usr/bin/env bash
# moto.sh — a local AWS IAM/STS stand-in (moto server) for the `keysweep rotate` tests.
#
#   eval "$(scripts/moto.sh start)"   install moto[server] once into $KEYSWEEP_TOOLS_DIR/moto-venv,
#                                     start it on 127.0.0.1 (a free port), export AWS_ENDPOINT_URL
#   scripts/moto.sh stop              stop the server this script started (by its recorded pid)
#   scripts/moto.sh status
#
# KEYSWEEP_TOOLS_DIR defaults to $HOME/.cache/keysweep-tools. Registry used: PyPI only.
# moto does not validate trust policies or tokens: it proves the IAM API takes the document.
set -euo pipefail

KEYSWEEP_TOOLS_DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
MOTO_SPEC=${MOTO_SPEC:-moto[server]>=5,<6}
VENV="$KEYSWEEP_TOOLS_DIR/moto-venv"
STATE="$KEYSWEEP_TOOLS_DIR/moto.state"   # "pid port"
LOG="$KEYSWEEP_TOOLS_DIR/moto.log"

say() { printf '[moto] %s\n' "$*" >&2; }

install() {
  if [[ -x "$VENV/bin/moto_server" ]]; then return; fi
  say "installing $MOTO_SPEC into $VENV (~20 s)"
  mkdir -p "$KEYSWEEP_TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$MOTO_SPEC"
}

answering() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/moto-api/"; }

ours() { # pid runs our moto_server
  [[ -n "${1:-}" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$VENV/bin/moto_server"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

print_env() {
  cat <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export KEYSWEEP_MOTO_PID=$2
ENV
}

start() {
  install
  if [[ -s "$STATE" ]]; then
    read -r pid port <"$STATE" || true
    if ours "${pid:-}" && answering "$port"; then
      say "already running (pid $pid, port $port)"
      print_env "$port" "$pid"
      return
    fi
  fi
  local port pid i
  port=$(free_port)
  setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid $port" >"$STATE"
  for i in $(seq 1 60); do
    if answering "$port"; then
      say "up on 127.0.0.1:$port (pid $pid)"
      print_env "$port" "$pid"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then say "moto exited; see $LOG"; exit 1; fi
    sleep 0.5
  done
  say "moto not answering after 30 s; see $LOG"
  exit 1
}

stop() {
  [[ -s "$STATE" ]] || return 0
  local pid port
  read -r pid port <"$STATE" || true
  if ours "${pid:-}"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    say "stopped (pid $pid)"
  fi
  : >"$STATE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if [[ -s "$STATE" ]]; then read -r pid port <"$STATE"; ours "$pid" && echo "running pid=$pid port=$port" || echo "not running"; else echo "not running"; fi ;;
  install) install ;;
  *) echo "usage: $0 [start|stop|status|install]" >&2; exit 2 ;;
esac
