//! Developer API keys: creation, management, and the one function that authenticates a key on
//! the `/v1` API (in `keys/authenticate.rs`, with the key cache and the last-use recorder).
//!
//! - A secret is `sk-aihub-` + 43 base62 characters encoding 32 bytes from the operating
//!   system's CSPRNG. It is shown once; only its SHA-256 (hex) and a display prefix are stored.
//! - [`App::authenticate_api_key`] hashes the presented secret and looks the digest up in an
//!   in-memory cache ([`moka::sync::Cache`], 60 s TTL, bounded): a warm request touches no
//!   database. A miss reads the key and its owner through the unique index on the hash (the
//!   digest is compared, never the secret; the stored hash is re-checked in constant time).
//!   Failures are never cached, so a key works the moment it is created.
//! - Every change to a key (PATCH, DELETE) drops its cache entry, and
//!   [`App::invalidate_user_keys`] drops every entry of an account (deactivation, role or
//!   password change), so revocation is effective on the very next request. A fill that raced
//!   with an invalidation is discarded (an epoch counter), so a stale entry cannot survive.
//! - Expiry is checked against the current time on every request, cached or not.
//! - `last_used_at` is kept in memory per key and written in one transaction every
//!   [`LAST_USED_FLUSH_INTERVAL`] by a task on the app runtime, and once more at shutdown.
//! - A key acts as its owner: the principal carries the owner's current role, and its
//!   permissions can only narrow what the owner may do.

use crate::auth::CurrentUser;
use crate::crypto::sha256_hex;
use crate::error::OrNotFound;
use crate::page::{Page, PageRequest};
use crate::{App, Error, Result, validate};
use aihub_domain::{ErrorCode, Id, time};
use aihub_store::api_keys::{self as store, ApiKeyChanges, ApiKeyRow, NewApiKey};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use secrecy::SecretString;
use std::time::Duration;

/// What every secret starts with.
pub const KEY_PREFIX: &str = "sk-aihub-";
/// Random bytes in a secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Base62 characters after [`KEY_PREFIX`]: the fewest that hold any 256-bit value.
pub const SECRET_CHARS: usize = 43;
/// Characters of the random part shown in a key's display prefix (about 24 bits of 256).
pub const PREFIX_CHARS: usize = 4;
/// Most keys one account may hold (active or not).
pub const MAX_KEYS_PER_USER: i64 = 100;
/// Largest accepted rate or token limit.
pub const MAX_LIMIT: i64 = 1_000_000_000_000;
/// Longest a resolved key stays cached without being re-read.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Most keys held in the cache at once.
pub const CACHE_CAPACITY: u64 = 100_000;
/// How often recorded uses are written to `last_used_at`.
pub const LAST_USED_FLUSH_INTERVAL: Duration = Duration::from_secs(2);

mod authenticate;
mod permissions;
mod secret;

pub use authenticate::ApiKeyPrincipal;
pub(crate) use authenticate::ApiKeys;
pub use permissions::{Permission, Permissions};
use secret::{display_prefix, generate_secret};

