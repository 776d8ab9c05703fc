//! Fuzz targets of the Anthropic stream decoding (`StreamConverter::on_event` per SSE event,
//! `canonical_stream` over a whole stream): arbitrary text, arbitrary JSON, documented events
//! mutated, and streams of all of these. See `crate::fuzzing` for the shared checks.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fuzzing::{
    Outcome, check_outcome, check_stream, config, drain, event_data, joined, json_value, mutated,
    mutation, sse, text, unknown_field,
};
use proptest::prelude::*;

/// Documented Messages stream events (<https://docs.anthropic.com/en/api/messages-streaming>).
const EVENTS: &[&str] = &[
    r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    r#"{"type":"ping"}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
    r#"{"type":"message_stop"}"#,
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"#,
];

fn feed(converter: &mut StreamConverter, data: &str) -> Outcome {
    match converter.on_event(data) {
        Step::Skip => Outcome::Skip,
        Step::Chunk(c) => Outcome::Chunk(c),
        Step::End(c) => Outcome::End(Some(c)),
        Step::Fail(e) => Outcome::Fail(e),
    }
}

/// A converter that has seen a tool call start at block 1 (so input deltas have a block).
fn primed() -> StreamConverter {
    let mut converter = StreamConverter::default();
    let _ = converter.on_event(EVENTS[5]);
    converter
}

/// The templates are what the vendor documents: each decodes (an error event to its own
/// error, never to "not in the format"), so mutations start from meaningful events.
#[test]
fn the_templates_decode() {
    for data in EVENTS {
        let got = feed(&mut primed(), data);
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
    fn fuzz_anthropic_event_text(data in prop_oneof![text(), any::<String>()]) {
        check_outcome(data.as_bytes(), &feed(&mut primed(), &data))?;
    }

    /// Any JSON value: only an object may become a chunk or be skipped.
    #[test]
    fn fuzz_anthropic_event_json(value in json_value()) {
        let data = value.to_string();
        check_outcome(data.as_bytes(), &feed(&mut primed(), &data))?;
    }

    /// Documented events with fields removed, replaced or added: chunk or error, and unknown
    /// fields change nothing.
    #[test]
    fn fuzz_anthropic_mutated_event(
        template in prop::sample::select(EVENTS),
        mutations in prop::collection::vec(mutation(), 1..4),
        unknown in prop::collection::vec(unknown_field(), 1..3),
    ) {
        let data = mutated(template, &mutations);
        check_outcome(data.as_bytes(), &feed(&mut primed(), &data))?;
        let widened = mutated(template, &unknown);
        prop_assert_eq!(
            feed(&mut primed(), &widened).shape(),
            feed(&mut primed(), template).shape(),
            "an unknown field changed the meaning of {}", widened
        );
    }

    /// Whole streams: chunks or one final error; a stream that ends without an error ended
    /// with `message_stop` (its last chunk has the finish reason).
    #[test]
    fn fuzz_anthropic_stream(
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

/// Found by `fuzz_anthropic_event_json`: serde reads an internally tagged enum from a JSON
/// array (the tag first, then the fields), so `[""]` was a skipped event and
/// `["content_block_delta",0,["text_delta","hi"]]` a made-up text chunk, where data that is
/// not an event object must be refused.
#[test]
fn an_array_is_not_an_event() {
    for data in [
        "[]",
        r#"[""]"#,
        r#"["content_block_delta",0,["text_delta","hi"]]"#,
        r#"["message_stop"]"#,
    ] {
        let got = feed(&mut primed(), data);
        assert_eq!(
            got,
            Outcome::Fail(http::malformed_chunk("Anthropic")),
            "{data}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// A well-formed stream of any text and tool-input pieces: the chunks give back exactly
    /// that text and those arguments, and the last chunk the finish reason and usage.
    #[test]
    fn fuzz_anthropic_stream_round_trip(
        pieces in prop::collection::vec(any::<String>(), 0..8),
        arguments in prop::collection::vec(any::<String>(), 0..6),
    ) {
        let mut events = vec![
            EVENTS[0].to_owned(),
            EVENTS[1].to_owned(),
        ];
        events.extend(pieces.iter().map(|p| serde_json::json!({
            "type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}
        }).to_string()));
        events.push(EVENTS[4].to_owned());
        events.push(EVENTS[5].to_owned());
        events.extend(arguments.iter().map(|a| serde_json::json!({
            "type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": a}
        }).to_string()));
        events.push(EVENTS[8].to_owned());
        events.push(EVENTS[10].to_owned());
        let items = drain(canonical_stream(sse(events)));
        check_stream(&items)?;
        prop_assert!(items.iter().all(Result::is_ok), "{:?}", items);
        prop_assert_eq!(joined(&items), (pieces.concat(), arguments.concat()));
        let last = items.last().unwrap().as_ref().unwrap();
        prop_assert_eq!(last.finish_reason, Some(aihub_domain::FinishReason::ToolCalls));
        prop_assert!(last.usage.is_some());
    }
}
