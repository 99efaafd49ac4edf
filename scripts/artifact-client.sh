#!/usr/bin/env bash
# artifact-client.sh — install (once) npm `@actions/artifact`, the client GitHub's own
# upload-artifact/download-artifact actions are built on, for the stand-ins the sweep
# workflow's act test uses (tests/sweep_standins/): they talk to act's artifact server.
#
# Usage: eval "$(scripts/artifact-client.sh)"   exports KEYSWEEP_ARTIFACT_NODE_PATH
# Env:   KEYSWEEP_TOOLS_DIR (default $HOME/.cache/keysweep-tools)
set -euo pipefail

DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
# @actions/artifact as actions/upload-artifact v4.6.2 uses it. @azure/storage-blob pinned: with
# 12.32 every blob upload got 401 from act's artifact server (its signed URL no longer verifies).
SPEC=${ARTIFACT_CLIENT_SPEC:-@actions/artifact@2.3.2 @azure/storage-blob@12.17.0}
d="$DIR/artifact-client"
ready() {
  [[ -d "$d/node_modules/@actions/artifact" ]] &&
    grep -q '"version": "12.17.0"' "$d/node_modules/@azure/storage-blob/package.json" 2>/dev/null
}
if ! ready; then
  mkdir -p "$d"
  exec 9>"$DIR/.artifact-client.lock"
  flock 9
  if ! ready; then
    printf '[artifact-client] installing %s into %s (~10 s)\n' "$SPEC" "$d" >&2
    ( cd "$d" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
      npm install --no-audit --no-fund --loglevel=error $SPEC >/dev/null )
  fi
fi
printf 'export KEYSWEEP_ARTIFACT_NODE_PATH=%q\n' "$d/node_modules"
