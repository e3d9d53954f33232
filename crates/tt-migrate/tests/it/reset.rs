//! Drop, reset, recreate and protection, with the TinkerTools migrations and FK-cycle fixtures.

use std::path::{Path, PathBuf};
use tt_migrate::{DropRefusal, LockError};

use tt_migrate::{
    Database, DependentKind, DropOptions, Error, Event, MigrationSet, Migrator, PlanOptions,
    ResetOptions, ResetStage, Tracking, Version, drop_managed_tables, plan_drop,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, execute, migrations};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tinkertools() -> MigrationSet {
    MigrationSet::load(&repo().join("migrations")).expect("the repository's migrations load")
}

fn no_events(_: Event<'_>) {}

async fn tables(db: &mut Database) -> Vec<String> {
    let schema = tt_migrate::introspect(db, &Default::default())
        .await
        .unwrap();
    schema.table_names().map(str::to_string).collect()
}

async fn count(db: &mut Database, table: &str) -> i64 {
    let sql = format!("SELECT CAST(COUNT(*) AS CHAR(20)) FROM {table}");
    let rows = db.fetch_text(&sql).await.unwrap();
    rows[0][0].as_deref().unwrap().trim().parse().unwrap()
}

async fn seed(db: &mut Database) {
    let sql = std::fs::read_to_string(fixture("tinkertools/seed.sql")).unwrap();
    for statement in sql.split(";\n").filter(|s| s.contains("INSERT")) {
        db.fetch_text(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

const TINKERTOOLS_TABLES: usize = 25;

#[tokio::test]
async fn reset_builds_the_tinkertools_schema_from_empty_full_and_half_migrated() {
    let set = tinkertools();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(set.as_slice());

        // From empty.
        let report = migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap();
        assert_eq!(report.applied.len(), 5, "{backend}");
        assert!(
            report.missing_tables.is_empty(),
            "{backend}: {:?}",
            report.missing_tables
        );
        let after_empty = tables(&mut db).await;
        assert_eq!(
            after_empty.len(),
            TINKERTOOLS_TABLES + 1,
            "{backend}: {after_empty:?}"
        );
        assert_eq!(
            report.tables,
            after_empty.len(),
            "{backend}: counted as read"
        );
        assert_eq!(
            count(&mut db, "source_types").await,
            5,
            "{backend}: seeded source types"
        );

        // From fully migrated with a row in every table.
        seed(&mut db).await;
        for table in &after_empty {
            if table != "schema_migrations" {
                assert!(
                    count(&mut db, table).await > 0,
                    "{backend}: {table} has data"
                );
            }
        }
        let report = migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap();
        assert_eq!(
            report.dropped.dropped.len(),
            TINKERTOOLS_TABLES + 1,
            "{backend}"
        );
        assert_eq!(
            report.dropped.dropped.last().map(String::as_str),
            Some("schema_migrations"),
            "{backend}: tracking table last"
        );
        assert_eq!(count(&mut db, "items").await, 0, "{backend}: data gone");
        assert_eq!(count(&mut db, "source_types").await, 5, "{backend}");
        assert_eq!(tables(&mut db).await, after_empty, "{backend}");

        // From half-migrated: only up to 002.
        let half = Migrator::new(set.as_slice()).plan_options(PlanOptions {
            target: Some(Version::new("002").unwrap()),
            ..PlanOptions::default()
        });
        half.reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap();
        assert!(
            !tables(&mut db).await.contains(&"perks".to_string()),
            "{backend}"
        );
        let report = migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap();
        assert_eq!(report.applied.len(), 5, "{backend}");
        assert_eq!(tables(&mut db).await, after_empty, "{backend}");
    }
}

#[tokio::test]
async fn other_tables_survive_and_a_foreign_view_blocks_the_drop_until_cascade() {
    let set = tinkertools();
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(set.as_slice());
        migrator.run(&mut db, &mut no_events).await.unwrap();
        execute(
            &mut db,
            &[
                "CREATE TABLE other_app (id INTEGER PRIMARY KEY, note VARCHAR(20))",
                "INSERT INTO other_app VALUES (1, 'keep me')",
                "CREATE VIEW item_names AS SELECT name FROM items",
            ],
        )
        .await;

        let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
        assert_eq!(plan.untouched, ["other_app"], "{backend}");
        assert_eq!(plan.dependents.len(), 1, "{backend}: {:?}", plan.dependents);
        assert_eq!(plan.dependents[0].kind, DependentKind::View);
        assert_eq!(plan.dependents[0].on, "items");
        let err = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Refused(DropRefusal::Dependents { .. })),
            "{backend}: {err}"
        );
        assert!(err.to_string().contains("item_names"), "{backend}: {err}");
        assert_eq!(
            tables(&mut db).await.len(),
            TINKERTOOLS_TABLES + 2,
            "{backend}: nothing dropped"
        );

        let options = DropOptions {
            cascade: true,
            ..DropOptions::default()
        };
        let report = drop_managed_tables(&mut db, &plan, &tracking, options)
            .await
            .unwrap();
        assert_eq!(report.cascaded.len(), 1, "{backend}");
        assert_eq!(
            tables(&mut db).await,
            ["other_app"],
            "{backend}: only the other table is left"
        );
        assert_eq!(
            count(&mut db, "other_app").await,
            1,
            "{backend}: its row too"
        );
        assert!(
            db.fetch_text("SELECT * FROM item_names").await.is_err(),
            "{backend}: view gone"
        );
    }
}

