//! The generation engine: the one way a prompt becomes a billed reply.
//!
//! Every entry point (`/v1/chat/completions`, `/chat`, `/completions`, a conversation's
//! `send`, `stream` and create-and-stream) builds a [`Plan`] and hands it to
//! [`App::generate`] (a whole reply) or [`App::generate_stream`] (a [`GenerationStream`] of
//! [`GenerationEvent`]s). The engine then:
//!
//! 1. **reserves** ([`bill`]): the seam where quotas and budgets will refuse before any
//!    upstream is called;
//! 2. **dispatches** (`crate::routing::dispatch`): targets, retries and fallbacks, all before
//!    the first byte;
//! 3. **drives** the stream ([`drive`]): one loop over the upstream with stop, client gone,
//!    deadline, idle timeout and shutdown, ending in one [`Outcome`];
//! 4. **stores** the reply when the plan has a [`ReplyStore`] (conversations);
//! 5. **settles** ([`bill`]): exactly one usage record per generation, keyed by a
//!    [`GenerationId`] minted here, whatever the outcome, including a caller that went away.
//!
//! Settings the request leaves out are filled by [`settings`], the same way for everyone.

pub(crate) mod bill;
mod drive;
mod events;
pub(crate) mod settings;

pub use drive::GenerationStream;
pub use events::{
    Billed, ConversationIds, Finished, GenerationEvent, Outcome, Served, Started, StreamFailure,
};

use crate::routing::dispatch::{Opened, Targets};
use crate::{App, Error, Result};
use aihub_domain::{ChatRequest, ChatResponse, FinishReason, Id};
use bill::{Account, Settlement};
use futures_util::future::BoxFuture;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Who pays for a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The billed account (a developer API key's owner, or the signed-in user).
    pub user_id: Id,
    /// The developer API key used, if any.
    pub api_key_id: Option<Id>,
}

/// A generation's id: `gen-` and 16 URL-safe random characters (96 bits). Minted by the
/// engine; the usage record's unique key. The HTTP request id is kept beside it for
/// correlation only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GenerationId(String);

