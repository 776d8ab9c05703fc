//! The OpenAI adapter against the fake OpenAI server: wire format, tools, embeddings, error
//! mapping, stream faults, credentials, SSRF refusals and stream cancellation.

#![allow(clippy::unwrap_used)]

use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, EmbeddingRequest, ErrorCode,
    FinishReason, ImagePart, MessageContent, ProviderKind, ResponseFormat, ToolCall, ToolChoice,
    ToolDefinition, Usage,
};
use aihub_providers::openai::OpenAiProvider;
use aihub_providers::ssrf::SsrfResolver;
use aihub_providers::{ChatProvider, ProviderError, ProviderSettings, build_provider};
use aihub_testkit::fake_openai::{
    EMBEDDING_DIMENSIONS, FakeBehavior, FakeMode, FakeOpenAi, TOOL_CALL_ID, fake_embedding,
};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const KEY: &str = "sk-test-5ecret-key-0123456789";

fn settings(kind: ProviderKind, base_url: &str) -> ProviderSettings {
    ProviderSettings {
        kind,
        base_url: Some(base_url.to_owned()),
        api_key: Some(SecretString::from(KEY)),
        headers: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        // The fake listens on loopback: only an organization provider may reach it.
        allow_private_network: true,
    }
}

fn provider(fake: &FakeOpenAi) -> OpenAiProvider {
    OpenAiProvider::new(settings(ProviderKind::OpenaiCompatible, &fake.base_url())).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "Hi"),
        ],
        max_tokens: Some(64),
        temperature: Some(0.5),
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn chat_returns_text_finish_and_usage() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let reply = provider(&fake).chat(&request()).await.unwrap();

    assert_eq!(reply.content, "Hello! How can I help?");
    assert_eq!(reply.model, "gpt-4o-mini");
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 7,
            estimated: false
        })
    );
    assert_eq!(fake.request_count(), 1);
    let body = fake.last_request_body().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    );
    assert_eq!(body["max_tokens"], 64);
    assert!(body.get("stream").is_none(), "{body}");
}

#[tokio::test]
async fn chat_stream_yields_deltas_finish_and_usage() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let stream = provider(&fake).chat_stream(&request()).await.unwrap();
    let chunks: Vec<_> = stream.collect().await;
    let chunks: Vec<_> = chunks.into_iter().collect::<Result<_, _>>().unwrap();

    let text: String = chunks.iter().filter_map(|c| c.delta.as_deref()).collect();
    assert_eq!(text, "Hello! How can I help?");
    let finishes: Vec<_> = chunks.iter().filter_map(|c| c.finish_reason).collect();
    assert_eq!(finishes, vec![FinishReason::Stop]);
    let last = chunks.last().unwrap();
    assert_eq!(
        last.usage,
        Some(Usage {
            prompt_tokens: 9,
            completion_tokens: 7,
            estimated: false
        })
    );
    assert!(
        chunks
            .iter()
            .all(|c| c.delta.is_some() || c.finish_reason.is_some() || c.usage.is_some())
    );

    let body = fake.last_request_body().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(fake.streams_completed(), 1);
    assert!(!fake.client_disconnected());
}

#[tokio::test]
async fn openai_kind_sends_max_completion_tokens() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let p = OpenAiProvider::new(settings(ProviderKind::Openai, &fake.base_url())).unwrap();
    p.chat(&request()).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(body["max_completion_tokens"], 64);
    assert!(body.get("max_tokens").is_none(), "{body}");
}

#[tokio::test]
async fn api_key_is_sent_as_bearer_with_extra_headers() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let mut s = settings(ProviderKind::Openrouter, &fake.base_url());
    s.headers
        .insert("HTTP-Referer".into(), "https://aihub.example".into());
    s.headers.insert("X-Title".into(), "AI Hub".into());
    let p = OpenAiProvider::new(s).unwrap();

    p.chat(&request()).await.unwrap();
    assert_eq!(
        fake.last_authorization().as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(fake.last_header("x-title").as_deref(), Some("AI Hub"));
    assert_eq!(
        fake.last_header("http-referer").as_deref(),
        Some("https://aihub.example")
    );

    let _ = p
        .chat_stream(&request())
        .await
        .unwrap()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(fake.last_header("x-title").as_deref(), Some("AI Hub"));

    p.list_models().await.unwrap();
    assert_eq!(
        fake.last_authorization().as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(fake.last_header("x-title").as_deref(), Some("AI Hub"));
}

#[tokio::test]
async fn provider_without_key_sends_no_secret() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let mut s = settings(ProviderKind::OpenaiCompatible, &fake.base_url());
    s.api_key = None;
    let p = OpenAiProvider::new(s).unwrap();
    p.list_models().await.unwrap();
    assert_eq!(fake.last_authorization(), None);
}

