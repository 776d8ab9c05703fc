#!/usr/bin/env bash
# Generates the Python client of AI Hub's API into sdk/python (package `aihub_client`) with
# openapi-python-client, installs it with the streaming helper (clients/python/aihub_stream.py)
# into a virtualenv, and prints that venv's python.
#
# Usage: python=$(scripts/sdk-python.sh [openapi.json path or http(s) URL])
#        (default: openapi/openapi.json; a running server serves its live one at /openapi.json)
#   then: "$python" -m pytest clients/python          # the helper's offline unit tests
#         "$python" clients/python/e2e_check.py       # against a running server (see its doc)
#
# Environment: AIHUB_SDK_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk) holds two
# venvs, each (re)built only when its pinned versions change: python-venv-<generator version>
# runs the generator, client-venv-<hash of the pins> runs the client. Only stdout carries the
# interpreter path; progress goes to stderr.
set -euo pipefail

GENERATOR_VERSION="0.29.1"
# What the generated package and the helper need at run time, plus the build backend of the
# generated pyproject (poetry-core, used without build isolation) and pytest for the tests.
CLIENT_PINS=(httpx==0.28.1 attrs==26.1.0 httpx-sse==0.4.3 poetry-core==2.5.0 pytest==9.2.0)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPEC="${1:-$ROOT/openapi/openapi.json}"
CONFIG="$ROOT/clients/python/openapi-python-client.yaml"
OUT="$ROOT/sdk/python"
CACHE="${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}"
PIP_FLAGS=(--quiet --disable-pip-version-check)

log() { echo "sdk-python: $*" >&2; }

# 1. The generator's venv.
GEN_VENV="$CACHE/python-venv-$GENERATOR_VERSION"
if ! "$GEN_VENV/bin/openapi-python-client" --version 2>/dev/null | grep -qx "openapi-python-client version: $GENERATOR_VERSION"; then
    log "installing openapi-python-client==$GENERATOR_VERSION into $GEN_VENV"
    rm -rf "$GEN_VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$GEN_VENV"
    "$GEN_VENV/bin/pip" install "${PIP_FLAGS[@]}" "openapi-python-client==$GENERATOR_VERSION" >&2
fi

# 2. Generate. Warnings are errors: a document the generator only half understands must not
#    pass unnoticed. The post hooks (ruff) come from the generator's venv.
case "$SPEC" in
    http://* | https://*) SOURCE=(--url "$SPEC") ;;
    *) SOURCE=(--path "$(cd "$(dirname "$SPEC")" && pwd)/$(basename "$SPEC")") ;;
esac
log "generating $OUT from $SPEC"
rm -rf "$OUT"
mkdir -p "$ROOT/sdk"
(
    cd "$ROOT/sdk"
    PATH="$GEN_VENV/bin:$PATH" openapi-python-client generate "${SOURCE[@]}" \
        --config "$CONFIG" --meta poetry --output-path "$OUT" --fail-on-warning >&2
)

# 3. The client's venv: pinned dependencies once, then the freshly generated package on every
#    run (no deps, no build isolation: nothing is fetched) and the helper's folder on the path.
PINS_HASH="$(printf '%s\n' "${CLIENT_PINS[@]}" | sha256sum | cut -c1-12)"
VENV="$CACHE/client-venv-$PINS_HASH"
PY="$VENV/bin/python"
if [ ! -f "$VENV/.pins-ok" ]; then
    log "creating $VENV (${CLIENT_PINS[*]})"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install "${PIP_FLAGS[@]}" "${CLIENT_PINS[@]}" >&2
    touch "$VENV/.pins-ok"
fi
log "installing $OUT into $VENV"
"$VENV/bin/pip" install "${PIP_FLAGS[@]}" --no-deps --no-build-isolation --force-reinstall "$OUT" >&2
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT/clients/python" > "$SITE/aihub_stream.pth"
"$PY" -c 'import aihub_client, aihub_stream' >&2
echo "$PY"
