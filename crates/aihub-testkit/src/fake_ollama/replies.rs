//! The successful `/api/chat` replies: one final object, or NDJSON lines ending in the final
//! object.

use super::errors::runtime_error;
use super::{CREATED_AT, OllamaBehavior, OllamaMode, Shared};
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `message.tool_calls` of [`OllamaMode::ToolCall`], as documented.
pub(super) fn tool_calls() -> Value {
    json!([{"function": {"name": "get_current_weather",
        "arguments": {"format": "celsius", "location": "Paris, FR"}}}])
}

/// The final chat object: `done: true`, `done_reason`, counts and durations (nanoseconds).
/// `content` is the whole reply when not streaming and empty at the end of a stream;
/// `with_tool_calls` adds the documented tool call.
pub(super) fn final_object(
    behavior: &OllamaBehavior,
    model: &str,
    content: &str,
    with_tool_calls: bool,
) -> Value {
    let mut message = json!({"role": "assistant", "content": content});
    if with_tool_calls {
        message["tool_calls"] = tool_calls();
    }
    let mut object = json!({
        "model": model,
        "created_at": CREATED_AT,
        "message": message,
        "done_reason": "stop",
        "done": true,
        "total_duration": 4_883_583_458_u64,
        "load_duration": 1_334_875,
        "prompt_eval_duration": 342_546_000,
        "eval_duration": 4_535_599_000_u64,
    });
    if let Some(n) = behavior.prompt_eval_count {
        object["prompt_eval_count"] = json!(n);
    }
    if let Some(n) = behavior.eval_count {
        object["eval_count"] = json!(n);
    }
    object
}

fn delta_line(model: &str, message: Value) -> Bytes {
    let line = json!({"model": model, "created_at": CREATED_AT, "message": message, "done": false});
    Bytes::from(format!("{line}\n"))
}

/// The NDJSON lines of a streamed reply for `behavior`. The final line is split in two
/// writes (a client must join it). Returns the lines and whether the last is the `done` line.
pub(super) fn stream_lines(behavior: &OllamaBehavior, model: &str) -> (Vec<Bytes>, bool) {
    let mut lines = Vec::new();
    let pieces: &[String] = if behavior.mode == OllamaMode::Malformed {
        &behavior.pieces[..behavior.pieces.len().min(1)]
    } else {
        &behavior.pieces
    };
    if behavior.mode == OllamaMode::ToolCall {
        lines.push(delta_line(
            model,
            json!({"role": "assistant", "content": "", "tool_calls": tool_calls()}),
        ));
    } else {
        for piece in pieces {
            lines.push(delta_line(
                model,
                json!({"role": "assistant", "content": piece}),
            ));
        }
    }
    match behavior.mode {
        OllamaMode::MidStreamError => {
            let line = json!({"error": runtime_error(model)});
            lines.push(Bytes::from(format!("{line}\n")));
            (lines, false)
        }
        OllamaMode::CutOff => (lines, false),
        OllamaMode::Malformed => {
            lines.push(Bytes::from_static(b"data: {\"message\": oops\n"));
            (lines, false)
        }
        _ => {
            let last = format!("{}\n", final_object(behavior, model, "", false));
            let (a, b) = last.split_at(last.len() / 2);
            lines.push(Bytes::from(a.to_owned()));
            lines.push(Bytes::from(b.to_owned()));
            (lines, true)
        }
    }
}

/// Notes, when dropped, whether the stream it belongs to was sent in full.
struct StreamGuard {
    shared: Arc<Shared>,
    /// The stream ends with the `done: true` line (not an error or a cut-off on purpose).
    ends_done: bool,
    /// Every line was handed over.
    sent_all: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.sent_all {
            self.shared
                .rec
                .client_disconnected
                .store(true, Ordering::SeqCst);
        } else if self.ends_done {
            self.shared
                .rec
                .streams_completed
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub(super) fn stream_response(
    behavior: &OllamaBehavior,
    model: &str,
    shared: Arc<Shared>,
) -> HttpResponse {
    let (lines, ends_done) = stream_lines(behavior, model);
    let total = lines.len();
    let lines = lines.into_iter().enumerate();
    let delay = behavior.chunk_delay;
    let guard = StreamGuard {
        shared,
        ends_done,
        sent_all: total == 0,
    };
    let body =
        futures_util::stream::unfold((lines, guard), move |(mut lines, mut guard)| async move {
            let (index, line) = lines.next()?;
            if index > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            guard.sent_all = index + 1 == total;
            Some((Ok::<Bytes, std::convert::Infallible>(line), (lines, guard)))
        });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body)
}
