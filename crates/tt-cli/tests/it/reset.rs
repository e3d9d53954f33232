//! `tt reset`, `tt drop`, `tt recreate`, `tt protect` and `tt graph` as a user runs them:
//! confirmation without a terminal, protection, exit codes and JSON documents.

use serde_json::json;
use tt_testdb::TestDb;

use crate::support::{Project, ok, on_terminal, run};

const ITEMS: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL);\n\
                     INSERT INTO items (id, name) VALUES (1, 'Ring of Presence');\n";
const STATS: &str = "CREATE TABLE item_stats (item_id INTEGER NOT NULL REFERENCES items (id), \
                     stat INTEGER NOT NULL, PRIMARY KEY (item_id, stat));\n";

fn project() -> Project {
    let project = Project::new();
    project.migration("001_items.sql", ITEMS);
    project.migration("002_item_stats.sql", STATS);
    project
}

#[tokio::test]
async fn without_a_terminal_destructive_commands_need_yes_or_ci() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        let project = project();
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        ok(&mut tt(&["migrate", "-q"]));
        // The question names what will go: the managed rows, or every row for recreate
        // (the tracking table's two included).
        for (command, rows) in [(&["reset"][..], 1), (&["drop"], 1), (&["recreate"], 3)] {
            let refused = run(&mut tt(command));
            assert_eq!(refused.code, 4, "{backend} {command:?}: {}", refused.stderr);
            assert!(
                refused.stderr.contains("--yes"),
                "{backend}: {}",
                refused.stderr
            );
            let holding = format!("holding {rows} row(s)");
            assert!(
                refused.stderr.contains(&holding),
                "{backend}: {}",
                refused.stderr
            );
        }
        let status = ok(&mut tt(&["status", "--json"])).json();
        assert_eq!(
            status["applied"].as_array().unwrap().len(),
            2,
            "{backend}: nothing changed"
        );

        // CI=true is the automation's way of saying yes.
        let mut ci = tt(&["reset", "--json"]);
        ci.env("CI", "true");
        let reset = ok(&mut ci).json();
        assert_eq!(
            reset["dropped"],
            json!(["item_stats", "items", "schema_migrations"]),
            "{backend}"
        );
        assert_eq!(reset["applied"].as_array().unwrap().len(), 2, "{backend}");
        assert_eq!(reset["verify"]["ok"], json!(true), "{backend}");
        assert_eq!(reset["missing_tables"], json!([]), "{backend}");
    }
}

/// `tt reset --json` used to give a failing migration's error as a message only, without the
/// fields `tt migrate --json` gives.
#[tokio::test]
async fn a_reset_that_fails_in_a_migration_reports_it_field_by_field_in_json() {
    let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
        return;
    };
    let project = project();
    ok(&mut project.tt_on(db.url(), &["migrate", "-q"]));
    project.migration("003_bad.sql", "INSERT INTO nope VALUES (1);\n");
    let failed = run(&mut project.tt_on(db.url(), &["reset", "--yes", "--json"]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let doc = failed.json();
    assert_eq!(doc["stage"], "migrate");
    assert_eq!(doc["applied"].as_array().unwrap().len(), 2, "{doc}");
    let error = &doc["error"];
    assert_eq!(error["failure"]["file"], "migrations/003_bad.sql", "{doc}");
    assert_eq!(error["failure"]["outcome"], "rolled_back");
    assert!(
        error["state"].as_str().unwrap().contains("tt migrate"),
        "{error}"
    );
}

#[tokio::test]
async fn a_protected_database_refuses_until_allowed_or_unprotected() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        let project = project();
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        ok(&mut tt(&["migrate", "-q"]));
        ok(&mut tt(&["protect", "--note", "live data"]));
        for command in [
            &["reset", "--yes"][..],
            &["drop", "--yes"],
            &["recreate", "--yes"],
        ] {
            let refused = run(&mut tt(command));
            assert_eq!(refused.code, 4, "{backend} {command:?}: {}", refused.stderr);
            assert!(
                refused.stderr.contains("protected (live data)"),
                "{backend}: {}",
                refused.stderr
            );
            assert!(
                refused.stderr.contains("--allow-protected"),
                "{backend}: {}",
                refused.stderr
            );
        }
        // The count of tables used to include the protection mark.
        let reset = ok(&mut tt(&["reset", "--yes", "--allow-protected", "--json"])).json();
        assert_eq!(
            reset["tables"], 3,
            "{backend}: items, item_stats, schema_migrations"
        );
        let dropped = ok(&mut tt(&["drop", "--yes", "--allow-protected", "--json"])).json();
        assert_eq!(
            dropped["dropped"],
            json!(["item_stats", "items", "schema_migrations"]),
            "{backend}"
        );
        ok(&mut tt(&["protect", "--remove"]));
        ok(&mut tt(&["reset", "--yes", "-q"]));
    }
}

