//! `providers` and `provider_grants`: upstream connections and their distribution to users.

use crate::schema::{provider_grants, providers};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored provider. The API key is only ever here as AES-256-GCM ciphertext.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = providers)]
pub struct ProviderRow {
    /// Id.
    pub id: Id,
    /// Creator and owner.
    pub owner_id: Id,
    /// Display name.
    pub name: String,
    /// Unique per owner; the `<slug>/` of model names.
    pub slug: String,
    /// Wire family (`openai`, …).
    pub kind: String,
    /// `personal` or `organization`.
    pub scope: String,
    /// base64(nonce ‖ ciphertext ‖ tag) of the API key, bound to owner and id.
    pub api_key_ciphertext: Option<String>,
    /// Masked key for display (first 4 + last 4).
    pub api_key_hint: Option<String>,
    /// Base URL; `None` means the vendor default.
    pub base_url: Option<String>,
    /// `ProviderConfig` as JSON.
    pub config: String,
    /// Switched on.
    pub is_active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new provider (the key is added right after, once the row id exists to bind it to).
#[derive(Debug, Insertable)]
#[diesel(table_name = providers)]
pub struct NewProvider<'a> {
    /// Owner.
    pub owner_id: Id,
    /// Display name.
    pub name: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// Wire family.
    pub kind: &'a str,
    /// Scope.
    pub scope: &'a str,
    /// Base URL.
    pub base_url: Option<&'a str>,
    /// Config JSON.
    pub config: &'a str,
    /// Active flag.
    pub is_active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a provider; `None` leaves a column as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = providers)]
pub struct ProviderChanges<'a> {
    /// Name.
    pub name: Option<&'a str>,
    /// Slug.
    pub slug: Option<&'a str>,
    /// Key ciphertext.
    pub api_key_ciphertext: Option<Option<&'a str>>,
    /// Key hint.
    pub api_key_hint: Option<Option<&'a str>>,
    /// Base URL.
    pub base_url: Option<Option<&'a str>>,
    /// Config JSON.
    pub config: Option<&'a str>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// Filters of the provider listing.
#[derive(Debug, Default, Clone)]
pub struct ProviderFilter {
    /// Only this scope.
    pub scope: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only active or inactive ones.
    pub is_active: Option<bool>,
}

/// Inserts a provider.
///
/// # Errors
/// [`StoreError::UniqueViolation`] when the owner already has that slug.
pub async fn insert(
    conn: &mut DbConn<'_>,
    new: &NewProvider<'_>,
) -> Result<ProviderRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(providers::table)
            .values(new)
            .returning(ProviderRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A provider owned by `owner_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    owner_id: Id,
) -> Result<ProviderRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        providers::table
            .filter(providers::id.eq(id))
            .filter(providers::owner_id.eq(owner_id))
            .select(ProviderRow::as_select())
            .first(c)
            .await
    })?)
}

/// A provider `user_id` may use: their own, or an organization provider granted to them.
///
/// # Errors
/// [`StoreError::NotFound`] otherwise.
pub async fn find_accessible(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<ProviderRow, StoreError> {
    let granted = provider_grants::table
        .filter(provider_grants::user_id.eq(user_id))
        .filter(provider_grants::is_active.eq(true))
        .select(provider_grants::provider_id);
    Ok(on_conn!(conn, |c| {
        providers::table
            .filter(providers::id.eq(id))
            .filter(
                providers::owner_id.eq(user_id).or(providers::scope
                    .eq("organization")
                    .and(providers::id.eq_any(granted))),
            )
            .select(ProviderRow::as_select())
            .first(c)
            .await
    })?)
}

/// The providers `owner_id` created, filtered and paged, oldest first.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_owned(
    conn: &mut DbConn<'_>,
    owner_id: Id,
    filter: &ProviderFilter,
    page: PageRequest,
) -> Result<Page<ProviderRow>, StoreError> {
    // A macro, not a closure: a boxed query is typed by its backend, so it is built per arm.
    macro_rules! query {
        () => {{
            let mut q = providers::table
                .filter(providers::owner_id.eq(owner_id))
                .into_boxed();
            if let Some(scope) = &filter.scope {
                q = q.filter(providers::scope.eq(scope.clone()));
            }
            if let Some(kind) = &filter.kind {
                q = q.filter(providers::kind.eq(kind.clone()));
            }
            if let Some(active) = filter.is_active {
                q = q.filter(providers::is_active.eq(active));
            }
            q
        }};
    }
    let (items, total) = on_conn!(conn, |c| {
        let items = query!()
            .order(providers::id.asc())
            .offset(page.offset)
            .limit(page.limit)
            .select(ProviderRow::as_select())
            .load(c)
            .await?;
        let total: i64 = query!().count().get_result(c).await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page { items, total })
}

/// Every active provider `user_id` may use: own ones and granted organization ones.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_available(
    conn: &mut DbConn<'_>,
    user_id: Id,
) -> Result<Vec<ProviderRow>, StoreError> {
    let granted = provider_grants::table
        .filter(provider_grants::user_id.eq(user_id))
        .filter(provider_grants::is_active.eq(true))
        .select(provider_grants::provider_id);
    Ok(on_conn!(conn, |c| {
        providers::table
            .filter(providers::is_active.eq(true))
            .filter(
                providers::owner_id.eq(user_id).or(providers::scope
                    .eq("organization")
                    .and(providers::id.eq_any(granted))),
            )
            .order(providers::id.asc())
            .select(ProviderRow::as_select())
            .load(c)
            .await
    })?)
}

/// Updates a provider owned by `owner_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs; [`StoreError::UniqueViolation`] on a slug clash.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    owner_id: Id,
    changes: &ProviderChanges<'_>,
) -> Result<ProviderRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            providers::table
                .filter(providers::id.eq(id))
                .filter(providers::owner_id.eq(owner_id)),
        )
        .set(changes)
        .returning(ProviderRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Deletes a provider owned by `owner_id`; returns whether a row went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(conn: &mut DbConn<'_>, id: Id, owner_id: Id) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            providers::table
                .filter(providers::id.eq(id))
                .filter(providers::owner_id.eq(owner_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}

/// Grants organization provider `provider_id` to `user_id` (idempotent: re-activates a grant).
///
/// # Errors
/// [`StoreError`] on query failure (e.g. an unknown user id: foreign key).
pub async fn grant(
    conn: &mut DbConn<'_>,
    provider_id: Id,
    user_id: Id,
    granted_by: Id,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    on_conn!(conn, |c| {
        diesel::insert_into(provider_grants::table)
            .values((
                provider_grants::provider_id.eq(provider_id),
                provider_grants::user_id.eq(user_id),
                provider_grants::granted_by.eq(granted_by),
                provider_grants::is_active.eq(true),
                provider_grants::created_at.eq(now),
            ))
            .on_conflict((provider_grants::provider_id, provider_grants::user_id))
            .do_update()
            .set(provider_grants::is_active.eq(true))
            .execute(c)
            .await
    })?;
    Ok(())
}
