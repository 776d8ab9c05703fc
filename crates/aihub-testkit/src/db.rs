//! One throwaway database per test, so tests run in parallel without seeing each other's rows
//! (under `cargo test` threads and under nextest processes alike).
//!
//! - SQLite: a fresh temporary directory holding `aihub.db` (never `:memory:`: with a pool each
//!   in-memory connection would get its own database).
//! - PostgreSQL: a unique schema `aihub_t_<random>` in the database named by
//!   `AIHUB_TEST_PG_URL` (default [`DEFAULT_PG_URL`]); the test URL is that URL plus
//!   `options=-csearch_path%3D<schema>`, which tokio-postgres sends as a startup option, so every
//!   connection of the pool (and the migration connection) resolves unqualified names in the
//!   schema. [`TestDb::create`] checks this with `SELECT current_schema()`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use aihub_testkit::{TestBackend, TestDb};
//! let db = TestDb::create(TestBackend::Postgres).await?;
//! let pool = aihub_store::Db::connect(&db.url, 2).await?; // migrates into the schema
//! // ...
//! pool.close();
//! db.cleanup().await?; // DROP SCHEMA … CASCADE
//! # Ok(()) }
//! ```

use anyhow::{Context, bail};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the PostgreSQL database tests create their schemas in.
pub const PG_URL_ENV: &str = "AIHUB_TEST_PG_URL";

/// The PostgreSQL URL used when [`PG_URL_ENV`] is unset.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The prefix of every test schema (`aihub_t_<16 hex digits>`).
pub const SCHEMA_PREFIX: &str = "aihub_t_";

/// The database backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestBackend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A unique schema in the PostgreSQL database named by `AIHUB_TEST_PG_URL`.
    Postgres,
}

impl TestBackend {
    /// Both backends, SQLite first.
    pub const ALL: [TestBackend; 2] = [TestBackend::Sqlite, TestBackend::Postgres];

    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for TestBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A test's own empty database. Call [`TestDb::cleanup`] when done; a `TestDb` dropped without
/// it still removes its SQLite directory, and drops its PostgreSQL schema on a helper thread
/// (best effort).
#[derive(Debug)]
pub struct TestDb {
    /// The database URL to hand to the application (`sqlite://…` or `postgres://…`).
    pub url: String,
    /// The backend.
    pub backend: TestBackend,
    /// What to remove at cleanup; `None` once cleaned up.
    resource: Option<Resource>,
}

#[derive(Debug)]
enum Resource {
    Sqlite(tempfile::TempDir),
    Postgres { base_url: String, schema: String },
}

impl TestDb {
    /// Creates an empty database on `backend` (not migrated: `Db::connect` migrates).
    ///
    /// # Errors
    /// The temporary directory cannot be created, PostgreSQL cannot be reached at
    /// `AIHUB_TEST_PG_URL`, or the connection does not land in the new schema.
    pub async fn create(backend: TestBackend) -> anyhow::Result<TestDb> {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("aihub-test-db-")
                    .tempdir()
                    .context("creating the SQLite test directory")?;
                let path = dir.path().join("aihub.db");
                let url = format!("sqlite://{}", path.display());
                Ok(TestDb {
                    url,
                    backend,
                    resource: Some(Resource::Sqlite(dir)),
                })
            }
            TestBackend::Postgres => {
                let base_url = pg_base_url();
                let schema = unique_schema_name();
                let url = schema_url(&base_url, &schema);
                // One connection through the test URL: create the schema, then prove the
                // startup option put it first on the search path.
                let mut conn = AsyncPgConnection::establish(&url).await.with_context(|| {
                    format!(
                        "connecting to PostgreSQL at {} (set {PG_URL_ENV})",
                        redact(&base_url)
                    )
                })?;
                conn.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                    .await
                    .with_context(|| format!("creating schema {schema}"))?;
                let db = TestDb {
                    url,
                    backend,
                    resource: Some(Resource::Postgres {
                        base_url,
                        schema: schema.clone(),
                    }),
                };
                let current: Option<String> =
                    diesel::select(diesel::dsl::sql::<Nullable<Text>>("current_schema()"))
                        .get_result(&mut conn)
                        .await
                        .context("SELECT current_schema()")?;
                if current.as_deref() != Some(schema.as_str()) {
                    drop(conn);
                    db.cleanup().await?;
                    bail!(
                        "the `options=-csearch_path` URL parameter was ignored: current_schema() \
                         is {current:?}, expected {schema}"
                    );
                }
                Ok(db)
            }
        }
    }

    /// The PostgreSQL schema of this database, if it is one.
    pub fn schema(&self) -> Option<&str> {
        match &self.resource {
            Some(Resource::Postgres { schema, .. }) => Some(schema),
            _ => None,
        }
    }

    /// The SQLite database's directory, if it is one.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match &self.resource {
            Some(Resource::Sqlite(dir)) => Some(dir.path()),
            _ => None,
        }
    }

    /// Removes the database: `DROP SCHEMA … CASCADE` on PostgreSQL, the temporary directory on
    /// SQLite. Close the application's pool first (`App::shutdown` does).
    ///
    /// # Errors
    /// The schema cannot be dropped or the directory removed.
    pub async fn cleanup(mut self) -> anyhow::Result<()> {
        match self.resource.take() {
            None => Ok(()),
            Some(Resource::Sqlite(dir)) => {
                let path: PathBuf = dir.path().to_owned();
                dir.close()
                    .with_context(|| format!("removing {}", path.display()))
            }
            Some(Resource::Postgres { base_url, schema }) => drop_schema(&base_url, &schema).await,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // SQLite: the TempDir removes itself. PostgreSQL: drop the schema from a helper thread
        // with its own runtime (this may run inside a runtime, where blocking on one panics).
        if let Some(Resource::Postgres { base_url, schema }) = self.resource.take() {
            let joined = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => rt.block_on(drop_schema(&base_url, &schema)),
                    Err(e) => Err(e.into()),
                }
            })
            .join();
            if let Ok(Err(e)) = joined {
                eprintln!("aihub-testkit: leaked a test schema: {e:#}");
            }
        }
    }
}

