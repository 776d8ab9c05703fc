//! The gateway behind `/v1`: resolves `"<provider slug or kind>/<model>"` to a provider the
//! caller may use, calls it with retries, fallbacks, timeouts and a per-provider cooldown, and
//! bills every call exactly once through the background usage writer.
//!
//! Routing (issue 3 section 4, QUALITY.md R2/R3):
//! - A retryable failure (connect error, timeout, 429, 5xx: [`ProviderError::is_retryable`]) is
//!   retried with exponential backoff and full jitter, ONLY before the first byte reached the
//!   client. An upstream `Retry-After` longer than [`RoutingConfig::retry_max_delay`] is not
//!   waited out: the error (with its `Retry-After`) goes to the caller or the next fallback.
//! - Fallbacks (the request's own list first, then the primary provider's `config.fallbacks`)
//!   are tried in order when a target fails before the first byte for an upstream-side reason;
//!   a request the upstream refused as invalid is not retried anywhere.
//! - A provider failing [`RoutingConfig::cooldown_failures`] times in a row is skipped for
//!   [`RoutingConfig::cooldown`]; then one request probes it (half-open).
//! - Streams get a first-chunk timeout (`first_byte_timeout_s`) and an idle timeout between
//!   chunks. After the first chunk, a failure ends the stream with an error item and the partial
//!   usage is billed once.
//!
//! The warm path makes no database call: the caller's providers, built clients and the API key
//! (see `keys`) come from in-memory caches, and usage goes to the background writer.

use crate::providers::ResolvedProvider;
use crate::usage::Generation;
use crate::{App, Error, Result, RoutingConfig};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorCode, Id,
    ModelInfo, ProviderKind, ProviderScope, Usage, UsageStatus,
};
use aihub_providers::{ChatStream, ProviderError};
use aihub_store::providers::ProviderRow;
use futures_util::StreamExt;
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter, clock::DefaultClock};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Splits `"<provider slug or kind>/<model>"` at the first `/`: `openrouter/x-ai/grok-beta` is
/// provider `openrouter`, model `x-ai/grok-beta`. `None` when either side is empty or there is
/// no `/`.
pub fn split_model(name: &str) -> Option<(&str, &str)> {
    let (prefix, model) = name.split_once('/')?;
    (!prefix.is_empty() && !model.is_empty()).then_some((prefix, model))
}

/// Who is calling the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The billed account (the key's owner).
    pub user_id: Id,
    /// The developer API key used, if any.
    pub api_key_id: Option<Id>,
}

/// One chat completion call.
#[derive(Debug, Clone)]
pub struct GatewayRequest {
    /// The request; `model` is the public name (`"<provider>/<model>"`, or a bare model the
    /// catalog or a provider's `config.models` knows).
    pub request: ChatRequest,
    /// AI Hub extension: models to try, in order, when the primary fails before the first byte.
    pub fallbacks: Vec<String>,
    /// The request id; the usage record's `request_id`.
    pub request_id: String,
}

/// Which provider and model served a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Provider id.
    pub provider_id: Id,
    /// Provider slug.
    pub provider_slug: String,
    /// Provider kind.
    pub kind: ProviderKind,
    /// The vendor's model id.
    pub model: String,
    /// Upstream attempts made, across retries and fallbacks (1 when the first one worked).
    pub attempts: u32,
}

/// One item of a gateway stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A chunk to forward.
    Chunk(ChatChunk),
    /// The stream failed after its first chunk; nothing follows.
    Error(Error),
}

/// An open stream: the first chunk has arrived. `items` ends after the last chunk (or after
/// a [`StreamItem::Error`]). Dropping it stops the upstream and bills what was generated, as
/// `stopped`.
pub struct GatewayStream {
    /// Who serves it.
    pub served: Served,
    /// The chunks, pulled from the upstream as they are polled.
    pub items: futures_util::stream::BoxStream<'static, StreamItem>,
}

impl std::fmt::Debug for GatewayStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayStream")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

/// A provider's circuit: consecutive retryable failures and, when open, until when it is
/// skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
}

type KeyLimiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// In-memory state of the gateway: caches, circuits and per-key rate limiters.
pub(crate) struct GatewayState {
    /// User id → the active providers they may use (own and granted), oldest first.
    routes: moka::sync::Cache<Id, Arc<Vec<ProviderRow>>>,
    /// Provider id → the models it lists (for `/v1/models`).
    listed: moka::sync::Cache<Id, Arc<Vec<ModelInfo>>>,
    circuits: Mutex<HashMap<Id, Circuit>>,
    limiters: Mutex<HashMap<Id, (u32, Arc<KeyLimiter>)>>,
}

