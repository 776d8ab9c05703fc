use super::*;
use std::collections::BTreeMap;
use std::time::Duration;

fn settings(kind: ProviderKind, base_url: Option<&str>) -> ProviderSettings {
    ProviderSettings {
        kind,
        base_url: base_url.map(str::to_owned),
        api_key: None,
        headers: BTreeMap::new(),
        timeout: Duration::from_secs(30),
        allow_private_network: true,
    }
}

#[test]
fn base_urls_follow_each_kind() {
    let cases = [
        (ProviderKind::Openai, None, "https://api.openai.com/v1"),
        (
            ProviderKind::Openrouter,
            None,
            "https://openrouter.ai/api/v1",
        ),
        (ProviderKind::Ollama, None, "http://localhost:11434/v1"),
        (
            ProviderKind::Ollama,
            Some("http://gpu-box:11434/"),
            "http://gpu-box:11434/v1",
        ),
        (
            ProviderKind::Ollama,
            Some("http://gpu-box:11434/v1"),
            "http://gpu-box:11434/v1",
        ),
        (
            ProviderKind::OpenaiCompatible,
            Some("http://llama:8080/v1/"),
            "http://llama:8080/v1",
        ),
    ];
    for (kind, base, want) in cases {
        assert_eq!(
            base_url(&settings(kind, base)).expect("valid"),
            want,
            "{kind:?} {base:?}"
        );
    }
}

#[test]
fn compatible_without_base_url_is_a_validation_error() {
    let err =
        OpenAiProvider::new(settings(ProviderKind::OpenaiCompatible, None)).expect_err("no base");
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert_eq!(err.message, "base_url is required");
}

#[test]
fn base_url_with_a_query_is_refused() {
    let s = settings(
        ProviderKind::OpenaiCompatible,
        Some("http://llama:8080/v1?x=1"),
    );
    let err = OpenAiProvider::new(s).expect_err("query");
    assert_eq!(err.code, ErrorCode::ValidationError);
}

#[test]
fn invalid_header_names_are_refused() {
    let mut s = settings(ProviderKind::Openai, None);
    s.headers.insert("bad header".into(), "x".into());
    let err = OpenAiProvider::new(s).expect_err("invalid");
    assert_eq!(err.code, ErrorCode::ValidationError);
}

#[test]
fn keys_that_cannot_be_headers_are_refused() {
    let mut s = settings(ProviderKind::Openai, None);
    s.api_key = Some("sk-bad\nkey".into());
    let err = OpenAiProvider::new(s).expect_err("invalid");
    assert_eq!(err.code, ErrorCode::ValidationError);
    assert!(!err.message.contains("sk-bad"));
}

#[test]
fn debug_shows_no_key() {
    let mut s = settings(ProviderKind::Openai, None);
    s.api_key = Some("sk-secret-in-debug".into());
    let p = OpenAiProvider::new(s).expect("valid");
    assert!(!format!("{p:?}").contains("sk-secret"));
}

#[test]
fn success_bodies_with_an_error_envelope_are_mapped() {
    let e = parse_json::<wire::ChatCompletion>(
        br#"{"error":{"message":"Rate limit exceeded: free-models-per-min","code":429}}"#,
        "reply",
    )
    .expect_err("an error");
    assert_eq!(
        (e.code, e.status),
        (ErrorCode::UpstreamRateLimited, Some(429))
    );
    assert!(!e.message.contains("free-models"));
    let e =
        parse_json::<wire::ChatCompletion>(b"<html>oops</html>", "reply").expect_err("not json");
    assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse);
    assert_eq!(e.message, "the upstream reply is not in the OpenAI format");
    let ok = parse_json::<wire::ChatCompletion>(
        br#"{"id":"x","choices":[{"index":0,"message":{"content":"an \"error\" here"},"finish_reason":"error"}]}"#,
        "reply",
    )
    .expect("a reply");
    assert_eq!(ok.choices.len(), 1);
}

#[test]
fn a_json_reply_to_a_stream_request_becomes_chunks() {
    let reply = ChatResponse {
        id: None,
        model: "m".into(),
        content: "Hi".into(),
        tool_calls: Vec::new(),
        finish_reason: None,
        usage: None,
    };
    let chunks: Vec<_> = reply_as_chunks(reply)
        .into_iter()
        .map(|c| c.expect("ok"))
        .collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].delta.as_deref(), Some("Hi"));
    assert_eq!(chunks[1].finish_reason, Some(FinishReason::Stop));
}
