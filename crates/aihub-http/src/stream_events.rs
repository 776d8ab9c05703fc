//! Wire types of AI Hub's own server-sent event streams: the conversation stream
//! (`POST /conversations/{id}/stream`, `POST /conversations/stream`) and `/chat`'s stream
//! (`POST /chat` with `stream: true`).
//!
//! Each frame is `data: {json}\n\n` and each JSON object names its kind in `type`. The
//! renderers ([`crate::sse::native`], `routes/chat.rs`) serialize exactly these types (text
//! deltas through [`crate::sse::ContentFrame`], which borrows the text and serializes as the
//! `content` events do; a test holds them equal), so the
//! OpenAPI document (a `oneOf` per stream with a `type` discriminator) cannot drift from what
//! is sent. The OpenAI-compatible stream's chunks live in [`crate::openai::wire`].

use aihub_domain::{FinishReason, MessageStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ErrorObject;
use crate::routes::completions::CompletionProviderResponse;
use crate::routes::conversations::ConversationResponse;

/// The `type` of a `conversation` event: always `"conversation"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum ConversationCreatedType {
    /// The only value.
    #[serde(rename = "conversation")]
    Value,
}

/// The `type` of a `start` event: always `"start"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum StartType {
    /// The only value.
    #[serde(rename = "start")]
    Value,
}

/// The `type` of a `content` event: always `"content"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum ContentType {
    /// The only value.
    #[serde(rename = "content")]
    Value,
}

/// The `type` of a `usage` event: always `"usage"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum UsageType {
    /// The only value.
    #[serde(rename = "usage")]
    Value,
}

/// The `type` of a `done` event: always `"done"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum DoneType {
    /// The only value.
    #[serde(rename = "done")]
    Value,
}

/// The `type` of a `error` event: always `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum ErrorType {
    /// The only value.
    #[serde(rename = "error")]
    Value,
}

/// The `type` of a `session` event: always `"session"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum SessionType {
    /// The only value.
    #[serde(rename = "session")]
    Value,
}

/// One event of a conversation stream.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("conversation" = "#/components/schemas/ConversationCreatedEvent"),
    ("start" = "#/components/schemas/ReplyStartEvent"),
    ("content" = "#/components/schemas/ReplyContentEvent"),
    ("usage" = "#/components/schemas/ReplyUsageEvent"),
    ("done" = "#/components/schemas/ReplyDoneEvent"),
    ("error" = "#/components/schemas/ReplyErrorEvent")
)))]
pub enum ConversationStreamEvent {
    /// First event of `POST /conversations/stream` only.
    Conversation(ConversationCreatedEvent),
    /// The reply began.
    Start(ReplyStartEvent),
    /// A piece of reply text.
    Content(ReplyContentEvent),
    /// Tokens and cost, sent once before `done` or `error`.
    Usage(ReplyUsageEvent),
    /// The reply ended and was stored; the last event.
    Done(ReplyDoneEvent),
    /// The reply failed after it began; the last event.
    Error(ReplyErrorEvent),
}

/// `{"type": "conversation", "conversation": {…}}`: the conversation
/// `POST /conversations/stream` created, as `GET /conversations/{id}` returns it without
/// messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationCreatedEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: ConversationCreatedType,
    /// The new conversation.
    pub conversation: ConversationResponse,
}

/// `start`: the ids of the stored user message and of the assistant message being written.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyStartEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: StartType,
    /// The conversation.
    #[schema(required = true)]
    pub conversation_id: Option<i64>,
    /// The stored user message.
    #[schema(required = true)]
    pub user_message_id: Option<i64>,
    /// The assistant message being written (its final state comes with `done`/`error`).
    #[schema(required = true)]
    pub message_id: Option<i64>,
    /// The same as `message_id`.
    #[schema(required = true)]
    pub assistant_message_id: Option<i64>,
    /// The vendor's model id that serves the reply.
    pub model: String,
    /// The provider that serves the reply.
    pub provider_id: i64,
}

/// `content`: a piece of reply text, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyContentEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: ContentType,
    /// The text.
    pub content: String,
}

/// `usage`: what the reply consumed and cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyUsageEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: UsageType,
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Both.
    pub total_tokens: u32,
    /// Cost in the deployment currency's units (e.g. USD).
    pub cost: f64,
    /// Exact cost in nano-units (1e-9) of the deployment currency.
    pub cost_nanos: i64,
    /// True when counted locally because the vendor reported no usage.
    pub estimated: bool,
}

/// `done`: the reply ended (`status` `complete`, or `stopped` when stopped or cut short) and
/// is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyDoneEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: DoneType,
    /// The stored assistant message.
    #[schema(required = true)]
    pub message_id: Option<i64>,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// The stored message's status: `complete` or `stopped`.
    pub status: MessageStatus,
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Both.
    pub total_tokens: u32,
    /// Cost in the deployment currency's units.
    pub cost: f64,
    /// Exact cost in nano-units of the deployment currency.
    pub cost_nanos: i64,
    /// Wall time of the generation, in milliseconds.
    pub response_time_ms: i64,
}

/// `error`: the reply failed after the stream began; the partial reply is stored as `failed`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyErrorEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// The stored (failed) assistant message.
    #[schema(required = true)]
    pub message_id: Option<i64>,
    /// What went wrong.
    pub error: ErrorObject,
}

/// One event of `/chat`'s stream.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "type", mapping(
    ("session" = "#/components/schemas/ChatSessionEvent"),
    ("content" = "#/components/schemas/ChatContentEvent"),
    ("usage" = "#/components/schemas/ChatUsageEvent"),
    ("done" = "#/components/schemas/ChatDoneEvent"),
    ("error" = "#/components/schemas/ChatErrorEvent")
)))]
pub enum ChatStreamEvent {
    /// First event: who answers.
    Session(ChatSessionEvent),
    /// A piece of reply text.
    Content(ChatContentEvent),
    /// Tokens and cost, sent once before `done` or `error`.
    Usage(ChatUsageEvent),
    /// The reply ended; the last event.
    Done(ChatDoneEvent),
    /// The reply failed after it began; the last event.
    Error(ChatErrorEvent),
}

/// `session`: the response id, the model and provider, and the conversation when the chat is
/// attached to one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatSessionEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: SessionType,
    /// Response id (`chat-…`).
    pub id: String,
    /// The vendor's model id.
    pub model: String,
    /// The provider that answers.
    pub provider: CompletionProviderResponse,
    /// The conversation the messages go into, when attached to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<i64>,
    /// The same as `conversation_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
}

/// `content`: a piece of reply text, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatContentEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: ContentType,
    /// The text.
    pub content: String,
}

/// `usage`: tokens and cost of the chat.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatUsageEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: UsageType,
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Sum of both.
    pub total_tokens: u32,
    /// True when counted locally because the vendor reported nothing.
    pub estimated: bool,
    /// Cost as an exact decimal string in `currency`.
    pub cost: String,
    /// Deployment currency code (`USD`).
    pub currency: String,
}

/// `done`: the reply ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatDoneEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: DoneType,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Wall time of the call, in milliseconds.
    pub response_time_ms: i64,
}

/// `error`: the reply failed after the stream began.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatErrorEvent {
    /// The event kind.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// What went wrong.
    pub error: ErrorObject,
}
