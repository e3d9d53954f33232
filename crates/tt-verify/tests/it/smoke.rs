//! Smoke inserts: a generated row (with its parents) goes in and is always rolled back.

use tt_migrate::{Database, IntrospectOptions, introspect};
use tt_schema::Backend;
use tt_testdb::TestDb;
use tt_verify::smoke_insert;

use crate::support::connect;

async fn run(db: &mut Database, sql: &str) {
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.fetch_text(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

fn tables(backend: Backend) -> String {
    let serial = match backend {
        Backend::Postgres => "SERIAL PRIMARY KEY",
        Backend::Mysql => "INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY",
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    format!(
        "CREATE TABLE categories (id {serial}, name VARCHAR(12) NOT NULL UNIQUE);
CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(128) NOT NULL,
  category_id INTEGER NOT NULL, price DECIMAL(10,2) NOT NULL DEFAULT 0, note TEXT,
  added DATE NOT NULL, flag BOOLEAN NOT NULL, parent_id INTEGER,
  CONSTRAINT fk_items_category FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT fk_items_parent FOREIGN KEY (parent_id) REFERENCES items (id));
CREATE TABLE strict_items (id INTEGER NOT NULL PRIMARY KEY, qty INTEGER NOT NULL,
  CONSTRAINT ck_qty CHECK (qty > 5));
INSERT INTO items (id, name, category_id, added, flag) VALUES (41, 'seed', 1, '2001-01-01', TRUE)"
    )
}

async fn count(db: &mut Database, table: &str) -> String {
    let sql = format!("SELECT CAST(COUNT(*) AS CHAR(10)) FROM {table}");
    let rows = db.fetch_text(&sql).await.unwrap();
    rows[0][0].clone().unwrap_or_default().trim().to_string()
}

#[tokio::test]
async fn a_row_and_its_parents_are_inserted_and_rolled_back() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // The seed row needs a category, inserted first.
        let ddl = tables(backend);
        let (create, seed) = ddl.rsplit_once(";\n").unwrap();
        run(&mut db, create).await;
        run(&mut db, "INSERT INTO categories (name) VALUES ('seeded')").await;
        run(&mut db, seed).await;
        let schema = introspect(&mut db, &IntrospectOptions::default())
            .await
            .unwrap();

        let outcome = smoke_insert(&mut db, &schema, "items").await.unwrap();
        assert_eq!(outcome.failure, None, "{backend}: {outcome:#?}");
        let inserts: Vec<&String> = outcome
            .statements
            .iter()
            .filter(|s| s.starts_with("INSERT"))
            .collect();
        assert_eq!(inserts.len(), 2, "{backend}: parent then row: {inserts:#?}");
        assert!(inserts[0].contains("categories"), "{backend}: {inserts:?}");
        assert!(
            inserts[1].contains("items") && inserts[1].contains("42"),
            "{backend}: the key is MAX + 1: {inserts:?}"
        );
        assert_eq!(count(&mut db, "items").await, "1", "{backend}: rolled back");
        assert_eq!(count(&mut db, "categories").await, "1", "{backend}");
    }
}

#[tokio::test]
async fn a_rejected_row_is_a_failure_naming_the_statement_and_a_missing_table_is_one_too() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let ddl = tables(backend);
        let (create, _) = ddl.rsplit_once(";\n").unwrap();
        run(&mut db, create).await;
        let schema = introspect(&mut db, &IntrospectOptions::default())
            .await
            .unwrap();

        let outcome = smoke_insert(&mut db, &schema, "strict_items")
            .await
            .unwrap();
        let failure = outcome.failure.expect("the check rejects qty = 1");
        assert!(
            failure
                .statement
                .as_deref()
                .is_some_and(|s| s.contains("strict_items")),
            "{backend}: {failure:?}"
        );
        assert!(
            failure.message.to_lowercase().contains("ck_qty")
                || failure.message.to_lowercase().contains("check"),
            "{backend}: {failure:?}"
        );
        // The connection is usable afterwards (the transaction was rolled back).
        assert_eq!(count(&mut db, "strict_items").await, "0", "{backend}");

        let outcome = smoke_insert(&mut db, &schema, "nope").await.unwrap();
        assert_eq!(
            outcome.failure.map(|f| f.message).as_deref(),
            Some("table `nope` does not exist")
        );
    }
}
