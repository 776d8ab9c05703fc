#!/usr/bin/env bash
# AI Hub gateway overhead benchmark: what the gateway adds in front of an upstream, against
# calling that upstream directly. `just bench` runs it.
#
# What it does, in one run:
#   1. installs `wrk` (Debian package) when missing; builds release `aihub` and the
#      `aihub-bench` tools (`bench-upstream`, `bench-ttfb`);
#   2. starts `bench-upstream`, a fast fake OpenAI upstream (431-byte `chat.completion`, or a
#      9-event SSE stream), pinned to the load core, and the gateway pinned to the gateway core
#      with one HTTP worker, a fresh SQLite data dir, AIHUB_LOG=warn and bcrypt cost 4;
#   3. registers an admin, creates an organization `openai_compatible` provider "Bench" for
#      the upstream and a developer API key WITH a rate limit (100,000,000 requests/minute:
#      the limiter runs on every request but never trips);
#   4. for non-streaming (wrk, HTTP/1.1 keep-alive) and streaming (bench-ttfb: time to first
#      `data:` event and to the end of the stream) and each connection count, measures the
#      upstream DIRECTLY, then AI Hub in front of it (same body, `model: bench/bench-model`,
#      `Authorization: Bearer sk-aihub-...`), each after a short warm-up, load generators pinned
#      to the load core; records the gateway's RSS (VmRSS) and CPU time (utime+stime) around
#      each run;
#   5. stops the gateway with SIGTERM (the usage writer flushes), counts the usage rows in its
#      SQLite file (python3's sqlite3 module) against the requests the load tools reported;
#   6. prints a table and writes docs/BENCHMARKS.md.
#
# Environment (all optional):
#   DURATION=10         seconds per measured run
#   WARMUP=2            seconds of warm-up before each measured run (not measured)
#   CONNECTIONS="1 16 64"
#   GATEWAY_CORE=0      CPU the gateway is pinned to
#   LOAD_CORE=1         CPU the upstream and the load generators are pinned to
#   UPSTREAM_PORT=9101  GATEWAY_PORT=9102
#   OUT=docs/BENCHMARKS.md   where the report goes ("-" : print only)
#   SKIP_BUILD=1        use the release binaries already built
#   KEEP_WORKDIR=1      keep the temp dir (gateway log, data dir, raw tool outputs)
#   PROFILE=perf        also sample the gateway with `perf record -e cpu-clock` during the
#                       runs and print its top symbols (the work dir with perf.data is kept)
#   CARGO_TARGET_DIR    where cargo puts the release binaries (default ./target)
#
# Needs: bash, cargo, curl, python3, taskset (util-linux), wrk (installed with apt-get when
# missing and running as root, else with sudo). Linux only (/proc).
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-"1 16 64"}
GATEWAY_CORE=${GATEWAY_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
UPSTREAM_PORT=${UPSTREAM_PORT:-9101}
GATEWAY_PORT=${GATEWAY_PORT:-9102}
OUT=${OUT:-docs/BENCHMARKS.md}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
PROFILE=${PROFILE:-}
RPM_LIMIT=100000000

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aihub-bench.XXXXXX")
UPSTREAM_PID=""
GATEWAY_PID=""
PERF_PID=""

cleanup() {
    local rc=$?
    for pid in $PERF_PID $GATEWAY_PID $UPSTREAM_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ $rc -ne 0 && -f $WORK/gateway.log ]]; then
        log "gateway log (last lines):"
        tail -n 20 "$WORK/gateway.log" >&2 || true
    fi
    if [[ $KEEP_WORKDIR == 1 || $rc -ne 0 ]]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------
for tool in cargo curl python3 taskset; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get install -y wrk >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; } ||
        die "cannot install wrk; install it (apt-get install wrk) and rerun"
fi

CORES=$(nproc)
if ((CORES >= 2)); then
    PIN_GATEWAY=(taskset -c "$GATEWAY_CORE")
    PIN_LOAD=(taskset -c "$LOAD_CORE")
    PINNING="gateway on CPU $GATEWAY_CORE; upstream and load generator on CPU $LOAD_CORE"
