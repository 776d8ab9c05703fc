#!/usr/bin/env bash
# A virtualenv holding the official OpenAI Python SDK, for the compatibility test
# (crates/aihub-server/tests/it/sdk.rs runs scripts/openai_sdk_check.py with it).
#
# Usage: python=$(scripts/sdk-env.sh)   # creates/refreshes the venv, prints its python
#
# Environment: AIHUB_SDK_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/aihub/openai-sdk).
# Only stdout carries the interpreter path; progress goes to stderr.
set -euo pipefail

OPENAI_VERSION="2.54.0"
CACHE="${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/openai-sdk}"
VENV="$CACHE/venv-$OPENAI_VERSION"
PY="$VENV/bin/python"

if ! "$PY" -c "import openai, sys; sys.exit(openai.__version__ != '$OPENAI_VERSION')" 2>/dev/null; then
    echo "sdk-env: installing openai==$OPENAI_VERSION into $VENV" >&2
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "openai==$OPENAI_VERSION" >&2
fi
echo "$PY"
