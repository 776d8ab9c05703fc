use super::errors::retry_delay;
use super::reply::{StreamStep, finish_reason};
use super::request::tool_config;
use super::*;
use crate::gemini::wire::{ErrorBody, GenerateContentResponse, Status};
use crate::http::Op;
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ContentPart, FinishReason, ImagePart, MessageContent,
    ResponseFormat, ToolCall, ToolChoice, ToolDefinition,
};
use serde_json::json;
use std::time::Duration;

fn response(fixture: &str) -> GenerateContentResponse {
    serde_json::from_str(fixture).expect("fixture parses")
}

fn msg(role: ChatRole, text: &str) -> ChatMessage {
    ChatMessage::new(role, text)
}

/// A `generateContent` answer as documented (ai.google.dev/api/generate-content).
const TEXT_REPLY: &str = r#"{
      "candidates": [{
        "content": {"parts": [{"text": "Hello! How can I help?"}], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
        "safetyRatings": [
          {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
          {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}
        ]
      }],
      "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16},
      "modelVersion": "gemini-1.5-flash-002",
      "responseId": "mJ8aZ-abc"
    }"#;

#[test]
fn text_reply_maps_content_finish_usage_and_ids() {
    let reply = from_wire_response(response(TEXT_REPLY), "gemini-1.5-flash").expect("ok");
    assert_eq!(reply.content, "Hello! How can I help?");
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.model, "gemini-1.5-flash-002");
    assert_eq!(reply.id.as_deref(), Some("mJ8aZ-abc"));
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 7,
            estimated: false
        })
    );
    assert!(reply.tool_calls.is_empty());
}

#[test]
fn thinking_tokens_count_as_completion_and_thoughts_are_not_text() {
    let fixture = r#"{
          "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think...", "thought": true},
            {"text": "42"}
          ]}, "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2,
                            "thoughtsTokenCount": 30, "totalTokenCount": 37}
        }"#;
    let reply = from_wire_response(response(fixture), "gemini-2.5-flash").expect("ok");
    assert_eq!(reply.content, "42");
    assert_eq!(reply.model, "gemini-2.5-flash");
    assert_eq!(reply.usage.map(|u| u.completion_tokens), Some(32));
}

#[test]
fn function_call_reply_gets_generated_ids_and_tool_calls_finish() {
    let fixture = r#"{
          "candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
            {"functionCall": {"name": "get_time"}}
          ]}, "finishReason": "STOP", "index": 0}],
          "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "totalTokenCount": 30}
        }"#;
    let reply = from_wire_response(response(fixture), "m").expect("ok");
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.tool_calls.len(), 2);
    assert_eq!(reply.tool_calls[0].name, "get_weather");
    assert_eq!(reply.tool_calls[0].arguments, r#"{"location":"Paris"}"#);
    assert_eq!(reply.tool_calls[1].arguments, "{}");
    assert!(reply.tool_calls[0].id.starts_with("call_"));
    assert_ne!(reply.tool_calls[0].id, reply.tool_calls[1].id);
}

/// A blocked prompt as documented: `promptFeedback.blockReason`, no candidates.
const PROMPT_BLOCKED: &str = r#"{
      "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
      ]},
      "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
      "modelVersion": "gemini-1.5-flash"
    }"#;

#[test]
fn safety_blocks_are_content_filtered() {
    let e = from_wire_response(response(PROMPT_BLOCKED), "m").expect_err("blocked");
    assert_eq!(e.code, ErrorCode::ContentFiltered);
    assert_eq!(e.message, "the vendor's safety filter blocked the prompt");

    let no_text = r#"{"candidates": [{"finishReason": "SAFETY", "index": 0,
          "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]}]}"#;
    let e = from_wire_response(response(no_text), "m").expect_err("blocked");
    assert_eq!(e.code, ErrorCode::ContentFiltered);

    let partial = r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "Once"}]},
          "finishReason": "RECITATION"}]}"#;
    let reply = from_wire_response(response(partial), "m").expect("partial text is kept");
    assert_eq!(reply.content, "Once");
    assert_eq!(reply.finish_reason, Some(FinishReason::ContentFilter));

    let e = from_wire_response(response("{}"), "m").expect_err("no candidate");
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse);
}

