//! Shared pieces of the property-based fuzz targets (proptest: cargo-fuzz needs nightly).
//!
//! Each adapter's `fuzz` module feeds its stream decoder (a) arbitrary text, (b) arbitrary
//! JSON values, (c) documented vendor events with fields removed, replaced or added, and whole
//! streams of such events. This module holds the generators, the mutations and the checks
//! every adapter shares. Case counts come from `PROPTEST_CASES` (proptest's default: 256), so
//! `PROPTEST_CASES=20000 cargo test -p aihub-providers --lib fuzz` is a longer run.

use crate::{ChatStream, ProviderError};
use aihub_domain::{ChatChunk, ErrorCode};
use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Text put into generated events standing for a secret or a prompt an upstream might quote:
/// no error message may repeat it (messages are fixed sentences). The space keeps it from
/// passing as a "safe" identifier-like vendor code, which error messages may name.
pub(crate) const LEAK: &str = "LEAK MARK sk-0123";

/// The fuzz targets' configuration: proptest's defaults (cases from `PROPTEST_CASES`, 256
/// otherwise) without failure files; a failure found is kept as a plain regression test.
pub(crate) fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Field names and values the vendors use, so generated objects often hit real fields.
const KEYS: &[&str] = &[
    "type",
    "index",
    "id",
    "name",
    "text",
    "content",
    "delta",
    "choices",
    "message",
    "error",
    "code",
    "status",
    "usage",
    "finish_reason",
    "tool_calls",
    "function",
    "arguments",
    "partial_json",
    "content_block",
    "stop_reason",
    "candidates",
    "parts",
    "finishReason",
    "functionCall",
    "args",
    "usageMetadata",
    "promptFeedback",
    "blockReason",
    "done",
    "done_reason",
    "eval_count",
    "prompt_eval_count",
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "refusal",
    "role",
    "details",
    "reason",
];

const WORDS: &[&str] = &[
    "",
    " ",
    "[DONE]",
    "error",
    "text",
    "function",
    "assistant",
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "message_start",
    "message_delta",
    "message_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "text_delta",
    "input_json_delta",
    "tool_use",
    "ping",
    "overloaded_error",
    "rate_limit_error",
    "invalid_request_error",
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RESOURCE_EXHAUSTED",
    "INVALID_ARGUMENT",
    "context length exceeded",
    "{",
    "}",
    "\"error\"",
    LEAK,
];

/// Text: arbitrary Unicode, vendor words, or the leak marker.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => Just(LEAK.to_owned()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..8).prop_map(Value::from),
        (0u64..1000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// A JSON scalar.
pub(crate) fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => number(),
        3 => text().prop_map(Value::String),
    ]
}

/// An object key: a vendor field name most of the time.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Any JSON value, at most 4 levels deep, objects keyed mostly by vendor field names.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a JSON document, at a node chosen by an [`Index`] over all its nodes.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// Remove the node from its object or array.
    Remove(Index),
    /// Replace the node with another value.
    Replace(Index, Value),
    /// Add a field no vendor documents (`x_fuzz_…`) to an object node.
    AddUnknown(Index, String, Value),
}

/// A removal, a replacement by any JSON value, or an unknown field.
pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Remove),
        3 => (any::<Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => unknown_field(),
    ]
}

/// A field no vendor documents added to an object of the document.
pub(crate) fn unknown_field() -> impl Strategy<Value = Mutation> {
    (any::<Index>(), "[a-z]{1,6}", json_value())
        .prop_map(|(i, k, v)| Mutation::AddUnknown(i, format!("x_fuzz_{k}"), v))
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointers of every node of `v` (the root is `""`), in document order.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                pointers(item, &format!("{at}/{}", escape(k)), out);
            }
        }
        _ => {}
    }
}

