#!/usr/bin/env bash
# How long the pre-commit hook takes on a big repository with a few staged changes.
# Makes a repository of 10,000 files (FILES=...), commits them, stages 3 edits and 1 new file,
# then times (hyperfine-style: warm-up runs, then the median of RUNS runs):
#   1. `keysweep scan --staged`            what the hook runs (target: median under 100 ms)
#   2. `pre-commit run keysweep-system`    the same through the real pre-commit client
# Usage: bench/precommit.sh [KEYSWEEP_BIN]   (default: newest target/{release,debug}/keysweep)
# Env:   FILES=10000 RUNS=30 HOOK_RUNS=10
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILES=${FILES:-10000}
RUNS=${RUNS:-30}
HOOK_RUNS=${HOOK_RUNS:-10}
BIN=${1:-}
if [[ -z "$BIN" ]]; then
  for c in "${CARGO_TARGET_DIR:-$ROOT/target}"/{release,debug}/keysweep; do
    if [[ -x "$c" && ( -z "$BIN" || "$c" -nt "$BIN" ) ]]; then BIN=$c; fi
  done
fi
[[ -x "$BIN" ]] || { echo "no keysweep binary: cargo build --release, or pass its path" >&2; exit 2; }
eval "$(KEYSWEEP_FAKES=tools "$ROOT/scripts/fakes.sh" env)"
W=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-precommit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
export GIT_CONFIG_GLOBAL="$W/gitconfig" GIT_CONFIG_NOSYSTEM=1 PRE_COMMIT_HOME="$W/pre-commit-home"
printf '[user]\n\tname = bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"
mkdir -p "$W/bin" && ln -s "$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" "$W/bin/keysweep"
export PATH="$W/bin:$PATH"

R="$W/repo"
python3 - "$R" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
words = "alpha beta gamma delta config value token user host port name path data".split()
for i in range(n):
    d = os.path.join(root, f"pkg{i % 100:02d}", f"mod{(i // 100) % 10}")
    os.makedirs(d, exist_ok=True)
    ext = [".py", ".js", ".yaml", ".md", ".txt"][i % 5]
    with open(os.path.join(d, f"file{i}{ext}"), "w") as f:
        for _ in range(rnd.randint(10, 60)):
            f.write(" ".join(rnd.choice(words) for _ in range(8)) + "\n")
PY
git -C "$R" init -q
git -C "$R" add -A
git -C "$R" commit -qm "10k files"
for i in 1 2 3; do echo "edited = $i" >>"$R/pkg0$i/mod0/file$i.py"; done
printf 'HOST=db.internal\nPORT=5432\n' >"$R/pkg00/new.env"
git -C "$R" add -A
echo "repository: $(git -C "$R" ls-files | wc -l) files, $(git -C "$R" diff --cached --name-only | wc -l) staged changes; binary $BIN"

median() { # command... : prints the median wall time (ms) of RUNS runs after 3 warm-ups
  local runs=$1; shift
  python3 - "$runs" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(3):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t = []
for _ in range(runs):
    s = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    t.append((time.perf_counter() - s) * 1000)
    if rc != 0:
        sys.exit(f"command failed ({rc}): {' '.join(cmd)}")
t.sort()
print(f"median {statistics.median(t):.1f} ms  (min {t[0]:.1f}, max {t[-1]:.1f}, {runs} runs)")
PY
}

cd "$R"
ks=$(median "$RUNS" keysweep scan --staged --quiet)
echo "keysweep scan --staged:          $ks"
if command -v pre-commit >/dev/null; then
  rev=$(git -C "$ROOT" rev-parse HEAD)
  printf 'repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: keysweep-system\n' "$ROOT" "$rev" >.pre-commit-config.yaml
  git add .pre-commit-config.yaml
  pre-commit install-hooks >/dev/null
  pc=$(median "$HOOK_RUNS" pre-commit run keysweep-system)
  echo "pre-commit run keysweep-system:  $pc"
else
  echo "pre-commit run keysweep-system:  skipped (pre-commit missing: scripts/fakes.sh install)"
fi
python3 - "$ks" <<'PY'
import sys
m = float(sys.argv[1].split()[1])
print(f"precommit: keysweep --staged median {m:.1f} ms (target < 100 ms: {'ok' if m < 100 else 'OVER'})")
PY