#[test]
fn finish_reasons_map() {
    let cases = [
        ("STOP", false, FinishReason::Stop),
        ("STOP", true, FinishReason::ToolCalls),
        ("MAX_TOKENS", false, FinishReason::Length),
        ("MAX_TOKENS", true, FinishReason::Length),
        ("SAFETY", false, FinishReason::ContentFilter),
        ("RECITATION", false, FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", false, FinishReason::ContentFilter),
        ("BLOCKLIST", false, FinishReason::ContentFilter),
        ("SPII", false, FinishReason::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", false, FinishReason::Stop),
        ("OTHER", false, FinishReason::Stop),
    ];
    for (wire, tools, want) in cases {
        assert_eq!(finish_reason(wire, tools), want, "{wire} {tools}");
    }
}

#[test]
fn request_maps_system_roles_images_tools_and_config() {
    let mut assistant = msg(ChatRole::Assistant, "Let me check.");
    assistant.tool_calls = vec![
        ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris"}"#.into(),
        },
        ToolCall {
            id: "call_2".into(),
            name: "get_time".into(),
            arguments: String::new(),
        },
    ];
    let mut tool1 = msg(ChatRole::Tool, r#"{"temp_c": 21}"#);
    tool1.tool_call_id = Some("call_1".into());
    let mut tool2 = msg(ChatRole::Tool, "noon");
    tool2.tool_call_id = Some("call_2".into());
    let request = ChatRequest {
        model: "gemini-1.5-flash".into(),
        messages: vec![
            msg(ChatRole::System, "Be brief."),
            ChatMessage {
                role: ChatRole::User,
                content: MessageContent::Parts(vec![
                    ContentPart::Text("What is in these?".into()),
                    ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
                    ContentPart::Image(ImagePart {
                        url: "https://example.com/cat.JPG?size=large".into(),
                        detail: Some("high".into()),
                    }),
                    ContentPart::Image(ImagePart {
                        url: "https://example.com/picture".into(),
                        detail: None,
                    }),
                ]),
                ..ChatMessage::default()
            },
            msg(ChatRole::User, "And the weather?"),
            assistant,
            tool1,
            tool2,
            msg(ChatRole::System, "Answer in French."),
        ],
        max_tokens: Some(64),
        temperature: Some(0.5),
        top_p: Some(0.9),
        stop: vec!["END".into()],
        seed: Some(7),
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: Some("Weather of a city".into()),
            parameters: Some(json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "object", "additionalProperties": false}}
                },
                "required": ["location"],
                "additionalProperties": false
            })),
            strict: Some(true),
        }],
        tool_choice: Some(ToolChoice::Function("get_weather".into())),
        response_format: Some(ResponseFormat::JsonObject),
        user: Some("user-1".into()),
        ..ChatRequest::default()
    };
    let wire = serde_json::to_value(to_wire_request(&request).expect("converts")).expect("json");
    assert_eq!(
        wire,
        json!({
            "contents": [
                {"role": "user", "parts": [
                    {"text": "What is in these?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"}},
                    {"fileData": {"fileUri": "https://example.com/picture"}},
                    {"text": "And the weather?"}
                ]},
                {"role": "model", "parts": [
                    {"text": "Let me check."},
                    {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
                    {"functionCall": {"name": "get_time", "args": {}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": {"temp_c": 21}}}},
                    {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}}
                ]}
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
            "generationConfig": {
                "temperature": 0.5,
                "topP": 0.9,
                "maxOutputTokens": 64,
                "stopSequences": ["END"],
                "seed": 7,
                "responseMimeType": "application/json"
            },
            "tools": [{"functionDeclarations": [{
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "object"}}
                    },
                    "required": ["location"]
                }
            }]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
        })
    );
}

#[test]
fn a_bare_request_has_only_contents() {
    let request = ChatRequest {
        model: "m".into(),
        messages: vec![msg(ChatRole::User, "Hi")],
        tool_choice: Some(ToolChoice::Auto),
        ..ChatRequest::default()
    };
    let wire = serde_json::to_value(to_wire_request(&request).expect("converts")).expect("json");
    assert_eq!(
        wire,
        json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
    );
}

#[test]
fn json_schema_and_tool_choices_map() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false});
    let request = ChatRequest {
        messages: vec![msg(ChatRole::User, "Hi")],
        response_format: Some(ResponseFormat::JsonSchema {
            name: "thing".into(),
            description: None,
            schema: Some(schema.clone()),
            strict: Some(true),
        }),
        ..ChatRequest::default()
    };
    let wire = to_wire_request(&request).expect("converts");
    let config = wire.generation_config.expect("config");
    assert_eq!(
        config.response_mime_type.as_deref(),
        Some("application/json")
    );
    // responseJsonSchema takes full JSON Schema: nothing is stripped.
    assert_eq!(config.response_json_schema, Some(schema));

    for (choice, mode) in [
        (ToolChoice::Auto, "AUTO"),
        (ToolChoice::None, "NONE"),
        (ToolChoice::Required, "ANY"),
    ] {
        let config = tool_config(&choice);
        assert_eq!(config.function_calling_config.mode, mode);
        assert!(
            config
                .function_calling_config
                .allowed_function_names
                .is_empty()
        );
    }
}

