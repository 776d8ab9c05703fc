use super::upstream::finish_reason_from_wire;
use super::*;
use crate::openai::wire::{ChatCompletion, ChatCompletionChunk, EmbeddingsResponse, ModelList};
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, EmbeddingRequest, ErrorCode,
    FinishReason, ImagePart, MessageContent, ModelInfo, ProviderKind, ResponseFormat, ToolCall,
    ToolCallDelta, ToolChoice, ToolDefinition, Usage,
};
use serde_json::{Value, json};

// ---- fixtures recorded from OpenAI's API reference ----

/// The `chat.completion` object from OpenAI's API reference.
const COMPLETION: &str = r#"{
      "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4.1-2025-04-14",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": "Hello! How can I assist you today?",
            "refusal": null,
            "annotations": []
          },
          "logprobs": null,
          "finish_reason": "stop"
        }
      ],
      "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
        "completion_tokens_details": {
          "reasoning_tokens": 0,
          "audio_tokens": 0,
          "accepted_prediction_tokens": 0,
          "rejected_prediction_tokens": 0
        }
      },
      "service_tier": "default"
    }"#;

/// A tool-call reply from OpenAI's function-calling guide.
const TOOL_COMPLETION: &str = r#"{
      "id": "chatcmpl-abc123",
      "object": "chat.completion",
      "created": 1699896916,
      "model": "gpt-4o-mini",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": null,
            "tool_calls": [
              {
                "id": "call_abc123",
                "type": "function",
                "function": {
                  "name": "get_current_weather",
                  "arguments": "{\n\"location\": \"Boston, MA\"\n}"
                }
              }
            ]
          },
          "logprobs": null,
          "finish_reason": "tool_calls"
        }
      ],
      "usage": { "prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99 }
    }"#;

/// The streamed chunks from OpenAI's API reference, with `stream_options.include_usage`.
const CHUNKS: [&str; 5] = [
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
];

/// Streamed tool-call chunks as OpenAI sends them.
const TOOL_CHUNKS: [&str; 4] = [
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}"#,
];

/// A llama.cpp server's finishing chunk: usage on the same chunk and a non-standard
/// `timings` object.
const LLAMA_CPP_FINAL: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1736272934,"id":"chatcmpl-6Yx0xWfJt5dJtN2eKzGv9uYbQvLq1aPz","model":"qwen2.5-7b-instruct-q4_k_m.gguf","system_fingerprint":"b4410-0da5d860","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":25,"total_tokens":37},"timings":{"prompt_n":25,"prompt_ms":110.342,"predicted_n":12,"predicted_ms":301.12}}"#;

fn decode_all(chunks: &[&str]) -> Vec<Option<ChatChunk>> {
    let mut decoder = ChunkDecoder::default();
    chunks
        .iter()
        .map(|c| decoder.decode(serde_json::from_str(c).expect("fixture parses")))
        .collect()
}

fn usage(prompt: u32, completion: u32) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated: false,
    })
}

// ---- adapter side: upstream replies → canonical ----

