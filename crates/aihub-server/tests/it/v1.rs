//! The OpenAI-compatible API (`/v1`) end to end: developer API keys, OpenAI-shaped bodies and
//! streams, usage per key, and routing against faults — retries only before the first byte,
//! fallbacks, first-byte and idle timeouts, cooldown — with the fake upstream counting every
//! attempt.

use crate::conversations::admin_with_provider;
use crate::streaming::SseReader;
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

/// Creates a developer API key for `user` and returns its secret.
pub(crate) async fn api_key(app: &TestApp, user: &TestUser, body: Value) -> String {
    let (s, key, _) = app
        .post("/api/v1/keys", Some(&user.access_token), body)
        .await;
    assert_eq!(s, 201, "{key}");
    key["key"].as_str().unwrap().to_owned()
}

/// Sets a provider's config (as its owner).
async fn set_config(app: &TestApp, owner: &TestUser, pid: i64, config: Value) {
    let (s, body, _) = app
        .patch(
            &format!("/api/v1/providers/{pid}"),
            Some(&owner.access_token),
            json!({ "config": config }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

const MODEL: &str = "fake-openai/gpt-4o-mini";

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

/// Waits for `n` usage rows of `user_id`, then checks no more arrive.
async fn exactly(app: &TestApp, user_id: i64, n: usize) -> Vec<aihub_store::usage::UsageRow> {
    app.wait_usage_rows(user_id, n).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = app.usage_rows(user_id).await.unwrap();
    assert_eq!(rows.len(), n, "exactly {n} usage records: {rows:?}");
    rows
}

async fn chat_completion_is_openai_shaped_and_billed_to_the_key(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;

    let (s, body, headers) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(headers.get("x-request-id").is_some());
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["choices"][0]["index"], 0);
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello! How can I help?"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 9);
    assert_eq!(body["usage"]["completion_tokens"], 7);
    assert_eq!(body["usage"]["total_tokens"], 16);
    // The vendor model went upstream without the provider prefix.
    assert_eq!(fake.last_request_body().unwrap()["model"], "gpt-4o-mini");

    let rows = exactly(&app, admin.id, 1).await;
    assert!(rows[0].api_key_id.is_some(), "billed to the key: {rows:?}");
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].prompt_tokens, 9);
    assert_eq!(rows[0].completion_tokens, 7);
    assert!(!rows[0].estimated);
}

async fn x_api_key_header_works_and_bad_keys_get_openai_errors(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;

    let resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .header("X-API-Key", &key)
        .json(&chat(MODEL))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (s, body, headers) = app
        .post("/v1/chat/completions", Some("sk-aihub-nope"), chat(MODEL))
        .await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert!(headers.get("x-request-id").is_some());

    let (s, body, _) = app.post("/v1/chat/completions", None, chat(MODEL)).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"]["code"], "missing_api_key");

    // A session token is not an API key.
    let (s, _, _) = app
        .post(
            "/v1/chat/completions",
            Some(&admin.access_token),
            chat(MODEL),
        )
        .await;
    assert_eq!(s, 401);

    let (s, body, _) = app
        .post("/v1/chat/completions", Some(&key), chat("nobody/gpt-4o"))
        .await;
    assert_eq!(s, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(body["error"]["type"], "not_found_error");

    let (s, body, _) = app
        .post(
            "/v1/chat/completions",
            Some(&key),
            json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 3}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["param"], "temperature");
    // One call reached an upstream; the refused ones wrote nothing.
    assert_eq!(fake.request_count(), 1);
    exactly(&app, admin.id, 1).await;
}

