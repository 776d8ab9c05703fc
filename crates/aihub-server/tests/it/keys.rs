//! Developer API keys: the secret shown once and
//! stored as SHA-256, Bearer and X-API-Key on `/v1`, revocation on the next request, expiry,
//! IDOR, validation, `last_used_at` written off the request path, and permissions.

use crate::http::{Reply, assert_error, key_set, keys, raw};
use aihub_core::crypto::sha256_hex;
use aihub_core::domain::{ErrorCode, Role, time};
use aihub_core::keys::{MAX_KEYS_PER_USER, Permission};
use aihub_store::api_keys::{self as store, ApiKeyChanges, ApiKeyRow, NewApiKey};
use aihub_store::users::{self, UserChanges};
use aihub_testkit::{TestApp, TestUser, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const KEYS: &str = "/api/v1/keys";
const KEY_INFO: &str = "/v1/key";
/// An id no row has.
const MISSING_ID: i64 = 987_654_321;

fn tok(u: &TestUser) -> Option<&str> {
    Some(u.access_token.as_str())
}

fn path(id: i64) -> String {
    format!("{KEYS}/{id}")
}

async fn create(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, b, _) = app.post(KEYS, tok(user), body.clone()).await;
    assert_eq!(s, 201, "create {body}: {b}");
    b
}

/// Creates a key named `name` with default settings; returns `(id, secret)`.
async fn create_key(app: &TestApp, user: &TestUser, name: &str) -> (i64, String) {
    let b = create(app, user, json!({ "name": name })).await;
    (
        b["id"].as_i64().expect("an id"),
        b["key"].as_str().expect("a key").to_owned(),
    )
}

/// `GET /v1/key` with the key as `Authorization: Bearer`.
async fn info_bearer(app: &TestApp, secret: &str) -> Reply {
    raw(
        app,
        Method::GET,
        KEY_INFO,
        &[("authorization", &format!("Bearer {secret}"))],
        None,
    )
    .await
}

/// `GET /v1/key` with the key as `X-API-Key`.
async fn info_header(app: &TestApp, secret: &str) -> Reply {
    raw(app, Method::GET, KEY_INFO, &[("x-api-key", secret)], None).await
}

fn assert_invalid_key(reply: &Reply) {
    assert_error(reply, 401, "authentication_error", "invalid_api_key", None);
    assert_eq!(
        reply.2.get("www-authenticate").map(|v| v.to_str().ok()),
        Some(Some("Bearer")),
        "{:?}",
        reply.2
    );
}

async fn row(app: &TestApp, id: i64, owner: i64) -> ApiKeyRow {
    let mut pooled = app.app.db().get().await.expect("a connection");
    store::find_owned(&mut pooled.conn(), id, owner)
        .await
        .expect("the key row")
}

async fn change(app: &TestApp, id: i64, owner: i64, changes: ApiKeyChanges<'_>) {
    let mut pooled = app.app.db().get().await.expect("a connection");
    store::update_owned(&mut pooled.conn(), id, owner, &changes)
        .await
        .expect("updated");
}

