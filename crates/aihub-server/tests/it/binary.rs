//! The real `aihub` binary: it serves, and on SIGTERM first says "not ready" while it keeps
//! serving for the drain delay, then lets a running stream finish, flushes usage and exits 0,
//! so a rolling restart loses neither replies nor usage records.

use crate::streaming::SseReader;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestBackend, TestDb};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().await.unwrap()
}

/// Streams running when SIGTERM arrives.
const STREAMS: usize = 8;

async fn sigterm_finishes_streams_and_flushes_usage(backend: TestBackend) {
    let db = TestDb::create(backend).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aihub"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("AIHUB_DATA_DIR", data.path())
        .env("AIHUB_PORT", port.to_string())
        .env("AIHUB_BCRYPT_COST", "4")
        .env("AIHUB_LOG", "warn")
        .env("AIHUB_SHUTDOWN_TIMEOUT_S", "20")
        .env("AIHUB_SHUTDOWN_DRAIN_S", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the binary did not start");
    assert!(
        data.path().join("secret.key").exists(),
        "a secret was generated into the data directory"
    );

    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(30, Duration::from_millis(40)));
    let auth = post(&client, &format!("{base}/api/v1/auth/register"), None, json!({"username": "admin", "email": "admin@example.com", "password": "correct horse battery"})).await;
    let token = auth["access_token"].as_str().unwrap().to_owned();
    let provider = post(
        &client,
        &format!("{base}/api/v1/providers"),
        Some(&token),
        json!({"name": "fake", "kind": "openai_compatible", "scope": "organization", "base_url": fake.base_url(), "config": {"default_model": "gpt-4o-mini"}}),
    )
    .await;
    // Under load: several streams are running when SIGTERM arrives.
    let mut ids = Vec::new();
    let mut streams = Vec::new();
    for i in 0..STREAMS {
        let conv = post(
            &client,
            &format!("{base}/api/v1/conversations"),
            Some(&token),
            json!({"title": format!("t{i}"), "provider_id": provider["id"]}),
        )
        .await;
        let id = conv["id"].as_i64().unwrap();
        let resp = client
            .post(format!("{base}/api/v1/conversations/{id}/stream"))
            .bearer_auth(&token)
            .json(&json!({"content": "go"}))
            .send()
            .await
            .unwrap();
        let mut sse = SseReader::new(resp);
        assert_eq!(sse.next().await.unwrap()["type"], "start");
        ids.push(id);
        streams.push(sse);
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The drain: readiness fails so a load balancer stops routing here, while requests are
    // still answered (a fresh connection, as a new client would open).
    let mut saw_not_ready = false;
    for _ in 0..20 {
        let fresh = reqwest::Client::builder().no_proxy().build().unwrap();
        let ready = fresh
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        if ready.status() == 503 {
            saw_not_ready = true;
            let health = fresh.get(format!("{base}/health")).send().await.unwrap();
            assert_eq!(health.status(), 200, "still serving during the drain");
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(saw_not_ready, "readiness never answered 503 after SIGTERM");
    for mut sse in streams {
        let events = sse.rest().await;
        let done = events.last().unwrap();
        assert_eq!(done["type"], "done", "{events:?}");
        assert_eq!(
            done["status"], "complete",
            "every in-flight stream finished"
        );
    }

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");

    let store = aihub_store::Db::open(&db.url, 1).await.unwrap();
    let mut pooled = store.get().await.unwrap();
    let mut conn = pooled.conn();
    let rows = aihub_store::usage::list_for_user(&mut conn, 1, 100)
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        STREAMS,
        "every usage record was flushed before exit"
    );
    for row in &rows {
        assert_eq!(row.status, "success");
        assert_eq!(row.completion_tokens, 30);
    }
    for id in ids {
        let msgs = aihub_store::messages::list_for_conversation(&mut conn, id)
            .await
            .unwrap();
        assert_eq!(msgs.last().unwrap().status, "complete");
    }
    drop(pooled);
    store.close();
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sqlite() {
    sigterm_finishes_streams_and_flushes_usage(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_postgres() {
    sigterm_finishes_streams_and_flushes_usage(TestBackend::Postgres).await;
}
