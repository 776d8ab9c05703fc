//! The native Ollama adapter against the fake Ollama server: request bodies, NDJSON streaming,
//! tool calls, images, error mapping, model listing, embeddings and stream cancellation.

#![allow(clippy::unwrap_used)]

use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatRole, ContentPart, EmbeddingRequest, ErrorCode,
    FinishReason, ImagePart, MessageContent, ProviderKind, ToolCall, ToolDefinition, Usage,
};
use aihub_providers::ollama::OllamaProvider;
use aihub_providers::{ChatProvider, ProviderError, ProviderSettings, build_provider};
use aihub_testkit::fake_ollama::{FakeOllama, OllamaBehavior, OllamaMode};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const KEY: &str = "ollama-5ecret-key-0123456789";

fn settings(base_url: &str, key: Option<&str>) -> ProviderSettings {
    ProviderSettings {
        kind: ProviderKind::Ollama,
        base_url: Some(base_url.to_owned()),
        api_key: key.map(SecretString::from),
        headers: BTreeMap::new(),
        timeout: Duration::from_secs(10),
        // The fake listens on loopback: only an organization provider may reach it.
        allow_private_network: true,
    }
}

fn provider(fake: &FakeOllama) -> OllamaProvider {
    OllamaProvider::new(settings(&fake.base_url(), None)).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "llama3.2".into(),
        messages: vec![
            ChatMessage::new(ChatRole::System, "Be brief."),
            ChatMessage::new(ChatRole::User, "Hi"),
        ],
        ..ChatRequest::default()
    }
}

/// The error carries none of the upstream's words (its body quotes model names and more).
fn assert_clean(err: &ProviderError, upstream_words: &[&str]) {
    for word in upstream_words {
        assert!(
            !err.message.contains(word),
            "`{word}` leaked into `{}`",
            err.message
        );
    }
    assert!(!err.message.contains(KEY), "{}", err.message);
}

async fn collect(
    provider: &OllamaProvider,
    req: &ChatRequest,
) -> Vec<Result<ChatChunk, ProviderError>> {
    provider.chat_stream(req).await.unwrap().collect().await
}

fn text_of(items: &[Result<ChatChunk, ProviderError>]) -> String {
    items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .filter_map(|c| c.delta.clone())
        .collect()
}

#[tokio::test]
async fn chat_returns_text_finish_and_usage() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let reply = provider(&fake).chat(&request()).await.unwrap();

    assert_eq!(reply.content, "Hello! How can I help?");
    assert_eq!(reply.model, "llama3.2");
    assert_eq!(reply.id, None);
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 26,
            completion_tokens: 7,
            estimated: false
        })
    );
    assert_eq!(fake.request_count(), 1);
    assert_eq!(fake.last_path().as_deref(), Some("/api/chat"));
    assert_eq!(fake.last_header("authorization"), None);
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body,
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"}
            ],
            "stream": false
        })
    );
}

#[tokio::test]
async fn a_cached_prompt_without_prompt_eval_count_counts_zero_prompt_tokens() {
    let fake = FakeOllama::start(OllamaBehavior {
        prompt_eval_count: None,
        ..OllamaBehavior::default()
    });
    let reply = provider(&fake).chat(&request()).await.unwrap();
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 0,
            completion_tokens: 7,
            estimated: false
        })
    );
}

#[tokio::test]
async fn chat_stream_yields_deltas_then_finish_and_usage() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let items = collect(&provider(&fake), &request()).await;

    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(text_of(&items), "Hello! How can I help?");
    // Four deltas, then the final line's chunk.
    assert_eq!(items.len(), 5, "{items:?}");
    let last = items.last().unwrap().as_ref().unwrap();
    assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        last.usage,
        Some(Usage {
            prompt_tokens: 26,
            completion_tokens: 7,
            estimated: false
        })
    );
    assert!(
        items[..4]
            .iter()
            .all(|c| c.as_ref().unwrap().finish_reason.is_none())
    );
    assert_eq!(fake.last_request_body().unwrap()["stream"], true);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn options_are_mapped_into_the_body() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = ChatRequest {
        max_tokens: Some(64),
        temperature: Some(0.5),
        top_p: Some(0.9),
        seed: Some(7),
        stop: vec!["END".into()],
        extra: serde_json::Map::from_iter([("frequency_penalty".to_owned(), json!(1))]),
        ..request()
    };
    provider(&fake).chat(&req).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["options"],
        json!({"num_predict": 64, "temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["END"]})
    );
    assert!(body.get("frequency_penalty").is_none(), "{body}");
    assert!(body.get("max_tokens").is_none(), "{body}");
}

