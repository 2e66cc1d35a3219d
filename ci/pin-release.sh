#!/usr/bin/env bash
# Write what a release pins into the actions, for the release workflow to
# commit and tag (nothing here publishes):
#   action.yml          runs.image = docker://IMAGE@sha256:... (the multi-arch index)
#   setup/SHA256SUMS    the SHA-256 of each binary the setup action may install
#   setup/action.yml    the version it installs and the release it downloads from
#   examples/           the image (container.sh), the Linux binary and its
#                       SHA-256 (gitlab-ci.yml)
#
#   ci/pin-release.sh VERSION IMAGE@sha256:DIGEST DIST_DIR RELEASE_URL
#   e.g. 0.2.0 ghcr.io/releasekit/releasekit-sign@sha256:ab... dist \
#        https://github.com/releasekit/releasekit-sign/releases/download/v0.2.0
#
# The binaries are the ones setup/SHA256SUMS already names (install.sh maps
# a runner to one of them); each must be in DIST_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "pin-release: error: $*" >&2; exit 1; }
[ $# = 4 ] || fail "usage: $0 VERSION IMAGE@sha256:DIGEST DIST_DIR RELEASE_URL"
VERSION=$1 IMAGE=$2 DIST=$3 URL=$4

CRATE=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ "$VERSION" = "$CRATE" ] || fail "version $VERSION is not Cargo.toml's $CRATE: bump Cargo.toml first, or release $CRATE"
[[ $IMAGE =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$ ]] ||
  fail "image $IMAGE is not REGISTRY/NAME@sha256:<64 hex>: pass the pushed index's digest"
[[ $URL =~ ^https://[^[:space:]\"]+/v${VERSION//./\\.}$ ]] ||
  fail "release URL $URL is not https://.../v$VERSION"

# The README and the examples name this release's actions by its tag: one
# naming another (left from the last release) would ship copied workflows
# that run that one.
STALE=$(grep -nE 'releasekit-sign(/setup)?@v[0-9]+\.[0-9]+\.[0-9]+' README.md examples/* 2>/dev/null |
  grep -vE "releasekit-sign(/setup)?@v${VERSION//./\\.}([^0-9.]|$)" || true)
[ -z "$STALE" ] || fail "these name another release than v$VERSION: bump them with Cargo.toml:
$STALE"

SUMS=setup/SHA256SUMS
NEW=$(mktemp); trap 'rm -f "$NEW"' EXIT
while read -r _ name; do
  name=${name#\*}
  [ -f "$DIST/$name" ] || fail "$DIST/$name is missing: every binary setup/SHA256SUMS names must be released"
  if command -v sha256sum >/dev/null 2>&1; then
    (cd "$DIST" && sha256sum "$name") >> "$NEW"
  else
    (cd "$DIST" && shasum -a 256 "$name") >> "$NEW"
  fi
done < "$SUMS"

# Replace one line, and fail unless exactly one line matched.
pin() {
  local file=$1 pattern=$2 line=$3
  [ "$(grep -cE "$pattern" "$file")" = 1 ] || fail "$file: expected one line matching $pattern"
  awk -v p="$pattern" -v l="$line" '$0 ~ p { print l; next } { print }' "$file" > "$file.tmp"
  mv "$file.tmp" "$file"
}
pin action.yml '^  image: ' "  image: docker://$IMAGE"
pin setup/action.yml '^        RELEASEKIT_VERSION: ' "        RELEASEKIT_VERSION: \"$VERSION\""
pin setup/action.yml '^        RELEASEKIT_RELEASE_URL: ' "        RELEASEKIT_RELEASE_URL: \"$URL\""
LINUX=releasekit-sign-linux-x86_64
LINUX_SHA=$(awk -v n="$LINUX" '$2 == n { print $1 }' "$NEW")
[ -n "$LINUX_SHA" ] || fail "setup/SHA256SUMS names no $LINUX"
pin examples/container.sh '^IMAGE=' "IMAGE=$IMAGE"
pin examples/gitlab-ci.yml '^    RELEASEKIT_URL: ' "    RELEASEKIT_URL: \"$URL/$LINUX\""
pin examples/gitlab-ci.yml '^    RELEASEKIT_SHA256: ' "    RELEASEKIT_SHA256: \"$LINUX_SHA\""
cp "$NEW" "$SUMS"
echo "pinned $VERSION: $IMAGE"
cat "$SUMS"
