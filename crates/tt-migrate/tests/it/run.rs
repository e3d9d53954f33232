//! Applying migrations: only pending ones, atomically, once, with located errors.

use tt_migrate::{Error, Event, FailureOutcome, Migrator, Tracking};
use tt_migrate::{LockError, PlanError};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, migrations, versions};

const ONE: (&str, &str) = (
    "001_items.sql",
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50));\nINSERT INTO items VALUES (1, 'sword');",
);
const TWO: (&str, &str) = (
    "002_stats.sql",
    "CREATE TABLE stats (id INTEGER PRIMARY KEY, value INTEGER);",
);
const THREE_BAD: (&str, &str) = (
    "003_bad.sql",
    "INSERT INTO stats VALUES (1, 10);\nINSERT INTO stats VALUES (2, 20);\nINSERT INTO itemz VALUES (3, 'x');",
);
const FOUR: (&str, &str) = ("004_more.sql", "INSERT INTO stats VALUES (4, 40);");
const FIVE: (&str, &str) = ("005_last.sql", "INSERT INTO stats VALUES (5, 50);");

fn no_events(_: Event<'_>) {}

async fn count(db: &mut tt_migrate::Database, sql: &str) -> i64 {
    let rows = db_rows(db, sql).await;
    rows[0][0].as_deref().unwrap().trim().parse().unwrap()
}

async fn db_rows(db: &mut tt_migrate::Database, sql: &str) -> Vec<Vec<Option<String>>> {
    db.fetch_text(sql).await.unwrap()
}

#[tokio::test]
async fn applies_pending_migrations_once_and_then_only_new_ones() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let first = migrations(&[ONE]);
        let report = Migrator::new(&first)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions(&report), ["001"], "{backend}");
        let again = Migrator::new(&first)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        assert!(
            again.applied.is_empty(),
            "{backend}: re-run applies nothing"
        );
        let both = migrations(&[ONE, TWO]);
        let report = Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        assert_eq!(
            versions(&report),
            ["002"],
            "{backend}: only the new file runs"
        );
        let status = Migrator::new(&both).status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        assert_eq!(status.applied.len(), 2);
        assert_eq!(
            status.applied[0].checksum.as_deref(),
            Some(both[0].up[0].checksum.as_str()),
            "{backend}: checksum recorded"
        );
        assert_eq!(
            count(&mut db, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM items").await,
            1
        );
    }
}

#[tokio::test]
async fn an_edited_applied_file_stops_the_run_naming_it() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        Migrator::new(&migrations(&[ONE]))
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let edited = migrations(&[
            (
                "001_items.sql",
                "CREATE TABLE items (id INTEGER PRIMARY KEY);",
            ),
            TWO,
        ]);
        let err = Migrator::new(&edited)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        assert!(err.applied.is_empty());
        assert!(
            matches!(err.error, Error::Plan(PlanError::ChecksumChanged { .. })),
            "{backend}: {err}"
        );
        assert!(
            err.to_string().contains("001_items.sql (version 001)"),
            "{backend}: {err}"
        );
        let status = Migrator::new(&edited).status(&mut db).await.unwrap();
        assert_eq!(status.changed.len(), 1, "{backend}");
        assert_eq!(status.pending.len(), 1, "{backend}: 002 was not applied");
    }
}

#[tokio::test]
async fn a_failing_statement_in_migration_3_of_5_keeps_1_and_2_and_rolls_back_3() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = migrations(&[ONE, TWO, THREE_BAD, FOUR, FIVE]);
        let err = Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let applied: Vec<String> = err.applied.iter().map(|a| a.version.to_string()).collect();
        assert_eq!(applied, ["001", "002"], "{backend}");
        let Error::Statement(failure) = &err.error else {
            panic!("{backend}: expected a statement failure, got {err}");
        };
        assert_eq!(failure.version.as_str(), "003");
        assert_eq!(failure.statement_number, 3, "{backend}");
        assert_eq!(failure.line, 3, "{backend}");
        assert!(failure.path.ends_with("003_bad.sql"));
        assert!(failure.code.is_some(), "{backend}");
        assert!(
            failure.message.contains("itemz"),
            "{backend}: {}",
            failure.message
        );
        assert!(
            failure.excerpt.contains("INSERT INTO itemz"),
            "{backend}: {}",
            failure.excerpt
        );
        assert!(
            failure
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("does not exist"),
            "{backend}"
        );
        assert_eq!(failure.outcome, FailureOutcome::RolledBack, "{backend}");
        if backend == Backend::Postgres {
            // PostgreSQL gives the position of `itemz`.
            assert_eq!(failure.column, 13, "{backend}");
        }
        let rendered = err.to_string();
        assert!(
            rendered.contains("--> 003_bad.sql:3:"),
            "{backend}: {rendered}"
        );
        // Statements 1 and 2 of migration 3 were rolled back with it, 4 and 5 never ran.
        assert_eq!(
            count(&mut db, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM stats").await,
            0,
            "{backend}"
        );
        let status = Migrator::new(&set).status(&mut db).await.unwrap();
        let pending: Vec<String> = status
            .pending
            .iter()
            .map(|p| p.version.to_string())
            .collect();
        assert_eq!(pending, ["003", "004", "005"], "{backend}");
        assert!(
            status.dirty.is_empty(),
            "{backend}: nothing dirty after a clean rollback"
        );
    }
}

