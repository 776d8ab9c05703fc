//! Server-sent events: one responder for every stream AI Hub sends, and the conversation
//! stream's renderer.
//!
//! A generation's [`GenerationEvent`]s become SSE frames through a renderer per wire format:
//! [`native`] here (`start`, `content`, `usage`, `done`/`error`), the OpenAI one in
//! `routes/v1.rs` (`chat.completion.chunk`s and `[DONE]`) and `/chat`'s in `routes/chat.rs`
//! (`session`, `content`, `usage`, `done`/`error`). The body ends right after the frame of the
//! last event. When the client goes away actix drops the body, which drops the generation
//! stream: the engine closes the upstream and stores and bills the partial reply.

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use aihub_core::generation::{Finished, GenerationEvent, GenerationStream, Outcome};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;

/// Appends one frame, `data: {json}\n\n`, to `buf`.
pub fn put_frame(buf: &mut BytesMut, value: &impl Serialize) {
    buf.put_slice(b"data: ");
    if serde_json::to_writer((&mut *buf).writer(), value).is_err() {
        buf.put_slice(b"{}");
    }
    buf.put_slice(b"\n\n");
}

/// The streaming response of a generation: `head` (already framed) first, then each event as
/// `render` frames it (an event it renders as nothing sends nothing). `res` may carry extra
/// headers; the SSE ones are added here.
pub fn respond<R>(
    mut res: HttpResponseBuilder,
    head: Option<Bytes>,
    events: GenerationStream,
    render: R,
) -> HttpResponse
where
    R: FnMut(&GenerationEvent, &mut BytesMut) + 'static,
{
    struct State<R> {
        head: Option<Bytes>,
        events: GenerationStream,
        render: R,
    }
    let state = State {
        head,
        events,
        render,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(head) = st.head.take() {
            return Some((Ok::<_, actix_web::Error>(head), st));
        }
        loop {
            let event = st.events.next().await?;
            let mut buf = BytesMut::with_capacity(256);
            (st.render)(&event, &mut buf);
            if !buf.is_empty() {
                return Some((Ok(buf.freeze()), st));
            }
        }
    });
    res.insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// Whether a finished generation is reported as an `error` event (a failure) rather than
/// `done` (completed, stopped, or ended by shutdown: the partial reply is kept as `stopped`).
pub fn is_failure(f: &Finished) -> bool {
    matches!(
        f.outcome,
        Outcome::FailedAfterFirstByte | Outcome::FailedBeforeFirstByte
    )
}

/// The conversation stream's renderer: `start` (ids), `content` for each text delta, then
/// `usage` and `done` (`status` `complete` or `stopped`) or `error` (the partial reply is
/// stored as `failed`).
pub fn native(event: &GenerationEvent, buf: &mut BytesMut) {
    use crate::stream_events as ev;
    match event {
        GenerationEvent::Started(s) => {
            let ids = s.conversation;
            put_frame(
                buf,
                &ev::ReplyStartEvent {
                    kind: ev::StartType::Value,
                    conversation_id: ids.map(|c| c.conversation_id),
                    user_message_id: ids.map(|c| c.user_message_id),
                    message_id: ids.map(|c| c.assistant_message_id),
                    assistant_message_id: ids.map(|c| c.assistant_message_id),
                    model: s.served.model.clone(),
                    provider_id: s.served.provider_id,
                },
            );
        }
        GenerationEvent::Delta(chunk) => {
            if let Some(text) = chunk.delta.as_deref().filter(|t| !t.is_empty()) {
                put_frame(buf, &ContentFrame::new(text));
            }
        }
        GenerationEvent::Finished(f) => {
            let u = f.billed.usage;
            let cost = f.billed.cost;
            put_frame(
                buf,
                &ev::ReplyUsageEvent {
                    kind: ev::UsageType::Value,
                    prompt_tokens: u.prompt_tokens,
                    completion_tokens: u.completion_tokens,
                    total_tokens: u.total_tokens(),
                    cost: cost.as_units_f64(),
                    cost_nanos: cost.nanos(),
                    estimated: u.estimated,
                },
            );
            if is_failure(f) {
                put_frame(
                    buf,
                    &ev::ReplyErrorEvent {
                        kind: ev::ErrorType::Value,
                        message_id: f.message_id,
                        error: failure_detail(f),
                    },
                );
            } else {
                put_frame(
                    buf,
                    &ev::ReplyDoneEvent {
                        kind: ev::DoneType::Value,
                        message_id: f.message_id,
                        finish_reason: f.finish_reason,
                        status: f.outcome.message_status(),
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                        total_tokens: u.total_tokens(),
                        cost: cost.as_units_f64(),
                        cost_nanos: cost.nanos(),
                        response_time_ms: f.latency_ms,
                    },
                );
            }
        }
    }
}

/// A `content` frame borrowing the delta text (the hot path: no copy of the text). Serializes
/// as [`crate::stream_events::ReplyContentEvent`] and `ChatContentEvent` do.
#[derive(Serialize)]
pub struct ContentFrame<'a> {
    #[serde(rename = "type")]
    kind: crate::stream_events::ContentType,
    content: &'a str,
}

impl<'a> ContentFrame<'a> {
    /// The frame of `text`.
    pub fn new(text: &'a str) -> Self {
        ContentFrame {
            kind: crate::stream_events::ContentType::Value,
            content: text,
        }
    }
}

/// The `error` detail of a failed generation (a generic upstream failure when the engine
/// recorded none).
pub fn failure_detail(f: &Finished) -> crate::error::ErrorObject {
    let (code, message) = match &f.error {
        Some(e) => (e.code, e.message.clone()),
        None => (
            aihub_domain::ErrorCode::UpstreamUnavailable,
            "the upstream failed".to_owned(),
        ),
    };
    let (_, kind) = crate::error::status_and_type(code);
    crate::error::ErrorObject {
        kind,
        code,
        message,
        param: None,
        details: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::ContentFrame;
    use crate::stream_events::{ChatContentEvent, ContentType, ReplyContentEvent};

    /// The borrowed frame the renderers send is the documented `content` event of both
    /// streams, byte for byte.
    #[test]
    fn content_frame_is_the_documented_content_event() {
        let text = "Привет, \"мир\"\n";
        let frame = serde_json::to_string(&ContentFrame::new(text)).unwrap();
        let reply = ReplyContentEvent {
            kind: ContentType::Value,
            content: text.to_owned(),
        };
        let chat = ChatContentEvent {
            kind: ContentType::Value,
            content: text.to_owned(),
        };
        assert_eq!(frame, serde_json::to_string(&reply).unwrap());
        assert_eq!(frame, serde_json::to_string(&chat).unwrap());
    }
}
