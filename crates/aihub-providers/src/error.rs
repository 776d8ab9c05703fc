//! Errors of provider adapters: a mapped code and a safe message, never an upstream body or a
//! credential.

use aihub_domain::ErrorCode;
use std::time::Duration;

/// A failed upstream call, mapped to the wire vocabulary.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The mapped code (`upstream_rate_limited`, `provider_key_invalid`, …).
    pub code: ErrorCode,
    /// A short message safe to show the caller: it never quotes the upstream body or a key.
    pub message: String,
    /// The upstream HTTP status, when there was one.
    pub status: Option<u16>,
    /// The upstream's `Retry-After`, when it sent one with a 429.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    /// An error with a code and a safe message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProviderError {
            code,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Whether a retry (before the first byte reached the client) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::UpstreamRateLimited
                | ErrorCode::UpstreamUnavailable
                | ErrorCode::UpstreamTimeout
        )
    }
}
