//! The model catalog (`/models`), services (`/services`), the price list (`/pricing`) and token
//! counting (`/tokens/count`).

use crate::conversations::{admin_with_provider, grant};
use aihub_billing::parse_money;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};

const MODELS: &str = "/api/v1/models";
const SERVICES: &str = "/api/v1/services";
const PRICING: &str = "/api/v1/pricing";
const COUNT: &str = "/api/v1/tokens/count";
/// The slug `admin_with_provider` gives its provider ("Fake OpenAI").
const SLUG: &str = "fake-openai";

fn tok(u: &TestUser) -> Option<&str> {
    Some(u.access_token.as_str())
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, param: Option<&str>) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["param"], json!(param), "{body}");
}

/// A decimal price string: digits, a dot, 2–9 decimals.
fn is_decimal(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.split_once('.').is_some_and(|(i, f)| {
            !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && (2..=9).contains(&f.len())
                && f.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// Every page of `GET /models?<query>` (100 per page), and the reported total.
async fn all_models(app: &TestApp, user: &TestUser, query: &str) -> (Vec<Value>, i64) {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let (s, b, _) = app
            .get(
                &format!("{MODELS}?page={page}&page_size=100{sep}{query}"),
                tok(user),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        out.extend(b["items"].as_array().unwrap().iter().cloned());
        if b["pagination"]["has_next"] != true {
            return (out, b["pagination"]["total"].as_i64().unwrap());
        }
        page += 1;
    }
}

fn find<'a>(models: &'a [Value], id: &str) -> Option<&'a Value> {
    models.iter().find(|m| m["id"] == id)
}

async fn tokens_count_exact_and_estimated(app: TestApp) {
    let alice = app.register("alice").await;
    let count = |body: Value| {
        let app = app.clone();
        let token = alice.access_token.clone();
        async move {
            let (s, b, _) = app.post(COUNT, Some(&token), body).await;
            (s.as_u16(), b)
        }
    };

    // OpenAI's own tokenizer: "hello world" is 2 o200k tokens.
    let (s, b) = count(json!({"model": "gpt-4o", "text": "hello world"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b,
        json!({"model": "gpt-4o", "token_count": 2, "estimated": false, "encoding": "o200k_base"})
    );
    // A provider prefix is ignored for counting and echoed back.
    let (s, b) = count(json!({"model": "openai/gpt-4o", "text": "hello world"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b,
        json!({"model": "openai/gpt-4o", "token_count": 2, "estimated": false, "encoding": "o200k_base"})
    );
    // A text where the two encodings differ is counted exactly as tiktoken does.
    let text = "Проанализируй текст Пушкина 'Евгений Онегин' и выдели основные темы произведения";
    let (_, b) = count(json!({"model": "gpt-4o", "text": text})).await;
    let want = aihub_billing::count_text("gpt-4o", text);
    assert_eq!(b["token_count"], want.tokens, "{b}");
    assert_eq!(b["estimated"], false);
    // A `provider` field is accepted and ignored.
    let (s, b) = count(json!({"provider": "openai", "model": "gpt-4o", "text": text})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_count"], want.tokens);

    // Messages: 3 framing + 1 role + 2 content + 3 reply priming.
    let (s, b) = count(json!({"model": "gpt-4o",
        "messages": [{"role": "user", "content": "hello world"}]}))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_count"], 9, "{b}");
    assert_eq!(b["estimated"], false);

    // Models without a shippable tokenizer are approximated.
    for model in [
        "claude-sonnet-4-5",
        "anthropic/claude-3-5-haiku",
        "gemini-2.5-pro",
        "llama3",
    ] {
        let (s, b) = count(json!({"model": model, "text": "hello world"})).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["estimated"], true, "{model}: {b}");
        assert_eq!(b["encoding"], "cl100k_base", "the stand-in: {b}");
        assert!(b["token_count"].as_u64().unwrap() > 0, "{b}");
        assert_eq!(b["model"], model);
    }
    let (_, b) = count(json!({"model": "claude-3-5-haiku",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}))
    .await;
    assert_eq!(b["estimated"], true, "{b}");

    // Exactly one of `text` and `messages`.
    let (s, b) = count(json!({"model": "gpt-4o"})).await;
    assert_error(s, &b, 422, "validation_error", Some("text"));
    let (s, b) = count(json!({"model": "gpt-4o", "text": "a", "messages": []})).await;
    assert_error(s, &b, 422, "validation_error", Some("messages"));
    // Other invalid bodies name the field.
    let (s, b) = count(json!({"model": "", "text": "a"})).await;
    assert_error(s, &b, 422, "validation_error", Some("model"));
    let (s, b) = count(json!({"text": "a"})).await;
    assert_error(s, &b, 422, "validation_error", Some("model"));
    let (s, b) = count(json!({"model": "gpt-4o", "text": "a", "encoding": "x"})).await;
    assert_error(s, &b, 422, "validation_error", Some("encoding"));
    let (s, b) =
        count(json!({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]})).await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["error"]["param"]
            .as_str()
            .unwrap()
            .starts_with("messages"),
        "{b}"
    );
    // An empty text is zero tokens.
    let (s, b) = count(json!({"model": "gpt-4o", "text": ""})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_count"], 0);

    let (s, b, _) = app
        .post(COUNT, None, json!({"model": "gpt-4o", "text": "hi"}))
        .await;
    assert_eq!(s, 401, "{b}");
}

async fn models_list_catalog_and_provider_models(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior {
        models: vec![
            "fake-model-1".into(),
            "gpt-4o-mini".into(),
            "fake-embed-small".into(),
        ],
        ..FakeBehavior::default()
    });
    let (admin, pid) = admin_with_provider(&app, &fake).await;
    let bob = app.register("bob").await;

    // Catalog entries: every priced model, named `<kind>/<model>`.
    let (models, total) = all_models(&app, &bob, "").await;
    assert_eq!(total as usize, models.len());
    let catalog_size = app.app.pricing().model_count();
    assert_eq!(models.len(), catalog_size, "bob has no providers");
    let gpt4o = find(&models, "openai/gpt-4o").expect("gpt-4o in the catalog");
    assert_eq!(
        *gpt4o,
        json!({
            "id": "openai/gpt-4o",
            "model": "gpt-4o",
            "provider_kind": "openai",
            "provider": null,
            "source": "catalog",
            "category": "chat",
            "context_length": 128000,
            "max_output_tokens": 16384,
            "pricing": {"input_per_million": "2.50", "output_per_million": "10.00", "currency": "USD"},
            "capabilities": ["chat", "streaming", "tools", "vision"]
        })
    );
    let embed = find(&models, "openai/text-embedding-3-small").expect("embedding model");
    assert_eq!(embed["category"], "embedding");
    assert_eq!(embed["capabilities"], json!(["embeddings"]));
    let haiku = find(&models, "anthropic/claude-3-5-haiku").expect("claude");
    assert_eq!(haiku["provider_kind"], "anthropic");
    assert_eq!(haiku["pricing"]["input_per_million"], "0.80");
    assert_eq!(
        find(&models, "gemini/gemini-1.5-flash").unwrap()["pricing"]["input_per_million"],
        "0.075"
    );
    for m in &models {
        assert_eq!(m["source"], "catalog", "{m}");
        assert!(is_decimal(&m["pricing"]["input_per_million"]), "{m}");
        assert!(is_decimal(&m["pricing"]["output_per_million"]), "{m}");
    }

    // The admin sees the catalog plus what the fake provider lists.
    let (models, _) = all_models(&app, &admin, "").await;
    let listed = find(&models, &format!("{SLUG}/fake-model-1")).expect("a listed model");
    assert_eq!(
        *listed,
        json!({
            "id": format!("{SLUG}/fake-model-1"),
            "model": "fake-model-1",
            "provider_kind": "openai_compatible",
            "provider": SLUG,
            "source": "provider",
            "category": "chat",
            "context_length": null,
            "max_output_tokens": null,
            "pricing": null,
            "capabilities": ["chat", "streaming"]
        })
    );
    // A listed model the catalog knows carries its limits and prices.
    let mini = find(&models, &format!("{SLUG}/gpt-4o-mini")).expect("listed gpt-4o-mini");
    assert_eq!(mini["source"], "provider");
    assert_eq!(mini["pricing"]["input_per_million"], "0.15");
    assert_eq!(mini["context_length"], 128000);
    let fake_embed = find(&models, &format!("{SLUG}/fake-embed-small")).unwrap();
    assert_eq!(fake_embed["category"], "embedding");
    assert_eq!(models.len(), catalog_size + 3, "{models:?}");

    // Filter by provider slug: only that provider's models.
    let (by_slug, total) = all_models(&app, &admin, &format!("provider={SLUG}")).await;
    assert_eq!(total, 3);
    assert!(by_slug.iter().all(|m| m["provider"] == SLUG), "{by_slug:?}");
    // By kind: the catalog has no openai_compatible models, so only the provider's.
    let (by_kind, _) = all_models(&app, &admin, "provider=openai_compatible").await;
    assert_eq!(by_kind.len(), 3, "{by_kind:?}");
    // By a catalog kind: only that vendor's catalog models.
    let (anthropic, _) = all_models(&app, &admin, "provider=anthropic").await;
    assert!(!anthropic.is_empty());
    assert!(
        anthropic
            .iter()
            .all(|m| m["provider_kind"] == "anthropic" && m["source"] == "catalog"),
        "{anthropic:?}"
    );
    // The `service` alias of `provider`.
    let (service, _) = all_models(&app, &admin, "service=anthropic").await;
    assert_eq!(service, anthropic);
    let (unknown, total) = all_models(&app, &admin, "provider=nobody").await;
    assert_eq!((unknown.len(), total), (0, 0));

    // By category.
    let (embeddings, _) = all_models(&app, &admin, "category=embedding").await;
    assert!(embeddings.iter().all(|m| m["category"] == "embedding"));
    let ids: Vec<&str> = embeddings
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"openai/text-embedding-3-small"), "{ids:?}");
    assert!(
        ids.contains(&format!("{SLUG}/fake-embed-small").as_str()),
        "{ids:?}"
    );
    let (chat, _) = all_models(&app, &admin, "category=chat").await;
    assert!(chat.iter().all(|m| m["category"] == "chat"));
    assert_eq!(chat.len() + embeddings.len(), models.len());
    let (both, _) = all_models(&app, &admin, &format!("category=embedding&provider={SLUG}")).await;
    assert_eq!(both.len(), 1, "{both:?}");

    // Pagination.
    let (s, page, _) = app
        .get(&format!("{MODELS}?page=2&page_size=5"), tok(&admin))
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["pagination"]["total"], models.len());
    assert_eq!(page["items"][0], models[5]);
    let (_, skip, _) = app
        .get(&format!("{MODELS}?skip=3&limit=2"), tok(&admin))
        .await;
    assert_eq!(skip["items"], json!([models[3], models[4]]));

    // A granted user sees the provider's models too.
    grant(&app, pid, &bob, &admin).await;
    let (bobs, _) = all_models(&app, &bob, &format!("provider={SLUG}")).await;
    assert_eq!(bobs.len(), 3, "{bobs:?}");

    // Invalid queries name the parameter; authentication is required.
    let (s, b, _) = app
        .get(&format!("{MODELS}?category=image"), tok(&admin))
        .await;
    assert_error(s.as_u16(), &b, 422, "validation_error", Some("category"));
    let (s, b, _) = app.get(&format!("{MODELS}?page_size=0"), tok(&admin)).await;
    assert_error(s.as_u16(), &b, 422, "validation_error", Some("page_size"));
    let (s, b, _) = app.get(&format!("{MODELS}?vendor=x"), tok(&admin)).await;
    assert_error(s.as_u16(), &b, 422, "validation_error", Some("vendor"));
    let (s, _, _) = app.get(MODELS, None).await;
    assert_eq!(s, 401);
}

