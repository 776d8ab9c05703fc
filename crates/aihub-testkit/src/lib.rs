#![doc = include_str!("../README.md")]
//! AI Hub test harness: the app on a loopback port, test databases, fake vendor servers and
//! fixtures. Dev-only: no production crate depends on it.
//!
//! Every integration test runs on SQLite and on PostgreSQL with [`both_backends!`]:
//!
//! ```ignore
//! use aihub_testkit::TestApp;
//!
//! async fn me_returns_the_account(t: TestApp) {
//!     let alice = t.register("alice").await;
//!     let (status, body, _) = t.get("/api/v1/users/me", Some(&alice.access_token)).await;
//!     assert_eq!(status, 200, "{body}");
//! }
//! aihub_testkit::both_backends!(me_returns_the_account);
//! // → tests `me_returns_the_account::sqlite` and `me_returns_the_account::postgres`
//! ```

pub mod app;
pub mod db;
pub mod fake_anthropic;
pub mod fake_gemini;
pub mod fake_ollama;
pub mod fake_openai;
mod fake_server;

pub use app::{TEST_PASSWORD, TestApp, TestUser};
pub use db::{TestBackend, TestDb};
pub use reqwest::StatusCode;
pub use reqwest::header::HeaderMap;

/// Generates, for each named `async fn NAME(app: TestApp)`, a module `NAME` with two tests,
/// `NAME::sqlite` and `NAME::postgres` (so `cargo test postgres` selects one backend). Each
/// starts a [`TestApp`] on its backend in a 2-worker multi-threaded tokio runtime, runs the
/// function in a spawned task, ALWAYS stops the app and removes its database, and then
/// re-raises the function's panic.
///
/// ```ignore
/// async fn health_is_ok(t: aihub_testkit::TestApp) { /* … */ }
/// async fn login_works(t: aihub_testkit::TestApp) { /* … */ }
/// aihub_testkit::both_backends!(health_is_ok, login_works);
/// ```
///
/// The function's future must be `Send + 'static` (it runs under `tokio::spawn`). The
/// generated tests name tokio through this crate, so the test crate needs no tokio dependency.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[$crate::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "::aihub_testkit::__private::tokio"
            )]
            async fn sqlite() {
                $crate::__private::run_test($crate::TestBackend::Sqlite, super::$name).await;
            }

            #[$crate::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "::aihub_testkit::__private::tokio"
            )]
            async fn postgres() {
                $crate::__private::run_test($crate::TestBackend::Postgres, super::$name).await;
            }
        }
    )+};
}

/// Support for [`both_backends!`]; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;

    use crate::{TestApp, TestBackend};
    use std::future::Future;

    /// Starts a [`TestApp`] on `backend`, runs `test` on a clone in a spawned task, always
    /// stops the app, then re-raises the test's panic (or a teardown failure).
    pub async fn run_test<F, Fut>(backend: TestBackend, test: F)
    where
        F: FnOnce(TestApp) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let app = match TestApp::start(backend).await {
            Ok(app) => app,
            Err(e) => panic!("starting the test app on {backend}: {e:#}"),
        };
        let outcome = tokio::spawn(test(app.clone())).await;
        let stopped = app.try_stop().await;
        match outcome {
            Ok(()) => {
                if let Err(e) = stopped {
                    panic!("stopping the test app on {backend}: {e:#}");
                }
            }
            Err(e) => {
                if let Err(stop) = stopped {
                    eprintln!("aihub-testkit: also failed to stop the test app: {stop:#}");
                }
                match e.try_into_panic() {
                    Ok(payload) => std::panic::resume_unwind(payload),
                    Err(e) => panic!("the test task on {backend} did not finish: {e}"),
                }
            }
        }
    }
}
