//! Prompt templates: CRUD with variables and the category object, validation (malformed
//! templates are a 422 naming `content`), filters, search, ordering and pagination returning
//! exactly the right rows, rendering with Unicode names and missing values, and foreign ids
//! (404 like a missing id on every route, nothing changed).

use crate::categories::{
    MISSING_ID, assert_error, category_id, ids, new_category, tok, without_request_id,
};
use aihub_testkit::{TestApp, TestUser, both_backends};
use serde_json::{Value, json};

const PROMPTS: &str = "/api/v1/prompts";

fn path(id: i64) -> String {
    format!("{PROMPTS}/{id}")
}

/// Builds a route's path from an id.
type PathOf = fn(i64) -> String;

fn render_path(id: i64) -> String {
    format!("{PROMPTS}/{id}/render")
}

async fn new_prompt(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (s, b, _) = app.post(PROMPTS, tok(user), body.clone()).await;
    assert_eq!(s, 201, "create {body}: {b}");
    b
}

async fn prompt_id(app: &TestApp, user: &TestUser, body: Value) -> i64 {
    new_prompt(app, user, body).await["id"]
        .as_i64()
        .expect("an id")
}

async fn list(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let (s, b, _) = app.get(&format!("{PROMPTS}{query}"), tok(user)).await;
    assert_eq!(s, 200, "{query}: {b}");
    b
}

async fn list_ids(app: &TestApp, user: &TestUser, query: &str) -> Vec<i64> {
    ids(&list(app, user, query).await["items"])
}

// ---------------------------------------------------------------------------------------------

async fn crud_with_variables_and_category(app: TestApp) {
    let alice = app.register("alice").await;
    let cat = new_category(
        &app,
        &alice,
        json!({"name": "Контент-маркетинг", "color": "#FF5733", "description": "d"}),
    )
    .await;
    let cat_id = cat["id"].as_i64().unwrap();
    let other_cat = category_id(&app, &alice, "Научные исследования").await;

    // A prompt with Cyrillic placeholders and a category.
    let created = new_prompt(
        &app,
        &alice,
        json!({
            "title": "Генерация идей для статьи",
            "content": "Предложи 5 креативных идей для статьи на тему {тема}",
            "description": "Промпт для быстрой генерации идей для контент-плана",
            "category_id": cat_id,
            "is_favorite": false
        }),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["title"], "Генерация идей для статьи");
    assert_eq!(created["variables"], json!(["тема"]));
    assert_eq!(created["category_id"], cat_id);
    assert_eq!(
        created["category"],
        json!({"id": cat_id, "name": "Контент-маркетинг", "color": "#FF5733"})
    );
    assert_eq!(created["is_favorite"], false);
    assert_eq!(created["usage_count"], 0);
    assert_eq!(created["user_id"], alice.id);
    assert_eq!(created["created_at"], created["updated_at"]);

    let (s, got, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, created);

    // PATCH: new content (variables follow it), move category, favourite; description stays.
    let (s, patched, _) = app
        .patch(
            &path(id),
            tok(&alice),
            json!({
                "content": "{b} and {a} then {b} {{literal}}",
                "category_id": other_cat,
                "is_favorite": true
            }),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["variables"], json!(["b", "a"]));
    assert_eq!(patched["category"]["name"], "Научные исследования");
    assert_eq!(patched["category"]["color"], Value::Null);
    assert_eq!(patched["is_favorite"], true);
    assert_eq!(
        patched["description"],
        "Промпт для быстрой генерации идей для контент-плана"
    );
    assert_ne!(patched["updated_at"], created["updated_at"]);

    // `null` uncategorises and clears the description.
    let (s, cleared, _) = app
        .patch(
            &path(id),
            tok(&alice),
            json!({"category_id": null, "description": null}),
        )
        .await;
    assert_eq!(s, 200, "{cleared}");
    assert_eq!(cleared["category_id"], Value::Null);
    assert_eq!(cleared["category"], Value::Null);
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["title"], "Генерация идей для статьи");

    // PUT with a full body (PUT is partial, like PATCH).
    let (s, put, _) = app
        .put(
            &path(id),
            tok(&alice),
            json!({
                "title": "Улучшенный план исследования",
                "content": "Разработай детальный план исследования по теме {тема_исследования}.",
                "description": "Обновленная версия",
                "category_id": cat_id,
                "is_favorite": true
            }),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["variables"], json!(["тема_исследования"]));
    assert_eq!(put["category"]["id"], cat_id);
    assert_eq!(put["description"], "Обновленная версия");

    let (_, cat_now, _) = app
        .get(&format!("/api/v1/categories/{cat_id}"), tok(&alice))
        .await;
    assert_eq!(cat_now["prompt_count"], 1);

    let (s, b, _) = app.delete(&path(id), tok(&alice)).await;
    assert_eq!(s, 204, "{b}");
    let (s, b, _) = app.get(&path(id), tok(&alice)).await;
    assert_error(s, &b, 404, "not_found", None);
    assert_eq!(b["error"]["message"], "prompt not found");
    let (s, b, _) = app.delete(&path(id), tok(&alice)).await;
    assert_error(s, &b, 404, "not_found", None);
}

