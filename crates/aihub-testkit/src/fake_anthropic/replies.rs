//! The successful replies: a Messages API `message` object, or its stream of typed SSE events.

use super::{AnthropicBehavior, AnthropicMode, MESSAGE_ID, Shared, TOOL_USE_ID};
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// One reply, rendered as a message object or as stream events.
pub(super) struct Reply<'a> {
    pub(super) behavior: &'a AnthropicBehavior,
    pub(super) model: &'a str,
    /// `(tool name, input)` when the reply calls a tool.
    pub(super) tool: Option<(&'a str, &'a Value)>,
}

impl Reply<'_> {
    fn stop_reason(&self) -> &'static str {
        if self.tool.is_some() {
            "tool_use"
        } else {
            "end_turn"
        }
    }

    /// The documented `Message` object.
    pub(super) fn message(&self) -> Value {
        let b = self.behavior;
        let mut content = vec![json!({"type": "text", "text": b.reply_text()})];
        if let Some((name, input)) = self.tool {
            content
                .push(json!({"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": input}));
        }
        json!({
            "id": MESSAGE_ID,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.stop_reason(),
            "stop_sequence": null,
            "usage": {
                "input_tokens": b.input_tokens,
                "cache_creation_input_tokens": b.cache_creation_input_tokens,
                "cache_read_input_tokens": b.cache_read_input_tokens,
                "output_tokens": b.output_tokens
            }
        })
    }

    /// The stream's events in the documented order: `message_start` (empty content, input
    /// usage, `output_tokens: 1`), the text block (`content_block_start`, a `ping`, one
    /// `text_delta` per piece, `content_block_stop`), the `tool_use` block when calling a tool
    /// (its input JSON in two `input_json_delta` fragments), `message_delta` (stop reason and
    /// cumulative `output_tokens`), `message_stop`. [`AnthropicMode::InBandError`] replaces
    /// everything after the second text delta by an `error` event; [`AnthropicMode::CutOff`]
    /// drops everything after the text block.
    pub(super) fn events(&self) -> Vec<Bytes> {
        let b = self.behavior;
        let event =
            |name: &str, data: Value| Bytes::from(format!("event: {name}\ndata: {data}\n\n"));
        let mut events = vec![event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": MESSAGE_ID,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": b.input_tokens,
                    "cache_creation_input_tokens": b.cache_creation_input_tokens,
                    "cache_read_input_tokens": b.cache_read_input_tokens,
                    "output_tokens": 1
                }
            }}),
        )];
        events.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(event("ping", json!({"type": "ping"})));
        for (i, piece) in b.pieces.iter().enumerate() {
            if b.mode == AnthropicMode::InBandError && i == 2 {
                break;
            }
            events.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        if b.mode == AnthropicMode::InBandError {
            events.push(event(
                "error",
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
            return events;
        }
        events.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        if b.mode == AnthropicMode::CutOff {
            return events;
        }
        if let Some((name, input)) = self.tool {
            events.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {}}}),
            ));
            let json = input.to_string();
            let mid = json.len() / 2;
            let mid = (mid..json.len())
                .find(|&i| json.is_char_boundary(i))
                .unwrap_or(json.len());
            for fragment in ["", &json[..mid], &json[mid..]] {
                events.push(event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": fragment}}),
                ));
            }
            events.push(event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ));
        }
        events.push(event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": self.stop_reason(), "stop_sequence": null}, "usage": {"output_tokens": b.output_tokens}}),
        ));
        events.push(event("message_stop", json!({"type": "message_stop"})));
        events
    }
}

/// Notes, when dropped, whether the stream it belongs to was sent in full.
struct StreamGuard {
    shared: Arc<Shared>,
    completed: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.completed {
            self.shared
                .rec
                .streams_completed
                .fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared
                .rec
                .client_disconnected
                .store(true, Ordering::SeqCst);
        }
    }
}

pub(super) fn stream_response(reply: &Reply<'_>, shared: Arc<Shared>) -> HttpResponse {
    let events = reply.events().into_iter().enumerate();
    let total = events.len();
    let delay = reply.behavior.chunk_delay;
    let guard = StreamGuard {
        shared,
        completed: false,
    };
    let body =
        futures_util::stream::unfold((events, guard), move |(mut events, mut guard)| async move {
            let (index, event) = events.next()?;
            if index > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            guard.completed = index + 1 == total;
            Some((
                Ok::<Bytes, std::convert::Infallible>(event),
                (events, guard),
            ))
        });
    HttpResponse::Ok()
        .content_type("text/event-stream; charset=utf-8")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}
