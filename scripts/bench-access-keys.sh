#!/usr/bin/env bash
# Throughput of a request authenticated by a Scoped Access Key next to the same request
# authenticated by an IdP-signed token, on one nmp-server (release build). The claim measured:
# checking a key (platform signature, then the in-memory registry) costs no more than checking an
# IdP token; within 10% of its req/s.
#
#   scripts/bench-access-keys.sh                 full run (3 s warm-up + hey -z 10s -c 16, three rounds),
#                                                writes its table into docs/benchmarks.md between markers
#   BENCH_QUICK=1 scripts/bench-access-keys.sh   quick run (1 s warm-up + 2 s, one round), prints only
#
# Run by scripts/bench.sh after its own scenarios; the same BENCH_* variables apply
# (BENCH_DURATION, BENCH_CONCURRENCY, BENCH_WARMUP, BENCH_ROUNDS, BENCH_OUT, BENCH_SERVER_BIN).
#
# The IdP is a few lines of Python serving a discovery document and a JWKS on 127.0.0.1; its
# token is RS256, signed with openssl. Both credentials belong to bob@example.com, a Viewer of
# ws1, and both hit GET /apis/entities/v2/workspaces (authentication, the PDP, a filtered list).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    duration=${BENCH_DURATION:-2s} warmup=${BENCH_WARMUP:-1s} rounds=${BENCH_ROUNDS:-1} out=${BENCH_OUT:--}
else
    duration=${BENCH_DURATION:-10s} warmup=${BENCH_WARMUP:-3s} rounds=${BENCH_ROUNDS:-3}
    out=${BENCH_OUT:-$repo/docs/benchmarks.md}
fi
concurrency=${BENCH_CONCURRENCY:-16}

log() { printf '[bench-access-keys] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nmp-bench-ak.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v hey >/dev/null || die "hey is needed (scripts/bench.sh installs it)"
command -v openssl >/dev/null || die "openssl is needed"
if [ -n "${BENCH_SERVER_BIN:-}" ]; then
    server_bin=$BENCH_SERVER_BIN
    built_from="\`$server_bin\`"
else
    built_from="commit \`$(git -C "$repo" rev-parse --short HEAD)\`"
    log "building nmp-server (release) from $built_from"
    (cd "$repo" && cargo build --release -q -p nmp-server)
    server_bin="${CARGO_TARGET_DIR:-$repo/target}/release/nmp-server"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# --- a minimal IdP: discovery + JWKS for one RSA key -------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/idp.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/signing.pem" 2>/dev/null
idp_port=$(free_port)
issuer="http://127.0.0.1:$idp_port"
modulus=$(openssl rsa -in "$work/idp.pem" -noout -modulus 2>/dev/null | cut -d= -f2)
n=$(python3 -c 'import base64, sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).decode().rstrip("="))' "$modulus")
mkdir -p "$work/idp/.well-known"
printf '{"issuer":"%s","jwks_uri":"%s/jwks"}' "$issuer" "$issuer" >"$work/idp/.well-known/openid-configuration"
printf '{"keys":[{"kty":"RSA","kid":"idp1","use":"sig","alg":"RS256","n":"%s","e":"AQAB"}]}' "$n" >"$work/idp/jwks"
python3 -m http.server "$idp_port" --bind 127.0.0.1 --directory "$work/idp" >"$work/idp.log" 2>&1 &
pids+=($!)

now=$(date +%s)
header=$(printf '{"alg":"RS256","kid":"idp1","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"%s","aud":"nmp-api","sub":"bob@example.com","email":"bob@example.com","iat":%d,"exp":%d}' \
    "$issuer" "$now" $((now + 86400)) | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$work/idp.pem" -binary | b64url)
idp_token="$header.$claims.$signature"
admin_claims=$(printf '{"iss":"%s","aud":"nmp-api","sub":"admin@example.com","email":"admin@example.com","iat":%d,"exp":%d}' \
    "$issuer" "$now" $((now + 86400)) | b64url)
admin_signature=$(printf '%s.%s' "$header" "$admin_claims" | openssl dgst -sha256 -sign "$work/idp.pem" -binary | b64url)
admin_token="$header.$admin_claims.$admin_signature"

# --- the server ---------------------------------------------------------------------------------
cat >"$work/config.yaml" <<EOF
auth:
  enabled: true
  admin_email: admin@example.com
  oidc: {enabled: true, issuer: "$issuer", audience: nmp-api, client_id: nemo-cli}
  access_keys: {enabled: true}
  token_signing: {private_key_file: "$work/signing.pem"}
EOF
"$server_bin" --host 127.0.0.1 --port 0 --config "$work/config.yaml" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 300); do grep -q 'nmp listening on http://' "$work/server.log" && break; sleep 0.1; done
base=$(grep -o 'nmp listening on http://[0-9.:]*' "$work/server.log" | head -1 | sed 's/nmp listening on //')
[ -n "$base" ] || die "the server did not start: $(tail -5 "$work/server.log")"
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready")" = 200 ] && break
    sleep 0.1
