//! The Anthropic adapter against the fake Anthropic server: the Messages wire format (request
//! body, headers), streaming with cumulative usage, tool use, error mapping, in-band errors,
//! cut-off streams and the model list.

#![allow(clippy::unwrap_used)]

use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, ErrorCode, FinishReason, ImagePart,
    MessageContent, ProviderKind, ToolCall, ToolCallDelta, ToolDefinition, Usage,
};
use aihub_providers::anthropic::AnthropicProvider;
use aihub_providers::{ChatProvider, ProviderError, ProviderSettings, build_provider};
use aihub_testkit::fake_anthropic::{
    AnthropicBehavior, AnthropicMode, FakeAnthropic, MESSAGE_ID, TOOL_USE_ID,
};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const KEY: &str = "sk-ant-api03-test-5ecret-key-0123456789";

fn settings(base_url: &str) -> ProviderSettings {
    ProviderSettings {
        kind: ProviderKind::Anthropic,
        base_url: Some(base_url.to_owned()),
        api_key: Some(SecretString::from(KEY)),
        headers: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        // The fake listens on loopback: only an organization provider may reach it.
        allow_private_network: true,
    }
}

fn provider(fake: &FakeAnthropic) -> AnthropicProvider {
    AnthropicProvider::new(settings(&fake.base_url())).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-20250514".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "Hi"),
        ],
        max_tokens: Some(64),
        temperature: Some(0.5),
        ..ChatRequest::default()
    }
}

fn weather_request() -> ChatRequest {
    ChatRequest {
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: Some("Current weather".into()),
            parameters: Some(
                json!({"type": "object", "properties": {"location": {"type": "string"}}}),
            ),
            strict: None,
        }],
        ..request()
    }
}

/// Collects a stream: every chunk before the first error, and that error.
async fn drain(
    p: &AnthropicProvider,
    r: &ChatRequest,
) -> (Vec<ChatChunk>, Option<ProviderError>, usize) {
    let items: Vec<_> = p.chat_stream(r).await.unwrap().collect().await;
    let total = items.len();
    let mut chunks = Vec::new();
    let mut error = None;
    for item in items {
        match item {
            Ok(c) => {
                assert!(error.is_none(), "a chunk followed an error");
                chunks.push(c);
            }
            Err(e) => {
                assert!(error.is_none(), "two errors");
                error = Some(e);
            }
        }
    }
    (chunks, error, total)
}

fn text_of(chunks: &[ChatChunk]) -> String {
    chunks.iter().filter_map(|c| c.delta.as_deref()).collect()
}

#[tokio::test]
async fn chat_returns_text_finish_and_usage_with_cache_tokens() {
    let fake = FakeAnthropic::start(AnthropicBehavior {
        cache_creation_input_tokens: 3,
        cache_read_input_tokens: 100,
        ..AnthropicBehavior::default()
    });
    let reply = provider(&fake).chat(&request()).await.unwrap();

    assert_eq!(reply.content, "Hello! How can I help?");
    assert_eq!(reply.id.as_deref(), Some(MESSAGE_ID));
    assert_eq!(reply.model, "claude-sonnet-4-20250514");
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert!(reply.tool_calls.is_empty());
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 25 + 3 + 100,
            completion_tokens: 15,
            estimated: false
        })
    );
    assert_eq!(fake.request_count(), 1);
    assert_eq!(fake.last_uri().as_deref(), Some("/v1/messages"));
    let body = fake.last_request_body().unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-20250514");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Hi"}]));
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], 0.5);
    assert!(body.get("stream").is_none(), "{body}");
}

#[tokio::test]
async fn missing_max_tokens_sends_the_documented_default() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut r = request();
    r.max_tokens = None;
    provider(&fake).chat(&r).await.unwrap();
    assert_eq!(
        fake.last_request_body().unwrap()["max_tokens"],
        aihub_providers::anthropic::DEFAULT_MAX_TOKENS
    );
}

