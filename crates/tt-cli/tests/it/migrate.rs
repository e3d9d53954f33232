//! `tt migrate` and `tt status` against every reachable backend, through their JSON documents.

use serde_json::{Value, json};
use tt_migrate::Checksum;
use tt_testdb::TestDb;

use crate::support::{Project, ok, run};

const CREATE: &str = "CREATE TABLE items (id integer PRIMARY KEY, name varchar(64) NOT NULL);\n";
const SEED: &str = "INSERT INTO items (id, name) VALUES (1, 'Notum Wars Boosted Tank Armor');\n";
/// Fails at its second statement, on line 4, on every backend; rolls back everywhere.
const BAD: &str = "-- seed more\nINSERT INTO items (id, name) VALUES (2, 'x');\n\nINSERT INTO nope (id)\n  VALUES (1);\n";

fn versions(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|entry| entry["version"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn migrate_and_status_json_field_by_field() {
    for db in TestDb::create_all().await {
        let backend = db.backend().to_string();
        let project = Project::new();
        project.migration("001_create_items.sql", CREATE);
        project.migration("002_seed.sql", SEED);
        let tt = |args: &[&str]| project.tt_on(db.url(), args);

        let before = ok(&mut tt(&["--json", "status"])).json();
        assert_eq!(before["backend"], json!(backend));
        assert_eq!(before["applied"], json!([]));
        assert_eq!(
            before["pending"],
            json!([
                { "version": "001", "name": "create_items" },
                { "version": "002", "name": "seed" },
            ]),
            "{backend}"
        );

        let dry = ok(&mut tt(&["--json", "migrate", "--dry-run"])).json();
        assert_eq!(dry["dry_run"], json!(true));
        assert_eq!(versions(&dry["applied"]), ["001", "002"]);

        let out = ok(&mut tt(&["--json", "migrate"]));
        let doc = out.json();
        assert_eq!(doc["backend"], json!(backend));
        assert_eq!(doc["dry_run"], json!(false));
        let applied = doc["applied"].as_array().unwrap();
        assert_eq!(versions(&doc["applied"]), ["001", "002"], "{backend}");
        for (entry, name) in applied.iter().zip(["create_items", "seed"]) {
            assert_eq!(entry["name"], json!(name));
            assert!(entry["execution_ms"].as_i64().unwrap() >= 0, "{entry}");
            assert_eq!(entry["no_transaction"], json!(null), "{entry}");
            assert_eq!(entry.as_object().unwrap().len(), 4, "{entry}");
        }
        assert_eq!(
            out.stderr, "",
            "{backend}: diagnostics only when something goes wrong"
        );

        let after = ok(&mut tt(&["--json", "status"])).json();
        assert_eq!(after["pending"], json!([]));
        for key in ["changed", "missing", "dirty", "out_of_order"] {
            assert_eq!(after[key], json!([]), "{backend} {key}");
        }
        let applied = after["applied"].as_array().unwrap();
        assert_eq!(versions(&after["applied"]), ["001", "002"]);
        for (entry, (name, sql)) in applied
            .iter()
            .zip([("create_items", CREATE), ("seed", SEED)])
        {
            assert_eq!(entry["name"], json!(name));
            assert_eq!(
                entry["checksum"],
                json!(Checksum::of_bytes(sql.as_bytes()).as_str()),
                "{backend}"
            );
            let applied_at = entry["applied_at"].as_str().unwrap();
            assert!(applied_at.starts_with("20"), "{backend}: {applied_at}");
        }

        // Edited and deleted files show up as changed and missing.
        project.migration("002_seed.sql", "-- edited\n");
        std::fs::remove_file(project.path().join("migrations/001_create_items.sql")).unwrap();
        project.migration("003_more.sql", SEED.replace("1,", "3,").as_str());
        let drifted = ok(&mut tt(&["--json", "status"])).json();
        assert_eq!(versions(&drifted["changed"]), ["002"], "{backend}");
        assert_eq!(versions(&drifted["missing"]), ["001"], "{backend}");
        assert_eq!(versions(&drifted["pending"]), ["003"], "{backend}");
        assert_eq!(
            drifted["changed"][0]["recorded"],
            json!(Checksum::of_bytes(SEED.as_bytes()).as_str())
        );
    }
}

#[tokio::test]
async fn a_failing_migration_exits_1_with_file_line_and_a_json_error() {
    for db in TestDb::create_all().await {
        let backend = db.backend().to_string();
        let project = Project::new();
        project.migration("001_create_items.sql", CREATE);
        project.migration("002_bad.sql", BAD);
        // Shown relative to the working directory, as the user would type it.
        let bad = "migrations/002_bad.sql";
        project.migration("003_never.sql", SEED);
        let tt = |args: &[&str]| project.tt_on(db.url(), args);

        let out = run(&mut tt(&["migrate"]));
        assert_eq!(out.code, 1, "{backend}");
        let location = format!("{bad}:4:");
        assert!(
            out.stderr.contains(&location),
            "{backend}: {location} not in\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("4 | INSERT INTO nope (id)"),
            "{}",
            out.stderr
        );
        assert!(
            out.stdout.contains("applied 001 create_items"),
            "{}",
            out.stdout
        );

        // 001 stays applied; a second try under --json fails the same way.
        let out = run(&mut tt(&["--json", "migrate"]));
        assert_eq!(out.code, 1, "{backend}");
        assert!(out.stderr.contains(&location), "{}", out.stderr);
        let doc = out.json();
        assert_eq!(doc["applied"], json!([]), "{backend}");
        let error = &doc["error"];
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("migration 002 failed at statement 2"),
            "{error}"
        );
        let failure = &error["failure"];
        assert_eq!(failure["version"], json!("002"));
        assert_eq!(failure["file"], json!(bad));
        assert_eq!(failure["statement"], json!(2));
        assert_eq!(failure["line"], json!(4), "{backend}: {failure}");
        assert!(failure["column"].as_u64().unwrap() >= 1);
        assert!(failure["code"].is_string(), "{backend}: {failure}");
        assert!(
            failure["server_message"].as_str().unwrap().contains("nope"),
            "{failure}"
        );
        assert_eq!(failure["outcome"], json!("rolled_back"), "{backend}");

        let status = ok(&mut tt(&["--json", "status"])).json();
        assert_eq!(versions(&status["applied"]), ["001"], "{backend}");
        assert_eq!(versions(&status["pending"]), ["002", "003"], "{backend}");
        assert_eq!(status["dirty"], json!([]));
    }
}

#[tokio::test]
async fn the_first_json_run_reports_what_it_applied_before_failing() {
    let db = TestDb::create(tt_schema::Backend::Sqlite).await.unwrap();
    let project = Project::new();
    project.migration("001_create_items.sql", CREATE);
    project.migration("002_bad.sql", BAD);
    let out = run(&mut project.tt(&["--json", "migrate", "--database-url", db.url()]));
    assert_eq!(out.code, 1);
    assert_eq!(versions(&out.json()["applied"]), ["001"]);
}

/// A NUL byte made SQLite's driver spin at 100 % CPU forever, holding the write lock.
#[tokio::test]
async fn a_nul_byte_is_bad_input_naming_file_and_line_not_a_hang() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        let project = Project::new();
        project.migration("001_create_items.sql", CREATE);
        project.migration(
            "002_binary.sql",
            "-- seed\n\0INSERT INTO items VALUES (1, 'x');\n",
        );
        let started = std::time::Instant::now();
        let out = run(&mut project.tt_on(db.url(), &["migrate"]));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{backend}: no hang"
        );
        assert_eq!(out.code, 1, "{backend}: {}", out.stderr);
        // The file, then (as its cause) where the NUL byte is.
        for part in [
            "migrations/002_binary.sql",
            "NUL byte at line 2, column 1, outside a string literal",
        ] {
            assert!(out.stderr.contains(part), "{backend}: {}", out.stderr);
        }
        // Nothing of 002 ran, and the database is not left dirty.
        let status = ok(&mut project.tt_on(db.url(), &["--json", "status"])).json();
        assert_eq!(status["dirty"], json!([]), "{backend}");
        assert!(
            versions(&status["pending"]).contains(&"002"),
            "{backend}: {status}"
        );
    }
}

