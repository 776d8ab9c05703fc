use super::*;
use aihub_domain::{
    ChatChunk, ChatResponse, EmbeddingResponse, FinishReason, ToolCall, ToolCallDelta, Usage,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

fn usage(prompt: u32, completion: u32) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated: false,
    })
}

// ---- canonical → the client's chat reply ----

#[test]
fn completion_to_wire_is_openai_shaped() {
    let response = ChatResponse {
        id: Some("upstream-id".into()),
        model: "gpt-4o-mini-2024-07-18".into(),
        content: "Hi!".into(),
        tool_calls: Vec::new(),
        finish_reason: Some(FinishReason::Stopped),
        usage: usage(3, 2),
    };
    let wire = serde_json::to_value(chat_completion_to_wire(
        &response,
        "chatcmpl-1",
        1700000000,
        "openai/gpt-4o-mini",
    ))
    .expect("serializes");
    assert_eq!(
        wire,
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "openai/gpt-4o-mini",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!", "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        })
    );
}

#[test]
fn tool_call_completion_to_wire_has_null_content() {
    let response = ChatResponse {
        id: None,
        model: "m".into(),
        content: String::new(),
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        }],
        finish_reason: None,
        usage: None,
    };
    let wire =
        serde_json::to_value(chat_completion_to_wire(&response, "c", 1, "m")).expect("serializes");
    let choice = &wire["choices"][0];
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
    );
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(
        wire["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    );
}

fn encode_all(encoder: &mut ChunkEncoder, chunks: &[ChatChunk]) -> Vec<Value> {
    chunks
        .iter()
        .flat_map(|c| encoder.encode(c))
        .map(|c| serde_json::to_value(c).expect("serializes"))
        .collect()
}

fn text(s: &str) -> ChatChunk {
    ChatChunk {
        delta: Some(s.into()),
        ..ChatChunk::default()
    }
}

fn finish_and_usage() -> ChatChunk {
    ChatChunk {
        finish_reason: Some(FinishReason::Stop),
        usage: usage(9, 2),
        ..ChatChunk::default()
    }
}

#[test]
fn encoder_sends_role_text_finish_then_usage() {
    let mut encoder = ChunkEncoder::new("chatcmpl-1".into(), 42, "m".into(), true);
    let events = encode_all(
        &mut encoder,
        &[
            text("Hello"),
            ChatChunk::default(),
            text("!"),
            finish_and_usage(),
        ],
    );
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events[0],
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 42, "model": "m",
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"},
                            "logprobs": null, "finish_reason": null}]})
    );
    assert_eq!(events[1]["choices"][0]["delta"], json!({"content": "!"}));
    assert_eq!(
        events[2]["choices"],
        json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(events[3]["choices"], json!([]));
    assert_eq!(
        events[3]["usage"],
        json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})
    );
    assert!(events[..3].iter().all(|e| e.get("usage").is_none()));
}

#[test]
fn encoder_drops_usage_unless_asked() {
    let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
    let events = encode_all(&mut encoder, &[text("Hi"), finish_and_usage()]);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    let usage_only = ChatChunk {
        usage: usage(1, 1),
        ..ChatChunk::default()
    };
    assert!(encoder.encode(&usage_only).is_empty());
}

#[test]
fn encoder_opens_with_an_empty_content_role_chunk_when_no_text_comes_first() {
    let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
    let events = encode_all(
        &mut encoder,
        &[ChatChunk {
            finish_reason: Some(FinishReason::Length),
            ..ChatChunk::default()
        }],
    );
    assert_eq!(
        events[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(events[1]["choices"][0]["finish_reason"], "length");
}

#[test]
fn encoder_streams_tool_calls() {
    let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
    let events = encode_all(
        &mut encoder,
        &[
            ChatChunk {
                tool_calls: vec![ToolCallDelta {
                    index: 0,
                    id: Some("call_1".into()),
                    name: Some("f".into()),
                    arguments: None,
                }],
                ..ChatChunk::default()
            },
            ChatChunk {
                tool_calls: vec![ToolCallDelta {
                    index: 0,
                    arguments: Some("{}".into()),
                    ..ToolCallDelta::default()
                }],
                ..ChatChunk::default()
            },
            ChatChunk {
                finish_reason: Some(FinishReason::ToolCalls),
                ..ChatChunk::default()
            },
        ],
    );
    assert_eq!(
        events[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]})
    );
    assert_eq!(
        events[1]["choices"][0]["delta"],
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})
    );
    assert_eq!(events[2]["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn error_event_is_openai_shaped() {
    let event = error_event(
        "upstream_unavailable",
        "the upstream failed",
        "server_error",
    );
    // Byte for byte as it was written when it was a `serde_json::Value` (keys sorted).
    assert_eq!(
        serde_json::to_string(&event).expect("serializes"),
        r#"{"error":{"code":"upstream_unavailable","message":"the upstream failed","param":null,"type":"server_error"}}"#
    );
}

// ---- embeddings and models ----

#[test]
fn base64_embeddings_round_trip_as_little_endian_f32() {
    let v = vec![0.5_f32, -1.0, 3.25, f32::MIN_POSITIVE];
    let encoded = embedding_to_base64(&v);
    // 0.5 is 0x3f000000: little-endian bytes 00 00 00 3f.
    assert!(encoded.starts_with("AAAAP"), "{encoded}");
    let bytes = BASE64.decode(&encoded).expect("standard base64");
    let back: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(back, v);
    let response = EmbeddingResponse {
        model: "e".into(),
        embeddings: vec![v.clone(), vec![1.0]],
        usage: Usage {
            prompt_tokens: 4,
            ..Usage::default()
        },
    };
    let wire =
        serde_json::to_value(embeddings_to_wire(&response, "openai/e", true)).expect("serializes");
    assert_eq!(wire["object"], "list");
    assert_eq!(wire["model"], "openai/e");
    assert_eq!(wire["data"][1]["index"], 1);
    assert_eq!(wire["data"][0]["object"], "embedding");
    assert_eq!(wire["data"][0]["embedding"], json!(encoded));
    assert_eq!(
        wire["usage"],
        json!({"prompt_tokens": 4, "total_tokens": 4})
    );
    let floats =
        serde_json::to_value(embeddings_to_wire(&response, "e", false)).expect("serializes");
    assert_eq!(floats["data"][1]["embedding"], json!([1.0]));
}

#[test]
fn model_list_to_wire_is_openai_shaped() {
    let wire = serde_json::to_value(model_list_to_wire(
        &[("openai/gpt-4o".into(), "openai".into())],
        1686935002,
    ))
    .expect("serializes");
    assert_eq!(
        wire,
        json!({"object": "list", "data": [
            {"id": "openai/gpt-4o", "object": "model", "created": 1686935002, "owned_by": "openai"}]})
    );
}
