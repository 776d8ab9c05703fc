//! What a chat completion answers: the `chat.completion` object
//! (<https://platform.openai.com/docs/api-reference/chat/object>) and, when streamed, its
//! `chat.completion.chunk` events (<https://platform.openai.com/docs/api-reference/chat/streaming>).

use super::ToolCallWire;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// Chat Completion object: https://platform.openai.com/docs/api-reference/chat/object
// ---------------------------------------------------------------------------------------------

/// The `chat.completion` object (<https://platform.openai.com/docs/api-reference/chat/object>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ChatCompletion)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// The model as the request named it.
    pub model: String,
    /// The choices (one on AI Hub).
    pub choices: Vec<Choice>,
    /// Token counts (zeros when the upstream reported none).
    pub usage: WireUsage,
    /// Backend configuration fingerprint; omitted when `None` (AI Hub sends none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
}

/// One choice of a `chat.completion`
/// (<https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::Choice)]
pub struct Choice {
    /// Position of the choice.
    pub index: u32,
    /// The reply.
    pub message: ResponseMessage,
    /// Log probabilities (`null`: AI Hub reports none).
    #[schema(value_type = Option<Object>, required)]
    pub logprobs: Option<Value>,
    /// `stop`, `length`, `tool_calls` or `content_filter`.
    #[schema(required)]
    pub finish_reason: Option<String>,
}

/// The message of a choice.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ResponseMessage)]
pub struct ResponseMessage {
    /// `assistant`.
    pub role: String,
    /// The reply text; `null` when the model only called tools.
    #[schema(required)]
    pub content: Option<String>,
    /// The refusal text, when the model refused; `null` otherwise.
    #[schema(required)]
    pub refusal: Option<String>,
    /// Tool calls; omitted when the model called none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallWire>>,
}

impl Default for ResponseMessage {
    fn default() -> Self {
        ResponseMessage {
            role: "assistant".to_owned(),
            content: None,
            refusal: None,
            tool_calls: None,
        }
    }
}

/// `usage` of a completion or of the final stream chunk
/// (<https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = openai::CompletionUsage)]
pub struct WireUsage {
    /// Input tokens (cached ones included).
    pub prompt_tokens: u32,
    /// Output tokens (reasoning ones included).
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

// ---------------------------------------------------------------------------------------------
// Streaming: https://platform.openai.com/docs/api-reference/chat/streaming
// ---------------------------------------------------------------------------------------------

/// One `chat.completion.chunk` event of a stream
/// (<https://platform.openai.com/docs/api-reference/chat/streaming>), sent as
/// `data: {chunk}`; the stream ends with `data: [DONE]`. The final usage chunk (with
/// `stream_options.include_usage`) has `choices: []` and `usage` set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ChatCompletionChunk)]
pub struct ChatCompletionChunk {
    /// The completion id, the same on every chunk.
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds, the same on every chunk.
    pub created: i64,
    /// The model as the request named it.
    pub model: String,
    /// Backend configuration fingerprint; omitted when `None` (AI Hub sends none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The choice deltas; empty on the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk only; omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<WireUsage>,
}

/// One choice of a `chat.completion.chunk`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ChunkChoice)]
pub struct ChunkChoice {
    /// Position of the choice.
    pub index: u32,
    /// What is new.
    pub delta: ChunkDelta,
    /// Log probabilities (`null`: AI Hub reports none).
    #[schema(value_type = Option<Object>, required)]
    pub logprobs: Option<Value>,
    /// Set on the chunk that ends the choice; `null` otherwise.
    #[schema(required)]
    pub finish_reason: Option<String>,
}

/// The `delta` of a chunk's choice; every field is omitted when `None` (the finishing chunk
/// has `"delta": {}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ChunkDelta)]
pub struct ChunkDelta {
    /// `assistant`, on the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// More reply text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// More refusal text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

/// A piece of a streamed tool call: the first piece of a call has `id`, `type` and
/// `function.name`; later pieces append to `function.arguments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ToolCallChunk)]
pub struct ToolCallChunk {
    /// Which call of the reply (0-based).
    pub index: u32,
    /// The call id, on the first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first piece.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and argument piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallChunk>,
}

/// The function part of a streamed tool call piece.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::FunctionCallChunk)]
pub struct FunctionCallChunk {
    /// The function name, on the first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// More argument JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}
