use super::*;

fn usd(s: &str) -> Money {
    crate::parse_money(s).unwrap()
}

#[test]
fn builtin_catalog_parses() {
    let c = PricingCatalog::from_json_str(BUILTIN_JSON).unwrap();
    assert_eq!(c.currency, "USD");
    assert!(c.as_of.is_some() && c.source.is_some());
    for id in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-3.5-turbo",
        "text-embedding-3-small",
        "text-embedding-3-large",
        "claude-3-5-haiku",
        "claude-3-5-sonnet",
        "claude-3-7-sonnet",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
        "gemini-1.5-flash",
        "gemini-1.5-pro",
        "gemini-2.0-flash",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
    ] {
        let p = c.models.get(id).unwrap_or_else(|| panic!("{id} missing"));
        let expected = if id.starts_with("claude") {
            ProviderKind::Anthropic
        } else if id.starts_with("gemini") {
            ProviderKind::Gemini
        } else {
            ProviderKind::Openai
        };
        assert_eq!(p.provider, expected, "{id}");
        assert!(p.input_per_million > Money::ZERO, "{id}");
        assert!(
            p.context_window.is_some() && p.max_output_tokens.is_some(),
            "{id}"
        );
    }
    assert_eq!(PricingCatalog::builtin(), c);
}

#[test]
fn builtin_prices() {
    let c = PricingCatalog::builtin();
    let cases = [
        ("gpt-4o", "2.50", "10.00"),
        ("gpt-4o-mini", "0.15", "0.60"),
        ("claude-3-5-haiku", "0.80", "4.00"),
        ("gemini-1.5-flash", "0.075", "0.30"),
    ];
    for (id, input, output) in cases {
        let p = c.lookup(id).unwrap();
        assert_eq!(
            (p.input_per_million, p.output_per_million),
            (usd(input), usd(output))
        );
    }
}

#[test]
fn lookup_resolves_names() {
    let c = PricingCatalog::builtin();
    let cases: &[(&str, Option<&str>)] = &[
        ("gpt-4o", Some("gpt-4o")),
        ("GPT-4o", Some("gpt-4o")),
        ("openai/gpt-4o", Some("gpt-4o")),
        ("openrouter/openai/gpt-4o-mini", Some("gpt-4o-mini")),
        ("models/gemini-2.5-pro", Some("gemini-2.5-pro")),
        ("gpt-4o-2024-08-06", Some("gpt-4o")),
        ("gpt-4o-mini-2024-07-18", Some("gpt-4o-mini")),
        ("openai/gpt-4o-mini-2024-07-18", Some("gpt-4o-mini")),
        ("gpt-4.1-2025-04-14", Some("gpt-4.1")),
        ("gpt-4.1-nano-2025-04-14", Some("gpt-4.1-nano")),
        ("o3-mini-2025-01-31", Some("o3-mini")),
        ("o3-2025-04-16", Some("o3")),
        ("gpt-3.5-turbo-0125", Some("gpt-3.5-turbo")),
        ("claude-3-5-haiku-20241022", Some("claude-3-5-haiku")),
        ("claude-3-5-sonnet-latest", Some("claude-3-5-sonnet")),
        ("claude-sonnet-4-20250514", Some("claude-sonnet-4")),
        ("claude-sonnet-4-5-20250929", Some("claude-sonnet-4-5")),
        ("claude-opus-4-1-20250805", Some("claude-opus-4-1")),
        ("claude-haiku-4-5-20251001", Some("claude-haiku-4-5")),
        ("gemini-1.5-flash-002", Some("gemini-1.5-flash")),
        ("gemini-2.0-flash-001", Some("gemini-2.0-flash")),
        ("gemini-2.5-pro-preview-06-05", Some("gemini-2.5-pro")),
        ("gemini-2.5-flash-lite", Some("gemini-2.5-flash-lite")),
        // Different products are not priced as their base model.
        ("o3-pro", None),
        ("gpt-4o-realtime-preview", None),
        ("gemini-2.5-flash-lite-x", None),
        ("gpt-4", None),
        ("gpt-4o-", None),
        ("ollama/llama3", None),
        ("", None),
        ("/", None),
    ];
    for (name, want) in cases {
        let got = c.resolve(name).map(|(id, _)| id);
        assert_eq!(got, *want, "{name}");
    }
}

#[test]
fn overrides_replace_prices_and_inherit_limits() {
    let json = r#"{ "models": {
            "GPT-4o": { "input_per_million": "1.00", "output_per_million": 4 },
            "deepseek-chat": { "input_per_million": 0.27, "output_per_million": "1.10" } } }"#;
    let o: PricingOverrides = serde_json::from_str(json).unwrap();
    let c = PricingCatalog::builtin().with_overrides(o).unwrap();
    assert_eq!(c.currency, "USD");
    let p = c.lookup("gpt-4o").unwrap();
    assert_eq!(p.input_per_million, usd("1"));
    assert_eq!(p.output_per_million, usd("4"));
    assert_eq!(p.context_window, Some(128_000));
    assert_eq!(p.provider, ProviderKind::Openai);
    let d = c.lookup("deepseek-chat").unwrap();
    assert_eq!(d.input_per_million, Money(270_000_000));
    assert_eq!(d.provider, ProviderKind::OpenaiCompatible);
    assert_eq!(d.context_window, None);
    // Untouched entries stay.
    assert!(c.lookup("claude-opus-4").is_some());
}

#[test]
fn currency_change_discards_foreign_prices() {
    let json = r#"{ "currency": "cny", "models": {
            "gpt-4o": { "input_per_million": "18.00", "output_per_million": "72.00" } } }"#;
    let o: PricingOverrides = serde_json::from_str(json).unwrap();
    let c = PricingCatalog::builtin().with_overrides(o).unwrap();
    assert_eq!(c.currency, "CNY");
    assert_eq!(c.models.len(), 1);
    assert_eq!(c.lookup("gpt-4o").unwrap().input_per_million, usd("18"));
    assert_eq!(c.lookup("gpt-4o").unwrap().context_window, None);
    assert!(c.lookup("gpt-4o-mini").is_none());
}

#[test]
fn rejects_bad_config() {
    let bad = [
        r#"{ "currency": "dollars" }"#,
        r#"{ "models": { "x": { "input_per_million": "-1", "output_per_million": "1" } } }"#,
        r#"{ "models": { "x": { "input_per_million": "1" } } }"#,
        r#"{ "models": { "x": { "input": "1", "output": "1" } } }"#,
        r#"{ "unknown": 1 }"#,
    ];
    for json in bad {
        let err = PricingCatalog::from_json_str(json).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationError, "{json}");
    }
}
