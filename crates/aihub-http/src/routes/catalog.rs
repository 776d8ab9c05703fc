//! `/api/v1/models` (the model catalog), `/api/v1/services` (provider kinds), `/api/v1/pricing`
//! (the price list) and `/api/v1/tokens/count` (local token counting).

use crate::dto::{ListResponse, Paged, pagination};
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::extract::{AuthUser, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, get, post, web};
use aihub_core::App;
use aihub_core::catalog::{
    Capability, CatalogModel, ModelCategory, ModelFilter, ModelSource, PricingEntry, Service,
    TokenCountContent,
};
use aihub_domain::{ChatMessage, ChatRole, Money, ProviderKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// An exact decimal string of currency units with at least two decimals and no trailing
/// zeros past them: `Money(2_500_000_000)` → `"2.50"`, `Money(75_000_000)` → `"0.075"`.
pub fn decimal(m: Money) -> String {
    let s = m.to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    format!("{int}.{frac:0<2}")
}

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelCategoryDto {
    /// Chat completions.
    Chat,
    /// Legacy text completions (`gpt-3.5-turbo-instruct`, `davinci-002`, `babbage-002`).
    Completion,
    /// Embeddings.
    Embedding,
}

impl From<ModelCategory> for ModelCategoryDto {
    fn from(c: ModelCategory) -> Self {
        match c {
            ModelCategory::Chat => ModelCategoryDto::Chat,
            ModelCategory::Completion => ModelCategoryDto::Completion,
            ModelCategory::Embedding => ModelCategoryDto::Embedding,
        }
    }
}

impl From<ModelCategoryDto> for ModelCategory {
    fn from(c: ModelCategoryDto) -> Self {
        match c {
            ModelCategoryDto::Chat => ModelCategory::Chat,
            ModelCategoryDto::Completion => ModelCategory::Completion,
            ModelCategoryDto::Embedding => ModelCategory::Embedding,
        }
    }
}

/// Something a model or provider kind can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityDto {
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

impl From<Capability> for CapabilityDto {
    fn from(c: Capability) -> Self {
        match c {
            Capability::Chat => CapabilityDto::Chat,
            Capability::Completion => CapabilityDto::Completion,
            Capability::Streaming => CapabilityDto::Streaming,
            Capability::Embeddings => CapabilityDto::Embeddings,
            Capability::Tools => CapabilityDto::Tools,
            Capability::Vision => CapabilityDto::Vision,
        }
    }
}

fn capabilities(caps: Vec<Capability>) -> Vec<CapabilityDto> {
    caps.into_iter().map(CapabilityDto::from).collect()
}

/// Where a model entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelSourceDto {
    /// The deployment's pricing catalog.
    Catalog,
    /// One of the caller's providers.
    Provider,
}

/// List prices of a model, per million tokens, as exact decimal strings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelPricingResponse {
    /// Price of one million input (prompt) tokens, e.g. `"2.50"`.
    pub input_per_million: String,
    /// Price of one million output (completion) tokens, e.g. `"10.00"`.
    pub output_per_million: String,
    /// ISO 4217 currency of the prices (`USD` unless the deployment set another).
    pub currency: String,
}

/// A model the caller can use.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelResponse {
    /// The name to request it by: `"<kind>/<model>"` for catalog entries (`openai/gpt-4o`),
    /// `"<provider slug>/<model>"` for the caller's providers' models.
    pub id: String,
    /// The vendor's model id (`gpt-4o`).
    pub model: String,
    /// Vendor family (for provider entries, the provider's kind).
    pub provider_kind: ProviderKind,
    /// The provider's slug, for `source: provider` entries; `null` for catalog entries.
    #[schema(required = true)]
    pub provider: Option<String>,
    /// `catalog` or `provider`.
    pub source: ModelSourceDto,
    /// `chat`, `completion` or `embedding`.
    pub category: ModelCategoryDto,
    /// Prompt plus completion tokens, when the catalog knows the model.
    #[schema(required = true)]
    pub context_length: Option<u32>,
    /// Completion tokens per request, when the catalog knows the model.
    #[schema(required = true)]
    pub max_output_tokens: Option<u32>,
    /// List prices, when the catalog knows the model.
    #[schema(required = true)]
    pub pricing: Option<ModelPricingResponse>,
    /// What the model can do (see the operation's description for the rule).
    pub capabilities: Vec<CapabilityDto>,
}

