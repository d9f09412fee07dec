#!/usr/bin/env bash
# Side-by-side throughput of nmp-server and the reference platform (nemo-platform 0.6.0), same
# data, same load generator (hey), servers measured one after the other, never concurrently (the
# auth-off and auth-on lists take turns in short slices, A-B-A-B-..-A, see run_scenarios).
#
#   scripts/bench.sh                 full run (3 s warm-up + hey -z 10s -c 16 per scenario, three
#                                    rounds), writes the table into docs/benchmarks.md between markers
#   BENCH_QUICK=1 scripts/bench.sh   quick run (1 s warm-up + 2 s), prints the table only
#
# Environment (all optional):
#   BENCH_DURATION=10s BENCH_CONCURRENCY=16 BENCH_WARMUP=3s   the hey parameters
#   BENCH_ROUNDS=3 (1 in quick mode)          rounds of every scenario; the table shows medians
#   BENCH_SLICES=10 BENCH_SLICE=2s            the lists and /health/live are measured in that many
#                                             slices of that length each, taking turns within a
#                                             round (quick mode: 1 slice of BENCH_DURATION)
#   BENCH_MAX_LOAD=1.5 BENCH_LOAD_WAIT=1200   wait up to that many seconds for a 1-minute load
#                                             average below BENCH_MAX_LOAD (0 in quick mode)
#   BENCH_OUT=docs/benchmarks.md              the doc to update ('-' = print only)
#   BENCH_SKIP_REFERENCE=1                    measure our server only
#   NMP_BENCH_VENV=~/.cache/nmp/bench-venv    cached venv of the reference server
#   BENCH_SERVER_BIN=...                      our binary (default: cargo build --release)
#   BENCH_SKIP_POSTGRES=1                     skip ours on PostgreSQL (a throwaway cluster that
#                                             nmp-scale starts; needs the PostgreSQL server binaries)
#   BENCH_SCALE_BIN=...                       that nmp-scale binary (default: cargo build --release)
#   BENCH_INSTRUCTIONS=1 (0 in quick mode)    also count the instructions per list request under
#                                             valgrind's callgrind (BENCH_INSTRUCTION_REQUESTS=4000)
#
# Installs, when missing: hey and valgrind (Debian packages) and the reference into the cached venv.
# Every process it starts is stopped on exit; all state lives in a temporary directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    duration=${BENCH_DURATION:-2s}
    warmup=${BENCH_WARMUP:-1s}
    rounds=${BENCH_ROUNDS:-1}
    slices=${BENCH_SLICES:-1}
    slice_duration=${BENCH_SLICE:-$duration}
    instructions=${BENCH_INSTRUCTIONS:-0}
    load_wait=${BENCH_LOAD_WAIT:-0}
    out=${BENCH_OUT:--}
else
    duration=${BENCH_DURATION:-10s}
    warmup=${BENCH_WARMUP:-3s}
    rounds=${BENCH_ROUNDS:-3}
    slices=${BENCH_SLICES:-10}
    slice_duration=${BENCH_SLICE:-2s}
    instructions=${BENCH_INSTRUCTIONS:-1}
    load_wait=${BENCH_LOAD_WAIT:-1200}
    out=${BENCH_OUT:-$repo/docs/benchmarks.md}
fi
concurrency=${BENCH_CONCURRENCY:-16}
instruction_requests=${BENCH_INSTRUCTION_REQUESTS:-4000}
max_load=${BENCH_MAX_LOAD:-1.5}
venv=${NMP_BENCH_VENV:-$HOME/.cache/nmp/bench-venv}
skip_reference=${BENCH_SKIP_REFERENCE:-0}
skip_postgres=${BENCH_SKIP_POSTGRES:-0}
invocation="$(printf "%q " "$0" "$@")"; invocation=${invocation% }
for var in BENCH_QUICK BENCH_DURATION BENCH_CONCURRENCY BENCH_WARMUP BENCH_ROUNDS BENCH_SLICES BENCH_SLICE BENCH_SKIP_REFERENCE BENCH_SKIP_POSTGRES; do
    if [ -n "${!var:-}" ]; then invocation="$var=${!var} $invocation"; fi
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $slices =~ ^[1-9][0-9]*$ ]] || die "BENCH_SLICES must be a positive whole number (got '$slices')"

work=$(mktemp -d "${TMPDIR:-/tmp}/nmp-bench.XXXXXX")
server_pid="" pg_pid="" off_pid="" on_pid=""
server_wrapper=() # a command our server runs under (valgrind, for the instruction counts)
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