impl GatewayState {
    pub(crate) fn new(config: &RoutingConfig) -> Self {
        GatewayState {
            routes: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(config.route_cache_ttl)
                .build(),
            listed: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(config.route_cache_ttl.max(Duration::from_secs(60)))
                .build(),
            circuits: Mutex::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
        }
    }

    fn circuit_open(&self, provider_id: Id) -> bool {
        let map = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&provider_id)
            .and_then(|c| c.open_until)
            .is_some_and(|until| Instant::now() < until)
    }

    fn record(&self, provider_id: Id, ok: bool, config: &RoutingConfig) {
        let mut map = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            map.remove(&provider_id);
            return;
        }
        let c = map.entry(provider_id).or_default();
        c.failures = c.failures.saturating_add(1);
        if c.failures >= config.cooldown_failures.max(1) {
            c.open_until = Some(Instant::now() + config.cooldown);
            c.failures = 0;
            tracing::warn!(
                provider_id,
                cooldown_s = config.cooldown.as_secs(),
                "provider keeps failing: skipped while it cools down"
            );
        }
    }
}

/// The outcome of a per-key rate-limit check, for the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per minute.
    pub limit: u32,
    /// Requests left in the current burst.
    pub remaining: u32,
    /// Seconds until a full allowance is back.
    pub reset_secs: u64,
}

impl App {
    /// Forgets every cached route (users' provider lists). Called on any provider change;
    /// tests that grant providers through the store call it too.
    pub fn forget_routes(&self) {
        self.inner.gateway.routes.invalidate_all();
    }

