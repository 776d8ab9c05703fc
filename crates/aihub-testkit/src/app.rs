//! [`TestApp`]: the real application (core + HTTP layer) on a loopback port over a throwaway
//! database, with JSON helpers to speak HTTP to it.
//!
//! The actix server future runs as a task of the test's tokio runtime (actix-server 2 starts
//! its accept thread and worker threads itself and needs no actix `System`); the
//! [`App`](aihub_core::App) and its background work (usage writer, generations) live on the
//! test's multi-threaded runtime, as in production.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use aihub_testkit::{TestApp, TestBackend};
//! let t = TestApp::start(TestBackend::Sqlite).await?;
//! let alice = t.register("alice").await;
//! let (status, body, _headers) = t.get("/api/v1/users/me", Some(&alice.access_token)).await;
//! assert_eq!(status, 200);
//! assert_eq!(body["username"], "alice");
//! t.stop().await;
//! # Ok(()) }
//! ```

use crate::db::{TestBackend, TestDb};
use aihub_core::{App, CoreConfig};
use aihub_store::usage::UsageRow;
use anyhow::Context;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aihub_http::HttpOptions;

/// The deployment secret of every test app (≥ 32 bytes).
pub const TEST_SECRET: &str = "aihub-testkit-secret-0123456789abcdef-0123456789abcdef";

/// The password [`TestApp::register`] gives every account.
pub const TEST_PASSWORD: &str = "correct horse battery";

/// The most usage rows [`TestApp::usage_rows`] returns.
const USAGE_ROWS_LIMIT: i64 = 10_000;

/// An account created by [`TestApp::register`], signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// `user.id` of the registration reply.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// JWT access token (for `Authorization: Bearer`).
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
}

/// The application served on `127.0.0.1:<random port>` over its own database.
///
/// Clones share one server and database: the first [`TestApp::stop`] (or
/// [`TestApp::try_stop`]) stops and removes them for every clone; later calls do nothing.
/// A `TestApp` dropped without `stop` leaves its server running until the test's runtime ends,
/// and drops its database on a helper thread.
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// An HTTP client for the server (no proxy, 60 s timeout, no redirects followed).
    pub client: reqwest::Client,
    /// The application state the server runs on (same instance as the handlers use).
    pub app: App,
    /// The database backend.
    pub backend: TestBackend,
    /// The database URL the app was started with.
    pub db_url: String,
    /// A per-test scratch directory (removed at stop), for tests that need files.
    pub data_dir: PathBuf,
    shared: Arc<Shared>,
}

struct Shared {
    server: actix_web::dev::ServerHandle,
    teardown: tokio::sync::Mutex<Option<Teardown>>,
}

/// What `stop` consumes, once.
struct Teardown {
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    db: TestDb,
    data_dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .field("backend", &self.backend)
            .field("db_url", &self.db_url)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// The test defaults applied on top of [`CoreConfig::new`]: bcrypt cost 4, usage flushed every
/// 50 ms, 5 s shutdown grace, 8 database connections.
pub fn test_config(database_url: String) -> CoreConfig {
    let mut config = CoreConfig::new(database_url, TEST_SECRET.to_owned().into());
    config.bcrypt_cost = 4;
    config.usage_flush_interval = Duration::from_millis(50);
    config.shutdown_grace = Duration::from_secs(5);
    config.max_db_connections = 8;
    // Fast backoff so retry tests take milliseconds; Retry-After up to 2 s is waited out.
    config.routing.retry_base_delay = Duration::from_millis(5);
    config.routing.retry_max_delay = Duration::from_secs(2);
    config
}

/// The test HTTP options: [`HttpOptions::default`] with 2 workers and a 5 s
/// shutdown timeout.
pub fn test_http_options() -> HttpOptions {
    HttpOptions {
        workers: 2,
        shutdown_timeout: Duration::from_secs(5),
        ..HttpOptions::default()
    }
}

impl TestApp {
    /// Starts the app on `backend` with [`test_config`] and [`test_http_options`].
    ///
    /// # Errors
    /// The database cannot be created or migrated, or the server cannot start.
    pub async fn start(backend: TestBackend) -> anyhow::Result<TestApp> {
        Self::start_with_options(backend, |_| {}, test_http_options()).await
    }

    /// Starts the app on `backend` after `configure` adjusted [`test_config`].
    ///
    /// # Errors
    /// As [`TestApp::start`].
    pub async fn start_with(
        backend: TestBackend,
        configure: impl FnOnce(&mut CoreConfig),
    ) -> anyhow::Result<TestApp> {
        Self::start_with_options(backend, configure, test_http_options()).await
    }

    /// Starts the app on `backend` after `configure` adjusted [`test_config`], with the given
    /// HTTP options (e.g. a small body limit).
    ///
    /// # Errors
    /// As [`TestApp::start`].
    pub async fn start_with_options(
        backend: TestBackend,
        configure: impl FnOnce(&mut CoreConfig),
        http_options: HttpOptions,
    ) -> anyhow::Result<TestApp> {
        let db = TestDb::create(backend).await?;
        let db_url = db.url.clone();
        let data_dir = match tempfile::Builder::new()
            .prefix("aihub-test-data-")
            .tempdir()
        {
            Ok(dir) => dir,
            Err(e) => {
                let _ = db.cleanup().await;
                return Err(anyhow::Error::new(e).context("creating the test data directory"));
            }
        };
        let mut config = test_config(db_url.clone());
        configure(&mut config);
        let app = match aihub_core::App::start(config, aihub_core::Pricing::builtin()).await {
            Ok(app) => app,
            Err(e) => {
                let _ = db.cleanup().await;
                return Err(anyhow::Error::new(e).context(format!("starting the app on {backend}")));
            }
        };
        let served = bind_and_serve(app.clone(), http_options);
        let (base_url, server) = match served {
            Ok(ok) => ok,
            Err(e) => {
                app.shutdown().await;
                let _ = db.cleanup().await;
                return Err(e);
            }
        };
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(TestApp {
            base_url,
            client,
            app,
            backend,
            db_url,
            data_dir: data_dir.path().to_owned(),
            shared: Arc::new(Shared {
                server: handle,
                teardown: tokio::sync::Mutex::new(Some(Teardown {
                    server_task,
                    db,
                    data_dir,
                })),
            }),
        })
    }

