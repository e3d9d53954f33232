//! Benchmark of `tt verify` on a 2,000-table PostgreSQL schema (each table with an index, a
//! unique constraint and a foreign key to another table), expected schema from a snapshot.
//!
//! Baselines from the same run: one `SELECT 1` round trip, and introspection alone (the three
//! catalog queries verify builds on). Needs PostgreSQL at `TT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); prints `skipped` without one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tt_migrate::{ConnectOptions, Database, MigrationSet, Migrator, Tracking};
use tt_schema::{Backend, Schema, create_ddl, parse_definitions};
use tt_testdb::TestDb;
use tt_verify::{CheckId, ExpectedSource, VerifyOptions, live_schema, snapshot_text, verify};

const TABLES: usize = 2_000;

/// Tables `t0000`…: a serial key, a unique code, an indexed name and a foreign key to the
/// table 37 places earlier (so the graph is wide, not one long chain).
fn schema() -> Schema {
    let mut toml = String::new();
    for i in 0..TABLES {
        toml.push_str(&format!(
            "[tables.t{i:04}]\ncolumns = [\n\
             {{ name = \"id\", type = \"serial\", primary_key = true }},\n\
             {{ name = \"code\", type = \"varchar(16)\", nullable = false, unique = true }},\n\
             {{ name = \"name\", type = \"varchar(64)\", default = \"\" }},\n"
        ));
        if i >= 37 {
            toml.push_str(&format!(
                "{{ name = \"parent_id\", type = \"integer\", references = \"t{:04}.id\" }},\n",
                i - 37
            ));
        }
        toml.push_str(&format!(
            "]\nindexes = [{{ name = \"idx_t{i:04}_name\", columns = [\"name\"] }}]\n\n"
        ));
    }
    parse_definitions("bench.toml", &toml).expect("the bench schema parses")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let Some(test_db) = runtime.block_on(TestDb::create(Backend::Postgres)) else {
        return;
    };
    let mut db = runtime
        .block_on(Database::connect(test_db.url(), ConnectOptions::default()))
        .expect("connects");
    // Created by migrations of 400 statements, so the runner batches them and no transaction
    // takes more locks than PostgreSQL's default max_locks_per_transaction allows.
    let ddl = create_ddl(&schema(), Backend::Postgres).expect("renders");
    let files: Vec<(&'static str, &'static [u8])> = ddl
        .chunks(400)
        .enumerate()
        .map(|(i, chunk)| {
            let name: &'static str = Box::leak(format!("{:03}_tables.sql", i + 1).into());
            let sql: &'static [u8] = Box::leak(chunk.join(";\n").into_bytes().into_boxed_slice());
            (name, sql)
        })
        .collect();
    let set = MigrationSet::from_embedded(&files).expect("the migrations load");
    runtime
        .block_on(Migrator::new(set.as_slice()).run(&mut db, &mut |_| {}))
        .expect("the tables are created");
    let tracking = Tracking::default();
    let live = runtime
        .block_on(live_schema(&mut db, &tracking))
        .expect("introspects");
    assert_eq!(live.len(), TABLES);
    let snapshot = snapshot_text(&live);

    let mut group = c.benchmark_group("verify_2000_tables_postgres");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("baseline_select_1", |b| {
        b.iter(|| runtime.block_on(db.fetch_text("SELECT '1'")).expect("runs"))
    });
    group.bench_function("baseline_introspect", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(live_schema(&mut db, &tracking))
                    .expect("reads"),
            )
        })
    });
    for (name, checks) in [
        ("verify_schema", &[CheckId::Schema][..]),
        ("verify_all", &CheckId::ALL[..]),
    ] {
        let options = VerifyOptions {
            checks,
            migrations: set.as_slice(),
            expected: ExpectedSource::Snapshot {
                file: "schema.toml",
                text: &snapshot,
            },
            tracking: &tracking,
            essential_tables: &[],
        };
        let report = runtime
            .block_on(verify(&mut db, &options))
            .expect("verifies");
        assert!(report.ok, "{:#?}", report.checks);
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    runtime
                        .block_on(verify(&mut db, &options))
                        .expect("verifies"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
