//! The error replies: Google's `google.rpc.Status` bodies for an invalid key and for each
//! [`GeminiMode`] that refuses a request (<https://ai.google.dev/gemini-api/docs/troubleshooting>).

use super::{GeminiBehavior, GeminiMode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

/// A `google.rpc.Status` error body.
pub(super) fn status_body(code: u16, status: &str, message: &str, details: Value) -> Value {
    let mut error = json!({"code": code, "message": message, "status": status});
    if details.as_array().is_some_and(|d| !d.is_empty()) {
        error["details"] = details;
    }
    json!({ "error": error })
}

pub(super) fn error(code: u16, body: Value) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::IM_A_TEAPOT);
    HttpResponse::build(status).json(body)
}

fn key_invalid(received: &str) -> HttpResponse {
    error(
        400,
        status_body(
            400,
            "INVALID_ARGUMENT",
            &format!("API key not valid. Please pass a valid API key. (received: {received})"),
            json!([
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"}
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "API key not valid. Please pass a valid API key."
                }
            ]),
        ),
    )
}

fn rate_limited(model: &str, secs: u64) -> Value {
    status_body(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        json!([
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": "15"
                }]
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"
                }]
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}
        ]),
    )
}

pub(super) fn unavailable_body() -> Value {
    status_body(
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        json!([]),
    )
}

/// The answer to a missing or wrong key, or to an error mode; `None` to go on.
pub(super) fn refusal(
    behavior: &GeminiBehavior,
    req: &HttpRequest,
    model: &str,
) -> Option<HttpResponse> {
    let received = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if received != behavior.api_key || behavior.mode == GeminiMode::InvalidApiKey {
        return Some(key_invalid(received));
    }
    let response = match &behavior.mode {
        &GeminiMode::RateLimited { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after_secs.to_string()))
            .json(rate_limited(model, retry_after_secs)),
        &GeminiMode::RateLimitedRetryInfoOnly { retry_delay_secs } => {
            error(429, rate_limited(model, retry_delay_secs))
        }
        GeminiMode::ServerError => error(
            500,
            status_body(
                500,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                json!([]),
            ),
        ),
        GeminiMode::Unavailable => error(503, unavailable_body()),
        GeminiMode::DeadlineExceeded => error(
            504,
            status_body(
                504,
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete.",
                json!([]),
            ),
        ),
        GeminiMode::NotFound => error(
            404,
            status_body(
                404,
                "NOT_FOUND",
                &format!(
                    "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
                ),
                json!([]),
            ),
        ),
        GeminiMode::BillingRequired => error(
            400,
            status_body(
                400,
                "FAILED_PRECONDITION",
                "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.",
                json!([]),
            ),
        ),
        GeminiMode::TooManyTokens => error(
            400,
            status_body(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
            ),
        ),
        GeminiMode::Ok
        | GeminiMode::InvalidApiKey
        | GeminiMode::PromptBlocked
        | GeminiMode::SafetyMidStream
        | GeminiMode::ErrorMidStream
        | GeminiMode::CutOff
        | GeminiMode::FunctionCall => return None,
    };
    Some(response)
}
