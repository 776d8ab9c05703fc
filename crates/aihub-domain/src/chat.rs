//! The canonical chat request, response and streaming chunk that every provider adapter
//! converts to and from, and the normalized [`Usage`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// Instructions for the model.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl ChatRole {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(ChatRole::System),
            "user" => Some(ChatRole::User),
            "assistant" => Some(ChatRole::Assistant),
            _ => None,
        }
    }
}

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: ChatRole,
    /// Plain text content.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role and text.
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// A provider-neutral chat completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The vendor's model id (without the `<provider>/` prefix).
    pub model: String,
    /// The conversation so far, system prompt first.
    pub messages: Vec<ChatMessage>,
    /// Cap on completion tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The vendor's safety filter cut the reply.
    ContentFilter,
    /// The model asked for a tool call.
    ToolCalls,
    /// The caller stopped the stream or disconnected.
    Stopped,
    /// The upstream failed mid-reply.
    Error,
}

impl FinishReason {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Stopped => "stopped",
            FinishReason::Error => "error",
        }
    }

    /// Maps a vendor's finish reason string; unknown values read as `stop`.
    pub fn from_vendor(s: &str) -> Self {
        match s {
            "length" | "max_tokens" => FinishReason::Length,
            "content_filter" | "safety" => FinishReason::ContentFilter,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        }
    }
}

/// Token usage of one generation, normalized across vendors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// True when counted locally because the vendor reported nothing.
    pub estimated: bool,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> u32 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// A complete (non-streaming) reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The vendor's response id, when given.
    pub id: Option<String>,
    /// The model that answered, as the vendor names it.
    pub model: String,
    /// The reply text.
    pub content: String,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
    /// The vendor's token counts, when reported.
    pub usage: Option<Usage>,
}

/// One streaming chunk: a text delta, a finish reason, usage, or any mix of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatChunk {
    /// New text, if any.
    pub delta: Option<String>,
    /// Set on the chunk that ends the reply.
    pub finish_reason: Option<FinishReason>,
    /// Token counts, usually on the last chunk (`stream_options.include_usage`).
    pub usage: Option<Usage>,
}

/// Lifecycle of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Fully written.
    Complete,
    /// Being generated right now.
    Streaming,
    /// Stopped by the caller (or a disconnect); holds the text so far.
    Stopped,
    /// The upstream failed; holds the text so far.
    Failed,
}

impl MessageStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Self {
        match s {
            "streaming" => MessageStatus::Streaming,
            "stopped" => MessageStatus::Stopped,
            "failed" => MessageStatus::Failed,
            _ => MessageStatus::Complete,
        }
    }
}

/// Outcome of one billed generation, as stored in a usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageStatus {
    /// The reply completed.
    Success,
    /// The caller stopped the reply or disconnected.
    Stopped,
    /// The upstream failed, after or before producing tokens.
    Failed,
}

impl UsageStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageStatus::Success => "success",
            UsageStatus::Stopped => "stopped",
            UsageStatus::Failed => "failed",
        }
    }
}