#[tokio::test]
async fn list_models_reads_the_list() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let models = provider(&fake).list_models().await.unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gpt-4o-mini", "gpt-4o"]);
    assert_eq!(models[0].owned_by.as_deref(), Some("openai"));
}

#[tokio::test]
async fn ollama_kind_appends_v1() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let p = OpenAiProvider::new(settings(ProviderKind::Ollama, &fake.root_url())).unwrap();
    assert_eq!(p.base_url(), fake.base_url());
    assert_eq!(p.list_models().await.unwrap().len(), 2);
    assert_eq!(
        p.chat(&request()).await.unwrap().content,
        "Hello! How can I help?"
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn build_provider_serves_every_openai_wire_kind() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    for kind in [
        ProviderKind::Openai,
        ProviderKind::OpenaiCompatible,
        ProviderKind::Openrouter,
    ] {
        let p = build_provider(settings(kind, &fake.base_url())).unwrap();
        assert_eq!(p.kind(), kind);
        p.list_models().await.unwrap();
    }
    assert_eq!(fake.request_count(), 3);
}

/// Every documented error, on chat, on opening a stream, and on the model list.
#[tokio::test]
async fn upstream_errors_map_to_codes_without_the_key() {
    let cases = [
        (FakeMode::InvalidApiKey, ErrorCode::ProviderKeyInvalid, 401),
        (
            FakeMode::RateLimited {
                retry_after_secs: 20,
            },
            ErrorCode::UpstreamRateLimited,
            429,
        ),
        (FakeMode::InsufficientQuota, ErrorCode::UpstreamBilling, 429),
        (FakeMode::ServerError, ErrorCode::UpstreamUnavailable, 500),
        (
            FakeMode::ContextLengthExceeded,
            ErrorCode::ContextLengthExceeded,
            400,
        ),
        (FakeMode::ModelNotFound, ErrorCode::ModelNotFound, 404),
        (
            FakeMode::ServerErrorQuotingKey,
            ErrorCode::UpstreamUnavailable,
            500,
        ),
        (FakeMode::BadGateway, ErrorCode::UpstreamUnavailable, 502),
        (
            FakeMode::ServiceUnavailable,
            ErrorCode::UpstreamUnavailable,
            503,
        ),
    ];
    for (mode, code, status) in cases {
        let fake = FakeOpenAi::start(FakeBehavior::error(mode.clone()));
        let p = provider(&fake);

        let chat = p.chat(&request()).await.unwrap_err();
        let stream = p.chat_stream(&request()).await.err().unwrap();
        for e in [&chat, &stream] {
            assert_eq!((e.code, e.status), (code, Some(status)), "{mode:?}: {e:?}");
            assert_no_secret(e);
        }
        assert_eq!(
            fake.request_count(),
            2,
            "{mode:?}: no retries inside the adapter"
        );

        let models = p.list_models().await.unwrap_err();
        assert_no_secret(&models);
        if mode != FakeMode::ModelNotFound {
            assert_eq!(
                (models.code, models.status),
                (code, Some(status)),
                "{mode:?}: {models:?}"
            );
        }
    }
}

fn assert_no_secret(e: &ProviderError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains("5ecret"), "{shown}");
    assert!(
        !shown.contains("Incorrect API key"),
        "upstream text leaked: {shown}"
    );
}

#[tokio::test]
async fn retry_after_is_kept_on_chat_stream_opening_and_models() {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::RateLimited {
        retry_after_secs: 20,
    }));
    let p = provider(&fake);
    let twenty = Some(Duration::from_secs(20));
    assert_eq!(p.chat(&request()).await.unwrap_err().retry_after, twenty);
    assert_eq!(
        p.chat_stream(&request()).await.err().unwrap().retry_after,
        twenty
    );
    assert_eq!(p.list_models().await.unwrap_err().retry_after, twenty);
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = FakeOpenAi::start(FakeBehavior::default());
    let redirect = format!("{}/chat/completions", target.base_url());
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::RedirectTo(redirect)));
    let e = provider(&fake).chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse, "{e:?}");
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        target.request_count(),
        0,
        "the key must not follow a redirect"
    );
}

