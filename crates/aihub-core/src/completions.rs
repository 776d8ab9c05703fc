//! Direct one-shot completions (`POST /api/v1/completions`: seed 000's completion with
//! `from_cache`, seed 001's analyze/generate, seed 003's generate) and their exact response
//! cache.
//!
//! The cache is an in-memory [`moka`] cache bounded by the bytes of what it holds
//! ([`CoreConfig::completion_cache_max_bytes`](crate::CoreConfig)) with a time to live
//! ([`CoreConfig::completion_cache_ttl`](crate::CoreConfig)). It is consulted only when the
//! effective temperature is 0 or the caller asks for it (`cache: true`); `cache: false` always
//! bypasses it. Its key is the SHA-256 of a canonical serialization of the caller, the provider,
//! the model, the messages and the sampling parameters, so no entry is ever served to another
//! user. Only successful replies (finish reason `stop` or `length`) are cached.
//!
//! Every call is recorded in usage: an upstream call as usual (failures with zero tokens and
//! status `failed`); a cache hit with the cached token counts, `estimated: false`, status
//! `success`, and **cost 0** — no upstream was asked, so nothing is owed.

use crate::conversations::RequestContext;
use crate::providers::ResolvedProvider;
use crate::usage::{Billed, Generation};
use crate::{App, Error, Result, validate};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ErrorCode, FinishReason, Id, Money, ProviderKind, Usage,
    UsageStatus, time,
};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 1_000_000;
/// Longest system prompt, in characters (as for model preferences).
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 100_000;

/// A one-shot completion request.
#[derive(Debug, Clone, Default)]
pub struct CompletionInput {
    /// The prompt (1–1,000,000 characters; not only whitespace).
    pub prompt: String,
    /// Optional system prompt (at most 100,000 characters). When absent, the caller's default
    /// preference for the provider kind may supply one.
    pub system_prompt: Option<String>,
    /// `"<provider slug or kind>/<model>"` (or a bare model known to the catalog). With
    /// `provider_id`, the prefix may be left out.
    pub model: Option<String>,
    /// The provider to use; wins over a model prefix.
    pub provider_id: Option<Id>,
    /// Cap on completion tokens, 1–1,000,000.
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// `Some(true)`: use the cache at any temperature; `Some(false)`: never; `None`: only at
    /// temperature 0.
    pub cache: Option<bool>,
}

/// The provider that answered a completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionProvider {
    /// Provider id.
    pub id: Id,
    /// Provider slug.
    pub slug: String,
    /// Wire family.
    pub kind: ProviderKind,
}

/// A finished completion.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Response id (`cmpl-…`, new for every call, cached or not).
    pub id: String,
    /// The generated text.
    pub text: String,
    /// The vendor's model id (without a provider prefix).
    pub model: String,
    /// Who answered.
    pub provider: CompletionProvider,
    /// Token counts (the vendor's, or local and `estimated`).
    pub usage: Usage,
    /// What this call cost in the deployment currency (zero on a cache hit).
    pub cost: Money,
    /// The deployment currency code (`USD`).
    pub currency: String,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Whether the reply came from the exact response cache (no upstream call).
    pub from_cache: bool,
    /// Wall time of this call, in milliseconds.
    pub response_time_ms: i64,
    /// When the reply was produced (UTC).
    pub created_at: NaiveDateTime,
}

/// A cached reply.
#[derive(Debug)]
struct CachedReply {
    text: String,
    model: String,
    finish_reason: FinishReason,
    usage: Usage,
}

/// The exact response cache of completions: SHA-256 key → reply, bounded by bytes, with a TTL.
pub(crate) struct CompletionCache {
    entries: moka::sync::Cache<[u8; 32], Arc<CachedReply>>,
}

impl CompletionCache {
    /// A cache whose entries live `ttl` and whose texts total at most `max_bytes`.
    pub(crate) fn new(ttl: Duration, max_bytes: u64) -> Self {
        CompletionCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_k: &[u8; 32], v: &Arc<CachedReply>| {
                    let bytes = 32 + 64 + v.text.len() + v.model.len();
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
        }
    }
}

/// What the cache key is computed from. Field order is fixed, so its JSON is canonical.
#[derive(Serialize)]
struct CacheKey<'a> {
    v: u8,
    user_id: Id,
    provider_id: Id,
    model: &'a str,
    system_prompt: Option<&'a str>,
    prompt: &'a str,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
}

