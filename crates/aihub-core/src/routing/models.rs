//! What `/v1/models` lists: for every provider the caller may use, the catalog's models of
//! its kind, its `config.models`, and what it lists upstream (cached per provider).

use super::Route;
use crate::{App, Result};
use aihub_domain::{Id, ModelInfo};
use std::sync::Arc;
use std::time::Duration;

impl App {
    /// The models of every provider `user_id` may use, as `(public id, owned_by)`: the
    /// catalog's models of each provider's kind, the provider's `config.models`, and what the
    /// provider lists upstream (cached; a provider that cannot list is skipped).
    ///
    /// # Errors
    /// Database failures only.
    pub async fn gateway_models(&self, user_id: Id) -> Result<Vec<(String, String)>> {
        let routes = self.routes_of(user_id).await?;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for route in routes.iter() {
            let provider = &route.provider;
            let mut names: Vec<String> = provider.config.models.clone();
            let mut catalog: Vec<&String> = self
                .price_catalog()
                .models
                .iter()
                .filter(|(_, p)| p.provider == provider.kind)
                .map(|(name, _)| name)
                .collect();
            catalog.sort();
            names.extend(catalog.into_iter().cloned());
            if let Some(listed) = self.listed_models(route).await {
                names.extend(listed.iter().map(|m| m.id.clone()));
            }
            for name in names {
                let id = format!("{}/{}", provider.slug, name);
                if seen.insert(id.clone()) {
                    out.push((id, provider.slug.clone()));
                }
            }
        }
        Ok(out)
    }

    async fn listed_models(&self, route: &Route) -> Option<Arc<Vec<ModelInfo>>> {
        let listed = &self.inner.routing.listed;
        if let Some(m) = listed.get(&route.provider.id) {
            return Some(m);
        }
        let rp = self.resolve_route(route).ok()?;
        let answer = tokio::time::timeout(Duration::from_secs(5), rp.client.list_models()).await;
        let models = match answer {
            Ok(Ok(m)) => Arc::new(m),
            // Cached empty for the TTL too, so a dead upstream does not slow every listing.
            _ => Arc::new(Vec::new()),
        };
        listed.insert(route.provider.id, models.clone());
        Some(models)
    }
}
