#!/usr/bin/env bash
# Runs every test keysweep has. Installs what the tests need first (only what is missing),
# so it works the same on a fresh machine and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p target
echo "== test tools (installed once, only what is missing)"
eval "$(scripts/workflow-tools.sh)"
echo "== moto (AWS IAM stand-in for the rotate tests)"
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT

echo "== cargo test"
cargo test --all-targets --no-fail-fast 2>&1 | tee target/cargo-test.log
grep -E '^test result: ' target/cargo-test.log | awk '
  { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
  END { printf "cargo: %d passed, %d failed\n", p, f }'
