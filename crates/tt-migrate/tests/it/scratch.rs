//! Scratch databases: the schema migrations produce, and nothing left behind, even on failure.

use tt_migrate::{Database, Error, SCRATCH_PREFIX, Tracking, scratch_schema};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, migrations};

const TABLES: (&str, &str) = (
    "001_tables.sql",
    "CREATE TABLE parents (id INTEGER NOT NULL PRIMARY KEY);\n\
     CREATE TABLE children (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL,\n\
       CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id));",
);
const BAD: (&str, &str) = ("002_bad.sql", "INSERT INTO nowhere VALUES (1);");

/// Scratch databases left on the server of `db`.
async fn leftovers(db: &mut Database) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Postgres => format!(
            "SELECT datname::text FROM pg_database WHERE datname LIKE '{SCRATCH_PREFIX}{}%'",
            std::process::id()
        ),
        Backend::Mysql => format!(
            "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME LIKE '{SCRATCH_PREFIX}{}%'",
            std::process::id()
        ),
        Backend::Sqlite => return Vec::new(),
    };
    db.fetch_text(&sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect()
}

#[tokio::test]
async fn the_scratch_schema_is_what_the_migrations_create_and_no_scratch_database_is_left() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = migrations(&[TABLES]);
        let schema = scratch_schema(&mut db, &set, &Tracking::default())
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            schema.table_names().collect::<Vec<_>>(),
            ["children", "parents"],
            "{backend}: the tracking table is left out"
        );
        assert_eq!(
            schema.table("children").unwrap().foreign_keys[0].ref_table,
            "parents"
        );
        let live = tt_migrate::introspect(&mut db, &Default::default())
            .await
            .unwrap();
        assert!(live.is_empty(), "{backend}: live database untouched");
        assert!(
            leftovers(&mut db).await.is_empty(),
            "{backend}: scratch dropped"
        );

        // A failing migration: reported, and the scratch database is dropped all the same.
        // (One test for both, so no other scratch database of this process exists meanwhile.)
        let set = migrations(&[TABLES, BAD]);
        let error = scratch_schema(&mut db, &set, &Tracking::default())
            .await
            .unwrap_err();
        let Error::Scratch { backend: b, source } = &error else {
            panic!("{backend}: expected a scratch error, got {error}");
        };
        assert_eq!(*b, backend);
        assert!(
            matches!(**source, Error::Statement(ref failure) if failure.version.as_str() == "002"),
            "{backend}: {source}"
        );
        let report = crate::support::chain(&error);
        assert!(report.contains("002_bad.sql"), "{report}");
        assert!(
            leftovers(&mut db).await.is_empty(),
            "{backend}: scratch dropped after the failure"
        );
    }
}
