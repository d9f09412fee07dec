#!/usr/bin/env bash
# The dependency gate: `cargo deny check` (advisories, licences, sources, duplicate versions)
# with deny.toml. The advisory database is a git repository that cargo-deny clones and updates;
# where that repository cannot be reached, a copy already on the machine is used (its date is
# printed), and without any copy the advisories check cannot run: that is said loudly, and it
# fails the gate when NMP_REQUIRE_ADVISORIES=1. See docs/dependencies.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo deny check bans licenses sources

db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db_date() {
    local copy
    copy=$(find "$db_root" -mindepth 2 -maxdepth 2 -name .git -printf '%h\n' 2>/dev/null | head -1)
    [ -n "$copy" ] && echo "cargo deny: advisory database at $copy, last commit $(git -C "$copy" log -1 --format=%ci)" >&2
    return 0
}
if cargo deny fetch db 2>/tmp/nmp-deny-fetch.log; then
    db_date
    cargo deny --offline check advisories
    exit 0
fi
echo "cargo deny: the advisory database could not be fetched:" >&2
grep -m3 -i "fatal\|error" /tmp/nmp-deny-fetch.log >&2 || true
copy=$(find "$db_root" -mindepth 2 -maxdepth 2 -name .git -printf '%h\n' 2>/dev/null | head -1)
if [ -n "$copy" ]; then
    echo "cargo deny: using the copy at $copy, last commit $(git -C "$copy" log -1 --format=%ci)" >&2
    cargo deny --offline check advisories
    exit 0
fi
echo "" >&2
echo "!!! ADVISORIES NOT CHECKED: no copy of the advisory database on this machine and its" >&2
echo "!!! repository is unreachable. Licences, sources and duplicates were checked." >&2
if [ "${NMP_REQUIRE_ADVISORIES:-0}" = "1" ]; then
    exit 1
fi
