# shellcheck shell=bash
# Sourced by the CI scripts. `$SUDO cmd` runs cmd as root: directly when we
# are root (this project's CI machine), through sudo otherwise (GitHub-hosted
# runners run as an unprivileged user with passwordless sudo).
# shellcheck disable=SC2034 # used by the scripts that source this
if [ "$(id -u)" = 0 ]; then
  SUDO=
elif command -v sudo >/dev/null 2>&1; then
  SUDO=sudo
else
  echo "$0: not root and no sudo: run as root, or install sudo" >&2
  exit 1
fi
