//! Secrets never leak: the real binary at `AIHUB_LOG=trace`, with a canary deployment secret,
//! a canary provider key (which the failing fake upstream echoes back in its error bodies), a
//! canary password and a developer key, runs the error paths; then its whole log, every
//! response it gave (except the one that hands out the developer key) and a dump of its
//! database are searched. The provider key may be in the database only encrypted, the
//! password only as a bcrypt hash, the developer key only as its hash.

use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestBackend, TestDb};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running `aihub serve` and every response it has given.
struct Served {
    base: String,
    client: reqwest::Client,
    seen: Vec<String>,
}

impl Served {
    /// Sends a request; records status, headers and body unless `secret_by_design`.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        secret_by_design: bool,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = format!("{:?}", resp.headers());
        let text = resp.text().await.unwrap();
        if !secret_by_design {
            self.seen.push(format!("{status} {headers} {text}"));
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The database's whole content as text.
fn dump(db: &TestDb) -> String {
    match db.backend {
        TestBackend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://");
            let mut text = String::new();
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        TestBackend::Postgres => {
            let (base, options) = db.url.split_once("?options=-csearch_path%3D").unwrap();
            let out = Command::new("pg_dump")
                .args([base, "--data-only", "--schema", options])
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    }
}

async fn no_secret_reaches_logs_responses_or_the_database(backend: TestBackend) {
    let db = TestDb::create(backend).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("aihub.log");
    let token = aihub_core::crypto::random_token;
    let secret = format!("deploy-canary-{}", token(40));
    let provider_key = format!("sk-canary-{}", token(24));
    let password = format!("Pw-canary-{}", token(16));
    let port = free_port();
    // One open file for both streams, so their lines interleave instead of overwriting.
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aihub"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("AIHUB_DATA_DIR", data.path())
        .env("AIHUB_PORT", port.to_string())
        .env("AIHUB_SECRET_KEY", &secret)
        .env("AIHUB_BCRYPT_COST", "4")
        .env("AIHUB_LOG", "trace")
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let mut s = Served {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        seen: Vec::new(),
    };
    let mut up = false;
    for _ in 0..100 {
        if let Ok(r) = s.client.get(format!("{}/health", s.base)).send().await
            && r.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the binary did not start");

    // Registration and logins, right and wrong.
    let register = json!({"username": "admin", "email": "admin@example.com", "password": password});
    let (st, auth) = s
        .send(Method::POST, "/api/v1/auth/register", None, register, false)
        .await;
    assert_eq!(st, 201, "{auth}");
    let jwt = auth["access_token"].as_str().unwrap().to_owned();
    let t = Some(jwt.as_str());
    let wrong = json!({"username": "admin", "password": format!("{password}x")});
    let (st, _) = s
        .send(Method::POST, "/api/v1/auth/login", None, wrong, false)
        .await;
    assert_eq!(st, 401);
    let right = json!({"username": "admin", "password": password});
    let (st, _) = s
        .send(Method::POST, "/api/v1/auth/login", None, right, false)
        .await;
    assert_eq!(st, 200);

    // A provider whose upstream refuses the key and quotes it back.
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
    let provider = json!({"name": "leaky", "kind": "openai_compatible", "scope": "organization",
        "api_key": provider_key, "base_url": fake.base_url(), "config": {"default_model": "gpt-4o-mini"}});
    let (st, p) = s
        .send(Method::POST, "/api/v1/providers", t, provider, false)
        .await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_i64().unwrap();
    let (_, test) = s
        .send(
            Method::POST,
            &format!("/api/v1/providers/{pid}/test"),
            t,
            json!({}),
            false,
        )
        .await;
    assert_eq!(test["error"]["code"], "provider_key_invalid", "{test}");
    let (st, conv) = s
        .send(
            Method::POST,
            "/api/v1/conversations",
            t,
            json!({"title": "t", "provider_id": pid}),
            false,
        )
        .await;
    assert_eq!(st, 201, "{conv}");
    let cid = conv["id"].as_i64().unwrap();
    for path in ["send", "stream"] {
        let (st, _) = s
            .send(
                Method::POST,
                &format!("/api/v1/conversations/{cid}/{path}"),
                t,
                json!({"content": "hi"}),
                false,
            )
            .await;
        assert_eq!(st, 502, "{path}");
    }
    fake.set_behavior(FakeBehavior::error(FakeMode::ServerErrorQuotingKey));
    let (st, _) = s
        .send(
            Method::POST,
            &format!("/api/v1/conversations/{cid}/send"),
            t,
            json!({"content": "hi"}),
            false,
        )
        .await;
    assert_eq!(st, 502);
    assert!(
        fake.last_authorization().unwrap().contains(&provider_key),
        "the key did go upstream"
    );

    // A developer key: handed out once (that response is its only sighting), then used on
    // the failing provider, and a near miss of it.
    let (st, created) = s
        .send(
            Method::POST,
            "/api/v1/keys",
            t,
            json!({"name": "app"}),
            true,
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let dev_key = created["key"].as_str().unwrap().to_owned();
    let chat =
        json!({"model": "leaky/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let (st, _) = s
        .send(
            Method::POST,
            "/v1/chat/completions",
            Some(&dev_key),
            chat.clone(),
            false,
        )
        .await;
    assert_eq!(st, 502);
    // The key with its last character changed (to one it does not already end with).
    let last = if dev_key.ends_with('x') { 'y' } else { 'x' };
    let near_miss = format!("{}{last}", &dev_key[..dev_key.len() - 1]);
    let (st, _) = s
        .send(
            Method::POST,
            "/v1/chat/completions",
            Some(&near_miss),
            chat,
            false,
        )
        .await;
    assert_eq!(st, 401);

    // Stop, then search everything.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log ran at trace level ({} bytes)",
        log.len()
    );
    let responses = s.seen.join("\n");
    let database = dump(&db);
    assert!(database.contains("leaky"), "the dump holds the data");
    let canaries = [
        ("deployment secret", secret.as_str()),
        ("provider key", provider_key.as_str()),
        ("password", password.as_str()),
        ("developer key", dev_key.as_str()),
    ];
    for (what, canary) in canaries {
        assert!(!log.contains(canary), "the {what} reached the log");
        assert!(!responses.contains(canary), "the {what} reached a response");
        assert!(
            !database.contains(canary),
            "the {what} is in the database in clear"
        );
    }
    // The developer key's random part is not stored either (only a prefix to show and a hash).
    let random_part = &dev_key[dev_key.len() - 16..];
    assert!(
        !database.contains(random_part),
        "the developer key's secret part is stored"
    );
    println!(
        "S4 secrets: 0 of 4 canaries in {} log bytes, {} responses, {} database bytes",
        log.len(),
        s.seen.len(),
        database.len()
    );
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_sqlite() {
    no_secret_reaches_logs_responses_or_the_database(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_postgres() {
    no_secret_reaches_logs_responses_or_the_database(TestBackend::Postgres).await;
}
