//! The error replies of each [`FakeMode`], with OpenAI's documented status codes and bodies
//! (<https://platform.openai.com/docs/guides/error-codes>).

use super::{COMPLETION_ID, FakeMode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

/// OpenAI's error response for `mode`, or `None` for [`FakeMode::Ok`] and the modes that
/// answer with a success status.
pub(super) fn error_response(
    mode: &FakeMode,
    req: &HttpRequest,
    model: &str,
) -> Option<HttpResponse> {
    let body = |message: String, kind: &str, param: Option<&str>, code: Option<&str>| json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    let response = match mode {
        FakeMode::Ok
        | FakeMode::MalformedJson
        | FakeMode::StallMidStream
        | FakeMode::InBandError
        | FakeMode::MalformedSse
        | FakeMode::EofWithoutDone => return None,
        FakeMode::InvalidApiKey => {
            let key = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            HttpResponse::Unauthorized().json(body(
                format!(
                    "Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."
                ),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ))
        }
        &FakeMode::RateLimited { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after_secs.to_string()))
            .insert_header(("x-ratelimit-limit-requests", "3"))
            .insert_header(("x-ratelimit-remaining-requests", "0"))
            .json(body(
                format!(
                    "Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in {retry_after_secs}s. Visit https://platform.openai.com/account/rate-limits to learn more."
                ),
                "requests",
                None,
                Some("rate_limit_exceeded"),
            )),
        FakeMode::InsufficientQuota => HttpResponse::TooManyRequests().json(body(
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.".to_owned(),
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
        )),
        FakeMode::ServerErrorQuotingKey => {
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body(format!("upstream proxy failure for request with {auth}"))
        }
        FakeMode::ServerError => HttpResponse::InternalServerError().json(body(
            "The server had an error while processing your request. Sorry about that!".to_owned(),
            "server_error",
            None,
            None,
        )),
        FakeMode::ContextLengthExceeded => HttpResponse::BadRequest().json(body(
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.".to_owned(),
            "invalid_request_error",
            Some("messages"),
            Some("context_length_exceeded"),
        )),
        FakeMode::ModelNotFound => HttpResponse::NotFound().json(body(
            format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            None,
            Some("model_not_found"),
        )),
        FakeMode::RedirectTo(location) => {
            HttpResponse::TemporaryRedirect().insert_header(("location", location.as_str())).finish()
        }
        FakeMode::BadGateway => HttpResponse::BadGateway()
            .content_type("text/html")
            .body("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"),
        FakeMode::ServiceUnavailable => HttpResponse::ServiceUnavailable().json(body(
            "The engine is currently overloaded, please try again later.".to_owned(),
            "server_error",
            None,
            None,
        )),
    };
    Some(response)
}

/// A 200 whose body claims JSON but is cut off.
pub(super) fn malformed_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(format!(
            r#"{{"id": "{COMPLETION_ID}", "object": "chat.completion", "choices": [{{"index": 0, "#
        ))
}