#[tokio::test]
async fn a_foreign_key_from_another_table_blocks_the_drop() {
    let set = tinkertools();
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        Migrator::new(set.as_slice())
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        db.fetch_text(
            "CREATE TABLE wishlist (id INTEGER PRIMARY KEY, item_id INTEGER, \
             CONSTRAINT fk_wishlist_item FOREIGN KEY (item_id) REFERENCES items (id))",
        )
        .await
        .unwrap();
        let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
        let names: Vec<String> = plan.dependents.iter().map(ToString::to_string).collect();
        assert_eq!(plan.dependents.len(), 1, "{backend}: {names:?}");
        assert_eq!(
            plan.dependents[0].kind,
            DependentKind::ForeignKey,
            "{backend}"
        );
        assert!(names[0].contains("wishlist"), "{backend}: {names:?}");
        let err = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Refused(DropRefusal::Dependents { .. })),
            "{backend}: {err}"
        );
        // With --cascade the report says what happened to the foreign key: removed, or, on
        // SQLite (where a foreign key is part of its table), left in place. Found: SQLite's
        // report listed it as dropped while it was still there.
        let options = DropOptions {
            cascade: true,
            ..DropOptions::default()
        };
        let report = drop_managed_tables(&mut db, &plan, &tracking, options)
            .await
            .unwrap();
        let still_there = db
            .fetch_text(match backend {
                Backend::Sqlite => {
                    "SELECT CAST(COUNT(*) AS TEXT) FROM pragma_foreign_key_list('wishlist')"
                }
                Backend::Postgres => {
                    "SELECT CAST(COUNT(*) AS TEXT) FROM information_schema.table_constraints \
                     WHERE table_name = 'wishlist' AND constraint_type = 'FOREIGN KEY'"
                }
                _ => {
                    "SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.table_constraints \
                     WHERE table_schema = DATABASE() AND table_name = 'wishlist' \
                     AND constraint_type = 'FOREIGN KEY'"
                }
            })
            .await
            .unwrap()[0][0]
            .clone()
            .unwrap();
        if still_there == "1" {
            assert!(
                report.cascaded.is_empty(),
                "{backend}: {:?}",
                report.cascaded
            );
            assert_eq!(report.left_in_place, plan.dependents, "{backend}");
        } else {
            assert_eq!(still_there, "0", "{backend}");
            assert_eq!(report.cascaded, plan.dependents, "{backend}");
            assert!(report.left_in_place.is_empty(), "{backend}");
        }
        assert_eq!(
            still_there == "1",
            backend == Backend::Sqlite,
            "{backend}: only SQLite keeps the foreign key"
        );
    }
}