#[tokio::test]
async fn key_goes_in_x_api_key_with_the_version_and_extra_headers() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut s = settings(&fake.base_url());
    s.headers
        .insert("anthropic-beta".into(), "prompt-caching-2024-07-31".into());
    let p = AnthropicProvider::new(s).unwrap();

    p.chat(&request()).await.unwrap();
    assert_eq!(fake.last_header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(fake.last_header("authorization"), None);
    assert_eq!(
        fake.last_header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
    assert_eq!(
        fake.last_header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        fake.last_header("anthropic-beta").as_deref(),
        Some("prompt-caching-2024-07-31")
    );

    let _ = drain(&p, &request()).await;
    assert_eq!(fake.last_header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(fake.last_header("authorization"), None);

    p.list_models().await.unwrap();
    assert_eq!(fake.last_header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(
        fake.last_header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
}

#[tokio::test]
async fn a_provider_without_key_is_refused_like_by_the_real_api() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut s = settings(&fake.base_url());
    s.api_key = None;
    let e = AnthropicProvider::new(s)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderKeyInvalid);
    assert_eq!(fake.last_header("x-api-key"), None);
}

#[tokio::test]
async fn chat_stream_yields_deltas_then_finish_and_cumulative_usage() {
    let fake = FakeAnthropic::start(AnthropicBehavior {
        cache_read_input_tokens: 5,
        output_tokens: 42,
        ..AnthropicBehavior::default()
    });
    let (chunks, error, _) = drain(&provider(&fake), &request()).await;
    assert!(error.is_none(), "{error:?}");

    assert_eq!(text_of(&chunks), "Hello! How can I help?");
    // Empty chunks are dropped.
    assert!(
        chunks
            .iter()
            .all(|c| c.delta.is_some() || c.finish_reason.is_some() || c.usage.is_some())
    );
    let finishes: Vec<_> = chunks.iter().filter_map(|c| c.finish_reason).collect();
    assert_eq!(finishes, vec![FinishReason::Stop]);
    // Prompt from message_start (input + cache read), completion from message_delta (the
    // cumulative 42, not 1 + 42).
    let usages: Vec<_> = chunks.iter().filter_map(|c| c.usage).collect();
    assert_eq!(
        usages,
        vec![Usage {
            prompt_tokens: 30,
            completion_tokens: 42,
            estimated: false
        }]
    );
    assert!(chunks.last().unwrap().usage.is_some());

    let body = fake.last_request_body().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(fake.streams_completed(), 1);
    assert!(!fake.client_disconnected());
}

#[tokio::test]
async fn tool_use_reply_becomes_tool_calls() {
    let fake = FakeAnthropic::start(AnthropicBehavior::tool_use(json!({"location": "Paris"})));
    let reply = provider(&fake).chat(&weather_request()).await.unwrap();

    assert_eq!(reply.content, "Let me check.");
    assert_eq!(
        reply.tool_calls,
        vec![ToolCall {
            id: TOOL_USE_ID.into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris"}"#.into(),
        }]
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["tools"],
        json!([{
            "name": "get_weather",
            "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}
        }])
    );
}

#[tokio::test]
async fn streamed_tool_use_arrives_as_id_name_then_argument_pieces() {
    let fake = FakeAnthropic::start(AnthropicBehavior::tool_use(json!({"location": "Paris"})));
    let (chunks, error, _) = drain(&provider(&fake), &weather_request()).await;
    assert!(error.is_none(), "{error:?}");

    assert_eq!(text_of(&chunks), "Let me check.");
    let deltas: Vec<ToolCallDelta> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    // The tool block is Anthropic's content block 1, but the first tool call: index 0.
    assert!(deltas.iter().all(|d| d.index == 0), "{deltas:?}");
    assert_eq!(deltas[0].id.as_deref(), Some(TOOL_USE_ID));
    assert_eq!(deltas[0].name.as_deref(), Some("get_weather"));
    assert!(deltas.len() >= 3, "id/name then at least two pieces");
    assert!(
        deltas[1..]
            .iter()
            .all(|d| d.id.is_none() && d.name.is_none())
    );
    let arguments: String = deltas
        .iter()
        .filter_map(|d| d.arguments.as_deref())
        .collect();
    assert_eq!(arguments, r#"{"location":"Paris"}"#);
    let finishes: Vec<_> = chunks.iter().filter_map(|c| c.finish_reason).collect();
    assert_eq!(finishes, vec![FinishReason::ToolCalls]);
}

#[tokio::test]
async fn a_tool_round_trip_is_sent_as_tool_use_and_tool_result() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut r = weather_request();
    r.messages.push(ChatMessage {
        role: ChatRole::Assistant,
        tool_calls: vec![ToolCall {
            id: "toolu_01".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"Paris"}"#.into(),
        }],
        ..ChatMessage::default()
    });
    r.messages.push(ChatMessage {
        role: ChatRole::Tool,
        content: "15 C".into(),
        tool_call_id: Some("toolu_01".into()),
        ..ChatMessage::default()
    });
    provider(&fake).chat(&r).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "15 C"}
            ]}
        ])
    );
}