/// An RFC 3339 time `secs` seconds from now (negative: in the past).
fn in_secs(secs: i64) -> String {
    let now = time::utc(time::now());
    let t = if secs >= 0 {
        now + Duration::from_secs(secs.unsigned_abs())
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    t.to_rfc3339()
}

fn assert_secret_shape(key: &str) {
    let random = key
        .strip_prefix("sk-aihub-")
        .unwrap_or_else(|| panic!("no sk-aihub- prefix: {key}"));
    assert!(random.len() >= 43, "{key}");
    assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
}

/// The body without its `request_id` (which differs per request).
fn without_request_id(body: &Value) -> Value {
    let mut b = body.clone();
    b.as_object_mut()
        .expect("an error body is an object")
        .remove("request_id");
    b
}

// ---------------------------------------------------------------------------------------------

async fn secret_is_shown_once_and_stored_hashed(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;

    let created = create(&app, &alice, json!({"name": "CI"})).await;
    assert_eq!(
        keys(&created),
        key_set(&[
            "id",
            "name",
            "key",
            "prefix",
            "permissions",
            "rate_limit",
            "usage_limit_tokens",
            "is_active",
            "expires_at",
            "last_used_at",
            "created_at"
        ]),
        "{created}"
    );
    let id = created["id"].as_i64().unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert_secret_shape(&secret);
    assert_eq!(secret.len(), "sk-aihub-".len() + 43);
    let prefix = created["prefix"].as_str().unwrap();
    assert_eq!(prefix, format!("{}…", &secret[..13]));
    assert_eq!(created["name"], "CI");
    assert_eq!(created["permissions"], json!(["chat", "models", "usage"]));
    assert_eq!(
        created["rate_limit"],
        json!({"requests_per_minute": null, "tokens_per_minute": null})
    );
    assert_eq!(created["usage_limit_tokens"], Value::Null);
    assert_eq!(created["is_active"], true);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["last_used_at"], Value::Null);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    // Two keys never share a secret.
    let (_, other) = create_key(&app, &alice, "other").await;
    assert_ne!(other, secret);
    assert_secret_shape(&other);

    // The row holds the SHA-256 of the secret, never the secret.
    let stored = row(&app, id, alice.id).await;
    let hash = sha256_hex(&secret);
    assert_eq!(stored.key_hash, hash);
    assert_eq!(stored.key_hash.len(), 64);
    assert_eq!(stored.prefix, prefix);
    let random = &secret["sk-aihub-".len()..];
    for column in [
        &stored.name,
        &stored.key_hash,
        &stored.prefix,
        &stored.permissions,
    ] {
        assert!(!column.contains(random), "secret stored in {column}");
    }
    assert_eq!(stored.permissions, r#"["chat","models","usage"]"#);

    // GET, list and PATCH show neither the secret nor its hash.
    let (s, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200, "{got}");
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("key");
    assert_eq!(got, expected);
    let (s, list, _) = app.get(KEYS, tok(&alice)).await;
    assert_eq!(s, 200, "{list}");
    let (s, patched, _) = app
        .patch(&path(id), tok(&alice), json!({"name": "CI 2"}))
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["name"], "CI 2");
    for body in [&got, &list, &patched] {
        let text = body.to_string();
        assert!(!text.contains(random), "secret leaked in {text}");
        assert!(!text.contains(&hash), "hash leaked in {text}");
        assert!(!text.contains("key_hash"), "hash named in {text}");
    }
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none())
    );

    // Explicit settings round-trip.
    let full = create(
        &app,
        &alice,
        json!({
            "name": "  Limited  ",
            "permissions": ["models", "chat", "chat"],
            "rate_limit": {"requests_per_minute": 10, "tokens_per_minute": 5000},
            "usage_limit_tokens": 100000,
            "expires_at": "2099-01-02T03:04:05Z",
        }),
    )
    .await;
    assert_eq!(full["name"], "Limited");
    assert_eq!(full["permissions"], json!(["chat", "models"]));
    assert_eq!(
        full["rate_limit"],
        json!({"requests_per_minute": 10, "tokens_per_minute": 5000})
    );
    assert_eq!(full["usage_limit_tokens"], 100000);
    assert_eq!(full["expires_at"], "2099-01-02T03:04:05Z");
}

