#!/usr/bin/env bash
# Generates the TypeScript client from AI Hub's OpenAPI document, type-checks it together with
# the hand-written files in clients/typescript/ (strict), and compiles everything for Node.
#
# Usage: dir=$(scripts/sdk-typescript.sh [openapi.json | http://host/openapi.json])
#        node --test "$dir"/*.test.js            # the streaming helper's unit tests (offline)
#        AIHUB_BASE_URL=… AIHUB_UPSTREAM_URL=… AIHUB_MODEL=… node "$dir/e2e_check.js"
#
# The pinned tools (clients/typescript/package.json + package-lock.json: @hey-api/openapi-ts,
# typescript, @types/node, eventsource-parser) are installed once into
# ${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}/ts-tools-<versions>, again only
# when the lock file changes. Output (gitignored): sdk/typescript/ (generated client),
# sdk/typescript-build/ (compiled JS). Only stdout carries the directory of the compiled
# checks; progress goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/clients/typescript"
SPEC="${1:-$REPO/openapi/openapi.json}"
case "$SPEC" in
    http://* | https://*) ;;
    *) SPEC="$(cd "$(dirname "$SPEC")" && pwd)/$(basename "$SPEC")" ;;
esac

CACHE="${AIHUB_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/sdk}"
VERSIONS="$(node -e '
    const d = require(process.argv[1]).dependencies;
    console.log(Object.entries(d).map(([n, v]) => n.replace(/^@/, "").replace("/", "-") + "-" + v).join("_"));
' "$SRC/package.json")"
LOCK_SUM="$(sha256sum "$SRC/package-lock.json" | cut -c1-12)"
TOOLS="$CACHE/ts-tools-$VERSIONS-$LOCK_SUM"

if ! cmp -s "$SRC/package-lock.json" "$TOOLS/package-lock.json" 2>/dev/null \
    || [ ! -x "$TOOLS/node_modules/.bin/tsc" ] || [ ! -x "$TOOLS/node_modules/.bin/openapi-ts" ]; then
    echo "sdk-typescript: installing $VERSIONS into $TOOLS" >&2
    mkdir -p "$CACHE"
    tmp="$(mktemp -d "$CACHE/.ts-tools.XXXXXX")"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$TOOLS"
    mv "$tmp" "$TOOLS"
fi

OUT="$REPO/sdk/typescript"
BUILD="$REPO/sdk/typescript-build"
echo "sdk-typescript: generating $OUT from $SPEC" >&2
rm -rf "$OUT" "$BUILD"
mkdir -p "$REPO/sdk"
# The generated and compiled files are ES modules; tsconfig.json finds the tools' types
# through this link, and Node finds eventsource-parser through it at run time.
echo '{"type": "module", "private": true}' >"$REPO/sdk/package.json"
ln -sfn "$TOOLS/node_modules" "$REPO/sdk/node_modules"
(cd "$SRC" && AIHUB_OPENAPI_INPUT="$SPEC" AIHUB_SDK_OUTPUT="$OUT" \
    "$TOOLS/node_modules/.bin/openapi-ts" -f "$SRC/openapi-ts.config.mjs" >&2)

echo "sdk-typescript: type-checking (tsc --noEmit, strict)" >&2
"$TOOLS/node_modules/.bin/tsc" -p "$SRC/tsconfig.json" --noEmit >&2
echo "sdk-typescript: compiling to $BUILD" >&2
"$TOOLS/node_modules/.bin/tsc" -p "$SRC/tsconfig.json" >&2

echo "$BUILD/clients/typescript"