    /// Counts one request against a developer API key's `requests_per_minute` (a GCRA limiter
    /// per key, in memory; a burst of the whole minute's allowance is allowed).
    ///
    /// # Errors
    /// `rate_limit_exceeded` with `retry_after` when the key is over its limit.
    pub fn check_key_rate(&self, key_id: Id, requests_per_minute: u32) -> Result<RateLimitStatus> {
        let Some(rpm) = NonZeroU32::new(requests_per_minute) else {
            return Err(Error::new(
                ErrorCode::RateLimitExceeded,
                "this API key allows no requests",
            ));
        };
        let limiter = {
            let mut map = self
                .inner
                .gateway
                .limiters
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match map.get(&key_id) {
                Some((n, l)) if *n == requests_per_minute => l.clone(),
                _ => {
                    let l = Arc::new(
                        RateLimiter::direct(Quota::per_minute(rpm))
                            .with_middleware::<StateInformationMiddleware>(),
                    );
                    map.insert(key_id, (requests_per_minute, l.clone()));
                    l
                }
            }
        };
        let per_request = Duration::from_secs(60) / requests_per_minute;
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = requests_per_minute.saturating_sub(remaining);
                Ok(RateLimitStatus {
                    limit: requests_per_minute,
                    remaining,
                    reset_secs: (per_request * used).as_secs_f64().ceil() as u64,
                })
            }
            Err(not_until) => {
                let wait =
                    not_until.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()));
                Err(Error {
                    retry_after: Some(Duration::from_secs(wait.as_secs_f64().ceil() as u64)),
                    details: Some(serde_json::json!({
                        "limit": requests_per_minute,
                        "remaining": 0,
                        "reset": wait.as_secs_f64().ceil() as u64,
                    })),
                    ..Error::new(
                        ErrorCode::RateLimitExceeded,
                        format!(
                            "this API key is limited to {requests_per_minute} requests per minute"
                        ),
                    )
                })
            }
        }
    }

    /// The active providers `user_id` may use, from the cache or (cold) the database.
    async fn available_rows(&self, user_id: Id) -> Result<Arc<Vec<ProviderRow>>> {
        if let Some(rows) = self.inner.gateway.routes.get(&user_id) {
            return Ok(rows);
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
        let rows = Arc::new(rows);
        self.inner.gateway.routes.insert(user_id, rows.clone());
        Ok(rows)
    }

    /// Resolves a public model name for `user_id` to a provider and the vendor's model id.
    ///
    /// Order: the caller's own provider with that slug, an organization provider granted to
    /// them with that slug, then the same two by kind (oldest first). A name without a known
    /// prefix is looked up in the providers' `config.models`, then in the price catalog (which
    /// names each model's vendor kind).
    ///
    /// # Errors
    /// `model_not_found` when nothing matches; `provider_key_missing` / `unsafe_base_url` when
    /// the matched provider cannot be built.
    pub async fn resolve_model(
        &self,
        user_id: Id,
        name: &str,
    ) -> Result<(ResolvedProvider, String)> {
        let rows = self.available_rows(user_id).await?;
        let owned = |r: &&ProviderRow| r.owner_id == user_id;
        let granted = |r: &&ProviderRow| {
            r.owner_id != user_id && ProviderScope::parse(&r.scope) == ProviderScope::Organization
        };
        let pick = |pred: &dyn Fn(&ProviderRow) -> bool| -> Option<&ProviderRow> {
            rows.iter()
                .filter(owned)
                .find(|r| pred(r))
                .or_else(|| rows.iter().filter(granted).find(|r| pred(r)))
        };
        if let Some((prefix, model)) = split_model(name) {
            let row = pick(&|r| r.slug == prefix).or_else(|| pick(&|r| r.kind == prefix));
            if let Some(row) = row {
                return Ok((self.client_for_row(row)?, model.to_owned()));
            }
        }
        let row = pick(&|r| {
            serde_json::from_str::<aihub_domain::ProviderConfig>(&r.config)
                .is_ok_and(|c| c.models.iter().any(|m| m == name))
        })
        .or_else(|| {
            let (_, price) = self.pricing().resolve(name)?;
            let kind = price.provider.as_str();
            pick(&|r| r.kind == kind)
        });
        match row {
            Some(row) => Ok((self.client_for_row(row)?, name.to_owned())),
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

    /// A non-streaming chat completion through the router, run on the caller's own task (no
    /// thread hop on the hot path). A caller that goes away mid-call drops the future; the
    /// [`CallGuard`] then bills the attempt in flight once (`stopped`, prompt counted locally)
    /// on the app runtime, so an upstream call that may already cost money is never lost.
    ///
    /// # Errors
    /// The last target's mapped error when every attempt failed; `model_not_found` when the
    /// primary model does not resolve.
    pub async fn chat_completion(
        &self,
        caller: Caller,
        input: GatewayRequest,
    ) -> Result<(ChatResponse, Served)> {
        let input = Arc::new(input);
        let mut guard = CallGuard::new(self, caller, &input);
        let opened = self
            .open(caller.user_id, &input, false, &guard.progress)
            .await;
        let latency_ms = guard.started.elapsed().as_millis() as i64;
        guard.disarm();
        match opened {
            Ok((Opened::Complete(response), served, request)) => {
                let billed = self.settle_usage(
                    &served.model,
                    response.usage,
                    &request.messages,
                    &response.content,
                );
                self.record_usage(
                    generation(&input.request_id, caller, Some(&served), &served.model).with(
                        UsageStatus::Success,
                        latency_ms,
                        Some(latency_ms),
                    ),
                    billed,
                )
                .await;
                Ok((response, served))
            }
            Ok((Opened::Stream(..), ..)) => Err(Error::internal("stream opened for a completion")),
            Err(failure) => {
                self.record_failure(caller, &input, &failure, latency_ms)
                    .await;
                Err(failure.error)
            }
        }
    }

    /// A streaming chat completion through the router, run on the caller's task. Resolves once
    /// the first chunk arrived (retries and fallbacks happen before that); the rest is pulled
    /// from the upstream as the caller polls [`GatewayStream::items`] — no extra task or
    /// channel. Usage is recorded exactly once when the stream ends: `success`, `failed`
    /// (after the first chunk), or `stopped` (the stream was dropped — client gone — or the
    /// server shut down). Dropping the stream closes the upstream connection.
    ///
    /// # Errors
    /// The last target's mapped error when no target produced a first chunk.
    pub async fn chat_completion_stream(
        &self,
        caller: Caller,
        input: GatewayRequest,
    ) -> Result<GatewayStream> {
        let input = Arc::new(input);
        let mut guard = CallGuard::new(self, caller, &input);
        let opened = self
            .open(caller.user_id, &input, true, &guard.progress)
            .await;
        let started = guard.started;
        guard.disarm();
        let (upstream, first, served, request) = match opened {
            Ok((Opened::Stream(upstream, first), served, request)) => {
                (upstream, first, served, request)
            }
            Ok((Opened::Complete(_), ..)) => {
                return Err(Error::internal("completion opened for a stream"));
            }
            Err(failure) => {
                let latency_ms = started.elapsed().as_millis() as i64;
                self.record_failure(caller, &input, &failure, latency_ms)
                    .await;
                return Err(failure.error);
            }
        };
        let state = StreamState {
            app: self.clone(),
            caller,
            input,
            served: served.clone(),
            messages: request.messages,
            upstream: Some(upstream),
            pending: first,
            text: String::new(),
            usage: None,
            started,
            ttft_ms: Some(started.elapsed().as_millis() as i64),
            idle: self.config().routing.idle_timeout,
            ended: false,
            billed: false,
        };
        Ok(GatewayStream {
            served,
            items: futures_util::stream::unfold(state, StreamState::next_item).boxed(),
        })
    }

    /// Embeddings through the resolved provider, with the same retries (no fallbacks: vectors
    /// of another model are not interchangeable). Bills prompt tokens once.
    ///
    /// # Errors
    /// `model_not_found`, `unsupported_operation` (Anthropic), or the mapped upstream error.
    pub async fn embeddings(
        &self,
        caller: Caller,
        model: &str,
        mut request: EmbeddingRequest,
        request_id: String,
    ) -> Result<(EmbeddingResponse, Served)> {
        let app = self.clone();
        let model = model.to_owned();
        let task = self.inner.tasks.spawn_on(
            async move {
                let started = Instant::now();
                let (rp, vendor_model) = app.resolve_model(caller.user_id, &model).await?;
                request.model = vendor_model.clone();
                let retries = app.retries_for(&rp);
                let mut attempts = 0;
                let result = loop {
                    attempts += 1;
                    match rp.client.embed(&request).await {
                        Ok(r) => {
                            app.inner
                                .gateway
                                .record(rp.provider.id, true, &app.config().routing);
                            break Ok(r);
                        }
                        Err(e) => {
                            if e.is_retryable() {
                                app.inner.gateway.record(
                                    rp.provider.id,
                                    false,
                                    &app.config().routing,
                                );
                            }
                            match app.retry_delay(&e, attempts - 1, retries) {
                                Some(d) => tokio::time::sleep(d).await,
                                None => break Err(e),
                            }
                        }
                    }
                };
                let served = served(&rp, &vendor_model, attempts);
                let latency_ms = started.elapsed().as_millis() as i64;
                match result {
                    Ok(response) => {
                        let priced = app.pricing().price(&vendor_model, &response.usage);
                        app.record_usage(
                            generation(&request_id, caller, Some(&served), &vendor_model).with(
                                UsageStatus::Success,
                                latency_ms,
                                Some(latency_ms),
                            ),
                            crate::usage::Billed {
                                usage: response.usage,
                                cost: priced.cost,
                                price_known: priced.price_known,
                            },
                        )
                        .await;
                        Ok((response, served))
                    }
                    Err(e) => {
                        app.record_usage(
                            generation(&request_id, caller, Some(&served), &vendor_model).with(
                                UsageStatus::Failed,
                                latency_ms,
                                None,
                            ),
                            zero_bill(),
                        )
                        .await;
                        Err(e.into())
                    }
                }
            },
            &self.inner.runtime,
        );
        task.await.map_err(Error::internal)?
    }

    /// The models of every provider `user_id` may use, as `(public id, owned_by)`: the
    /// catalog's models of each provider's kind, the provider's `config.models`, and what the
    /// provider lists upstream (cached; a provider that cannot list is skipped).
    ///
    /// # Errors
    /// Database failures only.
    pub async fn gateway_models(&self, user_id: Id) -> Result<Vec<(String, String)>> {
        let rows = self.available_rows(user_id).await?;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for row in rows.iter() {
            let mut names: Vec<String> = Vec::new();
            let config: aihub_domain::ProviderConfig =
                serde_json::from_str(&row.config).unwrap_or_default();
            names.extend(config.models.iter().cloned());
            let mut catalog: Vec<&String> = self
                .pricing()
                .models
                .iter()
                .filter(|(_, p)| p.provider.as_str() == row.kind)
                .map(|(name, _)| name)
                .collect();
            catalog.sort();
            names.extend(catalog.into_iter().cloned());
            if let Some(listed) = self.listed_models(row).await {
                names.extend(listed.iter().map(|m| m.id.clone()));
            }
            for name in names {
                let id = format!("{}/{}", row.slug, name);
                if seen.insert(id.clone()) {
                    out.push((id, row.slug.clone()));
                }
            }
        }
        Ok(out)
    }

    async fn listed_models(&self, row: &ProviderRow) -> Option<Arc<Vec<ModelInfo>>> {
        if let Some(m) = self.inner.gateway.listed.get(&row.id) {
            return Some(m);
        }
        let rp = self.client_for_row(row).ok()?;
        let listed = tokio::time::timeout(Duration::from_secs(5), rp.client.list_models()).await;
        let models = match listed {
            Ok(Ok(m)) => Arc::new(m),
            // Cached empty for the TTL too, so a dead upstream does not slow every listing.
            _ => Arc::new(Vec::new()),
        };
        self.inner.gateway.listed.insert(row.id, models.clone());
        Some(models)
    }

    fn retries_for(&self, rp: &ResolvedProvider) -> u32 {
        rp.provider
            .config
            .max_retries
            .unwrap_or(self.config().routing.max_retries)
    }

    /// The wait before retry number `attempt + 1`, or `None` when the error is not retryable,
    /// the retries are used up, or the upstream asked for a longer wait than we will hold the
    /// caller for.
    fn retry_delay(&self, e: &ProviderError, attempt: u32, retries: u32) -> Option<Duration> {
        if !e.is_retryable() || attempt >= retries {
            return None;
        }
        let cfg = &self.config().routing;
        if let Some(after) = e.retry_after {
            return (after <= cfg.retry_max_delay).then_some(after);
        }
        let exp = cfg
            .retry_base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(cfg.retry_max_delay);
        // Full jitter: uniformly in [exp/2, exp], so concurrent retries spread out.
        let half = exp / 2;
        let jitter = rand::random_range(0..=half.as_micros().min(u128::from(u64::MAX)) as u64);
        Some(half + Duration::from_micros(jitter))
    }

    /// Tries the primary target and then the fallbacks until one opens.
    async fn open(
        &self,
        user_id: Id,
        input: &GatewayRequest,
        stream: bool,
        progress: &Mutex<Option<Served>>,
    ) -> std::result::Result<(Opened, Served, ChatRequest), Failure> {
        let mut targets: Vec<String> = Vec::with_capacity(1 + input.fallbacks.len());
        targets.push(input.request.model.clone());
        targets.extend(input.fallbacks.iter().cloned());
        let mut attempts = 0u32;
        let mut last: Option<Failure> = None;
        let mut i = 0;
        while i < targets.len() {
            let target = targets[i].clone();
            i += 1;
            let (rp, model) = match self.resolve_model(user_id, &target).await {
                Ok(found) => found,
                Err(error) if i == 1 => {
                    return Err(Failure {
                        error,
                        served: None,
                        attempts,
                    });
                }
                Err(error) => {
                    tracing::debug!(target, code = %error.code, "fallback does not resolve");
                    last.get_or_insert(Failure {
                        error,
                        served: None,
                        attempts,
                    });
                    continue;
                }
            };
            if i == 1 {
                for f in &rp.provider.config.fallbacks {
                    if !targets.contains(f) {
                        targets.push(f.clone());
                    }
                }
            }
            if self.inner.gateway.circuit_open(rp.provider.id) {
                last = Some(Failure {
                    error: Error::new(
                        ErrorCode::UpstreamUnavailable,
                        format!(
                            "provider `{}` is cooling down after repeated failures",
                            rp.provider.slug
                        ),
                    ),
                    served: Some(served(&rp, &model, attempts)),
                    attempts,
                });
                continue;
            }
            let mut request = input.request.clone();
            request.model = model.clone();
            if request.max_tokens.is_none() && rp.provider.kind == ProviderKind::Anthropic {
                // Anthropic requires max_tokens: the catalog's output cap, else the provider's.
                request.max_tokens = self
                    .pricing()
                    .lookup(&model)
                    .and_then(|p| p.max_output_tokens)
                    .or(rp.provider.config.max_tokens);
            }
            *progress.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(served(&rp, &model, attempts + 1));
            let error = match self.try_target(&rp, &request, stream).await {
                Ok((opened, n)) => {
                    attempts += n;
                    return Ok((opened, served(&rp, &model, attempts), request));
                }
                Err((e, n)) => {
                    attempts += n;
                    e
                }
            };
            let fall_back = falls_back(&error);
            last = Some(Failure {
                error: error.into(),
                served: Some(served(&rp, &model, attempts)),
                attempts,
            });
            if !fall_back {
                break;
            }
        }
        Err(last.unwrap_or_else(|| Failure {
            error: Error::new(
                ErrorCode::UpstreamUnavailable,
                "no provider could serve the request",
            ),
            served: None,
            attempts,
        }))
    }

    /// Calls one provider, retrying retryable failures with backoff (and honouring a short
    /// `Retry-After`) while its circuit stays closed. Returns what opened and the number of
    /// attempts made, or the last error and that number.
    async fn try_target(
        &self,
        rp: &ResolvedProvider,
        request: &ChatRequest,
        stream: bool,
    ) -> std::result::Result<(Opened, u32), (ProviderError, u32)> {
        let routing = &self.config().routing;
        let retries = self.retries_for(rp);
        let mut attempt = 0u32;
        loop {
            let result = if stream {
                self.open_stream(rp, request)
                    .await
                    .map(|(s, first)| Opened::Stream(s, first))
            } else {
                rp.client.chat(request).await.map(Opened::Complete)
            };
            match result {
                Ok(opened) => {
                    self.inner.gateway.record(rp.provider.id, true, routing);
                    return Ok((opened, attempt + 1));
                }
                Err(e) => {
                    if e.is_retryable() {
                        self.inner.gateway.record(rp.provider.id, false, routing);
                    }
                    tracing::info!(
                        provider_id = rp.provider.id,
                        attempt,
                        code = %e.code,
                        "upstream attempt failed"
                    );
                    match self.retry_delay(&e, attempt, retries) {
                        Some(d) if !self.inner.gateway.circuit_open(rp.provider.id) => {
                            tokio::time::sleep(d).await;
                            attempt += 1;
                        }
                        _ => return Err((e, attempt + 1)),
                    }
                }
            }
        }
    }

    /// A non-streaming chat on one provider with the gateway's retries (for the native
    /// conversation endpoints, which name their provider and have no fallbacks).
    ///
    /// # Errors
    /// The last attempt's mapped error.
    pub(crate) async fn chat_with_retries(
        &self,
        rp: &ResolvedProvider,
        request: &ChatRequest,
    ) -> std::result::Result<ChatResponse, ProviderError> {
        match self.try_target(rp, request, false).await {
            Ok((Opened::Complete(r), _)) => Ok(r),
            Ok((Opened::Stream(..), _)) => Err(ProviderError::new(
                ErrorCode::InternalError,
                "a stream opened for a completion",
            )),
            Err((e, _)) => Err(e),
        }
    }

    /// Opens a stream on one provider with the gateway's retries and first-byte timeout (for
    /// the native conversation endpoints). The first chunk, already read, is put back in front.
    ///
    /// # Errors
    /// The last attempt's mapped error.
    pub(crate) async fn stream_with_retries(
        &self,
        rp: &ResolvedProvider,
        request: &ChatRequest,
    ) -> std::result::Result<ChatStream, ProviderError> {
        match self.try_target(rp, request, true).await {
            Ok((Opened::Stream(s, first), _)) => {
                Ok(futures_util::stream::iter(first.map(Ok)).chain(s).boxed())
            }
            Ok((Opened::Complete(_), _)) => Err(ProviderError::new(
                ErrorCode::InternalError,
                "a completion opened for a stream",
            )),
            Err((e, _)) => Err(e),
        }
    }

    /// Opens a stream and waits for its first chunk, within the first-byte timeout. A failure
    /// here has sent nothing to the client, so it may be retried.
    async fn open_stream(
        &self,
        rp: &ResolvedProvider,
        request: &ChatRequest,
    ) -> std::result::Result<(ChatStream, Option<ChatChunk>), ProviderError> {
        let limit = rp
            .provider
            .config
            .first_byte_timeout_s
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.config().routing.first_byte_timeout);
        let opening = async {
            let mut s = rp.client.chat_stream(request).await?;
            match s.next().await {
                Some(Ok(first)) => Ok((s, Some(first))),
                Some(Err(e)) => Err(e),
                None => Ok((s, None)),
            }
        };
        match tokio::time::timeout(limit, opening).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::new(
                ErrorCode::UpstreamTimeout,
                format!("the upstream sent nothing within {} s", limit.as_secs()),
            )),
        }
    }

    /// Bills a call that failed before its first byte: zero tokens (nothing was generated),
    /// status `failed`. Calls that never reached an upstream (unknown model) write nothing.
    async fn record_failure(
        &self,
        caller: Caller,
        input: &GatewayRequest,
        failure: &Failure,
        latency_ms: i64,
    ) {
        if failure.attempts == 0 {
            return;
        }
        let model = failure
            .served
            .as_ref()
            .map(|s| s.model.clone())
            .unwrap_or_else(|| input.request.model.clone());
        self.record_usage(
            generation(&input.request_id, caller, failure.served.as_ref(), &model).with(
                UsageStatus::Failed,
                latency_ms,
                None,
            ),
            zero_bill(),
        )
        .await;
    }
}

