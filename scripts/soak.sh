#!/usr/bin/env bash
# The soak and fault harness (crates/testkit/src/bin/nmp-soak): the real nmp-server (and, for the
# IdP scenario, the real test IdP) on 127.0.0.1 only, a mixed workload at a fixed concurrency,
# named faults, an oracle of acknowledged writes, and the targets of docs/reliability.md.
# Exits non-zero when any target is missed.
#
#   scripts/soak.sh short          # about 2-3 minutes, part of scripts/test.sh
#   scripts/soak.sh long           # 30 minutes of steady load, then every fault scenario
#   scripts/soak.sh -- ARGS...     # nmp-soak's own arguments (see --help)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode="${1:-short}"
shift || true
cargo build -q -p nmp-server --bin nmp-server -p nmp-testkit --bin nmp-soak
(cd tests/idp && { [ -d node_modules ] || npm ci --no-audit --no-fund; })
# The connection flood holds a few thousand sockets on each side.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"

soak=(target/debug/nmp-soak --server-bin target/debug/nmp-server)
case "$mode" in
    short)
        exec "${soak[@]}" --phase-seconds 8 --steady-seconds 15 --concurrency 8 \
            --flood-tokens 30000 --idle-connections 2000 --slowloris 200 "$@" ;;
    long)
        exec "${soak[@]}" --phase-seconds 30 --steady-seconds 1800 --concurrency 16 \
            --flood-tokens 100000 --idle-connections 2000 --slowloris 200 \
            --report target/soak-long.md "$@" ;;
    --)
        exec "${soak[@]}" "$@" ;;
    *)
        echo "usage: scripts/soak.sh [short|long|-- ARGS...]" >&2; exit 2 ;;
esac
