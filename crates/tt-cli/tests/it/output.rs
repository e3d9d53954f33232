//! Colour, quiet and verbose output, and the rule that `--json` prints one document.

use crate::support::{Project, Run, ok, run};

const ESC: char = '\u{1b}';

/// A project with one migration applied and one pending, so `status` paints both states.
fn project() -> Project {
    let project = Project::new();
    project.migration("001_items.sql", "CREATE TABLE items (id integer);\n");
    ok(&mut project.tt(&["-q", "migrate"]));
    project.migration("002_more.sql", "CREATE TABLE more_items (id integer);\n");
    project
}

fn has_escapes(run: &Run) -> bool {
    run.stdout.contains(ESC) || run.stderr.contains(ESC)
}

#[test]
fn piped_output_has_no_colour_unless_forced_and_no_color_wins() {
    let project = project();
    let piped = ok(&mut project.tt(&["status"]));
    assert!(!has_escapes(&piped), "{:?}", piped.stdout);
    let row: Vec<&str> = piped
        .stdout
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..3], ["001", "items", "applied"], "{}", piped.stdout);

    // The check can see colour: forcing it paints the same output.
    let forced = ok(project.tt(&["status"]).env("CLICOLOR_FORCE", "1"));
    assert!(forced.stdout.contains(ESC), "{:?}", forced.stdout);

    let no_color = ok(project
        .tt(&["status"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert!(!has_escapes(&no_color), "{:?}", no_color.stdout);
    assert_eq!(no_color.stdout, piped.stdout);

    // Errors and -v logs on stderr follow the same rule.
    for env in [vec![], vec![("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]] {
        let mut command = project.tt(&["-v", "status", "--dir", "nowhere"]);
        command.envs(env.clone());
        let failed = run(&mut command);
        assert_eq!(failed.code, 1);
        assert!(failed.stderr.starts_with("error: "), "{:?}", failed.stderr);
        assert!(!has_escapes(&failed), "{env:?}: {:?}", failed.stderr);
        let mut command = project.tt(&["-v", "status"]);
        command.envs(env.clone());
        let verbose = ok(&mut command);
        assert!(verbose.stderr.contains("DEBUG"), "{}", verbose.stderr);
        assert!(!has_escapes(&verbose), "{env:?}: {:?}", verbose.stderr);
    }
}

#[test]
fn quiet_prints_nothing_on_success_and_the_error_on_failure() {
    let project = project();
    for args in [&["-q", "migrate"][..], &["-q", "status"], &["-q", "config"]] {
        let out = ok(&mut project.tt(args));
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", ""),
            "{args:?}"
        );
    }
    let out = ok(&mut project.tt(&["-q", "new", "x"]));
    assert_eq!(out.stdout, "");
    assert!(project.path().join("migrations/003_x.sql").exists());

    project.migration("004_bad.sql", "INSERT INTO nope VALUES (1);\n");
    let out = run(&mut project.tt(&["-q", "migrate"]));
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("004_bad.sql:1:"), "{}", out.stderr);
}

#[test]
fn verbose_shows_each_statement_with_its_timing() {
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id integer);\nINSERT INTO items (id) VALUES (7);\n",
    );
    let quiet_logs = ok(&mut project.tt(&["migrate", "--dry-run"]));
    assert_eq!(quiet_logs.stderr, "", "no logs without -v");

    let out = ok(&mut project.tt(&["-v", "migrate"]));
    // One record per round trip; a batch of several statements spans several lines.
    let logged: Vec<&str> = out.stderr.split(" DEBUG ").skip(1).collect();
    // The file's statements go in one batch; the batch and tt's own queries are each logged
    // with their time.
    assert!(
        out.stderr
            .contains("CREATE TABLE items (id integer);\nINSERT INTO items (id) VALUES (7) ms="),
        "{}",
        out.stderr
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains("INSERT INTO \"schema_migrations\"")),
        "{}",
        out.stderr
    );
    assert!(
        logged
            .iter()
            .filter(|l| !l.contains("sending batch"))
            .all(|l| l.contains(" ms=")),
        "{}",
        out.stderr
    );
    // stdout is unchanged by -v.
    assert!(out.stdout.contains("applied 001 items"), "{}", out.stdout);

    // RUST_LOG overrides -v.
    let out = ok(project.tt(&["-v", "status"]).env("RUST_LOG", "error"));
    assert_eq!(out.stderr, "");
}

