//! `POST /api/v1/completions`: one-shot prompts and the exact response cache — a second
//! identical call is served `from_cache` with no upstream request (the fake counts them),
//! billed at zero cost, and never across users.

use crate::conversations::{admin_with_provider, grant};
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

async fn complete(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, r, _) = app
        .post("/api/v1/completions", Some(&user.access_token), body)
        .await;
    assert_eq!(s, 200, "{r}");
    r
}

/// Waits for `n` usage rows of `user_id` (newest first), then checks no more arrive.
async fn usage(app: &TestApp, user_id: i64, n: usize) -> Vec<aihub_store::usage::UsageRow> {
    app.wait_usage_rows(user_id, n).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = app.usage_rows(user_id).await.unwrap();
    assert_eq!(rows.len(), n, "exactly {n} usage records: {rows:?}");
    rows
}

async fn identical_call_at_temperature_zero_is_served_from_cache(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let body = json!({
        "provider_id": pid,
        "prompt": "Напиши стихотворение о весне",
        "system_prompt": "Ты поэт",
        "max_tokens": 200,
        "temperature": 0
    });

    let first = complete(&app, &admin, body.clone()).await;
    assert_eq!(first["from_cache"], false);
    assert_eq!(first["text"], "Hello! How can I help?");
    assert_eq!(first["model"], "gpt-4o-mini");
    assert_eq!(first["provider"]["id"], pid);
    assert_eq!(first["provider"]["kind"], "openai_compatible");
    assert_eq!(first["finish_reason"], "stop");
    assert_eq!(first["usage"]["prompt_tokens"], 9);
    assert_eq!(first["usage"]["completion_tokens"], 7);
    assert_eq!(first["usage"]["total_tokens"], 16);
    assert!(first["usage"]["cost"].is_string());
    assert_eq!(first["usage"]["currency"], "USD");
    assert!(first["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(fake.request_count(), 1);
    let sent = fake.last_request_body().unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][0]["content"], "Ты поэт");
    assert_eq!(
        sent["messages"][1]["content"],
        "Напиши стихотворение о весне"
    );

    let second = complete(&app, &admin, body.clone()).await;
    assert_eq!(second["from_cache"], true, "{second}");
    assert_eq!(second["text"], first["text"]);
    assert_eq!(second["usage"]["total_tokens"], 16);
    assert_eq!(second["usage"]["cost"], "0.000000000");
    assert_ne!(second["id"], first["id"]);
    assert_eq!(fake.request_count(), 1, "no upstream request on a hit");

    // The model can also be named with its provider prefix instead of provider_id.
    let mut by_model = body.clone();
    by_model["provider_id"] = Value::Null;
    by_model["model"] = json!("fake-openai/gpt-4o-mini");
    let third = complete(&app, &admin, by_model).await;
    assert_eq!(third["from_cache"], true, "{third}");
    assert_eq!(fake.request_count(), 1);

    let rows = usage(&app, admin.id, 3).await;
    // Newest first: two hits at zero cost, then the upstream call.
    for hit in &rows[..2] {
        assert_eq!(hit.status, "success");
        assert_eq!(hit.cost_nanos, 0, "a cache hit costs nothing: {rows:?}");
        assert_eq!(hit.prompt_tokens, 9);
        assert_eq!(hit.completion_tokens, 7);
        assert!(!hit.estimated);
        assert_eq!(hit.provider_id, Some(pid));
    }
    assert_eq!(rows[2].status, "success");
    assert!(
        rows[2].cost_nanos > 0,
        "the upstream call is billed: {rows:?}"
    );

    // A different prompt misses.
    let mut other = body.clone();
    other["prompt"] = json!("Something else");
    let r = complete(&app, &admin, other).await;
    assert_eq!(r["from_cache"], false);
    assert_eq!(fake.request_count(), 2);
}

async fn cache_only_at_temperature_zero_or_on_request(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let warm = json!({"provider_id": pid, "prompt": "Summarise Python", "temperature": 0.7});

    // Temperature 0.7 without the flag: both calls go upstream.
    assert_eq!(
        complete(&app, &admin, warm.clone()).await["from_cache"],
        false
    );
    assert_eq!(
        complete(&app, &admin, warm.clone()).await["from_cache"],
        false
    );
    assert_eq!(fake.request_count(), 2);

    // `cache: true` caches at 0.7.
    let mut cached = warm.clone();
    cached["cache"] = json!(true);
    assert_eq!(
        complete(&app, &admin, cached.clone()).await["from_cache"],
        false
    );
    assert_eq!(
        complete(&app, &admin, cached.clone()).await["from_cache"],
        true
    );
    assert_eq!(fake.request_count(), 3);

    // `cache: false` bypasses, even at temperature 0 with an entry present.
    let cold = json!({"provider_id": pid, "prompt": "Summarise Rust", "temperature": 0});
    assert_eq!(
        complete(&app, &admin, cold.clone()).await["from_cache"],
        false
    );
    assert_eq!(fake.request_count(), 4);
    let mut bypass = cold.clone();
    bypass["cache"] = json!(false);
    assert_eq!(complete(&app, &admin, bypass).await["from_cache"], false);
    assert_eq!(fake.request_count(), 5);
    assert_eq!(complete(&app, &admin, cold).await["from_cache"], true);
    assert_eq!(fake.request_count(), 5);
}

