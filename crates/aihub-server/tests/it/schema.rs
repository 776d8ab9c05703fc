//! Both migration trees build the same tables with the same columns, matching `schema.rs`.

use aihub_store::{Db, introspect};
use aihub_testkit::{TestBackend, TestDb};
use std::collections::BTreeMap;

async fn tables_of(backend: TestBackend) -> BTreeMap<String, Vec<String>> {
    let db = TestDb::create(backend).await.unwrap();
    let store = Db::connect(&db.url, 1).await.unwrap();
    let mut pooled = store.get().await.unwrap();
    let mut conn = pooled.conn();
    let tables = introspect::tables(&mut conn).await.unwrap();
    drop(pooled);
    store.close();
    db.cleanup().await.unwrap();
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_agree() {
    let sqlite = tables_of(TestBackend::Sqlite).await;
    let postgres = tables_of(TestBackend::Postgres).await;
    assert_eq!(sqlite, postgres, "the two migration trees differ");
    let expected = [
        "api_keys",
        "categories",
        "conversations",
        "messages",
        "model_preferences",
        "prompts",
        "provider_grants",
        "providers",
        "refresh_tokens",
        "sessions",
        "usage_records",
        "users",
    ];
    assert_eq!(
        sqlite.keys().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
    assert!(sqlite["usage_records"].contains(&"cost_nanos".to_owned()));
}

#[test]
fn migration_trees_have_the_same_versions() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    let list = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
}
