//! The shop fixture, test databases and the drift each test applies to them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tt_migrate::{ConnectOptions, Database, MigrationSet, Migrator, Tracking};
use tt_schema::Backend;
use tt_testdb::TestDb;
use tt_verify::{CheckId, ExpectedSource, Report, VerifyOptions, verify};

/// The essential tables of the shop fixture, for the smoke check.
pub(crate) const ESSENTIAL: [&str; 2] = ["items", "tags"];

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub(crate) fn shop() -> MigrationSet {
    MigrationSet::load(&fixture("shop")).expect("the shop fixture loads")
}

pub(crate) async fn connect(db: &TestDb) -> Database {
    let options = ConnectOptions {
        lock_timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    };
    Database::connect(db.url(), options)
        .await
        .expect("connects")
}

/// Applies `set` to `db`.
pub(crate) async fn migrate(db: &mut Database, set: &MigrationSet) {
    Migrator::new(set.as_slice())
        .run(db, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{}: migrations apply: {e}", db.backend()));
}

/// Runs statements separated by `;\n`, one at a time.
pub(crate) async fn run(db: &mut Database, sql: &str) {
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.fetch_text(statement)
            .await
            .unwrap_or_else(|e| panic!("{}: {statement}: {e}", db.backend()));
    }
}

/// Every check, expected schema from the migrations (scratch database).
pub(crate) async fn verify_all(db: &mut Database, set: &MigrationSet) -> Report {
    verify_with(
        db,
        set,
        ExpectedSource::Migrations(set.as_slice()),
        &CheckId::ALL,
    )
    .await
}

pub(crate) async fn verify_with(
    db: &mut Database,
    set: &MigrationSet,
    expected: ExpectedSource<'_>,
    checks: &[CheckId],
) -> Report {
    let essential: Vec<String> = ESSENTIAL.iter().map(|t| t.to_string()).collect();
    let options = VerifyOptions {
        checks,
        migrations: set.as_slice(),
        expected,
        tracking: &Tracking::default(),
        essential_tables: &essential,
    };
    verify(db, &options)
        .await
        .unwrap_or_else(|e| panic!("{}: verify runs: {e}", db.backend()))
}

/// The failing checks of a report, each as `id: message` lines.
pub(crate) fn failures(report: &Report) -> Vec<String> {
    report
        .checks
        .iter()
        .flat_map(|c| {
            c.problems
                .iter()
                .map(move |p| format!("{}: {}", c.id, p.message))
        })
        .collect()
}

/// The drift a test applies to a migrated shop database, written for `backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drift {
    DroppedIndex,
    AlteredColumnType,
    ExtraTable,
    MissingForeignKey,
    DirtyRow,
    OrphanRows,
}

impl Drift {
    pub(crate) fn sql(self, backend: Backend) -> String {
        use Backend::*;
        match (self, backend) {
            (Drift::DroppedIndex, Mysql) => "DROP INDEX idx_items_name ON items".into(),
            (Drift::DroppedIndex, _) => "DROP INDEX idx_items_name".into(),
            (Drift::AlteredColumnType, Postgres) => {
                "ALTER TABLE tags ALTER COLUMN tag TYPE VARCHAR(64)".into()
            }
            (Drift::AlteredColumnType, Mysql) => {
                "ALTER TABLE tags MODIFY tag VARCHAR(64) NOT NULL".into()
            }
            (Drift::AlteredColumnType, Sqlite) => rebuild_tags(
                "tag VARCHAR(64) NOT NULL",
                ", CONSTRAINT fk_tags_item FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE",
            ),
            (Drift::ExtraTable, _) => "CREATE TABLE extra_stuff (id INTEGER)".into(),
            (Drift::MissingForeignKey, Postgres) => {
                "ALTER TABLE tags DROP CONSTRAINT fk_tags_item".into()
            }
            (Drift::MissingForeignKey, Mysql) => {
                "ALTER TABLE tags DROP FOREIGN KEY fk_tags_item".into()
            }
            (Drift::MissingForeignKey, Sqlite) => rebuild_tags("tag VARCHAR(32) NOT NULL", ""),
            (Drift::DirtyRow, _) => {
                "UPDATE schema_migrations SET dirty = TRUE WHERE version = '003'".into()
            }
            (Drift::OrphanRows, Postgres) => "SET session_replication_role = replica;\n\
                 INSERT INTO tags (item_id, tag) VALUES (999, 'lost');\n\
                 SET session_replication_role = DEFAULT"
                .into(),
            (Drift::OrphanRows, Mysql) => "SET FOREIGN_KEY_CHECKS = 0;\n\
                 INSERT INTO tags (item_id, tag) VALUES (999, 'lost');\n\
                 SET FOREIGN_KEY_CHECKS = 1"
                .into(),
            (Drift::OrphanRows, Sqlite) => "PRAGMA foreign_keys = OFF;\n\
                 INSERT INTO tags (item_id, tag) VALUES (999, 'lost');\n\
                 PRAGMA foreign_keys = ON"
                .into(),
        }
    }
}

/// SQLite cannot alter a table's columns or keys: build `tags` anew with `tag` and `rest`.
fn rebuild_tags(tag: &str, rest: &str) -> String {
    format!(
        "CREATE TABLE tags_new (item_id INTEGER NOT NULL, {tag}, PRIMARY KEY (item_id, tag){rest});\n\
         INSERT INTO tags_new SELECT item_id, tag FROM tags;\n\
         DROP TABLE tags;\n\
         ALTER TABLE tags_new RENAME TO tags"
    )
}
