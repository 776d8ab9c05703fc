//! `sessions` and `refresh_tokens`: login sessions with rotating, hashed refresh tokens.

use crate::schema::{refresh_tokens, sessions, users};
use crate::users::UserRow;
use crate::{DbConn, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A login session. Access tokens name it (`sid`); revoking it ends them all.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Start (UTC).
    pub created_at: NaiveDateTime,
    /// End of the refresh window (UTC).
    pub expires_at: NaiveDateTime,
    /// Set on logout, password change, or refresh-token reuse.
    pub revoked_at: Option<NaiveDateTime>,
}

/// A refresh token, stored only as its SHA-256 hex digest.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    /// Id.
    pub id: Id,
    /// The session it renews.
    pub session_id: Id,
    /// SHA-256 hex of the token.
    pub token_hash: String,
    /// Issue time.
    pub created_at: NaiveDateTime,
    /// Set when rotated; a second use means the token leaked.
    pub used_at: Option<NaiveDateTime>,
}

/// Opens a session for `user_id` lasting until `expires_at`.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn create(
    conn: &mut DbConn<'_>,
    user_id: Id,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<SessionRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::user_id.eq(user_id),
                sessions::created_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .returning(SessionRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// Stores the hash of a newly issued refresh token of `session_id`.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn add_refresh_token(
    conn: &mut DbConn<'_>,
    session_id: Id,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    on_conn!(conn, |c| {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::session_id.eq(session_id),
                refresh_tokens::token_hash.eq(token_hash),
                refresh_tokens::created_at.eq(now),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Looks up a refresh token by hash with its session.
///
/// # Errors
/// [`StoreError`] on query failure; `Ok(None)` for an unknown token.
pub async fn find_refresh_token(
    conn: &mut DbConn<'_>,
    token_hash: &str,
) -> Result<Option<(RefreshTokenRow, SessionRow)>, StoreError> {
    Ok(on_conn!(conn, |c| {
        refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((RefreshTokenRow::as_select(), SessionRow::as_select()))
            .first(c)
            .await
            .optional()
    })?)
}

/// Marks a refresh token used. Returns false when it already was (a concurrent or replayed
/// use): the caller must then treat the token as reused.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn mark_refresh_token_used(
    conn: &mut DbConn<'_>,
    token_id: Id,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::id.eq(token_id))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(now))
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

/// Revokes one session (idempotent).
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn revoke(
    conn: &mut DbConn<'_>,
    session_id: Id,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    on_conn!(conn, |c| {
        diesel::update(
            sessions::table
                .filter(sessions::id.eq(session_id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(c)
        .await
    })?;
    Ok(())
}

/// Revokes every open session of `user_id` except `keep` (password change keeps the caller's).
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn revoke_all_for_user(
    conn: &mut DbConn<'_>,
    user_id: Id,
    keep: Option<Id>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let keep = keep.unwrap_or(-1);
    on_conn!(conn, |c| {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(c)
        .await
    })?;
    Ok(())
}

/// The account behind an access token: the session must be open and unexpired and the account
/// active. One query, run on every authenticated management request.
///
/// # Errors
/// [`StoreError`] on query failure; `Ok(None)` when the session or account is not usable.
pub async fn active_user(
    conn: &mut DbConn<'_>,
    session_id: Id,
    user_id: Id,
    now: NaiveDateTime,
) -> Result<Option<UserRow>, StoreError> {
    Ok(on_conn!(conn, |c| {
        sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(session_id))
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(users::is_active.eq(true))
            .select(UserRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
}