async fn permissions_are_enforced_per_route(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let models_only = api_key(
        &app,
        &admin,
        json!({"name": "m", "permissions": ["models"]}),
    )
    .await;
    let (s, body, _) = app
        .post("/v1/chat/completions", Some(&models_only), chat(MODEL))
        .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "permission_denied");
    let (s, body, _) = app.get("/v1/models", Some(&models_only)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"fake-openai/gpt-4o-mini"), "{ids:?}");
    assert!(ids.contains(&"fake-openai/gpt-4o"), "{ids:?}");
    assert_eq!(body["data"][0]["object"], "model");
    assert_eq!(body["data"][0]["owned_by"], "fake-openai");
    assert_eq!(
        fake.request_count(),
        1,
        "only the model listing reached upstream"
    );

    // One model, as the SDKs' `models.retrieve` asks for it: slashes as they are or encoded.
    for path in [
        "/v1/models/fake-openai/gpt-4o-mini",
        "/v1/models/fake-openai%2Fgpt-4o-mini",
    ] {
        let (s, body, _) = app.get(path, Some(&models_only)).await;
        assert_eq!(s, 200, "{path}: {body}");
        assert_eq!(body["id"], "fake-openai/gpt-4o-mini");
        assert_eq!(body["object"], "model");
        assert_eq!(body["owned_by"], "fake-openai");
    }
    let (s, body, _) = app
        .get("/v1/models/fake-openai/no-such-model", Some(&models_only))
        .await;
    assert_eq!(s, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");

    let chat_only = api_key(&app, &admin, json!({"name": "c", "permissions": ["chat"]})).await;
    let (s, _, _) = app.get("/v1/models", Some(&chat_only)).await;
    assert_eq!(s, 403);
    let (s, _, _) = app
        .get("/v1/models/fake-openai/gpt-4o-mini", Some(&chat_only))
        .await;
    assert_eq!(s, 403);
}

async fn streaming_is_openai_chunks_then_done(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let mut body = chat(MODEL);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let raw = resp.text().await.unwrap();
    assert!(raw.ends_with("data: [DONE]\n\n"), "{raw}");
    let events: Vec<Value> = raw
        .split("\n\n")
        .filter(|f| !f.is_empty() && *f != "data: [DONE]")
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["object"] == "chat.completion.chunk")
    );
    assert!(events.iter().all(|e| e["model"] == MODEL));
    let id = &events[0]["id"];
    assert!(events.iter().all(|e| &e["id"] == id), "one id per stream");
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello! How can I help?");
    let finish: Vec<&Value> = events
        .iter()
        .filter(|e| !e["choices"][0]["finish_reason"].is_null())
        .collect();
    assert_eq!(finish.len(), 1);
    assert_eq!(finish[0]["choices"][0]["finish_reason"], "stop");
    let last = events.last().unwrap();
    assert_eq!(last["choices"], json!([]), "usage chunk has no choices");
    assert_eq!(last["usage"]["total_tokens"], 16);

    let rows = exactly(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].completion_tokens, 7);
    assert!(rows[0].ttft_ms.is_some());
}

async fn retryable_failures_are_retried_before_the_first_byte(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior {
        fail_first: 2,
        ..FakeBehavior::error(FakeMode::ServerError)
    });
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    set_config(&app, &admin, pid, json!({"max_retries": 2})).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let (s, body, headers) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(fake.request_count(), 3, "two failures, then success");
    assert_eq!(headers["x-aihub-attempts"], "3");
    exactly(&app, admin.id, 1).await;

    // Retries used up: the mapped error, exactly 1 + max_retries attempts.
    fake.set_behavior(FakeBehavior::error(FakeMode::ServerError));
    let before = fake.request_count();
    set_config(&app, &admin, pid, json!({"max_retries": 1})).await;
    let (s, body, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    assert_eq!(body["error"]["type"], "upstream_error");
    assert_eq!(fake.request_count() - before, 2);
    let rows = exactly(&app, admin.id, 2).await;
    assert_eq!(rows[0].status, "failed");
    assert_eq!(rows[0].total_tokens, 0);

    // Not retryable: a bad request is sent once.
    fake.set_behavior(FakeBehavior::error(FakeMode::ContextLengthExceeded));
    let before = fake.request_count();
    let (s, body, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert_eq!(fake.request_count() - before, 1);
}

async fn upstream_retry_after_is_honoured_or_returned(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior {
        fail_first: 1,
        ..FakeBehavior::error(FakeMode::RateLimited {
            retry_after_secs: 1,
        })
    });
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    set_config(&app, &admin, pid, json!({"max_retries": 1})).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let started = std::time::Instant::now();
    let (s, body, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited Retry-After"
    );
    assert_eq!(fake.request_count(), 2);

    // A Retry-After longer than we hold callers for goes back to the caller, untried.
    fake.set_behavior(FakeBehavior::error(FakeMode::RateLimited {
        retry_after_secs: 30,
    }));
    let (s, body, headers) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["code"], "upstream_rate_limited");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(headers["retry-after"], "30");
    assert_eq!(fake.request_count(), 3);
}

