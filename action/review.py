#!/usr/bin/env python3
"""keysweep action: one pull-request review that offers the OIDC form of each new long-lived
CI credential use as GitHub suggested changes, updated in place on later pushes.

Usage: review.py SCAN.json PLAN.json BASE_SHA HEAD_SHA

SCAN.json is the scan of the PR (its `pipeline.findings` are the uses the PR adds); PLAN.json
is `keysweep rotate --format json` run on the PR head's CI files with the repository's
`.keysweep.toml` `[rotate]` facts. Each hunk of the plan's diff for a file with a new use
becomes one suggestion on the lines it replaces, so applying every suggestion gives exactly
the file `keysweep rotate --write` writes. A hunk that still holds a `<PLACEHOLDER>` (a fact
the config does not give) never becomes a suggestion: the review body shows that part of the
plan and the flags or config keys to fill instead. A hunk on lines outside the PR's diff
(GitHub only takes comments there) is shown in the body as a diff.

The review carries the marker `<!-- keysweep-suggest -->`: a later run updates its body and
replaces its comments that no longer apply, and adds none twice.
"""
import json
import os
import re
import subprocess
import sys

from comment import api  # same HTTP helper (pagination, one-line errors)

MARKER = "<!-- keysweep-suggest -->"
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def hunks(diff):
    """Unified diff -> [(old_start, old_lines, new_lines)] (old_lines/new_lines: text lines)."""
    out, cur = [], None
    for line in diff.splitlines():
        m = HUNK.match(line)
        if m:
            cur = [int(m.group(1)), [], []]
            out.append(cur)
            continue
        if cur is None:  # the `---`/`+++` header
            continue
        if line.startswith("\\"):
            continue
        tag, text = line[:1], line[1:]
        if tag in (" ", "-"):
            cur[1].append(text)
        if tag in (" ", "+"):
            cur[2].append(text)
    return [(s, old, new) for s, old, new in out]


def trim(start, old, new):
    """Drop context lines both sides share at the ends: the suggestion covers only what changes
    (an insertion keeps one line of context, since a suggestion must replace some line)."""
    while len(old) > 1 and len(new) > 1 and old[-1] == new[-1]:
        old, new = old[:-1], new[:-1]
    while len(old) > 1 and len(new) > 1 and old[0] == new[0]:
        old, new, start = old[1:], new[1:], start + 1
    return start, old, new


def commentable(base, head, path):
    """The new-side lines GitHub shows in the PR's diff for `path` (where comments may go)."""
    res = subprocess.run(["git", "diff", "--unified=3", "--no-color", base, head, "--", path],
                         capture_output=True, text=True)
    lines = set()
    if res.returncode != 0:
        return lines
    for line in res.stdout.splitlines():
        m = HUNK.match(line)
        if m:
            start, count = int(m.group(3)), int(m.group(4) or 1)
            lines.update(range(start, start + count))
    return lines


def fence(lines):
    text = "\n".join(lines)
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return ticks, text


def plan_for(plan, repo_files):
    for repo in plan.get("repositories", []):
        for f in repo.get("files", []):
            if f.get("path") in repo_files:
                yield repo, f


