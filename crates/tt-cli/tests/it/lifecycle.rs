//! `tt down`, `tt baseline`, `tt repair`, `--layout` and out-of-order files, end to end on
//! SQLite.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Project, ok, run};

/// A project with `files` in `migrations/`.
fn project(files: &[(&str, &str)]) -> Project {
    let project = Project::new();
    for (name, text) in files {
        project.migration(name, text);
    }
    project
}

/// `tt` on the project's SQLite database, `tt.db`.
fn tt(project: &Project) -> Command {
    project.tt_on(&project.sqlite_url("tt.db"), &[])
}

fn json(project: &Project, args: &[&str]) -> Value {
    ok(tt(project).args(args).arg("--json")).json()
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
    tt(&dir).arg("migrate").assert().success();
    // 003 has no down file: even one step stops.
    tt(&dir)
        .args(["down"])
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains(
            "migration 003 (seed) has no down file: the rollback stopped before it",
        ));
    dir.migration("003_seed.down.sql", "DELETE FROM items;");
    tt(&dir)
        .args(["down", "--to", "001", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Would roll back 2 migration(s)"))
        .stdout(predicate::str::contains("  003 seed\n  002 stats\n"));
    let dry = json(&dir, &["down", "--all", "--dry-run"]);
    assert_eq!(versions(&dry["rolled_back"]), ["003", "002", "001"]);
    tt(&dir)
        .args(["down", "--steps", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rolled back 003 seed"))
        .stdout(predicate::str::contains("rolled back 002 stats"))
        .stdout(predicate::str::contains("Rolled back 2 migration(s)"));
    let status = json(&dir, &["status"]);
    assert_eq!(versions(&status["applied"]), ["001"]);
    assert_eq!(versions(&status["pending"]), ["002", "003"]);
    let all = json(&dir, &["down", "--all"]);
    assert_eq!(versions(&all["rolled_back"]), ["001"]);
    tt(&dir)
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
    tt(&dir).arg("migrate").assert().success();
    let failed = run(tt(&dir).args(["down", "--json"]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let doc = failed.json();
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
    let status = json(&dir, &["status"]);
    assert_eq!(
        versions(&status["applied"]),
        ["001"],
        "the rollback was undone"
    );
}

#[test]
fn repair_refuses_without_a_terminal_unless_yes_and_lists_each_change() {
    let dir = project(LINEAR);
    tt(&dir).arg("migrate").assert().success();
    tt(&dir)
        .arg("repair")
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to repair"));
    dir.migration(
        "002_stats.sql",
        "CREATE TABLE stats (id INTEGER PRIMARY KEY); -- edited",
    );
    tt(&dir)
        .arg("repair")
        .assert()
        .failure()
        .code(4)
        .stdout(predicate::str::contains("checksum 002 stats"))
        .stderr(predicate::str::contains("--yes"));
    let dry = json(&dir, &["repair", "--dry-run"]);
    assert_eq!(versions(&dry["checksums"]), ["002"]);
    assert_eq!(dry["dry_run"], true);
    let repaired = json(&dir, &["repair", "--yes"]);
    assert_eq!(versions(&repaired["checksums"]), ["002"]);
    let status = json(&dir, &["status"]);
    assert!(status["changed"].as_array().unwrap().is_empty());
    tt(&dir).arg("migrate").assert().success();
}

#[test]
fn baseline_records_up_to_a_version_and_status_shows_out_of_order_files() {
    let more = ("003_more.sql", "CREATE TABLE more_things (id INTEGER);");
    let dir = project(&[LINEAR[0], more]);
    let recorded = json(&dir, &["baseline", "003"]);
    assert_eq!(versions(&recorded["recorded"]), ["001", "003"]);
    tt(&dir)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("2 applied, 0 pending"));
    // A file older than the latest applied one appears later (a merged branch).
    dir.migration("002_between.sql", "CREATE TABLE between_them (id INTEGER);");
    tt(&dir)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("pending (out of order)"))
        .stdout(predicate::str::contains("1 out of order"));
    let status = json(&dir, &["status"]);
    assert_eq!(status["out_of_order"], serde_json::json!(["002"]));
    tt(&dir)
        .arg("migrate")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--allow-out-of-order"));
    tt(&dir)
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
    let dir = Project::new();
    let sqlx = layout_fixture("sqlx_sqlite");
    // The schema and sqlx's table, as sqlx left them: built here by a scratch migration run
    // under another tracking table.
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
    let scratch = dir.write("scratch/999_sqlx_history.sql", &history);
    let scratch = scratch.parent().unwrap();
    dir.write("scratch.toml", "tracking_table = \"scratch\"\n");
    tt(&dir)
        .args(["migrate", "--config", "scratch.toml", "--dir"])
        .arg(&sqlx)
        .assert()
        .success();
    tt(&dir)
        .args(["migrate", "--config", "scratch.toml", "--dir"])
        .arg(scratch)
        .assert()
        .success();

    let sqlx_dir = sqlx.to_str().unwrap();
    let before = json(&dir, &["status", "--dir", sqlx_dir]);
    assert_eq!(before["pending"].as_array().unwrap().len(), set.len());
    tt(&dir)
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
    let after = json(&dir, &["status", "--dir", sqlx_dir]);
    assert!(after["pending"].as_array().unwrap().is_empty(), "{after}");
    assert_eq!(after["applied"].as_array().unwrap().len(), set.len());
    // Forced to tt's own layout, the same folder is bad input, every file named.
    tt(&dir)
        .args(["status", "--layout", "native", "--dir", sqlx_dir])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown backend `up`"));
    tt(&dir)
        .args(["status", "--layout", "liquibase"])
        .assert()
        .failure()
        .code(2)
        .stderr(predicate::str::contains("unknown layout `liquibase`"));
}