/// `tt drop` used to ask its question first, so that without a terminal a protected database
/// was refused for the missing `--yes`, and on a terminal the user answered only to be refused.
#[tokio::test]
async fn drop_refuses_a_protected_database_before_asking() {
    let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
        return;
    };
    let project = project();
    ok(&mut project.tt_on(db.url(), &["migrate", "-q"]));
    ok(&mut project.tt_on(db.url(), &["protect", "--note", "live data"]));
    for command in [&["drop"][..], &["reset"], &["recreate"]] {
        let refused = run(&mut project.tt_on(db.url(), command));
        assert_eq!(refused.code, 4, "{command:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("is protected (live data)")
                && !refused.stderr.contains("confirmation"),
            "{command:?}: {}",
            refused.stderr
        );
    }
}

#[tokio::test]
async fn on_a_terminal_the_question_names_what_goes_and_only_yes_proceeds() {
    let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
        return;
    };
    let project = project();
    ok(&mut project.tt_on(db.url(), &["migrate", "-q"]));
    let Some(cancelled) = on_terminal(&project, db.url(), &["drop"], "n\n") else {
        return;
    };
    assert_eq!(cancelled.code, 4, "{}", cancelled.stdout);
    let question = format!(
        "Drop 2 table(s) holding 1 row(s), and the tracking table, from {}? [y/N] ",
        db.url()
    );
    // The terminal echoes the answer where it was typed, ahead of the question.
    assert!(
        cancelled.stdout.contains(&question),
        "{question:?} not in:\n{}",
        cancelled.stdout
    );
    assert!(
        cancelled
            .stdout
            .contains("error: cancelled: nothing was changed"),
        "{}",
        cancelled.stdout
    );
    let status = ok(&mut project.tt_on(db.url(), &["status", "--json"])).json();
    assert_eq!(
        status["applied"].as_array().unwrap().len(),
        2,
        "nothing was dropped"
    );

    let dropped = on_terminal(&project, db.url(), &["drop"], "y\n").unwrap();
    assert_eq!(dropped.code, 0, "{}", dropped.stdout);
    assert!(
        dropped.stdout.contains("Dropped 3 table(s)"),
        "{}",
        dropped.stdout
    );

    // tt repair asks the same way.
    ok(&mut project.tt_on(db.url(), &["migrate", "-q"]));
    project.migration("002_item_stats.sql", &format!("{STATS}-- edited\n"));
    let kept = on_terminal(&project, db.url(), &["repair"], "no\n").unwrap();
    assert_eq!(kept.code, 4, "{}", kept.stdout);
    assert!(
        kept.stdout.contains("Change 1 tracking row(s) of "),
        "{}",
        kept.stdout
    );
    let status = ok(&mut project.tt_on(db.url(), &["status", "--json"])).json();
    assert_eq!(
        status["changed"].as_array().unwrap().len(),
        1,
        "nothing was repaired"
    );
}