async fn fallbacks_serve_when_the_primary_fails(app: TestApp) {
    let primary = FakeOpenAi::start(FakeBehavior::error(FakeMode::ServerError));
    let backup = FakeOpenAi::start(FakeBehavior {
        pieces: vec!["from backup".into()],
        ..FakeBehavior::default()
    });
    let (admin, pid) = admin_with_provider(&app, &primary).await;
    set_config(&app, &admin, pid, json!({"max_retries": 1})).await;
    let (s, b, _) = app
        .post(
            "/api/v1/providers",
            Some(&admin.access_token),
            json!({"name": "Backup", "kind": "openai_compatible", "scope": "organization",
                   "api_key": "sk-backup-0123456789", "base_url": backup.base_url()}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let key = api_key(&app, &admin, json!({"name": "app"})).await;

    // Per request (AI Hub extension field).
    let mut body = chat(MODEL);
    body["fallbacks"] = json!(["backup/gpt-4o-mini"]);
    let (s, out, headers) = app.post("/v1/chat/completions", Some(&key), body).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["choices"][0]["message"]["content"], "from backup");
    assert_eq!(headers["x-aihub-provider"], "backup");
    assert_eq!(
        primary.request_count(),
        2,
        "primary tried 1 + max_retries times"
    );
    assert_eq!(backup.request_count(), 1);
    assert!(
        backup
            .last_request_body()
            .unwrap()
            .get("fallbacks")
            .is_none(),
        "the extension field is not sent upstream"
    );

    // From the provider's config.
    set_config(
        &app,
        &admin,
        pid,
        json!({"max_retries": 0, "fallbacks": ["backup/gpt-4o-mini"]}),
    )
    .await;
    let (s, out, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(primary.request_count(), 3);
    assert_eq!(backup.request_count(), 2);

    // A request the upstream refuses as invalid does not fall back.
    primary.set_behavior(FakeBehavior::error(FakeMode::ContextLengthExceeded));
    let (s, out, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 400, "{out}");
    assert_eq!(backup.request_count(), 2);
    exactly(&app, admin.id, 3).await;
}

async fn a_failing_provider_cools_down(app: TestApp) {
    let primary = FakeOpenAi::start(FakeBehavior::error(FakeMode::ServerError));
    let backup = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &primary).await;
    set_config(
        &app,
        &admin,
        pid,
        json!({"max_retries": 0, "fallbacks": ["backup/gpt-4o-mini"]}),
    )
    .await;
    org_provider_named(&app, &admin, "Backup", &backup.base_url()).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let threshold = app.app.config().routing.cooldown_failures as usize;
    for _ in 0..threshold + 3 {
        let (s, out, _) = app
            .post("/v1/chat/completions", Some(&key), chat(MODEL))
            .await;
        assert_eq!(s, 200, "{out}");
    }
    assert_eq!(
        primary.request_count(),
        threshold,
        "after {threshold} failures in a row the primary is skipped"
    );
    assert_eq!(backup.request_count(), threshold + 3);
}

async fn org_provider_named(app: &TestApp, admin: &TestUser, name: &str, base_url: &str) -> i64 {
    let (s, b, _) = app
        .post(
            "/api/v1/providers",
            Some(&admin.access_token),
            json!({"name": name, "kind": "openai_compatible", "scope": "organization",
                   "api_key": "sk-other-0123456789", "base_url": base_url}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

async fn stream_first_byte_timeout_retries_then_fails(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior {
        first_byte_delay: Some(Duration::from_secs(3)),
        ..FakeBehavior::default()
    });
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    set_config(
        &app,
        &admin,
        pid,
        json!({"max_retries": 1, "first_byte_timeout_s": 1}),
    )
    .await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let mut body = chat(MODEL);
    body["stream"] = json!(true);
    let (s, out, _) = app.post("/v1/chat/completions", Some(&key), body).await;
    assert_eq!(s, 504, "{out}");
    assert_eq!(out["error"]["code"], "upstream_timeout");
    assert_eq!(fake.request_count(), 2);
    let rows = exactly(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "failed");
}

async fn failure_after_the_first_byte_is_an_error_event_and_not_retried(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InBandError));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    set_config(&app, &admin, pid, json!({"max_retries": 3})).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let mut body = chat(MODEL);
    body["stream"] = json!(true);
    let resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let raw = resp.text().await.unwrap();
    assert!(!raw.contains("[DONE]"), "never a fake success: {raw}");
    let last = raw.trim_end().rsplit("\n\n").next().unwrap();
    let err: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(err["error"]["code"], "upstream_unavailable", "{raw}");
    assert!(
        raw.contains("chat.completion.chunk"),
        "chunks came first: {raw}"
    );
    assert_eq!(fake.request_count(), 1, "no retry after the first byte");
    let rows = exactly(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "failed");
    assert!(
        rows[0].completion_tokens > 0,
        "partial usage billed: {rows:?}"
    );
    assert!(rows[0].estimated);
}

async fn stall_mid_stream_ends_with_a_timeout_event(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::StallMidStream));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    set_config(&app, &admin, pid, json!({"timeout_s": 1})).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let mut body = chat(MODEL);
    body["stream"] = json!(true);
    let resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let raw = tokio::time::timeout(Duration::from_secs(15), resp.text())
        .await
        .expect("the stall is cut by the idle timeout")
        .unwrap();
    assert!(raw.contains("upstream_timeout"), "{raw}");
    let rows = exactly(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "failed");
}

