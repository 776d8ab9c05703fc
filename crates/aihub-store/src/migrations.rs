//! Embedded migrations for both backends, run on a blocking thread (diesel's migration harness
//! is synchronous; `AsyncMigrationHarness` panics on current-thread runtimes).

use crate::{Db, StoreError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Applies pending migrations for `db`'s backend and returns how many ran.
pub(crate) async fn run(db: &Db) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(_) => {
            let mut pooled = db.get().await?;
            let crate::PooledConn::Sqlite(conn) = &mut pooled else {
                return Err(StoreError::Config("pool/backend mismatch".into()));
            };
            let conn: &mut crate::db::SqliteConn = conn;
            conn.spawn_blocking(|c| {
                c.run_pending_migrations(SQLITE)
                    .map(|_| ())
                    .map_err(diesel::result::Error::QueryBuilderError)
            })
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
        }
        Db::Postgres(..) => {
            let url = db
                .postgres_url()
                .ok_or_else(|| StoreError::Config("no postgres url".into()))?;
            tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
                use diesel::Connection;
                type Wrapped = diesel_async::async_connection_wrapper::AsyncConnectionWrapper<
                    diesel_async::AsyncPgConnection,
                >;
                let mut conn =
                    Wrapped::establish(&url).map_err(|e| StoreError::Connect(e.to_string()))?;
                conn.run_pending_migrations(POSTGRES)
                    .map(|_| ())
                    .map_err(|e| StoreError::Migration(e.to_string()))
            })
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?
        }
    }
}
