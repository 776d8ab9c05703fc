use super::response::{Choice, ResponseMessage};
use super::*;
use serde_json::json;

#[test]
fn request_keeps_unknown_fields_in_extra_and_writes_them_back() {
    let body = json!({
        "model": "openrouter/x-ai/grok-beta",
        "messages": [{"role": "developer", "content": "Be brief."}],
        "logprobs": true,
        "frequency_penalty": 0.5,
        "provider": {"order": ["openai"]},
        "max_tokens": null
    });
    let wire: ChatCompletionRequest = serde_json::from_value(body).expect("parses");
    assert_eq!(wire.messages[0].role, MessageRole::Developer);
    assert_eq!(wire.max_tokens, None);
    assert_eq!(wire.extra.len(), 3);
    let back = serde_json::to_value(&wire).expect("serializes");
    assert_eq!(back["provider"], json!({"order": ["openai"]}));
    assert_eq!(back["logprobs"], true);
    assert!(back.get("max_tokens").is_none(), "{back}");
    assert_eq!(
        back["messages"],
        json!([{"role": "developer", "content": "Be brief."}])
    );
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
    assert_eq!(parts[2], ContentPartWire::Unsupported);
    assert_eq!(
        serde_json::to_value(&parts[1]).expect("serializes"),
        json!({"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}})
    );
}

#[test]
fn assistant_content_may_be_null_and_is_written_as_null() {
    let m: RequestMessage = serde_json::from_value(json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "f", "arguments": "{}"}}]
    }))
    .expect("parses");
    assert_eq!(m.content, None);
    let back = serde_json::to_value(&m).expect("serializes");
    assert_eq!(back["content"], Value::Null);
    assert_eq!(back["tool_calls"][0]["type"], "function");
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
fn tool_arguments_sent_as_an_object_read_as_text() {
    let t: ToolCallWire = serde_json::from_value(json!({
        "id": "call_1", "function": {"name": "f", "arguments": {"a": 1}}
    }))
    .expect("parses");
    assert_eq!(t.kind, "function");
    assert_eq!(t.function.arguments, r#"{"a":1}"#);
}

#[test]
fn error_codes_read_as_strings_or_numbers() {
    let e: ErrorBody = serde_json::from_str(
        r#"{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}"#,
    )
    .expect("parses");
    assert_eq!(e.error.code_status(), Some(401));
    assert_eq!(e.error.code_str(), None);
    let e: ErrorBody = serde_json::from_str(
        r#"{"error":{"message":"x","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
    )
    .expect("parses");
    assert_eq!(e.error.code_str(), Some("invalid_api_key"));
    assert_eq!(e.error.code_status(), None);
    let e: ErrorBody =
        serde_json::from_str(r#"{"error":{"message":"Insufficient credits","code":"402"}}"#)
            .expect("parses");
    assert_eq!(e.error.code_status(), Some(402));
}

#[test]
fn embedding_vectors_read_floats_or_base64() {
    let r: EmbeddingsResponse = serde_json::from_value(json!({
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, -1.0]},
            {"object": "embedding", "index": 1, "embedding": "AAAAPwAAgL8="}
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8}
    }))
    .expect("parses");
    assert_eq!(r.data[0].embedding, EmbeddingVector::Float(vec![0.5, -1.0]));
    assert_eq!(
        r.data[1].embedding,
        EmbeddingVector::Base64("AAAAPwAAgL8=".into())
    );
}
