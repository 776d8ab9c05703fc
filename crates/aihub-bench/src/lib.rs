//! AI Hub's gateway overhead benchmark tools, driven by `bench/run.sh` (`just bench`):
//!
//! - `bench-upstream`: a fast fake OpenAI-wire upstream on one actix-web worker that answers
//!   `POST /v1/chat/completions` with the fixed replies of this crate ([`COMPLETION_BODY`], or
//!   [`STREAM_EVENTS`] when the request asks for `"stream": true`) and `GET /v1/models` with
//!   [`MODELS_BODY`];
//! - `bench-ttfb`: a keep-alive HTTP/1.1 load client for streamed replies that measures the
//!   time to the first `data:` event and to the end of the stream (`wrk` only measures whole
//!   responses).
//!
//! This library holds what both share and what the tests check: the canned replies (shapes
//! from OpenAI's API reference, <https://platform.openai.com/docs/api-reference/chat/object>
//! and <https://platform.openai.com/docs/api-reference/chat/streaming>), the stream flag
//! check, and nearest-rank percentiles.

use std::time::Duration;

/// The model every canned reply names.
pub const MODEL: &str = "bench-model";

/// The non-streaming reply: a 431-byte OpenAI `chat.completion` object with `usage`
/// (<https://platform.openai.com/docs/api-reference/chat/object>), the reply size the peer
/// figures quoted in `docs/BENCHMARKS.md` were measured with.
pub const COMPLETION_BODY: &str = concat!(
    r#"{"id":"chatcmpl-bench001","object":"chat.completion","created":1700000000,"#,
    r#""model":"bench-model","system_fingerprint":"fp_bench","choices":[{"index":0,"#,
    r#""message":{"role":"assistant","content":"Hello! This is the fixed reply of the AI Hub "#,
    r#"benchmark upstream, a sentence long enough to look like an answer.","refusal":null},"#,
    r#""logprobs":null,"finish_reason":"stop"}],"#,
    r#""usage":{"prompt_tokens":12,"completion_tokens":38,"total_tokens":50}}"#
);

/// The streamed reply, one entry per server-sent event, in order: a role chunk, five content
/// chunks, a finish chunk, a usage chunk (`choices: []`, what OpenAI sends with
/// `stream_options.include_usage`) and `data: [DONE]`
/// (<https://platform.openai.com/docs/api-reference/chat/streaming>).
pub const STREAM_EVENTS: [&str; 9] = [
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"content":"! This"},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"content":" is a"},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"content":" streamed"},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{"content":" reply."},"logprobs":null,"finish_reason":null}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
        "\n\n"
    ),
    concat!(
        r#"data: {"id":"chatcmpl-bench001","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","system_fingerprint":"fp_bench","#,
        r#""choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#,
        "\n\n"
    ),
    "data: [DONE]\n\n",
];

/// The `GET /v1/models` reply: an OpenAI `list` holding [`MODEL`]
/// (<https://platform.openai.com/docs/api-reference/models/list>).
pub const MODELS_BODY: &str = r#"{"object":"list","data":[{"id":"bench-model","object":"model","created":1700000000,"owned_by":"bench"}]}"#;

/// Whether a chat completion request body asks for a streamed reply: a cheap scan for
/// `"stream"` followed (after optional whitespace and the colon) by `true`, without parsing
/// the JSON. A `"stream"` inside a message text could fool it; the benchmark's own bodies
/// never hold one.
pub fn wants_stream(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"stream\"";
    let mut rest = body;
    while let Some(at) = find(rest, KEY) {
        let after = &rest[at + KEY.len()..];
        let value = after
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b':'))
            .map_or(&[][..], |i| &after[i..]);
        if value.starts_with(b"true") {
            return true;
        }
        rest = after;
    }
    false
}

/// Where `needle` first occurs in `haystack` (`None` when absent or when `needle` is empty).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The nearest-rank `p`-th percentile (0 < `p` ≤ 100) of durations sorted ascending; `None`
/// for an empty slice.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index])
}

/// A duration in milliseconds with microsecond precision, for reports.
pub fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_431_bytes_of_valid_chat_completion() {
        assert_eq!(COMPLETION_BODY.len(), 431);
        let v: serde_json::Value = serde_json::from_str(COMPLETION_BODY).expect("valid JSON");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], MODEL);
        assert_eq!(v["usage"]["total_tokens"], 50);
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn stream_events_are_valid_chunks_ending_in_done() {
        let (last, chunks) = STREAM_EVENTS.split_last().expect("not empty");
        assert_eq!(*last, "data: [DONE]\n\n");
        let mut text = String::new();
        for event in chunks {
            let json = event
                .strip_prefix("data: ")
                .and_then(|e| e.strip_suffix("\n\n"))
                .expect("one SSE data event");
            let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
            assert_eq!(v["object"], "chat.completion.chunk");
            if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                text.push_str(c);
            }
        }
        assert_eq!(text, "Hello! This is a streamed reply.");
        let usage: serde_json::Value = serde_json::from_str(
            chunks[chunks.len() - 1]
                .trim_start_matches("data: ")
                .trim_end(),
        )
        .expect("valid JSON");
        assert_eq!(usage["choices"], serde_json::json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 18);
    }

    #[test]
    fn models_body_is_a_list() {
        let v: serde_json::Value = serde_json::from_str(MODELS_BODY).expect("valid JSON");
        assert_eq!(v["data"][0]["id"], MODEL);
    }

    #[test]
    fn stream_flag_is_found_in_both_spellings() {
        assert!(wants_stream(br#"{"model":"m","stream":true}"#));
        assert!(wants_stream(br#"{"model":"m", "stream" : true}"#));
        assert!(!wants_stream(br#"{"model":"m","stream":false}"#));
        assert!(!wants_stream(br#"{"model":"m"}"#));
        assert!(wants_stream(br#"{"stream":false,"x":{"stream":true}}"#));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&v, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 50.0),
            Some(Duration::from_millis(7))
        );
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
    }

    #[test]
    fn find_locates_needles() {
        assert_eq!(find(b"xxdata: y", b"data:"), Some(2));
        assert_eq!(find(b"dat", b"data:"), None);
        assert_eq!(find(b"abc", b""), None);
    }
}
