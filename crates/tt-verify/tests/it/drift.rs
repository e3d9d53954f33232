//! Each kind of drift makes the right check fail with a message naming the object.

use tt_schema::Backend;
use tt_testdb::TestDb;
use tt_verify::CheckId;

use crate::support::{Drift, connect, failures, migrate, run, shop, verify_all, verify_with};

#[tokio::test]
async fn a_clean_database_passes_every_check() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = shop();
        migrate(&mut db, &set).await;
        let report = verify_all(&mut db, &set).await;
        assert!(report.ok, "{backend}: {:#?}", failures(&report));
        let ids: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CheckId::ALL, "{backend}");
        assert_eq!(
            report.check(CheckId::Smoke).unwrap().summary,
            "2 essential table(s) tried, every insert rolled back",
            "{backend}"
        );
        assert_eq!(
            report.check(CheckId::Data).unwrap().summary,
            "2 foreign key(s) checked",
            "{backend}"
        );
    }
}

/// Applies `drift` to a freshly migrated shop database on every backend and checks that only
/// `check` fails, with a problem of `kind` whose message contains `needle`.
async fn check_drift(drift: Drift, check: CheckId, kind: &str, needle: impl Fn(Backend) -> String) {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = shop();
        migrate(&mut db, &set).await;
        run(&mut db, &drift.sql(backend)).await;
        let report = verify_all(&mut db, &set).await;
        let failed: Vec<CheckId> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.id)
            .collect();
        assert_eq!(
            failed,
            [check],
            "{backend} {drift:?}: {:#?}",
            failures(&report)
        );
        assert!(!report.ok);
        let problems = &report.check(check).unwrap().problems;
        let needle = needle(backend);
        assert!(
            problems
                .iter()
                .any(|p| p.kind == kind && p.message.contains(&needle)),
            "{backend} {drift:?}: no {kind} problem containing {needle:?} in {problems:#?}"
        );
    }
}

#[tokio::test]
async fn a_dropped_index_fails_schema() {
    check_drift(
        Drift::DroppedIndex,
        CheckId::Schema,
        "missing_index",
        |_| "items: missing index idx_items_name (name)".into(),
    )
    .await;
}

#[tokio::test]
async fn an_altered_column_type_fails_schema() {
    check_drift(
        Drift::AlteredColumnType,
        CheckId::Schema,
        "column_type",
        |_| "tags.tag: type varchar(32) expected, varchar(64) found".into(),
    )
    .await;
}

#[tokio::test]
async fn an_extra_table_fails_schema() {
    check_drift(Drift::ExtraTable, CheckId::Schema, "extra_table", |_| {
        "extra_stuff: extra table".into()
    })
    .await;
}

#[tokio::test]
async fn a_missing_foreign_key_fails_schema() {
    check_drift(
        Drift::MissingForeignKey,
        CheckId::Schema,
        "missing_foreign_key",
        |_| "tags: missing foreign key (item_id) -> items(id) on delete CASCADE".into(),
    )
    .await;
}

#[tokio::test]
async fn a_dirty_row_fails_tracking() {
    check_drift(Drift::DirtyRow, CheckId::Tracking, "dirty", |_| {
        "migration 003 (tags) is marked dirty".into()
    })
    .await;
}

#[tokio::test]
async fn orphan_rows_loaded_with_checks_off_fail_data() {
    check_drift(Drift::OrphanRows, CheckId::Data, "orphan_rows", |backend| {
        let name = match backend {
            Backend::Sqlite => "fk_tags_item_id",
            Backend::Postgres | Backend::Mysql => "fk_tags_item",
        };
        format!(
            "tags(item_id): 1 row(s) reference missing items(id) (e.g. 999), foreign key {name}"
        )
    })
    .await;
}

#[tokio::test]
async fn an_edited_applied_migration_fails_tracking_naming_the_file() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(crate::support::fixture("shop")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let mut db = connect(&test_db).await;
        let set = tt_migrate::MigrationSet::load(dir.path()).unwrap();
        migrate(&mut db, &set).await;
        let edited = dir.path().join("002_index.sql");
        let text = std::fs::read_to_string(&edited).unwrap();
        std::fs::write(&edited, format!("-- tweaked after it ran\n{text}")).unwrap();
        let set = tt_migrate::MigrationSet::load(dir.path()).unwrap();
        let report = verify_all(&mut db, &set).await;
        let failed: Vec<CheckId> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.id)
            .collect();
        assert_eq!(
            failed,
            [CheckId::Tracking],
            "{backend}: {:#?}",
            failures(&report)
        );
        let problem = &report.check(CheckId::Tracking).unwrap().problems[0];
        assert_eq!(problem.kind, "changed");
        assert_eq!(problem.object.as_deref(), Some("002"));
        assert!(
            problem
                .message
                .starts_with("migration 002 (index) was edited after it ran: ")
                && problem.message.contains("002_index.sql"),
            "{backend}: {}",
            problem.message
        );
    }
}

#[tokio::test]
async fn only_the_chosen_check_runs() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = shop();
        migrate(&mut db, &set).await;
        run(&mut db, &Drift::ExtraTable.sql(backend)).await;
        let expected = tt_verify::ExpectedSource::Migrations(set.as_slice());
        let report = verify_with(&mut db, &set, expected, &[CheckId::Tracking]).await;
        assert!(report.ok, "{backend}: the schema drift is not looked at");
        let ids: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, [CheckId::Tracking]);
        let report = verify_with(&mut db, &set, expected, &[CheckId::Schema]).await;
        assert!(!report.ok, "{backend}");
    }
}

#[tokio::test]
async fn a_clean_database_in_a_configured_postgres_schema_passes() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut admin = connect(&test_db).await;
    run(&mut admin, "CREATE SCHEMA shop").await;
    let options = tt_migrate::ConnectOptions {
        postgres_schema: Some("shop".into()),
        ..tt_migrate::ConnectOptions::default()
    };
    let mut db = tt_migrate::Database::connect(test_db.url(), options)
        .await
        .unwrap();
    let set = shop();
    migrate(&mut db, &set).await;
    let report = verify_all(&mut db, &set).await;
    assert!(report.ok, "{:#?}", failures(&report));
    let public = tt_migrate::introspect(&mut admin, &Default::default())
        .await
        .unwrap();
    assert!(public.is_empty(), "nothing went to public: {public:?}");
}

#[tokio::test]
async fn a_protected_database_was_reported_as_drifted_and_the_fix_dropped_its_mark() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let set = shop();
        migrate(&mut db, &set).await;
        tt_migrate::protect(&mut db, Some("production"))
            .await
            .unwrap();
        let report = verify_all(&mut db, &set).await;
        assert!(report.ok, "{backend}: {:#?}", failures(&report));

        let tracking = tt_migrate::Tracking::default();
        let live = tt_verify::live_schema(&mut db, &tracking).await.unwrap();
        assert!(
            !live.contains(tt_migrate::PROTECTION_TABLE),
            "{backend}: the mark is not part of the schema (nor of a dump)"
        );
        let expected = tt_verify::expected_schema(
            &mut db,
            tt_verify::ExpectedSource::Migrations(set.as_slice()),
            &tracking,
        )
        .await
        .unwrap();
        let fix = tt_verify::fix_script(&expected, &live, backend);
        assert!(fix.is_empty(), "{backend}: {}", fix.to_sql());
    }
}
