use super::*;
use aihub_domain::{ContentPart, ImagePart, MessageContent, ToolDefinition};
use serde_json::json;

/// The non-streaming chat response of docs/api.md ("Chat request (No streaming)").
const CHAT_RESPONSE: &str = r#"{
      "model": "llama3.2",
      "created_at": "2023-12-12T14:13:43.416799Z",
      "message": {"role": "assistant", "content": "Hello! How are you today?"},
      "done": true,
      "total_duration": 5191566416,
      "load_duration": 2154458,
      "prompt_eval_count": 26,
      "prompt_eval_duration": 383809000,
      "eval_count": 298,
      "eval_duration": 4799921000
    }"#;

/// The tool-call response of docs/api.md ("Chat request (with tools)").
const TOOL_RESPONSE: &str = r#"{
      "model": "llama3.2",
      "created_at": "2024-07-22T20:33:28.123648Z",
      "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_current_weather",
          "arguments": {"format": "celsius", "location": "Paris, FR"}}}]
      },
      "done_reason": "stop",
      "done": true,
      "total_duration": 885095291,
      "load_duration": 3753500,
      "prompt_eval_count": 122,
      "prompt_eval_duration": 328493000,
      "eval_count": 33,
      "eval_duration": 552222000
    }"#;

/// A streamed delta line and the final line of docs/api.md ("Chat Request (Streaming)").
const STREAM_DELTA: &str = r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The","images":null},"done":false}"#;
const STREAM_FINAL: &str = r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"#;

fn line(json: &str) -> wire::ChatLine {
    serde_json::from_str(json).expect("documented fixture parses")
}

fn body(request: &ChatRequest, stream: bool) -> Value {
    serde_json::to_value(to_wire_request(request, stream).expect("converts")).expect("json")
}

#[test]
fn base_url_loses_a_trailing_v1() {
    let cases = [
        ("http://localhost:11434", "http://localhost:11434"),
        ("http://localhost:11434/", "http://localhost:11434"),
        ("http://gpu:11434/v1", "http://gpu:11434"),
        ("http://gpu:11434/v1/", "http://gpu:11434"),
        (
            "https://proxy.example/ollama/v1",
            "https://proxy.example/ollama",
        ),
        ("https://proxy.example/v10", "https://proxy.example/v10"),
    ];
    for (given, want) in cases {
        assert_eq!(native_base(given), want, "{given}");
    }
}

#[test]
fn request_maps_messages_options_and_stream() {
    let request = ChatRequest {
        model: "llama3.2".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "why is the sky blue?"),
        ],
        max_tokens: Some(100),
        temperature: Some(0.8),
        top_p: Some(0.9),
        seed: Some(42),
        stop: vec!["\n".into(), "user:".into()],
        user: Some("u-1".into()),
        extra: serde_json::Map::from_iter([("logprobs".to_owned(), json!(true))]),
        ..ChatRequest::default()
    };
    assert_eq!(
        body(&request, false),
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "why is the sky blue?"}
            ],
            "options": {"temperature": 0.8, "top_p": 0.9, "seed": 42,
                        "stop": ["\n", "user:"], "num_predict": 100},
            "stream": false
        })
    );
    let minimal = ChatRequest {
        model: "llama3.2".into(),
        messages: vec![ChatMessage::new(ChatRole::User, "Hi")],
        ..ChatRequest::default()
    };
    let b = body(&minimal, true);
    assert_eq!(b["stream"], true);
    assert!(b.get("options").is_none(), "{b}");
    assert!(b.get("tools").is_none(), "{b}");
    assert!(b.get("format").is_none(), "{b}");
}

#[test]
fn images_are_sent_as_bare_base64() {
    let request = ChatRequest {
        model: "llava".into(),
        messages: vec![ChatMessage {
            role: ChatRole::User,
            content: MessageContent::Parts(vec![
                ContentPart::Text("what is in this image?".into()),
                ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
            ]),
            ..ChatMessage::default()
        }],
        ..ChatRequest::default()
    };
    assert_eq!(
        body(&request, false)["messages"],
        json!([{"role": "user", "content": "what is in this image?", "images": ["iVBORw0KGgo="]}])
    );
}

