use super::*;
use aihub_domain::{ChatRole, ImagePart, ResponseFormat, ToolChoice};
use serde_json::{Value, json};

// ---- a client's chat request → canonical ----

fn inbound(body: Value) -> Result<InboundChat, InvalidField> {
    chat_request_from_wire(serde_json::from_value(body).expect("wire parses"))
}

fn param_of(body: Value) -> String {
    inbound(body).expect_err("invalid").param
}

#[test]
fn inbound_request_maps_every_field() {
    let got = inbound(json!({
        "model": "openrouter/x-ai/grok-beta",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is it?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
        ],
        "max_tokens": 10,
        "max_completion_tokens": 20,
        "temperature": 2,
        "top_p": 0.5,
        "stop": "END",
        "seed": 7,
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}, "strict": true}}],
        "tool_choice": "required",
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
        "user": "u-1",
        "n": 1,
        "stream": true,
        "stream_options": {"include_usage": true},
        "logprobs": true,
        "provider": {"order": ["openai"]}
    }))
    .expect("valid");
    assert!(got.stream && got.include_usage);
    let r = got.request;
    assert_eq!(r.model, "openrouter/x-ai/grok-beta");
    assert_eq!(r.max_tokens, Some(20), "max_completion_tokens wins");
    assert_eq!(r.temperature, Some(2.0));
    assert_eq!(r.top_p, Some(0.5));
    assert_eq!(r.stop, vec!["END".to_owned()]);
    assert_eq!(r.seed, Some(7));
    assert_eq!(r.user.as_deref(), Some("u-1"));
    assert_eq!(r.messages[0].role, ChatRole::System);
    assert_eq!(r.messages[1].name.as_deref(), Some("ann"));
    assert_eq!(
        r.messages[1].content.images().collect::<Vec<_>>(),
        vec![&ImagePart {
            url: "https://example.com/cat.png".into(),
            detail: Some("high".into())
        }]
    );
    assert_eq!(r.messages[2].tool_calls[0].name, "look");
    assert!(r.messages[2].content.is_empty());
    assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(r.tools[0].strict, Some(true));
    assert_eq!(r.tool_choice, Some(ToolChoice::Required));
    assert!(matches!(
        r.response_format,
        Some(ResponseFormat::JsonSchema { ref name, .. }) if name == "out"
    ));
    assert_eq!(r.extra.len(), 2);
    assert_eq!(r.extra["provider"], json!({"order": ["openai"]}));
}

#[test]
fn inbound_defaults_are_not_streaming() {
    let got = inbound(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                             "stream_options": {"include_usage": true}}),
    )
    .expect("valid");
    assert!(!got.stream && !got.include_usage);
    assert_eq!(got.request.max_tokens, None);
    assert!(got.request.extra.is_empty());
}

#[test]
fn inbound_validation_names_the_field() {
    let user = json!({"role": "user", "content": "Hi"});
    let cases = [
        (json!({"model": "m", "messages": []}), "messages"),
        (json!({"model": "m", "messages": [user], "n": 2}), "n"),
        (
            json!({"model": "m", "messages": [user], "temperature": 2.5}),
            "temperature",
        ),
        (
            json!({"model": "m", "messages": [user], "temperature": -0.1}),
            "temperature",
        ),
        (
            json!({"model": "m", "messages": [user], "top_p": 1.5}),
            "top_p",
        ),
        (
            json!({"model": "m", "messages": [user], "max_tokens": 0}),
            "max_tokens",
        ),
        (
            json!({"model": "m", "messages": [user], "stop": ["a", "b", "c", "d", "e"]}),
            "stop",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "tool", "content": "x"}]}),
            "messages[1].tool_call_id",
        ),
        (
            json!({"model": "m", "messages": [user, user, {"role": "user", "content": null}]}),
            "messages[2].content",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "x"}, {"type": "input_audio", "input_audio": {}}]}]}),
            "messages[0].content[1].type",
        ),
        (
            json!({"model": "m", "messages": [{"role": "system", "content": [
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}),
            "messages[0].content[0]",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
            "messages[0].tool_calls",
        ),
        (
            json!({"model": "m", "messages": [user], "tools": [{"type": "code_interpreter", "function": {"name": "f"}}]}),
            "tools[0].type",
        ),
        (
            json!({"model": "m", "messages": [user], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
    ];
    for (body, param) in cases {
        assert_eq!(param_of(body.clone()), param, "{body}");
    }
    assert_eq!(
        inbound(json!({"model": "m", "messages": [user], "stop": ["a", "b", "c", "d"]}))
            .expect("four stops are fine")
            .request
            .stop
            .len(),
        4
    );
}

// ---- a client's embeddings request → canonical ----

#[test]
fn embeddings_request_validation() {
    let parse = |body: Value| {
        embeddings_request_from_wire(serde_json::from_value(body).expect("wire parses"))
    };
    let (req, b64) = parse(
        json!({"model": "e", "input": "hello", "encoding_format": "base64",
                                  "dimensions": 8, "user": "u"}),
    )
    .expect("valid");
    assert_eq!(req.input, vec!["hello".to_owned()]);
    assert_eq!(req.dimensions, Some(8));
    assert!(b64);
    let (req, b64) = parse(json!({"model": "e", "input": ["a", "b"]})).expect("valid");
    assert_eq!(req.input.len(), 2);
    assert!(!b64);
    for (body, param) in [
        (json!({"model": "e", "input": []}), "input"),
        (json!({"model": "e", "input": ""}), "input"),
        (json!({"model": "e", "input": ["a", ""]}), "input[1]"),
        (json!({"model": "e", "input": [1, 2, 3]}), "input"),
        (json!({"model": "e", "input": [[1, 2], [3]]}), "input"),
        (
            json!({"model": "e", "input": "a", "encoding_format": "int8"}),
            "encoding_format",
        ),
        (
            json!({"model": "e", "input": "a", "dimensions": 0}),
            "dimensions",
        ),
    ] {
        assert_eq!(
            parse(body.clone()).expect_err("invalid").param,
            param,
            "{body}"
        );
    }
}
