//! The successful replies: `GenerateContentResponse` objects, whole or as an SSE stream, blocked
//! prompts and candidates, and batch embeddings.

use super::errors::{error, status_body, unavailable_body};
use super::{GeminiBehavior, GeminiMode, RESPONSE_ID, Shared};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn usage(behavior: &GeminiBehavior, candidates: u32) -> Value {
    let mut u = json!({
        "promptTokenCount": behavior.prompt_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": behavior.prompt_tokens + candidates + behavior.thoughts_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": behavior.prompt_tokens}]
    });
    if behavior.thoughts_tokens > 0 {
        u["thoughtsTokenCount"] = json!(behavior.thoughts_tokens);
    }
    u
}

fn safety_ratings(blocked: bool) -> Value {
    let high = if blocked { "HIGH" } else { "NEGLIGIBLE" };
    let mut dangerous = json!({"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": high});
    if blocked {
        dangerous["blocked"] = json!(true);
    }
    json!([
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        dangerous
    ])
}

/// A `GenerateContentResponse` with one candidate.
fn reply(model: &str, candidate: Value, usage: Value) -> Value {
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": RESPONSE_ID
    })
}

fn candidate(parts: Value, finish: Option<&str>) -> Value {
    let mut c = json!({
        "content": {"parts": parts, "role": "model"},
        "index": 0
    });
    if let Some(reason) = finish {
        c["finishReason"] = json!(reason);
        c["safetyRatings"] = safety_ratings(false);
    }
    c
}

fn blocked_prompt(behavior: &GeminiBehavior, model: &str) -> Value {
    json!({
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": safety_ratings(true)},
        "usageMetadata": {"promptTokenCount": behavior.prompt_tokens, "totalTokenCount": behavior.prompt_tokens},
        "modelVersion": model,
        "responseId": RESPONSE_ID
    })
}

fn blocked_candidate(behavior: &GeminiBehavior, model: &str, candidates: u32) -> Value {
    reply(
        model,
        json!({"finishReason": "SAFETY", "index": 0, "safetyRatings": safety_ratings(true)}),
        usage(behavior, candidates),
    )
}

fn function_call_parts(calls: &[(String, Value)]) -> Vec<Value> {
    calls
        .iter()
        .map(|(name, args)| json!({"functionCall": {"name": name, "args": args}}))
        .collect()
}

pub(super) fn generate_content(behavior: &GeminiBehavior, model: &str) -> HttpResponse {
    let full = usage(behavior, behavior.candidates_tokens);
    let body = match behavior.mode {
        GeminiMode::PromptBlocked => blocked_prompt(behavior, model),
        GeminiMode::SafetyMidStream => blocked_candidate(behavior, model, 0),
        GeminiMode::FunctionCall => reply(
            model,
            candidate(
                Value::Array(function_call_parts(&behavior.function_calls)),
                Some("STOP"),
            ),
            full,
        ),
        _ => reply(
            model,
            candidate(json!([{"text": behavior.reply_text()}]), Some("STOP")),
            full,
        ),
    };
    if behavior.mode == GeminiMode::CutOff {
        let text = body.to_string();
        let half = text.len() / 2;
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(text.as_bytes()[..half].to_vec());
    }
    HttpResponse::Ok().json(body)
}

fn event(value: &Value) -> Bytes {
    // Google separates events with CRLF pairs.
    Bytes::from(format!("data: {value}\r\n\r\n"))
}

/// The SSE events of a streamed reply for the behavior's mode, in order.
pub(super) fn stream_events(behavior: &GeminiBehavior, model: &str) -> Vec<Bytes> {
    let n = behavior.pieces.len();
    let text_event = |i: usize, finish: Option<&str>| {
        let last = finish.is_some();
        let so_far = if last {
            behavior.candidates_tokens
        } else {
            u32::try_from(i + 1)
                .unwrap_or(u32::MAX)
                .min(behavior.candidates_tokens)
        };
        let text = behavior.pieces.get(i).map_or("", String::as_str);
        event(&reply(
            model,
            candidate(json!([{ "text": text }]), finish),
            usage(behavior, so_far),
        ))
    };
    match behavior.mode {
        GeminiMode::PromptBlocked => vec![event(&blocked_prompt(behavior, model))],
        GeminiMode::SafetyMidStream => {
            let mut events: Vec<Bytes> = (0..n).map(|i| text_event(i, None)).collect();
            let so_far = u32::try_from(n).unwrap_or(u32::MAX);
            events.push(event(&blocked_candidate(behavior, model, so_far)));
            events
        }
        GeminiMode::ErrorMidStream => vec![text_event(0, None), event(&unavailable_body())],
        GeminiMode::CutOff => (0..n).map(|i| text_event(i, None)).collect(),
        GeminiMode::FunctionCall => {
            let parts = function_call_parts(&behavior.function_calls);
            let count = parts.len();
            parts
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    let last = i + 1 == count;
                    let finish = last.then_some("STOP");
                    let tokens = if last { behavior.candidates_tokens } else { 0 };
                    event(&reply(
                        model,
                        candidate(json!([part]), finish),
                        usage(behavior, tokens),
                    ))
                })
                .collect()
        }
        _ if n == 0 => vec![text_event(0, Some("STOP"))],
        _ => (0..n)
            .map(|i| text_event(i, (i + 1 == n).then_some("STOP")))
            .collect(),
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

pub(super) fn stream_generate_content(
    behavior: &GeminiBehavior,
    model: &str,
    req: &HttpRequest,
    shared: Arc<Shared>,
) -> HttpResponse {
    if !req.query_string().split('&').any(|p| p == "alt=sse") {
        // Without `alt=sse` Google streams a JSON array; this fake only speaks SSE.
        return error(
            400,
            status_body(
                400,
                "INVALID_ARGUMENT",
                "This fake only serves alt=sse.",
                json!([]),
            ),
        );
    }
    let events = stream_events(behavior, model).into_iter().enumerate();
    let total = events.len();
    let delay = behavior.chunk_delay;
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
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

/// One embedding per request: `values[0]` is the request's index, `values[1]` the length of
/// its text in characters, the rest `0.01 * position`, so a test can check order.
pub(super) fn batch_embed_contents(
    behavior: &GeminiBehavior,
    model: &str,
    request: &Value,
) -> HttpResponse {
    let invalid = |message: &str| {
        error(
            400,
            status_body(400, "INVALID_ARGUMENT", message, json!([])),
        )
    };
    let Some(requests) = request["requests"].as_array() else {
        return invalid("* BatchEmbedContentsRequest.requests: requests is not specified");
    };
    let expected_model = format!("models/{model}");
    let mut embeddings = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        if r["model"].as_str() != Some(expected_model.as_str()) {
            return invalid(&format!(
                "Model names should be the same as the batch model ({expected_model})."
            ));
        }
        let text: String = r["content"]["parts"]
            .as_array()
            .map(|parts| parts.iter().filter_map(|p| p["text"].as_str()).collect())
            .unwrap_or_default();
        let dims = r["outputDimensionality"]
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(behavior.embedding_dimensions);
        let values: Vec<f64> = (0..dims)
            .map(|j| match j {
                0 => i as f64,
                1 => text.chars().count() as f64,
                _ => 0.01 * j as f64,
            })
            .collect();
        embeddings.push(json!({ "values": values }));
    }
    HttpResponse::Ok().json(json!({ "embeddings": embeddings }))
}