#[tokio::test]
async fn fk_cycles_and_self_references_with_rows_drop_and_renamed_tables_are_managed() {
    let set = MigrationSet::load(&fixture("fk_cycle")).unwrap();
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(set.as_slice());
        migrator.run(&mut db, &mut no_events).await.unwrap();
        execute(
            &mut db,
            &[
                "INSERT INTO teams (id, name) VALUES (1, 'red')",
                "INSERT INTO players (id, team_id) VALUES (1, 1)",
                "INSERT INTO players (id, team_id, mentor_id) VALUES (2, 1, 1)",
                "UPDATE teams SET captain_id = 2 WHERE id = 1",
                "INSERT INTO notes (id, body) VALUES (1, 'renamed')",
            ],
        )
        .await;
        let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
        let mut planned = plan.tables.clone();
        planned.sort();
        assert_eq!(
            planned,
            ["notes", "players", "teams"],
            "{backend}: renamed table managed, dropped one not"
        );
        if backend != Backend::Sqlite {
            let deferred: Vec<String> = plan
                .deferred_foreign_keys
                .iter()
                .map(|fk| format!("{}.{}", fk.table, fk.name))
                .collect();
            assert!(
                deferred.iter().any(|d| d.starts_with("players.")),
                "{backend}: self-reference deferred: {deferred:?}"
            );
            assert_eq!(
                deferred.len(),
                2,
                "{backend}: the cycle and the self-reference: {deferred:?}"
            );
        }
        drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap();
        assert!(tables(&mut db).await.is_empty(), "{backend}");
    }
}

#[tokio::test]
async fn a_protected_database_refuses_drop_reset_and_recreate() {
    let set = tinkertools();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(set.as_slice());
        migrator.run(&mut db, &mut no_events).await.unwrap();
        tt_migrate::protect(&mut db, Some("production copy"))
            .await
            .unwrap();
        for recreate in [false, true] {
            let options = ResetOptions {
                recreate_whole_database: recreate,
                ..ResetOptions::default()
            };
            let err = migrator
                .reset(&mut db, options, &mut no_events)
                .await
                .unwrap_err();
            assert_eq!(err.stage, ResetStage::Drop);
            assert!(
                matches!(err.error, Error::Refused(DropRefusal::Protected { .. })),
                "{backend}: {err}"
            );
            assert!(
                err.to_string().contains("production copy"),
                "{backend}: {err}"
            );
            assert!(
                err.state().contains("as it was") || backend == Backend::Mysql,
                "{backend}: {}",
                err.state()
            );
        }
        assert_eq!(
            tables(&mut db).await.len(),
            TINKERTOOLS_TABLES + 2,
            "{backend}: nothing dropped"
        );
        // Allowed explicitly, a recreate empties everything and keeps the mark.
        let options = ResetOptions {
            recreate_whole_database: true,
            drop: DropOptions {
                allow_protected: true,
                ..DropOptions::default()
            },
        };
        migrator
            .reset(&mut db, options, &mut no_events)
            .await
            .unwrap();
        let mark = tt_migrate::protection(&mut db)
            .await
            .unwrap()
            .expect("still protected");
        assert_eq!(mark.note.as_deref(), Some("production copy"), "{backend}");
        tt_migrate::unprotect(&mut db).await.unwrap();
        assert!(tt_migrate::protection(&mut db).await.unwrap().is_none());
        migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn recreate_empties_everything_including_other_tables() {
    let set = tinkertools();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(set.as_slice());
        migrator.run(&mut db, &mut no_events).await.unwrap();
        execute(
            &mut db,
            &[
                "CREATE TABLE other_app (id INTEGER PRIMARY KEY)",
                "CREATE VIEW item_names AS SELECT name FROM items",
            ],
        )
        .await;
        let options = ResetOptions {
            recreate_whole_database: true,
            ..ResetOptions::default()
        };
        let report = migrator
            .reset(&mut db, options, &mut no_events)
            .await
            .unwrap();
        assert!(report.recreated);
        let after = tables(&mut db).await;
        assert_eq!(after.len(), TINKERTOOLS_TABLES + 1, "{backend}: {after:?}");
        assert!(!after.contains(&"other_app".to_string()), "{backend}");
        assert!(
            db.fetch_text("SELECT * FROM item_names").await.is_err(),
            "{backend}: view gone"
        );
    }
}