#[tokio::test]
async fn response_formats_become_format() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = ChatRequest {
        response_format: Some(aihub_domain::ResponseFormat::JsonObject),
        ..request()
    };
    provider(&fake).chat(&req).await.unwrap();
    assert_eq!(fake.last_request_body().unwrap()["format"], "json");
}

#[tokio::test]
async fn a_trailing_v1_in_the_base_url_is_stripped() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    for base in [
        format!("{}/v1", fake.base_url()),
        format!("{}/v1/", fake.base_url()),
    ] {
        let p = OllamaProvider::new(settings(&base, None)).unwrap();
        assert_eq!(p.base_url(), fake.base_url());
        p.chat(&request()).await.unwrap();
        assert_eq!(fake.last_path().as_deref(), Some("/api/chat"));
    }
}

#[tokio::test]
async fn build_provider_routes_ollama_to_the_native_adapter() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let p = build_provider(settings(&fake.base_url(), None)).unwrap();
    assert_eq!(p.kind(), ProviderKind::Ollama);
    p.list_models().await.unwrap();
    assert_eq!(fake.last_path().as_deref(), Some("/api/tags"));
}

#[tokio::test]
async fn inline_images_are_sent_as_base64() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = ChatRequest {
        model: "llava".into(),
        messages: vec![ChatMessage {
            role: ChatRole::User,
            content: MessageContent::Parts(vec![
                ContentPart::Text("what is in this image?".into()),
                ContentPart::Image(ImagePart::from_base64(
                    "image/png",
                    "iVBORw0KGgoAAAANSUhEUg==",
                )),
            ]),
            ..ChatMessage::default()
        }],
        ..ChatRequest::default()
    };
    provider(&fake).chat(&req).await.unwrap();
    assert_eq!(
        fake.last_request_body().unwrap()["messages"],
        json!([{"role": "user", "content": "what is in this image?", "images": ["iVBORw0KGgoAAAANSUhEUg=="]}])
    );
}

#[tokio::test]
async fn remote_images_are_refused_before_sending() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = ChatRequest {
        messages: vec![ChatMessage {
            content: MessageContent::Parts(vec![ContentPart::Image(ImagePart {
                url: "https://example.com/cat.png".into(),
                detail: None,
            })]),
            ..ChatMessage::default()
        }],
        ..request()
    };
    let p = provider(&fake);
    let err = p.chat(&req).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(err.message, "Ollama accepts inline base64 images only");
    let err = p.chat_stream(&req).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(fake.request_count(), 0);
}

fn weather_tool() -> ToolDefinition {
    ToolDefinition {
        name: "get_current_weather".into(),
        description: Some("Get the current weather for a location".into()),
        parameters: Some(json!({
            "type": "object",
            "properties": {"location": {"type": "string"}, "format": {"type": "string"}},
            "required": ["location", "format"]
        })),
        strict: None,
    }
}

#[tokio::test]
async fn tool_calls_in_the_history_are_sent_as_objects_with_tool_names() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = ChatRequest {
        messages: vec![
            ChatMessage::new(ChatRole::User, "What is the weather today in Paris?"),
            ChatMessage {
                role: ChatRole::Assistant,
                tool_calls: vec![ToolCall {
                    id: "call_abc".into(),
                    name: "get_current_weather".into(),
                    arguments: r#"{"location":"Paris, FR","format":"celsius"}"#.into(),
                }],
                ..ChatMessage::default()
            },
            ChatMessage {
                role: ChatRole::Tool,
                content: "22".into(),
                tool_call_id: Some("call_abc".into()),
                ..ChatMessage::default()
            },
        ],
        tools: vec![weather_tool()],
        ..request()
    };
    provider(&fake).chat(&req).await.unwrap();
    let body = fake.last_request_body().unwrap();
    assert_eq!(
        body["messages"][1]["tool_calls"],
        json!([{"function": {"name": "get_current_weather",
            "arguments": {"location": "Paris, FR", "format": "celsius"}}}])
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "22", "tool_name": "get_current_weather"})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_current_weather");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["location", "format"])
    );

    // Arguments that are not a JSON object never reach the upstream.
    let mut bad = req.clone();
    bad.messages[1].tool_calls[0].arguments = "{oops".into();
    let before = fake.request_count();
    let err = provider(&fake).chat(&bad).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(fake.request_count(), before);
}

