//! [`App`]: the shared state every use case runs against. Cheap to clone (one `Arc`).

use crate::auth::{JwtKeys, LoginThrottle};
use crate::crypto::KeyCipher;
use crate::pricing::Pricing;
use crate::providers::ProviderClients;
use crate::streams::StreamRegistry;
use crate::usage::StoreUsageSink;
use crate::{CoreConfig, Error, Result};
use aihub_billing::PricingCatalog;
use aihub_billing::{UsageWriter, UsageWriterHandle, WriterConfig};
use aihub_domain::ErrorCode;
use aihub_store::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A database that cannot be opened or migrated, as a use-case error.
fn unavailable(e: aihub_store::StoreError) -> Error {
    Error::new(ErrorCode::ServiceUnavailable, e.to_string())
}

/// Applies every pending migration to the database at `database_url` (created when it is a
/// missing SQLite file) and closes it; `aihub migrate`. Returns the backend's name (`sqlite`
/// or `postgres`).
///
/// # Errors
/// `service_unavailable` for an unknown scheme, an unreachable database or a failed
/// migration, with the cause in the message.
pub async fn migrate(database_url: &str) -> Result<&'static str> {
    let db = Db::connect(database_url, 1).await.map_err(unavailable)?;
    let backend = db.backend_name();
    db.close();
    Ok(backend)
}

/// The application: database, keys, caches, the usage writer and running generations.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: CoreConfig,
    pub(crate) db: Db,
    pub(crate) jwt: JwtKeys,
    pub(crate) cipher: KeyCipher,
    pub(crate) pricing: Arc<Pricing>,
    pub(crate) usage: UsageWriterHandle,
    usage_task: std::sync::Mutex<Option<JoinHandle<()>>>,
    pub(crate) streams: StreamRegistry,
    pub(crate) providers: ProviderClients,
    pub(crate) routing: crate::routing::RoutingState,
    pub(crate) rate_limiter: Box<dyn crate::limits::RateLimiter>,
    pub(crate) api_keys: crate::keys::ApiKeys,
    pub(crate) completion_cache: crate::completions::CompletionCache,
    pub(crate) login_throttle: LoginThrottle,
    pub(crate) sessions: crate::auth::SessionCache,
    pub(crate) dummy_hash: String,
    /// The multi-threaded runtime that owns background work (generations, the usage writer),
    /// so it outlives the HTTP workers during shutdown.
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) tasks: TaskTracker,
    pub(crate) shutdown: CancellationToken,
    draining: AtomicBool,
    started_at: Instant,
}

impl App {
    /// Connects to the database (migrating it), starts the usage writer, and builds the state.
    /// Must be called from the long-lived multi-threaded runtime: background work runs there.
    ///
    /// # Errors
    /// Any database connection or migration failure.
    pub async fn start(config: CoreConfig, pricing: Pricing) -> Result<App> {
        let db = Db::connect(&config.database_url, config.max_db_connections)
            .await
            .map_err(unavailable)?;
        let (usage, usage_task) = UsageWriter::spawn(
            Arc::new(StoreUsageSink::new(db.clone())),
            WriterConfig {
                channel_capacity: config.usage_channel_capacity,
                max_batch: config.usage_batch_size,
                flush_interval: config.usage_flush_interval,
                ..WriterConfig::default()
            },
        );
        let cost = config.bcrypt_cost;
        let dummy_hash = tokio::task::spawn_blocking(move || {
            bcrypt::non_truncating_hash("aihub-dummy-password", cost)
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
        Ok(App {
            inner: Arc::new(Inner {
                jwt: JwtKeys::new(&config.secret),
                cipher: KeyCipher::new(&config.secret),
                pricing: Arc::new(pricing),
                usage,
                usage_task: std::sync::Mutex::new(Some(usage_task)),
                streams: StreamRegistry::default(),
                providers: ProviderClients::default(),
                routing: crate::routing::RoutingState::new(&config.routing),
                rate_limiter: Box::new(crate::limits::InProcessLimiter::default()),
                api_keys: crate::keys::ApiKeys::start(db.clone()),
                completion_cache: crate::completions::CompletionCache::new(
                    config.completion_cache_ttl,
                    config.completion_cache_max_bytes,
                ),
                login_throttle: LoginThrottle::default(),
                sessions: crate::auth::SessionCache::new(config.session_cache_ttl),
                dummy_hash,
                runtime: tokio::runtime::Handle::current(),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                draining: AtomicBool::new(false),
                started_at: Instant::now(),
                db,
                config,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &CoreConfig {
        &self.inner.config
    }

    /// The database pool. Use cases take their connections here; tests and tools that need
    /// to look at rows directly do too. Handlers call use cases instead.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The database's backend: `sqlite` or `postgres`.
    pub fn database_backend(&self) -> &'static str {
        self.inner.db.backend_name()
    }

    /// Measures one database round trip (`SELECT 1`), for readiness checks.
    ///
    /// # Errors
    /// `service_unavailable` (or `internal_error`) when the database does not answer.
    pub async fn ping_database(&self) -> Result<Duration> {
        Ok(self.inner.db.ping().await?)
    }

    /// The deployment's price list.
    pub fn pricing(&self) -> &Pricing {
        &self.inner.pricing
    }

    /// The price list as billing reads it.
    pub(crate) fn price_catalog(&self) -> &PricingCatalog {
        self.inner.pricing.catalog()
    }

    /// The usage writer (counters for health and tests).
    pub fn usage_writer(&self) -> &UsageWriterHandle {
        &self.inner.usage
    }

    /// Usage records queued and not yet written.
    pub fn usage_pending(&self) -> u64 {
        self.inner.usage.stats().pending
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.inner.started_at.elapsed()
    }

    /// True once shutdown began: readiness answers 503.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Marks the app as draining (readiness goes 503) without stopping anything yet.
    pub fn begin_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Runs `fut` to completion on the app's multi-threaded runtime and waits for it.
    ///
    /// HTTP workers are single-threaded runtimes that drop a request's future when its client
    /// goes away. A dropped SQLite query (diesel-async's `SyncConnectionWrapper`) then blocks in
    /// place, which panics on a single-threaded runtime; and a write half done is worse than one
    /// finished. So handlers run their use case here: dropping the waiter does not cancel it.
    ///
    /// # Errors
    /// Whatever `fut` returns; `internal_error` if it panicked.
    pub async fn run<T, F>(&self, fut: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        // The caller's span (the request, with its id) follows the work to the app runtime.
        self.inner
            .runtime
            .spawn(tracing::Instrument::instrument(
                fut,
                tracing::Span::current(),
            ))
            .await
            .map_err(Error::internal)?
    }

    /// Number of generations running now.
    pub fn active_generations(&self) -> usize {
        self.inner.tasks.len()
    }

    /// Ends the app after the HTTP server stopped: waits up to `shutdown_grace` for running
    /// generations, cancels the rest (they save their partial replies and usage), then drains
    /// and flushes the usage writer and closes the pool. Nothing recorded is lost.
    pub async fn shutdown(&self) {
        self.begin_drain();
        let inner = &self.inner;
        inner.tasks.close();
        if tokio::time::timeout(inner.config.shutdown_grace, inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = inner.tasks.len(),
                "cancelling generations still running at shutdown"
            );
            inner.shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), inner.tasks.wait()).await;
        }
        inner.usage.shutdown().await;
        inner.api_keys.stop().await;
        let task = inner
            .usage_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "usage writer task failed");
        }
        inner.db.close();
    }
}
