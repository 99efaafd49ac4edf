# Sourced by tests/surfaces/run.sh (uses its ok/bad/missing, $T, $LOGS, $ROOT, $HERE, secret).
# The composite action under `act` (host mode): a local bare repository plays GitHub's git
# side (refs/pull/N/head and refs/pull/N/merge as GitHub keeps them), Prism plays the REST API,
# a local HTTP server plays the release downloads, stand-ins replace actions/checkout,
# actions/cache and codeql-action/upload-sarif (act has no network), and the example
# workflows themselves are what act runs.

A="$T/act"
O="$A/origin.git"   # "GitHub"
W="$A/work"         # where the history is made (and where act is started)
mkdir -p "$A"
pin() { sed -n "s|.*uses: $1@\([0-9a-f]\{40\}\).*|\1|p" "$2" | head -1; }
PR_WF="$ROOT/examples/workflows/keysweep-pr.yml"
HIST_WF="$ROOT/examples/workflows/keysweep-scheduled.yml"
KS_SHA=$(pin keysweep/keysweep "$PR_WF")
CHECKOUT_SHA=$(pin actions/checkout "$PR_WF")
CODEQL_SHA=$(pin 'github/codeql-action/upload-sarif' "$HIST_WF")
CACHE_SHA=$(sed -n 's|.*uses: actions/cache@\([0-9a-f]\{40\}\).*|\1|p' "$ROOT/action.yml")

# ---- the action as a user's runner gets it: the tracked files only (not target/)
SRC="$A/keysweep-action"
mkdir -p "$SRC"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$SRC"

# ---- history: main has an old secret added then deleted; PR 2 (feature) adds a secret in its
# first commit and deletes it in its last; PR 3 is clean; main moves on after both branched.
S_OLD=$(secret) S_PR=$(secret) S_ACC=$(secret)
git init -q --bare "$O"
git -C "$O" config uploadpack.allowAnySHA1InWant true   # as GitHub: fetch by commit id
git clone -q "$O" "$W" 2>/dev/null
(
  cd "$W"
  echo "# service" >README.md && git add . && git commit -qm "init"
  printf 'DB_HOST=db\nOLD_TOKEN=%s\n' "$S_OLD" >old.env && git add . && git commit -qm "old config"
  git rm -q old.env && git commit -qm "remove old config"
  git push -q origin HEAD:refs/heads/main
  git checkout -qb feature
  printf 'APP_ENV=prod\nGITHUB_TOKEN=%s\n' "$S_PR" >app.env && git add . && git commit -qm "add app config"
  echo "notes" >notes.txt && git add . && git commit -qm "notes"
  git rm -q app.env && git commit -qm "oops, remove the token"
  git push -q origin HEAD:refs/heads/feature HEAD:refs/pull/2/head
  git checkout -q main
  git checkout -qb docs
  printf 'Run `make` to build.\n' >BUILD.md && git add . && git commit -qm "build docs"
  git push -q origin HEAD:refs/pull/3/head
  git checkout -q main
  git checkout -qb accepted   # PR 4: a secret the repository's baseline accepts
  printf 'LEGACY_TOKEN=%s\n' "$S_ACC" >legacy.env
  keysweep baseline . && printf 'baseline = ".keysweep-baseline.json"\n' >.keysweep.toml
  git add . && git commit -qm "legacy token, accepted in the baseline"
  git push -q origin HEAD:refs/pull/4/head
  git checkout -q main
  echo "v2" >CHANGELOG && git add . && git commit -qm "changelog"
  git push -q origin HEAD:refs/heads/main
  for n in 2 3 4; do
    git checkout -q --detach main
    git fetch -q origin "refs/pull/$n/head"
    git merge -q --no-ff -m "Merge pull request #$n" FETCH_HEAD
    git push -q origin "HEAD:refs/pull/$n/merge"
  done
  git checkout -q main
) >"$LOGS/history.log" 2>&1
MAIN=$(git -C "$O" rev-parse refs/heads/main)
FEATURE=$(git -C "$O" rev-parse refs/pull/2/head)
DOCS=$(git -C "$O" rev-parse refs/pull/3/head)
ACCEPTED=$(git -C "$O" rev-parse refs/pull/4/head)
BRANCH_POINT=$(git -C "$O" merge-base refs/heads/main refs/pull/2/head)

