//! Pure conversions between the canonical chat types and async-openai's wire types. No I/O.

use super::wire::{WireModel, WireModelList};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, ChatRole, ErrorCode, FinishReason, ModelInfo,
    ProviderKind, Usage,
};
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionStreamOptions, CompletionUsage,
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
    FinishReason as WireFinishReason,
};

use crate::ProviderError;

/// Builds the wire request. `stream` sets `stream: true` and asks for the usage chunk
/// (`stream_options.include_usage`).
///
/// OpenAI itself gets `max_completion_tokens` (its reasoning models refuse `max_tokens`); the
/// compatible servers (Ollama, llama.cpp, vLLM, OpenRouter) get the older `max_tokens`, which
/// they all understand.
pub(crate) fn to_wire_request(
    request: &ChatRequest,
    kind: ProviderKind,
    stream: bool,
) -> CreateChatCompletionRequest {
    let messages = request
        .messages
        .iter()
        .map(|m| match m.role {
            ChatRole::System => ChatCompletionRequestMessage::System(m.text().into_owned().into()),
            ChatRole::User | ChatRole::Tool => {
                ChatCompletionRequestMessage::User(m.text().into_owned().into())
            }
            ChatRole::Assistant => {
                ChatCompletionRequestMessage::Assistant(m.text().into_owned().into())
            }
        })
        .collect();
    let mut wire = CreateChatCompletionRequest {
        model: request.model.clone(),
        messages,
        temperature: request.temperature.map(|t| t as f32),
        ..Default::default()
    };
    if kind == ProviderKind::Openai {
        wire.max_completion_tokens = request.max_tokens;
    } else {
        #[expect(deprecated, reason = "compatible servers only know `max_tokens`")]
        {
            wire.max_tokens = request.max_tokens;
        }
    }
    if stream {
        wire.stream = Some(true);
        wire.stream_options = Some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    wire
}

/// Maps the vendor's token counts. OpenAI's `prompt_tokens` already include cached tokens and
/// `completion_tokens` include reasoning tokens, so the two totals are all billing needs.
pub(crate) fn usage(usage: &CompletionUsage) -> Usage {
    Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        estimated: false,
    }
}

/// Maps a wire finish reason (`function_call` is the deprecated spelling of `tool_calls`).
pub(crate) fn finish_reason(reason: WireFinishReason) -> FinishReason {
    match reason {
        WireFinishReason::Stop => FinishReason::Stop,
        WireFinishReason::Length => FinishReason::Length,
        WireFinishReason::ContentFilter => FinishReason::ContentFilter,
        WireFinishReason::ToolCalls | WireFinishReason::FunctionCall => FinishReason::ToolCalls,
    }
}

/// Maps a complete reply: the first choice's text (or its refusal), finish reason and usage.
///
/// # Errors
/// `upstream_invalid_response` when the reply has no choice.
pub(crate) fn from_wire_response(
    response: CreateChatCompletionResponse,
) -> Result<ChatResponse, ProviderError> {
    let choice = response
        .choices
        .into_iter()
        .min_by_key(|c| c.index)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorCode::UpstreamInvalidResponse,
                "the upstream reply has no choices",
            )
        })?;
    let content = choice
        .message
        .content
        .or(choice.message.refusal)
        .unwrap_or_default();
    Ok(ChatResponse {
        id: Some(response.id).filter(|id| !id.is_empty()),
        model: response.model,
        content,
        tool_calls: Vec::new(),
        finish_reason: choice.finish_reason.map(finish_reason),
        usage: response.usage.as_ref().map(usage),
    })
}

/// Maps one streamed chunk; `None` when it carries nothing (the opening role-only chunk).
///
/// The usage chunk has `choices: []`; some servers (llama.cpp) put usage on the finishing chunk
/// instead. Both arrive as one [`ChatChunk`].
pub(crate) fn from_wire_chunk(chunk: CreateChatCompletionStreamResponse) -> Option<ChatChunk> {
    let choice = chunk.choices.into_iter().min_by_key(|c| c.index);
    let (delta, finish) = match choice {
        Some(c) => (c.delta.content.or(c.delta.refusal), c.finish_reason),
        None => (None, None),
    };
    let out = ChatChunk {
        delta: delta.filter(|d| !d.is_empty()),
        tool_calls: Vec::new(),
        finish_reason: finish.map(finish_reason),
        usage: chunk.usage.as_ref().map(usage),
    };
    (out != ChatChunk::default()).then_some(out)
}

