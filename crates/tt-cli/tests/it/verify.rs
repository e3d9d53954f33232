//! `tt verify`, `tt diff` and `tt dump`: exit codes, JSON, grouped output and fix-up SQL.

use std::path::Path;

use assert_cmd::assert::Assert;
use serde_json::Value;
use tt_migrate::{ConnectOptions, Database};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::Project;

/// A project: the shop migrations and a tt.toml naming the essential tables.
fn project() -> Project {
    let project = Project::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tt-verify/tests/fixtures/shop");
    for entry in std::fs::read_dir(fixture).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        project.migration(name, &std::fs::read_to_string(&path).unwrap());
    }
    project.write("tt.toml", "essential_tables = [\"items\", \"tags\"]\n");
    project
}

/// `tt --database-url URL ARGS…` in `project`.
fn tt(project: &Project, url: &str, args: &[&str]) -> Assert {
    project.tt_on(url, args).assert()
}

fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn json(assert: &Assert) -> Value {
    serde_json::from_str(&stdout(assert)).unwrap_or_else(|e| panic!("{e}: {}", stdout(assert)))
}

async fn execute(url: &str, sql: &str) {
    let mut db = Database::connect(url, ConnectOptions::default())
        .await
        .unwrap();
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.fetch_text(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    db.close().await.unwrap();
}

fn drop_index(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "DROP INDEX idx_items_name ON items",
        Backend::Postgres | Backend::Sqlite => "DROP INDEX idx_items_name",
    }
}

#[tokio::test]
async fn verify_exits_0_when_clean_and_3_with_a_report_naming_the_drift() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = project();
        let url = test_db.url();
        tt(&dir, url, &["migrate", "-q"]).success();

        let clean = tt(&dir, url, &["verify"]).code(0);
        let text = stdout(&clean);
        assert!(text.contains("all 4 check(s) passed"), "{backend}: {text}");

        execute(url, drop_index(backend)).await;
        execute(url, "CREATE TABLE extra_stuff (id INTEGER)").await;
        let failed = tt(&dir, url, &["verify", "--json"]).code(3);
        let report = json(&failed);
        assert_eq!(report["ok"], false, "{backend}");
        assert_eq!(report["expected"]["source"], "migrations");
        let checks = report["checks"].as_array().unwrap();
        let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["tracking", "schema", "data", "smoke"]);
        let schema = &checks[1];
        assert_eq!(schema["ok"], false);
        let messages: Vec<&str> = schema["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["message"].as_str().unwrap())
            .collect();
        assert_eq!(
            messages,
            [
                "extra_stuff: extra table",
                "items: missing index idx_items_name (name)"
            ],
            "{backend}"
        );
        assert_eq!(schema["problems"][1]["kind"], "missing_index");
        assert_eq!(schema["problems"][1]["object"], "idx_items_name");

        let text = stdout(&tt(&dir, url, &["verify"]).code(3));
        assert!(
            text.contains("schema    FAILED")
                && text.contains("    items: missing index idx_items_name (name)")
                && text.contains("verification failed: 1 of 4 check(s)"),
            "{backend}: {text}"
        );

        let one = json(&tt(&dir, url, &["verify", "--check", "tracking", "--json"]).code(0));
        assert_eq!(one["checks"].as_array().unwrap().len(), 1, "{backend}");
        assert_eq!(one["checks"][0]["id"], "tracking");

        // Orphan rows and an edited applied migration fail data and tracking too.
        let (off, on) = match backend {
            Backend::Postgres => (
                "SET session_replication_role = replica",
                "SET session_replication_role = DEFAULT",
            ),
            Backend::Mysql => ("SET FOREIGN_KEY_CHECKS = 0", "SET FOREIGN_KEY_CHECKS = 1"),
            Backend::Sqlite => ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"),
        };
        execute(
            url,
            &format!("{off};\nINSERT INTO tags (item_id, tag) VALUES (999, 'lost');\n{on}"),
        )
        .await;
        let edited = dir.path().join("migrations/003_tags.sql");
        let text = std::fs::read_to_string(&edited).unwrap();
        std::fs::write(&edited, format!("{text}\n-- edited after it ran\n")).unwrap();
        let report = json(&tt(&dir, url, &["verify", "--json"]).code(3));
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(failed, ["tracking", "schema", "data"], "{backend}");
        assert_eq!(report["checks"][0]["problems"][0]["kind"], "changed");
        assert_eq!(report["checks"][0]["problems"][0]["object"], "003");
        assert_eq!(report["checks"][2]["problems"][0]["table"], "tags");
        let data = tt(&dir, url, &["verify", "--check", "data"]).code(3);
        assert!(
            stdout(&data)
                .contains("tags(item_id): 1 row(s) reference missing items(id) (e.g. 999)"),
            "{backend}: {}",
            stdout(&data)
        );
    }
}