/// Bills a call whose caller went away while it was talking to an upstream: the future was
/// dropped, so `Drop` queues the record (`stopped`, the prompt counted locally, nothing
/// generated seen) from a task on the app runtime. Disarmed once the call settles normally.
struct CallGuard {
    app: App,
    caller: Caller,
    input: Arc<GatewayRequest>,
    started: Instant,
    /// The target being tried, set by `open` before each attempt.
    progress: Mutex<Option<Served>>,
    armed: bool,
}

impl CallGuard {
    fn new(app: &App, caller: Caller, input: &Arc<GatewayRequest>) -> Self {
        CallGuard {
            app: app.clone(),
            caller,
            input: input.clone(),
            started: Instant::now(),
            progress: Mutex::new(None),
            armed: true,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Some(served) = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return; // no upstream was called yet: nothing to bill
        };
        let app = self.app.clone();
        let caller = self.caller;
        let input = self.input.clone();
        let latency_ms = self.started.elapsed().as_millis() as i64;
        self.app.inner.tasks.spawn_on(
            async move {
                let billed = app.settle_usage(&served.model, None, &input.request.messages, "");
                app.record_usage(
                    generation(&input.request_id, caller, Some(&served), &served.model).with(
                        UsageStatus::Stopped,
                        latency_ms,
                        None,
                    ),
                    billed,
                )
                .await;
            },
            &self.app.inner.runtime,
        );
    }
}

