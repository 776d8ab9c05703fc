//! TEMPORARY: exercises TestApp against the local http stub.
use aihub_testkit::TestApp;

async fn registers_and_counts(t: TestApp) {
    let u = t.register("alice").await;
    assert!(u.id > 0);
    let (s, body, _) = t.post("/api/v1/auth/register", None, serde_json::json!({"username":"alice","email":"alice@example.com","password":"correct horse battery","confirm_password":"correct horse battery"})).await;
    assert_eq!(s, 400, "{body}");
    assert!(t.usage_rows(u.id).await.expect("rows").is_empty());
    let (s, _, _) = t.get("/nope", None).await;
    assert_eq!(s, 404);
}
aihub_testkit::both_backends!(registers_and_counts);

async fn panics_inside(t: TestApp) {
    t.register("bob").await;
    panic!("deliberate panic for the harness");
}
mod should_panic_wrapper {
    // run via the macro, expect panic
}
aihub_testkit::both_backends!(panics_inside);

async fn graceful_inflight(t: TestApp) {
    let c = t.clone();
    let inflight = tokio::spawn(async move { c.get("/slow", None).await.0 });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    t.clone().stop().await;
    assert_eq!(inflight.await.expect("join"), 200);
    assert!(t.usage_rows(1).await.is_err());
}
aihub_testkit::both_backends!(graceful_inflight);
