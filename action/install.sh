#!/usr/bin/env bash
# keysweep action, install step.
#   install.sh plan     -> step outputs: target, tag, repo, dir, key (for actions/cache)
#   install.sh install  -> keysweep on PATH: from the cache, else the release asset of the tag
#                          (sha256 checked against the release's SHA256SUMS), else built from
#                          the action's own source with `cargo install --locked --path`.
# Which release: the `version` input; else the action's ref when it is a tag (@v1.2.3); else,
# when the action is pinned to a commit, the release of the version in the action's
# Cargo.toml, used only if that release's COMMIT asset names exactly that commit.
# Release assets (per tag): keysweep-<target>.tar.gz (holding `keysweep`, or `keysweep.exe`),
# SHA256SUMS (`sha256sum` format) and COMMIT (the 40-hex commit the release was built from). KEYSWEEP_DOWNLOAD_URL overrides the download base
# (default $GITHUB_SERVER_URL/<repo>/releases/download), e.g. for a mirror.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { printf '::error title=keysweep install::%s\n' "$*"; exit 1; }

target_triple() {
  case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo unknown ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

source_hash() { # the inputs of a source build, so the cache follows the action's code
  ( cd "$GITHUB_ACTION_PATH" &&
    find Cargo.toml Cargo.lock build.rs src rules -type f 2>/dev/null | LC_ALL=C sort |
      while read -r f; do printf '%s %s\n' "$(sha256_of "$f")" "$f"; done ) |
    { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; } | cut -c1-16
}

# install-only serves the bot's subcommands and suggest needs `rotate`: all features then.
full() { [[ "${KEYSWEEP_INSTALL_ONLY:-false}" == true || "${KEYSWEEP_SUGGEST:-false}" == true ]]; }

plan() {
  local target tag repo key dir
  target=$(target_triple)
  tag=${KEYSWEEP_VERSION:-}
  # the action's own ref, when it is a release tag (uses: owner/keysweep@v1.2.3)
  if [[ -z "$tag" && "${ACTION_REF:-}" =~ ^v[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.-]+)?$ ]]; then tag=$ACTION_REF; fi
  repo=${ACTION_REPO:-${GITHUB_ACTION_REPOSITORY:-}}
  local commit=""
  if [[ -z "$tag" && "${ACTION_REF:-}" =~ ^[0-9a-f]{40}$ ]]; then
    commit=$ACTION_REF
    tag=v$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$GITHUB_ACTION_PATH/Cargo.toml" | head -1)
  fi
  echo "commit=$commit" >>"$GITHUB_OUTPUT"
  if [[ -n "$commit" ]]; then key="keysweep-$target-$tag-$commit"
  elif [[ -n "$tag" ]]; then key="keysweep-$target-$tag"
  else key="keysweep-$target-src-$(source_hash)"; fi
  full && key="$key-full"
  dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/keysweep/${key#keysweep-}"
  {
    echo "target=$target"
    echo "tag=$tag"
    echo "repo=$repo"
    echo "dir=$dir"
    echo "key=$key"
  } >>"$GITHUB_OUTPUT"
  say "keysweep: target $target, ${tag:+release }${tag:-source build}, cache key $key"
}

from_release() { # 0 installed, 3 no asset for this target/tag; dies on a bad checksum
  local tag=$1 target=$2 dir=$3 base asset tmp want got
  [[ "$target" != unknown ]] || return 3
  base=${KEYSWEEP_DOWNLOAD_URL:-${GITHUB_SERVER_URL:-https://github.com}/${KEYSWEEP_REPO}/releases/download}
  asset="keysweep-$target.tar.gz"
  tmp=$(mktemp -d)
  local auth=()
  [[ -n "${GITHUB_TOKEN:-}" && "$base" == "${GITHUB_SERVER_URL:-https://github.com}"* ]] &&
    auth=(-H "Authorization: Bearer $GITHUB_TOKEN")
  say "keysweep: downloading $base/$tag/$asset"
  if [[ -n "${KEYSWEEP_COMMIT:-}" ]]; then
    local built
    built=$(curl -fsSL --retry 3 "${auth[@]}" "$base/$tag/COMMIT" 2>/dev/null | tr -d '[:space:]') || built=""
    if [[ "$built" != "$KEYSWEEP_COMMIT" ]]; then
      say "keysweep: release $tag was not built from the pinned commit ${KEYSWEEP_COMMIT:0:12} (COMMIT: ${built:-none})"
      rm -rf "$tmp"; return 3
    fi
  fi
  if ! curl -fsSL --retry 3 "${auth[@]}" -o "$tmp/$asset" "$base/$tag/$asset" ||
     ! curl -fsSL --retry 3 "${auth[@]}" -o "$tmp/SHA256SUMS" "$base/$tag/SHA256SUMS"; then
    say "keysweep: no release asset $asset for $tag"
    rm -rf "$tmp"; return 3
  fi
  want=$(awk -v a="$asset" '{ f = $2; sub(/^\*/, "", f) } f == a { print $1 }' "$tmp/SHA256SUMS")
  got=$(sha256_of "$tmp/$asset")
  [[ -n "$want" ]] || die "SHA256SUMS of $tag has no line for $asset: refusing an unverified binary"
  [[ "$want" == "$got" ]] || die "checksum mismatch for $asset ($tag): expected $want, got $got; refusing it"
  say "keysweep: sha256 verified ($got)"
  mkdir -p "$dir/bin"
  tar -xzf "$tmp/$asset" -C "$dir/bin"
  rm -rf "$tmp"
}

from_source() {
  local dir=$1
  command -v cargo >/dev/null ||
    die "no release asset fits this runner and cargo is not installed: add a Rust toolchain step or use a released version"
  local features=()
  # The scan needs only the default (light) build; rotate --open-pr, retire and sweep need all.
  full && features=(--features full)
  say "keysweep: building from the action's source (cargo install --locked ${features[*]}), a few minutes"
  cargo install --locked --path "$GITHUB_ACTION_PATH" --root "$dir" --bin keysweep "${features[@]}"
}

install() {
  local dir=$KEYSWEEP_DIR target
  target=$(target_triple)
  local bin="$dir/bin/keysweep"
  [[ "$target" == *windows* ]] && bin="$bin.exe"
  if [[ -x "$bin" ]]; then
    say "keysweep: using cached binary (${KEYSWEEP_CACHE_HIT:+cache hit})"
  elif [[ -n "${KEYSWEEP_TAG:-}" ]]; then
    from_release "$KEYSWEEP_TAG" "$target" "$dir" || from_source "$dir"
  else
    from_source "$dir"
  fi
  [[ -x "$bin" ]] || die "installation left no $bin"
  echo "$dir/bin" >>"$GITHUB_PATH"
  "$bin" --version >&2
}

case "${1:-}" in
  plan) plan ;;
  install) install ;;
  *) echo "usage: $0 plan|install" >&2; exit 2 ;;
esac