#[tokio::test]
async fn invalid_tool_arguments_fail_before_any_request() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut r = request();
    r.messages.push(ChatMessage {
        role: ChatRole::Assistant,
        tool_calls: vec![ToolCall {
            id: "toolu_01".into(),
            name: "f".into(),
            arguments: "{oops".into(),
        }],
        ..ChatMessage::default()
    });
    let p = provider(&fake);
    assert_eq!(
        p.chat(&r).await.unwrap_err().code,
        ErrorCode::ValidationError
    );
    assert_eq!(
        p.chat_stream(&r).await.err().map(|e| e.code),
        Some(ErrorCode::ValidationError)
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn images_become_base64_image_blocks() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut r = request();
    r.messages[1].content = MessageContent::Parts(vec![
        ContentPart::Text("What is in this image?".into()),
        ContentPart::Image(ImagePart::from_base64("image/jpeg", "/9j/4AAQSkZJRg==")),
        ContentPart::Image(ImagePart {
            url: "https://upload.example.com/ant.jpg".into(),
            detail: None,
        }),
    ]);
    provider(&fake).chat(&r).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is in this image?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.example.com/ant.jpg"}}
        ])
    );
}

/// Every HTTP error mode, streaming and not: the mapped code, `Retry-After` on 429 only, and a
/// message that quotes neither the key nor the upstream's text.
#[tokio::test]
async fn error_modes_map_to_codes_without_leaking() {
    let cases = [
        (
            AnthropicMode::InvalidApiKey,
            ErrorCode::ProviderKeyInvalid,
            401,
        ),
        (
            AnthropicMode::RateLimited {
                retry_after_secs: 17,
            },
            ErrorCode::UpstreamRateLimited,
            429,
        ),
        (
            AnthropicMode::Overloaded,
            ErrorCode::UpstreamUnavailable,
            529,
        ),
        (
            AnthropicMode::CreditBalance,
            ErrorCode::UpstreamBilling,
            400,
        ),
        (
            AnthropicMode::PromptTooLong,
            ErrorCode::ContextLengthExceeded,
            400,
        ),
        (AnthropicMode::NotFound, ErrorCode::ModelNotFound, 404),
        (
            AnthropicMode::ServerError,
            ErrorCode::UpstreamUnavailable,
            500,
        ),
    ];
    for (mode, code, status) in cases {
        let fake = FakeAnthropic::start(AnthropicBehavior::error(mode.clone()));
        let p = provider(&fake);
        let errors = [
            p.chat(&request()).await.unwrap_err(),
            p.chat_stream(&request()).await.err().unwrap(),
        ];
        for e in errors {
            assert_eq!(e.code, code, "{mode:?}");
            assert_eq!(e.status, Some(status), "{mode:?}");
            let want_retry =
                matches!(mode, AnthropicMode::RateLimited { .. }).then(|| Duration::from_secs(17));
            assert_eq!(e.retry_after, want_retry, "{mode:?}");
            for leak in [
                KEY,
                "credit balance",
                "prompt is too long",
                "Overloaded",
                "rate limit for your organization",
                "claude-sonnet",
                "Internal server error",
            ] {
                assert!(!e.message.contains(leak), "{mode:?}: {}", e.message);
            }
            assert!(!format!("{e:?}").contains(KEY));
        }
        // One call is one upstream request: no hidden retries.
        assert_eq!(fake.request_count(), 2, "{mode:?}");
    }
}

