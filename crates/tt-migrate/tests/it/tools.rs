//! Folders of diesel (every name shape), golang-migrate, goose and Prisma Migrate, read as
//! their tools read them, on every backend; files carrying another tool's up/down markers;
//! empty downs; another tool's table under tt's tracking table name.

use std::path::{Path, PathBuf};
use tt_migrate::TrackingError;

use tt_migrate::{
    Database, DiscoveryError, DownOptions, DownTarget, Error, Event, Layout, MigrationSet,
    Migrator, Tracking,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, execute, versions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tools")
        .join(name)
}

fn load(name: &str) -> MigrationSet {
    let dir = fixture(name);
    MigrationSet::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn no_events(_: Event<'_>) {}

async fn rows(db: &mut Database, sql: &str) -> usize {
    db.fetch_text(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .len()
}

const DOWN_ALL: DownOptions = DownOptions {
    target: DownTarget::All,
    dry_run: false,
};

#[test]
fn each_tool_folder_is_detected() {
    for (name, layout) in [
        ("diesel_names", Layout::Diesel),
        ("golang_migrate", Layout::GolangMigrate),
        ("goose", Layout::Goose),
        ("prisma", Layout::Prisma),
        ("goose_postgres", Layout::Goose),
        ("dbmate", Layout::Dbmate),
        ("flyway_repeatable", Layout::Flyway),
        ("flyway_concurrently", Layout::Flyway),
        // 14-digit timestamps: what sqlx's `migrate add -r` writes.
        ("sqlx_reversible", Layout::Sqlx),
        // Flat sqlx files are named as tt's own are.
        ("sqlx_flat", Layout::Native),
        ("tinkertools_runner", Layout::Native),
    ] {
        assert_eq!(Layout::detect(&fixture(name)), layout, "{name}");
        assert_eq!(load(name).layout(), layout, "{name}");
    }
    // Forced with --layout, the same folders read the same way.
    let forced = MigrationSet::load_with_layout(&fixture("goose"), Layout::Goose).unwrap();
    assert_eq!(forced.len(), 3);
}

#[test]
fn diesel_versions_are_the_name_up_to_the_first_underscore_compared_as_text() {
    let set = load("diesel_names");
    let order: Vec<(&str, &str)> = set
        .iter()
        .map(|m| (m.version.as_str(), m.name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("00000000000000", "diesel_initial_setup"),
            ("20180114171611", "create_items"),
            ("20190101000000", "create_tags"),
            ("20240313", "170000_add_stock"),
        ]
    );
}

#[tokio::test]
async fn diesel_names_of_every_shape_apply_in_diesels_order_and_an_empty_down_stops_the_rollback() {
    let set = load("diesel_names");
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        let report = migrator
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            versions(&report),
            [
                "00000000000000",
                "20180114171611",
                "20190101000000",
                "20240313"
            ],
            "{backend}"
        );
        // The column the 2024-03-13_… migration adds exists: it ran after the table.
        execute(
            &mut db,
            &["INSERT INTO items (id, name, stock) VALUES (1, 'a', 3)"],
        )
        .await;
        let status = migrator.status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");

        // 20190101000000's down.sql is 0 bytes: it undoes nothing, so it is no rollback.
        let error = migrator
            .down(&mut db, &DOWN_ALL, &mut no_events)
            .await
            .unwrap_err();
        assert_eq!(
            error
                .applied
                .iter()
                .map(|a| a.version.to_string())
                .collect::<Vec<_>>(),
            ["20240313"],
            "{backend}"
        );
        let message = error.error.to_string();
        assert!(
            message.starts_with(
                "migration 20190101000000 (create_tags) has an empty down (" // path follows
            ) && message.contains("20190101000000_create_tags/down.sql), which would undo nothing"),
            "{backend}: {message}"
        );
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(status.applied.len(), 3, "{backend}: the row stays");
        assert_eq!(status.pending.len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn a_goose_file_runs_its_up_section_only_and_rolls_back_with_its_down_section() {
    let set = load("goose");
    let summary: Vec<(String, bool, bool)> = set
        .iter()
        .map(|m| {
            let up = m.up_for(Backend::Sqlite).unwrap();
            (
                m.version.to_string(),
                up.no_transaction,
                m.down_for(Backend::Sqlite).is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("00001".to_string(), false, true),
            ("00002".to_string(), false, true),
            ("00003".to_string(), true, true),
        ]
    );
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let migrator = Migrator::for_set(&set);
        let report = migrator
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(versions(&report), ["00001", "00002", "00003"], "{backend}");
        // The down section did not run after the up: the table is there, with its rows.
        assert_eq!(
            rows(&mut db, "SELECT name FROM widgets").await,
            2,
            "{backend}"
        );
        execute(&mut db, &["INSERT INTO widget_log (id) VALUES (1)"]).await;
        migrator
            .down(&mut db, &DOWN_ALL, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let tables = db.fetch_text(match backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE name LIKE 'widget%'",
            Backend::Postgres => {
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename LIKE 'widget%'"
            }
            Backend::Mysql => {
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name LIKE 'widget%'"
            }
        });
        assert!(
            tables.await.unwrap().is_empty(),
            "{backend}: all rolled back"
        );
        let again = migrator.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(again.applied.len(), 3, "{backend}");
    }
}

/// A folder of one file, in a temporary directory.
fn one_file_dir(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    dir
}

fn problems(dir: &Path, layout: Layout) -> Vec<String> {
    match MigrationSet::load_with_layout(dir, layout) {
        Err(DiscoveryError::Invalid { problems }) => problems
            .iter()
            .map(|p| {
                let text = p.to_string();
                let file = p.path().file_name().unwrap().to_str().unwrap().to_string();
                text.replace(&p.path().display().to_string(), &file)
            })
            .collect(),
        other => panic!("{layout}: expected problems, got {other:?}"),
    }
}

#[test]
fn a_file_with_another_tools_up_and_down_markers_never_runs_whole() {
    let goose =
        "-- +goose Up\nCREATE TABLE widgets (id INTEGER);\n\n-- +goose Down\nDROP TABLE widgets;\n";
    let dir = one_file_dir("20240101120000_widgets.sql", goose);
    // Detected as goose, it reads; forced into the layouts that would run it whole, it stops.
    assert_eq!(Layout::detect(dir.path()), Layout::Goose);
    for layout in [Layout::Native, Layout::Sqlx, Layout::Dbmate] {
        let found = problems(dir.path(), layout);
        let expected = if layout == Layout::Dbmate {
            // dbmate finds no section of its own first.
            "20240101120000_widgets.sql: no `-- migrate:up` line (dbmate files hold a \
             `-- migrate:up` section and optionally a `-- migrate:down` section after it)"
        } else {
            "20240101120000_widgets.sql: line 1 is goose's `-- +goose Up` marker: run whole, \
             the file would undo itself (read the directory with --layout goose)"
        };
        assert!(found.iter().any(|p| p == expected), "{layout}: {found:?}");
    }
    let sql_migrate =
        "-- +migrate Up\nCREATE TABLE t (id INTEGER);\n-- +migrate Down\nDROP TABLE t;\n";
    let dir = one_file_dir("1_t.sql", sql_migrate);
    assert_eq!(
        problems(dir.path(), Layout::Native),
        [
            "1_t.sql: line 1 is sql-migrate's `-- +migrate Up` marker: run whole, the file would \
          undo itself (tt does not read sql-migrate's layout: split each file into an up and a \
          down file)"
        ]
    );
    let dbmate = "SELECT 1;\n-- migrate:down\nSELECT 2;\n";
    let dir = one_file_dir("V1__x.sql", dbmate);
    assert_eq!(
        problems(dir.path(), Layout::Flyway),
        [
            "V1__x.sql: line 2 is dbmate's `-- migrate:down` marker: run whole, the file would \
          undo itself (read the directory with --layout dbmate)"
        ]
    );
}

#[tokio::test]
async fn golang_migrates_table_under_tts_name_is_refused_and_imported_under_another() {
    let set = load("golang_migrate");
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        // The schema golang-migrate built, and its one-row table.
        Migrator::for_set(&set)
            .tracking(Tracking::new("scratch_history"))
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        execute(
            &mut db,
            &[
                "DROP TABLE scratch_history",
                "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, \
                 dirty BOOLEAN NOT NULL)",
                "INSERT INTO schema_migrations (version, dirty) VALUES (2, FALSE)",
            ],
        )
        .await;
        let their_rows = "SELECT 'row' FROM schema_migrations";
        let default = Migrator::for_set(&set);
        let error = default.run(&mut db, &mut no_events).await.unwrap_err();
        assert_eq!(
            error.error.to_string(),
            "tracking table `schema_migrations` is golang-migrate's table (columns: version, \
             dirty), not tt's: tt never alters another tool's table; set tracking_table in \
             tt.toml to another name, such as tt_schema_migrations, then import what it \
             recorded with `tt baseline --from-tool`",
            "{backend}"
        );
        assert!(matches!(
            default.status(&mut db).await.unwrap_err(),
            Error::Tracking(TrackingError::ForeignTrackingTable { .. })
        ));
        assert_eq!(rows(&mut db, their_rows).await, 1, "{backend}: untouched");

        let own = Migrator::for_set(&set).tracking(Tracking::new("tt_schema_migrations"));
        let report = own
            .baseline_from_tool(&mut db, Layout::GolangMigrate)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let recorded: Vec<String> = report
            .recorded
            .iter()
            .map(|r| r.version.to_string())
            .collect();
        assert_eq!(recorded, ["000001", "000002"], "{backend}");
        assert!(own.status(&mut db).await.unwrap().is_clean(), "{backend}");

        // A dirty version stops the import: golang-migrate must settle it first.
        execute(&mut db, &["UPDATE schema_migrations SET dirty = TRUE"]).await;
        let fresh = Migrator::for_set(&set).tracking(Tracking::new("tt_other"));
        let error = fresh
            .baseline_from_tool(&mut db, Layout::GolangMigrate)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "golang-migrate's table `schema_migrations` marks version 2 dirty (it stopped \
             part-way): fix the database, settle it with golang-migrate (`migrate force`), \
             then baseline again",
            "{backend}"
        );
    }
}

#[tokio::test]
async fn goose_and_prisma_tables_are_imported_as_their_tools_count_them() {
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let (serial, timestamp) = match backend {
            Backend::Postgres => ("SERIAL PRIMARY KEY", "TIMESTAMPTZ"),
            Backend::Mysql => ("INTEGER AUTO_INCREMENT PRIMARY KEY", "DATETIME(3)"),
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TIMESTAMP"),
        };
        // goose: one insert per up and down; 3 went up and came down again.
        let goose_table = format!(
            "CREATE TABLE goose_db_version (id {serial}, version_id BIGINT NOT NULL, \
             is_applied BOOLEAN NOT NULL, tstamp TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP)"
        );
        let mut statements = vec![goose_table];
        for (version, applied) in [(0, true), (1, true), (2, true), (3, true), (3, false)] {
            statements.push(format!(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES ({version}, {})",
                if applied { "TRUE" } else { "FALSE" }
            ));
        }
        // Prisma: finished and not rolled back counts; a rolled-back and an unfinished row
        // do not.
        statements.push(format!(
            "CREATE TABLE _prisma_migrations (id VARCHAR(36) PRIMARY KEY, \
             checksum VARCHAR(64) NOT NULL, finished_at {timestamp} NULL, \
             migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at {timestamp} NULL, \
             started_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP, \
             applied_steps_count INTEGER NOT NULL DEFAULT 0)"
        ));
        for (id, name, finished, rolled_back) in [
            ("a", "20240101120000_init", "CURRENT_TIMESTAMP", "NULL"),
            (
                "b",
                "20240102120000_add_tags",
                "CURRENT_TIMESTAMP",
                "CURRENT_TIMESTAMP",
            ),
            ("c", "20240102120000_add_tags", "NULL", "NULL"),
        ] {
            statements.push(format!(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, \
                 rolled_back_at) VALUES ('{id}', 'x', {finished}, '{name}', {rolled_back})"
            ));
        }
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        execute(&mut db, &statements).await;

        let goose = load("goose");
        let report = Migrator::for_set(&goose)
            .baseline_from_tool(&mut db, Layout::Goose)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let recorded: Vec<String> = report
            .recorded
            .iter()
            .map(|r| r.version.to_string())
            .collect();
        assert_eq!(recorded, ["00001", "00002"], "{backend}");
        assert!(report.unknown.is_empty(), "{backend}: {:?}", report.unknown);

        let prisma = load("prisma");
        let migrator = Migrator::for_set(&prisma).tracking(Tracking::new("tt_prisma"));
        let report = migrator
            .baseline_from_tool(&mut db, Layout::Prisma)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let recorded: Vec<String> = report
            .recorded
            .iter()
            .map(|r| r.version.to_string())
            .collect();
        assert_eq!(recorded, ["20240101120000"], "{backend}");
        let status = migrator.status(&mut db).await.unwrap();
        assert_eq!(status.pending.len(), 1, "{backend}: add_tags is pending");
    }
}

