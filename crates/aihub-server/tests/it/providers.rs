//! Providers: CRUD with masked keys, listing, validation and privileged fields, keys encrypted
//! at rest, no access to other users' providers (IDOR), SSRF checks on base URLs, the key test
//! and the available list.

use aihub_core::crypto::{KeyCipher, mask_key, random_token};
use aihub_core::domain::time;
use aihub_store::PageRequest;
use aihub_store::providers::{self as store, ProviderChanges, ProviderFilter, ProviderRow};
use aihub_testkit::app::TEST_SECRET;
use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
use aihub_testkit::{TestApp, TestUser, both_backends};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const PROVIDERS: &str = "/api/v1/providers";
/// An id no row has.
const MISSING_ID: i64 = 987_654_321;

/// A fresh canary key, `sk-canary-<random>`.
fn canary() -> String {
    format!("sk-canary-{}", random_token(16))
}

fn tok(u: &TestUser) -> Option<&str> {
    Some(u.access_token.as_str())
}

fn path(id: i64) -> String {
    format!("{PROVIDERS}/{id}")
}

/// Asserts that a response body holds none of `secrets` (nor their random part) and never
/// names a ciphertext.
fn assert_clean(body: &Value, secrets: &[&str]) {
    assert_no_secret(body, secrets);
    let text = body.to_string();
    assert!(!text.contains("ciphertext"), "ciphertext named in {text}");
}

/// Asserts that a response body holds none of `secrets` (nor their random part).
fn assert_no_secret(body: &Value, secrets: &[&str]) {
    let text = body.to_string();
    for s in secrets {
        assert!(!text.contains(s), "secret leaked in {text}");
        let tail = s.trim_start_matches("sk-canary-");
        assert!(!text.contains(tail), "secret leaked in {text}");
    }
}

/// The body without its `request_id` (which differs per request); asserts there was one.
fn without_request_id(body: &Value) -> Value {
    let mut b = body.clone();
    let obj = b.as_object_mut().expect("an error body is an object");
    assert!(
        obj.remove("request_id").is_some_and(|r| r.is_string()),
        "no request_id in {body}"
    );
    b
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, param: Option<&str>) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["param"], json!(param), "{body}");
}

async fn create(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, b, _) = app.post(PROVIDERS, tok(user), body.clone()).await;
    assert_eq!(s, 201, "create {body}: {b}");
    b
}

async fn create_id(app: &TestApp, user: &TestUser, body: Value) -> i64 {
    create(app, user, body).await["id"].as_i64().unwrap()
}

/// An organization provider (admin only) at `base_url` with `key`.
async fn org_provider(
    app: &TestApp,
    admin: &TestUser,
    slug: &str,
    base_url: &str,
    key: &str,
) -> i64 {
    create_id(
        app,
        admin,
        json!({
            "name": format!("Org {slug}"),
            "slug": slug,
            "kind": "openai_compatible",
            "scope": "organization",
            "api_key": key,
            "base_url": base_url,
        }),
    )
    .await
}

async fn grant(app: &TestApp, pid: i64, user: &TestUser, admin: &TestUser) {
    let mut pooled = app.app.db().get().await.unwrap();
    let mut conn = pooled.conn();
    store::grant(&mut conn, pid, user.id, admin.id, time::now())
        .await
        .unwrap();
}

/// Every provider row `owner` has, straight from the store.
async fn rows_of(app: &TestApp, owner: i64) -> Vec<ProviderRow> {
    let mut pooled = app.app.db().get().await.unwrap();
    let mut conn = pooled.conn();
    store::list_owned(
        &mut conn,
        owner,
        &ProviderFilter::default(),
        PageRequest {
            offset: 0,
            limit: 1000,
        },
    )
    .await
    .unwrap()
    .items
}