#[test]
fn invalid_requests_are_validation_errors() {
    let mut assistant = msg(ChatRole::Assistant, "");
    assistant.tool_calls = vec![ToolCall {
        id: "c".into(),
        name: "f".into(),
        arguments: "{not json".into(),
    }];
    let bad_args = ChatRequest {
        messages: vec![msg(ChatRole::User, "Hi"), assistant.clone()],
        ..ChatRequest::default()
    };
    assistant.tool_calls[0].arguments = "[1, 2]".into();
    let array_args = ChatRequest {
        messages: vec![assistant],
        ..ChatRequest::default()
    };
    let mut orphan = msg(ChatRole::Tool, "42");
    orphan.tool_call_id = Some("nobody".into());
    let orphan = ChatRequest {
        messages: vec![orphan],
        ..ChatRequest::default()
    };
    let ftp_image = ChatRequest {
        messages: vec![ChatMessage {
            content: MessageContent::Parts(vec![ContentPart::Image(ImagePart {
                url: "ftp://example.com/a.png".into(),
                detail: None,
            })]),
            ..ChatMessage::default()
        }],
        ..ChatRequest::default()
    };
    let big_seed = ChatRequest {
        messages: vec![msg(ChatRole::User, "Hi")],
        seed: Some(i64::MAX),
        ..ChatRequest::default()
    };
    for request in [bad_args, array_args, orphan, ftp_image, big_seed] {
        let e = to_wire_request(&request).expect_err("invalid");
        assert_eq!(e.code, ErrorCode::ValidationError, "{request:?}");
    }
}

#[test]
fn a_tool_message_may_name_its_function() {
    let mut tool = msg(ChatRole::Tool, "sunny");
    tool.tool_call_id = Some("from-another-turn".into());
    tool.name = Some("get_weather".into());
    let request = ChatRequest {
        messages: vec![tool],
        ..ChatRequest::default()
    };
    let wire = to_wire_request(&request).expect("converts");
    let part = &wire.contents[0].parts[0];
    assert_eq!(
        part.function_response.as_ref().map(|r| r.name.as_str()),
        Some("get_weather")
    );
}

#[test]
fn model_ids_are_normalised_and_checked() {
    assert_eq!(model_id("gemini-1.5-flash").ok(), Some("gemini-1.5-flash"));
    assert_eq!(
        model_id("models/gemini-1.5-flash").ok(),
        Some("gemini-1.5-flash")
    );
    assert_eq!(
        model_id("gemini-2.5-flash-preview-05-20").ok(),
        Some("gemini-2.5-flash-preview-05-20")
    );
    for bad in [
        "",
        "models/",
        "..",
        "../../v1/files",
        "models/../x",
        "a/b",
        "gemini?key=x",
        "gemini#frag",
        "gemini flash",
        " gemini",
        "gemini\n",
        "gemini%2F",
        "gemini:generateContent",
    ] {
        let e = model_id(bad).expect_err(bad);
        assert_eq!(e.code, ErrorCode::ValidationError, "{bad:?}");
    }
}

fn events(state: &mut StreamState, fixtures: &[&str]) -> Vec<Result<StreamStep, ProviderError>> {
    fixtures
        .iter()
        .map(|f| state.on_event(response(f)))
        .collect()
}

#[test]
fn stream_events_give_deltas_then_finish_with_the_last_usage() {
    let mut state = StreamState::default();
    let steps = events(
        &mut state,
        &[
            r#"{"candidates": [{"content": {"parts": [{"text": "Hello"}], "role": "model"}, "index": 0}],
                   "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1, "totalTokenCount": 10},
                   "modelVersion": "gemini-1.5-flash"}"#,
            r#"{"usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}"#,
            r#"{"candidates": [{"content": {"parts": [{"text": " world"}], "role": "model"},
                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16}}"#,
        ],
    );
    let steps: Vec<StreamStep> = steps.into_iter().collect::<Result<_, _>>().expect("ok");
    assert_eq!(
        steps[0].chunk.as_ref().and_then(|c| c.delta.as_deref()),
        Some("Hello")
    );
    assert!(!steps[0].finished);
    assert_eq!(steps[0].chunk.as_ref().and_then(|c| c.usage), None);
    assert_eq!(steps[1], StreamStep::default());
    let last = steps[2].chunk.as_ref().expect("chunk");
    assert!(steps[2].finished);
    assert_eq!(last.delta.as_deref(), Some(" world"));
    assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        last.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 7,
            estimated: false
        })
    );
}

