//! What `/chat` and `/completions` share: choosing the provider of a direct call and
//! resolving its settings (through the one resolver, `generation::settings`).

use crate::generation::settings::{self, Layer, Settings};
use crate::providers::ResolvedProvider;
use crate::routing::dispatch::Targets;
use crate::{App, Error, Result};
use aihub_domain::{ErrorCode, Id, ModelRef};

/// `model` as the vendor names it for provider `rp`: a `<slug>/` or `<kind>/` prefix naming
/// that provider is dropped; anything else is kept whole (vendor ids may contain `/`).
fn strip_prefix<'a>(rp: &ResolvedProvider, model: &'a str) -> &'a str {
    match ModelRef::parse(model) {
        Some(m) if m.provider == rp.provider.slug || m.provider == rp.provider.kind.as_str() => {
            m.model
        }
        _ => model,
    }
}

/// A direct call's provider (as a fixed target) and settings.
pub(crate) struct DirectCall {
    pub(crate) targets: Targets,
    pub(crate) provider: crate::generation::Served,
    pub(crate) settings: Settings,
}

impl App {
    /// Resolves a direct call. With `provider_id`, that provider (usable by the caller) and
    /// `requested.model` without a prefix naming it; else `requested.model` is required and
    /// resolved like `/v1` does (`"<provider slug or kind>/<model>"`). Omitted settings come,
    /// in order, from the caller's default preference for the provider's kind and the
    /// provider's config (`generation::settings`).
    ///
    /// # Errors
    /// `model_required` (naming `model`); `model_not_found`; `provider_not_accessible` (404),
    /// `provider_inactive`, `provider_key_missing`.
    pub(crate) async fn resolve_direct(
        &self,
        user_id: Id,
        provider_id: Option<Id>,
        mut requested: Layer,
    ) -> Result<DirectCall> {
        let rp = match provider_id {
            Some(pid) => {
                let rp = self.resolve_provider(user_id, pid).await?;
                requested.model = requested
                    .model
                    .as_deref()
                    .map(|m| strip_prefix(&rp, m.trim()).to_owned());
                rp
            }
            None => {
                let Some(name) = requested.model.as_deref() else {
                    return Err(Error {
                        param: Some("model".into()),
                        ..Error::new(
                            ErrorCode::ModelRequired,
                            "name a model (`<provider>/<model>`) or a provider_id",
                        )
                    });
                };
                let (rp, model) = self.resolve_model(user_id, name.trim()).await?;
                requested.model = Some(model);
                rp
            }
        };
        let preference = self
            .default_preference(user_id, rp.provider.kind)
            .await?
            .as_ref()
            .map(Layer::from)
            .unwrap_or_default();
        let settings = settings::resolve(&[&requested, &preference], &rp.provider)?
            .with_provider_config(&rp.provider);
        let provider = crate::generation::Served {
            provider_id: rp.provider.id,
            provider_slug: rp.provider.slug.clone(),
            kind: rp.provider.kind,
            model: settings.model.clone(),
            attempts: 0,
        };
        Ok(DirectCall {
            targets: Targets::Fixed(Box::new(rp)),
            provider,
            settings,
        })
    }
}