#[tokio::test]
async fn two_runners_at_once_apply_each_migration_exactly_once() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let set = migrations(&[
            ONE,
            TWO,
            (
                "003_log.sql",
                "CREATE TABLE run_log (n INTEGER);\nINSERT INTO run_log VALUES (3);",
            ),
            ("004_log.sql", "INSERT INTO run_log VALUES (4);"),
        ]);
        let mut a = connect(&test_db).await;
        let mut b = connect(&test_db).await;
        let (ra, rb) = tokio::join!(
            async { Migrator::new(&set).run(&mut a, &mut no_events).await },
            async { Migrator::new(&set).run(&mut b, &mut no_events).await },
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let mut all = versions(&ra);
        all.extend(versions(&rb));
        all.sort();
        assert_eq!(
            all,
            ["001", "002", "003", "004"],
            "{backend}: each exactly once"
        );
        assert_eq!(
            count(&mut a, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM run_log").await,
            2,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_held_lock_times_out_naming_the_holder() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let set = migrations(&[ONE]);
        let mut holder = connect(&test_db).await;
        tt_migrate::acquire_lock(&mut holder, &Tracking::default())
            .await
            .unwrap();
        let mut waiter = connect(&test_db).await;
        let err = Migrator::new(&set)
            .run(&mut waiter, &mut no_events)
            .await
            .unwrap_err();
        assert!(
            matches!(err.error, Error::Lock(LockError::Timeout { .. })),
            "{backend}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("lock is held by another session"),
            "{message}"
        );
        if backend != Backend::Sqlite {
            // `tt-…, pid … of user …` (tt's application_name), `connection … of user@host`.
            let Error::Lock(LockError::Timeout {
                holder: Some(holder),
                ..
            }) = &err.error
            else {
                panic!("{backend}: no holder named: {message}")
            };
            assert!(
                holder.starts_with("tt-") || holder.starts_with("connection "),
                "{backend}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn migrations_that_insert_their_own_tracking_row_do_not_collide() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let insert_own = match backend {
            Backend::Mysql => {
                "INSERT IGNORE INTO schema_migrations (version, name) VALUES ('000', 'create_migration_table');"
            }
            _ => {
                "INSERT INTO schema_migrations (version, name) VALUES ('000', 'create_migration_table') ON CONFLICT (version) DO NOTHING;"
            }
        };
        let sql: &'static str = Box::leak(
            format!(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(255) PRIMARY KEY, name VARCHAR(255), applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, checksum VARCHAR(64));\n{insert_own}"
            )
            .into_boxed_str(),
        );
        let set = migrations(&[("000_create_migration_table.sql", sql), ONE]);
        let report = Migrator::new(&set)
            .run(&mut connect(&test_db).await, &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions(&report), ["000", "001"], "{backend}");
        let mut db = connect(&test_db).await;
        let status = Migrator::new(&set).status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        assert_eq!(
            status.applied[0].checksum.as_deref(),
            Some(set[0].up[0].checksum.as_str()),
            "{backend}: runner's row won"
        );
    }
}