#[test]
fn json_mode_prints_exactly_one_document_and_logs_on_stderr() {
    let project = project();
    for args in [
        &["--json", "-v", "status"][..],
        &["--json", "-v", "migrate"],
        &["--json", "-v", "config"],
        &["--json", "-v", "new", "more"],
    ] {
        let out = ok(&mut project.tt(args));
        let doc = out.json();
        assert!(doc.is_object(), "{args:?}: {doc}");
        assert!(!out.stdout.contains(ESC));
    }
    // Failures too: one document on stdout, the message on stderr.
    let out = run(&mut project.tt(&["--json", "status", "--database-url", "oracle://x"]));
    assert_eq!(out.code, 1);
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("unsupported database url"), "{message}");
    assert!(out.stderr.contains(&message), "{}", out.stderr);
}

/// The keys of every command's document, as docs/user-guide.md lists them. Found drifting:
/// `tt repair --json` with nothing to repair said `"dry_run": true`, and `tt drop --json` with
/// nothing to drop had no `cascaded`.
#[test]
fn every_command_prints_the_json_keys_the_user_guide_documents() {
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id integer PRIMARY KEY);\n",
    );
    project.migration("001_items.down.sql", "DROP TABLE items;\n");
    project.migration(
        "002_stats.sql",
        "CREATE TABLE stats (item_id integer REFERENCES items (id));\n",
    );
    project.migration("002_stats.down.sql", "DROP TABLE stats;\n");
    let document = |args: &[&str]| {
        let mut all = vec!["--json", "--yes"];
        all.extend(args);
        ok(&mut project.tt(&all)).json()
    };
    let check = |args: &[&str], expected: &[&str]| {
        let doc = document(args);
        let mut keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, expected, "{args:?}: {doc}");
    };
    let run = ["applied", "backend", "dry_run"];
    check(&["migrate", "--dry-run"], &run);
    check(&["migrate"], &run);
    check(
        &["status"],
        &[
            "applied",
            "backend",
            "changed",
            "database",
            "dirty",
            "missing",
            "out_of_order",
            "parallel_gap",
            "pending",
            "repeatable_pending",
            "stopped_drop",
        ],
    );
    check(
        &["down", "--dry-run"],
        &["backend", "dry_run", "rolled_back", "stopped_before"],
    );
    check(&["down"], &["backend", "dry_run", "rolled_back"]);
    check(&["baseline", "002"], &["backend", "recorded", "unknown"]);
    let repair = ["checksums", "dirty", "dirty_resolution", "dry_run"];
    check(&["repair", "--dry-run"], &repair);
    check(&["repair"], &repair);
    assert_eq!(document(&["repair"])["dry_run"], false);
    check(&["drop", "--dry-run"], &["dry_run", "plan"]);
    let drop = ["cascaded", "dropped", "dry_run", "left_in_place", "objects"];
    check(&["drop"], &drop);
    check(&["drop"], &drop);
    let reset = [
        "applied",
        "backend",
        "cascaded",
        "dropped",
        "elapsed_ms",
        "left_in_place",
        "missing_tables",
        "recreated",
        "tables",
        "verify",
    ];
    check(&["reset"], &reset);
    check(&["recreate"], &reset);
    check(
        &["protect", "--note", "x"],
        &["database", "note", "protected"],
    );
    check(&["protect", "--remove"], &["database", "protected"]);
    check(
        &["graph"],
        &[
            "create_order",
            "cycles",
            "deferred_foreign_keys",
            "drop_order",
            "levels",
        ],
    );
    check(
        &["verify"],
        &["backend", "checks", "database", "expected", "ok"],
    );
    check(
        &["diff"],
        &[
            "backend",
            "database",
            "differences",
            "expected",
            "identical",
        ],
    );
    check(
        &["diff", "--sql"],
        &["backend", "expected", "manual", "statements"],
    );
    check(&["dump", "-o", "-"], &["backend", "snapshot", "tables"]);
    check(&["dump"], &["backend", "path", "tables"]);
    check(&["new", "x"], &["files", "name", "version"]);
    check(
        &["config"],
        &[
            "connect_timeout_secs",
            "database_url",
            "essential_tables",
            "file",
            "jobs",
            "lock",
            "lock_timeout_secs",
            "migrations_dir",
            "postgres_schema",
            "session_sql",
            "tracking_table",
        ],
    );
    check(&["completions", "bash"], &["script", "shell"]);
}
