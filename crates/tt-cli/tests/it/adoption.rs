//! Taking over from another tool, end to end on SQLite: `--from-tool` finds the tool by its
//! table, the tool's table is not drift, a baseline keeps when rows were applied, and files
//! that cannot run in a transaction say so.

use assert_cmd::Command;

use tt_migrate::{ConnectOptions, Database, Piece, Splitter};
use tt_schema::Backend;

use crate::support::{Project, ok, run};

fn tt(project: &Project) -> Command {
    project.tt_on(&project.sqlite_url("tt.db"), &[])
}

/// Runs the statements of `sql` on the project's SQLite database, as another tool left it.
fn setup(project: &Project, sql: &str) {
    let url = project.sqlite_url("tt.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut db = Database::connect(&url, ConnectOptions::default())
            .await
            .unwrap();
        for piece in Splitter::new(sql.as_bytes(), Backend::Sqlite) {
            if let Piece::Statement(statement) = piece.unwrap() {
                db.fetch_text(&statement.sql)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", statement.sql));
            }
        }
    });
}

#[test]
fn a_flat_sqlx_folder_is_baselined_from_the_table_found_and_verify_ignores_that_table() {
    let project = Project::new();
    // Flat sqlx files read as tt's own layout: only the table says which tool it was.
    project.migration(
        "20240101000000_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    );
    project.migration(
        "20240102000000_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\n",
    );
    setup(
        &project,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
         CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\n\
         CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);\n\
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20240101000000, 'items', 1, X'00', 1), (20240102000000, 'tags', 1, X'00', 1);\n",
    );
    let baseline = ok(tt(&project).args(["baseline", "--from-tool"]));
    assert!(
        baseline
            .stdout
            .contains("Recorded 2 migration(s) as applied"),
        "{}",
        baseline.stdout
    );
    assert!(
        baseline
            .stdout
            .contains("from sqlx's table _sqlx_migrations"),
        "{}",
        baseline.stdout
    );
    // sqlx's table stays, and is no drift.
    let verify = run(tt(&project).args(["verify"]));
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);

    // With no tool's table at all, the error names what was looked for.
    let empty = Project::new();
    empty.migration("001_x.sql", "CREATE TABLE x (id INTEGER);\n");
    let none = run(tt(&empty).args(["baseline", "--from-tool"]));
    assert_eq!(none.code, 1);
    assert!(
        none.stderr
            .contains("no other tool's tracking table found in this database"),
        "{}",
        none.stderr
    );
}

#[test]
fn baseline_to_a_version_keeps_when_existing_rows_were_applied() {
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\n",
    );
    project.migration(
        "002_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    // The schema, and a row its file wrote itself long ago, without a checksum.
    setup(
        &project,
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE tags (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE schema_migrations (version VARCHAR(255) PRIMARY KEY, name VARCHAR(255), \
         applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, checksum VARCHAR(64));\n\
         INSERT INTO schema_migrations (version, name, applied_at) \
         VALUES ('001', 'items', '2001-02-03 04:05:06');\n",
    );
    ok(tt(&project).args(["baseline", "002"]));
    let status = ok(tt(&project).args(["status", "--json"])).json();
    let applied = status["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 2, "{status}");
    assert_eq!(applied[0]["applied_at"], "2001-02-03 04:05:06", "{status}");
    assert!(applied[0]["checksum"].is_string(), "{status}");
    assert_ne!(applied[1]["applied_at"], "2001-02-03 04:05:06", "{status}");
}

#[test]
fn a_file_that_cannot_run_in_a_transaction_says_so_in_text_and_json() {
    let project = Project::new();
    project.migration("001_t.sql", "CREATE TABLE t (id INTEGER);\n");
    project.migration("002_compact.sql", "DELETE FROM t;\nVACUUM;\n");
    let text = ok(tt(&project).args(["migrate"]));
    assert!(
        text.stdout.contains("002 compact")
            && text.stdout.contains("without a transaction: VACUUM"),
        "{}",
        text.stdout
    );
    let other = Project::new();
    other.migration("001_t.sql", "CREATE TABLE t (id INTEGER);\n");
    other.migration("002_compact.sql", "VACUUM;\n");
    let json = ok(tt(&other).args(["migrate", "--json"])).json();
    let applied = json["applied"].as_array().unwrap();
    assert_eq!(applied[0]["no_transaction"], serde_json::Value::Null);
    assert_eq!(applied[1]["no_transaction"], "VACUUM", "{json}");
}

#[test]
fn an_empty_down_stops_the_rollback_and_says_so() {
    let project = Project::new();
    project.migration("001_items.sql", "CREATE TABLE items (id INTEGER);\n");
    project.migration("001_items.down.sql", "DROP TABLE items;\n");
    project.migration("002_stats.sql", "CREATE TABLE stats (id INTEGER);\n");
    project.migration("002_stats.down.sql", "-- Nothing to undo yet.\n\n");
    project.migration("003_tags.sql", "CREATE TABLE tags (id INTEGER);\n");
    project.migration("003_tags.down.sql", "DROP TABLE tags;\n");
    ok(tt(&project).args(["migrate"]));
    let plan = ok(tt(&project).args(["down", "--all", "--dry-run"]));
    assert!(
        plan.stdout
            .contains("and stop before 002 stats: its down is empty"),
        "{}",
        plan.stdout
    );
    let down = run(tt(&project).args(["down", "--all"]));
    assert_eq!(down.code, 1, "{}", down.stdout);
    assert!(
        down.stderr
            .contains("migration 002 (stats) has an empty down (")
            && down
                .stderr
                .contains("002_stats.down.sql), which would undo nothing"),
        "{}",
        down.stderr
    );
    let status = ok(tt(&project).args(["status", "--json"])).json();
    assert_eq!(status["applied"].as_array().unwrap().len(), 2, "{status}");
}