#[test]
fn remote_images_are_refused() {
    let request = ChatRequest {
        model: "llava".into(),
        messages: vec![ChatMessage {
            content: MessageContent::Parts(vec![ContentPart::Image(ImagePart {
                url: "https://example.com/cat.png".into(),
                detail: None,
            })]),
            ..ChatMessage::default()
        }],
        ..ChatRequest::default()
    };
    let err = to_wire_request(&request, false).expect_err("remote image");
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(err.message, "Ollama accepts inline base64 images only");
}

fn tool_history(arguments: &str) -> ChatRequest {
    ChatRequest {
        model: "llama3.2".into(),
        messages: vec![
            ChatMessage::new(ChatRole::User, "What is the weather today in Paris?"),
            ChatMessage {
                role: ChatRole::Assistant,
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "get_current_weather".into(),
                    arguments: arguments.into(),
                }],
                ..ChatMessage::default()
            },
            ChatMessage {
                role: ChatRole::Tool,
                content: "22 degrees".into(),
                tool_call_id: Some("call_1".into()),
                ..ChatMessage::default()
            },
        ],
        tools: vec![ToolDefinition {
            name: "get_current_weather".into(),
            description: Some("Get the current weather for a location".into()),
            parameters: Some(
                json!({"type": "object", "properties": {"location": {"type": "string"}}}),
            ),
            strict: None,
        }],
        ..ChatRequest::default()
    }
}

#[test]
fn tool_calls_and_results_are_sent_in_ollama_form() {
    let b = body(&tool_history(r#"{"location":"Paris, FR"}"#), false);
    assert_eq!(
        b["messages"][1],
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_current_weather", "arguments": {"location": "Paris, FR"}}}
        ]})
    );
    assert_eq!(
        b["messages"][2],
        json!({"role": "tool", "content": "22 degrees", "tool_name": "get_current_weather"})
    );
    assert_eq!(
        b["tools"],
        json!([{"type": "function", "function": {
            "name": "get_current_weather",
            "description": "Get the current weather for a location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}
        }}])
    );
    let blank = body(&tool_history(""), false);
    assert_eq!(
        blank["messages"][1]["tool_calls"][0]["function"]["arguments"],
        json!({})
    );
}

#[test]
fn tool_choice_none_leaves_the_tools_out() {
    let mut request = tool_history("{}");
    request.tool_choice = Some(ToolChoice::None);
    assert!(body(&request, false).get("tools").is_none());
}

#[test]
fn invalid_tool_arguments_are_a_validation_error() {
    for bad in ["{not json", "[1, 2]", "\"text\""] {
        let err = to_wire_request(&tool_history(bad), false).expect_err(bad);
        assert_eq!(err.code, ErrorCode::ValidationError, "{bad}");
        assert!(!err.message.contains(bad), "{}", err.message);
    }
}

#[test]
fn response_formats_map_to_format() {
    let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}});
    let cases = [
        (ResponseFormat::Text, None),
        (ResponseFormat::JsonObject, Some(json!("json"))),
        (
            ResponseFormat::JsonSchema {
                name: "person".into(),
                description: None,
                schema: Some(schema.clone()),
                strict: Some(true),
            },
            Some(schema),
        ),
    ];
    for (rf, want) in cases {
        let request = ChatRequest {
            response_format: Some(rf.clone()),
            ..ChatRequest::default()
        };
        assert_eq!(body(&request, false).get("format").cloned(), want, "{rf:?}");
    }
}

#[test]
fn documented_response_maps_text_finish_and_usage() {
    let reply = from_wire_response(line(CHAT_RESPONSE), "other").expect("reply");
    assert_eq!(reply.id, None);
    assert_eq!(reply.model, "llama3.2");
    assert_eq!(reply.content, "Hello! How are you today?");
    assert!(reply.tool_calls.is_empty());
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 26,
            completion_tokens: 298,
            estimated: false
        })
    );
}

