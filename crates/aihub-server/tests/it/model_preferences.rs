//! Model preferences: CRUD, validation naming the field, foreign ids answering like missing
//! ones, and the atomic default switch (including concurrent switches).

use aihub_core::domain::ProviderKind;
use aihub_store::PageRequest;
use aihub_store::model_preferences::{self as store, ModelPreferenceRow};
use aihub_testkit::{TestApp, TestUser, both_backends};
use futures_util::future::join_all;
use serde_json::{Value, json};

const PREFS: &str = "/api/v1/model-preferences";
const DEFAULTS: &str = "/api/v1/model-preferences/defaults";
/// An id no row has.
const MISSING_ID: i64 = 987_654_321;

fn tok(u: &TestUser) -> Option<&str> {
    Some(u.access_token.as_str())
}

fn path(id: i64) -> String {
    format!("{PREFS}/{id}")
}

async fn create(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, b, _) = app.post(PREFS, tok(user), body.clone()).await;
    assert_eq!(s, 201, "create {body}: {b}");
    b
}

async fn create_id(app: &TestApp, user: &TestUser, body: Value) -> i64 {
    create(app, user, body).await["id"].as_i64().unwrap()
}

/// Every preference row of `user_id`, straight from the store.
async fn rows_of(app: &TestApp, user_id: i64) -> Vec<ModelPreferenceRow> {
    let mut pooled = app.app.db().get().await.unwrap();
    let mut conn = pooled.conn();
    store::list_owned(
        &mut conn,
        user_id,
        None,
        PageRequest {
            offset: 0,
            limit: 1000,
        },
    )
    .await
    .unwrap()
    .items
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, param: Option<&str>) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["param"], json!(param), "{body}");
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn crud_round_trip(app: TestApp) {
    let alice = app.register("alice").await;
    let created = create(
        &app,
        &alice,
        json!({
            "provider_kind": "anthropic",
            "model": "claude-3-5-haiku",
            "max_tokens": 2000,
            "temperature": 0.5,
            "system_prompt": "Ты профессиональный копирайтер",
            "is_default": true
        }),
    )
    .await;
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
            "created_at",
            "id",
            "is_default",
            "max_tokens",
            "model",
            "provider_kind",
            "system_prompt",
            "temperature",
            "updated_at",
            "user_id"
        ],
        "{created}"
    );
    assert_eq!(created["user_id"], alice.id);
    assert_eq!(created["provider_kind"], "anthropic");
    assert_eq!(created["model"], "claude-3-5-haiku");
    assert_eq!(created["max_tokens"], 2000);
    assert_eq!(created["temperature"], 0.5);
    assert_eq!(created["system_prompt"], "Ты профессиональный копирайтер");
    assert_eq!(created["is_default"], true);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (s, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, created);

    // The `provider` alias of `provider_kind`; optional fields may be left out.
    let minimal = create(
        &app,
        &alice,
        json!({"provider": "openai", "model": "  gpt-4o-mini  "}),
    )
    .await;
    assert_eq!(minimal["provider_kind"], "openai");
    assert_eq!(minimal["model"], "gpt-4o-mini");
    assert_eq!(minimal["is_default"], false);
    assert_eq!(minimal["max_tokens"], Value::Null);
    assert_eq!(minimal["temperature"], Value::Null);
    assert_eq!(minimal["system_prompt"], Value::Null);
    let minimal_id = minimal["id"].as_i64().unwrap();
    let third = create_id(
        &app,
        &alice,
        json!({"provider_kind": "openai", "model": "gpt-4o"}),
    )
    .await;

    // List: oldest first, paged, filtered by kind.
    let (s, list, _) = app.get(PREFS, tok(&alice)).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(ids(&list["items"]), [id, minimal_id, third]);
    assert_eq!(list["pagination"]["total"], 3);
    let (_, page2, _) = app
        .get(&format!("{PREFS}?page=2&page_size=2"), tok(&alice))
        .await;
    assert_eq!(ids(&page2["items"]), [third]);
    assert_eq!(page2["pagination"]["has_prev"], true);
    assert_eq!(page2["pagination"]["has_next"], false);
    let (_, skip, _) = app
        .get(&format!("{PREFS}?skip=1&limit=1"), tok(&alice))
        .await;
    assert_eq!(ids(&skip["items"]), [minimal_id]);
    let (_, openai, _) = app
        .get(&format!("{PREFS}?provider_kind=openai"), tok(&alice))
        .await;
    assert_eq!(ids(&openai["items"]), [minimal_id, third]);
    assert_eq!(openai["pagination"]["total"], 2);
    let (_, none, _) = app
        .get(&format!("{PREFS}?provider_kind=gemini"), tok(&alice))
        .await;
    assert_eq!(none["pagination"]["total"], 0);

    // PUT is partial: absent fields stay; `null` clears.
    let (s, put, _) = app
        .put(
            &path(id),
            tok(&alice),
            json!({"max_tokens": 4000, "temperature": 0.3}),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["max_tokens"], 4000);
    assert_eq!(put["temperature"], 0.3);
    assert_eq!(put["model"], "claude-3-5-haiku");
    assert_eq!(put["system_prompt"], "Ты профессиональный копирайтер");
    assert_eq!(put["is_default"], true);
    assert_eq!(put["created_at"], created["created_at"]);
    let (s, patched, _) = app
        .patch(
            &path(id),
            tok(&alice),
            json!({"temperature": null, "system_prompt": null, "model": "claude-sonnet-4-5"}),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["temperature"], Value::Null);
    assert_eq!(patched["system_prompt"], Value::Null);
    assert_eq!(patched["max_tokens"], 4000);
    assert_eq!(patched["model"], "claude-sonnet-4-5");
    let (_, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(got, patched);

    // Delete: 204, then gone.
    let (s, b, _) = app.delete(&path(minimal_id), tok(&alice)).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(b, Value::Null);
    let (s, b, _) = app.get(&path(minimal_id), tok(&alice)).await;
    assert_error(s.as_u16(), &b, 404, "not_found", None);
    let (s, b, _) = app.delete(&path(minimal_id), tok(&alice)).await;
    assert_error(s.as_u16(), &b, 404, "not_found", None);
    assert_eq!(
        rows_of(&app, alice.id)
            .await
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [id, third]
    );

    // Authentication is required everywhere.
    for (s, b) in [
        app.get(PREFS, None).await,
        app.get(DEFAULTS, None).await,
        app.get(&path(id), None).await,
        app.post(
            PREFS,
            None,
            json!({"provider_kind": "openai", "model": "x"}),
        )
        .await,
    ]
    .into_iter()
    .map(|(s, b, _)| (s, b))
    {
        assert_eq!(s, 401, "{b}");
    }
}

