//! The one resolver of settings a request leaves out, used by every entry point.
//!
//! Each setting takes the first value found, in this order:
//!
//! 1. the request;
//! 2. the conversation (conversation replies only);
//! 3. the caller's default model preference for the provider's kind (the workspace entry
//!    points: conversations, `/chat`, `/completions`; `/v1` takes an OpenAI request as the
//!    application sent it);
//! 4. the provider's config (`default_model`, `max_tokens`, `temperature`);
//! 5. the catalog and the vendor's rules: Anthropic requires `max_tokens`, so it gets the
//!    model's output cap from the price catalog (and the adapter's 4,096 when the model is
//!    not listed).
//!
//! Steps 1–3 happen once per call ([`resolve`]); steps 4–5 once per upstream target
//! ([`apply_provider_defaults`]), because a fallback may be another provider of another kind.

use crate::providers::Provider;
use crate::{Error, Result};
use aihub_billing::PricingCatalog;
use aihub_domain::{ChatRequest, ErrorCode, ProviderKind};

/// Settings from one level of the order (request, conversation or preference); `None` is
/// "not set here".
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Layer {
    pub(crate) model: Option<String>,
    pub(crate) max_tokens: Option<i64>,
    pub(crate) temperature: Option<f64>,
    pub(crate) system_prompt: Option<String>,
}

/// The settings of one call after steps 1–3 (and the provider's `default_model` for the
/// model).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The model, as the vendor names it.
    pub(crate) model: String,
    /// Reply token cap (steps 4–5 may still fill it).
    pub(crate) max_tokens: Option<u32>,
    /// Temperature (step 4 may still fill it).
    pub(crate) temperature: Option<f64>,
    /// System prompt, if any (never empty).
    pub(crate) system_prompt: Option<String>,
}

/// Steps 1–3 for a call on `provider`: the first value of each setting over `layers` (most
/// specific first), then the provider's `default_model` for the model.
///
/// # Errors
/// `model_required` (naming `model`) when no level names a model.
pub(crate) fn resolve(layers: &[&Layer], provider: &Provider) -> Result<Settings> {
    fn first<T: Clone>(layers: &[&Layer], f: impl Fn(&Layer) -> Option<T>) -> Option<T> {
        layers.iter().find_map(|l| f(l))
    }
    let model = first(layers, |l| l.model.clone())
        .or_else(|| provider.config.default_model.clone())
        .ok_or_else(|| Error {
            param: Some("model".into()),
            ..Error::new(
                ErrorCode::ModelRequired,
                "no model given, and neither a preference nor the provider names a default model",
            )
        })?;
    Ok(Settings {
        model,
        max_tokens: first(layers, |l| l.max_tokens).map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        temperature: first(layers, |l| l.temperature),
        system_prompt: first(layers, |l| {
            l.system_prompt.clone().filter(|s| !s.trim().is_empty())
        }),
    })
}

impl Settings {
    /// Step 4 applied early, for a call whose provider is already known: what the provider's
    /// config sets fills what is still unset (the dispatch then leaves these alone).
    pub(crate) fn with_provider_config(mut self, provider: &Provider) -> Settings {
        self.max_tokens = self.max_tokens.or(provider.config.max_tokens);
        self.temperature = self.temperature.or(provider.config.temperature);
        self
    }
}

/// Which settings the caller left to the provider (steps 4–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Omitted {
    pub(crate) max_tokens: bool,
    pub(crate) temperature: bool,
}

impl Omitted {
    /// What `request` leaves out.
    pub(crate) fn of(request: &ChatRequest) -> Omitted {
        Omitted {
            max_tokens: request.max_tokens.is_none(),
            temperature: request.temperature.is_none(),
        }
    }
}

