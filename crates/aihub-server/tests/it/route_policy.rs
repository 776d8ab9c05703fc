//! Every route's access policy, checked three ways so that a new route cannot be forgotten:
//! - the route inventory (every operation the running registration serves, as its OpenAPI
//!   document lists it) and the checked-in [`POLICY`] table name the same routes;
//! - the document declares the security the table says (none, session token, API key);
//! - the server enforces it, for every route and four callers (anonymous, a user's session
//!   token, an admin's session token, a developer key), and no route that takes an id lets one
//!   user reach another's row: another user's id answers exactly what a random id answers
//!   (404), and nothing of the owner's changes.

use crate::conversations::{admin_with_provider, new_conversation};
use crate::v1::api_key;
use aihub_testkit::fake_openai::{FakeBehavior, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Anyone (health, registration and login).
    Public,
    /// A session access token (JWT) of an active user; rows are the caller's own.
    Session,
    /// A developer API key (the OpenAI-compatible API).
    ApiKey,
}
use Policy::{ApiKey, Public, Session};

/// The access policy of every route. A route missing here (or listed but not served) fails
/// [`policy_table_covers_every_route`].
const POLICY: &[(&str, &str, Policy)] = &[
    ("GET", "/health", Public),
    ("GET", "/health/ready", Public),
    ("POST", "/api/v1/auth/register", Public),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/token", Public),
    ("POST", "/api/v1/auth/refresh", Public),
    ("POST", "/api/v1/auth/logout", Session),
    ("GET", "/api/v1/auth/me", Session),
    ("GET", "/api/v1/users/me", Session),
    ("PUT", "/api/v1/users/me", Session),
    ("GET", "/api/v1/categories", Session),
    ("POST", "/api/v1/categories", Session),
    ("GET", "/api/v1/categories/{id}", Session),
    ("PUT", "/api/v1/categories/{id}", Session),
    ("PATCH", "/api/v1/categories/{id}", Session),
    ("DELETE", "/api/v1/categories/{id}", Session),
    ("POST", "/api/v1/chat", Session),
    ("POST", "/api/v1/completions", Session),
    ("GET", "/api/v1/conversations", Session),
    ("POST", "/api/v1/conversations", Session),
    ("POST", "/api/v1/conversations/bulk-archive", Session),
    ("POST", "/api/v1/conversations/bulk-delete", Session),
    ("GET", "/api/v1/conversations/stats", Session),
    ("POST", "/api/v1/conversations/stream", Session),
    ("GET", "/api/v1/conversations/{id}", Session),
    ("PUT", "/api/v1/conversations/{id}", Session),
    ("PATCH", "/api/v1/conversations/{id}", Session),
    ("DELETE", "/api/v1/conversations/{id}", Session),
    ("POST", "/api/v1/conversations/{id}/clear", Session),
    ("GET", "/api/v1/conversations/{id}/messages", Session),
    ("POST", "/api/v1/conversations/{id}/messages", Session),
    ("POST", "/api/v1/conversations/{id}/send", Session),
    ("POST", "/api/v1/conversations/{id}/stream", Session),
    ("POST", "/api/v1/conversations/{id}/stream/stop", Session),
    ("GET", "/api/v1/messages/recent", Session),
    ("GET", "/api/v1/keys", Session),
    ("POST", "/api/v1/keys", Session),
    ("GET", "/api/v1/keys/{id}", Session),
    ("PATCH", "/api/v1/keys/{id}", Session),
    ("DELETE", "/api/v1/keys/{id}", Session),
    ("GET", "/api/v1/model-preferences", Session),
    ("POST", "/api/v1/model-preferences", Session),
    ("GET", "/api/v1/model-preferences/defaults", Session),
    ("GET", "/api/v1/model-preferences/{id}", Session),
    ("PUT", "/api/v1/model-preferences/{id}", Session),
    ("PATCH", "/api/v1/model-preferences/{id}", Session),
    ("DELETE", "/api/v1/model-preferences/{id}", Session),
    ("GET", "/api/v1/models", Session),
    ("GET", "/api/v1/pricing", Session),
    ("GET", "/api/v1/services", Session),
    ("POST", "/api/v1/tokens/count", Session),
    ("GET", "/api/v1/prompts", Session),
    ("POST", "/api/v1/prompts", Session),
    ("GET", "/api/v1/prompts/{id}", Session),
    ("PUT", "/api/v1/prompts/{id}", Session),
    ("PATCH", "/api/v1/prompts/{id}", Session),
    ("DELETE", "/api/v1/prompts/{id}", Session),
    ("POST", "/api/v1/prompts/{id}/render", Session),
    ("GET", "/api/v1/providers", Session),
    ("POST", "/api/v1/providers", Session),
    ("GET", "/api/v1/providers/available", Session),
    ("GET", "/api/v1/providers/{id}", Session),
    ("PUT", "/api/v1/providers/{id}", Session),
    ("PATCH", "/api/v1/providers/{id}", Session),
    ("DELETE", "/api/v1/providers/{id}", Session),
    ("POST", "/api/v1/providers/{id}/test", Session),
    ("POST", "/v1/chat/completions", ApiKey),
    ("POST", "/v1/embeddings", ApiKey),
    ("GET", "/v1/key", ApiKey),
    ("GET", "/v1/models", ApiKey),
    ("GET", "/v1/models/{model}", ApiKey),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The served operations, from the document the running registration produces.
fn inventory() -> Vec<(String, String, Value)> {
    let doc = serde_json::to_value(aihub_http::openapi_document()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn policy_table_covers_every_route() {
    let served: BTreeSet<(String, String)> =
        inventory().into_iter().map(|(m, p, _)| (m, p)).collect();
    let listed: BTreeSet<(String, String)> = POLICY
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unlisted: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        unlisted.is_empty(),
        "routes without a policy (add them to POLICY): {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "POLICY lists routes not served: {stale:?}"
    );
    assert_eq!(listed.len(), POLICY.len(), "POLICY lists a route twice");
}

#[test]
fn the_document_declares_each_policy() {
    for (method, path, op) in inventory() {
        let policy = POLICY
            .iter()
            .find(|(m, p, _)| *m == method && *p == path)
            .map(|(_, _, policy)| *policy)
            .unwrap();
        let schemes: BTreeSet<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|req| req.as_object().unwrap().keys().cloned())
            .collect();
        let want: BTreeSet<String> = match policy {
            Public => BTreeSet::new(),
            Session => ["bearer", "oauth2"].map(String::from).into(),
            ApiKey => ["api_key", "x_api_key"].map(String::from).into(),
        };
        assert_eq!(schemes, want, "{method} {path}");
    }
}

/// The caller's rows a route's `{id}` names, per path prefix.
struct Owned {
    conversation: i64,
    category: i64,
    prompt: i64,
    provider: i64,
    key: i64,
    preference: i64,
}

impl Owned {
    fn path(&self, path: &str) -> String {
        let id = if path.starts_with("/api/v1/conversations/") {
            self.conversation
        } else if path.starts_with("/api/v1/categories/") {
            self.category
        } else if path.starts_with("/api/v1/prompts/") {
            self.prompt
        } else if path.starts_with("/api/v1/providers/") {
            self.provider
        } else if path.starts_with("/api/v1/keys/") {
            self.key
        } else {
            self.preference
        };
        path.replace("{id}", &id.to_string())
            .replace("{model}", "fake-openai/gpt-4o-mini")
    }
}

/// A body an owner could send (so validation passes and only ownership decides).
fn body_for(method: &str, path: &str) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    Some(match path {
        p if p.ends_with("/messages") => json!({"role": "user", "content": "x"}),
        p if p.ends_with("/send") || p.ends_with("/stream") => json!({"content": "x"}),
        p if p.ends_with("/render") => json!({"variables": {"text": "x"}}),
        p if p.starts_with("/api/v1/conversations/") => json!({"title": "taken over"}),
        p if p.starts_with("/api/v1/categories/") => json!({"name": "taken over"}),
        p if p.starts_with("/api/v1/prompts/") => json!({"title": "taken over"}),
        p if p.starts_with("/api/v1/providers/") && !p.ends_with("/test") => {
            json!({"name": "taken over"})
        }
        p if p.starts_with("/api/v1/keys/") => json!({"name": "taken over"}),
        p if p.starts_with("/api/v1/model-preferences/") => json!({"model": "taken-over"}),
        _ => json!({}),
    })
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let (s, b, _) = app
        .send(
            Method::from_bytes(method.as_bytes()).unwrap(),
            path,
            token,
            body_for(method, path),
        )
        .await;
    (s.as_u16(), b)
}