impl GenerationId {
    pub(crate) fn new() -> GenerationId {
        GenerationId(format!("gen-{}", crate::crypto::random_token(12)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same id under another resource's prefix: `prefix` + `-` + the random part, e.g.
    /// `chat-…` for `/chat` or `cmpl-…` for `/completions`.
    pub fn with_prefix(&self, prefix: &str) -> String {
        let random = self.0.strip_prefix("gen-").unwrap_or(&self.0);
        format!("{prefix}-{random}")
    }
}

impl std::fmt::Display for GenerationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A generation's final state, handed to its [`ReplyStore`].
pub(crate) struct FinalReply {
    pub(crate) text: String,
    pub(crate) outcome: Outcome,
    pub(crate) finish_reason: FinishReason,
    pub(crate) billed: Billed,
    pub(crate) latency_ms: i64,
}

/// Where a reply is kept besides its usage record (a conversation's messages). Its methods
/// run on the app runtime and may use the database.
pub(crate) trait ReplyStore: Send + 'static {
    /// The stored messages the generation writes, for the `Started` event.
    fn conversation(&self) -> Option<ConversationIds>;
    /// A token that stops the generation (`POST …/stream/stop`), if it can be stopped.
    fn cancel_token(&self) -> Option<CancellationToken>;
    /// Stores the final reply; returns the stored message id (`None` when it could not be
    /// stored, e.g. the conversation was deleted meanwhile: billing goes on).
    fn finish(self: Box<Self>, reply: FinalReply) -> BoxFuture<'static, Option<Id>>;
    /// Nothing was generated (every target failed before the first byte): undo what was
    /// prepared for the reply.
    fn abandon(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// One generation, ready to run.
pub(crate) struct Plan {
    pub(crate) caller: Caller,
    /// The HTTP request id, for correlation.
    pub(crate) request_id: String,
    /// The request with the caller-level settings resolved ([`settings::resolve`]); its
    /// `model` is the vendor's id for [`Targets::Fixed`], the public name for
    /// [`Targets::Named`].
    pub(crate) request: ChatRequest,
    pub(crate) targets: Targets,
    /// Cap on the whole generation (streams only).
    pub(crate) deadline: Option<Duration>,
    pub(crate) store: Option<Box<dyn ReplyStore>>,
}

/// A whole reply.
pub(crate) struct Reply {
    pub(crate) generation_id: GenerationId,
    pub(crate) response: ChatResponse,
    pub(crate) served: Served,
    pub(crate) billed: Billed,
    pub(crate) latency_ms: i64,
    pub(crate) finish_reason: FinishReason,
}

impl App {
    /// Runs `plan` for a whole reply. Usage: exactly one record (`success`, or `failed` with
    /// zero tokens when every target failed; none when no upstream was reached). A caller that
    /// drops the future mid-call is billed `stopped` for the prompt (counted locally).
    ///
    /// # Errors
    /// `model_not_found` and the provider errors of resolution; the last target's mapped
    /// upstream error.
    pub(crate) async fn generate(&self, plan: Plan) -> Result<Reply> {
        let Opening {
            generation_id,
            reservation,
            dispatched,
            store,
            ..
        } = self.open_generation(plan, false).await?;
        let Opened::Complete(response) = dispatched.opened else {
            return Err(Error::internal("a stream opened for a whole reply"));
        };
        let served = dispatched.served;
        let billed = self.price_usage(
            &served.model,
            response.usage,
            &dispatched.request.messages,
            &response.content,
        );
        let finish_reason = response.finish_reason.unwrap_or(FinishReason::Stop);
        let latency_ms = reservation.elapsed_ms();
        let message_id = match store {
            Some(store) => {
                store
                    .finish(FinalReply {
                        text: response.content.clone(),
                        outcome: Outcome::Completed,
                        finish_reason,
                        billed,
                        latency_ms,
                    })
                    .await
            }
            None => None,
        };
        reservation
            .settle(Settlement {
                outcome: Outcome::Completed,
                served: Some(&served),
                billed,
                message_id,
                ttft_ms: Some(latency_ms),
            })
            .await;
        Ok(Reply {
            generation_id,
            response,
            served,
            billed,
            latency_ms,
            finish_reason,
        })
    }
}

/// A generation that reached an upstream: what [`App::open_generation`] hands to the whole-reply path
/// and to the stream driver.
pub(crate) struct Opening {
    pub(crate) generation_id: GenerationId,
    pub(crate) reservation: bill::Reservation,
    pub(crate) dispatched: crate::routing::dispatch::Dispatched,
    pub(crate) store: Option<Box<dyn ReplyStore>>,
    pub(crate) conversation: Option<ConversationIds>,
    pub(crate) deadline: Option<Duration>,
}

impl App {
    /// The first half of every generation: mint its id, reserve, dispatch. A failure before
    /// the first byte abandons the plan's store, settles `failed` (zero tokens) and is
    /// returned.
    pub(crate) async fn open_generation(&self, plan: Plan, stream: bool) -> Result<Opening> {
        let Plan {
            caller,
            request_id,
            request,
            targets,
            deadline,
            store,
        } = plan;
        let generation_id = GenerationId::new();
        let conversation = store.as_ref().and_then(|s| s.conversation());
        let reservation = match self.reserve(Account {
            caller,
            generation_id: generation_id.clone(),
            request_id,
            conversation_id: conversation.map(|c| c.conversation_id),
        }) {
            Ok(r) => r,
            Err(e) => {
                if let Some(store) = store {
                    store.abandon().await;
                }
                return Err(e);
            }
        };
        match self
            .dispatch(caller.user_id, request, targets, stream, &reservation)
            .await
        {
            Ok(dispatched) => Ok(Opening {
                generation_id,
                reservation,
                dispatched,
                store,
                conversation,
                deadline,
            }),
            Err(failure) => {
                if let Some(store) = store {
                    store.abandon().await;
                }
                reservation
                    .settle(Settlement {
                        outcome: Outcome::FailedBeforeFirstByte,
                        served: failure.served.as_ref(),
                        billed: Billed::ZERO,
                        message_id: None,
                        ttft_ms: None,
                    })
                    .await;
                Err(failure.error)
            }
        }
    }
}
