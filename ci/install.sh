#!/usr/bin/env bash
# The tools CI needs beyond the Rust toolchain and python3, each installed only
# when missing, as root or through sudo (ci/sudo.sh): cosign (interop tests),
# ShellCheck (ci/lint.sh), podman + buildah + runc (ci/container-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci/sudo.sh
. ci/sudo.sh

# cosign: the Debian 13 package, fetched through a private apt directory.
if ! command -v cosign >/dev/null 2>&1; then
  SOURCES=${DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
  [ -r "$SOURCES" ] || {
    echo "no cosign on PATH and no Debian apt sources ($SOURCES) to fetch it from: install cosign first (ci.yml uses sigstore/cosign-installer)" >&2
    exit 1
  }
  A=$(mktemp -d)
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  MIRROR=$(awk '/^URIs:/{print $2; exit}' "$SOURCES")
  printf 'deb %s trixie main\n' "$MIRROR" > "$A/sources.list"
  O=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$A/lists"
     -o "Dir::Cache=$A/cache" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${O[@]}" update -qq
  (cd "$A" && apt-get "${O[@]}" download -qq cosign)
  $SUDO dpkg -i "$A"/cosign_*.deb >/dev/null
  rm -rf "$A"
fi
cosign version 2>/dev/null | grep -i '^GitVersion' || true

# ShellCheck, and podman + buildah + runc for the container test.
if ! command -v shellcheck >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
ci/container-setup.sh
