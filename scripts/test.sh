#!/usr/bin/env bash
# Runs every test keysweep has. Installs what the tests need first (only what is missing),
# so it works the same on a fresh machine and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p target
echo "== test tools (installed once, only what is missing)"
eval "$(scripts/workflow-tools.sh)"
echo "== sweep test tools: headless Chromium (Debian), kubernetes-validate (PyPI)"
eval "$(scripts/chromium.sh)"
eval "$(scripts/kubernetes-validate.sh)"
echo "== sweep workflow under act: act (scripts/fakes.sh tools), npm @actions/artifact for the stand-ins"
KEYSWEEP_FAKES=tools scripts/fakes.sh install
eval "$(scripts/artifact-client.sh)"
echo "== moto (AWS IAM stand-in for the rotate, trust apply and retire tests)"
eval "$(scripts/moto.sh start)"
echo "== fakes (Prism with GitHub's OpenAPI description, @octokit/fixtures for the GitHub stub; revoke and retire use them too)"
eval "$(scripts/fakes.sh start)"
trap 'scripts/moto.sh stop; scripts/fakes.sh stop' EXIT

status=0
echo "== cargo test"
cargo test --all-targets --all-features --no-fail-fast 2>&1 | tee target/cargo-test.log || status=1
grep -E '^test result: ' target/cargo-test.log | awk '
  { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
  END { printf "cargo: %d passed, %d failed\n", p, f }'

# The real clients: act (host mode) runs action.yml on webhook payloads against Prism serving
# GitHub's OpenAPI description; pre-commit runs the hooks; GitHub's parser and zizmor check
# the workflows. Uses the binary cargo test just built.
echo "== surfaces: GitHub Action under act, pre-commit hooks (tests/surfaces/run.sh)"
KEYSWEEP_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/keysweep" tests/surfaces/run.sh 2>&1 |
  tee target/surfaces.log || status=1
exit $status
