//! `api_keys`: developer API keys for the `/v1` API. Only the SHA-256 of a secret is stored
//! (`key_hash`, lower-case hex, unique), plus a short display `prefix`.

use crate::schema::{api_keys, users};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored developer API key. `key_hash` never leaves the server.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    /// Id.
    pub id: Id,
    /// Owner: the key acts as this account.
    pub user_id: Id,
    /// Display name.
    pub name: String,
    /// SHA-256 of the full secret, lower-case hex (64 characters).
    pub key_hash: String,
    /// Display form (`sk-aihub-AbCd…`), never enough to guess the secret.
    pub prefix: String,
    /// JSON array of permission names, e.g. `["chat","models"]`.
    pub permissions: String,
    /// Requests per minute allowed to this key; `None`: only the owner's plan applies.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute allowed to this key; `None`: only the owner's plan applies.
    pub tokens_per_minute: Option<i64>,
    /// Total tokens this key may consume; `None`: unlimited.
    pub usage_limit_tokens: Option<i64>,
    /// False when revoked by its owner (or an admin).
    pub is_active: bool,
    /// The key stops working at this time (UTC); `None`: never expires.
    pub expires_at: Option<NaiveDateTime>,
    /// Last successful authentication (UTC), written in batches off the request path.
    pub last_used_at: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new key.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    /// Owner.
    pub user_id: Id,
    /// Display name.
    pub name: &'a str,
    /// SHA-256 hex of the secret.
    pub key_hash: &'a str,
    /// Display prefix.
    pub prefix: &'a str,
    /// JSON array of permission names.
    pub permissions: &'a str,
    /// Requests per minute.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute.
    pub tokens_per_minute: Option<i64>,
    /// Token budget.
    pub usage_limit_tokens: Option<i64>,
    /// Active flag.
    pub is_active: bool,
    /// Expiry (UTC).
    pub expires_at: Option<NaiveDateTime>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a key; `None` leaves a column as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyChanges<'a> {
    /// Display name.
    pub name: Option<&'a str>,
    /// JSON array of permission names.
    pub permissions: Option<&'a str>,
    /// Requests per minute.
    pub requests_per_minute: Option<Option<i64>>,
    /// Tokens per minute.
    pub tokens_per_minute: Option<Option<i64>>,
    /// Token budget.
    pub usage_limit_tokens: Option<Option<i64>>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Expiry.
    pub expires_at: Option<Option<NaiveDateTime>>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// A key found by its hash, with what authentication needs to know of its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyWithOwner {
    /// The key.
    pub key: ApiKeyRow,
    /// The owner's role (`user` or `admin`).
    pub owner_role: String,
    /// Whether the owner's account is active.
    pub owner_active: bool,
}

/// Inserts a key.
///
/// # Errors
/// [`StoreError::UniqueViolation`] if the hash already exists (a 256-bit collision: never).
pub async fn insert(conn: &mut DbConn<'_>, new: &NewApiKey<'_>) -> Result<ApiKeyRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(api_keys::table)
            .values(new)
            .returning(ApiKeyRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A key owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<ApiKeyRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::user_id.eq(user_id))
            .select(ApiKeyRow::as_select())
            .first(c)
            .await
    })?)
}

/// The key whose secret hashes to `key_hash` (SHA-256 hex), with its owner's role and
/// active flag; whether the key itself is usable is for the caller to decide.
///
/// The lookup goes through the unique index on `key_hash`: the digest, not the secret, is
/// compared, so the comparison's timing tells nothing about the secret.
///
/// # Errors
/// [`StoreError`] on query failure; `Ok(None)` when no key has that hash.
pub async fn find_by_hash(
    conn: &mut DbConn<'_>,
    key_hash: &str,
) -> Result<Option<KeyWithOwner>, StoreError> {
    let found: Option<(ApiKeyRow, String, bool)> = on_conn!(conn, |c| {
        api_keys::table
            .inner_join(users::table)
            .filter(api_keys::key_hash.eq(key_hash))
            .select((ApiKeyRow::as_select(), users::role, users::is_active))
            .first(c)
            .await
            .optional()
    })?;
    Ok(found.map(|(key, owner_role, owner_active)| KeyWithOwner {
        key,
        owner_role,
        owner_active,
    }))
}

/// The keys of `user_id`, oldest first, paged.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_owned(
    conn: &mut DbConn<'_>,
    user_id: Id,
    page: PageRequest,
) -> Result<Page<ApiKeyRow>, StoreError> {
    let (items, total) = on_conn!(conn, |c| {
        let items = api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .order(api_keys::id.asc())
            .offset(page.offset)
            .limit(page.limit)
            .select(ApiKeyRow::as_select())
            .load(c)
            .await?;
        let total: i64 = api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .count()
            .get_result(c)
            .await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page { items, total })
}

/// Number of keys `user_id` has (active or not).
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn count_owned(conn: &mut DbConn<'_>, user_id: Id) -> Result<i64, StoreError> {
    Ok(on_conn!(conn, |c| {
        api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .count()
            .get_result(c)
            .await
    })?)
}

/// Updates a key owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs or does not exist.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
    changes: &ApiKeyChanges<'_>,
) -> Result<ApiKeyRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(ApiKeyRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Deletes a key owned by `user_id`; returns the deleted key's hash (so its cache entry can
/// go), or `None` when nothing matched.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<Option<String>, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::delete(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::user_id.eq(user_id)),
        )
        .returning(api_keys::key_hash)
        .get_result(c)
        .await
        .optional()
    })?)
}

/// Sets `last_used_at` of each `(key id, time)` pair, never moving it backwards; ids of
/// deleted keys are skipped. Run it inside one transaction to write a batch at once.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn touch_last_used(
    conn: &mut DbConn<'_>,
    uses: &[(Id, NaiveDateTime)],
) -> Result<(), StoreError> {
    for &(id, at) in uses {
        on_conn!(conn, |c| {
            diesel::update(
                api_keys::table.filter(api_keys::id.eq(id)).filter(
                    api_keys::last_used_at
                        .is_null()
                        .or(api_keys::last_used_at.lt(at)),
                ),
            )
            .set(api_keys::last_used_at.eq(at))
            .execute(c)
            .await
        })?;
    }
    Ok(())
}
