//! Authenticating a key on the `/v1` API: [`ApiKeyPrincipal`], the cache of resolved keys
//! (dropped on every change), and the `last_used_at` recorder flushed off the request path.

use super::secret::looks_like_secret;
use super::{CACHE_CAPACITY, CACHE_TTL, LAST_USED_FLUSH_INTERVAL, Permission, Permissions};
use crate::crypto::{constant_time_eq, sha256};
use crate::{App, Error, Result};
use aihub_domain::{ErrorCode, Id, Role, time};
use aihub_store::api_keys as store;
use aihub_store::{Db, StoreError};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

    pub(super) fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// The key cache, the `last_used_at` recorder and its flusher: the state behind
/// [`App::authenticate_api_key`].
pub(crate) struct ApiKeys {
    cache: moka::sync::Cache<[u8; 32], Arc<ApiKeyPrincipal>>,
    /// Bumped by every invalidation; a cache fill that saw it change discards its entry.
    epoch: AtomicU64,
    pub(super) uses: Arc<UseRecorder>,
    flusher: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

/// The latest use of each key since the last flush.
#[derive(Default)]
pub(super) struct UseRecorder {
    pending: Mutex<HashMap<Id, NaiveDateTime>>,
}

impl UseRecorder {
    fn record(&self, key_id: Id, at: NaiveDateTime) {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let slot = map.entry(key_id).or_insert(at);
        *slot = (*slot).max(at);
    }

    pub(super) fn pending(&self, key_id: Id) -> Option<NaiveDateTime> {
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

    pub(super) fn invalidate_hash_hex(&self, key_id: Id, key_hash: &str) {
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

fn invalid_key(message: &str) -> Error {
    Error::new(ErrorCode::InvalidApiKey, message)
}

impl App {
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