    /// Graceful stop: stops the server (waiting for in-flight requests), shuts the app down
    /// (generations end, usage is flushed, the pool closes), then removes the database and the
    /// data directory.
    ///
    /// # Panics
    /// When a step fails (see [`TestApp::try_stop`]).
    pub async fn stop(self) {
        if let Err(e) = self.try_stop().await {
            panic!("stopping the test app: {e:#}");
        }
    }

    /// [`TestApp::stop`], reporting failures instead of panicking. Does nothing when a clone
    /// already stopped.
    ///
    /// # Errors
    /// The server task failed, or the database or directory could not be removed (every step
    /// is attempted regardless).
    pub async fn try_stop(self) -> anyhow::Result<()> {
        let Some(teardown) = self.shared.teardown.lock().await.take() else {
            return Ok(());
        };
        self.shared.server.stop(true).await;
        let served = match teardown.server_task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("the HTTP server failed")),
            Err(e) => Err(anyhow::Error::new(e).context("the HTTP server task failed")),
        };
        self.app.shutdown().await;
        let db = teardown.db.cleanup().await;
        let dir = teardown
            .data_dir
            .close()
            .context("removing the data directory");
        served.and(db).and(dir)
    }

    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request with an optional bearer token and JSON body; returns the status, the
    /// body as JSON (`Null` when empty, a JSON string when not JSON) and the headers.
    ///
    /// # Panics
    /// When the request cannot be sent or the body cannot be read.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, HeaderMap) {
        let mut request = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: request failed: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body failed: {e}"));
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value, headers)
    }

    /// `GET path`. See [`TestApp::send`].
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value, HeaderMap) {
        self.send(Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body. See [`TestApp::send`].
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value, HeaderMap) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// `PUT path` with a JSON body. See [`TestApp::send`].
    pub async fn put(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value, HeaderMap) {
        self.send(Method::PUT, path, token, Some(body)).await
    }

    /// `PATCH path` with a JSON body. See [`TestApp::send`].
    pub async fn patch(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value, HeaderMap) {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    /// `DELETE path`. See [`TestApp::send`].
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value, HeaderMap) {
        self.send(Method::DELETE, path, token, None).await
    }

    /// Registers `username` (e-mail `<username>@example.com`, password [`TEST_PASSWORD`]) through
    /// `POST /api/v1/auth/register`. The first account of an app is the admin.
    ///
    /// # Panics
    /// Unless the reply is 201 with `user.id`, `access_token` and `refresh_token`.
    pub async fn register(&self, username: &str) -> TestUser {
        let body = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "password": TEST_PASSWORD,
            "confirm_password": TEST_PASSWORD,
        });
        let (status, reply, _) = self.post("/api/v1/auth/register", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "register {username}: {reply}");
        let text = |v: &Value, what: &str| -> String {
            v.as_str()
                .unwrap_or_else(|| panic!("register {username}: no {what} in {reply}"))
                .to_owned()
        };
        TestUser {
            id: reply["user"]["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("register {username}: no user.id in {reply}")),
            username: username.to_owned(),
            access_token: text(&reply["access_token"], "access_token"),
            refresh_token: text(&reply["refresh_token"], "refresh_token"),
        }
    }

    /// The stored usage records of `user_id`, newest first (only those the usage writer has
    /// flushed: see [`TestApp::wait_usage_rows`]).
    ///
    /// # Errors
    /// The database cannot be queried (e.g. after `stop`).
    pub async fn usage_rows(&self, user_id: i64) -> anyhow::Result<Vec<UsageRow>> {
        let mut pooled = self.app.db().get().await?;
        let rows = aihub_store::usage::list_for_user(&mut pooled.conn(), user_id, USAGE_ROWS_LIMIT)
            .await?;
        Ok(rows)
    }

    /// Polls [`TestApp::usage_rows`] until `user_id` has at least `count` rows (the writer
    /// flushes every 50 ms in tests), for at most 10 s.
    ///
    /// # Errors
    /// A query fails, or fewer than `count` rows appeared in time.
    pub async fn wait_usage_rows(
        &self,
        user_id: i64,
        count: usize,
    ) -> anyhow::Result<Vec<UsageRow>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let rows = self.usage_rows(user_id).await?;
            if rows.len() >= count {
                return Ok(rows);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "user {user_id} has {} usage rows after 10 s, expected {count}",
                    rows.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Binds `127.0.0.1:0` and builds the server on it; returns the base URL and the server.
fn bind_and_serve(
    app: App,
    options: HttpOptions,
) -> anyhow::Result<(String, actix_web::dev::Server)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let server = aihub_http::server(app, listener, options).context("building the HTTP server")?;
    Ok((format!("http://{addr}"), server))
}