#[tokio::test]
async fn a_dirty_mysql_row_blocks_the_next_run() {
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let set = migrations(&[
        ONE,
        (
            "002_half.sql",
            "CREATE TABLE half (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
        ),
        TWO,
    ]);
    let err = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &err.error else {
        panic!("{err}")
    };
    assert_eq!(failure.outcome, FailureOutcome::Dirty);
    assert!(err.to_string().contains("tt repair"), "{err}");
    let again = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    assert!(
        matches!(again.error, Error::Plan(PlanError::Dirty { .. })),
        "{again}"
    );
    let message = again.to_string();
    assert!(
        message.contains("migration 002 (half) is marked dirty"),
        "{message}"
    );
    assert!(message.contains("tt repair"), "{message}");
}

#[tokio::test]
async fn toml_migrations_create_tables_in_fk_order_referencing_earlier_ones() {
    const DEFINITIONS: &str = r#"
[tables.item_stats]
columns = [
  { name = "item_id", type = "integer", references = "items.id", on_delete = "cascade" },
  { name = "stat_id", type = "integer", references = "stats.id" },
  { name = "value", type = "integer", nullable = false, default = 0 },
]
primary_key = ["item_id", "stat_id"]

[tables.stats]
columns = [
  { name = "id", type = "serial", primary_key = true },
  { name = "name", type = "varchar(64)", nullable = false, unique = true },
  { name = "meta", type = "jsonb" },
]
"#;
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = migrations(&[ONE, ("002_stats.toml", DEFINITIONS)]);
        let report = Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions(&report), ["001", "002"], "{backend}");
        let live = tt_migrate::introspect(&mut db, &Default::default())
            .await
            .unwrap();
        let item_stats = live.table("item_stats").expect("item_stats created");
        let targets: Vec<&str> = item_stats
            .foreign_keys
            .iter()
            .map(|fk| fk.ref_table.as_str())
            .collect();
        assert_eq!(targets, ["items", "stats"], "{backend}");
        db.fetch_text("INSERT INTO stats (name) VALUES ('str')")
            .await
            .unwrap();
        db.fetch_text("INSERT INTO item_stats (item_id, stat_id) VALUES (1, 1)")
            .await
            .unwrap();
        let rows = db
            .fetch_text("SELECT CAST(value AS CHAR(4)) FROM item_stats")
            .await
            .unwrap();
        assert_eq!(
            rows[0][0].as_deref().map(str::trim),
            Some("0"),
            "{backend}: default applied"
        );
    }
}

#[tokio::test]
async fn a_toml_migration_with_a_bad_reference_is_refused_naming_file_and_table() {
    const BAD: &str = "[tables.x]\ncolumns = [{ name = \"y\", type = \"integer\", references = \"nowhere.id\" }]\n";
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = migrations(&[ONE, ("002_bad.toml", BAD)]);
        let err = Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("002_bad.toml") && message.contains("nowhere"),
            "{backend}: {message}"
        );
        assert_eq!(
            versions(&tt_migrate::RunReport {
                applied: err.applied.clone(),
                dry_run: false
            }),
            ["001"],
            "{backend}"
        );
        assert!(
            db.fetch_text("SELECT * FROM x").await.is_err(),
            "{backend}: nothing of 002 remains"
        );
    }
}

#[tokio::test]
async fn a_mysql_ddl_failing_after_an_insert_is_dirty_because_its_implicit_commit_kept_the_insert()
{
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    // MySQL commits the open transaction before it runs a DDL statement, even one that then
    // fails: the INSERT stays although the migration failed.
    let set = migrations(&[
        TWO,
        (
            "003_insert_then_ddl.sql",
            "INSERT INTO stats VALUES (1, 10);\nCREATE TABLE stats (id INTEGER);",
        ),
    ]);
    let err = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &err.error else {
        panic!("{err}")
    };
    assert_eq!(failure.statement_number, 2);
    assert_eq!(
        count(&mut db, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM stats").await,
        1,
        "the insert was committed by the failing CREATE TABLE"
    );
    assert_eq!(failure.outcome, FailureOutcome::Dirty, "{err}");
    let status = Migrator::new(&set).status(&mut db).await.unwrap();
    let dirty: Vec<&str> = status.dirty.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(dirty, ["003"]);
}

#[tokio::test]
async fn an_original_tinkertools_tracking_table_gains_the_runners_columns_and_keeps_its_rows() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // A database the original scripts set up: their table, their rows without checksums.
        for sql in [
            "CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY, \
             name VARCHAR(255) NOT NULL, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \
             checksum VARCHAR(64))",
            "INSERT INTO schema_migrations (version, name) VALUES ('000', 'tracking')",
            "INSERT INTO schema_migrations (version, name) VALUES ('001', 'items')",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50))",
        ] {
            db.exec(sql, &[]).await.unwrap();
        }
        let set = migrations(&[
            (
                "000_tracking.sql",
                "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(255) PRIMARY KEY);",
            ),
            ONE,
            TWO,
        ]);
        let report = Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions(&report), ["002"], "{backend}");
        let status = Migrator::new(&set).status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        let recorded: Vec<(&str, bool)> = status
            .applied
            .iter()
            .map(|a| (a.version.as_str(), a.checksum.is_some()))
            .collect();
        assert_eq!(
            recorded,
            [("000", false), ("001", false), ("002", true)],
            "{backend}"
        );
        let rows = db_rows(
            &mut db,
            "SELECT name, CAST(execution_ms AS CHAR(20)) FROM schema_migrations \
             WHERE version = '001'",
        )
        .await;
        assert_eq!(rows[0][0].as_deref(), Some("items"), "{backend}");
        assert_eq!(
            rows[0][1], None,
            "{backend}: no time for what tt did not run"
        );
    }
}

