//! The Gemini adapter against the fake Gemini server: wire format, the key only in the
//! `x-goog-api-key` header, error mapping, safety blocks, stream ends and cancellation.

#![allow(clippy::unwrap_used)]

use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, EmbeddingRequest, ErrorCode,
    FinishReason, ImagePart, MessageContent, ProviderKind, ToolCall, ToolChoice, ToolDefinition,
    Usage,
};
use aihub_providers::gemini::GeminiProvider;
use aihub_providers::{ChatProvider, ProviderError, ProviderSettings, build_provider};
use aihub_testkit::fake_gemini::{FAKE_GEMINI_KEY, FakeGemini, GeminiBehavior, GeminiMode};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn settings(base_url: &str, key: Option<&str>) -> ProviderSettings {
    ProviderSettings {
        kind: ProviderKind::Gemini,
        base_url: Some(base_url.to_owned()),
        api_key: key.map(SecretString::from),
        headers: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        // The fake listens on loopback: only an organization provider may reach it.
        allow_private_network: true,
    }
}

fn provider(fake: &FakeGemini) -> GeminiProvider {
    GeminiProvider::new(settings(&fake.base_url(), Some(FAKE_GEMINI_KEY))).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gemini-1.5-flash".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "Hi"),
        ],
        max_tokens: Some(64),
        temperature: Some(0.5),
        ..ChatRequest::default()
    }
}

fn usage(prompt: u32, completion: u32) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated: false,
    })
}

/// Every item of a stream, errors included.
async fn drain(
    provider: &GeminiProvider,
    req: &ChatRequest,
) -> Vec<Result<ChatChunk, ProviderError>> {
    provider.chat_stream(req).await.unwrap().collect().await
}

/// The key appears nowhere in a URL the fake received.
fn assert_key_not_in_urls(fake: &FakeGemini) {
    for line in fake.request_log() {
        assert!(!line.contains(FAKE_GEMINI_KEY), "{line}");
        assert!(!line.contains("key="), "{line}");
    }
}

#[tokio::test]
async fn chat_returns_text_finish_and_usage() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let reply = provider(&fake).chat(&request()).await.unwrap();

    assert_eq!(reply.content, "Hello! How can I help?");
    assert_eq!(reply.model, "gemini-1.5-flash");
    assert_eq!(reply.id.as_deref(), Some("fake-gemini-response-1"));
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.usage, usage(9, 7));
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        fake.last_path().as_deref(),
        Some("/v1beta/models/gemini-1.5-flash:generateContent")
    );
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "Hi"}]}])
    );
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["generationConfig"],
        json!({"temperature": 0.5, "maxOutputTokens": 64})
    );
}

#[tokio::test]
async fn thinking_tokens_are_billed_as_completion() {
    let fake = FakeGemini::start(GeminiBehavior {
        thoughts_tokens: 20,
        ..GeminiBehavior::default()
    });
    let reply = provider(&fake).chat(&request()).await.unwrap();
    assert_eq!(reply.usage, usage(9, 27));
}

#[tokio::test]
async fn stream_yields_deltas_then_finish_and_final_usage() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let chunks: Vec<ChatChunk> = drain(&provider(&fake), &request())
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();

    let deltas: Vec<&str> = chunks.iter().filter_map(|c| c.delta.as_deref()).collect();
    assert_eq!(deltas, ["Hello", "!", " How can", " I help?"]);
    let finishes: Vec<_> = chunks.iter().filter_map(|c| c.finish_reason).collect();
    assert_eq!(finishes, [FinishReason::Stop]);
    let usages: Vec<_> = chunks.iter().filter_map(|c| c.usage).collect();
    assert_eq!(usages.len(), 1, "usage is reported once, at the end");
    assert_eq!(chunks.last().unwrap().usage, usage(9, 7));
    assert!(chunks.iter().all(|c| *c != ChatChunk::default()));

    assert_eq!(
        fake.last_path().as_deref(),
        Some("/v1beta/models/gemini-1.5-flash:streamGenerateContent")
    );
    assert_eq!(fake.last_query().as_deref(), Some("alt=sse"));
    assert_eq!(fake.streams_completed(), 1);
}

