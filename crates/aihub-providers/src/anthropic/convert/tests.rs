use super::*;
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, ErrorCode, ImagePart,
    MessageContent, ResponseFormat, ToolCallDelta, ToolChoice, ToolDefinition,
};
use serde_json::{Value, json};

fn wire_json(request: &ChatRequest) -> Value {
    serde_json::to_value(to_wire_request(request, false).expect("converts")).expect("serializes")
}

fn base() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-20250514".into(),
        ..ChatRequest::default()
    }
}

#[test]
fn a_plain_request_has_the_documented_shape_and_default_max_tokens() {
    let mut r = base();
    r.messages = vec![
        ChatMessage::new(ChatRole::System, "Be brief."),
        ChatMessage::new(ChatRole::User, "Hello, Claude"),
    ];
    r.temperature = Some(0.2);
    r.stop = vec!["END".into()];
    r.user = Some("user-7".into());
    r.seed = Some(1);
    r.extra.insert("logprobs".into(), json!(true));
    assert_eq!(
        wire_json(&r),
        json!({
            "model": "claude-sonnet-4-20250514",
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello, Claude"}],
            "max_tokens": 4096,
            "temperature": 0.2,
            "stop_sequences": ["END"],
            "metadata": {"user_id": "user-7"}
        })
    );
    r.max_tokens = Some(64);
    let streamed =
        serde_json::to_value(to_wire_request(&r, true).expect("converts")).expect("json");
    assert_eq!(streamed["max_tokens"], 64);
    assert_eq!(streamed["stream"], true);
}

#[test]
fn system_messages_join_and_same_role_turns_merge() {
    let mut r = base();
    r.messages = vec![
        ChatMessage::new(ChatRole::System, "One."),
        ChatMessage::new(ChatRole::User, "a"),
        ChatMessage::new(ChatRole::User, "b"),
        ChatMessage::new(ChatRole::System, "Two."),
        ChatMessage::new(ChatRole::Assistant, "c"),
        ChatMessage::new(ChatRole::User, ""),
        ChatMessage::new(ChatRole::Assistant, "d"),
    ];
    let body = wire_json(&r);
    assert_eq!(body["system"], "One.\n\nTwo.");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}]}
        ])
    );
}

