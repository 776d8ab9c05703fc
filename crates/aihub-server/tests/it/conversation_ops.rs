//! Conversation operations: categories on conversations, bulk delete/archive, messages
//! listing and manual messages, clear, stats, recent messages, message-text search — each
//! scoped to the caller, with another user's ids answered like missing ones.

use crate::conversations::{admin_with_provider, new_conversation};
use crate::streaming::{SseReader, start_stream};
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

async fn new_category(app: &TestApp, user: &TestUser, name: &str) -> i64 {
    let (s, c, _) = app
        .post(
            "/api/v1/categories",
            Some(&user.access_token),
            json!({"name": name, "color": "#112233"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_i64().unwrap()
}

async fn titles(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let (s, l, _) = app
        .get(
            &format!("/api/v1/conversations?{query}"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(s, 200, "{query}: {l}");
    l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

async fn categories_on_conversations(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let t = Some(alice.access_token.as_str());
    let work = new_category(&app, &alice, "Work").await;
    let bobs = new_category(&app, &bob, "Bob's").await;

    let c = new_conversation(&app, &alice, json!({"title": "filed", "category_id": work})).await;
    assert_eq!(c["category_id"], work);
    assert_eq!(
        c["category"],
        json!({"id": work, "name": "Work", "color": "#112233"})
    );
    let plain = new_conversation(&app, &alice, json!({"title": "plain"})).await;
    assert_eq!(plain["category"], Value::Null);
    assert_eq!(plain["message_count"], 0);
    assert_eq!(plain["last_message_at"], Value::Null);

    // Someone else's or a missing category is a 404 naming the field, on create and update.
    for cid in [bobs, 999_999] {
        let (s, e, _) = app
            .post(
                "/api/v1/conversations",
                t,
                json!({"title": "x", "category_id": cid}),
            )
            .await;
        assert_eq!(s, 404, "{e}");
        assert_eq!(e["error"]["param"], "category_id");
        let (s, e, _) = app
            .patch(
                &format!("/api/v1/conversations/{}", id(&plain)),
                t,
                json!({"category_id": cid}),
            )
            .await;
        assert_eq!(s, 404, "{e}");
        assert_eq!(e["error"]["param"], "category_id");
    }
    let (_, g, _) = app
        .get(&format!("/api/v1/conversations/{}", id(&plain)), t)
        .await;
    assert_eq!(g["category_id"], Value::Null, "nothing changed");

    // PUT files it, the list shows the object and filters by it, null clears.
    let (s, u, _) = app
        .put(
            &format!("/api/v1/conversations/{}", id(&plain)),
            t,
            json!({"category_id": work}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["category"]["name"], "Work");
    new_conversation(&app, &alice, json!({"title": "other"})).await;
    let mut listed = titles(&app, &alice, &format!("category_id={work}")).await;
    listed.sort();
    assert_eq!(listed, ["filed", "plain"]);
    let (_, l, _) = app
        .get(&format!("/api/v1/conversations?category_id={work}"), t)
        .await;
    assert_eq!(l["items"][0]["category"]["id"], work);
    assert!(l["items"][0].get("message_count").is_some());
    assert!(l["items"][0].get("last_message_at").is_some());
    let (s, u, _) = app
        .patch(
            &format!("/api/v1/conversations/{}", id(&plain)),
            t,
            json!({"category_id": null}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["category_id"], Value::Null);
    assert_eq!(u["category"], Value::Null);
    assert_eq!(
        titles(&app, &alice, &format!("category_id={work}")).await,
        ["filed"]
    );
    // Bob filtering by Alice's category sees nothing.
    assert!(
        titles(&app, &bob, &format!("category_id={work}"))
            .await
            .is_empty()
    );
}

async fn bulk_operations_touch_only_own_rows(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let t = Some(alice.access_token.as_str());
    let mut mine = Vec::new();
    for i in 0..3 {
        mine.push(id(&new_conversation(
            &app,
            &alice,
            json!({"title": format!("a{i}")}),
        )
        .await));
    }
    let mut his = Vec::new();
    for i in 0..2 {
        his.push(id(&new_conversation(
            &app,
            &bob,
            json!({"title": format!("b{i}")}),
        )
        .await));
    }

    let ids = vec![mine[0], mine[1], his[0], his[1], 999_999];
    let (s, r, _) = app
        .post(
            "/api/v1/conversations/bulk-archive",
            t,
            json!({"ids": ids, "archived": true}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"updated": 2}));
    assert_eq!(
        titles(&app, &alice, "is_archived=true&ordering=title").await,
        ["a0", "a1"]
    );
    assert!(
        titles(&app, &bob, "is_archived=true").await.is_empty(),
        "bob untouched"
    );
    let (_, r, _) = app
        .post(
            "/api/v1/conversations/bulk-archive",
            t,
            json!({"ids": [mine[0]], "archived": false}),
        )
        .await;
    assert_eq!(r["updated"], 1);
    assert_eq!(titles(&app, &alice, "is_archived=true").await, ["a1"]);

    let (s, r, _) = app
        .post("/api/v1/conversations/bulk-delete", t, json!({"ids": ids}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"deleted": 2}));
    assert_eq!(titles(&app, &alice, "").await, ["a2"]);
    let mut left = titles(&app, &bob, "").await;
    left.sort();
    assert_eq!(left, ["b0", "b1"], "bob's rows are all there");
    for h in &his {
        let (s, _, _) = app
            .get(
                &format!("/api/v1/conversations/{h}"),
                Some(&bob.access_token),
            )
            .await;
        assert_eq!(s, 200);
    }

    // Bad input names the field.
    let too_many: Vec<i64> = (1..=1001).collect();
    for (path, body, param) in [
        ("bulk-delete", json!({"ids": []}), "ids"),
        ("bulk-delete", json!({"ids": too_many}), "ids"),
        ("bulk-delete", json!({"ids": [1], "force": true}), "force"),
        ("bulk-archive", json!({"ids": [], "archived": true}), "ids"),
        (
            "bulk-archive",
            json!({"ids": [1], "archived": "yes"}),
            "archived",
        ),
    ] {
        let (s, e, _) = app
            .post(&format!("/api/v1/conversations/{path}"), t, body.clone())
            .await;
        assert_eq!(s, 422, "{path} {body} -> {e}");
        assert_eq!(e["error"]["param"], param, "{path} {body} -> {e}");
    }
    let (s, _, _) = app
        .post(
            "/api/v1/conversations/bulk-delete",
            None,
            json!({"ids": [1]}),
        )
        .await;
    assert_eq!(s, 401);
}

async fn messages_are_listed_and_added(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let t = Some(alice.access_token.as_str());
    let conv = new_conversation(
        &app,
        &alice,
        json!({"title": "m", "initial_message": "first"}),
    )
    .await;
    let cid = id(&conv);
    let (s, m, _) = app
        .post(
            &format!("/api/v1/conversations/{cid}/messages"),
            t,
            json!({"role": "assistant", "content": "second"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["content"], "second");
    assert_eq!(m["conversation_id"], cid);
    assert_eq!(m["status"], "complete");
    for (role, text) in [("system", "third"), ("user", "fourth")] {
        let (s, _, _) = app
            .post(
                &format!("/api/v1/conversations/{cid}/messages"),
                t,
                json!({"role": role, "content": text}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(g["message_count"], 4);
    assert!(g["last_message_at"].is_string());

    let contents = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, l, _) = app
        .get(&format!("/api/v1/conversations/{cid}/messages"), t)
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(contents(&l), ["first", "second", "third", "fourth"]);
    assert_eq!(l["pagination"]["total"], 4);
    let (_, l, _) = app
        .get(
            &format!("/api/v1/conversations/{cid}/messages?page=2&page_size=3"),
            t,
        )
        .await;
    assert_eq!(contents(&l), ["fourth"]);
    let (_, l, _) = app
        .get(
            &format!("/api/v1/conversations/{cid}/messages?skip=1&limit=2"),
            t,
        )
        .await;
    assert_eq!(contents(&l), ["second", "third"]);

    // Bad input names the field and stores nothing.
    for (body, param) in [
        (json!({"role": "tool", "content": "x"}), "role"),
        (json!({"role": "wizard", "content": "x"}), "role"),
        (json!({"role": "user", "content": "  "}), "content"),
        (json!({"role": "user"}), "content"),
        (
            json!({"role": "user", "content": "x", "status": "failed"}),
            "status",
        ),
    ] {
        let (s, e, _) = app
            .post(
                &format!("/api/v1/conversations/{cid}/messages"),
                t,
                body.clone(),
            )
            .await;
        assert_eq!(s, 422, "{body} -> {e}");
        assert_eq!(e["error"]["param"], param, "{body} -> {e}");
    }
    let (s, _, _) = app
        .get(
            &format!("/api/v1/conversations/{cid}/messages?page_size=0"),
            t,
        )
        .await;
    assert_eq!(s, 422);
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(g["message_count"], 4);

    // Bob gets exactly the answer of a missing id, and nothing changes.
    let b = Some(bob.access_token.as_str());
    let (s1, e1, _) = app
        .get(&format!("/api/v1/conversations/{cid}/messages"), b)
        .await;
    let (s2, e2, _) = app.get("/api/v1/conversations/999999/messages", b).await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (404, 404));
    assert_eq!(e1["error"]["code"], e2["error"]["code"]);
    assert_eq!(e1["error"]["message"], e2["error"]["message"]);
    let body = json!({"role": "user", "content": "sneaky"});
    let (s1, e1, _) = app
        .post(
            &format!("/api/v1/conversations/{cid}/messages"),
            b,
            body.clone(),
        )
        .await;
    let (s2, e2, _) = app
        .post("/api/v1/conversations/999999/messages", b, body)
        .await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (404, 404));
    assert_eq!(e1["error"]["message"], e2["error"]["message"]);
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(g["message_count"], 4, "bob added nothing");
}

async fn clear_keeps_the_conversation_and_refuses_while_streaming(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(400, Duration::from_millis(25)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;
    let t = Some(admin.access_token.as_str());
    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "c", "provider_id": pid, "system_prompt": "Be brief.", "initial_message": "hi"}),
    )
    .await;
    let cid = id(&conv);
    app.post(
        &format!("/api/v1/conversations/{cid}/messages"),
        t,
        json!({"role": "assistant", "content": "hello"}),
    )
    .await;

    // Bob: 404 like a missing id, nothing deleted.
    let b = Some(bob.access_token.as_str());
    let (s1, e1, _) = app
        .post(&format!("/api/v1/conversations/{cid}/clear"), b, json!({}))
        .await;
    let (s2, e2, _) = app
        .post("/api/v1/conversations/999999/clear", b, json!({}))
        .await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (404, 404));
    assert_eq!(e1["error"]["message"], e2["error"]["message"]);
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(g["message_count"], 2);

    let (s, r, _) = app
        .post(&format!("/api/v1/conversations/{cid}/clear"), t, json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"status": "history_cleared", "deleted": 2}));
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(g["message_count"], 0);
    assert_eq!(g["last_message_at"], Value::Null);
    assert_eq!(g["system_prompt"], "Be brief.");
    assert_eq!(g["title"], "c");
    assert!(g["messages"].as_array().unwrap().is_empty());

    // While a reply streams: 409, nothing deleted.
    let mut sse = SseReader::new(
        start_stream(&app, &admin.access_token, cid, json!({"content": "Count"})).await,
    );
    assert_eq!(sse.next().await.unwrap()["type"], "start");
    let (s, e, _) = app
        .post(&format!("/api/v1/conversations/{cid}/clear"), t, json!({}))
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["code"], "conflict");
    let (_, g, _) = app.get(&format!("/api/v1/conversations/{cid}"), t).await;
    assert_eq!(
        g["message_count"], 2,
        "user message and the streaming reply"
    );
    let (s, _, _) = app
        .post(
            &format!("/api/v1/conversations/{cid}/stream/stop"),
            t,
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    while sse.next().await.is_some() {}
    let (s, r, _) = app
        .post(&format!("/api/v1/conversations/{cid}/clear"), t, json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["deleted"], 2);
}

async fn stats_and_recent_messages_are_the_callers(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;
    let t = Some(admin.access_token.as_str());

    let (s, empty, _) = app.get("/api/v1/conversations/stats", t).await;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty["total_conversations"], 0);
    assert_eq!(empty["average_messages_per_conversation"], 0.0);

    let a = new_conversation(
        &app,
        &admin,
        json!({"title": "Alpha", "provider_id": pid, "is_pinned": true}),
    )
    .await;
    let (s, ex, _) = app
        .post(
            &format!("/api/v1/conversations/{}/send", id(&a)),
            t,
            json!({"content": "hello"}),
        )
        .await;
    assert_eq!(s, 200, "{ex}");
    let tokens = ex["assistant_message"]["total_tokens"].as_i64().unwrap();
    assert!(tokens > 0);
    new_conversation(
        &app,
        &admin,
        json!({"title": "Beta", "is_archived": true, "initial_message": "one"}),
    )
    .await;
    new_conversation(
        &app,
        &bob,
        json!({"title": "Bob", "initial_message": "bob's"}),
    )
    .await;

    let (s, st, _) = app.get("/api/v1/conversations/stats", t).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(
        st,
        json!({
            "total_conversations": 2,
            "active_conversations": 1,
            "archived_conversations": 1,
            "pinned_conversations": 1,
            "total_messages": 3,
            "total_tokens": tokens,
            "average_messages_per_conversation": 1.5,
            "recent_activity": 2,
        })
    );
    let (_, bst, _) = app
        .get("/api/v1/conversations/stats", Some(&bob.access_token))
        .await;
    assert_eq!(bst["total_conversations"], 1);
    assert_eq!(bst["total_messages"], 1);
    assert_eq!(bst["total_tokens"], 0);

    let (s, r, _) = app.get("/api/v1/messages/recent", t).await;
    assert_eq!(s, 200, "{r}");
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["content"], "one", "newest first");
    assert_eq!(items[0]["conversation_title"], "Beta");
    assert_eq!(items[2]["content"], "hello");
    assert_eq!(items[2]["conversation_id"], id(&a));
    assert_eq!(items[2]["conversation_title"], "Alpha");
    assert!(items.iter().all(|m| m["content"] != "bob's"));
    let (_, r, _) = app.get("/api/v1/messages/recent?limit=1", t).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    for q in ["limit=0", "limit=101", "limit=x", "since=1"] {
        let (s, e, _) = app.get(&format!("/api/v1/messages/recent?{q}"), t).await;
        assert_eq!(s, 422, "{q} -> {e}");
    }
    let (s, e, _) = app.get("/api/v1/messages/recent?limit=101", t).await;
    assert_eq!(e["error"]["param"], "limit", "{s} {e}");
}

async fn search_can_match_message_text(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    new_conversation(
        &app,
        &alice,
        json!({"title": "Rust notes", "initial_message": "about lifetimes"}),
    )
    .await;
    new_conversation(
        &app,
        &alice,
        json!({"title": "Cooking", "initial_message": "Borrow a CUP of 100% sugar_free milk"}),
    )
    .await;
    new_conversation(&app, &alice, json!({"title": "Empty"})).await;
    new_conversation(
        &app,
        &bob,
        json!({"title": "Bob borrow", "initial_message": "borrow"}),
    )
    .await;

    assert!(
        titles(&app, &alice, "search=borrow").await.is_empty(),
        "title only by default"
    );
    assert_eq!(
        titles(&app, &alice, "search=borrow&search_messages=true").await,
        ["Cooking"]
    );
    assert_eq!(
        titles(&app, &alice, "search=cup&search_messages=true").await,
        ["Cooking"],
        "case-insensitive"
    );
    assert_eq!(
        titles(&app, &alice, "search=rust&search_messages=true").await,
        ["Rust notes"],
        "titles still match"
    );
    // `%` and `_` are literal characters, not wildcards.
    assert_eq!(
        titles(&app, &alice, "search=100%25&search_messages=true").await,
        ["Cooking"]
    );
    assert!(
        titles(&app, &alice, "search=1%25%25&search_messages=true")
            .await
            .is_empty()
    );
    assert_eq!(
        titles(&app, &alice, "search=r_f&search_messages=true").await,
        ["Cooking"]
    );
    assert!(
        titles(&app, &alice, "search=a_o&search_messages=true")
            .await
            .is_empty()
    );
}

both_backends!(
    categories_on_conversations,
    bulk_operations_touch_only_own_rows,
    messages_are_listed_and_added,
    clear_keeps_the_conversation_and_refuses_while_streaming,
    stats_and_recent_messages_are_the_callers,
    search_can_match_message_text,
    bulk_delete_leaves_a_foreign_stream_running,
);

async fn bulk_delete_leaves_a_foreign_stream_running(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(20, Duration::from_millis(30)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let alice = app.register("alice").await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let cid = id(&conv);
    let mut sse = SseReader::new(
        start_stream(&app, &admin.access_token, cid, json!({"content": "Count"})).await,
    );
    assert_eq!(sse.next().await.unwrap()["type"], "start");
    let (s, r, _) = app
        .post(
            "/api/v1/conversations/bulk-delete",
            Some(&alice.access_token),
            json!({"ids": [cid]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["deleted"], 0);
    let mut last = Value::Null;
    while let Some(e) = sse.next().await {
        last = e;
    }
    assert_eq!(last["type"], "done", "{last}");
    assert_eq!(last["status"], "complete", "{last}");
    let (s, g, _) = app
        .get(
            &format!("/api/v1/conversations/{cid}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(g["message_count"], 2);
}
