//! End to end through the gateway against a genuine LLM: llama.cpp's server with SmolLM2-135M
//! (`scripts/local-llm.sh start`). Runs when `AIHUB_TEST_LLM_URL` names its OpenAI base URL
//! (`.ci/run` sets it); otherwise each test says it was skipped and passes.

use crate::conversations::{new_conversation, org_provider};
use crate::streaming::{SseReader, start_stream};
use aihub_testkit::{TestApp, both_backends};
use serde_json::json;

fn llm_url() -> Option<String> {
    std::env::var("AIHUB_TEST_LLM_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

async fn real_model_replies_whole_and_streamed(app: TestApp) {
    let Some(url) = llm_url() else {
        eprintln!("skipped: AIHUB_TEST_LLM_URL is not set (run scripts/local-llm.sh start)");
        return;
    };
    let admin = app.register("admin").await;
    let t = Some(admin.access_token.as_str());
    let pid = org_provider(&app, &admin, &url).await;
    let (s, _, _) = app
        .patch(
            &format!("/api/v1/providers/{pid}"),
            t,
            json!({"config": {"default_model": "smollm2-135m"}}),
        )
        .await;
    assert_eq!(s, 200);

    let (s, test, _) = app
        .post(&format!("/api/v1/providers/{pid}/test"), t, json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(test["ok"], true, "{test}");
    assert!(
        test["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "smollm2-135m"),
        "{test}"
    );

    let conv = new_conversation(
        &app,
        &admin,
        json!({"title": "real", "provider_id": pid, "max_tokens": 12, "temperature": 0}),
    )
    .await;
    let id = conv["id"].as_i64().unwrap();

    let (s, ex, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/send"),
            t,
            json!({"content": "Say hello."}),
        )
        .await;
    assert_eq!(s, 200, "{ex}");
    let a = &ex["assistant_message"];
    assert!(!a["content"].as_str().unwrap().trim().is_empty(), "{a}");
    assert_eq!(a["status"], "complete");
    assert_eq!(a["model"], "smollm2-135m");
    let completion = a["completion_tokens"].as_i64().unwrap();
    assert!(
        (1..=12).contains(&completion),
        "max_tokens honoured: {completion}"
    );
    assert!(a["prompt_tokens"].as_i64().unwrap() > 0);
    assert_eq!(
        a["metadata"]["tokens"]["estimated"], false,
        "llama.cpp reports usage"
    );

    let events = SseReader::new(
        start_stream(
            &app,
            &admin.access_token,
            id,
            json!({"content": "And again, briefly."}),
        )
        .await,
    )
    .rest()
    .await;
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert!(
        kinds.iter().filter(|k| **k == "content").count() >= 1,
        "{events:?}"
    );
    assert_eq!(&kinds[kinds.len() - 2..], ["usage", "done"], "{events:?}");
    let done = events.last().unwrap();
    assert_eq!(done["status"], "complete");
    assert!(done["completion_tokens"].as_u64().unwrap() >= 1);
    assert_eq!(
        events[events.len() - 2]["estimated"],
        false,
        "usage came from the stream"
    );

    let rows = app.wait_usage_rows(admin.id, 2).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.status == "success" && r.model == "smollm2-135m" && !r.estimated)
    );
    // Not in the pricing catalog: billed at 0 and flagged.
    assert!(rows.iter().all(|r| r.cost_nanos == 0 && !r.price_known));
}

both_backends!(real_model_replies_whole_and_streamed);
