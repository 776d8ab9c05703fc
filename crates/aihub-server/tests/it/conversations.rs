//! Conversations: CRUD, filters, IDOR, send (whole reply) with context, usage and cost.

use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};

/// Registers the admin (first account) and an organization provider pointing at `fake`,
/// with `gpt-4o-mini` as its default model. Returns the admin and the provider id.
pub(crate) async fn admin_with_provider(app: &TestApp, fake: &FakeOpenAi) -> (TestUser, i64) {
    let admin = app.register("admin").await;
    let pid = org_provider(app, &admin, &fake.base_url()).await;
    (admin, pid)
}

/// Creates an organization provider at `base_url` as `admin`.
pub(crate) async fn org_provider(app: &TestApp, admin: &TestUser, base_url: &str) -> i64 {
    let (s, body, _) = app
        .post(
            "/api/v1/providers",
            Some(&admin.access_token),
            json!({
                "name": "Fake OpenAI",
                "kind": "openai_compatible",
                "scope": "organization",
                "api_key": "sk-test-key-0123456789",
                "base_url": base_url,
                "config": {"default_model": "gpt-4o-mini"}
            }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// Grants organization provider `pid` to `user` directly in the database (no HTTP endpoint
/// grants providers yet).
pub(crate) async fn grant(app: &TestApp, pid: i64, user: &TestUser, admin: &TestUser) {
    let mut pooled = app.app.db().get().await.unwrap();
    let mut conn = pooled.conn();
    aihub_store::providers::grant(
        &mut conn,
        pid,
        user.id,
        admin.id,
        aihub_core::domain::time::now(),
    )
    .await
    .unwrap();
    // Cached routes of the gateway do not see a grant made behind the app's back.
    app.app.forget_routes();
}

pub(crate) async fn new_conversation(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, conv, _) = app
        .post("/api/v1/conversations", Some(&user.access_token), body)
        .await;
    assert_eq!(s, 201, "{conv}");
    conv
}

async fn crud_filters_and_pagination(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());

    let conv = new_conversation(
        &app,
        &admin,
        json!({
            "title": "Python notes",
            "provider_id": pid,
            "model": "gpt-4o-mini",
            "system_prompt": "Be brief.",
            "initial_message": "What is a list comprehension?",
            "max_tokens": 100,
            "temperature": 0.5,
            "metadata": {"tags": ["python", "learning"], "description": "study"}
        }),
    )
    .await;
    assert_eq!(conv["title"], "Python notes");
    assert_eq!(conv["message_count"], 1);
    assert_eq!(conv["metadata"]["tags"], json!(["python", "learning"]));
    assert_eq!(conv["messages"].as_array().unwrap().len(), 1);
    assert_eq!(conv["messages"][0]["role"], "user");
    assert_eq!(
        conv["messages"][0]["content"],
        "What is a list comprehension?"
    );
    assert_eq!(
        fake.request_count(),
        0,
        "creating with initial_message generates nothing"
    );
    let id = conv["id"].as_i64().unwrap();

    // A title defaults to the first line of the initial message.
    let untitled = new_conversation(
        &app,
        &admin,
        json!({"initial_message": "Plan a trip\nto Rome"}),
    )
    .await;
    assert_eq!(untitled["title"], "Plan a trip");
    let archived = new_conversation(
        &app,
        &admin,
        json!({"title": "Old stuff", "is_archived": true}),
    )
    .await;
    let pinned = new_conversation(
        &app,
        &admin,
        json!({"title": "Pinned one", "is_pinned": true}),
    )
    .await;

    // GET includes messages.
    let (s, got, _) = app.get(&format!("/api/v1/conversations/{id}"), t).await;
    assert_eq!(s, 200);
    assert_eq!(got["messages"][0]["status"], "complete");
    assert_eq!(got["system_prompt"], "Be brief.");

    // Default ordering: pinned first, then most recently updated.
    let (s, list, _) = app.get("/api/v1/conversations", t).await;
    assert_eq!(s, 200);
    assert_eq!(list["pagination"]["total"], 4);
    assert_eq!(list["items"][0]["id"], pinned["id"]);
    assert_eq!(list["pagination"]["page"], 1);
    assert_eq!(list["pagination"]["has_next"], false);

    let (_, l, _) = app.get("/api/v1/conversations?is_archived=true", t).await;
    assert_eq!(l["pagination"]["total"], 1);
    assert_eq!(l["items"][0]["id"], archived["id"]);
    let (_, l, _) = app.get("/api/v1/conversations?is_pinned=true", t).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let (_, l, _) = app.get("/api/v1/conversations?search=PYTHON", t).await;
    assert_eq!(l["pagination"]["total"], 1);
    assert_eq!(l["items"][0]["id"], id);
    let (_, l, _) = app.get("/api/v1/conversations?search=%25", t).await;
    assert_eq!(l["pagination"]["total"], 0, "LIKE wildcards are escaped");
    let (_, l, _) = app
        .get(&format!("/api/v1/conversations?provider_id={pid}"), t)
        .await;
    assert_eq!(l["pagination"]["total"], 1);

    let (_, l, _) = app
        .get("/api/v1/conversations?ordering=title&page_size=2", t)
        .await;
    let titles: Vec<_> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, vec!["Old stuff", "Pinned one"]);
    assert_eq!(l["pagination"]["total_pages"], 2);
    assert_eq!(l["pagination"]["has_next"], true);
    let (_, l, _) = app
        .get("/api/v1/conversations?ordering=title&page=2&page_size=2", t)
        .await;
    let titles: Vec<_> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, vec!["Plan a trip", "Python notes"]);
    assert_eq!(l["pagination"]["has_prev"], true);
    // `skip`/`limit` instead of `page`/`page_size`.
    let (_, l, _) = app
        .get("/api/v1/conversations?ordering=-title&skip=1&limit=1", t)
        .await;
    assert_eq!(l["items"][0]["title"], "Plan a trip");
    let (s, e, _) = app.get("/api/v1/conversations?ordering=bogus", t).await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["param"], "ordering");
    let (s, e, _) = app.get("/api/v1/conversations?page_size=101", t).await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["param"], "page_size");

    // PATCH and PUT are partial; null clears.
    let (s, upd, _) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            t,
            json!({"title": "Renamed", "is_pinned": true, "system_prompt": null}),
        )
        .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["title"], "Renamed");
    assert_eq!(upd["is_pinned"], true);
    assert_eq!(upd["system_prompt"], Value::Null);
    assert_eq!(upd["model"], "gpt-4o-mini", "absent fields are left");
    let (s, upd, _) = app
        .put(
            &format!("/api/v1/conversations/{id}"),
            t,
            json!({"metadata": {"tags": ["x"]}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(upd["metadata"], json!({"tags": ["x"]}));
    assert_eq!(upd["title"], "Renamed");

    let (s, _, _) = app.delete(&format!("/api/v1/conversations/{id}"), t).await;
    assert_eq!(s, 204);
    let (s, e, _) = app.get(&format!("/api/v1/conversations/{id}"), t).await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["code"], "not_found");
}

async fn invalid_input_names_the_field(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    for (body, param) in [
        (json!({"title": "x", "temperature": 3}), "temperature"),
        (json!({"title": "x", "max_tokens": 0}), "max_tokens"),
        (json!({"title": "x", "user_id": 99}), "user_id"),
        (json!({"title": "x", "metadata": [1, 2]}), "metadata"),
        (json!({"title": 5}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
    ] {
        let (s, e, _) = app.post("/api/v1/conversations", t, body.clone()).await;
        assert_eq!(s, 422, "{body} -> {e}");
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert_eq!(e["error"]["param"], param, "{body} -> {e}");
    }
    let (s, e, _) = app
        .post("/api/v1/conversations", t, json!({"provider_id": 999_999}))
        .await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["code"], "provider_not_accessible");
    assert_eq!(e["error"]["param"], "provider_id");

    // A conversation without a provider cannot generate.
    let conv = new_conversation(&app, &admin, json!({"title": "no provider"})).await;
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", conv["id"]),
            t,
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["param"], "provider_id");
    // Empty content.
    let conv = new_conversation(&app, &admin, json!({"title": "p", "provider_id": pid})).await;
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", conv["id"]),
            t,
            json!({"content": "  "}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["error"]["param"], "content");
    assert_eq!(fake.request_count(), 0);
}

fn without_request_id(mut v: Value) -> Value {
    v["request_id"] = Value::Null;
    v
}

async fn another_users_conversation_is_404(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let eve = app.register("eve").await;
    grant(&app, pid, &eve, &admin).await;
    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "secret", "provider_id": pid, "initial_message": "private"}),
    )
    .await;
    let id = conv["id"].as_i64().unwrap();
    let e = Some(eve.access_token.as_str());

    let (_, missing, _) = app.get("/api/v1/conversations/987654321", e).await;
    let missing = without_request_id(missing);
    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/conversations/{id}"), None),
        (
            "PATCH",
            format!("/api/v1/conversations/{id}"),
            Some(json!({"title": "pwned"})),
        ),
        (
            "PUT",
            format!("/api/v1/conversations/{id}"),
            Some(json!({"title": "pwned"})),
        ),
        ("DELETE", format!("/api/v1/conversations/{id}"), None),
        (
            "POST",
            format!("/api/v1/conversations/{id}/send"),
            Some(json!({"content": "hi"})),
        ),
        (
            "POST",
            format!("/api/v1/conversations/{id}/stream"),
            Some(json!({"content": "hi"})),
        ),
        (
            "POST",
            format!("/api/v1/conversations/{id}/stream/stop"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (s, b, _) = app.send(method.clone(), &path, e, body).await;
        assert_eq!(s, 404, "{method} {path}");
        assert_eq!(
            without_request_id(b),
            missing,
            "{method} {path}: body must match a missing id"
        );
    }
    assert_eq!(fake.request_count(), 0, "nothing reached the upstream");
    let (_, list, _) = app.get("/api/v1/conversations", e).await;
    assert_eq!(
        list["pagination"]["total"], 0,
        "lists show zero foreign rows"
    );

    let (s, still, _) = app
        .get(
            &format!("/api/v1/conversations/{id}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(still["title"], "secret");
    assert_eq!(still["message_count"], 1);
}

async fn send_bills_the_reply_and_respects_use_context(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "chat", "provider_id": pid, "system_prompt": "Be kind."}),
    )
    .await;
    let id = conv["id"].as_i64().unwrap();

    let (s, ex, h) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi there"}),
        )
        .await;
    assert_eq!(s, 200, "{ex}");
    assert!(h.get("x-request-id").is_some());
    assert_eq!(ex["user_message"]["role"], "user");
    assert_eq!(ex["user_message"]["content"], "Hi there");
    let a = &ex["assistant_message"];
    assert_eq!(a["role"], "assistant");
    assert_eq!(a["content"], "Hello! How can I help?");
    assert_eq!(a["status"], "complete");
    assert_eq!(a["finish_reason"], "stop");
    assert_eq!(a["model"], "gpt-4o-mini");
    assert_eq!(a["provider"], "openai_compatible");
    assert_eq!(a["prompt_tokens"], 9);
    assert_eq!(a["completion_tokens"], 7);
    assert_eq!(a["total_tokens"], 16);
    // gpt-4o-mini: $0.15 / $0.60 per million tokens → 9 × 150 + 7 × 600 nano-dollars.
    assert_eq!(a["cost_nanos"], 9 * 150 + 7 * 600);
    assert_eq!(a["metadata"]["with_context"], true);
    assert_eq!(a["metadata"]["tokens"]["estimated"], false);

    // The request upstream: system prompt, then the user message; the key as a bearer token.
    let sent = fake.last_request_body().unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi there"}])
    );
    assert_eq!(
        fake.last_authorization().as_deref(),
        Some("Bearer sk-test-key-0123456789")
    );

    // With context, the history goes along.
    let (s, _, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send?use_context=true"),
            t,
            json!({"content": "Again", "temperature": 0}),
        )
        .await;
    assert_eq!(s, 200);
    let sent = fake.last_request_body().unwrap();
    let roles: Vec<_> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, vec!["system", "user", "assistant", "user"]);
    assert_eq!(sent["temperature"], 0.0);

    // Without it: only the system prompt and the new message.
    let (s, ex, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send?use_context=false"),
            t,
            json!({"message": "Alone"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(ex["assistant_message"]["metadata"]["with_context"], false);
    let sent = fake.last_request_body().unwrap();
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Alone"}])
    );

    let (_, got, _) = app.get(&format!("/api/v1/conversations/{id}"), t).await;
    assert_eq!(got["message_count"], 6);
    assert!(got["last_message_at"].is_string());

    // Exactly one usage record per generation, with tokens, cost and the request id.
    let rows = app.wait_usage_rows(admin.id, 3).await.unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(r.status, "success");
        assert_eq!(
            (r.prompt_tokens, r.completion_tokens, r.total_tokens),
            (9, 7, 16)
        );
        assert_eq!(r.cost_nanos, 5_550);
        assert_eq!(r.currency, "USD");
        assert!(r.price_known);
        assert!(!r.estimated);
        assert_eq!(r.model, "gpt-4o-mini");
        assert_eq!(r.provider_id, Some(pid));
        assert_eq!(r.conversation_id, Some(id));
        assert!(r.message_id.is_some());
    }
    let mut ids: Vec<_> = rows.iter().map(|r| r.request_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

async fn upstream_errors_are_mapped_and_leak_nothing(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let conv = new_conversation(&app, &admin, json!({"title": "chat", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();

    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 502, "{e}");
    assert_eq!(e["error"]["type"], "upstream_error");
    assert_eq!(e["error"]["code"], "provider_key_invalid");
    assert!(
        !e.to_string().contains("sk-test-key"),
        "the key never appears in an error: {e}"
    );

    fake.set_behavior(FakeBehavior::error(FakeMode::RateLimited {
        retry_after_secs: 7,
    }));
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 429);
    assert_eq!(e["error"]["code"], "upstream_rate_limited");

    fake.set_behavior(FakeBehavior::error(FakeMode::ServerError));
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 502);
    assert_eq!(e["error"]["code"], "upstream_unavailable");

    fake.set_behavior(FakeBehavior::error(FakeMode::ContextLengthExceeded));
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["code"], "context_length_exceeded");

    // The user's messages are kept; every attempt has one failed usage record.
    let (_, got, _) = app.get(&format!("/api/v1/conversations/{id}"), t).await;
    assert_eq!(got["message_count"], 4);
    assert!(
        got["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["role"] == "user")
    );
    let rows = app.wait_usage_rows(admin.id, 4).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r.status == "failed" && r.total_tokens == 0 && r.cost_nanos == 0)
    );

    // An inactive provider is refused before any upstream call.
    let before = fake.request_count();
    let (s, _, _) = app
        .patch(
            &format!("/api/v1/providers/{pid}"),
            t,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Hi"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(e["error"]["code"], "provider_inactive");
    assert_eq!(fake.request_count(), before);
}

async fn granted_user_chats_through_an_organization_provider(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;
    let b = Some(bob.access_token.as_str());
    let (s, e, _) = app
        .post("/api/v1/conversations", b, json!({"provider_id": pid}))
        .await;
    assert_eq!(s, 404, "not granted yet: {e}");
    grant(&app, pid, &bob, &admin).await;
    let conv = new_conversation(&app, &bob, json!({"provider_id": pid, "title": "bob's"})).await;
    let (s, ex, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", conv["id"]),
            b,
            json!({"content": "hello"}),
        )
        .await;
    assert_eq!(s, 200, "{ex}");
    let rows = app.wait_usage_rows(bob.id, 1).await.unwrap();
    assert_eq!(
        rows.len(),
        1,
        "billed to the caller, not the provider's owner"
    );
    assert!(app.usage_rows(admin.id).await.unwrap().is_empty());
}

both_backends!(
    crud_filters_and_pagination,
    invalid_input_names_the_field,
    another_users_conversation_is_404,
    send_bills_the_reply_and_respects_use_context,
    upstream_errors_are_mapped_and_leak_nothing,
    granted_user_chats_through_an_organization_provider,
);
