//! Maps async-openai and reqwest failures onto [`ProviderError`]. Pure: no I/O.
//!
//! Messages are fixed sentences: the upstream's `error.message` and body are never copied (they
//! can quote the prompt or part of the API key). Only a sanitized `error.code` is appended to
//! `upstream_bad_request`. async-openai drops response headers on errors, so `retry_after` stays
//! `None` for chat calls; `GET /models` reads it itself.

use super::wire::{self, WireError};
use crate::ProviderError;
use aihub_domain::ErrorCode;
use async_openai::error::{ApiError, OpenAIError};

/// Which call failed: a 404 means "no such model" on chat but "wrong base URL" on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `POST /chat/completions`.
    Chat,
    /// `GET /models`.
    Models,
}

fn err(code: ErrorCode, message: impl Into<String>) -> ProviderError {
    ProviderError::new(code, message)
}

fn with_status(mut e: ProviderError, status: u16) -> ProviderError {
    e.status = Some(status);
    e
}

/// The code and type of an upstream error object, the only parts used for mapping.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Detail<'a> {
    /// `error.code` when a string.
    pub code: Option<&'a str>,
    /// `error.type`.
    pub kind: Option<&'a str>,
}

impl<'a> Detail<'a> {
    fn from_api(e: &'a ApiError) -> Self {
        Detail {
            code: e.code.as_deref(),
            kind: e.r#type.as_deref(),
        }
    }

    pub(crate) fn from_wire(e: &'a WireError) -> Self {
        Detail {
            code: e.code_str(),
            kind: e.kind.as_deref(),
        }
    }

    fn any(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.code.is_some_and(&pred) || self.kind.is_some_and(&pred)
    }

    fn is_billing(&self) -> bool {
        self.any(|s| s.contains("quota") || s.contains("billing") || s == "insufficient_credits")
    }

    fn is_context_length(&self) -> bool {
        // `exceed_context_size_error` is llama.cpp's type.
        self.any(|s| s == "context_length_exceeded" || s == "exceed_context_size_error")
    }

    /// The code, when it looks like an identifier (so it cannot smuggle text into a message).
    fn safe_code(&self) -> Option<&'a str> {
        self.code.filter(|c| {
            !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        })
    }
}

/// Maps an upstream HTTP error status and its error object.
pub(crate) fn from_status(status: u16, detail: Detail<'_>, op: Op) -> ProviderError {
    let e = match status {
        401 | 403 => err(
            ErrorCode::ProviderKeyInvalid,
            "the upstream rejected the provider's API key",
        ),
        402 => err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit",
        ),
        429 if detail.is_billing() => err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit or quota",
        ),
        429 => err(
            ErrorCode::UpstreamRateLimited,
            "the upstream is rate limiting this provider",
        ),
        404 if op == Op::Models => err(
            ErrorCode::UpstreamUnavailable,
            "the upstream has no model list at this base_url",
        ),
        404 => err(
            ErrorCode::ModelNotFound,
            "the model does not exist upstream",
        ),
        408 => err(ErrorCode::UpstreamTimeout, "the upstream timed out"),
        400..=499 if detail.is_context_length() => err(
            ErrorCode::ContextLengthExceeded,
            "the prompt does not fit the model's context window",
        ),
        400..=499 => {
            let message = match detail.safe_code() {
                Some(code) => format!("the upstream refused the request as invalid (code: {code})"),
                None => "the upstream refused the request as invalid".to_owned(),
            };
            err(ErrorCode::UpstreamBadRequest, message)
        }
        500..=599 => err(
            ErrorCode::UpstreamUnavailable,
            format!("the upstream failed (HTTP {status})"),
        ),
        _ => err(
            ErrorCode::UpstreamInvalidResponse,
            format!("the upstream answered HTTP {status}"),
        ),
    };
    with_status(e, status)
}

