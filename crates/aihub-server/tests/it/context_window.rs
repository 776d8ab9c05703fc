//! Context building respects the model's context window: a normal conversation goes upstream
//! whole, and when the history does not fit the oldest turns are dropped (system prompt kept)
//! and the reply's metadata says so.

use crate::conversations::{admin_with_provider, new_conversation};
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

fn roles(sent: &Value) -> Vec<String> {
    sent["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["role"].as_str().expect("role").to_owned())
        .collect()
}

/// gpt-4o-mini has a 128,000-token window in the built-in catalog.
async fn history_fits_or_the_oldest_turns_are_dropped(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = Some(admin.access_token.as_str());
    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "long", "provider_id": pid, "system_prompt": "Be kind."}),
    )
    .await;
    let id = conv["id"].as_i64().expect("id");
    let url = format!("/api/v1/conversations/{id}/send?use_context=true");
    let long = "the quick brown fox jumps over the lazy dog ".repeat(40);

    // A normal conversation is not truncated: every turn goes upstream.
    for _ in 0..2 {
        let (s, ex, _) = app.post(&url, t, json!({"content": long})).await;
        assert_eq!(s, 200, "{ex}");
        let meta = &ex["assistant_message"]["metadata"];
        assert_eq!(meta["context_truncated"], false, "{meta}");
        assert!(meta.get("dropped_messages").is_none(), "{meta}");
    }
    let sent = fake.last_request_body().expect("request");
    assert_eq!(roles(&sent), ["system", "user", "assistant", "user"]);

    // Reserving nearly the whole window for the reply leaves room for the system prompt and
    // the new message only: the four stored turns are dropped, oldest first.
    let (s, ex, _) = app
        .post(&url, t, json!({"content": "Short?", "max_tokens": 127_900}))
        .await;
    assert_eq!(s, 200, "{ex}");
    let meta = &ex["assistant_message"]["metadata"];
    assert_eq!(meta["context_truncated"], true, "{meta}");
    assert_eq!(meta["dropped_messages"], 4, "{meta}");
    let sent = fake.last_request_body().expect("request");
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Short?"}])
    );

    // A smaller reserve keeps the newest exchange but drops the older one.
    let (s, ex, _) = app
        .post(&url, t, json!({"content": "Again?", "max_tokens": 127_400}))
        .await;
    assert_eq!(s, 200, "{ex}");
    let meta = &ex["assistant_message"]["metadata"];
    assert_eq!(meta["context_truncated"], true, "{meta}");
    let sent = fake.last_request_body().expect("request");
    let r = roles(&sent);
    assert_eq!(r.first().map(String::as_str), Some("system"));
    assert_eq!(r.get(1).map(String::as_str), Some("user"));
    assert_eq!(
        sent["messages"].as_array().expect("messages").last(),
        Some(&json!({"role": "user", "content": "Again?"}))
    );
    let dropped = meta["dropped_messages"].as_u64().expect("dropped count") as usize;
    // Stored turns now: 4 long-ish ones, then "Short?" and its reply.
    assert_eq!(r.len() + dropped, 1 + 6 + 1, "{r:?}");
    assert!(dropped >= 2, "{dropped}");
}

both_backends!(history_fits_or_the_oldest_turns_are_dropped);
