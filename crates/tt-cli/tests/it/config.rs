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
connect_timeout_secs = 7
lock = \"table\"
jobs = 3
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
    assert_eq!(
        doc["connect_timeout_secs"],
        json!({ "value": 7.0, "source": from_file })
    );
    assert_eq!(
        doc["lock"],
        json!({ "value": "table", "source": from_file })
    );
    assert_eq!(doc["jobs"], json!({ "value": 3, "source": from_file }));
    assert_eq!(doc.as_object().unwrap().len(), 11, "{doc:#}");
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
    assert_eq!(doc["connect_timeout_secs"]["value"], json!(30.0));
    assert_eq!(
        doc["session_sql"],
        json!({ "value": [], "source": default })
    );
    assert_eq!(doc["lock"], json!({ "value": null, "source": default }));
    assert_eq!(doc["jobs"], json!({ "value": 1, "source": default }));
}

#[test]
fn config_prints_an_aligned_table_with_the_url_redacted() {
    let project = Project::new();
    project.write("tt.toml", FULL_CONFIG);
    let out = ok(project
        .tt(&["config", "--lock-timeout", "4", "--connect-timeout", "0.5"])
        .env("DATABASE_URL", "postgres://tt:s3cret@db.example/items"));
    assert!(!out.stdout.contains("s3cret"), "{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let file = project.path().join("tt.toml").display().to_string();
    assert_eq!(lines[0], format!("Configuration file: {file}"));
    let header = lines[1];
    assert!(header.starts_with("KEY "), "{header}");
    let value_at = header.find("VALUE").unwrap();
    let source_at = header.find("SOURCE").unwrap();
    let rows: Vec<(&str, &str, &str)> = lines[2..]
        .iter()
        .map(|line| {
            (
                line[..value_at].trim_end(),
                line[value_at..source_at].trim_end(),
                &line[source_at..],
            )
        })
        .collect();
    let dir = "db/migrations (does not exist)";
    assert_eq!(
        rows,
        [
            (
                "database_url",
                "postgres://tt:***@db.example/items",
                "environment variable DATABASE_URL"
            ),
            ("migrations_dir", dir, file.as_str()),
            ("tracking_table", "tt_history", file.as_str()),
            ("postgres_schema", "tinker", file.as_str()),
            ("essential_tables", "items, stats", file.as_str()),
            ("lock_timeout_secs", "4", "flag --lock-timeout"),
            ("connect_timeout_secs", "0.5", "flag --connect-timeout"),
            ("session_sql", "(none)", "default"),
            ("lock", "table", file.as_str()),
            ("jobs", "3", file.as_str()),
        ]
    );
}

#[test]
fn the_url_comes_from_flag_then_env_then_dotenv_then_tt_toml() {
    let project = Project::new();
    let url = |name: &str| project.sqlite_url(name);
    let effective = |flag: Option<&str>, env: Option<&str>| -> (String, String) {
        let mut command = project.tt(&["--json", "config"]);
        if let Some(flag) = flag {
            command.args(["--database-url", flag]);
        }
        if let Some(env) = env {
            command.env("DATABASE_URL", env);
        }
        let doc = ok(&mut command).json();
        let url = &doc["database_url"];
        (
            url["value"].as_str().unwrap().to_string(),
            url["source"]["kind"].as_str().unwrap().to_string(),
        )
    };
    let pair = |url: String, kind: &str| (url, kind.to_string());
    project.write(
        "tt.toml",
        &format!("database_url = \"{}\"\n", url("file.db")),
    );
    assert_eq!(effective(None, None), pair(url("file.db"), "file"));
    project.write(".env", &format!("DATABASE_URL={}\n", url("dotenv.db")));
    assert_eq!(effective(None, None), pair(url("dotenv.db"), "dot_env"));
    assert_eq!(
        effective(None, Some(&url("env.db"))),
        pair(url("env.db"), "env")
    );
    assert_eq!(
        effective(Some(&url("flag.db")), Some(&url("env.db"))),
        pair(url("flag.db"), "flag")
    );
    // An empty DATABASE_URL counts as unset.
    assert_eq!(effective(None, Some("")), pair(url("dotenv.db"), "dot_env"));

    // And the command really uses it: only the flag's database gets the migration.
    project.migration("001_items.sql", "CREATE TABLE items (id integer);\n");
    ok(project
        .tt(&["-q", "migrate", "--database-url", &url("flag.db")])
        .env("DATABASE_URL", url("env.db")));
    let existing: Vec<bool> = ["flag.db", "env.db", "dotenv.db", "file.db"]
        .iter()
        .map(|file| project.path().join(file).exists())
        .collect();
    assert_eq!(existing, [true, false, false, false]);
}

#[test]
fn tt_toml_is_found_in_a_parent_and_config_names_another() {
    let project = Project::new();
    project.write("tt.toml", "tracking_table = \"from_parent\"\n");
    project.write("other.toml", "tracking_table = \"from_other\"\n");
    std::fs::create_dir_all(project.path().join("sub/dir")).unwrap();
    let table = |args: &[&str], cwd: &str| {
        let mut command = project.tt(args);
        command.current_dir(project.path().join(cwd));
        ok(&mut command).json()["tracking_table"]["value"].clone()
    };
    assert_eq!(
        table(&["--json", "config"], "sub/dir"),
        json!("from_parent")
    );
    assert_eq!(
        table(
            &["--json", "config", "--config", "../../other.toml"],
            "sub/dir"
        ),
        json!("from_other")
    );
}

#[test]
fn bad_configuration_exits_1_naming_file_and_key() {
    let check = |file: &str, text: &str, expected: &[&str]| {
        let project = Project::new();
        project.write(file, text);
        for args in [&["status"][..], &["config"], &["new", "x"]] {
            let out = run(&mut project.tt(args));
            assert_eq!(out.code, 1, "{args:?} {text}");
            assert_eq!(out.stdout, "");
            for part in expected {
                assert!(
                    out.stderr.contains(part),
                    "{part:?} not in {:?}",
                    out.stderr
                );
            }
            assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
        }
        // Under --json the error is also one document on stdout.
        let out = run(&mut project.tt(&["--json", "config"]));
        assert_eq!(out.code, 1);
        let message = out.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(expected[0]), "{message}");
        // Nothing was created.
        assert!(!project.path().join("migrations").exists());
    };
    check(
        "tt.toml",
        "lock_timeout = 3\n",
        &["tt.toml:1", "`lock_timeout`"],
    );
    check(
        "tt.toml",
        "tracking_table = 5\n",
        &["tt.toml:1", "tracking_table", "expected a string"],
    );
    check(
        "tt.toml",
        "database_url = \"db.sqlite\"\n",
        &["tt.toml", "`database_url`", "unsupported database url"],
    );
    check(
        "tt.toml",
        "essential_tables = [\"\"]\n",
        &["tt.toml", "`essential_tables` must not be empty"],
    );
    check(
        ".env",
        "OK=1\nDATABASE_URL=\"postgres://u:s3cret@h/db\n",
        &[".env:2", "cannot parse"],
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
        refused.stderr.contains("unknown parameter `search_path`"),
        "{}",
        refused.stderr
    );
}
