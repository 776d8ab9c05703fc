//! Serde types of the OpenAI wire that async-openai's own types are too strict for.
//!
//! - `GET /models`: async-openai requires `object`, `created` and `owned_by`, which LM Studio
//!   and other compatible servers omit; only `id` is needed here.
//! - Error bodies: llama.cpp sends `error.code` as the HTTP status number where OpenAI sends a
//!   string, which async-openai cannot parse (the status is lost with it); this type reads both.

use serde::Deserialize;

/// `GET /models` response: `{"object": "list", "data": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireModelList {
    /// The models.
    pub data: Vec<WireModel>,
}

/// One listed model; every field but `id` is optional.
#[derive(Debug, Deserialize)]
pub(crate) struct WireModel {
    /// The model id, e.g. `gpt-4o-mini`.
    pub id: String,
    /// The owner the vendor reports (`openai`, `library`, `llamacpp`, …).
    #[serde(default)]
    pub owned_by: Option<String>,
}

/// `{"error": {...}}`, the error envelope of the OpenAI wire.
#[derive(Debug, Deserialize)]
pub(crate) struct WireErrorBody {
    /// The error object.
    pub error: WireError,
}

/// The fields of an error object used for mapping. The `message` is deliberately not read: it
/// may quote the prompt or (part of) the API key.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    /// OpenAI: a string such as `invalid_api_key`; llama.cpp: the HTTP status as a number.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    /// `invalid_request_error`, `insufficient_quota`, `authentication_error`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl WireError {
    /// The `code` when it is a string.
    pub(crate) fn code_str(&self) -> Option<&str> {
        self.code.as_ref().and_then(|c| c.as_str())
    }

    /// The `code` when it is an HTTP error status number (llama.cpp's convention).
    pub(crate) fn code_status(&self) -> Option<u16> {
        let n = self.code.as_ref()?.as_u64()?;
        u16::try_from(n).ok().filter(|s| (400..=599).contains(s))
    }
}

/// Parses an error body, or `None` when it is not the `{"error": {...}}` envelope.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<WireError> {
    serde_json::from_slice::<WireErrorBody>(body)
        .ok()
        .map(|b| b.error)
}
