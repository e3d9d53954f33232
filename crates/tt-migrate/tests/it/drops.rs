//! Drops that cannot be one transaction: PostgreSQL schemas bigger than the server's lock
//! table (dropped in batches), MySQL (no transactional DDL), and the mark both leave in the
//! tracking table until the drop ends.

use std::path::Path;
use tt_migrate::{DropRefusal, LockError, TrackingError};

use tt_migrate::{
    Database, DropOptions, Error, Event, MigrationSet, Migrator, ResetOptions, ResetStage,
    Tracking, drop_managed_tables, plan_drop,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{chain, connect, execute};

fn no_events(_: Event<'_>) {}

/// Writes `files` migration files of `per_file` tables each, `t0001`…: a foreign-key web
/// (each table references up to three earlier ones, fixed seed; one in three has an index)
/// with cycles: one table in fifty also references a later table of its file, through an
/// `ALTER TABLE` at the end of the file.
pub(crate) fn fk_web(dir: &Path, files: usize, per_file: usize) -> usize {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut below = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut foreign_keys = 0;
    for file in 0..files {
        let mut sql = String::new();
        let mut cycles = Vec::new();
        let last = (file + 1) * per_file;
        for i in file * per_file + 1..=last {
            let mut columns = vec![
                "id integer PRIMARY KEY".to_string(),
                "name varchar(64) NOT NULL".to_string(),
            ];
            if i > 1 {
                for k in 0..below(4) {
                    let parent = 1 + below(i - 1);
                    columns.push(format!("ref{k}_id integer REFERENCES t{parent:04} (id)"));
                    foreign_keys += 1;
                }
            }
            sql.push_str(&format!("CREATE TABLE t{i:04} ({});\n", columns.join(", ")));
            if below(3) == 0 {
                sql.push_str(&format!("CREATE INDEX t{i:04}_name ON t{i:04} (name);\n"));
            }
            if i < last && below(50) == 0 {
                cycles.push((i, i + 1 + below(last - i)));
            }
        }
        for (child, parent) in cycles {
            sql.push_str(&format!(
                "ALTER TABLE t{child:04} ADD COLUMN back_id integer;\n\
                 ALTER TABLE t{child:04} ADD CONSTRAINT t{child:04}_back FOREIGN KEY (back_id) \
                 REFERENCES t{parent:04} (id);\n"
            ));
            foreign_keys += 1;
        }
        let path = dir.join(format!("{:03}_web_{}.sql", file + 1, file + 1));
        std::fs::write(&path, sql).unwrap();
    }
    foreign_keys
}

async fn scalar(db: &mut Database, sql: &str) -> String {
    db.fetch_text(sql).await.unwrap()[0][0].clone().unwrap()
}

async fn table_count(db: &mut Database) -> usize {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT CAST(COUNT(*) AS TEXT) FROM pg_tables WHERE schemaname = current_schema()"
        }
        _ => {
            "SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE()"
        }
    };
    scalar(db, sql).await.parse().unwrap()
}

