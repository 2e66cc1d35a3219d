#!/usr/bin/env bash
# Podman for ci/container-test.sh, as root or through sudo. Installs from apt
# only what is missing: GitHub's Ubuntu runners ship podman, buildah and runc
# (their runc comes with containerd, which an apt `runc` would conflict with).
# crun, podman's default runtime on this project's CI machine, refuses to
# start containers, so the test passes --runtime runc.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci/sudo.sh
. ci/sudo.sh
MISSING=()
for tool in podman buildah runc; do
  command -v "$tool" >/dev/null 2>&1 || MISSING+=("$tool")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi
CONF=${CONTAINERS_CONF:-/etc/containers/containers.conf}
if [ ! -e "$CONF" ]; then
  $SUDO mkdir -p "$(dirname "$CONF")"
  printf '[containers]\ndefault_ulimits = []\npids_limit = 0\n[engine]\ncgroup_manager = "cgroupfs"\n' |
    $SUDO tee "$CONF" >/dev/null
fi
