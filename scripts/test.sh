#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what tests need (nginx from Debian and
# cargo-deny when missing; the test IdP's npm packages and the compatibility suite's Python venv
# are installed by the suites themselves), then format check, the dependency gate, clippy with
# warnings as errors, every Rust test, the short soak and fault run, and the compatibility suite
# against the official NeMo Platform CLI and SDK, and the deployment suite (Helm chart, metrics,
# Traefik; curl and openssl from Debian when missing), and Studio in a real browser (Chromium from
# Debian when missing; playwright-core and axe-core from npm with a lockfile; the official Studio
# bundle from the pinned nemo-platform wheel, downloaded by tests/studio/official-bundle.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "test dependencies"
scripts/test-deps.sh
command -v node >/dev/null || { echo "node is required (the test IdP runs on Node.js)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required (installs the test IdP)" >&2; exit 1; }
(cd tests/idp && npm ci --no-audit --no-fund)
(cd tests/studio && npm ci --no-audit --no-fund)

step "cargo fmt --check"
cargo fmt --all -- --check

step "dependency gate (cargo deny)"
scripts/deny.sh

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace

step "the Cedar policy set of the PDP benchmark decides as the native PDP (nmp-core feature cedar)"
cargo test -p nmp-core --features cedar --test policy cedar
cargo clippy -p nmp-core --all-targets --features cedar -- -D warnings

step "Studio in a real browser (tests/studio: Chromium, the nmp binary, the test IdP)"
cargo build -p nmp-cli --bin nemo
(cd tests/studio && npm test)

step "short soak and fault run (scripts/soak.sh short)"
scripts/soak.sh short

step "compatibility suite (official CLI and SDK)"
tests/compat/run.sh

step "deployment suite (Helm chart, metrics, Traefik, CLI over TLS)"
tests/deploy/run.sh

step "all tests passed"
