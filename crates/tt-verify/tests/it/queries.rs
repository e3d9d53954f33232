//! Verify on PostgreSQL runs a fixed number of queries however many tables there are.

use tt_migrate::Database;
use tt_schema::{Backend, Schema, create_ddl, parse_definitions};
use tt_testdb::TestDb;
use tt_verify::{CheckId, ExpectedSource, VerifyOptions, live_schema, snapshot_text, verify};

use crate::support::{connect, run};

/// `n` chained tables, each with an index and a foreign key to the previous one.
fn chain(n: usize) -> Schema {
    let mut toml = String::new();
    for i in 0..n {
        toml.push_str(&format!(
            "[tables.t{i:04}]\ncolumns = [{{ name = \"id\", type = \"serial\", primary_key = true }}, \
             {{ name = \"name\", type = \"varchar(20)\" }}"
        ));
        if i > 0 {
            toml.push_str(&format!(
                ", {{ name = \"prev_id\", type = \"integer\", references = \"t{:04}.id\" }}",
                i - 1
            ));
        }
        toml.push_str(&format!(
            "]\nindexes = [{{ name = \"idx_t{i:04}_name\", columns = [\"name\"] }}]\n"
        ));
    }
    parse_definitions("chain.toml", &toml).expect("the chain parses")
}

/// Queries one full verify (expected schema from a snapshot) runs on a chain of `n` tables.
async fn queries_for(db: &mut Database, n: usize) -> u64 {
    let schema = chain(n);
    let ddl = create_ddl(&schema, Backend::Postgres).unwrap();
    run(db, &ddl.join(";\n")).await;
    let snapshot = snapshot_text(&live_schema(db, &Default::default()).await.unwrap());
    let before = db.queries_run();
    let options = VerifyOptions {
        checks: &CheckId::ALL,
        migrations: &[],
        expected: ExpectedSource::Snapshot {
            file: "schema.toml",
            text: &snapshot,
        },
        tracking: &Default::default(),
        essential_tables: &[],
    };
    let report = verify(db, &options).await.unwrap();
    assert!(
        report.check(CheckId::Schema).unwrap().ok,
        "{:#?}",
        report.checks
    );
    db.queries_run() - before
}

#[tokio::test]
async fn verify_on_postgres_runs_as_many_queries_for_60_tables_as_for_3() {
    let (Some(small), Some(large)) = (
        TestDb::create(Backend::Postgres).await,
        TestDb::create(Backend::Postgres).await,
    ) else {
        return;
    };
    let few = queries_for(&mut connect(&small).await, 3).await;
    let many = queries_for(&mut connect(&large).await, 60).await;
    assert_eq!(few, many, "queries for 3 tables vs 60 tables");
    assert!(few <= 8, "{few} queries");
}
