//! The model catalog, the provider services, the price list and token counting (`GET /models`,
//! `GET /services`, `GET /pricing`, `POST /tokens/count`).
//!
//! The catalog is the deployment's price list ([`App::pricing`]: the built-in
//! `data/pricing.json` with configuration overrides) plus what the caller's providers offer
//! ([`App::gateway_models`]). The catalog file carries prices and limits but no capabilities,
//! so category and capabilities come from the model name ([`model_category`],
//! [`model_capabilities`]).

use crate::auth::CurrentUser;
use crate::providers::Provider;
use crate::{App, Error, Result, validate};
use aihub_billing::{ModelPrice, count_messages, count_text, encoding_name};
use aihub_domain::{ChatMessage, Id, Money, ProviderKind};
use std::collections::HashMap;

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelCategory {
    /// Chat completions (messages in, a message out).
    Chat,
    /// Legacy text completions (a prompt in, text out): OpenAI's `gpt-3.5-turbo-instruct`,
    /// `davinci-002`, `babbage-002`.
    Completion,
    /// Embeddings (text in, a vector out).
    Embedding,
}

impl ModelCategory {
    /// The wire form (`chat`, `completion`, `embedding`).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelCategory::Chat => "chat",
            ModelCategory::Completion => "completion",
            ModelCategory::Embedding => "embedding",
        }
    }
}

/// Something a model or a provider kind can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Chat completions.
    Chat,
    /// Legacy text completions.
    Completion,
    /// Streamed replies.
    Streaming,
    /// Embeddings.
    Embeddings,
    /// Tool (function) calling.
    Tools,
    /// Image input.
    Vision,
}

impl Capability {
    /// The wire form (`chat`, `streaming`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Chat => "chat",
            Capability::Completion => "completion",
            Capability::Streaming => "streaming",
            Capability::Embeddings => "embeddings",
            Capability::Tools => "tools",
            Capability::Vision => "vision",
        }
    }
}

/// Where a catalog entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// The deployment's pricing catalog.
    Catalog,
    /// One of the caller's providers (its `config.models`, its upstream listing, or the
    /// catalog's models of its kind).
    Provider,
}

/// A model's list prices per million tokens, in nano-units of the catalog currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPricing {
    /// Price of one million input tokens.
    pub input_per_million: Money,
    /// Price of one million output tokens.
    pub output_per_million: Money,
}

/// One entry of `GET /models`.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogModel {
    /// The name to request it by: `"<kind>/<model>"` for catalog entries (`openai/gpt-4o`),
    /// `"<provider slug>/<model>"` for provider entries.
    pub id: String,
    /// The vendor's model id (`gpt-4o`).
    pub model: String,
    /// The vendor family: the catalog's, or the provider's kind.
    pub provider_kind: ProviderKind,
    /// The provider's slug, for provider entries.
    pub provider: Option<String>,
    /// Catalog or provider.
    pub source: ModelSource,
    /// Chat, completion or embedding ([`model_category`]).
    pub category: ModelCategory,
    /// Prompt plus completion tokens, when the catalog knows the model.
    pub context_length: Option<u32>,
    /// Completion tokens per request, when the catalog knows the model.
    pub max_output_tokens: Option<u32>,
    /// List prices, when the catalog knows the model.
    pub pricing: Option<ModelPricing>,
    /// What it can do ([`model_capabilities`]).
    pub capabilities: Vec<Capability>,
}

/// Filters of `GET /models`.
#[derive(Debug, Clone, Default)]
pub struct ModelFilter {
    /// A provider kind (`openai`: catalog entries of that vendor and models of the caller's
    /// providers of that kind) or a provider slug (that provider's models).
    pub provider: Option<String>,
    /// Only this category.
    pub category: Option<ModelCategory>,
}

/// A provider of the caller, as `GET /services` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProvider {
    /// Provider id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

/// One provider kind in `GET /services`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// The kind.
    pub kind: ProviderKind,
    /// Display name (`OpenAI`, `Google Gemini`, …).
    pub name: &'static str,
    /// Whether the caller has an active provider of this kind (own or granted).
    pub configured: bool,
    /// The caller's active providers of this kind.
    pub providers: Vec<ServiceProvider>,
    /// What the kind's API, through AI Hub's adapter, supports ([`kind_capabilities`]).
    pub capabilities: Vec<Capability>,
    /// The model used when none is named: the caller's default preference of the kind, else
    /// the first configured provider's `config.default_model`, else the catalog's cheapest
    /// chat model of the kind, else `None`.
    pub default_model: Option<String>,
}