/// Maps a `GET /models` list.
pub(crate) fn models(list: WireModelList) -> Vec<ModelInfo> {
    list.data
        .into_iter()
        .map(|WireModel { id, owned_by }| ModelInfo {
            id,
            owned_by: owned_by.filter(|o| !o.is_empty()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aihub_domain::ChatMessage;
    use serde_json::json;

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

    /// The streamed chunks from OpenAI's API reference, with `stream_options.include_usage`.
    const CHUNKS: [&str; 5] = [
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
    ];

    /// A llama.cpp server's finishing chunk: usage on the same chunk and a non-standard
    /// `timings` object.
    const LLAMA_CPP_FINAL: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1736272934,"id":"chatcmpl-6Yx0xWfJt5dJtN2eKzGv9uYbQvLq1aPz","model":"qwen2.5-7b-instruct-q4_k_m.gguf","system_fingerprint":"b4410-0da5d860","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":25,"total_tokens":37},"timings":{"prompt_n":25,"prompt_ms":110.342,"prompt_per_token_ms":4.41368,"prompt_per_second":226.5682,"predicted_n":12,"predicted_ms":301.12,"predicted_per_token_ms":25.0933,"predicted_per_second":39.85}}"#;

    fn chunk(json: &str) -> Option<ChatChunk> {
        from_wire_chunk(serde_json::from_str(json).expect("fixture parses"))
    }

    #[test]
    fn completion_fixture_maps_text_finish_and_usage() {
        let wire: CreateChatCompletionResponse = serde_json::from_str(COMPLETION).expect("parses");
        let got = from_wire_response(wire).expect("maps");
        assert_eq!(
            got.id.as_deref(),
            Some("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
        );
        assert_eq!(got.model, "gpt-4.1-2025-04-14");
        assert_eq!(got.content, "Hello! How can I assist you today?");
        assert_eq!(got.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            got.usage,
            Some(Usage {
                prompt_tokens: 19,
                completion_tokens: 10,
                estimated: false
            })
        );
    }

    #[test]
    fn completion_without_choices_is_invalid() {
        let mut wire: serde_json::Value = serde_json::from_str(COMPLETION).expect("parses");
        wire["choices"] = json!([]);
        let wire: CreateChatCompletionResponse = serde_json::from_value(wire).expect("parses");
        let err = from_wire_response(wire).expect_err("no choices");
        assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
    }

    #[test]
    fn stream_fixture_maps_deltas_finish_and_usage_chunk() {
        let got: Vec<Option<ChatChunk>> = CHUNKS.iter().map(|c| chunk(c)).collect();
        assert_eq!(got[0], None, "the role-only opening chunk carries nothing");
        assert_eq!(
            got[1].as_ref().and_then(|c| c.delta.as_deref()),
            Some("Hello")
        );
        assert_eq!(got[2].as_ref().and_then(|c| c.delta.as_deref()), Some("!"));
        assert_eq!(
            got[3],
            Some(ChatChunk {
                tool_calls: Vec::new(),
                delta: None,
                finish_reason: Some(FinishReason::Stop),
                usage: None
            })
        );
        assert_eq!(
            got[4],
            Some(ChatChunk {
                tool_calls: Vec::new(),
                delta: None,
                finish_reason: None,
                usage: Some(Usage {
                    prompt_tokens: 9,
                    completion_tokens: 2,
                    estimated: false
                }),
            })
        );
    }

    #[test]
    fn llama_cpp_chunk_with_timings_is_tolerated() {
        assert_eq!(
            chunk(LLAMA_CPP_FINAL),
            Some(ChatChunk {
                tool_calls: Vec::new(),
                delta: None,
                finish_reason: Some(FinishReason::Stop),
                usage: Some(Usage {
                    prompt_tokens: 25,
                    completion_tokens: 12,
                    estimated: false
                }),
            })
        );
    }

    #[test]
    fn finish_reasons_map() {
        let cases = [
            (WireFinishReason::Stop, FinishReason::Stop),
            (WireFinishReason::Length, FinishReason::Length),
            (WireFinishReason::ContentFilter, FinishReason::ContentFilter),
            (WireFinishReason::ToolCalls, FinishReason::ToolCalls),
            (WireFinishReason::FunctionCall, FinishReason::ToolCalls),
        ];
        for (wire, want) in cases {
            assert_eq!(finish_reason(wire), want);
        }
    }

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
        let wire = serde_json::to_value(to_wire_request(&request(), ProviderKind::Ollama, false))
            .expect("serializes");
        assert_eq!(wire["max_tokens"], json!(50));
        assert!(wire.get("max_completion_tokens").is_none(), "{wire}");
        assert!(wire.get("stream").is_none(), "{wire}");
        assert!(wire.get("stream_options").is_none(), "{wire}");
    }

    #[test]
    fn model_list_tolerates_missing_fields() {
        let list: WireModelList = serde_json::from_str(
            r#"{"object":"list","data":[
                {"id":"gpt-4o-mini","object":"model","created":1686935002,"owned_by":"openai"},
                {"id":"qwen2-7b","object":"model","owned_by":""},
                {"id":"llama3"}
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
}
