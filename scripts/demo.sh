#!/usr/bin/env bash
# End-to-end demo: a real local LLM behind the AI Hub gateway.
#
#   1. starts the local SmolLM2 server (scripts/local-llm.sh start) unless it runs
#   2. starts the gateway (`cargo run -p aihub-server -- serve`) on port 8080
#      with a throw-away data dir (SQLite)
#   3. registers the first user (who becomes admin), adds the local LLM as an
#      organization-wide OpenAI-compatible provider, opens a conversation,
#      streams a reply over SSE and shows the stored messages with their
#      token counts and cost
#   4. stops the gateway, and the LLM if this script started it
#
# Needs curl and python3 (used for JSON; jq is not required).
# Environment: AIHUB_DEMO_PORT (default 8080), AIHUB_LLM_PORT (default 8089).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PORT="${AIHUB_DEMO_PORT:-8080}"
API="http://127.0.0.1:$PORT"
MODEL="smollm2-135m"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"

DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/aihub-demo.XXXXXX")"
GATEWAY_LOG="$DATA_DIR/gateway.log"
GATEWAY_PID=""
STARTED_LLM=0

cleanup() {
  local rc=$?
  if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    echo "demo: stopping the gateway (pid $GATEWAY_PID)" >&2
    # The gateway runs in its own process group (setsid): end the whole group.
    kill -TERM -- "-$GATEWAY_PID" 2>/dev/null || kill -TERM "$GATEWAY_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$GATEWAY_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$GATEWAY_PID" 2>/dev/null || true
  fi
  if [ "$STARTED_LLM" = 1 ]; then
    echo "demo: stopping the local LLM" >&2
    scripts/local-llm.sh stop || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$GATEWAY_LOG" ]; then
    echo "demo: last lines of the gateway log:" >&2
    tail -n 30 "$GATEWAY_LOG" >&2 || true
  fi
  rm -rf "$DATA_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# json_get KEY: read JSON on stdin, print the value of KEY (dotted path, e.g.
# data.id); a plain KEY not at the top level is searched for depth-first.
json_get() {
  python3 -c '
import json, sys
doc = json.load(sys.stdin)
path = sys.argv[1].split(".")

def walk(node, parts):
    for part in parts:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node

def find(node, key):
    if isinstance(node, dict):
        if key in node:
            return node[key]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find(child, key)
        if found is not None:
            return found
    return None

try:
    value = walk(doc, path)
except (KeyError, IndexError, ValueError, TypeError):
    value = find(doc, path[-1]) if len(path) == 1 else None
if value is None:
    sys.exit("no %r in: %s" % (sys.argv[1], json.dumps(doc)[:500]))
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

pretty() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), indent=2))'; }

# api METHOD PATH [JSON-BODY]: call the gateway, print the response body,
# fail on a non-2xx status.
api() {
  local method=$1 path=$2 body=${3:-} out status
  local args=(-sS -X "$method" -H 'Accept: application/json' -w '\n%{http_code}')
  [ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  out="$(curl "${args[@]}" "$API$path")" || die "$method $path: curl failed"
  status="${out##*$'\n'}"
  out="${out%$'\n'*}"
  if [[ "$status" != 2?? ]]; then
    printf '%s\n' "$out" >&2
    die "$method $path returned HTTP $status"
  fi
  printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------
step "Local LLM"
if scripts/local-llm.sh status >/dev/null 2>&1; then
  echo "already running"
else
  STARTED_LLM=1
fi
LLM_URL="$(scripts/local-llm.sh start)"
echo "OpenAI-compatible endpoint: $LLM_URL"

step "Gateway on $API (data dir $DATA_DIR)"
if curl -s -o /dev/null -m 2 "$API/health"; then
  die "something already listens on port $PORT; set AIHUB_DEMO_PORT"
fi
echo "building aihub-server..."
cargo build -q -p aihub-server
# A throw-away instance: SQLite in the temp data dir, no Redis, fresh secret.
SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
env -u DATABASE_URL -u REDIS_URL \
  AIHUB_HOST=127.0.0.1 AIHUB_PORT="$PORT" AIHUB_DATA_DIR="$DATA_DIR" \
  AIHUB_SECRET_KEY="$SECRET_KEY" AIHUB_LOG="${AIHUB_LOG:-info}" \
  setsid cargo run -q -p aihub-server -- serve </dev/null >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
for i in $(seq 1 120); do
  if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$API/health" || true)" = 200 ]; then
    break
  fi
  kill -0 "$GATEWAY_PID" 2>/dev/null || die "the gateway exited"
  [ "$i" = 120 ] && die "the gateway is not healthy after 60s"
  sleep 0.5
done
echo "GET /health: $(curl -s "$API/health")"

step "Register the first user (becomes admin)"
REGISTER='{"username":"demo","email":"demo@example.com","password":"Demo-passw0rd!","confirm_password":"Demo-passw0rd!"}'
RESP="$(api POST /api/v1/auth/register "$REGISTER")"
TOKEN="$(json_get access_token <<<"$RESP")"
echo "access_token: ${TOKEN:0:24}..."

step "Add the local LLM as an organization-wide provider"
PROVIDER="$(
  python3 -c 'import json, sys; print(json.dumps({
    "name": "Local SmolLM2", "kind": "openai_compatible", "scope": "organization",
    "base_url": sys.argv[1], "config": {"default_model": sys.argv[2]}}))' "$LLM_URL" "$MODEL"
)"
RESP="$(api POST /api/v1/providers "$PROVIDER")"
pretty <<<"$RESP"
PROVIDER_ID="$(json_get id <<<"$RESP")"

step "Open a conversation"
CONVERSATION="$(
  python3 -c 'import json, sys; print(json.dumps({
    "title": "Demo", "provider_id": int(sys.argv[1]), "model": sys.argv[2],
    "max_tokens": 48, "temperature": 0}))' "$PROVIDER_ID" "$MODEL"
)"
RESP="$(api POST /api/v1/conversations "$CONVERSATION")"
pretty <<<"$RESP"
CONVERSATION_ID="$(json_get id <<<"$RESP")"

step "Stream a reply (server-sent events)"
curl -sS -N --fail-with-body -X POST \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Accept: text/event-stream' \
  --data '{"content":"Say hello in five words."}' \
  "$API/api/v1/conversations/$CONVERSATION_ID/stream"
echo

step "The stored conversation"
RESP="$(api GET "/api/v1/conversations/$CONVERSATION_ID")"
pretty <<<"$RESP"

step "Assistant message usage (tokens and cost)"
# GET /api/v1/usage is not built yet; read the numbers off the messages.
python3 -c '
import json, sys
doc = json.load(sys.stdin)

def messages(node):
    if isinstance(node, dict):
        if isinstance(node.get("messages"), list):
            return node["messages"]
        for child in node.values():
            found = messages(child)
            if found is not None:
                return found
    return None

msgs = messages(doc) or []
shown = 0
for m in msgs:
    if m.get("role") != "assistant":
        continue
    shown += 1
    print("assistant:", json.dumps(m.get("content")))
    for key, value in m.items():
        if any(word in key for word in ("token", "cost", "usage", "model")):
            print("  %s: %s" % (key, json.dumps(value)))
if not shown:
    sys.exit("no assistant message in the conversation")
' <<<"$RESP"

step "Done"
