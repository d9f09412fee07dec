#!/usr/bin/env bash
# Side-by-side throughput of nmp-server and the reference platform (nemo-platform 0.6.0), same
# data, same load generator (hey), servers measured one after the other, never concurrently (the
# auth-off list is measured right before and right after the auth-on lists, A-B-A).
#
#   scripts/bench.sh                 full run (3 s warm-up + hey -z 10s -c 16 per scenario, three
#                                    rounds), writes the table into docs/benchmarks.md between markers
#   BENCH_QUICK=1 scripts/bench.sh   quick run (1 s warm-up + 2 s), prints the table only
#
# Environment (all optional):
#   BENCH_DURATION=10s BENCH_CONCURRENCY=16 BENCH_WARMUP=3s   the hey parameters
#   BENCH_ROUNDS=3 (1 in quick mode)          rounds of every scenario; the table shows medians
#   BENCH_MAX_LOAD=1.5 BENCH_LOAD_WAIT=1200   wait up to that many seconds for a 1-minute load
#                                             average below BENCH_MAX_LOAD (0 in quick mode)
#   BENCH_OUT=docs/benchmarks.md              the doc to update ('-' = print only)
#   BENCH_SKIP_REFERENCE=1                    measure our server only
#   NMP_BENCH_VENV=~/.cache/nmp/bench-venv    cached venv of the reference server
#   BENCH_SERVER_BIN=...                      our binary (default: cargo build --release)
#   BENCH_SKIP_POSTGRES=1                     skip ours on PostgreSQL (a throwaway cluster that
#                                             nmp-scale starts; needs the PostgreSQL server binaries)
#   BENCH_SCALE_BIN=...                       that nmp-scale binary (default: cargo build --release)
#
# Installs, when missing: hey (Debian package) and the reference into the cached venv.
# Every process it starts is stopped on exit; all state lives in a temporary directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    duration=${BENCH_DURATION:-2s}
    warmup=${BENCH_WARMUP:-1s}
    rounds=${BENCH_ROUNDS:-1}
    load_wait=${BENCH_LOAD_WAIT:-0}
    out=${BENCH_OUT:--}
else
    duration=${BENCH_DURATION:-10s}
    warmup=${BENCH_WARMUP:-3s}
    rounds=${BENCH_ROUNDS:-3}
    load_wait=${BENCH_LOAD_WAIT:-1200}
    out=${BENCH_OUT:-$repo/docs/benchmarks.md}