#[test]
fn completion_fixture_maps_text_finish_and_usage() {
    let wire: ChatCompletion = serde_json::from_str(COMPLETION).expect("parses");
    let got = from_wire_response(wire).expect("maps");
    assert_eq!(
        got.id.as_deref(),
        Some("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
    );
    assert_eq!(got.model, "gpt-4.1-2025-04-14");
    assert_eq!(got.content, "Hello! How can I assist you today?");
    assert_eq!(got.finish_reason, Some(FinishReason::Stop));
    assert_eq!(got.usage, usage(19, 10));
    assert!(got.tool_calls.is_empty());
}

#[test]
fn tool_call_completion_maps_calls() {
    let wire: ChatCompletion = serde_json::from_str(TOOL_COMPLETION).expect("parses");
    let got = from_wire_response(wire).expect("maps");
    assert_eq!(got.content, "");
    assert_eq!(got.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        got.tool_calls,
        vec![ToolCall {
            id: "call_abc123".into(),
            name: "get_current_weather".into(),
            arguments: "{\n\"location\": \"Boston, MA\"\n}".into(),
        }]
    );
}

#[test]
fn refusal_counts_as_content() {
    let mut wire: Value = serde_json::from_str(COMPLETION).expect("parses");
    wire["choices"][0]["message"]["content"] = Value::Null;
    wire["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    let got = from_wire_response(serde_json::from_value(wire).expect("parses")).expect("maps");
    assert_eq!(got.content, "I can't help with that.");
}

#[test]
fn completion_without_choices_is_invalid() {
    let mut wire: Value = serde_json::from_str(COMPLETION).expect("parses");
    wire["choices"] = json!([]);
    let err =
        from_wire_response(serde_json::from_value(wire).expect("parses")).expect_err("no choices");
    assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
}

#[test]
fn stream_fixture_maps_deltas_finish_and_usage_chunk() {
    let got = decode_all(&CHUNKS);
    assert_eq!(got[0], None, "the role-only opening chunk carries nothing");
    assert_eq!(
        got[1].as_ref().and_then(|c| c.delta.as_deref()),
        Some("Hello")
    );
    assert_eq!(got[2].as_ref().and_then(|c| c.delta.as_deref()), Some("!"));
    assert_eq!(
        got[3],
        Some(ChatChunk {
            finish_reason: Some(FinishReason::Stop),
            ..ChatChunk::default()
        })
    );
    assert_eq!(
        got[4],
        Some(ChatChunk {
            usage: usage(9, 2),
            ..ChatChunk::default()
        })
    );
}

#[test]
fn streamed_tool_calls_map_to_pieces() {
    let got = decode_all(&TOOL_CHUNKS);
    let first = got[0].as_ref().expect("first piece");
    assert_eq!(
        first.tool_calls,
        vec![ToolCallDelta {
            index: 0,
            id: Some("call_DdmO9pD3xa9XTPNJ32zg2hcA".into()),
            name: Some("get_weather".into()),
            arguments: None,
        }]
    );
    let args: String = got[1..3]
        .iter()
        .flat_map(|c| &c.as_ref().expect("piece").tool_calls)
        .filter_map(|t| t.arguments.as_deref())
        .collect();
    assert_eq!(args, r#"{"location":"Paris"}"#);
    assert!(
        got[1..3]
            .iter()
            .all(|c| c.as_ref().expect("piece").tool_calls[0].id.is_none())
    );
    assert_eq!(
        got[3].as_ref().and_then(|c| c.finish_reason),
        Some(FinishReason::ToolCalls)
    );
}

#[test]
fn tool_calls_without_ids_get_one_and_repeated_names_are_dropped() {
    let mut decoder = ChunkDecoder::default();
    let chunk =
        |json: Value| -> ChatCompletionChunk { serde_json::from_value(json).expect("parses") };
    let first = decoder
        .decode(chunk(
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
        ))
        .expect("piece");
    assert!(
        first.tool_calls[0]
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("call_"))
    );
    let second = decoder
        .decode(chunk(
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"name": "f", "arguments": ":1}"}}]}}]}),
        ))
        .expect("piece");
    assert_eq!(
        second.tool_calls,
        vec![ToolCallDelta {
            index: 0,
            arguments: Some(":1}".into()),
            ..ToolCallDelta::default()
        }]
    );
}

#[test]
fn llama_cpp_chunk_with_timings_is_tolerated() {
    assert_eq!(
        decode_all(&[LLAMA_CPP_FINAL])[0],
        Some(ChatChunk {
            finish_reason: Some(FinishReason::Stop),
            usage: usage(25, 12),
            ..ChatChunk::default()
        })
    );
}

