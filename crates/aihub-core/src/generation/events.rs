//! The one event type a generation emits. `aihub-http` renders it in each wire format it
//! speaks: OpenAI `chat.completion.chunk`s ending in `[DONE]`, the conversation stream's
//! `start`/`content`/`usage`/`done`/`error` events, and `/chat`'s `session`/`content`/
//! `usage`/`done` events.

use super::GenerationId;
use aihub_domain::{ChatChunk, FinishReason, Id, MessageStatus, Money, ProviderKind, Usage};
use aihub_domain::{ErrorCode, UsageStatus};

/// Which provider and model served a generation.
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

/// The stored messages of a generation that writes into a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationIds {
    /// The conversation.
    pub conversation_id: Id,
    /// The stored user message.
    pub user_message_id: Id,
    /// The assistant message being written.
    pub assistant_message_id: Id,
}

/// The first event: who answers, and (in a conversation) which messages are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// This generation's id (`gen-…`), the usage record's key.
    pub generation_id: GenerationId,
    /// Who serves it.
    pub served: Served,
    /// Set when the reply is stored in a conversation.
    pub conversation: Option<ConversationIds>,
}

/// How a generation ended. Each outcome writes exactly one usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream finished the reply.
    Completed,
    /// The caller stopped it (`POST …/stream/stop`, or the conversation was deleted).
    Stopped,
    /// The client went away before the end (the stream or the call was dropped).
    ClientGone,
    /// Every target failed before the first byte reached the client.
    FailedBeforeFirstByte,
    /// The upstream failed, stalled or timed out after the first byte.
    FailedAfterFirstByte,
    /// The server shut down while it ran.
    ShutDown,
}

impl Outcome {
    /// The usage record's status: `success`, `stopped` or `failed`.
    pub fn usage_status(self) -> UsageStatus {
        match self {
            Outcome::Completed => UsageStatus::Success,
            Outcome::Stopped | Outcome::ClientGone | Outcome::ShutDown => UsageStatus::Stopped,
            Outcome::FailedBeforeFirstByte | Outcome::FailedAfterFirstByte => UsageStatus::Failed,
        }
    }

    /// The stored assistant message's status.
    pub fn message_status(self) -> MessageStatus {
        match self {
            Outcome::Completed => MessageStatus::Complete,
            Outcome::Stopped | Outcome::ClientGone | Outcome::ShutDown => MessageStatus::Stopped,
            Outcome::FailedBeforeFirstByte | Outcome::FailedAfterFirstByte => MessageStatus::Failed,
        }
    }
}

/// Tokens and cost of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Billed {
    /// Token counts (the vendor's, or local and `estimated`).
    pub usage: Usage,
    /// Cost in nano-units of the deployment currency.
    pub cost: Money,
    /// Whether the model has a known price.
    pub price_known: bool,
}

impl Billed {
    /// Nothing generated, nothing owed.
    pub const ZERO: Billed = Billed {
        usage: Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
            estimated: false,
        },
        cost: Money::ZERO,
        price_known: true,
    };
}

/// A failure after the first byte, safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    /// Mapped code.
    pub code: ErrorCode,
    /// Safe message (no upstream body, no credential).
    pub message: String,
}

/// The last event: the outcome, what it cost, and what was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// How it ended.
    pub outcome: Outcome,
    /// Why the reply ended (`stop`, `length`, `tool_calls`, …, or `stopped` / `error`).
    pub finish_reason: FinishReason,
    /// Tokens and cost, as recorded.
    pub billed: Billed,
    /// The stored assistant message, when the reply is kept in a conversation.
    pub message_id: Option<Id>,
    /// From the request to the end, in milliseconds.
    pub latency_ms: i64,
    /// Set when the outcome is a failure or a shutdown.
    pub error: Option<StreamFailure>,
}

/// One event of a streamed generation, in order: `Started`, `Delta`…, `Finished`. Nothing
/// follows `Finished`, and the stream ends right after it.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    /// First.
    Started(Box<Started>),
    /// An upstream chunk: text, tool-call pieces, a finish reason, the vendor's usage.
    Delta(ChatChunk),
    /// Last.
    Finished(Box<Finished>),
}