# ---- real webhook payloads, pointed at this history
EV="$A/events"
mkdir -p "$EV"
jq --arg b "$MAIN" --arg h "$FEATURE" '.number = 2 | .pull_request.number = 2
  | .pull_request.base.sha = $b | .pull_request.base.ref = "main"
  | .pull_request.head.sha = $h | .pull_request.head.ref = "feature" | .pull_request.commits = 3' \
  "$KEYSWEEP_EVENTS/pull_request.opened.json" >"$EV/pr2.json"
jq --arg b "$MAIN" --arg h "$DOCS" '.number = 3 | .pull_request.number = 3
  | .pull_request.base.sha = $b | .pull_request.base.ref = "main"
  | .pull_request.head.sha = $h | .pull_request.head.ref = "docs" | .pull_request.commits = 1' \
  "$KEYSWEEP_EVENTS/pull_request.opened.json" >"$EV/pr3.json"
jq --arg b "$MAIN" --arg h "$ACCEPTED" '.number = 4 | .pull_request.number = 4
  | .pull_request.base.sha = $b | .pull_request.base.ref = "main"
  | .pull_request.head.sha = $h | .pull_request.head.ref = "accepted" | .pull_request.commits = 1' \
  "$KEYSWEEP_EVENTS/pull_request.opened.json" >"$EV/pr4.json"
# a synchronize payload that does not say how many commits: the action must deepen by itself
jq --arg b "$MAIN" --arg h "$FEATURE" '.number = 2 | .pull_request.number = 2
  | .pull_request.base.sha = $b | .pull_request.base.ref = "main"
  | .pull_request.head.sha = $h | .pull_request.head.ref = "feature" | del(.pull_request.commits)' \
  "$KEYSWEEP_EVENTS/pull_request.synchronize.json" >"$EV/pr2-sync.json"
jq --arg b "$BRANCH_POINT" --arg a "$FEATURE" '.ref = "refs/heads/feature" | .before = $b | .after = $a
  | .created = false | .deleted = false | .base_ref = null' \
  "$KEYSWEEP_EVENTS/push.json" >"$EV/push-feature.json"
# the example push payload creates a ref (before = 0000...): here, the feature branch
jq --arg a "$FEATURE" '.ref = "refs/heads/feature" | .after = $a | .created = true
  | .repository.default_branch = "main"' "$KEYSWEEP_EVENTS/push.json" >"$EV/push-new-branch.json"
cp "$KEYSWEEP_EVENTS/workflow_dispatch.json" "$EV/dispatch.json"

# ---- release downloads: the binary under test, as the release of the pinned commit
REL="$A/release/v$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
mkdir -p "$REL"
tar -czf "$REL/keysweep-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$KEYSWEEP_BIN")" keysweep
(cd "$REL" && sha256sum keysweep-*.tar.gz >SHA256SUMS)
echo "$KS_SHA" >"$REL/COMMIT"
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$RPORT" --bind 127.0.0.1 --directory "$A/release" >"$LOGS/release-server.log" 2>&1 &
RELEASE_PID=$!
for _ in $(seq 1 40); do curl -fs -o /dev/null "http://127.0.0.1:$RPORT/" && break; sleep 0.25; done
# the binary act's tool cache kept from an earlier run is not the one under test
rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/act/tool_cache/keysweep"

API="$KEYSWEEP_GH_API"
reqs() { curl -fsS "$API/__requests"; }
reset_api() { curl -fsS -X POST "$API/__reset" >/dev/null; }