/// The server closed the connection on a statement over max_allowed_packet: the error named
/// neither size nor limit, echoed the whole line, and left the migration dirty.
#[test]
fn a_statement_over_max_allowed_packet_is_refused_before_it_is_sent() {
    let certificates = tt_testdb::Certificates::generate(&["localhost"]);
    let Some(server) = tt_testdb::Server::start(tt_schema::Backend::Mysql, &certificates) else {
        return;
    };
    let url = server.url();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut db = tt_migrate::Database::connect(&url, tt_migrate::ConnectOptions::default())
            .await
            .expect("connects");
        // Changing a global setting is fine here: the server is this test's own.
        db.exec("SET GLOBAL max_allowed_packet = 131072", &[])
            .await
            .expect("sets the limit");
    });
    let project = Project::new();
    project.migration("001_create_items.sql", CREATE);
    let big = format!(
        "INSERT INTO items (id, name) VALUES (1, 'first');\nINSERT INTO items (id, name) VALUES {};\n",
        (2..20_000)
            .map(|id| format!("({id}, 'item {id}')"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let size = big.lines().nth(1).unwrap().trim_end_matches(';').len() + 1;
    project.migration("002_seed.sql", &big);
    let out = run(&mut project.tt_on(&url, &["migrate"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the statement is {size} bytes, over the server's max_allowed_packet of 131072 bytes"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--> migrations/002_seed.sql:2:1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.len() < 2_000,
        "a short excerpt, not the statement: {}",
        out.stderr.len()
    );
    assert!(out.stderr.contains("was rolled back"), "{}", out.stderr);
    let status = ok(&mut project.tt_on(&url, &["--json", "status"])).json();
    assert_eq!(status["dirty"], json!([]), "{status}");
    assert_eq!(versions(&status["pending"]), ["002"]);
}

/// `--jobs`: the dry run prints the schedule, the run applies everything, JSON gives start and
/// end times, a failure names what never started; SQLite says it runs one at a time.
#[tokio::test]
async fn migrate_with_jobs_prints_its_schedule_and_applies_everything() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        let project = Project::new();
        project.migration("001_items.sql", CREATE);
        project.migration(
            "002_stats.sql",
            "CREATE TABLE stats (id integer PRIMARY KEY);\n",
        );
        project.migration("003_seed.sql", SEED);
        project.migration("004_more_stats.sql", "INSERT INTO stats (id) VALUES (1);\n");
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        let dry = ok(&mut tt(&["migrate", "--dry-run", "--jobs", "2"]));
        if backend == tt_schema::Backend::Sqlite {
            assert!(
                dry.stdout
                    .contains("sqlite has one writer: migrations run one at a time"),
                "{}",
                dry.stdout
            );
            assert!(
                dry.stdout.contains("Would apply 4 migration(s)"),
                "{}",
                dry.stdout
            );
            continue;
        }
        let expected = "\
wave 1:
  001 items
  002 stats
wave 2:
  003 seed
    003 waits for 001: both write items
  004 more_stats
    004 waits for 002: both write stats
";
        assert!(dry.stdout.contains(expected), "{backend}: {}", dry.stdout);
        assert!(
            dry.stdout.contains("up to 2 at a time, in 2 wave(s)"),
            "{backend}: {}",
            dry.stdout
        );
        let doc = ok(&mut tt(&["--json", "migrate", "--jobs", "2"])).json();
        assert_eq!(
            versions(&doc["applied"]),
            ["001", "002", "003", "004"],
            "{backend}"
        );
        let applied = doc["applied"].as_array().unwrap();
        let at = |i: usize, key: &str| applied[i][key].as_u64().unwrap();
        assert!(
            at(2, "started_ms") >= at(0, "finished_ms"),
            "{backend}: {doc}"
        );
        assert!(
            at(3, "started_ms") >= at(1, "finished_ms"),
            "{backend}: {doc}"
        );

        project.migration("005_bad.sql", BAD);
        project.migration(
            "006_after_bad.sql",
            "INSERT INTO items (id, name) VALUES (9, 'z');\n",
        );
        let failed = run(&mut tt(&["migrate", "--jobs", "2"]));
        assert_eq!(failed.code, 1, "{backend}: {}", failed.stderr);
        assert!(
            failed.stdout.contains("Not started (1): 006 after_bad"),
            "{backend}: {}",
            failed.stdout
        );
        assert!(
            failed.stderr.contains("005_bad.sql:4:1"),
            "{backend}: {}",
            failed.stderr
        );
        // Not a terminal: plain lines, no live progress drawn with escape codes.
        for text in [&failed.stdout, &failed.stderr] {
            assert!(!text.contains('\x1b'), "{backend}: {text:?}");
        }
    }
}

/// A `--jobs` run whose early file fails after later ones committed leaves a gap: `tt status`
/// names it, and a plain `tt migrate` fills it once the file is fixed.
#[tokio::test]
async fn migrate_fills_the_gap_a_failed_jobs_run_left() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        if backend == tt_schema::Backend::Sqlite {
            continue;
        }
        let project = Project::new();
        project.migration("001_a.sql", "CREATE TABLE a (id integer PRIMARY KEY);\n");
        project.migration("002_b.sql", "INSERT INTO nowhere (id) VALUES (1);\n");
        project.migration("003_c.sql", "CREATE TABLE c (id integer PRIMARY KEY);\n");
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        let failed = run(&mut tt(&["migrate", "--jobs", "4"]));
        assert_eq!(failed.code, 1, "{backend}: {}", failed.stderr);
        let status = run(&mut tt(&["status"]));
        assert!(
            status
                .stdout
                .contains("pending (left by a stopped --jobs run)"),
            "{backend}: {}",
            status.stdout
        );
        assert!(
            !status.stdout.contains("tt:jobs"),
            "{backend}: {}",
            status.stdout
        );
        let doc = run(&mut tt(&["--json", "status"])).json();
        assert_eq!(doc["parallel_gap"], json!(["002"]), "{backend}");
        assert_eq!(doc["missing"], json!([]), "{backend}");
        project.migration("002_b.sql", "CREATE TABLE b (id integer PRIMARY KEY);\n");
        let doc = ok(&mut tt(&["--json", "migrate"])).json();
        assert_eq!(versions(&doc["applied"]), ["002"], "{backend}");
        let doc = ok(&mut tt(&["--json", "status"])).json();
        assert_eq!(doc["parallel_gap"], json!([]), "{backend}");
        assert_eq!(doc["pending"], json!([]), "{backend}");
    }
}

