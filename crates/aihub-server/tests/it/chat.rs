//! `POST /api/v1/chat`: stateless direct chat, whole or streamed as typed SSE events
//! (`session`, `content`, `usage`, `done`), with images and a system prompt — and exactly one
//! usage record per call, however a stream ends.

use crate::conversations::admin_with_provider;
use crate::streaming::SseReader;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

/// Waits for `n` usage rows of `user_id`, then checks no more arrive.
async fn usage(app: &TestApp, user_id: i64, n: usize) -> Vec<aihub_store::usage::UsageRow> {
    app.wait_usage_rows(user_id, n).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = app.usage_rows(user_id).await.unwrap();
    assert_eq!(rows.len(), n, "exactly {n} usage records: {rows:?}");
    rows
}

async fn start(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/chat"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn chat_returns_text_and_usage(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let (s, r, _) = app
        .post(
            "/api/v1/chat",
            Some(&admin.access_token),
            json!({"message": "Hello, AI Hub!", "provider_id": pid, "max_tokens": 150}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["text"], "Hello! How can I help?");
    assert_eq!(r["model"], "gpt-4o-mini");
    assert_eq!(r["provider"]["id"], pid);
    assert_eq!(r["provider"]["kind"], "openai_compatible");
    assert_eq!(r["finish_reason"], "stop");
    assert_eq!(r["usage"]["prompt_tokens"], 9);
    assert_eq!(r["usage"]["completion_tokens"], 7);
    assert_eq!(r["usage"]["total_tokens"], 16);
    assert!(r["usage"]["cost"].is_string());
    assert_eq!(r["usage"]["currency"], "USD");
    assert!(r["id"].as_str().unwrap().starts_with("chat-"));
    assert!(r["response_time_ms"].is_i64());
    assert!(r["created_at"].is_string());
    let sent = fake.last_request_body().unwrap();
    assert_eq!(sent["max_tokens"], 150);
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(sent["messages"][0]["content"], "Hello, AI Hub!");

    let rows = usage(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].prompt_tokens, 9);
    assert_eq!(rows[0].completion_tokens, 7);
    assert_eq!(rows[0].provider_id, Some(pid));
    assert_eq!(rows[0].conversation_id, None);

    // A dialogue with a system prompt from `context`.
    let (s, r, _) = app
        .post(
            "/api/v1/chat",
            Some(&admin.access_token),
            json!({
                "provider_id": pid,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "again"}
                ],
                "temperature": 0.5,
                "context": {"system_prompt": "你是一个专业的AI助手"}
            }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let sent = fake.last_request_body().unwrap();
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[0]["content"], "你是一个专业的AI助手");
    assert_eq!(msgs[3]["content"], "again");
    assert_eq!(sent["temperature"], 0.5);
}

