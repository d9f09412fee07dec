#!/usr/bin/env bash
# The dependency gate: `cargo deny check` (advisories, licences, sources, duplicate versions)
# with deny.toml. The advisory database is a git repository that cargo-deny clones and updates.
# Where that repository cannot be reached, the advisories are checked against the newer of a
# copy already on the machine and the snapshot vendored in scripts/advisory-db/ (refreshed with
# scripts/update-advisory-db.sh); the database's date and age are printed. So the advisories
# check always runs. See docs/dependencies.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo deny check bans licenses sources

if cargo deny fetch db 2>/tmp/nmp-deny-fetch.log; then
    cargo deny --offline check advisories
    exit 0
fi
echo "cargo deny: the advisory database could not be fetched:" >&2
grep -m3 -i "fatal\|error" /tmp/nmp-deny-fetch.log >&2 || true

epoch() { date -d "$1" +%s; }
snapshot_date=$(sed -n 's/^date=//p' scripts/advisory-db/SNAPSHOT)
snapshot_commit=$(sed -n 's/^commit=//p' scripts/advisory-db/SNAPSHOT)
copy=$(find "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" -mindepth 2 -maxdepth 2 -name .git -printf '%h\n' 2>/dev/null | head -1)
if [ -n "$copy" ] && [ "$(epoch "$(git -C "$copy" log -1 --format=%cI)")" -ge "$(epoch "$snapshot_date")" ]; then
    db_date=$(git -C "$copy" log -1 --format=%cI)
    echo "cargo deny: using the copy at $copy (last commit $db_date)" >&2
    cargo deny --offline check advisories
else
    # The snapshot as a one-commit repository where cargo-deny looks for the default database,
    # under a temporary db-path given by a copy of deny.toml.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    db="$tmp/advisory-dbs/advisory-db-3157b0e258782691"
    mkdir -p "$db"
    tar -xzf scripts/advisory-db/snapshot.tar.gz -C "$db"
    (cd "$db" && git init -q && git add -A &&
        GIT_COMMITTER_DATE="$snapshot_date" git -c user.name=nmp -c user.email=nmp@localhost \
            commit -q --date="$snapshot_date" -m "advisory-db snapshot $snapshot_commit")
    awk -v path="$tmp/advisory-dbs" '{ print } /^db-urls = / { print "db-path = \"" path "\"" }' \
        deny.toml > "$tmp/deny.toml"
    grep -q '^db-path = ' "$tmp/deny.toml" || { echo "deny.sh: deny.toml has no db-urls line" >&2; exit 1; }
    db_date=$snapshot_date
    echo "cargo deny: using the vendored snapshot scripts/advisory-db (commit $snapshot_commit, $db_date)" >&2
    cargo deny --offline --config "$tmp/deny.toml" check advisories
fi
age_days=$(( ($(date +%s) - $(epoch "$db_date")) / 86400 ))
echo "cargo deny: advisories checked against a database $age_days days old" >&2
if [ "$age_days" -gt 90 ]; then
    echo "cargo deny: that is older than 90 days: refresh scripts/advisory-db with" >&2
    echo "cargo deny: scripts/update-advisory-db.sh on a machine that reaches the database" >&2
fi