async fn validation_names_the_field(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let bobs_cat = category_id(&app, &bob, "Bob's").await;
    let bad: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"title": "", "content": "c"}),
            422,
            "validation_error",
            "title",
        ),
        (
            json!({"title": "   ", "content": "c"}),
            422,
            "validation_error",
            "title",
        ),
        (
            json!({"title": "t".repeat(201), "content": "c"}),
            422,
            "validation_error",
            "title",
        ),
        (json!({"content": "c"}), 422, "validation_error", "title"),
        (
            json!({"title": "t", "content": ""}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": " \n "}),
            422,
            "validation_error",
            "content",
        ),
        (json!({"title": "t"}), 422, "validation_error", "content"),
        (
            json!({"title": "t", "content": "c".repeat(100_001)}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": "Тема {тема"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": "empty {}"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": "{bad name}"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": "{\"json\": 1}"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"title": "t", "content": "c", "description": "d".repeat(1001)}),
            422,
            "validation_error",
            "description",
        ),
        (
            json!({"title": "t", "content": "c", "usage_count": 5}),
            422,
            "validation_error",
            "usage_count",
        ),
        (
            json!({"title": "t", "content": "c", "user_id": bob.id}),
            422,
            "validation_error",
            "user_id",
        ),
        (
            json!({"title": "t", "content": "c", "is_favorite": "yes"}),
            422,
            "validation_error",
            "is_favorite",
        ),
        (
            json!({"title": "t", "content": "c", "category_id": bobs_cat}),
            404,
            "not_found",
            "category_id",
        ),
        (
            json!({"title": "t", "content": "c", "category_id": MISSING_ID}),
            404,
            "not_found",
            "category_id",
        ),
    ];
    for (body, status, code, param) in &bad {
        let (s, b, _) = app.post(PROMPTS, tok(&alice), body.clone()).await;
        assert_error(s, &b, *status, code, Some(param));
    }
    let (s, b, _) = app
        .post(PROMPTS, tok(&alice), json!({"title": "t", "content": "{"}))
        .await;
    assert_error(s, &b, 422, "validation_error", Some("content"));
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed template: unclosed `{`"),
        "{b}"
    );
    assert_eq!(list(&app, &alice, "").await["pagination"]["total"], 0);

    // Updates validate the same way and change nothing when they fail.
    let id = prompt_id(&app, &alice, json!({"title": "t", "content": "Hi {name}"})).await;
    let (_, before, _) = app.get(&path(id), tok(&alice)).await;
    let bad_updates: Vec<(Value, u16, &str, &str)> = vec![
        (json!({"title": ""}), 422, "validation_error", "title"),
        (json!({"content": ""}), 422, "validation_error", "content"),
        (
            json!({"content": "Hi {name"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"content": "Hi {}"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"content": "Hi {na-me}"}),
            422,
            "validation_error",
            "content",
        ),
        (
            json!({"variables": ["x"]}),
            422,
            "validation_error",
            "variables",
        ),
        (
            json!({"category_id": bobs_cat}),
            404,
            "not_found",
            "category_id",
        ),
        (
            json!({"category_id": MISSING_ID}),
            404,
            "not_found",
            "category_id",
        ),
    ];
    for (body, status, code, param) in &bad_updates {
        let (s, b, _) = app.patch(&path(id), tok(&alice), body.clone()).await;
        assert_error(s, &b, *status, code, Some(param));
        let (s, b, _) = app.put(&path(id), tok(&alice), body.clone()).await;
        assert_error(s, &b, *status, code, Some(param));
    }
    let (_, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(before, after, "failed updates change nothing");

    for (query, param) in [
        ("?ordering=password", "ordering"),
        ("?is_favorite=maybe", "is_favorite"),
        ("?category_id=x", "category_id"),
        ("?page_size=0", "page_size"),
        ("?page=0", "page"),
        ("?owner=1", "owner"),
    ] {
        let (s, b, _) = app.get(&format!("{PROMPTS}{query}"), tok(&alice)).await;
        assert_error(s, &b, 422, "validation_error", Some(param));
    }
}