#[tokio::test]
async fn prisma_and_golang_migrate_folders_apply_and_golang_migrate_rolls_back() {
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let prisma = load("prisma");
        let report = Migrator::for_set(&prisma)
            .tracking(Tracking::new("prisma_rows"))
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            versions(&report),
            ["20240101120000", "20240102120000"],
            "{backend}"
        );
        execute(&mut db, &["DROP TABLE tags", "DROP TABLE items"]).await;

        let golang = load("golang_migrate");
        let migrator = Migrator::for_set(&golang);
        let report = migrator.run(&mut db, &mut no_events).await.unwrap();
        assert_eq!(versions(&report), ["000001", "000002"], "{backend}");
        let down = migrator
            .down(&mut db, &DOWN_ALL, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(down.rolled_back.len(), 2, "{backend}");
    }
}

#[tokio::test]
async fn the_syntax_error_hint_in_a_prisma_folder_does_not_suggest_variant_files() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    let migration = dir.path().join("20240101120000_init");
    std::fs::create_dir(&migration).unwrap();
    std::fs::write(
        migration.join("migration.sql"),
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER);\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n\
         ALTER TABLE a ADD CONSTRAINT a_b_fkey FOREIGN KEY (b_id) REFERENCES b (id);\n",
    )
    .unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    assert_eq!(set.layout(), Layout::Prisma);
    let mut db = connect(&test_db).await;
    let error = Migrator::for_set(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &error.error else {
        panic!("expected a statement failure, got {}", error.error)
    };
    assert_eq!((failure.statement_number, failure.line), (3, 3));
    assert_eq!(
        failure.hint.as_deref(),
        Some(
            "syntax error: if this is SQL of another dialect, the folder was written for another \
             database (this layout has no per-backend files): connect to the database it was \
             written for"
        )
    );
}