#[tokio::test]
async fn diff_groups_by_table_and_its_sql_makes_verify_pass_again() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = project();
        let url = test_db.url();
        tt(&dir, url, &["migrate", "-q"]).success();
        let same = tt(&dir, url, &["diff"]).code(0);
        assert!(stdout(&same).contains("no differences"), "{backend}");

        execute(url, drop_index(backend)).await;
        execute(url, "CREATE TABLE extra_stuff (id INTEGER)").await;
        let text = stdout(&tt(&dir, url, &["diff"]).code(3));
        let body: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "extra_stuff",
                "  - extra table",
                "items",
                "  + missing index idx_items_name (name)",
                "2 difference(s)",
            ],
            "{backend}: {text}"
        );
        let listed = json(&tt(&dir, url, &["diff", "--json"]).code(3));
        assert_eq!(listed["identical"], false);
        assert_eq!(listed["differences"][1]["kind"], "missing_index");
        assert_eq!(listed["differences"][1]["table"], "items");
        assert_eq!(
            listed["differences"][1]["expected"]["name"],
            "idx_items_name"
        );

        let sql = stdout(&tt(&dir, url, &["diff", "--sql"]).code(3));
        assert!(sql.starts_with("-- tt diff --sql: "), "{backend}: {sql}");
        let drop_at = sql.find("DROP TABLE").expect("drops the extra table");
        let create_at = sql.find("CREATE INDEX").expect("creates the index");
        assert!(drop_at < create_at, "{backend}: {sql}");
        execute(url, &sql).await;
        tt(&dir, url, &["verify"]).code(0);
        tt(&dir, url, &["diff"]).code(0);
    }
}

#[tokio::test]
async fn dump_writes_a_snapshot_that_verify_and_diff_then_use() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let dir = project();
        let url = test_db.url();
        tt(&dir, url, &["migrate", "-q"]).success();

        let written = json(&tt(&dir, url, &["dump", "--json"]).code(0));
        let path = dir.path().join("schema.toml");
        // Paths under the working directory print relative, as the user would type them.
        assert_eq!(written["path"], "schema.toml", "{backend}");
        assert_eq!(
            written["tables"],
            serde_json::json!(["categories", "items", "tags"])
        );
        let snapshot = std::fs::read_to_string(&path).unwrap();
        assert!(snapshot.contains("[tables.items]"), "{snapshot}");
        assert!(!snapshot.contains("schema_migrations"), "{snapshot}");
        let to_stdout = stdout(&tt(&dir, url, &["dump", "-o", "-"]).code(0));
        assert_eq!(to_stdout, snapshot, "{backend}: deterministic");
        let from_migrations =
            stdout(&tt(&dir, url, &["dump", "--from-migrations", "-o", "-"]).code(0));
        assert_eq!(
            from_migrations, snapshot,
            "{backend}: migrations produce the live schema"
        );

        let report = json(&tt(&dir, url, &["verify", "--json"]).code(0));
        assert_eq!(report["expected"]["source"], "snapshot", "{backend}");

        // The snapshot is what counts now: removing an index from it is drift.
        let edited = snapshot.replace(
            "indexes = [\n  { name = \"idx_items_name\", columns = [\"name\"] },\n]\n",
            "",
        );
        assert_ne!(edited, snapshot, "{backend}: {snapshot}");
        std::fs::write(&path, edited).unwrap();
        let text = stdout(&tt(&dir, url, &["diff"]).code(3));
        assert!(
            text.contains("  - extra index idx_items_name (name)"),
            "{backend}: {text}"
        );
        tt(&dir, url, &["verify", "--from-migrations"]).code(0);
        tt(&dir, url, &["verify", "--schema", "nope.toml"]).code(1);
    }
}

/// `tt diff --sql | head` panicked (exit 101) when the pipe closed, and its warnings on stderr
/// kept their colour codes when redirected.
#[tokio::test]
async fn diff_sql_survives_a_closed_pipe_and_warns_without_colour() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let url = test_db.url();
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id integer PRIMARY KEY, name text);\n",
    );
    tt(&project, url, &["migrate", "-q"]).success();
    // A column type SQLite cannot change in place: the fix is a manual step, warned about.
    execute(
        url,
        "DROP TABLE items;\nCREATE TABLE items (id integer PRIMARY KEY, name integer)",
    )
    .await;
    let warned = tt(&project, url, &["diff", "--sql"]).code(3);
    let stderr = String::from_utf8_lossy(&warned.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("warning: sqlite cannot change the type of column `name`"),
        "{stderr:?}"
    );

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tt"))
        .current_dir(project.path())
        .args(["--database-url", url, "diff", "--sql"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before tt writes a byte: it has to connect and build a scratch schema first.
    drop(child.stdout.take());
    let closed = child.wait_with_output().unwrap();
    assert_eq!(
        closed.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );
}
