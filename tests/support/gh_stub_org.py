"""gh_stub extension: the sweep's routes (tests only; loaded by gh_stub.py).

State: the repositories each organisation and user lists, and the issues of any repository
(the sweep's dashboard). Bodies are the core stub's @octokit/fixtures templates (repository,
issue) with the state's values filled in. Lists are paginated like GitHub: `per_page`/`page`
and a `Link: <...>; rel="next", <...>; rel="last"` header, the page size capped by the seed.

Control (JSON bodies):
  POST /__seed_org  {"org":"acme"} or {"user":"octocat"}, "page_size":2,
                    "repos":[{"name":"a","clone_url":"/srv/a.git","archived":false,
                              "fork":false,"topics":["x"]}]}   replaces that owner's list
  POST /__seed_issues {"repo":"o/r","issues":[{"title":"...","body":"...","user":"login",
                       "state":"open"}]}   issues that exist before the test runs
  POST /__issues {"repo":"o/r"}   every issue of the repository, as the API shows them
Routes: GET /orgs/{org}/repos, GET /users/{user}/repos, GET/POST /repos/{o}/{r}/issues,
  GET/PATCH /repos/{o}/{r}/issues/{n} (only for repositories given to /__seed_issues or
  that had an issue created; others fall through to the core stub).
"""
import re

OWNERS = {}  # ("orgs" | "users", login) -> {"page_size": n, "repos": [body]}
ISSUES = {}  # "o/r" -> [issue state dicts]
ACTOR = "keysweep-test-user"  # the core stub's GET /user login: who creates issues


def paginate(stub, url, items, q, cap):
    per = min(int(q.get("per_page", ["30"])[0]), cap)
    page = int(q.get("page", ["1"])[0])
    chunk = items[(page - 1) * per:page * per]
    last = max(1, -(-len(items) // per))
    h = {}
    if page < last:
        h["Link"] = (f'<https://api.github.com{url}?per_page={per}&page={page + 1}>; rel="next", '
                     f'<https://api.github.com{url}?per_page={per}&page={last}>; rel="last"')
    return 200, chunk, h


def repo_body(stub, owner, spec, i):
    full = f"{owner}/{spec['name']}"
    b = stub.retarget(stub.T["repo"], full)
    b.update({"id": spec.get("id", 3000 + i), "name": spec["name"], "full_name": full,
              "html_url": f"https://github.com/{full}", "clone_url": spec["clone_url"],
              "archived": bool(spec.get("archived")), "fork": bool(spec.get("fork")),
              "topics": list(spec.get("topics", [])),
              "default_branch": spec.get("default_branch", "main")})
    b["owner"]["login"] = owner
    return b


def issue_body(stub, full, it):
    b = stub.retarget(stub.T["issue"], full)
    n = it["number"]
    b.update({"id": 8000 + n, "number": n, "title": it["title"], "body": it["body"],
              "state": it["state"], "url": f"https://api.github.com/repos/{full}/issues/{n}",
              "html_url": f"https://github.com/{full}/issues/{n}", "labels": [],
              "closed_at": None if it["state"] == "open" else stub.now(),
              "updated_at": it.get("updated_at", stub.now())})
    b["user"] = dict(b["user"], login=it["user"])
    return b


def add_issue(full, title, body, user, state="open"):
    issues = ISSUES.setdefault(full, [])
    it = {"number": len(issues) + 1, "title": title, "body": body, "user": user, "state": state}
    issues.append(it)
    return it


def route(stub, method, path, q, body):
    m = re.match(r"^/(orgs|users)/([^/]+)/repos$", path)
    if m and method == "GET":
        owner = OWNERS.get((m.group(1), m.group(2)))
        if owner is None:
            return stub.err(404, "Not Found")
        return paginate(stub, path, owner["repos"], q, owner["page_size"])
    m = re.match(r"^/repos/([^/]+/[^/]+)/issues(?:/(\d+))?$", path)
    if not m or m.group(1) not in ISSUES:
        return None
    full, issues = m.group(1), ISSUES[m.group(1)]
    if m.group(2) is None:
        if method == "GET":
            state, creator = q.get("state", ["open"])[0], q.get("creator", [None])[0]
            out = [issue_body(stub, full, it) for it in issues
                   if (state == "all" or it["state"] == state)
                   and (creator is None or it["user"] == creator)]
            return paginate(stub, path, out, q, 100)
        if method == "POST":
            it = add_issue(full, body["title"], body.get("body"), ACTOR)
            return 201, issue_body(stub, full, it)
        return None
    it = next((x for x in issues if x["number"] == int(m.group(2))), None)
    if it is None:
        return stub.err(404, "Not Found")
    if method == "GET":
        return 200, issue_body(stub, full, it)
    if method == "PATCH":
        for k in ("title", "body", "state"):
            if k in body:
                it[k] = body[k]
        it["updated_at"] = stub.now()
        return 200, issue_body(stub, full, it)
    return None


def control(stub, path, body, q):
    if path == "/__seed_org":
        kind, login = ("orgs", body["org"]) if "org" in body else ("users", body["user"])
        OWNERS[(kind, login)] = {
            "page_size": int(body.get("page_size", 100)),
            "repos": [repo_body(stub, login, r, i) for i, r in enumerate(body.get("repos", []))]}
        return 201, {"repos": len(OWNERS[(kind, login)]["repos"])}
    if path == "/__seed_issues":
        ISSUES.setdefault(body["repo"], [])
        for it in body.get("issues", []):
            add_issue(body["repo"], it["title"], it.get("body"), it.get("user", "someone"),
                      it.get("state", "open"))
        return 201, {"issues": len(ISSUES[body["repo"]])}
    if path == "/__issues":
        full = body.get("repo") or (q.get("repo") or [""])[0]
        return 200, [issue_body(stub, full, it) for it in ISSUES.get(full, [])]
    return None