async fn validation_names_the_field(app: TestApp) {
    let alice = app.register("alice").await;
    let ok = json!({"provider_kind": "openai", "model": "gpt-4o"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with("temperature", json!(3)),
            "temperature",
            "validation_error",
        ),
        (
            with("temperature", json!(-0.1)),
            "temperature",
            "validation_error",
        ),
        (
            with("temperature", json!("hot")),
            "temperature",
            "validation_error",
        ),
        (
            with("max_tokens", json!(0)),
            "max_tokens",
            "validation_error",
        ),
        (
            with("max_tokens", json!(1_000_001)),
            "max_tokens",
            "validation_error",
        ),
        (with("model", json!("")), "model", "validation_error"),
        (with("model", json!("   ")), "model", "validation_error"),
        (
            with("model", json!("m".repeat(201))),
            "model",
            "validation_error",
        ),
        (
            with("system_prompt", json!("x".repeat(100_001))),
            "system_prompt",
            "validation_error",
        ),
        (
            with("provider_kind", json!("skynet")),
            "provider_kind",
            "validation_error",
        ),
        (with("user_id", json!(1)), "user_id", "validation_error"),
        (
            with("is_default", json!("yes")),
            "is_default",
            "validation_error",
        ),
        (
            json!({"model": "gpt-4o"}),
            "provider_kind",
            "validation_error",
        ),
        (
            json!({"provider_kind": "openai"}),
            "model",
            "validation_error",
        ),
    ];
    for (body, param, code) in cases {
        let (s, b, _) = app.post(PREFS, tok(&alice), body.clone()).await;
        assert_error(s.as_u16(), &b, 422, code, Some(param));
    }
    // The limits themselves are accepted.
    let edge = create(
        &app,
        &alice,
        json!({"provider_kind": "openai", "model": "m".repeat(200), "temperature": 2,
               "max_tokens": 1_000_000, "system_prompt": "x".repeat(100_000)}),
    )
    .await;
    let id = edge["id"].as_i64().unwrap();
    let before = rows_of(&app, alice.id).await;

    // Updates validate the same way and change nothing when refused.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"temperature": 3}), "temperature"),
        (json!({"max_tokens": 0}), "max_tokens"),
        (json!({"model": ""}), "model"),
        (json!({"provider_kind": "skynet"}), "provider_kind"),
        (json!({"user_id": 2}), "user_id"),
        (
            json!({"is_default": null, "created_at": "2020-01-01T00:00:00Z"}),
            "created_at",
        ),
    ];
    for (body, param) in cases {
        for method in ["PUT", "PATCH"] {
            let (s, b, _) = if method == "PUT" {
                app.put(&path(id), tok(&alice), body.clone()).await
            } else {
                app.patch(&path(id), tok(&alice), body.clone()).await
            };
            assert_error(s.as_u16(), &b, 422, "validation_error", Some(param));
        }
    }
    assert_eq!(rows_of(&app, alice.id).await, before);
    // Bad list queries name the parameter.
    let (s, b, _) = app
        .get(&format!("{PREFS}?provider_kind=skynet"), tok(&alice))
        .await;
    assert_error(
        s.as_u16(),
        &b,
        422,
        "validation_error",
        Some("provider_kind"),
    );
    let (s, b, _) = app
        .get(&format!("{PREFS}?page_size=101"), tok(&alice))
        .await;
    assert_error(s.as_u16(), &b, 422, "validation_error", Some("page_size"));
    let (s, b, _) = app.get(&format!("{PREFS}?owner=1"), tok(&alice)).await;
    assert_error(s.as_u16(), &b, 422, "validation_error", Some("owner"));
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

