#!/usr/bin/env python3
"""Deterministic git history generator for bench/git_history.sh (uses `git fast-import`).

Builds a linear history of COMMITS commits over a pool of text files. Every commit rewrites
a few lines of FILES_PER_COMMIT files, so nearly all of each commit's tree is shared with its
parent and each new blob version is mostly shared (as a delta) with the previous one, as in
real histories; the sum of distinct blob sizes still grows by ~56 KB per commit
(20,000 commits -> ~1.1 GB of unique blob data).

Synthetic GitHub classic tokens (valid CRC32 tail, random body generated here, never real)
are added at chosen commits and removed a few commits later; their list is written to
SECRETS_OUT (one per line) so the benchmark can measure recall on removed-in-history secrets.

usage: gen_history.py REPO_DIR COMMITS SECRETS_OUT [SEED]
"""
import os
import random
import subprocess
import sys
import zlib

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
N_FILES = 1500
FILES_PER_COMMIT = 2
LINES_PER_FILE = (200, 1000)  # ~45 bytes a line: 9..45 KB files
N_SECRETS = 60


def base62(n, width):
    s = ""
    while n:
        s = ALNUM[n % 62] + s
        n //= 62
    return s.rjust(width, "0")


def ghp(rng):
    body = "".join(rng.choice(ALNUM) for _ in range(30))
    return "ghp_" + body + base62(zlib.crc32(body.encode()), 6)


def main():
    repo, commits, secrets_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 42
    rng = random.Random(seed)

    words = ["config", "value", "user", "request", "handler", "timeout", "retry", "buffer",
             "token_count", "session", "cache", "index", "result", "error", "message", "client",
             "server", "password_hint", "key_id", "path", "name", "limit", "offset", "data"]
    # A pool of code-like lines; files are built from it, with per-commit unique lines mixed in.
    pool = []
    for i in range(20000):
        kind = i % 5
        a, b = rng.choice(words), rng.choice(words)
        if kind == 0:
            pool.append(f"    let {a}_{i} = {b}.get(\"{rng.choice(words)}\").unwrap_or({i});")
        elif kind == 1:
            pool.append(f"# {a} {b} {rng.choice(words)} {rng.choice(words)} {i}")
        elif kind == 2:
            pool.append(f"{a}_{b} = \"{''.join(rng.choice(ALNUM) for _ in range(12))}\"")
        elif kind == 3:
            pool.append(f"    if {a} > {i} {{ return Err(Error::{b.capitalize()}); }}")
        else:
            pool.append(f"def {a}_{i}({b}): return {b} * {i % 97}")

    files = []
    for i in range(N_FILES):
        n = rng.randint(*LINES_PER_FILE)
        path = f"src/m{i % 40}/part{i % 7}/f{i}.{['rs', 'py', 'toml', 'txt'][i % 4]}"
        files.append([path, [rng.choice(pool) for _ in range(n)]])

    # Secret schedule: add at commit a (in a random file), remove at a + d.
    secrets = []
    adds, removes = {}, {}
    for s in range(N_SECRETS):
        tok = ghp(rng)
        a = rng.randint(1, max(1, commits - 60))
        d = rng.randint(1, 50)
        f = rng.randrange(N_FILES)
        line = f'GITHUB_TOKEN = "{tok}"'
        secrets.append(tok)
        adds.setdefault(a, []).append((f, line))
        removes.setdefault(a + d, []).append((f, line))

    os.makedirs(repo, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    fi = subprocess.Popen(["git", "fast-import", "--quiet", "--depth=50"], cwd=repo,
                          stdin=subprocess.PIPE, env=env)
    out = fi.stdin
    t0 = 1_500_000_000

    def blob_cmd(path, lines):
        data = ("\n".join(lines) + "\n").encode()
        return b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(data) + data + b"\n"

    for c in range(commits):
        msg = f"commit {c}\n".encode()
        head = (b"commit refs/heads/main\n"
                b"author Dev %d <dev%d@example.test> %d +0000\n" % (c % 17, c % 17, t0 + c * 600) +
                b"committer Dev %d <dev%d@example.test> %d +0000\n" % (c % 17, c % 17, t0 + c * 600) +
                b"data %d\n" % len(msg) + msg)
        parts = [head]
        if c == 0:
            for path, lines in files:
                parts.append(blob_cmd(path, lines))
        else:
            touched = set(rng.randrange(N_FILES) for _ in range(FILES_PER_COMMIT))
            for f, line in adds.get(c, []):
                files[f][1].insert(rng.randrange(len(files[f][1])), line)
                touched.add(f)
            for f, line in removes.get(c, []):
                files[f][1] = [l for l in files[f][1] if l != line]
                touched.add(f)
            for f in sorted(touched):
                lines = files[f][1]
                for _ in range(3):
                    k = rng.randrange(len(lines))
                    if "GITHUB_TOKEN" not in lines[k]:
                        lines[k] = f"{rng.choice(pool)}  // rev {c}"
                parts.append(blob_cmd(files[f][0], lines))
        out.write(b"".join(parts))
    out.close()
    if fi.wait() != 0:
        sys.exit("fast-import failed")
    with open(secrets_out, "w") as fh:
        fh.write("\n".join(secrets) + "\n")


if __name__ == "__main__":
    main()