/// A `--jobs` run stopped after its last commit leaves its mark with no gap behind it:
/// `tt status` shows nothing odd, and an up-to-date `tt migrate` removes the mark.
#[tokio::test]
async fn an_up_to_date_migrate_removes_a_leftover_jobs_mark() {
    for db in TestDb::create_all().await {
        let backend = db.backend();
        if backend == tt_schema::Backend::Sqlite {
            continue;
        }
        let project = Project::new();
        project.migration("001_a.sql", "CREATE TABLE a (id integer PRIMARY KEY);\n");
        project.migration("002_b.sql", "CREATE TABLE b (id integer PRIMARY KEY);\n");
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        ok(&mut tt(&["migrate"]));
        let clean_text = ok(&mut tt(&["status"])).stdout;
        let clean_json = ok(&mut tt(&["--json", "status"])).json();
        let mut conn = tt_migrate::Database::connect(db.url(), Default::default())
            .await
            .unwrap();
        let mark = tt_migrate::RowUpdate {
            version: "tt:jobs",
            name: "001 to 002",
            checksum: "",
            execution_ms: 0,
            dirty: false,
        };
        let tracking = tt_migrate::Tracking::default();
        tracking.upsert(&mut conn, &mark).await.unwrap();
        let count_marks = "SELECT COUNT(*) FROM schema_migrations WHERE version = 'tt:jobs'";
        let marks = conn.fetch(count_marks, &[]).await.unwrap();
        assert_eq!(marks[0][0], tt_migrate::Value::Int(1), "{backend}");
        let rows = tracking.rows(&mut conn).await.unwrap();
        // Status reads the same with the mark as without it.
        assert_eq!(ok(&mut tt(&["status"])).stdout, clean_text, "{backend}");
        assert_eq!(
            ok(&mut tt(&["--json", "status"])).json(),
            clean_json,
            "{backend}"
        );
        let doc = ok(&mut tt(&["--json", "migrate"])).json();
        assert_eq!(doc["applied"], json!([]), "{backend}");
        let marks = conn.fetch(count_marks, &[]).await.unwrap();
        assert_eq!(marks[0][0], tt_migrate::Value::Int(0), "{backend}");
        assert_eq!(tracking.rows(&mut conn).await.unwrap(), rows, "{backend}");
        assert_eq!(
            ok(&mut tt(&["--json", "status"])).json(),
            clean_json,
            "{backend}"
        );
        conn.close().await.unwrap();
    }
}