ensure_debian_package() { # ensure_debian_package COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return
    log "installing $2 (Debian package)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    timeout 600 $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq "$2" >/dev/null
}
ensure_hey() { ensure_debian_package hey hey; }

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
    [ -n "${as_principal:-}" ] && args+=(-H "X-NMP-Principal-Id: $as_principal")
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
    "${server_wrapper[@]}" "$ours_bin" --host 127.0.0.1 --port 0 --config "$state/config.yaml" --data-dir "$state/data" \
        >"$server_log" 2>&1 &
    server_pid=$!
    wait_until 60 "nmp-server $name to listen" grep -q 'nmp listening on http://' "$server_log"
    base=$(grep -o 'nmp listening on http://[0-9.:]*' "$server_log" | head -1 | sed 's/nmp listening on //')
    wait_until 30 "nmp-server $name to be ready" ready
}

# Same data in both: default and system (created at start), ws1, bob a Viewer of ws1.
seed_data() { # seed_data AUTH(true|false) IMPL(ours|reference)
    local token="" as_principal=""
    # With auth off, the admin is named by the principal header (which an auth-off server takes
    # as given), so that both servers' rows, and so their list responses, are the same bytes:
    # `created_by` would otherwise be empty on one side only.
    if [ "$1" = true ]; then token=$admin_token; else as_principal=admin@example.com; fi
    expect 201 -- POST "$base/apis/entities/v2/workspaces" "$token" '{"name":"ws1"}'
    expect 201 -- POST "$base/apis/entities/v2/workspaces/ws1/members" "$token" \
        '{"principal":"bob@example.com","roles":["Viewer"]}'
    if [ "$1" = true ]; then wait_until 30 "bob's Viewer role to take effect" bob_sees_ws1; fi
    expect 200 -- GET "$base/apis/entities/v2/workspaces" "$token"
    local total
    total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pagination"]["total_results"])' "$work/last-body")
    [ "$total" = 3 ] || die "expected 3 workspaces, the list says $total"
    if [ "$2" = ours ]; then
        local creator
        creator=$(python3 -c 'import json,sys; print([w["created_by"] for w in json.load(open(sys.argv[1]))["data"] if w["name"] == "ws1"][0])' "$work/last-body")
        [ "$creator" = admin@example.com ] || die "ws1's created_by is '$creator', not admin@example.com"
    fi
}

# ---------------------------------------------------------------- measuring

# measure IMPL SCENARIO -- hey arguments (without -z/-c): warm-up, then the measured run.
# With measure_for=D set, no warm-up and a run of D (one slice of an interleaved series).
measure() {
    local impl=$1 scenario=$2 length=${measure_for:-$duration}
    shift 3
    local file="$work/hey-$impl-$scenario.txt"
    [ -n "${measure_for:-}" ] || warm_up "$@"
    local cpu_before cpu_after
    cpu_before=$(server_cpu_ticks)
    hey -z "$length" -c "$concurrency" "$@" >"$file" 2>&1 || die "hey failed: $(tail -5 "$file")"
    cpu_after=$(server_cpu_ticks)
    # Server CPU time per request (user + system) is far less sensitive to a noisy machine than
    # req/s, which also depends on how much CPU hey and the neighbours leave the server.
    parse_hey "$file" | awk -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" \
        '{ printf "%s %.0f\n", $0, ($5 > 0 ? ticks / hz * 1e6 / $5 : 0) }' >"$work/round$round-$impl-$scenario"
    log "round $round, $impl $scenario: $(cat "$work/round$round-$impl-$scenario")"
}

token_of() { if [ "$1" = admin ]; then echo "$admin_token"; else echo "$bob_token"; fi; }

warm_up() { hey -z "$warmup" -c "$concurrency" "$@" >/dev/null 2>&1 || true; }

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

# The mean of measure lines ("RPS P50 P99 NON2XX TOTAL CPU"), one per file: means, except the
# counts, summed. The slices are of equal length, so the mean req/s is the req/s of them all.
mean_of() { # mean_of FILE...
    cat "$@" | awk '{
        n++; rps += $1; bad += $4; total += $5; cpu += $6
        if ($2 == "n/a") no_p50 = 1; else p50 += $2
        if ($3 == "n/a") no_p99 = 1; else p99 += $3
    } END {
        printf "%.1f %s %s %d %d %.0f\n", rps / n, no_p50 ? "n/a" : sprintf("%.1f", p50 / n),
            no_p99 ? "n/a" : sprintf("%.1f", p99 / n), bad, total, cpu / n
    }'
}