/// Everything `user` owns, as the owner sees it.
async fn snapshot(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let mut out = Vec::new();
    for list in [
        "/api/v1/conversations?page_size=100",
        "/api/v1/categories?page_size=100",
        "/api/v1/prompts?page_size=100",
        "/api/v1/providers?page_size=100",
        "/api/v1/keys?page_size=100",
        "/api/v1/model-preferences?page_size=100",
    ] {
        let (s, b, _) = app.get(list, Some(&user.access_token)).await;
        assert_eq!(s, 200, "{list}: {b}");
        out.push(b);
    }
    out
}

/// Creates one row of each kind for `owner`, on a personal provider of their own.
async fn owned_rows(app: &TestApp, owner: &TestUser) -> Owned {
    let t = Some(owner.access_token.as_str());
    let (s, p, _) = app
        .post(
            "/api/v1/providers",
            t,
            json!({"name": "Mine", "kind": "openai", "api_key": "sk-test-0123456789"}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let provider = p["id"].as_i64().unwrap();
    let conversation = new_conversation(
        app,
        owner,
        json!({"title": "mine", "provider_id": provider, "model": "gpt-4o-mini"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let id_of = |(s, b, _): (reqwest::StatusCode, Value, _)| {
        assert_eq!(s, 201, "{b}");
        b["id"].as_i64().unwrap()
    };
    let category = id_of(
        app.post("/api/v1/categories", t, json!({"name": "mine"}))
            .await,
    );
    let prompt = id_of(
        app.post(
            "/api/v1/prompts",
            t,
            json!({"title": "mine", "content": "Say {text}"}),
        )
        .await,
    );
    let key = id_of(app.post("/api/v1/keys", t, json!({"name": "mine"})).await);
    let preference = id_of(
        app.post(
            "/api/v1/model-preferences",
            t,
            json!({"provider_kind": "openai", "model": "gpt-4o-mini"}),
        )
        .await,
    );
    Owned {
        conversation,
        category,
        prompt,
        provider,
        key,
        preference,
    }
}

async fn every_route_enforces_its_policy_and_no_id_crosses_users(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let (admin, _) = admin_with_provider(&app, &fake).await;
    let alice = app.register("alice").await;
    let mallory = app.register("mallory").await;
    let key = api_key(&app, &alice, json!({"name": "app"})).await;
    let owned = owned_rows(&app, &alice).await;

    // The role matrix: the wrong credential is refused before anything else happens.
    let mut checked = 0;
    for (method, path, policy) in POLICY {
        let target = owned.path(path);
        let (anon, anon_body) = call(&app, method, &target, None).await;
        // Logging out would end the sessions the rest of the matrix uses.
        let as_owner = *path != "/api/v1/auth/logout";
        let (user, user_body) = if as_owner {
            call(&app, method, &target, Some(&alice.access_token)).await
        } else {
            (200, Value::Null)
        };
        let (admin_s, _) = if as_owner {
            call(&app, method, &target, Some(&admin.access_token)).await
        } else {
            (200, Value::Null)
        };
        let (with_key, key_body) = call(&app, method, &target, Some(&key)).await;
        let what = format!("{method} {path}");
        match policy {
            Public => {
                assert_ne!(anon, 401, "{what}: {anon_body}");
            }
            Session => {
                assert_eq!(anon, 401, "{what} anonymous: {anon_body}");
                assert_eq!(anon_body["error"]["code"], "missing_token", "{what}");
                assert_eq!(with_key, 401, "{what} with an API key: {key_body}");
                assert_ne!(user, 401, "{what} as a user: {user_body}");
                assert_ne!(admin_s, 401, "{what} as admin");
            }
            ApiKey => {
                assert_eq!(anon, 401, "{what} anonymous: {anon_body}");
                assert_eq!(anon_body["error"]["code"], "missing_api_key", "{what}");
                assert_eq!(user, 401, "{what} with a session token: {user_body}");
                assert_eq!(user_body["error"]["code"], "invalid_api_key", "{what}");
                assert_ne!(with_key, 401, "{what} with a key: {key_body}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, POLICY.len());

    // The IDOR matrix: Mallory naming Alice's rows gets what a random id gets, and Alice's
    // rows are as they were. The role matrix deleted some of them: make a fresh set.
    let owned = owned_rows(&app, &alice).await;
    let before = snapshot(&app, &alice).await;
    let random = Owned {
        conversation: 987_654_321,
        category: 987_654_322,
        prompt: 987_654_323,
        provider: 987_654_324,
        key: 987_654_325,
        preference: 987_654_326,
    };
    let mut idor = 0;
    for (method, path, policy) in POLICY {
        if *policy != Session || !path.contains("{id}") {
            continue;
        }
        let (theirs, theirs_body) =
            call(&app, method, &owned.path(path), Some(&mallory.access_token)).await;
        let (missing, missing_body) = call(
            &app,
            method,
            &random.path(path),
            Some(&mallory.access_token),
        )
        .await;
        let what = format!("{method} {path}");
        assert_eq!(theirs, 404, "{what}: {theirs_body}");
        assert_eq!(missing, 404, "{what}: {missing_body}");
        assert_eq!(
            theirs_body["error"]["code"], missing_body["error"]["code"],
            "{what}"
        );
        assert_eq!(
            theirs_body["error"]["message"], missing_body["error"]["message"],
            "{what}: the message must not tell the two apart"
        );
        idor += 1;
    }
    assert!(idor >= 25, "only {idor} id routes checked");
    assert_eq!(
        snapshot(&app, &alice).await,
        before,
        "Mallory changed Alice's rows"
    );
}

both_backends!(every_route_enforces_its_policy_and_no_id_crosses_users);
