//! Serde types of the `/v1` bodies, following OpenAI's API reference: Chat Completions (request,
//! response object, streamed chunks), Embeddings, Models and the in-stream error event. Every
//! type derives `utoipa::ToSchema`; its component is named `openai.<Type>` so the `/v1` contract
//! stands apart from the workspace API's schemas in the OpenAPI document.
//!
//! Sources:
//! - request: <https://platform.openai.com/docs/api-reference/chat/create>
//! - response: <https://platform.openai.com/docs/api-reference/chat/object>
//! - stream chunks: <https://platform.openai.com/docs/api-reference/chat/streaming>
//! - embeddings: <https://platform.openai.com/docs/api-reference/embeddings>
//! - models: <https://platform.openai.com/docs/api-reference/models>
//! - errors: <https://platform.openai.com/docs/guides/error-codes>
//!
//! Requests are only read (`Deserialize`) and replies only written (`Serialize`). Reading keeps
//! every unknown top-level field (`extra`); writing is faithful to OpenAI (the documented field
//! names, `object` values, and `null` where OpenAI sends `null`).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads `null` as the type's default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads function-call arguments: OpenAI sends JSON text; a client that sends a JSON object
/// instead gets it serialized back to text. `null` reads as empty.
fn arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn function_type() -> String {
    "function".to_owned()
}

// One module per part of the API reference; every type is re-exported here, so the paths
// stay `wire::ChatCompletionRequest` and so on.
mod embeddings;
mod error_event;
mod models;
mod request;
mod response;

pub use embeddings::{
    Embedding, EmbeddingInput, EmbeddingVector, EmbeddingsRequest, EmbeddingsResponse,
    EmbeddingsUsage,
};
pub use error_event::{StreamError, StreamErrorObject};
pub use models::{Model, ModelList};
pub use request::{
    ChatCompletionRequest, ContentPartWire, FunctionCallWire, FunctionDefinition, ImageUrlWire,
    JsonSchemaWire, MessageRole, NamedFunction, NamedToolChoice, RequestContent, RequestMessage,
    ResponseFormatWire, Stop, StreamOptions, Tool, ToolCallWire, ToolChoiceWire,
};
pub use response::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, ChunkDelta, FunctionCallChunk,
    ResponseMessage, ToolCallChunk, WireUsage,
};

#[cfg(test)]
mod tests;