/// An open stream's accounting, carried through `unfold`. If it is dropped before the stream
/// ended (the client went away), `Drop` bills what was generated, as `stopped`.
struct StreamState {
    app: App,
    caller: Caller,
    input: Arc<GatewayRequest>,
    served: Served,
    messages: Vec<aihub_domain::ChatMessage>,
    upstream: Option<ChatStream>,
    pending: Option<ChatChunk>,
    text: String,
    usage: Option<Usage>,
    started: Instant,
    ttft_ms: Option<i64>,
    idle: Duration,
    /// Nothing more will be yielded.
    ended: bool,
    /// The usage record was queued.
    billed: bool,
}

impl StreamState {
    async fn next_item(mut self) -> Option<(StreamItem, StreamState)> {
        if self.ended {
            return None;
        }
        let chunk = match self.pending.take() {
            Some(c) => Ok(c),
            None => {
                let upstream = self.upstream.as_mut()?;
                tokio::select! {
                    biased;
                    _ = self.app.inner.shutdown.cancelled() => Err((
                        UsageStatus::Stopped,
                        Some(Error::new(ErrorCode::ServiceUnavailable, "the server is shutting down")),
                    )),
                    next = tokio::time::timeout(self.idle, upstream.next()) => match next {
                        Err(_) => Err((
                            UsageStatus::Failed,
                            Some(Error::new(ErrorCode::UpstreamTimeout, "the upstream stalled mid-stream")),
                        )),
                        Ok(None) => Err((UsageStatus::Success, None)),
                        Ok(Some(Err(e))) => Err((UsageStatus::Failed, Some(e.into()))),
                        Ok(Some(Ok(c))) => Ok(c),
                    },
                }
            }
        };
        match chunk {
            Ok(chunk) => {
                if let Some(u) = chunk.usage {
                    self.usage = Some(u);
                }
                if let Some(d) = &chunk.delta {
                    self.text.push_str(d);
                }
                for t in &chunk.tool_calls {
                    if let Some(a) = &t.arguments {
                        self.text.push_str(a);
                    }
                }
                Some((StreamItem::Chunk(chunk), self))
            }
            Err((status, error)) => {
                self.ended = true;
                // Closing the upstream connection stops the vendor generating (and billing).
                self.upstream = None;
                self.bill(status).await;
                error.map(|e| (StreamItem::Error(e), self))
            }
        }
    }

