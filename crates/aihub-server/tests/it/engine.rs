//! The one generation engine, checked from the client side at every entry point: each
//! outcome leaves exactly one usage record with the right status (and a conversation reply its
//! message with the right status), and every stream's body ends right after its terminal
//! event, whatever the ending, in all three event formats.

use crate::conversations::{admin_with_provider, new_conversation};
use crate::v1::api_key;
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Every way a prompt becomes a billed reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    V1,
    V1Stream,
    Chat,
    ChatStream,
    ChatAttachedStream,
    Completions,
    Send,
    Stream,
    CreateAndStream,
}

const ALL: [Entry; 9] = [
    Entry::V1,
    Entry::V1Stream,
    Entry::Chat,
    Entry::ChatStream,
    Entry::ChatAttachedStream,
    Entry::Completions,
    Entry::Send,
    Entry::Stream,
    Entry::CreateAndStream,
];

impl Entry {
    fn streams(self) -> bool {
        matches!(
            self,
            Entry::V1Stream
                | Entry::ChatStream
                | Entry::ChatAttachedStream
                | Entry::Stream
                | Entry::CreateAndStream
        )
    }

    /// Whether the reply is stored in a conversation.
    fn stores(self) -> bool {
        matches!(
            self,
            Entry::ChatAttachedStream | Entry::Send | Entry::Stream | Entry::CreateAndStream
        )
    }
}

struct Setup {
    admin: TestUser,
    key: String,
    pid: i64,
}

/// Sends `entry`'s request; returns the response and the conversation it writes to, if any.
async fn send(app: &TestApp, s: &Setup, entry: Entry) -> (reqwest::Response, Option<i64>) {
    let token = &s.admin.access_token;
    let conversation = if entry.stores() && entry != Entry::CreateAndStream {
        let conv =
            new_conversation(app, &s.admin, json!({"title": "e", "provider_id": s.pid})).await;
        conv["id"].as_i64()
    } else {
        None
    };
    let chat = json!({"model": "fake-openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]});
    let (path, body, bearer) = match entry {
        Entry::V1 => ("/v1/chat/completions".to_owned(), chat, &s.key),
        Entry::V1Stream => {
            let mut b = chat;
            b["stream"] = json!(true);
            ("/v1/chat/completions".to_owned(), b, &s.key)
        }
        Entry::Chat => (
            "/api/v1/chat".to_owned(),
            json!({"provider_id": s.pid, "message": "Hi"}),
            token,
        ),
        Entry::ChatStream => (
            "/api/v1/chat".to_owned(),
            json!({"provider_id": s.pid, "message": "Hi", "stream": true}),
            token,
        ),
        Entry::ChatAttachedStream => (
            "/api/v1/chat".to_owned(),
            json!({"conversation_id": conversation, "message": "Hi", "stream": true}),
            token,
        ),
        Entry::Completions => (
            "/api/v1/completions".to_owned(),
            json!({"provider_id": s.pid, "prompt": "Hi", "cache": false}),
            token,
        ),
        Entry::Send => (
            format!("/api/v1/conversations/{}/send", conversation.unwrap_or(0)),
            json!({"content": "Hi"}),
            token,
        ),
        Entry::Stream => (
            format!("/api/v1/conversations/{}/stream", conversation.unwrap_or(0)),
            json!({"content": "Hi"}),
            token,
        ),
        Entry::CreateAndStream => (
            "/api/v1/conversations/stream".to_owned(),
            json!({"provider_id": s.pid, "content": "Hi"}),
            token,
        ),
    };
    let resp = app
        .client
        .post(app.url(&path))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp, conversation)
}

/// What a stream's body carried.
struct Streamed {
    frames: Vec<String>,
    /// From the terminal frame's arrival to the end of the body.
    tail: Duration,
    /// The conversation id a create-and-stream announced.
    created: Option<i64>,
}

fn is_terminal(data: &str) -> bool {
    if data == "[DONE]" {
        return true;
    }
    let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    matches!(v["type"].as_str(), Some("done" | "error"))
        || v.get("error").is_some() && v.get("type").is_none()
}

/// Reads a stream to its end as a client decoding the chunked body would, timing the gap
/// between the terminal event and the end of the body.
async fn read_stream(resp: reqwest::Response) -> Streamed {
    let mut resp = resp;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let mut frames = Vec::new();
    let mut terminal_at = None;
    let mut created = None;
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
            .await
            .expect("the stream stalled")
            .expect("the stream broke");
        let Some(chunk) = chunk else { break };
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let data = frame.trim_end().strip_prefix("data: ").unwrap().to_owned();
            if let Ok(v) = serde_json::from_str::<Value>(&data)
                && v["type"] == "conversation"
            {
                created = v["conversation"]["id"].as_i64();
            }
            if is_terminal(&data) {
                assert!(terminal_at.is_none(), "a second terminal event: {data}");
                terminal_at = Some(Instant::now());
            }
            frames.push(data);
        }
    }
    let terminal_at = terminal_at.unwrap_or_else(|| panic!("no terminal event in {frames:?}"));
    Streamed {
        frames,
        tail: terminal_at.elapsed(),
        created,
    }
}