fn cache_key(user_id: Id, provider_id: Id, request: &ChatRequest, prompt: &str) -> [u8; 32] {
    let system_prompt = request
        .messages
        .iter()
        .find(|m| m.role == ChatRole::System)
        .map(|m| m.text().into_owned());
    let key = CacheKey {
        v: 1,
        user_id,
        provider_id,
        model: &request.model,
        system_prompt: system_prompt.as_deref(),
        prompt,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
    };
    // Serializing plain strings and numbers cannot fail; fall back to Debug just in case.
    let canonical = serde_json::to_vec(&key).unwrap_or_else(|_| {
        format!(
            "{user_id}\u{0}{provider_id}\u{0}{}\u{0}{system_prompt:?}\u{0}{prompt}\u{0}{:?}\u{0}{:?}\u{0}{:?}",
            request.model, request.max_tokens, request.temperature, request.top_p
        )
        .into_bytes()
    });
    Sha256::digest(&canonical).into()
}

/// Whether a call may use the cache: `cache: false` never, `cache: true` always, otherwise
/// only at an effective temperature of exactly 0.
fn cacheable(flag: Option<bool>, temperature: Option<f64>) -> bool {
    match flag {
        Some(f) => f,
        None => temperature == Some(0.0),
    }
}

fn check_input(input: &CompletionInput) -> Result<()> {
    let n = input.prompt.chars().count();
    if input.prompt.trim().is_empty() {
        return Err(Error::validation("prompt", "prompt must not be empty"));
    }
    if n > MAX_PROMPT_CHARS {
        return Err(Error::validation(
            "prompt",
            format!("prompt must be at most {MAX_PROMPT_CHARS} characters"),
        ));
    }
    if let Some(sp) = &input.system_prompt
        && sp.chars().count() > MAX_SYSTEM_PROMPT_CHARS
    {
        return Err(Error::validation(
            "system_prompt",
            format!("system_prompt must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"),
        ));
    }
    validate::max_tokens("max_tokens", input.max_tokens)?;
    validate::temperature("temperature", input.temperature)?;
    if let Some(m) = &input.model
        && m.trim().is_empty()
    {
        return Err(Error::validation("model", "model must not be empty"));
    }
    Ok(())
}

/// `model` as the vendor names it for provider `rp`: a `<slug>/` or `<kind>/` prefix naming
/// that provider is dropped; anything else is kept whole (vendor ids may contain `/`).
fn strip_prefix<'a>(rp: &ResolvedProvider, model: &'a str) -> &'a str {
    match crate::gateway::split_model(model) {
        Some((prefix, rest))
            if prefix == rp.provider.slug || prefix == rp.provider.kind.as_str() =>
        {
            rest
        }
        _ => model,
    }
}

/// The caller's choices for a direct call (`/completions`, `/chat`); `None` means omitted.
pub(crate) struct DirectRequest<'a> {
    pub(crate) provider_id: Option<Id>,
    pub(crate) model: Option<&'a str>,
    pub(crate) max_tokens: Option<i64>,
    pub(crate) temperature: Option<f64>,
    pub(crate) system_prompt: Option<String>,
}

/// A direct call's provider and effective settings.
pub(crate) struct DirectSettings {
    pub(crate) rp: ResolvedProvider,
    pub(crate) model: String,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) temperature: Option<f64>,
    pub(crate) system_prompt: Option<String>,
}