async fn row(app: &TestApp, id: i64, owner: i64) -> ProviderRow {
    let mut pooled = app.app.db().get().await.unwrap();
    let mut conn = pooled.conn();
    store::find_owned(&mut conn, id, owner).await.unwrap()
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CRUD

async fn crud_masks_the_key(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let key = canary();
    let key2 = canary();

    let created = create(
        &app,
        &alice,
        json!({
            "name": "My OpenAI",
            "kind": "openai",
            "api_key": key,
            "config": {"default_model": "gpt-4o-mini", "temperature": 0.5},
        }),
    )
    .await;
    assert_clean(&created, &[&key]);
    let id = created["id"].as_i64().unwrap();
    let mut fields: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "api_key",
            "base_url",
            "config",
            "created_at",
            "created_by",
            "effective_base_url",
            "has_api_key",
            "id",
            "is_active",
            "kind",
            "name",
            "scope",
            "slug",
            "updated_at"
        ],
        "{created}"
    );
    let masked = format!("{}…{}", &key[..4], &key[key.len() - 4..]);
    assert_eq!(created["api_key"], masked.as_str());
    assert_eq!(created["has_api_key"], true);
    assert_eq!(created["name"], "My OpenAI");
    assert_eq!(created["slug"], "my-openai");
    assert_eq!(created["kind"], "openai");
    assert_eq!(created["scope"], "personal");
    assert_eq!(created["created_by"], alice.id);
    assert_eq!(created["base_url"], Value::Null);
    assert_eq!(created["effective_base_url"], "https://api.openai.com/v1");
    assert_eq!(
        created["config"],
        json!({"default_model": "gpt-4o-mini", "temperature": 0.5})
    );
    assert_eq!(created["is_active"], true);
    assert!(
        created["created_at"].as_str().unwrap().ends_with('Z'),
        "{created}"
    );

    // `provider_type` and `api_base_url` are aliases of `kind` and `base_url`.
    let aliased = create(
        &app,
        &alice,
        json!({
            "name": "Aliased",
            "provider_type": "openai_compatible",
            "api_base_url": "https://llm.example.com/v1",
        }),
    )
    .await;
    assert_eq!(aliased["kind"], "openai_compatible");
    assert_eq!(aliased["base_url"], "https://llm.example.com/v1");
    assert_eq!(aliased["effective_base_url"], "https://llm.example.com/v1");
    assert_eq!(aliased["slug"], "aliased");
    assert_eq!(aliased["api_key"], Value::Null);
    assert_eq!(aliased["has_api_key"], false);
    assert_eq!(aliased["config"], json!({}));

    // GET one.
    let (s, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, created);

    // PATCH name, config (replaced as a whole), is_active.
    let (s, patched, _) = app
        .patch(
            &path(id),
            tok(&alice),
            json!({"name": "Renamed", "config": {"default_model": "gpt-4o"}, "is_active": false}),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_clean(&patched, &[&key]);
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["slug"], "my-openai");
    assert_eq!(patched["config"], json!({"default_model": "gpt-4o"}));
    assert_eq!(patched["is_active"], false);
    assert_eq!(patched["api_key"], masked.as_str());
    assert_eq!(patched["created_at"], created["created_at"]);

    // PUT: same partial semantics.
    let (s, put, _) = app
        .put(
            &path(id),
            tok(&alice),
            json!({"name": "Put name", "is_active": true, "config": {"max_tokens": 256}}),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["name"], "Put name");
    assert_eq!(put["is_active"], true);
    assert_eq!(put["config"], json!({"max_tokens": 256}));
    assert_eq!(put["api_key"], masked.as_str());
    assert_eq!(put["kind"], "openai");

    // Key rotation.
    let (s, rotated, _) = app
        .patch(&path(id), tok(&alice), json!({"api_key": key2}))
        .await;
    assert_eq!(s, 200, "{rotated}");
    assert_clean(&rotated, &[&key, &key2]);
    assert_eq!(rotated["api_key"], mask_key(&key2).as_str());
    assert_ne!(rotated["api_key"], masked.as_str());
    assert_eq!(rotated["has_api_key"], true);
    assert_eq!(rotated["name"], "Put name");

    // Key removal.
    let (s, removed, _) = app
        .patch(&path(id), tok(&alice), json!({"api_key": null}))
        .await;
    assert_eq!(s, 200, "{removed}");
    assert_eq!(removed["api_key"], Value::Null);
    assert_eq!(removed["has_api_key"], false);
    let (_, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(got["has_api_key"], false, "{got}");
    assert_eq!(row(&app, id, alice.id).await.api_key_ciphertext, None);

    // DELETE, then it is gone.
    let (s, body, _) = app.delete(&path(id), tok(&alice)).await;
    assert_eq!(s, 204, "{body}");
    assert_eq!(body, Value::Null);
    let (s, body, _) = app.get(&path(id), tok(&alice)).await;
    assert_error(s.as_u16(), &body, 404, "not_found", None);
    let (s, body, _) = app.delete(&path(id), tok(&alice)).await;
    assert_error(s.as_u16(), &body, 404, "not_found", None);
    let (s, body, _) = app
        .patch(&path(id), tok(&alice), json!({"name": "zombie"}))
        .await;
    assert_error(s.as_u16(), &body, 404, "not_found", None);
    assert_eq!(rows_of(&app, alice.id).await.len(), 1);
}