#[test]
fn images_become_base64_or_url_sources() {
    let mut r = base();
    r.messages = vec![ChatMessage {
        role: ChatRole::User,
        content: MessageContent::Parts(vec![
            ContentPart::Text("What is this?".into()),
            ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
            ContentPart::Image(ImagePart {
                url: "https://example.com/cat.jpg".into(),
                detail: Some("high".into()),
            }),
        ]),
        ..ChatMessage::default()
    }];
    assert_eq!(
        wire_json(&r)["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
    r.messages[0].content = MessageContent::Parts(vec![ContentPart::Image(ImagePart {
        url: "http://10.0.0.1/x.png".into(),
        detail: None,
    })]);
    let e = to_wire_request(&r, false).expect_err("http image");
    assert_eq!(e.code, ErrorCode::ValidationError);
}

#[test]
fn tools_calls_and_results_follow_the_tool_use_flow() {
    let mut r = base();
    r.tools = vec![ToolDefinition {
        name: "get_weather".into(),
        description: Some("Get the current weather".into()),
        parameters: Some(json!({"type": "object", "properties": {"location": {"type": "string"}}})),
        strict: Some(true),
    }];
    r.tool_choice = Some(ToolChoice::Required);
    r.messages = vec![
        ChatMessage::new(ChatRole::User, "Weather in Paris and Rome?"),
        ChatMessage {
            role: ChatRole::Assistant,
            tool_calls: vec![
                ToolCall {
                    id: "toolu_01".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location":"Paris"}"#.into(),
                },
                ToolCall {
                    id: "toolu_02".into(),
                    name: "get_weather".into(),
                    arguments: String::new(),
                },
            ],
            ..ChatMessage::default()
        },
        ChatMessage {
            role: ChatRole::Tool,
            content: "15 C".into(),
            tool_call_id: Some("toolu_01".into()),
            ..ChatMessage::default()
        },
        ChatMessage {
            role: ChatRole::Tool,
            content: "18 C".into(),
            tool_call_id: Some("toolu_02".into()),
            ..ChatMessage::default()
        },
    ];
    let body = wire_json(&r);
    assert_eq!(
        body["tools"],
        json!([{
            "name": "get_weather",
            "description": "Get the current weather",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}
        }])
    );
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "15 C"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": "18 C"}
        ]})
    );
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));

    r.messages[3].content = MessageContent::default();
    assert_eq!(
        wire_json(&r)["messages"][2]["content"][1],
        json!({"type": "tool_result", "tool_use_id": "toolu_02"})
    );

    r.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    assert_eq!(
        wire_json(&r)["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );
    r.tool_choice = Some(ToolChoice::None);
    assert_eq!(wire_json(&r)["tool_choice"], json!({"type": "none"}));
    r.tools.clear();
    assert!(wire_json(&r).get("tool_choice").is_none());
}

#[test]
fn bad_tool_arguments_and_missing_ids_are_validation_errors() {
    let mut r = base();
    r.messages = vec![ChatMessage {
        role: ChatRole::Assistant,
        tool_calls: vec![ToolCall {
            id: "toolu_01".into(),
            name: "f".into(),
            arguments: "{not json".into(),
        }],
        ..ChatMessage::default()
    }];
    let e = to_wire_request(&r, false).expect_err("invalid json");
    assert_eq!(e.code, ErrorCode::ValidationError);
    assert_eq!(
        e.message,
        "messages[0].tool_calls[0].arguments must be a JSON object"
    );
    r.messages[0].tool_calls[0].arguments = "[1]".into();
    assert!(to_wire_request(&r, false).is_err());
    r.messages = vec![ChatMessage::new(ChatRole::Tool, "x")];
    let e = to_wire_request(&r, false).expect_err("no id");
    assert_eq!(e.code, ErrorCode::ValidationError);
}

#[test]
fn response_format_becomes_a_system_instruction() {
    let mut r = base();
    r.messages = vec![
        ChatMessage::new(ChatRole::System, "Be brief."),
        ChatMessage::new(ChatRole::User, "List two colors"),
    ];
    r.response_format = Some(ResponseFormat::JsonObject);
    let system = wire_json(&r)["system"].as_str().map(str::to_owned);
    let system = system.expect("a system prompt");
    assert!(system.starts_with("Be brief.\n\nRespond with a single valid JSON object"));

    r.messages.remove(0);
    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "colors".into(),
        description: None,
        schema: Some(json!({"type": "array"})),
        strict: Some(true),
    });
    let body = wire_json(&r);
    let system = body["system"].as_str().expect("a system prompt");
    assert!(
        system.contains("\"colors\": {\"type\":\"array\"}"),
        "{system}"
    );
    assert!(body.get("response_format").is_none());

    r.response_format = Some(ResponseFormat::Text);
    assert!(wire_json(&r).get("system").is_none());
}

/// The documented non-streaming `Message` (api/messages example), with a tool call and
/// prompt-cache counts.
const RESPONSE: &str = r#"{
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [
            {"type": "text", "text": "Hi! My name is Claude."},
            {"type": "text", "text": " Let me check."},
            {"type": "thinking", "thinking": "…", "signature": "x"},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA"}}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 100}
    }"#;