run_act() { # log event payload workflow [act args...]
  local log=$1 event=$2 payload=$3 wf=$4; shift 4
  (cd "$W" && act "$event" -P ubuntu-latest=-self-hosted --no-skip-checkout -e "$payload" -W "$wf" \
    --local-repository "actions/checkout@$CHECKOUT_SHA=$HERE/standins/checkout" \
    --local-repository "actions/cache@$CACHE_SHA=$HERE/standins/cache" \
    --local-repository "github/codeql-action@$CODEQL_SHA=$HERE/standins/codeql-action" \
    --local-repository "keysweep/keysweep@$KS_SHA=$SRC" \
    --env KS_ORIGIN="$O" --env GITHUB_API_URL="$API" \
    --env KEYSWEEP_DOWNLOAD_URL="http://127.0.0.1:$RPORT" \
    -s GITHUB_TOKEN=ghs_surfacetestsfaketoken000000000000 "$@") >"$log" 2>&1
}
output_of() { sed -n "s/.*::set-output:: $1=//p" "$2" | tail -1 | tr -d '\r'; }
sarif_ok() { # file: valid against the SARIF 2.1.0 schema, with N>0 results
  [[ -s "$1" ]] && check-jsonschema --schemafile "$ROOT/tests/data/sarif-2.1.0.json" "$1" >/dev/null &&
    [[ $(jq '.runs[0].results | length' "$1") -gt 0 ]]
}

# ================= 1. PR that adds a secret (shallow checkout, comment: true)
reset_api
L="$LOGS/act-pr2.log"
rc=0; run_act "$L" pull_request "$EV/pr2.json" "$PR_WF" || rc=$?
sarif=$(output_of sarif-file "$L")
if [[ $rc -eq 0 ]] || ! grep -q '🏁  Job failed' "$L"; then
  bad "act: a PR that adds a secret fails the job" "$L" 40
else ok "act: a PR that adds a secret fails the job"; fi
if grep -qE '::error file=app\.env,line=2,col=[0-9]+,endLine=2,.*title=keysweep%3A GitHub' "$L"; then
  ok "act: annotation on the added line (app.env:2), though a later PR commit deleted the file"
else bad "act: annotation on the added line (app.env:2)" "$L" 40; fi
if grep -q 'Summary - ## keysweep' "$L" && grep -q '| Rule | Secret (redacted) | Location | Confidence |' "$L" &&
   grep -qF '`app.env:2`' "$L"; then
  ok "act: step summary with the findings table"
else bad "act: step summary with the findings table" "$L" 40; fi
if [[ "$(output_of new-findings "$L")" == 1 && "$(output_of findings "$L")" == 1 ]]; then
  ok "act: outputs findings=1 new-findings=1"
else bad "act: outputs findings=1 new-findings=1" "$L" 20; fi
if sarif_ok "$sarif"; then ok "act: output sarif-file is valid SARIF 2.1.0 (official schema) with the result"
else bad "act: output sarif-file is valid SARIF 2.1.0 with the result ($sarif)" "$L" 20; fi
if grep -q 'checkout stand-in: refs/pull/2/merge .*shallow: true' "$L" && grep -q 'git fetch --depth' "$L"; then
  ok "act: shallow checkout (fetch-depth 1 of refs/pull/2/merge): the action fetched the PR's commits"
else bad "act: shallow checkout handled" "$L" 40; fi
if grep -q 'sha256 verified' "$L" && grep -q 'keysweep-x86_64-unknown-linux-musl.tar.gz' "$L"; then
  ok "act: installs the release asset of the pinned commit, sha256-verified"
else bad "act: installs the release asset of the pinned commit, sha256-verified" "$L" 40; fi
if grep -qF "$S_PR" "$L" || { [[ -f "$sarif" ]] && grep -qF "$S_PR" "$sarif"; }; then
  bad "act: the secret never appears in clear (log, SARIF)"
else ok "act: the secret never appears in clear (log, SARIF)"; fi
reqs >"$LOGS/api-pr2.json"
post=$(jq -c '[.[] | select(.method == "POST" and (.path | test("^/repos/Codertocat/Hello-World/issues/2/comments$")))]' "$LOGS/api-pr2.json")
if [[ $(jq length <<<"$post") == 1 ]] && jq -e '.[0] | .status == 201 and (.violations | length) == 0
     and .authorization and (.body.body | contains("<!-- keysweep -->")) and (.body.body | contains("app.env:2"))' <<<"$post" >/dev/null; then
  ok "act: one PR comment POSTed to the GitHub stand-in; Prism validated it against GitHub's OpenAPI (201, no violation)"