#[tokio::test]
async fn files_of_concurrent_index_statements_run_without_a_transaction_by_themselves() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let set = load("flyway_concurrently");
    let mut db = connect(&test_db).await;
    let migrator = Migrator::for_set(&set);
    let report = migrator
        .run(&mut db, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outside: Vec<(String, Option<&str>)> = report
        .applied
        .iter()
        .map(|a| (a.version.to_string(), a.no_transaction.as_deref()))
        .collect();
    assert_eq!(
        outside,
        [
            ("1".to_string(), None),
            ("2".to_string(), Some("CREATE INDEX CONCURRENTLY")),
            ("3".to_string(), Some("DROP INDEX CONCURRENTLY")),
        ]
    );
    // Tracked like a `-- tt:no-transaction` file: finalised, not dirty.
    let status = migrator.status(&mut db).await.unwrap();
    assert!(status.is_clean(), "{status:?}");
    let unique = "SELECT indexname FROM pg_indexes WHERE indexname = 'items_name' \
                  AND indexdef LIKE 'CREATE UNIQUE INDEX%'";
    assert_eq!(rows(&mut db, unique).await, 1);
    // The undo files too.
    let down = migrator
        .down(&mut db, &DOWN_ALL, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(down.rolled_back.len(), 3);

    // A statement tt does not recognise still fails, and the hint names the directive.
    let dir = one_file_dir(
        "001_move.sql",
        "ALTER DATABASE CURRENT_DATABASE SET TABLESPACE pg_default;\n",
    );
    let set = MigrationSet::load(dir.path()).unwrap();
    let error = Migrator::for_set(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    let Error::Statement(failure) = &error.error else {
        panic!("expected a statement failure, got {}", error.error)
    };
    assert_eq!(failure.code.as_deref(), Some("25001"), "{failure:?}");
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("`-- tt:no-transaction`")),
        "{failure:?}"
    );
}