else
    PIN_GATEWAY=()
    PIN_LOAD=()
    PINNING="none (only one CPU): gateway, upstream and load generator share it"
fi

if [[ $SKIP_BUILD != 1 ]]; then
    log "building release binaries (cargo build --release -p aihub-server -p aihub-bench)"
    cargo build --release -p aihub-server -p aihub-bench >&2
fi
for b in aihub bench-upstream bench-ttfb; do
    [[ -x $BIN/$b ]] || die "$BIN/$b is missing (build failed, or CARGO_TARGET_DIR differs)"
done

CURL=(curl -sS --noproxy '*' --max-time 10)
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

wait_http() { # url, what
    local i
    for i in $(seq 1 200); do
        if "${CURL[@]}" -fo /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    die "$2 did not come up at $1"
}

# /proc readings of the gateway process.
cpu_ticks() { # utime + stime, in clock ticks
    local stat rest
    stat=$(<"/proc/$1/stat")
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${12} + ${13}))
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)

# --- start the upstream and the gateway ----------------------------------------------------
UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
"${PIN_LOAD[@]}" "$BIN/bench-upstream" --port "$UPSTREAM_PORT" >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
wait_http "$UPSTREAM/v1/models" "bench-upstream"

mkdir -p "$WORK/data"
(
    # Its own directory so no ./aihub.toml is picked up; only the settings below apply.
    cd "$WORK"
    exec env -u DATABASE_URL -u AIHUB_SECRET_KEY -u AIHUB_PRICING_FILE \
        AIHUB_HOST=127.0.0.1 AIHUB_PORT="$GATEWAY_PORT" AIHUB_DATA_DIR="$WORK/data" \
        AIHUB_WORKERS=1 AIHUB_LOG=warn AIHUB_BCRYPT_COST=4 \
        "${PIN_GATEWAY[@]}" "$BIN/aihub" serve
) >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_http "$GATEWAY/health/ready" "the gateway"
log "gateway pid $GATEWAY_PID, upstream pid $UPSTREAM_PID; $PINNING"

# --- account, provider, key ----------------------------------------------------------------
TOKEN=$("${CURL[@]}" -f "$GATEWAY/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","email":"bench@example.com","password":"bench-password-123"}' |
    json_field access_token)
AUTH=(-H "authorization: Bearer $TOKEN" -H 'content-type: application/json')
PROVIDER_JSON=$("${CURL[@]}" "$GATEWAY/api/v1/providers" "${AUTH[@]}" -d "{
    \"name\": \"Bench\", \"kind\": \"openai_compatible\", \"scope\": \"organization\",
    \"api_key\": \"sk-bench-upstream\", \"base_url\": \"$UPSTREAM/v1\",
    \"config\": {\"default_model\": \"bench-model\"}}")
SLUG=$(json_field slug <<<"$PROVIDER_JSON" 2>/dev/null) || die "creating the provider: $PROVIDER_JSON"
KEY_JSON=$("${CURL[@]}" "$GATEWAY/api/v1/keys" "${AUTH[@]}" \
    -d "{\"name\": \"bench\", \"rate_limit\": {\"requests_per_minute\": $RPM_LIMIT}}")
KEY=$(json_field key <<<"$KEY_JSON" 2>/dev/null) || die "creating the API key: $KEY_JSON"
MODEL="$SLUG/bench-model"

# --- request bodies and wrk scripts ----------------------------------------------------------
body() { # model, stream(true|false)
    if [[ $2 == true ]]; then
        printf '{"model":"%s","messages":[{"role":"user","content":"Say hello in a few words."}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}' "$1"
    else
        printf '{"model":"%s","messages":[{"role":"user","content":"Say hello in a few words."}],"max_tokens":64}' "$1"
    fi
}
body bench-model false >"$WORK/direct-plain.json"
body bench-model true >"$WORK/direct-stream.json"
body "$MODEL" false >"$WORK/gateway-plain.json"
body "$MODEL" true >"$WORK/gateway-stream.json"