/// Waits until `before + 1` usage rows exist and no more arrive; returns the newest.
async fn one_more_usage_row(
    app: &TestApp,
    user_id: i64,
    before: usize,
) -> aihub_store::usage::UsageRow {
    app.wait_usage_rows(user_id, before + 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = app.usage_rows(user_id).await.unwrap();
    assert_eq!(rows.len(), before + 1, "exactly one usage record: {rows:?}");
    rows.into_iter().max_by_key(|r| r.id).unwrap()
}

/// The status of the conversation's assistant reply, if one is stored.
async fn reply_status(app: &TestApp, token: &str, conversation: i64) -> Option<String> {
    let (_, got, _) = app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            Some(token),
        )
        .await;
    got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

async fn setup(app: &TestApp, fake: &FakeOpenAi) -> Setup {
    let (admin, pid) = admin_with_provider(app, fake).await;
    let (s, b, _) = app
        .patch(
            &format!("/api/v1/providers/{pid}"),
            Some(&admin.access_token),
            json!({"config": {"default_model": "gpt-4o-mini", "max_retries": 0, "timeout_s": 1}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let key = api_key(app, &admin, json!({"name": "engine"})).await;
    Setup { admin, key, pid }
}

/// Runs every entry point in `entries` once under the fake's current behavior and checks the
/// usage status, the stored reply's status and (for streams) the terminal event and tail.
async fn each_entry(
    app: &TestApp,
    s: &Setup,
    entries: &[Entry],
    usage_status: &str,
    message_status: Option<&str>,
    terminal: &str,
) {
    for &entry in entries {
        let before = app.usage_rows(s.admin.id).await.unwrap().len();
        let (resp, mut conversation) = send(app, s, entry).await;
        if entry.streams() && terminal != "refused" {
            assert_eq!(resp.status(), 200, "{entry:?}");
            let streamed = read_stream(resp).await;
            conversation = conversation.or(streamed.created);
            let last = streamed.frames.last().unwrap();
            let kind = match serde_json::from_str::<Value>(last) {
                Ok(v) if v["type"].is_string() => v["type"].as_str().unwrap().to_owned(),
                Ok(_) => "error".to_owned(),
                Err(_) => last.clone(),
            };
            let expected = match (terminal, entry) {
                ("done", Entry::V1Stream) => "[DONE]",
                (t, _) => t,
            };
            assert_eq!(kind, expected, "{entry:?}: {:?}", streamed.frames);
            assert!(
                streamed.tail < Duration::from_millis(100),
                "{entry:?}: the body ended {:?} after its terminal event",
                streamed.tail
            );
        } else if terminal == "refused" {
            assert!(!resp.status().is_success(), "{entry:?}: {}", resp.status());
        } else {
            assert_eq!(
                resp.status(),
                200,
                "{entry:?}: {}",
                resp.text().await.unwrap()
            );
        }
        let row = one_more_usage_row(app, s.admin.id, before).await;
        assert_eq!(row.status, usage_status, "{entry:?}: {row:?}");
        assert!(
            row.generation_id
                .as_deref()
                .is_some_and(|g| g.starts_with("gen-"))
        );
        if entry.stores()
            && let Some(c) = conversation
        {
            let got = reply_status(app, &s.admin.access_token, c).await;
            assert_eq!(got.as_deref(), message_status, "{entry:?}");
        }
    }
}

async fn every_entry_point_bills_a_completed_reply_once(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let s = setup(&app, &fake).await;
    each_entry(&app, &s, &ALL, "success", Some("complete"), "done").await;
}

async fn every_entry_point_bills_a_failure_before_the_first_byte_once(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::ServerError));
    let s = setup(&app, &fake).await;
    // Nothing was generated: no reply is stored (the user message is kept).
    for entry in ALL.into_iter().filter(|e| *e != Entry::CreateAndStream) {
        // A success first, so the provider's circuit is closed (repeated failures would cool
        // it down, and a cooling-down provider is not called, so nothing would be billed).
        fake.set_behavior(FakeBehavior::default());
        each_entry(&app, &s, &[Entry::V1], "success", None, "done").await;
        fake.set_behavior(FakeBehavior::error(FakeMode::ServerError));
        each_entry(&app, &s, &[entry], "failed", None, "refused").await;
    }
}

async fn every_stream_bills_a_failure_after_the_first_byte_once(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InBandError));
    let s = setup(&app, &fake).await;
    let streams: Vec<Entry> = ALL.into_iter().filter(|e| e.streams()).collect();
    each_entry(&app, &s, &streams, "failed", Some("failed"), "error").await;
    // A stall mid-stream ends at the idle timeout (the provider's `timeout_s`, 1 s here).
    fake.set_behavior(FakeBehavior::error(FakeMode::StallMidStream));
    each_entry(&app, &s, &streams, "failed", Some("failed"), "error").await;
}

