//! Fuzz targets of the Gemini stream decoding (`step` per SSE event, `canonical_stream` over
//! a whole stream): arbitrary text, arbitrary JSON, documented events mutated, and streams of
//! all of these. See `crate::fuzzing` for the shared checks.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fuzzing::{
    Outcome, check_outcome, check_stream, config, drain, event_data, joined, json_value, mutated,
    mutation, sse, text, unknown_field,
};
use proptest::prelude::*;

/// Documented `streamGenerateContent?alt=sse` events and in-band errors.
const EVENTS: &[&str] = &[
    r#"{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.0-flash","responseId":"r1"}"#,
    r#"{"candidates":[{"content":{"parts":[{"text":" world"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8,"thoughtsTokenCount":2},"modelVersion":"gemini-2.0-flash"}"#,
    r#"{"candidates":[{"content":{"parts":[{"text":"Thinking about it","thought":true}],"role":"model"},"index":0}]}"#,
    r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4}}"#,
    r#"{"candidates":[{"content":{"parts":[{"text":"cut"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}]}"#,
    r#"{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]}]}"#,
    r#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":5}}"#,
    r#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}"#,
    r#"{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#,
];

fn feed(state: &mut convert::StreamState, data: &str) -> Outcome {
    match step(state, data) {
        Ok(s) if s.finished => Outcome::End(s.chunk),
        Ok(s) => s.chunk.map_or(Outcome::Skip, Outcome::Chunk),
        Err(e) => Outcome::Fail(e),
    }
}

/// The templates are what the vendor documents: each decodes (an error event to its own
/// error, never to "not in the format"), so mutations start from meaningful events.
#[test]
fn the_templates_decode() {
    for data in EVENTS {
        let got = feed(&mut convert::StreamState::default(), data);
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
    fn fuzz_gemini_event_text(data in prop_oneof![text(), any::<String>()]) {
        check_outcome(data.as_bytes(), &feed(&mut convert::StreamState::default(), &data))?;
    }

    /// Any JSON value: only an object may become a chunk or be skipped.
    #[test]
    fn fuzz_gemini_event_json(value in json_value()) {
        let data = value.to_string();
        check_outcome(data.as_bytes(), &feed(&mut convert::StreamState::default(), &data))?;
    }

    /// Documented events with fields removed, replaced or added: chunk or error, and unknown
    /// fields change nothing.
    #[test]
    fn fuzz_gemini_mutated_event(
        template in prop::sample::select(EVENTS),
        mutations in prop::collection::vec(mutation(), 1..4),
        unknown in prop::collection::vec(unknown_field(), 1..3),
    ) {
        let data = mutated(template, &mutations);
        check_outcome(data.as_bytes(), &feed(&mut convert::StreamState::default(), &data))?;
        let widened = mutated(template, &unknown);
        prop_assert_eq!(
            feed(&mut convert::StreamState::default(), &widened).shape(),
            feed(&mut convert::StreamState::default(), template).shape(),
            "an unknown field changed the meaning of {}", widened
        );
    }

    /// Whole streams: chunks or one final error; a stream that ends without an error ended
    /// with a finish reason.
    #[test]
    fn fuzz_gemini_stream(
        events in prop::collection::vec(prop_oneof![
            10 => event_data(EVENTS),
            1 => Just(String::new()),
        ], 0..12),
    ) {
        let items = drain(canonical_stream(sse(events)));
        check_stream(&items)?;
        match items.last() {
            Some(Ok(last)) => prop_assert!(last.finish_reason.is_some(), "{:?}", items),
            Some(Err(_)) => {}
            None => prop_assert!(false, "a stream ended with nothing, not even an error"),
        }
    }
}

/// Found by `fuzz_gemini_event_json`: serde reads a struct from a JSON array of its fields,
/// so `[]` was a skipped event and `[[[[null,[["hi"]]],"STOP"]]]` a made-up final chunk,
/// where data that is not a response object must be refused.
#[test]
fn an_array_is_not_an_event() {
    for data in ["[]", r#"[[[[null,[["hi"]]],"STOP"]]]"#] {
        let got = feed(&mut convert::StreamState::default(), data);
        assert_eq!(
            got,
            Outcome::Fail(http::malformed_chunk("Gemini")),
            "{data}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// A well-formed stream of any text pieces: the chunks give back exactly that text, and
    /// the last chunk the finish reason and usage.
    #[test]
    fn fuzz_gemini_stream_round_trip(pieces in prop::collection::vec(any::<String>(), 0..8)) {
        let event = |text: &str, finish: Option<&str>| serde_json::json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1},
        }).to_string();
        let mut events: Vec<String> = pieces.iter().map(|p| event(p, None)).collect();
        events.push(event("", Some("STOP")));
        let items = drain(canonical_stream(sse(events)));
        check_stream(&items)?;
        prop_assert!(items.iter().all(Result::is_ok), "{:?}", items);
        prop_assert_eq!(joined(&items).0, pieces.concat());
        let last = items.last().unwrap().as_ref().unwrap();
        prop_assert_eq!(last.finish_reason, Some(aihub_domain::FinishReason::Stop));
        prop_assert!(last.usage.is_some());
    }
}
