//! The one place that maps an [`ErrorCode`] to an HTTP status and error `type`, and renders the
//! OpenAI-style error body every route answers on failure:
//! `{"error": {"type", "code", "message", "param", "details"}, "request_id"}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use aihub_core::Error;
use aihub_domain::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

/// The status and `error.type` of each code. Every code appears here once.
pub fn status_and_type(code: ErrorCode) -> (StatusCode, &'static str) {
    use ErrorCode::*;
    match code {
        ValidationError | InvalidJson | UnsafeBaseUrl | ModelRequired => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error")
        }
        UpstreamBadRequest | ContextLengthExceeded | ContentFiltered | UnsupportedOperation => {
            (StatusCode::BAD_REQUEST, "invalid_request_error")
        }
        PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error"),
        MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error"),
        InvalidCredentials | MissingToken | InvalidToken | TokenExpired | InvalidRefreshToken
        | MissingApiKey | InvalidApiKey => (StatusCode::UNAUTHORIZED, "authentication_error"),
        AccountDisabled | PermissionDenied | RegistrationClosed => {
            (StatusCode::FORBIDDEN, "permission_error")
        }
        NotFound | RouteNotFound | ProviderNotAccessible | ModelNotFound => {
            (StatusCode::NOT_FOUND, "not_found_error")
        }
        Conflict | StreamNotActive | ProviderInactive | ProviderKeyMissing => {
            (StatusCode::CONFLICT, "conflict_error")
        }
        InsufficientQuota | RateLimitExceeded | UpstreamRateLimited => {
            (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error")
        }
        ProviderKeyInvalid | UpstreamBilling | UpstreamUnavailable | UpstreamInvalidResponse => {
            (StatusCode::BAD_GATEWAY, "upstream_error")
        }
        UpstreamTimeout => (StatusCode::GATEWAY_TIMEOUT, "upstream_error"),
        ServiceUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "api_error"),
        InternalError => (StatusCode::INTERNAL_SERVER_ERROR, "api_error"),
    }
}

/// The error object inside [`ErrorResponse`].
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorObject {
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `conflict_error`, `rate_limit_error`, `upstream_error` or `api_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Stable machine code, e.g. `validation_error`, `invalid_credentials`.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// The request field at fault, if any.
    #[schema(required = true)]
    pub param: Option<String>,
    /// Extra structured details, if any.
    #[schema(required = true)]
    pub details: Option<serde_json::Value>,
}

/// Every error response body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorObject,
    /// The request id (also in the `X-Request-Id` header).
    #[schema(required = true)]
    pub request_id: Option<String>,
}

/// Marker put in an error response's extensions so the request-id middleware can add the id.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody(pub(crate) ErrorResponse);

/// A use-case error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(Error::new(code, message))
    }
}

/// The error body for an error response actix produced without our [`ApiError`] (e.g. a body
/// extractor's 413), chosen from its status.
pub(crate) fn body_for_status(status: StatusCode) -> ErrorResponse {
    let (code, message) = match status.as_u16() {
        413 => (
            ErrorCode::PayloadTooLarge,
            "request body is over the size limit",
        ),
        404 => (ErrorCode::RouteNotFound, "no such route"),
        405 => (ErrorCode::MethodNotAllowed, "method not allowed"),
        400 | 411 | 415 => (ErrorCode::InvalidJson, "the request body could not be read"),
        401 => (ErrorCode::InvalidToken, "authentication required"),
        403 => (ErrorCode::PermissionDenied, "permission denied"),
        409 => (ErrorCode::Conflict, "conflict"),
        429 => (ErrorCode::RateLimitExceeded, "too many requests"),
        503 => (ErrorCode::ServiceUnavailable, "service unavailable"),
        s if s < 500 => (ErrorCode::ValidationError, "invalid request"),
        _ => (ErrorCode::InternalError, "internal server error"),
    };
    let kind = status_and_type(code).1;
    ErrorResponse {
        error: ErrorObject {
            kind,
            code,
            message: message.to_owned(),
            param: None,
            details: None,
        },
        request_id: None,
    }
}

/// Builds the response for an error; `request_id` is filled in by the middleware.
pub(crate) fn render(e: &Error, request_id: Option<String>) -> HttpResponse {
    let (status, kind) = status_and_type(e.code);
    let body = ErrorResponse {
        error: ErrorObject {
            kind,
            code: e.code,
            message: e.message.clone(),
            param: e.param.clone(),
            details: e.details.clone(),
        },
        request_id,
    };
    let mut res = HttpResponse::build(status);
    if let Some(after) = e.retry_after {
        res.insert_header((header::RETRY_AFTER, after.as_secs().max(1).to_string()));
    }
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    let mut res = res.json(&body);
    res.extensions_mut().insert(ErrorBody(body));
    res
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_and_type(self.0.code).0
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.code == ErrorCode::InternalError {
            tracing::error!(message = %self.0.message, "request failed");
        }
        render(&self.0, None)
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_documented_error_table() {
        assert_eq!(
            status_and_type(ErrorCode::ValidationError),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error")
        );
        assert_eq!(
            status_and_type(ErrorCode::InvalidToken).0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_and_type(ErrorCode::NotFound),
            (StatusCode::NOT_FOUND, "not_found_error")
        );
        assert_eq!(
            status_and_type(ErrorCode::UpstreamRateLimited),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error")
        );
        assert_eq!(
            status_and_type(ErrorCode::UpstreamTimeout),
            (StatusCode::GATEWAY_TIMEOUT, "upstream_error")
        );
        assert_eq!(
            status_and_type(ErrorCode::InternalError).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