/// On a terminal a parallel run shows a live line per running migration and a summary; the
/// `applied` lines stay in version order.
#[tokio::test]
async fn migrate_with_jobs_on_a_terminal_shows_each_running_migration() {
    let Some(db) = TestDb::create(tt_schema::Backend::Postgres).await else {
        return;
    };
    let project = Project::new();
    project.migration(
        "001_tables.sql",
        "CREATE TABLE a (id integer);\nCREATE TABLE b (id integer);\nCREATE TABLE c (id integer);\n",
    );
    for (version, table) in [("002", "a"), ("003", "b"), ("004", "c")] {
        project.migration(
            &format!("{version}_fill_{table}.sql"),
            &format!("INSERT INTO {table} VALUES (1);\nSELECT pg_sleep(1.5);\n"),
        );
    }
    let Some(run) =
        crate::support::on_terminal(&project, db.url(), &["migrate", "--jobs", "3"], "")
    else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stdout);
    for live in [
        "1 committed, 3 running, 0 waiting",
        "002 fill_a",
        "003 fill_b",
        "004 fill_c",
    ] {
        assert!(run.stdout.contains(live), "{live}: {:?}", run.stdout);
    }
    // The terminal's text is drawn with cursor moves, not one line after the other.
    let applied: Vec<&str> = run
        .stdout
        .match_indices("  applied ")
        .map(|(at, found)| &run.stdout[at + found.len()..at + found.len() + 3])
        .collect();
    assert_eq!(applied, ["001", "002", "003", "004"], "{:?}", run.stdout);
}