async fn every_stream_bills_a_client_that_went_away_once(app: TestApp) {
    let slow = || FakeBehavior::slow_stream(200, Duration::from_millis(20));
    let s = setup(&app, &FakeOpenAi::start(slow())).await;
    for entry in ALL.into_iter().filter(|e| e.streams()) {
        // A fresh upstream each time, so its disconnect is this entry's.
        let fake = FakeOpenAi::start(slow());
        let (st, b, _) = app
            .patch(
                &format!("/api/v1/providers/{}", s.pid),
                Some(&s.admin.access_token),
                json!({"base_url": fake.base_url()}),
            )
            .await;
        assert_eq!(st, 200, "{b}");
        let before = app.usage_rows(s.admin.id).await.unwrap().len();
        let (mut resp, conversation) = send(&app, &s, entry).await;
        assert_eq!(resp.status(), 200, "{entry:?}");
        // Read the first bytes, then go away.
        resp.chunk().await.unwrap().unwrap();
        drop(resp);
        assert!(
            fake.wait_for_disconnect(Duration::from_secs(2)).await,
            "{entry:?}: the upstream was not closed"
        );
        let row = one_more_usage_row(&app, s.admin.id, before).await;
        assert_eq!(row.status, "stopped", "{entry:?}: {row:?}");
        if let Some(c) = conversation {
            let got = reply_status(&app, &s.admin.access_token, c).await;
            assert_eq!(got.as_deref(), Some("stopped"), "{entry:?}");
        }
    }
}

both_backends!(
    every_entry_point_bills_a_completed_reply_once,
    every_entry_point_bills_a_failure_before_the_first_byte_once,
    every_stream_bills_a_failure_after_the_first_byte_once,
    every_stream_bills_a_client_that_went_away_once,
);
