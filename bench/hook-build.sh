#!/usr/bin/env bash
# Cold install of the `language: rust` pre-commit hook, as a user first meets it:
# `pre-commit try-repo <this repo> keysweep` with a fresh PRE_COMMIT_HOME, so pre-commit runs
# `cargo install --bins --root <env> --path <repo>` (release profile, no --locked) from nothing.
# Cargo's registry cache (CARGO_HOME) is the user's own, as on any machine that has built Rust
# before; the crates.io download a machine without that cache adds is measured separately
# (`cargo fetch` into an empty CARGO_HOME), without building twice.
#
# Usage: bench/hook-build.sh [--no-download] [REPO]   (REPO: a hook repository, default this one)
# Needs: pre-commit (scripts/fakes.sh), cargo.
# Prints: cold try-repo seconds, download seconds, and whether the 3-minute budget held.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NO_DL=0
[[ "${1:-}" == --no-download ]] && { NO_DL=1; shift; }
HOOK_REPO=$(cd "${1:-$ROOT}" && pwd)
eval "$(KEYSWEEP_FAKES=tools "$ROOT/scripts/fakes.sh" env)"   # pre-commit (install: scripts/fakes.sh install)
command -v pre-commit >/dev/null || { echo "pre-commit missing: run scripts/fakes.sh install" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-hook-build.XXXXXX")
trap 'rm -rf "$W"' EXIT
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR   # a warm target dir would hide the build
export GIT_CONFIG_GLOBAL="$W/gitconfig" GIT_CONFIG_NOSYSTEM=1
printf '[user]\n\tname = bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"

git init -q "$W/repo"
(cd "$W/repo" && echo hello >a.txt && git add a.txt && git commit -qm init && echo more >>a.txt && git add a.txt)

echo "== cold: fresh PRE_COMMIT_HOME, pre-commit try-repo $HOOK_REPO keysweep (language: rust), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
(cd "$W/repo" && PRE_COMMIT_HOME="$W/pre-commit-home" pre-commit try-repo "$HOOK_REPO" keysweep --color never) \
  >"$W/try-repo.log" 2>&1 || { cat "$W/try-repo.log"; echo "try-repo failed" >&2; exit 1; }
end=$(date +%s.%N)
build=$(python3 -c "print(f'{$end - $start:.1f}')")
grep -E 'Passed|Failed' "$W/try-repo.log" || true
echo "cold try-repo (rust hook): ${build} s"

dl=skipped
if [[ $NO_DL == 0 ]]; then
  echo "== crates.io download into an empty CARGO_HOME (cargo fetch --locked)"
  start=$(date +%s.%N)
  (cd "$HOOK_REPO" && CARGO_HOME="$W/cargo-home" cargo fetch --locked --quiet)
  end=$(date +%s.%N)
  dl=$(python3 -c "print(f'{$end - $start:.1f}')")
  echo "download of $(find "$W/cargo-home/registry/cache" -name '*.crate' | wc -l) crates: ${dl} s"
fi
python3 - "$build" "$dl" <<'PY'
import sys
b, d = float(sys.argv[1]), sys.argv[2]
print(f"hook-build: cold {b:.1f} s (budget 180 s: {'ok' if b < 180 else 'OVER'}), crates.io download {d} s")
PY
