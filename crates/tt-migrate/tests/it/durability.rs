//! On PostgreSQL a run waits for the disk once, not once per migration, and never returns early.

use tt_migrate::{Event, Migrator};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, migrations};

fn no_events(_: Event<'_>) {}

async fn rows(db: &mut tt_migrate::Database, sql: &str) -> Vec<Vec<String>> {
    db.fetch_text(sql)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
        .collect()
}

#[tokio::test]
async fn only_the_last_migration_of_a_run_waits_for_the_disk() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let server = rows(&mut db, "SELECT current_setting('synchronous_commit')").await;
    let server = server[0][0].as_str();
    let set = migrations(&[
        (
            "001_seen.sql",
            "CREATE TABLE seen (version TEXT, setting TEXT);\n\
             INSERT INTO seen VALUES ('001', current_setting('synchronous_commit'));",
        ),
        (
            "002_seen.sql",
            "INSERT INTO seen VALUES ('002', current_setting('synchronous_commit'));",
        ),
        (
            "003_seen.sql",
            "INSERT INTO seen VALUES ('003', current_setting('synchronous_commit'));",
        ),
    ]);
    Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap();
    assert_eq!(
        rows(
            &mut db,
            "SELECT version, setting FROM seen ORDER BY version"
        )
        .await,
        [["001", "off"], ["002", "off"], ["003", server]]
    );
    // The setting was local to each migration's transaction.
    assert_eq!(
        rows(&mut db, "SELECT current_setting('synchronous_commit')").await,
        [[server]]
    );
}

#[tokio::test]
async fn a_failed_run_flushes_the_migrations_it_applied_before_returning() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let set = migrations(&[
        (
            "001_mark.sql",
            "CREATE TABLE mark (lsn pg_lsn);\n\
             INSERT INTO mark VALUES (pg_current_wal_insert_lsn());",
        ),
        ("002_bad.sql", "INSERT INTO nowhere VALUES (1);"),
    ]);
    let err = Migrator::new(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    assert_eq!(err.applied.len(), 1, "{err}");
    // 001 committed lazily, expecting 002's commit to flush it; 002 failed, so the run
    // flushed before returning, and the WAL is on disk past everything 001 wrote.
    assert_eq!(
        rows(
            &mut db,
            "SELECT CAST(pg_current_wal_flush_lsn() >= lsn AS TEXT) FROM mark"
        )
        .await,
        [["true"]]
    );
    // Other sessions' commits flush the WAL too, so the check above may pass by luck: the
    // run must have committed a write of its own (001's tracking row, rewritten) after 001.
    assert_eq!(
        rows(
            &mut db,
            "SELECT CAST(CAST(m.xmin AS TEXT) = CAST(t.xmin AS TEXT) AS TEXT) \
             FROM mark m, schema_migrations t WHERE t.version = '001'"
        )
        .await,
        [["false"]]
    );
}
