#!/bin/sh
# Installs what the test suite needs beyond the Rust toolchain and Node.js, only when missing:
# - nginx (Debian package `nginx`, built with the auth_request module) for the gateway and
#   replica e2e tests in crates/server/tests/e2e/, which fail rather than skip without it;
# - curl and openssl for the TLS tests (crates/server/tests/e2e/tls.rs, tests/deploy,
#   tests/compat/test_tls.py) and the access-key tests, which make their RSA signing keys with
#   openssl (crates/server/tests/e2e/access_keys.rs, tests/compat/test_access_keys.py);
# - PostgreSQL server binaries (Debian package `postgresql`: initdb, pg_ctl, psql) for the store
#   conformance suite and the replica tests, which start throwaway clusters of their own. As root
#   the tests run those binaries as the `postgres` user the package creates (initdb refuses root);
# - Chromium (Debian package `chromium`) for the Studio browser suite (tests/studio), driven by
#   npm `playwright-core`, which uses this browser and never downloads one of its own;
# - cargo-deny, the dependency gate (`cargo install --locked`, into ~/.cargo/bin, so a machine that
#   already has it skips the build).
set -eu

if ! cargo deny --version >/dev/null 2>&1; then
    cargo install --locked cargo-deny
fi

have_nginx() { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; }
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }

MISSING=""
have_nginx || MISSING="$MISSING nginx"
have_postgres || MISSING="$MISSING postgresql"
command -v chromium >/dev/null 2>&1 || MISSING="$MISSING chromium"
for tool in curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || MISSING="$MISSING $tool"
done
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    case "$MISSING" in *postgresql*) ;; *) MISSING="$MISSING postgresql" ;; esac
fi
if [ -z "$MISSING" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
# The packages' postinst may try to start their services; none is needed (tests run their own).
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $MISSING
