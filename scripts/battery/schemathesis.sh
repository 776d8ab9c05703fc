#!/usr/bin/env bash
# Reliability battery, API fuzzing (R1): schemathesis against a REAL running AI Hub server,
# driven by the server's own `GET /openapi.json`.
#
# Usage: AIHUB_UPSTREAM_URL=http://127.0.0.1:PORT/v1 \
#            scripts/battery/schemathesis.sh BASE_URL [MAX_EXAMPLES]
#
#   BASE_URL      the server, e.g. http://127.0.0.1:18431. It must be FRESH (empty database):
#                 the first account registered becomes the admin, and this script registers it.
#   MAX_EXAMPLES  schemathesis --max-examples per operation (default 10, as in CI;
#                 `just battery` passes 50).
#   AIHUB_UPSTREAM_URL  an OpenAI-compatible base URL ending in /v1 on loopback, e.g.
#                 `bench-upstream --port N` -> http://127.0.0.1:N/v1 (required).
#
# Optional environment:
#   AIHUB_BATTERY_SEED=20251207    fixed --seed (the runs are reproducible for one seed)
#   AIHUB_BATTERY_WORKERS=2        schemathesis --workers
#   AIHUB_BATTERY_STATEFUL=1       add the stateful phase (off by default: the document has no
#                                  OpenAPI links, so it only chains the POST -> GET/DELETE pairs
#                                  schemathesis infers, and the pinned `{id}`s defeat those: its
#                                  ensure_resource_availability then reports DELETE of a just-
#                                  created resource as 404, which is the pin, not the server)
#   AIHUB_BATTERY_REPORT_DIR=DIR   where the NDJSON reports, schemathesis logs and per-run
#                                  summaries go (default: a new directory under /tmp, printed)
#   AIHUB_BATTERY_RUN_TIMEOUT=900  seconds after which one schemathesis run is stopped
#   AIHUB_BATTERY_VERBOSE=1        print a curl reproduction for informational failures too
#
# The report directory is private (0700): state.json and the schemathesis logs hold the
# seeded sessions (--output-sanitize false, or bodies with `*_tokens` fields are masked and the
# reproductions are wrong). They are a throwaway server's and expire within 30 minutes.
#
# schemathesis (PyPI, pinned below) is installed once into
# ${XDG_CACHE_HOME:-~/.cache}/aihub/battery/venv-<version>, again only when the pin changes.
#
# What it does
#   1. Seeds the server through its HTTP API (scripts/battery/schemathesis_battery.py seed):
#      registers battery-admin (first account: admin) and battery-user, logs both in (plus one
#      throwaway session each, for POST /auth/logout), creates three organization providers of
#      kind openai_compatible on AIHUB_UPSTREAM_URL (one serves chat, one is the fuzzed `{id}`,
#      one is the DELETE victim), and for each user a category, prompt, conversation, model
#      preference and API key, twice (one is the `{id}` the operations are pinned to, the other
#      the one DELETE is pinned to), and the admin's developer API key for /v1.
#   2. Runs schemathesis three times, each over every operation of its part of the document:
#        user   ordinary user, Bearer JWT, every /api/v1/* operation
#        key    developer API key (the admin's: organization providers reach an ordinary user
#               only through a grant, which no endpoint creates), /v1/* and /health*
#        admin  admin, Bearer JWT, every /api/v1/* operation (last: it may reconfigure
#               providers)
#      with a fixed --seed, --max-examples MAX_EXAMPLES, --workers 2, phases examples, coverage
#      and fuzzing (coverage = schemathesis' boundary and negative values per parameter).
#   3. Prints per run: operations tested, requests sent, failing cases per check, and the
#      failures deduplicated by (check, operation, status, error code/param) with a curl
#      reproduction ($TOKEN is the run's credential); then one `R1 <bar>: <n> (holds|FAILS)`
#      line per bar, and exits 1 when a bar fails.
#
# Checks: `--checks all`, split into bars and information.
#   Bars (any failure fails the battery):
#     not_a_server_error            R1 server errors: no 5xx (502/504 included: the upstream is
#                                   a healthy fake, so a 502 is the gateway's own fault)
#     status_code_conformance       R1 undocumented status codes (a 5xx is counted once, as a
#                                   server error)
#     response_schema_conformance   R1 response-schema violations
#     content_type_conformance      R1 content-type mismatches
#     response_headers_conformance  R1 response-header violations (documented headers)
#     ignored_auth                  R1 auth bypasses: an operation that declares security
#                                   answers a request without / with a wrong credential
#   plus "runs completed without errors": a run that stops early or times out, a connection
#   error (the server died or hung), or an operation schemathesis could not test at all.
#   Information (printed, counted, never failing; each entry names the param the server refused):
#     positive_data_acceptance   schema-valid request refused (422): a constraint the server
#                                enforces that the document states only in prose (lengths,
#                                ranges, `#RRGGBB`, templates...) -> the document should say it
#                                in the schema (minLength/maximum/pattern) where it can.
#     negative_data_rejection    schema-violating request accepted (2xx): the server is more
#                                lenient than the document (e.g. a JSON array taken as an
#                                object by serde, a value past a documented bound).
#     unsupported_method         a method the document does not list answers 404, not 405.
#     missing_required_header, allow_header_conformance, max_response_time (10 s under
#     `--checks all`): as schemathesis defines them.
#   use_after_free, ensure_resource_availability: stateful phase only.
#
# Excluded or pinned, and why
#   * Path `{id}`s of /api/v1/* are pinned (generated per run by `schemathesis_battery.py
#     config`) to the seeded resources of the run's user, so the handlers' real code runs
#     instead of 404s; DELETE .../{id} is pinned to the second ("del") resource, so deleting
#     does not take the others' target away. Providers are the admin's organization ones (for
#     the ordinary user they are someone else's: 403/404 expected).
#   * POST /api/v1/auth/logout is sent with the throwaway session (it revokes the session it
#     is sent with); its first call answers 200, later ones 401 (documented).
#   * Hooks (scripts/battery/schemathesis_hooks.py) keep `base_url` of fuzzed providers on the
#     fake upstream (no call may leave loopback; a new provider without `scope` is made an
#     organization one, the only scope a loopback URL is allowed in, so the ordinary user's
#     creations answer 403 and personal providers are not created), strip the seeded conversations from
#     bulk-delete, send about half the `model`s as one the fake upstream serves, and give about
#     half the /v1 bodies with an empty `messages`/`input` one turn, so the proxy path is
#     reached at all.
#   * --continue-on-failure: without it schemathesis leaves an operation at its first failure,
#     and the informational checks fail at once on most operations (a few requests each).
#   * --generation-database none: no .hypothesis/ directory, and a run depends on the seed only.
#   * Rate limits: /auth/login and /auth/token answer 429 after repeated failures (documented).
#     All sessions are opened during seeding, before any fuzzing; access tokens live 30
#     minutes and a session older than half that is refreshed between runs.
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"

