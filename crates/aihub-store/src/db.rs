//! The pool over either backend, chosen from the database URL's scheme, and the
//! [`on_conn!`](crate::on_conn) pattern that compiles every query for both.

use crate::StoreError;
use diesel::SqliteConnection;
use diesel::connection::SimpleConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An async SQLite connection: diesel's sync connection run on tokio's blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// Which database a URL names. Parsing never guesses: an unknown scheme is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://<path>` (relative or absolute path to the database file).
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to the driver unchanged.
    Postgres(String),
}

impl Backend {
    /// Reads the backend from a database URL.
    ///
    /// # Errors
    /// [`StoreError::Config`] for any scheme other than `sqlite://`, `postgres://`,
    /// `postgresql://`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Config("sqlite:// URL has no file path".into()));
            }
            Ok(Backend::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_owned()))
        } else {
            let scheme = url.split("://").next().unwrap_or(url);
            Err(StoreError::Config(format!(
                "unsupported DATABASE_URL scheme `{scheme}`: use sqlite://<file> or postgres://…"
            )))
        }
    }

    /// `sqlite` or `postgres`, for logs and health output.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A connection pool over SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub enum Db {
    /// An embedded SQLite file (WAL, foreign keys on, busy timeout 5 s).
    Sqlite(Pool<SqliteConn>),
    /// A PostgreSQL server, with the URL it was opened with (migrations open their own
    /// connection).
    Postgres(Pool<AsyncPgConnection>, std::sync::Arc<str>),
}

/// A borrowed connection of either backend; every query function takes `&mut DbConn<'_>` so
/// that it composes inside a transaction.
pub enum DbConn<'a> {
    /// SQLite.
    Sqlite(&'a mut SqliteConn),
    /// PostgreSQL.
    Postgres(&'a mut AsyncPgConnection),
}

/// A connection checked out of the pool; [`PooledConn::conn`] borrows it as a [`DbConn`].
#[expect(
    clippy::large_enum_variant,
    reason = "lives briefly on the stack per request; boxing would allocate on every checkout"
)]
pub enum PooledConn {
    /// SQLite.
    Sqlite(Object<SqliteConn>),
    /// PostgreSQL.
    Postgres(Object<AsyncPgConnection>),
}

impl PooledConn {
    /// Borrows the connection for queries.
    pub fn conn(&mut self) -> DbConn<'_> {
        match self {
            PooledConn::Sqlite(c) => DbConn::Sqlite(c),
            PooledConn::Postgres(c) => DbConn::Postgres(c),
        }
    }
}

/// Runs one diesel-async query body against whichever backend `$conn` (a `&mut DbConn`) holds.
/// The body is compiled once per backend, so a construct one of them lacks fails to build.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConn::Sqlite(c) => {
                let $c: &mut $crate::db::SqliteConn = &mut **c;
                $body
            }
            $crate::DbConn::Postgres(c) => {
                let $c: &mut ::diesel_async::AsyncPgConnection = &mut **c;
                $body
            }
        }
    };
}

const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
     PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

fn sqlite_setup(url: &str) -> BoxFuture<'_, diesel::ConnectionResult<SqliteConn>> {
    let url = url.to_owned();
    async move {
        let conn =
            tokio::task::spawn_blocking(move || -> diesel::ConnectionResult<SqliteConnection> {
                use diesel::Connection;
                let mut c = SqliteConnection::establish(&url)?;
                c.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(c)
            })
            .await
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))??;
        Ok(SyncConnectionWrapper::new(conn))
    }
    .boxed()
}

/// Connects to PostgreSQL from a task on `runtime` (the runtime that opened the pool), so the
/// connection's driver task lives there and not on whichever HTTP worker first asked for a
/// connection: workers stop at shutdown, and their connections must not die with them while
/// the last usage records and partial replies are written.
fn pg_setup(
    runtime: tokio::runtime::Handle,
) -> impl Fn(&str) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> + Send + Sync {
    move |url: &str| {
        let url = url.to_owned();
        let runtime = runtime.clone();
        async move {
            runtime
                .spawn(async move { AsyncPgConnection::establish(&url).await })
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?
        }
        .boxed()
    }
}

