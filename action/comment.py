#!/usr/bin/env python3
"""keysweep action: write the findings as one PR comment, updated in place on later runs.

Finds the comment carrying the hidden marker `<!-- keysweep -->` (following pagination) and
PATCHes it; otherwise POSTs a new one, but only when there is something to say (a clean first
run adds no comment). Token from GITHUB_TOKEN, API base from GITHUB_API_URL, PR from the event
payload. Usage: comment.py BODY.md
"""
import json
import os
import re
import sys
import urllib.error
import urllib.request

MARKER = "<!-- keysweep -->"


def api(method, url, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/vnd.github+json")
    req.add_header("X-GitHub-Api-Version", "2022-11-28")
    req.add_header("User-Agent", "keysweep-action")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            nxt = re.search(r'<([^>]+)>;\s*rel="next"', r.headers.get("Link") or "")
            return (json.loads(raw) if raw else None), (nxt.group(1) if nxt else None)
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")[:300]
        hint = " (the workflow needs `permissions: pull-requests: write`)" if e.code in (401, 403) else ""
        sys.exit(f"::error title=keysweep comment::{method} {url.split('?')[0]} -> {e.code}{hint}: {detail}")
    except urllib.error.URLError as e:
        sys.exit(f"::error title=keysweep comment::{method} {url.split('?')[0]}: {e.reason}")


def main():
    body = open(sys.argv[1]).read()
    token = os.environ.get("GITHUB_TOKEN", "")
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    event = json.load(open(os.environ["GITHUB_EVENT_PATH"]))
    repo = (event.get("repository") or {}).get("full_name") or os.environ["GITHUB_REPOSITORY"]
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    if not number:
        print("keysweep: not a pull request, no comment", file=sys.stderr)
        return
    url = f"{base}/repos/{repo}/issues/{number}/comments?per_page=100"
    existing = None
    pages = 0
    while url and existing is None and pages < 30:  # 3,000 comments at most
        pages += 1
        page, url = api("GET", url, token)
        if url and not url.startswith(base + "/"):
            print(f"keysweep: ignoring a next-page link outside {base}: {url}", file=sys.stderr)
            url = None
        for c in page or []:
            if MARKER in (c.get("body") or ""):
                existing = c
                break
    clean = "No new secrets" in body
    if existing:
        api("PATCH", f"{base}/repos/{repo}/issues/comments/{existing['id']}", token, {"body": body})
        print(f"keysweep: updated comment {existing['id']}", file=sys.stderr)
    elif not clean:
        created, _ = api("POST", f"{base}/repos/{repo}/issues/{number}/comments", token, {"body": body})
        print(f"keysweep: added comment {(created or {}).get('id')}", file=sys.stderr)
    else:
        print("keysweep: clean and no earlier comment: nothing to write", file=sys.stderr)


if __name__ == "__main__":
    main()