async fn services_mark_the_configured_kind(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let alice = app.register("alice").await;

    // Nothing configured yet.
    let (s, b, _) = app.get(SERVICES, tok(&alice)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["default"], Value::Null);
    let services = b["services"].as_array().unwrap();
    let kinds: Vec<&str> = services
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "openai",
            "anthropic",
            "gemini",
            "openrouter",
            "ollama",
            "openai_compatible"
        ]
    );
    for s in services {
        assert_eq!(s["configured"], false, "{s}");
        assert_eq!(s["providers"], json!([]), "{s}");
        let caps = s["capabilities"].as_array().unwrap();
        assert!(caps.contains(&json!("chat")) && caps.contains(&json!("streaming")));
        assert_eq!(
            caps.contains(&json!("embeddings")),
            s["kind"] != "anthropic",
            "{s}"
        );
    }
    let service = |b: &Value, kind: &str| -> Value {
        b["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .cloned()
            .unwrap()
    };
    assert_eq!(service(&b, "openai")["name"], "OpenAI");
    // The default model of an unconfigured kind is the catalog's cheapest chat model.
    let (_, pricing, _) = app.get(PRICING, tok(&alice)).await;
    let cheapest_openai_chat = pricing["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["provider"] == "openai" && !m["model"].as_str().unwrap().contains("embed"))
        .min_by_key(|m| {
            (
                parse_money(m["input_per_million"].as_str().unwrap()).unwrap(),
                parse_money(m["output_per_million"].as_str().unwrap()).unwrap(),
                m["model"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap()["model"]
        .clone();
    assert_eq!(service(&b, "openai")["default_model"], cheapest_openai_chat);
    assert_eq!(
        service(&b, "openai_compatible")["default_model"],
        Value::Null
    );

    // A provider of kind openai_compatible (the first account is the admin).
    let pid = crate::conversations::org_provider(&app, &alice, &fake.base_url()).await;
    let (_, b, _) = app.get(SERVICES, tok(&alice)).await;
    assert_eq!(b["default"], "openai_compatible");
    let compat = service(&b, "openai_compatible");
    assert_eq!(compat["configured"], true);
    assert_eq!(
        compat["providers"],
        json!([{"id": pid, "name": "Fake OpenAI", "slug": SLUG}])
    );
    // Its `config.default_model`.
    assert_eq!(compat["default_model"], "gpt-4o-mini");
    for kind in ["openai", "anthropic", "gemini", "openrouter", "ollama"] {
        assert_eq!(service(&b, kind)["configured"], false, "{kind}");
    }

    // A default model preference wins.
    for (kind, model) in [
        ("openai_compatible", "my-local-model"),
        ("anthropic", "claude-opus-4"),
    ] {
        let (s, p, _) = app
            .post(
                "/api/v1/model-preferences",
                tok(&alice),
                json!({"provider_kind": kind, "model": model, "is_default": true}),
            )
            .await;
        assert_eq!(s, 201, "{p}");
    }
    let (_, b, _) = app.get(SERVICES, tok(&alice)).await;
    assert_eq!(
        service(&b, "openai_compatible")["default_model"],
        "my-local-model"
    );
    assert_eq!(service(&b, "anthropic")["default_model"], "claude-opus-4");
    assert_eq!(service(&b, "anthropic")["configured"], false);

    // Another user sees none of it.
    let bob = app.register("bob").await;
    let (_, b, _) = app.get(SERVICES, tok(&bob)).await;
    assert_eq!(b["default"], Value::Null);
    assert_eq!(service(&b, "openai_compatible")["configured"], false);
    assert_eq!(
        service(&b, "openai_compatible")["default_model"],
        Value::Null
    );
    let (s, _, _) = app.get(SERVICES, None).await;
    assert_eq!(s, 401);
}

async fn pricing_has_decimal_strings(app: TestApp) {
    let alice = app.register("alice").await;
    let (s, b, _) = app.get(PRICING, tok(&alice)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["currency"], "USD");
    assert!(b["as_of"].is_string(), "{b}");
    assert!(b["source"].is_string(), "{b}");
    let models = b["models"].as_array().unwrap();
    assert_eq!(models.len(), app.app.pricing().model_count());
    for m in models {
        assert!(is_decimal(&m["input_per_million"]), "{m}");
        assert!(is_decimal(&m["output_per_million"]), "{m}");
        if !m["long_context"].is_null() {
            assert!(is_decimal(&m["long_context"]["input_per_million"]), "{m}");
        }
    }
    let gpt4o = models.iter().find(|m| m["model"] == "gpt-4o").unwrap();
    assert_eq!(
        *gpt4o,
        json!({"model": "gpt-4o", "provider": "openai", "input_per_million": "2.50",
               "output_per_million": "10.00", "context_window": 128000,
               "max_output_tokens": 16384, "long_context": null})
    );
    let sonnet = models
        .iter()
        .find(|m| m["model"] == "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(
        sonnet["long_context"],
        json!({"above_prompt_tokens": 200000, "input_per_million": "6.00",
               "output_per_million": "22.50"})
    );
    let flash = models
        .iter()
        .find(|m| m["model"] == "gemini-1.5-flash")
        .unwrap();
    assert_eq!(flash["input_per_million"], "0.075");
    let embed = models
        .iter()
        .find(|m| m["model"] == "text-embedding-3-small")
        .unwrap();
    assert_eq!(embed["output_per_million"], "0.00");
    // Grouped by vendor in the kinds' display order.
    let order = [
        "openai",
        "anthropic",
        "gemini",
        "openrouter",
        "ollama",
        "openai_compatible",
    ];
    let ranks: Vec<usize> = models
        .iter()
        .map(|m| order.iter().position(|k| m["provider"] == *k).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    let (s, _, _) = app.get(PRICING, None).await;
    assert_eq!(s, 401);
}

both_backends!(
    tokens_count_exact_and_estimated,
    models_list_catalog_and_provider_models,
    services_mark_the_configured_kind,
    pricing_has_decimal_strings,
);