/// Maps a transport failure. A refusal by the SSRF resolver is found in the source chain and
/// returned as is (`unsafe_base_url`).
pub(crate) fn from_reqwest(e: &reqwest::Error) -> ProviderError {
    if let Some(refused) = find_provider_error(e) {
        return refused;
    }
    let mapped = if e.is_timeout() {
        err(
            ErrorCode::UpstreamTimeout,
            "the upstream did not answer in time",
        )
    } else if e.is_connect() {
        err(
            ErrorCode::UpstreamUnavailable,
            "could not connect to the upstream",
        )
    } else if e.is_decode() {
        err(
            ErrorCode::UpstreamInvalidResponse,
            "the upstream answer could not be decoded",
        )
    } else if e.is_redirect() {
        err(
            ErrorCode::UpstreamInvalidResponse,
            "the upstream answered with a redirect",
        )
    } else {
        err(
            ErrorCode::UpstreamUnavailable,
            "the upstream connection failed",
        )
    };
    match e.status() {
        Some(s) => with_status(mapped, s.as_u16()),
        None => mapped,
    }
}

fn find_provider_error(e: &(dyn std::error::Error + 'static)) -> Option<ProviderError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = current {
        if let Some(found) = inner.downcast_ref::<ProviderError>() {
            return Some(found.clone());
        }
        current = inner.source();
    }
    None
}

/// Maps a failure of a non-streaming call (or of opening a stream).
pub(crate) fn from_openai(e: &OpenAIError, op: Op) -> ProviderError {
    match e {
        OpenAIError::ApiError(resp) => from_status(
            resp.status_code.as_u16(),
            Detail::from_api(&resp.api_error),
            op,
        ),
        OpenAIError::Reqwest(re) => from_reqwest(re),
        OpenAIError::JSONDeserialize(_, body) => {
            from_unparsed_body(body, op).unwrap_or_else(|| {
                err(
                    ErrorCode::UpstreamInvalidResponse,
                    "the upstream answer is not in the OpenAI format",
                )
            })
        }
        OpenAIError::StreamError(_) => {
            err(ErrorCode::UpstreamUnavailable, "the upstream stream failed")
        }
        _ => err(
            ErrorCode::InternalError,
            "the upstream request could not be built",
        ),
    }
}

/// Maps a failure in the middle of a stream.
pub(crate) fn from_stream(e: &OpenAIError) -> ProviderError {
    match e {
        OpenAIError::StreamError(_) | OpenAIError::Reqwest(_) => {
            // async-openai flattens transport errors to text here; a timeout reads as a break.
            err(
                ErrorCode::UpstreamUnavailable,
                "the upstream stream broke off",
            )
        }
        OpenAIError::JSONDeserialize(_, body) => match wire::parse_error_body(body.as_bytes()) {
            // An `{"error": ...}` event mid-stream: the upstream failed while generating.
            Some(w) => match w.code_status() {
                Some(status) => from_status(status, Detail::from_wire(&w), Op::Chat),
                None => from_detail(Detail::from_wire(&w)).unwrap_or_else(|| {
                    err(
                        ErrorCode::UpstreamUnavailable,
                        "the upstream failed mid-stream",
                    )
                }),
            },
            None => err(
                ErrorCode::UpstreamInvalidResponse,
                "the upstream sent a chunk that is not in the OpenAI format",
            ),
        },
        other => from_openai(other, Op::Chat),
    }
}

/// An error body async-openai could not parse (llama.cpp's numeric `code`): recovers the status
/// from the number, or maps by the type alone. `None` when the body is no error envelope.
fn from_unparsed_body(body: &str, op: Op) -> Option<ProviderError> {
    let w = wire::parse_error_body(body.as_bytes())?;
    match w.code_status() {
        Some(status) => Some(from_status(status, Detail::from_wire(&w), op)),
        None => from_detail(Detail::from_wire(&w)),
    }
}

