#!/usr/bin/env bash
# Lay out the Dockerfile's build context (see the Dockerfile): the image is
# these files and nothing else.
#
#   ci/image-context.sh DIR ARCH=BINARY...     e.g. ctx amd64=dist/releasekit-sign-linux-x86_64
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR ARCH=BINARY..." >&2; exit 2; }
DIR=$1; shift
CA=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$CA" ] || { echo "$0: no CA bundle at $CA: install ca-certificates or set CA_CERTIFICATES" >&2; exit 1; }
mkdir -p "$DIR"
cp "$(dirname "$0")/../Dockerfile" "$DIR/Dockerfile"
cp "$CA" "$DIR/ca-certificates.crt"
for pair in "$@"; do
  ARCH=${pair%%=*} BIN=${pair#*=}
  case $ARCH in amd64 | arm64) ;; *) echo "$0: arch $ARCH: use amd64 or arm64" >&2; exit 2 ;; esac
  [ -f "$BIN" ] || { echo "$0: no binary $BIN for $ARCH" >&2; exit 1; }
  mkdir -p "$DIR/$ARCH"
  cp "$BIN" "$DIR/$ARCH/releasekit-sign"
  chmod 755 "$DIR/$ARCH/releasekit-sign"
done
