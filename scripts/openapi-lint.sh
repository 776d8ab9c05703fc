#!/usr/bin/env bash
# Validates and lints an OpenAPI document the way CI does: openapi-spec-validator (the
# OpenAPI 3.1 schema and its rules) and Redocly CLI's recommended ruleset (errors fail,
# warnings are printed).
#
# Usage: scripts/openapi-lint.sh [DOCUMENT]   # a path or an http(s) URL; default
#                                             # openapi/openapi.json
#
# The pinned tools are installed once into ${AIHUB_SDK_CACHE:-~/.cache/aihub/sdk}.
set -euo pipefail

SPEC_VALIDATOR_VERSION="0.9.0"
REDOCLY_VERSION="2.77.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}"
DOC="${1:-$ROOT/openapi/openapi.json}"

VENV="$CACHE/lint-venv-$SPEC_VALIDATOR_VERSION"
if ! "$VENV/bin/openapi-spec-validator" --help >/dev/null 2>&1; then
    echo "openapi-lint: installing openapi-spec-validator==$SPEC_VALIDATOR_VERSION" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "openapi-spec-validator==$SPEC_VALIDATOR_VERSION" >&2
fi
NODE_DIR="$CACHE/redocly-$REDOCLY_VERSION"
if [ ! -x "$NODE_DIR/node_modules/.bin/redocly" ]; then
    echo "openapi-lint: installing @redocly/cli@$REDOCLY_VERSION" >&2
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --silent --no-audit --no-fund \
        "@redocly/cli@$REDOCLY_VERSION" >&2
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
case "$DOC" in
http://* | https://*) curl -fsS "$DOC" -o "$WORK/openapi.json" ;;
*) cp "$DOC" "$WORK/openapi.json" ;;
esac

echo "openapi-spec-validator $DOC"
"$VENV/bin/openapi-spec-validator" --schema 3.1 "$WORK/openapi.json"
echo "redocly lint $DOC"
# Redocly prints a banner about Node.js versions on every run; the verdict is its exit code.
"$NODE_DIR/node_modules/.bin/redocly" lint "$WORK/openapi.json" --format=summary
