//! Gemini's error bodies (`google.rpc.Status`) → [`ProviderError`]: the status code, the
//! `RetryInfo` delay and the mapped error code
//! (<https://ai.google.dev/gemini-api/docs/troubleshooting>).

use crate::ProviderError;
use crate::gemini::wire::Status;
use crate::http::{ErrorHint, Op, from_response_parts};
use std::time::Duration;

/// The longest `RetryInfo.retryDelay` taken as a retry hint (one day).
const MAX_RETRY_DELAY_SECS: f64 = 86_400.0;

/// The HTTP status an error object stands for: its `code` when it is one, else the status
/// implied by its canonical name (`RESOURCE_EXHAUSTED` → 429, …).
pub(super) fn status_code(status: &Status) -> u16 {
    if let Some(code) = status.code.filter(|c| (400..=599).contains(c)) {
        return code;
    }
    match status.status.as_deref().unwrap_or("") {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "RESOURCE_EXHAUSTED" => 429,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => 500,
    }
}

/// `RetryInfo.retryDelay` (`"7s"`, `"1.5s"`), rounded up to whole seconds.
pub(super) fn retry_delay(status: &Status) -> Option<Duration> {
    let delay = status
        .details
        .iter()
        .find_map(|d| d.retry_delay.as_deref())?;
    let secs: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && (0.0..=MAX_RETRY_DELAY_SECS).contains(&secs))
        .then(|| Duration::from_secs(secs.ceil() as u64))
}

/// Maps a failed response from its HTTP status, `Retry-After` and body (Gemini's
/// `{"error": {code, message, status, details}}`; anything else maps by status alone).
pub(crate) fn map_error(
    http_status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    op: Op,
) -> ProviderError {
    match serde_json::from_slice::<crate::gemini::wire::ErrorBody>(body) {
        Ok(body) => map_status(&body.error, http_status, retry_after, op),
        Err(_) => from_response_parts(http_status, retry_after, ErrorHint::default(), op),
    }
}

/// Maps a `google.rpc.Status`:
/// - `ErrorInfo.reason` `API_KEY_INVALID` (a 400), `PERMISSION_DENIED` or `UNAUTHENTICATED`
///   → `provider_key_invalid`;
/// - `FAILED_PRECONDITION` whose message mentions billing → `upstream_billing`;
/// - `INVALID_ARGUMENT` whose message says the input "exceeds the maximum number of tokens" →
///   `context_length_exceeded`;
/// - 429 → `upstream_rate_limited` with `Retry-After`, or `RetryInfo.retryDelay` when the header
///   is absent;
/// - otherwise by status ([`crate::http::from_status`]), an unspecific 4xx naming the reason or
///   canonical status as its code.
///
/// The message is read but never copied into the error.
pub(crate) fn map_status(
    status: &Status,
    http_status: u16,
    retry_after: Option<Duration>,
    op: Op,
) -> ProviderError {
    let reason = status.details.iter().find_map(|d| d.reason.as_deref());
    let canonical = status.status.as_deref().unwrap_or("");
    let message = status.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let hint = ErrorHint {
        key_invalid: matches!(reason, Some("API_KEY_INVALID"))
            || matches!(canonical, "PERMISSION_DENIED" | "UNAUTHENTICATED"),
        billing: canonical == "FAILED_PRECONDITION" && message.contains("billing"),
        context_length: canonical == "INVALID_ARGUMENT"
            && message.contains("exceeds the maximum number of tokens"),
        code: reason.or(status.status.as_deref()),
    };
    let retry_after = retry_after.or_else(|| retry_delay(status));
    from_response_parts(http_status, retry_after, hint, op)
}
