//! Other tools' migration folders (sqlx, diesel, dbmate, Flyway), read as they are: detected,
//! applied, rolled back to empty, applied again, and baselined from each tool's own table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use expect_test::expect;
use tt_migrate::{
    Database, DiscoveryError, DownOptions, DownTarget, Event, Layout, MigrationSet, Migrator,
    Piece, Splitter, Tracking,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::connect;

const TOOLS: [Layout; 4] = [Layout::Sqlx, Layout::Diesel, Layout::Dbmate, Layout::Flyway];

fn fixture(layout: Layout, backend: Backend) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/layouts")
        .join(format!("{layout}_{backend}"))
}

fn load(layout: Layout, backend: Backend) -> MigrationSet {
    let dir = fixture(layout, backend);
    MigrationSet::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn no_events(_: Event<'_>) {}

/// What discovery found, one line per file: version, name, direction, file (relative to the
/// fixture), first statement line, no-transaction.
fn summary(set: &MigrationSet, backend: Backend) -> String {
    let mut out = String::new();
    for migration in set.iter().chain(set.repeatable()) {
        for (direction, file) in [
            ("up", migration.up_for(backend)),
            ("down", migration.down_for(backend)),
        ] {
            let Some(file) = file else { continue };
            let first_line = Splitter::new(file.open().unwrap(), backend)
                .find_map(|piece| match piece.unwrap() {
                    Piece::Statement(statement) => Some(statement.line),
                    _ => None,
                })
                .unwrap_or(0);
            let path = file.path();
            let parent = path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            let in_subdirectory = parent.starts_with(|c: char| c.is_ascii_digit());
            let shown = if in_subdirectory {
                format!("{parent}/{name}")
            } else {
                name.to_string()
            };
            writeln!(
                out,
                "{} {} {direction} {shown}:{first_line}{}",
                migration.version,
                migration.name,
                if file.no_transaction {
                    " no-transaction"
                } else {
                    ""
                }
            )
            .unwrap();
        }
    }
    out
}

#[test]
fn each_layout_is_detected_and_forcing_another_reports_every_file() {
    for backend in Backend::ALL {
        for layout in TOOLS {
            let dir = fixture(layout, backend);
            assert_eq!(Layout::detect(&dir), layout, "{}", dir.display());
            let set = load(layout, backend);
            assert_eq!(set.layout(), layout);
            assert!(
                set.len() >= 8,
                "{}: {} migrations",
                dir.display(),
                set.len()
            );
            for migration in set.iter() {
                assert!(
                    migration.down_for(backend).is_some(),
                    "{}: {} has a down",
                    dir.display(),
                    migration.version
                );
            }
        }
    }
    let dir = fixture(Layout::Flyway, Backend::Sqlite);
    let error = MigrationSet::load_with_layout(&dir, Layout::Native).unwrap_err();
    let DiscoveryError::Invalid { problems } = error else {
        panic!("expected problems, got {error}")
    };
    // Every V, U and R file is named, not only the first.
    assert_eq!(problems.len(), 17, "{problems:#?}");
}

#[test]
fn dbmate_sections_keep_the_lines_of_the_whole_file() {
    expect![[r#"
        20240201100001 create_qualities up 20240201100001_create_qualities.sql:2
        20240201100001 create_qualities down 20240201100001_create_qualities.sql:9
        20240201100002 create_items up 20240201100002_create_items.sql:2
        20240201100002 create_items down 20240201100002_create_items.sql:10
        20240201100003 items_touch_trigger up 20240201100003_items_touch_trigger.sql:2
        20240201100003 items_touch_trigger down 20240201100003_items_touch_trigger.sql:8
        20240201100004 create_stats up 20240201100004_create_stats.sql:2
        20240201100004 create_stats down 20240201100004_create_stats.sql:10
        20240201100005 create_item_ranks up 20240201100005_create_item_ranks.sql:2
        20240201100005 create_item_ranks down 20240201100005_create_item_ranks.sql:6
        20240201100006 index_names up 20240201100006_index_names.sql:2 no-transaction
        20240201100006 index_names down 20240201100006_index_names.sql:6 no-transaction
        20240201100007 create_audit_log up 20240201100007_create_audit_log.sql:2
        20240201100007 create_audit_log down 20240201100007_create_audit_log.sql:15
        20240201100008 seed_items up 20240201100008_seed_items.sql:2
        20240201100008 seed_items down 20240201100008_seed_items.sql:10
    "#]]
    .assert_eq(&summary(
        &load(Layout::Dbmate, Backend::Sqlite),
        Backend::Sqlite,
    ));
}

#[test]
fn flyway_diesel_and_sqlx_names_versions_and_settings_are_read() {
    expect![[r#"
        1 create_quality_enum up V1__create_quality_enum.sql:1
        1 create_quality_enum down U1__create_quality_enum.sql:1
        2 create_items up V2__create_items.sql:1
        2 create_items down U2__create_items.sql:1
        3 create_functions up V3__create_functions.sql:2
        3 create_functions down U3__create_functions.sql:1
        4 items_touch_trigger up V4__items_touch_trigger.sql:1
        4 items_touch_trigger down U4__items_touch_trigger.sql:1
        5 create_stats up V5__create_stats.sql:1
        5 create_stats down U5__create_stats.sql:1
        6 index_names_concurrently up V6__index_names_concurrently.sql:1 no-transaction
        6 index_names_concurrently down U6__index_names_concurrently.sql:1 no-transaction
        7 create_audit_log up V7__create_audit_log.sql:1
        7 create_audit_log down U7__create_audit_log.sql:1
        7.1 seed_items up V7_1__seed_items.sql:1
        7.1 seed_items down U7_1__seed_items.sql:1
        R__item_summary item_summary up R__item_summary.sql:1
    "#]]
    .assert_eq(&summary(
        &load(Layout::Flyway, Backend::Postgres),
        Backend::Postgres,
    ));
    let diesel = summary(&load(Layout::Diesel, Backend::Postgres), Backend::Postgres);
    let lines: Vec<&str> = diesel.lines().collect();
    assert_eq!(
        lines[0],
        "00000000000000 diesel_initial_setup up 00000000000000_diesel_initial_setup/up.sql:19"
    );
    assert!(
        diesel.contains(
            "20240301100006 index_names_concurrently down \
             2024-03-01-100006_index_names_concurrently/down.sql:1 no-transaction"
        ),
        "{diesel}"
    );
    let sqlx = summary(&load(Layout::Sqlx, Backend::Postgres), Backend::Postgres);
    assert!(
        sqlx.contains(
            "20240101100006 index_names_concurrently up \
             20240101100006_index_names_concurrently.up.sql:2 no-transaction"
        ),
        "{sqlx}"
    );
}

/// The objects of the database other than the tracking table, sorted, as `kind name`.
async fn objects(db: &mut Database) -> Vec<String> {
    let queries: &[&str] = match db.backend() {
        Backend::Postgres => &[
            "SELECT CAST(table_type || ' ' || table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()",
            "SELECT CAST('type ' || t.typname AS TEXT) FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = current_schema() AND t.typtype = 'e'",
            "SELECT CAST('function ' || p.proname AS TEXT) FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()",
            "SELECT CAST('trigger ' || tgname AS TEXT) FROM pg_trigger WHERE NOT tgisinternal",
            "SELECT CAST('index ' || indexname AS TEXT) FROM pg_indexes \
             WHERE schemaname = current_schema()",
        ],
        Backend::Sqlite => {
            &["SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"]
        }
        Backend::Mysql => &[
            "SELECT CAST(CONCAT(table_type, ' ', table_name) AS CHAR) \
             FROM information_schema.tables WHERE table_schema = DATABASE()",
            "SELECT CAST(CONCAT('routine ', routine_name) AS CHAR) \
             FROM information_schema.routines WHERE routine_schema = DATABASE()",
            "SELECT CAST(CONCAT('trigger ', trigger_name) AS CHAR) \
             FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
            "SELECT DISTINCT CAST(CONCAT('index ', index_name) AS CHAR) \
             FROM information_schema.statistics WHERE table_schema = DATABASE()",
        ],
    };
    let mut found = Vec::new();
    for sql in queries {
        for row in db.fetch_text(sql).await.unwrap() {
            let text = row[0].clone().unwrap();
            if !text.contains("schema_migrations") && !text.ends_with("PRIMARY") {
                found.push(text);
            }
        }
    }
    found.sort();
    found
}

async fn count(db: &mut Database, table: &str) -> String {
    let text = if db.backend() == Backend::Mysql {
        "CHAR"
    } else {
        "TEXT"
    };
    let rows = db
        .fetch_text(&format!("SELECT CAST(COUNT(*) AS {text}) FROM {table}"))
        .await
        .unwrap();
    rows[0][0].clone().unwrap()
}

#[tokio::test]
async fn every_layout_applies_rolls_back_to_empty_and_applies_again() {
    for backend in Backend::ALL {
        for layout in TOOLS {
            let Some(test_db) = TestDb::create(backend).await else {
                continue;
            };
            let what = format!("{layout} on {backend}");
            let set = load(layout, backend);
            let migrator = Migrator::for_set(&set);
            let mut db = connect(&test_db).await;
            let report = migrator
                .run(&mut db, &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                report.applied.len(),
                set.len() + set.repeatable().len(),
                "{what}"
            );
            let applied = objects(&mut db).await;
            for expected in ["items", "stats", "audit_log", "stats_audit"] {
                assert!(
                    applied.iter().any(|o| o.ends_with(&format!(" {expected}"))),
                    "{what}: {expected} in {applied:?}"
                );
            }
            // The audit trigger ran once per seeded stat.
            assert_eq!(count(&mut db, "audit_log").await, "3", "{what}");
            assert!(migrator.status(&mut db).await.unwrap().is_clean(), "{what}");

            let down = DownOptions {
                target: DownTarget::All,
                dry_run: false,
            };
            let rolled_back = migrator
                .down(&mut db, &down, &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(rolled_back.rolled_back.len(), set.len(), "{what}");
            assert_eq!(
                rolled_back.rolled_back.first().map(|a| &a.version),
                set.latest().map(|m| &m.version),
                "{what}: newest first"
            );
            assert_eq!(
                objects(&mut db).await,
                Vec::<String>::new(),
                "{what}: empty"
            );
            let status = migrator.status(&mut db).await.unwrap();
            assert_eq!(status.pending.len(), set.len(), "{what}");
            assert!(status.applied.is_empty(), "{what}: {status:?}");
            assert!(
                Tracking::default().exists(&mut db).await.unwrap(),
                "{what}: the tracking table stays"
            );

            let again = migrator.run(&mut db, &mut no_events).await.unwrap();
            assert_eq!(again.applied.len(), report.applied.len(), "{what}");
            assert_eq!(
                objects(&mut db).await,
                applied,
                "{what}: the same objects again"
            );
            assert_eq!(count(&mut db, "audit_log").await, "3", "{what}");
        }
    }
}

/// Creates `tool`'s tracking table as the tool does, with a row for every migration of `set`
/// (and a failed or baseline row where the tool writes them).
async fn tool_history(db: &mut Database, tool: Layout, set: &MigrationSet) {
    let backend = db.backend();
    let mut statements: Vec<String> = Vec::new();
    match (tool, backend) {
        (Layout::Sqlx, _) => {
            let (installed_on, checksum_type) = match backend {
                Backend::Postgres => ("TIMESTAMPTZ NOT NULL DEFAULT now()", "BYTEA"),
                _ => ("TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP", "BLOB"),
            };
            statements.push(format!(
                "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\
                 version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
                 installed_on {installed_on}, success BOOLEAN NOT NULL, \
                 checksum {checksum_type} NOT NULL, execution_time BIGINT NOT NULL)"
            ));
            let checksum = match backend {
                Backend::Postgres => "decode('a1b2c3', 'hex')",
                _ => "X'A1B2C3'",
            };
            for migration in set {
                let number: i64 = migration.version.as_str().parse().unwrap();
                statements.push(format!(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                     execution_time) VALUES ({number}, '{}', TRUE, {checksum}, 1234567)",
                    migration.name.replace('_', " ")
                ));
            }
            // A migration that failed part-way: sqlx leaves its row with success false.
            statements.push(format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES (29990101000000, 'failed', FALSE, {checksum}, -1)"
            ));
        }
        (Layout::Diesel, _) => {
            statements.push(
                "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\
                 version VARCHAR(50) PRIMARY KEY NOT NULL, \
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                    .to_string(),
            );
            for migration in set {
                statements.push(format!(
                    "INSERT INTO __diesel_schema_migrations (version) VALUES ('{}')",
                    migration.version
                ));
            }
        }
        (Layout::Dbmate, _) => {
            let version = match backend {
                Backend::Postgres => "version character varying(128) NOT NULL PRIMARY KEY",
                _ => "version varchar(128) primary key",
            };
            statements.push(format!(
                "CREATE TABLE IF NOT EXISTS schema_migrations ({version})"
            ));
            for migration in set {
                statements.push(format!(
                    "INSERT INTO schema_migrations (version) VALUES ('{}')",
                    migration.version
                ));
            }
        }
        (Layout::Flyway, _) => {
            let (installed_on, success, tail) = match backend {
                Backend::Postgres => ("TIMESTAMP NOT NULL DEFAULT now()", "BOOLEAN", ""),
                Backend::Mysql => (
                    "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
                    "BOOL",
                    " ENGINE=InnoDB",
                ),
                Backend::Sqlite => (
                    "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))",
                    "BOOLEAN",
                    "",
                ),
            };
            statements.push(format!(
                "CREATE TABLE flyway_schema_history (\
                 installed_rank INT NOT NULL, version VARCHAR(50), \
                 description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, \
                 script VARCHAR(1000) NOT NULL, checksum INT, \
                 installed_by VARCHAR(100) NOT NULL, installed_on {installed_on}, \
                 execution_time INT NOT NULL, success {success} NOT NULL, \
                 CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)){tail}"
            ));
            statements.push(
                "CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success)"
                    .to_string(),
            );
            let mut rank = 0;
            let mut row = |version: Option<&str>, description: &str, kind: &str, script: &str| {
                rank += 1;
                let version = version.map_or("NULL".to_string(), |v| format!("'{v}'"));
                format!(
                    "INSERT INTO flyway_schema_history (installed_rank, version, description, \
                     type, script, checksum, installed_by, execution_time, success) VALUES \
                     ({rank}, {version}, '{description}', '{kind}', '{script}', -12345, \
                     'flyway', 12, TRUE)"
                )
            };
            // The database was baselined at version 1 (flyway baseline), then migrated.
            let mut migrations = set.iter();
            let first = migrations.next().unwrap();
            statements.push(row(
                Some(first.version.as_str()),
                "<< Flyway Baseline >>",
                "BASELINE",
                "<< Flyway Baseline >>",
            ));
            for migration in migrations {
                let script = format!(
                    "V{}__{}.sql",
                    migration.version.as_str().replace('.', "_"),
                    migration.name
                );
                statements.push(row(
                    Some(migration.version.as_str()),
                    &migration.name.replace('_', " "),
                    "SQL",
                    &script,
                ));
            }
            for repeatable in set.repeatable() {
                let script = format!("R__{}.sql", repeatable.name);
                statements.push(row(None, &repeatable.name, "SQL", &script));
            }
        }
        (Layout::GolangMigrate | Layout::Goose | Layout::Prisma, _) => {
            unreachable!("their tables are built in tools.rs")
        }
        (Layout::Native, _) => unreachable!("tt's own layout has no other tool's table"),
    }
    for sql in statements {
        db.fetch_text(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[tokio::test]
async fn a_baseline_imported_from_each_tools_table_leaves_nothing_pending() {
    for backend in Backend::ALL {
        for tool in TOOLS {
            let Some(test_db) = TestDb::create(backend).await else {
                continue;
            };
            let what = format!("{tool} on {backend}");
            let set = load(tool, backend);
            let mut db = connect(&test_db).await;
            // The schema exists, as the other tool left it: built here under a scratch
            // tracking table that is then dropped.
            let scratch = Tracking::new("scratch_history");
            Migrator::for_set(&set)
                .tracking(scratch)
                .run(&mut db, &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            db.fetch_text("DROP TABLE scratch_history").await.unwrap();
            let built = objects(&mut db).await;
            tool_history(&mut db, tool, &set).await;

            let migrator = Migrator::for_set(&set);
            let before = migrator.status(&mut db).await.unwrap();
            if tool == Layout::Dbmate {
                // dbmate's table has tt's default name: tt reads its rows as applied, without
                // checksums, until the import records them.
                assert!(
                    before.applied.iter().all(|a| a.checksum.is_none()),
                    "{what}"
                );
                assert_eq!(before.applied.len(), set.len(), "{what}");
            } else {
                assert_eq!(before.pending.len(), set.len(), "{what}: {before:?}");
            }
            let report = migrator
                .baseline_from_tool(&mut db, tool)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                report.recorded.len(),
                set.len() + set.repeatable().len(),
                "{what}: {report:?}"
            );
            assert!(report.unknown.is_empty(), "{what}: {:?}", report.unknown);
            let status = migrator.status(&mut db).await.unwrap();
            assert!(status.is_clean(), "{what}: {status:?}");
            let checksum = status.applied[0].checksum.as_deref();
            assert_eq!(
                checksum,
                Some(
                    set.iter()
                        .next()
                        .unwrap()
                        .up_for(backend)
                        .unwrap()
                        .checksum
                        .as_str()
                ),
                "{what}: tt's own checksum"
            );
            let run = migrator.run(&mut db, &mut no_events).await.unwrap();
            assert!(run.applied.is_empty(), "{what}: nothing runs: {run:?}");
            // Imported rows are as good as applied ones: they roll back.
            let down = DownOptions {
                target: DownTarget::All,
                dry_run: false,
            };
            migrator
                .down(&mut db, &down, &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let left: Vec<String> = objects(&mut db)
                .await
                .into_iter()
                .filter(|o| built.contains(o))
                .collect();
            assert!(left.is_empty(), "{what}: {left:?}");
        }
    }
}
