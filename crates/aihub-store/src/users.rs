//! `users`: accounts.

use crate::schema::users;
use crate::{DbConn, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored account. Never serialized to the wire as is: `password_hash` stays here.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id.
    pub id: Id,
    /// Unique login name.
    pub username: String,
    /// Unique e-mail address (stored lower-case).
    pub email: String,
    /// Display name.
    pub full_name: Option<String>,
    /// bcrypt hash.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
    /// False when deactivated: every token of the account stops working.
    pub is_active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new account.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// E-mail, lower-case.
    pub email: &'a str,
    /// Display name.
    pub full_name: Option<&'a str>,
    /// bcrypt hash.
    pub password_hash: &'a str,
    /// `user` or `admin`.
    pub role: &'a str,
    /// Active flag.
    pub is_active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to an account; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    /// New login name.
    pub username: Option<&'a str>,
    /// New e-mail.
    pub email: Option<&'a str>,
    /// New display name (`Some(None)` clears it).
    pub full_name: Option<Option<&'a str>>,
    /// New bcrypt hash.
    pub password_hash: Option<&'a str>,
    /// New role.
    pub role: Option<&'a str>,
    /// New active flag.
    pub is_active: Option<bool>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// Inserts an account; the very first account ever inserted is promoted to `admin` in the
/// same call (it holds the smallest id, so two racing first registrations cannot both win).
///
/// # Errors
/// [`StoreError::UniqueViolation`] when the username or e-mail is taken.
pub async fn insert(conn: &mut DbConn<'_>, new: &NewUser<'_>) -> Result<UserRow, StoreError> {
    let row: UserRow = on_conn!(conn, |c| {
        diesel::insert_into(users::table)
            .values(new)
            .returning(UserRow::as_returning())
            .get_result(c)
            .await
    })?;
    let first: Option<Id> = on_conn!(conn, |c| {
        users::table
            .select(diesel::dsl::min(users::id))
            .first(c)
            .await
    })?;
    if first == Some(row.id) && row.role != "admin" {
        let promoted = on_conn!(conn, |c| {
            diesel::update(users::table.find(row.id))
                .set(users::role.eq("admin"))
                .returning(UserRow::as_returning())
                .get_result(c)
                .await
        })?;
        return Ok(promoted);
    }
    Ok(row)
}

/// Finds an account by id.
///
/// # Errors
/// [`StoreError::NotFound`].
pub async fn find(conn: &mut DbConn<'_>, id: Id) -> Result<UserRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        users::table
            .find(id)
            .select(UserRow::as_select())
            .first(c)
            .await
    })?)
}

/// Finds an account by username or e-mail (the e-mail compared lower-case).
///
/// # Errors
/// [`StoreError`] on query failure; `Ok(None)` when nobody matches.
pub async fn find_by_login(
    conn: &mut DbConn<'_>,
    login: &str,
) -> Result<Option<UserRow>, StoreError> {
    let email = login.to_lowercase();
    Ok(on_conn!(conn, |c| {
        users::table
            .filter(users::username.eq(login).or(users::email.eq(&email)))
            .select(UserRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Applies `changes` to account `id`.
///
/// # Errors
/// [`StoreError::NotFound`]; [`StoreError::UniqueViolation`] for a taken username or e-mail.
pub async fn update(
    conn: &mut DbConn<'_>,
    id: Id,
    changes: &UserChanges<'_>,
) -> Result<UserRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(users::table.find(id))
            .set(changes)
            .returning(UserRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// Number of accounts.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn count(conn: &mut DbConn<'_>) -> Result<i64, StoreError> {
    Ok(on_conn!(conn, |c| users::table
        .count()
        .get_result(c)
        .await)?)
}