#[tokio::test]
async fn tool_calls_in_replies_get_ids_and_json_text() {
    let fake = FakeOllama::start(OllamaBehavior::error(OllamaMode::ToolCall));
    let req = ChatRequest {
        tools: vec![weather_tool()],
        ..request()
    };
    let p = provider(&fake);

    let reply = p.chat(&req).await.unwrap();
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.content, "");
    assert_eq!(reply.tool_calls.len(), 1);
    let call = &reply.tool_calls[0];
    assert!(call.id.starts_with("call_"), "{}", call.id);
    assert_eq!(call.name, "get_current_weather");
    let args: Value = serde_json::from_str(&call.arguments).unwrap();
    assert_eq!(args, json!({"format": "celsius", "location": "Paris, FR"}));

    let items = collect(&p, &req).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let deltas: Vec<_> = items
        .iter()
        .flat_map(|c| c.as_ref().unwrap().tool_calls.clone())
        .collect();
    assert_eq!(deltas.len(), 1);
    assert_eq!(deltas[0].index, 0);
    assert_eq!(deltas[0].name.as_deref(), Some("get_current_weather"));
    assert!(deltas[0].id.as_deref().unwrap().starts_with("call_"));
    let args: Value = serde_json::from_str(deltas[0].arguments.as_deref().unwrap()).unwrap();
    assert_eq!(args["location"], "Paris, FR");
    assert_eq!(
        items.last().unwrap().as_ref().unwrap().finish_reason,
        Some(FinishReason::ToolCalls)
    );
}

#[tokio::test]
async fn http_errors_map_to_codes_without_upstream_text() {
    let cases = [
        (OllamaMode::ModelNotFound, ErrorCode::ModelNotFound, 404),
        (OllamaMode::ServerError, ErrorCode::UpstreamUnavailable, 500),
        (
            OllamaMode::RateLimited {
                retry_after_secs: 7,
            },
            ErrorCode::UpstreamRateLimited,
            429,
        ),
    ];
    let words = ["llama3.2", "pulling", "memory", "GiB", "too many"];
    for (mode, code, status) in cases {
        let fake = FakeOllama::start(OllamaBehavior::error(mode.clone()));
        let p = provider(&fake);
        let err = p.chat(&request()).await.unwrap_err();
        assert_eq!(err.code, code, "{mode:?}");
        assert_eq!(err.status, Some(status), "{mode:?}");
        assert_clean(&err, &words);
        let err = p.chat_stream(&request()).await.err().unwrap();
        assert_eq!(err.code, code, "{mode:?} stream");
        assert_clean(&err, &words);
        if code == ErrorCode::UpstreamRateLimited {
            assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
        }
        assert_eq!(fake.request_count(), 2, "one request per call: {mode:?}");
    }
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_provider_key_invalid() {
    let fake = FakeOllama::start(OllamaBehavior::requiring_key(KEY));
    for key in [None, Some("wrong-key")] {
        let p = OllamaProvider::new(settings(&fake.base_url(), key)).unwrap();
        let err = p.chat(&request()).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ProviderKeyInvalid, "{key:?}");
        assert_clean(&err, &["unauthorized", "wrong-key"]);
        let err = p.list_models().await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ProviderKeyInvalid, "{key:?}");
    }
    let p = OllamaProvider::new(settings(&fake.base_url(), Some(KEY))).unwrap();
    p.chat(&request()).await.unwrap();
    assert_eq!(
        fake.last_header("authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!format!("{p:?}").contains(KEY));
}

#[tokio::test]
async fn a_mid_stream_error_line_ends_the_stream_with_one_error() {
    let fake = FakeOllama::start(OllamaBehavior::error(OllamaMode::MidStreamError));
    let p = provider(&fake);
    let items = collect(&p, &request()).await;
    assert_eq!(text_of(&items), "Hello! How can I help?");
    let (last, before) = items.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok));
    let err = last.as_ref().unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert_clean(err, &["running the model", "llama3.2", "EOF"]);

    // Without streaming the same failure is an HTTP 500.
    let err = p.chat(&request()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert_clean(&err, &["running the model", "llama3.2"]);
}