/// Applies `m` to `doc`.
pub(crate) fn apply(doc: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, "", &mut all);
    let target = |i: &Index| all[i.index(all.len())].clone();
    match m {
        Mutation::Replace(i, v) => {
            if let Some(node) = doc.pointer_mut(&target(i)) {
                *node = v.clone();
            }
        }
        Mutation::Remove(i) => {
            let ptr = target(i);
            let Some((parent, last)) = ptr.rsplit_once('/') else {
                return; // the root stays
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&last);
                }
                Some(Value::Array(items)) => {
                    if let Ok(n) = last.parse::<usize>()
                        && n < items.len()
                    {
                        items.remove(n);
                    }
                }
                _ => {}
            }
        }
        Mutation::AddUnknown(i, k, v) => {
            let objects: Vec<&String> = all
                .iter()
                .filter(|p| doc.pointer(p).is_some_and(Value::is_object))
                .collect();
            if objects.is_empty() {
                return;
            }
            let ptr = objects[i.index(objects.len())].clone();
            if let Some(Value::Object(map)) = doc.pointer_mut(&ptr) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// What one event (or line) did to a decoder, the same shape for every adapter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Nothing to yield (keep-alive, role-only chunk, a later event type).
    Skip,
    /// A chunk to yield; the stream goes on.
    Chunk(ChatChunk),
    /// The end marker, with its last chunk if it carries one.
    End(Option<ChatChunk>),
    /// An error, the stream's last item.
    Fail(ProviderError),
}

impl Outcome {
    /// The outcome with what may differ between equivalent events left out: generated tool
    /// call ids, and argument text (an unknown key added inside an arguments object is part
    /// of the arguments).
    pub(crate) fn shape(&self) -> Outcome {
        let strip = |c: &ChatChunk| {
            let mut c = c.clone();
            for t in &mut c.tool_calls {
                t.id = t.id.as_ref().map(|_| String::new());
                t.arguments = None;
            }
            c
        };
        match self {
            Outcome::Chunk(c) => Outcome::Chunk(strip(c)),
            Outcome::End(c) => Outcome::End(c.as_ref().map(strip)),
            other => other.clone(),
        }
    }
}

/// Whether `data` (trimmed) is a JSON object: the only thing a vendor event may be.
pub(crate) fn is_json_object(data: &[u8]) -> bool {
    serde_json::from_slice::<Value>(data).is_ok_and(|v| v.is_object())
}

/// Whether `data` is JSON at all.
pub(crate) fn is_json(data: &[u8]) -> bool {
    serde_json::from_slice::<Value>(data).is_ok()
}

/// The checks every error must pass: a message, no quoted upstream text.
pub(crate) fn check_error(e: &ProviderError) -> Result<(), TestCaseError> {
    prop_assert!(!e.message.is_empty(), "an error without a message: {e:?}");
    prop_assert!(
        !e.message.contains("LEAK MARK") && !e.message.contains("sk-0123"),
        "an error quotes the upstream: {e:?}"
    );
    Ok(())
}

/// The checks on one event's outcome: a chunk carries something, an error passes
/// [`check_error`], and only a JSON object (or blank data) may be skipped or turned into a
/// chunk: anything else is an error, never silently dropped.
pub(crate) fn check_outcome(data: &[u8], outcome: &Outcome) -> Result<(), TestCaseError> {
    let blank = data.trim_ascii().is_empty();
    match outcome {
        Outcome::Fail(e) => check_error(e)?,
        Outcome::Chunk(c) | Outcome::End(Some(c)) => {
            prop_assert_ne!(
                c,
                &ChatChunk::default(),
                "an empty chunk for {:?}",
                String::from_utf8_lossy(data)
            );
            prop_assert!(
                is_json_object(data),
                "a chunk from data that is not a JSON object: {:?} → {:?}",
                String::from_utf8_lossy(data),
                outcome
            );
        }
        Outcome::Skip | Outcome::End(None) => prop_assert!(
            blank || is_json_object(data),
            "data that is not a JSON object was accepted: {:?} → {:?}",
            String::from_utf8_lossy(data),
            outcome
        ),
    }
    if !blank && !is_json(data) {
        prop_assert!(
            matches!(outcome, Outcome::Fail(e) if is_malformed(e)),
            "text that is not JSON was not refused as malformed: {:?} → {:?}",
            String::from_utf8_lossy(data),
            outcome
        );
    }
    Ok(())
}