#[tokio::test]
async fn whole_request_timeout_maps_to_upstream_timeout() {
    // Non-streaming replies wait as long as the stream would: 50 x 20 ms = 1 s.
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(50, Duration::from_millis(20)));
    let mut s = settings(ProviderKind::OpenaiCompatible, &fake.base_url());
    s.timeout = Duration::from_millis(200);
    let e = OpenAiProvider::new(s)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e:?}");
}

#[tokio::test]
async fn streams_outlive_the_whole_request_timeout() {
    // 20 chunks x 30 ms = 600 ms of streaming under a 300 ms timeout: only idle gaps count.
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(20, Duration::from_millis(30)));
    let mut s = settings(ProviderKind::OpenaiCompatible, &fake.base_url());
    s.timeout = Duration::from_millis(300);
    let chunks: Vec<_> = OpenAiProvider::new(s)
        .unwrap()
        .chat_stream(&request())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(chunks.iter().all(Result::is_ok), "{chunks:?}");
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c.as_ref().unwrap().delta.is_some())
            .count(),
        20
    );
}

#[tokio::test]
async fn dropping_a_stream_closes_the_upstream_connection() {
    let fake = FakeOpenAi::start(FakeBehavior::slow_stream(500, Duration::from_millis(20)));
    let mut stream = provider(&fake).chat_stream(&request()).await.unwrap();
    for _ in 0..3 {
        assert!(stream.next().await.unwrap().unwrap().delta.is_some());
    }
    drop(stream);
    assert!(
        fake.wait_for_disconnect(Duration::from_secs(5)).await,
        "the fake kept streaming"
    );
    assert_eq!(fake.streams_completed(), 0);
}

#[tokio::test]
async fn closed_port_maps_to_upstream_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = OpenAiProvider::new(settings(
        ProviderKind::OpenaiCompatible,
        &format!("http://127.0.0.1:{port}/v1"),
    ))
    .unwrap();
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e:?}");
    assert_eq!(e.status, None);
}

#[tokio::test]
async fn personal_provider_cannot_target_localhost() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let port = fake.addr().port();
    for base in [
        format!("http://localhost:{port}/v1"),
        format!("http://127.0.0.1:{port}/v1"),
        format!("http://2130706433:{port}/v1"),
        format!("http://[::ffff:127.0.0.1]:{port}/v1"),
    ] {
        let mut s = settings(ProviderKind::OpenaiCompatible, &base);
        s.allow_private_network = false;
        let e = OpenAiProvider::new(s).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsafeBaseUrl, "{base}");
    }
    assert_eq!(fake.request_count(), 0);
}

/// The resolver refuses at connect time, so a name that passed the URL check but resolves to
/// loopback (DNS rebinding) never gets a connection.
#[tokio::test]
async fn ssrf_resolver_refuses_loopback_before_connecting() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let url = format!("http://localhost:{}/v1/models", fake.addr().port());
    let personal = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(SsrfResolver::new(false))
        .build()
        .unwrap();

    let err = personal.get(&url).send().await.unwrap_err();
    let refused =
        source_chain_provider_error(&err).expect("the resolver's refusal is in the chain");
    assert_eq!(refused.code, ErrorCode::UnsafeBaseUrl);
    assert_eq!(fake.request_count(), 0, "no connection may reach the fake");

    let organization = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(SsrfResolver::new(true))
        .build()
        .unwrap();
    assert!(
        organization
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(fake.request_count(), 1);
}

fn source_chain_provider_error(e: &(dyn std::error::Error + 'static)) -> Option<ProviderError> {
    let mut current = Some(e);
    while let Some(inner) = current {
        if let Some(found) = inner.downcast_ref::<ProviderError>() {
            return Some(found.clone());
        }
        current = inner.source();
    }
    None
}

#[test]
fn compatible_provider_needs_a_base_url() {
    let mut s = settings(ProviderKind::OpenaiCompatible, "");
    s.base_url = None;
    let e = OpenAiProvider::new(s).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::ValidationError, "base_url is required")
    );
}

