//! Native server-sent events: each [`StreamEvent`] becomes one `data: {json}\n\n` line whose
//! `type` is `start`, `content`, `usage`, `done` or `error` (PRODUCT.md section 3).

use actix_web::HttpResponse;
use actix_web::http::header;
use aihub_core::streams::StreamEvent;
use bytes::Bytes;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::ToSchema;

/// Documentation shape of one event (the union of all event fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamEventDoc {
    /// `conversation` (first event of `POST /conversations/stream` only), `start`,
    /// `content`, `usage`, `done` or `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `conversation`: the created conversation, as `GET /conversations/{id}` returns it
    /// (without messages).
    #[schema(value_type = Option<Object>)]
    pub conversation: Option<serde_json::Value>,
    /// `start`: the conversation.
    pub conversation_id: Option<i64>,
    /// `start`: the stored user message.
    pub user_message_id: Option<i64>,
    /// `start`: the assistant message being written; `done`/`error`: the stored reply.
    pub message_id: Option<i64>,
    /// `content`: a piece of reply text.
    pub content: Option<String>,
    /// `usage`/`done`: input tokens.
    pub prompt_tokens: Option<u32>,
    /// `usage`/`done`: output tokens.
    pub completion_tokens: Option<u32>,
    /// `usage`/`done`: both.
    pub total_tokens: Option<u32>,
    /// `usage`/`done`: cost in currency units.
    pub cost: Option<f64>,
    /// `usage`/`done`: exact cost in nano-units.
    pub cost_nanos: Option<i64>,
    /// `done`: `stop`, `length`, `stopped`, …
    pub finish_reason: Option<String>,
    /// `done`: `complete` or `stopped`.
    pub status: Option<String>,
    /// `error`: the error, as in error responses.
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

/// The JSON of one event.
pub fn event_json(e: &StreamEvent) -> serde_json::Value {
    match e {
        StreamEvent::Start {
            conversation_id,
            user_message_id,
            assistant_message_id,
            model,
            provider_id,
        } => json!({
            "type": "start",
            "conversation_id": conversation_id,
            "user_message_id": user_message_id,
            "message_id": assistant_message_id,
            "assistant_message_id": assistant_message_id,
            "model": model,
            "provider_id": provider_id,
        }),
        StreamEvent::Content { content } => json!({"type": "content", "content": content}),
        StreamEvent::Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cost,
            estimated,
        } => json!({
            "type": "usage",
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
            "cost": cost.as_units_f64(),
            "cost_nanos": cost.nanos(),
            "estimated": estimated,
        }),
        StreamEvent::Done {
            message_id,
            finish_reason,
            status,
            prompt_tokens,
            completion_tokens,
            total_tokens,
            cost,
            response_time_ms,
        } => json!({
            "type": "done",
            "message_id": message_id,
            "finish_reason": finish_reason.as_str(),
            "status": status.as_str(),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
            "cost": cost.as_units_f64(),
            "cost_nanos": cost.nanos(),
            "response_time_ms": response_time_ms,
        }),
        StreamEvent::Error {
            code,
            message,
            message_id,
        } => {
            let (_, kind) = crate::error::status_and_type(*code);
            json!({
                "type": "error",
                "message_id": message_id,
                "error": {"type": kind, "code": code, "message": message},
            })
        }
    }
}

/// Frames one event: `data: {json}\n\n`.
pub fn frame(e: &StreamEvent) -> Bytes {
    Bytes::from(format!("data: {}\n\n", event_json(e)))
}

/// An SSE response fed by `events`. When the client goes away actix drops the body, the
/// receiver closes, and the generation stops and stores its partial reply.
pub fn response(events: mpsc::Receiver<StreamEvent>) -> HttpResponse {
    response_after(None, events)
}

/// Like [`response`], but `first` (a JSON object with its own `type`, such as
/// `{"type": "conversation", "conversation": {…}}`) is sent as the first event.
pub fn response_after(
    first: Option<serde_json::Value>,
    events: mpsc::Receiver<StreamEvent>,
) -> HttpResponse {
    let head = first.map(|v| Ok::<_, actix_web::Error>(Bytes::from(format!("data: {v}\n\n"))));
    let rest = futures_util::stream::unfold(events, |mut rx| async move {
        rx.recv()
            .await
            .map(|e| (Ok::<_, actix_web::Error>(frame(&e)), rx))
    });
    let body = futures_util::StreamExt::chain(futures_util::stream::iter(head), rest);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