/// Runs a converted stream over in-memory events to its end. The stream is driven without a
/// runtime: every source item is ready, so it must finish at the first poll.
pub(crate) fn drain(stream: ChatStream) -> Vec<Result<ChatChunk, ProviderError>> {
    let collected = stream.collect::<Vec<_>>().now_or_never();
    assert!(collected.is_some(), "an in-memory stream did not finish");
    collected.unwrap_or_default()
}

/// The checks on a whole converted stream: chunks are not empty; at most one error, and
/// only as the last item; every error passes [`check_error`]; the first piece of each tool
/// call carries its id and later pieces carry neither id nor name.
pub(crate) fn check_stream(
    items: &[Result<ChatChunk, ProviderError>],
) -> Result<(), TestCaseError> {
    let mut calls: HashMap<u32, usize> = HashMap::new();
    for (n, item) in items.iter().enumerate() {
        match item {
            Err(e) => {
                check_error(e)?;
                prop_assert_eq!(n + 1, items.len(), "an item after an error: {:?}", items);
            }
            Ok(c) => {
                prop_assert_ne!(c, &ChatChunk::default(), "an empty chunk: {:?}", items);
                for t in &c.tool_calls {
                    let seen = calls.entry(t.index).or_default();
                    if *seen == 0 {
                        prop_assert!(t.id.is_some(), "a call's first piece has no id: {:?}", c);
                    } else {
                        prop_assert!(
                            t.id.is_none() && t.name.is_none(),
                            "a later piece of a call repeats id or name: {:?}",
                            c
                        );
                    }
                    *seen += 1;
                }
            }
        }
    }
    Ok(())
}

/// Whether `e` is the error for data that is not in the vendor's format.
pub(crate) fn is_malformed(e: &ProviderError) -> bool {
    e.code == ErrorCode::UpstreamInvalidResponse
}

/// One event of a generated stream: a template as is, a mutated template, arbitrary JSON or
/// arbitrary text. `templates` are the adapter's documented events.
pub(crate) fn event_data(templates: &'static [&'static str]) -> impl Strategy<Value = String> {
    let template = prop::sample::select(templates).prop_map(str::to_owned);
    prop_oneof![
        6 => template.clone(),
        3 => (prop::sample::select(templates), prop::collection::vec(mutation(), 1..4))
            .prop_map(|(t, ms)| mutated(t, &ms)),
        1 => json_value().prop_map(|v| v.to_string()),
        1 => text(),
    ]
}

/// `template` (JSON text) with `mutations` applied, as JSON text.
pub(crate) fn mutated(template: &str, mutations: &[Mutation]) -> String {
    let doc = serde_json::from_str(template);
    assert!(doc.is_ok(), "a template is not JSON: {template}");
    let mut doc: Value = doc.unwrap_or_default();
    for m in mutations {
        apply(&mut doc, m);
    }
    doc.to_string()
}

/// Event data as an in-memory SSE event stream.
pub(crate) fn sse(
    data: Vec<String>,
) -> futures_util::stream::BoxStream<'static, Result<eventsource_stream::Event, ProviderError>> {
    futures_util::stream::iter(data.into_iter().map(|d| {
        Ok(eventsource_stream::Event {
            data: d,
            ..eventsource_stream::Event::default()
        })
    }))
    .boxed()
}

/// The text of a stream's chunks, joined, and the argument pieces of tool call 0, joined.
pub(crate) fn joined(items: &[Result<ChatChunk, ProviderError>]) -> (String, String) {
    let mut text = String::new();
    let mut arguments = String::new();
    for c in items.iter().flatten() {
        text.push_str(c.delta.as_deref().unwrap_or_default());
        for t in c.tool_calls.iter().filter(|t| t.index == 0) {
            arguments.push_str(t.arguments.as_deref().unwrap_or_default());
        }
    }
    (text, arguments)
}
