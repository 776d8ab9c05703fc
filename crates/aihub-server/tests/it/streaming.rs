//! Streamed replies over SSE: the event sequence, stop, client disconnect, conflicts, errors
//! before the first byte, and graceful shutdown — with exactly one usage record each time.

use crate::conversations::{admin_with_provider, new_conversation};
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, both_backends};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

/// Reads SSE `data:` events from a response as they arrive.
pub(crate) struct SseReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl SseReader {
    pub(crate) fn new(resp: reqwest::Response) -> Self {
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        SseReader {
            stream: resp.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event, or `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let data = frame
                    .trim_end()
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("not an SSE data frame: {frame:?}"));
                return Some(serde_json::from_str(data).unwrap());
            }
            match tokio::time::timeout(Duration::from_secs(20), self.stream.next())
                .await
                .expect("SSE stalled")
            {
                Some(Ok(chunk)) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                Some(Err(e)) => panic!("SSE read failed: {e}"),
                None => {
                    assert!(
                        self.buf.trim().is_empty(),
                        "stream ended mid-frame: {:?}",
                        self.buf
                    );
                    return None;
                }
            }
        }
    }

    /// Every remaining event.
    pub(crate) async fn rest(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            out.push(e);
        }
        out
    }
}

/// Starts `POST /conversations/{id}/stream` and returns the raw response.
pub(crate) async fn start_stream(
    app: &TestApp,
    token: &str,
    conversation_id: i64,
    body: Value,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/conversations/{conversation_id}/stream")))
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

/// Waits for `n` usage rows, then makes sure no more arrive (no duplicates).
async fn exactly_usage_rows(
    app: &TestApp,
    user_id: i64,
    n: usize,
) -> Vec<aihub_store::usage::UsageRow> {
    let rows = app.wait_usage_rows(user_id, n).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = app.usage_rows(user_id).await.unwrap();
    assert_eq!(again.len(), n, "exactly {n} usage records: {again:?}");
    assert_eq!(rows.len(), n);
    again
}

async fn stream_sends_start_content_usage_done(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();

    let resp = start_stream(&app, &admin.access_token, id, json!({"content": "Hi"})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-request-id").is_some());
    let events = SseReader::new(resp).rest().await;
    assert_eq!(
        types(&events),
        [
            "start", "content", "content", "content", "content", "usage", "done"
        ]
    );
    let start = &events[0];
    assert_eq!(start["conversation_id"], id);
    let message_id = start["message_id"].as_i64().unwrap();
    assert!(start["user_message_id"].as_i64().unwrap() < message_id);
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content")
        .map(|e| e["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello! How can I help?");
    let usage = &events[5];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(9), Some(7))
    );
    assert_eq!(usage["estimated"], false);
    let done = &events[6];
    assert_eq!(done["message_id"], message_id);
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["status"], "complete");
    assert_eq!(done["total_tokens"], 16);
    assert_eq!(done["cost_nanos"], 5_550);

    // The upstream was asked for usage in the stream.
    let sent = fake.last_request_body().unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);

    let (_, got, _) = app
        .get(
            &format!("/api/v1/conversations/{id}"),
            Some(&admin.access_token),
        )
        .await;
    let reply = &got["messages"][1];
    assert_eq!(reply["id"], message_id);
    assert_eq!(reply["content"], "Hello! How can I help?");
    assert_eq!(reply["status"], "complete");
    assert_eq!(reply["cost_nanos"], 5_550);
    assert!(reply["response_time_ms"].as_i64().is_some());

    let rows = exactly_usage_rows(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].message_id, Some(message_id));
    assert!(
        rows[0].ttft_ms.is_some(),
        "time to first token is recorded for streams"
    );
}

async fn stop_keeps_the_partial_reply_and_closes_the_upstream(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(400, Duration::from_millis(25)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();

    let mut sse = SseReader::new(
        start_stream(&app, &admin.access_token, id, json!({"content": "Count"})).await,
    );
    assert_eq!(sse.next().await.unwrap()["type"], "start");
    for _ in 0..3 {
        assert_eq!(sse.next().await.unwrap()["type"], "content");
    }
    let (s, stop, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/stream/stop"),
            Some(&admin.access_token),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{stop}");
    assert_eq!(stop["status"], "stopped");
    assert_eq!(stop["stopped"], true);
    let partial = stop["message"]["content"].as_str().unwrap().to_owned();
    assert!(partial.starts_with("tok0 tok1 tok2 "), "{partial}");
    assert!(!partial.contains("tok399"), "stopped early");
    assert_eq!(stop["message"]["status"], "stopped");
    assert_eq!(stop["message"]["finish_reason"], "stopped");

    assert!(
        fake.wait_for_disconnect(Duration::from_secs(2)).await,
        "the upstream request was cancelled"
    );
    let rest = sse.rest().await;
    let tail = types(&rest);
    assert_eq!(&tail[tail.len() - 2..], ["usage", "done"], "{rest:?}");
    let done = rest.last().unwrap();
    assert_eq!(done["status"], "stopped");
    assert_eq!(done["finish_reason"], "stopped");

    // Billed for what was generated: counted locally, since the vendor's usage never came.
    let rows = exactly_usage_rows(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "stopped");
    assert!(rows[0].estimated);
    assert!(rows[0].completion_tokens > 0);
    let (_, got, _) = app
        .get(
            &format!("/api/v1/conversations/{id}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(got["messages"][1]["content"], partial.as_str());
    assert_eq!(
        got["messages"][1]["completion_tokens"],
        rows[0].completion_tokens
    );

    // Stopping again finds nothing running.
    let (s, again, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/stream/stop"),
            Some(&admin.access_token),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(again["status"], "not_streaming");
}

async fn client_disconnect_is_a_stop(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(400, Duration::from_millis(25)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();

    let mut sse = SseReader::new(
        start_stream(&app, &admin.access_token, id, json!({"content": "Count"})).await,
    );
    for _ in 0..3 {
        sse.next().await.unwrap();
    }
    drop(sse);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(3)).await,
        "the upstream saw the connection close"
    );
    let rows = exactly_usage_rows(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "stopped");
    let (_, got, _) = app
        .get(
            &format!("/api/v1/conversations/{id}"),
            Some(&admin.access_token),
        )
        .await;
    let reply = &got["messages"][1];
    assert_eq!(reply["status"], "stopped");
    assert!(
        reply["content"].as_str().unwrap().starts_with("tok0 tok1 "),
        "{reply}"
    );
}

async fn one_stream_per_conversation_and_errors_before_the_first_byte(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(200, Duration::from_millis(20)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = admin.access_token.clone();
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();

    let mut first = SseReader::new(start_stream(&app, &t, id, json!({"content": "one"})).await);
    first.next().await.unwrap();
    let second = start_stream(&app, &t, id, json!({"content": "two"})).await;
    assert_eq!(second.status(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    let (s, _, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/stream/stop"),
            Some(&t),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    first.rest().await;

    // Refused upstream before the first byte: an ordinary mapped error response, not SSE.
    fake.set_behavior(FakeBehavior::error(FakeMode::RateLimited {
        retry_after_secs: 3,
    }));
    let resp = start_stream(&app, &t, id, json!({"content": "three"})).await;
    assert_eq!(resp.status(), 429);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_rate_limited");
    assert_eq!(body["error"]["type"], "rate_limit_error");

    // Validation before anything else.
    let resp = start_stream(&app, &t, id, json!({"content": "x", "temperature": 2.5})).await;
    assert_eq!(resp.status(), 422);
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{id}/stream?timeout=0")))
        .bearer_auth(&t)
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);

    let rows = exactly_usage_rows(&app, admin.id, 2).await;
    let mut statuses: Vec<_> = rows.iter().map(|r| r.status.as_str()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["failed", "stopped"]);
}

async fn stream_failing_midway_ends_with_an_error_event(app: TestApp) {
    // The stream stalls after its first content chunk: the idle timeout ends it with an error
    // event, the partial reply is stored as failed, and its usage is recorded once. (A stall
    // before the first chunk reaches nobody: it is retried, then answered as a plain error.)
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::StallMidStream));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let t = admin.access_token.clone();
    let (s, _, _) = app
        .patch(
            &format!("/api/v1/providers/{pid}"),
            Some(&t),
            json!({"config": {"default_model": "gpt-4o-mini", "timeout_s": 1}}),
        )
        .await;
    assert_eq!(s, 200);
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();
    let events = SseReader::new(start_stream(&app, &t, id, json!({"content": "go"})).await)
        .rest()
        .await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{events:?}");
    let code = last["error"]["code"].as_str().unwrap();
    assert!(
        code == "upstream_timeout" || code == "upstream_unavailable",
        "{last}"
    );
    assert_eq!(events[events.len() - 2]["type"], "usage");
    let rows = exactly_usage_rows(&app, admin.id, 1).await;
    assert_eq!(rows[0].status, "failed");
    let (_, got, _) = app
        .get(&format!("/api/v1/conversations/{id}"), Some(&t))
        .await;
    assert_eq!(got["messages"][1]["status"], "failed");
    assert_eq!(
        got["messages"][1]["content"], "Hello",
        "the text before the stall is kept"
    );
}

async fn shutdown_lets_streams_finish_and_flushes_usage(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(20, Duration::from_millis(30)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();
    let mut sse =
        SseReader::new(start_stream(&app, &admin.access_token, id, json!({"content": "go"})).await);
    sse.next().await.unwrap();
    let reader = tokio::spawn(async move { sse.rest().await });

    // Shutdown while the stream runs: it is given its grace period and finishes normally.
    app.app.shutdown().await;
    let events = reader.await.unwrap();
    assert_eq!(events.last().unwrap()["type"], "done");
    assert_eq!(events.last().unwrap()["status"], "complete");
    let stats = app.app.usage_writer().stats();
    assert_eq!(
        (stats.recorded, stats.flushed, stats.dropped, stats.pending),
        (1, 1, 0, 0)
    );

    // The record is in the database (read through a fresh pool: the app's is closed).
    let db = aihub_store::Db::open(&app.db_url, 1).await.unwrap();
    let mut pooled = db.get().await.unwrap();
    let mut conn = pooled.conn();
    let rows = aihub_store::usage::list_for_user(&mut conn, admin.id, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "success");
    assert_eq!(rows[0].completion_tokens, 20);
}

async fn shutdown_past_its_grace_stops_streams_and_keeps_them(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(400, Duration::from_millis(25)));
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let conv = new_conversation(&app, &admin, json!({"title": "s", "provider_id": pid})).await;
    let id = conv["id"].as_i64().unwrap();
    let mut sse =
        SseReader::new(start_stream(&app, &admin.access_token, id, json!({"content": "go"})).await);
    for _ in 0..3 {
        sse.next().await.unwrap();
    }
    let reader = tokio::spawn(async move { sse.rest().await });
    // The test config's grace is 5 s; the stream would take 10 s, so shutdown cancels it.
    app.app.shutdown().await;
    let events = reader.await.unwrap();
    let done = events.last().unwrap();
    assert_eq!(done["type"], "done");
    assert_eq!(done["status"], "stopped");
    assert!(fake.wait_for_disconnect(Duration::from_secs(2)).await);
    let db = aihub_store::Db::open(&app.db_url, 1).await.unwrap();
    let mut pooled = db.get().await.unwrap();
    let mut conn = pooled.conn();
    let rows = aihub_store::usage::list_for_user(&mut conn, admin.id, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "stopped");
    let msgs = aihub_store::messages::list_for_conversation(&mut conn, id)
        .await
        .unwrap();
    assert_eq!(msgs[1].status, "stopped");
    assert!(msgs[1].content.starts_with("tok0 tok1 tok2 "));
}

both_backends!(
    stream_sends_start_content_usage_done,
    stop_keeps_the_partial_reply_and_closes_the_upstream,
    client_disconnect_is_a_stop,
    one_stream_per_conversation_and_errors_before_the_first_byte,
    stream_failing_midway_ends_with_an_error_event,
    shutdown_lets_streams_finish_and_flushes_usage,
    shutdown_past_its_grace_stops_streams_and_keeps_them,
);
