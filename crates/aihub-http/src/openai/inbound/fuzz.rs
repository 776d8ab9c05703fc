//! Fuzz targets of the `/v1` request validation (proptest: cargo-fuzz needs nightly): JSON
//! values shaped like chat and embeddings requests, with any field missing, mistyped or out
//! of range, and arbitrary JSON. Case counts come from `PROPTEST_CASES` (proptest's default:
//! 256), so `PROPTEST_CASES=20000 cargo test -p aihub-http --lib inbound::fuzz` is a longer
//! run.

#![allow(clippy::unwrap_used)]

use super::*;
use aihub_domain::ErrorCode;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

/// proptest's defaults (cases from `PROPTEST_CASES`) without failure files: a failure found
/// is kept as a plain regression test.
fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// The top-level fields of a chat request (`param` starts with one of them).
const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "user",
    "n",
    "stream",
    "stream_options",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["", " ", "x", "f", "call_1", "function", "auto", "https://x/y.png"][..])
            .prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u64..5).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0f64..3.0).prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

/// Any JSON value, keyed mostly by request field names.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(CHAT_FIELDS).prop_map(str::to_owned),
        2 => prop::sample::select(&["role", "content", "type", "text", "id", "function", "name",
            "input", "image_url", "url", "tool_calls", "json_schema"][..]).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf().prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A field's value: absent (`None`), a plausible one, or any JSON at all.
fn field(plausible: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        6 => plausible.prop_map(Some),
        1 => json_value().prop_map(Some),
    ]
}

/// An object of the fields that are present.
fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<Map<_, _>>(),
    )
}

fn part() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(|t| json!({"type": "text", "text": t})),
        (text(), field(text().prop_map(Value::String))).prop_map(|(url, detail)| {
            json!({"type": "image_url", "image_url": object(vec![("url", Some(Value::String(url))), ("detail", detail)])})
        }),
        text().prop_map(|t| json!({"type": t})),
    ]
}

fn tool_call() -> impl Strategy<Value = Value> {
    (
        field(text().prop_map(Value::String)),
        field(prop_oneof![
            Just(json!("function")),
            text().prop_map(Value::String)
        ]),
        field(text().prop_map(Value::String)),
        field(prop_oneof![
            text().prop_map(Value::String),
            Just(json!({"a": 1}))
        ]),
    )
        .prop_map(|(id, kind, name, arguments)| {
            object(vec![
                ("id", id),
                ("type", kind),
                (
                    "function",
                    Some(object(vec![("name", name), ("arguments", arguments)])),
                ),
            ])
        })
}

fn message() -> impl Strategy<Value = Value> {
    let role = prop_oneof![
        6 => prop::sample::select(&["system", "developer", "user", "assistant", "tool"][..])
            .prop_map(|r| json!(r)),
        1 => text().prop_map(Value::String),
    ];
    let content = prop_oneof![
        text().prop_map(Value::String),
        Just(Value::Null),
        prop::collection::vec(part(), 0..4).prop_map(Value::Array),
    ];
    (
        field(role),
        field(content),
        field(text().prop_map(Value::String)),
        field(prop::collection::vec(tool_call(), 0..3).prop_map(Value::Array)),
        field(text().prop_map(Value::String)),
    )
        .prop_map(|(role, content, name, tool_calls, tool_call_id)| {
            object(vec![
                ("role", role),
                ("content", content),
                ("name", name),
                ("tool_calls", tool_calls),
                ("tool_call_id", tool_call_id),
            ])
        })
}

fn tool() -> impl Strategy<Value = Value> {
    (
        field(prop_oneof![
            Just(json!("function")),
            text().prop_map(Value::String)
        ]),
        field(text().prop_map(Value::String)),
        field(any::<bool>().prop_map(Value::Bool)),
    )
        .prop_map(|(kind, name, strict)| {
            object(vec![
                ("type", kind),
                (
                    "function",
                    Some(object(vec![
                        ("name", name),
                        ("parameters", Some(json!({"type": "object"}))),
                        ("strict", strict),
                    ])),
                ),
            ])
        })
}

fn tool_choice() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(&["auto", "none", "required", "any"][..]).prop_map(|m| json!(m)),
        (
            field(prop_oneof![
                Just(json!("function")),
                text().prop_map(Value::String)
            ]),
            text()
        )
            .prop_map(|(kind, name)| object(vec![
                ("type", kind),
                ("function", Some(json!({"name": name})))
            ])),
    ]
}

