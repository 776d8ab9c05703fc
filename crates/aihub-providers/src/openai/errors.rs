//! Maps OpenAI-wire error bodies and in-stream error events onto [`ProviderError`]. Pure: no
//! I/O; the status mapping itself is [`crate::http::from_status`].
//!
//! Messages are fixed sentences: the upstream's `error.message` and body are never copied (they
//! can quote the prompt or part of the API key). Only a sanitized `error.code` is appended to
//! `upstream_bad_request`.

use super::wire::{ErrorBody, ErrorObject};
use crate::ProviderError;
use crate::http::{self, ErrorHint, Op};
use aihub_domain::ErrorCode;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// What an error object says, for [`ErrorHint`].
fn hint(e: &ErrorObject) -> ErrorHint<'_> {
    let code = e.code_str();
    let kind = e.kind.as_deref();
    let any = |pred: &dyn Fn(&str) -> bool| code.is_some_and(pred) || kind.is_some_and(pred);
    ErrorHint {
        billing: any(&|s| {
            s.contains("quota") || s.contains("billing") || s == "insufficient_credits"
        }),
        // `exceed_context_size_error` is llama.cpp's type.
        context_length: any(&|s| {
            s == "context_length_exceeded" || s == "exceed_context_size_error"
        }),
        key_invalid: code == Some("invalid_api_key"),
        code,
    }
}

/// Parses an error body, or `None` when it is not the `{"error": {...}}` envelope.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ErrorObject> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// Maps a failed response (status, `Retry-After`, up to 64 KiB of body) of call `op`.
/// `Retry-After` is kept on `upstream_rate_limited`.
pub(crate) fn from_error_response(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    op: Op,
) -> ProviderError {
    let parsed = parse_error_body(body);
    let hint = parsed.as_ref().map(hint).unwrap_or_default();
    http::from_response_parts(status, retry_after, hint, op)
}

/// `{"error": …}` with anything but `null` as the value: an error event in the middle of a
/// stream (OpenRouter, vLLM, llama.cpp), or an error body sent with a success status.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: Value,
}

/// The error an event (or a success body) carries, if it is an error envelope.
///
/// Cheap for ordinary chunks: only data mentioning an `"error"` key is parsed twice.
pub(crate) fn in_band_error(data: &str) -> Option<ProviderError> {
    if !data.contains("\"error\"") {
        return None;
    }
    let envelope: ErrorEnvelope = serde_json::from_str(data).ok()?;
    match envelope.error {
        Value::Null => None,
        Value::Object(_) => {
            let object: ErrorObject = serde_json::from_value(envelope.error).unwrap_or_default();
            Some(from_error_object(&object))
        }
        _ => Some(reported_failure()),
    }
}

/// Maps an error object that came without an HTTP status (in band): by its numeric code when
/// it is a status (llama.cpp, OpenRouter), else by its code and type.
pub(crate) fn from_error_object(e: &ErrorObject) -> ProviderError {
    match e.code_status() {
        Some(status) => http::from_status(status, hint(e), Op::Chat),
        None => from_detail(e).unwrap_or_else(reported_failure),
    }
}

/// The error for an error envelope that names no known code, type or status.
fn reported_failure() -> ProviderError {
    ProviderError::new(
        ErrorCode::UpstreamUnavailable,
        "the upstream reported an error",
    )
}

/// The error for a stream the upstream ended with a failure it did not describe
/// (`finish_reason: "error"`, an `event: error`).
pub(crate) fn mid_stream_failure() -> ProviderError {
    ProviderError::new(
        ErrorCode::UpstreamUnavailable,
        "the upstream failed mid-stream",
    )
}

