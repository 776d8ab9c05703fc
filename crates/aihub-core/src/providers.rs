//! Providers: upstream connections a user owns (personal) or an admin shares (organization).
//!
//! The API key is encrypted before it reaches the database and only ever leaves this module
//! inside a [`SecretString`] handed to an adapter, or masked.

use crate::auth::CurrentUser;
use crate::error::OrNotFound;
use crate::page::{Page, PageRequest};
use crate::{App, Error, Result, validate};
use aihub_domain::{ErrorCode, Id, ModelInfo, ProviderConfig, ProviderKind, ProviderScope, time};
use aihub_store::providers::{self as store, NewProvider, ProviderChanges, ProviderRow};
use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretString};
use std::time::Instant;

mod clients;
mod validation;

pub(crate) use clients::ProviderClients;
pub use clients::ResolvedProvider;
use validation::{slugify, valid_api_key, valid_base_url, valid_config, valid_slug};

/// A provider as the API shows it: the key only masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Id.
    pub id: Id,
    /// Creator.
    pub owner_id: Id,
    /// Display name.
    pub name: String,
    /// Slug (the `<slug>/` of model names).
    pub slug: String,
    /// Wire family.
    pub kind: ProviderKind,
    /// Scope.
    pub scope: ProviderScope,
    /// Masked API key (`sk-a…wxyz`), if one is stored.
    pub api_key_masked: Option<String>,
    /// Base URL as configured (`None`: the vendor default).
    pub base_url: Option<String>,
    /// Settings.
    pub config: ProviderConfig,
    /// Switched on.
    pub is_active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl Provider {
    pub(crate) fn from_row(row: &ProviderRow) -> Result<Provider> {
        Ok(Provider {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name.clone(),
            slug: row.slug.clone(),
            kind: ProviderKind::parse(&row.kind).ok_or_else(|| {
                Error::internal(format!("stored provider {} has unknown kind", row.id))
            })?,
            scope: ProviderScope::parse(&row.scope),
            api_key_masked: row.api_key_hint.clone(),
            base_url: row.base_url.clone(),
            config: serde_json::from_str(&row.config).unwrap_or_default(),
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The base URL requests go to: the configured one or the vendor default.
    pub fn effective_base_url(&self) -> Option<String> {
        self.base_url
            .clone()
            .or_else(|| self.kind.default_base_url().map(str::to_owned))
    }
}

/// Filters of the provider listing; `None` does not filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderFilter {
    /// Only this scope.
    pub scope: Option<ProviderScope>,
    /// Only this kind.
    pub kind: Option<ProviderKind>,
    /// Only active, or only inactive ones.
    pub is_active: Option<bool>,
}

impl From<&ProviderFilter> for store::ProviderFilter {
    fn from(f: &ProviderFilter) -> Self {
        store::ProviderFilter {
            scope: f.scope.map(|s| s.as_str().to_owned()),
            kind: f.kind.map(|k| k.as_str().to_owned()),
            is_active: f.is_active,
        }
    }
}

/// Input of `POST /providers`.
#[derive(Debug, Clone)]
pub struct NewProviderInput {
    /// Display name, 1–100 characters.
    pub name: String,
    /// Slug; derived from the name when absent.
    pub slug: Option<String>,
    /// Wire family.
    pub kind: ProviderKind,
    /// Scope; `organization` needs an admin.
    pub scope: ProviderScope,
    /// API key (write-only).
    pub api_key: Option<SecretString>,
    /// Base URL; required for `openai_compatible`.
    pub base_url: Option<String>,
    /// Settings.
    pub config: ProviderConfig,
    /// Switched on (default true).
    pub is_active: Option<bool>,
}

/// Input of `PUT|PATCH /providers/{id}`; `None` leaves a field as it is, `Some(None)` clears
/// a nullable one (the key or base URL).
#[derive(Debug, Clone, Default)]
pub struct ProviderUpdate {
    /// Name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// API key.
    pub api_key: Option<Option<SecretString>>,
    /// Base URL.
    pub base_url: Option<Option<String>>,
    /// Settings (replaced as a whole).
    pub config: Option<ProviderConfig>,
    /// Active flag.
    pub is_active: Option<bool>,
}

/// Result of `POST /providers/{id}/test`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderTestResult {
    /// Whether the upstream answered with success.
    pub ok: bool,
    /// Round-trip time in milliseconds.
    pub latency_ms: u64,
    /// Models the upstream listed (when it lists any).
    pub models: Vec<ModelInfo>,
    /// The mapped error when not ok.
    pub error: Option<(ErrorCode, String)>,
}

impl App {
    /// Creates a provider. `organization` scope is admin-only and may use private addresses;
    /// a personal provider's base URL must be public, so no user can point the gateway at an
    /// internal address.
    ///
    /// # Errors
    /// `permission_denied`; `validation_error`/`unsafe_base_url` naming the field; `conflict`
    /// when the caller already has that slug.
    pub async fn create_provider(
        &self,
        user: &CurrentUser,
        input: NewProviderInput,
    ) -> Result<Provider> {
        if input.scope == ProviderScope::Organization && !user.is_admin() {
            return Err(Error::new(
                ErrorCode::PermissionDenied,
                "only admins can create organization providers",
            ));
        }
        let name = validate::text("name", &input.name, 1, 100)?;
        let slug = match input.slug.as_deref() {
            Some(s) => valid_slug(s.trim())?,
            None => {
                let s = slugify(&name);
                if s.is_empty() {
                    input.kind.as_str().replace('_', "-")
                } else {
                    s
                }
            }
        };
        let base_url = valid_base_url(input.kind, input.scope, input.base_url.as_deref())?;
        valid_config(&input.config)?;
        if let Some(k) = &input.api_key {
            valid_api_key(k)?;
        }
        let config_json = serde_json::to_string(&input.config).map_err(Error::internal)?;
        let now = time::now();
        let owner_id = user.id;
        let cipher = self.inner.cipher.clone();
        let kind = input.kind.as_str();
        let scope = input.scope.as_str();
        let api_key = input.api_key;
        let is_active = input.is_active.unwrap_or(true);
        let row = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let new = NewProvider {
                        owner_id,
                        name: &name,
                        slug: &slug,
                        kind,
                        scope,
                        base_url: base_url.as_deref(),
                        config: &config_json,
                        is_active,
                        created_at: now,
                        updated_at: now,
                    };
                    let row = store::insert(&mut tx, &new).await.map_err(slug_conflict)?;
                    match api_key {
                        Some(key) => {
                            let ct = cipher.encrypt(owner_id, row.id, &key)?;
                            let hint = crate::crypto::mask_key(key.expose_secret());
                            let changes = ProviderChanges {
                                api_key_ciphertext: Some(Some(&ct)),
                                api_key_hint: Some(Some(&hint)),
                                ..ProviderChanges::default()
                            };
                            Ok(store::update_owned(&mut tx, row.id, owner_id, &changes).await?)
                        }
                        None => Ok(row),
                    }
                })
            })
            .await?;
        self.forget_routes();
        Provider::from_row(&row)
    }

    /// The caller's own providers, filtered and paged.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_providers(
        &self,
        user: &CurrentUser,
        filter: &ProviderFilter,
        page: PageRequest,
    ) -> Result<Page<Provider>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list_owned(&mut conn, user.id, &filter.into(), page.into()).await?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(Provider::from_row)
                .collect::<Result<_>>()?,
            total: rows.total,
        })
    }

    /// Every active provider the caller may use: their own and organization ones granted to them.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn available_providers(&self, user: &CurrentUser) -> Result<Vec<Provider>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::list_available(&mut conn, user.id)
            .await?
            .iter()
            .map(Provider::from_row)
            .collect()
    }

    /// One of the caller's providers (owned, or granted to them).
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn get_provider(&self, user: &CurrentUser, id: Id) -> Result<Provider> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::find_accessible(&mut conn, id, user.id)
            .await
            .or_not_found("provider")?;
        Provider::from_row(&row)
    }

    /// Updates a provider the caller owns.
    ///
    /// # Errors
    /// `not_found`; `validation_error`/`unsafe_base_url`; `conflict` on a slug clash.
    pub async fn update_provider(
        &self,
        user: &CurrentUser,
        id: Id,
        update: ProviderUpdate,
    ) -> Result<Provider> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let current = store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("provider")?;
        let current = Provider::from_row(&current)?;
        let name = update
            .name
            .as_deref()
            .map(|n| validate::text("name", n, 1, 100))
            .transpose()?;
        let slug = update
            .slug
            .as_deref()
            .map(|s| valid_slug(s.trim()))
            .transpose()?;
        let base_url = match &update.base_url {
            Some(url) => Some(valid_base_url(current.kind, current.scope, url.as_deref())?),
            None => None,
        };
        if let Some(c) = &update.config {
            valid_config(c)?;
        }
        let config_json = update
            .config
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(Error::internal)?;
        let (ct, hint) = match &update.api_key {
            Some(Some(key)) => {
                valid_api_key(key)?;
                (
                    Some(Some(self.inner.cipher.encrypt(user.id, id, key)?)),
                    Some(Some(crate::crypto::mask_key(key.expose_secret()))),
                )
            }
            Some(None) => (Some(None), Some(None)),
            None => (None, None),
        };
        let changes = ProviderChanges {
            name: name.as_deref(),
            slug: slug.as_deref(),
            api_key_ciphertext: ct.as_ref().map(|o| o.as_deref()),
            api_key_hint: hint.as_ref().map(|o| o.as_deref()),
            base_url: base_url.as_ref().map(|o| o.as_deref()),
            config: config_json.as_deref(),
            is_active: update.is_active,
            updated_at: Some(time::now()),
        };
        let row = store::update_owned(&mut conn, id, user.id, &changes)
            .await
            .map_err(slug_conflict)?;
        self.inner.providers.forget(id);
        self.forget_routes();
        Provider::from_row(&row)
    }

    /// Deletes a provider the caller owns; conversations using it keep their history.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn delete_provider(&self, user: &CurrentUser, id: Id) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if !store::delete_owned(&mut conn, id, user.id).await? {
            return Err(Error::not_found("provider"));
        }
        self.inner.providers.forget(id);
        self.forget_routes();
        Ok(())
    }

    /// Makes a real call to the upstream (its model list) and reports ok or the mapped error.
    ///
    /// # Errors
    /// `not_found`; the upstream's failure is reported in the result, not as an error.
    pub async fn test_provider(&self, user: &CurrentUser, id: Id) -> Result<ProviderTestResult> {
        let resolved = match self.resolve_provider(user.id, id).await {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::NotFound | ErrorCode::ProviderNotAccessible
                ) =>
            {
                // The same 404 as every other provider route for a foreign or missing id.
                return Err(Error::not_found("provider"));
            }
            Err(e) => {
                return Ok(ProviderTestResult {
                    ok: false,
                    latency_ms: 0,
                    models: vec![],
                    error: Some((e.code, e.message)),
                });
            }
        };
        let started = Instant::now();
        let listed = resolved.client.list_models().await;
        // Some OpenAI-compatible servers have no model list: a one-token completion with the
        // default model is the next cheapest real call.
        let listed = match (listed, resolved.provider.config.default_model.clone()) {
            (Err(e), Some(model)) if matches!(e.status, Some(404 | 405 | 501)) => {
                let probe = aihub_domain::ChatRequest {
                    model: model.clone(),
                    messages: vec![aihub_domain::ChatMessage::new(
                        aihub_domain::ChatRole::User,
                        "ping",
                    )],
                    max_tokens: Some(1),
                    temperature: Some(0.0),
                    ..aihub_domain::ChatRequest::default()
                };
                resolved.client.chat(&probe).await.map(|_| {
                    vec![ModelInfo {
                        id: model,
                        owned_by: None,
                    }]
                })
            }
            (other, _) => other,
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(match listed {
            Ok(models) => ProviderTestResult {
                ok: true,
                latency_ms,
                models,
                error: None,
            },
            Err(e) => ProviderTestResult {
                ok: false,
                latency_ms,
                models: vec![],
                error: Some((e.code, e.message)),
            },
        })
    }
}

fn slug_conflict(e: aihub_store::StoreError) -> Error {
    match e {
        aihub_store::StoreError::UniqueViolation(_) => Error {
            param: Some("slug".into()),
            ..Error::new(
                ErrorCode::Conflict,
                "you already have a provider with this slug",
            )
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests;