#[tokio::test]
async fn a_stream_cut_off_before_done_ends_with_one_error() {
    let fake = FakeOllama::start(OllamaBehavior::error(OllamaMode::CutOff));
    let items = collect(&provider(&fake), &request()).await;
    assert_eq!(text_of(&items), "Hello! How can I help?");
    let (last, before) = items.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok));
    let err = last.as_ref().unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(
        before
            .iter()
            .all(|c| c.as_ref().unwrap().finish_reason.is_none())
    );
}

#[tokio::test]
async fn a_malformed_line_ends_the_stream_with_one_error() {
    let fake = FakeOllama::start(OllamaBehavior::error(OllamaMode::Malformed));
    let items = collect(&provider(&fake), &request()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().delta.as_deref(), Some("Hello"));
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
    assert_clean(err, &["oops"]);
}

#[tokio::test]
async fn list_models_reads_api_tags() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let models = provider(&fake).list_models().await.unwrap();
    let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["llama3:latest", "codellama:13b"]);
    assert!(
        models
            .iter()
            .all(|m| m.owned_by.as_deref() == Some("ollama"))
    );
    assert_eq!(fake.last_path().as_deref(), Some("/api/tags"));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn embeddings_come_back_in_order_with_usage() {
    let fake = FakeOllama::start(OllamaBehavior::default());
    let req = EmbeddingRequest {
        model: "all-minilm".into(),
        input: vec![
            "Why is the sky blue?".into(),
            "Why is the grass green?".into(),
        ],
        dimensions: Some(3),
    };
    let p = provider(&fake);
    let out = p.embed(&req).await.unwrap();
    assert_eq!(out.model, "all-minilm");
    assert_eq!(out.embeddings.len(), 2);
    assert!(out.embeddings.iter().all(|v| v.len() == 3));
    assert_eq!(out.embeddings[1][0], 0.1);
    assert_eq!(
        out.usage,
        Usage {
            prompt_tokens: 26,
            completion_tokens: 0,
            estimated: false
        }
    );
    assert_eq!(fake.last_path().as_deref(), Some("/api/embed"));
    assert_eq!(
        fake.last_request_body().unwrap(),
        json!({"model": "all-minilm", "input": ["Why is the sky blue?", "Why is the grass green?"], "dimensions": 3})
    );

    // Without `prompt_eval_count` the usage is estimated: ceil((20 + 23) / 4) = 11.
    fake.set_behavior(OllamaBehavior {
        prompt_eval_count: None,
        ..OllamaBehavior::default()
    });
    let out = p.embed(&req).await.unwrap();
    assert_eq!(
        out.usage,
        Usage {
            prompt_tokens: 11,
            completion_tokens: 0,
            estimated: true
        }
    );

    fake.set_behavior(OllamaBehavior::error(OllamaMode::ModelNotFound));
    let err = p.embed(&req).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ModelNotFound);
    assert_clean(&err, &["all-minilm", "pulling"]);
}

#[tokio::test]
async fn dropping_a_stream_disconnects_the_upstream() {
    let fake = FakeOllama::start(OllamaBehavior::slow_stream(200, Duration::from_millis(20)));
    let mut stream = provider(&fake).chat_stream(&request()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.delta.as_deref(), Some("tok0 "));
    drop(stream);
    assert!(fake.wait_for_disconnect(Duration::from_secs(5)).await);
    assert_eq!(fake.streams_completed(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_upstream_unavailable() {
    // Bind a port, then free it: nothing listens there any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let p = OllamaProvider::new(settings(&format!("http://{addr}"), None)).unwrap();
    let err = p.chat(&request()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
}
