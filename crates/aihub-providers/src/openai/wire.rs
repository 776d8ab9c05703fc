//! Serde types of the OpenAI wire: Chat Completions (request, response object, streamed
//! chunks), Embeddings, Models and the error envelope.
//!
//! Sources:
//! - request: <https://platform.openai.com/docs/api-reference/chat/create>
//! - response: <https://platform.openai.com/docs/api-reference/chat/object>
//! - stream chunks: <https://platform.openai.com/docs/api-reference/chat/streaming>
//! - embeddings: <https://platform.openai.com/docs/api-reference/embeddings>
//! - models: <https://platform.openai.com/docs/api-reference/models>
//! - errors: <https://platform.openai.com/docs/guides/error-codes>
//!
//! These are the adapter's own types for upstreams (the gateway's `/v1` bodies are
//! `aihub-http`'s). Every type is both `Serialize` and `Deserialize`: the adapter sends requests
//! and reads replies, and tests write fixtures. Reading is lenient (unknown fields are ignored,
//! optional fields may be missing or `null`, compatible servers' variations are accepted where
//! noted); writing is faithful (the documented field names, `object` values, and `null` where
//! OpenAI sends `null`).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads `null` as the type's default (compatible servers send `null` where OpenAI omits).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads a string, or `None` for `null` and any other JSON type.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Reads reply text: a string, or an array of `{"type": "text", "text": …}` parts (some
/// compatible servers answer with parts) joined without separator; `None` for `null`.
fn reply_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    })
}

/// Reads function-call arguments: OpenAI sends JSON text; a server that sends a JSON object
/// instead gets it serialized back to text. `null` reads as empty.
fn arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Like [`arguments_text`], for the optional argument pieces of a streamed call.
fn opt_arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

fn function_type() -> String {
    "function".to_owned()
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

// One module per part of the API reference; every type is re-exported here, so the paths
// stay `wire::ChatCompletionRequest` and so on.
mod embeddings;
mod error_body;
mod models;
mod request;
mod response;

pub use embeddings::{EmbeddingInput, EmbeddingVector, EmbeddingsRequest, EmbeddingsResponse};
pub use error_body::{ErrorBody, ErrorObject};
pub use models::ModelList;
pub use request::{
    ChatCompletionRequest, ContentPartWire, FunctionCallWire, FunctionDefinition, ImageUrlWire,
    JsonSchemaWire, MessageRole, NamedFunction, NamedToolChoice, RequestContent, RequestMessage,
    ResponseFormatWire, Stop, StreamOptions, Tool, ToolCallWire, ToolChoiceWire,
};
pub use response::{ChatCompletion, ChatCompletionChunk, ToolCallChunk, WireUsage};

#[cfg(test)]
mod tests;