/// `GET /services`.
#[derive(Debug, Clone, PartialEq)]
pub struct Services {
    /// Every provider kind, in [`ProviderKind::ALL`] order.
    pub services: Vec<Service>,
    /// The kind of the caller's first configured provider (lowest id), if any.
    pub default: Option<ProviderKind>,
}

/// One row of `GET /pricing`.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingEntry {
    /// Catalog model id (lower case).
    pub model: String,
    /// Vendor family.
    pub provider: ProviderKind,
    /// Price of one million input tokens, nano-units of the catalog currency.
    pub input_per_million: Money,
    /// Price of one million output tokens, nano-units of the catalog currency.
    pub output_per_million: Money,
    /// Context window, when known.
    pub context_window: Option<u32>,
    /// Output cap, when known.
    pub max_output_tokens: Option<u32>,
    /// The long-prompt tier, when the vendor has one.
    pub long_context: Option<LongContextPricing>,
}

/// A vendor's long-prompt price tier: above `above_prompt_tokens` prompt tokens, the whole
/// request is billed at these prices (per million tokens, nano-units of the catalog currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContextPricing {
    /// The tier applies when the prompt has strictly more tokens than this.
    pub above_prompt_tokens: u32,
    /// Price of one million input tokens in this tier.
    pub input_per_million: Money,
    /// Price of one million output tokens in this tier.
    pub output_per_million: Money,
}

/// What `POST /tokens/count` counts.
#[derive(Debug, Clone)]
pub enum TokenCountContent {
    /// A plain text.
    Text(String),
    /// Chat messages, counted with the per-message framing of chat models.
    Messages(Vec<ChatMessage>),
}

/// The result of `POST /tokens/count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCountResult {
    /// The model as the request named it.
    pub model: String,
    /// The number of tokens.
    pub tokens: u32,
    /// False when the model's own tokenizer counted (OpenAI families); true for an
    /// approximation with another model's tokenizer.
    pub estimated: bool,
    /// The tiktoken encoding that counted: `o200k_base` or `cl100k_base` (the stand-in for
    /// models without an offline tokenizer).
    pub encoding: &'static str,
}

/// The vendor model id without provider prefixes (`openrouter/openai/gpt-4o` → `gpt-4o`),
/// lower case.
fn base_name(model: &str) -> String {
    model
        .trim()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The category of a model, from its name: a name containing `embed` is an embedding model;
/// OpenAI's legacy completion models (`gpt-3.5-turbo-instruct`, `davinci-*`, `babbage-*`) are
/// completion models; everything else is a chat model.
pub fn model_category(model: &str) -> ModelCategory {
    let name = base_name(model);
    if name.contains("embed") {
        ModelCategory::Embedding
    } else if name.starts_with("gpt-3.5-turbo-instruct")
        || name.starts_with("davinci")
        || name.starts_with("babbage")
    {
        ModelCategory::Completion
    } else {
        ModelCategory::Chat
    }
}

/// `o1`, `o3-mini`, `o4-mini`, …: OpenAI's reasoning models.
fn is_o_series(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2 && b[0] == b'o' && b[1].is_ascii_digit()
}

/// Claude 3 and later (Claude 2 and Instant had neither tools nor images).
fn is_modern_claude(name: &str) -> bool {
    name.starts_with("claude-")
        && !name.starts_with("claude-2")
        && !name.starts_with("claude-instant")
}

fn supports_tools(name: &str) -> bool {
    ["gpt-4", "gpt-5", "gpt-3.5-turbo", "gemini-"]
        .iter()
        .any(|p| name.starts_with(p))
        || (is_o_series(name) && !name.starts_with("o1-mini") && !name.starts_with("o1-preview"))
        || is_modern_claude(name)
}

fn supports_vision(name: &str) -> bool {
    [
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-4-turbo",
        "gpt-5",
        "gemini-",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || (is_o_series(name)
            && !["o1-mini", "o1-preview", "o3-mini"]
                .iter()
                .any(|p| name.starts_with(p)))
        || is_modern_claude(name)
}

/// What a model can do, from its category and name (the catalog file has no capability
/// data, so this is a documented rule, not a measurement):
///
/// - embedding models: `embeddings`;
/// - completion models: `completion`, `streaming`;
/// - chat models: `chat`, `streaming`, plus
///   - `tools` for GPT-3.5 Turbo, GPT-4*, GPT-5*, the o-series except `o1-mini`/`o1-preview`,
///     Claude 3 and later, and Gemini;
///   - `vision` for GPT-4o, GPT-4.1, GPT-4.5, GPT-4 Turbo, GPT-5*, the o-series except
///     `o1-mini`, `o1-preview` and `o3-mini`, Claude 3 and later, and Gemini.
///
/// Other families (Llama, Mistral, …, through Ollama, OpenRouter or an OpenAI-compatible
/// server) get `chat` and `streaming` only: whether they take tools or images depends on the
/// model build, which the name does not tell.
pub fn model_capabilities(model: &str) -> Vec<Capability> {
    let name = base_name(model);
    match model_category(&name) {
        ModelCategory::Embedding => vec![Capability::Embeddings],
        ModelCategory::Completion => vec![Capability::Completion, Capability::Streaming],
        ModelCategory::Chat => {
            let mut caps = vec![Capability::Chat, Capability::Streaming];
            if supports_tools(&name) {
                caps.push(Capability::Tools);
            }
            if supports_vision(&name) {
                caps.push(Capability::Vision);
            }
            caps
        }
    }
}

/// What a provider kind supports through AI Hub's adapters: every kind chats and streams;
/// every kind but Anthropic (which has no embeddings API) embeds; every kind passes tools and
/// images on. For Ollama, OpenRouter and OpenAI-compatible servers, whether a given model
/// takes tools or images depends on the model (see `GET /models`).
pub fn kind_capabilities(kind: ProviderKind) -> Vec<Capability> {
    let mut caps = vec![Capability::Chat, Capability::Streaming];
    if kind != ProviderKind::Anthropic {
        caps.push(Capability::Embeddings);
    }
    caps.extend([Capability::Tools, Capability::Vision]);
    caps
}

/// A display name of a provider kind.
pub fn kind_display_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai => "OpenAI",
        ProviderKind::Anthropic => "Anthropic",
        ProviderKind::Gemini => "Google Gemini",
        ProviderKind::Openrouter => "OpenRouter",
        ProviderKind::Ollama => "Ollama",
        ProviderKind::OpenaiCompatible => "OpenAI-compatible",
    }
}

