//! `POST /api/v1/completions`: a one-shot prompt with an optional system prompt, served from
//! an exact response cache when allowed (`from_cache`); the workspace's analyze and generate
//! requests map here.

use crate::dto::ts;
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, ValidJson, call};
use crate::middleware::RequestId;
use actix_web::{HttpResponse, post, web};
use aihub_core::App;
use aihub_core::completions::{Completion, CompletionInput};
use aihub_core::conversations::RequestContext;
use aihub_domain::{FinishReason, ProviderKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

/// Body of `POST /completions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionRequest {
    /// The prompt, 1–1,000,000 characters.
    pub prompt: String,
    /// System prompt (at most 100,000 characters); default: the caller's default model
    /// preference for the provider kind.
    pub system_prompt: Option<String>,
    /// `"<provider slug or kind>/<model>"`; required without `provider_id`. With
    /// `provider_id` the prefix may be left out, and the model defaults to the provider's
    /// `default_model`, then the caller's default preference.
    pub model: Option<String>,
    /// The provider to use; wins over a model prefix.
    pub provider_id: Option<i64>,
    /// Cap on completion tokens, 1–1,000,000 (default: preference, then provider config).
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2 (default: preference, then provider config).
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    /// Response cache: `true` uses it at any temperature, `false` never; absent: only when
    /// the effective temperature is 0.
    pub cache: Option<bool>,
}

/// The provider that answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionProviderResponse {
    /// Provider id.
    pub id: i64,
    /// Provider slug.
    pub slug: String,
    /// Wire family.
    pub kind: ProviderKind,
}

/// Token counts and cost of a completion.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionUsageResponse {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Sum of both.
    pub total_tokens: u32,
    /// True when counted locally because the vendor reported nothing.
    pub estimated: bool,
    /// Cost of this call as an exact decimal string in `currency` (`"0.000000000"` on a
    /// cache hit).
    pub cost: String,
    /// Deployment currency code (`USD`).
    pub currency: String,
}

/// Result of `POST /completions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionResponse {
    /// Response id (`cmpl-…`).
    pub id: String,
    /// The generated text.
    pub text: String,
    /// The vendor's model id.
    pub model: String,
    /// The provider that answered.
    pub provider: CompletionProviderResponse,
    /// Token counts and cost.
    pub usage: CompletionUsageResponse,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Whether the reply came from the exact response cache (no upstream call, zero cost).
    pub from_cache: bool,
    /// Wall time of this call, in milliseconds.
    pub response_time_ms: i64,
    /// When the reply was produced.
    pub created_at: DateTime<Utc>,
}

impl From<Completion> for CompletionResponse {
    fn from(c: Completion) -> Self {
        CompletionResponse {
            id: c.id,
            text: c.text,
            model: c.model,
            provider: CompletionProviderResponse {
                id: c.provider.id,
                slug: c.provider.slug,
                kind: c.provider.kind,
            },
            usage: CompletionUsageResponse {
                prompt_tokens: c.usage.prompt_tokens,
                completion_tokens: c.usage.completion_tokens,
                total_tokens: c.usage.total_tokens(),
                estimated: c.usage.estimated,
                cost: c.cost.to_string(),
                currency: c.currency,
            },
            finish_reason: c.finish_reason,
            from_cache: c.from_cache,
            response_time_ms: c.response_time_ms,
            created_at: ts(c.created_at),
        }
    }
}

/// Generates a one-shot completion. Served from the exact response cache (no upstream call,
/// `from_cache: true`) when the effective temperature is 0 or `cache` is `true` and the same
/// caller sent the same request recently; such hits are recorded in usage at zero cost.
#[utoipa::path(tag = "completions", operation_id = "create_completion", security(("bearer" = []), ("oauth2" = [])), request_body = CompletionRequest,
    responses((status = 200, description = "The completion", body = CompletionResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, body = ErrorResponse), (status = 502, body = ErrorResponse), (status = 503, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/completions")]
pub async fn create_completion(
    app: web::Data<App>,
    user: AuthUser,
    rid: RequestId,
    body: ValidJson<CompletionRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let ctx = RequestContext {
        request_id: rid.unique,
        api_key_id: None,
    };
    let input = CompletionInput {
        prompt: b.prompt,
        system_prompt: b.system_prompt,
        model: b.model,
        provider_id: b.provider_id,
        max_tokens: b.max_tokens,
        temperature: b.temperature,
        cache: b.cache,
    };
    let done = call(&app, move |app| async move {
        app.complete(user.0.id, input, &ctx).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(CompletionResponse::from(done)))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(create_completion);
}
