#!/usr/bin/env python3
"""A stateful stand-in for the part of GitHub's REST API keysweep's bot uses (tests only).

State per repository: git objects (blobs, flat trees, commits), refs, pull requests, labels,
issue comments, Actions secrets (repository, environment, organisation), environments, the
OIDC subject customization and workflow runs. Response bodies are built from the real
recorded bodies of npm `@octokit/fixtures` (repository, ref, commit, issue, label, user),
with the state's values filled in. Every API request is also replayed to GitHub's OpenAPI
description served by Prism (`--validate URL`, e.g. $KEYSWEEP_GH_API): Prism's
`sl-violations` (or a 422 from it) is recorded with the request, so a test can assert that
keysweep sent only schema-valid requests.

Start:   python3 tests/support/gh_stub.py --fixtures DIR [--validate URL] [--port 0]
         prints `listening on PORT` as its first line. DIR is
         .../node_modules/@octokit/fixtures/scenarios/api.github.com (scripts/fakes.sh
         installs it and exports KEYSWEEP_OCTOKIT_FIXTURES).
Control (JSON bodies):
  POST /__seed    {"repo":"o/r","default_branch":"main","id":11,"owner_id":22,
                   "files":{"path":"text"},"environments":["prod"],
                   "secrets":["A"],"env_secrets":{"prod":["B"]},"org_secrets":["C"],
                   "oidc":{"use_default":true},"installation_id":5}
  POST /__push    {"repo":"o/r","branch":"b","files":{"path":"text or null to delete"},
                   "message":"...","author":"someone"}   a commit on top of the branch
                   (creates it from the default branch head when missing) -> {"sha":...}
  POST /__merge   {"repo":"o/r","number":1} merge the PR into its base -> {"sha": merge commit}
  POST /__close   {"repo":"o/r","number":1} close a PR unmerged (as a person would)
  POST /__run     {"repo":"o/r","path":".github/workflows/x.yml","head_sha":"...",
                   "conclusion":"success","status":"completed","created_at":"..."}
  POST /__fail    {"method":"POST","path":"<regex>","status":403,"headers":{},"body":{},"times":1}
                   answer the next matching request(s) with this instead (still recorded)
  GET  /__requests  [{"method","path","query","body","status","violations"}] (API calls only)
  GET  /__state?repo=o/r   refs, pulls, comments, secrets, runs
Extensions: every `gh_stub_*.py` beside this file is loaded at start; each may define
  `route(stub, method, path, q, body)` and `control(stub, path, body, q)` returning a response
  tuple like the ones below, or None to pass. `stub` is this module (its REPOS, T, err, now...).
  They are tried before the core routes, so one area's routes live in one file.
"""
import argparse
import base64
import copy
import hashlib
import http.client
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse
from datetime import datetime, timezone

LOCK = threading.RLock()
RECORDS, FAILS, REPOS = [], [], {}
OBJECTS = {}  # sha -> ("blob", bytes) | ("tree", {path: sha}) | ("commit", dict)
T = {}  # templates from @octokit/fixtures
VALIDATE = None
EXTENSIONS = []


def load_extensions():
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.startswith("gh_stub_") and name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(here, name))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            EXTENSIONS.append(mod)


def extension(kind, *args):
    for mod in EXTENSIONS:
        fn = getattr(mod, kind, None)
        res = fn(sys.modules[__name__], *args) if fn else None
        if res is not None:
            return res
    return None


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_templates(d):
    def fx(name):
        return json.load(open(os.path.join(d, name, "normalized-fixture.json")))

    T["repo"] = fx("get-repository")[0]["response"]
    T["ref"] = fx("git-refs")[1]["response"]
    T["commit"] = fx("create-file")[0]["response"]["commit"]
    issue = fx("add-labels-to-issue")
    T["issue"] = issue[0]["response"]
    T["label"] = issue[1]["response"][0]
    T["user"] = T["issue"]["user"]


def retarget(obj, full):
    """A fixture body with its URLs pointing at `full` (owner/repo)."""
    s = json.dumps(obj)
    s = re.sub(r"octokit-fixture-org/[A-Za-z0-9_.-]+", full, s)
    s = s.replace("octokit-fixture-org", full.split("/")[0])
    return json.loads(s)