#[test]
fn replies_map_text_tools_finish_and_usage() {
    let wire: MessagesResponse = serde_json::from_str(RESPONSE).expect("fixture parses");
    let r = from_wire_response(wire);
    assert_eq!(r.id.as_deref(), Some("msg_013Zva2CMHLNnXjNJJKqJ2EF"));
    assert_eq!(r.model, "claude-sonnet-4-20250514");
    assert_eq!(r.content, "Hi! My name is Claude. Let me check.");
    assert_eq!(
        r.tool_calls,
        vec![ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"San Francisco, CA"}"#.into(),
        }]
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.usage,
        Some(Usage {
            prompt_tokens: 2205,
            completion_tokens: 503,
            estimated: false
        })
    );
}

#[test]
fn stop_reasons_map() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("pause_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("something_new", FinishReason::Stop),
    ];
    for (wire, want) in cases {
        assert_eq!(finish_reason(wire), want, "{wire}");
    }
}

fn hint_of(body: &str) -> (bool, bool, bool) {
    let detail = parse_error_body(body.as_bytes());
    let h = error_hint(detail.as_ref());
    (h.billing, h.context_length, h.key_invalid)
}

#[test]
fn error_bodies_are_classified() {
    let credit = r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."},"request_id":"req_1"}"#;
    assert_eq!(hint_of(credit), (true, false, false));
    let long = r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#;
    assert_eq!(hint_of(long), (false, true, false));
    let auth =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    assert_eq!(hint_of(auth), (false, false, true));
    let spend = r#"{"type":"error","error":{"type":"rate_limit_error","message":"limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
    assert_eq!(hint_of(spend), (true, false, false));
    assert_eq!(hint_of("<html>bad gateway</html>"), (false, false, false));

    let e = http::from_status(
        400,
        error_hint(parse_error_body(credit.as_bytes()).as_ref()),
        Op::Chat,
    );
    assert_eq!(e.code, ErrorCode::UpstreamBilling);
    let too_large = r#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#;
    let detail = parse_error_body(too_large.as_bytes());
    let e = http::from_status(413, error_hint(detail.as_ref()), Op::Chat);
    assert_eq!(e.code, ErrorCode::UpstreamBadRequest);
    assert!(e.message.contains("request_too_large"), "{}", e.message);
}

#[test]
fn in_band_errors_map_like_their_documented_status() {
    let cases = [
        ("overloaded_error", ErrorCode::UpstreamUnavailable),
        ("api_error", ErrorCode::UpstreamUnavailable),
        ("rate_limit_error", ErrorCode::UpstreamRateLimited),
        ("authentication_error", ErrorCode::ProviderKeyInvalid),
        ("not_found_error", ErrorCode::ModelNotFound),
        ("invalid_request_error", ErrorCode::UpstreamBadRequest),
        ("timeout_error", ErrorCode::UpstreamTimeout),
        ("brand_new_error", ErrorCode::UpstreamUnavailable),
    ];
    for (kind, code) in cases {
        let e = in_band_error(&ErrorDetail {
            kind: kind.into(),
            message: "secret prompt text".into(),
            details: None,
        });
        assert_eq!(e.code, code, "{kind}");
        assert_eq!(e.status, None);
        assert!(!e.message.contains("secret"), "{}", e.message);
    }
}

/// Runs `events` (the `data:` of each event) through a converter.
fn run(events: &[&str]) -> Vec<Step> {
    let mut c = StreamConverter::default();
    events.iter().map(|e| c.on_event(e)).collect()
}

/// The documented text stream (build-with-claude/streaming, "Basic streaming request").
const TEXT_STREAM: [&str; 8] = [
    r#"{"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-20250514", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}"#,
    r#"{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}"#,
    r#"{"type": "ping"}"#,
    r#"{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}"#,
    r#"{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}"#,
    r#"{"type": "content_block_stop", "index": 0}"#,
    r#"{"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}"#,
    r#"{"type": "message_stop"}"#,
];

