//! `POST /conversations/stream` (create a conversation and stream its first reply, with a
//! `conversation` event first) and model settings filled from the caller's default
//! preference.

use crate::conversations::{admin_with_provider, new_conversation};
use crate::streaming::SseReader;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

const CREATE_AND_STREAM: &str = "/api/v1/conversations/stream";

async fn post_stream(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(CREATE_AND_STREAM))
        .bearer_auth(&user.access_token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn conversation_total(app: &TestApp, user: &TestUser) -> usize {
    let (s, body, _) = app
        .get("/api/v1/conversations", Some(&user.access_token))
        .await;
    assert_eq!(s, 200, "{body}");
    body["items"].as_array().expect("items").len()
}

async fn conversation_event_comes_first(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;

    let resp = post_stream(
        &app,
        &admin,
        json!({"provider_id": pid, "message": "Hello there\nsecond line", "is_pinned": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = SseReader::new(resp).rest().await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "conversation",
            "start",
            "content",
            "content",
            "content",
            "content",
            "usage",
            "done"
        ]
    );
    let conv = &events[0]["conversation"];
    let id = conv["id"].as_i64().unwrap();
    assert_eq!(conv["title"], "Hello there");
    assert_eq!(conv["provider_id"], pid);
    assert_eq!(conv["is_pinned"], true);
    assert!(conv.get("messages").is_none(), "{conv}");
    assert_eq!(events[1]["conversation_id"], id);
    assert_eq!(events[7]["status"], "complete");

    let (s, detail, _) = app
        .get(
            &format!("/api/v1/conversations/{id}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let roles: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    assert_eq!(detail["messages"][0]["content"], "Hello there\nsecond line");
    assert_eq!(detail["messages"][1]["content"], "Hello! How can I help?");
    // The object in the event is the one GET returns (before the reply was added).
    assert_eq!(detail["id"], conv["id"]);
    assert_eq!(detail["created_at"], conv["created_at"]);

    let rows = app.wait_usage_rows(admin.id, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = app.usage_rows(admin.id).await.unwrap();
    assert_eq!(again.len(), 1, "exactly one usage record: {again:?}");
    assert_eq!(rows[0].conversation_id, Some(id));
}

async fn errors_before_streaming_create_nothing(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;

    let resp = post_stream(
        &app,
        &admin,
        json!({"provider_id": 999_999, "content": "Hi"}),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider_not_accessible", "{body}");

    let resp = post_stream(&app, &admin, json!({"content": "Hi"})).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "provider_id", "{body}");

    let resp = post_stream(&app, &admin, json!({"provider_id": pid, "content": "  "})).await;
    assert_eq!(resp.status(), 422);

    let resp = post_stream(
        &app,
        &admin,
        json!({"provider_id": pid, "content": "Hi", "temperature": 5.0}),
    )
    .await;
    assert_eq!(resp.status(), 422);

    assert_eq!(conversation_total(&app, &admin).await, 0);
    assert_eq!(fake.request_count(), 0);
}

async fn default_preference_fills_model_settings(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    // Created before the preference: nothing stored, so the reply falls back to it.
    let older = new_conversation(&app, &admin, json!({"title": "old", "provider_id": pid})).await;
    assert_eq!(older["model"], Value::Null);

    let (s, pref, _) = app
        .post(
            "/api/v1/model-preferences",
            t,
            json!({
                "provider_kind": "openai_compatible",
                "model": "pref-model-x",
                "temperature": 0.3,
                "is_default": true
            }),
        )
        .await;
    assert_eq!(s, 201, "{pref}");

    // At creation: unset fields come from the default preference.
    let conv = new_conversation(&app, &admin, json!({"title": "new", "provider_id": pid})).await;
    assert_eq!(conv["model"], "pref-model-x");
    assert_eq!(conv["temperature"], 0.3);
    // What the request names wins.
    let named = new_conversation(
        &app,
        &admin,
        json!({"title": "named", "provider_id": pid, "model": "gpt-4o", "temperature": 1.0}),
    )
    .await;
    assert_eq!(named["model"], "gpt-4o");
    assert_eq!(named["temperature"], 1.0);

    // At reply time: a conversation with no model gets the preference's, not the provider's.
    let older_id = older["id"].as_i64().unwrap();
    let (s, body, _) = app
        .post(
            &format!("/api/v1/conversations/{older_id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let sent = fake.last_request_body().expect("the fake got a request");
    assert_eq!(sent["model"], "pref-model-x");
    assert_eq!(sent["temperature"], 0.3);

    // And through create-and-stream.
    let resp = post_stream(&app, &admin, json!({"provider_id": pid, "content": "Hi"})).await;
    assert_eq!(resp.status(), 200);
    let events = SseReader::new(resp).rest().await;
    assert_eq!(events[0]["conversation"]["model"], "pref-model-x");
    assert_eq!(events[1]["model"], "pref-model-x");
    let sent = fake.last_request_body().expect("the fake got a request");
    assert_eq!(sent["model"], "pref-model-x");
    assert_eq!(sent["temperature"], 0.3);
}

both_backends!(
    conversation_event_comes_first,
    errors_before_streaming_create_nothing,
    default_preference_fills_model_settings,
);