run_scenarios() { # run_scenarios IMPL START_FUNCTION
    local impl=$1 start=$2 list="/apis/entities/v2/workspaces" off_base on_base
    # The lists are measured interleaved: both servers up, one loaded at a time, the auth-off
    # list in every other slice (off, on, off, on, .., off), the auth-on lists (admin, bob) in the
    # slices between, and the auth-on server's /health/live after each pair. The machine's slow
    # and fast stretches last seconds to tens of seconds; in short slices taking turns they weigh
    # on all of them alike, where one long run of each (A-B-A) could not tell them apart from the
    # cost of auth. Each of them in the round is the mean of its slices.
    log "$impl: auth off"
    $start "$impl-auth-off-round$round" false
    seed_data false "$impl"
    off_pid=$server_pid off_base=$base
    server_pid=""

    log "$impl: auth on"
    $start "$impl-auth-on-round$round" true
    seed_data true "$impl"
    on_pid=$server_pid on_base=$base
    load_during=$(cut -d' ' -f1 /proc/loadavg)
    warm_up "$off_base$list"
    warm_up -H "Authorization: Bearer $admin_token" "$on_base$list"
    warm_up -H "Authorization: Bearer $bob_token" "$on_base$list"
    warm_up "$on_base/health/live"
    local slice who order offs=() admins=() bobs=() lives=()
    for slice in $(seq "$slices"); do
        # Which of admin and bob goes first alternates, slice to slice and round to round.
        if [ $(((slice + round) % 2)) = 0 ]; then order="admin bob"; else order="bob admin"; fi
        for who in $order; do
            server_pid=$off_pid measure_for=$slice_duration measure "$impl" "list-off-$slice-$who" -- "$off_base$list"
            server_pid=$on_pid measure_for=$slice_duration measure "$impl" "list-$who-$slice" -- \
                -H "Authorization: Bearer $(token_of "$who")" "$on_base$list"
            offs+=("$work/round$round-$impl-list-off-$slice-$who")
        done
        # The server's own floor (routing, middleware, no auth, no store), same process, same stretch.
        server_pid=$on_pid measure_for=$slice_duration measure "$impl" "live-$slice" -- "$on_base/health/live"
        admins+=("$work/round$round-$impl-list-admin-$slice")
        bobs+=("$work/round$round-$impl-list-bob-$slice")
        lives+=("$work/round$round-$impl-live-$slice")
    done
    server_pid=$off_pid measure_for=$slice_duration measure "$impl" "list-off-end" -- "$off_base$list"
    offs+=("$work/round$round-$impl-list-off-end")
    mean_of "${offs[@]}" >"$work/round$round-$impl-list-off"
    mean_of "${admins[@]}" >"$work/round$round-$impl-list-admin"
    mean_of "${bobs[@]}" >"$work/round$round-$impl-list-bob"
    mean_of "${lives[@]}" >"$work/round$round-$impl-live"
    log "round $round, $impl lists (means of the slices): off $(cat "$work/round$round-$impl-list-off"), admin $(cat "$work/round$round-$impl-list-admin"), bob $(cat "$work/round$round-$impl-list-bob")"
    server_pid=$off_pid
    stop_server
    off_pid="" server_pid=$on_pid
    measure "$impl" authenticate -- -H "Authorization: Bearer $bob_token" "$base/apis/auth/authenticate"
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
        seed_data true "$impl"
        measure "$impl" list-admin-pg -- -H "Authorization: Bearer $admin_token" "$base/apis/entities/v2/workspaces"
        measure "$impl" list-bob-pg -- -H "Authorization: Bearer $bob_token" "$base/apis/entities/v2/workspaces"
        stop_server
    fi
}

# ---------------------------------------------------------------- instructions per request
# The lists again, each server under valgrind's callgrind: the instructions the server executes
# per request (all its threads). Unlike req/s and CPU time, the count hardly depends on the
# machine's neighbours, so it shows what authentication and authorization add to a request when
# the timed figures are too noisy to tell (BENCH_INSTRUCTIONS=0 skips it; quick mode skips it).
count_instructions() { # count_instructions TAG K LABEL -- hey arguments (the server's Kth count)
    local tag=$1 k=$2 label=$3 n=$instruction_requests ok
    shift 4
    hey -n 500 -c 4 "$@" >/dev/null 2>&1 || die "hey failed (warm-up of $label under callgrind)"
    callgrind_control -i on "$server_pid" >/dev/null 2>&1
    hey -n "$n" -c 4 "$@" >"$work/hey-callgrind-$label.txt" 2>&1 ||
        die "hey failed under callgrind: $(tail -3 "$work/hey-callgrind-$label.txt")"
    callgrind_control -i off "$server_pid" >/dev/null 2>&1
    # Dump K holds what was counted since dump K-1: this run alone.
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    wait_until 30 "callgrind's count of $label" test -s "$work/callgrind/$tag.$k"
    ok=$(parse_hey "$work/hey-callgrind-$label.txt" | awk '{ print $5 - $4 }')
    [ "$ok" = "$n" ] || die "under callgrind, $label answered $ok of $n requests with 2xx"
    awk -v n="$n" '/^totals:/ { printf "%.0f\n", $2 / n }' "$work/callgrind/$tag.$k" >"$work/instructions-$label"
    [ -s "$work/instructions-$label" ] || die "no totals in callgrind's count of $label"
    log "instructions per request, $label: $(cat "$work/instructions-$label")"
}