#[tokio::test]
async fn an_sqlite_statement_that_rolls_back_the_whole_run_leaves_only_what_was_committed() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    // OR ROLLBACK (like a trigger's RAISE(ROLLBACK, …)) ends the whole transaction, not only
    // the migration's savepoint: on SQLite that is the run's, which holds 004. The run
    // committed 002 before the no-transaction 003, which committed itself.
    let set = migrations(&[
        TWO,
        (
            "003_outside.sql",
            "-- tt:no-transaction\nINSERT INTO stats VALUES (3, 30);",
        ),
        ("004_inside.sql", "INSERT INTO stats VALUES (4, 40);"),
        (
            "005_conflict.sql",
            "INSERT INTO stats VALUES (5, 50);\nINSERT OR ROLLBACK INTO stats VALUES (5, 51);",
        ),
    ]);
    let err = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &err.error else {
        panic!("{err}")
    };
    assert_eq!(failure.statement_number, 2);
    let applied: Vec<String> = err.applied.iter().map(|a| a.version.to_string()).collect();
    assert_eq!(applied, ["002", "003"]);
    let status = Migrator::new(&set).status(&mut db).await.unwrap();
    let pending: Vec<String> = status
        .pending
        .iter()
        .map(|p| p.version.to_string())
        .collect();
    assert_eq!(pending, ["004", "005"], "{status:?}");
    assert_eq!(status.applied.len(), 2, "{status:?}");
    assert_eq!(
        count(&mut db, "SELECT CAST(COUNT(*) AS TEXT) FROM stats").await,
        1
    );
}

#[tokio::test]
async fn a_statement_ending_in_a_line_comment_is_not_merged_with_the_next() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // Batched, the first statement's `;` must not land inside its trailing comment.
        let set = migrations(&[
            TWO,
            (
                "003_commented.sql",
                "INSERT INTO stats VALUES (1, 10) -- the first\n;\nINSERT INTO stats VALUES (2, 20) -- the second\n;\n",
            ),
        ]);
        Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            count(&mut db, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM stats").await,
            2,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_syntax_error_in_a_later_statement_points_at_its_file_line_and_column() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // Sent in one batch: each server's position (PostgreSQL's offset in the batch,
        // MySQL's `near '…' at line N` of the statement, SQLite's `near "…"`) maps back.
        let set = migrations(&[
            TWO,
            (
                "003_typo.sql",
                "INSERT INTO stats VALUES (1, 10);\nINSERT INTO stats\n  VALUES (2, 20) oops;\n",
            ),
        ]);
        let err = Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let Error::Statement(failure) = &err.error else {
            panic!("{backend}: {err}")
        };
        assert_eq!(
            (failure.statement_number, failure.line, failure.column),
            (2, 3, 18),
            "{backend}: {err}"
        );
        assert_eq!(failure.excerpt, "  VALUES (2, 20) oops", "{backend}");
    }
}

