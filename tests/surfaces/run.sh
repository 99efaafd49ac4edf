#!/usr/bin/env bash
# End-to-end proofs of keysweep's two surfaces with the real clients:
#   workflows  GitHub's own parser (@actions/workflow-parser) and `zizmor --offline` accept
#              action.yml and examples/workflows/*.yml with no finding
#   pre-commit the real `pre-commit` client: validate-manifest, try-repo (blocks a staged
#              secret, passes a clean change, keysweep:allow, baseline), a real `git commit`
#              through `pre-commit install`
#   action     the composite action run by `act` in host mode on real webhook payloads
#              (@octokit/webhooks-examples) over a local "GitHub" repository: PR with a secret
#              fails with annotation + summary + SARIF, clean PR passes, shallow checkout is
#              deepened, push range, full history, the PR comment goes to Prism serving GitHub's
#              OpenAPI description (validated) and is updated in place; install.sh release
#              asset + checksum, bad checksum refused, source-build fallback
# Secrets are generated at run time (tests/surfaces/gen_secret.py); none is committed.
#
#   release    .github/workflows/release.yml's build job under `act` on a v* tag (host target)
#
# Usage: tests/surfaces/run.sh [GROUP...]   (groups: workflows precommit action release; default all but release)
# Env:   KEYSWEEP_BIN   the keysweep binary to test (default: target/{release,debug}/keysweep
#                       under CARGO_TARGET_DIR or ./target, whichever is newest)
#        CI=true        a missing tool is a failure, not a skip
# Prints `surfaces: N passed, N failed` and exits non-zero on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/surfaces"
# `release` is opt-in for now (a full-feature release build): tests/surfaces/run.sh release
GROUPS_WANTED=${*:-workflows precommit action}
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); printf 'ok   - %s\n' "$1"; }
bad() {
  fail=$((fail + 1)); printf 'FAIL - %s\n' "$1"
  if [[ -n "${2:-}" && -f "$2" ]]; then tail -n "${3:-25}" "$2" | sed 's/^/       | /'; fi
}
missing() { # name tool
  if [[ "${CI:-}" == true ]]; then bad "$1 (tool missing: $2; required when CI=true)"
  else skip=$((skip + 1)); printf 'skip - %s (%s missing)\n' "$1" "$2"; fi
}
check() { # name log cmd... : passes when cmd exits 0
  local name=$1 log=$2; shift 2
  if "$@" >>"$log" 2>&1; then ok "$name"; else bad "$name" "$log"; fi
}
want() { case " $GROUPS_WANTED " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- binary, scratch, git identity
if [[ -z "${KEYSWEEP_BIN:-}" ]]; then
  for c in "${CARGO_TARGET_DIR:-$ROOT/target}"/{release,debug}/keysweep; do
    if [[ -x "$c" && ( -z "${KEYSWEEP_BIN:-}" || "$c" -nt "$KEYSWEEP_BIN" ) ]]; then KEYSWEEP_BIN=$c; fi
  done
fi
if [[ ! -x "${KEYSWEEP_BIN:-}" ]]; then
  echo "tests/surfaces: no keysweep binary; build one (cargo build) or set KEYSWEEP_BIN" >&2
  echo "surfaces: 0 passed, 1 failed"
  exit 1
fi
KEYSWEEP_BIN=$(cd "$(dirname "$KEYSWEEP_BIN")" && pwd)/$(basename "$KEYSWEEP_BIN")
T=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-surfaces.XXXXXX")
LOGS="$T/logs"
mkdir -p "$T/bin" "$LOGS"
ln -s "$KEYSWEEP_BIN" "$T/bin/keysweep"
export PATH="$T/bin:$PATH"
cat >"$T/gitconfig" <<EOF
[user]
	name = Surface Test
	email = surface@example.com
[init]
	defaultBranch = main
[commit]
	gpgsign = false
[advice]
	detachedHead = false
EOF
export GIT_CONFIG_GLOBAL="$T/gitconfig" GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
STARTED_FAKES=0
cleanup() {
  [[ -n "${RELEASE_PID:-}" ]] && kill "$RELEASE_PID" 2>/dev/null
  # stop the GitHub stand-in only if this run started it
  [[ $STARTED_FAKES == 1 ]] && "$ROOT/scripts/fakes.sh" stop >/dev/null 2>&1
  [[ "${KEEP:-}" == 1 ]] && { echo "kept $T" >&2; return; }
  rm -rf "$T"
}
trap cleanup EXIT
echo "tests/surfaces: keysweep at $KEYSWEEP_BIN, scratch $T"

secret() { python3 "$HERE/gen_secret.py"; }
mkrepo() { # dir: a repository with one commit
  git init -q "$1" && (cd "$1" && echo "# demo" >README.md && git add README.md && git commit -qm init)
}

# ---------------------------------------------------------------- tools
have_workflow_tools=0
if eval "$("$ROOT/scripts/workflow-tools.sh" 2>"$LOGS/workflow-tools.log")"; then have_workflow_tools=1; fi
have_fakes=0
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${KEYSWEEP_GH_PORT:-4711}/__requests" || STARTED_FAKES=1
if eval "$("$ROOT/scripts/fakes.sh" start 2>"$LOGS/fakes.log")" && command -v pre-commit >/dev/null &&
   command -v act >/dev/null; then have_fakes=1; fi
[[ $have_fakes == 1 ]] || cat "$LOGS/fakes.log" >&2

# ================================================================ workflows
if want workflows; then
  files=("$ROOT/action.yml" "$ROOT"/examples/workflows/*.yml "$ROOT"/.github/workflows/*.yml)
  if [[ $have_workflow_tools == 1 ]]; then
    check "workflow-parser accepts action.yml and examples/workflows" "$LOGS/parser.log" \
      "$KEYSWEEP_GHA_VALIDATE" "${files[@]}"
    check "zizmor --offline: no findings in action.yml and examples/workflows" "$LOGS/zizmor.log" \
      "$ZIZMOR" --offline --no-progress "${files[@]}"
    check "actionlint: .github/workflows (release)" "$LOGS/actionlint.log" \
      "$ACTIONLINT" "$ROOT"/.github/workflows/*.yml
    # every `uses:` of a third-party action is pinned to a full commit SHA
    if grep -hE '^\s*-?\s*uses:' "${files[@]}" | grep -vE 'uses:\s*\./' |
       grep -vE '@[0-9a-f]{40}(\s|$)' >"$LOGS/pins.log"; then
      bad "every action is pinned to a full commit SHA" "$LOGS/pins.log"
    else ok "every action is pinned to a full commit SHA"; fi
  else
    missing "workflow-parser and zizmor" "scripts/workflow-tools.sh (node/npm or python venv)"
  fi
fi

# ================================================================ pre-commit
if want precommit; then
  if [[ $have_fakes == 1 ]]; then
    export PRE_COMMIT_HOME="$T/pre-commit-home"
    check "pre-commit validate-manifest .pre-commit-hooks.yaml" "$LOGS/manifest.log" \
      pre-commit validate-manifest "$ROOT/.pre-commit-hooks.yaml"

    R="$T/pc-repo"; mkrepo "$R"
    S1=$(secret)
    try_hook() { (cd "$R" && pre-commit try-repo "$ROOT" keysweep-system --color never) >"$1" 2>&1; }

    # a staged secret blocks, with the rule, the place, and no clear secret
    printf 'APP_ENV=prod\nGITHUB_TOKEN=%s\n' "$S1" >"$R/app.env"
    git -C "$R" add app.env
    if try_hook "$LOGS/pc-block.log" || ! grep -q 'exit code: 1' "$LOGS/pc-block.log"; then
      bad "try-repo keysweep-system blocks a staged secret (exit 1)" "$LOGS/pc-block.log"
    elif ! grep -q 'app.env:2' "$LOGS/pc-block.log" || ! grep -qi 'github' "$LOGS/pc-block.log"; then
      bad "try-repo keysweep-system: message names the rule and app.env:2" "$LOGS/pc-block.log"
    elif grep -qF "$S1" "$LOGS/pc-block.log"; then bad "try-repo keysweep-system: the secret is redacted" "$LOGS/pc-block.log"
    else ok "try-repo keysweep-system blocks a staged secret (rule, app.env:2, redacted)"; fi

    # the staged content counts, not the working tree
    printf 'APP_ENV=prod\n' >"$R/app.env"
    if try_hook "$LOGS/pc-index.log" || ! grep -q 'exit code: 1' "$LOGS/pc-index.log"; then bad "hook scans the index, not the working tree" "$LOGS/pc-index.log"
    else ok "hook scans the index: a staged secret edited away in the working tree still blocks"; fi

    # a clean change passes
    git -C "$R" reset -q; rm -f "$R/app.env"
    printf 'APP_ENV=prod\nLOG_LEVEL=debug\n' >"$R/clean.env"
    git -C "$R" add clean.env
    if try_hook "$LOGS/pc-clean.log" && grep -q 'Passed' "$LOGS/pc-clean.log"; then
      ok "try-repo keysweep-system passes a clean change"
    else bad "try-repo keysweep-system passes a clean change" "$LOGS/pc-clean.log"; fi

    # keysweep:allow on the line
    printf 'GITHUB_TOKEN=%s  # keysweep:allow (test fixture)\n' "$(secret)" >"$R/fixture.env"
    git -C "$R" add fixture.env
    if try_hook "$LOGS/pc-allow.log"; then ok "keysweep:allow passes through the hook"
    else bad "keysweep:allow passes through the hook" "$LOGS/pc-allow.log"; fi
    git -C "$R" commit -qm "clean + fixture" --no-verify

    # baseline: an accepted secret passes, a new one still blocks (config `baseline =`)
    B="$T/pc-base"; mkrepo "$B"
    printf 'LEGACY_TOKEN=%s\n' "$(secret)" >"$B/legacy.env"
    # (the baseline is written before the config names it: `keysweep baseline` reads the
    # configured baseline and fails while it does not exist yet)
    (cd "$B" && keysweep baseline . >"$LOGS/baseline-make.log" 2>&1)
    printf 'baseline = ".keysweep-baseline.json"\n' >"$B/.keysweep.toml"
    git -C "$B" add .keysweep.toml .keysweep-baseline.json legacy.env
    if (cd "$B" && pre-commit try-repo "$ROOT" keysweep-system --color never) >"$LOGS/pc-baseline.log" 2>&1; then
      ok "baseline (from .keysweep.toml) accepts a known secret through the hook"
    else bad "baseline (from .keysweep.toml) accepts a known secret through the hook" "$LOGS/pc-baseline.log"; fi
    printf 'NEW_TOKEN=%s\n' "$(secret)" >"$B/new.env"
    git -C "$B" add new.env
    if (cd "$B" && pre-commit try-repo "$ROOT" keysweep-system --color never) >"$LOGS/pc-baseline2.log" 2>&1 ||
       ! grep -q 'exit code: 1' "$LOGS/pc-baseline2.log"; then
      bad "baseline does not hide a new secret" "$LOGS/pc-baseline2.log"
    else ok "baseline does not hide a new secret"; fi

    # the real thing: .pre-commit-config.yaml + pre-commit install + git commit
    C="$T/pc-commit"; mkrepo "$C"
    rev=$(git -C "$ROOT" rev-parse HEAD)
    if git -C "$ROOT" diff --quiet HEAD -- .pre-commit-hooks.yaml; then
      printf 'LEGACY=%s\n' "$(secret)" >"$C/legacy.env"
      (cd "$C" && keysweep baseline . --baseline-file .secrets-baseline.json >"$LOGS/baseline-c.log" 2>&1)
      cat >"$C/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $ROOT
    rev: $rev
    hooks:
      - id: keysweep-system
        args: [--baseline, .secrets-baseline.json]
EOF
      git -C "$C" add .pre-commit-config.yaml .secrets-baseline.json legacy.env
      (cd "$C" && pre-commit install >"$LOGS/pc-install.log" 2>&1)
      head_before=$(git -C "$C" rev-parse HEAD)
      if (cd "$C" && git commit -qm "legacy secret accepted by the baseline (args)") >"$LOGS/pc-commit1.log" 2>&1; then
        ok "git commit through pre-commit install: baseline passed as hook args"
      else bad "git commit through pre-commit install: baseline passed as hook args" "$LOGS/pc-commit1.log"; fi
      printf 'TOKEN=%s\n' "$(secret)" >"$C/leak.env"
      git -C "$C" add leak.env
      head_before=$(git -C "$C" rev-parse HEAD)
      if (cd "$C" && git commit -qm "leak") >"$LOGS/pc-commit2.log" 2>&1 ||
         [[ "$(git -C "$C" rev-parse HEAD)" != "$head_before" ]] || ! grep -q 'exit code: 1' "$LOGS/pc-commit2.log"; then
        bad "git commit of a staged secret is refused by the installed hook" "$LOGS/pc-commit2.log"
      else ok "git commit of a staged secret is refused by the installed hook"; fi
    else
      missing "git commit through pre-commit install" "a committed .pre-commit-hooks.yaml"
    fi
  else
    missing "pre-commit proofs" "pre-commit (scripts/fakes.sh)"
  fi
fi

# ================================================================ action
if want action; then
  if [[ $have_fakes == 1 ]] && command -v jq >/dev/null; then
    source "$HERE/action_tests.sh"
  else
    missing "GitHub Action proofs" "act / prism / webhook examples (scripts/fakes.sh) or jq"
  fi
fi

# ================================================================ release
if want release; then
  # needs only act (not Prism): the tools part of scripts/fakes.sh
  command -v act >/dev/null || eval "$(KEYSWEEP_FAKES=tools "$ROOT/scripts/fakes.sh" start 2>>"$LOGS/fakes.log")" || true
  if command -v act >/dev/null; then source "$HERE/release_tests.sh"
  else missing "release workflow under act" "act (scripts/fakes.sh)"; fi
fi

if [[ $skip -gt 0 ]]; then echo "surfaces: $pass passed, $fail failed, $skip skipped"
else echo "surfaces: $pass passed, $fail failed"; fi
[[ $fail -eq 0 ]]
