#!/usr/bin/env bash
# The org-wide sweep benchmark: `keysweep sweep` over 200 generated bare repositories (varied
# sizes; a quarter carry a synthetic token only in their history), a first sweep, then one new
# commit in 5 of them and a re-sweep; in the same run Kingfisher scanning the same 200
# repositories one after another, as an org sweep with it does (warmed once first).
#
#   bench/sweep.sh
#
# Environment:
#   REPOS=200                 repositories
#   WORK=/tmp/keysweep-bench-sweep   where repositories, cache and outputs go (repositories reused)
#   KEYSWEEP=target/release/keysweep   (built with the `sweep` feature: --features full)
#   KINGFISHER=kingfisher     (`pip install kingfisher-bin`); KINGFISHER=skip leaves it out
#   JOBS=                     --jobs for the sweep (default: keysweep's default)
#
# Prints wall and CPU (user+sys) time and peak RSS of each phase, the re-sweep / first-sweep
# ratio (target <= 5%), Kingfisher's time over the 200 repositories and the speed-ups
# (targets: first sweep >= 3x, re-sweep >= 30x), and recall of the history-only tokens.
set -euo pipefail
cd "$(dirname "$0")/.."

REPOS=${REPOS:-200}
WORK=${WORK:-/tmp/keysweep-bench-sweep}
KEYSWEEP=${KEYSWEEP:-target/release/keysweep}
KINGFISHER=${KINGFISHER:-kingfisher}
[ -x "$KEYSWEEP" ] || { echo "$KEYSWEEP not built: cargo build --release --features full" >&2; exit 2; }
KEYSWEEP=$(realpath "$KEYSWEEP")
if [ "$KINGFISHER" != skip ] && ! command -v "$KINGFISHER" >/dev/null; then
  echo "kingfisher not found: pip install kingfisher-bin (or KINGFISHER=skip)" >&2; exit 2
fi
jobs=()
[ -n "${JOBS:-}" ] && jobs=(--jobs "$JOBS")
mkdir -p "$WORK"

# ---- 200 bare repositories, generated with git fast-import (deterministic, reused)
if [ ! -f "$WORK/repos/.done-$REPOS" ]; then
  rm -rf "$WORK/repos"
  mkdir -p "$WORK/repos"
  echo "generating $REPOS repositories in $WORK/repos ..." >&2
  python3 - "$WORK/repos" "$REPOS" <<'PY'
import os, random, subprocess, sys, zlib
root, n = sys.argv[1], int(sys.argv[2])
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def base62(v, width):
    s = ""
    while v:
        s = ALNUM[v % 62] + s
        v //= 62
    return s.rjust(width, "0")
def token(rng):  # synthetic GitHub classic token: random body, valid CRC32 tail; never real
    body = "".join(rng.choice(ALNUM) for _ in range(30))
    return "ghp_" + body + base62(zlib.crc32(body.encode()), 6)