    fn record(&mut self, status: UsageStatus) -> (Generation<'_>, crate::usage::Billed) {
        self.billed = true;
        let latency_ms = self.started.elapsed().as_millis() as i64;
        let billed =
            self.app
                .settle_usage(&self.served.model, self.usage, &self.messages, &self.text);
        let g = generation(
            &self.input.request_id,
            self.caller,
            Some(&self.served),
            &self.served.model,
        )
        .with(status, latency_ms, self.ttft_ms);
        (g, billed)
    }

    async fn bill(&mut self, status: UsageStatus) {
        let app = self.app.clone();
        let (g, billed) = self.record(status);
        app.record_usage(g, billed).await;
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        if self.billed {
            return;
        }
        // Dropped mid-stream: the client went away. Close the upstream now, bill off-task.
        self.upstream = None;
        self.billed = true;
        let app = self.app.clone();
        let caller = self.caller;
        let input = self.input.clone();
        let served = self.served.clone();
        let messages = std::mem::take(&mut self.messages);
        let text = std::mem::take(&mut self.text);
        let usage = self.usage;
        let latency_ms = self.started.elapsed().as_millis() as i64;
        let ttft_ms = self.ttft_ms;
        self.app.inner.tasks.spawn_on(
            async move {
                let billed = app.settle_usage(&served.model, usage, &messages, &text);
                app.record_usage(
                    generation(&input.request_id, caller, Some(&served), &served.model).with(
                        UsageStatus::Stopped,
                        latency_ms,
                        ttft_ms,
                    ),
                    billed,
                )
                .await;
            },
            &self.app.inner.runtime,
        );
    }
}