fn from_detail(e: &ErrorObject) -> Option<ProviderError> {
    let h = hint(e);
    let code = e.code_str();
    let kind = e.kind.as_deref();
    let any = |names: &[&str]| {
        code.is_some_and(|c| names.contains(&c)) || kind.is_some_and(|k| names.contains(&k))
    };
    let (code, message) = if h.billing {
        (
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit or quota",
        )
    } else if h.context_length {
        (
            ErrorCode::ContextLengthExceeded,
            "the prompt does not fit the model's context window",
        )
    } else if any(&["invalid_api_key", "authentication_error"]) {
        (
            ErrorCode::ProviderKeyInvalid,
            "the upstream rejected the provider's API key",
        )
    } else if any(&["rate_limit_exceeded", "rate_limit_error"]) {
        (
            ErrorCode::UpstreamRateLimited,
            "the upstream is rate limiting this provider",
        )
    } else if any(&["model_not_found"]) {
        (
            ErrorCode::ModelNotFound,
            "the model does not exist upstream",
        )
    } else if any(&["server_error", "api_error"]) {
        (ErrorCode::UpstreamUnavailable, "the upstream failed")
    } else {
        return None;
    };
    Some(ProviderError::new(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error bodies as OpenAI documents them (the 401 quotes part of the key, as OpenAI does).
    const CASES: &[(u16, &str, ErrorCode)] = &[
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-secret-123. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            ErrorCode::ProviderKeyInvalid,
        ),
        (
            403,
            r#"{"error":{"message":"Country, region, or territory not supported","type":"request_forbidden","param":null,"code":"unsupported_country_region_territory"}}"#,
            ErrorCode::ProviderKeyInvalid,
        ),
        (
            429,
            r#"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            ErrorCode::UpstreamRateLimited,
        ),
        (
            429,
            r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            ErrorCode::UpstreamBilling,
        ),
        (
            429,
            r#"{"error":{"message":"Billing hard limit has been reached","type":"invalid_request_error","param":null,"code":"billing_hard_limit_reached"}}"#,
            ErrorCode::UpstreamBilling,
        ),
        (
            402,
            r#"{"error":{"message":"Insufficient credits","code":"402"}}"#,
            ErrorCode::UpstreamBilling,
        ),
        (
            404,
            r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
            ErrorCode::ModelNotFound,
        ),
        (
            400,
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            ErrorCode::ContextLengthExceeded,
        ),
        (
            400,
            r#"{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#,
            ErrorCode::UpstreamBadRequest,
        ),
        (
            422,
            r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#,
            ErrorCode::UpstreamBadRequest,
        ),
        (
            500,
            r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#,
            ErrorCode::UpstreamUnavailable,
        ),
        (
            503,
            r#"{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}"#,
            ErrorCode::UpstreamUnavailable,
        ),
        // llama.cpp: numeric codes and its own types.
        (
            401,
            r#"{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}"#,
            ErrorCode::ProviderKeyInvalid,
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
            ErrorCode::ContextLengthExceeded,
        ),
        (
            502,
            "<html><head><title>502 Bad Gateway</title></head></html>",
            ErrorCode::UpstreamUnavailable,
        ),
    ];

    #[test]
    fn documented_error_bodies_map() {
        for &(status, body, want) in CASES {
            let got = from_error_response(status, None, body.as_bytes(), Op::Chat);
            assert_eq!(got.code, want, "{status} {body}");
            assert_eq!(got.status, Some(status));
            assert_eq!(got.retry_after, None);
            assert!(!got.message.contains("sk-secret"), "{got:?}");
            assert!(!got.message.contains("Rate limit reached"), "{got:?}");
        }
    }

    #[test]
    fn retry_after_is_kept_on_rate_limits_only() {
        let after = Some(Duration::from_secs(20));
        let got = from_error_response(429, after, CASES[2].1.as_bytes(), Op::Chat);
        assert_eq!(got.retry_after, after);
        let got = from_error_response(429, after, CASES[3].1.as_bytes(), Op::Chat);
        assert_eq!(
            (got.code, got.retry_after),
            (ErrorCode::UpstreamBilling, None)
        );
    }

    #[test]
    fn bad_request_message_carries_only_a_safe_code() {
        let got = from_error_response(400, None, CASES[8].1.as_bytes(), Op::Chat);
        assert_eq!(
            got.message,
            "the upstream refused the request as invalid (code: invalid_value)"
        );
        let sneaky = r#"{"error":{"message":"x","code":"leak sk-secret-123 here"}}"#;
        let got = from_error_response(400, None, sneaky.as_bytes(), Op::Chat);
        assert_eq!(got.message, "the upstream refused the request as invalid");
    }

    #[test]
    fn models_404_means_wrong_base_url() {
        let got = from_error_response(404, None, b"404 page not found", Op::Models);
        assert_eq!(got.code, ErrorCode::UpstreamUnavailable);
    }

    #[test]
    fn in_band_errors_map_by_numeric_code_or_type() {
        let cases = [
            (
                r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
                ErrorCode::UpstreamUnavailable,
                None,
            ),
            (
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
                ErrorCode::UpstreamUnavailable,
                Some(503),
            ),
            (
                r#"{"error":{"code":429,"message":"slow down"}}"#,
                ErrorCode::UpstreamRateLimited,
                Some(429),
            ),
            (
                r#"{"error":{"code":"insufficient_quota","message":"x","type":"insufficient_quota"}}"#,
                ErrorCode::UpstreamBilling,
                None,
            ),
            (
                r#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
                ErrorCode::UpstreamUnavailable,
                None,
            ),
            (
                r#"{"error":"something broke"}"#,
                ErrorCode::UpstreamUnavailable,
                None,
            ),
            (
                r#"{"error":{"message":"mystery"}}"#,
                ErrorCode::UpstreamUnavailable,
                None,
            ),
        ];
        for (data, code, status) in cases {
            let got = in_band_error(data).expect("an error event");
            assert_eq!((got.code, got.status), (code, status), "{data}");
            assert!(!got.message.contains("Provider disconnected"), "{got:?}");
        }
    }

    #[test]
    fn ordinary_chunks_are_no_errors() {
        for data in [
            r#"{"id":"x","choices":[{"index":0,"delta":{"content":"the \"error\" word"}}]}"#,
            r#"{"id":"x","choices":[],"error":null}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{}}]}"#,
        ] {
            assert_eq!(in_band_error(data), None, "{data}");
        }
    }
}
