//! Clients generated from the OpenAPI document, and Swagger UI, against a real server in
//! front of a fake upstream, on both databases:
//! - the Python client (openapi-python-client) runs `clients/python/e2e_check.py` with the
//!   interpreter named by `AIHUB_TEST_CLIENT_PYTHON` (`scripts/sdk-python.sh` prints it);
//! - the TypeScript client (@hey-api/openapi-ts) runs the compiled `e2e_check.js` in the
//!   directory named by `AIHUB_TEST_CLIENT_TS` (`scripts/sdk-typescript.sh` prints it, after
//!   type-checking the usage file against the generated client);
//! - Swagger UI, in Debian's Chromium driven by Playwright, executes a list operation with one
//!   filter and `send_message` with only its required fields (`clients/swagger-ui/try_it_out.mjs`,
//!   `NODE_PATH` from `AIHUB_TEST_SWAGGER_NODE_PATH`, which `scripts/swagger-ui-env.sh` prints).
//!
//! `.ci/run` sets all three; without one, its test says it was skipped.

use crate::conversations::{admin_with_provider, new_conversation};
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

fn env(name: &str, how: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if value.is_none() {
        eprintln!("skipped: {name} is not set ({name}=$({how}))");
    }
    value
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a check program to its end (at most 3 minutes) and asserts it passed every check.
async fn run_check(mut command: tokio::process::Command) {
    let output = command.kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(180), output)
        .await
        .expect("the check finishes within 3 minutes")
        .expect("the check starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}

/// The environment every client check reads: the server, the fake upstream and its reply.
fn client_env(command: &mut tokio::process::Command, app: &TestApp, fake: &FakeOpenAi) {
    command
        .env("AIHUB_BASE_URL", app.url(""))
        .env("AIHUB_UPSTREAM_URL", fake.base_url())
        .env("AIHUB_MODEL", "gpt-4o-mini")
        .env("AIHUB_EXPECTED_TEXT", FakeBehavior::default().reply_text());
}

async fn generated_python_client_works(app: TestApp) {
    let Some(python) = env("AIHUB_TEST_CLIENT_PYTHON", "scripts/sdk-python.sh") else {
        return;
    };
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let mut command = tokio::process::Command::new(python);
    command.arg(repo("clients/python/e2e_check.py"));
    client_env(&mut command, &app, &fake);
    run_check(command).await;
    // The sends and streams reached the upstream and were billed.
    assert!(fake.request_count() >= 3, "{}", fake.request_count());
}

async fn generated_typescript_client_works(app: TestApp) {
    let Some(dir) = env("AIHUB_TEST_CLIENT_TS", "scripts/sdk-typescript.sh") else {
        return;
    };
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let mut command = tokio::process::Command::new("node");
    command.arg(Path::new(&dir).join("e2e_check.js"));
    client_env(&mut command, &app, &fake);
    run_check(command).await;
    assert!(fake.request_count() >= 3, "{}", fake.request_count());
}

async fn swagger_ui_executes_operations_with_required_fields_only(app: TestApp) {
    let Some(node_path) = env("AIHUB_TEST_SWAGGER_NODE_PATH", "scripts/swagger-ui-env.sh") else {
        return;
    };
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "Swagger notes", "provider_id": pid, "model": "gpt-4o-mini"}),
    )
    .await;
    let mut command = tokio::process::Command::new("node");
    command
        .arg(repo("clients/swagger-ui/try_it_out.mjs"))
        .env("NODE_PATH", node_path)
        .env("AIHUB_BASE_URL", app.url(""))
        .env("AIHUB_TOKEN", &admin.access_token)
        .env("AIHUB_CONVERSATION_ID", conv["id"].to_string());
    run_check(command).await;
    // "Execute" on send_message really sent it: the reply is stored.
    let (s, detail, _) = app
        .get(
            &format!("/api/v1/conversations/{}", conv["id"]),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        detail["messages"].as_array().map(Vec::len),
        Some(2),
        "{detail}"
    );
}

both_backends!(
    generated_python_client_works,
    generated_typescript_client_works,
    swagger_ui_executes_operations_with_required_fields_only
);