#[tokio::test]
async fn a_sqlite_vacuum_runs_without_the_runs_transaction() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_t.sql"),
        "CREATE TABLE t (id INTEGER);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("002_compact.sql"),
        "DELETE FROM t;\nVACUUM;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("003_u.sql"),
        "CREATE TABLE u (id INTEGER);\n",
    )
    .unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    let mut db = connect(&test_db).await;
    let report = Migrator::for_set(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied[1].no_transaction.as_deref(), Some("VACUUM"));
    assert_eq!(report.applied.len(), 3);
}

#[tokio::test]
async fn a_database_built_by_tinkertools_own_runner_reads_as_fully_applied() {
    let set = load("tinkertools_runner");
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        // The runner ran every file as it is: 000 created the table, later files inserted
        // their own rows.
        for migration in set.iter() {
            let file = migration.up_for(backend).unwrap();
            for piece in tt_migrate::Splitter::new(file.open().unwrap(), backend) {
                if let tt_migrate::Piece::Statement(statement) = piece.unwrap() {
                    execute(&mut db, &[statement.sql.as_str()]).await;
                }
            }
        }
        let migrator = Migrator::for_set(&set);
        let status = migrator.status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        assert!(status.out_of_order.is_empty(), "{backend}");
        let applied: Vec<&str> = status.applied.iter().map(|a| a.version.as_str()).collect();
        assert_eq!(applied, ["000", "001", "002"], "{backend}");
        let run = migrator.run(&mut db, &mut no_events).await.unwrap();
        assert!(run.applied.is_empty(), "{backend}: {run:?}");
        // A baseline records the rows with checksums, 000's included.
        let report = migrator
            .baseline(&mut db, &tt_migrate::Version::new("002").unwrap())
            .await
            .unwrap();
        assert_eq!(report.recorded.len(), 3, "{backend}: {report:?}");
        assert_eq!(rows(&mut db, "SELECT name FROM schema_migrations").await, 3);
    }
}

