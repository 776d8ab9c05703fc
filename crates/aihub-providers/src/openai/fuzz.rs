//! Fuzz targets of the OpenAI stream decoding (`step` per SSE event, `canonical_stream` over
//! a whole stream): arbitrary text, arbitrary JSON, documented chunks mutated, and streams of
//! all of these. See `crate::fuzzing` for the shared checks.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fuzzing::{
    Outcome, check_outcome, check_stream, config, drain, event_data, joined, json_value, mutated,
    mutation, sse, text, unknown_field,
};
use proptest::prelude::*;

/// Documented `chat.completion.chunk` events and in-band errors (OpenAI, OpenRouter,
/// llama.cpp).
const EVENTS: &[&str] = &[
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Par"}}]},"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}"#,
    r#"{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"parts"}]},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
    r#"{"error":{"message":"Rate limit exceeded","type":"rate_limit_error","code":429}}"#,
    r#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
    r#"{"error":"something broke"}"#,
];

fn feed(decoder: &mut ChunkDecoder, data: &str) -> Outcome {
    let event = Event {
        data: data.to_owned(),
        ..Event::default()
    };
    match step(decoder, &event) {
        Step::Chunk(c) => Outcome::Chunk(c),
        Step::Skip => Outcome::Skip,
        Step::End => Outcome::End(None),
        Step::Fail(e) => Outcome::Fail(e),
    }
}

/// [`check_outcome`], except for `[DONE]` (not JSON, and the end marker).
fn check(data: &str, outcome: &Outcome) -> Result<(), TestCaseError> {
    if data.trim() == "[DONE]" {
        prop_assert_eq!(outcome, &Outcome::End(None));
        return Ok(());
    }
    check_outcome(data.as_bytes(), outcome)
}

/// The templates are what the vendor documents: each decodes (an error event to its own
/// error, never to "not in the format"), so mutations start from meaningful events.
#[test]
fn the_templates_decode() {
    for data in EVENTS {
        let got = feed(&mut ChunkDecoder::default(), data);
        assert!(
            !matches!(&got, Outcome::Fail(e) if crate::fuzzing::is_malformed(e)),
            "{data} → {got:?}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any text as an event's data: no panic; text that is not JSON is refused as malformed.
    #[test]
    fn fuzz_openai_event_text(data in prop_oneof![text(), any::<String>()]) {
        let outcome = feed(&mut ChunkDecoder::default(), &data);
        check(&data, &outcome)?;
    }

    /// Any JSON value: only an object may become a chunk or be skipped.
    #[test]
    fn fuzz_openai_event_json(value in json_value()) {
        let data = value.to_string();
        check(&data, &feed(&mut ChunkDecoder::default(), &data))?;
    }

    /// Documented events with fields removed, replaced or added: chunk or error, and unknown
    /// fields change nothing.
    #[test]
    fn fuzz_openai_mutated_event(
        template in prop::sample::select(EVENTS),
        mutations in prop::collection::vec(mutation(), 1..4),
        unknown in prop::collection::vec(unknown_field(), 1..3),
    ) {
        let data = mutated(template, &mutations);
        check(&data, &feed(&mut ChunkDecoder::default(), &data))?;
        let plain = feed(&mut ChunkDecoder::default(), template);
        let widened = mutated(template, &unknown);
        prop_assert_eq!(
            feed(&mut ChunkDecoder::default(), &widened).shape(),
            plain.shape(),
            "an unknown field changed the meaning of {}", widened
        );
    }

    /// Whole streams: chunks or one final error; an EOF before `[DONE]` is an error unless a
    /// finish reason and usage both came.
    #[test]
    fn fuzz_openai_stream(
        events in prop::collection::vec(prop_oneof![
            10 => event_data(EVENTS),
            1 => Just("[DONE]".to_owned()),
            1 => Just(String::new()),
        ], 0..12),
    ) {
        let items = drain(canonical_stream(sse(events.clone())));
        check_stream(&items)?;
        if let Some(Ok(_)) | None = items.last() {
            let finished = items.iter().flatten().any(|c| c.finish_reason.is_some());
            let usage = items.iter().flatten().any(|c| c.usage.is_some());
            prop_assert!(
                events.iter().any(|e| e.trim() == "[DONE]") || (finished && usage),
                "a stream ended without its end marker and without an error: {:?}", items
            );
        }
    }
}

/// Found by `fuzz_openai_event_json`: serde reads a struct from a JSON array of its fields,
/// so `[]` was a skipped event and an array of field values a made-up chunk ("hi"), where
/// data that is not a chunk object must be refused.
#[test]
fn an_array_is_not_a_chunk() {
    for data in [
        "[]",
        r#"[null,null,null,null,null,[[0,[null,"hi"]]]]"#,
        " [1]",
    ] {
        let got = feed(&mut ChunkDecoder::default(), data);
        assert_eq!(got, Outcome::Fail(http::malformed_chunk(VENDOR)), "{data}");
    }
}

proptest! {
    #![proptest_config(config())]

    /// A well-formed stream of any text and tool-call argument pieces: the chunks give back
    /// exactly that text and those arguments, then the finish reason and usage.
    #[test]
    fn fuzz_openai_stream_round_trip(
        pieces in prop::collection::vec(any::<String>(), 0..8),
        arguments in prop::collection::vec(any::<String>(), 0..6),
    ) {
        let chunk = |delta: serde_json::Value, finish: Option<&str>| {
            serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
            })
            .to_string()
        };
        let mut events = vec![chunk(serde_json::json!({"role": "assistant", "content": ""}), None)];
        events.extend(pieces.iter().map(|p| chunk(serde_json::json!({"content": p}), None)));
        events.push(chunk(serde_json::json!({"tool_calls": [{"index": 0, "id": "call_1",
            "type": "function", "function": {"name": "f", "arguments": ""}}]}), None));
        events.extend(arguments.iter().map(|a| chunk(serde_json::json!({"tool_calls": [
            {"index": 0, "function": {"arguments": a}}]}), None)));
        events.push(chunk(serde_json::json!({}), Some("tool_calls")));
        events.push(r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#.to_owned());
        events.push("[DONE]".to_owned());
        let items = drain(canonical_stream(sse(events)));
        check_stream(&items)?;
        prop_assert!(items.iter().all(Result::is_ok), "{:?}", items);
        prop_assert_eq!(joined(&items), (pieces.concat(), arguments.concat()));
        prop_assert!(items.iter().flatten().any(|c| c.finish_reason == Some(FinishReason::ToolCalls)));
        prop_assert!(items.iter().flatten().any(|c| c.usage.is_some()));
    }
}
