#!/usr/bin/env bash
# Refresh the vendored snapshot of the RustSec advisory database (scripts/advisory-db/), which
# scripts/deny.sh uses where the database's repository cannot be reached (see
# docs/dependencies.md). Run it on a machine that reaches that repository, then commit the two
# files it writes:
#
#   scripts/update-advisory-db.sh            fetch with cargo-deny, snapshot its clone
#   scripts/update-advisory-db.sh DIR        snapshot an existing clone of the database at DIR
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=${1:-}
if [ -z "$src" ]; then
    (cd "$repo" && cargo deny fetch db)
    src=$(find "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" -mindepth 2 -maxdepth 2 -name .git -printf '%h\n' | head -1)
fi
[ -d "$src/crates" ] || { echo "error: $src is not a clone of the advisory database (no crates/)" >&2; exit 2; }
commit=$(git -C "$src" log -1 --format=%H)
date=$(git -C "$src" log -1 --format=%cI)
out="$repo/scripts/advisory-db"
mkdir -p "$out"
# Reproducible archive: sorted names, the commit's date, no owner.
(cd "$src" && tar --sort=name --mtime="$date" --owner=0 --group=0 --numeric-owner \
    -czf "$out/snapshot.tar.gz" crates rust LICENSE.txt)
printf 'commit=%s\ndate=%s\n' "$commit" "$date" > "$out/SNAPSHOT"
echo "snapshot of $commit ($date) written to $out"
