#!/usr/bin/env python3
"""keysweep action: turn one JSON report into annotations (stdout, workflow commands),
the step summary, the step outputs and the PR comment body.

Usage: report.py REPORT.json COMMENT.md DESCRIPTION
Secrets are already redacted in the report (the action refuses --show-secrets).
"""
import json
import os
import sys

MARKER = "<!-- keysweep -->"
MAX_ROWS = 50


def esc_data(s):
    return str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def esc_prop(s):
    return esc_data(s).replace(":", "%3A").replace(",", "%2C")


def cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ").replace("`", "'")


def main():
    report, comment_path, desc = sys.argv[1], sys.argv[2], sys.argv[3]
    doc = json.load(open(report))
    findings = doc.get("findings", [])
    pipeline = (doc.get("pipeline") or {}).get("findings", []) or []
    # new CI credential uses fail the check unless the policy (pipeline-uses) is `warn`
    policy = (doc.get("pipeline") or {}).get("policy") or "fail"
    stats = doc.get("stats", {})
    supp = stats.get("suppressed", {}) or {}
    new = len(findings) + (len(pipeline) if policy != "warn" else 0)
    total = new + int(supp.get("baseline", 0))

    # annotations on the lines
    for f in findings:
        level = "warning" if f.get("confidence") == "low" else "error"
        for loc in f.get("locations", []):
            print(f"::{level} file={esc_prop(loc['path'])},line={loc['line']},col={loc['column']},"
                  f"endLine={loc['end_line']},endColumn={loc['end_column']},"
                  f"title={esc_prop('keysweep: ' + f['rule_name'])}::"
                  + esc_data(f"{f['rule_name']} ({f['rule_id']}) found: {f['secret']}. Rotate it and "
                             f"remove it from history; fingerprint {f['fingerprint'][:16]}"))
    level = "warning" if policy == "warn" else "error"
    for c in pipeline:
        loc = c.get("location", {})
        print(f"::{level} file={esc_prop(loc.get('path', ''))},line={loc.get('line', 1)},"
              f"title={esc_prop('keysweep: ' + str(c.get('title', 'pipeline credential')))}::"
              + esc_data(c.get("message", "")))

    # table shared by the summary and the comment
    rows = []
    for f in findings:
        for loc in f.get("locations", []):
            rows.append(f"| {cell(f['rule_name'])} (`{cell(f['rule_id'])}`) | `{cell(f['secret'])}` "
                        f"| `{cell(loc['path'])}:{loc['line']}` | {cell(f.get('confidence', ''))} |")
    lines = []
    if new or pipeline:
        lines.append(f"**{len(findings) + len(pipeline)} new secret finding(s)** in the {cell(desc)}.")
        lines.append("")
        lines.append("| Rule | Secret (redacted) | Location | Confidence |")
        lines.append("|---|---|---|---|")
        lines.extend(rows[:MAX_ROWS])
        if len(rows) > MAX_ROWS:
            lines.append(f"| … {len(rows) - MAX_ROWS} more location(s) in the SARIF/JSON report | | | |")
        for c in pipeline:
            loc = c.get("location", {})
            lines.append(f"| {cell(c.get('title', 'pipeline credential'))} | | "
                         f"`{cell(loc.get('path', ''))}:{loc.get('line', '')}` | |")
        lines.append("")
        lines.append("Rotate each secret (removing it from the code does not revoke it). A false positive: "
                     "add `keysweep:allow` on its line, or accept it with `keysweep baseline`.")
    else:
        lines.append(f"No new secrets in the {cell(desc)}.")
    extra = []
    if supp.get("baseline"):
        extra.append(f"{supp['baseline']} accepted by the baseline")
    if supp.get("inline"):
        extra.append(f"{supp['inline']} allowed inline")
    if supp.get("allowlist"):
        extra.append(f"{supp['allowlist']} allowed by the config")
    if extra:
        lines.append("")
        lines.append("Not reported: " + ", ".join(extra) + ".")
    body = "\n".join(lines) + "\n"

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as s:
            s.write("## keysweep\n\n" + body + "\n")
    with open(comment_path, "w") as c:
        c.write(MARKER + "\n### keysweep\n\n" + body)
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a") as o:
            o.write(f"findings={total}\nnew-findings={new}\n")
    print(f"keysweep: {new} new finding(s), {total} in all", file=sys.stderr)


if __name__ == "__main__":
    main()