async fn list_paginates_and_filters(app: TestApp) {
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let p1 = create_id(
        &app,
        &bob,
        json!({"name": "One", "kind": "openai", "api_key": canary()}),
    )
    .await;
    let p2 = create_id(
        &app,
        &bob,
        json!({"name": "Two", "kind": "openai_compatible", "base_url": "https://llm.example.com/v1"}),
    )
    .await;
    let p3 = create_id(
        &app,
        &bob,
        json!({"name": "Three", "kind": "openai", "is_active": false}),
    )
    .await;
    let org = org_provider(
        &app,
        &admin,
        "org",
        "http://127.0.0.1:9/v1",
        "sk-org-key-0123456789",
    )
    .await;

    let list = |q: &'static str| {
        let app = app.clone();
        let token = bob.access_token.clone();
        async move {
            let (s, body, _) = app.get(&format!("{PROVIDERS}{q}"), Some(&token)).await;
            assert_eq!(s, 200, "{q}: {body}");
            body
        }
    };

    let all = list("").await;
    assert_eq!(ids(&all["items"]), [p1, p2, p3]);
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "page_size": 20, "total": 3, "total_pages": 1, "has_next": false, "has_prev": false})
    );
    let b = list("?page_size=2").await;
    assert_eq!(ids(&b["items"]), [p1, p2]);
    assert_eq!(
        b["pagination"],
        json!({"page": 1, "page_size": 2, "total": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    let b = list("?page=2&page_size=2").await;
    assert_eq!(ids(&b["items"]), [p3]);
    assert_eq!(
        b["pagination"],
        json!({"page": 2, "page_size": 2, "total": 3, "total_pages": 2, "has_next": false, "has_prev": true})
    );
    let b = list("?skip=1&limit=1").await;
    assert_eq!(ids(&b["items"]), [p2]);
    assert_eq!(
        b["pagination"],
        json!({"page": 2, "page_size": 1, "total": 3, "total_pages": 3, "has_next": true, "has_prev": true})
    );
    let b = list("?page=5").await;
    assert_eq!(ids(&b["items"]), Vec::<i64>::new());
    assert_eq!(b["pagination"]["total"], 3);

    let b = list("?kind=openai_compatible").await;
    assert_eq!(ids(&b["items"]), [p2]);
    assert_eq!(b["pagination"]["total"], 1);
    let b = list("?provider_type=openai").await;
    assert_eq!(ids(&b["items"]), [p1, p3]);
    let b = list("?is_active=false").await;
    assert_eq!(ids(&b["items"]), [p3]);
    let b = list("?is_active=true&kind=openai").await;
    assert_eq!(ids(&b["items"]), [p1]);
    let b = list("?scope=personal").await;
    assert_eq!(ids(&b["items"]), [p1, p2, p3]);
    let b = list("?scope=organization").await;
    assert_eq!(ids(&b["items"]), Vec::<i64>::new());
    assert_eq!(
        b["pagination"],
        json!({"page": 1, "page_size": 20, "total": 0, "total_pages": 0, "has_next": false, "has_prev": false})
    );

    // The admin's list holds only the admin's rows.
    let (s, b, _) = app
        .get(&format!("{PROVIDERS}?scope=organization"), tok(&admin))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(ids(&b["items"]), [org]);
    let (_, b, _) = app.get(PROVIDERS, tok(&admin)).await;
    assert_eq!(ids(&b["items"]), [org]);

    // Bad query parameters.
    for (q, param) in [
        ("?kind=nope", "kind"),
        ("?owner_id=1", "owner_id"),
        ("?page=0", "page"),
        ("?page_size=101", "page_size"),
        ("?limit=0", "limit"),
    ] {
        let (s, b, _) = app.get(&format!("{PROVIDERS}{q}"), tok(&bob)).await;
        assert_error(s.as_u16(), &b, 422, "validation_error", Some(param));
    }
}

async fn duplicate_slug_conflicts_per_owner(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let work = create(
        &app,
        &alice,
        json!({"name": "Work", "slug": "work", "kind": "openai"}),
    )
    .await;
    assert_eq!(work["slug"], "work");

    for body in [
        json!({"name": "Other", "slug": "work", "kind": "openai"}),
        // Derived from the name.
        json!({"name": "WORK", "kind": "openai_compatible", "base_url": "https://x.example.com/v1"}),
    ] {
        let (s, b, _) = app.post(PROVIDERS, tok(&alice), body).await;
        assert_error(s.as_u16(), &b, 409, "conflict", Some("slug"));
        assert_eq!(b["error"]["type"], "conflict_error", "{b}");
    }
    // Another user may use the same slug.
    let bobs = create(
        &app,
        &bob,
        json!({"name": "Work", "slug": "work", "kind": "openai"}),
    )
    .await;
    assert_eq!(bobs["slug"], "work");
    // Renaming a slug onto an existing one.
    let other = create_id(&app, &alice, json!({"name": "Home", "kind": "openai"})).await;
    let (s, b, _) = app
        .patch(&path(other), tok(&alice), json!({"slug": "work"}))
        .await;
    assert_error(s.as_u16(), &b, 409, "conflict", Some("slug"));
    let (s, b, _) = app
        .patch(&path(other), tok(&alice), json!({"slug": "home-2"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["slug"], "home-2");
    assert_eq!(rows_of(&app, alice.id).await.len(), 2);
    assert_eq!(rows_of(&app, bob.id).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Validation and privileged fields: a caller cannot set what only the server decides

async fn validation_names_the_field(app: TestApp) {
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let key = canary();
    let base = json!({"name": "P", "kind": "openai", "api_key": key});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };

    for field in [
        "owner_id",
        "created_by",
        "api_key_ciphertext",
        "user_id",
        "api_key_hint",
    ] {
        let (s, b, _) = app
            .post(PROVIDERS, tok(&alice), with(field, json!(bob.id)))
            .await;
        assert_error(s.as_u16(), &b, 422, "validation_error", Some(field));
        // The 422 names the caller's own unknown field (so `api_key_ciphertext` may appear
        // as that name), never a stored value.
        assert_no_secret(&b, &[&key]);
    }
    let cases = [
        (with("kind", json!("skynet")), "kind"),
        (with("scope", json!("global")), "scope"),
        (
            json!({"name": "Compat", "kind": "openai_compatible", "api_key": key}),
            "base_url",
        ),
        (
            with("config", json!({"temperature": 3})),
            "config.temperature",
        ),
        (
            with("config", json!({"max_tokens": 0})),
            "config.max_tokens",
        ),
        (with("config", json!({"timeout_s": 0})), "config.timeout_s"),
        (
            with("config", json!({"headers": {"Authorization": "Bearer x"}})),
            "config.headers",
        ),
        (
            with("config", json!({"headers": {"host": "evil.example.com"}})),
            "config.headers",
        ),
        (with("slug", json!("Bad Slug")), "slug"),
        (with("name", json!("")), "name"),
        (with("api_key", json!("   ")), "api_key"),
    ];
    for (body, param) in cases {
        let (s, b, _) = app.post(PROVIDERS, tok(&alice), body.clone()).await;
        assert_error(s.as_u16(), &b, 422, "validation_error", Some(param));
        assert_eq!(b["error"]["type"], "invalid_request_error", "{b}");
        assert_clean(&b, &[&key]);
    }
    assert!(rows_of(&app, alice.id).await.is_empty());

    // Updates refuse privileged fields too, and change nothing.
    let id = create_id(&app, &alice, base.clone()).await;
    let (_, before, _) = app.get(&path(id), tok(&alice)).await;
    for (body, param) in [
        (json!({"owner_id": bob.id}), "owner_id"),
        (json!({"created_by": bob.id}), "created_by"),
        (json!({"api_key_ciphertext": "AAAA"}), "api_key_ciphertext"),
        (json!({"scope": "organization"}), "scope"),
        (json!({"kind": "ollama"}), "kind"),
        (json!({"config": {"temperature": 3}}), "config.temperature"),
        (
            json!({"config": {"headers": {"authorization": "x"}}}),
            "config.headers",
        ),
    ] {
        for put in [false, true] {
            let (s, b, _) = if put {
                app.put(&path(id), tok(&alice), body.clone()).await
            } else {
                app.patch(&path(id), tok(&alice), body.clone()).await
            };
            assert_error(s.as_u16(), &b, 422, "validation_error", Some(param));
        }
    }
    let (_, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(after, before);
    assert!(rows_of(&app, bob.id).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Keys at rest: encrypted, and bound to their row

async fn keys_are_encrypted_and_bound_to_their_row(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let key1 = canary();
    let key2 = canary();
    let key3 = canary();
    let p1 = org_provider(&app, &admin, "one", &fake.base_url(), &key1).await;
    let p2 = org_provider(&app, &admin, "two", &fake.base_url(), &key2).await;
    let p3 = create_id(
        &app,
        &bob,
        json!({"name": "Bob's", "kind": "openai", "api_key": key3}),
    )
    .await;
    let secrets = [key1.as_str(), key2.as_str(), key3.as_str()];

    // The stored rows: ciphertext only, bound to owner and id.
    let cipher = KeyCipher::new(&SecretString::from(TEST_SECRET));
    let mut rows = rows_of(&app, admin.id).await;
    rows.extend(rows_of(&app, bob.id).await);
    assert_eq!(rows.len(), 3);
    for (r, key) in rows.iter().zip(secrets) {
        let ct = r
            .api_key_ciphertext
            .as_deref()
            .expect("a stored ciphertext");
        for s in secrets {
            assert!(!ct.contains(s) && !ct.contains(s.trim_start_matches("sk-canary-")));
            assert!(
                !format!("{r:?}").contains(s),
                "Debug of a row leaks the key"
            );
        }
        assert_eq!(r.api_key_hint.as_deref(), Some(mask_key(key).as_str()));
        assert_eq!(
            cipher
                .decrypt(r.owner_id, r.id, ct)
                .unwrap()
                .expose_secret(),
            key
        );
        assert!(cipher.decrypt(r.owner_id, r.id + 1000, ct).is_err());
        assert!(cipher.decrypt(r.owner_id + 1000, r.id, ct).is_err());
    }
    // A fresh nonce per write: the same key stored again gives another ciphertext.
    let ct1 = rows[0].api_key_ciphertext.clone().unwrap();
    let (s, b, _) = app
        .patch(&path(p1), tok(&admin), json!({"api_key": key1}))
        .await;
    assert_eq!(s, 200, "{b}");
    let ct1_again = row(&app, p1, admin.id).await.api_key_ciphertext.unwrap();
    assert_ne!(ct1, ct1_again);
    assert_eq!(
        cipher
            .decrypt(admin.id, p1, &ct1_again)
            .unwrap()
            .expose_secret(),
        key1
    );

    // On SQLite, the database files themselves never hold a key.
    if let Some(file) = app.db_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-journal"] {
            if let Ok(bytes) = std::fs::read(format!("{file}{suffix}")) {
                let dump = String::from_utf8_lossy(&bytes);
                for s in secrets {
                    assert!(!dump.contains(s), "key in the database file{suffix}");
                }
            }
        }
    }

    // The key works on its own row.
    let (s, ok, _) = app
        .post(&format!("{}/test", path(p1)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{ok}");
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(fake.last_authorization(), Some(format!("Bearer {key1}")));
    let calls = fake.request_count();

    // Moved onto another row of the same owner, the ciphertext does not decrypt: the test
    // reports ok:false with internal_error (a 200, no upstream call, nothing leaked).
    {
        let mut pooled = app.app.db().get().await.unwrap();
        let mut conn = pooled.conn();
        let changes = ProviderChanges {
            api_key_ciphertext: Some(Some(&ct1_again)),
            updated_at: Some(time::now()),
            ..ProviderChanges::default()
        };
        store::update_owned(&mut conn, p2, admin.id, &changes)
            .await
            .unwrap();
        // And onto another owner's row.
        store::update_owned(&mut conn, p3, bob.id, &changes)
            .await
            .unwrap();
    }
    for (user, id) in [(&admin, p2), (&bob, p3)] {
        let (s, b, _) = app
            .post(&format!("{}/test", path(id)), tok(user), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["ok"], false, "{b}");
        assert_eq!(b["models"], json!([]), "{b}");
        assert_eq!(b["error"]["code"], "internal_error", "{b}");
        assert_clean(&b, &secrets);
        // The masked hint still shows the row's own key; the GET does not decrypt.
        let (s, g, _) = app.get(&path(id), tok(user)).await;
        assert_eq!(s, 200, "{g}");
        assert_clean(&g, &secrets);
    }
    assert_eq!(
        fake.request_count(),
        calls,
        "no upstream call with a foreign key"
    );

    // Every listing stays clean.
    for user in [&admin, &bob] {
        for p in [PROVIDERS, "/api/v1/providers/available"] {
            let (s, b, _) = app.get(p, tok(user)).await;
            assert_eq!(s, 200, "{b}");
            assert_clean(&b, &secrets);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IDOR: another user's provider answers exactly like a missing one

/// Sends `method` to `path` as `user`.
async fn call(app: &TestApp, method: &str, path: &str, user: &TestUser) -> (u16, Value) {
    let t = tok(user);
    let (s, b, _) = match method {
        "GET" => app.get(path, t).await,
        "PATCH" => {
            app.patch(path, t, json!({"name": "pwned", "is_active": false}))
                .await
        }
        "PUT" => {
            app.put(path, t, json!({"name": "pwned", "api_key": null}))
                .await
        }
        "DELETE" => app.delete(path, t).await,
        "TEST" => app.post(&format!("{path}/test"), t, json!({})).await,
        other => unreachable!("{other}"),
    };
    (s.as_u16(), b)
}

/// Every id route on `victim` as `attacker` answers 404 exactly like a missing id.
async fn assert_like_missing(app: &TestApp, attacker: &TestUser, victim: i64, methods: &[&str]) {
    for &m in methods {
        let (s_foreign, foreign) = call(app, m, &path(victim), attacker).await;
        let (s_missing, missing) = call(app, m, &path(MISSING_ID), attacker).await;
        assert_eq!(s_foreign, 404, "{m} foreign: {foreign}");
        assert_eq!(s_missing, 404, "{m} missing: {missing}");
        assert_eq!(
            without_request_id(&foreign),
            without_request_id(&missing),
            "{m}: a foreign id must look like a missing one"
        );
    }
}

async fn idor_foreign_provider_looks_missing(app: TestApp) {
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let key = canary();
    let victim = create_id(
        &app,
        &alice,
        json!({"name": "Alice's", "kind": "openai", "api_key": key, "config": {"temperature": 1}}),
    )
    .await;
    let org = org_provider(
        &app,
        &admin,
        "not-granted",
        "http://127.0.0.1:9/v1",
        &canary(),
    )
    .await;
    let (_, before, _) = app.get(&path(victim), tok(&alice)).await;
    let row_before = row(&app, victim, alice.id).await;
    let (_, org_before, _) = app.get(&path(org), tok(&admin)).await;

    let all = ["GET", "PATCH", "PUT", "TEST", "DELETE"];
    assert_like_missing(&app, &bob, victim, &all).await;
    // The admin is no exception for someone's personal provider.
    assert_like_missing(&app, &admin, victim, &all).await;
    // An organization provider not granted to the caller.
    assert_like_missing(&app, &bob, org, &all).await;
    assert_like_missing(&app, &alice, org, &all).await;

    // Nothing changed.
    let (s, after, _) = app.get(&path(victim), tok(&alice)).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after, before);
    assert_eq!(row(&app, victim, alice.id).await, row_before);
    let (_, org_after, _) = app.get(&path(org), tok(&admin)).await;
    assert_eq!(org_after, org_before);

    // Lists show zero foreign rows.
    for user in [&bob, &admin] {
        let (s, b, _) = app.get(PROVIDERS, tok(user)).await;
        assert_eq!(s, 200, "{b}");
        assert!(!ids(&b["items"]).contains(&victim), "{b}");
        assert_clean(&b, &[&key]);
        let (_, b, _) = app.get("/api/v1/providers/available", tok(user)).await;
        assert!(!ids(&b).contains(&victim), "{b}");
    }
    let (_, b, _) = app.get(PROVIDERS, tok(&bob)).await;
    assert_eq!(b["pagination"]["total"], 0, "{b}");
    let (_, b, _) = app.get("/api/v1/providers/available", tok(&bob)).await;
    assert_eq!(b, json!([]));
    let (_, b, _) = app.get(PROVIDERS, tok(&alice)).await;
    assert_eq!(ids(&b["items"]), [victim]);
}

async fn granted_provider_is_usable_not_editable(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let key = canary();
    let org = org_provider(&app, &admin, "shared", &fake.base_url(), &key).await;
    grant(&app, org, &bob, &admin).await;
    let (_, before, _) = app.get(&path(org), tok(&admin)).await;

    let (s, got, _) = app.get(&path(org), tok(&bob)).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["id"], org);
    assert_eq!(got["scope"], "organization");
    assert_eq!(got["created_by"], admin.id);
    assert_clean(&got, &[&key]);
    let (_, avail, _) = app.get("/api/v1/providers/available", tok(&bob)).await;
    assert_eq!(ids(&avail), [org]);
    assert_clean(&avail, &[&key]);
    // Not in the grantee's own list.
    let (_, own, _) = app.get(PROVIDERS, tok(&bob)).await;
    assert_eq!(own["pagination"]["total"], 0, "{own}");

    // The grantee may use it (the key test) but not change or delete it.
    let (s, t, _) = app
        .post(&format!("{}/test", path(org)), tok(&bob), json!({}))
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["ok"], true, "{t}");
    assert_clean(&t, &[&key]);
    assert_like_missing(&app, &bob, org, &["PATCH", "PUT", "DELETE"]).await;
    let (_, after, _) = app.get(&path(org), tok(&admin)).await;
    assert_eq!(after, before);

    // Someone without a grant sees nothing.
    assert_like_missing(
        &app,
        &carol,
        org,
        &["GET", "PATCH", "PUT", "TEST", "DELETE"],
    )
    .await;
    let (_, avail, _) = app.get("/api/v1/providers/available", tok(&carol)).await;
    assert_eq!(avail, json!([]));
}

// ---------------------------------------------------------------------------------------------
// SSRF: base URLs are checked before the gateway connects to them

async fn personal_base_urls_must_be_public(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let fake_url = fake.base_url();
    let urls = [
        fake_url.as_str(),
        "http://localhost:1/v1",
        "http://10.0.0.1/v1",
        "http://192.168.1.10/v1",
        "http://172.16.0.1/v1",
        "http://169.254.169.254/latest",
        "http://[::1]:80/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://[fd00:ec2::254]/v1",
        "http://2130706433/v1",
        "http://0x7f000001/v1",
        "http://0177.0.0.1/v1",
        "http://127.1/v1",
        "http://0.0.0.0/v1",
        "http://0/v1",
        "http://[::]/v1",
        "http://[::127.0.0.1]/v1",
        "http://[64:ff9b::7f00:1]/v1",
        "http://[fe80::1]/v1",
        "http://[fc00::1]/v1",
        "http://100.64.0.1/v1",
        "HTTP://LOCALHOST/v1",
        "http://localhost./v1",
        "http://metadata.google.internal/v1",
        "http://api.localhost/v1",
        "file:///etc/passwd",
        "http://user:pass@api.example.com/v1",
    ];
    let key = canary();
    for user in [&alice, &admin] {
        for (i, url) in urls.iter().enumerate() {
            let (s, b, _) = app
                .post(
                    PROVIDERS,
                    tok(user),
                    json!({
                        "name": format!("Local {i}"),
                        "kind": "openai_compatible",
                        "scope": "personal",
                        "api_key": key,
                        "base_url": url,
                    }),
                )
                .await;
            assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));
            assert_eq!(b["error"]["type"], "invalid_request_error", "{b}");
            assert_clean(&b, &[&key]);
            // The message never quotes the URL (it could carry a secret).
            assert!(
                !b["error"]["message"].as_str().unwrap().contains(url),
                "{b}"
            );
        }
    }
    // The same through the `provider_type`/`api_base_url` aliases and through the `openai` kind.
    let (s, b, _) = app
        .post(
            PROVIDERS,
            tok(&alice),
            json!({"name": "Alias", "provider_type": "openai", "api_base_url": fake_url}),
        )
        .await;
    assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));

    // Updating a public personal provider to a private URL is refused as well.
    let id = create_id(
        &app,
        &alice,
        json!({"name": "Public", "kind": "openai_compatible", "base_url": "https://llm.example.com/v1", "api_key": key}),
    )
    .await;
    for url in urls {
        for put in [false, true] {
            let body = json!({"base_url": url});
            let (s, b, _) = if put {
                app.put(&path(id), tok(&alice), body).await
            } else {
                app.patch(&path(id), tok(&alice), body).await
            };
            assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));
        }
    }
    let (_, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(got["base_url"], "https://llm.example.com/v1");
    assert_eq!(rows_of(&app, alice.id).await.len(), 1);
    assert!(rows_of(&app, admin.id).await.is_empty());
    assert_eq!(
        fake.request_count(),
        0,
        "a connection reached the loopback canary"
    );
}

async fn organization_scope_rules(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;

    // Only admins make organization providers.
    let (s, b, _) = app
        .post(
            PROVIDERS,
            tok(&alice),
            json!({"name": "Org", "kind": "openai", "scope": "organization", "api_key": canary()}),
        )
        .await;
    assert_error(s.as_u16(), &b, 403, "permission_denied", None);
    assert_eq!(b["error"]["type"], "permission_error", "{b}");
    assert!(rows_of(&app, alice.id).await.is_empty());

    // An admin's organization provider may use loopback and private addresses…
    let local = org_provider(&app, &admin, "local", &fake.base_url(), &canary()).await;
    let (_, got, _) = app.get(&path(local), tok(&admin)).await;
    assert_eq!(got["base_url"], fake.base_url().as_str());
    assert_eq!(got["scope"], "organization");
    let ollama = create(
        &app,
        &admin,
        json!({"name": "Ollama", "kind": "ollama", "scope": "organization", "base_url": "http://localhost:11434"}),
    )
    .await;
    assert_eq!(ollama["base_url"], "http://localhost:11434");
    org_provider(&app, &admin, "lan", "http://10.0.0.1/v1", &canary()).await;

    // …but never a metadata address.
    for (i, url) in [
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://metadata.google.internal/",
    ]
    .into_iter()
    .enumerate()
    {
        let (s, b, _) = app
            .post(
                PROVIDERS,
                tok(&admin),
                json!({"name": format!("Meta {i}"), "kind": "openai_compatible", "scope": "organization", "base_url": url}),
            )
            .await;
        assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));
        let (s, b, _) = app
            .patch(&path(local), tok(&admin), json!({"base_url": url}))
            .await;
        assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));
    }
    let (_, after, _) = app.get(&path(local), tok(&admin)).await;
    assert_eq!(after, got);
    assert_eq!(rows_of(&app, admin.id).await.len(), 3);
    assert_eq!(fake.request_count(), 0);
}

