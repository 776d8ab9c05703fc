//! Pure conversions between the canonical chat types and the Gemini wire types, and the
//! mapping of Gemini's error bodies. No I/O.
//!
//! Sources: <https://ai.google.dev/api/generate-content>, <https://ai.google.dev/api/embeddings>,
//! <https://ai.google.dev/api/models>, <https://ai.google.dev/gemini-api/docs/troubleshooting>.
//!
//! Request mapping:
//! - `system` messages → `systemInstruction` (one text part per message);
//! - `user` → `user`, `assistant` → `model`; consecutive turns of one role are merged (Gemini
//!   wants the answers to parallel calls in one turn);
//! - images: a base64 `data:` URL → `inlineData`; an `http(s)` URL → `fileData` with the media
//!   type guessed from the file extension (left out when unknown);
//! - assistant `tool_calls` → `functionCall` parts (arguments must be a JSON object);
//! - `tool` messages → a `user` turn with a `functionResponse` part named after the assistant
//!   call with the same `tool_call_id`, `response` = `{"content": <the JSON or the text>}`;
//! - `response_format`: `json_object` → `responseMimeType: application/json`; `json_schema` →
//!   that plus `responseJsonSchema`;
//! - `tool_choice` auto/none/required/function → `AUTO`/`NONE`/`ANY`/`ANY` with
//!   `allowedFunctionNames` (sent only with tools);
//! - `user` and `extra` are not sent (Gemini has no such fields).
//!
//! Reply mapping: text parts (minus thought summaries) are the content; `functionCall` parts
//! become tool calls with generated ids; usage is `promptTokenCount` and
//! `candidatesTokenCount + thoughtsTokenCount`; `STOP` reads as `tool_calls` when the reply
//! called a function. A blocked prompt, or a reply stopped by a safety reason before any
//! output, is a `content_filtered` error.
//!
//! Layout: the request side is in `convert/request.rs`, the reply side (whole and streamed) in
//! `convert/reply.rs`, error bodies in `convert/errors.rs`; embeddings and the model list stay
//! here.

use super::wire::{
    BatchEmbedContentsRequest, Content, EmbedContentRequest, ListModelsResponse, Part,
};
use crate::ProviderError;
use aihub_domain::{ErrorCode, ModelInfo, Usage};

mod errors;
mod reply;
mod request;

pub(crate) use errors::map_error;
pub(crate) use reply::{StreamState, StreamStep, from_wire_response};
pub(crate) use request::to_wire_request;

fn validation(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorCode::ValidationError, message)
}

fn invalid_response(message: &str) -> ProviderError {
    ProviderError::new(ErrorCode::UpstreamInvalidResponse, message)
}

/// The error for a prompt Gemini refused to answer (`promptFeedback.blockReason`).
pub(crate) fn prompt_blocked() -> ProviderError {
    ProviderError::new(
        ErrorCode::ContentFiltered,
        "the vendor's safety filter blocked the prompt",
    )
}

/// The error for a reply stopped by a safety reason before it produced anything.
pub(crate) fn reply_blocked() -> ProviderError {
    ProviderError::new(
        ErrorCode::ContentFiltered,
        "the vendor's safety filter blocked the reply",
    )
}

/// The model id used in URL paths: `models/gemini-1.5-flash` and `gemini-1.5-flash` both give
/// `gemini-1.5-flash`.
///
/// # Errors
/// `validation_error` unless the id is 1–128 ASCII letters, digits, `-`, `_` or `.` (and not
/// `.` or `..`): the id is pasted into the URL path, so `/`, `?`, `#`, `%`, `:` and whitespace
/// are refused rather than encoded.
pub(crate) fn model_id(model: &str) -> Result<&str, ProviderError> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let valid = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(id)
    } else {
        Err(validation(
            "model must be a Gemini model id such as `gemini-1.5-flash`",
        ))
    }
}

/// The `batchEmbedContents` body embedding `inputs` with `model` (a bare id).
pub(crate) fn embed_request(
    model: &str,
    inputs: &[String],
    dimensions: Option<u32>,
) -> BatchEmbedContentsRequest {
    BatchEmbedContentsRequest {
        requests: inputs
            .iter()
            .map(|text| EmbedContentRequest {
                model: format!("models/{model}"),
                content: Content {
                    role: None,
                    parts: vec![Part::text(text.clone())],
                },
                output_dimensionality: dimensions,
            })
            .collect(),
    }
}

/// Gemini's embeddings report no usage: prompt tokens are estimated as `ceil(chars / 4)` per
/// input (the usual four characters per token of English text), marked `estimated`.
pub(crate) fn estimated_embedding_usage(inputs: &[String]) -> Usage {
    let tokens: u64 = inputs
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum();
    Usage {
        prompt_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        completion_tokens: 0,
        estimated: true,
    }
}

/// The models of one `GET models` page: ids without `models/`, owned by `google`.
pub(crate) fn models(page: ListModelsResponse) -> Vec<ModelInfo> {
    page.models
        .into_iter()
        .map(|m| ModelInfo {
            id: m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned(),
            owned_by: Some("google".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests;