else bad "act: PR comment POSTed and valid against GitHub's OpenAPI" "$LOGS/api-pr2.json" 5; fi

# the stand-in really validates: a malformed comment is refused
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"bdy": 1}' "$API/repos/Codertocat/Hello-World/issues/2/comments")
if [[ "$code" == 422 ]]; then ok "GitHub stand-in rejects a comment that breaks the schema (422)"
else bad "GitHub stand-in rejects a comment that breaks the schema (got $code)"; fi

# ================= 2. the comment is updated in place on the next run
reset_api
curl -fsS -X POST "$API/__stub" -H 'Content-Type: application/json' -d '{"method":"GET",
  "path":"^/repos/Codertocat/Hello-World/issues/2/comments$","status":200,"times":1,
  "body":[{"id":1001,"body":"LGTM","user":{"login":"octocat","type":"User"}},
          {"id":1002,"body":"<!-- keysweep -->\n### keysweep\nold","user":{"login":"github-actions[bot]","type":"Bot"}}]}' >/dev/null
L="$LOGS/act-pr2-again.log"
run_act "$L" pull_request "$EV/pr2.json" "$PR_WF" || true
reqs >"$LOGS/api-pr2-again.json"
if jq -e '[.[] | select(.method == "PATCH" and .path == "/repos/Codertocat/Hello-World/issues/comments/1002"
          and .status == 200 and (.violations | length) == 0)] | length == 1' "$LOGS/api-pr2-again.json" >/dev/null &&
   jq -e '[.[] | select(.method == "POST")] | length == 0' "$LOGS/api-pr2-again.json" >/dev/null; then
  ok "act: a second run PATCHes the existing keysweep comment (schema-valid), adds none"
else bad "act: a second run PATCHes the existing comment" "$LOGS/api-pr2-again.json" 5; fi

# ================= 3. a clean PR passes
reset_api
L="$LOGS/act-pr3.log"
rc=0; run_act "$L" pull_request "$EV/pr3.json" "$PR_WF" || rc=$?
if [[ $rc -eq 0 ]] && grep -q '🏁  Job succeeded' "$L" && [[ "$(output_of new-findings "$L")" == 0 ]] &&
   grep -q 'No new secrets in the pull request #3' "$L"; then
  ok "act: a clean PR passes (new-findings=0, summary says so)"
else bad "act: a clean PR passes" "$L" 40; fi
if [[ $(reqs | jq '[.[] | select(.method == "POST" or .method == "PATCH")] | length') == 0 ]]; then
  ok "act: a clean PR without an earlier comment gets no comment"
else bad "act: a clean PR without an earlier comment gets no comment"; fi

# ================= 3b. a secret the baseline accepts: counted, not new, the job passes
L="$LOGS/act-pr4.log"
rc=0; run_act "$L" pull_request "$EV/pr4.json" "$PR_WF" || rc=$?
if [[ $rc -eq 0 ]] && [[ "$(output_of findings "$L")" == 1 && "$(output_of new-findings "$L")" == 0 ]] &&
   grep -q 'Not reported: 1 accepted by the baseline' "$L" && ! grep -q '::error file=legacy.env' "$L"; then
  ok "act: a secret in the baseline (.keysweep.toml) passes: findings=1, new-findings=0, summary says accepted"
else bad "act: baseline accepted finding" "$L" 40; fi

# ================= 4. shallow beyond what the payload says: deepen until the range is visible
L="$LOGS/act-pr2-sync.log"
rc=0; run_act "$L" pull_request "$EV/pr2-sync.json" "$PR_WF" || rc=$?
if [[ $rc -ne 0 ]] && grep -q 'git fetch --deepen' "$L" && grep -q '::error file=app\.env,line=2' "$L"; then
  ok "act: range past the shallow boundary: the action deepens and still finds the secret"
