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