/// A trigger that an applied migration made: a pending file writing its table may write
/// other tables through it, so it runs alone.
#[tokio::test]
async fn a_file_writing_a_table_with_a_trigger_in_the_database_is_a_barrier() {
    for backend in [tt_schema::Backend::Postgres, tt_schema::Backend::Mysql] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let project = Project::new();
        let trigger = match backend {
            tt_schema::Backend::Postgres => {
                "CREATE FUNCTION note_item() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END $$;\n\
                 CREATE TRIGGER items_audit AFTER INSERT ON items \
                 FOR EACH ROW EXECUTE FUNCTION note_item();\n"
            }
            _ => {
                "CREATE TRIGGER items_audit AFTER INSERT ON items \
                 FOR EACH ROW INSERT INTO audit VALUES (NEW.id);\n"
            }
        };
        project.migration(
            "001_tables.sql",
            "CREATE TABLE items (id integer);\nCREATE TABLE audit (id integer);\n\
             CREATE TABLE other (id integer);\n",
        );
        project.migration("002_trigger.sql", trigger);
        let tt = |args: &[&str]| project.tt_on(db.url(), args);
        ok(&mut tt(&["migrate"]));
        project.migration("003_fill_other.sql", "INSERT INTO other VALUES (1);\n");
        project.migration("004_fill_items.sql", "INSERT INTO items VALUES (1);\n");
        project.migration("005_more.sql", "CREATE TABLE more (id integer);\n");
        let dry = ok(&mut tt(&["migrate", "--dry-run", "--jobs", "4"]));
        let expected = "\
wave 1:
  003 fill_other
wave 2:
  004 fill_items  [barrier: line 1: writes items, which has trigger items_audit in the database]
    004 waits for 003: 004 is a barrier
wave 3:
  005 more
    005 waits for 004: 004 is a barrier
";
        assert!(dry.stdout.contains(expected), "{backend}: {}", dry.stdout);
        let doc = ok(&mut tt(&["--json", "migrate", "--jobs", "4"])).json();
        let applied = doc["applied"].as_array().unwrap();
        let at = |i: usize, key: &str| applied[i][key].as_u64().unwrap();
        assert!(
            at(1, "started_ms") >= at(0, "finished_ms"),
            "{backend}: {doc}"
        );
        assert!(
            at(2, "started_ms") >= at(1, "finished_ms"),
            "{backend}: {doc}"
        );
    }
}