usage() {
    sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
BASE_URL="${1%/}"
MAX_EXAMPLES="${2:-10}"
: "${AIHUB_UPSTREAM_URL:?set AIHUB_UPSTREAM_URL to the fake upstream base URL (ending in /v1)}"
SEED="${AIHUB_BATTERY_SEED:-20251207}"
WORKERS="${AIHUB_BATTERY_WORKERS:-2}"
RUN_TIMEOUT="${AIHUB_BATTERY_RUN_TIMEOUT:-900}"
PHASES="examples,coverage,fuzzing"
[ "${AIHUB_BATTERY_STATEFUL:-0}" = 1 ] && PHASES="$PHASES,stateful"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELPER="$HERE/schemathesis_battery.py"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/aihub/battery"
VENV="$CACHE/venv-$SCHEMATHESIS_VERSION"

# A Python >= 3.12 when there is one: on 3.11 (3.11.7 here), hypothesis' `ast.parse` in a worker
# thread trips CPython's "AST constructor recursion depth mismatch" SystemError (gh-106905) and
# an operation's scenario errors out. AIHUB_BATTERY_PYTHON overrides the choice.
pick_python() {
    local c
    if [ -n "${AIHUB_BATTERY_PYTHON:-}" ]; then
        echo "$AIHUB_BATTERY_PYTHON"
        return
    fi
    for c in python3.13 python3.12 \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
        if "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "$c"
            return
        fi
    done
    echo python3
}
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    PYTHON="$(pick_python)"
    echo "battery: installing schemathesis==$SCHEMATHESIS_VERSION into $VENV ($("$PYTHON" --version))" >&2
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
PY="$VENV/bin/python"

OUT="${AIHUB_BATTERY_REPORT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/aihub-battery-schemathesis.XXXXXX")}"
mkdir -p "$OUT"
chmod 700 "$OUT"   # state.json holds the seeded sessions
STARTED=$SECONDS

curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "$BASE_URL/health" >/dev/null
curl -fsS "$BASE_URL/openapi.json" -o "$OUT/openapi.json"
curl -fsS "${AIHUB_UPSTREAM_URL%/}/models" >/dev/null ||
    { echo "battery: fake upstream $AIHUB_UPSTREAM_URL does not answer GET /models" >&2; exit 2; }

echo "== schemathesis $SCHEMATHESIS_VERSION against $BASE_URL (max-examples $MAX_EXAMPLES, seed $SEED, workers $WORKERS, phases $PHASES)"
"$PY" "$HELPER" seed "$BASE_URL" "${AIHUB_UPSTREAM_URL%/}" "$OUT/state.json"

summaries=()
run() {
    local name="$1" regex="$2" what="$3"
    "$PY" "$HELPER" config "$OUT/state.json" "$name" "$OUT/openapi.json" "$OUT/$name.toml"
    echo
    echo "== run $name: $what"
    local rc=0
    (
        eval "$("$PY" "$HELPER" env "$OUT/state.json" "$name")"
        cd "$OUT"
        export PYTHONDONTWRITEBYTECODE=1 SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
        exec timeout --signal=INT --kill-after=30 "$RUN_TIMEOUT" \
            "$VENV/bin/schemathesis" --config-file "$OUT/$name.toml" run "$BASE_URL/openapi.json" \
            --include-path-regex "$regex" \
            --checks all \
            --continue-on-failure \
            --phases "$PHASES" \
            --max-examples "$MAX_EXAMPLES" \
            --seed "$SEED" \
            --workers "$WORKERS" \
            --generation-database none \
            --suppress-health-check filter_too_much,too_slow \
            --request-timeout 30 \
            --report ndjson --report-ndjson-path "$OUT/$name.ndjson" \
            --output-sanitize false \
            --no-color
    ) >"$OUT/$name.log" 2>&1 || rc=$?
    # Exit 1 only says some check failed (informational ones too); the summary decides.
    if [ "$rc" -gt 1 ]; then
        echo "[$name] schemathesis exited $rc; last lines of $OUT/$name.log:"
        tail -n 15 "$OUT/$name.log" | sed "s/^/[$name]   /"
    fi
    if [ -s "$OUT/$name.ndjson" ]; then
        "$PY" "$HELPER" summarize "$name" "$OUT/$name.ndjson" "$OUT/$name.summary.json"
    else
        printf '{"run":"%s","completed":false,"per_check":{},"errors":["no report"],"groups":[]}\n' \
            "$name" >"$OUT/$name.summary.json"
        echo "[$name] no report written"
    fi
    summaries+=("$OUT/$name.summary.json")
}

run user '^/api/v1/' "ordinary user (Bearer JWT), /api/v1/*"
run key '^/(v1/|health)' "developer API key, /v1/* and /health*"
run admin '^/api/v1/' "admin (Bearer JWT), /api/v1/*"

echo
echo "== R1 API fuzzing: $((SECONDS - STARTED))s; reports, logs and summaries in $OUT"
rc=0
"$PY" "$HELPER" verdict "${summaries[@]}" || rc=$?
exit "$rc"