#[test]
fn documented_tool_response_gets_ids_and_text_arguments() {
    let reply = from_wire_response(line(TOOL_RESPONSE), "llama3.2").expect("reply");
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.tool_calls.len(), 1);
    let call = &reply.tool_calls[0];
    assert!(call.id.starts_with("call_"), "{}", call.id);
    assert_eq!(call.name, "get_current_weather");
    let args: Value = serde_json::from_str(&call.arguments).expect("json text");
    assert_eq!(args, json!({"format": "celsius", "location": "Paris, FR"}));
}

#[test]
fn done_reason_length_is_length() {
    let mut l = line(CHAT_RESPONSE);
    l.done_reason = Some("length".into());
    let reply = from_wire_response(l, "m").expect("reply");
    assert_eq!(reply.finish_reason, Some(FinishReason::Length));
}

#[test]
fn usage_needs_eval_count_and_defaults_the_prompt_to_zero() {
    assert_eq!(
        usage(None, Some(5)),
        Some(Usage {
            prompt_tokens: 0,
            completion_tokens: 5,
            estimated: false
        })
    );
    assert_eq!(usage(Some(26), None), None);
    assert_eq!(usage(None, None), None);
}

#[test]
fn stream_lines_become_chunks() {
    let mut state = StreamState::default();
    let delta = state.chunk(line(STREAM_DELTA)).expect("ok").expect("chunk");
    assert_eq!(delta.delta.as_deref(), Some("The"));
    assert_eq!(delta.finish_reason, None);
    assert_eq!(delta.usage, None);
    let empty = r#"{"model":"m","message":{"role":"assistant","content":""},"done":false}"#;
    assert_eq!(state.chunk(line(empty)).expect("ok"), None);
    let last = state.chunk(line(STREAM_FINAL)).expect("ok").expect("chunk");
    assert_eq!(last.delta, None);
    assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        last.usage,
        Some(Usage {
            prompt_tokens: 26,
            completion_tokens: 282,
            estimated: false
        })
    );
}