words = "deploy service config cache queue worker handler request response retry timeout value".split()
secrets = open(os.path.join(root, "history-secrets.txt"), "w")
for i in range(n):
    rng = random.Random(i)
    # sizes: mostly small, some medium, a few large (commits, files, lines per file)
    kind = rng.choices(["small", "medium", "large"], [6, 3, 1])[0]
    commits = {"small": rng.randint(3, 15), "medium": rng.randint(30, 80), "large": rng.randint(150, 300)}[kind]
    nfiles = {"small": rng.randint(5, 20), "medium": rng.randint(20, 60), "large": rng.randint(60, 150)}[kind]
    files = {f"src/mod{j}.txt": [" ".join(rng.choice(words) for _ in range(8)) for _ in range(rng.randint(20, 200))]
             for j in range(nfiles)}
    leak = i % 4 == 0 and commits >= 3
    leak_at = rng.randint(1, commits - 2) if leak else -1
    repo = os.path.join(root, f"repo{i:03d}.git")
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    out = []
    def blob(path, text):
        data = text.encode()
        out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
    t = 1700000000 + i * 1000
    for c in range(commits):
        msg = f"change {c}".encode()
        out.append(b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n" % (t + c, len(msg), msg))
        changed = list(files) if c == 0 else rng.sample(list(files), min(3, len(files)))
        for path in changed:
            if c > 0:
                lines = files[path]
                lines[rng.randrange(len(lines))] = " ".join(rng.choice(words) for _ in range(8))
            blob(path, "\n".join(files[path]) + "\n")
        if c == leak_at:
            s = token(rng)
            secrets.write(s + "\n")
            blob("deploy.env", f"GITHUB_TOKEN={s}\n")
        if c == leak_at + 1:
            out.append(b"D deploy.env\n")
    subprocess.run(["git", "--git-dir", repo, "fast-import", "--quiet"], input=b"".join(out), check=True)
    subprocess.run(["git", "--git-dir", repo, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
secrets.close()
PY
  touch "$WORK/repos/.done-$REPOS"
fi
ls -d "$WORK"/repos/repo*.git | head -n "$REPOS" >"$WORK/repos.txt"
blob_mb=$(while read -r r; do git --git-dir "$r" cat-file --batch-all-objects --batch-check; done <"$WORK/repos.txt" |
  awk '$2=="blob"{s+=$3} END{printf "%.1f", s/1e6}')

timed() { # label cmd... -> "wall cpu rss_mb" on stdout, the command's output in $WORK/<label>.log
  local label=$1 tf="$WORK/$1.time"; shift
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$WORK/$label.log" 2>&1 || true
  awk '{printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$tf"
}

sweep() { # label
  timed "$1" "$KEYSWEEP" sweep --repos "$WORK/repos.txt" --cache "$WORK/cache" "${jobs[@]}" \
    --json "$WORK/$1.json"
}

# ---- first sweep (empty cache), then one new commit in 5 repositories and the re-sweep
rm -rf "$WORK/cache"
read -r first_wall first_cpu first_rss <<<"$(sweep first)"
for r in $(sed -n '3p;41p;87p;122p;190p' "$WORK/repos.txt"); do
  msg="new commit $(date +%s%N)"
  printf 'commit refs/heads/main\ncommitter Bench <bench@example.com> %s +0000\ndata %d\n%s\nfrom refs/heads/main^0\nM 100644 inline NEWS.txt\ndata %d\n%s\n\n' \
    "$(date +%s)" "${#msg}" "$msg" "${#msg}" "$msg" | git --git-dir "$r" fast-import --quiet
done
read -r re_wall re_cpu re_rss <<<"$(sweep resweep)"

found=$(grep -oE 'ghp_[A-Za-z0-9]{36}' "$WORK/repos/history-secrets.txt" | wc -l)
ks_recall=$(python3 - "$WORK/first.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(sum(1 for f in r["findings"] if f["rule_id"].startswith("github")))
PY
)

echo "keysweep sweep over $REPOS repositories ($blob_mb MB of blobs, $found history-only tokens); $(nproc) cores"
echo
echo "| phase | wall s | CPU s (user+sys) | peak RSS MB | notes |"
echo "|---|---|---|---|---|"
printf "| first sweep | %s | %s | %s | %s |\n" "$first_wall" "$first_cpu" "$first_rss" "$(tail -1 "$WORK/first.log")"
printf "| re-sweep (5 new commits) | %s | %s | %s | %s |\n" "$re_wall" "$re_cpu" "$re_rss" "$(tail -1 "$WORK/resweep.log")"

if [ "$KINGFISHER" != skip ]; then
  # warm once (rule compilation, page cache), then the 200 repositories one after another
  "$KINGFISHER" scan "$(head -1 "$WORK/repos.txt")" --no-validate --no-update-check >/dev/null 2>&1 || true
  cat >"$WORK/kingfisher-all.sh" <<EOF
#!/usr/bin/env bash
: >"$WORK/kingfisher-rss"
while read -r r; do
  /usr/bin/time -f '%M' -a -o "$WORK/kingfisher-rss" "$KINGFISHER" scan "\$r" --no-validate --no-update-check \
    --format json -o "$WORK/kf-\$(basename "\$r").json" >/dev/null 2>&1 || true
done <"$WORK/repos.txt"
EOF
  chmod +x "$WORK/kingfisher-all.sh"
  read -r kf_wall kf_cpu _ <<<"$(timed kingfisher "$WORK/kingfisher-all.sh")"
  kf_rss=$(sort -n "$WORK/kingfisher-rss" | tail -1 | awk '{printf "%.0f", $1 / 1024}')
  kf_found=$(cat "$WORK"/kf-repo*.json 2>/dev/null | grep -oE 'ghp_[A-Za-z0-9]{36}' | sort -u | grep -cxFf "$WORK/repos/history-secrets.txt" || true)
  printf "| Kingfisher, %d repositories one after another | %s | %s | %s | %s of %s history-only tokens |\n" \
    "$REPOS" "$kf_wall" "$kf_cpu" "$kf_rss" "$kf_found" "$found"
fi
echo
printf "keysweep found %s GitHub tokens of %s planted (history-only)\n" "$ks_recall" "$found"
printf "re-sweep / first sweep: %.1f%% (target <= 5%%)\n" "$(echo "100 * $re_wall / $first_wall" | bc -l)"
if [ "$KINGFISHER" != skip ]; then
  printf "first sweep vs Kingfisher: %.1fx faster (target >= 3x)\n" "$(echo "$kf_wall / $first_wall" | bc -l)"
  printf "re-sweep vs Kingfisher: %.1fx faster (target >= 30x)\n" "$(echo "$kf_wall / $re_wall" | bc -l)"
fi
printf "peak RSS: first %s MB, re-sweep %s MB (target < 150 MB)\n" "$first_rss" "$re_rss"