done

call() { # call METHOD PATH TOKEN [BODY] -> status; body in $work/body
    local args=(-sS -o "$work/body" -w '%{http_code}' -X "$1" "$base$2" -H "Authorization: Bearer $3")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
    curl "${args[@]}"
}
[ "$(call POST /apis/entities/v2/workspaces "$admin_token" '{"name":"ws1"}')" = 201 ] || die "create ws1: $(cat "$work/body")"
[ "$(call POST /apis/entities/v2/workspaces/ws1/members "$admin_token" \
    '{"principal":"bob@example.com","roles":["Viewer"]}')" = 201 ] || die "add bob: $(cat "$work/body")"
[ "$(call POST /apis/auth/v2/access-keys "$idp_token" '{"name":"bench"}')" = 200 ] || die "create key: $(cat "$work/body")"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$work/body")
url="$base/apis/entities/v2/workspaces"
for credential in "$idp_token" "$key"; do
    [ "$(call GET /apis/entities/v2/workspaces "$credential")" = 200 ] || die "a credential is refused: $(cat "$work/body")"
done

# --- measuring ----------------------------------------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
measure() { # measure NAME TOKEN -> "RPS P50_MS CPU_US_PER_REQ NON2XX"
    local file="$work/hey-$1.txt" before after
    hey -z "$warmup" -c "$concurrency" -H "Authorization: Bearer $2" "$url" >/dev/null 2>&1 || true
    before=$(cpu_ticks)
    hey -z "$duration" -c "$concurrency" -H "Authorization: Bearer $2" "$url" >"$file" 2>&1 || die "hey failed"
    after=$(cpu_ticks)
    awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        /Requests\/sec:/ { rps = $2 }
        /^ +50% in/ { p50 = $3 * 1000 }
        /^ +\[[0-9]+\]/ { code = substr($1, 2, 3); n = $2; total += n; if (code != "200") bad += n }
        END { printf "%.1f %.1f %.0f %d\n", rps, p50, (total > 0 ? ticks / hz * 1e6 / total : 0), bad }
    ' "$file"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for round in $(seq "$rounds"); do
    # Alternate which goes first, so a slow stretch of the machine does not favour one side.
    if [ $((round % 2)) = 1 ]; then order="idp key"; else order="key idp"; fi
    for side in $order; do
        if [ "$side" = idp ]; then token=$idp_token; else token=$key; fi
        measure "$side-$round" "$token" >"$work/round$round-$side"
        log "round $round, $side: $(cat "$work/round$round-$side") (req/s p50_ms cpu_us/req non-2xx)"
    done
    awk 'NR == FNR { idp = $1; next } { printf "%.3f\n", $1 / idp }' "$work/round$round-idp" "$work/round$round-key" \
        >"$work/ratio$round"
done

column() { for round in $(seq "$rounds"); do cut -d' ' -f"$2" "$work/round$round-$1"; done | median; }
ratio=$(cat "$work"/ratio* | median)
ratios=$(cat "$work"/ratio* | paste -sd, -)
bad=$(cat "$work"/round*-* | awk '{ s += $4 } END { print s + 0 }')
within=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "yes" : "no") }')

{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC with \`scripts/bench-access-keys.sh\`$( [ "${BENCH_QUICK:-0}" = 1 ] && echo ' (quick)'); nmp-server built from $built_from."
    echo
    echo "\`GET /apis/entities/v2/workspaces\` as bob (Viewer of ws1), \`hey -z $duration -c $concurrency\` after a $warmup warm-up, $rounds round(s), medians:"
    echo
    echo "| credential | req/s | p50 | server CPU/req |"
    echo "|---|---:|---:|---:|"
    echo "| IdP token (RS256, OIDC, verified-token cache) | $(column idp 1) | $(column idp 2) ms | $(column idp 3) µs |"
    echo "| Scoped Access Key (platform RS256 + in-memory registry) | $(column key 1) | $(column key 2) ms | $(column key 3) µs |"
    echo
    echo "Access key / IdP token req/s: **$ratio** (rounds: $ratios); within 10%: **$within**. Non-2xx answers: $bad."
} >"$work/report.md"
cat "$work/report.md"

if [ "$out" != - ]; then
    python3 - "$out" "$work/report.md" <<'PY'
import sys
path, report = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- bench-access-keys:begin (generated by scripts/bench-access-keys.sh) -->", "<!-- bench-access-keys:end -->"
text = open(path).read()
if begin not in text or end not in text:
    sys.exit(f"{path} has no {begin} ... {end} markers")
head, rest = text.split(begin, 1)
open(path, "w").write(head + begin + "\n" + report + end + rest.split(end, 1)[1])
PY
    log "updated $out"
fi
[ "$bad" = 0 ] || die "$bad answers were not 200"
