#!/usr/bin/env bash
# The compatibility suite: the OFFICIAL NeMo Platform CLI and Python SDK (PyPI nemo-platform,
# pinned in requirements.txt) against our nmp-server and nemo binaries.
#
#   tests/compat/run.sh [pytest args...]
#
# Environment:
#   NMP_COMPAT_VENV     cached virtualenv (default ~/.cache/nmp/compat-venv); rebuilt when
#                       requirements.txt or the Python interpreter changes
#   NMP_COMPAT_PYTHON   interpreter to build it with (default: 3.13 or 3.12 from PATH or pyenv,
#                       else python3 >= 3.11 with --ignore-requires-python)
#   CARGO_TARGET_DIR    honoured for the cargo build
#   NMP_COMPAT_SKIP_BUILD=1  use already built binaries (from CARGO_TARGET_DIR or target/)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${NMP_COMPAT_VENV:-$HOME/.cache/nmp/compat-venv}"

die() { echo "compat: FATAL: $*" >&2; exit 1; }
log() { echo "compat: $*" >&2; }

# --- Python ---------------------------------------------------------------------------------
pick_python() {
    if [[ -n "${NMP_COMPAT_PYTHON:-}" ]]; then echo "$NMP_COMPAT_PYTHON"; return; fi
    local candidate runs=(-c 'import sys; sys.exit(sys.version_info < (3, 11))')
    for candidate in python3.13 python3.12; do
        # (a pyenv shim is on PATH even when that version is not selected: it must also run)
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" "${runs[@]}" >/dev/null 2>&1; then
            command -v "$candidate"; return
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        local root; root="$(pyenv root)"
        for candidate in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3; do
            if [[ -x "$candidate" ]] && "$candidate" "${runs[@]}" >/dev/null 2>&1; then echo "$candidate"; return; fi
        done
    fi
    command -v python3 || die "no python3 found"
}
python="$(pick_python)"
py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')" \
    || die "cannot run $python"
pip_extra=()
case "$py_version" in
    3.12.*|3.13.*) ;;
    3.11.*) log "Python $py_version < 3.12: installing with --ignore-requires-python"
            pip_extra=(--ignore-requires-python) ;;
    *) die "Python $py_version at $python is not supported (need 3.11-3.13)" ;;
esac

key="$( { cat "$here/requirements.txt"; echo "python=$python $py_version"; } | sha256sum | cut -d' ' -f1)"
marker="$venv/.nmp-compat-key"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9  # one installer at a time

if [[ -f "$marker" && "$(cat "$marker")" == "$key" && -x "$venv/bin/nemo" ]]; then
    log "reusing virtualenv $venv (Python $py_version, key ${key:0:12})"
else
    log "creating virtualenv $venv with $python (Python $py_version)"
    rm -rf "$venv"
    start=$(date +%s)
    "$python" -m venv "$venv" || die "cannot create a virtualenv with $python"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_extra[@]}" \
        -r "$here/requirements.txt" || die "pip install -r $here/requirements.txt failed"
    "$venv/bin/nemo" --version >/dev/null || die "the official nemo CLI does not run from $venv"
    echo "$key" > "$marker"
    log "virtualenv installed in $(( $(date +%s) - start )) s"
fi
exec 9>&-
official_nemo="$venv/bin/nemo"
log "official CLI: $("$official_nemo" --version 2>/dev/null)"

# --- the test IdP (node + oidc-provider) -----------------------------------------------------
command -v node >/dev/null 2>&1 || die "node (Node.js 20+) is needed for the test IdP"
idp="$repo/tests/idp"
if [[ ! -f "$idp/node_modules/.package-lock.json" || "$idp/package-lock.json" -nt "$idp/node_modules/.package-lock.json" ]]; then
    log "npm ci in $idp"
    (cd "$idp" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $idp failed"
fi

# --- our binaries ---------------------------------------------------------------------------
cd "$repo"
if [[ "${NMP_COMPAT_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build -p nmp-server -p nmp-cli"
    cargo build --quiet -p nmp-server -p nmp-cli || die "cargo build failed"
fi
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
server_bin="$target_dir/debug/nmp-server"
our_nemo="$target_dir/debug/nemo"
[[ -x "$server_bin" ]] || die "missing $server_bin"
[[ -x "$our_nemo" ]] || die "missing $our_nemo"

# --- pytest ---------------------------------------------------------------------------------
export NMP_COMPAT_SERVER_BIN="$server_bin"
export NMP_COMPAT_OUR_NEMO="$our_nemo"
export NMP_COMPAT_OFFICIAL_NEMO="$official_nemo"
export NMP_COMPAT_IDP_DIR="$idp"
export NEMO_TELEMETRY_ENABLED=false
# Nothing from the caller's own nemo setup may leak into the tests.
for variable in $(env | grep -oE '^NMP_(CONFIG_FILE|CURRENT_CONTEXT|WORKSPACE|OUTPUT_FORMAT|BASE_URL|ACCESS_TOKEN|PAGE_SIZE|TRUNCATE|TIMESTAMP_FORMAT|COLOR_OUTPUT)=' | tr -d =); do
    unset "$variable"
done
unset NEMO_WORKLOAD_TOKEN NEMO_WORKLOAD_TOKEN_FILE
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