#[tokio::test]
async fn a_view_of_another_application_blocks_drop_with_exit_4_until_cascade() {
    let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
        return;
    };
    let project = project();
    let tt = |args: &[&str]| project.tt_on(db.url(), args);
    ok(&mut tt(&["migrate", "-q"]));
    let mut conn = tt_migrate::Database::connect(db.url(), Default::default())
        .await
        .unwrap();
    conn.fetch_text("CREATE VIEW names AS SELECT name FROM items")
        .await
        .unwrap();
    conn.fetch_text("CREATE TABLE other (id INTEGER)")
        .await
        .unwrap();
    drop(conn);
    let refused = run(&mut tt(&["drop", "--yes"]));
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("view names (on items)"),
        "{}",
        refused.stderr
    );
    let plan = ok(&mut tt(&["drop", "--dry-run", "--json"])).json();
    assert_eq!(plan["plan"]["untouched"], json!(["other"]));
    assert_eq!(plan["plan"]["tables"], json!(["item_stats", "items"]));
    ok(&mut tt(&["drop", "--yes", "--cascade"]));
    let graph = ok(&mut tt(&["graph", "--json"])).json();
    assert_eq!(
        graph["create_order"],
        json!(["other"]),
        "only the other table is left"
    );
}

#[tokio::test]
async fn graph_of_the_migrations_and_of_the_live_database_agree_after_migrate() {
    let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
        return;
    };
    let project = project();
    let tt = |args: &[&str]| project.tt_on(db.url(), args);
    let planned = ok(&mut tt(&["graph", "--from-migrations", "--json"])).json();
    assert_eq!(planned["create_order"], json!(["items", "item_stats"]));
    assert_eq!(planned["drop_order"], json!(["item_stats", "items"]));
    assert_eq!(planned["levels"], json!([["items"], ["item_stats"]]));
    assert_eq!(planned["cycles"], json!([]));
    ok(&mut tt(&["migrate", "-q"]));
    let live = ok(&mut tt(&["graph", "--json"])).json();
    assert_eq!(live, planned);
    let dot = ok(&mut tt(&["graph", "--format", "dot"])).stdout;
    assert!(dot.starts_with("digraph"), "{dot}");
}

/// `tt reset` refused ("3 object(s) tt does not manage depend on them") a schema whose own
/// migration created a materialized view over its tables, and called the view a view.
#[tokio::test]
async fn reset_rebuilds_a_matview_its_migrations_created_and_names_one_they_did_not() {
    let Some(db) = TestDb::create(tt_schema::Backend::Postgres).await else {
        return;
    };
    let project = project();
    project.migration(
        "003_summary.sql",
        "CREATE TYPE mood AS ENUM ('calm', 'busy');\n\
         CREATE MATERIALIZED VIEW stat_items AS SELECT i.name FROM items i \
         JOIN item_stats s ON s.item_id = i.id;\n",
    );
    let tt = |args: &[&str]| project.tt_on(db.url(), args);
    ok(&mut tt(&["migrate", "-q"]));
    let plan = ok(&mut tt(&["drop", "--dry-run", "--json"])).json();
    assert_eq!(
        plan["plan"]["objects"],
        json!([
            {"kind": "materialized view", "name": "stat_items"},
            {"kind": "enum type", "name": "mood"},
        ]),
        "{plan}"
    );
    let reset = ok(&mut tt(&["reset", "--yes", "--json"])).json();
    assert_eq!(reset["applied"].as_array().unwrap().len(), 3, "{reset}");

    let mut conn = tt_migrate::Database::connect(db.url(), Default::default())
        .await
        .unwrap();
    conn.fetch_text(
        "CREATE MATERIALIZED VIEW theirs AS SELECT s.name FROM stat_items s \
         JOIN items USING (name) JOIN item_stats ON item_id = items.id",
    )
    .await
    .unwrap();
    drop(conn);
    let refused = run(&mut tt(&["reset", "--yes"]));
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("1 object(s) tt does not manage")
            && refused.stderr.contains("materialized view theirs (on "),
        "{}",
        refused.stderr
    );
    ok(&mut tt(&["drop", "--yes", "--cascade"]));
    ok(&mut tt(&["migrate", "-q"]));
}

