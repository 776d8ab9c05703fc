//! The error envelope: <https://platform.openai.com/docs/guides/error-codes>.

use super::lenient_string;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The error envelope `{"error": {...}}` of the OpenAI wire, sent with error statuses and, by
/// some servers (OpenRouter, vLLM), as an event in the middle of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorObject,
}

/// An error object: `{"message", "type", "param", "code"}`.
///
/// The adapter maps on `code` and `type` only: `message` may quote the prompt or part of the
/// API key and is never copied into a [`crate::ProviderError`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Human-readable text (never shown by AI Hub when read from an upstream).
    #[serde(default, deserialize_with = "null_as_default_string")]
    pub message: String,
    /// `invalid_request_error`, `insufficient_quota`, `server_error`, …
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// The request field at fault.
    #[serde(default, deserialize_with = "lenient_string")]
    pub param: Option<String>,
    /// OpenAI: an identifier such as `invalid_api_key`; llama.cpp and OpenRouter: the HTTP
    /// status as a number.
    #[serde(default, deserialize_with = "error_code")]
    pub code: Option<ErrorCodeWire>,
}

/// `error.code`: a string (OpenAI) or a number (llama.cpp, OpenRouter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorCodeWire {
    /// `invalid_api_key`, `rate_limit_exceeded`, …
    Text(String),
    /// An HTTP status number.
    Number(i64),
}

fn null_as_default_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_string(d)?.unwrap_or_default())
}

fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCodeWire>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(ErrorCodeWire::Text(s)),
        Value::Number(n) => n.as_i64().map(ErrorCodeWire::Number),
        _ => None,
    })
}

impl ErrorObject {
    /// The `code` when it is a string.
    pub fn code_str(&self) -> Option<&str> {
        match &self.code {
            Some(ErrorCodeWire::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// The `code` when it is an HTTP error status (400–599), as a number or a numeric string
    /// (OpenRouter's `"402"`).
    pub fn code_status(&self) -> Option<u16> {
        let n = match &self.code {
            Some(ErrorCodeWire::Number(n)) => *n,
            Some(ErrorCodeWire::Text(s)) => s.trim().parse().ok()?,
            None => return None,
        };
        u16::try_from(n).ok().filter(|s| (400..=599).contains(s))
    }
}
