//! What the migrations actually built: tables and their columns, read from the database's
//! catalog. A test compares both backends, so the two migration trees cannot drift apart.

use crate::{DbConn, StoreError, on_conn};
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use std::collections::BTreeMap;

#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Every application table (diesel's bookkeeping excluded) with its column names, sorted.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn tables(conn: &mut DbConn<'_>) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let rows: Vec<ColumnRow> = match conn {
        DbConn::Sqlite(_) => on_conn!(conn, |c| {
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
            )
            .load(c)
            .await
        })?,
        DbConn::Postgres(_) => on_conn!(conn, |c| {
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '__diesel%'",
            )
            .load(c)
            .await
        })?,
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry(r.table_name).or_default().push(r.column_name);
    }
    for cols in out.values_mut() {
        cols.sort();
    }
    Ok(out)
}
