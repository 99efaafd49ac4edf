#!/usr/bin/env bash
# Side-by-side git-history benchmark: keysweep `scan --git` vs Kingfisher's history scan.
#
#   bench/git_history.sh
#
# Environment:
#   COMMITS=20000     commits in the generated history (>= 1 GB of unique blob data at 20,000)
#   RUNS=3            runs per tool and size, alternating which tool goes first
#   DOUBLE=1          also measure at 2 x COMMITS, to show how time and memory grow
#   WORK=/tmp/keysweep-bench   where repositories and outputs go (repositories are reused)
#   KEYSWEEP=target/release/keysweep
#   KEYSWEEP_RULES=   extra rule directory for keysweep (only needed if the binary was built
#                     without rules/)
#   KINGFISHER=kingfisher       (`pip install kingfisher-bin`)
#
# Prints, per tool and size: median wall time, MB/s of unique blob data, peak RSS, recall of the
# secrets that were added and later removed in history; then the throughput and RSS ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

COMMITS=${COMMITS:-20000}
RUNS=${RUNS:-3}
DOUBLE=${DOUBLE:-1}
WORK=${WORK:-/tmp/keysweep-bench}
KEYSWEEP=${KEYSWEEP:-target/release/keysweep}
KINGFISHER=${KINGFISHER:-kingfisher}
mkdir -p "$WORK"
KEYSWEEP=$(realpath "$KEYSWEEP")

command -v "$KINGFISHER" >/dev/null || { echo "kingfisher not found: pip install kingfisher-bin" >&2; exit 2; }
[ -x "$KEYSWEEP" ] || { echo "$KEYSWEEP not built: cargo build --release" >&2; exit 2; }

ks_rules=()
[ -n "${KEYSWEEP_RULES:-}" ] && ks_rules=(--rules "$KEYSWEEP_RULES")

gen() { # commits -> repo dir
  local n=$1 repo="$WORK/history-$1"
  if [ ! -f "$repo/.done" ]; then
    rm -rf "$repo"
    echo "generating $n commits in $repo ..." >&2
    python3 bench/gen_history.py "$repo" "$n" "$repo.secrets" >&2
    touch "$repo/.done"
  fi
  echo "$repo"
}

unique_mb() {
  git -C "$1" cat-file --batch-all-objects --batch-check | awk '$2=="blob"{s+=$3} END{printf "%.0f", s/1e6}'
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

recall() { # output file, secrets file -> "found/total"
  local total found
  total=$(grep -c . "$2")
  found=$(grep -oE 'ghp_[A-Za-z0-9]{36}' "$1" | sort -u | grep -cxFf "$2" || true)
  echo "$found/$total"
}

run_tool() { # tool repo out -> "seconds kb"
  local tool=$1 repo=$2 out=$3 tf="$WORK/time.$$"
  case $tool in
    keysweep)
      /usr/bin/time -f '%e %M' -o "$tf" "$KEYSWEEP" scan --git "$repo" "${ks_rules[@]}" \
        --format json --show-secrets --quiet -o "$out" || [ $? -eq 1 ] ;;
    kingfisher)
      /usr/bin/time -f '%e %M' -o "$tf" "$KINGFISHER" scan "$repo" --no-validate \
        --no-update-check --format json -o "$out" 2>/dev/null || [ $? -eq 200 ] ;;
  esac
  tail -1 "$tf"
  rm -f "$tf"
}

sizes=("$COMMITS")
[ "$DOUBLE" = 1 ] && sizes+=("$((COMMITS * 2))")

echo "| tool | commits | unique blob MB | median wall s | MB/s | peak RSS MB | recall (removed secrets) |"
echo "|---|---|---|---|---|---|---|"
declare -A T R
for n in "${sizes[@]}"; do
  repo=$(gen "$n")
  mb=$(unique_mb "$repo")
  # Warm-up: Kingfisher compiles and caches its rule database on first use; page cache for both.
  run_tool kingfisher "$repo" "$WORK/warm.json" >/dev/null
  run_tool keysweep "$repo" "$WORK/warm.json" >/dev/null
  for tool in keysweep kingfisher; do : > "$WORK/$tool-$n.times"; done
  for ((i = 1; i <= RUNS; i++)); do
    if ((i % 2)); then order=(keysweep kingfisher); else order=(kingfisher keysweep); fi
    for tool in "${order[@]}"; do
      run_tool "$tool" "$repo" "$WORK/$tool-$n.json" >> "$WORK/$tool-$n.times"
    done
  done
  for tool in keysweep kingfisher; do
    s=$(awk '{print $1}' "$WORK/$tool-$n.times" | median)
    rss=$(awk '{print $2}' "$WORK/$tool-$n.times" | median)
    T[$tool-$n]=$s
    R[$tool-$n]=$rss
    printf "| %s | %d | %d | %.2f | %.0f | %.0f | %s |\n" "$tool" "$n" "$mb" "$s" \
      "$(echo "$mb / $s" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
      "$(recall "$WORK/$tool-$n.json" "$repo.secrets")"
  done
done
echo
for n in "${sizes[@]}"; do
  printf "commits %d: keysweep throughput = %.2fx Kingfisher's; peak RSS ratio keysweep/Kingfisher = %.2f\n" \
    "$n" "$(echo "${T[kingfisher-$n]} / ${T[keysweep-$n]}" | bc -l)" \
    "$(echo "${R[keysweep-$n]} / ${R[kingfisher-$n]}" | bc -l)"
done
if [ "${#sizes[@]}" -eq 2 ]; then
  a=${sizes[0]} b=${sizes[1]}
  for tool in keysweep kingfisher; do
    printf "%s, history doubled: time x%.2f, peak RSS x%.2f\n" "$tool" \
      "$(echo "${T[$tool-$b]} / ${T[$tool-$a]}" | bc -l)" "$(echo "${R[$tool-$b]} / ${R[$tool-$a]}" | bc -l)"
  done
fi
