//! Driving a streamed generation: one loop over the upstream stream, pulled by whoever reads
//! the [`GenerationStream`] (the HTTP response body), with no task or channel in between.
//!
//! Each pull waits for the first of: the stop token (`POST …/stream/stop`), shutdown, the
//! whole-generation deadline, and the next upstream chunk under the idle timeout. The first
//! ending met becomes the [`Outcome`]; the upstream is dropped at once (closing the vendor
//! connection stops it generating), the reply is stored and the usage settled, and the
//! stream yields `Finished` and ends. A stream dropped before that (the client went away)
//! does the same from a task on the app runtime, as [`Outcome::ClientGone`].

use super::bill::{Reservation, Settlement};
use super::{
    Billed, FinalReply, Finished, GenerationEvent, Outcome, Plan, ReplyStore, Served, Started,
    StreamFailure,
};
use crate::routing::dispatch::Opened;
use crate::{App, Error, Result};
use aihub_domain::{ChatChunk, ChatRequest, ErrorCode, FinishReason, Usage};
use aihub_providers::ChatStream;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// A running generation's events: `Started`, `Delta`…, then `Finished`, after which it ends.
/// Dropping it before the end closes the upstream and settles the generation as
/// [`Outcome::ClientGone`] (the partial reply stored as `stopped`, usage billed once).
pub struct GenerationStream {
    /// Who serves it and what it writes (also the first event).
    pub started: Started,
    events: BoxStream<'static, GenerationEvent>,
}

impl std::fmt::Debug for GenerationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationStream")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Stream for GenerationStream {
    type Item = GenerationEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_next_unpin(cx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Running,
    Done,
}

/// An ending met by the loop.
type Ending = (Outcome, Option<StreamFailure>);

/// The state carried from pull to pull.
struct Driver {
    app: App,
    phase: Phase,
    started: Started,
    request: Arc<ChatRequest>,
    upstream: Option<ChatStream>,
    pending: Option<ChatChunk>,
    text: String,
    usage: Option<Usage>,
    finish_reason: Option<FinishReason>,
    ttft_ms: Option<i64>,
    idle: Duration,
    deadline: Option<Instant>,
    cancel: Option<CancellationToken>,
    /// Taken by the settlement: `None` once the generation is settled.
    reservation: Option<Reservation>,
    store: Option<Box<dyn ReplyStore>>,
    /// Counts this generation among the running ones until it is settled, so shutdown waits
    /// for it (its grace period) before cancelling.
    running: Option<TaskTrackerToken>,
}

fn failure(code: ErrorCode, message: impl Into<String>) -> Option<StreamFailure> {
    Some(StreamFailure {
        code,
        message: message.into(),
    })
}

impl App {
    /// Runs `plan` as a stream. Resolves once the upstream sent its first chunk (retries and
    /// fallbacks happen before that; a failure then is returned, settled as `failed`, and the
    /// plan's store abandoned). The rest is pulled from the upstream as the returned stream is
    /// polled.
    ///
    /// # Errors
    /// As [`App::generate`], for failures before the first chunk.
    pub(crate) async fn generate_stream(&self, plan: Plan) -> Result<GenerationStream> {
        let super::Opening {
            generation_id,
            reservation,
            dispatched,
            store,
            conversation,
            deadline,
        } = self.open_generation(plan, true).await?;
        let Opened::Stream(upstream, first) = dispatched.opened else {
            return Err(Error::internal("a whole reply opened for a stream"));
        };
        let idle = dispatched
            .provider
            .provider
            .config
            .timeout_s
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.config().routing.idle_timeout);
        let started = Started {
            generation_id,
            served: dispatched.served,
            conversation,
        };
        let driver = Driver {
            app: self.clone(),
            phase: Phase::Start,
            started: started.clone(),
            request: dispatched.request,
            upstream: Some(upstream),
            pending: first,
            text: String::new(),
            usage: None,
            finish_reason: None,
            ttft_ms: None,
            idle,
            deadline: deadline.map(|d| Instant::from_std(reservation.started) + d),
            cancel: store.as_ref().and_then(|s| s.cancel_token()),
            reservation: Some(reservation),
            store,
            running: Some(self.inner.tasks.token()),
        };
        Ok(GenerationStream {
            started,
            events: futures_util::stream::unfold(driver, Driver::next).boxed(),
        })
    }
}

impl Driver {
    async fn next(mut self) -> Option<(GenerationEvent, Driver)> {
        match self.phase {
            Phase::Done => return None,
            Phase::Start => {
                self.phase = Phase::Running;
                let started = Box::new(self.started.clone());
                return Some((GenerationEvent::Started(started), self));
            }
            Phase::Running => {}
        }
        let next = match self.pending.take() {
            Some(chunk) => Ok(chunk),
            None => self.pull().await,
        };
        match next {
            Ok(chunk) => {
                self.take_in(&chunk);
                Some((GenerationEvent::Delta(chunk), self))
            }
            Err((outcome, failure)) => {
                self.phase = Phase::Done;
                let finished = self.finish(outcome, failure).await;
                Some((GenerationEvent::Finished(Box::new(finished)), self))
            }
        }
    }