/// Issue 11 item 13: 2,000 tables created by 20 files failed to drop ("out of shared
/// memory") on the default `max_locks_per_transaction = 64`, which the shared test server
/// keeps.
#[tokio::test]
async fn a_2000_table_fk_web_resets_and_drops_on_the_default_lock_table() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let foreign_keys = fk_web(dir.path(), 20, 100);
    assert!(foreign_keys > 2_000, "a web: {foreign_keys} foreign keys");
    let set = MigrationSet::load(dir.path()).unwrap();
    let mut db = connect(&test_db).await;
    let capacity: u64 = scalar(
        &mut db,
        "SELECT CAST(current_setting('max_locks_per_transaction')::int * \
         (current_setting('max_connections')::int + \
          current_setting('max_prepared_transactions')::int) AS TEXT)",
    )
    .await
    .parse()
    .unwrap();
    if capacity >= 20_000 {
        println!("note: this server's lock table ({capacity}) would hold the drop in one go");
    }
    let migrator = Migrator::new(set.as_slice());
    migrator.run(&mut db, &mut no_events).await.unwrap();
    assert_eq!(table_count(&mut db).await, 2_001);

    let report = migrator
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .map_err(|e| chain(&e))
        .unwrap();
    assert_eq!(
        report.dropped.dropped.len(),
        2_001,
        "every table, tracking last"
    );
    assert_eq!(report.dropped.dropped.last().unwrap(), "schema_migrations");
    assert_eq!(report.applied.len(), 20);
    assert!(report.missing_tables.is_empty());
    assert_eq!(migrator.status(&mut db).await.unwrap().stopped_drop, None);

    let tracking = Tracking::default();
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    assert_eq!(plan.tables.len(), 2_000);
    let report = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
        .await
        .map_err(|e| chain(&e))
        .unwrap();
    assert_eq!(report.dropped.len(), 2_001);
    assert_eq!(
        table_count(&mut db).await,
        0,
        "nothing left, no mark either"
    );
}

/// A batched PostgreSQL drop that fails in a later batch has committed the earlier ones: it
/// says what went, leaves the mark, and status, migrate and a second drop act on it.
#[tokio::test]
async fn a_batched_drop_that_stops_part_way_leaves_a_mark_until_a_drop_finishes() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fk_web(dir.path(), 3, 100);
    let set = MigrationSet::load(dir.path()).unwrap();
    let mut db = connect(&test_db).await;
    let migrator = Migrator::new(set.as_slice());
    migrator.run(&mut db, &mut no_events).await.unwrap();
    // A table inheriting from t0001 (not a view or foreign key: nothing --cascade removes)
    // makes its plain DROP fail; t0001 is referenced by others, so it goes in a late batch.
    execute(&mut db, &["CREATE TABLE heir () INHERITS (t0001)"]).await;
    let tracking = Tracking::default();
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    let position = plan.tables.iter().position(|t| t == "t0001").unwrap();
    assert!(
        position >= 100,
        "t0001 is not in the first batch: {position}"
    );

    let error = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
        .await
        .unwrap_err();
    let Error::DropIncomplete {
        dropped, tables, ..
    } = &error
    else {
        panic!("{}", chain(&error));
    };
    assert_eq!(*tables, 300);
    assert!(
        !dropped.is_empty() && dropped.len() < 300,
        "{}",
        chain(&error)
    );
    let left = table_count(&mut db).await;
    // What it says went is gone: the rest, the tracking table and `heir` are there.
    assert_eq!(left, 300 - dropped.len() + 2, "{}", chain(&error));
    let message = chain(&error);
    assert!(message.contains("the drop stopped part-way"), "{message}");
    assert!(message.contains("run `tt drop`"), "{message}");

    let status = migrator.status(&mut db).await.unwrap();
    assert!(status.stopped_drop.is_some(), "{status:?}");
    assert!(!status.is_clean());
    assert_eq!(
        status.applied.len(),
        3,
        "the rows stay, the mark explains them"
    );
    let refused = migrator.run(&mut db, &mut no_events).await.unwrap_err();
    assert!(
        matches!(
            refused.error,
            Error::Tracking(TrackingError::StoppedDrop { .. })
        ),
        "{}",
        refused.error
    );
    assert!(refused.error.to_string().contains("`tt drop`"));

    execute(&mut db, &["DROP TABLE heir"]).await;
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
        .await
        .map_err(|e| chain(&e))
        .unwrap();
    assert_eq!(table_count(&mut db).await, 0);
    let status = migrator.status(&mut db).await.unwrap();
    assert_eq!(status.stopped_drop, None);
    assert_eq!(status.pending.len(), 3);
}

