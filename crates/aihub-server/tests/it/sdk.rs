//! The official OpenAI Python SDK (PyPI `openai`, unmodified) against `/v1`: chat, streaming,
//! models, embeddings, and its own exception types for a bad key and an unknown model.
//! Runs `scripts/openai_sdk_check.py` with the interpreter named by `AIHUB_TEST_SDK_PYTHON`
//! (`.ci/run` sets it from `scripts/sdk-env.sh`); without it each test says it was skipped.

use crate::conversations::admin_with_provider;
use crate::v1::api_key;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use serde_json::json;
use std::time::Duration;

async fn official_openai_sdk_works_unmodified(app: TestApp) {
    let Some(python) = std::env::var("AIHUB_TEST_SDK_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
    else {
        eprintln!("skipped: AIHUB_TEST_SDK_PYTHON is not set (python=$(scripts/sdk-env.sh))");
        return;
    };
    let behavior = FakeBehavior::default();
    let expected = behavior.reply_text();
    let fake = FakeOpenAi::start(behavior);
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "sdk"})).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/openai_sdk_check.py"
    );
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("AIHUB_BASE_URL", app.url("/v1"))
        .env("AIHUB_KEY", &key)
        .env("AIHUB_MODEL", "fake-openai/gpt-4o-mini")
        .env("AIHUB_EMBED_MODEL", "fake-openai/text-embedding-3-small")
        .env("AIHUB_EXPECTED_TEXT", &expected)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("the SDK check finishes")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    // Chat, stream and embeddings reached the upstream and were billed to the key; the bad key
    // and the unknown model were refused before any upstream call and wrote nothing.
    let rows = app.wait_usage_rows(admin.id, 3).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows_after = app.usage_rows(admin.id).await.unwrap();
    assert_eq!(rows_after.len(), 3, "{rows_after:?}");
    assert!(rows.iter().all(|r| r.api_key_id.is_some()));
}

both_backends!(official_openai_sdk_works_unmodified);