impl Db {
    /// Opens a pool for `url` (creating the SQLite file and its directory when missing) and
    /// applies every pending migration.
    ///
    /// # Errors
    /// [`StoreError::Config`] for an unknown scheme; [`StoreError::Connect`] when the database
    /// cannot be reached; [`StoreError::Migration`] when a migration fails.
    pub async fn connect(url: &str, max_connections: usize) -> Result<Db, StoreError> {
        let db = Self::open(url, max_connections).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Opens a pool without migrating.
    ///
    /// # Errors
    /// As [`Db::connect`], without migration errors.
    pub async fn open(url: &str, max_connections: usize) -> Result<Db, StoreError> {
        let db = match Backend::from_url(url)? {
            Backend::Sqlite(path) => {
                ensure_parent_dir(&path)?;
                let file = path.to_string_lossy().into_owned();
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(sqlite_setup);
                let manager =
                    AsyncDieselConnectionManager::<SqliteConn>::new_with_config(file, config);
                let pool = Pool::builder(manager)
                    .max_size(max_connections.max(1))
                    .wait_timeout(Some(Duration::from_secs(10)))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .map_err(|e| StoreError::Config(e.to_string()))?;
                Db::Sqlite(pool)
            }
            Backend::Postgres(url) => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(pg_setup(tokio::runtime::Handle::current()));
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
                    url.clone(),
                    config,
                );
                let pool = Pool::builder(manager)
                    .max_size(max_connections.max(1))
                    .wait_timeout(Some(Duration::from_secs(10)))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .map_err(|e| StoreError::Config(e.to_string()))?;
                Db::Postgres(pool, url.into())
            }
        };
        // Fail at start-up, not on the first request, when the database is unreachable.
        drop(db.get().await?);
        Ok(db)
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(..) => "postgres",
        }
    }

    /// Checks a connection out of the pool.
    ///
    /// # Errors
    /// [`StoreError::Connect`] when the pool is exhausted past its wait timeout or the
    /// database is unreachable.
    pub async fn get(&self) -> Result<PooledConn, StoreError> {
        match self {
            Db::Sqlite(p) => p.get().await.map(PooledConn::Sqlite),
            Db::Postgres(p, _) => p.get().await.map(PooledConn::Postgres),
        }
        .map_err(|e| StoreError::Connect(e.to_string()))
    }

    /// Runs `f` inside one transaction: committed when it returns `Ok`, rolled back otherwise.
    /// The closure returns a boxed future (diesel-async's `Send` bound rejects a generic async
    /// closure here).
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front, waiting
    /// out other writers within the busy timeout. A deferred transaction that reads and then
    /// writes would instead fail at once with "database is locked" when another connection
    /// wrote in between (SQLite cannot upgrade its read lock then).
    ///
    /// # Errors
    /// Whatever `f` returns, or a [`StoreError`] from begin/commit.
    pub async fn transaction<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: for<'r> FnOnce(DbConn<'r>) -> BoxFuture<'r, Result<R, E>> + Send,
        E: From<diesel::result::Error> + From<StoreError> + Send,
        R: Send,
    {
        let mut pooled = self.get().await?;
        match &mut pooled {
            PooledConn::Sqlite(c) => {
                let c: &mut SqliteConn = c;
                c.immediate_transaction(async move |tx| f(DbConn::Sqlite(tx)).await)
                    .await
            }
            PooledConn::Postgres(c) => {
                let c: &mut AsyncPgConnection = c;
                c.transaction(async move |tx| f(DbConn::Postgres(tx)).await)
                    .await
            }
        }
    }

    /// Measures one round trip (`SELECT 1`), for `/health/ready`.
    ///
    /// # Errors
    /// [`StoreError`] when the database does not answer.
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        use diesel_async::SimpleAsyncConnection;
        let started = std::time::Instant::now();
        let mut pooled = self.get().await?;
        match &mut pooled {
            PooledConn::Sqlite(c) => c.batch_execute("SELECT 1").await?,
            PooledConn::Postgres(c) => c.batch_execute("SELECT 1").await?,
        }
        Ok(started.elapsed())
    }

    /// Applies every pending migration of this backend's tree (both trees are embedded).
    ///
    /// # Errors
    /// [`StoreError::Migration`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrations::run(self).await
    }

    /// The PostgreSQL URL, when this is a PostgreSQL pool.
    pub fn postgres_url(&self) -> Option<String> {
        match self {
            Db::Sqlite(_) => None,
            Db::Postgres(_, url) => Some(url.to_string()),
        }
    }

    /// Closes the pool; checked-out connections close when returned.
    pub fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close(),
            Db::Postgres(p, _) => p.close(),
        }
    }
}

fn ensure_parent_dir(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!(
                "cannot create database directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme_and_is_never_guessed() {
        assert_eq!(
            Backend::from_url("sqlite://./data/aihub.db").ok(),
            Some(Backend::Sqlite(PathBuf::from("./data/aihub.db")))
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db"),
            Ok(Backend::Postgres(_))
        ));
        assert!(matches!(
            Backend::from_url("postgresql://u@h/db"),
            Ok(Backend::Postgres(_))
        ));
        let err = Backend::from_url("mysql://h/db")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("mysql"), "{err}");
        assert!(Backend::from_url("./aihub.db").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }
}