fi
concurrency=${BENCH_CONCURRENCY:-16}
max_load=${BENCH_MAX_LOAD:-1.5}
venv=${NMP_BENCH_VENV:-$HOME/.cache/nmp/bench-venv}
skip_reference=${BENCH_SKIP_REFERENCE:-0}
skip_postgres=${BENCH_SKIP_POSTGRES:-0}
invocation="$(printf "%q " "$0" "$@")"; invocation=${invocation% }
for var in BENCH_QUICK BENCH_DURATION BENCH_CONCURRENCY BENCH_WARMUP BENCH_ROUNDS BENCH_SKIP_REFERENCE BENCH_SKIP_POSTGRES; do
    if [ -n "${!var:-}" ]; then invocation="$var=${!var} $invocation"; fi
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nmp-bench.XXXXXX")
server_pid="" pg_pid="" off_pid="" on_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    local pid
    for pid in "$server_pid" "$off_pid" "$on_pid"; do
        server_pid=$pid
        stop_server
    done
    if [ -n "$pg_pid" ]; then kill -TERM "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; fi
    if [ "${BENCH_KEEP_WORK:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- installs (only when missing)

ensure_hey() {
    command -v hey >/dev/null 2>&1 && return
    log "installing hey (Debian package)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    timeout 600 $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq hey >/dev/null
}

# The wheel wants Python >=3.12,<3.14; pyenv usually has one. 3.11 works with the check off.
ensure_reference() {
    if [ -f "$venv/.bench-ready" ] && [ -x "$venv/bin/nemo" ]; then return; fi
    local python="" pip_flags=()
    local root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for candidate in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3 \
        "$(command -v python3.13 || true)" "$(command -v python3.12 || true)"; do
        if [ -x "$candidate" ]; then python=$candidate; break; fi
    done
    if [ -z "$python" ]; then
        python=$(command -v python3) || die "no python3 to build the reference venv"
        pip_flags=(--ignore-requires-python)
    fi
    log "installing the reference (nemo-platform 0.6.0) into $venv with $python (about a minute)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    timeout 900 "$venv/bin/pip" install -q "${pip_flags[@]}" \
        "nemo-platform[auth-service,entities-service]==0.6.0" pyleak aiosqlite
    touch "$venv/.bench-ready"
}

ensure_ours() {
    if [ -n "${BENCH_SERVER_BIN:-}" ]; then
        ours_bin=$BENCH_SERVER_BIN
        built_from="\`$ours_bin\` (BENCH_SERVER_BIN, commit unknown)"
        return
    fi
    # Taken before the build: HEAD can move while a long run goes on.
    built_from="commit \`$(git -C "$repo" rev-parse --short HEAD)\`"
    if [ -n "$(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock)" ]; then
        built_from+=" plus uncommitted changes"
    fi
    log "building nmp-server (release) from $built_from"
    (cd "$repo" && cargo build --release -q -p nmp-server)
    ours_bin="${CARGO_TARGET_DIR:-$repo/target}/release/nmp-server"
    [ -x "$ours_bin" ] || die "no binary at $ours_bin"
}

# A throwaway PostgreSQL cluster for ours on PostgreSQL (testkit's, via nmp-scale); sets pg_url.
ensure_postgres() {
    scale_bin=${BENCH_SCALE_BIN:-}
    if [ -z "$scale_bin" ]; then
        (cd "$repo" && cargo build --release -q -p nmp-testkit --bin nmp-scale)
        scale_bin="${CARGO_TARGET_DIR:-$repo/target}/release/nmp-scale"
    fi
    "$scale_bin" postgres --url-file "$work/pg-url" >"$work/pg.log" 2>&1 &
    pg_pid=$!
    for _ in $(seq 600); do [ -s "$work/pg-url" ] && break; kill -0 "$pg_pid" 2>/dev/null || die "PostgreSQL did not start: $(tail -3 "$work/pg.log")"; sleep 0.1; done
    [ -s "$work/pg-url" ] || die "PostgreSQL did not start in time"
    pg_url=$(cat "$work/pg-url")
    pg_make_db() { "$scale_bin" sql --postgres "$pg_url" "CREATE DATABASE $1"; }
}

# ---------------------------------------------------------------- helpers

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# Unsigned quickstart token (alg none) with sub, email, iat, exp: accepted by both servers.
unsigned_jwt() {
    local now
    now=$(date +%s)
    printf '%s.%s.' \
        "$(printf '{"alg":"none","typ":"JWT"}' | b64url)" \
        "$(printf '{"sub":"%s","email":"%s","iat":%d,"exp":%d}' "$1" "$1" "$now" $((now + 86400)) | b64url)"
}
admin_token=$(unsigned_jwt admin@example.com)
bob_token=$(unsigned_jwt bob@example.com)

# http METHOD URL [TOKEN] [BODY] -> prints the status code; the body goes to $work/last-body.
http() {
    local args=(-sS -o "$work/last-body" -w '%{http_code}' --max-time 30 -X "$1" "$2")
    [ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
    curl "${args[@]}" || echo 000
}

expect() { # expect STATUS... -- METHOD URL [TOKEN] [BODY]
    local wanted=() code
    while [ "$1" != -- ]; do wanted+=("$1"); shift; done
    shift
    code=$(http "$@")
    for w in "${wanted[@]}"; do [ "$code" = "$w" ] && return 0; done
    die "$1 $2 gave $code, wanted ${wanted[*]}: $(head -c 400 "$work/last-body")"
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null && die "server died waiting for $what (log: $server_log)"
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what (log: $server_log)"
        sleep 0.2
    done
}

admin_lists_ws() { [ "$(http GET "$base/apis/entities/v2/workspaces" "$admin_token")" = 200 ]; }
bob_sees_ws1() {
    [ "$(http GET "$base/apis/entities/v2/workspaces/ws1" "$bob_token")" = 200 ]
}
ready() { [ "$(http GET "$base/health/ready")" = 200 ]; }

# ---------------------------------------------------------------- servers

start_reference() { # start_reference NAME AUTH(true|false)
    local name=$1 auth=$2 port state
    port=$(free_port)
    state="$work/$name"
    mkdir -p "$state/home" "$state/xdg-state" "$state/data"
    # The setup of docs/reference-behaviour.md#running-the-reference-for-comparisons; log level INFO
    # is the platform default (one "Request completed" line per request).
    cat >"$state/platform-config.yaml" <<EOF
platform:
  runtime: "none"
  base_url: "http://127.0.0.1:$port"
  seed_on_startup: true
service:
  log_level: INFO
auth:
  enabled: $auth
  allow_unsigned_jwt: true
  policy_decision_point_provider: embedded
  policy_decision_point_base_url: "http://127.0.0.1:$port"
  policy_data_refresh_interval: 2
  bundle_cache_seconds: 1
  admin_email: "admin@example.com"
  embedded_pdp_auto_build_wasm: false
entities: {}
EOF
    server_log="$state/server.log"
    (
        cd "$state"
        exec env HOME="$state/home" XDG_STATE_HOME="$state/xdg-state" NMP_DATA_DIR="$state/data" \
            NEMO_PLUGIN_SERVICES_ALLOWLIST= NEMO_PLUGIN_CONTROLLERS_ALLOWLIST= NEMO_PLUGIN_SEED_ALLOWLIST= \
            NMP_PLATFORM_SEED_WAIT_FOR_READY_ENABLED=false NMP_PLATFORM_SEED_GUARDRAILS_ENABLED=false \
            NMP_PLATFORM_SEED_MODEL_PROVIDER_ENABLED=false NEMO_TELEMETRY_ENABLED=false \
            "$venv/bin/nemo" services run --services auth,entities --controllers "" \
            --config "$state/platform-config.yaml" --host 127.0.0.1 --port "$port"
    ) >"$server_log" 2>&1 &
    server_pid=$!
    base="http://127.0.0.1:$port"
    wait_until 120 "reference $name to be ready" ready
    if [ "$auth" = true ]; then
        # The seed (admin binding) runs after startup; the PDP needs its first policy data.
        wait_until 60 "reference seed (admin can list)" admin_lists_ws
    else
        wait_until 60 "reference seed" grep -q 'Platform seed completed' "$server_log"
    fi
}

start_ours() { # start_ours NAME AUTH(true|false) [postgres]
    local name=$1 auth=$2 state
    state="$work/$name"
    mkdir -p "$state/data"
    if [ "$auth" = true ]; then
        printf 'auth: {enabled: true, allow_unsigned_jwt: true, admin_email: admin@example.com}\n' >"$state/config.yaml"
    else
        printf '{}\n' >"$state/config.yaml"
    fi
    if [ "${3:-}" = postgres ]; then # a fresh database of the cluster, per run
        local database; database=$(echo "bench_$name" | tr -c 'a-z0-9_\n' '_')
        pg_make_db "$database"
        printf 'store: {backend: postgres, url: "%s/%s"}\n' "${pg_url%/*}" "$database" >>"$state/config.yaml"
    fi
    server_log="$state/server.log"
    "$ours_bin" --host 127.0.0.1 --port 0 --config "$state/config.yaml" --data-dir "$state/data" \
        >"$server_log" 2>&1 &
    server_pid=$!
    wait_until 60 "nmp-server $name to listen" grep -q 'nmp listening on http://' "$server_log"
    base=$(grep -o 'nmp listening on http://[0-9.:]*' "$server_log" | head -1 | sed 's/nmp listening on //')
    wait_until 30 "nmp-server $name to be ready" ready
}

# Same data in both: default and system (created at start), ws1, bob a Viewer of ws1.
seed_data() { # seed_data AUTH(true|false)
    local token=""
    [ "$1" = true ] && token=$admin_token
    expect 201 -- POST "$base/apis/entities/v2/workspaces" "$token" '{"name":"ws1"}'
    expect 201 -- POST "$base/apis/entities/v2/workspaces/ws1/members" "$token" \
        '{"principal":"bob@example.com","roles":["Viewer"]}'
    if [ "$1" = true ]; then wait_until 30 "bob's Viewer role to take effect" bob_sees_ws1; fi
    expect 200 -- GET "$base/apis/entities/v2/workspaces" "$token"
    local total
    total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pagination"]["total_results"])' "$work/last-body")
    [ "$total" = 3 ] || die "expected 3 workspaces, the list says $total"
}

# ---------------------------------------------------------------- measuring

# measure IMPL SCENARIO -- hey arguments (without -z/-c): warm-up, then the measured run.
measure() {
    local impl=$1 scenario=$2
    shift 3
    local file="$work/hey-$impl-$scenario.txt"
    hey -z "$warmup" -c "$concurrency" "$@" >/dev/null 2>&1 || true
    local cpu_before cpu_after
    cpu_before=$(server_cpu_ticks)
    hey -z "$duration" -c "$concurrency" "$@" >"$file" 2>&1 || die "hey failed: $(tail -5 "$file")"
    cpu_after=$(server_cpu_ticks)
    # Server CPU time per request (user + system) is far less sensitive to a noisy machine than
    # req/s, which also depends on how much CPU hey and the neighbours leave the server.
    parse_hey "$file" | awk -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" \
        '{ printf "%s %.0f\n", $0, ($5 > 0 ? ticks / hz * 1e6 / $5 : 0) }' >"$work/round$round-$impl-$scenario"
    log "round $round, $impl $scenario: $(cat "$work/round$round-$impl-$scenario")"
}

server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

# Prints "RPS P50_MS P99_MS NON2XX TOTAL"; NON2XX counts non-2xx statuses and transport errors.
# hey prints no 99% line when a run has fewer than 100 responses: then P99_MS is n/a.
parse_hey() {
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +50% in/ { p50 = sprintf("%.1f", $3 * 1000) }
        /^ +99% in/ { p99 = sprintf("%.1f", $3 * 1000) }
        /^Status code distribution:/ { section = "status"; next }
        /^Error distribution:/ { section = "error"; next }
        section == "status" && match($0, /\[[0-9]+\]/) {
            code = substr($0, RSTART + 1, RLENGTH - 2); n = $2
            total += n; if (code < 200 || code > 299) bad += n
        }
        section == "error" && match($0, /\[[0-9]+\]/) {
            n = substr($0, RSTART + 1, RLENGTH - 2); total += n; bad += n
        }
        END { printf "%.1f %s %s %d %d\n", rps, p50 == "" ? "n/a" : p50, p99 == "" ? "n/a" : p99, bad, total }
    ' "$1"
}

members_url() { echo "$base/apis/entities/v2/workspaces/ws1/members$1"; }
carol='{"principal":"carol@example.com","roles":["Viewer"]}'

# The mean of two measure lines ("RPS P50 P99 NON2XX TOTAL CPU"): means, except the counts, summed.
mean_of() { # mean_of FILE_A FILE_B
    paste -d' ' "$1" "$2" | awk '{
        printf "%.1f %s %s %d %d %.0f\n", ($1 + $7) / 2, ($2 == "n/a" || $8 == "n/a") ? "n/a" : sprintf("%.1f", ($2 + $8) / 2),
            ($3 == "n/a" || $9 == "n/a") ? "n/a" : sprintf("%.1f", ($3 + $9) / 2), $4 + $10, $5 + $11, ($6 + $12) / 2
    }'
}

run_scenarios() { # run_scenarios IMPL START_FUNCTION
    local impl=$1 start=$2 list="/apis/entities/v2/workspaces" off_base on_base
    # The auth-off server is measured just before and just after the auth-on lists (A-B-A): the
    # mean of the two is what the auth-on lists are compared with, so a slow or fast stretch of
    # the shared machine during the round weighs on both sides. In between it only idles (the
    # reference's own policy-data refresh, every 2 s, still runs).
    log "$impl: auth off"
    $start "$impl-auth-off-round$round" false
    seed_data false
    off_pid=$server_pid off_base=$base
    measure "$impl" list-off-before -- "$off_base$list"
    server_pid=""

    log "$impl: auth on"
    $start "$impl-auth-on-round$round" true
    seed_data true
    on_pid=$server_pid on_base=$base
    load_during=$(cut -d' ' -f1 /proc/loadavg)
    # Which of the two goes first alternates between rounds: a server's first seconds under load
    # are not quite its later ones.
    if [ $((round % 2)) = 1 ]; then
        measure "$impl" list-admin -- -H "Authorization: Bearer $admin_token" "$on_base$list"
        measure "$impl" list-bob -- -H "Authorization: Bearer $bob_token" "$on_base$list"
    else
        measure "$impl" list-bob -- -H "Authorization: Bearer $bob_token" "$on_base$list"
        measure "$impl" list-admin -- -H "Authorization: Bearer $admin_token" "$on_base$list"
    fi
    server_pid=$off_pid
    measure "$impl" list-off-after -- "$off_base$list"
    stop_server
    off_pid="" server_pid=$on_pid
    mean_of "$work/round$round-$impl-list-off-before" "$work/round$round-$impl-list-off-after" \
        >"$work/round$round-$impl-list-off"
    measure "$impl" authenticate -- -H "Authorization: Bearer $bob_token" "$base/apis/auth/authenticate"
    # The server's own floor (routing, middleware, no auth, no store), same process, same run.
    measure "$impl" live -- "$base/health/live"
    measure "$impl" member-create -- -m POST -T application/json -d "$carol" \
        -H "Authorization: Bearer $admin_token" "$(members_url '?wait_role_propagation=false')"
    # For context: member create with the default wait_role_propagation=true, one new principal
    # per request (an already-effective binding returns at once), sequential.
    local total_ms=0 start_ns end_ns i
    for i in 1 2 3; do
        start_ns=$(date +%s%N)
        expect 201 -- POST "$(members_url '')" "$admin_token" \
            "{\"principal\":\"wait$i@example.com\",\"roles\":[\"Viewer\"]}"
        end_ns=$(date +%s%N)
        total_ms=$((total_ms + (end_ns - start_ns) / 1000000))
    done
    echo $((total_ms / 3)) >"$work/round$round-$impl-member-create-wait"
    log "$impl member create with wait (mean of 3, new principals): $((total_ms / 3)) ms"
    echo "$load_during $(cut -d' ' -f1 /proc/loadavg)" >"$work/round$round-load-$impl"
    stop_server
    on_pid=""

    if [ "$impl" = ours ] && [ "$skip_postgres" != 1 ]; then
        log "$impl: auth on, PostgreSQL"
        start_ours "$impl-auth-on-pg-round$round" true postgres
        seed_data true
        measure "$impl" list-admin-pg -- -H "Authorization: Bearer $admin_token" "$base/apis/entities/v2/workspaces"
        measure "$impl" list-bob-pg -- -H "Authorization: Bearer $bob_token" "$base/apis/entities/v2/workspaces"
        stop_server
    fi
}

# ---------------------------------------------------------------- combining rounds

median() { grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# result-IMPL-SCENARIO: the median of each measure over the rounds; non-2xx and totals summed.
combine_rounds() {
    local impl s i files
    for impl in ours reference; do
        for s in list-off list-admin list-bob authenticate member-create live list-admin-pg list-bob-pg; do
            files=("$work"/round*-"$impl-$s")
            [ -f "${files[0]}" ] || continue
            {
                for i in 1 2 3; do printf '%s ' "$(cat "${files[@]}" | cut -d' ' -f$i | median)"; done
                cat "${files[@]}" | awk '{ bad += $4; total += $5 } END { printf "%d %d ", bad, total }'
                cat "${files[@]}" | cut -d' ' -f6 | median
            } >"$work/result-$impl-$s"
        done
        files=("$work"/round*-"$impl"-member-create-wait)
        if [ -f "${files[0]}" ]; then cat "${files[@]}" | median >"$work/result-$impl-member-create-wait"; fi
    done
}

# Per-round ratios of one measure (FIELD, 1 = req/s): A/B, one line per round with both results.
round_values() { # round_values FIELD IMPL_A SCENARIO_A IMPL_B SCENARIO_B
    local r
    for r in $(seq "$rounds"); do
        [ -f "$work/round$r-$2-$3" ] && [ -f "$work/round$r-$4-$5" ] || continue
        ratio "$(cut -d' ' -f"$1" "$work/round$r-$2-$3")" "$(cut -d' ' -f"$1" "$work/round$r-$4-$5")"
        echo
    done
}
# "MEDIAN" or, with more than one round, "MEDIAN (rounds: a, b, c)".
round_ratio() { # round_ratio FIELD IMPL_A SCENARIO_A IMPL_B SCENARIO_B
    local values
    values=$(round_values "$@" | grep -v n/a || true)
    [ -n "$values" ] || { echo n/a; return; }
    if [ "$(echo "$values" | wc -l)" -eq 1 ]; then echo "$values"; return; fi
    printf '%s (rounds: %s)\n' "$(echo "$values" | median | awk '{ printf "%.2f", $1 }')" "$(echo "$values" | paste -sd' ' | sed 's/ /, /g')"
}

# ---------------------------------------------------------------- report

field() { # field IMPL SCENARIO INDEX(1=rps 2=p50 3=p99 4=non2xx 5=total 6=server CPU µs/request)
    local f="$work/result-$1-$2"
    if [ -f "$f" ]; then cut -d' ' -f"$3" "$f"; else echo "n/a"; fi
}
unit() { if [ "$1" = n/a ]; then echo n/a; else echo "$1$2"; fi; } # unit VALUE SUFFIX
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}
verdict() { # verdict VALUE THRESHOLD
    awk -v v="$1" -v t="$2" 'BEGIN { if (v == "n/a") print "not measured"; else if (v + 0 >= t + 0) print "**met**"; else print "**not met**" }'
}

report() {
    local scenarios=(list-off list-admin list-bob authenticate member-create live list-admin-pg list-bob-pg)
    local -A label=(
        [list-off]='1. `GET /apis/entities/v2/workspaces`, auth off (mean of a run just before 2 and one just after 3)'
        [list-admin]='2. same, auth on, admin'
        [list-bob]='3. same, auth on, bob (filtered list)'
        [authenticate]='4. `GET /apis/auth/authenticate`, bob'
        [member-create]='5. `POST …/workspaces/ws1/members?wait_role_propagation=false`, admin'
        [live]='6. `GET /health/live` (the auth-on server of 2–5)'
        [list-admin-pg]='7. as 2, ours on PostgreSQL'
        [list-bob-pg]='8. as 3, ours on PostgreSQL'
    )
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$invocation\`; nmp-server built from $built_from."
    echo
    echo "Each scenario: \`hey -z $warmup -c $concurrency\` warm-up, then \`hey -z $duration -c $concurrency\`;" \
        "$rounds round(s), alternating ours and the reference. Each cell is the median over the rounds." \
        "Within a round the auth-off server is measured right before and right after the auth-on lists (2, 3), both servers up and only one under load, and 1 is the mean of those two runs; 2 goes before 3 in odd rounds, after it in even ones."
    echo
    echo "| scenario | ours req/s | ours p50 | ours p99 | ours CPU/req | reference req/s | reference p50 | reference p99 | reference CPU/req | ours / reference (req/s, median of the rounds' ratios) | non-2xx (ours / reference) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local s
    for s in "${scenarios[@]}"; do
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s of %s / %s of %s |\n' "${label[$s]}" \
            "$(field ours "$s" 1)" "$(unit "$(field ours "$s" 2)" " ms")" "$(unit "$(field ours "$s" 3)" " ms")" \
            "$(unit "$(field ours "$s" 6)" " µs")" \
            "$(field reference "$s" 1)" "$(unit "$(field reference "$s" 2)" " ms")" \
            "$(unit "$(field reference "$s" 3)" " ms")" "$(unit "$(field reference "$s" 6)" " µs")" \
            "$(unit "$(round_ratio 1 ours "$s" reference "$s" | cut -d' ' -f1)" "×")" \
            "$(field ours "$s" 4)" "$(field ours "$s" 5)" "$(field reference "$s" 4)" "$(field reference "$s" 5)"
    done
    echo
    local ours_on_off ours_bob_off ours_vs_ref ours_bob_vs_ref
    ours_on_off=$(round_ratio 1 ours list-admin ours list-off)
    ours_bob_off=$(round_ratio 1 ours list-bob ours list-off)
    ours_vs_ref=$(round_ratio 1 ours list-admin reference list-admin)
    ours_bob_vs_ref=$(round_ratio 1 ours list-bob reference list-bob)
    echo "Ratios are the median over the rounds of each round's ratio (the rounds' own values in brackets)."
    echo
    echo "| ratio | ours | reference |"
    echo "|---|---|---|"
    echo "| req/s, auth on (admin) / auth off | $ours_on_off | $(round_ratio 1 reference list-admin reference list-off) |"
    echo "| req/s, auth on (bob) / auth off | $ours_bob_off | $(round_ratio 1 reference list-bob reference list-off) |"
    echo "| server CPU per request, auth on (admin) / auth off | $(round_ratio 6 ours list-admin ours list-off) | $(round_ratio 6 reference list-admin reference list-off) |"
    echo "| server CPU per request, auth on (bob) / auth off | $(round_ratio 6 ours list-bob ours list-off) | $(round_ratio 6 reference list-bob reference list-off) |"
    local admin_live bob_live admin_pg bob_pg
    admin_live=$(round_ratio 1 ours list-admin ours live)
    bob_live=$(round_ratio 1 ours list-bob ours live)
    admin_pg=$(round_ratio 1 ours list-admin-pg ours list-admin)
    bob_pg=$(round_ratio 1 ours list-bob-pg ours list-bob)
    echo "| req/s, auth on list (admin) / \`/health/live\` | $admin_live | |"
    echo "| req/s, auth on list (bob) / \`/health/live\` | $bob_live | |"
    echo "| req/s, PostgreSQL / SQLite, auth on list (admin) | $admin_pg | |"
    echo "| req/s, PostgreSQL / SQLite, auth on list (bob) | $bob_pg | |"
    echo
    echo "CPU/req is the server process's user + system CPU time during the measured run divided by the" \
        "requests served (from \`/proc/PID/stat\`, clock ticks of 1/$(getconf CLK_TCK) s)."
    echo
    echo "Member create with the default \`wait_role_propagation=true\` (sequential, a new principal each time, mean of 3, median over the rounds):" \
        "ours $(cat "$work/result-ours-member-create-wait" 2>/dev/null || echo n/a) ms," \
        "reference $(cat "$work/result-reference-member-create-wait" 2>/dev/null || echo n/a) ms."
    echo
    echo "Targets:"
    echo
    echo "- ours auth on ≥ 0.95 × ours auth off: admin $ours_on_off: $(verdict "${ours_on_off%% *}" 0.95); bob $ours_bob_off: $(verdict "${ours_bob_off%% *}" 0.95)."
    echo "- ours auth on list ≥ 0.7 × ours \`/health/live\`: admin $admin_live: $(verdict "${admin_live%% *}" 0.7); bob $bob_live: $(verdict "${bob_live%% *}" 0.7)."
    echo "- ours auth on ≥ 100 × reference auth on: admin $ours_vs_ref: $(verdict "${ours_vs_ref%% *}" 100); bob $ours_bob_vs_ref: $(verdict "${ours_bob_vs_ref%% *}" 100)."
    local bad=0 impl
    for impl in ours reference; do
        for s in "${scenarios[@]}"; do
            local n
            n=$(field "$impl" "$s" 4)
            [ "$n" = n/a ] || bad=$((bad + n))
        done
    done
    echo "- non-2xx responses or transport errors, all measured runs of all rounds: $bad."
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
        "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM;" \
        "hey $(dpkg-query -W -f '${Version}' hey 2>/dev/null || echo '?'), reference under" \
        "$("$venv/bin/python" --version 2>/dev/null || echo 'no python')." \
        "Load generator and server share the $(nproc) cores."
    local r during=""
    for r in $(seq "$rounds"); do
        during+="${during:+; }round $r: ours $(cat "$work/round$r-load-ours" 2>/dev/null || echo n/a), reference $(cat "$work/round$r-load-reference" 2>/dev/null || echo n/a)"
    done
    echo "Load average (1 min) before the run: $load_before (1/5/15 min: $loadavg_before)." \
        "At the start and end of each implementation's auth-on scenarios (the benchmark's own hey and server count here too): $during."
}

write_doc() { # write_doc FILE < generated section
    local file=$1 begin='<!-- bench:begin (generated by scripts/bench.sh) -->' end='<!-- bench:end -->'
    cat >"$work/section"
    if [ ! -f "$file" ] || ! grep -qF "$begin" "$file"; then
        { [ -f "$file" ] && cat "$file" && echo; echo "$begin"; echo "$end"; } >"$work/doc"
        cp "$work/doc" "$file"
    fi
    awk -v begin="$begin" -v end="$end" -v section="$work/section" '
        $0 == begin { print; while ((getline line < section) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }
    ' "$file" >"$work/doc"
    cp "$work/doc" "$file"
}

# ---------------------------------------------------------------- main

ensure_hey
ensure_ours
[ "$skip_postgres" = 1 ] || ensure_postgres
[ "$skip_reference" = 1 ] || ensure_reference

deadline=$((SECONDS + load_wait))
while :; do
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$load_before" -v m="$max_load" 'BEGIN { exit !(l < m) }' && break
    [ $SECONDS -lt $deadline ] || { log "load average $load_before is not below $max_load; measuring anyway"; break; }
    log "load average $load_before ≥ $max_load; waiting (up to $((deadline - SECONDS)) s more)"
    sleep 30
done
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before the run: $loadavg_before"

# Rounds alternate the implementations, so a slow stretch of the shared machine hits both.
for round in $(seq "$rounds"); do
    run_scenarios ours start_ours
    [ "$skip_reference" = 1 ] || run_scenarios reference start_reference
done
combine_rounds

report >"$work/report.md"
cat "$work/report.md"
if [ "$out" != - ]; then
    write_doc "$out" <"$work/report.md"
    log "updated $out"
fi

# ---------------------------------------------------------------- access keys (ours only)
# A request authenticated by a Scoped Access Key next to one authenticated by an IdP token, on the
# binary just measured; its own section of the doc. BENCH_ACCESS_KEYS=0 skips it.
if [ "${BENCH_ACCESS_KEYS:-1}" = 1 ]; then
    BENCH_SERVER_BIN="$ours_bin" BENCH_OUT="$out" "$repo/scripts/bench-access-keys.sh"
fi