async fn cached_entries_are_not_shared_between_users(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;
    grant(&app, pid, &bob, &admin).await;
    let body = json!({"provider_id": pid, "prompt": "Same question", "temperature": 0});

    assert_eq!(
        complete(&app, &admin, body.clone()).await["from_cache"],
        false
    );
    assert_eq!(
        complete(&app, &admin, body.clone()).await["from_cache"],
        true
    );
    assert_eq!(fake.request_count(), 1);

    let r = complete(&app, &bob, body.clone()).await;
    assert_eq!(r["from_cache"], false, "no cross-user cache hit: {r}");
    assert_eq!(fake.request_count(), 2);
    let rows = usage(&app, bob.id, 1).await;
    assert!(rows[0].cost_nanos > 0, "bob pays for his own call");
}

async fn invalid_input_names_the_field(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    for (body, param) in [
        (
            json!({"provider_id": pid, "prompt": "x", "temperature": 3}),
            "temperature",
        ),
        (
            json!({"provider_id": pid, "prompt": "x", "max_tokens": 0}),
            "max_tokens",
        ),
        (json!({"provider_id": pid, "prompt": ""}), "prompt"),
        (json!({"provider_id": pid, "prompt": "   "}), "prompt"),
        (
            json!({"provider_id": pid, "prompt": "x", "stream": true}),
            "stream",
        ),
        (json!({"provider_id": pid}), "prompt"),
        (json!({"prompt": "x"}), "model"),
    ] {
        let (s, e, _) = app.post("/api/v1/completions", t, body.clone()).await;
        assert_eq!(s, 422, "{body} -> {e}");
        assert_eq!(e["error"]["param"], param, "{body} -> {e}");
    }
    let (s, e, _) = app
        .post(
            "/api/v1/completions",
            t,
            json!({"prompt": "x", "model": "nobody/none"}),
        )
        .await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["error"]["code"], "model_not_found");
    assert_eq!(e["error"]["param"], "model");
    assert_eq!(fake.request_count(), 0);

    // A provider the caller cannot use is 404.
    let bob = app.register("bob").await;
    let (s, e, _) = app
        .post(
            "/api/v1/completions",
            Some(&bob.access_token),
            json!({"provider_id": pid, "prompt": "hi"}),
        )
        .await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["error"]["code"], "provider_not_accessible");
    let (s, _, _) = app
        .post(
            "/api/v1/completions",
            t,
            json!({"provider_id": 999_999, "prompt": "hi"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = app
        .post(
            "/api/v1/completions",
            None,
            json!({"provider_id": pid, "prompt": "hi"}),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(fake.request_count(), 0);
}

async fn upstream_failures_are_not_cached(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(
        aihub_testkit::fake_openai::FakeMode::ContextLengthExceeded,
    ));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let body = json!({"provider_id": pid, "prompt": "hi", "temperature": 0});
    let (s, e, _) = app
        .post(
            "/api/v1/completions",
            Some(&admin.access_token),
            body.clone(),
        )
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {e}");
    let failed = fake.request_count();
    assert!(failed >= 1);
    fake.set_behavior(FakeBehavior::default());
    let r = complete(&app, &admin, body).await;
    assert_eq!(r["from_cache"], false);
    assert_eq!(fake.request_count(), failed + 1);
    let rows = usage(&app, admin.id, 2).await;
    assert_eq!(rows[1].status, "failed");
    assert_eq!(rows[0].status, "success");
}

async fn default_preference_fills_omitted_settings(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let (s, b, _) = app
        .post(
            "/api/v1/model-preferences",
            Some(&admin.access_token),
            json!({
                "provider_kind": "openai_compatible",
                "model": "gpt-4o",
                "max_tokens": 50,
                "temperature": 0,
                "system_prompt": "Answer in one line.",
                "is_default": true
            }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let body = json!({"provider_id": pid, "prompt": "What is Rust?"});
    let first = complete(&app, &admin, body.clone()).await;
    assert_eq!(first["from_cache"], false);
    let sent = fake.last_request_body().unwrap();
    // One order for every setting: the preference comes before the provider's config, so the
    // preference's model wins over the provider's `default_model`.
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["max_tokens"], 50, "{sent}");
    assert_eq!(sent["temperature"], 0.0, "{sent}");
    assert_eq!(sent["messages"][0]["content"], "Answer in one line.");
    // Temperature 0 from the preference makes the call cacheable.
    assert_eq!(complete(&app, &admin, body).await["from_cache"], true);
    assert_eq!(fake.request_count(), 1);
}

both_backends!(
    identical_call_at_temperature_zero_is_served_from_cache,
    cache_only_at_temperature_zero_or_on_request,
    cached_entries_are_not_shared_between_users,
    invalid_input_names_the_field,
    upstream_failures_are_not_cached,
    default_preference_fills_omitted_settings,
);