impl App {
    /// Resolves a direct call, shared by `/completions` and `/chat`. With `provider_id`, that
    /// provider (usable by the caller) and `model` without a prefix naming it; else `model` is
    /// required and resolved like the gateway (`"<provider slug or kind>/<model>"`). Omitted
    /// settings come from the caller's default preference for the provider kind, then the
    /// provider config (model: request, provider `default_model`, preference).
    ///
    /// # Errors
    /// `model_required` (422 naming `model`); `model_not_found`; `provider_not_accessible`,
    /// `provider_inactive`, `provider_key_missing`.
    pub(crate) async fn resolve_direct(
        &self,
        user_id: Id,
        req: DirectRequest<'_>,
    ) -> Result<DirectSettings> {
        let (rp, model_from_request) = match req.provider_id {
            Some(pid) => {
                let rp = self.resolve_provider(user_id, pid).await?;
                let model = req.model.map(|m| strip_prefix(&rp, m.trim()).to_owned());
                (rp, model)
            }
            None => {
                let Some(name) = req.model else {
                    return Err(Error {
                        param: Some("model".into()),
                        ..Error::new(
                            ErrorCode::ModelRequired,
                            "name a model (`<provider>/<model>`) or a provider_id",
                        )
                    });
                };
                let (rp, model) = self.resolve_model(user_id, name.trim()).await?;
                (rp, Some(model))
            }
        };
        let pref = self.default_preference(user_id, rp.provider.kind).await?;
        let model = model_from_request
            .or_else(|| rp.provider.config.default_model.clone())
            .or_else(|| pref.as_ref().map(|p| p.model.clone()))
            .ok_or_else(|| Error {
                param: Some("model".into()),
                ..Error::new(
                    ErrorCode::ModelRequired,
                    "no model given and the provider has no default model",
                )
            })?;
        let max_tokens = req
            .max_tokens
            .or(pref.as_ref().and_then(|p| p.max_tokens))
            .or(rp.provider.config.max_tokens.map(i64::from))
            .and_then(|n| u32::try_from(n).ok());
        let temperature = req
            .temperature
            .or(pref.as_ref().and_then(|p| p.temperature))
            .or(rp.provider.config.temperature);
        let system_prompt = req
            .system_prompt
            .or(pref.as_ref().and_then(|p| p.system_prompt.clone()))
            .filter(|s| !s.trim().is_empty());
        Ok(DirectSettings {
            rp,
            model,
            max_tokens,
            temperature,
            system_prompt,
        })
    }
}

fn new_id() -> String {
    format!("cmpl-{}", crate::crypto::random_token(12))
}

