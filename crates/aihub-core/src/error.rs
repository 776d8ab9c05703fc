//! The one error type of the use cases: a stable code, a safe message, and the field at fault.

use aihub_domain::ErrorCode;
use std::time::Duration;

/// A use-case failure. `aihub-http` maps `code` to a status and renders the OpenAI-style body;
/// `message` is always safe to show (internal causes are logged, not carried here).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// Stable machine code.
    pub code: ErrorCode,
    /// Human-readable, safe message.
    pub message: String,
    /// The request field at fault, for validation errors.
    pub param: Option<String>,
    /// Extra structured details.
    pub details: Option<serde_json::Value>,
    /// Seconds the caller should wait, for rate limits.
    pub retry_after: Option<Duration>,
}

/// Result alias of the use cases.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            param: None,
            details: None,
            retry_after: None,
        }
    }

    /// A 422 naming the field at fault.
    pub fn validation(param: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            param: Some(param.into()),
            ..Error::new(ErrorCode::ValidationError, message)
        }
    }

    /// The resource does not exist or is not the caller's (the two are indistinguishable).
    pub fn not_found(what: &str) -> Self {
        Error::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// An internal fault: logs the cause and returns a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Error::new(ErrorCode::InternalError, "internal server error")
    }
}

/// One way to answer a store lookup that found nothing: the owner-scoped query missed, so the
/// caller gets the same 404 whether the row is another user's or does not exist.
pub(crate) trait OrNotFound<T> {
    /// `not_found` naming `what` (`"conversation"`, `"prompt"`, …) when no row matched.
    fn or_not_found(self, what: &str) -> Result<T>;
    /// `provider_not_accessible` naming `provider_id` when the provider is neither the
    /// caller's nor granted to them.
    fn or_provider_not_accessible(self) -> Result<T>;
}

impl<T> OrNotFound<T> for std::result::Result<T, aihub_store::StoreError> {
    fn or_not_found(self, what: &str) -> Result<T> {
        self.map_err(|e| match e {
            aihub_store::StoreError::NotFound => Error::not_found(what),
            other => other.into(),
        })
    }

    fn or_provider_not_accessible(self) -> Result<T> {
        self.map_err(|e| match e {
            aihub_store::StoreError::NotFound => Error {
                param: Some("provider_id".into()),
                ..Error::new(ErrorCode::ProviderNotAccessible, "provider not found")
            },
            other => other.into(),
        })
    }
}

impl From<aihub_store::StoreError> for Error {
    fn from(e: aihub_store::StoreError) -> Self {
        use aihub_store::StoreError;
        match e {
            StoreError::NotFound => Error::new(ErrorCode::NotFound, "not found"),
            StoreError::UniqueViolation(what) => {
                Error::new(ErrorCode::Conflict, format!("already exists ({what})"))
            }
            StoreError::Connect(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                Error::new(ErrorCode::ServiceUnavailable, "database unavailable")
            }
            other => Error::internal(other),
        }
    }
}

impl From<diesel_error::Error> for Error {
    fn from(e: diesel_error::Error) -> Self {
        aihub_store::StoreError::from(e).into()
    }
}

/// Re-export path for diesel's error without a direct diesel dependency in this crate.
mod diesel_error {
    pub use aihub_store::DieselError as Error;
}

impl From<aihub_providers::ProviderError> for Error {
    fn from(e: aihub_providers::ProviderError) -> Self {
        Error {
            retry_after: e.retry_after,
            ..Error::new(e.code, e.message)
        }
    }
}
