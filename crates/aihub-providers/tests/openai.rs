//! The OpenAI adapter against the fake OpenAI server: wire format, error mapping, credentials,
//! SSRF refusals and stream cancellation.

#![allow(clippy::unwrap_used)]

use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ErrorCode, FinishReason, ProviderKind, Usage,
};
use aihub_providers::openai::OpenAiProvider;
use aihub_providers::ssrf::SsrfResolver;
use aihub_providers::{ChatProvider, ProviderError, ProviderSettings, build_provider};
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
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
async fn retry_after_is_kept_where_the_headers_are_visible() {
    let fake = FakeOpenAi::start(FakeBehavior::error(FakeMode::RateLimited {
        retry_after_secs: 20,
    }));
    let p = provider(&fake);
    // async-openai drops response headers on errors: chat calls cannot see Retry-After.
    assert_eq!(p.chat(&request()).await.unwrap_err().retry_after, None);
    assert_eq!(
        p.list_models().await.unwrap_err().retry_after,
        Some(Duration::from_secs(20))
    );
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
