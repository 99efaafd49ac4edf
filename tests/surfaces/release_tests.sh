# Sourced by tests/surfaces/run.sh (uses its ok/bad/missing, $T, $LOGS, $ROOT, $HERE).
# .github/workflows/release.yml's build job under `act` (host mode) on a `v*` tag push: the
# x86_64 Linux matrix entry, built for the host (act skips rustup/apt and the upload step).
# The archive must hold a keysweep with every feature, named as action/install.sh expects.
# To keep CI's time down the dist profile runs without LTO here (CARGO_PROFILE_DIST_LTO=false);
# the profile, features and packaging are the workflow's own.
RL="$T/release"
RO="$RL/origin.git" RW="$RL/work"
mkdir -p "$RW"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$RW"
git init -q --bare "$RO"
(cd "$RW" && git init -q && git add -A && git commit -qm "release" && git tag v0.1.0 &&
  git push -q "$RO" HEAD:refs/heads/main refs/tags/v0.1.0)
rel_sha=$(git -C "$RW" rev-parse HEAD)
printf '{"ref": "refs/tags/v0.1.0", "after": "%s", "repository": {"full_name": "keysweep/keysweep"}}\n' \
  "$rel_sha" >"$RL/tag.json"
REL_CHECKOUT_SHA=$(sed -n 's|.*uses: actions/checkout@\([0-9a-f]\{40\}\).*|\1|p' "$ROOT/.github/workflows/release.yml" | head -1)
L="$LOGS/act-release.log"
rc=0
(cd "$RW" && act push -e "$RL/tag.json" -W .github/workflows/release.yml -j build \
  --matrix target:x86_64-unknown-linux-musl -P ubuntu-24.04=-self-hosted --no-skip-checkout \
  --local-repository "actions/checkout@$REL_CHECKOUT_SHA=$HERE/standins/checkout" \
  --env KS_ORIGIN="$RO" --env CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/act-release" \
  --env CARGO_PROFILE_DIST_LTO=false --env CARGO_TERM_COLOR=never) >"$L" 2>&1 || rc=$?
archive=$(sed -n 's/.*release archive: //p' "$L" | tail -1 | tr -d '\r')
host=$(rustc -vV | sed -n 's/^host: //p')
if [[ $rc != 0 ]]; then bad "act: release.yml build job on a v* tag (exit $rc)" "$L" 40
elif [[ "$(basename "${archive:-none}")" != "keysweep-$host.tar.gz" || ! -s "$archive" ]]; then
  bad "act: release.yml build job writes keysweep-$host.tar.gz" "$L"
elif ! grep -q 'upload' "$L" || grep -qE 'Main upload|actions/upload-artifact@.*Success' "$L"; then
  bad "act: the upload step is skipped under act" "$L"
else
  mkdir -p "$RL/unpacked" && tar -xzf "$archive" -C "$RL/unpacked"
  if [[ "$(tar -tzf "$archive")" != keysweep ]]; then bad "release archive holds exactly \`keysweep\`" "$L"
  elif ! "$RL/unpacked/keysweep" --version >"$LOGS/release-version.log" 2>&1 ||
       ! "$RL/unpacked/keysweep" rotate --help >"$LOGS/release-rotate.log" 2>&1 ||
       grep -q 'not in this build' "$LOGS/release-rotate.log"; then
    bad "release binary runs and carries every feature (rotate --help)" "$LOGS/release-rotate.log"
  else ok "act: release.yml build job on a v* tag builds keysweep-$host.tar.gz (dist, --features full), upload skipped"; fi
fi