async fn filters_search_ordering_and_pagination(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let a = category_id(&app, &alice, "A").await;
    let b = category_id(&app, &alice, "B").await;
    let p1 = prompt_id(
        &app,
        &alice,
        json!({"title": "Marketing plan", "content": "Analyse {product}", "is_favorite": true, "category_id": a}),
    )
    .await;
    let p2 = prompt_id(
        &app,
        &alice,
        json!({"title": "Research", "content": "Make a STUDY Plan about {topic}", "category_id": b}),
    )
    .await;
    let p3 = prompt_id(
        &app,
        &alice,
        json!({"title": "Идеи статьи", "content": "Предложи идеи на тему {тема}", "is_favorite": true}),
    )
    .await;
    let p4 = prompt_id(
        &app,
        &alice,
        json!({"title": "Email draft", "content": "Give 100% to {x}", "category_id": a}),
    )
    .await;
    let p5 = prompt_id(
        &app,
        &alice,
        json!({"title": "under_score", "content": "snake {y}"}),
    )
    .await;
    // Bob's rows never show up, whatever the filter.
    let bobs_cat = category_id(&app, &bob, "A").await;
    prompt_id(
        &app,
        &bob,
        json!({"title": "Marketing plan", "content": "Analyse {product}", "is_favorite": true, "category_id": bobs_cat}),
    )
    .await;

    // Default order: most recently updated first.
    let all = list(&app, &alice, "").await;
    assert_eq!(ids(&all["items"]), vec![p5, p4, p3, p2, p1]);
    assert_eq!(
        all["pagination"],
        json!({"page": 1, "page_size": 20, "total": 5, "total_pages": 1, "has_next": false, "has_prev": false})
    );

    // Search: title or content, case-insensitive, wildcards literal.
    assert_eq!(list_ids(&app, &alice, "?search=PLAN").await, vec![p2, p1]);
    assert_eq!(list_ids(&app, &alice, "?search=study").await, vec![p2]);
    assert_eq!(list_ids(&app, &alice, "?search=research").await, vec![p2]);
    assert_eq!(list_ids(&app, &alice, "?search=тему").await, vec![p3]);
    assert_eq!(list_ids(&app, &alice, "?search=Идеи").await, vec![p3]);
    assert_eq!(list_ids(&app, &alice, "?search=%25").await, vec![p4]);
    assert_eq!(list_ids(&app, &alice, "?search=_").await, vec![p5]);
    assert_eq!(
        list_ids(&app, &alice, "?search=nothing-like-this").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list_ids(&app, &alice, "?search=%20%20").await.len(),
        5,
        "blank search is no filter"
    );

    // Filters, alone and combined.
    assert_eq!(
        list_ids(&app, &alice, "?is_favorite=true").await,
        vec![p3, p1]
    );
    assert_eq!(
        list_ids(&app, &alice, "?is_favorite=false").await,
        vec![p5, p4, p2]
    );
    assert_eq!(
        list_ids(&app, &alice, &format!("?category_id={a}")).await,
        vec![p4, p1]
    );
    assert_eq!(
        list_ids(&app, &alice, &format!("?category_id={b}")).await,
        vec![p2]
    );
    assert_eq!(
        list_ids(&app, &alice, &format!("?category_id={a}&is_favorite=true")).await,
        vec![p1]
    );
    assert_eq!(
        list_ids(&app, &alice, &format!("?category_id={a}&search=email")).await,
        vec![p4]
    );
    assert_eq!(
        list_ids(&app, &alice, &format!("?category_id={bobs_cat}")).await,
        Vec::<i64>::new()
    );
    let favs = list(&app, &alice, "?is_favorite=true&page_size=1").await;
    assert_eq!(ids(&favs["items"]), vec![p3]);
    assert_eq!(favs["pagination"]["total"], 2);
    assert_eq!(favs["pagination"]["has_next"], true);

    // Pagination: page/page_size and skip/limit.
    let page2 = list(&app, &alice, "?page=2&page_size=2").await;
    assert_eq!(ids(&page2["items"]), vec![p3, p2]);
    assert_eq!(
        page2["pagination"],
        json!({"page": 2, "page_size": 2, "total": 5, "total_pages": 3, "has_next": true, "has_prev": true})
    );
    assert_eq!(
        list_ids(&app, &alice, "?page=3&page_size=2").await,
        vec![p1]
    );
    assert_eq!(
        list_ids(&app, &alice, "?page=4&page_size=2").await,
        Vec::<i64>::new()
    );
    let skipped = list(&app, &alice, "?skip=1&limit=3").await;
    assert_eq!(ids(&skipped["items"]), vec![p4, p3, p2]);
    assert_eq!(skipped["pagination"]["page"], 1);
    assert_eq!(skipped["pagination"]["page_size"], 3);

    // Ordering.
    assert_eq!(
        list_ids(&app, &alice, "?ordering=created_at").await,
        vec![p1, p2, p3, p4, p5]
    );
    assert_eq!(
        list_ids(&app, &alice, "?ordering=-created_at").await,
        vec![p5, p4, p3, p2, p1]
    );
    // An edit moves a prompt to the front of the default order; a render does not.
    let (s, _, _) = app
        .patch(&path(p2), tok(&alice), json!({"is_favorite": true}))
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = app
        .post(
            &render_path(p4),
            tok(&alice),
            json!({"variables": {"x": "1"}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list_ids(&app, &alice, "").await, vec![p2, p5, p4, p3, p1]);
    assert_eq!(
        list_ids(&app, &alice, "?ordering=updated_at").await,
        vec![p1, p3, p4, p5, p2]
    );
    assert_eq!(
        list_ids(&app, &alice, "?ordering=-usage_count").await[0],
        p4
    );
    assert_eq!(
        list_ids(&app, &alice, "?is_favorite=true").await,
        vec![p2, p3, p1]
    );
}

async fn render_fills_placeholders(app: TestApp) {
    let alice = app.register("alice").await;
    let id = prompt_id(
        &app,
        &alice,
        json!({
            "title": "План",
            "content": "Проанализируй продукт {название_продукта} на тему {тема}; снова {тема}. {{literal}} {x_1}"
        }),
    )
    .await;
    let (_, before, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(
        before["variables"],
        json!(["название_продукта", "тема", "x_1"])
    );

    let (s, r, _) = app
        .post(
            &render_path(id),
            tok(&alice),
            json!({"variables": {"тема": "весна", "unused": "ignored"}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r,
        json!({
            "text": "Проанализируй продукт {название_продукта} на тему весна; снова весна. {literal} {x_1}",
            "missing": ["название_продукта", "x_1"],
            "used": ["тема"],
            "usage_count": 1
        })
    );

    let (s, r, _) = app
        .post(
            &render_path(id),
            tok(&alice),
            json!({"variables": {"тема": "{x_1}", "название_продукта": "AI Hub", "x_1": "Z"}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["text"], "Проанализируй продукт AI Hub на тему {x_1}; снова {x_1}. {literal} Z",
        "values are inserted as they are"
    );
    assert_eq!(r["missing"], json!([]));
    assert_eq!(r["used"], json!(["название_продукта", "тема", "x_1"]));
    assert_eq!(r["usage_count"], 2);

    // No variables at all: everything is missing; `{}` is a valid body.
    let (s, r, _) = app.post(&render_path(id), tok(&alice), json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["missing"], json!(["название_продукта", "тема", "x_1"]));
    assert_eq!(r["used"], json!([]));

    // Invalid bodies: 422 naming the field, and the use is not counted.
    let (s, b, _) = app
        .post(
            &render_path(id),
            tok(&alice),
            json!({"variables": {}, "values": {}}),
        )
        .await;
    assert_error(s, &b, 422, "validation_error", Some("values"));
    let (s, b, _) = app
        .post(
            &render_path(id),
            tok(&alice),
            json!({"variables": ["тема"]}),
        )
        .await;
    assert_error(s, &b, 422, "validation_error", Some("variables"));
    let (s, b, _) = app
        .post(
            &render_path(id),
            tok(&alice),
            json!({"variables": {"тема": 5}}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"]["code"], "validation_error");

    let (_, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(after["usage_count"], 3);
    assert_eq!(
        after["updated_at"], before["updated_at"],
        "a render is not an edit"
    );

    // A template without placeholders renders to itself.
    let plain = prompt_id(
        &app,
        &alice,
        json!({"title": "p", "content": "just {{text}}"}),
    )
    .await;
    let (s, r, _) = app
        .post(
            &render_path(plain),
            tok(&alice),
            json!({"variables": {"a": "b"}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r,
        json!({"text": "just {text}", "missing": [], "used": [], "usage_count": 1})
    );
}

async fn foreign_ids_answer_404_and_change_nothing(app: TestApp) {
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let cat = category_id(&app, &alice, "Mine").await;
    let eves_cat = category_id(&app, &eve, "Eve's").await;
    let id = prompt_id(
        &app,
        &alice,
        json!({"title": "secret", "content": "Hi {name}", "category_id": cat}),
    )
    .await;
    let (_, before, _) = app.get(&path(id), tok(&alice)).await;

    let (s, missing, _) = app.get(&path(MISSING_ID), tok(&eve)).await;
    assert_error(s, &missing, 404, "not_found", None);
    let missing = without_request_id(&missing);
    let attempts: Vec<(reqwest::Method, PathOf, Option<Value>)> = vec![
        (reqwest::Method::GET, path, None),
        (
            reqwest::Method::PATCH,
            path,
            Some(json!({"title": "pwned"})),
        ),
        (
            reqwest::Method::PATCH,
            path,
            Some(json!({"category_id": eves_cat})),
        ),
        (
            reqwest::Method::PUT,
            path,
            Some(json!({"title": "pwned", "content": "pwned", "is_favorite": true})),
        ),
        (reqwest::Method::DELETE, path, None),
        (
            reqwest::Method::POST,
            render_path,
            Some(json!({"variables": {"name": "x"}})),
        ),
    ];
    for (method, to_path, body) in attempts {
        for target in [id, MISSING_ID] {
            let p = to_path(target);
            let (s, b, _) = app.send(method.clone(), &p, tok(&eve), body.clone()).await;
            assert_eq!(s, 404, "{method} {p}: {b}");
            assert_eq!(
                without_request_id(&b),
                missing,
                "{method} {p}: body must match a missing id"
            );
        }
    }
    // A path id that is not a number is a 404 as well.
    let (s, _, _) = app.get(&format!("{PROMPTS}/abc"), tok(&eve)).await;
    assert_eq!(s, 404);
    let (s, _, _) = app
        .post(&format!("{PROMPTS}/abc/render"), tok(&eve), json!({}))
        .await;
    assert_eq!(s, 404);

    let eve_list = list(&app, &eve, "").await;
    assert_eq!(
        eve_list["pagination"]["total"], 0,
        "lists show zero foreign rows"
    );
    assert_eq!(
        list(&app, &eve, &format!("?category_id={cat}")).await["pagination"]["total"],
        0
    );
    assert_eq!(
        list(&app, &eve, "?search=secret").await["pagination"]["total"],
        0
    );

    let (s, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(s, 200);
    assert_eq!(after, before, "nothing changed, usage not counted");
    // Alice may not file her prompt under Eve's category.
    let (s, b, _) = app
        .patch(&path(id), tok(&alice), json!({"category_id": eves_cat}))
        .await;
    assert_error(s, &b, 404, "not_found", Some("category_id"));
    let (_, after, _) = app.get(&path(id), tok(&alice)).await;
    assert_eq!(after, before);
}

both_backends!(
    crud_with_variables_and_category,
    validation_names_the_field,
    filters_search_ordering_and_pagination,
    render_fills_placeholders,
    foreign_ids_answer_404_and_change_nothing,
);
