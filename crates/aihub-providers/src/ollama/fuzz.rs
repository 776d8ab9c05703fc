//! Fuzz targets of the Ollama NDJSON stream decoding (`line_step` per line, `chat_chunks`
//! over a whole stream): arbitrary bytes, arbitrary JSON, documented lines mutated, and
//! streams of all of these. See `crate::fuzzing` for the shared checks.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fuzzing::{
    Outcome, check_outcome, check_stream, config, drain, event_data, joined, json_value, mutated,
    mutation, text, unknown_field,
};
use proptest::prelude::*;

/// Documented `/api/chat` stream lines and an error line.
const LINES: &[&str] = &[
    r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}"#,
    r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":false}"#,
    r#"{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_1","function":{"index":0,"name":"get_time","arguments":{}}}]},"done":false}"#,
    r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"#,
    r#"{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","eval_count":5}"#,
    r#"{"error":"model 'x' not found, try pulling it first"}"#,
    r#"{"error":"input length exceeds the context length"}"#,
];

fn feed(state: &mut convert::StreamState, line: &[u8]) -> Outcome {
    match line_step(state, line) {
        Ok((chunk, true)) => Outcome::End(chunk),
        Ok((chunk, false)) => chunk.map_or(Outcome::Skip, Outcome::Chunk),
        Err(e) => Outcome::Fail(e),
    }
}

/// A line: arbitrary bytes as well as text, JSON and (mutated) documented lines.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => event_data(LINES).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 1..40),
    ]
}

/// The templates are what the vendor documents: each decodes (an error event to its own
/// error, never to "not in the format"), so mutations start from meaningful events.
#[test]
fn the_templates_decode() {
    for data in LINES {
        let got = feed(&mut convert::StreamState::default(), data.as_bytes());
        assert!(
            !matches!(&got, Outcome::Fail(e) if crate::fuzzing::is_malformed(e)),
            "{data} → {got:?}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes as a line: no panic; bytes that are not JSON are refused as malformed.
    #[test]
    fn fuzz_ollama_line_bytes(
        data in prop_oneof![
            text().prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
    ) {
        check_outcome(&data, &feed(&mut convert::StreamState::default(), &data))?;
    }

    /// Any JSON value: only an object may become a chunk or be skipped.
    #[test]
    fn fuzz_ollama_line_json(value in json_value()) {
        let data = value.to_string();
        check_outcome(data.as_bytes(), &feed(&mut convert::StreamState::default(), data.as_bytes()))?;
    }

    /// Documented lines with fields removed, replaced or added: chunk or error, and unknown
    /// fields change nothing.
    #[test]
    fn fuzz_ollama_mutated_line(
        template in prop::sample::select(LINES),
        mutations in prop::collection::vec(mutation(), 1..4),
        unknown in prop::collection::vec(unknown_field(), 1..3),
    ) {
        let data = mutated(template, &mutations);
        check_outcome(data.as_bytes(), &feed(&mut convert::StreamState::default(), data.as_bytes()))?;
        let widened = mutated(template, &unknown);
        prop_assert_eq!(
            feed(&mut convert::StreamState::default(), widened.as_bytes()).shape(),
            feed(&mut convert::StreamState::default(), template.as_bytes()).shape(),
            "an unknown field changed the meaning of {}", widened
        );
    }

    /// Whole streams of lines (as the framing yields them: no blank ones): chunks or one
    /// final error; a stream that ends without an error ended with the `done` line.
    #[test]
    fn fuzz_ollama_stream(lines in prop::collection::vec(line(), 0..12)) {
        let lines: Vec<Result<Bytes, ProviderError>> = lines
            .into_iter()
            .filter(|l| !l.trim_ascii().is_empty())
            .map(|l| Ok(Bytes::from(l)))
            .collect();
        let items = drain(chat_chunks(futures_util::stream::iter(lines).boxed()));
        check_stream(&items)?;
        if let Some(Ok(last)) = items.last() {
            prop_assert!(last.finish_reason.is_some(), "{:?}", items);
        }
        prop_assert!(!items.is_empty(), "a stream ended with nothing, not even an error");
    }
}

/// Found by `fuzz_ollama_line_json`: serde reads a struct from a JSON array of its fields,
/// so `[]` was a skipped line and `[null,["hi"],true]` a made-up final chunk, where a line
/// that is not a reply object must be refused.
#[test]
fn an_array_is_not_a_line() {
    for data in ["[]", r#"[null,["hi"],true]"#] {
        let got = feed(&mut convert::StreamState::default(), data.as_bytes());
        assert_eq!(
            got,
            Outcome::Fail(http::malformed_chunk("Ollama")),
            "{data}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// A well-formed stream of any text pieces: the chunks give back exactly that text, and
    /// the last chunk the finish reason and usage.
    #[test]
    fn fuzz_ollama_stream_round_trip(pieces in prop::collection::vec(any::<String>(), 0..8)) {
        let mut lines: Vec<Result<Bytes, ProviderError>> = pieces
            .iter()
            .map(|p| Ok(Bytes::from(serde_json::json!({
                "model": "m", "message": {"role": "assistant", "content": p}, "done": false
            }).to_string())))
            .collect();
        lines.push(Ok(Bytes::from_static(LINES[3].as_bytes())));
        let items = drain(chat_chunks(futures_util::stream::iter(lines).boxed()));
        check_stream(&items)?;
        prop_assert!(items.iter().all(Result::is_ok), "{:?}", items);
        prop_assert_eq!(joined(&items).0, pieces.concat());
        let last = items.last().unwrap().as_ref().unwrap();
        prop_assert_eq!(last.finish_reason, Some(aihub_domain::FinishReason::Stop));
        prop_assert!(last.usage.is_some());
    }
}
