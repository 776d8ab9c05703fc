//! `TestDb` on both backends: a fresh database that `Db::connect` migrates, isolated from every
//! other test's, and removed by `cleanup`.

use aihub_store::Db;
use aihub_testkit::{TestBackend, TestDb};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Counts the rows of `users` through the pool (proves the migration ran in this database).
async fn count_users(db: &Db) -> i64 {
    let mut pooled = db.get().await.expect("a pooled connection");
    let query = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT COUNT(*) FROM users)"));
    aihub_store::on_conn!(&mut pooled.conn(), |c| query.get_result::<i64>(c).await)
        .expect("counting users")
}

async fn schema_exists(schema: &str) -> bool {
    let mut conn = AsyncPgConnection::establish(&aihub_testkit::db::pg_base_url())
        .await
        .expect("connecting to the base PostgreSQL URL");
    let found: i64 = diesel::select(diesel::dsl::sql::<BigInt>(&format!(
        "(SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{schema}')"
    )))
    .get_result(&mut conn)
    .await
    .expect("querying information_schema");
    found == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_db_is_a_fresh_file_and_cleanup_removes_it() {
    let test_db = TestDb::create(TestBackend::Sqlite)
        .await
        .expect("creating the SQLite test db");
    assert!(test_db.url.starts_with("sqlite://"), "{}", test_db.url);
    assert!(test_db.url.ends_with("/aihub.db"), "{}", test_db.url);
    let dir = test_db.sqlite_dir().expect("a directory").to_owned();

    let db = Db::connect(&test_db.url, 2)
        .await
        .expect("connecting and migrating");
    assert_eq!(db.backend_name(), "sqlite");
    assert_eq!(count_users(&db).await, 0);
    assert!(dir.join("aihub.db").exists());
    db.close();

    test_db.cleanup().await.expect("cleanup");
    assert!(!dir.exists(), "{} should be gone", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_db_is_a_fresh_schema_and_cleanup_drops_it() {
    let test_db = TestDb::create(TestBackend::Postgres)
        .await
        .expect("creating the PostgreSQL test db");
    let schema = test_db.schema().expect("a schema").to_owned();
    assert!(schema.starts_with("aihub_t_"), "{schema}");
    assert!(
        test_db.url.contains("options=-csearch_path%3D"),
        "{}",
        test_db.url
    );
    assert!(schema_exists(&schema).await);

    let db = Db::connect(&test_db.url, 2)
        .await
        .expect("connecting and migrating");
    assert_eq!(db.backend_name(), "postgres");
    assert_eq!(count_users(&db).await, 0);

    // Every pooled connection resolves names in the test schema, where the tables (and
    // diesel's migration table) were created.
    let mut pooled = db.get().await.expect("a pooled connection");
    let current: Option<String> = aihub_store::on_conn!(&mut pooled.conn(), |c| {
        diesel::select(diesel::dsl::sql::<Nullable<Text>>("current_schema()"))
            .get_result(c)
            .await
    })
    .expect("current_schema()");
    assert_eq!(current.as_deref(), Some(schema.as_str()));
    let tables: i64 = aihub_store::on_conn!(&mut pooled.conn(), |c| {
        diesel::select(diesel::dsl::sql::<BigInt>(&format!(
            "(SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{schema}' \
             AND table_name IN ('users', '__diesel_schema_migrations'))"
        )))
        .get_result(c)
        .await
    })
    .expect("listing tables");
    assert_eq!(tables, 2);
    drop(pooled);
    db.close();

    test_db.cleanup().await.expect("cleanup");
    assert!(!schema_exists(&schema).await, "{schema} should be dropped");
}

/// Two databases at once on each backend do not see each other's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_databases_are_isolated() {
    for backend in TestBackend::ALL {
        let (a, b) = tokio::join!(TestDb::create(backend), TestDb::create(backend));
        let (a, b) = (a.expect("first db"), b.expect("second db"));
        assert_ne!(a.url, b.url);
        let (da, db) = tokio::join!(Db::connect(&a.url, 2), Db::connect(&b.url, 2));
        let (da, db) = (
            da.expect("migrating the first"),
            db.expect("migrating the second"),
        );

        let mut pooled = da.get().await.expect("a pooled connection");
        let inserted = aihub_store::on_conn!(&mut pooled.conn(), |c| {
            diesel::sql_query(
                "INSERT INTO users (username, email, password_hash, role, is_active, created_at, updated_at) \
                 VALUES ('iso', 'iso@example.com', 'x', 'user', true, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            )
            .execute(c)
            .await
        });
        drop(pooled);
        inserted.expect("inserting a user");
        assert_eq!(count_users(&da).await, 1, "{backend}");
        assert_eq!(count_users(&db).await, 0, "{backend}");

        da.close();
        db.close();
        a.cleanup().await.expect("cleanup a");
        b.cleanup().await.expect("cleanup b");
    }
}

/// A `TestDb` dropped without `cleanup` still removes its schema (from a helper thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_postgres_db_drops_its_schema() {
    let test_db = TestDb::create(TestBackend::Postgres)
        .await
        .expect("creating the PostgreSQL test db");
    let schema = test_db.schema().expect("a schema").to_owned();
    assert!(schema_exists(&schema).await);
    drop(test_db);
    assert!(!schema_exists(&schema).await, "{schema} should be dropped");
}
