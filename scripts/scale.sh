#!/usr/bin/env bash
# The scale benchmark: nmp-server on stores of 10 000 and 1 000 000 active bindings (1 000 and
# 100 000 workspaces), built by `nmp-scale` (crates/testkit/src/bin/nmp-scale.rs), on SQLite and
# on PostgreSQL. For each store: start-up until ready, resident memory after start and after the
# load (anonymous and file-mapped apart, from /proc/PID/smaps_rollup), and the hot paths with hey.
#
#   scripts/scale.sh                 full run; writes the table into docs/benchmarks.md (scale markers)
#   SCALE_QUICK=1 scripts/scale.sh   1 round of 2 s per scenario, prints only
#
# Environment (all optional):
#   SCALE_SIZES="1000:10000 100000:1000000"   WORKSPACES:BINDINGS of each store
#   SCALE_BACKENDS="sqlite postgres"          backends to build and measure
#   SCALE_ROUNDS=3 SCALE_DURATION=5s SCALE_WARMUP=1s SCALE_CONCURRENCY=16
#   SCALE_OUT=docs/benchmarks.md              the doc to update ('-' = print only)
#   BENCH_SERVER_BIN, SCALE_GENERATOR_BIN     prebuilt binaries (default: cargo build --release)
#
# Needs hey (installed from Debian when missing) and, for PostgreSQL, the server binaries that
# scripts/test-deps.sh installs. Every process it starts is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "${SCALE_QUICK:-0}" = 1 ]; then
    rounds=${SCALE_ROUNDS:-1}; duration=${SCALE_DURATION:-2s}; warmup=${SCALE_WARMUP:-1s}; out=${SCALE_OUT:--}
else
    rounds=${SCALE_ROUNDS:-3}; duration=${SCALE_DURATION:-5s}; warmup=${SCALE_WARMUP:-1s}
    out=${SCALE_OUT:-$repo/docs/benchmarks.md}
fi
sizes=${SCALE_SIZES:-1000:10000 100000:1000000}
backends=${SCALE_BACKENDS:-sqlite postgres}
concurrency=${SCALE_CONCURRENCY:-16}
invocation="$(printf "%q " "$0" "$@")"; invocation=${invocation% }
for var in SCALE_QUICK SCALE_SIZES SCALE_BACKENDS SCALE_ROUNDS SCALE_DURATION; do
    if [ -n "${!var:-}" ]; then invocation="$var=\"${!var}\" $invocation"; fi
done

