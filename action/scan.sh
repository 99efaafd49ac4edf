#!/usr/bin/env bash
# keysweep action, scan step. Chooses what to scan from the event:
#   pull_request, pull_request_target : the PR's commits, base.sha..head.sha from the payload
#   push                              : before..after (a new branch: from the default branch)
#   schedule, workflow_dispatch, other: the full history (keysweep scan --git)
# In a shallow checkout it fetches what the range needs (deepening step by step, then
# --unshallow) and fails loudly if it still cannot see the range; it never reports an
# unscanned history as clean.
# Then: annotations, step summary, SARIF file, outputs, optional PR comment (comment.py).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/keysweep"
mkdir -p "$out"
json="$out/keysweep.json"
sarif="$out/keysweep.sarif"
event=${GITHUB_EVENT_NAME:-workflow_dispatch}
payload=${GITHUB_EVENT_PATH:-/dev/null}
remote=${KEYSWEEP_REMOTE:-origin}
zero=0000000000000000000000000000000000000000

err() { printf '::error title=keysweep::%s\n' "$*"; }
ev() { python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print("" if d is None else d)' "$payload" "$1"; }
shallow() { [[ "$(git rev-parse --is-shallow-repository)" == true ]]; }
have() { git cat-file -e "$1^{commit}" 2>/dev/null; }
fetch() { echo "keysweep: git fetch $*" >&2; git fetch --no-tags --quiet "$remote" "$@"; }
# fetch a commit: in a shallow clone only N commits deep; a complete clone stays complete
fetch_commit() { # depth rev...
  local d=$1; shift
  if shallow; then fetch --depth="$d" "$@"; else fetch "$@"; fi
}

# ---- what to scan
mode=()
revs=()
desc=""
case "$event" in
  pull_request | pull_request_target)
    base=$(ev pull_request.base.sha)
    head=$(ev pull_request.head.sha)
    commits=$(ev pull_request.commits)
    [[ -n "$base" && -n "$head" ]] || { err "the $event payload has no pull_request.base.sha/head.sha"; exit 2; }
    depth=$(( ${commits:-0} + 2 ))
    have "$base" || fetch_commit 1 "$base" || true
    have "$head" || fetch_commit "$depth" "$head" || true
    mode=(--range "$base..$head")
    revs=("$base" "$head")
    desc="pull request #$(ev pull_request.number): ${commits:-?} commit(s), ${base:0:12}..${head:0:12}"
    ;;
  push)
    before=$(ev before)
    after=$(ev after)
    if [[ "$(ev deleted)" == True || -z "$after" || "$after" == "$zero" ]]; then
      echo "keysweep: the push deleted ${GITHUB_REF:-a ref}; nothing to scan"
      { echo "findings=0"; echo "new-findings=0"; echo "sarif-file="; } >>"$GITHUB_OUTPUT"
      exit 0
    fi
    have "$after" || fetch_commit 50 "$after" || true
    if [[ -z "$before" || "$before" == "$zero" ]]; then
      # a new branch or tag: what it adds over the default branch
      default=$(ev repository.default_branch)
      fetch_commit 50 "+refs/heads/$default:refs/keysweep/default" || true
      if have refs/keysweep/default; then
        before=$(git rev-parse refs/keysweep/default)
      else
        err "new ref ${GITHUB_REF:-}: cannot fetch the default branch '$default' to compare with"; exit 2
      fi
    else
      have "$before" || fetch_commit 1 "$before" || true
    fi
    mode=(--range "$before..$after")
    revs=("$before" "$after")
    desc="push to ${GITHUB_REF:-?}: ${before:0:12}..${after:0:12}"
    ;;
  *)
    if shallow; then fetch --unshallow || { err "cannot unshallow the checkout to scan the full history"; exit 2; }; fi
    mode=(--git)
    desc="full history ($event)"
    ;;
esac