def git_sha(kind, data):
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def put_blob(data):
    sha = git_sha("blob", data)
    OBJECTS[sha] = ("blob", data)
    return sha


def put_tree(flat):
    sha = git_sha("tree", json.dumps(sorted(flat.items())).encode())
    OBJECTS[sha] = ("tree", dict(flat))
    return sha


def put_commit(tree, parents, message, author):
    c = {"tree": tree, "parents": parents, "message": message,
         "author": {"name": author, "email": f"{author}@users.noreply.github.com", "date": now()}}
    sha = git_sha("commit", json.dumps(c, sort_keys=True).encode() + str(len(OBJECTS)).encode())
    OBJECTS[sha] = ("commit", c)
    return sha


def is_ancestor(anc, desc):
    seen, todo = set(), [desc]
    while todo:
        s = todo.pop()
        if s == anc:
            return True
        if s in seen or s not in OBJECTS:
            continue
        seen.add(s)
        todo.extend(OBJECTS[s][1]["parents"])
    return False


class Repo:
    def __init__(self, spec):
        self.full = spec["repo"]
        self.owner, self.name = self.full.split("/")
        self.id = spec.get("id", 1000 + len(REPOS))
        self.owner_id = spec.get("owner_id", 2000 + len(REPOS))
        self.default = spec.get("default_branch", "main")
        self.environments = spec.get("environments", [])
        self.secrets = list(spec.get("secrets", []))
        self.env_secrets = {k: list(v) for k, v in spec.get("env_secrets", {}).items()}
        self.org_secrets = list(spec.get("org_secrets", []))
        self.oidc = spec.get("oidc", {"use_default": True})
        self.installation_id = spec.get("installation_id", 4242)
        self.pulls, self.comments, self.labels, self.runs = [], {}, {}, []
        flat = {p: put_blob(c.encode()) for p, c in spec.get("files", {}).items()}
        root = put_commit(put_tree(flat), [], "initial", spec.get("author", "octocat"))
        self.refs = {f"heads/{self.default}": root}

    def url(self, rest=""):
        return f"https://api.github.com/repos/{self.full}{rest}"

    def repo_body(self):
        b = retarget(T["repo"], self.full)
        b.update({"id": self.id, "name": self.name, "full_name": self.full,
                  "default_branch": self.default,
                  "html_url": f"https://github.com/{self.full}"})
        b["owner"]["login"], b["owner"]["id"] = self.owner, self.owner_id
        return b

    def ref_body(self, ref):
        b = retarget(T["ref"], self.full)
        sha = self.refs[ref]
        b.update({"ref": f"refs/{ref}", "url": self.url(f"/git/refs/{ref}")})
        b["object"] = {"sha": sha, "type": "commit", "url": self.url(f"/git/commits/{sha}")}
        return b

    def commit_body(self, sha):
        c = OBJECTS[sha][1]
        b = retarget(T["commit"], self.full)
        b.update({"sha": sha, "url": self.url(f"/git/commits/{sha}"),
                  "html_url": f"https://github.com/{self.full}/commit/{sha}",
                  "message": c["message"], "author": c["author"], "committer": c["author"],
                  "tree": {"sha": c["tree"], "url": self.url(f"/git/trees/{c['tree']}")},
                  "parents": [{"sha": p, "url": self.url(f"/git/commits/{p}")} for p in c["parents"]]})
        return b

    def pull_body(self, pr):
        b = retarget(T["issue"], self.full)
        n = pr["number"]
        b.update({k: pr[k] for k in ("number", "title", "body", "state", "draft", "merged",
                                      "merged_at", "merge_commit_sha", "closed_at")})
        b.update({"id": 5000 + n, "url": self.url(f"/pulls/{n}"),
                  "html_url": f"https://github.com/{self.full}/pull/{n}",
                  "issue_url": self.url(f"/issues/{n}"),
                  "labels": [self.label_body(x) for x in pr["labels"]],
                  "requested_reviewers": [dict(T["user"], login=x) for x in pr["reviewers"]],
                  "head": {"ref": pr["head"], "sha": self.refs.get(f"heads/{pr['head']}", pr["head_sha"]),
                           "label": f"{self.owner}:{pr['head']}", "repo": self.repo_body()},
                  "base": {"ref": pr["base"], "sha": self.refs[f"heads/{pr['base']}"],
                           "label": f"{self.owner}:{pr['base']}", "repo": self.repo_body()}})
        return b

    def label_body(self, name):
        return dict(retarget(T["label"], self.full), name=name, url=self.url(f"/labels/{name}"))