#[tokio::test]
async fn diesels_own_table_exists_before_the_first_migration_and_in_the_scratch_database() {
    let set = load("diesel_own_table");
    for backend in Backend::ALL {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let report = Migrator::for_set(&set)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(report.applied.len(), 2, "{backend}");
        // Empty: tt keeps its own history, not diesel's.
        assert_eq!(
            rows(&mut db, "SELECT version FROM __diesel_schema_migrations").await,
            0
        );
        let scratch = tt_migrate::scratch_schema(&mut db, set.as_slice(), &Tracking::default())
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert!(scratch.contains("__diesel_schema_migrations"), "{backend}");
    }
}

#[tokio::test]
async fn goose_statement_blocks_and_no_transaction_on_postgres() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let set = load("goose_postgres");
    let no_transaction: Vec<bool> = set
        .iter()
        .map(|m| m.up_for(Backend::Postgres).unwrap().no_transaction)
        .collect();
    assert_eq!(no_transaction, [false, false, true]);
    let mut db = connect(&test_db).await;
    let migrator = Migrator::for_set(&set);
    let report = migrator
        .run(&mut db, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.applied[2].no_transaction.as_deref(),
        Some("no-transaction directive")
    );
    execute(
        &mut db,
        &[
            "INSERT INTO items (name, updated_at) VALUES ('a', '2001-01-01')",
            "UPDATE items SET name = 'b'",
        ],
    )
    .await;
    // The trigger the block's function serves ran.
    assert_eq!(
        rows(
            &mut db,
            "SELECT name FROM items WHERE updated_at > '2001-01-02'"
        )
        .await,
        1
    );
    migrator
        .down(&mut db, &DOWN_ALL, &mut no_events)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn reset_never_drops_another_tools_table_under_tts_tracking_name() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let set = load("golang_migrate");
    let mut db = connect(&test_db).await;
    execute(
        &mut db,
        &[
            "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, \
             dirty BOOLEAN NOT NULL)",
            "INSERT INTO schema_migrations (version, dirty) VALUES (2, FALSE)",
        ],
    )
    .await;
    let error = Migrator::for_set(&set)
        .reset(&mut db, Default::default(), &mut no_events)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.error,
            Error::Tracking(TrackingError::ForeignTrackingTable { .. })
        ),
        "{}",
        error.error
    );
    assert_eq!(
        rows(&mut db, "SELECT 'row' FROM schema_migrations").await,
        1
    );
}

