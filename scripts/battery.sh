#!/usr/bin/env bash
# The reliability and security battery (docs/QUALITY.md), on SQLite and PostgreSQL:
#   R1  schemathesis against the served /openapi.json, as a user, an admin and a developer
#       key (scripts/battery/schemathesis.sh), on a fresh server per database;
#   S1/S2, S4, S5, S7, R2/R5, R7, contention, bad text: their integration tests
#       (crates/aihub-server/tests/it/), which print their figures;
#   fuzzing: the property-based fuzz targets (`fuzz` in the test names), with PROPTEST_CASES
#       cases each.
# Ends with a table: bar, figure, holds; exits 1 when a bar fails.
#
# Usage: scripts/battery.sh [--ci]
#   default (`just battery`): 50 examples per operation, 20,000 fuzz cases per target
#   --ci: 10 examples per operation, 1,000 fuzz cases (what .ci/run runs)
# Environment: AIHUB_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test; its server
# hosts a fresh database per run), CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXAMPLES=50
FUZZ_CASES=20000
if [ "${1:-}" = "--ci" ]; then
    EXAMPLES=10
    FUZZ_CASES=1000
fi
PG_URL="${AIHUB_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
PG_SERVER="${PG_URL%/*}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aihub-battery.XXXXXX")"
PIDS=()
RESULTS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ -n "${PG_DB:-}" ]; then
        psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

result() { # result BAR FIGURE HOLDS
    RESULTS+=("$(printf '%-34s %-60s %s' "$1" "$2" "$3")")
}

echo "== building the server and the fake upstream"
cargo build -q -p aihub-server -p aihub-bench --bins

# R1 on one database: a fresh server (and database) in front of the fake upstream.
fuzz_api() { # fuzz_api NAME [DATABASE_URL]
    local name=$1 url=${2:-} port up_port dir rc=0
    port="$(free_port)"
    up_port="$(free_port)"
    dir="$WORK/$name"
    mkdir -p "$dir"
    "$TARGET/debug/bench-upstream" --port "$up_port" >"$dir/upstream.log" 2>&1 &
    PIDS+=($!)
    env ${url:+DATABASE_URL="$url"} AIHUB_DATA_DIR="$dir" AIHUB_PORT="$port" AIHUB_LOG=warn \
        AIHUB_BCRYPT_COST=4 "$TARGET/debug/aihub" serve >"$dir/server.log" 2>&1 &
    PIDS+=($!)
    AIHUB_UPSTREAM_URL="http://127.0.0.1:$up_port/v1" \
        scripts/battery/schemathesis.sh "http://127.0.0.1:$port" "$EXAMPLES" | tee "$dir/r1.txt" || rc=$?
    local line bar figure holds
    while IFS= read -r line; do
        # `R1 <bar>: <figure> (holds|FAILS)`
        bar="${line%%:*}"
        figure="${line#*: }"
        holds="${figure##*(}"
        figure="${figure% (*}"
        result "$bar ($name)" "$figure" "${holds%)}"
    done < <(grep -E '^R1 [^:]+: ' "$dir/r1.txt")
    [ "$rc" -eq 0 ] || echo "battery: R1 on $name failed (exit $rc); server log: $dir/server.log"
    return "$rc"
}

status=0
echo
echo "== R1 on SQLite"
fuzz_api sqlite || status=1
echo
echo "== R1 on PostgreSQL"
PG_DB="aihub_battery_$$"
psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
fuzz_api postgres "$PG_SERVER/$PG_DB" || status=1

# The bars proven by integration tests (each runs on both databases).
tests_bar() { # tests_bar BAR FIGURE FILTER...
    local bar=$1 figure=$2
    shift 2
    local log
    log="$WORK/tests-$(printf '%s' "$bar" | tr -c 'A-Za-z0-9' _).log"
    if PROPTEST_CASES="$FUZZ_CASES" cargo test -q -p aihub-server --test it -- "$@" >"$log" 2>&1; then
        result "$bar" "$figure" holds
    else
        result "$bar" "$figure" FAILS
        grep -E "panicked|FAILED|error" "$log" | head -n 5 || true
        status=1
    fi
}
echo
echo "== integration tests"
tests_bar "S1/S2 routes, roles, IDOR" "71 routes x 4 callers, 31 id routes, both databases" route_policy
tests_bar "S4 secrets" "4 canaries vs trace log, responses, db dump" secrets
tests_bar "S5 SSRF" "save, connect time, redirects: 0 canary connections" providers::personal_base_urls providers::organization_scope providers::connect_time providers::redirects
tests_bar "S7 authentication first" "250 bad-credential requests with bad bodies: all 401" auth_first
tests_bar "R2/R5 faults, usage once" "9 entry points x 4 outcomes, one usage record each" engine
tests_bar "R7 SIGTERM under load" "8 streams: drain 503, all complete, 8 records, exit 0" binary
tests_bar "Contention (SQLite locks)" "8 writers x 40 mixed writes: no 5xx" contention
tests_bar "Bad text (NUL, arrays)" "NUL in body/query/form, arrays as bodies: 422" text_input
echo
echo "== fuzz targets ($FUZZ_CASES cases each)"
if PROPTEST_CASES="$FUZZ_CASES" cargo test -q --workspace fuzz >"$WORK/fuzz.log" 2>&1; then
    n="$(grep -E '^test result' "$WORK/fuzz.log" | awk '{s += $4} END {print s + 0}')"
    if [ "$n" -gt 0 ]; then
        result "Fuzzing (proptest)" "$n fuzz tests x $FUZZ_CASES cases, 0 failures" holds
    else
        result "Fuzzing (proptest)" "no fuzz target ran" FAILS
        status=1
    fi
else
    result "Fuzzing (proptest)" "see failures above" FAILS
    grep -E "panicked|FAILED|minimal failing" "$WORK/fuzz.log" | head -n 10 || true
    status=1
fi

echo
echo "== battery"
printf '%-34s %-60s %s\n' "bar" "figure" "holds"
for line in "${RESULTS[@]}"; do
    echo "$line"
done
exit "$status"