/// What an attempt produced.
enum Opened {
    Complete(ChatResponse),
    Stream(ChatStream, Option<ChatChunk>),
}

/// Every target failed.
struct Failure {
    error: Error,
    served: Option<Served>,
    attempts: u32,
}

/// Whether a failure before the first byte should move on to the next target: upstream-side
/// problems do; a request the upstream refused as invalid would fail everywhere.
fn falls_back(e: &ProviderError) -> bool {
    !matches!(
        e.code,
        ErrorCode::UpstreamBadRequest
            | ErrorCode::ContextLengthExceeded
            | ErrorCode::ContentFiltered
            | ErrorCode::ValidationError
            | ErrorCode::UnsupportedOperation
    )
}

fn served(rp: &ResolvedProvider, model: &str, attempts: u32) -> Served {
    Served {
        provider_id: rp.provider.id,
        provider_slug: rp.provider.slug.clone(),
        kind: rp.provider.kind,
        model: model.to_owned(),
        attempts,
    }
}

fn zero_bill() -> crate::usage::Billed {
    crate::usage::Billed {
        usage: Usage::default(),
        cost: aihub_domain::Money::ZERO,
        price_known: true,
    }
}

/// A usage record's identity before its outcome is known.
struct PendingGeneration<'a> {
    request_id: &'a str,
    caller: Caller,
    served: Option<&'a Served>,
    model: &'a str,
}

