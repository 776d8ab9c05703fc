//! Developer API keys: creation, management, and the one function that authenticates a key on the `/v1` API.
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
use crate::crypto::{constant_time_eq, os_random_bytes, sha256, sha256_hex};
use crate::{App, Error, Result, validate};
use aihub_domain::{ErrorCode, Id, Role, time};
use aihub_store::api_keys::{self as store, ApiKeyChanges, ApiKeyRow, NewApiKey};
use aihub_store::{Db, Page, PageRequest, StoreError};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// One thing a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `POST /v1/chat/completions` and the other generation routes.
    Chat,
    /// `GET /v1/models`.
    Models,
    /// Reading usage and quota.
    Usage,
}

impl Permission {
    /// Every permission, in wire order.
    pub const ALL: [Permission; 3] = [Permission::Chat, Permission::Models, Permission::Usage];

    /// The stored and wire form (`chat`, `models`, `usage`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Chat => "chat",
            Permission::Models => "models",
            Permission::Usage => "usage",
        }
    }

    /// Parses the wire form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    fn bit(self) -> u8 {
        match self {
            Permission::Chat => 1,
            Permission::Models => 2,
            Permission::Usage => 4,
        }
    }
}

/// A set of [`Permission`]s (a bit set; iterates in [`Permission::ALL`] order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in [`Permission::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// Parses request values (duplicates collapse).
    ///
    /// # Errors
    /// `validation_error` naming `field` for an unknown value or an empty list.
    pub fn parse_names(field: &str, names: &[String]) -> Result<Self> {
        let mut set = Permissions::default();
        for name in names {
            let p = Permission::parse(name.trim()).ok_or_else(|| {
                Error::validation(
                    field,
                    format!("unknown permission `{name}`; allowed: chat, models, usage"),
                )
            })?;
            set.0 |= p.bit();
        }
        if set.is_empty() {
            return Err(Error::validation(
                field,
                format!("{field} must name at least one of chat, models, usage"),
            ));
        }
        Ok(set)
    }

    /// The stored form: a JSON array of names, e.g. `["chat","models"]`.
    pub fn to_json(self) -> String {
        let names: Vec<&str> = self.iter().map(Permission::as_str).collect();
        serde_json::Value::from(names).to_string()
    }

    /// Reads the stored form; unknown or malformed entries grant nothing (least privilege).
    pub fn from_json(s: &str) -> Self {
        serde_json::from_str::<Vec<String>>(s)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| Permission::parse(n))
            .collect()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Permissions(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

/// The caller of a `/v1` request: a valid developer API key and what it may do. It acts as
/// its owner (`user_id`, with the owner's current `role`); `permissions` only narrow that.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyPrincipal {
    /// The key's id.
    pub key_id: Id,
    /// The owner's account id.
    pub user_id: Id,
    /// The owner's role, read when the key was resolved (the cache is dropped on changes).
    pub role: Role,
    /// The key's display name.
    pub name: String,
    /// The key's display prefix (`sk-aihub-AbCd…`).
    pub prefix: String,
    /// What the key may be used for.
    pub permissions: Permissions,
    /// Requests per minute allowed to this key; `None`: only the owner's plan applies.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute allowed to this key; `None`: only the owner's plan applies.
    pub tokens_per_minute: Option<i64>,
    /// Total tokens this key may consume; `None`: unlimited.
    pub usage_limit_tokens: Option<i64>,
    /// When the key stops working (UTC); `None`: never.
    pub expires_at: Option<NaiveDateTime>,
}

impl ApiKeyPrincipal {
    /// Checks the key holds `permission`.
    ///
    /// # Errors
    /// `permission_denied` (403) naming the permission in the message and in
    /// `details.required_permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.permissions.contains(permission) {
            return Ok(());
        }
        Err(Error {
            details: Some(serde_json::json!({ "required_permission": permission.as_str() })),
            ..Error::new(
                ErrorCode::PermissionDenied,
                format!(
                    "this API key lacks the `{}` permission",
                    permission.as_str()
                ),
            )
        })
    }

    fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

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