def err(status, message, errors=None):
    b = {"message": message, "documentation_url": "https://docs.github.com/rest"}
    if errors:
        b["errors"] = errors
    return status, b


def flat_of(sha):
    kind, obj = OBJECTS.get(sha, (None, None))
    if kind == "commit":
        return OBJECTS[obj["tree"]][1]
    if kind == "tree":
        return obj
    return None


def route(method, path, q, body):
    res = extension("route", method, path, q, body)
    if res is not None:
        return res
    m = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
    if not m:
        if path == "/user":
            return 200, dict(T["user"], login="keysweep-test-user")
        m2 = re.match(r"^/app/installations/(\d+)/access_tokens$", path)
        if m2 and method == "POST":
            return 201, {"token": "ghs_" + "0" * 36, "expires_at": "2099-01-01T00:00:00Z",
                         "permissions": {"contents": "write"}}
        return err(404, "Not Found")
    full, rest = f"{m.group(1)}/{m.group(2)}", m.group(3) or ""
    r = REPOS.get(full)
    if r is None:
        return err(404, "Not Found")
    R = (method, rest)
    if R == ("GET", ""):
        return 200, r.repo_body()
    if R == ("GET", "/installation"):
        return 200, {"id": r.installation_id, "app_id": 1, "target_type": "Organization",
                     "account": r.repo_body()["owner"]}
    if R == ("GET", "/actions/oidc/customization/sub"):
        return 200, r.oidc
    if R == ("GET", "/environments"):
        envs = [{"id": i + 1, "name": e, "node_id": "MDA6RW50aXR5MQ==",
                 "url": r.url(f"/environments/{e}"), "html_url": f"https://github.com/{full}/deployments/activity_log?environments_filter={e}",
                 "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"}
                for i, e in enumerate(r.environments)]
        return 200, {"total_count": len(envs), "environments": envs}

    def secret_list(names):
        # paginated like GitHub: `per_page`/`page`, and a `Link: <...>; rel="next"` header
        per, page = int(q.get("per_page", ["30"])[0]), int(q.get("page", ["1"])[0])
        chunk = names[(page - 1) * per:page * per]
        h = {}
        if page * per < len(names):
            h["Link"] = f'<{r.url(rest)}?per_page={per}&page={page + 1}>; rel="next"'
        return 200, {"total_count": len(names), "secrets": [
            {"name": n, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"} for n in chunk]}, h
    if R == ("GET", "/actions/secrets"):
        return secret_list(r.secrets)
    if R == ("GET", "/actions/organization-secrets"):
        return secret_list(r.org_secrets)
    sm = re.match(r"^/actions/secrets/([^/]+)$", rest)
    if sm and method == "DELETE":
        if sm.group(1) not in r.secrets:
            return err(404, "Not Found")
        r.secrets.remove(sm.group(1))
        return 204, None
    em = re.match(r"^/environments/([^/]+)/secrets(?:/([^/]+))?$", rest)
    if em:
        names = r.env_secrets.setdefault(em.group(1), [])
        if method == "GET" and not em.group(2):
            return secret_list(names)
        if method == "DELETE" and em.group(2):
            if em.group(2) not in names:
                return err(404, "Not Found")
            names.remove(em.group(2))
            return 204, None
    # git data
    rm = re.match(r"^/git/ref/(.+)$", rest)
    if rm and method == "GET":
        ref = rm.group(1)
        return (200, r.ref_body(ref)) if ref in r.refs else err(404, "Not Found")
    if R == ("POST", "/git/refs"):
        ref = body["ref"].removeprefix("refs/")
        if ref in r.refs:
            return err(422, "Reference already exists")
        if body["sha"] not in OBJECTS:
            return err(422, "Object does not exist")
        r.refs[ref] = body["sha"]
        return 201, r.ref_body(ref)
    rm = re.match(r"^/git/refs/(.+)$", rest)
    if rm and method == "PATCH":
        ref = rm.group(1)
        if ref not in r.refs:
            return err(422, "Reference does not exist")
        if not body.get("force") and not is_ancestor(r.refs[ref], body["sha"]):
            return err(422, "Update is not a fast forward")
        r.refs[ref] = body["sha"]
        return 200, r.ref_body(ref)
    if rm and method == "DELETE":
        if rm.group(1) not in r.refs:
            return err(422, "Reference does not exist")
        del r.refs[rm.group(1)]
        return 204, None
    cm = re.match(r"^/git/commits/([0-9a-f]{40})$", rest)
    if cm and method == "GET":
        return (200, r.commit_body(cm.group(1))) if OBJECTS.get(cm.group(1), ("",))[0] == "commit" else err(404, "Not Found")
    if R == ("POST", "/git/commits"):
        if OBJECTS.get(body["tree"], ("",))[0] != "tree":
            return err(422, "Tree SHA does not exist")
        author = (body.get("author") or {}).get("name", "keysweep-test-user")
        return 201, r.commit_body(put_commit(body["tree"], body.get("parents", []), body["message"], author))
    tm = re.match(r"^/git/trees/([0-9a-f]{40})$", rest)
    if tm and method == "GET":
        flat = flat_of(tm.group(1))
        if flat is None:
            return err(404, "Not Found")
        entries, dirs = [], set()
        for p in sorted(flat):
            parts = p.split("/")
            for i in range(1, len(parts)):
                dirs.add("/".join(parts[:i]))
            entries.append({"path": p, "mode": "100644", "type": "blob", "sha": flat[p],
                            "size": len(OBJECTS[flat[p]][1]), "url": r.url(f"/git/blobs/{flat[p]}")})
        for d in sorted(dirs):
            entries.append({"path": d, "mode": "040000", "type": "tree",
                            "sha": git_sha("tree", d.encode()), "url": r.url("/git/trees/x")})
        entries.sort(key=lambda e: e["path"])
        return 200, {"sha": tm.group(1), "url": r.url(f"/git/trees/{tm.group(1)}"),
                     "tree": entries, "truncated": False}
    if R == ("POST", "/git/trees"):
        flat = dict(flat_of(body["base_tree"]) or {}) if body.get("base_tree") else {}
        for e in body["tree"]:
            if "content" in e:
                flat[e["path"]] = put_blob(e["content"].encode())
            elif e.get("sha") is None:
                flat.pop(e["path"], None)
            else:
                flat[e["path"]] = e["sha"]
        sha = put_tree(flat)
        return 201, {"sha": sha, "url": r.url(f"/git/trees/{sha}"), "truncated": False,
                     "tree": [{"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in sorted(flat.items())]}
    bm = re.match(r"^/git/blobs/([0-9a-f]{40})$", rest)
    if bm and method == "GET":
        kind, data = OBJECTS.get(bm.group(1), (None, None))
        if kind != "blob":
            return err(404, "Not Found")
        return 200, {"sha": bm.group(1), "node_id": "MDA6RW50aXR5MQ==", "size": len(data),
                     "url": r.url(f"/git/blobs/{bm.group(1)}"), "encoding": "base64",
                     "content": base64.encodebytes(data).decode()}
    if R == ("POST", "/git/blobs"):
        data = base64.b64decode(body["content"]) if body.get("encoding") == "base64" else body["content"].encode()
        sha = put_blob(data)
        return 201, {"sha": sha, "url": r.url(f"/git/blobs/{sha}")}
    # pulls
    if R == ("GET", "/pulls"):
        state = q.get("state", ["open"])[0]
        head = q.get("head", [None])[0]
        out = [r.pull_body(p) for p in r.pulls
               if (state == "all" or p["state"] == state)
               and (head is None or f"{r.owner}:{p['head']}" == head)]
        return 200, out
    if R == ("POST", "/pulls"):
        if f"heads/{body['head']}" not in r.refs:
            return err(422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if any(p["head"] == body["head"] and p["state"] == "open" for p in r.pulls):
            return err(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                   "message": f"A pull request already exists for {r.owner}:{body['head']}."}])
        pr = {"number": len(r.pulls) + len(r.comments) + 1, "title": body["title"], "body": body.get("body"),
              "state": "open", "draft": bool(body.get("draft")), "merged": False, "merged_at": None,
              "merge_commit_sha": None, "closed_at": None, "head": body["head"], "base": body["base"],
              "head_sha": r.refs[f"heads/{body['head']}"], "labels": [], "reviewers": []}
        r.pulls.append(pr)
        return 201, r.pull_body(pr)
    pm = re.match(r"^/(pulls|issues)/(\d+)(/.*)?$", rest)
    if pm:
        pr = next((p for p in r.pulls if p["number"] == int(pm.group(2))), None)
        if pr is None:
            return err(404, "Not Found")
        sub = pm.group(3) or ""
        if (method, sub) == ("GET", "") and pm.group(1) == "pulls":
            return 200, r.pull_body(pr)
        if (method, sub) == ("PATCH", "") and pm.group(1) == "pulls":
            for k in ("title", "body"):
                if k in body:
                    pr[k] = body[k]
            if body.get("state") in ("open", "closed"):
                if pr["merged"]:
                    return err(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom", "message": "merged"}])
                pr["state"] = body["state"]
                pr["closed_at"] = now() if body["state"] == "closed" else None
            return 200, r.pull_body(pr)
        if (method, sub) == ("POST", "/requested_reviewers"):
            pr["reviewers"] += [x for x in body.get("reviewers", []) if x not in pr["reviewers"]]
            return 201, r.pull_body(pr)
        if (method, sub) == ("POST", "/labels"):
            labels = body["labels"] if isinstance(body, dict) else body
            pr["labels"] += [x for x in labels if x not in pr["labels"]]
            return 200, [r.label_body(x) for x in pr["labels"]]
        if sub == "/comments":
            cs = r.comments.setdefault(pr["number"], [])
            if method == "POST":
                c = dict(retarget(T["issue"], full), id=9000 + len(cs), body=body["body"],
                         html_url=f"https://github.com/{full}/pull/{pr['number']}#issuecomment-{9000 + len(cs)}")
                for k in ("title", "number", "state", "labels", "assignees", "assignee", "milestone", "comments", "closed_at", "locked"):
                    c.pop(k, None)
                cs.append(c)
                return 201, c
            return 200, cs
    # runs
    if method == "GET" and (rest == "/actions/runs" or re.match(r"^/actions/workflows/[^/]+/runs$", rest)):
        wf = re.match(r"^/actions/workflows/([^/]+)/runs$", rest)
        runs = [x for x in r.runs
                if (wf is None or x["path"].endswith("/" + wf.group(1)) or str(x["workflow_id"]) == wf.group(1))
                and ("branch" not in q or x["head_branch"] == q["branch"][0])
                and ("status" not in q or q["status"][0] in (x["status"], x["conclusion"]))]
        return 200, {"total_count": len(runs), "workflow_runs": runs}
    if method == "GET" and rest.startswith("/compare/"):
        base, _, head = urllib.parse.unquote(rest[len("/compare/"):]).partition("...")
        res = lambda x: r.refs.get(f"heads/{x}", x)  # noqa: E731
        b, h = res(base), res(head)
        status = ("identical" if b == h else "ahead" if is_ancestor(b, h)
                  else "behind" if is_ancestor(h, b) else "diverged")
        return 200, {"status": status, "ahead_by": 0, "behind_by": 0, "total_commits": 0,
                     "commits": [], "files": [], "base_commit": r.commit_body(b) if b in OBJECTS else None}
    return err(404, "Not Found")


def control(path, body, q):
    res = extension("control", path, body, q)
    if res is not None:
        return res
    if path == "/__seed":
        r = Repo(body)
        REPOS[r.full] = r
        return 201, {"head": r.refs[f"heads/{r.default}"], "id": r.id, "owner_id": r.owner_id}
    r = REPOS.get(body.get("repo") or (q.get("repo") or [""])[0])
    if path == "/__requests":
        return 200, RECORDS
    if path == "/__fail":
        FAILS.append(dict(body, times=body.get("times", 1)))
        return 201, {}
    if r is None:
        return 404, {"message": "unknown repo"}
    if path == "/__push":
        ref = f"heads/{body['branch']}"
        parent = r.refs.get(ref) or r.refs[f"heads/{r.default}"]
        flat = dict(flat_of(parent))
        for p, c in body.get("files", {}).items():
            if c is None:
                flat.pop(p, None)
            else:
                flat[p] = put_blob(c.encode())
        r.refs[ref] = put_commit(put_tree(flat), [parent], body.get("message", "push"), body.get("author", "octocat"))
        return 201, {"sha": r.refs[ref]}
    if path in ("/__merge", "/__close"):
        pr = next(p for p in r.pulls if p["number"] == body["number"])
        pr["state"], pr["closed_at"] = "closed", now()
        if path == "/__merge":
            base, head = f"heads/{pr['base']}", r.refs[f"heads/{pr['head']}"]
            sha = put_commit(OBJECTS[head][1]["tree"], [r.refs[base], head], f"Merge pull request #{pr['number']}", "octocat")
            r.refs[base] = sha
            pr.update(merged=True, merged_at=now(), merge_commit_sha=sha)
            return 201, {"sha": sha}
        return 201, {}
    if path == "/__run":
        n = len(r.runs) + 1
        run = {"id": 7000 + n, "name": body["path"].rsplit("/", 1)[-1], "path": body["path"],
               "workflow_id": 600 + n, "head_branch": body.get("branch", r.default),
               "head_sha": body["head_sha"], "event": body.get("event", "push"),
               "status": body.get("status", "completed"), "conclusion": body.get("conclusion", "success"),
               "created_at": body.get("created_at", now()), "run_started_at": body.get("created_at", now()),
               "updated_at": now(), "html_url": f"https://github.com/{r.full}/actions/runs/{7000 + n}",
               "run_attempt": 1}
        r.runs.append(run)
        return 201, run
    if path == "/__state":
        return 200, {"refs": r.refs, "pulls": [r.pull_body(p) for p in r.pulls],
                     "comments": r.comments, "secrets": r.secrets, "env_secrets": r.env_secrets,
                     "org_secrets": r.org_secrets, "runs": r.runs}
    return 404, {"message": "unknown control path"}


def validate(method, raw_path, headers, body):
    """Replay the request to Prism; its schema violations, if any."""
    if not VALIDATE:
        return []
    u = urllib.parse.urlsplit(VALIDATE)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    h = {k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type", "accept")}
    try:
        conn.request(method, raw_path, body=body or None, headers=h)
        resp = conn.getresponse()
        resp.read()
        v = resp.getheader("sl-violations")
        # Prism also flags GitHub's own response examples; only the request is keysweep's
        out = [x for x in (json.loads(v) if v else []) if (x.get("location") or ["request"])[0] == "request"]
        if resp.status == 422 and not out:
            out = [{"message": "Prism answered 422"}]
        if resp.status == 404 and "json" in (resp.getheader("content-type") or "") and "problem" in resp.getheader("content-type"):
            out.append({"message": "no operation of GitHub's OpenAPI description matches this path"})
        return out
    except OSError as e:
        return [{"message": f"could not reach the validator: {e}"}]
    finally:
        conn.close()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, body, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        q = urllib.parse.parse_qs(url.query)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._send(400, {"message": "Problems parsing JSON"})
        if path.startswith("/__"):
            with LOCK:
                st, b = control(path, body, q)
            return self._send(st, b)
        violations = validate(self.command, self.path, dict(self.headers.items()), raw)
        with LOCK:
            fail = None
            for f in FAILS:
                if f["times"] != 0 and f.get("method", "GET") == self.command and re.search(f["path"], path):
                    f["times"] -= 1
                    fail = f
                    break
            if fail:
                st, b, h = fail.get("status", 500), fail.get("body", {"message": "injected"}), fail.get("headers", {})
            else:
                try:
                    st, b, *rest = route(self.command, path, q, body)
                except (KeyError, TypeError, ValueError) as e:
                    (st, b), rest = err(422, f"Invalid request: {type(e).__name__} {e}"), []
                h = rest[0] if rest else {}
            RECORDS.append({"method": self.command, "path": path, "query": url.query,
                            "body": body if raw else None, "status": st, "violations": violations,
                            "injected": bool(fail)})
        self._send(st, b, h)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def main():
    global VALIDATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--validate")
    a = ap.parse_args()
    load_templates(a.fixtures)
    load_extensions()
    VALIDATE = a.validate
    http.server.ThreadingHTTPServer.daemon_threads = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print(f"listening on {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