#[tokio::test]
async fn a_reset_that_fails_in_a_migration_says_what_state_it_left() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("001_a.sql"),
            "CREATE TABLE a (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("002_b.sql"),
            "INSERT INTO nowhere VALUES (1);",
        )
        .unwrap();
        let set = MigrationSet::load(dir.path()).unwrap();
        let mut db = connect(&test_db).await;
        let err = Migrator::new(set.as_slice())
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap_err();
        assert_eq!(err.stage, ResetStage::Migrate, "{backend}");
        assert_eq!(err.applied.len(), 1, "{backend}");
        let state = err.state();
        assert!(
            state.contains("migration 001 was applied") && state.contains("tt migrate"),
            "{backend}: {state}"
        );
    }
}

#[tokio::test]
async fn a_table_gone_between_the_plan_and_the_lock_is_left_out_of_the_drop() {
    // The drop ran its stale plan: DROP TABLE parents failed part-way. It now makes the
    // plan again under the lock.
    let set = crate::support::migrations(&[(
        "001_tables.sql",
        "CREATE TABLE parents (id INTEGER NOT NULL PRIMARY KEY);\n\
         CREATE TABLE children (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER,\n\
           CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id));",
    )]);
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        Migrator::new(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        let plan = plan_drop(&mut db, &set, &tracking).await.unwrap();
        assert_eq!(plan.tables, ["children", "parents"], "{backend}");
        db.fetch_text("ALTER TABLE parents RENAME TO parents_gone")
            .await
            .unwrap();
        let report = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            report.dropped,
            ["children", "schema_migrations"],
            "{backend}"
        );
        assert_eq!(tables(&mut db).await, ["parents_gone"], "{backend}");
    }
}

#[tokio::test]
async fn cascade_on_postgres_dropped_a_table_inheriting_from_a_managed_one() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let set = tinkertools();
    let tracking = Tracking::default();
    let mut db = connect(&test_db).await;
    Migrator::new(set.as_slice())
        .run(&mut db, &mut no_events)
        .await
        .unwrap();
    execute(
        &mut db,
        &[
            "CREATE TABLE special_items (since date) INHERITS (items)",
            "CREATE VIEW item_names AS SELECT name FROM items",
            "CREATE VIEW short_names AS SELECT name FROM item_names WHERE length(name) < 5",
            "CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items",
        ],
    )
    .await;
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    let dependents: Vec<String> = plan.dependents.iter().map(ToString::to_string).collect();
    assert_eq!(
        dependents,
        [
            "materialized view item_count (on items)",
            "view item_names (on items)",
            "view short_names (on items)",
        ],
        "views of views are dependents too"
    );
    let options = DropOptions {
        cascade: true,
        ..DropOptions::default()
    };
    let err = drop_managed_tables(&mut db, &plan, &tracking, options)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("special_items"),
        "the server's detail names what blocks the drop: {err}"
    );
    let left = tables(&mut db).await;
    assert_eq!(
        left.len(),
        TINKERTOOLS_TABLES + 2,
        "nothing dropped, the other table least of all: {left:?}"
    );
    assert!(
        db.fetch_text("SELECT * FROM short_names").await.is_ok(),
        "the views were rolled back too"
    );

    db.fetch_text("DROP TABLE special_items").await.unwrap();
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    let report = drop_managed_tables(&mut db, &plan, &tracking, options)
        .await
        .unwrap();
    assert_eq!(report.cascaded.len(), 3);
    assert!(tables(&mut db).await.is_empty());
    assert!(db.fetch_text("SELECT * FROM item_count").await.is_err());
}

#[tokio::test]
async fn on_mysql_a_view_with_a_column_named_like_a_managed_table_blocked_the_drop() {
    let set = tinkertools();
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        if backend == Backend::Sqlite {
            continue; // SQLite keeps no view dependencies: a name in the text is enough there.
        }
        let mut db = connect(&test_db).await;
        Migrator::new(set.as_slice())
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        execute(
            &mut db,
            &[
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, items INTEGER)",
                "CREATE VIEW order_sizes AS SELECT items FROM orders",
            ],
        )
        .await;
        let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
        assert!(
            plan.dependents.is_empty(),
            "{backend}: {:?}",
            plan.dependents
        );
        drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap();
        assert_eq!(tables(&mut db).await, ["orders"], "{backend}");
        assert!(
            db.fetch_text("SELECT * FROM order_sizes").await.is_ok(),
            "{backend}: the view of the other table is left alone"
        );
    }
}