#[tokio::test]
async fn the_key_goes_in_the_header_and_never_in_the_url() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let p = provider(&fake);
    p.chat(&request()).await.unwrap();
    assert_eq!(
        fake.last_header("x-goog-api-key").as_deref(),
        Some(FAKE_GEMINI_KEY)
    );
    assert_eq!(fake.last_query(), None);
    drain(&p, &request()).await;
    p.list_models().await.unwrap();
    p.embed(&EmbeddingRequest {
        model: "text-embedding-004".into(),
        input: vec!["a".into()],
        dimensions: None,
    })
    .await
    .unwrap();
    assert_eq!(
        fake.last_header("x-goog-api-key").as_deref(),
        Some(FAKE_GEMINI_KEY)
    );
    assert!(fake.last_header("authorization").is_none());
    assert_eq!(fake.request_count(), 5, "{:?}", fake.request_log());
    assert_key_not_in_urls(&fake);
}

#[tokio::test]
async fn model_ids_are_normalised_and_unsafe_ones_refused() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let p = provider(&fake);
    let mut req = request();
    req.model = "models/gemini-1.5-flash".into();
    p.chat(&req).await.unwrap();
    assert_eq!(
        fake.last_path().as_deref(),
        Some("/v1beta/models/gemini-1.5-flash:generateContent")
    );
    for bad in ["../files", "gemini?key=x", "gemini#x", "gemini flash", ""] {
        req.model = bad.into();
        let e = p.chat(&req).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError, "{bad:?}");
        let e = p.chat_stream(&req).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::ValidationError, "{bad:?}");
    }
    assert_eq!(
        fake.request_count(),
        1,
        "refused ids never reach the upstream"
    );
}

#[tokio::test]
async fn roles_alternate_user_and_model_and_images_go_inline() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let req = ChatRequest {
        model: "gemini-1.5-flash".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "You describe images."),
            ChatMessage::new(ChatRole::User, "Hello"),
            ChatMessage::new(ChatRole::Assistant, "Hi! Send a picture."),
            ChatMessage {
                role: ChatRole::User,
                content: MessageContent::Parts(vec![
                    ContentPart::Text("What is this?".into()),
                    ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
                ]),
                ..ChatMessage::default()
            },
        ],
        ..ChatRequest::default()
    };
    provider(&fake).chat(&req).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hello"}]},
            {"role": "model", "parts": [{"text": "Hi! Send a picture."}]},
            {"role": "user", "parts": [
                {"text": "What is this?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
            ]}
        ])
    );
    assert_eq!(
        body["systemInstruction"]["parts"],
        json!([{"text": "You describe images."}])
    );
}

fn tool_request() -> ChatRequest {
    ChatRequest {
        model: "gemini-1.5-flash".into(),
        messages: vec![ChatMessage::new(
            ChatRole::User,
            "Weather in Paris and Rome?",
        )],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: Some("Current weather of a city".into()),
            parameters: Some(json!({
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"]
            })),
            strict: None,
        }],
        tool_choice: Some(ToolChoice::Required),
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn tools_are_declared_and_function_calls_get_generated_ids() {
    let fake = FakeGemini::start(GeminiBehavior::mode(GeminiMode::FunctionCall));
    let reply = provider(&fake).chat(&tool_request()).await.unwrap();

    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }]}])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.content, "");
    assert_eq!(reply.tool_calls.len(), 1);
    let call = &reply.tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&call.arguments).unwrap(),
        json!({"location": "Paris"})
    );
    assert!(call.id.starts_with("call_"), "{}", call.id);

    // The next turn sends the call and its result back, named after the call.
    let mut next = tool_request();
    let mut assistant = ChatMessage::new(ChatRole::Assistant, "");
    assistant.tool_calls = reply.tool_calls.clone();
    let mut result = ChatMessage::new(ChatRole::Tool, r#"{"temp_c": 21}"#);
    result.tool_call_id = Some(call.id.clone());
    next.messages.extend([assistant, result]);
    next.tool_choice = Some(ToolChoice::Auto);
    provider(&fake).chat(&next).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]})
    );
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": {"temp_c": 21}}}}]})
    );
}