#[test]
fn a_text_stream_yields_deltas_then_finish_and_cumulative_usage() {
    let steps = run(&TEXT_STREAM);
    let text = |s: &str| {
        Step::Chunk(ChatChunk {
            delta: Some(s.into()),
            ..ChatChunk::default()
        })
    };
    assert_eq!(
        steps,
        vec![
            Step::Skip,
            Step::Skip,
            Step::Skip,
            text("Hello"),
            text("!"),
            Step::Skip,
            Step::Skip,
            Step::End(ChatChunk {
                finish_reason: Some(FinishReason::Stop),
                usage: Some(Usage {
                    prompt_tokens: 25,
                    completion_tokens: 15,
                    estimated: false
                }),
                ..ChatChunk::default()
            }),
        ]
    );
}

#[test]
fn message_delta_usage_replaces_and_is_not_summed() {
    let steps = run(&[
        r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"c","stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":1}}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":5}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}"#,
        r#"{"type":"message_stop"}"#,
    ]);
    let Some(Step::End(last)) = steps.last() else {
        panic!("no end: {steps:?}")
    };
    assert_eq!(last.finish_reason, Some(FinishReason::Length));
    assert_eq!(
        last.usage,
        Some(Usage {
            prompt_tokens: 15,
            completion_tokens: 9,
            estimated: false
        })
    );
}

/// The documented tool-use stream: a text block at index 0, then a `tool_use` block at
/// index 1 whose input arrives as `input_json_delta` fragments; a second tool at index 2.
#[test]
fn tool_use_blocks_number_tool_calls_by_ordinal() {
    let steps = run(&[
        r#"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
        r#"{"type":"message_stop"}"#,
    ]);
    let tool_deltas: Vec<ToolCallDelta> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Chunk(c) => Some(c.tool_calls.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        tool_deltas,
        vec![
            ToolCallDelta {
                index: 0,
                id: Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6".into()),
                name: Some("get_weather".into()),
                arguments: None
            },
            ToolCallDelta {
                index: 0,
                arguments: Some("{\"location\":".into()),
                ..ToolCallDelta::default()
            },
            ToolCallDelta {
                index: 0,
                arguments: Some(" \"San Francisco, CA\"}".into()),
                ..ToolCallDelta::default()
            },
            ToolCallDelta {
                index: 1,
                id: Some("toolu_02".into()),
                name: Some("get_time".into()),
                arguments: None
            },
            ToolCallDelta {
                index: 1,
                arguments: Some("{}".into()),
                ..ToolCallDelta::default()
            },
        ]
    );
    let Some(Step::End(last)) = steps.last() else {
        panic!("no end")
    };
    assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(last.usage.map(|u| u.completion_tokens), Some(89));
}

#[test]
fn errors_and_garbage_fail_the_stream() {
    let steps = run(&[
        r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
    ]);
    let [Step::Fail(e)] = steps.as_slice() else {
        panic!("{steps:?}")
    };
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);

    let steps = run(&["not json"]);
    let [Step::Fail(e)] = steps.as_slice() else {
        panic!("{steps:?}")
    };
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse);

    let orphan = r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{"}}"#;
    assert!(matches!(run(&[orphan]).as_slice(), [Step::Fail(_)]));

    // New event and delta types are skipped, as the versioning policy asks.
    let steps = run(&[
        r#"{"type":"brand_new_event","x":1}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
    ]);
    assert_eq!(steps, vec![Step::Skip, Step::Skip, Step::Skip]);
}

#[test]
fn model_lists_map_to_anthropic_models() {
    let list: ModelList = serde_json::from_str(
        r#"{"data":[{"created_at":"2025-02-19T00:00:00Z","display_name":"Claude Sonnet 4","id":"claude-sonnet-4-20250514","type":"model"}],"first_id":"claude-sonnet-4-20250514","has_more":false,"last_id":"claude-sonnet-4-20250514"}"#,
    )
    .expect("fixture parses");
    assert_eq!(
        models(list),
        vec![ModelInfo {
            id: "claude-sonnet-4-20250514".into(),
            owned_by: Some("anthropic".into())
        }]
    );
}