#[tokio::test]
async fn a_table_created_in_another_mysql_database_made_a_same_named_table_managed() {
    // Only the files matter to the plan: the migration need not have run.
    let set = crate::support::migrations(&[(
        "001_audit.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE elsewhere.audit (id INTEGER PRIMARY KEY);",
    )]);
    let tracking = Tracking::default();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        if backend == Backend::Sqlite {
            continue; // An attached database is not visible to the plan.
        }
        let mut db = connect(&test_db).await;
        execute(
            &mut db,
            &[
                "CREATE TABLE items (id INTEGER PRIMARY KEY)",
                "CREATE TABLE audit (id INTEGER PRIMARY KEY)",
            ],
        )
        .await;
        let plan = plan_drop(&mut db, &set, &tracking).await.unwrap();
        assert_eq!(plan.tables, ["items"], "{backend}");
        assert_eq!(plan.untouched, ["audit"], "{backend}");
    }
}

#[tokio::test]
async fn a_mysql_recreate_failing_part_way_left_foreign_key_checks_off() {
    let Some(test_db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    tt_migrate::protect(&mut db, Some("keep")).await.unwrap();
    db.fetch_text("CREATE TABLE zz_locked (id INTEGER PRIMARY KEY)")
        .await
        .unwrap();
    // Another session reads the table in an open transaction: its metadata lock makes DROP
    // TABLE wait, and give up after a second.
    let mut other = connect(&test_db).await;
    other.begin().await.unwrap();
    other.fetch_text("SELECT * FROM zz_locked").await.unwrap();
    db.fetch_text("SET SESSION lock_wait_timeout = 1")
        .await
        .unwrap();
    let err = tt_migrate::recreate_database(&mut db, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err}");
    other.rollback().await.unwrap();
    let checks = db
        .fetch_text("SELECT CAST(@@FOREIGN_KEY_CHECKS AS CHAR)")
        .await
        .unwrap();
    assert_eq!(
        checks,
        [[Some("ON".to_string())]],
        "foreign key checks back on"
    );
    let mark = tt_migrate::protection(&mut db).await.unwrap();
    assert_eq!(
        mark.and_then(|m| m.note).as_deref(),
        Some("keep"),
        "still protected"
    );
}

#[tokio::test]
async fn a_mark_without_a_note_read_back_as_an_empty_note() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        assert_eq!(tt_migrate::protection(&mut db).await.unwrap(), None);
        tt_migrate::protect(&mut db, None).await.unwrap();
        let mark = tt_migrate::protection(&mut db).await.unwrap().unwrap();
        assert_eq!(mark.note, None, "{backend}");
        assert!(mark.since.is_some(), "{backend}");
        tt_migrate::protect(&mut db, Some("again")).await.unwrap();
        let mark = tt_migrate::protection(&mut db).await.unwrap().unwrap();
        assert_eq!(mark.note.as_deref(), Some("again"), "{backend}: replaced");
    }
}

#[tokio::test]
async fn reset_reports_a_managed_table_the_migrations_did_not_create() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    // The scanner sees the CREATE TABLE in the DO block; the block never runs it.
    let set = crate::support::migrations(&[(
        "001_tables.sql",
        "CREATE TABLE kept (id INTEGER PRIMARY KEY);\n\
         DO $$ BEGIN IF false THEN CREATE TABLE ghost (id INTEGER); END IF; END $$;",
    )]);
    let mut db = connect(&test_db).await;
    let report = Migrator::new(&set)
        .reset(&mut db, ResetOptions::default(), &mut no_events)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.missing_tables, ["ghost"]);
}

#[tokio::test]
async fn a_drop_waiting_in_vain_for_the_sqlite_lock_left_foreign_keys_off() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let set = tinkertools();
    let tracking = Tracking::default();
    let mut db = connect(&test_db).await;
    Migrator::new(set.as_slice())
        .run(&mut db, &mut no_events)
        .await
        .unwrap();
    let plan = plan_drop(&mut db, set.as_slice(), &tracking).await.unwrap();
    let mut writer = connect(&test_db).await;
    writer.begin().await.unwrap();
    writer
        .exec("INSERT INTO source_types (name) VALUES ('held')", &[])
        .await
        .unwrap();
    let err = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Lock(LockError::Timeout { .. })),
        "{err}"
    );
    writer.rollback().await.unwrap();
    let enforced = db
        .fetch_text("SELECT CAST(foreign_keys AS TEXT) FROM pragma_foreign_keys")
        .await
        .unwrap();
    assert_eq!(enforced, [[Some("1".to_string())]]);
}

