//! `tt new`: numbering, templates, variants, refusals.

use serde_json::json;

use crate::support::{Project, ok, run};

#[test]
fn new_numbers_from_001_and_keeps_counting() {
    let project = Project::new();
    let out = ok(&mut project.tt(&["new", "create_items"]));
    assert_eq!(out.stdout, "created migrations/001_create_items.sql\n");
    ok(&mut project.tt(&["-q", "new", "seed"]));
    assert_eq!(
        project.migration_files(),
        ["001_create_items.sql", "002_seed.sql"]
    );
    let text =
        std::fs::read_to_string(project.path().join("migrations/001_create_items.sql")).unwrap();
    assert!(
        text.starts_with("-- 001 create_items (up)\n-- Created by tt new on "),
        "{text}"
    );
    // The new files are valid (empty) migrations.
    ok(&mut project.tt(&["-q", "migrate"]));
    let status = ok(&mut project.tt(&["--json", "status"])).json();
    assert_eq!(status["applied"].as_array().unwrap().len(), 2);
}

#[test]
fn new_follows_the_directory_convention() {
    let check = |existing: &[&str], args: &[&str], expected: &[&str]| {
        let project = Project::new();
        for file in existing {
            project.migration(file, "SELECT 1;\n");
        }
        let mut all = vec!["-q", "new"];
        all.extend(args);
        ok(&mut project.tt(&all));
        let created: Vec<String> = project
            .migration_files()
            .into_iter()
            .filter(|f| !existing.contains(&f.as_str()))
            .collect();
        assert_eq!(created, expected, "{existing:?} {args:?}");
    };
    check(&["000_init.sql", "004_stats.sql"], &["x"], &["005_x.sql"]);
    check(&["099_a.sql"], &["x"], &["100_x.sql"]);
    check(&["0009_a.sql"], &["x"], &["0010_x.sql"]);
    check(&["1_a.sql"], &["x"], &["2_x.sql"]);
    check(&["001_a.sql"], &["x", "--toml"], &["002_x.toml"]);
    check(
        &["001_a.sql"],
        &["x", "--down"],
        &["002_x.down.sql", "002_x.sql"],
    );
    check(
        &["001_a.sql"],
        &["idx", "--backend", "sqlite", "--backend", "postgres"],
        &["002_idx.postgres.sql", "002_idx.sqlite.sql"],
    );
    check(
        &["001_a.sql"],
        &["idx", "--backend", "mysql", "--down"],
        &["002_idx.mysql.down.sql", "002_idx.mysql.sql"],
    );
    // Timestamps: a 14-digit version ahead of the clock still gets a later one.
    check(&["29991231235959_a.sql"], &["x"], &["29991231235960_x.sql"]);
}

#[test]
fn new_with_timestamps_uses_the_current_utc_time() {
    let project = Project::new();
    project.migration("20200101000000_a.sql", "SELECT 1;\n");
    let doc = ok(&mut project.tt(&["--json", "new", "x"])).json();
    let version = doc["version"].as_str().unwrap();
    assert_eq!(version.len(), 14, "{version}");
    assert!(
        version > "20240101000000" && version.starts_with('2'),
        "{version}"
    );
    let empty = Project::new();
    let doc = ok(&mut empty.tt(&["--json", "new", "x", "--timestamp"])).json();
    assert_eq!(doc["version"].as_str().unwrap().len(), 14);
}

#[test]
fn new_json_describes_every_file() {
    let project = Project::new();
    let doc =
        ok(&mut project.tt(&["--json", "new", "idx", "--backend", "postgres", "--down"])).json();
    let dir = std::path::Path::new("migrations");
    assert_eq!(
        doc,
        json!({
            "version": "001",
            "name": "idx",
            "files": [
                {
                    "path": dir.join("001_idx.postgres.sql"),
                    "kind": "sql",
                    "backend": "postgres",
                    "down": false,
                },
                {
                    "path": dir.join("001_idx.postgres.down.sql"),
                    "kind": "sql",
                    "backend": "postgres",
                    "down": true,
                },
            ],
        })
    );
    let toml = Project::new();
    let doc = ok(&mut toml.tt(&["--json", "new", "items", "--toml"])).json();
    assert_eq!(doc["files"][0]["kind"], "toml");
    let text = std::fs::read_to_string(toml.path().join("migrations/001_items.toml")).unwrap();
    assert!(text.starts_with("# 001 items: table definitions"), "{text}");
}

#[test]
fn new_refuses_a_bad_name_with_the_valid_pattern() {
    let project = Project::new();
    for name in ["create items", "items.sql", "../x", ""] {
        let out = run(&mut project.tt(&["new", name]));
        assert_eq!(out.code, 2, "{name}");
        assert!(
            out.stderr.contains("[A-Za-z0-9_-]+"),
            "{name}: {}",
            out.stderr
        );
    }
    assert!(!project.path().join("migrations").exists());
}

#[test]
fn new_refuses_an_existing_file_and_writes_nothing() {
    let project = Project::new();
    project.migration("001_a.sql", "SELECT 1;\n");
    // Something already named like the rollback file (a directory: discovery skips those).
    std::fs::create_dir(project.path().join("migrations/002_b.down.sql")).unwrap();
    let out = run(&mut project.tt(&["new", "b", "--down"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("002_b.down.sql already exists; nothing was written"),
        "{}",
        out.stderr
    );
    assert_eq!(project.migration_files(), ["001_a.sql", "002_b.down.sql"]);
}

#[test]
fn new_refuses_to_add_to_a_broken_directory() {
    let project = Project::new();
    project.migration("001_a.sql", "SELECT 1;\n");
    project.migration("001_b.sql", "SELECT 1;\n");
    let out = run(&mut project.tt(&["new", "c"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("001_a.sql: duplicate version 001"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("cannot add a migration until these problems are fixed"),
        "{}",
        out.stderr
    );
    assert_eq!(project.migration_files(), ["001_a.sql", "001_b.sql"]);
}