/// Position of `kind` in [`ProviderKind::ALL`], for stable ordering.
fn kind_rank(kind: ProviderKind) -> usize {
    ProviderKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX)
}

fn pricing_of(price: &ModelPrice) -> ModelPricing {
    ModelPricing {
        input_per_million: price.input_per_million,
        output_per_million: price.output_per_million,
    }
}

impl App {
    /// The catalog's models sorted by kind (in [`ProviderKind::ALL`] order), then id.
    fn catalog_entries(&self) -> Vec<(&str, &ModelPrice)> {
        let mut entries: Vec<(&str, &ModelPrice)> = self
            .price_catalog()
            .models
            .iter()
            .map(|(id, price)| (id.as_str(), price))
            .collect();
        entries.sort_by(|a, b| (kind_rank(a.1.provider), a.0).cmp(&(kind_rank(b.1.provider), b.0)));
        entries
    }

    /// `GET /models`: every catalog model (`source: catalog`, named `"<kind>/<model>"`), then
    /// every model the caller's active providers offer (`source: provider`, named
    /// `"<slug>/<model>"`, from the gateway's cached listing), filtered. Provider models the
    /// catalog knows carry its limits and prices.
    ///
    /// # Errors
    /// Database failures only (a provider whose upstream cannot list is skipped).
    pub async fn list_models(
        &self,
        user: &CurrentUser,
        filter: &ModelFilter,
    ) -> Result<Vec<CatalogModel>> {
        let wanted = filter.provider.as_deref().map(str::trim);
        let mut out = Vec::new();
        for (id, price) in self.catalog_entries() {
            out.push(CatalogModel {
                id: format!("{}/{id}", price.provider.as_str()),
                model: id.to_owned(),
                provider_kind: price.provider,
                provider: None,
                source: ModelSource::Catalog,
                category: model_category(id),
                context_length: price.context_window,
                max_output_tokens: price.max_output_tokens,
                pricing: Some(pricing_of(price)),
                capabilities: model_capabilities(id),
            });
        }
        let providers = self.available_providers(user).await?;
        // Slugs are unique per owner only; a slug names the provider the gateway routes
        // `<slug>/…` to: the caller's own one before a granted one.
        let mut kind_of: HashMap<&str, ProviderKind> = HashMap::new();
        let (own, granted): (Vec<&Provider>, Vec<&Provider>) =
            providers.iter().partition(|p| p.owner_id == user.id);
        for p in own.into_iter().chain(granted) {
            kind_of.entry(p.slug.as_str()).or_insert(p.kind);
        }
        for (id, slug) in self.gateway_models(user.id).await? {
            let Some(kind) = kind_of.get(slug.as_str()).copied() else {
                continue;
            };
            let model = id
                .strip_prefix(&format!("{slug}/"))
                .unwrap_or(&id)
                .to_owned();
            let known = self.price_catalog().lookup(&model);
            out.push(CatalogModel {
                category: model_category(&model),
                capabilities: model_capabilities(&model),
                context_length: known.and_then(|p| p.context_window),
                max_output_tokens: known.and_then(|p| p.max_output_tokens),
                pricing: known.map(pricing_of),
                id,
                model,
                provider_kind: kind,
                provider: Some(slug),
                source: ModelSource::Provider,
            });
        }
        out.retain(|m| {
            filter.category.is_none_or(|c| m.category == c)
                && wanted.is_none_or(|w| {
                    m.provider_kind.as_str() == w || m.provider.as_deref() == Some(w)
                })
        });
        Ok(out)
    }

