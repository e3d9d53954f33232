//! `tt diff --sql`: the fix-up DDL applied to a drifted database makes verify pass again.

use tt_migrate::Tracking;
use tt_schema::Backend;
use tt_testdb::TestDb;
use tt_verify::{ExpectedSource, expected_schema, fix_script, live_schema};

use crate::support::{Drift, connect, failures, migrate, run, shop, verify_all};

#[tokio::test]
async fn the_fix_script_brings_a_drifted_database_back_to_the_expected_schema() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = shop();
        migrate(&mut db, &set).await;
        let drifts: &[Drift] = match backend {
            Backend::Postgres | Backend::Mysql => &[
                Drift::DroppedIndex,
                Drift::AlteredColumnType,
                Drift::ExtraTable,
                Drift::MissingForeignKey,
            ],
            // The other drifts need a table rebuild on SQLite (see below).
            Backend::Sqlite => &[Drift::DroppedIndex, Drift::ExtraTable],
        };
        for drift in drifts {
            run(&mut db, &drift.sql(backend)).await;
        }
        assert!(!verify_all(&mut db, &set).await.ok, "{backend}: drifted");

        let tracking = Tracking::default();
        let expected = expected_schema(
            &mut db,
            ExpectedSource::Migrations(set.as_slice()),
            &tracking,
        )
        .await
        .unwrap();
        let live = live_schema(&mut db, &tracking).await.unwrap();
        let fix = fix_script(&expected, &live, backend);
        assert!(fix.manual.is_empty(), "{backend}: {:?}", fix.manual);
        run(&mut db, &fix.to_sql()).await;
        let report = verify_all(&mut db, &set).await;
        assert!(
            report.ok,
            "{backend}: {:#?}\n{}",
            failures(&report),
            fix.to_sql()
        );
    }
}

#[tokio::test]
async fn on_sqlite_a_change_that_needs_a_table_rebuild_is_a_manual_note_not_wrong_sql() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let set = shop();
    migrate(&mut db, &set).await;
    run(&mut db, &Drift::AlteredColumnType.sql(Backend::Sqlite)).await;
    let tracking = Tracking::default();
    let expected = expected_schema(
        &mut db,
        ExpectedSource::Migrations(set.as_slice()),
        &tracking,
    )
    .await
    .unwrap();
    let live = live_schema(&mut db, &tracking).await.unwrap();
    let fix = fix_script(&expected, &live, Backend::Sqlite);
    assert!(fix.statements.is_empty(), "{:?}", fix.statements);
    assert_eq!(
        fix.manual,
        [
            "sqlite cannot change the type of column `tag` on table `tags` in place; it needs a \
          table rebuild (create a new table, copy the rows, drop the old one), which tt does \
          not generate"
        ]
    );
    assert!(
        fix.to_sql()
            .starts_with("-- manual: sqlite cannot change the type")
    );
}
