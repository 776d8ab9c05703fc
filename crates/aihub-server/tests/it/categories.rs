//! Categories: CRUD, colour and name validation, uniqueness per user, listing with search,
//! pagination and counts, foreign ids (404 like a missing id, nothing changed), and deleting a
//! category leaves its conversations and prompts uncategorised.

use aihub_store::categories as store;
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};

pub(crate) const CATEGORIES: &str = "/api/v1/categories";
/// An id no row has.
pub(crate) const MISSING_ID: i64 = 987_654_321;

pub(crate) fn tok(u: &TestUser) -> Option<&str> {
    Some(u.access_token.as_str())
}

fn path(id: i64) -> String {
    format!("{CATEGORIES}/{id}")
}

/// The body without its `request_id` (which differs per request); asserts there was one.
pub(crate) fn without_request_id(body: &Value) -> Value {
    let mut b = body.clone();
    let obj = b.as_object_mut().expect("an error body is an object");
    assert!(
        obj.remove("request_id").is_some_and(|r| r.is_string()),
        "no request_id in {body}"
    );
    b
}

pub(crate) fn assert_error(
    status: reqwest::StatusCode,
    body: &Value,
    want_status: u16,
    code: &str,
    param: Option<&str>,
) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["param"], json!(param), "{body}");
}

pub(crate) fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|p| p["id"].as_i64().expect("an id"))
        .collect()
}

/// Creates a category and returns its body.
pub(crate) async fn new_category(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, b, _) = app.post(CATEGORIES, tok(user), body.clone()).await;
    assert_eq!(s, 201, "create {body}: {b}");
    b
}

/// Creates a category named `name` and returns its id.
pub(crate) async fn category_id(app: &TestApp, user: &TestUser, name: &str) -> i64 {
    new_category(app, user, json!({"name": name})).await["id"]
        .as_i64()
        .expect("an id")
}

/// Creates a conversation without a provider and returns its id.
async fn conversation_id(app: &TestApp, user: &TestUser, title: &str) -> i64 {
    let (s, b, _) = app
        .post("/api/v1/conversations", tok(user), json!({"title": title}))
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().expect("an id")
}

/// Files a conversation under a category straight in the store (the conversation API's
/// `category_id` belongs to the conversations work).
async fn file_conversation(app: &TestApp, user: &TestUser, conv: i64, category: Option<i64>) {
    let mut pooled = app.app.db().get().await.expect("a connection");
    let mut conn = pooled.conn();
    assert!(
        store::set_conversation_category(&mut conn, conv, user.id, category)
            .await
            .expect("update")
    );
}

async fn conversation_category(app: &TestApp, user: &TestUser, conv: i64) -> Option<i64> {
    let mut pooled = app.app.db().get().await.expect("a connection");
    let mut conn = pooled.conn();
    store::conversation_category(&mut conn, conv, user.id)
        .await
        .expect("the conversation exists")
}

async fn list(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let (s, b, _) = app.get(&format!("{CATEGORIES}{query}"), tok(user)).await;
    assert_eq!(s, 200, "{query}: {b}");
    b
}

// ---------------------------------------------------------------------------------------------

