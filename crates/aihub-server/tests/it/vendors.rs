//! Every provider kind through both front doors: the OpenAI-compatible `/v1/chat/completions`
//! (whole and streamed, translated for Anthropic, Gemini and Ollama's native API) and the native
//! conversation endpoints — each against a fake that replays the vendor's documented wire.

use crate::streaming::{SseReader, start_stream};
use crate::v1::api_key;
use aihub_testkit::fake_anthropic::{AnthropicBehavior, FakeAnthropic};
use aihub_testkit::fake_gemini::{FAKE_GEMINI_KEY, FakeGemini, GeminiBehavior};
use aihub_testkit::fake_ollama::{FakeOllama, OllamaBehavior};
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};

const REPLY: &str = "Hello! How can I help?";

/// An organization provider of `kind` at `base_url` (loopback is allowed for organization
/// providers), with `default_model`.
async fn provider(
    app: &TestApp,
    admin: &TestUser,
    kind: &str,
    base_url: &str,
    api_key: Option<&str>,
    default_model: &str,
) -> i64 {
    let mut body = json!({
        "name": format!("{kind} test"),
        "slug": kind.replace('_', "-"),
        "kind": kind,
        "scope": "organization",
        "base_url": base_url,
        "config": {"default_model": default_model}
    });
    if let Some(k) = api_key {
        body["api_key"] = json!(k);
    }
    let (s, b, _) = app
        .post("/api/v1/providers", Some(&admin.access_token), body)
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

/// `/v1/chat/completions` whole and streamed; returns the non-streamed body.
async fn v1_roundtrip(app: &TestApp, key: &str, model: &str) -> Value {
    let body = json!({"model": model, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}
    ]});
    let (s, out, _) = app
        .post("/v1/chat/completions", Some(key), body.clone())
        .await;
    assert_eq!(s, 200, "{model}: {out}");
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(out["choices"][0]["message"]["content"], REPLY, "{out}");
    assert_eq!(out["choices"][0]["finish_reason"], "stop");

    let mut streamed = body;
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let raw = app
        .client
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&streamed)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.ends_with("data: [DONE]\n\n"), "{model}: {raw}");
    let events: Vec<Value> = raw
        .split("\n\n")
        .filter(|f| !f.is_empty() && *f != "data: [DONE]")
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, REPLY, "{model}: {raw}");
    let usage = &events.last().unwrap()["usage"];
    assert_eq!(
        usage["total_tokens"], out["usage"]["total_tokens"],
        "{model}: the same usage streamed: {raw}"
    );
    out
}