async fn images_reach_the_vendor_as_image_parts(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let (s, r, _) = app
        .post(
            "/api/v1/chat",
            Some(&admin.access_token),
            json!({
                "provider_id": pid,
                "message": "What is this?",
                "images": [
                    {"data": "iVBORw0KGgo=", "media_type": "image/png"},
                    {"data": "/9j/4AAQSkZJRg==", "media_type": "image/jpeg"}
                ]
            }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let sent = fake.last_request_body().unwrap();
    let parts = sent["messages"][0]["content"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 3, "{sent}");
    assert_eq!(parts[0]["type"], "text");
    assert_eq!(parts[0]["text"], "What is this?");
    assert_eq!(parts[1]["type"], "image_url");
    assert_eq!(
        parts[1]["image_url"]["url"],
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        parts[2]["image_url"]["url"],
        "data:image/jpeg;base64,/9j/4AAQSkZJRg=="
    );
}

async fn stream_sends_session_content_usage_done(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let resp = start(
        &app,
        &admin.access_token,
        json!({"provider_id": pid, "message": "Hi", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = SseReader::new(resp).rest().await;
    let kinds = types(&events);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("session"),
        "{events:?}"
    );
    assert_eq!(&kinds[kinds.len() - 2..], ["usage", "done"], "{events:?}");
    assert!(
        kinds[1..kinds.len() - 2].iter().all(|k| k == "content"),
        "{events:?}"
    );
    let session = &events[0];
    assert!(session["id"].as_str().unwrap().starts_with("chat-"));
    assert_eq!(session["model"], "gpt-4o-mini");
    assert_eq!(session["provider"]["id"], pid);
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content")
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello! How can I help?");
    let usage_event = &events[kinds.len() - 2];
    assert!(usage_event["total_tokens"].as_u64().unwrap() > 0);
    assert!(usage_event["cost"].is_string());
    assert_eq!(usage_event["currency"], "USD");
    let done = events.last().unwrap();
    assert_eq!(done["finish_reason"], "stop");
    assert!(done["response_time_ms"].is_i64());
    assert_eq!(fake.last_request_body().unwrap()["stream"], true);

    let rows = usage(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "success");
}

async fn abandoned_stream_is_billed_once_as_stopped(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(400, Duration::from_millis(25)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let mut sse = SseReader::new(
        start(
            &app,
            &admin.access_token,
            json!({"provider_id": pid, "message": "Count", "stream": true}),
        )
        .await,
    );
    for _ in 0..3 {
        sse.next().await.unwrap();
    }
    drop(sse);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(3)).await,
        "the upstream saw the connection close"
    );
    let rows = usage(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "stopped");
    assert!(rows[0].completion_tokens > 0);
}

async fn invalid_input_is_422_naming_the_field(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let cases = [
        (
            json!({"provider_id": pid, "message": "a", "messages": [{"role": "user", "content": "b"}]}),
            "messages",
        ),
        (json!({"provider_id": pid}), "message"),
        (
            json!({"provider_id": pid, "message": "a", "temperature": 3}),
            "temperature",
        ),
        (
            json!({"provider_id": pid, "message": "a", "images": [{"data": "aGVsbG8=", "media_type": "image/bmp"}]}),
            "images[0].media_type",
        ),
        (
            json!({"provider_id": pid, "message": "a", "images": [{"data": "not base64!", "media_type": "image/png"}]}),
            "images[0].data",
        ),
        (
            json!({"provider_id": pid, "messages": [{"role": "tool", "content": "b"}]}),
            "messages[0].role",
        ),
        (
            json!({"provider_id": pid, "message": "a", "service": "openrouter"}),
            "service",
        ),
        (
            json!({"message": "a", "session_id": 1, "conversation_id": 2}),
            "session_id",
        ),
        (
            json!({"provider_id": pid, "message": "a", "conversation_id": 1}),
            "provider_id",
        ),
        (
            json!({"conversation_id": 1, "messages": [{"role": "user", "content": "b"}]}),
            "messages",
        ),
    ];
    for (body, param) in cases {
        let (s, e, _) = app.post("/api/v1/chat", t, body.clone()).await;
        assert_eq!(s, 422, "{body} -> {e}");
        assert_eq!(e["error"]["param"], param, "{body} -> {e}");
    }
    let too_many: Vec<Value> = (0..11)
        .map(|_| json!({"data": "aGVsbG8=", "media_type": "image/png"}))
        .collect();
    let (s, e, _) = app
        .post(
            "/api/v1/chat",
            t,
            json!({"provider_id": pid, "message": "a", "images": too_many}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["param"], "images");
    assert_eq!(fake.request_count(), 0);

    // A provider the caller cannot use is 404, whole or streamed.
    let bob = app.register("bob").await;
    for stream in [false, true] {
        let (s, e, _) = app
            .post(
                "/api/v1/chat",
                Some(&bob.access_token),
                json!({"provider_id": pid, "message": "hi", "stream": stream}),
            )
            .await;
        assert_eq!(s, 404, "{e}");
        assert_eq!(e["error"]["code"], "provider_not_accessible");
    }
    assert_eq!(fake.request_count(), 0);
    assert!(app.usage_rows(admin.id).await.unwrap().is_empty());
}

async fn attached_chat_stores_both_messages(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let (s, conv, _) = app
        .post(
            "/api/v1/conversations",
            t,
            json!({"title": "Attached", "provider_id": pid}),
        )
        .await;
    assert!(s == 200 || s == 201, "{conv}");
    let cid = conv["id"].as_i64().expect("conversation id");

    let (s, r, _) = app
        .post(
            "/api/v1/chat",
            t,
            json!({"session_id": cid, "message": "Hello"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["text"], "Hello! How can I help?");
    assert_eq!(r["conversation_id"], cid);
    assert_eq!(r["provider"]["id"], pid);
    assert!(r["usage"]["cost"].is_string());
    let (s, d, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["messages"].as_array().expect("messages").len(), 2, "{d}");

    let resp = start(
        &app,
        &admin.access_token,
        json!({"conversation_id": cid, "message": "Again", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = SseReader::new(resp).rest().await;
    let kinds = types(&events);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("session"),
        "{events:?}"
    );
    assert_eq!(events[0]["conversation_id"], cid);
    assert_eq!(&kinds[kinds.len() - 2..], ["usage", "done"], "{events:?}");
    assert!(kinds.iter().any(|k| k == "content"), "{events:?}");
    let (_, d, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(d["messages"].as_array().expect("messages").len(), 4, "{d}");

    // Someone else's conversation is 404, like a random id, and nothing is stored.
    let bob = app.register("bob").await;
    for (id, stream) in [(cid, false), (cid, true), (987_654, false)] {
        let (s, e, _) = app
            .post(
                "/api/v1/chat",
                Some(&bob.access_token),
                json!({"conversation_id": id, "message": "hi", "stream": stream}),
            )
            .await;
        assert_eq!(s, 404, "{e}");
    }
    let (_, d, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(d["messages"].as_array().expect("messages").len(), 4);
    assert_eq!(fake.request_count(), 2);
}

both_backends!(
    attached_chat_stores_both_messages,
    chat_returns_text_and_usage,
    images_reach_the_vendor_as_image_parts,
    stream_sends_session_content_usage_done,
    abandoned_stream_is_billed_once_as_stopped,
    invalid_input_is_422_naming_the_field,
);
