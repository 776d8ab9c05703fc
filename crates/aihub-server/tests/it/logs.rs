//! Provider keys never reach the logs: with the production log filter at
//! `info`, the failing-key flows (the fake echoes the whole key in its 401 body and in a 5xx
//! body) leave no trace of the key in anything logged.

use crate::conversations::new_conversation;
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged by this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let filter = tracing_subscriber::EnvFilter::new("info");
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

async fn failing_keys_are_never_logged(app: TestApp) {
    let logs = capture();
    let canary = format!("sk-canary-{}", aihub_core::crypto::random_token(12));
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
    let admin = app.register("admin").await;
    let t = Some(admin.access_token.as_str());
    let (s, p, _) = app
        .post(
            "/api/v1/providers",
            t,
            json!({"name": "leaky", "kind": "openai_compatible", "scope": "organization", "api_key": canary,
                   "base_url": fake.base_url(), "config": {"default_model": "gpt-4o-mini"}}),
        )
        .await;
    assert_eq!(s, 201);
    let pid = p["id"].as_i64().unwrap();
    let (_, test, _) = app
        .post(&format!("/api/v1/providers/{pid}/test"), t, json!({}))
        .await;
    assert_eq!(test["error"]["code"], "provider_key_invalid");
    let conv = new_conversation(&app, &admin, json!({"provider_id": pid})).await;
    let (s, _, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", conv["id"]),
            t,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(s, 502);
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{}/stream", conv["id"])))
        .bearer_auth(&admin.access_token)
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(
        fake.last_authorization().unwrap().contains(&canary),
        "the key did go upstream"
    );

    // A 5xx whose body quotes the key: the HTTP client logs 5xx bodies unless silenced.
    fake.set_behavior(FakeBehavior::error(FakeMode::ServerErrorQuotingKey));
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", conv["id"]),
            t,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(s, 502);
    assert!(!e.to_string().contains(&canary));

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("request"), "logs were captured");
    assert!(!text.contains(&canary), "a provider key reached the logs");
}

both_backends!(failing_keys_are_never_logged);
