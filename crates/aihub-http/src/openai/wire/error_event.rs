//! The error event of a stream that fails after its first chunk, shaped as OpenAI's error
//! object (<https://platform.openai.com/docs/guides/error-codes>): the official SDKs raise it.

use serde::Serialize;
use utoipa::ToSchema;

/// `data: {"error": {...}}`, the last event of a stream that failed after it started (no
/// `data: [DONE]` follows). Errors before the first byte are ordinary error responses
/// (`ErrorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = openai::StreamError)]
pub struct StreamError {
    /// The error.
    pub error: StreamErrorObject,
}

/// The error object of a stream's error event.
// Fields in alphabetical order: the order the event has always been written in (it was a
// `serde_json::Value`, whose keys are sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = openai::StreamErrorObject)]
pub struct StreamErrorObject {
    /// AI Hub's error code (`upstream_unavailable`, `upstream_timeout`, …).
    pub code: String,
    /// Human-readable text, safe to show.
    pub message: String,
    /// Always `null`.
    #[schema(required)]
    pub param: Option<String>,
    /// The error type (`server_error`, `upstream_error`, …).
    #[serde(rename = "type")]
    pub kind: String,
}