fn response_format() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "text"})),
        Just(json!({"type": "json_object"})),
        (text(), any::<bool>()).prop_map(|(name, strict)| json!({"type": "json_schema",
            "json_schema": {"name": name, "schema": {"type": "object"}, "strict": strict}})),
        text().prop_map(|t| json!({"type": t})),
    ]
}

/// A chat request body: every field absent, plausible (in range or just out of it) or any
/// JSON, plus unknown fields.
fn chat_body() -> impl Strategy<Value = Value> {
    let tokens = || {
        prop_oneof![
            (0u64..3).prop_map(Value::from),
            any::<u32>().prop_map(Value::from)
        ]
    };
    let unit = |hi: f64| {
        prop_oneof![
            (-0.5f64..hi + 0.5).prop_map(Value::from),
            Just(json!(0)),
            Just(json!(hi))
        ]
    };
    let stop = prop_oneof![
        text().prop_map(Value::String),
        prop::collection::vec(text(), 0..7).prop_map(|v| json!(v)),
    ];
    let head = (
        field(text().prop_map(Value::String)),
        field(prop::collection::vec(message(), 0..5).prop_map(Value::Array)),
        field(tokens()),
        field(tokens()),
        field(unit(2.0)),
        field(unit(1.0)),
        field(stop),
        field(any::<i64>().prop_map(Value::from)),
    );
    let tail = (
        field(prop::collection::vec(tool(), 0..3).prop_map(Value::Array)),
        field(tool_choice()),
        field(response_format()),
        field(text().prop_map(Value::String)),
        field((0u64..3).prop_map(Value::from)),
        field(any::<bool>().prop_map(Value::Bool)),
        field(any::<bool>().prop_map(|b| json!({"include_usage": b}))),
        prop::collection::vec(("x_[a-z]{1,4}", json_value()), 0..2),
    );
    (head, tail).prop_map(
        |(
            (model, messages, max_tokens, max_completion_tokens, temperature, top_p, stop, seed),
            (tools, tool_choice, response_format, user, n, stream, stream_options, extra),
        )| {
            let mut body = object(vec![
                ("model", model),
                ("messages", messages),
                ("max_tokens", max_tokens),
                ("max_completion_tokens", max_completion_tokens),
                ("temperature", temperature),
                ("top_p", top_p),
                ("stop", stop),
                ("seed", seed),
                ("tools", tools),
                ("tool_choice", tool_choice),
                ("response_format", response_format),
                ("user", user),
                ("n", n),
                ("stream", stream),
                ("stream_options", stream_options),
            ]);
            if let Value::Object(map) = &mut body {
                map.extend(extra);
            }
            body
        },
    )
}

/// An embeddings request body.
fn embeddings_body() -> impl Strategy<Value = Value> {
    let input = prop_oneof![
        text().prop_map(Value::String),
        prop::collection::vec(text(), 0..5).prop_map(|v| json!(v)),
        (2040usize..2056).prop_map(|n| json!(vec!["x"; n])),
        prop::collection::vec(0u32..100, 0..4).prop_map(|v| json!(v)),
        Just(json!([[1, 2], [3]])),
    ];
    (
        field(text().prop_map(Value::String)),
        field(input),
        field((0u64..3).prop_map(Value::from)),
        field(prop_oneof![
            Just(json!("float")),
            Just(json!("base64")),
            text().prop_map(Value::String)
        ]),
        field(text().prop_map(Value::String)),
    )
        .prop_map(|(model, input, dimensions, encoding_format, user)| {
            object(vec![
                ("model", model),
                ("input", input),
                ("dimensions", dimensions),
                ("encoding_format", encoding_format),
                ("user", user),
            ])
        })
}

/// One step of a `param` path: `messages[2].content` is `messages`, `[2]`, `content`.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

