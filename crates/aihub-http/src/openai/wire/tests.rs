use super::*;
use serde_json::json;

#[test]
fn request_keeps_unknown_fields_in_extra() {
    let body = json!({
        "model": "openrouter/x-ai/grok-beta",
        "messages": [{"role": "developer", "content": "Be brief."}],
        "logprobs": true,
        "frequency_penalty": 0.5,
        "provider": {"order": ["openai"]},
        "fallbacks": ["openai/gpt-4o-mini"],
        "max_tokens": null
    });
    let wire: ChatCompletionRequest = serde_json::from_value(body).expect("parses");
    assert_eq!(wire.messages[0].role, MessageRole::Developer);
    assert_eq!(wire.max_tokens, None);
    assert_eq!(wire.extra.len(), 4);
    assert_eq!(wire.extra["provider"], json!({"order": ["openai"]}));
    assert_eq!(wire.extra["fallbacks"], json!(["openai/gpt-4o-mini"]));
}

#[test]
fn content_parts_and_unknown_part_types_read() {
    let m: RequestMessage = serde_json::from_value(json!({
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            {"type": "input_audio", "input_audio": {"data": "…", "format": "wav"}}
        ]
    }))
    .expect("parses");
    let Some(RequestContent::Parts(parts)) = m.content else {
        panic!("parts expected");
    };
    assert_eq!(
        parts[1],
        ContentPartWire::ImageUrl {
            image_url: ImageUrlWire {
                url: "https://x/y.png".into(),
                detail: Some("low".into())
            }
        }
    );
    assert_eq!(parts[2], ContentPartWire::Unsupported);
}

#[test]
fn assistant_content_may_be_null() {
    let m: RequestMessage = serde_json::from_value(json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{"id": "call_1", "function": {"name": "f", "arguments": "{}"}}]
    }))
    .expect("parses");
    assert_eq!(m.content, None);
    let calls = m.tool_calls.expect("tool calls");
    assert_eq!(calls[0].kind, "function", "type defaults to function");
}

#[test]
fn tool_arguments_sent_as_an_object_read_as_text() {
    let t: ToolCallWire = serde_json::from_value(json!({
        "id": null, "function": {"name": "f", "arguments": {"a": 1}}
    }))
    .expect("parses");
    assert_eq!(t.id, "");
    assert_eq!(t.function.arguments, r#"{"a":1}"#);
}

#[test]
fn choice_writes_documented_nulls() {
    let c = Choice {
        index: 0,
        message: ResponseMessage {
            content: Some("Hi".into()),
            ..ResponseMessage::default()
        },
        logprobs: None,
        finish_reason: Some("stop".into()),
    };
    assert_eq!(
        serde_json::to_value(&c).expect("serializes"),
        json!({"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": null},
               "logprobs": null, "finish_reason": "stop"})
    );
}

#[test]
fn chunk_delta_omits_what_is_unset() {
    let c = ChunkChoice::default();
    assert_eq!(
        serde_json::to_value(&c).expect("serializes"),
        json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": null})
    );
}

#[test]
fn embedding_vectors_write_floats_or_base64() {
    let e = |embedding| Embedding {
        object: "embedding".into(),
        index: 0,
        embedding,
    };
    assert_eq!(
        serde_json::to_value(e(EmbeddingVector::Float(vec![0.5, -1.0]))).expect("serializes"),
        json!({"object": "embedding", "index": 0, "embedding": [0.5, -1.0]})
    );
    assert_eq!(
        serde_json::to_value(e(EmbeddingVector::Base64("AAAAPwAAgL8=".into())))
            .expect("serializes")["embedding"],
        "AAAAPwAAgL8="
    );
}
