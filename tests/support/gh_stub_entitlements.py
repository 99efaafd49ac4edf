"""gh_stub extension: what `keysweep entitlements` lists and remediates (tests only).

State per organisation seeded here: its repositories (seeded first with the core `/__seed`),
org Actions/Dependabot/Codespaces secrets (visibility, selected repositories), fine-grained
token grants and requests, SAML SSO credential authorisations, App installations and webhooks;
per repository: the dates of its Actions and environment secrets (the names stay the core
stub's, so its DELETE routes keep working), deploy keys, Dependabot and Codespaces secrets.

Bodies: repositories and users are the core stub's @octokit/fixtures recorded bodies
(`stub.T`); @octokit/fixtures records no deploy key, installation, webhook or token grant, so
those are built with the fields of GitHub's OpenAPI description (`deploy-key`, `installation`,
`org-hook`, `organization-programmatic-access-grant`, `credential-authorization`). Only the
organisations and repositories seeded here are answered; anything else passes to the other
routes.

Control (JSON bodies):
  POST /__entitlements_seed {"org":"acme","repos":["acme/api"],
      "visibility":{"acme/api":"private"},
      "secrets":[{"name","visibility","selected":["acme/a"],"created_at","updated_at"}],
      "dependabot_secrets":[...], "codespaces_secrets":[...],
      "pats":[{"token_name","owner","permissions","repository_selection","token_expires_at",
               "token_last_used_at","access_granted_at","repositories":["acme/api"]}],
      "pat_requests":[...],
      "credential_authorizations":[{"login","credential_type","token_last_eight",
               "credential_authorized_at","credential_accessed_at","scopes",
               "authorized_credential_expires_at"}],
      "installations":[{"app_slug","permissions","repository_selection"}],
      "hooks":[{"url","secret":true,"created_at","updated_at"}],
      "repo_meta":{"acme/api":{"secret_dates":{"NAME":"2020-01-01T00:00:00Z"},
               "env_secret_dates":{"prod":{"NAME":"..."}},
               "deploy_keys":[{"title","read_only","added_by","created_at","last_used"}],
               "dependabot_secrets":[{"name","updated_at"}],"codespaces_secrets":[...]}}}
  GET  /__entitlements_state?org=acme   what is left (secrets, pats, authorisations, keys)
"""
import copy
import re

ORGS = {}
META = {}  # repo full name -> its entitlement metadata
OLD = "2020-01-01T00:00:00Z"


def page(stub, q, url, items, key=None):
    """GitHub's pagination: `per_page`/`page` and a `Link: <...>; rel="next"` header."""
    per, n = int(q.get("per_page", ["30"])[0]), int(q.get("page", ["1"])[0])
    chunk = items[(n - 1) * per:n * per]
    h = {}
    if n * per < len(items):
        h["Link"] = f'<https://api.github.com{url}?per_page={per}&page={n + 1}>; rel="next"'
    body = chunk if key is None else {"total_count": len(items), key: chunk}
    return 200, body, h


def user(stub, login, uid=1000):
    return dict(copy.deepcopy(stub.T["user"]), login=login, id=uid,
                url=f"https://api.github.com/users/{login}",
                html_url=f"https://github.com/{login}")


def secret_body(s, org=None, area="actions"):
    b = {"name": s["name"], "created_at": s.get("created_at", OLD),
         "updated_at": s.get("updated_at", s.get("created_at", OLD))}
    if org is not None:
        b["visibility"] = s.get("visibility", "all")
        if b["visibility"] == "selected":
            b["selected_repositories_url"] = (
                f"https://api.github.com/orgs/{org}/{area}/secrets/{s['name']}/repositories")
    return b


def grant_body(stub, org, i, t, request=False):
    b = {"id": 3000 + i, "owner": user(stub, t.get("owner", "octocat"), 1100 + i),
         "repository_selection": t.get("repository_selection", "subset"),
         "repositories_url": f"https://api.github.com/orgs/{org}/personal-access-tokens/{3000 + i}/repositories",
         "permissions": t.get("permissions", {"repository": {"contents": "read"}}),
         "token_id": 4000 + i, "token_name": t["token_name"],
         "token_expired": t.get("token_expired", False),
         "token_expires_at": t.get("token_expires_at"),
         "token_last_used_at": t.get("token_last_used_at")}
    if request:
        b.update(reason=t.get("reason", "automation"), created_at=t.get("created_at", OLD))
    else:
        b["access_granted_at"] = t.get("access_granted_at", OLD)
    return b


def sso_body(i, a):
    b = {"login": a.get("login", "octocat"), "credential_id": 5000 + i,
         "credential_type": a.get("credential_type", "personal access token"),
         "credential_authorized_at": a.get("credential_authorized_at", OLD),
         "credential_accessed_at": a.get("credential_accessed_at"),
         "authorized_credential_id": 5100 + i,
         "authorized_credential_expires_at": a.get("authorized_credential_expires_at")}
    if b["credential_type"] == "personal access token":
        b.update(token_last_eight=a.get("token_last_eight", f"{i:08d}"),
                 scopes=a.get("scopes", ["repo"]),
                 authorized_credential_note=a.get("note", "ci"))
    else:
        b.update(fingerprint=a.get("fingerprint", "jfp/7gT8W+YxvKcSl2JeBbS7oG5Chr6tMcBYpV6J3C0"),
                 authorized_credential_title=a.get("title", "deploy laptop"))
    return b