impl App {
    /// Runs a one-shot completion for `user_id`, from the exact response cache when allowed
    /// and present.
    ///
    /// Resolution: with `provider_id`, that provider (it must be usable by the caller) and the
    /// model from `model` (its `<provider>/` prefix dropped), else the provider's
    /// `config.default_model`, else the caller's default preference for the provider kind.
    /// Without `provider_id`, `model` is required and resolved like the gateway does
    /// (`"<provider slug or kind>/<model>"`). Omitted `max_tokens`, `temperature` and
    /// `system_prompt` come from the caller's default preference for the provider kind, then
    /// (`max_tokens`, `temperature`) from the provider config.
    ///
    /// Usage: one record per call under `ctx.request_id`. Cache hits are recorded at zero cost
    /// with the cached token counts (`estimated: false`, status `success`); upstream failures
    /// with zero tokens and status `failed`.
    ///
    /// # Errors
    /// `validation_error` naming the field; `model_required` when no model can be determined;
    /// `model_not_found`; `provider_not_accessible` (404) for a provider the caller cannot use;
    /// `provider_inactive`, `provider_key_missing`; the upstream's mapped error.
    pub async fn complete(
        &self,
        user_id: Id,
        input: CompletionInput,
        ctx: &RequestContext,
    ) -> Result<Completion> {
        check_input(&input)?;
        let started = Instant::now();
        let DirectSettings {
            rp,
            model,
            max_tokens,
            temperature,
            system_prompt,
        } = self
            .resolve_direct(
                user_id,
                DirectRequest {
                    provider_id: input.provider_id,
                    model: input.model.as_deref(),
                    max_tokens: input.max_tokens,
                    temperature: input.temperature,
                    system_prompt: input.system_prompt.clone(),
                },
            )
            .await?;
        let mut messages = Vec::with_capacity(2);
        if let Some(sp) = &system_prompt {
            messages.push(ChatMessage::new(ChatRole::System, sp.clone()));
        }
        messages.push(ChatMessage::new(ChatRole::User, input.prompt.clone()));
        let request = ChatRequest {
            model,
            messages,
            max_tokens,
            temperature,
            ..ChatRequest::default()
        };
        let provider = CompletionProvider {
            id: rp.provider.id,
            slug: rp.provider.slug.clone(),
            kind: rp.provider.kind,
        };
        let generation = |status, latency_ms| Generation {
            request_id: &ctx.request_id,
            user_id,
            api_key_id: ctx.api_key_id,
            provider_id: Some(provider.id),
            provider_kind: provider.kind.as_str(),
            conversation_id: None,
            message_id: None,
            model: &request.model,
            status,
            latency_ms,
            ttft_ms: Some(latency_ms),
        };

        let key = cacheable(input.cache, temperature)
            .then(|| cache_key(user_id, provider.id, &request, &input.prompt));
        if let Some(key) = &key
            && let Some(hit) = self.inner.completion_cache.entries.get(key)
        {
            let latency_ms = started.elapsed().as_millis() as i64;
            let usage = Usage {
                estimated: false,
                ..hit.usage
            };
            let billed = Billed {
                usage,
                cost: Money::ZERO,
                price_known: true,
            };
            self.record_usage(generation(UsageStatus::Success, latency_ms), billed)
                .await;
            return Ok(Completion {
                id: new_id(),
                text: hit.text.clone(),
                model: hit.model.clone(),
                provider: provider.clone(),
                usage,
                cost: Money::ZERO,
                currency: self.pricing().currency.clone(),
                finish_reason: hit.finish_reason,
                from_cache: true,
                response_time_ms: latency_ms,
                created_at: time::now(),
            });
        }

        let reply = match self.chat_with_retries(&rp, &request).await {
            Ok(r) => r,
            Err(e) => {
                let billed = self.settle_usage(&request.model, Some(Usage::default()), &[], "");
                self.record_usage(
                    generation(UsageStatus::Failed, started.elapsed().as_millis() as i64),
                    billed,
                )
                .await;
                return Err(e.into());
            }
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let billed = self.settle_usage(
            &request.model,
            reply.usage,
            &request.messages,
            &reply.content,
        );
        self.record_usage(generation(UsageStatus::Success, latency_ms), billed)
            .await;
        let finish_reason = reply.finish_reason.unwrap_or(FinishReason::Stop);
        let model = if reply.model.is_empty() {
            request.model.clone()
        } else {
            reply.model.clone()
        };
        if let Some(key) = key
            && matches!(finish_reason, FinishReason::Stop | FinishReason::Length)
            && reply.tool_calls.is_empty()
        {
            self.inner.completion_cache.entries.insert(
                key,
                Arc::new(CachedReply {
                    text: reply.content.clone(),
                    model: model.clone(),
                    finish_reason,
                    usage: billed.usage,
                }),
            );
        }
        Ok(Completion {
            id: new_id(),
            text: reply.content,
            model,
            provider,
            usage: billed.usage,
            cost: billed.cost,
            currency: self.pricing().currency.clone(),
            finish_reason,
            from_cache: false,
            response_time_ms: latency_ms,
            created_at: time::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str, temperature: Option<f64>) -> ChatRequest {
        ChatRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![
                ChatMessage::new(ChatRole::System, "Be brief."),
                ChatMessage::new(ChatRole::User, prompt),
            ],
            max_tokens: Some(100),
            temperature,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn cache_keys_separate_users_providers_and_parameters() {
        let base = cache_key(1, 7, &req("hi", Some(0.0)), "hi");
        assert_eq!(base, cache_key(1, 7, &req("hi", Some(0.0)), "hi"));
        assert_ne!(base, cache_key(2, 7, &req("hi", Some(0.0)), "hi"));
        assert_ne!(base, cache_key(1, 8, &req("hi", Some(0.0)), "hi"));
        assert_ne!(base, cache_key(1, 7, &req("ho", Some(0.0)), "ho"));
        assert_ne!(base, cache_key(1, 7, &req("hi", Some(0.5)), "hi"));
        let mut no_system = req("hi", Some(0.0));
        no_system.messages.remove(0);
        assert_ne!(base, cache_key(1, 7, &no_system, "hi"));
    }

    #[test]
    fn cache_is_bounded_by_bytes() {
        let cache = CompletionCache::new(Duration::from_secs(60), 10_000);
        for i in 0u8..50 {
            cache.entries.insert(
                [i; 32],
                Arc::new(CachedReply {
                    text: "x".repeat(1_000),
                    model: "m".into(),
                    finish_reason: FinishReason::Stop,
                    usage: Usage::default(),
                }),
            );
        }
        cache.entries.run_pending_tasks();
        assert!(cache.entries.weighted_size() <= 10_000);
        assert!(cache.entries.entry_count() < 50);
    }

    #[test]
    fn cache_is_used_at_temperature_zero_or_on_request() {
        assert!(cacheable(None, Some(0.0)));
        assert!(!cacheable(None, Some(0.7)));
        assert!(!cacheable(None, None));
        assert!(cacheable(Some(true), Some(0.7)));
        assert!(!cacheable(Some(false), Some(0.0)));
    }
}
