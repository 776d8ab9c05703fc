# AI Hub task runner. Install just with `pip install rust-just` (or cargo install just).
# `just` with no arguments lists the recipes.

# The one test command (README and .ci/run use the same). Tests run every
# storage test on both SQLite and PostgreSQL (AIHUB_TEST_PG_URL, default
# postgres://postgres@127.0.0.1:5432/test).
test_cmd := "cargo test --workspace"

# List the recipes
default:
    @just --list

# Run the gateway (extra arguments go to `aihub serve`)
run *args:
    cargo run -p aihub-server -- serve {{args}}

# Run the whole test suite (SQLite and PostgreSQL variants)
test *args:
    {{test_cmd}} {{args}}

# Run only the PostgreSQL variants of the tests
test-pg *args:
    {{test_cmd}} postgres {{args}}

# Long run of the property-based fuzz targets of the parsers (proptest; `cargo test` runs them at 256 cases)
fuzz cases="20000":
    PROPTEST_CASES={{cases}} cargo test -p aihub-providers -p aihub-core -p aihub-http --lib fuzz

# Check formatting and lints, as CI does
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code
fmt:
    cargo fmt --all

# Regenerate openapi/openapi.json
openapi:
    cargo run -p aihub-server -- openapi --output openapi/openapi.json

# Validate and lint an OpenAPI document (default openapi/openapi.json; a URL works too)
openapi-lint doc="openapi/openapi.json":
    scripts/openapi-lint.sh {{doc}}

# Run the reliability and security battery (docs/QUALITY.md) on SQLite and PostgreSQL and print its table (`--ci` for the shorter CI run)
battery *args:
    scripts/battery.sh {{args}}

# Generate the Python (sdk/python) and TypeScript (sdk/typescript) clients from the document
sdk doc="openapi/openapi.json":
    scripts/sdk-python.sh {{doc}}
    scripts/sdk-typescript.sh {{doc}}

# Start a local LLM and walk the API end to end (register, provider, chat)
demo:
    scripts/demo.sh

# Start/stop/check the local SmolLM2 server used by demo and the e2e tests
llm action="start":
    scripts/local-llm.sh {{action}}

# Measure the gateway's overhead against calling the upstream directly; writes docs/BENCHMARKS.md (DURATION=seconds per run, default 10)
bench:
    bench/run.sh