# ---- options
opts=()
[[ -n "${KEYSWEEP_CONFIG:-}" ]] && opts+=(--config "$KEYSWEEP_CONFIG")
[[ -n "${KEYSWEEP_BASELINE:-}" ]] && opts+=(--baseline "$KEYSWEEP_BASELINE")
case "${KEYSWEEP_PIPELINE_USES:-}" in
  "") ;;
  fail | warn | off) opts+=(--pipeline-uses "$KEYSWEEP_PIPELINE_USES") ;;
  *) err "pipeline-uses must be 'fail', 'warn' or 'off', not '${KEYSWEEP_PIPELINE_USES}'"; exit 2 ;;
esac
extra=()
if [[ -n "${KEYSWEEP_ARGS:-}" ]]; then
  # shell-like words, never evaluated
  mapfile -d '' -t extra < <(python3 -c 'import shlex,sys
for w in shlex.split(sys.argv[1]): sys.stdout.write(w + "\0")' "$KEYSWEEP_ARGS")
fi
for w in "${extra[@]}"; do
  case "$w" in
    --show-secrets) err "args: --show-secrets is refused (annotations, summary and comment would print the secrets)"; exit 2 ;;
    --format* | -f | --output* | -o | --report*) err "args: $w is set by the action (it writes JSON and SARIF itself)"; exit 2 ;;
  esac
done
case "${KEYSWEEP_FAIL_ON:-new}" in new | none) ;; *) err "fail-on must be 'new' or 'none', not '${KEYSWEEP_FAIL_ON}'"; exit 2 ;; esac

scan() { # one scan: JSON (counts, summary, comment) and SARIF (code scanning)
  keysweep scan "${mode[@]}" "${opts[@]}" "${extra[@]}" --quiet --format json --output "$json" \
    --report "sarif=$sarif"
}

echo "keysweep: scanning the $desc"
# a range that reaches past the shallow boundary is an error (exit 2): deepen and retry
steps=(100 1000 unshallow)
i=0
while :; do
  rc=0
  scan 2>"$out/stderr" || rc=$?
  cat "$out/stderr" >&2
  if [[ $rc -ne 2 || "${mode[0]}" == --git ]] || ! shallow || [[ $i -ge ${#steps[@]} ]]; then break; fi
  if [[ ${steps[$i]} == unshallow ]]; then fetch --unshallow || true
  else fetch --deepen="${steps[$i]}" "${revs[@]}" || true; fi
  i=$((i + 1))
done
if [[ $rc -eq 2 ]]; then
  err "scan failed: $(head -c 1500 "$out/stderr" | tr '\n' ' ')"
  exit 2
fi
[[ -s "$sarif" ]] || { err "SARIF report missing"; exit 2; }

python3 "$here/report.py" "$json" "$out/comment.md" "$desc"
echo "sarif-file=$sarif" >>"$GITHUB_OUTPUT"

if [[ "${KEYSWEEP_COMMENT:-false}" == true && "$event" == pull_request* ]]; then
  python3 "$here/comment.py" "$out/comment.md" || err "could not write the PR comment (see above); the scan result stands"
fi

if [[ "${KEYSWEEP_SUGGEST:-false}" == true && "$event" == pull_request* ]] &&
   [[ $(jq '.pipeline.findings | length' "$json") -gt 0 ]]; then
  # the plan is made from the PR head's own CI files and .keysweep.toml facts
  tree="$out/plan-tree"
  rm -rf "$tree" && mkdir -p "$tree"
  mapfile -t parts < <(git ls-tree --name-only "$head" -- .github .keysweep.toml)
  if [[ ${#parts[@]} -gt 0 ]]; then git archive "$head" -- "${parts[@]}" | tar -x -C "$tree"; fi
  if keysweep rotate --format json --quiet --repository "${GITHUB_REPOSITORY:-}" "$tree" >"$out/plan.json" 2>"$out/plan.err"; then
    python3 "$here/review.py" "$json" "$out/plan.json" "$base" "$head" ||
      err "could not write the suggestions review (see above); the scan result stands"
  else
    err "keysweep rotate could not plan the suggestions: $(head -c 500 "$out/plan.err" | tr '\n' ' ')"
  fi
fi

if [[ $rc -eq 1 && "${KEYSWEEP_FAIL_ON:-new}" != none ]]; then
  echo "keysweep: new secrets found: failing (see the annotations and the job summary; accept a false positive with a 'keysweep:allow' comment or a baseline)" >&2
  exit 1
fi
exit 0