#[test]
fn streamed_function_calls_are_whole_deltas_with_counted_indexes() {
    let mut state = StreamState::default();
    let steps = events(
        &mut state,
        &[
            r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "a", "args": {"x": 1}}}], "role": "model"}}]}"#,
            r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "b", "args": {}}}], "role": "model"},
                   "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4}}"#,
        ],
    );
    let steps: Vec<StreamStep> = steps.into_iter().collect::<Result<_, _>>().expect("ok");
    let first = &steps[0].chunk.as_ref().expect("chunk").tool_calls[0];
    assert_eq!(first.index, 0);
    assert_eq!(first.name.as_deref(), Some("a"));
    assert_eq!(first.arguments.as_deref(), Some(r#"{"x":1}"#));
    assert!(
        first
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("call_"))
    );
    let last = steps[1].chunk.as_ref().expect("chunk");
    assert_eq!(last.tool_calls[0].index, 1);
    assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn stream_safety_stops_are_a_finish_after_text_and_an_error_before() {
    let safety = r#"{"candidates": [{"finishReason": "SAFETY", "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]}]}"#;
    let mut state = StreamState::default();
    let steps = events(
        &mut state,
        &[
            r#"{"candidates": [{"content": {"parts": [{"text": "Step 1"}], "role": "model"}}]}"#,
            safety,
        ],
    );
    let last = steps[1].as_ref().expect("finish chunk");
    assert!(last.finished);
    assert_eq!(
        last.chunk.as_ref().and_then(|c| c.finish_reason),
        Some(FinishReason::ContentFilter)
    );

    let e = StreamState::default()
        .on_event(response(safety))
        .expect_err("blocked");
    assert_eq!(e.code, ErrorCode::ContentFiltered);
    let e = StreamState::default()
        .on_event(response(PROMPT_BLOCKED))
        .expect_err("blocked");
    assert_eq!(e.message, "the vendor's safety filter blocked the prompt");
}

#[test]
fn in_band_stream_errors_are_mapped() {
    let e = StreamState::default()
        .on_event(response(
            r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
        ))
        .expect_err("error");
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert!(!e.message.contains("overloaded"), "{}", e.message);
    let e = StreamState::default()
        .on_event(response(r#"{"error": {"status": "RESOURCE_EXHAUSTED", "message": "quota",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}]}}"#))
        .expect_err("error");
    assert_eq!(e.code, ErrorCode::UpstreamRateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
}

/// Error bodies as Google documents them (google.rpc.Status).
const KEY_INVALID: &str = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
      "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": "API key not valid. Please pass a valid API key."}]}}"#;
const RATE_LIMITED: &str = r#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.",
      "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "6.2s"}]}}"#;
const TOO_MANY_TOKENS: &str = r#"{"error": {"code": 400, "message": "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}"#;
const BILLING: &str = r#"{"error": {"code": 400, "message": "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.", "status": "FAILED_PRECONDITION"}}"#;
const NOT_FOUND: &str = r#"{"error": {"code": 404, "message": "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.", "status": "NOT_FOUND"}}"#;
const PERMISSION: &str = r#"{"error": {"code": 403, "message": "Method doesn't allow unregistered callers.", "status": "PERMISSION_DENIED"}}"#;
const INTERNAL: &str = r#"{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}"#;
const UNAVAILABLE: &str =
    r#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#;
const DEADLINE: &str = r#"{"error": {"code": 504, "message": "Deadline expired before operation could complete.", "status": "DEADLINE_EXCEEDED"}}"#;
const BAD_ARGUMENT: &str = r#"{"error": {"code": 400, "message": "* GenerateContentRequest.contents: contents is not specified", "status": "INVALID_ARGUMENT"}}"#;