def main():
    scan_path, plan_path, base, head = sys.argv[1:5]
    scan = json.load(open(scan_path))
    plan = json.load(open(plan_path))
    uses = (scan.get("pipeline") or {}).get("findings") or []
    files = sorted({u["location"]["path"] for u in uses if u.get("location")})
    if not files:
        print("keysweep: no new pipeline credential use: no suggestion", file=sys.stderr)
        return

    suggestions, shown, missing = [], [], {}
    for repo, f in plan_for(plan, set(files)):
        for p in repo.get("placeholders", []):
            missing[p["placeholder"]] = p
        allowed = commentable(base, head, f["path"])
        for start, old, new in hunks(f.get("diff", "")):
            start, old, new = trim(start, old, new)
            end = start + len(old) - 1
            hole = sorted(set(PLACEHOLDER.findall("\n".join(new))))
            if hole or not all(n in allowed for n in range(start, end + 1)):
                shown.append((f["path"], start, old, new, hole))
                continue
            ticks, text = fence(new)
            suggestions.append({
                "path": f["path"], "start": start, "end": end,
                "body": f"{MARKER}\nkeysweep: the OIDC form of this step (see the review).\n\n"
                        f"{ticks}suggestion\n{text}\n{ticks}",
            })

    body = [MARKER, "### keysweep: move the new CI credentials to OIDC", ""]
    for u in uses:
        loc = u.get("location", {})
        body.append(f"- `{loc.get('path')}:{loc.get('line')}`: secret `{u.get('secret')}` → "
                    f"{u.get('replacement', '')}")
    body.append("")
    if suggestions:
        body.append(f"{len(suggestions)} suggested change(s) below apply the plan of "
                    "`keysweep rotate --write`; after merging, create the trust "
                    "(`keysweep rotate` prints it) and delete the old secrets.")
    for path, start, old, new, hole in shown:
        why = (f"needs {', '.join('`' + h + '`' for h in hole)}" if hole
               else "outside this pull request's diff")
        ticks, text = fence([f"-{o}" for o in old] + [f"+{n}" for n in new])
        body.append("")
        body.append(f"`{path}` from line {start} ({why}):")
        body.append(f"{ticks}diff\n{text}\n{ticks}")
    holes = [missing[h] for h in sorted({h for *_, hs in shown for h in hs}) if h in missing]
    if holes:
        body.append("")
        body.append("No suggestion where a fact is missing. Give it in `.keysweep.toml` "
                    "(`[rotate]` table) or as a flag to `keysweep rotate`:")
        for p in holes:
            body.append(f"- `{p['placeholder']}`: {p['what']} (`{p['config_key']}`, `{p['flag']}`)")
    body = "\n".join(body) + "\n"

    token = os.environ.get("GITHUB_TOKEN", "")
    api_base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    event = json.load(open(os.environ["GITHUB_EVENT_PATH"]))
    repo = (event.get("repository") or {}).get("full_name") or os.environ["GITHUB_REPOSITORY"]
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    pulls = f"{api_base}/repos/{repo}/pulls/{number}"

    existing, url, pages = None, f"{pulls}/reviews?per_page=100", 0
    while url and existing is None and pages < 30:
        pages += 1
        page, url = api("GET", url, token)
        if url and not url.startswith(api_base + "/"):
            url = None
        existing = next((r for r in page or [] if MARKER in (r.get("body") or "")), None)

    def comment_of(s):
        c = {"path": s["path"], "line": s["end"], "side": "RIGHT", "body": s["body"]}
        if s["start"] < s["end"]:
            c.update(start_line=s["start"], start_side="RIGHT")
        return c

    if existing is None:
        review = {"commit_id": head, "body": body, "event": "COMMENT",
                  "comments": [comment_of(s) for s in suggestions]}
        created, _ = api("POST", f"{pulls}/reviews", token, review)
        print(f"keysweep: review {(created or {}).get('id')} with {len(suggestions)} suggestion(s)",
              file=sys.stderr)
        return

    rid = existing["id"]
    api("PUT", f"{pulls}/reviews/{rid}", token, {"body": body})
    have, url = [], f"{pulls}/reviews/{rid}/comments?per_page=100"
    while url:
        page, url = api("GET", url, token)
        if url and not url.startswith(api_base + "/"):
            url = None
        have.extend(page or [])
    want = {(s["path"], s["end"], s["body"]): s for s in suggestions}
    kept = set()
    for c in have:
        key = (c.get("path"), c.get("line"), c.get("body"))
        if key in want and key not in kept:
            kept.add(key)
        else:
            api("DELETE", f"{api_base}/repos/{repo}/pulls/comments/{c['id']}", token)
    for key, s in want.items():
        if key not in kept:
            c = comment_of(s)
            c["commit_id"] = head
            api("POST", f"{pulls}/comments", token, c)
    print(f"keysweep: updated review {rid}: {len(kept)} suggestion(s) kept, "
          f"{len(want) - len(kept)} added", file=sys.stderr)


if __name__ == "__main__":
    main()