else bad "act: range past the shallow boundary is deepened" "$L" 40; fi

# ================= 5. cannot fetch the history: fails loudly, never passes
L="$LOGS/act-nofetch.log"
rc=0; run_act "$L" pull_request "$EV/pr3.json" "$PR_WF" --env KEYSWEEP_REMOTE=unreachable || rc=$?
if [[ $rc -ne 0 ]] && grep -q '::error title=keysweep::scan failed' "$L" && grep -qi 'shallow\|not in this repository' "$L"; then
  ok "act: history that cannot be fetched fails the job with an error, not a pass"
else bad "act: history that cannot be fetched fails the job loudly" "$L" 40; fi

# ================= 6. push: the pushed range
L="$LOGS/act-push.log"
rc=0; run_act "$L" push "$EV/push-feature.json" "$PR_WF" || rc=$?
if [[ $rc -ne 0 ]] && grep -q 'scanning the push to refs/heads/feature' "$L" &&
   grep -q '::error file=app\.env,line=2' "$L" && ! grep -q 'file=old\.env' "$L"; then
  ok "act: push scans before..after only (finds the pushed secret, not main's old one)"
else bad "act: push scans before..after" "$L" 40; fi

L="$LOGS/act-push-new.log"
rc=0; run_act "$L" push "$EV/push-new-branch.json" "$PR_WF" || rc=$?
if [[ $rc -ne 0 ]] && grep -q 'refs/heads/main:refs/keysweep/default' "$L" &&
   grep -q '::error file=app\.env,line=2' "$L" && ! grep -q 'file=old\.env' "$L"; then
  ok "act: push creating a branch scans what it adds over the default branch"
else bad "act: push creating a branch" "$L" 40; fi

# ================= 7. workflow_dispatch / schedule: full history, SARIF to upload-sarif
L="$LOGS/act-history.log"
rc=0; run_act "$L" workflow_dispatch "$EV/dispatch.json" "$HIST_WF" || rc=$?
if [[ $rc -eq 0 ]] && grep -q 'scanning the full history' "$L" && grep -q '::error file=old\.env,line=2' "$L" &&
   grep -q 'upload-sarif stand-in: 1 result' "$L" && [[ "$(output_of new-findings "$L")" == 1 ]]; then
  ok "act: workflow_dispatch scans the full history (a deleted secret), SARIF reaches upload-sarif, fail-on: none passes"
else bad "act: workflow_dispatch full-history scan" "$L" 40; fi

# ================= 9. a PR that adds a long-lived CI credential: error on its line, suggestions
# review (schema-valid, applying it gives `rotate --write`'s file), updated in place; warn passes
mkdir -p "$A/wf"
SUG_WF="$A/wf/keysweep-suggest.yml"
WARN_WF="$A/wf/keysweep-warn.yml"
sed -e 's/comment: true/suggest: true/' "$PR_WF" >"$SUG_WF"
sed -e 's/comment: true/pipeline-uses: warn/' "$PR_WF" >"$WARN_WF"
(
  cd "$W"
  git checkout -q main
  git checkout -qb deploy
  mkdir -p .github/workflows
  cat >.github/workflows/deploy.yml <<'YAML'
name: deploy
on:
  push:
    branches: [main]
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
        with:
          persist-credentials: false
      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
      - run: aws s3 sync dist s3://example-artifacts
YAML
  printf '[rotate]\naws_account_id = "123456789012"\naws_role_name = "deploy-from-github"\n' >.keysweep.toml
  git add . && git commit -qm "deploy workflow"
  git push -q origin HEAD:refs/pull/5/head
  git checkout -q --detach main
  git fetch -q origin refs/pull/5/head
  git merge -q --no-ff -m "Merge pull request #5" FETCH_HEAD
  git push -q origin HEAD:refs/pull/5/merge
  git checkout -q main
) >>"$LOGS/history.log" 2>&1
DEPLOY=$(git -C "$O" rev-parse refs/pull/5/head)
jq --arg b "$MAIN" --arg h "$DEPLOY" '.number = 5 | .pull_request.number = 5
  | .pull_request.base.sha = $b | .pull_request.base.ref = "main"
  | .pull_request.head.sha = $h | .pull_request.head.ref = "deploy" | .pull_request.commits = 1' \
  "$KEYSWEEP_EVENTS/pull_request.opened.json" >"$EV/pr5.json"