/// The key cache, the `last_used_at` recorder and its flusher: the state behind
/// [`App::authenticate_api_key`].
pub(crate) struct ApiKeys {
    cache: moka::sync::Cache<[u8; 32], Arc<ApiKeyPrincipal>>,
    /// Bumped by every invalidation; a cache fill that saw it change discards its entry.
    epoch: AtomicU64,
    uses: Arc<UseRecorder>,
    flusher: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

/// The latest use of each key since the last flush.
#[derive(Default)]
struct UseRecorder {
    pending: Mutex<HashMap<Id, NaiveDateTime>>,
}

impl UseRecorder {
    fn record(&self, key_id: Id, at: NaiveDateTime) {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let slot = map.entry(key_id).or_insert(at);
        *slot = (*slot).max(at);
    }

    fn pending(&self, key_id: Id) -> Option<NaiveDateTime> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key_id)
            .copied()
    }

    fn take(&self) -> Vec<(Id, NaiveDateTime)> {
        let map = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut uses: Vec<_> = map.into_iter().collect();
        uses.sort_unstable();
        uses
    }

    /// Writes every pending use in one transaction; on failure they are kept for next time.
    async fn flush(&self, db: &Db) {
        let uses = self.take();
        if uses.is_empty() {
            return;
        }
        let batch = uses.clone();
        let written = db
            .transaction::<_, StoreError, _>(move |mut tx| {
                Box::pin(async move { store::touch_last_used(&mut tx, &batch).await })
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, keys = uses.len(), "could not record API key last use");
            for (id, at) in uses {
                self.record(id, at);
            }
        }
    }
}

impl ApiKeys {
    /// Builds the cache and starts the flusher on the current runtime (the app runtime).
    pub(crate) fn start(db: Db) -> Self {
        let uses = Arc::new(UseRecorder::default());
        let stop = CancellationToken::new();
        let task = tokio::spawn(run_flusher(db, uses.clone(), stop.clone()));
        ApiKeys {
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .support_invalidation_closures()
                .build(),
            epoch: AtomicU64::new(0),
            uses,
            flusher: Mutex::new(Some((stop, task))),
        }
    }

    /// Stops the flusher after one last flush (at shutdown, before the pool closes).
    pub(crate) async fn stop(&self) {
        let flusher = self
            .flusher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((stop, task)) = flusher {
            stop.cancel();
            if let Err(e) = task.await {
                tracing::error!(error = %e, "API key last-use flusher failed");
            }
        }
    }

    fn invalidate_digest(&self, digest: &[u8; 32]) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(digest);
    }

    fn invalidate_hash_hex(&self, key_id: Id, key_hash: &str) {
        let digest = hex::decode(key_hash)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        match digest {
            Some(d) => self.invalidate_digest(&d),
            None => self.invalidate_where(move |p| p.key_id == key_id),
        }
    }

    fn invalidate_where(&self, f: impl Fn(&ApiKeyPrincipal) -> bool + Send + Sync + 'static) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if self.cache.invalidate_entries_if(move |_, p| f(p)).is_err() {
            // Only when closures are unsupported, which the builder enables: drop everything.
            self.cache.invalidate_all();
        }
    }
}

async fn run_flusher(db: Db, uses: Arc<UseRecorder>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(LAST_USED_FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => uses.flush(&db).await,
            () = stop.cancelled() => {
                uses.flush(&db).await;
                return;
            }
        }
    }
}

/// `sk-aihub-` + base62 of 32 bytes from the OS CSPRNG.
fn generate_secret() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    os_random_bytes(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", base62(&bytes)))
}

/// Big-endian base62 of a 256-bit number, zero-padded to [`SECRET_CHARS`] characters.
fn base62(bytes: &[u8; SECRET_BYTES]) -> String {
    let mut num = *bytes;
    let mut digits = [0u8; SECRET_CHARS];
    for d in digits.iter_mut().rev() {
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        *d = BASE62[rem as usize];
    }
    digits.iter().map(|&c| char::from(c)).collect()
}