async fn send(app: &TestApp, method: &str, id_path: &str, user: &TestUser) -> (u16, Value) {
    let body = json!({"model": "stolen", "temperature": 1.5, "is_default": true});
    let (s, b, _) = match method {
        "GET" => app.get(id_path, tok(user)).await,
        "PUT" => app.put(id_path, tok(user), body).await,
        "PATCH" => app.patch(id_path, tok(user), body).await,
        "DELETE" => app.delete(id_path, tok(user)).await,
        other => panic!("unknown method {other}"),
    };
    (s.as_u16(), b)
}

async fn foreign_ids_look_missing(app: TestApp) {
    let admin = app.register("admin").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let victim = create_id(
        &app,
        &alice,
        json!({"provider_kind": "openai", "model": "gpt-4o", "temperature": 0.2, "is_default": true}),
    )
    .await;
    // Bob has a default of the same kind: his switches must not touch Alice's.
    let bobs = create_id(
        &app,
        &bob,
        json!({"provider_kind": "openai", "model": "gpt-4o-mini", "is_default": true}),
    )
    .await;
    let before = rows_of(&app, alice.id).await;
    let (_, defaults_before, _) = app.get(DEFAULTS, tok(&alice)).await;

    for attacker in [&bob, &admin] {
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let (s_foreign, foreign) = send(&app, method, &path(victim), attacker).await;
            let (s_missing, missing) = send(&app, method, &path(MISSING_ID), attacker).await;
            assert_eq!(s_foreign, 404, "{method} foreign: {foreign}");
            assert_eq!(s_missing, 404, "{method} missing: {missing}");
            assert_eq!(foreign["error"]["code"], "not_found", "{foreign}");
            assert_eq!(
                without_request_id(&foreign),
                without_request_id(&missing),
                "{method}: a foreign id must look like a missing one"
            );
        }
        // A malformed id is a 404 too.
        let (s, b) = send(&app, "GET", &format!("{PREFS}/abc"), attacker).await;
        assert_eq!(s, 404, "{b}");
    }

    // Nothing changed for Alice, and Bob's own default is still his.
    assert_eq!(rows_of(&app, alice.id).await, before);
    let (_, defaults_after, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(defaults_after, defaults_before);
    assert_eq!(defaults_after["openai"]["id"], victim);
    let (_, bob_defaults, _) = app.get(DEFAULTS, tok(&bob)).await;
    assert_eq!(bob_defaults["openai"]["id"], bobs);
    // Lists show only own rows.
    let (_, list, _) = app.get(PREFS, tok(&bob)).await;
    assert_eq!(ids(&list["items"]), [bobs]);
    let (_, list, _) = app.get(PREFS, tok(&admin)).await;
    assert_eq!(list["pagination"]["total"], 0, "{list}");
    let (_, d, _) = app.get(DEFAULTS, tok(&admin)).await;
    assert_eq!(d, json!({}));
}

