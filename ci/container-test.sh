#!/usr/bin/env bash
# The action's container, run offline the way GitHub runs a container action:
# build the image from the repository's Dockerfile around a release binary
# (the one ci/build-release.sh builds, or RELEASEKIT_BINARY: the release
# workflow passes the exact bytes it publishes), run `action` with the
# workspace mounted at /github/workspace and INPUT_* / GITHUB_* /
# ACTIONS_ID_TOKEN_* from a sandbox, then check the bundles are in the
# workspace, on the release, and verify.
#
# Needs podman, buildah and runc (ci/container-setup.sh installs them) and
# root, directly or through sudo. Outside CI it skips with a reason when it
# cannot run; under CI (CI set) it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
IMAGE=localhost/releasekit-sign:container-test

cannot_run() {
  if [ -n "${CI:-}" ]; then echo "container test: FAILED: $*" >&2; exit 1; fi
  echo "container test: SKIPPED: $*"; exit 0
}
# Rootless podman cannot run on this project's CI machine: root or sudo.
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
  cannot_run "needs root or passwordless sudo (rootless podman cannot run here)"
fi
# shellcheck source=ci/sudo.sh
. ci/sudo.sh
command -v podman >/dev/null || cannot_run "podman is not installed (run ci/container-setup.sh)"
command -v runc >/dev/null || cannot_run "runc is not installed (run ci/container-setup.sh)"

T=$(mktemp -d)
SANDBOX_PID=
cleanup() {
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null
  # The container wrote the bundles as root.
  $SUDO rm -rf "$T"
}
trap cleanup EXIT

# 1. The release binary for this machine, and the sandbox.
HOST=$(rustc -vV | sed -n 's/^host: //p')
case $HOST in
  x86_64-unknown-linux-gnu) ARCH=amd64 ;;
  aarch64-unknown-linux-gnu) ARCH=arm64 ;;
  *) cannot_run "no image for host $HOST (the image is linux/amd64 and linux/arm64)" ;;
esac
BIN=${RELEASEKIT_BINARY:-}
[ -n "$BIN" ] || BIN=$(ci/build-release.sh "$HOST" "$T/releasekit-sign")
# With the workspace's examples, features resolve as `cargo test --workspace`
# resolves them, so under .ci/run this reuses the tests' build; `-p` alone
# resolved another feature set and rebuilt the crate graph (minutes).
CARGO_TARGET_DIR=$TARGET cargo build --locked --workspace --bins --examples
SANDBOX=$TARGET/debug/releasekit-sandbox