wrk_script() { # bearer, body file
    cat <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $1"
wrk.body = [[$(cat "$2")]]
done = function(summary, latency, requests)
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
}
wrk_script sk-bench-upstream "$WORK/direct-plain.json" >"$WORK/direct.lua"
wrk_script "$KEY" "$WORK/gateway-plain.json" >"$WORK/gateway.lua"

# --- sanity: both paths answer as expected ---------------------------------------------------
check() { # what, expected substring, curl args... (ending in -o FILE)
    local what=$1 want=$2 status
    shift 2
    status=$("${CURL[@]}" -w '%{http_code}' "$@") || die "$what: request failed"
    local file=${*: -1}
    [[ $status == 200 && $(<"$file") == *"$want"* ]] ||
        die "$what: unexpected answer ($status): $(head -c 600 "$file")"
}
GW_REQUESTS=0 # requests sent to the gateway that should each write one usage row
for target in direct gateway; do
    if [[ $target == direct ]]; then url=$UPSTREAM bearer=sk-bench-upstream; else url=$GATEWAY bearer=$KEY; fi
    check "$target, non-streaming" '"chat.completion"' "$url/v1/chat/completions" \
        -H "authorization: Bearer $bearer" -H 'content-type: application/json' \
        --data-binary "@$WORK/$target-plain.json" -o "$WORK/$target-plain.reply"
    check "$target, streaming" 'data: [DONE]' "$url/v1/chat/completions" \
        -H "authorization: Bearer $bearer" -H 'content-type: application/json' \
        --data-binary "@$WORK/$target-stream.json" -o "$WORK/$target-stream.reply"
done
GW_REQUESTS=2
# Body sizes (bytes) of each reply, for the report.
DIRECT_PLAIN_BYTES=$(wc -c <"$WORK/direct-plain.reply")
DIRECT_STREAM_BYTES=$(wc -c <"$WORK/direct-stream.reply")
GATEWAY_PLAIN_BYTES=$(wc -c <"$WORK/gateway-plain.reply")
GATEWAY_STREAM_BYTES=$(wc -c <"$WORK/gateway-stream.reply")
STREAM_EVENTS=$(grep -c '^data: ' "$WORK/direct-stream.reply")
GATEWAY_STREAM_EVENTS=$(grep -c '^data: ' "$WORK/gateway-stream.reply")

IDLE_RSS_KB=$(status_kb "$GATEWAY_PID" VmRSS)
log "gateway idle RSS: ${IDLE_RSS_KB} kB; runs of ${DURATION}s (+${WARMUP}s warm-up) at connections: $CONNECTIONS"

RESULTS=$WORK/results.jsonl
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$RESULTS"

# One load run; prints the tool's JSON. mode: plain|stream; target: direct|gateway.
load() { # mode target connections seconds
    local mode=$1 target=$2 c=$3 secs=$4 url out
    if [[ $target == direct ]]; then url=$UPSTREAM; else url=$GATEWAY; fi
    url=$url/v1/chat/completions
    if [[ $mode == plain ]]; then
        out=$("${PIN_LOAD[@]}" wrk -t1 -c"$c" -d"${secs}s" --latency --timeout 10s \
            -s "$WORK/$target.lua" "$url")
        printf '%s\n' "$out" >>"$WORK/wrk-$target-$c.txt"
        local line
        line=$(grep '^BENCH_JSON ' <<<"$out" | tail -n 1) || die "wrk printed no result: $out"
        printf '%s\n' "${line#BENCH_JSON }"
    else
        local bearer=sk-bench-upstream
        [[ $target == gateway ]] && bearer=$KEY
        "${PIN_LOAD[@]}" "$BIN/bench-ttfb" --url "$url" \
            --header "Authorization: Bearer $bearer" --header 'Content-Type: application/json' \
            --body-file "$WORK/$target-stream.json" --connections "$c" --duration-secs "$secs"
    fi
}

# Successful requests in a tool's JSON.
ok_requests() {
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(r["requests"] - r.get("status_errors", 0) if "p50_us" in r else r["requests"])' "$1"
}