#[test]
fn chunks_without_choices_or_with_unknown_fields_are_fine() {
    let got = decode_all(&[
        r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m"}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":"hmm"},"extra":1}],"x_groq":{"id":"req"}}"#,
        r#"{"choices":[{"index":0,"delta":{"refusal":"No."},"finish_reason":null}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}"#,
    ]);
    assert_eq!(got[0], None);
    assert_eq!(got[1].as_ref().and_then(|c| c.delta.as_deref()), Some("Hi"));
    assert_eq!(
        got[2].as_ref().and_then(|c| c.delta.as_deref()),
        Some("No.")
    );
    assert_eq!(
        got[3].as_ref().and_then(|c| c.finish_reason),
        Some(FinishReason::Error)
    );
}

#[test]
fn finish_reasons_map() {
    let cases = [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("content_filter", FinishReason::ContentFilter),
        ("tool_calls", FinishReason::ToolCalls),
        ("function_call", FinishReason::ToolCalls),
        ("error", FinishReason::Error),
        ("eos", FinishReason::Stop),
    ];
    for (wire, want) in cases {
        assert_eq!(finish_reason_from_wire(wire), want, "{wire}");
    }
}

// ---- adapter side: canonical → upstream request ----

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "Hi"),
            ChatMessage::new(ChatRole::Assistant, "Hello."),
            ChatMessage::new(ChatRole::User, "Bye"),
        ],
        max_tokens: Some(50),
        temperature: Some(0.5),
        ..ChatRequest::default()
    }
}

#[test]
fn streaming_request_asks_for_usage() {
    let wire = serde_json::to_value(to_wire_request(&request(), ProviderKind::Openai, true))
        .expect("serializes");
    assert_eq!(
        wire,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "Bye"}
            ],
            "max_completion_tokens": 50,
            "temperature": 0.5,
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[test]
fn compatible_request_uses_max_tokens_and_no_stream_fields() {
    let wire = serde_json::to_value(to_wire_request(
        &request(),
        ProviderKind::OpenaiCompatible,
        false,
    ))
    .expect("serializes");
    assert_eq!(wire["max_tokens"], json!(50));
    assert!(wire.get("max_completion_tokens").is_none(), "{wire}");
    assert!(wire.get("stream").is_none(), "{wire}");
    assert!(wire.get("stream_options").is_none(), "{wire}");
}

#[test]
fn every_canonical_field_reaches_the_wire() {
    let mut r = request();
    r.messages = vec![
        ChatMessage {
            role: ChatRole::User,
            content: MessageContent::Parts(vec![
                ContentPart::Text("What is it?".into()),
                ContentPart::Image(ImagePart {
                    url: "data:image/png;base64,iVBORw0KGgo=".into(),
                    detail: Some("low".into()),
                }),
            ]),
            ..ChatMessage::default()
        },
        ChatMessage {
            role: ChatRole::Assistant,
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "look".into(),
                arguments: "{}".into(),
            }],
            ..ChatMessage::default()
        },
        ChatMessage {
            role: ChatRole::Tool,
            content: "a cat".into(),
            tool_call_id: Some("call_1".into()),
            ..ChatMessage::default()
        },
    ];
    r.top_p = Some(0.9);
    r.stop = vec!["END".into()];
    r.seed = Some(42);
    r.user = Some("u-1".into());
    r.tools = vec![ToolDefinition {
        name: "look".into(),
        description: Some("Looks.".into()),
        parameters: Some(json!({"type": "object"})),
        strict: None,
    }];
    r.tool_choice = Some(ToolChoice::Function("look".into()));
    r.response_format = Some(ResponseFormat::JsonObject);
    r.extra.insert("logprobs".into(), json!(true));
    r.extra.insert("provider".into(), json!({"sort": "price"}));
    r.extra.insert("stream".into(), json!(true));
    let wire = serde_json::to_value(to_wire_request(&r, ProviderKind::Openrouter, false))
        .expect("serializes");
    assert_eq!(
        wire["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "What is it?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
            ]},
            {"role": "tool", "content": "a cat", "tool_call_id": "call_1"}
        ])
    );
    assert_eq!(wire["top_p"], 0.9);
    assert_eq!(wire["stop"], json!(["END"]));
    assert_eq!(wire["seed"], 42);
    assert_eq!(wire["user"], "u-1");
    assert_eq!(
        wire["tools"],
        json!([{"type": "function", "function": {"name": "look", "description": "Looks.", "parameters": {"type": "object"}}}])
    );
    assert_eq!(
        wire["tool_choice"],
        json!({"type": "function", "function": {"name": "look"}})
    );
    assert_eq!(wire["response_format"], json!({"type": "json_object"}));
    assert_eq!(wire["logprobs"], true);
    assert_eq!(wire["provider"], json!({"sort": "price"}));
    assert!(
        wire.get("stream").is_none(),
        "extra cannot override a typed field: {wire}"
    );
}

