//! The successful replies: the `chat.completion` object, its `chat.completion.chunk` stream
//! with the stream fault modes applied, and the base64 vectors of embeddings.

use super::{COMPLETION_ID, CREATED, FakeBehavior, FakeMode, Shared, TOOL_CALL_ID};
use actix_web::HttpResponse;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Standard base64 with padding (RFC 4648), as OpenAI encodes `encoding_format: "base64"`.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(super) fn usage(behavior: &FakeBehavior) -> Value {
    json!({
        "prompt_tokens": behavior.prompt_tokens,
        "completion_tokens": behavior.completion_tokens,
        "total_tokens": behavior.prompt_tokens + behavior.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// The documented `chat.completion` object: the text reply, or the tool call.
pub(super) fn completion(
    behavior: &FakeBehavior,
    model: &str,
    tool_call: Option<&(String, String)>,
) -> Value {
    let (message, finish) = match tool_call {
        Some((name, arguments)) => (
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": TOOL_CALL_ID,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments}
                }],
                "refusal": null,
                "annotations": []
            }),
            "tool_calls",
        ),
        None => (
            json!({
                "role": "assistant",
                "content": behavior.reply_text(),
                "refusal": null,
                "annotations": []
            }),
            "stop",
        ),
    };
    json!({
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish
        }],
        "usage": usage(behavior),
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb"
    })
}

/// The SSE events of a streamed reply, in order: the role chunk with empty content, one chunk
/// per piece, the `stop` chunk with an empty delta, the usage chunk with `choices: []` (when
/// asked for), then `[DONE]`. With `include_usage` every other chunk carries `"usage": null`.
///
/// A tool-call reply opens with the role chunk carrying the call's id, type and name (and
/// `"arguments": ""`), sends the arguments in two pieces, and finishes with `tool_calls`.
pub(super) fn stream_events(
    behavior: &FakeBehavior,
    model: &str,
    include_usage: bool,
    tool_call: Option<&(String, String)>,
) -> Vec<Bytes> {
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": COMPLETION_ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_44709d6fcb",
            "choices": choices,
        });
        if include_usage {
            c["usage"] = usage.unwrap_or(Value::Null);
        }
        Bytes::from(format!("data: {c}\n\n"))
    };
    let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut events = Vec::new();
    let finish = match tool_call {
        Some((name, arguments)) => {
            events.push(chunk(
                choice(
                    json!({"role": "assistant", "content": null, "tool_calls": [{
                        "index": 0, "id": TOOL_CALL_ID, "type": "function",
                        "function": {"name": name, "arguments": ""}}], "refusal": null}),
                    Value::Null,
                ),
                None,
            ));
            let mut mid = arguments.len() / 2;
            while !arguments.is_char_boundary(mid) {
                mid += 1;
            }
            for piece in [&arguments[..mid], &arguments[mid..]] {
                events.push(chunk(
                    choice(
                        json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                        Value::Null,
                    ),
                    None,
                ));
            }
            "tool_calls"
        }
        None => {
            events.push(chunk(
                choice(json!({"role": "assistant", "content": ""}), Value::Null),
                None,
            ));
            for piece in &behavior.pieces {
                events.push(chunk(choice(json!({"content": piece}), Value::Null), None));
            }
            "stop"
        }
    };
    events.push(chunk(choice(json!({}), json!(finish)), None));
    if include_usage {
        events.push(chunk(json!([]), Some(usage(behavior))));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

/// One step of a streamed body.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// Send these bytes.
    Send(Bytes),
    /// Never send anything more, and never close.
    Hang,
}

/// The steps of a stream under `mode`: all events, or the first 2 and the fault.
pub(super) fn plan(events: Vec<Bytes>, mode: &FakeMode) -> Vec<Step> {
    if !mode.is_stream_fault() {
        return events.into_iter().map(Step::Send).collect();
    }
    let mut steps: Vec<Step> = events.into_iter().take(2).map(Step::Send).collect();
    match mode {
        FakeMode::StallMidStream => steps.push(Step::Hang),
        FakeMode::InBandError => steps.push(Step::Send(Bytes::from(format!(
            "data: {}\n\n",
            json!({"error": {
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error", "param": null, "code": null}})
        )))),
        FakeMode::MalformedSse => {
            steps.push(Step::Send(Bytes::from_static(b"data: {not json\n\n")));
            steps.push(Step::Send(Bytes::from_static(b"data: [DONE]\n\n")));
        }
        _ => {}
    }
    steps
}

/// Notes, when dropped, whether the stream it belongs to was sent in full.
struct StreamGuard {
    shared: Arc<Shared>,
    /// Every step was handed over.
    sent: bool,
    /// The last step is `data: [DONE]`.
    ends_with_done: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.sent {
            self.shared
                .rec
                .client_disconnected
                .store(true, Ordering::SeqCst);
        } else if self.ends_with_done {
            self.shared
                .rec
                .streams_completed
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub(super) fn stream_response(
    steps: Vec<Step>,
    delay: Duration,
    shared: Arc<Shared>,
) -> HttpResponse {
    let total = steps.len();
    let guard = StreamGuard {
        shared,
        sent: false,
        ends_with_done: steps.last() == Some(&Step::Send(Bytes::from_static(b"data: [DONE]\n\n"))),
    };
    let steps = steps.into_iter().enumerate();
    let body =
        futures_util::stream::unfold((steps, guard), move |(mut steps, mut guard)| async move {
            let (index, step) = steps.next()?;
            if index > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let event = match step {
                Step::Send(event) => event,
                Step::Hang => {
                    futures_util::future::pending::<()>().await;
                    return None;
                }
            };
            // Once the last step is handed over the stream counts as sent.
            guard.sent = index + 1 == total;
            Some((Ok::<Bytes, std::convert::Infallible>(event), (steps, guard)))
        });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}
