use super::*;

fn caps(model: &str) -> Vec<&'static str> {
    model_capabilities(model)
        .into_iter()
        .map(Capability::as_str)
        .collect()
}

#[test]
fn categories_follow_the_name() {
    let cases = [
        ("text-embedding-3-small", ModelCategory::Embedding),
        ("openai/text-embedding-ada-002", ModelCategory::Embedding),
        ("nomic-embed-text", ModelCategory::Embedding),
        ("gemini-embedding-001", ModelCategory::Embedding),
        ("gpt-3.5-turbo-instruct", ModelCategory::Completion),
        ("davinci-002", ModelCategory::Completion),
        ("gpt-4o", ModelCategory::Chat),
        ("llama3", ModelCategory::Chat),
    ];
    for (model, want) in cases {
        assert_eq!(model_category(model), want, "{model}");
    }
}

#[test]
fn capabilities_follow_the_documented_rule() {
    let cases: &[(&str, &[&str])] = &[
        ("gpt-4o", &["chat", "streaming", "tools", "vision"]),
        ("gpt-4o-mini", &["chat", "streaming", "tools", "vision"]),
        ("gpt-3.5-turbo", &["chat", "streaming", "tools"]),
        ("o3-mini", &["chat", "streaming", "tools"]),
        ("o1-mini", &["chat", "streaming"]),
        ("o4-mini", &["chat", "streaming", "tools", "vision"]),
        (
            "claude-3-5-haiku",
            &["chat", "streaming", "tools", "vision"],
        ),
        ("claude-2.1", &["chat", "streaming"]),
        ("gemini-2.5-pro", &["chat", "streaming", "tools", "vision"]),
        ("openrouter/x-ai/grok-beta", &["chat", "streaming"]),
        ("llama3", &["chat", "streaming"]),
        ("text-embedding-3-large", &["embeddings"]),
    ];
    for (model, want) in cases {
        assert_eq!(caps(model), *want, "{model}");
    }
}

#[test]
fn only_anthropic_lacks_embeddings() {
    for kind in ProviderKind::ALL {
        let caps = kind_capabilities(kind);
        assert_eq!(
            caps.contains(&Capability::Embeddings),
            kind != ProviderKind::Anthropic,
            "{kind:?}"
        );
        assert!(caps.contains(&Capability::Chat) && caps.contains(&Capability::Streaming));
    }
}