    /// Waits for the next chunk or the first ending.
    async fn pull(&mut self) -> std::result::Result<ChatChunk, Ending> {
        let Some(upstream) = self.upstream.as_mut() else {
            return Err((
                Outcome::FailedAfterFirstByte,
                failure(ErrorCode::InternalError, "the upstream is gone"),
            ));
        };
        let cancel = self.cancel.clone();
        let stopped = async move {
            match cancel {
                Some(token) => token.cancelled_owned().await,
                None => std::future::pending().await,
            }
        };
        let deadline = self.deadline;
        let expired = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let shutdown = &self.app.inner.shutdown;
        tokio::select! {
            biased;
            _ = stopped => Err((Outcome::Stopped, None)),
            _ = shutdown.cancelled() => Err((
                Outcome::ShutDown,
                failure(ErrorCode::ServiceUnavailable, "the server is shutting down"),
            )),
            _ = expired => Err((
                Outcome::FailedAfterFirstByte,
                failure(ErrorCode::UpstreamTimeout, "the generation exceeded its timeout"),
            )),
            next = tokio::time::timeout(self.idle, upstream.next()) => match next {
                Err(_) => Err((
                    Outcome::FailedAfterFirstByte,
                    failure(ErrorCode::UpstreamTimeout, "the upstream stalled mid-stream"),
                )),
                Ok(None) if self.finish_reason.is_some() => Err((Outcome::Completed, None)),
                Ok(None) => Err((
                    Outcome::FailedAfterFirstByte,
                    failure(ErrorCode::UpstreamUnavailable, "the upstream ended the stream unexpectedly"),
                )),
                Ok(Some(Err(e))) => {
                    let e = Error::from(e);
                    Err((Outcome::FailedAfterFirstByte, failure(e.code, e.message)))
                }
                Ok(Some(Ok(chunk))) => Ok(chunk),
            },
        }
    }

    /// Accumulates a chunk: text (tool-call arguments count as generated text), the finish
    /// reason, the vendor's usage, and the time to the first token.
    fn take_in(&mut self, chunk: &ChatChunk) {
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        if let Some(r) = chunk.finish_reason {
            self.finish_reason = Some(r);
        }
        let mut generated = false;
        if let Some(d) = chunk.delta.as_deref().filter(|d| !d.is_empty()) {
            self.text.push_str(d);
            generated = true;
        }
        for t in &chunk.tool_calls {
            if let Some(a) = &t.arguments {
                self.text.push_str(a);
                generated = true;
            }
        }
        if generated && self.ttft_ms.is_none() {
            self.ttft_ms = self.reservation.as_ref().map(Reservation::elapsed_ms);
        }
    }

    /// Ends the generation: closes the upstream, prices the usage, stores the reply and
    /// settles. With a store the work runs as a task on the app runtime (a database write must
    /// not be cut short by a dropped HTTP body), and is awaited.
    async fn finish(&mut self, outcome: Outcome, error: Option<StreamFailure>) -> Finished {
        self.upstream = None;
        let settle = self.ending(outcome);
        let finish_reason = settle.finish_reason;
        let latency_ms = settle.latency_ms;
        let (message_id, billed) = if settle.store.is_some() {
            let task = self
                .app
                .inner
                .tasks
                .spawn_on(settle.run(), &self.app.inner.runtime);
            match task.await {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "settling a generation failed");
                    (None, Billed::ZERO)
                }
            }
        } else {
            settle.run().await
        };
        self.running = None;
        Finished {
            outcome,
            finish_reason,
            billed,
            message_id,
            latency_ms,
            error,
        }
    }

    /// Everything settling needs, taken out of the driver.
    fn ending(&mut self, outcome: Outcome) -> Settle {
        let finish_reason = match outcome {
            Outcome::Completed => self.finish_reason.unwrap_or(FinishReason::Stop),
            Outcome::Stopped | Outcome::ClientGone | Outcome::ShutDown => FinishReason::Stopped,
            Outcome::FailedBeforeFirstByte | Outcome::FailedAfterFirstByte => FinishReason::Error,
        };
        let reservation = self.reservation.take();
        Settle {
            app: self.app.clone(),
            latency_ms: reservation.as_ref().map_or(0, Reservation::elapsed_ms),
            reservation,
            store: self.store.take(),
            served: self.started.served.clone(),
            request: self.request.clone(),
            usage: self.usage,
            text: std::mem::take(&mut self.text),
            outcome,
            finish_reason,
            ttft_ms: self.ttft_ms,
        }
    }
}

/// A generation's settlement, movable into a task.
struct Settle {
    app: App,
    reservation: Option<Reservation>,
    store: Option<Box<dyn ReplyStore>>,
    served: Served,
    request: Arc<ChatRequest>,
    usage: Option<Usage>,
    text: String,
    outcome: Outcome,
    finish_reason: FinishReason,
    latency_ms: i64,
    ttft_ms: Option<i64>,
}

impl Settle {
    /// Prices the usage (the vendor's, else counted locally), stores the reply (if there is a
    /// store) and settles; returns the stored message id and what was billed.
    async fn run(self) -> (Option<aihub_domain::Id>, Billed) {
        let billed = self.app.price_usage(
            &self.served.model,
            self.usage,
            &self.request.messages,
            &self.text,
        );
        let message_id = match self.store {
            Some(store) => {
                store
                    .finish(FinalReply {
                        text: self.text,
                        outcome: self.outcome,
                        finish_reason: self.finish_reason,
                        billed,
                        latency_ms: self.latency_ms,
                    })
                    .await
            }
            None => None,
        };
        if let Some(reservation) = self.reservation {
            reservation
                .settle(Settlement {
                    outcome: self.outcome,
                    served: Some(&self.served),
                    billed,
                    message_id,
                    ttft_ms: self.ttft_ms,
                })
                .await;
        }
        (message_id, billed)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        // Dropped mid-stream: the client went away. Close the upstream now, settle off-task.
        self.phase = Phase::Done;
        self.upstream = None;
        let settle = self.ending(Outcome::ClientGone);
        self.app.inner.tasks.spawn_on(
            async move {
                settle.run().await;
            },
            &self.app.inner.runtime,
        );
    }
}
