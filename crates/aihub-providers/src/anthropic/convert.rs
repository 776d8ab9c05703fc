//! Pure conversions between AI Hub's canonical chat types and Anthropic's Messages API
//! (<https://docs.anthropic.com/en/api/messages>): the request, the reply, stream events, error
//! bodies and the model list. No I/O.
//!
//! Where the two differ:
//! - system messages (wherever they are) are joined with a blank line into the top-level
//!   `system` string, since Anthropic has no `system` role;
//! - consecutive turns of the same role are merged into one turn of several blocks (Anthropic
//!   wants `user` and `assistant` to alternate), and `tool` messages become `user` turns holding
//!   a `tool_result` block, so parallel tool results share one turn as Anthropic requires;
//! - `max_tokens` is required by Anthropic: [`DEFAULT_MAX_TOKENS`] when the request sets none;
//! - `response_format` has no Anthropic field: JSON output is asked for by an instruction
//!   appended to the system prompt (see [`request::json_instruction`]);
//! - `seed`, message `name`, tool `strict` and `extra` have no Anthropic equivalent and are
//!   not sent.
//!
//! Layout: the request side is in `convert/request.rs`, stream events in `convert/stream.rs`;
//! the reply, usage, error bodies and the model list stay here.

use super::wire::{ErrorBody, ErrorDetail, MessagesResponse, ModelList, ResponseBlock, WireUsage};
use crate::ProviderError;
use crate::http::{self, ErrorHint, Op};
use aihub_domain::{ChatResponse, FinishReason, ModelInfo, ToolCall, Usage};

mod request;
mod stream;

pub(crate) use request::to_wire_request;
pub(crate) use stream::{Step, StreamConverter};

/// `max_tokens` sent when the request sets none. Anthropic requires the field; 4096 is the
/// largest output every current Claude model accepts (Claude 3 Haiku's cap), so the default
/// never makes a request invalid.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The vendor name used in error messages.
const VENDOR: &str = "Anthropic";

/// Anthropic's `stop_reason` as a canonical finish reason: `end_turn`, `stop_sequence` and
/// `pause_turn` → stop; `max_tokens` and `model_context_window_exceeded` → length; `tool_use`
/// → tool calls; `refusal` → content filter; anything later → stop.
pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Canonical usage: prompt = input + cache creation + cache read tokens (Anthropic counts
/// cached input apart from `input_tokens`), completion = output tokens.
pub(crate) fn usage(usage: &WireUsage) -> Usage {
    let prompt = [
        usage.input_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
    ]
    .into_iter()
    .flatten()
    .fold(0u32, u32::saturating_add);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: usage.output_tokens.unwrap_or(0),
        estimated: false,
    }
}

/// A non-streaming reply: text blocks concatenated, `tool_use` blocks as tool calls with their
/// `input` serialized as JSON text; other block types (thinking, server tools) are skipped.
pub(crate) fn from_wire_response(response: MessagesResponse) -> ChatResponse {
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            ResponseBlock::Text { text } => content.push_str(&text),
            ResponseBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: input.to_string(),
            }),
            ResponseBlock::Other => {}
        }
    }
    ChatResponse {
        id: Some(response.id).filter(|id| !id.is_empty()),
        model: response.model,
        content,
        tool_calls,
        finish_reason: response.stop_reason.as_deref().map(finish_reason),
        usage: Some(usage(&response.usage)),
    }
}

/// Reads an error body; `None` when it is not Anthropic's shape.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ErrorDetail> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// What an error body says beyond its status. The message is looked at only to classify:
/// "credit balance" (400 `invalid_request_error`) is billing, "prompt is too long" or
/// "exceed context limit" is context length; `billing_error` and a 429 whose
/// `details.error_code` is `enforced_spend_limit_reached` are billing;
/// `authentication_error` / `permission_error` mean the key is refused whatever the status.
pub(crate) fn error_hint(detail: Option<&ErrorDetail>) -> ErrorHint<'_> {
    let Some(detail) = detail else {
        return ErrorHint::default();
    };
    let message = detail.message.to_ascii_lowercase();
    let invalid_request = detail.kind == "invalid_request_error";
    let spend_limit = detail
        .details
        .as_ref()
        .and_then(|d| d.error_code.as_deref())
        == Some("enforced_spend_limit_reached");
    ErrorHint {
        billing: detail.kind == "billing_error"
            || spend_limit
            || (invalid_request && message.contains("credit balance")),
        context_length: invalid_request
            && (message.contains("prompt is too long") || message.contains("exceed context limit")),
        key_invalid: matches!(
            detail.kind.as_str(),
            "authentication_error" | "permission_error"
        ),
        code: Some(detail.kind.as_str()).filter(|k| !k.is_empty()),
    }
}

/// The HTTP status Anthropic documents for each error type
/// (<https://docs.anthropic.com/en/api/errors>), so an in-band error maps through the same
/// table as an HTTP one. Unknown types read as 500.
fn documented_status(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// The error for an in-band `error` event (sent after the 200 status): mapped like the HTTP
/// status Anthropic documents for its type (`overloaded_error` and `api_error` →
/// `upstream_unavailable`, `rate_limit_error` → `upstream_rate_limited`, …), with no status
/// and a message naming the type only when it is a documented one.
pub(crate) fn in_band_error(detail: &ErrorDetail) -> ProviderError {
    let status = documented_status(&detail.kind);
    let mut e = http::from_status(status, error_hint(Some(detail)), Op::Chat);
    e.status = None;
    e.message = if status == 500 && detail.kind != "api_error" {
        "the upstream sent an error event mid-stream".to_owned()
    } else {
        format!(
            "the upstream sent an error event mid-stream ({})",
            detail.kind
        )
    };
    e
}

/// The model list page as canonical models, owned by `anthropic`.
pub(crate) fn models(list: ModelList) -> Vec<ModelInfo> {
    list.data
        .into_iter()
        .map(|m| ModelInfo {
            id: m.id,
            owned_by: Some("anthropic".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests;