/// MySQL: a reset that stops before its first DROP (a view of another application blocks it;
/// the lock is held by another session) says nothing was dropped, and leaves no mark. Found:
/// its state line said "some managed tables may be gone".
#[tokio::test]
async fn a_mysql_reset_that_drops_nothing_says_so() {
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let set = crate::support::migrations(&[(
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);",
    )]);
    let mut db = connect(&test_db).await;
    let migrator = Migrator::new(&set);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    execute(&mut db, &["CREATE VIEW item_ids AS SELECT id FROM items"]).await;
    let error = migrator
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .unwrap_err();
    assert_eq!(error.stage, ResetStage::Drop);
    assert!(
        matches!(error.error, Error::Refused(DropRefusal::Dependents { .. })),
        "{}",
        error.error
    );
    assert_eq!(
        error.state(),
        "nothing was dropped: the database is as it was before the reset"
    );
    execute(&mut db, &["DROP VIEW item_ids"]).await;

    // The lock, held by another session.
    let mut other = connect(&test_db).await;
    let tracking = Tracking::default();
    tt_migrate::acquire_lock(&mut other, &tracking)
        .await
        .unwrap();
    let error = migrator
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .unwrap_err();
    assert!(
        matches!(error.error, Error::Lock(LockError::Timeout { .. })),
        "{}",
        error.error
    );
    assert_eq!(
        error.state(),
        "nothing was dropped: the database is as it was before the reset"
    );
    tt_migrate::release_lock(&mut other, &tracking)
        .await
        .unwrap();
    let status = migrator.status(&mut db).await.unwrap();
    assert_eq!(status.stopped_drop, None);
    assert_eq!(status.applied.len(), 1);
    assert_eq!(
        table_count(&mut db).await,
        2,
        "items and the tracking table"
    );
}

/// MySQL: a drop that fails after its first DROP names what went and leaves the mark; the
/// next drop finishes.
#[tokio::test]
async fn a_mysql_drop_that_fails_part_way_names_what_went_and_a_second_drop_finishes() {
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let set = crate::support::migrations(&[
        ("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
        (
            "002_b.sql",
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, \
             FOREIGN KEY (a_id) REFERENCES a (id));",
        ),
    ]);
    let mut db = connect(&test_db).await;
    let migrator = Migrator::new(&set);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    let tracking = Tracking::default();
    let plan = plan_drop(&mut db, &set, &tracking).await.unwrap();
    assert_eq!(plan.tables, ["b", "a"]);
    // Another session reads `a` in an open transaction: its metadata lock makes the DROP of
    // `a` wait, and give up after a second; `b` has gone by then.
    let mut other = connect(&test_db).await;
    execute(
        &mut other,
        &["BEGIN", "SELECT CAST(COUNT(*) AS CHAR) FROM a"],
    )
    .await;
    execute(&mut db, &["SET SESSION lock_wait_timeout = 1"]).await;
    let error = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
        .await
        .unwrap_err();
    let Error::DropIncomplete {
        dropped, tables, ..
    } = &error
    else {
        panic!("{}", chain(&error));
    };
    assert_eq!(dropped, &["b"]);
    assert_eq!(*tables, 2);
    let message = chain(&error);
    assert!(
        message
            .starts_with("the drop stopped part-way: it dropped 1 of the 2 managed table(s) (b);"),
        "{message}"
    );
    let status = migrator.status(&mut db).await.unwrap();
    assert!(status.stopped_drop.is_some());
    assert_eq!(status.applied.len(), 2);
    let refused = migrator.run(&mut db, &mut no_events).await.unwrap_err();
    assert!(matches!(
        refused.error,
        Error::Tracking(TrackingError::StoppedDrop { .. })
    ));

    // A reset finishes the drop and applies everything again.
    execute(&mut other, &["COMMIT"]).await;
    let report = migrator
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .map_err(|e| chain(&e))
        .unwrap();
    assert_eq!(report.dropped.dropped, ["a", "schema_migrations"]);
    assert_eq!(report.applied.len(), 2);
    let status = migrator.status(&mut db).await.unwrap();
    assert_eq!(status.stopped_drop, None);
    assert!(status.is_clean(), "{status:?}");
}

