//! The stable, machine-readable error vocabulary of the wire format.
//!
//! Every crate's error type maps onto one [`ErrorCode`]; `aihub-http` alone maps a code to an
//! HTTP status and an error `type`, in one table (documented in `docs/API-DESIGN.md`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stable error code, rendered in snake_case as `error.code` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field failed validation (422); `param` names the field.
    ValidationError,
    /// The body is not valid JSON or does not match the schema (422).
    InvalidJson,
    /// The body is over the configured size limit (413).
    PayloadTooLarge,
    /// Wrong login or password (401).
    InvalidCredentials,
    /// No bearer token on a route that needs one (401).
    MissingToken,
    /// A bearer token that is malformed, badly signed or revoked (401).
    InvalidToken,
    /// A bearer token past its `exp` (401).
    TokenExpired,
    /// A refresh token that is unknown, expired or already used (401).
    InvalidRefreshToken,
    /// No developer API key was given (401).
    MissingApiKey,
    /// The developer API key is unknown, revoked or expired (401).
    InvalidApiKey,
    /// The account is deactivated (403).
    AccountDisabled,
    /// The caller lacks the role or permission (403).
    PermissionDenied,
    /// Registration is turned off on this deployment (403).
    RegistrationClosed,
    /// The resource does not exist or belongs to someone else (404).
    NotFound,
    /// The route does not exist (404).
    RouteNotFound,
    /// The HTTP method is not allowed on this route (405).
    MethodNotAllowed,
    /// A unique value (username, email, slug) is taken (409).
    Conflict,
    /// No stream is running for this conversation (409).
    StreamNotActive,
    /// A provider the caller may not use (404).
    ProviderNotAccessible,
    /// The provider is switched off (409).
    ProviderInactive,
    /// The provider has no API key but its vendor needs one (409).
    ProviderKeyMissing,
    /// The upstream rejected the provider's API key (502).
    ProviderKeyInvalid,
    /// The provider's base URL points at a forbidden address (422).
    UnsafeBaseUrl,
    /// No model was named and the provider has no default (422).
    ModelRequired,
    /// The caller's quota is used up (429).
    InsufficientQuota,
    /// The caller exceeded a rate limit (429).
    RateLimitExceeded,
    /// The upstream answered 429 (429; `Retry-After` kept when given).
    UpstreamRateLimited,
    /// The upstream account is out of credit (502).
    UpstreamBilling,
    /// The upstream did not answer in time (504).
    UpstreamTimeout,
    /// The upstream failed or could not be reached (502).
    UpstreamUnavailable,
    /// The upstream answered something that is not its documented format (502).
    UpstreamInvalidResponse,
    /// The upstream refused the request as invalid (400).
    UpstreamBadRequest,
    /// The model named does not exist upstream (404).
    ModelNotFound,
    /// The prompt does not fit the model's context window (400).
    ContextLengthExceeded,
    /// The vendor's safety filter blocked the prompt or the reply (400).
    ContentFiltered,
    /// The provider kind cannot do what was asked, e.g. embeddings on Anthropic (400).
    UnsupportedOperation,
    /// The server is shutting down or a dependency is down (503).
    ServiceUnavailable,
    /// An unexpected server fault; details are logged, never returned (500).
    InternalError,
}

impl ErrorCode {
    /// The snake_case wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::MissingToken => "missing_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::MissingApiKey => "missing_api_key",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::RegistrationClosed => "registration_closed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::StreamNotActive => "stream_not_active",
            ErrorCode::ProviderNotAccessible => "provider_not_accessible",
            ErrorCode::ProviderInactive => "provider_inactive",
            ErrorCode::ProviderKeyMissing => "provider_key_missing",
            ErrorCode::ProviderKeyInvalid => "provider_key_invalid",
            ErrorCode::UnsafeBaseUrl => "unsafe_base_url",
            ErrorCode::ModelRequired => "model_required",
            ErrorCode::InsufficientQuota => "insufficient_quota",
            ErrorCode::RateLimitExceeded => "rate_limit_exceeded",
            ErrorCode::UpstreamRateLimited => "upstream_rate_limited",
            ErrorCode::UpstreamBilling => "upstream_billing",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::UpstreamInvalidResponse => "upstream_invalid_response",
            ErrorCode::UpstreamBadRequest => "upstream_bad_request",
            ErrorCode::ModelNotFound => "model_not_found",
            ErrorCode::ContextLengthExceeded => "context_length_exceeded",
            ErrorCode::ContentFiltered => "content_filtered",
            ErrorCode::UnsupportedOperation => "unsupported_operation",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::InternalError => "internal_error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
