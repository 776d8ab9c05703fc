//! Authentication answers before validation: a caller with bad credentials learns nothing
//! about bodies, queries or ids, whichever extractor would have finished first.

use aihub_testkit::{TestApp, both_backends};
use futures_util::future::join_all;
use serde_json::json;

async fn bad_credentials_are_401_before_any_validation(app: TestApp) {
    let alice = app.register("alice").await;
    // A well-signed token of a session that has ended: only the database knows it is dead,
    // so its check is the slow one.
    let (s, _, _) = app
        .post("/api/v1/auth/logout", Some(&alice.access_token), json!({}))
        .await;
    assert_eq!(s, 200);
    let stale = alice.access_token.clone();
    let cases = [
        ("POST", "/api/v1/keys", json!({})),
        ("POST", "/api/v1/conversations", json!({"title": 7})),
        (
            "PATCH",
            "/api/v1/prompts/not-a-number",
            json!({"category_id": "x"}),
        ),
        (
            "GET",
            "/api/v1/conversations?page_size=0&is_pinned=maybe",
            json!(null),
        ),
    ];
    let app = &app;
    let mut calls = Vec::new();
    for _ in 0..25 {
        for token in ["garbage", stale.as_str()] {
            for (method, path, body) in &cases {
                calls.push(async move {
                    let (s, b, _) = match *method {
                        "POST" => app.post(path, Some(token), body.clone()).await,
                        "PATCH" => app.patch(path, Some(token), body.clone()).await,
                        _ => app.get(path, Some(token)).await,
                    };
                    (format!("{method} {path} ({token:.8})"), s.as_u16(), b)
                });
            }
        }
    }
    for (what, status, body) in join_all(calls).await {
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            matches!(
                body["error"]["code"].as_str(),
                Some("invalid_token" | "token_expired")
            ),
            "{what}: {body}"
        );
    }

    // The same on /v1 with a developer key that does not exist.
    let calls = (0..50).map(|_| {
        app.post(
            "/v1/chat/completions",
            Some("sk-aihub-0000000000000000000000000000000000000000"),
            json!({"model": 5, "messages": "none"}),
        )
    });
    for (status, body, _) in join_all(calls).await {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
    }
}

both_backends!(bad_credentials_are_401_before_any_validation);
