//! Live clients: resolving a provider the caller may use into a built [`ChatProvider`], with
//! one cached client per provider, rebuilt when its row changes.

use super::Provider;
use crate::error::OrNotFound;
use crate::{App, Error, Result};
use aihub_domain::{ErrorCode, Id, ProviderScope};
use aihub_providers::{ChatProvider, ProviderSettings, build_provider};
use aihub_store::providers::{self as store, ProviderRow};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A built client and the `updated_at` of the row it was built from.
type CachedClient = (NaiveDateTime, Arc<dyn ChatProvider>);

/// Built clients, keyed by provider id and invalidated when the row changes (`updated_at`).
#[derive(Default)]
pub(crate) struct ProviderClients {
    clients: Mutex<HashMap<Id, CachedClient>>,
}

impl ProviderClients {
    fn get(&self, id: Id, version: NaiveDateTime) -> Option<Arc<dyn ChatProvider>> {
        let map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&id)
            .filter(|(v, _)| *v == version)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, id: Id, version: NaiveDateTime, client: Arc<dyn ChatProvider>) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (version, client));
    }

    pub(super) fn forget(&self, id: Id) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// A provider resolved for one generation: its view and a live client.
#[derive(Clone)]
pub struct ResolvedProvider {
    /// The provider (shared: cloning a resolved provider copies two pointers).
    pub provider: Arc<Provider>,
    /// The client.
    pub client: Arc<dyn ChatProvider>,
}

impl App {
    /// Resolves a provider the caller may use into a live client: it must be accessible,
    /// active, and hold a key when its vendor needs one. Clients are cached per provider and
    /// rebuilt when the row changes.
    ///
    /// # Errors
    /// `provider_not_accessible` (404) for another user's or a missing provider;
    /// `provider_inactive`; `provider_key_missing`; `unsafe_base_url`.
    pub async fn resolve_provider(&self, user_id: Id, id: Id) -> Result<ResolvedProvider> {
        let row = {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_accessible(&mut conn, id, user_id)
                .await
                .or_provider_not_accessible()?
        };
        self.client_for_row(&row)
    }

    /// The provider of `row` with its built client: from the client cache when the row has not
    /// changed since the client was built (no database access), else decrypts the key and
    /// builds it.
    ///
    /// # Errors
    /// `provider_inactive`; `provider_key_missing`; `unsafe_base_url` / `validation_error` from
    /// the adapter; `internal_error` when the stored key does not decrypt.
    pub(crate) fn client_for_row(&self, row: &ProviderRow) -> Result<ResolvedProvider> {
        self.client_for(Provider::from_row(row)?, row)
    }

    /// Like [`App::client_for_row`] for a provider already parsed from `row` (the route cache
    /// keeps them parsed, so a warm request does not re-read the config JSON).
    ///
    /// # Errors
    /// As [`App::client_for_row`].
    pub(crate) fn client_for(
        &self,
        provider: Provider,
        row: &ProviderRow,
    ) -> Result<ResolvedProvider> {
        if !provider.is_active {
            return Err(Error::new(
                ErrorCode::ProviderInactive,
                "provider is inactive",
            ));
        }
        if let Some(client) = self.inner.providers.get(row.id, row.updated_at) {
            return Ok(ResolvedProvider {
                provider: Arc::new(provider),
                client,
            });
        }
        let api_key = match &row.api_key_ciphertext {
            Some(ct) => Some(
                self.inner
                    .cipher
                    .decrypt(row.owner_id, row.id, ct)
                    .inspect_err(|_| {
                        tracing::error!(
                            provider_id = row.id,
                            "stored provider key does not decrypt for its row"
                        );
                    })?,
            ),
            None if provider.kind.requires_api_key() => {
                return Err(Error::new(
                    ErrorCode::ProviderKeyMissing,
                    "provider has no API key",
                ));
            }
            None => None,
        };
        let timeout = provider
            .config
            .timeout_s
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.config().default_provider_timeout);
        let settings = ProviderSettings {
            kind: provider.kind,
            base_url: provider.base_url.clone(),
            api_key,
            headers: provider.config.headers.clone(),
            timeout,
            allow_private_network: provider.scope == ProviderScope::Organization,
        };
        let client = build_provider(settings)?;
        self.inner
            .providers
            .put(row.id, row.updated_at, client.clone());
        Ok(ResolvedProvider {
            provider: Arc::new(provider),
            client,
        })
    }
}