/// A host name other than `localhost` that resolves only to loopback here (from `/etc/hosts`,
/// e.g. the machine's own name), if there is one.
fn loopback_alias() -> Option<String> {
    use std::net::ToSocketAddrs;
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let ip = parts.next()?;
            ip.starts_with("127.")
                .then(|| parts.map(str::to_owned).collect::<Vec<_>>())
        })
        .flatten()
        .find(|name| {
            let lower = name.to_ascii_lowercase();
            lower != "localhost"
                && !lower.ends_with(".localhost")
                && (name.as_str(), 80)
                    .to_socket_addrs()
                    .is_ok_and(|mut a| a.all(|a| a.ip().is_loopback()))
        })
}

/// Names are checked again when the client connects: a personal provider whose host name
/// resolves to loopback is saved (it looks public) but never reached. A personal Ollama
/// provider without a base URL (default `http://localhost:11434`) is never reached either.
async fn connect_time_check_refuses_private_names(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let _admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let key = canary();

    if let Some(name) = loopback_alias() {
        let url = format!("http://{name}:{}/v1", fake.addr().port());
        let id = create_id(
            &app,
            &alice,
            json!({"name": "Rebinding", "kind": "openai_compatible", "base_url": url, "api_key": key}),
        )
        .await;
        let (s, b, _) = app
            .post(&format!("{}/test", path(id)), tok(&alice), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["ok"], false, "{b}");
        assert_eq!(b["error"]["code"], "unsafe_base_url", "{b}");
        assert_clean(&b, &[&key]);
    } else {
        eprintln!("no loopback alias in /etc/hosts: connect-time name check not exercised");
    }

    // Personal Ollama with the default base URL (localhost). Today the save is accepted and
    // the refusal happens when the client is built; a save-time 422 would be fine too.
    let (s, b, _) = app
        .post(
            PROVIDERS,
            tok(&alice),
            json!({"name": "My Ollama", "kind": "ollama"}),
        )
        .await;
    if s == 201 {
        let id = b["id"].as_i64().unwrap();
        assert_eq!(b["effective_base_url"], "http://localhost:11434", "{b}");
        let (s, b, _) = app
            .post(&format!("{}/test", path(id)), tok(&alice), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["ok"], false, "{b}");
        assert_eq!(b["error"]["code"], "unsafe_base_url", "{b}");
    } else {
        assert_error(s.as_u16(), &b, 422, "unsafe_base_url", Some("base_url"));
    }
    assert_eq!(
        fake.request_count(),
        0,
        "a connection reached the loopback canary"
    );
}