#[tokio::test]
async fn a_confirmed_drop_refuses_when_tables_appeared_before_the_lock() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let set = migrations(&[
            ("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
            ("002_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
        ]);
        let mut db = connect(&test_db).await;
        let tracking = Tracking::default();
        let first = PlanOptions {
            target: Some(Version::new("001").unwrap()),
            ..PlanOptions::default()
        };
        Migrator::new(&set)
            .plan_options(first)
            .run(&mut db, &mut |_| {})
            .await
            .unwrap();
        // The user is shown and confirms this plan: table a.
        let plan = plan_drop(&mut db, &set, &tracking).await.unwrap();
        assert_eq!(plan.tables, ["a"], "{backend}");
        // Meanwhile another runner creates b.
        Migrator::new(&set).run(&mut db, &mut |_| {}).await.unwrap();
        let exact = DropOptions {
            exactly_as_planned: true,
            ..DropOptions::default()
        };
        let err = drop_managed_tables(&mut db, &plan, &tracking, exact)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, tt_migrate::Error::Refused(tt_migrate::DropRefusal::PlanGrew { added }) if added == &["b"]),
            "{backend}: {err}"
        );
        // With --yes the plan made under the lock runs: both go.
        let report = drop_managed_tables(&mut db, &plan, &tracking, DropOptions::default())
            .await
            .unwrap();
        assert_eq!(report.dropped.len(), 3, "{backend}: {:?}", report.dropped);
    }
}

/// Whether another connection can take the migration lock of `url` within 300 ms, tried
/// from a thread of its own (the reset calls its events synchronously, mid-run).
fn lock_is_free(url: &str, lock: tt_migrate::LockMode) -> bool {
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = tt_migrate::ConnectOptions {
                lock: Some(lock),
                lock_timeout: std::time::Duration::from_millis(300),
                ..tt_migrate::ConnectOptions::default()
            };
            let mut other = Database::connect(&url, options).await.unwrap();
            let tracking = Tracking::default();
            let free = tt_migrate::acquire_lock(&mut other, &tracking)
                .await
                .is_ok();
            if free {
                tt_migrate::release_lock(&mut other, &tracking)
                    .await
                    .unwrap();
            }
            let _ = other.close().await;
            free
        })
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn a_reset_holds_one_lock_from_the_drop_to_the_final_check() {
    // MySQL released the lock between the drop and the migrate (a concurrent migrate ran
    // inside the reset), PostgreSQL took it twice, and the final check ran after the release.
    for lock in [tt_migrate::LockMode::Advisory, tt_migrate::LockMode::Table] {
        for test_db in TestDb::create_all().await {
            let backend = test_db.backend();
            let options = tt_migrate::ConnectOptions {
                lock: Some(lock),
                ..tt_migrate::ConnectOptions::default()
            };
            let mut db = Database::connect(test_db.url(), options).await.unwrap();
            let set = migrations(&[
                ("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
                ("002_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
            ]);
            let migrator = Migrator::new(&set);
            migrator.run(&mut db, &mut no_events).await.unwrap();
            // Whenever the reset starts a migration, after its drop, the lock is held.
            let mut free_during = Vec::new();
            let report = migrator
                .reset_holding_lock(&mut db, ResetOptions::default(), None, &mut |event| {
                    if let Event::Started { .. } = event {
                        free_during.push(lock_is_free(test_db.url(), lock));
                    }
                })
                .await
                .unwrap_or_else(|e| panic!("{backend}, {lock:?}: {e}"));
            assert_eq!(free_during, [false, false], "{backend}, {lock:?}");
            assert_eq!(report.dropped.dropped.len(), 3, "{backend}, {lock:?}");
            // Returned for the caller's final check: still held, until it is finished.
            assert!(!lock_is_free(test_db.url(), lock), "{backend}, {lock:?}");
            let report = migrator.finish_reset(&mut db, report).await.unwrap();
            assert_eq!(report.applied.len(), 2, "{backend}, {lock:?}");
            assert!(lock_is_free(test_db.url(), lock), "{backend}, {lock:?}");
        }
    }
}
