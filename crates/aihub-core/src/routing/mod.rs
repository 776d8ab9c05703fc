//! Routing: which provider serves a public model name, how failures are retried and where
//! they fall back to, and which providers are cooling down.
//!
//! - [`App::resolve_model`] maps `"<provider slug or kind>/<model>"` (or a bare model a
//!   provider's `config.models` or the price catalog knows) to a provider the caller may use.
//!   The caller's providers come from a per-user cache holding them already parsed
//!   ([`Route`]), so a warm request makes no database call and parses no config JSON.
//! - [`dispatch`] opens a generation on a list of targets with retries (before the first byte
//!   only), fallbacks and timeouts.
//! - [`retry`] holds the pure decisions (backoff with full jitter, whether to fall back);
//!   [`circuit`] the per-provider cooldown.
//! - [`models`] lists what `/v1/models` shows.

pub(crate) mod circuit;
pub(crate) mod dispatch;
pub(crate) mod models;
pub(crate) mod retry;

use crate::providers::{Provider, ResolvedProvider};
use crate::{App, Error, Result, RoutingConfig};
use aihub_domain::{ErrorCode, Id, ModelInfo, ModelRef, ProviderScope};
use aihub_store::providers::ProviderRow;
use std::sync::Arc;
use std::time::Duration;

/// One provider a user may route to: parsed once when the cache is filled.
pub(crate) struct Route {
    pub(crate) provider: Provider,
    pub(crate) row: ProviderRow,
    /// The provider with its built client, once a request used it (a route lives no longer
    /// than the row it was read from: any provider change clears the cache).
    resolved: std::sync::OnceLock<ResolvedProvider>,
}

impl App {
    /// The route's provider with its client: built once per cached route, then shared.
    ///
    /// # Errors
    /// As [`App::client_for_row`] (`provider_inactive`, `provider_key_missing`, …); errors
    /// are not cached.
    pub(crate) fn resolve_route(&self, route: &Route) -> Result<ResolvedProvider> {
        if let Some(rp) = route.resolved.get() {
            return Ok(rp.clone());
        }
        let rp = self.client_for(route.provider.clone(), &route.row)?;
        Ok(route.resolved.get_or_init(|| rp).clone())
    }
}

/// In-memory routing state of this process: caches and circuits.
pub(crate) struct RoutingState {
    /// User id → the active providers they may use (own and granted), oldest first.
    routes: moka::sync::Cache<Id, Arc<Vec<Route>>>,
    /// Provider id → the models it lists (for `/v1/models`).
    pub(crate) listed: moka::sync::Cache<Id, Arc<Vec<ModelInfo>>>,
    pub(crate) circuits: circuit::Circuits,
}

impl RoutingState {
    pub(crate) fn new(config: &RoutingConfig) -> Self {
        RoutingState {
            routes: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(config.route_cache_ttl)
                .build(),
            listed: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(config.route_cache_ttl.max(Duration::from_secs(60)))
                .build(),
            circuits: circuit::Circuits::default(),
        }
    }
}

impl App {
    /// Forgets every cached route (users' provider lists). Called on any provider change;
    /// tests that grant providers through the store call it too.
    pub fn forget_routes(&self) {
        self.inner.routing.routes.invalidate_all();
    }

    /// The active providers `user_id` may use, from the cache or (cold) the database.
    pub(crate) async fn routes_of(&self, user_id: Id) -> Result<Arc<Vec<Route>>> {
        if let Some(routes) = self.inner.routing.routes.get(&user_id) {
            return Ok(routes);
        }
        // Cold path: the query runs on the app runtime (a dropped SQLite query must not run on
        // an HTTP worker, see `App::run`).
        let rows = self
            .run({
                let app = self.clone();
                async move {
                    let mut pooled = app.db().get().await?;
                    let mut conn = pooled.conn();
                    Ok(aihub_store::providers::list_available(&mut conn, user_id).await?)
                }
            })
            .await?;
        let mut routes = Vec::with_capacity(rows.len());
        for row in rows {
            match Provider::from_row(&row) {
                Ok(provider) => routes.push(Route {
                    provider,
                    row,
                    resolved: std::sync::OnceLock::new(),
                }),
                Err(e) => tracing::warn!(provider_id = row.id, error = %e, "unusable provider row"),
            }
        }
        let routes = Arc::new(routes);
        self.inner.routing.routes.insert(user_id, routes.clone());
        Ok(routes)
    }

    /// Resolves a public model name for `user_id` to a provider and the vendor's model id.
    ///
    /// Order: the caller's own provider with that slug, an organization provider granted to
    /// them with that slug, then the same two by kind (oldest first). A name without a known
    /// prefix is looked up in the providers' `config.models`, then in the price catalog (which
    /// names each model's vendor kind).
    ///
    /// # Errors
    /// `model_not_found` when nothing matches; `provider_inactive`, `provider_key_missing` or
    /// `unsafe_base_url` when the matched provider cannot be built.
    pub async fn resolve_model(
        &self,
        user_id: Id,
        name: &str,
    ) -> Result<(ResolvedProvider, String)> {
        let routes = self.routes_of(user_id).await?;
        let owned = |r: &&Route| r.provider.owner_id == user_id;
        let granted = |r: &&Route| {
            r.provider.owner_id != user_id && r.provider.scope == ProviderScope::Organization
        };
        let pick = |pred: &dyn Fn(&Provider) -> bool| -> Option<&Route> {
            routes
                .iter()
                .filter(owned)
                .find(|r| pred(&r.provider))
                .or_else(|| routes.iter().filter(granted).find(|r| pred(&r.provider)))
        };
        if let Some(named) = ModelRef::parse(name) {
            let route = pick(&|p| p.slug == named.provider)
                .or_else(|| pick(&|p| p.kind.as_str() == named.provider));
            if let Some(route) = route {
                let rp = self.resolve_route(route)?;
                return Ok((rp, named.model.to_owned()));
            }
        }
        let route = pick(&|p| p.config.models.iter().any(|m| m == name)).or_else(|| {
            let (_, price) = self.price_catalog().resolve(name)?;
            let kind = price.provider.as_str();
            pick(&|p| p.kind.as_str() == kind)
        });
        match route {
            Some(route) => Ok((self.resolve_route(route)?, name.to_owned())),
            None => Err(Error {
                param: Some("model".into()),
                ..Error::new(
                    ErrorCode::ModelNotFound,
                    format!(
                        "the model `{name}` does not exist or no provider you can use serves it; \
                         name it as `<provider slug or kind>/<model>`"
                    ),
                )
            }),
        }
    }
}