async fn client_disconnect_stops_the_upstream_and_bills_once(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(200, Duration::from_millis(50)));
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let mut body = chat(MODEL);
    body["stream"] = json!(true);
    let resp = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut reader = SseReader::new(resp);
    let first = reader.next().await.unwrap();
    assert_eq!(first["object"], "chat.completion.chunk");
    drop(reader);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(2)).await,
        "the upstream connection closed within 2 s"
    );
    let rows = exactly(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "stopped");
    assert!(rows[0].estimated);
}

async fn embeddings_in_float_and_base64(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(&app, &admin, json!({"name": "app"})).await;
    let (s, body, _) = app
        .post(
            "/v1/embeddings",
            Some(&key),
            json!({"model": "fake-openai/text-embedding-3-small", "input": ["a", "bb"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][1]["index"], 1);
    assert!(body["data"][0]["embedding"].is_array());
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let (s, body, _) = app
        .post(
            "/v1/embeddings",
            Some(&key),
            json!({"model": "fake-openai/text-embedding-3-small", "input": "a", "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["data"][0]["embedding"].is_string());
    let rows = exactly(&app, admin.id, 2).await;
    assert!(rows.iter().all(|r| r.completion_tokens == 0));
}

async fn key_rate_limit_answers_429_with_headers(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _pid) = admin_with_provider(&app, &fake).await;
    let key = api_key(
        &app,
        &admin,
        json!({"name": "app", "rate_limit": {"requests_per_minute": 2}}),
    )
    .await;
    let (s, _, headers) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200);
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "1");
    let (s, _, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 200);
    let (s, body, headers) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(headers.get("retry-after").is_some());
    assert_eq!(
        fake.request_count(),
        2,
        "the refused request never went upstream"
    );
}

async fn granted_org_provider_is_reachable_by_kind(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;
    let key = api_key(&app, &bob, json!({"name": "bob"})).await;
    let (s, _, _) = app
        .post("/v1/chat/completions", Some(&key), chat(MODEL))
        .await;
    assert_eq!(s, 404, "not granted yet");
    crate::conversations::grant(&app, pid, &bob, &admin).await;
    let (s, body, _) = app
        .post(
            "/v1/chat/completions",
            Some(&key),
            chat("openai_compatible/gpt-4o-mini"),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let rows = exactly(&app, bob.id, 1).await;
    assert_eq!(rows[0].provider_id, Some(pid));
}

both_backends!(
    chat_completion_is_openai_shaped_and_billed_to_the_key,
    x_api_key_header_works_and_bad_keys_get_openai_errors,
    permissions_are_enforced_per_route,
    streaming_is_openai_chunks_then_done,
    retryable_failures_are_retried_before_the_first_byte,
    upstream_retry_after_is_honoured_or_returned,
    fallbacks_serve_when_the_primary_fails,
    a_failing_provider_cools_down,
    stream_first_byte_timeout_retries_then_fails,
    failure_after_the_first_byte_is_an_error_event_and_not_retried,
    stall_mid_stream_ends_with_a_timeout_event,
    client_disconnect_stops_the_upstream_and_bills_once,
    embeddings_in_float_and_base64,
    key_rate_limit_answers_429_with_headers,
    granted_org_provider_is_reachable_by_kind,
);
