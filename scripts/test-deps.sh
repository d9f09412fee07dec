#!/bin/sh
# Installs what the test suite needs beyond the Rust toolchain and Node.js, only when missing:
# nginx (Debian package `nginx`, built with the auth_request module) for the gateway e2e tests
# in crates/server/tests/e2e/nginx.rs, which fail rather than skip without it.
set -eu

if command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
# The package's postinst may try to start the service; it is not needed (tests run their own).
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends nginx