reset_api
L="$LOGS/act-pr5.log"
rc=0; run_act "$L" pull_request "$EV/pr5.json" "$SUG_WF" || rc=$?
if [[ $rc -ne 0 ]] && grep -q '🏁  Job failed' "$L" &&
   grep -qE '::error file=\.github/workflows/deploy\.yml,line=17,.*title=keysweep%3A' "$L"; then
  ok "act: a PR adding a static AWS key to a workflow fails with an error on its line (deploy.yml:17)"
else bad "act: a PR adding a static AWS key fails with an annotation on its line" "$L" 40; fi
reqs >"$LOGS/api-pr5.json"
review=$(jq -c '[.[] | select(.method == "POST" and .path == "/repos/Codertocat/Hello-World/pulls/5/reviews")]' "$LOGS/api-pr5.json")
if [[ $(jq length <<<"$review") == 1 ]] && jq -e '.[0] | (.status | tostring | test("^20")) and (.violations | length) == 0
     and (.body.body | contains("<!-- keysweep-suggest -->")) and (.body.comments | length) > 0
     and all(.body.comments[]; .body | contains("```suggestion"))
     and (.body.body | contains("<AWS_") | not)' <<<"$review" >/dev/null; then
  ok "act: suggest: true POSTs one review of suggested changes; Prism validated it against GitHub's OpenAPI"
else bad "act: suggestions review POSTed and schema-valid" "$LOGS/api-pr5.json" 5; fi
# the suggestions, applied to the PR's file, give exactly what `keysweep rotate --write` writes
RW="$A/rotate-write"
rm -rf "$RW" && mkdir -p "$RW"
git -C "$O" archive "$DEPLOY" -- .github .keysweep.toml | tar -x -C "$RW"
cp "$RW/.github/workflows/deploy.yml" "$A/deploy.head.yml"
keysweep rotate --write --quiet --repository Codertocat/Hello-World "$RW" >"$LOGS/rotate-write.log" 2>&1 || true
echo "$review" >"$A/review.json"
python3 - "$A/deploy.head.yml" "$A/deploy.suggested.yml" "$A/review.json" <<'PY' 2>>"$LOGS/rotate-write.log"
import json, re, sys
review = json.load(open(sys.argv[3]))[0]["body"]
lines = open(sys.argv[1]).read().split("\n")
edits = []
for c in review["comments"]:
    m = re.search(r"(`{3,})suggestion\n(.*?)\n\1", c["body"], re.S)
    start = c.get("start_line", c["line"])
    edits.append((start, c["line"], m.group(2).split("\n")))
for start, end, new in sorted(edits, reverse=True):
    lines[start - 1:end] = new
open(sys.argv[2], "w").write("\n".join(lines))
PY
if [[ -s "$A/deploy.suggested.yml" ]] && cmp -s "$A/deploy.suggested.yml" "$RW/.github/workflows/deploy.yml" &&
   ! cmp -s "$A/deploy.head.yml" "$RW/.github/workflows/deploy.yml"; then
  ok "act: the suggested changes, applied to the file, equal \`keysweep rotate --write\`'s rewrite"
else
  diff "$A/deploy.suggested.yml" "$RW/.github/workflows/deploy.yml" >>"$LOGS/rotate-write.log" 2>&1
  bad "act: the suggested changes equal rotate --write's rewrite" "$LOGS/rotate-write.log" 40
fi

# a later push: the earlier review is updated in place (body PUT, stale comment removed)
reset_api
curl -fsS -X POST "$API/__stub" -H 'Content-Type: application/json' -d '{"method":"GET",
  "path":"^/repos/Codertocat/Hello-World/pulls/5/reviews$","status":200,"times":1,
  "body":[{"id":77,"body":"Looks fine","state":"COMMENTED","user":{"login":"octocat","type":"User"}},
          {"id":88,"body":"<!-- keysweep-suggest -->\nold plan","state":"COMMENTED","user":{"login":"keysweep[bot]","type":"Bot"}}]}' >/dev/null
