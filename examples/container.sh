#!/bin/sh
# Sign dist/ with the pinned image from any machine with Docker.
# The identity token comes from SIGSTORE_ID_TOKEN (any OIDC token with audience
# "sigstore"); add `--upload --release-tag TAG --repo OWNER/NAME` and
# `-e GITHUB_TOKEN` to attach the bundles to a GitHub release.
set -eu
# The release's image by digest (ci/pin-release.sh writes it): it cannot move.
IMAGE=ghcr.io/releasekit/releasekit-sign@sha256:0000000000000000000000000000000000000000000000000000000000000000
# As the invoking user: the bundles in dist/ are then yours, not root's.
# The image has no home for that user, so no TUF cache is kept and a
# warning says so; add `-e XDG_CACHE_HOME=/work/.cache` to keep one in the
# working directory.
docker run --rm \
  --user "$(id -u):$(id -g)" \
  --workdir /work \
  -v "$PWD:/work" \
  -e SIGSTORE_ID_TOKEN \
  "$IMAGE" sign dist/
