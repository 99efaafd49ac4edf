#!/usr/bin/env bash
# kubernetes-validate.sh — install (once) PyPI `kubernetes-validate` into a venv for the
# Kubernetes example's test (tests/sweep_examples.rs validates examples/kubernetes/*.yaml
# against the Kubernetes schema).
#
# Usage: eval "$(scripts/kubernetes-validate.sh)"   exports KEYSWEEP_KUBERNETES_VALIDATE
# Env:   KEYSWEEP_TOOLS_DIR (default $HOME/.cache/keysweep-tools)
set -euo pipefail

DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
SPEC=${KUBERNETES_VALIDATE_SPEC:-kubernetes-validate>=1.28,<2}
v="$DIR/kubernetes-validate-venv"
if [[ ! -x "$v/bin/kubernetes-validate" ]]; then
  mkdir -p "$DIR"
  exec 9>"$DIR/.kubernetes-validate.lock"
  flock 9
  if [[ ! -x "$v/bin/kubernetes-validate" ]]; then
    printf '[kubernetes-validate] installing %s into %s (~10 s)\n' "$SPEC" "$v" >&2
    [[ -x "$v/bin/pip" ]] || python3 -m venv "$v"
    "$v/bin/pip" install -q --disable-pip-version-check "$SPEC" >&2
  fi
fi
printf 'export KEYSWEEP_KUBERNETES_VALIDATE=%q\n' "$v/bin/kubernetes-validate"
