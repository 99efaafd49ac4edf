#!/usr/bin/env bash
# Side-by-side git-history benchmark: keysweep `scan --git`, Kingfisher's history scan, and
# `git cat-file --batch-all-objects --batch` (inflating every object once, on one core: the
# floor any history scanner works against), in one invocation with alternating runs.
#
#   bench/git_history.sh
#
# The repository: a public one cloned into WORK (REPO_URL, tokio by default); if it cannot
# be fetched, a generated history of COMMITS commits (bench/gen_history.py), repacked as a
# server packs what it sends on a clone (deltas of depth <= 50), so delta chains look real.
#
# Environment:
#   REPO=             an existing repository to measure instead (a clone, bare or not)
#   REPO_URL=https://github.com/tokio-rs/tokio.git
#   COMMITS=5000      commits of the generated history (~320 MB of unique blob data)
#   RUNS=5            runs per tool, alternating which tool goes first
#   WORK=/tmp/keysweep-bench   where repositories and outputs go (repositories are reused)
#   KEYSWEEP=target/release/keysweep
#   KINGFISHER=kingfisher       (`pip install kingfisher-bin`)
#
# Prints per tool: median wall and CPU time, MB/s of unique blob data, peak RSS, and (for the
# generated history) recall of the secrets that were added and later removed; then keysweep's
# throughput against Kingfisher's and its time against the inflate floor.
set -euo pipefail
cd "$(dirname "$0")/.."

REPO_URL=${REPO_URL:-https://github.com/tokio-rs/tokio.git}
COMMITS=${COMMITS:-5000}
RUNS=${RUNS:-5}
WORK=${WORK:-/tmp/keysweep-bench}
KEYSWEEP=${KEYSWEEP:-target/release/keysweep}
KINGFISHER=${KINGFISHER:-kingfisher}
mkdir -p "$WORK"
KEYSWEEP=$(realpath "$KEYSWEEP")

command -v "$KINGFISHER" >/dev/null || { echo "kingfisher not found: pip install kingfisher-bin" >&2; exit 2; }
[ -x "$KEYSWEEP" ] || { echo "$KEYSWEEP not built: cargo build --release" >&2; exit 2; }

secrets=""  # the generated history's list of removed secrets
pick_repo() {
  if [ -n "${REPO:-}" ]; then
    echo "$REPO"
    return
  fi
  local clone="$WORK/clone-$(basename "$REPO_URL" .git).git"
  if [ -f "$clone/.done" ] || { rm -rf "$clone" &&
    timeout 600 git clone -q --bare "$REPO_URL" "$clone" 2>/dev/null && touch "$clone/.done"; }; then
    echo "$clone"
    return
  fi
  echo "could not clone $REPO_URL; generating a history of $COMMITS commits" >&2
  local repo="$WORK/history-$COMMITS-packed"
  if [ ! -f "$repo/.done" ]; then
    rm -rf "$repo"
    python3 bench/gen_history.py "$repo" "$COMMITS" "$repo.secrets" >&2
    git -C "$repo" repack -q -a -d -f --depth=50 --window=10
    touch "$repo/.done"
  fi
  echo "$repo"
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

recall() { # output file -> "found/total" (generated history only)
  [ -n "$secrets" ] || { echo "-"; return; }
  local total found
  total=$(grep -c . "$secrets")
  found=$(grep -oE 'ghp_[A-Za-z0-9]{36}' "$1" | sort -u | grep -cxFf "$secrets" || true)
  echo "$found/$total"
}

run_tool() { # tool repo out -> "wall cpu kb"
  local tool=$1 repo=$2 out=$3 tf="$WORK/time.$$"
  case $tool in
    keysweep)
      /usr/bin/time -f '%e %U %S %M' -o "$tf" "$KEYSWEEP" scan --git "$repo" \
        --format json --show-secrets --quiet -o "$out" || [ $? -eq 1 ] ;;
    kingfisher)
      /usr/bin/time -f '%e %U %S %M' -o "$tf" "$KINGFISHER" scan "$repo" --no-validate \
        --no-update-check --format json -o "$out" >/dev/null 2>&1 || [ $? -eq 200 ] ;;
    cat-file)
      /usr/bin/time -f '%e %U %S %M' -o "$tf" git -C "$repo" cat-file --batch-all-objects \
        --batch >/dev/null ;;
  esac
  tail -1 "$tf" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
  rm -f "$tf"
}

repo=$(pick_repo)
[ -f "$repo.secrets" ] && secrets="$repo.secrets"
commits=$(git -C "$repo" rev-list --all --count)
mb=$(git -C "$repo" cat-file --batch-all-objects --batch-check | awk '$2=="blob"{s+=$3} END{printf "%.0f", s/1e6}')
echo "repository: $repo ($commits commits, $mb MB of unique blob data; $(nproc) cores)"
echo

tools=(keysweep kingfisher cat-file)
# Warm-up: Kingfisher compiles and caches its rule database on first use; page cache for all.
for tool in "${tools[@]}"; do run_tool "$tool" "$repo" "$WORK/warm.json" >/dev/null; done
for tool in "${tools[@]}"; do : > "$WORK/$tool.times"; done
for ((i = 1; i <= RUNS; i++)); do
  # Rotate the order so no tool always runs right after another.
  for ((j = 0; j < ${#tools[@]}; j++)); do
    tool=${tools[$(((i + j) % ${#tools[@]}))]}
    run_tool "$tool" "$repo" "$WORK/$tool.json" >> "$WORK/$tool.times"
  done
done

echo "| tool | median wall s | median CPU s | MB/s | peak RSS MB | recall (removed secrets) |"
echo "|---|---:|---:|---:|---:|---|"
declare -A T
for tool in "${tools[@]}"; do
  s=$(awk '{print $1}' "$WORK/$tool.times" | median)
  cpu=$(awk '{print $2}' "$WORK/$tool.times" | median)
  rss=$(awk '{print $3}' "$WORK/$tool.times" | median)
  T[$tool]=$s
  rec="-"
  [ "$tool" != cat-file ] && rec=$(recall "$WORK/$tool.json")
  printf "| %s | %.2f | %.2f | %.0f | %.0f | %s |\n" "$tool" "$s" "$cpu" \
    "$(echo "$mb / $s" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$rec"
done
echo
printf "keysweep throughput = %.2fx Kingfisher's; keysweep time = %.2fx git cat-file's inflate\n" \
  "$(echo "${T[kingfisher]} / ${T[keysweep]}" | bc -l)" "$(echo "${T[keysweep]} / ${T[cat-file]}" | bc -l)"