#[tokio::test]
async fn a_lease_is_taken_over_only_after_it_expires() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let options = tt_migrate::ConnectOptions {
            lock: Some(tt_migrate::LockMode::Table),
            lock_lease: std::time::Duration::from_secs(2),
            lock_timeout: std::time::Duration::from_millis(300),
            ..tt_migrate::ConnectOptions::default()
        };
        let connect = || tt_migrate::Database::connect(test_db.url(), options.clone());
        let tracking = Tracking::default();
        let set = migrations(&[ONE]);
        // A runner takes the lock and dies without releasing it: its row stays.
        let mut dead = connect().await.unwrap();
        tt_migrate::acquire_lock(&mut dead, &tracking)
            .await
            .unwrap();
        drop(dead);

        let mut next = connect().await.unwrap();
        let err = Migrator::new(&set)
            .run(&mut next, &mut no_events)
            .await
            .unwrap_err();
        let Error::Lock(LockError::Timeout {
            holder: Some(holder),
            ..
        }) = &err.error
        else {
            panic!("{backend}: the lease is not taken over before it expires: {err}")
        };
        assert!(
            holder.contains("tt pid") && holder.contains("schema_migrations_lock"),
            "{backend}: the message names the owner and the table: {holder}"
        );

        tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
        let report = Migrator::new(&set)
            .run(&mut next, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: the expired lease is taken over: {e}"));
        assert_eq!(report.applied.len(), 1, "{backend}");

        if backend != Backend::Sqlite {
            // A live holder keeps its lease past its length: the heartbeat renews it from a
            // connection of its own while the run's is busy.
            let mut slow = connect().await.unwrap();
            tt_migrate::acquire_lock(&mut slow, &tracking)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
            let err = tt_migrate::acquire_lock(&mut next, &tracking)
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::Lock(LockError::Timeout { .. })),
                "{backend}: a renewed lease is not taken over: {err}"
            );
            // A lease that is no longer its own (taken over after it expired) is lost: the
            // holder notices at its next renewal and never renews it back.
            let mut other = connect().await.unwrap();
            other
                .exec(
                    "UPDATE schema_migrations_lock SET owner = 'another runner'",
                    &[],
                )
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            let lost = tt_migrate::renew_lock(&mut slow, &tracking)
                .await
                .unwrap_err();
            assert!(
                matches!(lost, Error::Lock(LockError::Lost { .. })),
                "{backend}: {lost}"
            );
            let rows = other
                .fetch_text("SELECT owner FROM schema_migrations_lock")
                .await
                .unwrap();
            assert_eq!(
                rows,
                [[Some("another runner".to_string())]],
                "{backend}: the heartbeat did not take the row back"
            );
            let _ = other.close().await;
        }
    }
}

/// The versions recorded in the tracking table of `url`, read on a connection of its own from
/// another thread (the run's event callback cannot wait for a query).
fn recorded_elsewhere(url: &str) -> Vec<String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut db = tt_migrate::Database::connect(&url, Default::default())
                .await
                .unwrap();
            let rows = db
                .fetch_text(
                    "SELECT version FROM schema_migrations WHERE NOT dirty ORDER BY version",
                )
                .await
                .unwrap();
            db.close().await.unwrap();
            rows.into_iter().map(|r| r[0].clone().unwrap()).collect()
        })
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn on_sqlite_a_migration_is_reported_once_it_is_committed() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    // Migrations of about a tenth of a second each, so that the run commits several groups.
    let set = migrations(&[
        (
            "001_a.sql",
            "CREATE TABLE a AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 300000) SELECT count(*) AS c FROM r;",
        ),
        (
            "002_b.sql",
            "CREATE TABLE b AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 300000) SELECT count(*) AS c FROM r;",
        ),
        ("003_c.sql", "CREATE TABLE c (id INTEGER);"),
        (
            "004_d.sql",
            "CREATE TABLE d AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 300000) SELECT count(*) AS c FROM r;",
        ),
        ("005_e.sql", "CREATE TABLE e (id INTEGER);"),
    ]);
    let url = test_db.url().to_string();
    let mut reported = Vec::new();
    // At each report: what another connection reads as recorded, by then.
    let mut seen = Vec::new();
    let report = Migrator::new(&set)
        .run(&mut db, &mut |event| {
            if let Event::Finished(applied) = event {
                reported.push(applied.version.to_string());
                seen.push((applied.version.to_string(), recorded_elsewhere(&url)));
            }
        })
        .await
        .unwrap();
    assert_eq!(versions(&report), ["001", "002", "003", "004", "005"]);
    assert_eq!(reported, versions(&report));
    for (version, recorded) in &seen {
        assert!(
            recorded.contains(version),
            "{version} was reported before it was committed: {seen:?}"
        );
    }
    // Not one transaction for the run: the first report came before the last migration ran.
    assert!(
        seen.first().is_some_and(|(_, recorded)| recorded.len() < 5),
        "{seen:?}"
    );
}

