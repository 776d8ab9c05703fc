#![doc = include_str!("../README.md")]
//! AI Hub storage: the diesel schema, embedded migrations for PostgreSQL and SQLite, the pool,
//! and one module of queries per table. No business rules live here.
//!
//! Every query function takes `&mut DbConn<'_>` and is written once with [`on_conn!`], so it
//! compiles for both backends and composes inside [`Db::transaction`].

pub mod api_keys;
pub mod categories;
pub mod conversations;
pub mod db;
mod error;
pub mod introspect;
pub mod messages;
mod migrations;
pub mod model_preferences;
pub mod prompts;
pub mod providers;
pub mod schema;
pub mod sessions;
pub mod usage;
pub mod users;

pub use db::{Backend, Db, DbConn, PooledConn};
/// diesel's query error, re-exported so callers of [`Db::transaction`] need no diesel dependency.
pub use diesel::result::Error as DieselError;
pub use error::StoreError;

/// One page of a listing: 1-based `page`, rows per page `page_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return.
    pub limit: i64,
}

/// A page of rows and the total number of rows that match the filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Every matching row, across pages.
    pub total: i64,
}