/// Maps an error object that came without an HTTP status.
fn from_detail(d: Detail<'_>) -> Option<ProviderError> {
    let mapped = if d.is_billing() {
        err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit or quota",
        )
    } else if d.is_context_length() {
        err(
            ErrorCode::ContextLengthExceeded,
            "the prompt does not fit the model's context window",
        )
    } else if d.any(|s| s == "invalid_api_key" || s == "authentication_error") {
        err(
            ErrorCode::ProviderKeyInvalid,
            "the upstream rejected the provider's API key",
        )
    } else if d.any(|s| s == "rate_limit_exceeded" || s == "rate_limit_error") {
        err(
            ErrorCode::UpstreamRateLimited,
            "the upstream is rate limiting this provider",
        )
    } else if d.any(|s| s == "model_not_found") {
        err(
            ErrorCode::ModelNotFound,
            "the model does not exist upstream",
        )
    } else if d.any(|s| s == "server_error" || s == "api_error") {
        err(ErrorCode::UpstreamUnavailable, "the upstream failed")
    } else {
        return None;
    };
    Some(mapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::error::ApiErrorResponse;

    fn api_error(status: u16, body: &str) -> OpenAIError {
        let wrapped: async_openai::error::WrappedError =
            serde_json::from_str(body).expect("fixture");
        OpenAIError::ApiError(ApiErrorResponse {
            status_code: reqwest::StatusCode::from_u16(status).expect("status"),
            api_error: wrapped.error,
        })
    }

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
    ];

    #[test]
    fn documented_error_bodies_map() {
        for &(status, body, want) in CASES {
            let got = from_openai(&api_error(status, body), Op::Chat);
            assert_eq!(got.code, want, "{status} {body}");
            assert_eq!(got.status, Some(status));
            assert_eq!(got.retry_after, None);
            assert!(!got.message.contains("sk-secret"), "{got:?}");
            assert!(!got.message.contains("Rate limit reached"), "{got:?}");
        }
    }

    #[test]
    fn bad_request_message_carries_only_a_safe_code() {
        let got = from_openai(&api_error(400, CASES[8].1), Op::Chat);
        assert_eq!(
            got.message,
            "the upstream refused the request as invalid (code: invalid_value)"
        );
        let sneaky = r#"{"error":{"message":"x","code":"leak sk-secret-123 here"}}"#;
        let got = from_openai(&api_error(400, sneaky), Op::Chat);
        assert_eq!(got.message, "the upstream refused the request as invalid");
    }

    #[test]
    fn models_404_means_wrong_base_url() {
        let got = from_status(404, Detail::default(), Op::Models);
        assert_eq!(got.code, ErrorCode::UpstreamUnavailable);
    }

    #[test]
    fn llama_cpp_numeric_codes_recover_the_status() {
        let cases = [
            (
                r#"{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}"#,
                ErrorCode::ProviderKeyInvalid,
                Some(401),
            ),
            (
                r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
                ErrorCode::ContextLengthExceeded,
                Some(400),
            ),
            (
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
                ErrorCode::UpstreamUnavailable,
                Some(503),
            ),
        ];
        for (body, want, status) in cases {
            let e = serde_json::from_str::<ApiError>("{").expect_err("invalid json");
            let got = from_openai(&OpenAIError::JSONDeserialize(e, body.to_owned()), Op::Chat);
            assert_eq!((got.code, got.status), (want, status), "{body}");
        }
    }

    #[test]
    fn unparseable_success_is_invalid_response() {
        let body = r#"{"id":"x","choices":[{"finish_reason":"eos"}]}"#;
        let e = serde_json::from_str::<ApiError>("{").expect_err("invalid json");
        let got = from_openai(&OpenAIError::JSONDeserialize(e, body.to_owned()), Op::Chat);
        assert_eq!(got.code, ErrorCode::UpstreamInvalidResponse);
        assert!(!got.message.contains("eos"));
    }

    #[test]
    fn mid_stream_errors_map() {
        let e = || serde_json::from_str::<ApiError>("{").expect_err("invalid json");
        let error_event = r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#;
        let got = from_stream(&OpenAIError::JSONDeserialize(e(), error_event.to_owned()));
        assert_eq!(got.code, ErrorCode::UpstreamUnavailable);
        let garbage = from_stream(&OpenAIError::JSONDeserialize(e(), "<html>".to_owned()));
        assert_eq!(garbage.code, ErrorCode::UpstreamInvalidResponse);
        let broken = from_stream(&OpenAIError::StreamError(Box::new(
            async_openai::error::StreamError::EventStream("connection reset".into()),
        )));
        assert_eq!(broken.code, ErrorCode::UpstreamUnavailable);
    }
}