/// A migration set from SQL made at run time.
fn leaked(files: Vec<(&'static str, String)>) -> Vec<tt_migrate::Migration> {
    let files: Vec<(&'static str, &'static str)> = files
        .into_iter()
        .map(|(name, sql)| (name, &*Box::leak(sql.into_boxed_str())))
        .collect();
    migrations(&files)
}

/// Runs `set` on `url`, then checks on fresh connections that every migration is recorded
/// where tt started, and that the lock is free.
async fn run_and_check_records(url: &str, set: &[tt_migrate::Migration], context: &str) {
    let options = || tt_migrate::ConnectOptions {
        lock_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let mut db = tt_migrate::Database::connect(url, options()).await.unwrap();
    let report = Migrator::new(set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(versions(&report), ["001", "002"], "{context}");
    let mut fresh = tt_migrate::Database::connect(url, options()).await.unwrap();
    let status = Migrator::new(set).status(&mut fresh).await.unwrap();
    assert_eq!(status.applied.len(), 2, "{context}: {status:?}");
    assert!(status.pending.is_empty(), "{context}: {status:?}");
    // The lock was released where it was taken: another runner gets it at once.
    let again = Migrator::new(set)
        .run(&mut fresh, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    assert!(again.applied.is_empty(), "{context}");
    db.close().await.unwrap();
    fresh.close().await.unwrap();
}

#[tokio::test]
async fn a_migration_that_empties_the_search_path_does_not_move_tt_s_records() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    for (how, set_path) in [
        ("SET", "SET search_path = ''"),
        ("SET LOCAL", "SET LOCAL search_path = ''"),
    ] {
        let mut admin = connect(&test_db).await;
        admin
            .fetch_text("DROP TABLE IF EXISTS public.schema_migrations, public.t2")
            .await
            .unwrap();
        admin.close().await.unwrap();
        let set = leaked(vec![
            ("001_path.sql", format!("{set_path};")),
            (
                "002_t2.sql",
                "CREATE TABLE public.t2 (id INTEGER);".to_string(),
            ),
        ]);
        run_and_check_records(test_db.url(), &set, &format!("PostgreSQL, {how}")).await;
    }
    // Through a transaction pooler, where the session is not tt's alone: `SET LOCAL` only,
    // so that nothing stays behind on the pooled server session.
    if let Some(url) = test_db.through_pgbouncer(tt_testdb::PoolMode::Transaction) {
        let mut admin = connect(&test_db).await;
        admin
            .fetch_text("DROP TABLE public.schema_migrations, public.t2")
            .await
            .unwrap();
        admin.close().await.unwrap();
        let set = leaked(vec![
            ("001_path.sql", "SET LOCAL search_path = '';".to_string()),
            (
                "002_t2.sql",
                "CREATE TABLE public.t2 (id INTEGER);".to_string(),
            ),
        ]);
        run_and_check_records(&url, &set, "PgBouncer, SET LOCAL").await;
    }
}

/// After a migration emptied the search path, tt still sees the tables it manages (the check
/// after a reset read the catalog of `current_schema()`, which is then none).
#[tokio::test]
async fn after_a_migration_that_empties_the_search_path_tt_finds_its_tables() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let set = leaked(vec![
        (
            "001_t1.sql",
            "CREATE TABLE public.t1 (id INTEGER PRIMARY KEY);".to_string(),
        ),
        ("002_path.sql", "SET search_path = '';".to_string()),
        (
            "003_t2.sql",
            "CREATE TABLE public.t2 (id INTEGER REFERENCES public.t1 (id));".to_string(),
        ),
    ]);
    let migrator = Migrator::new(&set);
    let mut db = connect(&test_db).await;
    migrator.run(&mut db, &mut no_events).await.unwrap();
    let missing = migrator
        .missing_managed_tables(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(missing.is_empty(), "{missing:?}");
}

#[tokio::test]
async fn a_mysql_migration_that_uses_another_database_does_not_move_tt_s_records() {
    let (Some(home), Some(other)) = (
        TestDb::create(Backend::Mysql).await,
        TestDb::create(Backend::Mysql).await,
    ) else {
        return;
    };
    let set = leaked(vec![
        ("001_use.sql", format!("USE `{}`;", other.name())),
        (
            "002_t2.sql",
            format!("CREATE TABLE `{}`.t2 (id INTEGER);", home.name()),
        ),
    ]);
    run_and_check_records(home.url(), &set, "MariaDB, USE").await;
    // A failure after a `USE`: tt takes back its dirty mark with a statement it has not sent
    // before on that connection, in the database it started in.
    let mut set = set;
    set.extend(leaked(vec![
        ("003_use.sql", format!("USE `{}`;", other.name())),
        (
            "004_bad.sql",
            "INSERT INTO missing_table VALUES (1);".to_string(),
        ),
    ]));
    let mut db = connect(&home).await;
    let err = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    assert!(matches!(err.error, Error::Statement(_)), "{err}");
    assert_eq!(
        err.applied
            .iter()
            .map(|a| a.version.to_string())
            .collect::<Vec<_>>(),
        ["003"]
    );
    let mut fresh = connect(&home).await;
    let status = Migrator::new(&set).status(&mut fresh).await.unwrap();
    assert_eq!(status.applied.len(), 3, "{status:?}");
    assert!(status.dirty.is_empty(), "{status:?}");
    assert_eq!(status.pending.len(), 1, "{status:?}");
    let mut db = connect(&other).await;
    let tables = db
        .fetch_text(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE()",
        )
        .await
        .unwrap();
    assert!(
        tables.is_empty(),
        "tt wrote into the other database: {tables:?}"
    );
}

#[tokio::test]
async fn an_up_to_date_run_does_not_wait_for_the_lock_but_one_with_work_does() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let one = migrations(&[ONE]);
        let mut db = connect(&test_db).await;
        Migrator::new(&one)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let mut holder = connect(&test_db).await;
        tt_migrate::acquire_lock(&mut holder, &Tracking::default())
            .await
            .unwrap();
        let report = Migrator::new(&one)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|err| panic!("{backend}: {err}"));
        assert!(report.applied.is_empty(), "{backend}");
        let both = migrations(&[ONE, TWO]);
        let err = Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.error,
                Error::Lock(tt_migrate::LockError::Timeout { .. })
            ),
            "{backend}: {err}"
        );
    }
}