fn generation<'a>(
    request_id: &'a str,
    caller: Caller,
    served: Option<&'a Served>,
    model: &'a str,
) -> PendingGeneration<'a> {
    PendingGeneration {
        request_id,
        caller,
        served,
        model,
    }
}

impl<'a> PendingGeneration<'a> {
    fn with(self, status: UsageStatus, latency_ms: i64, ttft_ms: Option<i64>) -> Generation<'a> {
        Generation {
            request_id: self.request_id,
            user_id: self.caller.user_id,
            api_key_id: self.caller.api_key_id,
            provider_id: self.served.map(|s| s.provider_id),
            provider_kind: self.served.map(|s| s.kind.as_str()).unwrap_or("unknown"),
            conversation_id: None,
            message_id: None,
            model: self.model,
            status,
            latency_ms,
            ttft_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_split_at_the_first_slash() {
        assert_eq!(split_model("openai/gpt-4o"), Some(("openai", "gpt-4o")));
        assert_eq!(
            split_model("openrouter/x-ai/grok-beta"),
            Some(("openrouter", "x-ai/grok-beta"))
        );
        assert_eq!(split_model("gpt-4o"), None);
        assert_eq!(split_model("/gpt-4o"), None);
        assert_eq!(split_model("openai/"), None);
    }

    #[test]
    fn invalid_requests_do_not_fall_back() {
        let bad = ProviderError::new(ErrorCode::UpstreamBadRequest, "x");
        assert!(!falls_back(&bad));
        let down = ProviderError::new(ErrorCode::UpstreamUnavailable, "x");
        assert!(falls_back(&down));
        let key = ProviderError::new(ErrorCode::ProviderKeyInvalid, "x");
        assert!(falls_back(&key));
    }
}