#[tokio::test]
async fn invalid_tool_call_arguments_are_refused_before_sending() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let mut req = request();
    let mut assistant = ChatMessage::new(ChatRole::Assistant, "");
    assistant.tool_calls = vec![ToolCall {
        id: "call_1".into(),
        name: "f".into(),
        arguments: "{oops".into(),
    }];
    req.messages.push(assistant);
    let e = provider(&fake).chat(&req).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationError);
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn streamed_function_calls_are_whole_deltas() {
    let fake = FakeGemini::start(GeminiBehavior {
        mode: GeminiMode::FunctionCall,
        function_calls: vec![
            ("get_weather".into(), json!({"location": "Paris"})),
            ("get_weather".into(), json!({"location": "Rome"})),
        ],
        ..GeminiBehavior::default()
    });
    let chunks: Vec<ChatChunk> = drain(&provider(&fake), &tool_request())
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let calls: Vec<_> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].index, 0);
    assert_eq!(calls[1].index, 1);
    assert_eq!(calls[1].name.as_deref(), Some("get_weather"));
    assert_eq!(
        calls[1].arguments.as_deref(),
        Some(r#"{"location":"Rome"}"#)
    );
    let ids: Vec<_> = calls.iter().map(|c| c.id.clone().unwrap()).collect();
    assert_ne!(ids[0], ids[1]);
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(last.usage, usage(9, 7));
}

/// What each error mode maps to, and the `Retry-After` kept.
fn error_cases() -> Vec<(GeminiMode, ErrorCode, Option<Duration>)> {
    vec![
        (
            GeminiMode::InvalidApiKey,
            ErrorCode::ProviderKeyInvalid,
            None,
        ),
        (
            GeminiMode::RateLimited {
                retry_after_secs: 5,
            },
            ErrorCode::UpstreamRateLimited,
            Some(Duration::from_secs(5)),
        ),
        (
            GeminiMode::RateLimitedRetryInfoOnly {
                retry_delay_secs: 7,
            },
            ErrorCode::UpstreamRateLimited,
            Some(Duration::from_secs(7)),
        ),
        (
            GeminiMode::ServerError,
            ErrorCode::UpstreamUnavailable,
            None,
        ),
        (
            GeminiMode::Unavailable,
            ErrorCode::UpstreamUnavailable,
            None,
        ),
        (
            GeminiMode::DeadlineExceeded,
            ErrorCode::UpstreamTimeout,
            None,
        ),
        (GeminiMode::NotFound, ErrorCode::ModelNotFound, None),
        (
            GeminiMode::BillingRequired,
            ErrorCode::UpstreamBilling,
            None,
        ),
        (
            GeminiMode::TooManyTokens,
            ErrorCode::ContextLengthExceeded,
            None,
        ),
    ]
}

/// Nothing of the key or of Google's messages reaches an error.
fn assert_safe(e: &ProviderError) {
    let shown = format!("{e} {e:?}");
    for leak in [
        FAKE_GEMINI_KEY,
        "AIza",
        "API key not valid",
        "exceeded your current quota",
        "overloaded",
        "billing on your project",
        "1048576",
        "internal error",
    ] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}