#[test]
fn streamed_tool_calls_are_whole_deltas_and_finish_as_tool_calls() {
    let mut state = StreamState::default();
    let calls = r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[
            {"function":{"name":"a","arguments":{"x":1}}},{"function":{"name":"b","arguments":{}}}]},"done":false}"#;
    let chunk = state.chunk(line(calls)).expect("ok").expect("chunk");
    assert_eq!(chunk.tool_calls.len(), 2);
    assert_eq!(chunk.tool_calls[0].index, 0);
    assert_eq!(chunk.tool_calls[1].index, 1);
    assert_eq!(chunk.tool_calls[0].name.as_deref(), Some("a"));
    assert_eq!(chunk.tool_calls[0].arguments.as_deref(), Some(r#"{"x":1}"#));
    assert!(chunk.tool_calls[0].id.is_some());
    let done = r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":3}"#;
    let last = state.chunk(line(done)).expect("ok").expect("chunk");
    assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
}

#[test]
fn error_lines_are_mapped_without_their_text() {
    let mut state = StreamState::default();
    let err = state
        .chunk(line(
            r#"{"error":"an error was encountered while running the model: secret"}"#,
        ))
        .expect_err("error line");
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(!err.message.contains("secret"));
    let err = stream_error("the input length exceeds the context length");
    assert_eq!(err.code, ErrorCode::ContextLengthExceeded);
}

#[test]
fn http_errors_map_by_status_and_text() {
    let not_found = br#"{"error":"model 'llama9' not found, try pulling it first"}"#;
    let e = http_error(404, None, not_found, Op::Chat);
    assert_eq!(e.code, ErrorCode::ModelNotFound);
    assert!(!e.message.contains("llama9"), "{}", e.message);
    let oom =
        br#"{"error":"model requires more system memory (12.1 GiB) than is available (8.0 GiB)"}"#;
    assert_eq!(
        http_error(500, None, oom, Op::Chat).code,
        ErrorCode::UpstreamUnavailable
    );
    assert_eq!(
        http_error(401, None, br#"{"error":"unauthorized"}"#, Op::Models).code,
        ErrorCode::ProviderKeyInvalid
    );
    let limited = http_error(429, Some(Duration::from_secs(3)), b"", Op::Chat);
    assert_eq!(limited.code, ErrorCode::UpstreamRateLimited);
    assert_eq!(limited.retry_after, Some(Duration::from_secs(3)));
    let ctx = br#"{"error":"input length exceeds maximum context length"}"#;
    assert_eq!(
        http_error(400, None, ctx, Op::Embeddings).code,
        ErrorCode::ContextLengthExceeded
    );
    assert_eq!(
        http_error(400, None, b"not json", Op::Chat).code,
        ErrorCode::UpstreamBadRequest
    );
}

#[test]
fn documented_tag_list_maps_to_models() {
    let list: wire::TagList = serde_json::from_str(
        r#"{"models":[
              {"name":"codellama:13b","modified_at":"2023-11-04T14:56:49.277302595-07:00","size":7365960935,
               "digest":"9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
               "details":{"format":"gguf","family":"llama","families":null,"parameter_size":"13B","quantization_level":"Q4_0"}},
              {"name":"llama3:latest","model":"llama3:latest","modified_at":"2023-12-07T09:32:18.757212583-08:00",
               "size":3825819519,"digest":"fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
               "details":{"format":"gguf","family":"llama","families":null,"parameter_size":"7B","quantization_level":"Q4_0"}}]}"#,
    )
    .expect("documented fixture parses");
    let ids: Vec<_> = models(list)
        .into_iter()
        .map(|m| (m.id, m.owned_by))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("codellama:13b".to_owned(), Some("ollama".to_owned())),
            ("llama3:latest".to_owned(), Some("ollama".to_owned())),
        ]
    );
}

#[test]
fn documented_embed_response_maps_vectors_and_usage() {
    let request = EmbeddingRequest {
        model: "all-minilm".into(),
        input: vec!["Why is the sky blue?".into()],
        dimensions: Some(10),
    };
    assert_eq!(
        serde_json::to_value(to_wire_embed(&request)).expect("json"),
        json!({"model": "all-minilm", "input": ["Why is the sky blue?"], "dimensions": 10})
    );
    let response: wire::EmbedResponse = serde_json::from_str(
        r#"{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221]],
               "total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#,
    )
    .expect("documented fixture parses");
    let out = from_wire_embed(response, &request).expect("embeddings");
    assert_eq!(out.model, "all-minilm");
    assert_eq!(
        out.embeddings,
        vec![vec![0.010071029, -0.0017594862, 0.05007221]]
    );
    assert_eq!(
        out.usage,
        Usage {
            prompt_tokens: 8,
            completion_tokens: 0,
            estimated: false
        }
    );
}

#[test]
fn embed_without_counts_is_estimated_and_count_mismatch_is_invalid() {
    let request = EmbeddingRequest {
        model: "all-minilm".into(),
        input: vec!["Why is the sky blue?".into(), "Why?".into()],
        dimensions: None,
    };
    let response = wire::EmbedResponse {
        model: None,
        embeddings: vec![vec![0.1], vec![0.2]],
        prompt_eval_count: None,
    };
    let out = from_wire_embed(response.clone(), &request).expect("embeddings");
    // 20 + 4 characters → ceil(24 / 4) = 6.
    assert_eq!(
        out.usage,
        Usage {
            prompt_tokens: 6,
            completion_tokens: 0,
            estimated: true
        }
    );
    assert_eq!(out.model, "all-minilm");
    let short = wire::EmbedResponse {
        embeddings: vec![vec![0.1]],
        ..response
    };
    assert_eq!(
        from_wire_embed(short, &request).expect_err("mismatch").code,
        ErrorCode::UpstreamInvalidResponse
    );
}