impl ModelResponse {
    fn new(m: CatalogModel, currency: &str) -> Self {
        ModelResponse {
            id: m.id,
            model: m.model,
            provider_kind: m.provider_kind,
            provider: m.provider,
            source: match m.source {
                ModelSource::Catalog => ModelSourceDto::Catalog,
                ModelSource::Provider => ModelSourceDto::Provider,
            },
            category: m.category.into(),
            context_length: m.context_length,
            max_output_tokens: m.max_output_tokens,
            pricing: m.pricing.map(|p| ModelPricingResponse {
                input_per_million: decimal(p.input_per_million),
                output_per_million: decimal(p.output_per_million),
                currency: currency.to_owned(),
            }),
            capabilities: capabilities(m.capabilities),
        }
    }
}

/// Query of `GET /models`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ModelListQuery {
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Rows per page (default 20, max 100).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
    /// Rows to skip (an alternative to `page`; wins over it when given).
    pub skip: Option<u32>,
    /// Rows to return (an alternative to `page_size`; wins over it when given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// A provider kind (`openai`: catalog models of that vendor and models of the caller's
    /// providers of that kind) or one of the caller's provider slugs (that provider's models).
    /// `service` is accepted as an alias.
    #[serde(alias = "service")]
    pub provider: Option<String>,
    /// Only this category.
    pub category: Option<ModelCategoryDto>,
}

crate::paged!(ModelListQuery);

/// Lists the model catalog plus the models of the caller's active providers.
///
/// Catalog entries (`source: catalog`) are every model of the deployment's price catalog,
/// named `<kind>/<model>`. Provider entries (`source: provider`) are what each active provider
/// the caller may use offers (its `config.models`, its upstream model list, cached, and the
/// catalog's models of its kind), named `<slug>/<model>`; a provider whose upstream cannot
/// list its models contributes only the others. Limits and prices come from the catalog when
/// it knows the model, else they are `null`.
///
/// Category and capabilities follow the model name: a name containing `embed` is an
/// `embedding` model (`["embeddings"]`); `gpt-3.5-turbo-instruct`, `davinci-*` and
/// `babbage-*` are `completion` models; everything else is `chat` (`["chat", "streaming"]`,
/// plus `tools` for GPT-3.5 Turbo, GPT-4*, GPT-5*, the o-series but `o1-mini`/`o1-preview`,
/// Claude 3+ and Gemini, and `vision` for GPT-4o, GPT-4.1, GPT-4.5, GPT-4 Turbo, GPT-5*, the
/// o-series but `o1-mini`/`o1-preview`/`o3-mini`, Claude 3+ and Gemini). Other families may
/// support more than the rule says.
#[utoipa::path(tag = "models", operation_id = "list_models", security(("bearer" = []), ("oauth2" = [])), params(ModelListQuery),
    responses((status = 200, description = "A page of models", body = ListResponse<ModelResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/models")]
pub async fn list_models(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ModelListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let filter = ModelFilter {
        provider: q.provider.filter(|p| !p.trim().is_empty()),
        category: q.category.map(ModelCategory::from),
    };
    let models = call(&app, move |app| async move {
        app.list_models(&user.0, &filter).await
    })
    .await?;
    let total = models.len() as i64;
    let currency = app.pricing().currency().to_owned();
    let items: Vec<ModelResponse> = models
        .into_iter()
        .skip(usize::try_from(page_req.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page_req.limit).unwrap_or(0))
        .map(|m| ModelResponse::new(m, &currency))
        .collect();
    Ok(HttpResponse::Ok().json(ListResponse {
        items,
        pagination: pagination(page, size, total),
    }))
}

/// One of the caller's providers in a service entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceProviderResponse {
    /// Provider id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

/// One provider kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceResponse {
    /// The kind.
    pub kind: ProviderKind,
    /// Display name (`OpenAI`, `Google Gemini`, …).
    pub name: String,
    /// Whether the caller has an active provider of this kind (own or granted).
    pub configured: bool,
    /// The caller's active providers of this kind.
    pub providers: Vec<ServiceProviderResponse>,
    /// What the kind supports through AI Hub.
    pub capabilities: Vec<CapabilityDto>,
    /// The model used when none is named, or `null`.
    #[schema(required = true)]
    pub default_model: Option<String>,
}

impl From<Service> for ServiceResponse {
    fn from(s: Service) -> Self {
        ServiceResponse {
            kind: s.kind,
            name: s.name.to_owned(),
            configured: s.configured,
            providers: s
                .providers
                .into_iter()
                .map(|p| ServiceProviderResponse {
                    id: p.id,
                    name: p.name,
                    slug: p.slug,
                })
                .collect(),
            capabilities: capabilities(s.capabilities),
            default_model: s.default_model,
        }
    }
}

/// `GET /services`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicesResponse {
    /// Every provider kind.
    pub services: Vec<ServiceResponse>,
    /// The kind of the caller's first configured provider, or `null`.
    #[schema(required = true)]
    pub default: Option<ProviderKind>,
}