#[tokio::test]
async fn error_modes_map_to_codes_on_chat_and_stream() {
    for (mode, code, retry_after) in error_cases() {
        let fake = FakeGemini::start(GeminiBehavior::mode(mode.clone()));
        let p = provider(&fake);

        let e = p.chat(&request()).await.unwrap_err();
        assert_eq!(e.code, code, "{mode:?}");
        assert_eq!(e.retry_after, retry_after, "{mode:?}");
        assert!(e.status.is_some(), "{mode:?}");
        assert_safe(&e);

        let e = p.chat_stream(&request()).await.err().unwrap();
        assert_eq!(e.code, code, "{mode:?} stream");
        assert_eq!(e.retry_after, retry_after, "{mode:?} stream");
        assert_safe(&e);

        assert_eq!(fake.request_count(), 2, "no retries: {mode:?}");
    }
}

#[tokio::test]
async fn error_modes_map_on_models_and_embeddings() {
    let embed = EmbeddingRequest {
        model: "text-embedding-004".into(),
        input: vec!["a".into()],
        dimensions: None,
    };
    for (mode, code, retry_after) in error_cases() {
        let fake = FakeGemini::start(GeminiBehavior::mode(mode.clone()));
        let p = provider(&fake);
        let e = p.embed(&embed).await.unwrap_err();
        assert_eq!(e.code, code, "{mode:?} embed");
        assert_eq!(e.retry_after, retry_after, "{mode:?}");
        assert_safe(&e);
        let e = p.list_models().await.unwrap_err();
        // A 404 on the list means the base URL is wrong, not that a model is missing.
        let want = if mode == GeminiMode::NotFound {
            ErrorCode::UpstreamUnavailable
        } else {
            code
        };
        assert_eq!(e.code, want, "{mode:?} models");
        assert_safe(&e);
    }
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_provider_key_invalid() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let wrong = GeminiProvider::new(settings(&fake.base_url(), Some("AIza-wrong-key"))).unwrap();
    let e = wrong.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderKeyInvalid);
    assert!(!e.to_string().contains("AIza-wrong-key"));

    let missing = GeminiProvider::new(settings(&fake.base_url(), None)).unwrap();
    let e = missing.list_models().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderKeyInvalid);
    assert!(fake.last_header("x-goog-api-key").is_none());
}

#[tokio::test]
async fn a_blocked_prompt_is_content_filtered() {
    let fake = FakeGemini::start(GeminiBehavior::mode(GeminiMode::PromptBlocked));
    let p = provider(&fake);
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ContentFiltered);
    assert_eq!(e.message, "the vendor's safety filter blocked the prompt");

    let items = drain(&p, &request()).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].as_ref().unwrap_err().code,
        ErrorCode::ContentFiltered
    );
}

#[tokio::test]
async fn a_safety_stop_mid_stream_is_a_content_filter_finish() {
    let fake = FakeGemini::start(GeminiBehavior::mode(GeminiMode::SafetyMidStream));
    let p = provider(&fake);
    let chunks: Vec<ChatChunk> = drain(&p, &request())
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let text: String = chunks.iter().filter_map(|c| c.delta.as_deref()).collect();
    assert_eq!(text, "Hello! How can I help?");
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(last.usage, usage(9, 4));

    // Without streaming the blocked candidate has no text at all: an error.
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ContentFiltered);
}

#[tokio::test]
async fn a_stream_cut_off_before_a_finish_reason_ends_in_an_error() {
    let fake = FakeGemini::start(GeminiBehavior::mode(GeminiMode::CutOff));
    let p = provider(&fake);
    let items = drain(&p, &request()).await;
    let (last, before) = items.split_last().unwrap();
    assert_eq!(before.len(), 4);
    assert!(before.iter().all(|i| i.is_ok()));
    assert_eq!(
        last.as_ref().unwrap_err().code,
        ErrorCode::UpstreamUnavailable
    );

    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse);
}

#[tokio::test]
async fn an_in_band_error_event_ends_the_stream_mapped() {
    let fake = FakeGemini::start(GeminiBehavior::mode(GeminiMode::ErrorMidStream));
    let items = drain(&provider(&fake), &request()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("Hello"));
    let e = items[1].as_ref().unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_safe(e);
}