/// A conversation on `pid` and one native streamed reply; returns the SSE event types.
async fn native_stream(app: &TestApp, user: &TestUser, pid: i64) -> Vec<Value> {
    let (s, conv, _) = app
        .post(
            "/api/v1/conversations",
            Some(&user.access_token),
            json!({"title": "native", "provider_id": pid}),
        )
        .await;
    assert_eq!(s, 201, "{conv}");
    let resp = start_stream(
        app,
        &user.access_token,
        conv["id"].as_i64().unwrap(),
        json!({"content": "Hi"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = SseReader::new(resp).rest().await;
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content")
        .filter_map(|e| e["content"].as_str())
        .collect();
    assert_eq!(text, REPLY, "{events:?}");
    assert_eq!(events.last().unwrap()["type"], "done", "{events:?}");
    events
}

async fn anthropic_through_both_front_doors(app: TestApp) {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let admin = app.register("admin").await;
    let pid = provider(
        &app,
        &admin,
        "anthropic",
        &fake.base_url(),
        Some("sk-ant-test-0123456789"),
        "claude-3-5-haiku-20241022",
    )
    .await;
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    let out = v1_roundtrip(&app, &key, "anthropic/claude-3-5-haiku-20241022").await;
    assert_eq!(out["usage"]["prompt_tokens"], 25);
    assert_eq!(out["usage"]["completion_tokens"], 15);
    let sent = fake.last_request_body().unwrap();
    assert_eq!(
        sent["system"], "Be brief.",
        "system prompt is top-level: {sent}"
    );
    assert!(
        sent["max_tokens"].as_u64().unwrap() > 0,
        "max_tokens filled in"
    );
    assert_eq!(
        fake.last_header("x-api-key").as_deref(),
        Some("sk-ant-test-0123456789")
    );
    native_stream(&app, &admin, pid).await;
    let rows = app.wait_usage_rows(admin.id, 3).await.unwrap();
    assert!(rows.iter().all(|r| r.provider_kind == "anthropic"));
}

async fn anthropic_tool_calls_translate_to_openai(app: TestApp) {
    let fake = FakeAnthropic::start(AnthropicBehavior {
        tool_input: Some(json!({"city": "Paris"})),
        ..AnthropicBehavior::default()
    });
    let admin = app.register("admin").await;
    provider(
        &app,
        &admin,
        "anthropic",
        &fake.base_url(),
        Some("sk-ant-test-0123456789"),
        "claude-3-5-haiku-20241022",
    )
    .await;
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    let (s, out, _) = app
        .post(
            "/v1/chat/completions",
            Some(&key),
            json!({
                "model": "anthropic/claude-3-5-haiku-20241022",
                "messages": [{"role": "user", "content": "Weather in Paris?"}],
                "tools": [{"type": "function", "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
                }}]
            }),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    let call = &out["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    let sent = fake.last_request_body().unwrap();
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert!(sent["tools"][0]["input_schema"].is_object(), "{sent}");
}

async fn gemini_through_both_front_doors(app: TestApp) {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let admin = app.register("admin").await;
    let pid = provider(
        &app,
        &admin,
        "gemini",
        &fake.base_url(),
        Some(FAKE_GEMINI_KEY),
        "gemini-1.5-flash",
    )
    .await;
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    let out = v1_roundtrip(&app, &key, "gemini/gemini-1.5-flash").await;
    assert_eq!(out["usage"]["prompt_tokens"], 9);
    assert_eq!(out["usage"]["completion_tokens"], 7);
    let sent = fake.last_request_body().unwrap();
    assert!(sent["systemInstruction"].is_object(), "{sent}");
    assert_eq!(
        fake.last_header("x-goog-api-key").as_deref(),
        Some(FAKE_GEMINI_KEY)
    );
    native_stream(&app, &admin, pid).await;
    let (s, emb, _) = app
        .post(
            "/v1/embeddings",
            Some(&key),
            json!({"model": "gemini/text-embedding-004", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(s, 200, "{emb}");
    assert_eq!(emb["data"].as_array().unwrap().len(), 2);
}

async fn ollama_native_through_both_front_doors(app: TestApp) {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let admin = app.register("admin").await;
    let pid = provider(&app, &admin, "ollama", &fake.base_url(), None, "llama3").await;
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    let out = v1_roundtrip(&app, &key, "ollama/llama3").await;
    assert_eq!(out["usage"]["prompt_tokens"], 26);
    assert_eq!(out["usage"]["completion_tokens"], 7);
    native_stream(&app, &admin, pid).await;
    let (s, models, _) = app.get("/v1/models", Some(&key)).await;
    assert_eq!(s, 200, "{models}");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"ollama/llama3:latest"),
        "listed by /api/tags: {ids:?}"
    );
    let (s, emb, _) = app
        .post(
            "/v1/embeddings",
            Some(&key),
            json!({"model": "ollama/nomic-embed-text", "input": "a"}),
        )
        .await;
    assert_eq!(s, 200, "{emb}");
}

async fn openrouter_and_openai_kinds(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let admin = app.register("admin").await;
    let or = provider(
        &app,
        &admin,
        "openrouter",
        &fake.base_url(),
        Some("sk-or-test-0123456789"),
        "x-ai/grok-beta",
    )
    .await;
    provider(
        &app,
        &admin,
        "openai",
        &fake.base_url(),
        Some("sk-openai-test-0123456789"),
        "gpt-4o-mini",
    )
    .await;
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    v1_roundtrip(&app, &key, "openrouter/x-ai/grok-beta").await;
    assert_eq!(
        fake.last_request_body().unwrap()["model"],
        "x-ai/grok-beta",
        "the slash in the model id survives"
    );
    assert!(fake.last_header("x-title").is_some());
    assert!(fake.last_header("http-referer").is_some());
    v1_roundtrip(&app, &key, "openai/gpt-4o-mini").await;
    assert_eq!(
        fake.last_authorization().as_deref(),
        Some("Bearer sk-openai-test-0123456789")
    );
    native_stream(&app, &admin, or).await;
}

both_backends!(
    anthropic_through_both_front_doors,
    anthropic_tool_calls_translate_to_openai,
    gemini_through_both_front_doors,
    ollama_native_through_both_front_doors,
    openrouter_and_openai_kinds,
);