/// Whether `s` has the shape of a secret; anything else is refused without a lookup.
fn looks_like_secret(s: &str) -> bool {
    s.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn display_prefix(secret: &str) -> String {
    let random: String = secret[KEY_PREFIX.len()..]
        .chars()
        .take(PREFIX_CHARS)
        .collect();
    format!("{KEY_PREFIX}{random}…")
}

fn invalid_key(message: &str) -> Error {
    Error::new(ErrorCode::InvalidApiKey, message)
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

fn not_found(e: StoreError) -> Error {
    match e {
        StoreError::NotFound => Error::not_found("API key"),
        other => other.into(),
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
        let rows = store::list_owned(&mut conn, user.id, page).await?;
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
            .map_err(not_found)?;
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
            .map_err(not_found)?;
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

    /// Drops every cached key of `user_id`, so the next request of each re-reads the key and
    /// its owner. Call it after deactivating an account or changing its role or password.
    pub fn invalidate_user_keys(&self, user_id: Id) {
        self.inner
            .api_keys
            .invalidate_where(move |p| p.user_id == user_id);
    }

    /// The one authentication path of the `/v1` API: resolves a presented secret (from
    /// `Authorization: Bearer` or `X-API-Key`) to its key, and records the use.
    ///
    /// A warm cache answers without touching the database; on a miss the lookup runs on the
    /// app runtime ([`App::run`]), so a caller dropping this future cannot cancel a query.
    /// Expiry is checked against the current time on every call.
    ///
    /// # Errors
    /// `invalid_api_key` (401) for a malformed, unknown, deleted, revoked or expired key, or
    /// one whose owner is deactivated.
    pub async fn authenticate_api_key(&self, secret: &str) -> Result<Arc<ApiKeyPrincipal>> {
        let secret = secret.trim();
        if !looks_like_secret(secret) {
            return Err(invalid_key("invalid API key"));
        }
        let digest = sha256(secret);
        let keys = &self.inner.api_keys;
        let principal = match keys.cache.get(&digest) {
            Some(p) => p,
            None => {
                let epoch = keys.epoch.load(Ordering::SeqCst);
                let app = self.clone();
                let p = self
                    .run(async move { app.load_principal(&digest).await })
                    .await?;
                keys.cache.insert(digest, p.clone());
                if keys.epoch.load(Ordering::SeqCst) != epoch {
                    // An invalidation ran while this fill read the database: its row may be
                    // stale, so it must not outlive this request.
                    keys.cache.invalidate(&digest);
                }
                p
            }
        };
        let now = time::now();
        if principal.is_expired(now) {
            keys.cache.invalidate(&digest);
            return Err(invalid_key("API key has expired"));
        }
        keys.uses.record(principal.key_id, now);
        Ok(principal)
    }

    /// Reads a key by digest and checks it may be used now; failures are not cached.
    async fn load_principal(&self, digest: &[u8; 32]) -> Result<Arc<ApiKeyPrincipal>> {
        let hash = hex::encode(digest);
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let found = store::find_by_hash(&mut conn, &hash)
            .await?
            .filter(|f| constant_time_eq(f.key.key_hash.as_bytes(), hash.as_bytes()))
            .ok_or_else(|| invalid_key("invalid API key"))?;
        let key = found.key;
        if !key.is_active {
            return Err(invalid_key("API key is disabled"));
        }
        if !found.owner_active {
            return Err(invalid_key("the account owning this API key is disabled"));
        }
        let principal = ApiKeyPrincipal {
            key_id: key.id,
            user_id: key.user_id,
            role: Role::parse(&found.owner_role),
            permissions: Permissions::from_json(&key.permissions),
            name: key.name,
            prefix: key.prefix,
            requests_per_minute: key.requests_per_minute,
            tokens_per_minute: key.tokens_per_minute,
            usage_limit_tokens: key.usage_limit_tokens,
            expires_at: key.expires_at,
        };
        if principal.is_expired(time::now()) {
            return Err(invalid_key("API key has expired"));
        }
        Ok(Arc::new(principal))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