#[tokio::test]
async fn dropping_a_stream_closes_the_upstream_connection() {
    let fake = FakeGemini::start(GeminiBehavior::slow_stream(50, Duration::from_millis(50)));
    let mut stream = provider(&fake).chat_stream(&request()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("tok0 "));
    drop(stream);
    assert!(fake.wait_for_disconnect(Duration::from_secs(2)).await);
    assert_eq!(fake.streams_completed(), 0);
}

#[tokio::test]
async fn embeddings_come_back_in_order_with_estimated_usage() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let input: Vec<String> = vec!["first".into(), "the second one".into(), "3".into()];
    let reply = provider(&fake)
        .embed(&EmbeddingRequest {
            model: "models/text-embedding-004".into(),
            input: input.clone(),
            dimensions: Some(8),
        })
        .await
        .unwrap();
    assert_eq!(reply.model, "text-embedding-004");
    assert_eq!(reply.embeddings.len(), 3);
    for (i, (vector, text)) in reply.embeddings.iter().zip(&input).enumerate() {
        assert_eq!(vector.len(), 8);
        assert_eq!(vector[0], i as f32);
        assert_eq!(vector[1], text.len() as f32);
    }
    // ceil(5/4) + ceil(14/4) + ceil(1/4) = 2 + 4 + 1.
    assert_eq!(
        reply.usage,
        Usage {
            prompt_tokens: 7,
            completion_tokens: 0,
            estimated: true
        }
    );
    assert_eq!(
        fake.last_path().as_deref(),
        Some("/v1beta/models/text-embedding-004:batchEmbedContents")
    );
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["requests"][1],
        json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "the second one"}]}, "outputDimensionality": 8})
    );
}

#[tokio::test]
async fn long_embedding_inputs_are_sent_in_batches_of_100() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let input: Vec<String> = (0..150).map(|i| format!("text {i}")).collect();
    let reply = provider(&fake)
        .embed(&EmbeddingRequest {
            model: "text-embedding-004".into(),
            input: input.clone(),
            dimensions: None,
        })
        .await
        .unwrap();
    assert_eq!(fake.request_count(), 2);
    assert_eq!(reply.embeddings.len(), 150);
    // The fake numbers vectors within a batch: the second batch starts again at 0.
    assert_eq!(reply.embeddings[99][0], 99.0);
    assert_eq!(reply.embeddings[100][0], 0.0);
    assert_eq!(reply.embeddings[149][1], input[149].len() as f32);

    let empty = provider(&fake)
        .embed(&EmbeddingRequest {
            model: "text-embedding-004".into(),
            input: Vec::new(),
            dimensions: None,
        })
        .await
        .unwrap();
    assert!(empty.embeddings.is_empty());
    assert_eq!(fake.request_count(), 2, "nothing to embed, nothing sent");
}

#[tokio::test]
async fn list_models_follows_pages_and_strips_the_prefix() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let models = provider(&fake).list_models().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["gemini-1.5-flash", "gemini-1.5-pro", "text-embedding-004"]
    );
    assert!(
        models
            .iter()
            .all(|m| m.owned_by.as_deref() == Some("google"))
    );
    assert_eq!(
        fake.request_log(),
        [
            "GET /v1beta/models?pageSize=1000",
            "GET /v1beta/models?pageSize=1000&pageToken=page-2"
        ]
    );
}

#[tokio::test]
async fn build_provider_serves_gemini() {
    let fake = FakeGemini::start(GeminiBehavior::default());
    let p = build_provider(settings(&fake.base_url(), Some(FAKE_GEMINI_KEY))).unwrap();
    assert_eq!(p.kind(), ProviderKind::Gemini);
    let reply = p.chat(&request()).await.unwrap();
    assert_eq!(reply.content, "Hello! How can I help?");
}