async fn default_switch_unsets_the_old_default(app: TestApp) {
    let alice = app.register("alice").await;
    let (s, empty, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty, json!({}));

    let a = create_id(
        &app,
        &alice,
        json!({"provider_kind": "openai", "model": "gpt-4o", "is_default": true}),
    )
    .await;
    let b = create_id(
        &app,
        &alice,
        json!({"provider_kind": "openai", "model": "gpt-4o-mini", "is_default": true}),
    )
    .await;
    let c = create_id(
        &app,
        &alice,
        json!({"provider_kind": "anthropic", "model": "claude-3-5-haiku", "is_default": true}),
    )
    .await;
    let d = create_id(
        &app,
        &alice,
        json!({"provider_kind": "gemini", "model": "gemini-2.5-flash"}),
    )
    .await;

    // Creating B as the default unset A; C (another kind) is a default as well.
    let (_, got_a, _) = app.get(&path(a), tok(&alice)).await;
    assert_eq!(got_a["is_default"], false, "{got_a}");
    let (_, got_b, _) = app.get(&path(b), tok(&alice)).await;
    assert_eq!(got_b["is_default"], true, "{got_b}");
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    let mut keys: Vec<&str> = defaults
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["anthropic", "openai"], "{defaults}");
    assert_eq!(defaults["openai"], got_b);
    assert_eq!(defaults["anthropic"]["id"], c);
    assert_eq!(defaults["anthropic"]["provider_kind"], "anthropic");

    // Updating A to the default unsets B.
    let (s, upd, _) = app
        .put(&path(a), tok(&alice), json!({"is_default": true}))
        .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["is_default"], true);
    let (_, got_b, _) = app.get(&path(b), tok(&alice)).await;
    assert_eq!(got_b["is_default"], false, "{got_b}");
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(defaults["openai"]["id"], a);
    // Setting the flag again on the current default is a no-op switch.
    let (s, again, _) = app
        .patch(&path(a), tok(&alice), json!({"is_default": true}))
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["is_default"], true);

    // Moving the Anthropic default C to kind openai makes it the openai default (A unset) and
    // leaves anthropic without one.
    let (s, moved, _) = app
        .patch(
            &path(c),
            tok(&alice),
            json!({"provider_kind": "openai", "model": "gpt-4.1"}),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["provider_kind"], "openai");
    assert_eq!(moved["is_default"], true);
    let (_, got_a, _) = app.get(&path(a), tok(&alice)).await;
    assert_eq!(got_a["is_default"], false, "{got_a}");
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(defaults.as_object().unwrap().len(), 1, "{defaults}");
    assert_eq!(defaults["openai"]["id"], c);

    // The use case other code calls.
    let found = app
        .app
        .default_preference(alice.id, ProviderKind::Openai)
        .await
        .unwrap()
        .expect("an openai default");
    assert_eq!((found.id, found.model.as_str()), (c, "gpt-4.1"));
    assert!(
        app.app
            .default_preference(alice.id, ProviderKind::Gemini)
            .await
            .unwrap()
            .is_none()
    );

    // Unsetting the flag leaves the kind without a default; so does deleting the default.
    let (s, _, _) = app
        .patch(&path(c), tok(&alice), json!({"is_default": false}))
        .await;
    assert_eq!(s, 200);
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(defaults, json!({}));
    let (s, _, _) = app
        .patch(&path(d), tok(&alice), json!({"is_default": true}))
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = app.delete(&path(d), tok(&alice)).await;
    assert_eq!(s, 204);
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    assert_eq!(defaults, json!({}));

    // At most one default per kind in the table, whatever happened.
    let rows = rows_of(&app, alice.id).await;
    assert!(
        rows.iter().filter(|r| r.is_default).count() <= 1,
        "{rows:?}"
    );
}

async fn concurrent_switches_leave_one_default(app: TestApp) {
    let alice = app.register("alice").await;
    // Concurrent creates, each asking to be the default of the same kind.
    let creates = (0..6).map(|i| {
        app.post(
            PREFS,
            tok(&alice),
            json!({"provider_kind": "openai", "model": format!("m{i}"), "is_default": true}),
        )
    });
    for (s, b, _) in join_all(creates).await {
        assert_eq!(s, 201, "{b}");
    }
    let rows = rows_of(&app, alice.id).await;
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r.is_default).count(), 1, "{rows:?}");

    // Concurrent updates switching the default between existing rows.
    let paths: Vec<String> = rows.iter().map(|r| path(r.id)).collect();
    let updates = paths
        .iter()
        .map(|p| app.patch(p, tok(&alice), json!({"is_default": true})));
    for (s, b, _) in join_all(updates).await {
        assert_eq!(s, 200, "{b}");
    }
    let rows = rows_of(&app, alice.id).await;
    assert_eq!(rows.iter().filter(|r| r.is_default).count(), 1, "{rows:?}");
    let (_, defaults, _) = app.get(DEFAULTS, tok(&alice)).await;
    let default_row = rows.iter().find(|r| r.is_default).unwrap();
    assert_eq!(defaults["openai"]["id"], default_row.id);
}

both_backends!(
    crud_round_trip,
    validation_names_the_field,
    foreign_ids_look_missing,
    default_switch_unsets_the_old_default,
    concurrent_switches_leave_one_default,
);
