//! `tt config` and configuration precedence, end to end.

use serde_json::{Value, json};

use crate::support::{Project, ok, run};

/// Every key set in tt.toml; the URL comes from the environment.
const FULL_CONFIG: &str = "\
database_url = \"sqlite://from-file.db\"
migrations_dir = \"db/migrations\"
tracking_table = \"tt_history\"
postgres_schema = \"tinker\"
essential_tables = [\"items\", \"stats\"]
lock_timeout_secs = 2.5
";

#[test]
fn config_json_gives_every_value_and_its_source() {
    let project = Project::new();
    let file = project.write("tt.toml", FULL_CONFIG);
    let file = file.display().to_string();
    let out = ok(project
        .tt(&["--json", "config"])
        .env("DATABASE_URL", "postgres://tt:s3cret@db.example:5432/items"));
    assert!(!out.stdout.contains("s3cret"), "{}", out.stdout);
    let doc = out.json();
    let from_file = json!({ "kind": "file", "detail": file });
    assert_eq!(doc["file"], json!(file));
    assert_eq!(
        doc["database_url"],
        json!({
            "value": "postgres://tt:***@db.example:5432/items",
            "source": { "kind": "env", "detail": "DATABASE_URL" },
        })
    );
    // Paths under the working directory are shown relative to it.
    let dir = "db/migrations";
    assert_eq!(
        doc["migrations_dir"],
        json!({ "value": dir, "source": from_file })
    );
    assert_eq!(
        doc["tracking_table"],
        json!({ "value": "tt_history", "source": from_file })
    );
    assert_eq!(
        doc["postgres_schema"],
        json!({ "value": "tinker", "source": from_file })
    );
    assert_eq!(
        doc["essential_tables"],
        json!({ "value": ["items", "stats"], "source": from_file })
    );
    assert_eq!(
        doc["lock_timeout_secs"],
        json!({ "value": 2.5, "source": from_file })
    );
    assert_eq!(doc.as_object().unwrap().len(), 8, "{doc:#}");
}

#[test]
fn config_without_a_file_shows_the_defaults() {
    let project = Project::new();
    let doc = ok(&mut project.tt(&["--json", "config"])).json();
    let default = json!({ "kind": "default" });
    assert_eq!(doc["file"], Value::Null);
    assert_eq!(
        doc["database_url"],
        json!({ "value": "sqlite://tinkertools.db", "source": default })
    );
    assert_eq!(doc["migrations_dir"]["value"], json!("migrations"));
    assert_eq!(
        doc["tracking_table"],
        json!({ "value": "schema_migrations", "source": default })
    );
    assert_eq!(doc["postgres_schema"]["value"], Value::Null);
    assert_eq!(doc["essential_tables"]["value"], json!([]));
    assert_eq!(doc["lock_timeout_secs"]["value"], json!(10.0));
    assert_eq!(
        doc["session_sql"],
        json!({ "value": [], "source": default })
    );
}

#[test]
fn session_sql_comes_from_the_flag_then_tt_toml_and_config_shows_it() {
    let project = Project::new();
    let file = project.write(
        "tt.toml",
        "session_sql = [\"SET FOREIGN_KEY_CHECKS = 0\", \"SET NAMES utf8mb4\"]\n",
    );
    let doc = ok(&mut project.tt(&["--json", "config"])).json();
    assert_eq!(
        doc["session_sql"],
        json!({
            "value": ["SET FOREIGN_KEY_CHECKS = 0", "SET NAMES utf8mb4"],
            "source": { "kind": "file", "detail": file.display().to_string() }
        })
    );
    let doc = ok(&mut project.tt(&[
        "--json",
        "config",
        "--session-sql",
        "SET a = 1",
        "--session-sql",
        "SET b = 2",
    ]))
    .json();
    assert_eq!(
        doc["session_sql"],
        json!({
            "value": ["SET a = 1", "SET b = 2"],
            "source": { "kind": "flag", "detail": "--session-sql" }
        })
    );
    project.write("tt.toml", "session_sql = [\" \"]\n");
    let bad = run(&mut project.tt(&["config"]));
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("`session_sql` must not be empty"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn session_sql_runs_on_every_connection_and_unknown_url_parameters_are_refused() {
    use tt_schema::Backend;
    for db in tt_testdb::TestDb::create_all().await {
        let backend = db.backend();
        let project = Project::new();
        let (session, sql, expected) = match backend {
            // A table with a foreign key to a table a later statement creates.
            Backend::Mysql => (
                "SET FOREIGN_KEY_CHECKS = 0",
                "CREATE TABLE a (id INT PRIMARY KEY, b_id INT, \
                 FOREIGN KEY (b_id) REFERENCES b (id));\n\
                 CREATE TABLE b (id INT PRIMARY KEY);\n\
                 CREATE TABLE setting AS SELECT @@foreign_key_checks AS v;\n",
                "0",
            ),
            Backend::Postgres => (
                "SET statement_timeout = '4321ms'",
                "CREATE TABLE setting AS SELECT current_setting('statement_timeout') AS v;\n",
                "4321ms",
            ),
            Backend::Sqlite => (
                "PRAGMA recursive_triggers = ON",
                "CREATE TABLE setting AS SELECT recursive_triggers AS v \
                 FROM pragma_recursive_triggers;\n",
                "1",
            ),
        };
        project.migration("001_setting.sql", sql);
        if backend == Backend::Mysql {
            // Without the setting, MySQL refuses the foreign key to a table not made yet.
            let without = run(&mut project.tt_on(db.url(), &["migrate"]));
            assert_eq!(without.code, 1, "{backend}: {}", without.stdout);
        }
        ok(&mut project.tt_on(db.url(), &["migrate", "--session-sql", session]));
        let mut conn = tt_migrate::Database::connect(db.url(), Default::default())
            .await
            .unwrap();
        let rows = conn
            .fetch_text("SELECT CAST(v AS CHAR(20)) FROM setting")
            .await
            .unwrap();
        assert_eq!(
            rows[0][0].as_deref().map(str::trim),
            Some(expected),
            "{backend}"
        );
        // verify's scratch database gets the setting too, or MySQL would refuse the file.
        let verify = run(&mut project.tt_on(db.url(), &["verify", "--session-sql", session]));
        assert_eq!(verify.code, 0, "{backend}: {}", verify.stdout);
    }
    let project = Project::new();
    project.migration("001_x.sql", "CREATE TABLE x (id INT);\n");
    let url = format!(
        "{}?search_path=app",
        tt_testdb::admin_url(Backend::Postgres)
    );
    let refused = run(&mut project.tt_on(&url, &["status"]));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("the postgres driver does not understand the URL parameter `search_path`"),
        "{}",
        refused.stderr
    );
}