curl -fsS -X POST "$API/__stub" -H 'Content-Type: application/json' -d '{"method":"GET",
  "path":"^/repos/Codertocat/Hello-World/pulls/5/reviews/88/comments$","status":200,"times":1,
  "body":[{"id":901,"path":".github/workflows/deploy.yml","line":3,"body":"<!-- keysweep-suggest -->\nstale"}]}' >/dev/null
L="$LOGS/act-pr5-again.log"
run_act "$L" pull_request "$EV/pr5.json" "$SUG_WF" || true
reqs >"$LOGS/api-pr5-again.json"
if jq -e '[.[] | select(.method == "PUT" and .path == "/repos/Codertocat/Hello-World/pulls/5/reviews/88"
          and (.violations | length) == 0)] | length == 1' "$LOGS/api-pr5-again.json" >/dev/null &&
   jq -e '[.[] | select(.method == "DELETE" and .path == "/repos/Codertocat/Hello-World/pulls/comments/901")] | length == 1' "$LOGS/api-pr5-again.json" >/dev/null &&
   jq -e '[.[] | select(.method == "POST" and .path == "/repos/Codertocat/Hello-World/pulls/5/comments"
          and (.violations | length) == 0)] | length > 0' "$LOGS/api-pr5-again.json" >/dev/null &&
   jq -e '[.[] | select(.method == "POST" and .path == "/repos/Codertocat/Hello-World/pulls/5/reviews")] | length == 0' "$LOGS/api-pr5-again.json" >/dev/null; then
  ok "act: a second run updates its review in place (PUT body, stale suggestion deleted, new ones added; no second review)"
else bad "act: the suggestions review is updated in place" "$LOGS/api-pr5-again.json" 8; fi

# facts missing from .keysweep.toml: no suggestion (never a placeholder in one); the review
# shows the plan and the flags / config keys to fill
NF="$A/nofacts"
rm -rf "$NF" && mkdir -p "$NF"
git -C "$O" archive "$DEPLOY" -- .github | tar -x -C "$NF"
keysweep rotate --format json --quiet --repository Codertocat/Hello-World "$NF" >"$A/plan-nofacts.json" 2>>"$LOGS/review-nofacts.log" || true
keysweep scan --range "$MAIN..$DEPLOY" --format json --quiet "$W" >"$A/scan-pr5.json" 2>>"$LOGS/review-nofacts.log" || true
reset_api
(cd "$W" && GITHUB_EVENT_PATH="$EV/pr5.json" GITHUB_API_URL="$API" GITHUB_TOKEN=ghs_surfacetestsfaketoken000000000000 \
  python3 "$SRC/action/review.py" "$A/scan-pr5.json" "$A/plan-nofacts.json" "$MAIN" "$DEPLOY") >>"$LOGS/review-nofacts.log" 2>&1 || true
reqs >"$LOGS/api-nofacts.json"
if jq -e '[.[] | select(.method == "POST" and .path == "/repos/Codertocat/Hello-World/pulls/5/reviews"
          and (.violations | length) == 0)] | length == 1' "$LOGS/api-nofacts.json" >/dev/null &&
   jq -e '[.[] | select(.method == "POST" and .path == "/repos/Codertocat/Hello-World/pulls/5/reviews")][0].body
          | ([.comments[]? | select(.body | test("<[A-Z_]+>"))] | length == 0)
          and (.body | contains("--aws-account-id")) and (.body | contains("rotate.aws_account_id"))
          and (.body | contains("<AWS_ACCOUNT_ID>"))' "$LOGS/api-nofacts.json" >/dev/null; then
  ok "suggest without the facts: no suggestion holds a placeholder; the review shows the plan and the flags to fill"
else bad "suggest without the facts: no placeholder in a suggestion, flags shown" "$LOGS/api-nofacts.json" 5; fi

