//! The error replies of each [`OllamaMode`], in Ollama's `{"error": "…"}` shape.

use super::{OllamaBehavior, OllamaMode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

pub(super) fn error_body(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

/// The error every route answers before its own work: a missing key, or an error mode.
pub(super) fn route_error(
    behavior: &OllamaBehavior,
    req: &HttpRequest,
    model: &str,
) -> Option<HttpResponse> {
    use actix_web::http::StatusCode;
    if let Some(key) = &behavior.api_key {
        let expected = format!("Bearer {key}");
        let sent = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if sent != Some(expected.as_str()) {
            return Some(error_body(StatusCode::UNAUTHORIZED, "unauthorized"));
        }
    }
    match &behavior.mode {
        OllamaMode::ModelNotFound => Some(error_body(
            StatusCode::NOT_FOUND,
            &format!("model '{model}' not found, try pulling it first"),
        )),
        OllamaMode::ServerError => Some(error_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "model requires more system memory (12.1 GiB) than is available (8.0 GiB)",
        )),
        &OllamaMode::RateLimited { retry_after_secs } => Some(
            HttpResponse::TooManyRequests()
                .insert_header(("retry-after", retry_after_secs.to_string()))
                .json(json!({"error": format!("too many requests for {model}, retry in {retry_after_secs}s")})),
        ),
        OllamaMode::Ok
        | OllamaMode::ToolCall
        | OllamaMode::MidStreamError
        | OllamaMode::CutOff
        | OllamaMode::Malformed => None,
    }
}

/// The text of a mid-stream error line (quotes the model, so tests can prove it is not
/// copied into errors).
pub(super) fn runtime_error(model: &str) -> String {
    format!("an error was encountered while running the model {model}: unexpected EOF")
}
