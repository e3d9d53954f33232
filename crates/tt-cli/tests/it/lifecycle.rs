//! `tt down`, `tt baseline`, `tt repair`, `--layout` and out-of-order files, end to end on
//! SQLite.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A project directory: `migrations/` with `files`, and a SQLite database beside it.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("migrations").join(name), text).unwrap();
    }
    dir
}

fn tt(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("tt").unwrap();
    command
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("tt.db").display()),
        )
        .env_remove("CI")
        .env("NO_COLOR", "1");
    command
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let output = tt(dir).args(args).arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn versions(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_string())
        .collect()
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
    ("003_seed.sql", "INSERT INTO items VALUES (1);"),
];

#[test]
fn down_prints_its_plan_rolls_back_and_stops_before_a_migration_without_down() {
    let dir = project(LINEAR);
    tt(dir.path()).arg("migrate").assert().success();
    // 003 has no down file: even one step stops.
    tt(dir.path())
        .args(["down"])
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains(
            "migration 003 (seed) has no down file: the rollback stopped before it",
        ));
    std::fs::write(
        dir.path().join("migrations/003_seed.down.sql"),
        "DELETE FROM items;",
    )
    .unwrap();
    tt(dir.path())
        .args(["down", "--to", "001", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Would roll back 2 migration(s)"))
        .stdout(predicate::str::contains("  003 seed\n  002 stats\n"));
    let dry = json(dir.path(), &["down", "--all", "--dry-run"]);
    assert_eq!(versions(&dry["rolled_back"]), ["003", "002", "001"]);
    tt(dir.path())
        .args(["down", "--steps", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rolled back 003 seed"))
        .stdout(predicate::str::contains("rolled back 002 stats"))
        .stdout(predicate::str::contains("Rolled back 2 migration(s)"));
    let status = json(dir.path(), &["status"]);
    assert_eq!(versions(&status["applied"]), ["001"]);
    assert_eq!(versions(&status["pending"]), ["002", "003"]);
    let all = json(dir.path(), &["down", "--all"]);
    assert_eq!(versions(&all["rolled_back"]), ["001"]);
    tt(dir.path())
        .args(["down", "--steps", "1", "--to", "001"])
        .assert()
        .failure()
        .code(2);
}

/// `tt down --json` used to give a failing down statement's error as a message only, without
/// the fields `tt migrate --json` gives.
#[test]
fn a_failing_down_file_is_reported_field_by_field_in_json() {
    let dir = project(&[
        (
            "001_items.sql",
            "CREATE TABLE items (id INTEGER PRIMARY KEY);",
        ),
        (
            "001_items.down.sql",
            "DELETE FROM items;
DROP TABLE nope;
",
        ),
    ]);
    tt(dir.path()).arg("migrate").assert().success();
    let output = tt(dir.path()).args(["down", "--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["rolled_back"], serde_json::json!([]));
    let failure = &doc["error"]["failure"];
    assert_eq!(failure["version"], "001", "{doc}");
    assert_eq!(failure["file"], "migrations/001_items.down.sql");
    assert_eq!(failure["statement"], 2);
    assert_eq!(failure["line"], 2);
    assert!(
        failure["server_message"].as_str().unwrap().contains("nope"),
        "{failure}"
    );
    let status = json(dir.path(), &["status"]);
    assert_eq!(
        versions(&status["applied"]),
        ["001"],
        "the rollback was undone"
    );
}

#[test]
fn repair_refuses_without_a_terminal_unless_yes_and_lists_each_change() {
    let dir = project(LINEAR);
    tt(dir.path()).arg("migrate").assert().success();
    tt(dir.path())
        .arg("repair")
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to repair"));
    std::fs::write(
        dir.path().join("migrations/002_stats.sql"),
        "CREATE TABLE stats (id INTEGER PRIMARY KEY); -- edited",
    )
    .unwrap();
    tt(dir.path())
        .arg("repair")
        .assert()
        .failure()
        .code(4)
        .stdout(predicate::str::contains("checksum 002 stats"))
        .stderr(predicate::str::contains("--yes"));
    let dry = json(dir.path(), &["repair", "--dry-run"]);
    assert_eq!(versions(&dry["checksums"]), ["002"]);
    assert_eq!(dry["dry_run"], true);
    let repaired = json(dir.path(), &["repair", "--yes"]);
    assert_eq!(versions(&repaired["checksums"]), ["002"]);
    let status = json(dir.path(), &["status"]);
    assert!(status["changed"].as_array().unwrap().is_empty());
    tt(dir.path()).arg("migrate").assert().success();
}

#[test]
fn baseline_records_up_to_a_version_and_status_shows_out_of_order_files() {
    let more = ("003_more.sql", "CREATE TABLE more_things (id INTEGER);");
    let dir = project(&[LINEAR[0], more]);
    let recorded = json(dir.path(), &["baseline", "003"]);
    assert_eq!(versions(&recorded["recorded"]), ["001", "003"]);
    tt(dir.path())
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("2 applied, 0 pending"));
    // A file older than the latest applied one appears later (a merged branch).
    std::fs::write(
        dir.path().join("migrations/002_between.sql"),
        "CREATE TABLE between_them (id INTEGER);",
    )
    .unwrap();
    tt(dir.path())
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("pending (out of order)"))
        .stdout(predicate::str::contains("1 out of order"));
    let status = json(dir.path(), &["status"]);
    assert_eq!(status["out_of_order"], serde_json::json!(["002"]));
    tt(dir.path())
        .arg("migrate")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--allow-out-of-order"));
    tt(dir.path())
        .args(["migrate", "--allow-out-of-order"])
        .assert()
        .success();
}

fn layout_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tt-migrate/tests/fixtures/layouts")
        .join(name)
}

#[test]
fn a_sqlx_folder_is_read_as_it_is_and_its_history_imported() {
    let dir = tempfile::tempdir().unwrap();
    let sqlx = layout_fixture("sqlx_sqlite");
    // The schema and sqlx's table, as sqlx left them: built here by a scratch migration run
    // under another tracking table.
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let set = tt_migrate::MigrationSet::load(&sqlx).unwrap();
    let mut history = String::from(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);\n",
    );
    for migration in &set {
        history.push_str(&format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ({}, '{}', 1, X'00', 1);\n",
            migration.version, migration.name
        ));
    }
    std::fs::write(scratch.join("999_sqlx_history.sql"), history).unwrap();
    std::fs::write(
        dir.path().join("scratch.toml"),
        "tracking_table = \"scratch\"\n",
    )
    .unwrap();
    tt(dir.path())
        .args(["migrate", "--config", "scratch.toml", "--dir"])
        .arg(&sqlx)
        .assert()
        .success();
    tt(dir.path())
        .args(["migrate", "--config", "scratch.toml", "--dir"])
        .arg(&scratch)
        .assert()
        .success();

    let sqlx_dir = sqlx.to_str().unwrap();
    let before = json(dir.path(), &["status", "--dir", sqlx_dir]);
    assert_eq!(before["pending"].as_array().unwrap().len(), set.len());
    tt(dir.path())
        .args(["baseline", "--from-tool", "--dir", sqlx_dir])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "Recorded {} migration(s) as applied",
            set.len()
        )))
        .stdout(predicate::str::contains(
            "from sqlx's table _sqlx_migrations",
        ));
    let after = json(dir.path(), &["status", "--dir", sqlx_dir]);
    assert!(after["pending"].as_array().unwrap().is_empty(), "{after}");
    assert_eq!(after["applied"].as_array().unwrap().len(), set.len());
    // Forced to tt's own layout, the same folder is bad input, every file named.
    tt(dir.path())
        .args(["status", "--layout", "native", "--dir", sqlx_dir])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown backend `up`"));
    tt(dir.path())
        .args(["status", "--layout", "liquibase"])
        .assert()
        .failure()
        .code(2)
        .stderr(predicate::str::contains("unknown layout `liquibase`"));
}