fn steps(param: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    for part in param.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if key.is_empty() {
            return None;
        }
        out.push(Step::Key(key.to_owned()));
        while !rest.is_empty() {
            let (n, after) = rest.split_once(']')?;
            out.push(Step::At(n.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

/// Whether `param` names a field of `body`: a path whose every step but the last exists,
/// ending at a key (present or missing: "required" names a missing one) or an index into an
/// array.
fn names_a_field(body: &Value, param: &str, top: &[&str]) -> bool {
    let Some(steps) = steps(param) else {
        return false;
    };
    let Some((last, path)) = steps.split_last() else {
        return false;
    };
    let first_ok = matches!(steps.first(), Some(Step::Key(k)) if top.contains(&k.as_str()));
    let mut at = body;
    for step in path {
        let next = match step {
            Step::Key(k) => at.get(k),
            Step::At(i) => at.get(i),
        };
        let Some(next) = next else {
            return false;
        };
        at = next;
    }
    first_ok
        && match last {
            Step::Key(_) => true,
            Step::At(i) => at.as_array().is_some_and(|a| *i < a.len()),
        }
}

/// The checks on one chat request body: deserializing and validating never panic; a
/// refusal names a field of the body; an accepted request keeps every documented rule.
fn check_chat(body: &Value) -> Result<(), TestCaseError> {
    let Ok(wire) = serde_json::from_value::<ChatCompletionRequest>(body.clone()) else {
        return Ok(());
    };
    match chat_request_from_wire(wire.clone()) {
        Err(e) => {
            prop_assert!(!e.message.is_empty());
            prop_assert!(
                names_a_field(body, &e.param, CHAT_FIELDS),
                "the refusal {:?} names no field of {}",
                e,
                body
            );
        }
        Ok(got) => {
            let r = &got.request;
            prop_assert_eq!(r.messages.len(), wire.messages.len());
            prop_assert!(!r.messages.is_empty());
            prop_assert!(r.max_tokens.is_none_or(|m| m >= 1));
            prop_assert!(r.temperature.is_none_or(|t| (0.0..=2.0).contains(&t)));
            prop_assert!(r.top_p.is_none_or(|p| (0.0..=1.0).contains(&p)));
            prop_assert!(r.stop.len() <= 4);
            prop_assert!(wire.n.is_none_or(|n| n == 1));
            prop_assert!(!got.include_usage || got.stream);
            for m in &r.messages {
                prop_assert!(m.tool_calls.is_empty() || m.role == ChatRole::Assistant);
                prop_assert!(
                    m.role != ChatRole::Tool
                        || m.tool_call_id.as_ref().is_some_and(|i| !i.is_empty())
                );
                prop_assert!(m.role == ChatRole::User || m.content.images().next().is_none());
                for c in &m.tool_calls {
                    prop_assert!(!c.id.is_empty() && !c.name.is_empty());
                }
            }
            prop_assert!(r.tools.iter().all(|t| !t.name.is_empty()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Chat request bodies with fields missing, mistyped or out of range.
    #[test]
    fn fuzz_chat_request_validation(body in chat_body()) {
        check_chat(&body)?;
    }

    /// Any JSON at all as a chat request body.
    #[test]
    fn fuzz_chat_request_any_json(body in json_value()) {
        check_chat(&body)?;
    }

    /// Through the body extractor, as a client sends it: the body is valid JSON, so a body that
    /// is not an object is refused as `invalid_json` ("must be a JSON object"), and an object's
    /// refusal is a validation error naming one of its fields; an accepted body reads as plain
    /// deserialization reads it.
    #[test]
    fn fuzz_chat_request_body_extractor(body in prop_oneof![chat_body(), json_value()]) {
        let bytes = body.to_string().into_bytes();
        match crate::extract::parse_json::<ChatCompletionRequest>(&bytes) {
            Ok(wire) => prop_assert_eq!(Some(wire), serde_json::from_slice(&bytes).ok()),
            Err(crate::error::ApiError(e)) if !body.is_object() => {
                prop_assert_eq!(e.code, ErrorCode::InvalidJson, "{:?} for {}", e, body);
            }
            Err(crate::error::ApiError(e)) => {
                prop_assert_eq!(e.code, ErrorCode::ValidationError, "{:?} for {}", e, body);
                {
                    let param = e.param.clone().unwrap_or_default();
                    prop_assert!(
                        names_a_field(&body, &param, CHAT_FIELDS),
                        "the refusal {:?} names no field of {}", e, body
                    );
                }
            }
        }
    }

    /// A body with text after it: `invalid_json` naming no field exactly when the whole is
    /// not one JSON value (`1` then `0` is `10`, a JSON value) or not an object.
    #[test]
    fn fuzz_trailing_text_is_malformed(
        body in prop_oneof![chat_body(), json_value()],
        suffix in prop_oneof![any::<String>(), "[ \\t\\r\\n]{0,2}[x{}\\[\\]0,\"]{1,3}"],
    ) {
        let bytes = format!("{body}{suffix}").into_bytes();
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
        let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let got = crate::extract::parse_json::<ChatCompletionRequest>(&bytes);
        let malformed = got
            .as_ref()
            .err()
            .is_some_and(|crate::error::ApiError(e)| e.code == ErrorCode::InvalidJson && e.param.is_none());
        prop_assert_eq!(malformed, !is_json || !is_object, "{:?} for {}{}", got.err(), body, suffix);
    }

    /// Embeddings request bodies: a refusal names `input`, `input[i]`, `encoding_format` or
    /// `dimensions`; an accepted request has 1 to 2048 non-empty texts and no zero dimensions.
    #[test]
    fn fuzz_embeddings_request_validation(body in prop_oneof![4 => embeddings_body(), 1 => json_value()]) {
        let Ok(wire) = serde_json::from_value::<EmbeddingsRequest>(body.clone()) else {
            return Ok(());
        };
        match embeddings_request_from_wire(wire.clone()) {
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                prop_assert!(
                    names_a_field(&body, &e.param, &["input", "encoding_format", "dimensions"]),
                    "the refusal {:?} names no field of {}", e, body
                );
            }
            Ok((request, base64)) => {
                prop_assert!((1..=2048).contains(&request.input.len()));
                prop_assert!(request.input.iter().all(|t| !t.is_empty()));
                prop_assert!(request.dimensions != Some(0));
                prop_assert_eq!(base64, wire.encoding_format.as_deref() == Some("base64"));
                prop_assert_eq!(request.model, wire.model);
            }
        }
    }
}

#[test]
fn param_paths_are_read_as_steps() {
    assert_eq!(
        steps("messages[2].content[0].image_url.url"),
        Some(vec![
            Step::Key("messages".into()),
            Step::At(2),
            Step::Key("content".into()),
            Step::At(0),
            Step::Key("image_url".into()),
            Step::Key("url".into()),
        ])
    );
    let body = json!({"messages": [{"role": "tool"}]});
    assert!(names_a_field(
        &body,
        "messages[0].tool_call_id",
        CHAT_FIELDS
    ));
    assert!(!names_a_field(
        &body,
        "messages[1].tool_call_id",
        CHAT_FIELDS
    ));
    assert!(!names_a_field(&body, "", CHAT_FIELDS));
}

/// Found by `fuzz_chat_request_body_extractor`: serde_json reports a value of the wrong
/// type for an enum (a `role` that is not a string) as a syntax error ("expected value"), so
/// a valid JSON body was refused as `invalid_json` "malformed JSON" naming no field.
#[test]
fn a_mistyped_role_is_a_validation_error_naming_it() {
    for body in [
        r#"{"model":"m","messages":[{"role":5,"content":"Hi"}]}"#,
        r#"{"model":"m","messages":[{"role":null,"content":"Hi"}]}"#,
        r#"{"model":"m","messages":[{"role":["user"],"content":"Hi"}]}"#,
        r#"{"model":"m","messages":[[null]]}"#,
    ] {
        let crate::error::ApiError(e) =
            crate::extract::parse_json::<ChatCompletionRequest>(body.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError, "{body}: {e:?}");
        assert!(
            e.param
                .as_deref()
                .is_some_and(|p| p.starts_with("messages[0]")),
            "{body}: {e:?}"
        );
        assert!(!e.message.contains("line 1"), "{body}: {e:?}");
    }
    // A number JSON allows but `f64` cannot hold names its field too.
    let crate::error::ApiError(e) = crate::extract::parse_json::<ChatCompletionRequest>(
        br#"{"model":"m","messages":[],"temperature":1e400}"#,
    )
    .unwrap_err();
    assert_eq!(
        (e.code, e.param.as_deref()),
        (ErrorCode::ValidationError, Some("temperature"))
    );
    // Text that is not JSON stays `invalid_json`.
    for body in [r#"{"model":"#, r#"{"model":"m"} x"#, "[1,]"] {
        let crate::error::ApiError(e) =
            crate::extract::parse_json::<ChatCompletionRequest>(body.as_bytes()).unwrap_err();
        assert_eq!((e.code, e.param), (ErrorCode::InvalidJson, None), "{body}");
    }
}

/// Found while fixing the above, and now a property (`fuzz_trailing_text_is_malformed`): the
/// extractor never checked what followed the value, so a valid request followed by any text
/// was accepted.
#[test]
fn trailing_text_after_the_body_is_malformed() {
    for body in [
        r#"{"model":"m","messages":[{"role":"user","content":"Hi"}]} x"#,
        r#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}{}"#,
    ] {
        let crate::error::ApiError(e) =
            crate::extract::parse_json::<ChatCompletionRequest>(body.as_bytes()).unwrap_err();
        assert_eq!((e.code, e.param), (ErrorCode::InvalidJson, None), "{body}");
    }
    let ok = r#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}  
"#;
    assert!(crate::extract::parse_json::<ChatCompletionRequest>(ok.as_bytes()).is_ok());
}