#[test]
fn model_list_tolerates_missing_fields() {
    let list: ModelList = serde_json::from_str(
        r#"{"object":"list","data":[
                {"id":"gpt-4o-mini","object":"model","created":1686935002,"owned_by":"openai"},
                {"id":"qwen2-7b","object":"model","owned_by":""},
                {"id":"llama3","owned_by":null}
            ]}"#,
    )
    .expect("parses");
    assert_eq!(
        models(list),
        vec![
            ModelInfo {
                id: "gpt-4o-mini".into(),
                owned_by: Some("openai".into())
            },
            ModelInfo {
                id: "qwen2-7b".into(),
                owned_by: None
            },
            ModelInfo {
                id: "llama3".into(),
                owned_by: None
            },
        ]
    );
}

#[test]
fn upstream_embeddings_are_put_in_input_order() {
    let wire: EmbeddingsResponse = serde_json::from_value(json!({
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [1.0, 1.5]},
            // [0.25, -2.0] as little-endian f32 bytes, base64.
            {"object": "embedding", "index": 0, "embedding": "AACAPgAAAMA="}
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 5, "total_tokens": 5}
    }))
    .expect("parses");
    let got = from_wire_embeddings(wire.clone(), 2, "x").expect("maps");
    assert_eq!(got.embeddings, vec![vec![0.25, -2.0], vec![1.0, 1.5]]);
    assert_eq!(got.usage, usage(5, 0).expect("usage"));
    assert_eq!(got.model, "text-embedding-3-small");
    let err = from_wire_embeddings(wire, 3, "x").expect_err("count mismatch");
    assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
}

#[test]
fn base64_embeddings_that_do_not_decode_are_invalid() {
    // "AAA=" is two bytes: not a whole f32.
    for vector in ["AAA=", "not base64!"] {
        let wire: EmbeddingsResponse = serde_json::from_value(json!({
            "data": [{"index": 0, "embedding": vector}]
        }))
        .expect("parses");
        let err = from_wire_embeddings(wire, 1, "x").expect_err("does not decode");
        assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse, "{vector}");
    }
}

#[test]
fn embeddings_without_usage_are_estimated() {
    let wire: EmbeddingsResponse = serde_json::from_value(json!({
        "data": [{"embedding": [1.0]}]
    }))
    .expect("parses");
    let got = from_wire_embeddings(wire, 1, "nomic-embed-text").expect("maps");
    assert!(got.usage.estimated);
    assert_eq!(got.model, "nomic-embed-text");
}

#[test]
fn embeddings_request_asks_for_floats() {
    let wire = serde_json::to_value(to_wire_embeddings(&EmbeddingRequest {
        model: "text-embedding-3-small".into(),
        input: vec!["a".into(), "b".into()],
        dimensions: Some(256),
    }))
    .expect("serializes");
    assert_eq!(
        wire,
        json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 256, "encoding_format": "float"})
    );
}
