#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what tests need (nginx from Debian when
# missing; the test IdP's npm packages and the compatibility suite's Python venv are installed by
# the suites themselves), then format check, clippy with warnings as errors, every Rust test, and
# the compatibility suite against the official NeMo Platform CLI and SDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "test dependencies"
scripts/test-deps.sh
command -v node >/dev/null || { echo "node is required (the test IdP runs on Node.js)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required (installs the test IdP)" >&2; exit 1; }
(cd tests/idp && npm ci --no-audit --no-fund)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace

step "compatibility suite (official CLI and SDK)"
tests/compat/run.sh

step "all tests passed"