# pipeline-uses: warn -> a warning on the line, the job passes
reset_api
L="$LOGS/act-pr5-warn.log"
rc=0; run_act "$L" pull_request "$EV/pr5.json" "$WARN_WF" || rc=$?
if [[ $rc -eq 0 ]] && grep -q '🏁  Job succeeded' "$L" &&
   grep -qE '::warning file=\.github/workflows/deploy\.yml,line=17,' "$L" &&
   ! grep -qE '::error file=\.github/workflows/deploy\.yml' "$L"; then
  ok "act: pipeline-uses: warn annotates the new use as a warning and the job passes"
else bad "act: pipeline-uses: warn passes with a warning" "$L" 40; fi

# ================= 8. install.sh: checksum refused, source fallback
inst() { # dir env... : run install.sh plan+install like the composite action does
  local d=$1; shift
  mkdir -p "$d"; : >"$d/out"; : >"$d/path"
  env GITHUB_OUTPUT="$d/out" GITHUB_PATH="$d/path" GITHUB_ACTION_PATH="$SRC" RUNNER_OS=Linux RUNNER_ARCH=X64 \
    RUNNER_TOOL_CACHE="$d/tc" KEYSWEEP_DOWNLOAD_URL="http://127.0.0.1:$RPORT" "$@" \
    bash -c 'bash "$GITHUB_ACTION_PATH/action/install.sh" plan &&
      set -a && . "$GITHUB_OUTPUT" && set +a &&
      KEYSWEEP_DIR=$dir KEYSWEEP_TAG=$tag KEYSWEEP_COMMIT=$commit KEYSWEEP_REPO=$repo \
      bash "$GITHUB_ACTION_PATH/action/install.sh" install' >"$d/log" 2>&1
}
mkdir -p "$A/release/v9.9.9"
cp "$REL/keysweep-x86_64-unknown-linux-musl.tar.gz" "$A/release/v9.9.9/"
echo "0000000000000000000000000000000000000000000000000000000000000000  keysweep-x86_64-unknown-linux-musl.tar.gz" \
  >"$A/release/v9.9.9/SHA256SUMS"
if ! inst "$A/i-bad" KEYSWEEP_VERSION=v9.9.9 && grep -q 'checksum mismatch' "$A/i-bad/log" &&
   [[ ! -e "$A/i-bad/tc/keysweep" || -z "$(find "$A/i-bad/tc" -name keysweep -type f)" ]]; then
  ok "install: a release asset whose sha256 does not match is refused (job fails, nothing installed)"
else bad "install: a bad checksum is refused" "$A/i-bad/log"; fi
# no asset fits / the release was not built from the pinned commit: cargo install from source
FAKE="$A/fakecargo"; mkdir -p "$FAKE"
cat >"$FAKE/cargo" <<EOF
#!/bin/sh
echo "cargo \$*" >>"$A/cargo-calls"
while [ \$# -gt 0 ]; do [ "\$1" = --root ] && root=\$2; shift; done
mkdir -p "\$root/bin" && cp "$KEYSWEEP_BIN" "\$root/bin/keysweep"
EOF
chmod +x "$FAKE/cargo"
if inst "$A/i-src" ACTION_REF=1111111111111111111111111111111111111111 PATH="$FAKE:$PATH" &&
   grep -q "cargo install --locked --path $SRC --root .* --bin keysweep" "$A/cargo-calls" &&
   grep -q 'was not built from the pinned commit' "$A/i-src/log"; then
  ok "install: a commit no release was built from falls back to cargo install --locked --path <action>"
else bad "install: source-build fallback" "$A/i-src/log"; fi
if inst "$A/i-none" KEYSWEEP_VERSION=v0.0.404 PATH="$FAKE:$PATH" && grep -q 'no release asset' "$A/i-none/log" &&
   [[ $(wc -l <"$A/cargo-calls") == 2 ]]; then
  ok "install: a tag without assets falls back to the source build"
else bad "install: a tag without assets falls back to the source build" "$A/i-none/log"; fi
kill "$RELEASE_PID" 2>/dev/null; RELEASE_PID=