async fn crud(app: TestApp) {
    let alice = app.register("alice").await;
    let created = new_category(
        &app,
        &alice,
        json!({"name": "  Учебные проекты ", "color": "#4b0082", "description": "Треды"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "Учебные проекты", "trimmed");
    assert_eq!(created["color"], "#4B0082", "upper-cased");
    assert_eq!(created["description"], "Треды");
    assert_eq!(created["user_id"], alice.id);
    assert_eq!(created["conversation_count"], 0);
    assert_eq!(created["prompt_count"], 0);
    assert_eq!(created["created_at"], created["updated_at"]);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (s, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, created);

    // PATCH: `null` clears the colour, an absent description stays.
    let (s, patched, _) = app
        .patch(&path(id), tok(&alice), json!({"color": null}))
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["color"], Value::Null);
    assert_eq!(patched["description"], "Треды");
    assert_eq!(patched["name"], "Учебные проекты");
    assert_ne!(patched["updated_at"], created["updated_at"]);

    // PUT with a full body (PUT is partial, like PATCH).
    let (s, put, _) = app
        .put(
            &path(id),
            tok(&alice),
            json!({"name": "Проекты по машинному обучению", "description": "ML", "color": "#800080"}),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["name"], "Проекты по машинному обучению");
    assert_eq!(put["color"], "#800080");
    assert_eq!(put["description"], "ML");

    // Blank description clears it; `null` too.
    let (_, cleared, _) = app
        .patch(&path(id), tok(&alice), json!({"description": "   "}))
        .await;
    assert_eq!(cleared["description"], Value::Null);

    let (s, b, _) = app.delete(&path(id), tok(&alice)).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(b, Value::Null);
    let (s, b, _) = app.get(&path(id), tok(&alice)).await;
    assert_error(s, &b, 404, "not_found", None);
    assert_eq!(b["error"]["message"], "category not found");
    let (s, b, _) = app.delete(&path(id), tok(&alice)).await;
    assert_error(s, &b, 404, "not_found", None);
}

async fn validation_names_the_field(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for color in [
        "red", "#12345", "#1234567", "#GGGGGG", "123456", "", "#12 456",
    ] {
        let (s, b, _) = app
            .post(
                CATEGORIES,
                tok(&alice),
                json!({"name": "x", "color": color}),
            )
            .await;
        assert_error(s, &b, 422, "validation_error", Some("color"));
    }
    let (s, b, _) = app
        .post(CATEGORIES, tok(&alice), json!({"name": "x", "color": 123}))
        .await;
    assert_error(s, &b, 422, "validation_error", Some("color"));
    for name in [json!(""), json!("   "), json!("n".repeat(101))] {
        let (s, b, _) = app
            .post(CATEGORIES, tok(&alice), json!({"name": name}))
            .await;
        assert_error(s, &b, 422, "validation_error", Some("name"));
    }
    let (s, b, _) = app
        .post(CATEGORIES, tok(&alice), json!({"color": "#FFFFFF"}))
        .await;
    assert_error(s, &b, 422, "validation_error", Some("name"));
    let (s, b, _) = app
        .post(
            CATEGORIES,
            tok(&alice),
            json!({"name": "x", "description": "d".repeat(1001)}),
        )
        .await;
    assert_error(s, &b, 422, "validation_error", Some("description"));
    let (s, b, _) = app
        .post(
            CATEGORIES,
            tok(&alice),
            json!({"name": "x", "user_id": bob.id}),
        )
        .await;
    assert_error(s, &b, 422, "validation_error", Some("user_id"));
    assert_eq!(list(&app, &alice, "").await["pagination"]["total"], 0);
    assert_eq!(
        list(&app, &bob, "").await["pagination"]["total"],
        0,
        "nothing was created"
    );

    // Names are unique per user: 409 naming `name`, on create and on rename.
    let a = category_id(&app, &alice, "Work").await;
    let b_id = category_id(&app, &alice, "Home").await;
    let (s, b, _) = app
        .post(CATEGORIES, tok(&alice), json!({"name": "Work"}))
        .await;
    assert_error(s, &b, 409, "conflict", Some("name"));
    let (s, b, _) = app
        .patch(&path(b_id), tok(&alice), json!({"name": " Work "}))
        .await;
    assert_error(s, &b, 409, "conflict", Some("name"));
    let (_, home, _) = app.get(&path(b_id), tok(&alice)).await;
    assert_eq!(home["name"], "Home", "the clash changed nothing");
    // Another user may use the same name.
    category_id(&app, &bob, "Work").await;

    // Updates validate the same way and change nothing when they fail.
    let (_, before, _) = app.get(&path(a), tok(&alice)).await;
    for (body, param) in [
        (json!({"color": "#ABCDEG"}), "color"),
        (json!({"name": ""}), "name"),
        (json!({"description": "d".repeat(1001)}), "description"),
        (json!({"colour": "#FFFFFF"}), "colour"),
    ] {
        let (s, b, _) = app.patch(&path(a), tok(&alice), body.clone()).await;
        assert_error(s, &b, 422, "validation_error", Some(param));
        let (s, b, _) = app.put(&path(a), tok(&alice), body).await;
        assert_error(s, &b, 422, "validation_error", Some(param));
    }
    let (_, after, _) = app.get(&path(a), tok(&alice)).await;
    assert_eq!(before, after);

    let (s, b, _) = app
        .get(&format!("{CATEGORIES}?sort=name"), tok(&alice))
        .await;
    assert_error(s, &b, 422, "validation_error", Some("sort"));
    let (s, b, _) = app
        .get(&format!("{CATEGORIES}?limit=101"), tok(&alice))
        .await;
    assert_error(s, &b, 422, "validation_error", Some("limit"));
}

async fn list_orders_pages_searches_and_counts(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    // Created out of order; listed by name.
    let delta = category_id(&app, &alice, "Delta project").await;
    let alpha = category_id(&app, &alice, "Alpha").await;
    let echo = category_id(&app, &alice, "echo 100%").await;
    let charlie = category_id(&app, &alice, "Charlie_Project").await;
    let bravo = category_id(&app, &alice, "Bravo").await;
    let foreign = category_id(&app, &bob, "Alpha project").await;

    let all = list(&app, &alice, "").await;
    assert_eq!(ids(&all["items"]), vec![alpha, bravo, charlie, delta, echo]);
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "page_size": 20, "total": 5, "total_pages": 1, "has_next": false, "has_prev": false})
    );
    let page2 = list(&app, &alice, "?page=2&page_size=2").await;
    assert_eq!(ids(&page2["items"]), vec![charlie, delta]);
    assert_eq!(
        page2["pagination"],
        json!({"page": 2, "page_size": 2, "total": 5, "total_pages": 3, "has_next": true, "has_prev": true})
    );
    let skipped = list(&app, &alice, "?skip=3&limit=10").await;
    assert_eq!(ids(&skipped["items"]), vec![delta, echo]);
    assert_eq!(skipped["pagination"]["page"], 1);

    let found = list(&app, &alice, "?search=PROJECT").await;
    assert_eq!(
        ids(&found["items"]),
        vec![charlie, delta],
        "case-insensitive"
    );
    assert_eq!(found["pagination"]["total"], 2);
    // `%` and `_` match themselves.
    let pct = list(&app, &alice, "?search=%25").await;
    assert_eq!(ids(&pct["items"]), vec![echo]);
    let underscore = list(&app, &alice, "?search=_").await;
    assert_eq!(ids(&underscore["items"]), vec![charlie]);
    assert_eq!(ids(&list(&app, &bob, "").await["items"]), vec![foreign]);

    // Counts: two conversations and one prompt in Alpha, one prompt in Bravo.
    let c1 = conversation_id(&app, &alice, "one").await;
    let c2 = conversation_id(&app, &alice, "two").await;
    let _c3 = conversation_id(&app, &alice, "three").await;
    file_conversation(&app, &alice, c1, Some(alpha)).await;
    file_conversation(&app, &alice, c2, Some(alpha)).await;
    for (title, cat) in [("p1", alpha), ("p2", bravo)] {
        let (s, b, _) = app
            .post(
                "/api/v1/prompts",
                tok(&alice),
                json!({"title": title, "content": "text", "category_id": cat}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let all = list(&app, &alice, "").await;
    let counts: Vec<(i64, i64, i64)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["conversation_count"].as_i64().unwrap(),
                c["prompt_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (alpha, 2, 1),
            (bravo, 0, 1),
            (charlie, 0, 0),
            (delta, 0, 0),
            (echo, 0, 0)
        ]
    );
    let (_, one, _) = app.get(&path(alpha), tok(&alice)).await;
    assert_eq!(
        (&one["conversation_count"], &one["prompt_count"]),
        (&json!(2), &json!(1))
    );
    let (_, renamed, _) = app
        .patch(&path(alpha), tok(&alice), json!({"name": "Alpha 2"}))
        .await;
    assert_eq!(
        renamed["conversation_count"], 2,
        "updates answer counts too"
    );
}

async fn foreign_ids_answer_404_and_change_nothing(app: TestApp) {
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let id = new_category(
        &app,
        &alice,
        json!({"name": "Secret", "color": "#000000", "description": "mine"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let (_, before, _) = app.get(&path(id), tok(&alice)).await;

    let (s, missing, _) = app.get(&path(MISSING_ID), tok(&eve)).await;
    assert_error(s, &missing, 404, "not_found", None);
    let missing = without_request_id(&missing);
    let attempts: Vec<(reqwest::Method, Option<Value>)> = vec![
        (reqwest::Method::GET, None),
        (reqwest::Method::PATCH, Some(json!({"name": "pwned"}))),
        (
            reqwest::Method::PUT,
            Some(json!({"name": "pwned", "color": "#FFFFFF"})),
        ),
        (reqwest::Method::DELETE, None),
    ];
    for (method, body) in attempts {
        for target in [id, MISSING_ID] {
            let (s, b, _) = app
                .send(method.clone(), &path(target), tok(&eve), body.clone())
                .await;
            assert_eq!(s, 404, "{method} {target}: {b}");
            assert_eq!(
                without_request_id(&b),
                missing,
                "{method}: body must match a missing id"
            );
        }
    }
    assert_eq!(
        list(&app, &eve, "").await["pagination"]["total"],
        0,
        "lists show zero foreign rows"
    );
    let (s, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200);
    assert_eq!(after, before, "nothing changed");
    // Eve may not file her prompts under Alice's category either.
    let (s, b, _) = app
        .post(
            "/api/v1/prompts",
            tok(&eve),
            json!({"title": "t", "content": "c", "category_id": id}),
        )
        .await;
    assert_error(s, &b, 404, "not_found", Some("category_id"));
    let (_, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(after["prompt_count"], 0);
}

async fn delete_leaves_conversations_and_prompts_uncategorised(app: TestApp) {
    let alice = app.register("alice").await;
    let cat = category_id(&app, &alice, "Doomed").await;
    let keep = category_id(&app, &alice, "Kept").await;
    let conv = conversation_id(&app, &alice, "filed").await;
    let other_conv = conversation_id(&app, &alice, "filed elsewhere").await;
    file_conversation(&app, &alice, conv, Some(cat)).await;
    file_conversation(&app, &alice, other_conv, Some(keep)).await;
    let (s, prompt, _) = app
        .post(
            "/api/v1/prompts",
            tok(&alice),
            json!({"title": "p", "content": "Тема: {тема}", "category_id": cat}),
        )
        .await;
    assert_eq!(s, 201, "{prompt}");
    assert_eq!(prompt["category"]["id"], cat);
    let pid = prompt["id"].as_i64().unwrap();
    assert_eq!(conversation_category(&app, &alice, conv).await, Some(cat));

    let (s, _, _) = app.delete(&path(cat), tok(&alice)).await;
    assert_eq!(s, 204);

    let (s, p, _) = app
        .get(&format!("/api/v1/prompts/{pid}"), tok(&alice))
        .await;
    assert_eq!(s, 200, "the prompt stays: {p}");
    assert_eq!(p["category_id"], Value::Null);
    assert_eq!(p["category"], Value::Null);
    assert_eq!(p["content"], "Тема: {тема}");
    let (s, c, _) = app
        .get(&format!("/api/v1/conversations/{conv}"), tok(&alice))
        .await;
    assert_eq!(s, 200, "the conversation stays: {c}");
    assert_eq!(conversation_category(&app, &alice, conv).await, None);
    assert_eq!(
        conversation_category(&app, &alice, other_conv).await,
        Some(keep),
        "other categories are untouched"
    );
    let (_, kept, _) = app.get(&path(keep), tok(&alice)).await;
    assert_eq!(kept["conversation_count"], 1);
}

both_backends!(
    crud,
    validation_names_the_field,
    list_orders_pages_searches_and_counts,
    foreign_ids_answer_404_and_change_nothing,
    delete_leaves_conversations_and_prompts_uncategorised,
);