/// Lists every provider kind (a "service"): whether the caller has an active provider
/// of it, its providers, its capabilities and its default model.
///
/// Capabilities are what the kind's API supports through AI Hub: every kind has `chat`,
/// `streaming`, `tools` and `vision`, and every kind but `anthropic` (which has no embeddings
/// API) has `embeddings`; for `ollama`, `openrouter` and `openai_compatible` each model may
/// support less (see `GET /models`). `default_model` is the caller's default model preference
/// of the kind, else the first provider's `config.default_model`, else the catalog's cheapest
/// chat model of the kind, else `null`. `default` is the kind of the caller's first (lowest
/// id) active provider.
#[utoipa::path(tag = "models", operation_id = "list_services", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "The provider services the caller can use, with their models", body = ServicesResponse), (status = 401, body = ErrorResponse)))]
#[get("/services")]
pub async fn list_services(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    let s = call(&app, move |app| async move { app.services(&user.0).await }).await?;
    Ok(HttpResponse::Ok().json(ServicesResponse {
        services: s.services.into_iter().map(ServiceResponse::from).collect(),
        default: s.default,
    }))
}

/// A higher rate for long prompts.
#[derive(Debug, Serialize, ToSchema)]
pub struct LongContextPriceResponse {
    /// The tier applies when the prompt has more tokens than this.
    pub above_prompt_tokens: u32,
    /// Price of one million input tokens in this tier.
    pub input_per_million: String,
    /// Price of one million output tokens in this tier.
    pub output_per_million: String,
}

/// One model's list price.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingModelResponse {
    /// Catalog model id (`gpt-4o`).
    pub model: String,
    /// Vendor family.
    pub provider: ProviderKind,
    /// Price of one million input tokens, exact decimal string (`"2.50"`).
    pub input_per_million: String,
    /// Price of one million output tokens, exact decimal string (`"10.00"`).
    pub output_per_million: String,
    /// Prompt plus completion tokens, when known.
    #[schema(required = true)]
    pub context_window: Option<u32>,
    /// Completion tokens per request, when known.
    #[schema(required = true)]
    pub max_output_tokens: Option<u32>,
    /// The long-prompt tier, when the vendor has one.
    #[schema(required = true)]
    pub long_context: Option<LongContextPriceResponse>,
}

impl From<PricingEntry> for PricingModelResponse {
    fn from(p: PricingEntry) -> Self {
        PricingModelResponse {
            model: p.model,
            provider: p.provider,
            input_per_million: decimal(p.input_per_million),
            output_per_million: decimal(p.output_per_million),
            context_window: p.context_window,
            max_output_tokens: p.max_output_tokens,
            long_context: p.long_context.map(|l| LongContextPriceResponse {
                above_prompt_tokens: l.above_prompt_tokens,
                input_per_million: decimal(l.input_per_million),
                output_per_million: decimal(l.output_per_million),
            }),
        }
    }
}

/// `GET /pricing`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingResponse {
    /// ISO 4217 currency of every price (`USD` unless the deployment set another).
    pub currency: String,
    /// When the prices were checked, as the catalog says.
    #[schema(required = true)]
    pub as_of: Option<String>,
    /// Where the prices come from, as the catalog says.
    #[schema(required = true)]
    pub source: Option<String>,
    /// Every priced model, by vendor family then id.
    pub models: Vec<PricingModelResponse>,
}