/// The PostgreSQL URL tests create their schemas in: `AIHUB_TEST_PG_URL`, else
/// [`DEFAULT_PG_URL`].
pub fn pg_base_url() -> String {
    std::env::var(PG_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned())
}

/// `base_url` with the startup option that puts `schema` alone on the search path.
fn schema_url(base_url: &str, schema: &str) -> String {
    let sep = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{sep}options=-csearch_path%3D{schema}")
}

async fn drop_schema(base_url: &str, schema: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(base_url)
        .await
        .with_context(|| {
            format!(
                "connecting to PostgreSQL at {} to drop {schema}",
                redact(base_url)
            )
        })?;
    // Concurrent DROP SCHEMA ... CASCADE of sibling test schemas can deadlock on PostgreSQL's
    // catalog locks; the loser is rolled back and may simply try again.
    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    let mut attempt = 0;
    loop {
        match conn.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 5 && e.to_string().contains("deadlock") => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("dropping schema {schema}")),
        }
    }
}

/// `aihub_t_` and 16 hex digits from a per-process random seed, the time and a counter: unique
/// across the threads of one test binary and across nextest's processes.
fn unique_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(nanos);
    format!("{SCHEMA_PREFIX}{:016x}", h.finish())
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_unique_and_safe() {
        let a = unique_schema_name();
        let b = unique_schema_name();
        assert_ne!(a, b);
        assert_eq!(a.len(), SCHEMA_PREFIX.len() + 16);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }

    #[test]
    fn schema_url_appends_the_startup_option() {
        assert_eq!(
            schema_url("postgres://u@h:5432/db", "s1"),
            "postgres://u@h:5432/db?options=-csearch_path%3Ds1"
        );
        assert_eq!(
            schema_url("postgres://u@h/db?sslmode=disable", "s1"),
            "postgres://u@h/db?sslmode=disable&options=-csearch_path%3Ds1"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
