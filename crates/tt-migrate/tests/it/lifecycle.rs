//! The rest of a migration's life: rollback, baseline, repair and out-of-order files.

use std::path::{Path, PathBuf};
use tt_migrate::PlanError;

use tt_migrate::{
    DirtyResolution, DownOptions, DownTarget, Error, Event, FailureOutcome, MigrationSet, Migrator,
    PlanOptions, RepairOptions, Tracking, Value, Version,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, migrations};

fn no_events(_: Event<'_>) {}

/// A migrations directory holding `files`.
fn directory(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn load(dir: &Path) -> MigrationSet {
    MigrationSet::load(dir).unwrap()
}

fn v(text: &str) -> Version {
    Version::new(text).unwrap()
}

fn down(target: DownTarget) -> DownOptions {
    DownOptions {
        target,
        dry_run: false,
    }
}

async fn tables(db: &mut tt_migrate::Database) -> Vec<String> {
    let live = tt_migrate::introspect(db, &Default::default())
        .await
        .unwrap();
    live.table_names()
        .filter(|t| *t != "schema_migrations")
        .map(str::to_string)
        .collect()
}

fn versions_of(applied: &[tt_migrate::Applied]) -> Vec<&str> {
    applied.iter().map(|a| a.version.as_str()).collect()
}

const LINEAR: &[(&str, &str)] = &[
    (
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);",
    ),
    ("001_items.down.sql", "DROP TABLE items;"),
    (
        "002_stats.sql",
        "CREATE TABLE stats (id INTEGER PRIMARY KEY);",
    ),
    ("002_stats.down.sql", "DROP TABLE stats;"),
    (
        "003_seed.sql",
        "INSERT INTO items VALUES (1);\nINSERT INTO stats VALUES (1);",
    ),
    (
        "003_seed.down.sql",
        "DELETE FROM stats;\nDELETE FROM items;",
    ),
];

#[tokio::test]
async fn down_rolls_back_newest_first_by_steps_and_to_a_version() {
    let dir = directory(LINEAR);
    let set = load(dir.path());
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();

        let dry = migrator
            .down(
                &mut db,
                &DownOptions {
                    target: DownTarget::Steps(2),
                    dry_run: true,
                },
                &mut no_events,
            )
            .await
            .unwrap();
        assert!(dry.dry_run);
        assert_eq!(versions_of(&dry.rolled_back), ["003", "002"], "{backend}");
        assert_eq!(
            tables(&mut db).await,
            ["items", "stats"],
            "{backend}: dry run changes nothing"
        );

        let mut events = Vec::new();
        let one = migrator
            .down(&mut db, &down(DownTarget::default()), &mut |event| {
                if let Event::RolledBack(done) = event {
                    events.push(done.version.to_string());
                }
            })
            .await
            .unwrap();
        assert_eq!(versions_of(&one.rolled_back), ["003"], "{backend}");
        assert_eq!(events, ["003"], "{backend}");
        let status = migrator.status(&mut db).await.unwrap();
        let pending: Vec<&str> = status.pending.iter().map(|p| p.version.as_str()).collect();
        assert_eq!(pending, ["003"], "{backend}: its row went with it");

        let to = migrator
            .down(&mut db, &down(DownTarget::To(v("001"))), &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions_of(&to.rolled_back), ["002"], "{backend}");
        assert_eq!(tables(&mut db).await, ["items"], "{backend}");

        let nothing = migrator
            .down(&mut db, &down(DownTarget::To(v("001"))), &mut no_events)
            .await
            .unwrap();
        assert!(nothing.rolled_back.is_empty(), "{backend}");
        migrator.run(&mut db, &mut no_events).await.unwrap();
        assert!(
            migrator.status(&mut db).await.unwrap().is_clean(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_migration_without_down_stops_the_rollback_before_it_naming_it() {
    let dir = directory(&[
        LINEAR[0],
        LINEAR[1],
        (
            "002_stats.sql",
            "CREATE TABLE stats (id INTEGER PRIMARY KEY);",
        ),
        LINEAR[4],
        LINEAR[5],
    ]);
    let set = load(dir.path());
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();
        let dry = migrator
            .down(
                &mut db,
                &DownOptions {
                    target: DownTarget::All,
                    dry_run: true,
                },
                &mut no_events,
            )
            .await
            .unwrap();
        assert_eq!(versions_of(&dry.rolled_back), ["003"]);
        assert_eq!(dry.stopped_before.map(|s| s.version), Some(v("002")));
        let err = migrator
            .down(&mut db, &down(DownTarget::All), &mut no_events)
            .await
            .unwrap_err();
        assert_eq!(
            versions_of(&err.applied),
            ["003"],
            "{backend}: newer ones rolled back"
        );
        assert!(
            matches!(err.error, Error::Plan(PlanError::NoDown { .. })),
            "{backend}: {err}"
        );
        assert_eq!(
            err.to_string(),
            "migration 002 (stats) has no down file: the rollback stopped before it (write one, \
             or roll back to a later version with --to)"
        );
        assert_eq!(tables(&mut db).await, ["items", "stats"], "{backend}");
    }
}

#[tokio::test]
async fn a_toml_migration_rolls_back_by_dropping_its_tables_children_first() {
    const DEFINITIONS: &str = r#"
[tables.item_stats]
columns = [
  { name = "item_id", type = "integer", references = "items.id", on_delete = "cascade" },
  { name = "stat_id", type = "integer", references = "stats.id" },
]
primary_key = ["item_id", "stat_id"]

[tables.stats]
columns = [
  { name = "id", type = "serial", primary_key = true },
  { name = "name", type = "varchar(64)", nullable = false },
]
"#;
    let dir = directory(&[LINEAR[0], LINEAR[1], ("002_stats.toml", DEFINITIONS)]);
    let set = load(dir.path());
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(
            tables(&mut db).await,
            ["item_stats", "items", "stats"],
            "{backend}"
        );
        let report = migrator
            .down(&mut db, &down(DownTarget::Steps(1)), &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(versions_of(&report.rolled_back), ["002"]);
        assert_eq!(
            tables(&mut db).await,
            ["items"],
            "{backend}: the earlier table stays"
        );
        migrator.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(
            tables(&mut db).await,
            ["item_stats", "items", "stats"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_failing_down_keeps_the_migration_applied() {
    let dir = directory(&[
        LINEAR[0],
        // Not DDL: MySQL would commit the DELETE before running it (see run.rs's test of
        // that).
        (
            "001_items.down.sql",
            "DELETE FROM items;\nINSERT INTO nowhere VALUES (1);",
        ),
    ]);
    let set = load(dir.path());
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();
        db.exec("INSERT INTO items (id) VALUES (1)", &[])
            .await
            .unwrap();
        let err = migrator
            .down(&mut db, &down(DownTarget::All), &mut no_events)
            .await
            .unwrap_err();
        let Error::Statement(failure) = &err.error else {
            panic!("{backend}: {err}")
        };
        assert!(failure.path.ends_with("001_items.down.sql"), "{backend}");
        assert_eq!(failure.statement_number, 2, "{backend}");
        assert_eq!(failure.outcome, FailureOutcome::StillApplied, "{backend}");
        assert!(
            err.to_string().contains("stays applied"),
            "{backend}: {err}"
        );
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(status.applied.len(), 1, "{backend}");
        assert!(status.dirty.is_empty(), "{backend}");
        let rows = db.fetch("SELECT id FROM items", &[]).await.unwrap();
        assert_eq!(rows, [[Value::Int(1)]], "{backend}: the DELETE was undone");
    }
}

#[tokio::test]
async fn a_rollback_that_fails_part_way_still_lets_the_repeatable_migrations_run_again() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let mut set = migrations(&[
        ("001_items.sql", "CREATE TABLE items (id INTEGER);"),
        ("002_stats.sql", "CREATE TABLE stats (id INTEGER);"),
    ]);
    let downs = migrations(&[
        ("001_items.sql", "INSERT INTO nowhere VALUES (1);"),
        ("002_stats.sql", "DROP TABLE stats;"),
    ]);
    for (migration, down) in set.iter_mut().zip(downs) {
        migration.down = down.up;
    }
    let mut repeatable =
        migrations(&[("1_counts.sql", "CREATE TABLE IF NOT EXISTS c (n INTEGER);")]);
    repeatable[0].version = Version::repeatable("counts");
    let migrator = Migrator::new(&set).repeatable(&repeatable);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    let err = migrator
        .down(&mut db, &down(DownTarget::All), &mut no_events)
        .await
        .unwrap_err();
    assert!(matches!(err.error, Error::Statement(_)), "{err}");
    assert_eq!(versions_of(&err.applied), ["002"]);
    let status = migrator.status(&mut db).await.unwrap();
    let due: Vec<&str> = status
        .repeatable_pending
        .iter()
        .map(|p| p.version.as_str())
        .collect();
    assert_eq!(due, ["R__counts"], "{status:?}");
}

#[tokio::test]
async fn a_mysql_down_that_fails_after_ddl_is_dirty_and_repair_settles_it() {
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let dir = directory(&[
        LINEAR[0],
        LINEAR[1],
        LINEAR[2],
        (
            "002_stats.down.sql",
            "DROP TABLE stats;\nDROP TABLE nowhere;",
        ),
    ]);
    let set = load(dir.path());
    let mut db = connect(&test_db).await;
    let migrator = Migrator::for_set(&set);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    let err = migrator
        .down(&mut db, &down(DownTarget::Steps(1)), &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &err.error else {
        panic!("{err}")
    };
    assert_eq!(failure.outcome, FailureOutcome::PartlyRolledBack);
    assert!(err.to_string().contains("tt repair"), "{err}");
    let status = migrator.status(&mut db).await.unwrap();
    assert_eq!(status.dirty.len(), 1);
    let again = migrator
        .down(&mut db, &down(DownTarget::Steps(1)), &mut no_events)
        .await
        .unwrap_err();
    assert!(
        matches!(again.error, Error::Plan(PlanError::Dirty { .. })),
        "{again}"
    );

    // The person finished the rollback by hand; the migration is to run again.
    let options = RepairOptions {
        dirty: DirtyResolution::Pending,
        dry_run: false,
    };
    let report = migrator.repair(&mut db, options).await.unwrap();
    assert_eq!(report.dirty.len(), 1);
    assert_eq!(report.dirty[0].version, "002");
    let status = migrator.status(&mut db).await.unwrap();
    let pending: Vec<&str> = status.pending.iter().map(|p| p.version.as_str()).collect();
    assert_eq!(pending, ["002"]);
    migrator.run(&mut db, &mut no_events).await.unwrap();
    assert!(migrator.status(&mut db).await.unwrap().is_clean());
}

#[tokio::test]
async fn repair_clears_dirty_rows_and_records_changed_checksums_listing_each() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = directory(LINEAR);
        let mut db = connect(&test_db).await;
        Migrator::for_set(&load(dir.path()))
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        // A file edited after it ran, and a row a failed run left dirty.
        let edited: PathBuf = dir.path().join("002_stats.sql");
        std::fs::write(
            &edited,
            "CREATE TABLE stats (id INTEGER PRIMARY KEY); -- comment",
        )
        .unwrap();
        Tracking::default()
            .set_dirty(&mut db, "003", true)
            .await
            .unwrap();
        let set = load(dir.path());
        let migrator = Migrator::for_set(&set);
        let err = migrator.run(&mut db, &mut no_events).await.unwrap_err();
        assert!(
            matches!(err.error, Error::Plan(PlanError::Dirty { .. })),
            "{backend}: {err}"
        );

        let dry = migrator
            .repair(
                &mut db,
                RepairOptions {
                    dry_run: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(dry.dry_run && !dry.is_empty());
        assert!(
            !migrator.status(&mut db).await.unwrap().is_clean(),
            "{backend}: dry run"
        );

        let report = migrator
            .repair(&mut db, RepairOptions::default())
            .await
            .unwrap();
        assert_eq!(report.dirty.len(), 1, "{backend}");
        assert_eq!(report.dirty[0].version, "003");
        let changed: Vec<&str> = report
            .checksums
            .iter()
            .map(|c| c.version.as_str())
            .collect();
        assert_eq!(changed, ["002"], "{backend}");
        assert!(report.checksums[0].recorded.is_some());
        assert_eq!(
            report.checksums[0].actual,
            set.get(&v("002")).unwrap().up[0].checksum.as_str()
        );
        let status = migrator.status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        let again = migrator
            .repair(&mut db, RepairOptions::default())
            .await
            .unwrap();
        assert!(again.is_empty(), "{backend}: nothing left to repair");
    }
}

#[tokio::test]
async fn a_baseline_reaching_a_migration_without_a_file_here_records_nothing() {
    let dir = directory(&[
        LINEAR[0],
        (
            "002_search.postgres.sql",
            "CREATE INDEX items_id ON items (id);",
        ),
    ]);
    let set = load(dir.path());
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let migrator = Migrator::for_set(&set);
    let err = migrator.baseline(&mut db, &v("002")).await.unwrap_err();
    assert!(
        matches!(err, Error::Plan(PlanError::NoVariant { .. })),
        "{err}"
    );
    let status = migrator.status(&mut db).await.unwrap();
    assert!(
        status.applied.is_empty(),
        "001 was not recorded: {status:?}"
    );
}

#[tokio::test]
async fn baseline_marks_versions_applied_without_running_them() {
    let dir = directory(LINEAR);
    let set = load(dir.path());
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        // The database already has the schema of 001 and 002.
        db.fetch_text("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        db.fetch_text("CREATE TABLE stats (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let migrator = Migrator::for_set(&set);
        let err = migrator.baseline(&mut db, &v("7")).await.unwrap_err();
        assert!(
            matches!(err, Error::Plan(PlanError::UnknownVersion(_))),
            "{backend}: {err}"
        );
        let report = migrator.baseline(&mut db, &v("002")).await.unwrap();
        let recorded: Vec<&str> = report.recorded.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(recorded, ["001", "002"], "{backend}");
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(
            status.applied[1].checksum.as_deref(),
            Some(set.get(&v("002")).unwrap().up[0].checksum.as_str()),
            "{backend}: checksums recorded"
        );
        let run = migrator.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(
            versions_of(&run.applied),
            ["003"],
            "{backend}: only 003 ran"
        );
        let again = migrator.baseline(&mut db, &v("003")).await.unwrap();
        assert!(
            again.recorded.is_empty(),
            "{backend}: recorded rows stay as they are"
        );
    }
}

#[tokio::test]
async fn an_out_of_order_file_is_reported_by_status_and_refused_unless_allowed() {
    const THREE: (&str, &str) = ("003_more.sql", "CREATE TABLE more_things (id INTEGER);");
    let first = directory(&[LINEAR[0], THREE]);
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        Migrator::for_set(&load(first.path()))
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let between = ("002_between.sql", "CREATE TABLE between_them (id INTEGER);");
        let later = directory(&[LINEAR[0], between, THREE]);
        let set = load(later.path());
        let migrator = Migrator::for_set(&set);
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(status.out_of_order, [v("002")], "{backend}: {status:?}");
        let err = migrator.run(&mut db, &mut no_events).await.unwrap_err();
        assert!(
            matches!(err.error, Error::Plan(PlanError::OutOfOrder { .. })),
            "{backend}: {err}"
        );
        assert!(err.to_string().contains("--allow-out-of-order"), "{err}");
        let allowed = Migrator::for_set(&set).plan_options(PlanOptions {
            allow_out_of_order: true,
            ..PlanOptions::default()
        });
        let report = allowed.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(versions_of(&report.applied), ["002"], "{backend}");
        assert!(
            migrator.status(&mut db).await.unwrap().is_clean(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn the_tinkertools_migrations_roll_back_to_000_and_forward_again() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let set = MigrationSet::load(&dir).expect("the repository's migrations load");
    let first = set.iter().next().unwrap().version.clone();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        migrator
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let full = tables(&mut db).await;
        let report = migrator
            .down(
                &mut db,
                &down(DownTarget::To(first.clone())),
                &mut no_events,
            )
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(report.rolled_back.len(), set.len() - 1, "{backend}");
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(status.applied.len(), 1, "{backend}: only {first} stays");
        migrator
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(tables(&mut db).await, full, "{backend}");
        assert!(
            migrator.status(&mut db).await.unwrap().is_clean(),
            "{backend}"
        );
    }
}