// ---- tools, request fields, faults, embeddings, OpenRouter ----

fn weather_tool() -> ToolDefinition {
    ToolDefinition {
        name: "get_weather".into(),
        description: Some("Current weather in a city.".into()),
        parameters: Some(json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        })),
        strict: None,
    }
}

const ARGS: &str = r#"{"city":"Paris"}"#;

fn tool_request() -> ChatRequest {
    ChatRequest {
        tools: vec![weather_tool()],
        tool_choice: Some(ToolChoice::Auto),
        ..request()
    }
}

#[tokio::test]
async fn tool_calls_round_trip_without_streaming() {
    let fake = FakeOpenAi::start(FakeBehavior::tool_call("get_weather", ARGS));
    let p = provider(&fake);
    let reply = p.chat(&tool_request()).await.unwrap();
    assert_eq!(reply.content, "");
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    let call = ToolCall {
        id: TOOL_CALL_ID.into(),
        name: "get_weather".into(),
        arguments: ARGS.into(),
    };
    assert_eq!(reply.tool_calls, vec![call.clone()]);
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}])
    );
    assert_eq!(body["tool_choice"], "auto");

    // The next turn sends the call and its result back.
    let mut next = tool_request();
    next.messages.push(ChatMessage {
        role: ChatRole::Assistant,
        tool_calls: vec![call],
        ..ChatMessage::default()
    });
    next.messages.push(ChatMessage {
        role: ChatRole::Tool,
        content: "18 degrees, sunny".into(),
        tool_call_id: Some(TOOL_CALL_ID.into()),
        ..ChatMessage::default()
    });
    p.chat(&next).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": TOOL_CALL_ID, "type": "function", "function": {"name": "get_weather", "arguments": ARGS}}
        ]})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "content": "18 degrees, sunny", "tool_call_id": TOOL_CALL_ID})
    );
}

#[tokio::test]
async fn tool_calls_round_trip_streaming() {
    let fake = FakeOpenAi::start(FakeBehavior::tool_call("get_weather", ARGS));
    let chunks = collect_ok(provider(&fake).chat_stream(&tool_request()).await.unwrap()).await;
    let pieces: Vec<_> = chunks.iter().flat_map(|c| &c.tool_calls).collect();
    assert_eq!(pieces.len(), 3, "{pieces:?}");
    assert_eq!(pieces[0].id.as_deref(), Some(TOOL_CALL_ID));
    assert_eq!(pieces[0].name.as_deref(), Some("get_weather"));
    assert!(pieces.iter().all(|p| p.index == 0));
    assert!(
        pieces[1..]
            .iter()
            .all(|p| p.id.is_none() && p.name.is_none())
    );
    let args: String = pieces
        .iter()
        .filter_map(|p| p.arguments.as_deref())
        .collect();
    assert_eq!(args, ARGS);
    let finishes: Vec<_> = chunks.iter().filter_map(|c| c.finish_reason).collect();
    assert_eq!(finishes, vec![FinishReason::ToolCalls]);
    assert!(chunks.iter().all(|c| c.delta.is_none()));
    assert!(chunks.last().unwrap().usage.is_some());
}

#[tokio::test]
async fn every_request_field_reaches_the_upstream() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let mut r = request();
    r.messages.push(ChatMessage {
        role: ChatRole::User,
        content: MessageContent::Parts(vec![
            ContentPart::Text("What is in this picture?".into()),
            ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
            ContentPart::Image(ImagePart {
                url: "https://example.com/cat.jpg".into(),
                detail: Some("high".into()),
            }),
        ]),
        name: Some("ann".into()),
        ..ChatMessage::default()
    });
    r.top_p = Some(0.9);
    r.stop = vec!["END".into(), "STOP".into()];
    r.seed = Some(1234);
    r.user = Some("user-7".into());
    r.response_format = Some(ResponseFormat::JsonSchema {
        name: "answer".into(),
        description: None,
        schema: Some(json!({"type": "object"})),
        strict: Some(true),
    });
    r.extra.insert("logprobs".into(), json!(true));
    r.extra.insert("frequency_penalty".into(), json!(0.25));
    r.extra
        .insert("provider".into(), json!({"order": ["openai", "azure"]}));
    provider(&fake).chat(&r).await.unwrap();

    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "name": "ann", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}
        ]})
    );
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["stop"], json!(["END", "STOP"]));
    assert_eq!(body["seed"], 1234);
    assert_eq!(body["user"], "user-7");
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}})
    );
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["frequency_penalty"], 0.25);
    assert_eq!(body["provider"], json!({"order": ["openai", "azure"]}));
    assert_eq!(
        fake.last_request_path().as_deref(),
        Some("/v1/chat/completions")
    );
}

