//! Concurrent writers never turn into server errors. On SQLite a transaction that reads and
//! then writes must hold the write lock from its start: a deferred one fails at once with
//! "database is locked" when another connection wrote in between, which surfaced as 500s on
//! prompt updates that set a category while conversations and categories were written.

use crate::categories::{category_id, tok};
use aihub_testkit::{TestApp, both_backends};
use futures_util::future::join_all;
use serde_json::json;

/// Writers in flight at once, and requests each sends.
const WRITERS: usize = 8;
const ROUNDS: usize = 40;

async fn concurrent_writes_never_answer_500(app: TestApp) {
    let alice = app.register("alice").await;
    let mut categories = Vec::new();
    for name in ["Работа", "Учёба", "Хобби"] {
        categories.push(category_id(&app, &alice, name).await);
    }
    let (s, prompt, _) = app
        .post(
            "/api/v1/prompts",
            tok(&alice),
            json!({"title": "Summary", "content": "Summarise {text}"}),
        )
        .await;
    assert_eq!(s, 201, "{prompt}");
    let prompt = prompt["id"].as_i64().unwrap();

    let writer = |w: usize| {
        let (app, alice, categories) = (&app, &alice, &categories);
        async move {
            let mut statuses = Vec::new();
            for round in 0..ROUNDS {
                let category = categories[(w + round) % categories.len()];
                let (s, body, _) = match (w + round) % 3 {
                    0 => {
                        app.patch(
                            &format!("/api/v1/prompts/{prompt}"),
                            tok(alice),
                            json!({"category_id": category}),
                        )
                        .await
                    }
                    1 => {
                        app.post(
                            "/api/v1/conversations",
                            tok(alice),
                            json!({"title": format!("w{w} r{round}"), "category_id": category}),
                        )
                        .await
                    }
                    _ => {
                        app.patch(
                            &format!("/api/v1/categories/{category}"),
                            tok(alice),
                            json!({"description": format!("w{w} r{round}")}),
                        )
                        .await
                    }
                };
                statuses.push((s.as_u16(), body));
            }
            statuses
        }
    };
    let results: Vec<_> = join_all((0..WRITERS).map(writer))
        .await
        .into_iter()
        .flatten()
        .collect();
    let failures: Vec<_> = results.iter().filter(|(s, _)| *s >= 300).collect();
    assert!(
        failures.is_empty(),
        "{} of {} writes failed, e.g. {:?}",
        failures.len(),
        results.len(),
        failures.first()
    );
    // Every conversation create landed.
    let (s, page, _) = app
        .get("/api/v1/conversations?page_size=1", tok(&alice))
        .await;
    assert_eq!(s, 200);
    let creates = (0..WRITERS)
        .flat_map(|w| (0..ROUNDS).map(move |r| (w + r) % 3))
        .filter(|op| *op == 1)
        .count();
    assert_eq!(page["pagination"]["total"], creates);
}

both_backends!(concurrent_writes_never_answer_500);
