#!/usr/bin/env bash
# Install the prebuilt releasekit-sign binary for this runner, refusing any
# download whose SHA-256 is not the one pinned in SHA256SUMS next to this
# script (written by the release workflow, so the action's ref pins the
# bytes). Used by setup/action.yml on Linux, macOS and Windows (Git Bash);
# runs under bash 3.2 (macOS).
#
#   install.sh --version 0.1.0 --base-url URL --sums FILE --dest DIR [--os OS --arch ARCH]
#
# OS and ARCH are GitHub's runner.os / runner.arch names (Linux, macOS,
# Windows; X64, ARM64); without them, uname decides. URL is https:// (or
# file:// for a local mirror); the pin is checked whatever the source.
set -euo pipefail

fail() { echo "releasekit-sign setup: error: $*" >&2; exit 1; }

VERSION='' BASE_URL='' SUMS='' DEST='' OS='' ARCH=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fail "option $1 needs a value"
  case $1 in
    --version) VERSION=$2 ;;
    --base-url) BASE_URL=$2 ;;
    --sums) SUMS=$2 ;;
    --dest) DEST=$2 ;;
    --os) OS=$2 ;;
    --arch) ARCH=$2 ;;
    *) fail "unknown option $1" ;;
  esac
  shift 2
done
if [ -z "$VERSION" ] || [ -z "$BASE_URL" ] || [ -z "$SUMS" ] || [ -z "$DEST" ]; then
  fail "usage: install.sh --version V --base-url URL --sums FILE --dest DIR [--os OS --arch ARCH]"
fi
# Each value is written to GITHUB_PATH, GITHUB_OUTPUT or the log as one
# line: a line break would add a PATH entry, an output or a workflow command.
NL='
'
CR=$(printf '\r')
for value in "$VERSION" "$BASE_URL" "$SUMS" "$DEST" "$OS" "$ARCH"; do
  case $value in
    *"$NL"* | *"$CR"*) fail "an input holds a line break: pass install-dir and download-url (and the others) on one line each" ;;
  esac
done

if [ -z "$OS" ]; then
  case $(uname -s) in
    Linux) OS=Linux ;;
    Darwin) OS=macOS ;;
    MINGW* | MSYS* | CYGWIN*) OS=Windows ;;
    *) OS=$(uname -s) ;;
  esac
fi
if [ -z "$ARCH" ]; then
  case $(uname -m) in
    x86_64 | amd64) ARCH=X64 ;;
    aarch64 | arm64) ARCH=ARM64 ;;
    *) ARCH=$(uname -m) ;;
  esac
fi

# The release's asset names (the release workflow's matrix builds these).
EXE=
case "$OS/$ARCH" in
  Linux/X64) ASSET=releasekit-sign-linux-x86_64 ;;
  Linux/ARM64) ASSET=releasekit-sign-linux-aarch64 ;;
  macOS/X64) ASSET=releasekit-sign-macos-x86_64 ;;
  macOS/ARM64) ASSET=releasekit-sign-macos-aarch64 ;;
  Windows/X64) ASSET=releasekit-sign-windows-x86_64.exe EXE=.exe ;;
  # The container action's image is built for the same Linux machines, and
  # the crate is not on crates.io: building from the tag is the one fix.
  *) fail "no prebuilt binary for $OS $ARCH (there are for Linux and macOS on X64 and ARM64, and Windows on X64); fix: build it from source, cargo install --locked --git https://github.com/releasekit/releasekit-sign --tag v$VERSION releasekit-sign" ;;
esac

[ -r "$SUMS" ] || fail "cannot read the pinned digests $SUMS"
# sha256sum format: "<hex>  <name>" (or "<hex> *<name>" in binary mode).
PINNED=$(awk -v a="$ASSET" '$2 == a || $2 == "*" a { print $1 }' "$SUMS")
case $PINNED in
  *[!0-9a-f]* | "") fail "$SUMS pins no SHA-256 for $ASSET: this ref of the action is not a release (use a release tag, e.g. @v$VERSION)" ;;
esac
[ ${#PINNED} = 64 ] || fail "$SUMS pins no SHA-256 for $ASSET: this ref of the action is not a release (use a release tag, e.g. @v$VERSION)"
case $PINNED in
  0000000000000000000000000000000000000000000000000000000000000000)
    fail "$SUMS holds placeholders, not a release's digests: use the action at a release tag (e.g. @v$VERSION), whose pins the release workflow wrote" ;;
esac

BASE_URL=${BASE_URL%/}
case $BASE_URL in
  https://* | file://*) ;;
  *) fail "download URL $BASE_URL is not https:// (or file://): pass an https URL of the release's assets" ;;
esac
URL=$BASE_URL/$ASSET

# From stdin: with a file name holding a backslash (a Windows runner's
# RUNNER_TEMP, D:\a\_temp, in Git Bash), GNU sha256sum escapes the name and
# starts its line with `\`, which then never matched the pin.
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum < "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 < "$1" | awk '{ print $1 }'
  else
    fail "neither sha256sum nor shasum is installed: cannot check the download"
  fi
}

mkdir -p "$DEST" || fail "cannot create the install directory $DEST"
# A relative install-dir is the step's working directory's: made absolute,
# so that the PATH entry and the `path` output hold for later steps run in
# another working directory. An absolute one (POSIX, or Windows' C:\... and
# \\server\... as RUNNER_TEMP is there) is kept as written.
case $DEST in
  /* | [A-Za-z]:[\\/]* | \\\\*) ;;
  *)
    DEST=$(CDPATH='' cd -- "$DEST" && pwd) || fail "cannot enter the install directory $DEST"
    case $DEST in
      *"$NL"* | *"$CR"*) fail "the install directory's absolute path holds a line break: pass install-dir without one" ;;
    esac
    ;;
esac
BIN=$DEST/releasekit-sign$EXE
# Windows runs only files named .exe.
PART=$DEST/.releasekit-sign.$$.part$EXE
trap 'rm -f "$PART"' EXIT
echo "Downloading $ASSET $VERSION from $URL"
curl --fail --silent --show-error --location --retry 3 \
  --proto '=https,file' --proto-redir '=https' -o "$PART" "$URL" ||
  fail "cannot download $URL: check download-url (it must serve the release's assets)"
GOT=$(sha256 "$PART")
if [ "$GOT" != "$PINNED" ]; then
  fail "$ASSET from $URL has SHA-256 $GOT, but this action pins $PINNED: it is not the released binary and was not installed (check download-url; a mirror must serve the release's exact bytes)"
fi
chmod 755 "$PART"
# The pinned bytes run here, and are the version the action names.
RAN=$("$PART" --version 2>&1) || fail "$ASSET does not run on this $OS $ARCH runner: $RAN"
[ "$RAN" = "releasekit-sign $VERSION" ] ||
  fail "$ASSET says \`$RAN\`, but this action installs releasekit-sign $VERSION: the action's pins and version disagree (report it)"
mv -f "$PART" "$BIN"

DIR=$DEST
if [ "$OS" = Windows ] && command -v cygpath >/dev/null 2>&1; then DIR=$(cygpath -w "$DEST"); BIN=$(cygpath -w "$BIN"); fi
if [ -n "${GITHUB_PATH:-}" ]; then echo "$DIR" >> "$GITHUB_PATH"; fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "path=$BIN"; echo "version=$VERSION"; } >> "$GITHUB_OUTPUT"
fi
echo "Installed releasekit-sign $VERSION at $BIN (SHA-256 $GOT, as pinned)"
