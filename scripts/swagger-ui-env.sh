#!/usr/bin/env bash
# What clients/swagger-ui/try_it_out.mjs needs: Debian's Chromium (installed with apt-get only
# when /usr/bin/chromium is absent; Playwright cannot download its own browsers here) and the
# pinned playwright-core (clients/swagger-ui/package.json + package-lock.json), installed once
# into ${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}/swagger-ui-<version>-<lock>.
#
# Usage: NODE_PATH="$(scripts/swagger-ui-env.sh)" node clients/swagger-ui/try_it_out.mjs
# Only stdout carries the node_modules folder to use as NODE_PATH; progress goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/clients/swagger-ui"

if [ ! -x /usr/bin/chromium ]; then
    echo "swagger-ui-env: installing chromium (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium >&2
fi

CACHE="${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}"
VERSION="$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$SRC/package.json")"
LOCK_SUM="$(sha256sum "$SRC/package-lock.json" | cut -c1-12)"
TOOLS="$CACHE/swagger-ui-playwright-core-$VERSION-$LOCK_SUM"

if ! cmp -s "$SRC/package-lock.json" "$TOOLS/package-lock.json" 2>/dev/null \
    || [ ! -f "$TOOLS/node_modules/playwright-core/package.json" ]; then
    echo "swagger-ui-env: installing playwright-core@$VERSION into $TOOLS" >&2
    mkdir -p "$CACHE"
    tmp="$(mktemp -d "$CACHE/.swagger-ui.XXXXXX")"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$TOOLS"
    mv "$tmp" "$TOOLS"
fi
echo "$TOOLS/node_modules"