    /// `GET /services`: every provider kind, whether the caller has an active provider of it,
    /// its capabilities and its default model.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn services(&self, user: &CurrentUser) -> Result<Services> {
        let providers: Vec<Provider> = self.available_providers(user).await?;
        let defaults = self.default_model_preferences(user).await?;
        let catalog = self.catalog_entries();
        let services = ProviderKind::ALL
            .into_iter()
            .map(|kind| {
                let mine: Vec<&Provider> = providers.iter().filter(|p| p.kind == kind).collect();
                let default_model = defaults
                    .iter()
                    .find(|d| d.provider_kind == kind)
                    .map(|d| d.model.clone())
                    .or_else(|| mine.iter().find_map(|p| p.config.default_model.clone()))
                    .or_else(|| {
                        catalog
                            .iter()
                            .filter(|(id, p)| {
                                p.provider == kind && model_category(id) == ModelCategory::Chat
                            })
                            .min_by_key(|(id, p)| (p.input_per_million, p.output_per_million, *id))
                            .map(|(id, _)| (*id).to_owned())
                    });
                Service {
                    kind,
                    name: kind_display_name(kind),
                    configured: !mine.is_empty(),
                    providers: mine
                        .iter()
                        .map(|p| ServiceProvider {
                            id: p.id,
                            name: p.name.clone(),
                            slug: p.slug.clone(),
                        })
                        .collect(),
                    capabilities: kind_capabilities(kind),
                    default_model,
                }
            })
            .collect();
        Ok(Services {
            services,
            default: providers.iter().min_by_key(|p| p.id).map(|p| p.kind),
        })
    }

    /// `GET /pricing`: the catalog's prices, sorted by kind, then model. The currency, date
    /// and source are [`App::pricing`]'s.
    pub fn pricing_table(&self) -> Vec<PricingEntry> {
        self.catalog_entries()
            .into_iter()
            .map(|(id, p)| PricingEntry {
                model: id.to_owned(),
                provider: p.provider,
                input_per_million: p.input_per_million,
                output_per_million: p.output_per_million,
                context_window: p.context_window,
                max_output_tokens: p.max_output_tokens,
                long_context: p.long_context.map(|l| LongContextPricing {
                    above_prompt_tokens: l.above_prompt_tokens,
                    input_per_million: l.input_per_million,
                    output_per_million: l.output_per_million,
                }),
            })
            .collect()
    }

    /// `POST /tokens/count`: counts `content` for `model` with aihub-billing's counter
    /// ([`count_text`], [`count_messages`]): OpenAI families with their own tiktoken encoding
    /// (`estimated: false`), every other model approximated with cl100k (`estimated: true`).
    /// A provider prefix (`openai/gpt-4o`) is ignored. Runs on a blocking thread, since a
    /// large text takes milliseconds.
    ///
    /// # Errors
    /// `validation_error` naming `model` (1–200 characters).
    pub async fn count_tokens(
        &self,
        model: &str,
        content: TokenCountContent,
    ) -> Result<TokenCountResult> {
        let name = validate::text("model", model, 1, 200)?;
        let vendor_model = aihub_domain::ModelRef::parse(&name)
            .map(|m| m.model.to_owned())
            .unwrap_or_else(|| name.clone());
        let count = tokio::task::spawn_blocking(move || match &content {
            TokenCountContent::Text(text) => count_text(&vendor_model, text),
            TokenCountContent::Messages(messages) => count_messages(&vendor_model, messages),
        })
        .await
        .map_err(Error::internal)?;
        Ok(TokenCountResult {
            encoding: encoding_name(&name),
            model: name,
            tokens: count.tokens,
            estimated: count.estimated,
        })
    }
}

#[cfg(test)]
mod tests;