/// Steps 4–5 for one target: fills what the caller omitted from `provider`'s config, then
/// the vendor's rules. Settings the caller gave are left alone; settings an earlier target
/// filled are replaced.
pub(crate) fn apply_provider_defaults(
    request: &mut ChatRequest,
    omitted: Omitted,
    provider: &Provider,
    catalog: &PricingCatalog,
) {
    if omitted.max_tokens {
        request.max_tokens = provider.config.max_tokens;
        if request.max_tokens.is_none() && provider.kind == ProviderKind::Anthropic {
            request.max_tokens = catalog
                .lookup(&request.model)
                .and_then(|p| p.max_output_tokens);
        }
    }
    if omitted.temperature {
        request.temperature = provider.config.temperature;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aihub_domain::{ProviderConfig, ProviderScope, time};

    fn provider(kind: ProviderKind, config: ProviderConfig) -> Provider {
        Provider {
            id: 1,
            owner_id: 1,
            name: "p".into(),
            slug: "p".into(),
            kind,
            scope: ProviderScope::Personal,
            api_key_masked: None,
            base_url: None,
            config,
            is_active: true,
            created_at: time::now(),
            updated_at: time::now(),
        }
    }

    #[test]
    fn the_most_specific_level_wins_setting_by_setting() {
        let request = Layer {
            temperature: Some(0.1),
            ..Layer::default()
        };
        let conversation = Layer {
            model: Some("conv-model".into()),
            max_tokens: Some(50),
            ..Layer::default()
        };
        let preference = Layer {
            model: Some("pref-model".into()),
            max_tokens: Some(99),
            temperature: Some(0.9),
            system_prompt: Some("be brief".into()),
        };
        let p = provider(
            ProviderKind::Openai,
            ProviderConfig {
                default_model: Some("provider-model".into()),
                ..ProviderConfig::default()
            },
        );
        let s = resolve(&[&request, &conversation, &preference], &p).expect("resolves");
        assert_eq!(s.model, "conv-model");
        assert_eq!(s.max_tokens, Some(50));
        assert_eq!(s.temperature, Some(0.1));
        assert_eq!(s.system_prompt.as_deref(), Some("be brief"));
        // The preference's model beats the provider's default model.
        let s = resolve(&[&request, &preference], &p).expect("resolves");
        assert_eq!(s.model, "pref-model");
        // The provider's default model is the last resort.
        let s = resolve(&[&request], &p).expect("resolves");
        assert_eq!(s.model, "provider-model");
    }

    #[test]
    fn no_model_anywhere_is_model_required() {
        let p = provider(ProviderKind::Openai, ProviderConfig::default());
        let e = resolve(&[&Layer::default()], &p).expect_err("no model");
        assert_eq!(e.code, ErrorCode::ModelRequired);
        assert_eq!(e.param.as_deref(), Some("model"));
    }

    #[test]
    fn blank_system_prompts_fall_through() {
        let p = provider(ProviderKind::Openai, ProviderConfig::default());
        let blank = Layer {
            model: Some("m".into()),
            system_prompt: Some("  ".into()),
            ..Layer::default()
        };
        let pref = Layer {
            system_prompt: Some("from preference".into()),
            ..Layer::default()
        };
        let s = resolve(&[&blank, &pref], &p).expect("resolves");
        assert_eq!(s.system_prompt.as_deref(), Some("from preference"));
    }

    #[test]
    fn provider_config_then_catalog_fill_what_the_caller_omitted() {
        let catalog = PricingCatalog::builtin();
        let anthropic = provider(ProviderKind::Anthropic, ProviderConfig::default());
        let mut r = ChatRequest {
            model: "claude-3-5-haiku-latest".into(),
            ..ChatRequest::default()
        };
        let omitted = Omitted::of(&r);
        apply_provider_defaults(&mut r, omitted, &anthropic, &catalog);
        let cap = catalog
            .lookup("claude-3-5-haiku-latest")
            .and_then(|p| p.max_output_tokens);
        assert!(cap.is_some());
        assert_eq!(r.max_tokens, cap);
        // The provider's config comes before the catalog.
        let configured = provider(
            ProviderKind::Anthropic,
            ProviderConfig {
                max_tokens: Some(321),
                temperature: Some(0.3),
                ..ProviderConfig::default()
            },
        );
        apply_provider_defaults(&mut r, omitted, &configured, &catalog);
        assert_eq!(r.max_tokens, Some(321));
        assert_eq!(r.temperature, Some(0.3));
        // What the caller gave is kept.
        let mut given = ChatRequest {
            model: "m".into(),
            max_tokens: Some(7),
            temperature: Some(1.0),
            ..ChatRequest::default()
        };
        let omitted = Omitted::of(&given);
        apply_provider_defaults(&mut given, omitted, &configured, &catalog);
        assert_eq!((given.max_tokens, given.temperature), (Some(7), Some(1.0)));
        // Other kinds get no catalog cap.
        let openai = provider(ProviderKind::Openai, ProviderConfig::default());
        let mut r = ChatRequest {
            model: "gpt-4o-mini".into(),
            ..ChatRequest::default()
        };
        let omitted = Omitted::of(&r);
        apply_provider_defaults(&mut r, omitted, &openai, &catalog);
        assert_eq!(r.max_tokens, None);
    }
}