async fn list_is_paginated_and_per_user(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (a1, _) = create_key(&app, &alice, "one").await;
    let (_b1, _) = create_key(&app, &bob, "bob's").await;
    let (a2, _) = create_key(&app, &alice, "two").await;
    let (a3, _) = create_key(&app, &alice, "three").await;
    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {v}"))
            .iter()
            .map(|k| k["id"].as_i64().unwrap())
            .collect()
    };
    let (s, all, _) = app.get(KEYS, tok(&alice)).await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(ids(&all), [a1, a2, a3]);
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "page_size": 20, "total": 3, "total_pages": 1, "has_next": false, "has_prev": false})
    );
    let (_, page, _) = app
        .get(&format!("{KEYS}?page=2&page_size=2"), tok(&alice))
        .await;
    assert_eq!(ids(&page), [a3]);
    assert_eq!(page["pagination"]["has_prev"], true);
    let (_, page, _) = app
        .get(&format!("{KEYS}?skip=1&limit=1"), tok(&alice))
        .await;
    assert_eq!(ids(&page), [a2]);
    let r = app.get(&format!("{KEYS}?page_size=101"), tok(&alice)).await;
    assert_error(
        &r,
        422,
        "invalid_request_error",
        "validation_error",
        Some("page_size"),
    );
    let r = app.get(KEYS, None).await;
    assert_error(&r, 401, "authentication_error", "missing_token", None);
}

async fn bearer_and_x_api_key_authenticate(app: TestApp) {
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let created = create(
        &app,
        &alice,
        json!({"name": "sdk", "permissions": ["chat"], "rate_limit": {"requests_per_minute": 7}}),
    )
    .await;
    let secret = created["key"].as_str().unwrap();

    let want = json!({
        "id": created["id"],
        "name": "sdk",
        "prefix": created["prefix"],
        "permissions": ["chat"],
        "rate_limit": {"requests_per_minute": 7, "tokens_per_minute": null},
        "usage_limit_tokens": null,
        "expires_at": null,
        "user_id": alice.id,
    });
    for reply in [
        info_bearer(&app, secret).await,
        info_header(&app, secret).await,
        raw(
            &app,
            Method::GET,
            KEY_INFO,
            &[
                ("authorization", &format!("bearer {secret}")),
                ("x-api-key", secret),
            ],
            None,
        )
        .await,
    ] {
        assert_eq!(reply.0, 200, "{}", reply.1);
        assert_eq!(reply.1, want);
    }

    // No key at all.
    let r = raw(&app, Method::GET, KEY_INFO, &[], None).await;
    assert_error(&r, 401, "authentication_error", "missing_api_key", None);
    let r = raw(&app, Method::GET, KEY_INFO, &[("x-api-key", " ")], None).await;
    assert_error(&r, 401, "authentication_error", "missing_api_key", None);

    // A well-formed key nobody holds, a tampered one, garbage, and a JWT.
    let unknown = format!("sk-aihub-{}", "A".repeat(43));
    let mut tampered = secret.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    for bad in [
        unknown.as_str(),
        tampered.as_str(),
        "sk-aihub-short",
        "not-a-key",
        alice.access_token.as_str(),
        admin.access_token.as_str(),
    ] {
        assert_invalid_key(&info_bearer(&app, bad).await);
        assert_invalid_key(&info_header(&app, bad).await);
    }
    // Two different keys, or another scheme alone.
    let r = raw(
        &app,
        Method::GET,
        KEY_INFO,
        &[
            ("authorization", &format!("Bearer {secret}")),
            ("x-api-key", &unknown),
        ],
        None,
    )
    .await;
    assert_invalid_key(&r);
    let r = raw(
        &app,
        Method::GET,
        KEY_INFO,
        &[("authorization", "Basic YWxpY2U6cGFzcw==")],
        None,
    )
    .await;
    assert_invalid_key(&r);

    // A key is not a management credential.
    let r = app.get(KEYS, Some(secret)).await;
    assert_eq!(r.0, 401, "{}", r.1);
}

