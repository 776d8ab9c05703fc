//! What a chat completion answers: the `chat.completion` object
//! (<https://platform.openai.com/docs/api-reference/chat/object>) and, when streamed, its
//! `chat.completion.chunk` events (<https://platform.openai.com/docs/api-reference/chat/streaming>).

use super::ToolCallWire;
use super::{assistant_role, lenient_string, null_as_default, opt_arguments_text, reply_text};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Chat Completion object: https://platform.openai.com/docs/api-reference/chat/object
// ---------------------------------------------------------------------------------------------

/// The `chat.completion` object (<https://platform.openai.com/docs/api-reference/chat/object>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `chat.completion`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: i64,
    /// The model that answered.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// The choices (one on AI Hub).
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<Choice>,
    /// Token counts; omitted when `None` (some compatible servers report none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<WireUsage>,
    /// Backend configuration fingerprint; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
}

/// One choice of a [`ChatCompletion`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Position of the choice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// The reply.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: ResponseMessage,
    /// Log probabilities (`null` unless asked for; AI Hub always writes `null`).
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// `stop`, `length`, `tool_calls`, `content_filter` (`function_call` is deprecated);
    /// written as `null` when `None`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub finish_reason: Option<String>,
}

/// The message of a [`Choice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// `assistant`.
    #[serde(default = "assistant_role", deserialize_with = "role_or_assistant")]
    pub role: String,
    /// The reply text; `null` when the model only called tools.
    #[serde(default, deserialize_with = "reply_text")]
    pub content: Option<String>,
    /// The refusal text, when the model refused; written as `null` otherwise.
    #[serde(default, deserialize_with = "lenient_string")]
    pub refusal: Option<String>,
    /// Tool calls; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallWire>>,
}

impl Default for ResponseMessage {
    fn default() -> Self {
        ResponseMessage {
            role: assistant_role(),
            content: None,
            refusal: None,
            tool_calls: None,
        }
    }
}

fn role_or_assistant<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_string(d)?.unwrap_or_else(assistant_role))
}

/// `usage` of a completion or of the final stream chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireUsage {
    /// Input tokens (cached ones included).
    #[serde(default, deserialize_with = "null_as_default")]
    pub prompt_tokens: u32,
    /// Output tokens (reasoning ones included).
    #[serde(default, deserialize_with = "null_as_default")]
    pub completion_tokens: u32,
    /// Their sum.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_tokens: u32,
}

// ---------------------------------------------------------------------------------------------
// Streaming: https://platform.openai.com/docs/api-reference/chat/streaming
// ---------------------------------------------------------------------------------------------

/// One `chat.completion.chunk` event of a stream
/// (<https://platform.openai.com/docs/api-reference/chat/streaming>). The final usage chunk
/// (with `stream_options.include_usage`) has `choices: []` and `usage` set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The completion id, the same on every chunk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Unix seconds, the same on every chunk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: i64,
    /// The model.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// Backend configuration fingerprint; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The choice deltas; empty on the usage chunk (and missing on some servers' chunks).
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<WireUsage>,
}

/// One choice of a [`ChatCompletionChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Position of the choice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// What is new.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delta: ChunkDelta,
    /// Log probabilities (AI Hub always writes `null`).
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Set on the chunk that ends the choice; written as `null` otherwise.
    #[serde(default, deserialize_with = "lenient_string")]
    pub finish_reason: Option<String>,
}

/// The `delta` of a [`ChunkChoice`]; every field is omitted when `None` (the finishing chunk
/// has `"delta": {}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkDelta {
    /// `assistant`, on the first chunk.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub role: Option<String>,
    /// More reply text.
    #[serde(
        default,
        deserialize_with = "reply_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<String>,
    /// More refusal text.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

/// A piece of a streamed tool call: the first piece of a call has `id`, `type` and
/// `function.name`; later pieces append to `function.arguments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallChunk {
    /// Which call of the reply (0-based).
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// The call id, on the first piece.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// `function`, on the first piece.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// Name and argument piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallChunk>,
}

/// The function part of a [`ToolCallChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallChunk {
    /// The function name, on the first piece.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// More argument JSON text.
    #[serde(
        default,
        deserialize_with = "opt_arguments_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<String>,
}