def installation_body(stub, org, o, i, a):
    account = dict(user(stub, org, o["id"]), type="Organization")
    return {"id": 6000 + i, "account": account,
            "repository_selection": a.get("repository_selection", "selected"),
            "access_tokens_url": f"https://api.github.com/app/installations/{6000 + i}/access_tokens",
            "repositories_url": "https://api.github.com/installation/repositories",
            "html_url": f"https://github.com/organizations/{org}/settings/installations/{6000 + i}",
            "app_id": 700 + i, "client_id": f"Iv1.{700 + i:016x}", "target_id": o["id"],
            "target_type": "Organization", "permissions": a.get("permissions", {"metadata": "read"}),
            "events": a.get("events", []), "created_at": a.get("created_at", OLD),
            "updated_at": a.get("updated_at", OLD), "single_file_name": None,
            "has_multiple_single_files": False, "single_file_paths": [],
            "app_slug": a["app_slug"], "suspended_by": None, "suspended_at": None,
            "contact_email": None}


def hook_body(org, i, h):
    hid = 8000 + i
    base = f"https://api.github.com/orgs/{org}/hooks/{hid}"
    config = {"url": h["url"], "content_type": "json", "insecure_ssl": "0"}
    if h.get("secret"):
        config["secret"] = "********"
    return {"id": hid, "url": base, "ping_url": f"{base}/pings", "deliveries_url": f"{base}/deliveries",
            "name": "web", "events": h.get("events", ["push"]), "active": True, "config": config,
            "updated_at": h.get("updated_at", OLD), "created_at": h.get("created_at", OLD),
            "type": "Organization"}


def key_body(full, k):
    b = {"id": k["id"], "key": k.get("key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeysweepSyntheticTestKeyOnly0000000000"),
         "url": f"https://api.github.com/repos/{full}/keys/{k['id']}", "title": k["title"],
         "verified": True, "created_at": k.get("created_at", OLD), "read_only": k.get("read_only", True),
         "added_by": k.get("added_by", "octocat"), "enabled": True}
    if "last_used" in k:
        b["last_used"] = k["last_used"]
    return b


def repo_for_org(stub, o, full):
    b = stub.REPOS[full].repo_body()
    vis = o["visibility"].get(full, "public")
    b.update(visibility=vis, private=vis != "public", archived=False)
    return b


def control(stub, path, body, q):
    if path == "/__entitlements_seed":
        org = body["org"]
        o = {"id": body.get("id", 90000 + len(ORGS)), "repos": list(body.get("repos", [])),
             "visibility": dict(body.get("visibility", {}))}
        for k in ("secrets", "dependabot_secrets", "codespaces_secrets", "pats", "pat_requests",
                  "credential_authorizations", "installations", "hooks"):
            o[k] = copy.deepcopy(body.get(k, []))
        o["revoked"], o["removed"] = [], []
        ORGS[org] = o
        next_key = 100
        for full, m in body.get("repo_meta", {}).items():
            m = copy.deepcopy(m)
            for k in m.get("deploy_keys", []):
                next_key += 1
                k.setdefault("id", next_key)
            META[full] = m
        return 201, {"org": org}
    if path == "/__entitlements_state":
        org = (q.get("org") or [body.get("org", "")])[0]
        o = ORGS.get(org)
        if o is None:
            return 404, {"message": "unknown org"}
        keys = {full: [k["title"] for k in m.get("deploy_keys", [])] for full, m in META.items()}
        return 200, {"secrets": o["secrets"], "revoked": o["revoked"], "removed": o["removed"],
                     "pats": [t["token_name"] for t in o["pats"]], "deploy_keys": keys}
    return None


