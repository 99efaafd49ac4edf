#!/usr/bin/env python3
"""Helpers for bench/run.sh (python3 standard library only).

  compare.py accuracy --truth T.json --root DIR --tool keysweep|kingfisher|betterleaks REPORT.json
      Score one tool's JSON report against the planted truth of the accuracy corpus
      (same matching rules as tests/accuracy.rs). Prints a per-family table and
      one machine-readable line:  ACCURACY<TAB>tool<TAB>planted<TAB>found<TAB>tp<TAB>fp

  compare.py summary --bench RESULTS.tsv [--accuracy ACCURACY.tsv]
      Medians of wall time / throughput / peak RSS per corpus and tool, the
      keysweep/kingfisher ratios, and a final markdown table.
"""

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict

FAMILIES = [
    "aws", "gcp", "azure", "cloud", "github", "gitlab", "forges", "registries", "messaging",
    "payments", "observability", "ai", "devops", "private-keys", "connection-strings", "generic",
]


def norm_path(p, roots):
    p = p.replace("\\", "/")
    for r in roots:
        r = r.replace("\\", "/").rstrip("/")
        if r and (p == r or p.startswith(r + "/")):
            p = p[len(r):]
            break
    while p.startswith("./") or p.startswith("/"):
        p = p[2:] if p.startswith("./") else p[1:]
    return p


def same_secret(a, b):
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 8 and short in long_


def reported_locations(tool, report):
    """Yield (path, secret, rule_id, family) for every reported location."""
    if tool == "keysweep":
        for f in report.get("findings", []):
            for loc in f.get("locations", []):
                yield loc.get("path", ""), f.get("secret") or "", f.get("rule_id", "?"), f.get("family")
    elif tool == "kingfisher":
        for f in report.get("findings", []):
            fd = f.get("finding", {})
            rid = f.get("rule", {}).get("id", "?")
            yield fd.get("path", ""), fd.get("snippet") or "", rid, None
            # paired values (e.g. the AWS secret key next to its key id) are reported here
            for v in (fd.get("dependent_captures") or {}).values():
                if isinstance(v, str) and v:
                    yield fd.get("path", ""), v, rid, None
    elif tool == "betterleaks":
        for f in report.get("findings", []):
            loc = f.get("location", {})
            yield loc.get("path", ""), f.get("match", {}).get("value") or "", f.get("rule_id", "?"), None
            for cs in f.get("component_sets", []) or []:
                for c in cs.get("components", []) or []:
                    cl = c.get("location", {}) or loc
                    yield cl.get("path", ""), c.get("match", {}).get("value") or "", c.get("rule_id", "?"), None
    else:
        raise SystemExit(f"unknown tool {tool}")


def redact(s):
    s = s.replace("\n", "\\n")
    return f"{s[:8]}...({len(s)} chars)"


def score(truth, report, tool, roots):
    by_path = defaultdict(list)
    for i, t in enumerate(truth):
        by_path[t["path"]].append(i)
    found = [False] * len(truth)
    tp = fp = 0
    fps = []
    for path, secret, rule, fam in reported_locations(tool, report):
        rel = norm_path(path, roots)
        hit = False
        for i in by_path.get(rel, []):
            if same_secret(truth[i]["secret"], secret):
                found[i] = True
                hit = True
        if hit:
            tp += 1
        else:
            fp += 1
            fps.append((rule, rel, secret, fam))
    return found, tp, fp, fps


def cmd_accuracy(a):
    with open(a.truth) as fh:
        truth = json.load(fh)
    try:
        with open(a.report) as fh:
            report = json.load(fh)
    except (OSError, ValueError) as e:
        print(f"compare.py: cannot read {a.tool} report {a.report}: {e}", file=sys.stderr)
        return 2
    roots = [a.root, os.path.realpath(a.root), os.path.abspath(a.root)]
    found, tp, fp, fps = score(truth, report, a.tool, roots)
    planted = len(truth)
    nfound = sum(found)
    recall = nfound / planted if planted else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    print(f"{a.tool}: accuracy corpus, {planted} planted secrets")
    print(f"  {'family':<20} {'planted':>7} {'found':>6} {'recall':>7}")
    for fam in FAMILIES:
        idx = [i for i, t in enumerate(truth) if t["family"] == fam]
        if not idx:
            continue
        f = sum(found[i] for i in idx)
        print(f"  {fam:<20} {len(idx):>7} {f:>6} {f / len(idx):>7.3f}")
    print(f"  {'TOTAL':<20} {planted:>7} {nfound:>6} {recall:>7.3f}   reported locations: {tp + fp} "
          f"(TP {tp}, FP {fp}), precision {precision:.3f}")
    if a.verbose:
        for i, t in enumerate(truth):
            if not found[i]:
                print(f"  MISSED [{t['family']}] {t['path']}: {redact(t['secret'])}")
        for rule, rel, secret, fam in fps:
            print(f"  FALSE POSITIVE [{rule}] {rel}: {redact(secret)}")
    print(f"ACCURACY\t{a.tool}\t{planted}\t{nfound}\t{tp}\t{fp}")
    return 0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, nd=2):
    if x != x:  # NaN
        return "n/a"
    return f"{x:.{nd}f}"