async fn collect_ok(stream: aihub_providers::ChatStream) -> Vec<ChatChunk> {
    stream
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Runs a stream to its end: the chunks before the first error, the error, and whether
/// anything followed it.
async fn run_to_end(
    stream: aihub_providers::ChatStream,
) -> (Vec<ChatChunk>, Option<ProviderError>, usize) {
    let items: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    let mut ok = Vec::new();
    let mut err = None;
    let mut after = 0;
    for item in items {
        match (item, &err) {
            (_, Some(_)) => after += 1,
            (Ok(c), None) => ok.push(c),
            (Err(e), None) => err = Some(e),
        }
    }
    (ok, err, after)
}

/// Each stream fault: the text before it arrives, then exactly one mapped error, then the end.
#[tokio::test]
async fn stream_faults_yield_the_text_so_far_then_one_error() {
    let cases = [
        (FakeMode::InBandError, ErrorCode::UpstreamUnavailable),
        (FakeMode::MalformedSse, ErrorCode::UpstreamInvalidResponse),
        (FakeMode::EofWithoutDone, ErrorCode::UpstreamUnavailable),
        (FakeMode::StallMidStream, ErrorCode::UpstreamTimeout),
    ];
    for (mode, code) in cases {
        let fake = FakeOpenAi::start(FakeBehavior::error(mode.clone()));
        let mut s = settings(ProviderKind::OpenaiCompatible, &fake.base_url());
        s.timeout = Duration::from_millis(400);
        let p = OpenAiProvider::new(s).unwrap();
        let (ok, err, after) = run_to_end(p.chat_stream(&request()).await.unwrap()).await;
        let text: String = ok.iter().filter_map(|c| c.delta.as_deref()).collect();
        assert_eq!(text, "Hello", "{mode:?}");
        let err = err.unwrap_or_else(|| panic!("{mode:?}: no error"));
        assert_eq!(err.code, code, "{mode:?}: {err:?}");
        assert_no_secret(&err);
        assert!(!err.message.contains("Sorry about that"), "{err:?}");
        assert_eq!(after, 0, "{mode:?}: nothing after the error");
        assert!(ok.iter().all(|c| c.finish_reason.is_none()), "{mode:?}");
        // The same mode leaves non-streamed replies alone.
        assert_eq!(
            p.chat(&request()).await.unwrap().content,
            "Hello! How can I help?"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::MalformedJson));
    let p = provider(&fake);
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse, "{e:?}");
    assert!(!e.message.contains("chatcmpl"), "{e:?}");
    let e = p.chat_stream(&request()).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse, "{e:?}");
    let e = p.list_models().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse, "{e:?}");
}

#[tokio::test]
async fn fail_first_fails_only_the_first_requests() {
    let fake = FakeOpenAi::start(FakeBehavior {
        fail_first: 1,
        ..FakeBehavior::error(FakeMode::ServiceUnavailable)
    });
    let p = provider(&fake);
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(
        (e.code, e.status),
        (ErrorCode::UpstreamUnavailable, Some(503))
    );
    assert!(e.is_retryable());
    assert_eq!(
        p.chat(&request()).await.unwrap().content,
        "Hello! How can I help?"
    );
    assert_eq!(fake.request_count(), 2, "one call is one upstream request");
}

#[tokio::test]
async fn a_slow_first_byte_times_out_calls_and_stream_openings() {
    let fake = FakeOpenAi::start(FakeBehavior {
        first_byte_delay: Some(Duration::from_secs(2)),
        ..FakeBehavior::default()
    });
    let mut s = settings(ProviderKind::OpenaiCompatible, &fake.base_url());
    s.timeout = Duration::from_millis(200);
    let p = OpenAiProvider::new(s).unwrap();
    let e = p.chat(&request()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e:?}");
    let e = p.chat_stream(&request()).await.err().unwrap();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e:?}");
}