/// A redirect is not followed (it would carry the key to another host).
async fn redirects_are_not_followed(app: TestApp) {
    let target = FakeOpenAi::start(FakeBehavior::default());
    let redirector = FakeOpenAi::start(FakeBehavior::error(FakeMode::RedirectTo(format!(
        "{}/models",
        target.base_url()
    ))));
    let admin = app.register("admin").await;
    let key = canary();
    let id = org_provider(&app, &admin, "redirecting", &redirector.base_url(), &key).await;
    let (s, b, _) = app
        .post(&format!("{}/test", path(id)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], false, "{b}");
    assert!(b["error"]["code"].is_string(), "{b}");
    assert_clean(&b, &[&key]);
    assert_eq!(redirector.request_count(), 1);
    assert_eq!(target.request_count(), 0, "the redirect was followed");
}

// ---------------------------------------------------------------------------------------------
// POST /providers/{id}/test

async fn key_test_reports_ok_and_mapped_errors(app: TestApp) {
    let fake = FakeOpenAi::start(FakeBehavior::default());
    let bad = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
    let admin = app.register("admin").await;
    let good_key = canary();
    let bad_key = canary();

    let good = org_provider(&app, &admin, "good", &fake.base_url(), &good_key).await;
    let (s, b, _) = app
        .post(&format!("{}/test", path(good)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], true, "{b}");
    assert_eq!(b["models"], json!(["gpt-4o-mini", "gpt-4o"]));
    assert!(b["latency_ms"].is_u64(), "{b}");
    assert_eq!(b["error"], Value::Null);
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        fake.last_authorization(),
        Some(format!("Bearer {good_key}"))
    );
    assert_clean(&b, &[&good_key]);

    // The vendor refuses the key (and quotes it in full): mapped, and the key stays out.
    let refused = org_provider(&app, &admin, "refused", &bad.base_url(), &bad_key).await;
    let (s, b, _) = app
        .post(&format!("{}/test", path(refused)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], false, "{b}");
    assert_eq!(b["models"], json!([]));
    assert_eq!(b["error"]["code"], "provider_key_invalid", "{b}");
    assert!(b["error"]["message"].is_string(), "{b}");
    assert_clean(&b, &[&bad_key]);
    assert_eq!(bad.request_count(), 1);
    assert_eq!(bad.last_authorization(), Some(format!("Bearer {bad_key}")));

    // Inactive: reported without calling the upstream.
    let (s, b, _) = app
        .patch(&path(good), tok(&admin), json!({"is_active": false}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b, _) = app
        .post(&format!("{}/test", path(good)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], false, "{b}");
    assert_eq!(b["error"]["code"], "provider_inactive", "{b}");
    assert_eq!(fake.request_count(), 1);

    // Switched back on, a rotated key is used at once (the cached client is rebuilt).
    let new_key = canary();
    let (s, b, _) = app
        .patch(
            &path(good),
            tok(&admin),
            json!({"is_active": true, "api_key": new_key}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, b, _) = app
        .post(&format!("{}/test", path(good)), tok(&admin), json!({}))
        .await;
    assert_eq!(b["ok"], true, "{b}");
    assert_eq!(fake.last_authorization(), Some(format!("Bearer {new_key}")));

    // A vendor that needs a key, without one.
    let keyless = create_id(
        &app,
        &admin,
        json!({"name": "Keyless", "kind": "openai", "scope": "organization", "base_url": fake.base_url()}),
    )
    .await;
    let (s, b, _) = app
        .post(&format!("{}/test", path(keyless)), tok(&admin), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], false, "{b}");
    assert_eq!(b["error"]["code"], "provider_key_missing", "{b}");
    assert_eq!(fake.request_count(), 2);

    // A missing id.
    let (s, b, _) = app
        .post(
            &format!("{}/test", path(MISSING_ID)),
            tok(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, 404, "{b}");
}

// ---------------------------------------------------------------------------------------------
// GET /providers/available

async fn available_lists_own_active_and_granted(app: TestApp) {
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let url = "http://127.0.0.1:9/v1";
    let own = create_id(
        &app,
        &alice,
        json!({"name": "Own", "kind": "openai", "api_key": canary()}),
    )
    .await;
    let own_off = create_id(
        &app,
        &alice,
        json!({"name": "Own off", "kind": "openai", "is_active": false}),
    )
    .await;
    let granted = org_provider(&app, &admin, "granted", url, &canary()).await;
    let granted_off = org_provider(&app, &admin, "granted-off", url, &canary()).await;
    let not_granted = org_provider(&app, &admin, "not-granted", url, &canary()).await;
    grant(&app, granted, &alice, &admin).await;
    grant(&app, granted_off, &alice, &admin).await;
    let (s, b, _) = app
        .patch(&path(granted_off), tok(&admin), json!({"is_active": false}))
        .await;
    assert_eq!(s, 200, "{b}");

    let (s, avail, _) = app.get("/api/v1/providers/available", tok(&alice)).await;
    assert_eq!(s, 200, "{avail}");
    assert_eq!(ids(&avail), [own, granted]);
    assert!(
        avail
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["is_active"] == true)
    );
    assert!(!ids(&avail).contains(&own_off));
    assert!(!ids(&avail).contains(&not_granted));
    let owners: Vec<&Value> = avail
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["created_by"])
        .collect();
    assert_eq!(owners, [&json!(alice.id), &json!(admin.id)]);

    // Switching one's own provider off removes it; on again brings it back.
    let (s, _, _) = app
        .patch(&path(own), tok(&alice), json!({"is_active": false}))
        .await;
    assert_eq!(s, 200);
    let (_, avail, _) = app.get("/api/v1/providers/available", tok(&alice)).await;
    assert_eq!(ids(&avail), [granted]);
    let (s, _, _) = app
        .patch(&path(own_off), tok(&alice), json!({"is_active": true}))
        .await;
    assert_eq!(s, 200);
    let (_, avail, _) = app.get("/api/v1/providers/available", tok(&alice)).await;
    assert_eq!(ids(&avail), [own_off, granted]);

    // The admin sees their own active ones.
    let (_, avail, _) = app.get("/api/v1/providers/available", tok(&admin)).await;
    assert_eq!(ids(&avail), [granted, not_granted]);

    // Anonymous callers get 401.
    let (s, b, _) = app.get("/api/v1/providers/available", None).await;
    assert_eq!(s, 401, "{b}");
    let (s, b, _) = app.get(PROVIDERS, None).await;
    assert_eq!(s, 401, "{b}");
}

both_backends!(
    crud_masks_the_key,
    list_paginates_and_filters,
    duplicate_slug_conflicts_per_owner,
    validation_names_the_field,
    keys_are_encrypted_and_bound_to_their_row,
    idor_foreign_provider_looks_missing,
    granted_provider_is_usable_not_editable,
    personal_base_urls_must_be_public,
    organization_scope_rules,
    connect_time_check_refuses_private_names,
    redirects_are_not_followed,
    key_test_reports_ok_and_mapped_errors,
    available_lists_own_active_and_granted,
);