/// Baseline and repair refuse while a drop's mark is in the tracking table, as migrate does:
/// they would record or settle rows of tables that may be gone. Found: both ran on.
#[tokio::test]
async fn baseline_and_repair_refuse_while_a_drop_is_unfinished() {
    let test_db = TestDb::create(Backend::Sqlite).await.unwrap();
    let set = crate::support::migrations(&[
        ("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
        ("002_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
    ]);
    let mut db = connect(&test_db).await;
    let migrator = Migrator::new(&set[..1]);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    // The mark a drop writes before its first statement (see `Tracking::mark_drop`).
    execute(
        &mut db,
        &[
            "INSERT INTO schema_migrations (version, name, checksum, execution_ms, dirty) \
           VALUES ('tt:drop', 'drop in progress', '', 0, 1)",
        ],
    )
    .await;
    let migrator = Migrator::new(&set);
    let refused = |error: Error| {
        assert!(
            matches!(
                error,
                Error::Tracking(tt_migrate::TrackingError::StoppedDrop { .. })
            ),
            "{}",
            chain(&error)
        );
        assert!(error.to_string().contains("run `tt drop`"), "{error}");
    };
    let version = tt_migrate::Version::new("002").unwrap();
    refused(migrator.baseline(&mut db, &version).await.unwrap_err());
    for dry_run in [true, false] {
        let options = tt_migrate::RepairOptions {
            dry_run,
            ..tt_migrate::RepairOptions::default()
        };
        refused(migrator.repair(&mut db, options).await.unwrap_err());
    }
    let status = migrator.status(&mut db).await.unwrap();
    assert!(status.stopped_drop.is_some(), "the mark stays: {status:?}");
    assert_eq!(status.applied.len(), 1, "nothing recorded: {status:?}");
}

/// A program that migrates and then resets on one connection, where a migration (as pg_dump
/// output does) emptied the session's `search_path`: the reset drops and rebuilds the tables
/// of the schema found at connect. Found: its DROP statements named the tables without their
/// schema, and PostgreSQL found none.
#[tokio::test]
async fn reset_after_a_migration_emptied_the_search_path_drops_the_home_schema() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let set = crate::support::migrations(&[
        (
            "001_items.sql",
            "SELECT pg_catalog.set_config('search_path', '', false);\n\
             CREATE TABLE public.items (id integer PRIMARY KEY);\n\
             CREATE TABLE public.bids (id integer PRIMARY KEY, \
             item_id integer REFERENCES public.items (id));\n\
             CREATE VIEW public.item_ids AS SELECT id FROM public.items;",
        ),
        (
            "002_more.sql",
            "SET search_path = '';\nCREATE TABLE public.more (id integer PRIMARY KEY);",
        ),
    ]);
    let mut db = connect(&test_db).await;
    let migrator = Migrator::new(&set);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    execute(
        &mut db,
        &[
            "INSERT INTO public.items VALUES (1)",
            "INSERT INTO public.bids VALUES (1, 1)",
        ],
    )
    .await;
    let report = migrator
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .map_err(|e| chain(&e.error))
        .unwrap();
    let mut dropped = report.dropped.dropped.clone();
    dropped.sort();
    assert_eq!(dropped, ["bids", "items", "more", "schema_migrations"]);
    assert_eq!(report.applied.len(), 2);
    assert_eq!(
        scalar(&mut db, "SELECT CAST(COUNT(*) AS TEXT) FROM public.items").await,
        "0",
        "the tables were dropped and made again"
    );
    let status = migrator.status(&mut db).await.unwrap();
    assert!(status.is_clean(), "{status:?}");
    assert_eq!(status.applied.len(), 2);
}