#[tokio::test]
async fn in_band_error_mid_stream_yields_chunks_then_one_error() {
    let fake = FakeAnthropic::start(AnthropicBehavior::error(AnthropicMode::InBandError));
    let (chunks, error, total) = drain(&provider(&fake), &request()).await;
    assert_eq!(text_of(&chunks), "Hello!");
    assert!(chunks.iter().all(|c| c.finish_reason.is_none()));
    let e = error.expect("an error");
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(e.status, None);
    assert!(!e.message.contains("Overloaded"), "{}", e.message);
    assert_eq!(total, chunks.len() + 1, "nothing after the error");
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_ends_in_upstream_unavailable() {
    let fake = FakeAnthropic::start(AnthropicBehavior::error(AnthropicMode::CutOff));
    let (chunks, error, total) = drain(&provider(&fake), &request()).await;
    assert_eq!(text_of(&chunks), "Hello! How can I help?");
    assert!(chunks.iter().all(|c| c.finish_reason.is_none()));
    assert_eq!(
        error.expect("an error").code,
        ErrorCode::UpstreamUnavailable
    );
    assert_eq!(total, chunks.len() + 1);
}

#[tokio::test]
async fn dropping_a_stream_disconnects_the_upstream() {
    let fake = FakeAnthropic::start(AnthropicBehavior::slow_stream(
        50,
        Duration::from_millis(50),
    ));
    let mut stream = provider(&fake).chat_stream(&request()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("tok0 "));
    drop(stream);
    assert!(fake.wait_for_disconnect(Duration::from_secs(2)).await);
    assert_eq!(fake.streams_completed(), 0);
}

#[tokio::test]
async fn list_models_reads_the_list() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let models = provider(&fake).list_models().await.unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]
    );
    assert!(
        models
            .iter()
            .all(|m| m.owned_by.as_deref() == Some("anthropic"))
    );
    assert_eq!(fake.last_uri().as_deref(), Some("/v1/models?limit=1000"));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn list_models_maps_errors() {
    let fake = FakeAnthropic::start(AnthropicBehavior::error(AnthropicMode::InvalidApiKey));
    let e = provider(&fake).list_models().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderKeyInvalid);
    assert!(!e.message.contains(KEY));
    fake.set_behavior(AnthropicBehavior::error(AnthropicMode::RateLimited {
        retry_after_secs: 3,
    }));
    let e = provider(&fake).list_models().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamRateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn embeddings_are_unsupported() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let e = provider(&fake)
        .embed(&aihub_domain::EmbeddingRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedOperation);
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn build_provider_serves_anthropic() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let p = build_provider(settings(&fake.base_url())).unwrap();
    assert_eq!(p.kind(), ProviderKind::Anthropic);
    assert_eq!(
        p.chat(&request()).await.unwrap().content,
        "Hello! How can I help?"
    );
}

#[tokio::test]
async fn a_personal_provider_may_not_reach_loopback() {
    let fake = FakeAnthropic::start(AnthropicBehavior::default());
    let mut s = settings(&fake.base_url());
    s.allow_private_network = false;
    let e = AnthropicProvider::new(s).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsafeBaseUrl);
    assert_eq!(fake.request_count(), 0);
}