# 2. The image, from the repository's Dockerfile, in a context holding only its inputs.
ci/image-context.sh "$T/context" "$ARCH=$BIN"
$SUDO podman build --quiet --platform "linux/$ARCH" -t "$IMAGE" -f "$T/context/Dockerfile" "$T/context"
SIZE=$($SUDO podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $SIZE bytes"
[ "$SIZE" -le $((20 * 1024 * 1024)) ] || { echo "image is larger than 20 MB" >&2; exit 1; }
# The image holds exactly the binary under test.
CID=$($SUDO podman create "$IMAGE")
$SUDO podman cp "$CID:/releasekit-sign" "$T/from-image"
$SUDO podman rm "$CID" >/dev/null
cmp "$BIN" "$T/from-image" || { echo "the image's binary is not $BIN" >&2; exit 1; }

# 3. The sandbox: Sigstore + GitHub on loopback, and the job's environment.
"$SANDBOX" serve --env-file "$T/env" --dir "$T/trust" &
SANDBOX_PID=$!
for _ in $(seq 100); do [ -s "$T/env" ] && break; sleep 0.1; done
[ -s "$T/env" ] || { echo "the sandbox did not start" >&2; exit 1; }
# shellcheck disable=SC1091
. "$T/env"

# 4. A workspace as actions/checkout leaves it, plus the trust config the
#    container can read (it sees only the workspace).
WS=$T/workspace
mkdir -p "$WS/dist" "$T/file_commands"
printf 'app tarball\n' > "$WS/dist/app-1.0.tar.gz"
printf 'app wheel\n' > "$WS/dist/app 1.0.whl"
cp "$SANDBOX_TRUST_CONFIG" "$WS/sandbox-trust.json"
: > "$T/file_commands/output"; : > "$T/file_commands/summary"

# Each variable with its value: a bare `-e NAME` copies podman's own
# environment, which `sudo` (GitHub-hosted runners) resets.
run_action() {
  $SUDO podman --runtime runc run --rm --network host \
    --workdir /github/workspace \
    -v "$WS:/github/workspace" -v "$T/file_commands:/github/file_commands" \
    -e "INPUT_INPUTS=dist/*.tar.gz dist/*.whl" \
    -e "INPUT_TRUST-CONFIG=sandbox-trust.json" \
    -e "INPUT_GITHUB-TOKEN=$GITHUB_TOKEN" \
    -e "INPUT_RELEASE-TAG=" -e "INPUT_UPLOAD=" -e "INPUT_VERIFY=true" \
    -e "INPUT_IDENTITY-TOKEN=" -e "INPUT_DRY-RUN=false" "$@" \
    -e "GITHUB_ACTIONS=$GITHUB_ACTIONS" -e "GITHUB_API_URL=$GITHUB_API_URL" \
    -e "GITHUB_SERVER_URL=$GITHUB_SERVER_URL" -e "GITHUB_REPOSITORY=$GITHUB_REPOSITORY" \
    -e "GITHUB_REF=$GITHUB_REF" -e "GITHUB_SHA=$GITHUB_SHA" -e GITHUB_WORKSPACE=/github/workspace \
    -e GITHUB_OUTPUT=/github/file_commands/output \
    -e GITHUB_STEP_SUMMARY=/github/file_commands/summary \
    -e "ACTIONS_ID_TOKEN_REQUEST_URL=$ACTIONS_ID_TOKEN_REQUEST_URL" \
    -e "ACTIONS_ID_TOKEN_REQUEST_TOKEN=$ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$IMAGE" action
}

# 5. The action, twice: the second run (same workspace: bundles exist, assets
#    identical) must add nothing to the release.
run_action | tee "$T/log"
head -n1 "$T/log" | grep -q '^::add-mask::' || { echo "masks are not printed first" >&2; exit 1; }
if grep -v '^::add-mask::' "$T/log" | grep -qF "$GITHUB_TOKEN"; then
  echo "the GitHub token was printed" >&2; exit 1
fi

for f in "app-1.0.tar.gz" "app 1.0.whl"; do
  test -s "$WS/dist/$f.sigstore.json" || { echo "no bundle for $f in the workspace" >&2; exit 1; }
done
grep -qx 'signed-count=2' "$T/file_commands/output"
grep -q '^| Artifact | SHA-256 | Log index | Asset |' "$T/file_commands/summary"

ASSETS=$(curl -fsS -H "Authorization: Bearer $GITHUB_TOKEN" \
  "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/releases/tags/${GITHUB_REF#refs/tags/}" |
  python3 -c 'import json,sys; print("\n".join(sorted(a["name"] for a in json.load(sys.stdin)["assets"])))')
EXPECTED=$(printf 'app-1.0.tar.gz.sigstore.json\napp.1.0.whl.sigstore.json')
[ "$ASSETS" = "$EXPECTED" ] || { printf 'release assets:\n%s\n' "$ASSETS" >&2; exit 1; }

# The second run, in the same workspace: each bundle is kept as it is (it
# verifies, for the run's identity), nothing is signed, and the release
# gains nothing.
for f in "app-1.0.tar.gz" "app 1.0.whl"; do cp "$WS/dist/$f.sigstore.json" "$T/first-$f"; done
: > "$T/file_commands/output"
run_action > "$T/rerun.log" || { cat "$T/rerun.log" >&2; echo "the re-run failed" >&2; exit 1; }
grep -qx 'signed-count=0' "$T/file_commands/output" || { cat "$T/file_commands/output" >&2; echo "the re-run signed again" >&2; exit 1; }
for f in "app-1.0.tar.gz" "app 1.0.whl"; do
  cmp "$T/first-$f" "$WS/dist/$f.sigstore.json" || { echo "the re-run changed $f's bundle" >&2; exit 1; }
done
ASSETS=$(curl -fsS -H "Authorization: Bearer $GITHUB_TOKEN" \
  "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/releases/tags/${GITHUB_REF#refs/tags/}" |
  python3 -c 'import json,sys; print("\n".join(sorted(a["name"] for a in json.load(sys.stdin)["assets"])))')
[ "$ASSETS" = "$EXPECTED" ] || { printf 'release assets after the re-run:\n%s\n' "$ASSETS" >&2; exit 1; }

# 6. An independent verifier accepts the bundles.
SIGSTORE=${RELEASEKIT_SIGSTORE_PYTHON:-}
# The pinned venv the interop tests provision (sandbox/src/peers.rs).
[ -n "$SIGSTORE" ] || SIGSTORE=$TARGET/peers/sigstore-python-4.5.1/bin/sigstore
if [ -x "$SIGSTORE" ]; then
  "$SIGSTORE" --trust-config "$SANDBOX_TRUST_CONFIG" verify identity \
    --cert-identity "$SANDBOX_IDENTITY" --cert-oidc-issuer "$SANDBOX_ISSUER" \
    "$WS/dist/app-1.0.tar.gz" "$WS/dist/app 1.0.whl"
else
  cannot_run "no sigstore-python to verify with (run the interop tests first, or set RELEASEKIT_SIGSTORE_PYTHON)"
fi

# 7. A run that must fail: a tag without a release, with an annotation.
if run_action -e "INPUT_RELEASE-TAG=v9.9.9" -e "INPUT_OVERWRITE=true" > "$T/fail.log"; then
  echo "a tag without a release did not fail" >&2; exit 1
fi
# shellcheck disable=SC2016 # the backticks are literal text of the message
grep -q '^::error::.*no release for tag `v9.9.9`' "$T/fail.log"
echo "container test: OK"