/// `tt reset --cascade` removes other applications' views and foreign keys: it must say which
/// (text and JSON), as `tt drop --cascade` does; on SQLite a foreign key cannot be removed,
/// and `tt drop --cascade` must not claim it was. Found: reset listed nothing, and SQLite's
/// drop said "also dropped foreign key …" of a key still there.
#[tokio::test]
async fn cascade_says_what_it_removed_and_what_it_left_in_place() {
    for backend in [tt_schema::Backend::Sqlite, tt_schema::Backend::Postgres] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let project = project();
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        ok(&mut tt(&["migrate", "-q"]));
        let mut conn = tt_migrate::Database::connect(db.url(), Default::default())
            .await
            .unwrap();
        for sql in [
            "CREATE VIEW names AS SELECT name FROM items",
            "CREATE TABLE wishes (item_id INTEGER, \
             CONSTRAINT fk_wishes_item FOREIGN KEY (item_id) REFERENCES items (id))",
        ] {
            conn.fetch_text(sql).await.unwrap();
        }
        let reset = ok(&mut tt(&["reset", "--yes", "--cascade", "--json"])).json();
        let names = |key: &str| -> Vec<String> {
            reset[key]
                .as_array()
                .unwrap_or_else(|| panic!("{backend}: no {key} in {reset}"))
                .iter()
                // SQLite names a foreign key by its columns: wishes.fk_wishes_item_id.
                .map(|d| {
                    let name = d["name"].as_str().unwrap().trim_end_matches("_id");
                    format!("{} {name}", d["kind"].as_str().unwrap())
                })
                .collect()
        };
        let fk_kept: i64 = match backend {
            tt_schema::Backend::Sqlite => 1,
            _ => 0,
        };
        let fk = "foreign_key wishes.fk_wishes_item".to_string();
        let view = "view names".to_string();
        if fk_kept == 1 {
            assert_eq!(names("cascaded"), [view.as_str()], "{backend}: {reset}");
            assert_eq!(names("left_in_place"), [fk.as_str()], "{backend}: {reset}");
        } else {
            let mut cascaded = names("cascaded");
            cascaded.sort();
            assert_eq!(cascaded, [fk.clone(), view.clone()], "{backend}: {reset}");
            assert!(names("left_in_place").is_empty(), "{backend}: {reset}");
        }
        let count_sql = match backend {
            tt_schema::Backend::Sqlite => {
                "SELECT CAST(COUNT(*) AS TEXT) FROM pragma_foreign_key_list('wishes')"
            }
            _ => {
                "SELECT CAST(COUNT(*) AS TEXT) FROM information_schema.table_constraints \
                 WHERE table_name = 'wishes' AND constraint_type = 'FOREIGN KEY'"
            }
        };
        let still = conn.fetch_text(count_sql).await.unwrap()[0][0].clone();
        assert_eq!(still, Some(fk_kept.to_string()), "{backend}");

        // The text output of a drop says the same. The view again, for both to have work.
        conn.fetch_text("CREATE VIEW names AS SELECT name FROM items")
            .await
            .unwrap();
        if fk_kept == 0 {
            conn.fetch_text(
                "ALTER TABLE wishes ADD CONSTRAINT fk_wishes_item FOREIGN KEY (item_id) \
                 REFERENCES items (id)",
            )
            .await
            .unwrap();
        }
        drop(conn);
        let text = ok(tt(&["drop", "--yes", "--cascade"]).env("NO_COLOR", "1")).stdout;
        assert!(
            text.contains("also dropped view names (on items)"),
            "{backend}: {text}"
        );
        let fk_line = match backend {
            tt_schema::Backend::Sqlite => "foreign key wishes.fk_wishes_item_id (on items)",
            _ => "foreign key wishes.fk_wishes_item (on items)",
        };
        if fk_kept == 1 {
            assert!(
                text.contains(&format!("left in place {fk_line}")),
                "{backend}: {text}"
            );
            assert!(!text.contains(&format!("also dropped {fk_line}")), "{text}");
        } else {
            assert!(
                text.contains(&format!("also dropped {fk_line}")),
                "{backend}: {text}"
            );
            assert!(!text.contains("left in place"), "{text}");
        }
    }
}
