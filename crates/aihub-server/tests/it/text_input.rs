//! Text no database can store, and bodies that are not objects, are refused up front with a
//! 422 naming the field, on both databases: PostgreSQL text cannot hold U+0000 (it answered
//! 500, and a NUL in a `/v1` model name used to sink a whole batch of usage records).

use crate::conversations::admin_with_provider;
use crate::http::assert_error;
use crate::v1::api_key;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use reqwest::Method;
use serde_json::json;

async fn nul_characters_and_non_object_bodies_are_422(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let cases = [
        (
            "/api/v1/conversations",
            json!({"title": "a\u{0}b"}),
            "title",
        ),
        (
            "/api/v1/conversations",
            json!({"title": "ok", "metadata": {"tags": ["x", "y\u{0}"]}}),
            "metadata.tags[1]",
        ),
        ("/api/v1/categories", json!({"name": "n\u{0}"}), "name"),
        (
            "/api/v1/prompts",
            json!({"title": "t", "content": "c\u{0}"}),
            "content",
        ),
        ("/api/v1/keys", json!({"name": "\u{0}"}), "name"),
        (
            "/api/v1/auth/login",
            json!({"username": "a\u{0}b", "password": "Password-123"}),
            "username",
        ),
    ];
    for (path, body, param) in cases {
        let reply = app.post(path, t, body).await;
        assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some(param),
        );
    }
    // Query strings and the OAuth2 form too.
    let reply = app.get("/api/v1/conversations?search=a%00b", t).await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("search"),
    );
    let resp = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin%00&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["param"], "username", "{b}");

    // A model name with NUL on /v1: refused, and the usage of good requests around it kept.
    let key = api_key(&app, &admin, json!({"name": "k"})).await;
    let good = json!({"model": "fake-openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let bad =
        json!({"model": "fake-openai/gpt\u{0}", "messages": [{"role": "user", "content": "hi"}]});
    let (s, _, _) = app
        .post("/v1/chat/completions", Some(&key), good.clone())
        .await;
    assert_eq!(s, 200);
    let (s, b, _) = app.post("/v1/chat/completions", Some(&key), bad).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"]["param"], "model", "{b}");
    let (s, _, _) = app.post("/v1/chat/completions", Some(&key), good).await;
    assert_eq!(s, 200);
    let rows = app.wait_usage_rows(admin.id, 2).await.unwrap();
    assert_eq!(rows.len(), 2);

    // Nothing of the refused requests was stored.
    let (_, list, _) = app.get("/api/v1/conversations", t).await;
    assert_eq!(list["pagination"]["total"], 0, "{list}");

    // An escaped backslash followed by `u0000` is text, not NUL.
    let (s, conv, _) = app
        .post(
            "/api/v1/conversations",
            t,
            json!({"title": "path C:\\u0000\\x", "provider_id": pid}),
        )
        .await;
    assert_eq!(s, 201, "{conv}");
    assert_eq!(conv["title"], "path C:\\u0000\\x");

    // A body must be an object: serde would read a struct from an array of its fields.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/auth/login",
            json!([null, "admin", "Password-123"]),
        ),
        (
            Method::POST,
            "/api/v1/categories",
            json!(["n", "#112233", "d"]),
        ),
        (Method::PATCH, "/api/v1/conversations/1", json!([null])),
    ] {
        let reply = app.send(method, path, t, Some(body)).await;
        assert_error(&reply, 422, "invalid_request_error", "invalid_json", None);
    }
}

both_backends!(nul_characters_and_non_object_bodies_are_422);
