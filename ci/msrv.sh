#!/usr/bin/env bash
# Print the MSRV: the one `rust-version` Cargo.toml declares ([workspace.package],
# which every member inherits). CI's msrv job builds with it; tests/repo.rs
# checks nothing else declares a Rust version.
set -euo pipefail
cd "$(dirname "$0")/.."
awk '/^\[/ { section = $0 } section == "[workspace.package]" && /^rust-version *=/ { gsub(/"/, "", $3); print $3; found = 1 }
     END { if (!found) { print "no rust-version in [workspace.package] of Cargo.toml" > "/dev/stderr"; exit 1 } }' Cargo.toml
