//! Verify on PostgreSQL reads the catalog with a fixed number of queries however many tables
//! there are; the data check adds one query per 100 foreign keys.

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

/// Queries `checks` run (expected schema from a snapshot) on a chain of `n` tables.
async fn queries_for(db: &mut Database, n: usize, checks: &[CheckId]) -> u64 {
    let schema = chain(n);
    let ddl = create_ddl(&schema, Backend::Postgres).unwrap();
    run(db, &ddl.join(";\n")).await;
    let snapshot = snapshot_text(&live_schema(db, &Default::default()).await.unwrap());
    // A connection looks for a pooler once, before its first statement with values (a
    // query of its own): that is not what the checks read.
    db.fetch("SELECT 1", &[]).await.unwrap();
    let before = db.queries_run();
    let options = VerifyOptions {
        checks,
        migrations: &[],
        expected: ExpectedSource::Snapshot {
            file: "schema.toml",
            text: &snapshot,
        },
        tracking: &Default::default(),
        essential_tables: &[],
    };
    let report = verify(db, &options).await.unwrap();
    assert!(report.ok, "{:#?}", report.checks);
    db.queries_run() - before
}

#[tokio::test]
async fn verify_on_postgres_reads_the_catalog_with_as_many_queries_for_150_tables_as_for_3() {
    let catalog = [CheckId::Tracking, CheckId::Schema, CheckId::Smoke];
    let mut counts = Vec::new();
    for (n, checks) in [
        (3, &catalog[..]),
        (150, &catalog[..]),
        (3, &CheckId::ALL[..]),
        (150, &CheckId::ALL[..]),
    ] {
        let Some(test_db) = TestDb::create(Backend::Postgres).await else {
            return;
        };
        counts.push(queries_for(&mut connect(&test_db).await, n, checks).await);
    }
    assert_eq!(counts[0], counts[1], "catalog queries for 3 vs 150 tables");
    assert!(counts[0] <= 8, "{} queries", counts[0]);
    // 2 vs 149 foreign keys: one counting query, then two (plus SET and RESET of the
    // parallel plans setting).
    assert_eq!(counts[2], counts[0] + 3, "{counts:?}");
    assert_eq!(counts[3], counts[0] + 4, "{counts:?}");
}
