//! Orphan rows: rows loaded with foreign key checks off are found, counted and shown.

use tt_migrate::{Database, IntrospectOptions, introspect};
use tt_schema::Backend;
use tt_testdb::TestDb;
use tt_verify::orphan_rows;

use crate::support::connect;

const TABLES: &str = "
CREATE TABLE parents (id INTEGER NOT NULL PRIMARY KEY, code VARCHAR(8) NOT NULL, UNIQUE (code));
CREATE TABLE children (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER,
  CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id));
CREATE TABLE pairs (a INTEGER NOT NULL, code VARCHAR(8),
  CONSTRAINT fk_pairs_code FOREIGN KEY (code) REFERENCES parents (code));
INSERT INTO parents VALUES (1, 'one');
INSERT INTO children VALUES (1, 1);
INSERT INTO children VALUES (2, NULL);
";

async fn run(db: &mut Database, sql: &str) {
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.fetch_text(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// Inserts rows that reference nothing, with the backend's foreign key checks off.
async fn load_orphans(db: &mut Database) {
    let (off, on) = match db.backend() {
        Backend::Postgres => (
            "SET session_replication_role = replica",
            "SET session_replication_role = DEFAULT",
        ),
        Backend::Mysql => ("SET FOREIGN_KEY_CHECKS = 0", "SET FOREIGN_KEY_CHECKS = 1"),
        Backend::Sqlite => ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"),
    };
    run(db, off).await;
    run(
        db,
        "INSERT INTO children VALUES (3, 99);\nINSERT INTO children VALUES (4, 98);\n\
         INSERT INTO children VALUES (5, 99);\nINSERT INTO pairs VALUES (1, 'nope')",
    )
    .await;
    run(db, on).await;
}

#[tokio::test]
async fn a_clean_database_has_no_orphans() {
    for test_db in TestDb::create_all().await {
        let mut db = connect(&test_db).await;
        run(&mut db, TABLES).await;
        let schema = introspect(&mut db, &IntrospectOptions::default())
            .await
            .unwrap();
        let found = orphan_rows(&mut db, &schema).await.unwrap();
        assert!(found.is_empty(), "{}: {found:?}", test_db.backend());
    }
}

#[tokio::test]
async fn rows_loaded_with_checks_off_are_counted_per_foreign_key_with_examples() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        run(&mut db, TABLES).await;
        load_orphans(&mut db).await;
        let schema = introspect(&mut db, &IntrospectOptions::default())
            .await
            .unwrap();
        let found = orphan_rows(&mut db, &schema).await.unwrap();
        let summary: Vec<String> = found
            .iter()
            .map(|o| {
                format!(
                    "{}({}) -> {}({}): {} e.g. {}",
                    o.table,
                    o.columns.join(","),
                    o.ref_table,
                    o.ref_columns.join(","),
                    o.rows,
                    o.examples.join(" ")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "children(parent_id) -> parents(id): 3 e.g. 98 99",
                "pairs(code) -> parents(code): 1 e.g. nope",
            ],
            "{backend}"
        );
        let expected_name = match backend {
            Backend::Sqlite => "fk_children_parent_id",
            Backend::Postgres | Backend::Mysql => "fk_children_parent",
        };
        assert_eq!(found[0].foreign_key, expected_name, "{backend}");
    }
}

#[tokio::test]
async fn a_foreign_key_to_a_table_of_another_postgres_schema_made_the_count_fail() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    run(
        &mut db,
        "CREATE SCHEMA auth;\n\
         CREATE TABLE auth.users (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE profiles (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES auth.users (id));\n\
         INSERT INTO auth.users VALUES (1);\n\
         INSERT INTO profiles VALUES (1, 1)",
    )
    .await;
    let schema = introspect(&mut db, &IntrospectOptions::default())
        .await
        .unwrap();
    let found = orphan_rows(&mut db, &schema).await.unwrap();
    assert!(found.is_empty(), "{found:?}");
}