#[test]
fn jobs_must_be_at_least_one() {
    let project = Project::new();
    let refused = run(&mut project.tt(&["migrate", "--jobs", "0"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--jobs"), "{}", refused.stderr);
    project.write("tt.toml", "jobs = 0\n");
    let refused = run(&mut project.tt(&["migrate"]));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("`jobs` must be at least 1"),
        "{}",
        refused.stderr
    );
}

#[test]
fn graph_of_the_migration_files_in_three_formats() {
    let project = Project::new();
    project.migration("001_items.sql", CREATE);
    project.migration("002_seed.sql", SEED);
    project.migration("003_grant.sql", "GRANT SELECT ON items TO someone;\n");
    let text = ok(&mut project.tt(&["graph", "--migrations"])).stdout;
    assert!(
        text.contains("002 waits for 001: both write items"),
        "{text}"
    );
    assert!(
        text.contains("003 grant  [barrier: line 1: GRANT]"),
        "{text}"
    );
    let dot = ok(&mut project.tt(&["graph", "--migrations", "--format", "dot"])).stdout;
    assert!(
        dot.contains("\"001\" -> \"002\" [label=\"both write items\"];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"003\" [label=\"003 grant\", shape=box];"),
        "{dot}"
    );
    let mermaid = ok(&mut project.tt(&["graph", "--migrations", "--format", "mermaid"])).stdout;
    assert!(
        mermaid.contains("m001 -->|\"both write items\"| m002"),
        "{mermaid}"
    );
}

/// `--jobs` and a `.toml` migration with indexes on two tables: JSON lists the index builds;
/// an index that cannot be built leaves the migration dirty, and the error names file, table
/// and index, in text and in JSON.
#[tokio::test]
async fn migrate_with_jobs_builds_toml_indexes_apart_and_names_a_failed_one() {
    const TABLES: &str = "\
[tables.a]
columns = [{ name = \"id\", type = \"integer\", primary_key = true }, { name = \"v\", type = \"integer\" }]
indexes = [{ name = \"a_v\", columns = [\"v\"] }]

[tables.b]
columns = [{ name = \"id\", type = \"integer\", primary_key = true }, { name = \"v\", type = \"integer\" }]
indexes = [{ name = \"b_v\", columns = [\"v\"] }]
";
    let (Some(fine), Some(clashing)) = (
        TestDb::create(tt_schema::Backend::Postgres).await,
        TestDb::create(tt_schema::Backend::Postgres).await,
    ) else {
        return;
    };
    let project = Project::new();
    project.migration("001_first.sql", "CREATE TABLE unrelated (x integer);\n");
    project.migration("002_tables.toml", TABLES);
    let doc = ok(&mut project.tt_on(fine.url(), &["--json", "migrate", "--jobs", "2"])).json();
    let builds: Vec<&str> = doc["applied"][1]["index_builds"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|b| b["index"].as_str().unwrap())
        .collect();
    assert_eq!(builds, ["a_v", "b_v"], "{doc}");

    // An index named like an existing relation: PostgreSQL refuses it when it builds it.
    project.migration("001_first.sql", "CREATE TABLE b_v (x integer);\n");
    let tt = |args: &[&str]| project.tt_on(clashing.url(), args);
    let failed = run(&mut tt(&["--json", "migrate", "--jobs", "2"]));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let failure = &failed.json()["error"]["failure"];
    assert_eq!(failure["outcome"], "dirty", "{failure}");
    assert!(
        failure["file"]
            .as_str()
            .unwrap()
            .ends_with("002_tables.toml"),
        "{failure}"
    );
    assert_eq!(
        failure["index"],
        json!({ "table": "b", "index": "b_v", "built": ["a_v"], "also_failed": [] }),
        "{failure}"
    );
    for part in [
        "002_tables.toml",
        "index `b_v` of table `b` was not built",
        "tt repair",
    ] {
        assert!(failed.stderr.contains(part), "{part}: {}", failed.stderr);
    }
    let status = ok(&mut tt(&["--json", "status"])).json();
    assert_eq!(versions(&status["dirty"]), ["002"], "{status}");
}