/// `tt reset` said "3 object(s) tt does not manage depend on them" for one view over three
/// tables, and called a materialized view a view.
#[tokio::test]
async fn a_view_over_three_managed_tables_counts_once_and_a_matview_is_named_so() {
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let dir = one_file_dir(
        "001_tables.sql",
        "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY);\n\
         CREATE TABLE c (id INT PRIMARY KEY);\n",
    );
    let set = MigrationSet::load(dir.path()).unwrap();
    let mut db = connect(&test_db).await;
    Migrator::for_set(&set)
        .run(&mut db, &mut no_events)
        .await
        .unwrap();
    execute(
        &mut db,
        &["CREATE MATERIALIZED VIEW abc AS SELECT a.id FROM a JOIN b USING (id) JOIN c USING (id)"],
    )
    .await;
    let tracking = Tracking::default();
    let plan = tt_migrate::plan_drop(&mut db, set.as_slice(), &tracking)
        .await
        .unwrap();
    assert_eq!(
        plan.dependents.len(),
        1,
        "listed once, whichever table it was found from: {:?}",
        plan.dependents
    );
    assert!(
        plan.dependents
            .iter()
            .all(|d| d.kind == tt_migrate::DependentKind::MaterializedView)
    );
    let error = tt_migrate::drop_managed_tables(&mut db, &plan, &tracking, Default::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "cannot drop the managed tables: 1 object(s) tt does not manage depend on them:\n  \
             materialized view abc (on a)"
        ),
        "{error}"
    );
}

#[test]
fn loading_detects_dbmate_and_goose_from_any_file_even_one_tt_would_not_read() {
    // Loading reads the files once, as tt's own, and finds the markers on the way: the folder
    // must still be the layout `Layout::detect` names, whichever file carries the marker.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "20240101120000_plain.sql",
        "CREATE TABLE plain (id INTEGER);\n",
    );
    write(
        "20240102120000_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);\n-- migrate:down\nDROP TABLE items;\n",
    );
    let set = MigrationSet::load(dir.path()).unwrap_err();
    // The plain file has no section: as dbmate's, it is reported, not run whole.
    assert!(
        set.to_string()
            .contains("20240101120000_plain.sql: no `-- migrate:up` line"),
        "{set}"
    );
    std::fs::remove_file(dir.path().join("20240101120000_plain.sql")).unwrap();
    assert_eq!(
        MigrationSet::load(dir.path()).unwrap().layout(),
        Layout::Dbmate
    );

    // A name tt's own layout refuses (`.v2` reads as a backend) is read for its marker anyway.
    let dir = one_file_dir(
        "20240101120000_widgets.v2.sql",
        "-- +goose Up\nCREATE TABLE widgets (id INTEGER);\n",
    );
    assert_eq!(Layout::detect(dir.path()), Layout::Goose);
    match MigrationSet::load(dir.path()) {
        Ok(set) => assert_eq!(set.layout(), Layout::Goose),
        Err(error) => assert!(!error.to_string().contains("unknown backend"), "{error}"),
    }
}