/// The deployment's price list: list prices per million tokens as exact decimal strings
/// (never floats), in the catalog currency. It is the built-in catalog with the
/// configuration's overrides, the same prices usage is billed with.
#[utoipa::path(tag = "models", operation_id = "get_pricing", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "Prices per model", body = PricingResponse), (status = 401, body = ErrorResponse)))]
#[get("/pricing")]
pub async fn get_pricing(app: web::Data<App>, _user: AuthUser) -> ApiResult<HttpResponse> {
    let pricing = app.pricing();
    Ok(HttpResponse::Ok().json(PricingResponse {
        currency: pricing.currency().to_owned(),
        as_of: pricing.as_of().map(str::to_owned),
        source: pricing.source().map(str::to_owned),
        models: app
            .pricing_table()
            .into_iter()
            .map(PricingModelResponse::from)
            .collect(),
    }))
}

/// A message to count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCountMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: ChatRole,
    /// The text.
    pub content: String,
}

/// Body of `POST /tokens/count`: `model` and exactly one of `text` and `messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCountRequest {
    /// The model whose tokenizer counts (`gpt-4o`, `openai/gpt-4o`, `claude-sonnet-4-5`); a
    /// provider prefix is ignored.
    pub model: String,
    /// A text to count.
    pub text: Option<String>,
    /// Chat messages to count, with the per-message framing of chat models.
    pub messages: Option<Vec<TokenCountMessage>>,
    /// A provider name; accepted for compatibility and ignored (the model picks the tokenizer).
    pub provider: Option<String>,
}

/// `POST /tokens/count`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCountResponse {
    /// The model as the request named it.
    pub model: String,
    /// The number of tokens.
    pub token_count: u32,
    /// `false` when the model's own tokenizer counted; `true` for an approximation.
    pub estimated: bool,
    /// The tiktoken encoding that counted: `o200k_base` or `cl100k_base` (for models without
    /// an offline tokenizer, a stand-in whose count is `estimated`).
    pub encoding: &'static str,
}

/// Counts the tokens of a text or of chat messages for a model.
///
/// OpenAI models are counted with their real tokenizer (tiktoken: `o200k_base` for GPT-4o,
/// GPT-4.1, GPT-4.5, GPT-5 and the o-series; `cl100k_base` for GPT-4, GPT-3.5 and the
/// embedding models) and answer `estimated: false`. Every other model (Claude, Gemini, Llama,
/// …) has no offline tokenizer AI Hub can ship, so it is approximated with `cl100k_base` and
/// answers `estimated: true`; vendors' own counts can differ from it by tens of percent.
/// `messages` are counted like OpenAI's chat format: 3 framing tokens per message plus its
/// role and content, and 3 tokens priming the reply.
#[utoipa::path(tag = "models", operation_id = "count_tokens", security(("bearer" = []), ("oauth2" = [])), request_body = TokenCountRequest,
    responses((status = 200, description = "The token count", body = TokenCountResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/tokens/count")]
pub async fn count_tokens(
    app: web::Data<App>,
    _user: AuthUser,
    body: ValidJson<TokenCountRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let content = match (b.text, b.messages) {
        (Some(text), None) => TokenCountContent::Text(text),
        (None, Some(messages)) => TokenCountContent::Messages(
            messages
                .into_iter()
                .map(|m| ChatMessage::new(m.role, m.content))
                .collect(),
        ),
        (Some(_), Some(_)) => {
            return Err(ApiError(aihub_core::Error::validation(
                "messages",
                "give either `text` or `messages`, not both",
            )));
        }
        (None, None) => {
            return Err(ApiError(aihub_core::Error::validation(
                "text",
                "`text` or `messages` is required",
            )));
        }
    };
    let model = b.model;
    let r = call(&app, move |app| async move {
        app.count_tokens(&model, content).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokenCountResponse {
        encoding: r.encoding,
        model: r.model,
        token_count: r.tokens,
        estimated: r.estimated,
    }))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(count_tokens)
        .service(list_models)
        .service(list_services)
        .service(get_pricing);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_strings() {
        let cases = [
            (2_500_000_000, "2.50"),
            (10_000_000_000, "10.00"),
            (75_000_000, "0.075"),
            (0, "0.00"),
            (1, "0.000000001"),
            (150_000_000, "0.15"),
        ];
        for (nanos, want) in cases {
            assert_eq!(decimal(Money(nanos)), want, "{nanos}");
        }
    }
}
