#!/usr/bin/env bash
# The official Studio bundle (`nmp/studio/static` of the official nemo-platform wheel, the version
# pinned in tests/compat/requirements.txt), downloaded once with pip and extracted into a cache.
# Prints the bundle's directory on stdout; fails loudly (exit 1) when it cannot get it.
#
#   tests/studio/official-bundle.sh
#
# Environment:
#   NMP_STUDIO_BUNDLE_CACHE  cache directory (default ~/.cache/nmp/studio-bundle)
#   NMP_STUDIO_PYTHON        interpreter whose pip downloads the wheel (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${NMP_STUDIO_BUNDLE_CACHE:-$HOME/.cache/nmp/studio-bundle}"
python="${NMP_STUDIO_PYTHON:-python3}"

die() { echo "official-bundle: FATAL: $*" >&2; exit 1; }

version="$(sed -n 's/^nemo-platform==\([^ ;#]*\).*/\1/p' "$repo/tests/compat/requirements.txt")"
[[ -n "$version" ]] || die "no pinned nemo-platform==VERSION in tests/compat/requirements.txt"
wheel="nemo_platform-$version-py3-none-any.whl"
# The wheel's digest, so the bundle under test is exactly the one these tests were written against.
declare -A digests=(
    [0.6.0]=bdeffce177ce1cae8fbb7bfa06a9fcf464e46cd793f7eb724e3035c03c89a900
)
digest="${digests[$version]:-}"
[[ -n "$digest" ]] || die "no recorded sha256 for nemo-platform $version: add it to $0 after checking the wheel"

target="$cache/$version"
if [[ -f "$target/.complete" && -f "$target/static/index.html" ]]; then
    echo "$target/static"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -f "$target/.complete" ]]; then
    download="$cache/download"
    mkdir -p "$download"
    if [[ ! -f "$download/$wheel" ]] || ! echo "$digest  $download/$wheel" | sha256sum --check --status; then
        rm -f "$download/$wheel"
        echo "official-bundle: downloading nemo-platform $version (the wheel only, no dependencies)" >&2
        # An interpreter without pip (Debian's python3 without python3-pip): a small venv of our own.
        pip_python="$python"
        if ! "$python" -m pip --version >/dev/null 2>&1; then
            "$python" -m venv "$cache/venv" >/dev/null 2>&1 && "$cache/venv/bin/python" -m pip --version >/dev/null 2>&1 \
                || die "$python has no pip and cannot make a venv with one: install python3-pip (or set NMP_STUDIO_PYTHON)"
            pip_python="$cache/venv/bin/python"
        fi
        # The wheel is pure Python (py3-none-any); --python-version lets any interpreter fetch it.
        "$pip_python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.12 --dest "$download" "nemo-platform==$version" \
            || die "pip could not download nemo-platform==$version"
    fi
    [[ -f "$download/$wheel" ]] || die "pip did not produce $download/$wheel"
    echo "$digest  $download/$wheel" | sha256sum --check --status \
        || die "$download/$wheel does not have the recorded sha256 $digest"
    rm -rf "$target"
    mkdir -p "$target"
    "$python" - "$download/$wheel" "$target/static" <<'PY' || die "cannot extract nmp/studio/static from $wheel"
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "nmp/studio/static/"
count = 0
with zipfile.ZipFile(wheel) as archive:
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = pathlib.PurePosixPath(info.filename[len(prefix):])
        if relative.is_absolute() or ".." in relative.parts:
            sys.exit(f"unsafe path in the wheel: {info.filename}")
        destination = out.joinpath(*relative.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(archive.read(info))
        count += 1
if count == 0 or not (out / "index.html").is_file():
    sys.exit("the wheel has no nmp/studio/static/index.html")
print(f"official-bundle: extracted {count} files", file=sys.stderr)
PY
    touch "$target/.complete"
fi
echo "$target/static"
