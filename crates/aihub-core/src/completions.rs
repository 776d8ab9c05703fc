//! Direct one-shot completions (`POST /api/v1/completions`: a prompt in, a text out, with
//! `from_cache`; what the analyze and generate requests of the workspace API map to) and their
//! exact response cache. Upstream calls go through the generation engine.
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
use crate::generation::bill::{Account, Settlement};
use crate::generation::settings::Layer;
use crate::generation::{Billed, Caller, GenerationId, Outcome, Plan};
use crate::{App, Error, Result, validate};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, FinishReason, Id, Money, ProviderKind, Usage, time,
};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

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

fn completion_id(generation_id: &GenerationId) -> String {
    generation_id.with_prefix("cmpl")
}

impl App {
    /// Runs a one-shot completion for `user_id`, from the exact response cache when allowed
    /// and present.
    ///
    /// Resolution: with `provider_id`, that provider (it must be usable by the caller) and the
    /// model from `model` (its `<provider>/` prefix dropped); without it, `model` is required
    /// and resolved like `/v1` (`"<provider slug or kind>/<model>"`). Omitted settings come
    /// from the one resolver: the caller's default preference for the provider kind, then the
    /// provider's config (`default_model`, `max_tokens`, `temperature`).
    ///
    /// Usage: one record per call. Cache hits are recorded at zero cost with the cached token
    /// counts (`estimated: false`, status `success`); upstream failures with zero tokens and
    /// status `failed`.
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
        let call = self
            .resolve_direct(
                user_id,
                input.provider_id,
                Layer {
                    model: input.model.clone(),
                    max_tokens: input.max_tokens,
                    temperature: input.temperature,
                    system_prompt: input.system_prompt.clone(),
                },
            )
            .await?;
        let settings = call.settings;
        let mut messages = Vec::with_capacity(2);
        if let Some(sp) = &settings.system_prompt {
            messages.push(ChatMessage::new(ChatRole::System, sp.clone()));
        }
        messages.push(ChatMessage::new(ChatRole::User, input.prompt.clone()));
        let request = ChatRequest {
            model: settings.model,
            messages,
            max_tokens: settings.max_tokens,
            temperature: settings.temperature,
            ..ChatRequest::default()
        };
        let served = call.provider;
        let provider = CompletionProvider::from(&served);
        let caller = Caller {
            user_id,
            api_key_id: ctx.api_key_id,
        };

        let key = cacheable(input.cache, request.temperature)
            .then(|| cache_key(user_id, provider.id, &request, &input.prompt));
        if let Some(key) = &key
            && let Some(hit) = self.inner.completion_cache.entries.get(key)
        {
            let generation_id = GenerationId::new();
            let reservation = self.reserve(Account {
                caller,
                generation_id: generation_id.clone(),
                request_id: ctx.request_id.clone(),
                conversation_id: None,
            })?;
            let latency_ms = reservation.elapsed_ms();
            let usage = Usage {
                estimated: false,
                ..hit.usage
            };
            // No upstream was asked, so nothing is owed.
            let billed = Billed {
                usage,
                cost: Money::ZERO,
                price_known: true,
            };
            reservation
                .settle(Settlement {
                    outcome: Outcome::Completed,
                    served: Some(&served),
                    billed,
                    message_id: None,
                    ttft_ms: Some(latency_ms),
                })
                .await;
            return Ok(Completion {
                id: completion_id(&generation_id),
                text: hit.text.clone(),
                model: hit.model.clone(),
                provider,
                usage,
                cost: Money::ZERO,
                currency: self.price_catalog().currency.clone(),
                finish_reason: hit.finish_reason,
                from_cache: true,
                response_time_ms: latency_ms,
                created_at: time::now(),
            });
        }

        let reply = self
            .generate(Plan {
                caller,
                request_id: ctx.request_id.clone(),
                request,
                targets: call.targets,
                deadline: None,
                store: None,
            })
            .await?;
        let model = if reply.response.model.is_empty() {
            reply.served.model.clone()
        } else {
            reply.response.model.clone()
        };
        if let Some(key) = key
            && matches!(
                reply.finish_reason,
                FinishReason::Stop | FinishReason::Length
            )
            && reply.response.tool_calls.is_empty()
        {
            self.inner.completion_cache.entries.insert(
                key,
                Arc::new(CachedReply {
                    text: reply.response.content.clone(),
                    model: model.clone(),
                    finish_reason: reply.finish_reason,
                    usage: reply.billed.usage,
                }),
            );
        }
        Ok(Completion {
            id: completion_id(&reply.generation_id),
            text: reply.response.content,
            model,
            provider,
            usage: reply.billed.usage,
            cost: reply.billed.cost,
            currency: self.price_catalog().currency.clone(),
            finish_reason: reply.finish_reason,
            from_cache: false,
            response_time_ms: reply.latency_ms,
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