#[test]
fn error_bodies_map_to_codes_without_upstream_text() {
    let cases = [
        (400, KEY_INVALID, Op::Chat, ErrorCode::ProviderKeyInvalid),
        (403, PERMISSION, Op::Chat, ErrorCode::ProviderKeyInvalid),
        (429, RATE_LIMITED, Op::Chat, ErrorCode::UpstreamRateLimited),
        (
            400,
            TOO_MANY_TOKENS,
            Op::Chat,
            ErrorCode::ContextLengthExceeded,
        ),
        (400, BILLING, Op::Chat, ErrorCode::UpstreamBilling),
        (404, NOT_FOUND, Op::Chat, ErrorCode::ModelNotFound),
        (404, NOT_FOUND, Op::Embeddings, ErrorCode::ModelNotFound),
        (404, NOT_FOUND, Op::Models, ErrorCode::UpstreamUnavailable),
        (500, INTERNAL, Op::Chat, ErrorCode::UpstreamUnavailable),
        (503, UNAVAILABLE, Op::Chat, ErrorCode::UpstreamUnavailable),
        (504, DEADLINE, Op::Chat, ErrorCode::UpstreamTimeout),
        (400, BAD_ARGUMENT, Op::Chat, ErrorCode::UpstreamBadRequest),
        (
            502,
            "<html>bad gateway</html>",
            Op::Chat,
            ErrorCode::UpstreamUnavailable,
        ),
    ];
    for (status, body, op, code) in cases {
        let e = map_error(status, None, body.as_bytes(), op);
        assert_eq!(e.code, code, "{status} {body}");
        assert_eq!(e.status, Some(status));
        if let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) {
            let message = parsed.error.message.unwrap_or_default();
            assert!(!e.message.contains(&message), "{}", e.message);
        }
        assert!(!e.message.contains("Gemini API"), "{}", e.message);
    }
    let e = map_error(400, None, BAD_ARGUMENT.as_bytes(), Op::Chat);
    assert_eq!(
        e.message,
        "the upstream refused the request as invalid (code: INVALID_ARGUMENT)"
    );
}

#[test]
fn retry_after_prefers_the_header_then_retry_info() {
    let e = map_error(429, None, RATE_LIMITED.as_bytes(), Op::Chat);
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    let e = map_error(
        429,
        Some(Duration::from_secs(30)),
        RATE_LIMITED.as_bytes(),
        Op::Chat,
    );
    assert_eq!(e.retry_after, Some(Duration::from_secs(30)));
    let e = map_error(
        500,
        Some(Duration::from_secs(30)),
        INTERNAL.as_bytes(),
        Op::Chat,
    );
    assert_eq!(e.retry_after, None);
    for bad in ["-1s", "1e300s", "NaNs", "7", "s"] {
        let status = Status {
            details: vec![super::super::wire::ErrorDetail {
                retry_delay: Some(bad.into()),
                ..Default::default()
            }],
            ..Status::default()
        };
        assert_eq!(retry_delay(&status), None, "{bad}");
    }
}

#[test]
fn embeddings_request_and_estimated_usage() {
    let inputs = vec!["hello".to_owned(), "héllo wörld!".to_owned(), String::new()];
    let body = serde_json::to_value(embed_request("text-embedding-004", &inputs, Some(256)))
        .expect("json");
    assert_eq!(
        body["requests"][0],
        json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 256})
    );
    assert_eq!(body["requests"].as_array().map(Vec::len), Some(3));
    let without = serde_json::to_value(embed_request("m", &inputs[..1], None)).expect("json");
    assert!(without["requests"][0].get("outputDimensionality").is_none());
    // 5 chars → 2, 12 chars → 3, 0 → 0.
    assert_eq!(
        estimated_embedding_usage(&inputs),
        Usage {
            prompt_tokens: 5,
            completion_tokens: 0,
            estimated: true
        }
    );
}

#[test]
fn listed_models_lose_their_prefix() {
    let page: ListModelsResponse = serde_json::from_str(
        r#"{"models": [
              {"name": "models/gemini-1.5-flash", "version": "001", "displayName": "Gemini 1.5 Flash",
               "inputTokenLimit": 1000000, "outputTokenLimit": 8192,
               "supportedGenerationMethods": ["generateContent", "countTokens"]},
              {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}
            ], "nextPageToken": "Ch9tb2RlbHM"}"#,
    )
    .expect("parses");
    assert_eq!(page.next_page_token.as_deref(), Some("Ch9tb2RlbHM"));
    let models = models(page);
    assert_eq!(models[0].id, "gemini-1.5-flash");
    assert_eq!(models[1].id, "text-embedding-004");
    assert_eq!(models[0].owned_by.as_deref(), Some("google"));
}