/// A key as its owner sees it: never the secret, never its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Display name.
    pub name: String,
    /// Display prefix (`sk-aihub-AbCd…`).
    pub prefix: String,
    /// What the key may be used for.
    pub permissions: Permissions,
    /// Requests per minute, if limited.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute, if limited.
    pub tokens_per_minute: Option<i64>,
    /// Token budget, if limited.
    pub usage_limit_tokens: Option<i64>,
    /// False when revoked.
    pub is_active: bool,
    /// Expiry (UTC).
    pub expires_at: Option<NaiveDateTime>,
    /// Last successful use (UTC), including uses not yet flushed to the database.
    pub last_used_at: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl ApiKey {
    fn from_row(row: ApiKeyRow, pending_use: Option<NaiveDateTime>) -> Self {
        ApiKey {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            prefix: row.prefix,
            permissions: Permissions::from_json(&row.permissions),
            requests_per_minute: row.requests_per_minute,
            tokens_per_minute: row.tokens_per_minute,
            usage_limit_tokens: row.usage_limit_tokens,
            is_active: row.is_active,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at.max(pending_use),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A key just created: the only time its secret exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The full secret (`sk-aihub-…`); show it once, it cannot be recovered.
    pub secret: SecretString,
}

/// Input of `POST /keys`.
#[derive(Debug, Clone, Default)]
pub struct NewApiKeyInput {
    /// Display name, 1–100 characters.
    pub name: String,
    /// Permission names; `None` grants all three.
    pub permissions: Option<Vec<String>>,
    /// Requests per minute (positive).
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute (positive).
    pub tokens_per_minute: Option<i64>,
    /// Token budget (positive).
    pub usage_limit_tokens: Option<i64>,
    /// Expiry; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Input of `PATCH /keys/{id}`: `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Permission names (replaced as a whole).
    pub permissions: Option<Vec<String>>,
    /// Active flag: `false` revokes the key at once.
    pub is_active: Option<bool>,
    /// Requests per minute.
    pub requests_per_minute: Option<Option<i64>>,
    /// Tokens per minute.
    pub tokens_per_minute: Option<Option<i64>>,
    /// Token budget.
    pub usage_limit_tokens: Option<Option<i64>>,
    /// Expiry; must be in the future when set.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

fn valid_limit(field: &str, n: Option<i64>) -> Result<Option<i64>> {
    match n {
        Some(n) if !(1..=MAX_LIMIT).contains(&n) => Err(Error::validation(
            field,
            format!("{field} must be between 1 and {MAX_LIMIT}"),
        )),
        other => Ok(other),
    }
}

fn valid_expiry(field: &str, t: Option<DateTime<Utc>>) -> Result<Option<NaiveDateTime>> {
    match t {
        Some(t) => {
            let t = t.naive_utc().trunc_subsecs(6);
            if t <= time::now() {
                return Err(Error::validation(
                    field,
                    format!("{field} must be in the future"),
                ));
            }
            Ok(Some(t))
        }
        None => Ok(None),
    }
}

impl App {
    /// Creates a key for the caller and returns it with its secret (shown once).
    ///
    /// # Errors
    /// `validation_error` naming the field (`name`, `permissions`,
    /// `rate_limit.requests_per_minute`, `rate_limit.tokens_per_minute`, `usage_limit_tokens`,
    /// `expires_at`); `conflict` when the caller already holds [`MAX_KEYS_PER_USER`] keys.
    pub async fn create_api_key(
        &self,
        user: &CurrentUser,
        input: NewApiKeyInput,
    ) -> Result<CreatedApiKey> {
        let name = validate::text("name", &input.name, 1, 100)?;
        let permissions = match &input.permissions {
            Some(names) => Permissions::parse_names("permissions", names)?,
            None => Permissions::all(),
        };
        let rpm = valid_limit("rate_limit.requests_per_minute", input.requests_per_minute)?;
        let tpm = valid_limit("rate_limit.tokens_per_minute", input.tokens_per_minute)?;
        let budget = valid_limit("usage_limit_tokens", input.usage_limit_tokens)?;
        let expires_at = valid_expiry("expires_at", input.expires_at)?;
        let secret = generate_secret()?;
        let hash = sha256_hex(&secret);
        let prefix = display_prefix(&secret);
        let perms_json = permissions.to_json();
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if store::count_owned(&mut conn, user.id).await? >= MAX_KEYS_PER_USER {
            return Err(Error {
                details: Some(serde_json::json!({ "max_keys": MAX_KEYS_PER_USER })),
                ..Error::new(
                    ErrorCode::Conflict,
                    format!(
                        "you already have {MAX_KEYS_PER_USER} API keys, the most allowed; delete one first"
                    ),
                )
            });
        }
        let now = time::now();
        let row = store::insert(
            &mut conn,
            &NewApiKey {
                user_id: user.id,
                name: &name,
                key_hash: &hash,
                prefix: &prefix,
                permissions: &perms_json,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                usage_limit_tokens: budget,
                is_active: true,
                expires_at,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(CreatedApiKey {
            key: ApiKey::from_row(row, None),
            secret: SecretString::from(secret),
        })
    }

    /// The caller's keys, oldest first, paged.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_api_keys(
        &self,
        user: &CurrentUser,
        page: PageRequest,
    ) -> Result<Page<ApiKey>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list_owned(&mut conn, user.id, page.into()).await?;
        let uses = &self.inner.api_keys.uses;
        Ok(Page {
            items: rows
                .items
                .into_iter()
                .map(|r| {
                    let pending = uses.pending(r.id);
                    ApiKey::from_row(r, pending)
                })
                .collect(),
            total: rows.total,
        })
    }

    /// One of the caller's keys.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id (indistinguishable).
    pub async fn get_api_key(&self, user: &CurrentUser, id: Id) -> Result<ApiKey> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("API key")?;
        Ok(ApiKey::from_row(row, self.inner.api_keys.uses.pending(id)))
    }

    /// Updates one of the caller's keys; the change applies from the very next request.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id; `validation_error` naming the field.
    pub async fn update_api_key(
        &self,
        user: &CurrentUser,
        id: Id,
        update: ApiKeyUpdate,
    ) -> Result<ApiKey> {
        let name = update
            .name
            .as_deref()
            .map(|n| validate::text("name", n, 1, 100))
            .transpose()?;
        let perms_json = update
            .permissions
            .as_deref()
            .map(|p| Permissions::parse_names("permissions", p).map(Permissions::to_json))
            .transpose()?;
        let limit = |field: &str, v: Option<Option<i64>>| -> Result<Option<Option<i64>>> {
            v.map(|v| valid_limit(field, v)).transpose()
        };
        let rpm = limit("rate_limit.requests_per_minute", update.requests_per_minute)?;
        let tpm = limit("rate_limit.tokens_per_minute", update.tokens_per_minute)?;
        let budget = limit("usage_limit_tokens", update.usage_limit_tokens)?;
        let expires_at = update
            .expires_at
            .map(|t| valid_expiry("expires_at", t))
            .transpose()?;
        let changes = ApiKeyChanges {
            name: name.as_deref(),
            permissions: perms_json.as_deref(),
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
            usage_limit_tokens: budget,
            is_active: update.is_active,
            expires_at,
            updated_at: Some(time::now()),
        };
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::update_owned(&mut conn, id, user.id, &changes)
            .await
            .or_not_found("API key")?;
        // After the write: a concurrent fill either sees the new row or is discarded.
        self.inner
            .api_keys
            .invalidate_hash_hex(row.id, &row.key_hash);
        Ok(ApiKey::from_row(row, self.inner.api_keys.uses.pending(id)))
    }

    /// Deletes one of the caller's keys; it stops working on the very next request.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn delete_api_key(&self, user: &CurrentUser, id: Id) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let hash = store::delete_owned(&mut conn, id, user.id)
            .await?
            .ok_or_else(|| Error::not_found("API key"))?;
        self.inner.api_keys.invalidate_hash_hex(id, &hash);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