#[tokio::test]
async fn a_dirty_row_or_a_changed_file_is_not_taken_for_up_to_date() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let both = migrations(&[ONE, TWO]);
        let mut db = connect(&test_db).await;
        Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let changed = migrations(&[ONE, ("002_stats.sql", "CREATE TABLE stats (id INTEGER);")]);
        let err = Migrator::new(&changed)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.error,
                Error::Plan(tt_migrate::PlanError::ChecksumChanged { .. })
            ),
            "{backend}: {err}"
        );
        db.exec(
            "UPDATE schema_migrations SET dirty = ? WHERE version = ?",
            &[true.into(), "002".into()],
        )
        .await
        .unwrap();
        // A dirty row may be another runner's migration half-way: wait for its lock first.
        let mut holder = connect(&test_db).await;
        tt_migrate::acquire_lock(&mut holder, &Tracking::default())
            .await
            .unwrap();
        let err = Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.error,
                Error::Lock(tt_migrate::LockError::Timeout { .. })
            ),
            "{backend}: {err}"
        );
        tt_migrate::release_lock(&mut holder, &Tracking::default())
            .await
            .unwrap();
        let err = Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        assert!(
            matches!(err.error, Error::Plan(tt_migrate::PlanError::Dirty { .. })),
            "{backend}: {err}"
        );
    }
}

#[tokio::test]
async fn an_up_to_date_run_reads_the_tracking_table_and_nothing_else() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let both = migrations(&[ONE, TWO]);
        let mut db = connect(&test_db).await;
        Migrator::new(&both)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let mut fresh = connect(&test_db).await;
        let report = Migrator::new(&both)
            .run(&mut fresh, &mut no_events)
            .await
            .unwrap();
        assert!(report.applied.is_empty(), "{backend}");
        // Connecting reads the schema tt works in (SQLite has none); the run reads the
        // table's columns, then its rows. No lock, and no pooler probe, whose query on this
        // connection comes with a second connection.
        let schema = u64::from(backend != Backend::Sqlite);
        assert_eq!(fresh.queries_run(), schema + 2, "{backend}");
    }
}