/// llama.cpp may close the connection after its finishing chunk (with usage) without
/// `data: [DONE]`: that is a complete reply.
#[tokio::test]
async fn eof_after_finish_and_usage_ends_normally() {
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"object\":\"chat.completion.chunk\"}\n\n",
        ": a comment line\n\n",
        "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"usage\":{\"completion_tokens\":1,\"prompt_tokens\":5,\"total_tokens\":6},\"timings\":{\"predicted_n\":1}}\n\n",
    );
    let base = one_shot_server(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{body}"
    ))
    .await;
    let p = OpenAiProvider::new(settings(ProviderKind::OpenaiCompatible, &base)).unwrap();
    let chunks = collect_ok(p.chat_stream(&request()).await.unwrap()).await;
    assert_eq!(chunks.len(), 2, "{chunks:?}");
    assert_eq!(chunks[0].delta.as_deref(), Some("Hi"));
    assert_eq!(chunks[1].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        chunks[1].usage,
        Some(Usage {
            prompt_tokens: 5,
            completion_tokens: 1,
            estimated: false
        })
    );
}

/// A server on loopback that answers one connection with `response` and closes it; returns
/// its `/v1` base URL.
async fn one_shot_server(response: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        // Read the request head and body (the body follows the head in the same few reads).
        let mut buf = vec![0_u8; 64 * 1024];
        let mut seen = Vec::new();
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if seen.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn embeddings_come_back_in_input_order() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let p = provider(&fake);
    let inputs = vec!["hello".to_owned(), "hi there, world".to_owned()];
    let got = p
        .embed(&EmbeddingRequest {
            model: "text-embedding-3-small".into(),
            input: inputs.clone(),
            dimensions: None,
        })
        .await
        .unwrap();
    assert_eq!(
        got.embeddings,
        inputs
            .iter()
            .map(|t| fake_embedding(t, EMBEDDING_DIMENSIONS))
            .collect::<Vec<_>>()
    );
    assert_eq!(got.model, "text-embedding-3-small");
    assert_eq!(
        got.usage,
        Usage {
            prompt_tokens: 9,
            completion_tokens: 0,
            estimated: false
        }
    );
    assert_eq!(fake.last_request_path().as_deref(), Some("/v1/embeddings"));
    assert_eq!(
        fake.last_request_body().unwrap(),
        json!({"model": "text-embedding-3-small", "input": inputs, "encoding_format": "float"})
    );

    let got = p
        .embed(&EmbeddingRequest {
            model: "text-embedding-3-small".into(),
            input: vec!["x".into()],
            dimensions: Some(3),
        })
        .await
        .unwrap();
    assert_eq!(got.embeddings, vec![fake_embedding("x", 3)]);
    assert_eq!(fake.last_request_body().unwrap()["dimensions"], 3);
}

#[tokio::test]
async fn embedding_errors_map_like_chat_errors() {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
    let e = provider(&fake)
        .embed(&EmbeddingRequest {
            model: "text-embedding-3-small".into(),
            input: vec!["x".into()],
            dimensions: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ProviderKeyInvalid);
    assert_no_secret(&e);
}

#[tokio::test]
async fn openrouter_sends_its_attribution_headers_and_model_ids_verbatim() {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let p = OpenAiProvider::new(settings(ProviderKind::Openrouter, &fake.base_url())).unwrap();
    let mut r = request();
    r.model = "x-ai/grok-beta".into();
    p.chat(&r).await.unwrap();
    assert_eq!(fake.last_header("x-title").as_deref(), Some("AI Hub"));
    assert_eq!(
        fake.last_header("http-referer").as_deref(),
        Some(aihub_providers::openai::OPENROUTER_REFERER)
    );
    assert_eq!(fake.last_request_body().unwrap()["model"], "x-ai/grok-beta");
    assert_eq!(fake.last_request_body().unwrap()["max_tokens"], 64);

    // Other kinds send no attribution.
    provider(&fake).chat(&request()).await.unwrap();
    assert_eq!(fake.last_header("x-title"), None);
    assert_eq!(fake.last_header("http-referer"), None);
}

#[test]
fn openrouter_defaults_to_its_public_base_url() {
    let mut s = settings(ProviderKind::Openrouter, "");
    s.base_url = None;
    s.allow_private_network = false;
    let p = OpenAiProvider::new(s).unwrap();
    assert_eq!(p.base_url(), "https://openrouter.ai/api/v1");
}