def org_route(stub, method, path, q, body, org, rest):
    o = ORGS[org]
    url = f"/orgs/{org}{rest}"
    if (method, rest) == ("GET", "/repos"):
        return page(stub, q, url, [repo_for_org(stub, o, r) for r in o["repos"] if r in stub.REPOS])
    sm = re.match(r"^/(actions|dependabot|codespaces)/secrets(?:/([^/]+))?(/repositories)?$", rest)
    if sm:
        area, name, repos = sm.groups()
        key = "secrets" if area == "actions" else f"{area}_secrets"
        items = o[key]
        if method == "GET" and not name:
            return page(stub, q, url, [secret_body(s, org, area) for s in items], "secrets")
        s = next((x for x in items if x["name"] == name), None)
        if s is None and not (method == "PUT" and not repos):
            return stub.err(404, "Not Found")
        if method == "GET" and repos:
            sel = [stub.REPOS[r].repo_body() for r in s.get("selected", []) if r in stub.REPOS]
            return page(stub, q, url, sel, "repositories")
        if method == "DELETE" and not repos:
            items.remove(s)
            return 204, None
        if method == "PUT":
            if s is None:
                if "encrypted_value" not in body:
                    return stub.err(422, "Validation Failed", [{"resource": "Secret", "field": "encrypted_value", "code": "missing_field"}])
                s = {"name": name, "created_at": stub.now()}
                items.append(s)
            ids = body.get("selected_repository_ids", [])
            by_id = {r.id: full for full, r in stub.REPOS.items()}
            if any(i not in by_id for i in ids):
                return stub.err(422, "Validation Failed", [{"resource": "Secret", "field": "selected_repository_ids", "code": "invalid"}])
            if not repos:
                s["visibility"] = body["visibility"]
            s["selected"] = [by_id[i] for i in ids]
            s["updated_at"] = stub.now()
            return 204, None
    if (method, rest) == ("GET", "/personal-access-tokens"):
        return page(stub, q, url, [grant_body(stub, org, i, t) for i, t in enumerate(o["pats"])])
    pm = re.match(r"^/personal-access-tokens/(\d+)$", rest)
    if pm and method == "POST":
        i = int(pm.group(1)) - 3000
        if not 0 <= i < len(o["pats"]) or o["pats"][i] is None or body.get("action") != "revoke":
            return stub.err(404, "Not Found")
        o["revoked"].append(o["pats"][i]["token_name"])
        o["pats"][i] = dict(o["pats"][i], token_expired=True)
        return 204, None
    rm = re.match(r"^/personal-access-token(s|-requests)/(\d+)/repositories$", rest)
    if rm and method == "GET":
        items, base = (o["pats"], 3000) if rm.group(1) == "s" else (o["pat_requests"], 3050)
        i = int(rm.group(2)) - base
        if not 0 <= i < len(items):
            return stub.err(404, "Not Found")
        repos = [stub.REPOS[r].repo_body() for r in items[i].get("repositories", []) if r in stub.REPOS]
        return page(stub, q, url, repos)
    if (method, rest) == ("GET", "/personal-access-token-requests"):
        return page(stub, q, url, [grant_body(stub, org, 50 + i, t, True) for i, t in enumerate(o["pat_requests"])])
    if (method, rest) == ("GET", "/credential-authorizations"):
        live = [(i, a) for i, a in enumerate(o["credential_authorizations"]) if not a.get("removed")]
        return page(stub, q, url, [sso_body(i, a) for i, a in live])
    cm = re.match(r"^/credential-authorizations/(\d+)$", rest)
    if cm and method == "DELETE":
        i = int(cm.group(1)) - 5000
        auths = o["credential_authorizations"]
        if not 0 <= i < len(auths) or auths[i].get("removed"):
            return stub.err(404, "Not Found")
        auths[i]["removed"] = True
        o["removed"].append(auths[i].get("login", "octocat"))
        return 204, None
    if (method, rest) == ("GET", "/installations"):
        items = [installation_body(stub, org, o, i, a) for i, a in enumerate(o["installations"])]
        return page(stub, q, url, items, "installations")
    if (method, rest) == ("GET", "/hooks"):
        return page(stub, q, url, [hook_body(org, i, h) for i, h in enumerate(o["hooks"])])
    return None


def repo_route(stub, method, path, q, body, full, rest):
    m = META[full]
    r = stub.REPOS.get(full)
    url = f"/repos/{full}{rest}"
    if r is None:
        return None
    dated = lambda names, dates: [{"name": n, "created_at": dates.get(n, OLD), "updated_at": dates.get(n, OLD)} for n in names]  # noqa: E731
    if (method, rest) == ("GET", "/actions/secrets"):
        return page(stub, q, url, dated(r.secrets, m.get("secret_dates", {})), "secrets")
    em = re.match(r"^/environments/([^/]+)/secrets$", rest)
    if em and method == "GET":
        env = em.group(1)
        names = r.env_secrets.get(env, [])
        return page(stub, q, url, dated(names, m.get("env_secret_dates", {}).get(env, {})), "secrets")
    am = re.match(r"^/(dependabot|codespaces)/secrets$", rest)
    if am and method == "GET":
        items = [secret_body(s) for s in m.get(f"{am.group(1)}_secrets", [])]
        return page(stub, q, url, items, "secrets")
    keys = m.setdefault("deploy_keys", [])
    if (method, rest) == ("GET", "/keys"):
        return page(stub, q, url, [key_body(full, k) for k in keys])
    km = re.match(r"^/keys/(\d+)$", rest)
    if km and method == "DELETE":
        k = next((x for x in keys if x["id"] == int(km.group(1))), None)
        if k is None:
            return stub.err(404, "Not Found")
        keys.remove(k)
        return 204, None
    return None


def route(stub, method, path, q, body):
    m = re.match(r"^/orgs/([^/]+)(/.*)$", path)
    if m and m.group(1) in ORGS:
        return org_route(stub, method, path, q, body, m.group(1), m.group(2))
    m = re.match(r"^/repos/([^/]+/[^/]+)(/.*)$", path)
    if m and m.group(1) in META:
        return repo_route(stub, method, path, q, body, m.group(1), m.group(2))
    return None
