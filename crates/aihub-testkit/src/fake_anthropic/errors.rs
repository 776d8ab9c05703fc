//! The checks a request must pass (headers, body) and the error replies of each
//! [`AnthropicMode`], in Anthropic's error shape (<https://docs.anthropic.com/en/api/errors>).

use super::{AnthropicMode, VERSION_HEADER};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

/// Anthropic's error response: `{"type":"error","error":{"type","message"},"request_id"}`.
pub(super) fn error(status: u16, kind: &str, message: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011CFakeRequestId"
    }))
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The real API's header checks: a key is required (401), and so is `anthropic-version`
/// (400).
pub(super) fn check_headers(req: &HttpRequest) -> Option<HttpResponse> {
    if header(req, "x-api-key").is_none_or(str::is_empty) {
        return Some(error(
            401,
            "authentication_error",
            "x-api-key header is required",
        ));
    }
    if header(req, VERSION_HEADER).is_none_or(str::is_empty) {
        return Some(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    None
}

/// The mode's HTTP error, or `None` for success and the stream-only modes.
pub(super) fn mode_error(
    mode: &AnthropicMode,
    req: &HttpRequest,
    model: &str,
) -> Option<HttpResponse> {
    let response = match mode {
        AnthropicMode::Ok | AnthropicMode::InBandError | AnthropicMode::CutOff => return None,
        AnthropicMode::InvalidApiKey => {
            let key = header(req, "x-api-key").unwrap_or("");
            error(
                401,
                "authentication_error",
                &format!("invalid x-api-key: {key}"),
            )
        }
        &AnthropicMode::RateLimited { retry_after_secs } => {
            let mut response = error(
                429,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 requests per minute.",
            );
            let headers = response.headers_mut();
            for (name, value) in [
                ("retry-after", retry_after_secs.to_string()),
                ("anthropic-ratelimit-requests-limit", "50".to_owned()),
                ("anthropic-ratelimit-requests-remaining", "0".to_owned()),
            ] {
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
                    headers.insert(
                        actix_web::http::header::HeaderName::from_static(name),
                        value,
                    );
                }
            }
            response
        }
        AnthropicMode::Overloaded => error(529, "overloaded_error", "Overloaded"),
        AnthropicMode::CreditBalance => error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        AnthropicMode::PromptTooLong => error(
            400,
            "invalid_request_error",
            "prompt is too long: 250000 tokens > 200000 maximum",
        ),
        AnthropicMode::NotFound => error(404, "not_found_error", &format!("model: {model}")),
        AnthropicMode::ServerError => error(500, "api_error", "Internal server error"),
    };
    Some(response)
}

/// The real API's body checks the fake repeats: `max_tokens` is required and `messages` holds
/// only `user` and `assistant` turns (a system prompt goes in the top-level `system`).
pub(super) fn check_body(request: &Value) -> Option<HttpResponse> {
    if !request["max_tokens"].is_u64() {
        return Some(error(
            400,
            "invalid_request_error",
            "max_tokens: Field required",
        ));
    }
    let Some(messages) = request["messages"].as_array() else {
        return Some(error(
            400,
            "invalid_request_error",
            "messages: Field required",
        ));
    };
    for (i, message) in messages.iter().enumerate() {
        if !matches!(message["role"].as_str(), Some("user" | "assistant")) {
            return Some(error(
                400,
                "invalid_request_error",
                &format!("messages.{i}.role: Input should be 'user' or 'assistant'"),
            ));
        }
    }
    None
}
