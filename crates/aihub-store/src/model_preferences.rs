//! `model_preferences`: a user's saved model settings per provider kind, at most one default
//! per (user, kind) (a partial unique index enforces it).

use crate::schema::{model_preferences, users};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored model preference.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = model_preferences)]
pub struct ModelPreferenceRow {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Provider kind in its stored form (`openai`, `openai_compatible`, …).
    pub provider_kind: String,
    /// Model id as the vendor names it (`gpt-4o-mini`).
    pub model: String,
    /// Cap on completion tokens.
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// System prompt sent first.
    pub system_prompt: Option<String>,
    /// Whether this is the owner's default for its kind.
    pub is_default: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new model preference.
#[derive(Debug, Insertable)]
#[diesel(table_name = model_preferences)]
pub struct NewModelPreference<'a> {
    /// Owner.
    pub user_id: Id,
    /// Provider kind (stored form).
    pub provider_kind: &'a str,
    /// Model id.
    pub model: &'a str,
    /// Cap on completion tokens.
    pub max_tokens: Option<i64>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// System prompt.
    pub system_prompt: Option<&'a str>,
    /// Default flag; callers clear the kind's other default first ([`clear_default`]).
    pub is_default: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a preference; `None` leaves a column as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = model_preferences)]
pub struct ModelPreferenceChanges<'a> {
    /// Provider kind.
    pub provider_kind: Option<&'a str>,
    /// Model id.
    pub model: Option<&'a str>,
    /// Token cap.
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    pub temperature: Option<Option<f64>>,
    /// System prompt.
    pub system_prompt: Option<Option<&'a str>>,
    /// Default flag.
    pub is_default: Option<bool>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// Inserts a preference.
///
/// # Errors
/// [`StoreError::UniqueViolation`] when `is_default` is set while the owner still has another
/// default of that kind.
pub async fn insert(
    conn: &mut DbConn<'_>,
    new: &NewModelPreference<'_>,
) -> Result<ModelPreferenceRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(model_preferences::table)
            .values(new)
            .returning(ModelPreferenceRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A preference owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<ModelPreferenceRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        model_preferences::table
            .filter(model_preferences::id.eq(id))
            .filter(model_preferences::user_id.eq(user_id))
            .select(ModelPreferenceRow::as_select())
            .first(c)
            .await
    })?)
}

/// The preferences of `user_id`, optionally of one provider kind, paged, oldest first.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_owned(
    conn: &mut DbConn<'_>,
    user_id: Id,
    provider_kind: Option<&str>,
    page: PageRequest,
) -> Result<Page<ModelPreferenceRow>, StoreError> {
    // A macro, not a closure: a boxed query is typed by its backend, so it is built per arm.
    macro_rules! query {
        () => {{
            let mut q = model_preferences::table
                .filter(model_preferences::user_id.eq(user_id))
                .into_boxed();
            if let Some(kind) = provider_kind {
                q = q.filter(model_preferences::provider_kind.eq(kind.to_owned()));
            }
            q
        }};
    }
    let (items, total) = on_conn!(conn, |c| {
        let items = query!()
            .order(model_preferences::id.asc())
            .offset(page.offset)
            .limit(page.limit)
            .select(ModelPreferenceRow::as_select())
            .load(c)
            .await?;
        let total: i64 = query!().count().get_result(c).await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page { items, total })
}

/// Every default preference of `user_id` (at most one per kind), ordered by kind.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_defaults(
    conn: &mut DbConn<'_>,
    user_id: Id,
) -> Result<Vec<ModelPreferenceRow>, StoreError> {
    Ok(on_conn!(conn, |c| {
        model_preferences::table
            .filter(model_preferences::user_id.eq(user_id))
            .filter(model_preferences::is_default.eq(true))
            .order(model_preferences::provider_kind.asc())
            .select(ModelPreferenceRow::as_select())
            .load(c)
            .await
    })?)
}

/// The default preference of `user_id` for `provider_kind`, if there is one.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn find_default(
    conn: &mut DbConn<'_>,
    user_id: Id,
    provider_kind: &str,
) -> Result<Option<ModelPreferenceRow>, StoreError> {
    Ok(on_conn!(conn, |c| {
        model_preferences::table
            .filter(model_preferences::user_id.eq(user_id))
            .filter(model_preferences::provider_kind.eq(provider_kind))
            .filter(model_preferences::is_default.eq(true))
            .select(ModelPreferenceRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Serializes the default switches of one user for the rest of the transaction: a no-op write
/// to the owner's `users` row, which PostgreSQL keeps locked until commit or rollback (on
/// SQLite, the write takes the database's single writer lock). Without it, two concurrent
/// switches under READ COMMITTED can each wait on the other's uncommitted index entry and
/// deadlock. Call it first in every transaction that sets a default.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn lock_owner(conn: &mut DbConn<'_>, user_id: Id) -> Result<(), StoreError> {
    on_conn!(conn, |c| {
        diesel::update(users::table.filter(users::id.eq(user_id)))
            .set(users::updated_at.eq(users::updated_at))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Unsets the default of `user_id` for `provider_kind`, except on row `keep` (the one about
/// to become the default); returns how many rows changed (0 or 1). Run it in the same
/// transaction as the write that sets the new default, before that write, so the partial
/// unique index never sees two defaults.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn clear_default(
    conn: &mut DbConn<'_>,
    user_id: Id,
    provider_kind: &str,
    keep: Option<Id>,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    // `id <> 0` never excludes a row (ids start at 1), so one statement serves both cases.
    let keep = keep.unwrap_or(0);
    Ok(on_conn!(conn, |c| {
        diesel::update(
            model_preferences::table
                .filter(model_preferences::user_id.eq(user_id))
                .filter(model_preferences::provider_kind.eq(provider_kind))
                .filter(model_preferences::is_default.eq(true))
                .filter(model_preferences::id.ne(keep)),
        )
        .set((
            model_preferences::is_default.eq(false),
            model_preferences::updated_at.eq(now),
        ))
        .execute(c)
        .await
    })?)
}

/// Updates a preference owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs; [`StoreError::UniqueViolation`] when it
/// becomes a second default of its kind.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
    changes: &ModelPreferenceChanges<'_>,
) -> Result<ModelPreferenceRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            model_preferences::table
                .filter(model_preferences::id.eq(id))
                .filter(model_preferences::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(ModelPreferenceRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Deletes a preference owned by `user_id`; returns whether a row went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(conn: &mut DbConn<'_>, id: Id, user_id: Id) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            model_preferences::table
                .filter(model_preferences::id.eq(id))
                .filter(model_preferences::user_id.eq(user_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}
