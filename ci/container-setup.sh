#!/usr/bin/env bash
# Podman for ci/container-test.sh (Debian; as root). crun, podman's default
# runtime here, refuses to start containers, so the test passes --runtime runc.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc >/dev/null
mkdir -p /etc/containers
printf '[containers]\ndefault_ulimits = []\npids_limit = 0\n[engine]\ncgroup_manager = "cgroupfs"\n' \
  > /etc/containers/containers.conf
