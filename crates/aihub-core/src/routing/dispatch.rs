//! Opening a generation upstream: the primary target, then fallbacks, each with retries, all
//! before the first byte reaches the client.
//!
//! - A retryable failure (connect error, timeout, 429, 5xx) is retried with backoff
//!   ([`super::retry::delay`]) while the provider's circuit stays closed.
//! - A target that failed for an upstream-side reason moves on to the next target
//!   ([`super::retry::falls_back`]); a request the upstream refused as invalid stops here.
//! - A stream counts as open once its first chunk arrived within the first-byte timeout
//!   (`config.first_byte_timeout_s`, else `routing.first_byte_timeout`).

use super::retry;
use crate::generation::Served;
use crate::generation::bill::{InFlight, Reservation};
use crate::generation::settings::{Omitted, apply_provider_defaults};
use crate::providers::ResolvedProvider;
use crate::{App, Error};
use aihub_domain::{ChatChunk, ChatRequest, ChatResponse, ErrorCode, Id};
use aihub_providers::{ChatStream, ProviderError};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// Where a generation may go.
pub(crate) enum Targets {
    /// A provider already chosen (a conversation's, or a request's `provider_id`), with the
    /// request's model as the vendor names it. No fallbacks.
    Fixed(Box<ResolvedProvider>),
    /// The request's model is a public name, resolved for the caller; then these fallbacks,
    /// then the primary provider's `config.fallbacks`.
    Named {
        /// AI Hub's `fallbacks` extension, in order.
        fallbacks: Vec<String>,
    },
}

/// What an attempt produced.
pub(crate) enum Opened {
    /// A whole reply.
    Complete(ChatResponse),
    /// An open stream and its first chunk (`None` when it ended at once).
    Stream(ChatStream, Option<ChatChunk>),
}

/// A generation that reached an upstream.
pub(crate) struct Dispatched {
    pub(crate) opened: Opened,
    pub(crate) served: Served,
    /// The request as sent to the target that answered.
    pub(crate) request: Arc<ChatRequest>,
    /// The provider that answered (its idle timeout applies to the stream).
    pub(crate) provider: ResolvedProvider,
}

/// Every target failed before the first byte.
pub(crate) struct Failure {
    pub(crate) error: Error,
    /// The last target tried, when one was reached.
    pub(crate) served: Option<Served>,
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

impl App {
    /// Opens `request` on `targets` for `user_id`: a whole reply, or a stream with its first
    /// chunk. `reservation` learns each upstream call before it is made, so a caller that goes
    /// away mid-call is still billed.
    pub(crate) async fn dispatch(
        &self,
        user_id: Id,
        request: ChatRequest,
        targets: Targets,
        stream: bool,
        reservation: &Reservation,
    ) -> Result<Dispatched, Failure> {
        let omitted = Omitted::of(&request);
        let (mut fixed, mut names) = match targets {
            Targets::Fixed(rp) => (Some(*rp), Vec::new()),
            Targets::Named { fallbacks } => {
                let mut names = Vec::with_capacity(1 + fallbacks.len());
                names.push(request.model.clone());
                names.extend(fallbacks);
                (None, names)
            }
        };
        let is_fixed = fixed.is_some();
        let mut base = Some(request);
        let mut previous: Option<Arc<ChatRequest>> = None;
        let mut attempts = 0u32;
        let mut last: Option<Failure> = None;
        let mut i = 0;
        loop {
            let first = i == 0;
            let (rp, model) = if let Some(rp) = fixed.take() {
                let model = base.as_ref().map(|r| r.model.clone()).unwrap_or_default();
                (rp, model)
            } else if is_fixed || i >= names.len() {
                break;
            } else {
                let name = names[i].clone();
                match self.resolve_model(user_id, &name).await {
                    Ok(found) => found,
                    Err(error) if first => {
                        return Err(Failure {
                            error,
                            served: None,
                        });
                    }
                    Err(error) => {
                        tracing::debug!(target = name, code = %error.code, "fallback does not resolve");
                        last.get_or_insert(Failure {
                            error,
                            served: None,
                        });
                        i += 1;
                        continue;
                    }
                }
            };
            i += 1;
            if first && !is_fixed {
                for f in &rp.provider.config.fallbacks {
                    if !names.contains(f) {
                        names.push(f.clone());
                    }
                }
            }
            if self.inner.routing.circuits.is_open(rp.provider.id) {
                last = Some(Failure {
                    error: Error::new(
                        ErrorCode::UpstreamUnavailable,
                        format!(
                            "provider `{}` is cooling down after repeated failures",
                            rp.provider.slug
                        ),
                    ),
                    served: attempts.gt(&0).then(|| served(&rp, &model, attempts)),
                });
                continue;
            }
            // The first target takes the request as it came; later ones start from a copy.
            let mut r = match (base.take(), &previous) {
                (Some(r), _) => r,
                (None, Some(p)) => (**p).clone(),
                (None, None) => break,
            };
            r.model = model.clone();
            apply_provider_defaults(&mut r, omitted, &rp.provider, self.price_catalog());
            let r = Arc::new(r);
            previous = Some(r.clone());
            reservation.set_in_flight(Some(InFlight {
                served: served(&rp, &model, attempts + 1),
                request: r.clone(),
            }));
            let error = match self.try_target(&rp, &r, stream).await {
                Ok((opened, n)) => {
                    attempts += n;
                    return Ok(Dispatched {
                        opened,
                        served: served(&rp, &model, attempts),
                        request: r,
                        provider: rp,
                    });
                }
                Err((e, n)) => {
                    attempts += n;
                    e
                }
            };
            let fall_back = retry::falls_back(&error);
            last = Some(Failure {
                error: error.into(),
                served: Some(served(&rp, &model, attempts)),
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
    ) -> Result<(Opened, u32), (ProviderError, u32)> {
        let routing = &self.config().routing;
        let circuits = &self.inner.routing.circuits;
        let retries = rp
            .provider
            .config
            .max_retries
            .unwrap_or(routing.max_retries);
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
                    circuits.record(rp.provider.id, true, routing);
                    return Ok((opened, attempt + 1));
                }
                Err(e) => {
                    if e.is_retryable() {
                        circuits.record(rp.provider.id, false, routing);
                    }
                    tracing::info!(
                        provider_id = rp.provider.id,
                        attempt,
                        code = %e.code,
                        "upstream attempt failed"
                    );
                    let wait = retry::delay(&e, attempt, retries, routing, rand::random::<f64>());
                    match wait {
                        Some(d) if !circuits.is_open(rp.provider.id) => {
                            tokio::time::sleep(d).await;
                            attempt += 1;
                        }
                        _ => return Err((e, attempt + 1)),
                    }
                }
            }
        }
    }

    /// Opens a stream and waits for its first chunk, within the first-byte timeout. A failure
    /// here has sent nothing to the client, so it may be retried.
    async fn open_stream(
        &self,
        rp: &ResolvedProvider,
        request: &ChatRequest,
    ) -> Result<(ChatStream, Option<ChatChunk>), ProviderError> {
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
}
