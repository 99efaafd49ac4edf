#!/usr/bin/env bash
# MSRV check without a second toolchain (only one is installed and none can be fetched):
# every package Cargo.lock resolves (all features, all targets) must declare a `rust-version`
# no newer than ours. What it proves: no dependency *claims* to need a newer Rust than
# Cargo.toml's `rust-version`; crates that declare none are listed, not judged. What it does not
# prove: that our own code avoids newer std APIs or syntax (that needs the old compiler itself).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked --all-features | python3 -c '
import json, sys
meta = json.load(sys.stdin)
ver = lambda s: tuple(int(x) for x in s.split("."))
root = next(p for p in meta["packages"] if p["id"] == meta["resolve"]["root"])
ours = root["rust_version"]
resolved = {n["id"] for n in meta["resolve"]["nodes"]}
newer, undeclared, n = [], [], 0
for p in meta["packages"]:
    if p["id"] not in resolved or p["id"] == root["id"]:
        continue
    n += 1
    rv = p.get("rust_version")
    if rv is None:
        undeclared.append(p["name"])
    elif ver(rv) > ver(ours):
        name, version = p["name"], p["version"]
        newer.append(f"{name} {version} (rust-version {rv})")
none = " ".join(sorted(undeclared)) or "-"
print(f"msrv: {n} resolved packages checked against rust-version {ours}; {len(undeclared)} declare none: {none}")
if newer:
    print("msrv: these need a newer Rust than Cargo.toml says:\n  " + "\n  ".join(newer), file=sys.stderr)
    sys.exit(1)
'