run_instructions() {
    local list="/apis/entities/v2/workspaces"
    mkdir -p "$work/callgrind"
    log "instructions per request (callgrind, $instruction_requests requests each)"
    server_wrapper=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind/off")
    start_ours callgrind-off false
    seed_data false ours
    count_instructions off 1 off -- "$base$list"
    count_instructions off 2 off-token -- -H "Authorization: Bearer $bob_token" "$base$list"
    stop_server
    server_wrapper=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind/on")
    start_ours callgrind-on true
    seed_data true ours
    count_instructions on 1 admin -- -H "Authorization: Bearer $admin_token" "$base$list"
    count_instructions on 2 bob -- -H "Authorization: Bearer $bob_token" "$base$list"
    stop_server
    server_wrapper=()
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
    printf '%s (rounds: %s)\n' "$(echo "$values" | median | awk '{ printf "%.3f", $1 }')" "$(echo "$values" | paste -sd' ' | sed 's/ /, /g')"
}

# ---------------------------------------------------------------- report

field() { # field IMPL SCENARIO INDEX(1=rps 2=p50 3=p99 4=non2xx 5=total 6=server CPU µs/request)
    local f="$work/result-$1-$2"
    if [ -f "$f" ]; then cut -d' ' -f"$3" "$f"; else echo "n/a"; fi
}
unit() { if [ "$1" = n/a ]; then echo n/a; else echo "$1$2"; fi; } # unit VALUE SUFFIX
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.3f", a / b }'
}
verdict() { # verdict VALUE THRESHOLD
    awk -v v="$1" -v t="$2" 'BEGIN { if (v == "n/a") print "not measured"; else if (v + 0 >= t + 0) print "**met**"; else print "**not met**" }'
}

report() {
    local scenarios=(list-off list-admin list-bob authenticate member-create live list-admin-pg list-bob-pg)
    local -A label=(
        [list-off]='1. `GET /apis/entities/v2/workspaces`, auth off (its slices between those of 2 and 3)'
        [list-admin]='2. same, auth on, admin'
        [list-bob]='3. same, auth on, bob (filtered list)'
        [authenticate]='4. `GET /apis/auth/authenticate`, bob'
        [member-create]='5. `POST …/workspaces/ws1/members?wait_role_propagation=false`, admin'
        [live]='6. `GET /health/live` (the auth-on server of 2–5; its slices after each pair of 2 and 3)'
        [list-admin-pg]='7. as 2, ours on PostgreSQL'
        [list-bob-pg]='8. as 3, ours on PostgreSQL'
    )
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$invocation\`; nmp-server built from $built_from."
    echo
    echo "Each scenario: \`hey -z $warmup -c $concurrency\` warm-up, then \`hey -z $duration -c $concurrency\`;" \
        "$rounds round(s), alternating ours and the reference. Each cell is the median over the rounds." \
        "Within a round the lists 1–3 and \`/health/live\` (6) are measured interleaved, both servers up and one under load at a time:" \
        "$slices slice(s) of \`hey -z $slice_duration\` for each of 2, 3 and 6 (after one warm-up each), every slice of 2 and 3 between two slices of 1" \
        "(off, admin, off, bob, live, off, bob, off, admin, live, …, off), 2 and 3 taking turns to go first; each of 1–3 and 6 is the mean of its slices."
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
    if [ -f "$work/instructions-off" ]; then
        local base_count label_text label
        base_count=$(cat "$work/instructions-off")
        echo "Instructions per request of ours (valgrind's callgrind, all the server's threads, $instruction_requests requests with" \
            "\`hey -n $instruction_requests -c 4\` after 500 unmeasured, on servers set up as for 1–3; one run, the count moves by about 1 % between runs):"
        echo
        echo "| request | instructions per request | / auth off |"
        echo "|---|---:|---:|"
        for label in off off-token admin bob; do
            case $label in
                off) label_text='1. list, auth off' ;;
                off-token) label_text="1. list, auth off, bob's token sent all the same (the auth-off server ignores it)" ;;
                admin) label_text='2. list, auth on, admin' ;;
                bob) label_text='3. list, auth on, bob (filtered list)' ;;
            esac
            echo "| $label_text | $(cat "$work/instructions-$label") | $(awk -v a="$(cat "$work/instructions-$label")" -v b="$base_count" 'BEGIN { printf "%.3f", a / b }') |"
        done
        echo
    fi
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
[ "$instructions" = 1 ] && ensure_debian_package callgrind_control valgrind
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
[ "$instructions" = 1 ] && run_instructions

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
