#!/usr/bin/env bash
# Build the release binary for one target, the one way every shipped or
# tested binary is built: the release workflow (every platform) and the
# container test (the image's binary) both call this.
#
#   ci/build-release.sh TARGET OUT     e.g. x86_64-unknown-linux-gnu dist/releasekit-sign
#
# Linux and Windows binaries link their C runtime statically (+crt-static):
# a Linux binary runs in the scratch image and on any distribution, a
# Windows one needs no Visual C++ runtime. macOS has no static libc; its
# binaries link the system's. RUSTFLAGS change the whole build, so it has a
# target directory of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 2 ] || { echo "usage: $0 TARGET OUT" >&2; exit 2; }
TARGET=$1 OUT=$2
case $TARGET in
  *-linux-gnu | *-windows-msvc) export RUSTFLAGS="-C target-feature=+crt-static" ;;
  *-apple-darwin) export RUSTFLAGS= ;;
  *) echo "$0: no release build for target $TARGET" >&2; exit 2 ;;
esac
case $TARGET in
  # aws-lc's x86_64 assembly needs NASM on Windows, which runners lack; the
  # crate ships the same objects prebuilt (checksummed with the crate).
  *-windows-msvc) command -v nasm >/dev/null 2>&1 || export AWS_LC_SYS_PREBUILT_NASM=1 ;;
esac
# Relative by default: on Windows a POSIX absolute path would reach cargo unconverted.
DIR=${STATIC_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/static}
CARGO_TARGET_DIR=$DIR cargo build --release --locked --target "$TARGET" --bin releasekit-sign
EXE=
case $TARGET in *-windows-*) EXE=.exe ;; esac
mkdir -p "$(dirname "$OUT")"
cp "$DIR/$TARGET/release/releasekit-sign$EXE" "$OUT"
echo "$OUT"
