//! Real-world migration files: the original TinkerTools style, PL/pgSQL, concurrent indexes,
//! SQLite triggers and MySQL procedures with DELIMITER.

use std::path::Path;

use tt_migrate::{Database, Event, MigrationSet, Migrator};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::connect;

fn set(name: &str) -> MigrationSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    MigrationSet::load(&dir).unwrap()
}

async fn value(db: &mut Database, sql: &str) -> String {
    let rows = db
        .fetch_text(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows[0][0].clone().unwrap_or_default().trim().to_string()
}

/// Applies `fixture` on `backend`, returning the echoed lines and the open connection.
async fn apply(backend: Backend, fixture: &str) -> Option<(TestDb, Database, Vec<String>)> {
    let test_db = TestDb::create(backend).await?;
    let mut db = connect(&test_db).await;
    let migrations = set(fixture);
    let mut echoes = Vec::new();
    let report = Migrator::new(migrations.as_slice())
        .run(&mut db, &mut |event| {
            if let Event::Echo(text) = event {
                echoes.push(text.to_string());
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{fixture} on {backend}: {e}"));
    assert_eq!(
        report.applied.len(),
        migrations.len(),
        "{fixture}: all applied"
    );
    let again = Migrator::new(migrations.as_slice())
        .run(&mut db, &mut |_| {})
        .await
        .unwrap();
    assert!(
        again.applied.is_empty(),
        "{fixture}: re-run applies nothing"
    );
    Some((test_db, db, echoes))
}

#[tokio::test]
async fn original_tinkertools_files_apply_on_postgres() {
    let Some((_guard, mut db, echoes)) = apply(Backend::Postgres, "original_tinkertools").await
    else {
        return;
    };
    assert_eq!(
        echoes,
        [
            "Creating migration tracking table...",
            "Migration tracking table ready.",
            "Creating initial schema...",
            "Initial schema created.",
            "Adding source system...",
        ]
    );
    // The files inserted their own rows; tt's rows won and carry checksums.
    let migrations = set("original_tinkertools");
    let status = Migrator::new(migrations.as_slice())
        .status(&mut db)
        .await
        .unwrap();
    assert!(status.is_clean(), "{status:?}");
    assert!(status.applied.iter().all(|a| a.checksum.is_some()));
    assert_eq!(
        value(&mut db, "SELECT COUNT(*)::text FROM source_types").await,
        "5"
    );
    let indexes = value(
        &mut db,
        "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'items'",
    )
    .await;
    assert!(
        indexes.contains("idx_items_name_fts") && indexes.contains("idx_items_description_fts"),
        "{indexes}"
    );
    assert_eq!(
        value(&mut db, "SELECT obj_description('items'::regclass)").await,
        "Main items table; one row per item and quality level"
    );
    assert_eq!(value(&mut db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'slots'").await, "integer[]");
}

#[tokio::test]
async fn plpgsql_functions_triggers_do_blocks_and_concurrent_indexes_apply() {
    let Some((_guard, mut db, _)) = apply(Backend::Postgres, "plpgsql").await else {
        return;
    };
    // The DO block inserted three rows and the E'' string one; the trigger logged each.
    assert_eq!(
        value(&mut db, "SELECT COUNT(*)::text FROM items").await,
        "4"
    );
    assert_eq!(
        value(&mut db, "SELECT name FROM items WHERE id = 4").await,
        "it's a \"quoted\"; name"
    );
    assert_eq!(
        value(&mut db, "SELECT action FROM audit_log ORDER BY id LIMIT 1").await,
        "insert; via $$ trigger"
    );
    // CONCURRENTLY only works outside a transaction: the indexes exist and are valid.
    assert_eq!(
        value(&mut db, "SELECT COUNT(*)::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('idx_items_name', 'idx_audit_item') AND i.indisvalid").await,
        "2"
    );
}

#[tokio::test]
async fn sqlite_triggers_with_case_apply() {
    let Some((_guard, mut db, _)) = apply(Backend::Sqlite, "sqlite_triggers").await else {
        return;
    };
    assert_eq!(
        value(
            &mut db,
            "SELECT group_concat(action, '|') FROM (SELECT action FROM audit_log ORDER BY id)"
        )
        .await,
        "insert; high|insert; low"
    );
    assert_eq!(
        value(
            &mut db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM items WHERE updated_at IS NOT NULL"
        )
        .await,
        "2"
    );
    let err = db
        .fetch_text("UPDATE items SET name = '' WHERE id = 1")
        .await
        .unwrap_err();
    assert!(
        crate::support::chain(&err).contains("name must not be empty; keep the old one"),
        "{err}"
    );
}

#[tokio::test]
async fn mysql_procedures_and_triggers_with_delimiter_apply() {
    let Some((_guard, mut db, _)) = apply(Backend::Mysql, "mysql_procedures").await else {
        return;
    };
    assert_eq!(
        value(&mut db, "SELECT name FROM items WHERE ql = 250").await,
        "It's a sword; sharp"
    );
    assert_eq!(
        value(
            &mut db,
            "SELECT GROUP_CONCAT(action ORDER BY id SEPARATOR '|') FROM audit_log"
        )
        .await,
        "added; by procedure|added; by procedure|ql changed"
    );
}

#[tokio::test]
async fn a_tracking_row_whose_duration_is_not_a_number_is_an_error_not_zero() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // A tracking table made by hand, with a text column where tt writes an integer.
        for sql in [
            "CREATE TABLE schema_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY, \
             name VARCHAR(255), applied_at TIMESTAMP NULL, checksum VARCHAR(64), \
             execution_ms VARCHAR(20), dirty BOOLEAN NOT NULL DEFAULT FALSE)",
            "INSERT INTO schema_migrations (version, execution_ms) VALUES ('001', 'slow')",
        ] {
            db.exec(sql, &[]).await.unwrap();
        }
        let migrations = MigrationSet::from_embedded(&[("001_items.sql", b"SELECT 1;\n")]).unwrap();
        let error = Migrator::new(migrations.as_slice())
            .status(&mut db)
            .await
            .unwrap_err();
        let report = crate::support::chain(&error);
        assert!(
            report.starts_with("reading tracking table `schema_migrations` failed")
                && report.contains("expected an integer"),
            "{backend}: {report}"
        );
    }
}