if [[ $PROFILE == perf ]]; then
    command -v perf >/dev/null || die "PROFILE=perf needs perf (apt-get install linux-perf)"
    perf record -e cpu-clock -F 1999 -p "$GATEWAY_PID" -o "$WORK/perf.data" >"$WORK/perf.log" 2>&1 &
    PERF_PID=$!
fi

for mode in plain stream; do
    for c in $CONNECTIONS; do
        for target in direct gateway; do
            log "$mode, $c connection(s), $target"
            warm=$(load "$mode" "$target" "$c" "$WARMUP")
            if [[ $target == gateway ]]; then
                GW_REQUESTS=$((GW_REQUESTS + $(ok_requests "$warm")))
                cpu0=$(cpu_ticks "$GATEWAY_PID")
            fi
            t0=$(date +%s.%N)
            res=$(load "$mode" "$target" "$c" "$DURATION")
            t1=$(date +%s.%N)
            cpu=null rss=null hwm=null
            if [[ $target == gateway ]]; then
                cpu=$(($(cpu_ticks "$GATEWAY_PID") - cpu0))
                rss=$(status_kb "$GATEWAY_PID" VmRSS)
                hwm=$(status_kb "$GATEWAY_PID" VmHWM)
                GW_REQUESTS=$((GW_REQUESTS + $(ok_requests "$res")))
            fi
            printf '{"mode":"%s","target":"%s","connections":%s,"wall_s":%s,"cpu_ticks":%s,"rss_kb":%s,"hwm_kb":%s,"tool":%s}\n' \
                "$mode" "$target" "$c" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
                "$cpu" "$rss" "$hwm" "$res" >>"$RESULTS"
            log "  -> $res"
        done
    done
done

if [[ -n $PERF_PID ]]; then
    kill -INT "$PERF_PID"
    wait "$PERF_PID" || true
    PERF_PID=""
    perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
        grep -v '^#' | sed -e 's/ *$//' -e '/^$/d' | head -n 60 >"$WORK/perf-top.txt" || true
    log "gateway CPU profile over all gateway runs (top symbols; full data: $WORK/perf.data):"
    cat "$WORK/perf-top.txt" >&2
    KEEP_WORKDIR=1
fi

# --- stop the gateway; count usage rows ------------------------------------------------------
FINAL_RSS_KB=$(status_kb "$GATEWAY_PID" VmRSS)
PEAK_RSS_KB=$(status_kb "$GATEWAY_PID" VmHWM)
kill -TERM "$GATEWAY_PID"
for _ in $(seq 1 400); do
    kill -0 "$GATEWAY_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$GATEWAY_PID" 2>/dev/null; then
    die "the gateway did not stop within 40 s of SIGTERM"
fi
wait "$GATEWAY_PID" 2>/dev/null || true
GATEWAY_PID=""
USAGE_JSON=$(python3 - "$WORK/data/aihub.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda sql: db.execute(sql).fetchone()[0]
print(json.dumps({
    "rows": q("SELECT COUNT(*) FROM usage_records"),
    "with_key": q("SELECT COUNT(*) FROM usage_records WHERE api_key_id IS NOT NULL"),
    "ok": q("SELECT COUNT(*) FROM usage_records WHERE status = 'success'"),
    "statuses": dict(db.execute("SELECT status, COUNT(*) FROM usage_records GROUP BY status").fetchall()),
}))
PY
)

# --- report ----------------------------------------------------------------------------------
export RESULTS CLK_TCK DURATION WARMUP CONNECTIONS PINNING CORES IDLE_RSS_KB FINAL_RSS_KB \
    PEAK_RSS_KB USAGE_JSON GW_REQUESTS RPM_LIMIT OUT
export DIRECT_PLAIN_BYTES DIRECT_STREAM_BYTES GATEWAY_PLAIN_BYTES GATEWAY_STREAM_BYTES \
    STREAM_EVENTS GATEWAY_STREAM_EVENTS LOADAVG_BEFORE GIT_REV LOADAVG_AFTER
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    GIT_REV="$GIT_REV (with uncommitted changes)"
fi
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$ROOT/bench/report.py"