log() { printf '[scale] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nmp-scale.XXXXXX")
server_pid="" pg_pid=""
stop_pid() {
    local pid=$1
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
stop_server() { stop_pid "$server_pid"; server_pid=""; }
cleanup() {
    stop_server
    stop_pid "$pg_pid"
    if [ "${SCALE_KEEP_WORK:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v hey >/dev/null 2>&1 || {
    log "installing hey (Debian package)"
    timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq hey >/dev/null
}
built_from="commit \`$(git -C "$repo" rev-parse --short HEAD)\`"
[ -z "$(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock)" ] || built_from+=" plus uncommitted changes"
if [ -z "${BENCH_SERVER_BIN:-}" ] || [ -z "${SCALE_GENERATOR_BIN:-}" ]; then
    log "building nmp-server and nmp-scale (release)"
    (cd "$repo" && cargo build --release -q -p nmp-server --bin nmp-server && cargo build --release -q -p nmp-testkit --bin nmp-scale)
fi
server_bin=${BENCH_SERVER_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/nmp-server}
generator_bin=${SCALE_GENERATOR_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/nmp-scale}

# ---------------------------------------------------------------- helpers

now_ns() { date +%s%N; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
unsigned_jwt() {
    local now; now=$(date +%s)
    printf '%s.%s.' "$(printf '{"alg":"none","typ":"JWT"}' | b64url)" \
        "$(printf '{"sub":"%s","email":"%s","iat":%d,"exp":%d}' "$1" "$1" "$now" $((now + 86400)) | b64url)"
}
admin_token=$(unsigned_jwt admin@example.com)
# Admin of scale-42, Viewer of two more workspaces (see nmp-scale).
user_token=$(unsigned_jwt user-42@scale.test)

status() { curl -s -o "$work/last-body" -w '%{http_code}' --max-time 30 "$@" || echo 000; }
ready() { [ "$(status "$base/health/ready")" = 200 ]; }

# start_server DIR [LOG]: starts nmp-server on the store described by DIR/config.yaml; sets base and
# the start-up time (spawn until /health/ready answers 200) in ms.
start_server() {
    local dir=$1 started server_log=$dir/${2:-server.log}
    started=$(now_ns)
    "$server_bin" --host 127.0.0.1 --port 0 --config "$dir/config.yaml" --data-dir "$dir/data" \
        >"$server_log" 2>&1 &
    server_pid=$!
    until grep -qs 'nmp listening on http://' "$server_log"; do
        kill -0 "$server_pid" 2>/dev/null || die "server died: $(tail -5 "$server_log")"
        sleep 0.01
    done
    base=$(grep -o 'nmp listening on http://[0-9.:]*' "$server_log" | head -1 | sed 's/nmp listening on //')
    until ready; do
        kill -0 "$server_pid" 2>/dev/null || die "server died: $(tail -5 "$server_log")"
        sleep 0.01
    done
    startup_ms=$((($(now_ns) - started) / 1000000))
    # CPU time (user + system) the process used until then: what a quiet machine would wait.
    startup_cpu_ms=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$server_pid/stat")
}

# "RSS_KB ANON_KB FILE_KB" of the server (file = resident pages that are neither anonymous nor
# shared memory: mapped files, the binary included).
memory() {
    awk '/^Rss:/ { rss = $2 } /^Anonymous:/ { anon = $2 } END { printf "%d %d %d\n", rss, anon, rss - anon }' \
        "/proc/$server_pid/smaps_rollup"
}

# "RPS P50_MS NON2XX" of one hey run.
measure() {
    hey -z "$warmup" -c "$concurrency" "$@" >/dev/null 2>&1 || true
    hey -z "$duration" -c "$concurrency" "$@" >"$work/hey.txt" 2>&1 || die "hey failed: $(tail -5 "$work/hey.txt")"
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +50% in/ { p50 = $3 * 1000 }
        /^ +\[[0-9]+\]/ { code = substr($1, 2, 3); if (code < 200 || code > 299) bad += $2 }
        /^Error distribution:/ { errors = 1 }
        errors && /\[[0-9]+\]/ { bad += substr($1, 2) + 0 }
        END { printf "%.0f %.2f %d\n", rps, p50, bad }
    ' "$work/hey.txt"
}

# ---------------------------------------------------------------- stores

# make_store BACKEND WORKSPACES BINDINGS: a filled store in store_dir[BACKEND-BINDINGS] (config.yaml, data/).
make_store() {
    local backend=$1 workspaces=$2 bindings=$3 dir
    dir="$work/$backend-$bindings"
    mkdir -p "$dir/data"
    local store_config=""
    if [ "$backend" = postgres ]; then
        local database="scale_$bindings"
        psql_admin "CREATE DATABASE $database"
        store_config="store: {backend: postgres, url: \"${pg_url%/*}/$database\"}"
    fi
    printf 'auth: {enabled: true, allow_unsigned_jwt: true, admin_email: admin@example.com}\n%s\n' \
        "$store_config" >"$dir/config.yaml"
    # The server creates, migrates and seeds the empty store; its memory there is the baseline.
    start_server "$dir" server-empty.log
    memory >"$dir/empty-memory"
    stop_server
    local started; started=$(now_ns)
    if [ "$backend" = postgres ]; then
        "$generator_bin" fill --postgres "${pg_url%/*}/scale_$bindings" --workspaces "$workspaces" --bindings "$bindings"
    else
        "$generator_bin" fill --sqlite "$dir/data/nmp-platform.db" --workspaces "$workspaces" --bindings "$bindings"
    fi
    log "$backend store of $bindings bindings built in $((($(now_ns) - started) / 1000000)) ms"
    store_dir[$backend-$bindings]=$dir
}

psql_admin() {
    "$generator_bin" sql --postgres "$pg_url" "$1" >/dev/null
}

# ---------------------------------------------------------------- measuring

# run_store BACKEND BINDINGS DIR ROUND: one server on one store; results in $work/r-...
run_store() {
    local backend=$1 bindings=$2 dir=$3 round=$4 workspaces=$5 key="$1-$2"
    start_server "$dir" "server-round$round.log"
    [ "$(status -H "Authorization: Bearer $user_token" "$base/apis/entities/v2/workspaces")" = 200 ] ||
        die "user list failed: $(head -c 300 "$work/last-body")"
    # Its three, plus `system` and `default` that every user sees (the seed's `*` bindings).
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(sorted(w["name"] for w in d["data"]) != sorted(sys.argv[2:]))' \
        "$work/last-body" default system scale-42 "scale-$((42 + workspaces / 3))" "scale-$((42 + 2 * (workspaces / 3)))" ||
        die "user-42 should see default, system and its 3 workspaces: $(head -c 600 "$work/last-body")"
    echo "$startup_ms $startup_cpu_ms" >"$work/r$round-$key-startup"
    memory >"$work/r$round-$key-mem-start"
    measure "$base/health/live" >"$work/r$round-$key-live"
    measure -H "Authorization: Bearer $user_token" "$base/apis/entities/v2/workspaces" >"$work/r$round-$key-user-list"
    measure -H "Authorization: Bearer $user_token" "$base/apis/entities/v2/workspaces/scale-42" >"$work/r$round-$key-user-get"
    measure -H "Authorization: Bearer $admin_token" "$base/apis/entities/v2/workspaces" >"$work/r$round-$key-admin-list"
    # One request at a time: the p50 is the server's time plus one loopback round trip.
    concurrency=1 measure -H "Authorization: Bearer $admin_token" "$base/apis/entities/v2/workspaces" \
        >"$work/r$round-$key-admin-list-c1"
    memory >"$work/r$round-$key-mem-load"
    log "round $round $key: start-up ${startup_ms} ms (CPU ${startup_cpu_ms} ms), memory $(cat "$work/r$round-$key-mem-start") -> $(cat "$work/r$round-$key-mem-load"), live $(cat "$work/r$round-$key-live"), user list $(cat "$work/r$round-$key-user-list"), user get $(cat "$work/r$round-$key-user-get"), admin list $(cat "$work/r$round-$key-admin-list"), one at a time $(cat "$work/r$round-$key-admin-list-c1")"
    stop_server
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# med KEY WHAT FIELD: the median over the rounds.
med() { cat "$work"/r*-"$1-$2" 2>/dev/null | cut -d' ' -f"$3" | median; }
mb() { awk -v kb="$1" 'BEGIN { if (kb == "n/a") print "n/a"; else printf "%.1f", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
# Per-round ratio of the 1M store to the 10k store for one scenario, then their median.
round_ratio() { # round_ratio BACKEND BIG SMALL SCENARIO
    local r values=""
    for r in $(seq "$rounds"); do
        [ -f "$work/r$r-$1-$2-$4" ] && [ -f "$work/r$r-$1-$3-$4" ] || continue
        values+="$(ratio "$(cut -d' ' -f1 "$work/r$r-$1-$2-$4")" "$(cut -d' ' -f1 "$work/r$r-$1-$3-$4")") "
    done
    [ -n "$values" ] || { echo n/a; return; }
    printf '%s (rounds: %s)' "$(echo "$values" | tr ' ' '\n' | grep . | median)" "$(echo "$values" | sed 's/ $//; s/ /, /g')"
}
per_binding() { # per_binding KB_BIG KB_EMPTY BINDINGS -> bytes per binding
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (a == "n/a") print "n/a"; else printf "%.0f", (a - b) * 1024 / n }'
}

report() {
    local small_sz=${sizes%% *} big_sz=${sizes##* } backend
    local small=${small_sz#*:} big=${big_sz#*:}
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$invocation\`; nmp-server built from $built_from."
    echo "Each store: a fresh server, \`hey -z $warmup -c $concurrency\` warm-up then \`hey -z $duration -c $concurrency\`" \
        "per scenario; $rounds round(s), the stores alternating within a round; cells are medians over the rounds."
    echo
    for backend in $backends; do
        echo "**$backend**"
        echo
        echo "| measure | ${small_sz%:*} workspaces / $small bindings | ${big_sz%:*} workspaces / $big bindings | ratio (median of the rounds') |"
        echo "|---|---:|---:|---:|"
        local s=$backend-$small b=$backend-$big
        echo "| start-up until ready (wall; CPU time of the process until then) | $(med "$s" startup 1) ms; $(med "$s" startup 2) ms | $(med "$b" startup 1) ms; $(med "$b" startup 2) ms | |"
        echo "| memory after start: resident / anonymous / file-mapped (MB) | $(mb "$(med "$s" mem-start 1)") / $(mb "$(med "$s" mem-start 2)") / $(mb "$(med "$s" mem-start 3)") | $(mb "$(med "$b" mem-start 1)") / $(mb "$(med "$b" mem-start 2)") / $(mb "$(med "$b" mem-start 3)") | |"
        echo "| memory after the load: resident / anonymous / file-mapped (MB) | $(mb "$(med "$s" mem-load 1)") / $(mb "$(med "$s" mem-load 2)") / $(mb "$(med "$s" mem-load 3)") | $(mb "$(med "$b" mem-load 1)") / $(mb "$(med "$b" mem-load 2)") / $(mb "$(med "$b" mem-load 3)") | |"
        local scenario label
        for scenario in live user-list user-get admin-list admin-list-c1; do
            case $scenario in
                live) label='`GET /health/live` (req/s; p50)' ;;
                user-list) label='user-42 lists its workspaces (3 + `system`, `default`; req/s; p50)' ;;
                user-get) label='user-42 GETs `scale-42` (req/s; p50)' ;;
                admin-list) label='platform admin lists the first page (100 workspaces; req/s; p50)' ;;
                admin-list-c1) label='the same, one request at a time (`-c 1`; req/s; p50)' ;;
            esac
            echo "| $label | $(med "$s" "$scenario" 1); $(med "$s" "$scenario" 2) ms | $(med "$b" "$scenario" 1); $(med "$b" "$scenario" 2) ms | $(round_ratio "$backend" "$big" "$small" "$scenario") |"
        done
        local empty_anon empty_rss
        empty_rss=$(cut -d' ' -f1 "$work/$b/empty-memory" 2>/dev/null || echo n/a)
        empty_anon=$(cut -d' ' -f2 "$work/$b/empty-memory" 2>/dev/null || echo n/a)
        echo
        echo "Memory per active binding. Above the empty server just started (seeded store only: resident" \
            "$(mb "$empty_rss") MB, anonymous $(mb "$empty_anon") MB), at $big bindings just started:" \
            "**$(per_binding "$(med "$b" mem-start 1)" "$empty_rss" "$big") bytes resident**," \
            "$(per_binding "$(med "$b" mem-start 2)" "$empty_anon" "$big") anonymous." \
            "From $small to $big bindings, same state (what each further binding costs; the load itself" \
            "grows every server by the same few MB of thread arenas and caches): after start" \
            "$(per_binding "$(med "$b" mem-start 1)" "$(med "$s" mem-start 1)" "$((big - small))") resident," \
            "$(per_binding "$(med "$b" mem-start 2)" "$(med "$s" mem-start 2)" "$((big - small))") anonymous;" \
            "**after the load $(per_binding "$(med "$b" mem-load 1)" "$(med "$s" mem-load 1)" "$((big - small))") resident**," \
            "$(per_binding "$(med "$b" mem-load 2)" "$(med "$s" mem-load 2)" "$((big - small))") anonymous."
        echo
    done
    local bad; bad=$(cat "$work"/r*-*-{live,user-list,user-get,admin-list,admin-list-c1} 2>/dev/null | awk '{ s += $3 } END { print s + 0 }')
    echo "Non-2xx responses or transport errors in all measured runs: $bad."
    echo "Load average (1/5/15 min) before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)." \
        "Machine: $(nproc) cores, hey and the server share them."
}

write_doc() { # write_doc FILE < section
    local file=$1 begin='<!-- scale:begin (generated by scripts/scale.sh) -->' end='<!-- scale:end -->'
    cat >"$work/section"
    grep -qF "$begin" "$file" || die "$file has no '$begin' marker"
    awk -v begin="$begin" -v end="$end" -v section="$work/section" '
        $0 == begin { print; while ((getline line < section) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }
    ' "$file" >"$work/doc"
    cp "$work/doc" "$file"
}

# ---------------------------------------------------------------- main

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A store_dir
for backend in $backends; do
    if [ "$backend" = postgres ]; then
        "$generator_bin" postgres --url-file "$work/pg-url" &
        pg_pid=$!
        for _ in $(seq 600); do [ -s "$work/pg-url" ] && break; kill -0 "$pg_pid" || die "PostgreSQL did not start"; sleep 0.1; done
        pg_url=$(cat "$work/pg-url")
    fi
    for size in $sizes; do
        make_store "$backend" "${size%:*}" "${size#*:}"
    done
done
for round in $(seq "$rounds"); do
    for backend in $backends; do
        for size in $sizes; do
            run_store "$backend" "${size#*:}" "${store_dir[$backend-${size#*:}]}" "$round" "${size%:*}"
        done
    done
done
report >"$work/report.md"
cat "$work/report.md"
if [ "$out" != - ]; then write_doc "$out" <"$work/report.md"; log "updated $out"; fi
