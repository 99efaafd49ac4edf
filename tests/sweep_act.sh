#!/usr/bin/env bash
# examples/workflows/keysweep-sweep.yml under act (host mode): its matrix of 3 shard jobs and
# the merge job run for real on local bare repositories, the shard states travel through act's
# artifact server (the stand-ins in tests/sweep_standins/ use npm @actions/artifact, the client
# the real upload/download actions are built on). The merged report must equal one unsharded
# sweep of the same repositories. Run by tests/sweep_examples.rs.
#
# Usage: tests/sweep_act.sh KEYSWEEP_BIN
# Needs: act on PATH (scripts/fakes.sh tools), KEYSWEEP_ARTIFACT_NODE_PATH
#        (scripts/artifact-client.sh), git, python3, unzip or python3's zipfile.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
: "${KEYSWEEP_ARTIFACT_NODE_PATH:?run scripts/artifact-client.sh}"
WF="$ROOT/examples/workflows/keysweep-sweep.yml"
STANDINS="$ROOT/tests/sweep_standins"
T=$(mktemp -d "${TMPDIR:-/tmp}/keysweep-sweep-act.XXXXXX")
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$T/act.log" ]] && tail -n 60 "$T/act.log" >&2; exit 1; }

mkdir -p "$T/bin" "$T/repos"
ln -s "$BIN" "$T/bin/keysweep"
export PATH="$T/bin:$PATH"
cat >"$T/gitconfig" <<EOF
[user]
	name = Sweep Test
	email = sweep@example.com
[init]
	defaultBranch = main
[commit]
	gpgsign = false
EOF
export GIT_CONFIG_GLOBAL="$T/gitconfig" GIT_CONFIG_NOSYSTEM=1

# six repositories, each with a synthetic token in its history (half of them only in history)
: >"$T/repos.txt"
for i in 0 1 2 3 4 5; do
  b="$T/repos/r$i.git" w="$T/repos/r$i"
  git init -q --bare "$b"
  git init -q "$w"
  printf 'token = "%s"\n' "$(python3 "$ROOT/tests/surfaces/gen_secret.py")" >"$w/config.txt"
  git -C "$w" add -A && git -C "$w" commit -qm "config"
  if (( i % 2 )); then
    echo 'token = "${{ secrets.TOKEN }}"' >"$w/config.txt"
    git -C "$w" commit -qam "use the secret"
  fi
  git -C "$w" push -q "$b" HEAD:refs/heads/main
  echo "$b" >>"$T/repos.txt"
done

# the repository that holds the workflow's repos.txt, as "GitHub" serves it to checkout
O="$T/origin.git" W="$T/work"
git init -q --bare "$O"
git init -q "$W"
cp "$T/repos.txt" "$W/repos.txt"
git -C "$W" add -A && git -C "$W" commit -qm "repositories to sweep"
git -C "$W" push -q "$O" HEAD:refs/heads/main
echo '{"inputs": {}, "ref": "refs/heads/main"}' >"$T/event.json"

pin() { sed -n "s|.*uses: $1@\([0-9a-f]\{40\}\).*|\1|p" "$WF" | head -1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rc=0
(cd "$W" && act workflow_dispatch -W "$WF" -e "$T/event.json" -P ubuntu-latest=-self-hosted \
  --no-skip-checkout --concurrent-jobs 1 \
  --artifact-server-path "$T/artifacts" --artifact-server-addr 127.0.0.1 --artifact-server-port "$PORT" \
  --local-repository "actions/checkout@$(pin actions/checkout)=$ROOT/tests/surfaces/standins/checkout" \
  --local-repository "actions/cache@$(pin actions/cache)=$ROOT/tests/surfaces/standins/cache" \
  --local-repository "actions/upload-artifact@$(pin actions/upload-artifact)=$STANDINS/upload-artifact" \
  --local-repository "actions/download-artifact@$(pin actions/download-artifact)=$STANDINS/download-artifact" \
  --env KS_ORIGIN="$O" --env KEYSWEEP_ARTIFACT_NODE_PATH="$KEYSWEEP_ARTIFACT_NODE_PATH" \
  --env KEYSWEEP_STANDINS="$STANDINS" \
  --env PATH="$PATH" \
  -s KEYSWEEP_GIT_TOKEN=unused-for-local-paths) >"$T/act.log" 2>&1 || rc=$?
[[ $rc == 0 ]] || fail "act exited $rc"

for i in 0 1 2; do
  grep -q "shard $i.*Job succeeded" "$T/act.log" || fail "shard $i did not succeed"
  grep -q "uploaded artifact keysweep-shard-$i " "$T/act.log" || fail "shard $i uploaded no state"
done
grep -q "merge and report.*Job succeeded" "$T/act.log" || fail "the merge job did not succeed"
n=$(grep -c "downloaded artifact keysweep-shard-" "$T/act.log" || true)
[[ $n == 3 ]] || fail "the merge job downloaded $n shard states, not 3"
grep -q "uploaded artifact keysweep-sweep-report " "$T/act.log" || fail "no report artifact"

# the report, as the artifact server keeps it
report=$(find "$T/artifacts" -path '*keysweep-sweep-report*' -type f | head -1)
[[ -n "$report" ]] || fail "no report in act's artifact store: $(find "$T/artifacts" | head)"
mkdir -p "$T/report"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$report" "$T/report" ||
  cp "$report" "$T/report/"
for f in sweep.json sweep.md sweep.html; do [[ -s "$T/report/$f" ]] || fail "the report has no $f"; done

# the same repositories in one unsharded sweep give the same findings
keysweep sweep --quiet --repos "$T/repos.txt" --cache "$T/local" --json "$T/local.json" || [[ $? == 1 ]]
python3 - "$T/report/sweep.json" "$T/local.json" <<'PY' || fail "merged report differs from one sweep"
import json, sys
merged, whole = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda r: sorted((f["repo"], f["fingerprint"], f["status"]) for f in r["findings"])
assert key(merged) == key(whole), (key(merged), key(whole))
assert merged["repositories"] == whole["repositories"] == 6, merged["repositories"]
assert merged["open_findings"] == whole["open_findings"] == 3, merged["open_findings"]
assert merged["fixed_findings"] == 3, merged["fixed_findings"]
assert merged["failed"] == 0
PY
grep -q "6 repositories, 0 failed, 3 open findings" "$T/act.log" "$T/report/sweep.md" ||
  fail "the summary line is not in the step summary"
echo "sweep workflow under act: 3 shards + merge ok, merged report equals one sweep"