async fn revocation_applies_on_the_next_request(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let (id, secret) = create_key(&app, &alice, "ci").await;
    let (_, other) = create_key(&app, &alice, "other").await;

    // Warm the cache, then revoke: the very next request fails.
    assert_eq!(info_bearer(&app, &secret).await.0, 200);
    assert_eq!(info_header(&app, &secret).await.0, 200);
    let (s, b, _) = app
        .patch(&path(id), tok(&alice), json!({"is_active": false}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["is_active"], false);
    assert_invalid_key(&info_bearer(&app, &secret).await);
    assert_invalid_key(&info_header(&app, &secret).await);
    // The other key is untouched.
    assert_eq!(info_bearer(&app, &other).await.0, 200);

    // Re-activated: works again at once.
    let (s, b, _) = app
        .patch(&path(id), tok(&alice), json!({"is_active": true}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(info_bearer(&app, &secret).await.0, 200);

    // A change of permissions shows on the next request too.
    let (s, b, _) = app
        .patch(&path(id), tok(&alice), json!({"permissions": ["models"]}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        info_bearer(&app, &secret).await.1["permissions"],
        json!(["models"])
    );

    // Deleted: fails on the next request, and is gone.
    let (s, b, _) = app.delete(&path(id), tok(&alice)).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(b, Value::Null);
    assert_invalid_key(&info_bearer(&app, &secret).await);
    let r = app.get(&path(id), tok(&alice)).await;
    assert_error(&r, 404, "not_found_error", "not_found", None);
    let r = app.delete(&path(id), tok(&alice)).await;
    assert_error(&r, 404, "not_found_error", "not_found", None);

    // The owner deactivated (as an admin action would): every key of theirs stops.
    assert_eq!(info_bearer(&app, &other).await.0, 200);
    {
        let mut pooled = app.app.db().get().await.unwrap();
        users::update(
            &mut pooled.conn(),
            alice.id,
            &UserChanges {
                is_active: Some(false),
                ..UserChanges::default()
            },
        )
        .await
        .unwrap();
    }
    app.app.invalidate_user_keys(alice.id);
    assert_invalid_key(&info_bearer(&app, &other).await);
}

async fn expired_keys_fail(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;

    // Expiry set in the past behind the API's back, on a key never used: refused.
    let (id, secret) = create_key(&app, &alice, "old").await;
    change(
        &app,
        id,
        alice.id,
        ApiKeyChanges {
            expires_at: Some(Some(time::now() - Duration::from_secs(60))),
            ..ApiKeyChanges::default()
        },
    )
    .await;
    assert_invalid_key(&info_bearer(&app, &secret).await);

    // A key that expires while cached: checked against the clock on every request.
    let created = create(
        &app,
        &alice,
        json!({"name": "short", "expires_at": in_secs(3)}),
    )
    .await;
    let secret = created["key"].as_str().unwrap();
    assert_eq!(info_bearer(&app, secret).await.0, 200);
    let expires = created["expires_at"].as_str().unwrap().to_owned();
    assert!(expires.ends_with('Z'), "{expires}");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_invalid_key(&info_bearer(&app, secret).await);
    assert_invalid_key(&info_header(&app, secret).await);

    // Clearing the expiry brings it back.
    let kid = created["id"].as_i64().unwrap();
    let (s, b, _) = app
        .patch(&path(kid), tok(&alice), json!({"expires_at": null}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["expires_at"], Value::Null);
    assert_eq!(info_bearer(&app, secret).await.0, 200);
}

async fn foreign_key_ids_look_missing(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (bob_key, bob_secret) = create_key(&app, &bob, "bob's").await;
    let before = row(&app, bob_key, bob.id).await;

    for (method, body) in [
        (Method::GET, None),
        (
            Method::PATCH,
            Some(json!({"name": "stolen", "is_active": false})),
        ),
        (Method::DELETE, None),
    ] {
        let foreign = app
            .send(method.clone(), &path(bob_key), tok(&alice), body.clone())
            .await;
        let missing = app
            .send(method.clone(), &path(MISSING_ID), tok(&alice), body.clone())
            .await;
        assert_error(&foreign, 404, "not_found_error", "not_found", None);
        assert_eq!(foreign.0, missing.0, "{method}");
        assert_eq!(
            without_request_id(&foreign.1),
            without_request_id(&missing.1),
            "{method}"
        );
    }
    // Non-numeric ids are the same 404.
    let r = app.get(&format!("{KEYS}/abc"), tok(&alice)).await;
    assert_error(&r, 404, "not_found_error", "not_found", None);

    // Nothing changed, and Bob's key still works.
    assert_eq!(row(&app, bob_key, bob.id).await, before);
    assert_eq!(info_bearer(&app, &bob_secret).await.0, 200);
    let (_, list, _) = app.get(KEYS, tok(&alice)).await;
    assert_eq!(list["pagination"]["total"], 0, "{list}");
}

async fn validation_names_the_field(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "k", "owner": 1}), "owner"),
        (json!({"permissions": ["chat"]}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (
            json!({"name": "k", "permissions": ["chat", "admin"]}),
            "permissions",
        ),
        (json!({"name": "k", "permissions": []}), "permissions"),
        (json!({"name": "k", "permissions": "chat"}), "permissions"),
        (
            json!({"name": "k", "rate_limit": {"requests_per_minute": 0}}),
            "rate_limit.requests_per_minute",
        ),
        (
            json!({"name": "k", "rate_limit": {"tokens_per_minute": -5}}),
            "rate_limit.tokens_per_minute",
        ),
        (
            json!({"name": "k", "rate_limit": {"rpm": 5}}),
            "rate_limit.rpm",
        ),
        (
            json!({"name": "k", "usage_limit_tokens": 0}),
            "usage_limit_tokens",
        ),
        (
            json!({"name": "k", "usage_limit_tokens": 1.5}),
            "usage_limit_tokens",
        ),
        (
            json!({"name": "k", "expires_at": in_secs(-60)}),
            "expires_at",
        ),
        (json!({"name": "k", "expires_at": "tomorrow"}), "expires_at"),
    ];
    for (body, param) in &cases {
        let r = app.post(KEYS, tok(&alice), body.clone()).await;
        assert_error(
            &r,
            422,
            "invalid_request_error",
            "validation_error",
            Some(param),
        );
    }

    let (id, _) = create_key(&app, &alice, "k").await;
    let patches: Vec<(Value, &str)> = vec![
        (json!({"key_hash": "00"}), "key_hash"),
        (json!({"name": ""}), "name"),
        (json!({"permissions": ["root"]}), "permissions"),
        (
            json!({"rate_limit": {"requests_per_minute": -1}}),
            "rate_limit.requests_per_minute",
        ),
        (json!({"usage_limit_tokens": -1}), "usage_limit_tokens"),
        (json!({"expires_at": in_secs(-5)}), "expires_at"),
        (json!({"is_active": "no"}), "is_active"),
    ];
    for (body, param) in &patches {
        let r = app.patch(&path(id), tok(&alice), body.clone()).await;
        assert_error(
            &r,
            422,
            "invalid_request_error",
            "validation_error",
            Some(param),
        );
    }
    // Nothing was created or changed by the refused requests.
    let (_, list, _) = app.get(KEYS, tok(&alice)).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(list["items"][0]["name"], "k");
}

async fn patch_sets_and_clears_limits(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let created = create(
        &app,
        &alice,
        json!({
            "name": "k",
            "rate_limit": {"requests_per_minute": 10, "tokens_per_minute": 100},
            "usage_limit_tokens": 1000,
            "expires_at": "2099-01-01T00:00:00Z",
        }),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let patch = |body: Value| {
        let app = app.clone();
        let token = alice.access_token.clone();
        async move {
            let (s, b, _) = app.patch(&path(id), Some(&token), body).await;
            assert_eq!(s, 200, "{b}");
            b
        }
    };
    let b = patch(json!({"rate_limit": {"requests_per_minute": 20}})).await;
    assert_eq!(
        b["rate_limit"],
        json!({"requests_per_minute": 20, "tokens_per_minute": 100})
    );
    let b = patch(json!({"rate_limit": {"tokens_per_minute": null}})).await;
    assert_eq!(
        b["rate_limit"],
        json!({"requests_per_minute": 20, "tokens_per_minute": null})
    );
    let b = patch(json!({"rate_limit": null, "usage_limit_tokens": null})).await;
    assert_eq!(
        b["rate_limit"],
        json!({"requests_per_minute": null, "tokens_per_minute": null})
    );
    assert_eq!(b["usage_limit_tokens"], Value::Null);
    assert_eq!(b["expires_at"], "2099-01-01T00:00:00Z");
    let b = patch(json!({})).await;
    assert_eq!(b["name"], "k");
    assert_eq!(b["created_at"], created["created_at"]);
}

async fn last_used_is_recorded_off_the_request_path(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let (id, secret) = create_key(&app, &alice, "ci").await;
    let (unused, _) = create_key(&app, &alice, "unused").await;
    assert_eq!(row(&app, id, alice.id).await.last_used_at, None);

    let before = time::now();
    assert_eq!(info_bearer(&app, &secret).await.0, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let stored = loop {
        if let Some(t) = row(&app, id, alice.id).await.last_used_at {
            break t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "last_used_at not written within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stored >= before, "{stored} < {before}");
    assert!(stored <= time::now());
    assert_eq!(row(&app, unused, alice.id).await.last_used_at, None);

    let (_, got, _) = app.get(&path(id), tok(&alice)).await;
    assert!(
        got["last_used_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{got}"
    );
    let (_, got, _) = app.get(&path(unused), tok(&alice)).await;
    assert_eq!(got["last_used_at"], Value::Null);
}

async fn permissions_narrow_the_owner(app: TestApp) {
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let created = create(
        &app,
        &alice,
        json!({"name": "chat only", "permissions": ["chat"]}),
    )
    .await;
    let secret = created["key"].as_str().unwrap();

    let principal = app.app.authenticate_api_key(secret).await.unwrap();
    assert_eq!(principal.user_id, alice.id);
    assert_eq!(principal.role, Role::User);
    assert!(principal.require(Permission::Chat).is_ok());
    for missing in [Permission::Models, Permission::Usage] {
        let e = principal.require(missing).unwrap_err();
        assert_eq!(e.code, ErrorCode::PermissionDenied);
        assert!(e.message.contains(missing.as_str()), "{}", e.message);
    }

    // An admin's key carries the admin's role, no more; a user's key never becomes admin.
    let (_, admin_secret) = create_key(&app, &admin, "admin's").await;
    let p = app.app.authenticate_api_key(&admin_secret).await.unwrap();
    assert_eq!(p.role, Role::Admin);
    assert!(p.permissions.contains(Permission::Models));

    // The core path refuses what the HTTP path refuses.
    let e = app
        .app
        .authenticate_api_key(&alice.access_token)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidApiKey);
}

async fn keys_per_user_are_limited(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    {
        let mut pooled = app.app.db().get().await.unwrap();
        let mut conn = pooled.conn();
        let now = time::now();
        for i in 0..MAX_KEYS_PER_USER {
            let hash = sha256_hex(&format!("filler-{i}"));
            store::insert(
                &mut conn,
                &NewApiKey {
                    user_id: alice.id,
                    name: "filler",
                    key_hash: &hash,
                    prefix: "sk-aihub-fill…",
                    permissions: r#"["chat"]"#,
                    requests_per_minute: None,
                    tokens_per_minute: None,
                    usage_limit_tokens: None,
                    is_active: true,
                    expires_at: None,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await
            .unwrap();
        }
    }
    let r = app
        .post(KEYS, tok(&alice), json!({"name": "one too many"}))
        .await;
    let e = assert_error(&r, 409, "conflict_error", "conflict", None);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&MAX_KEYS_PER_USER.to_string()),
        "{e}"
    );
    // Others are not affected.
    let bob = app.register("bob").await;
    create_key(&app, &bob, "fine").await;
}

both_backends!(
    secret_is_shown_once_and_stored_hashed,
    list_is_paginated_and_per_user,
    bearer_and_x_api_key_authenticate,
    revocation_applies_on_the_next_request,
    expired_keys_fail,
    foreign_key_ids_look_missing,
    validation_names_the_field,
    patch_sets_and_clears_limits,
    last_used_is_recorded_off_the_request_path,
    permissions_narrow_the_owner,
    keys_per_user_are_limited,
);