def cmd_summary(a):
    runs = defaultdict(list)  # (corpus, tool) -> [(wall, rss_kb, rc)]
    sizes = {}
    order = []
    with open(a.bench) as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 7 or parts[0] == "corpus":
                continue
            corpus, nbytes, tool, _run, wall, rss, rc = parts[:7]
            sizes[corpus] = int(nbytes)
            if corpus not in order:
                order.append(corpus)
            runs[(corpus, tool)].append((float(wall), int(rss), int(rc)))
    tools = []
    for (_, t) in runs:
        if t not in tools:
            tools.append(t)
    tools.sort(key=lambda t: {"keysweep": 0, "kingfisher": 1}.get(t, 2))
    rows = []
    for corpus in order:
        mb = sizes[corpus] / 1e6
        print(f"\n== {corpus}: {mb:.1f} MB")
        med = {}
        for t in tools:
            r = runs.get((corpus, t))
            if not r:
                continue
            wall = median([x[0] for x in r])
            rss = median([x[1] for x in r]) / 1024.0
            thr = mb / wall if wall > 0 else float("nan")
            bad = [x[2] for x in r if x[2] not in (0, 1, 200, 205)]
            med[t] = (wall, thr, rss)
            note = f"  (unexpected exit codes: {bad})" if bad else ""
            print(f"  {t:<12} median wall {fmt(wall, 3):>8} s   {fmt(thr, 1):>8} MB/s   peak RSS {fmt(rss, 1):>8} MB   runs={len(r)}{note}")
            rows.append((corpus, mb, t, wall, thr, rss, len(r)))
        if "keysweep" in med and "kingfisher" in med:
            k, f = med["keysweep"], med["kingfisher"]
            print(f"  keysweep/kingfisher: throughput x{fmt(k[1] / f[1])}   wall x{fmt(k[0] / f[0])}   RSS x{fmt(k[2] / f[2])}")
    acc = []
    if a.accuracy and os.path.exists(a.accuracy):
        with open(a.accuracy) as fh:
            for line in fh:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 6 and p[0] == "ACCURACY":
                    tool, planted, found, tp, fp = p[1], int(p[2]), int(p[3]), int(p[4]), int(p[5])
                    acc.append((tool, planted, found, tp, fp))
    print("\n### Throughput (median of runs)\n")
    print("| corpus | MB | tool | wall s | MB/s | peak RSS MB | runs |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for corpus, mb, t, wall, thr, rss, n in rows:
        print(f"| {corpus} | {mb:.0f} | {t} | {fmt(wall, 3)} | {fmt(thr, 1)} | {fmt(rss, 1)} | {n} |")
    print("\n### keysweep / kingfisher ratios\n")
    print("| corpus | throughput ratio (>1 = keysweep faster) | wall ratio (<1 = keysweep faster) | RSS ratio (<1 = keysweep smaller) |")
    print("|---|---:|---:|---:|")
    for corpus in order:
        k = next((r for r in rows if r[0] == corpus and r[2] == "keysweep"), None)
        f = next((r for r in rows if r[0] == corpus and r[2] == "kingfisher"), None)
        if k and f:
            print(f"| {corpus} | {fmt(k[4] / f[4])} | {fmt(k[3] / f[3])} | {fmt(k[5] / f[5])} |")
    if acc:
        print("\n### Accuracy corpus\n")
        print("| tool | planted | found | recall | reported | TP | FP | precision |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for tool, planted, found, tp, fp in acc:
            rec = found / planted if planted else 0.0
            prec = tp / (tp + fp) if tp + fp else 0.0
            print(f"| {tool} | {planted} | {found} | {rec:.3f} | {tp + fp} | {tp} | {fp} | {prec:.3f} |")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("accuracy")
    p.add_argument("--truth", required=True)
    p.add_argument("--root", required=True, help="the directory that was scanned")
    p.add_argument("--tool", required=True, choices=["keysweep", "kingfisher", "betterleaks"])
    p.add_argument("-v", "--verbose", action="store_true", help="list missed secrets and false positives")
    p.add_argument("report")
    p = sub.add_parser("summary")
    p.add_argument("--bench", required=True)
    p.add_argument("--accuracy")
    a = ap.parse_args()
    return cmd_accuracy(a) if a.cmd == "accuracy" else cmd_summary(a)


if __name__ == "__main__":
    sys.exit(main())
