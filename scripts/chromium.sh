#!/usr/bin/env bash
# chromium.sh — make headless Chromium (the Debian package `chromium`) available for the HTML
# report test (tests/sweep_html.rs), installing it only if it is missing.
#
# Usage: eval "$(scripts/chromium.sh)"   exports KEYSWEEP_CHROMIUM (the browser's path)
# Installing needs root and apt (CI runs scripts/test.sh as root); otherwise it says what is
# missing and exports nothing, and the test skips (or fails when CI=true).
set -euo pipefail

say() { printf '[chromium] %s\n' "$*" >&2; }
find_it() { command -v chromium || command -v chromium-browser || true; }

bin=$(find_it)
if [[ -z "$bin" ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing the Debian package chromium (~100 MB, once)"
    # one install at a time: parallel test runs share the package database
    exec 9>/tmp/keysweep-apt.lock
    flock 9
    bin=$(find_it)
    if [[ -z "$bin" ]]; then
      log="${TMPDIR:-/tmp}/keysweep-chromium-apt.log"
      if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
               chromium fonts-dejavu-core; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        say "installing chromium failed (log: $log)"
      fi
      bin=$(find_it)
    fi
  else
    say "chromium is missing and this is not root with apt: install the Debian package chromium"
  fi
fi
if [[ -n "$bin" ]]; then
  printf 'export KEYSWEEP_CHROMIUM=%q\n' "$bin"
fi
