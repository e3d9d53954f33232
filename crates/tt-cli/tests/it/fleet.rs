//! `--schema`, `--schemas` and `--targets`: one schema (PostgreSQL) or database (MySQL) per
//! target, many targets per run; everything checked from the server's catalog.

use std::collections::BTreeMap;

use serde_json::Value;
use tt_migrate::{ConnectOptions, Database, Target, Tracking};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{Project, ok, run};

fn project() -> Project {
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);",
    );
    project.migration(
        "002_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id));",
    );
    project.migration(
        "003_label.sql",
        "ALTER TABLE items ADD COLUMN label VARCHAR(10);",
    );
    project.migration("003_label.down.sql", "ALTER TABLE items DROP COLUMN label;");
    project
}

async fn connect(url: &str) -> Database {
    Database::connect(url, ConnectOptions::default())
        .await
        .expect("connects")
}

async fn execute(url: &str, statements: &[String]) {
    let mut db = connect(url).await;
    for sql in statements {
        db.exec(sql, &[]).await.expect(sql);
    }
    db.close().await.expect("closes");
}

async fn texts(url: &str, sql: &str) -> Vec<String> {
    let mut db = connect(url).await;
    let rows = db.fetch_text(sql).await.expect(sql);
    db.close().await.expect("closes");
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(Option::unwrap_or_default)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Per schema (PostgreSQL) or database (MySQL) whose name starts with `prefix`, its tables'
/// columns and its tracking rows, keyed by the name without the prefix.
async fn catalog(url: &str, prefix: &str) -> BTreeMap<String, Vec<String>> {
    let columns = texts(
        url,
        &format!(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable \
             FROM information_schema.columns WHERE table_schema LIKE '{prefix}%' \
             ORDER BY 1, 2, 3"
        ),
    )
    .await;
    let mut by_schema: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in columns {
        let (schema, rest) = row.split_once('|').expect("columns");
        let key = schema.strip_prefix(prefix).unwrap_or(schema).to_string();
        by_schema.entry(key).or_default().push(rest.to_string());
    }
    for (schema, rows) in &mut by_schema {
        for version in texts(
            url,
            &format!(
                "SELECT version, name, checksum FROM {prefix}{schema}.schema_migrations \
                 ORDER BY version"
            ),
        )
        .await
        {
            rows.push(format!("tracked {version}"));
        }
    }
    by_schema
}

fn documents(run: &crate::support::Run) -> Vec<Value> {
    run.json()
        .as_array()
        .expect("an array of documents")
        .clone()
}

fn by_target(docs: &[Value]) -> BTreeMap<String, Value> {
    docs.iter()
        .map(|doc| {
            (
                doc["target"].as_str().unwrap_or_default().to_string(),
                doc.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn one_postgres_schema_holds_everything_and_public_is_untouched() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let url = db.url();
    execute(
        url,
        &[
            "CREATE TABLE public.keep (x INTEGER)".into(),
            "INSERT INTO public.keep VALUES (7)".into(),
            "CREATE SCHEMA bystander".into(),
            "CREATE TABLE bystander.items (x INTEGER)".into(),
        ],
    )
    .await;
    let project = project();
    // A schema that does not exist is an error naming it, until --create-schema.
    let missing = run(&mut project.tt_on(url, &["migrate", "--schema", "app"]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("`app` does not exist"),
        "{}",
        missing.stderr
    );
    ok(&mut project.tt_on(url, &["migrate", "--schema", "app", "--create-schema"]));
    let tables = "SELECT table_schema, table_name FROM information_schema.tables \
                  WHERE table_schema IN ('public', 'app', 'bystander') ORDER BY 1, 2";
    assert_eq!(
        texts(url, tables).await,
        [
            "app|items",
            "app|schema_migrations",
            "app|tags",
            "bystander|items",
            "public|keep"
        ]
    );
    let status = ok(&mut project.tt_on(url, &["--json", "status", "--schema", "app"])).json();
    assert_eq!(status["applied"].as_array().map(Vec::len), Some(3));
    // Without --schema, the same database has nothing applied: public has no tracking table.
    let public = ok(&mut project.tt_on(url, &["--json", "status"])).json();
    assert_eq!(public["applied"].as_array().map(Vec::len), Some(0));
    // verify, dump, down, reset and drop act on the schema only.
    ok(&mut project.tt_on(
        url,
        &[
            "verify", "--schema", "app", "--check", "tracking", "--check", "schema",
        ],
    ));
    let dumped = ok(&mut project.tt_on(url, &["dump", "--schema", "app", "-o", "-"])).stdout;
    assert!(
        dumped.contains("[tables.tags]") || dumped.contains("tags"),
        "{dumped}"
    );
    assert!(!dumped.contains("keep"), "{dumped}");
    ok(&mut project.tt_on(url, &["down", "--schema", "app", "--yes"]));
    ok(&mut project.tt_on(url, &["reset", "--schema", "app", "--yes"]));
    ok(&mut project.tt_on(url, &["drop", "--schema", "app", "--yes"]));
    assert_eq!(texts(url, tables).await, ["bystander|items", "public|keep"]);
    assert_eq!(
        texts(url, "SELECT CAST(x AS TEXT) FROM public.keep").await,
        ["7"]
    );
}

/// Databases of the shared MariaDB server this test creates, dropped however it ends.
struct Databases {
    admin: String,
    names: Vec<String>,
}

impl Drop for Databases {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let names = self.names.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let drops: Vec<String> = names
                    .iter()
                    .map(|name| format!("DROP DATABASE IF EXISTS {name}"))
                    .collect();
                execute(&admin, &drops).await;
            });
        })
        .join();
    }
}

#[tokio::test]
async fn one_mysql_database_per_schema_and_the_urls_database_is_untouched() {
    let Some(db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let name = format!("{}_app", db.name());
    let _cleanup = Databases {
        admin: db.admin_url().to_string(),
        names: vec![name.clone()],
    };
    let project = project();
    let missing = run(&mut project.tt_on(db.url(), &["migrate", "--schema", &name]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    ok(&mut project.tt_on(db.url(), &["migrate", "--schema", &name, "--create-schema"]));
    let tables = format!(
        "SELECT table_schema, table_name FROM information_schema.tables \
         WHERE table_schema IN ('{}', '{name}') ORDER BY 1, 2",
        db.name()
    );
    assert_eq!(
        texts(db.url(), &tables).await,
        [
            format!("{name}|items"),
            format!("{name}|schema_migrations"),
            format!("{name}|tags")
        ]
    );
    ok(&mut project.tt_on(db.url(), &["drop", "--schema", &name, "--yes"]));
    assert_eq!(texts(db.url(), &tables).await, Vec::<String>::new());
}

/// 30 targets with --jobs 4 end as 30 one-by-one runs do; a broken target fails alone and
/// a target whose lock another runner holds times out alone; schemas the glob does not
/// match and `public` stay as they were.
#[tokio::test]
async fn thirty_postgres_schemas_migrate_as_one_run() {
    let (Some(fleet), Some(single)) = (
        TestDb::create(Backend::Postgres).await,
        TestDb::create(Backend::Postgres).await,
    ) else {
        return;
    };
    let names: Vec<String> = (0..30).map(|i| format!("v_{i:03}")).collect();
    let mut setup: Vec<String> = names.iter().map(|n| format!("CREATE SCHEMA {n}")).collect();
    execute(single.url(), &setup).await;
    setup.extend([
        "CREATE SCHEMA v_bad".into(),
        // The first migration cannot create its table here.
        "CREATE TABLE v_bad.items (x INTEGER)".into(),
        "CREATE SCHEMA v_locked".into(),
        "CREATE SCHEMA other".into(),
        "CREATE TABLE public.keep (x INTEGER)".into(),
    ]);
    execute(fleet.url(), &setup).await;
    let project = project();
    for name in &names {
        ok(&mut project.tt_on(single.url(), &["migrate", "--schema", name]));
    }
    // Another runner holds the lock of v_locked for the whole run.
    let mut holder = Target::in_schema(fleet.url(), "v_locked")
        .connect(ConnectOptions::default(), false)
        .await
        .expect("connects");
    tt_migrate::acquire_lock(&mut holder, &Tracking::default())
        .await
        .expect("takes the lock");
    let result = run(&mut project.tt_on(
        fleet.url(),
        &[
            "--json",
            "migrate",
            "--schemas",
            "v_*",
            "--jobs",
            "4",
            "--lock-timeout",
            "2",
        ],
    ));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let docs = by_target(&documents(&result));
    assert_eq!(docs.len(), 32, "every matching schema is a target");
    let error = |name: &str| {
        docs[name]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(error("v_bad").contains("items"), "{}", error("v_bad"));
    assert!(error("v_locked").contains("lock"), "{}", error("v_locked"));
    for name in &names {
        assert!(docs[name].get("error").is_none(), "{name}: {}", docs[name]);
        assert_eq!(
            docs[name]["applied"].as_array().map(Vec::len),
            Some(3),
            "{name}"
        );
    }
    tt_migrate::release_lock(&mut holder, &Tracking::default())
        .await
        .expect("releases the lock");
    holder.close().await.expect("closes");

    let mut fleet_catalog = catalog(fleet.url(), "v_").await;
    let locked = fleet_catalog.remove("locked");
    assert_eq!(locked, None, "the locked schema got nothing");
    let bad = fleet_catalog.remove("bad").expect("v_bad keeps its table");
    let bad: Vec<&String> = bad
        .iter()
        .filter(|c| !c.starts_with("schema_migrations|"))
        .collect();
    assert_eq!(
        bad,
        ["items|x|integer|YES"],
        "the broken target's tables are as they were"
    );
    assert_eq!(fleet_catalog, catalog(single.url(), "v_").await);
    assert_eq!(fleet_catalog.len(), 30);
    let outside = "SELECT table_schema, table_name FROM information_schema.tables \
                   WHERE table_schema IN ('public', 'other') ORDER BY 1, 2";
    assert_eq!(texts(fleet.url(), outside).await, ["public|keep"]);

    // Once the lock is free, the next run finishes the job and status agrees everywhere
    // except the broken target.
    let again =
        run(&mut project.tt_on(fleet.url(), &["migrate", "--schemas", "v_*", "--jobs", "4"]));
    assert_eq!(again.code, 1, "v_bad still fails: {}", again.stderr);
    assert!(again.stdout.contains("v_locked"), "{}", again.stdout);
    let status =
        run(&mut project.tt_on(fleet.url(), &["status", "--schemas", "v_*", "--jobs", "4"]));
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("3 version(s) differ between targets"),
        "{}",
        status.stdout
    );
    let matrix_row = status
        .stdout
        .lines()
        .rfind(|line| line.starts_with("v_bad"))
        .expect("v_bad in the matrix");
    assert_eq!(
        matrix_row.split_whitespace().collect::<Vec<_>>(),
        ["v_bad", "pending", "pending", "pending"]
    );
}

#[tokio::test]
async fn fail_fast_starts_no_further_target_and_reset_refuses_a_protected_one() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    execute(
        db.url(),
        &[
            "CREATE SCHEMA t_1".into(),
            "CREATE TABLE t_1.items (x INTEGER)".into(),
            "CREATE SCHEMA t_2".into(),
            "CREATE SCHEMA t_3".into(),
        ],
    )
    .await;
    let project = project();
    let result = run(&mut project.tt_on(
        db.url(),
        &["--json", "migrate", "--schemas", "t_*", "--fail-fast"],
    ));
    assert_eq!(result.code, 1);
    let docs = by_target(&documents(&result));
    assert!(docs["t_1"].get("error").is_some());
    assert_eq!(docs["t_2"]["skipped"], true);
    assert_eq!(docs["t_3"]["skipped"], true);
    ok(&mut project.tt_on(db.url(), &["migrate", "--schemas", "t_[23]"]));
    ok(&mut project.tt_on(db.url(), &["protect", "--schema", "t_3"]));
    let refused = run(&mut project.tt_on(db.url(), &["reset", "--schemas", "t_[23]", "--yes"]));
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(refused.stderr.contains("t_3"), "{}", refused.stderr);
    // Nothing was reset: t_2 still has its tracking rows and no target was touched.
    let rows = texts(
        db.url(),
        "SELECT CAST(count(*) AS TEXT) FROM t_2.schema_migrations",
    )
    .await;
    assert_eq!(rows, ["3"]);
    // A command that does not take many targets says which do.
    let graph = run(&mut project.tt_on(db.url(), &["graph", "--schemas", "t_*"]));
    assert_eq!(graph.code, 1);
    assert!(
        graph.stderr.contains("migrate, status, verify"),
        "{}",
        graph.stderr
    );
}

#[tokio::test]
async fn thirty_mariadb_databases_migrate_as_one_run_from_a_targets_file() {
    let Some(db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let prefix = format!("{}_", db.name());
    let fleet: Vec<String> = (0..30).map(|i| format!("{prefix}f{i:02}")).collect();
    let single: Vec<String> = (0..30).map(|i| format!("{prefix}s{i:02}")).collect();
    let broken = format!("{prefix}fbad");
    let mut all: Vec<String> = fleet.iter().chain(&single).cloned().collect();
    all.push(broken.clone());
    let _cleanup = Databases {
        admin: db.admin_url().to_string(),
        names: all.clone(),
    };
    let mut setup: Vec<String> = all.iter().map(|n| format!("CREATE DATABASE {n}")).collect();
    setup.push(format!("CREATE TABLE {broken}.items (x INTEGER)"));
    execute(db.url(), &setup).await;
    let project = project();
    for name in &single {
        ok(&mut project.tt_on(db.url(), &["migrate", "--schema", name]));
    }
    let result = run(&mut project.tt_on(
        db.url(),
        &[
            "--json",
            "migrate",
            "--schemas",
            &format!("{prefix}f*"),
            "--jobs",
            "4",
        ],
    ));
    assert_eq!(result.code, 1, "{}", result.stderr);
    let docs = by_target(&documents(&result));
    assert_eq!(docs.len(), 31);
    assert!(docs[&broken].get("error").is_some());
    for name in &fleet {
        assert_eq!(
            docs[name]["applied"].as_array().map(Vec::len),
            Some(3),
            "{name}"
        );
    }
    // The same through a targets file, with the password (none here) from the environment.
    let mut file = String::new();
    for name in &fleet {
        file.push_str(&format!(
            "[[target]]\nname = \"{name}\"\nurl = \"${{TT_FLEET_URL}}\"\nschema = \"{name}\"\n\n"
        ));
    }
    project.write("targets.toml", &file);
    let status = run(project
        .tt(&[
            "--json",
            "status",
            "--targets",
            "targets.toml",
            "--jobs",
            "4",
        ])
        .env("TT_FLEET_URL", db.url()));
    assert_eq!(status.code, 0, "{}", status.stderr);
    for doc in documents(&status) {
        assert_eq!(doc["pending"].as_array().map(Vec::len), Some(0), "{doc}");
        assert_eq!(doc["applied"].as_array().map(Vec::len), Some(3), "{doc}");
    }
    let mut fleet_catalog = catalog(db.url(), &format!("{prefix}f")).await;
    let bad = fleet_catalog.remove("bad").unwrap_or_default();
    let bad: Vec<&String> = bad
        .iter()
        .filter(|c| !c.starts_with("schema_migrations|"))
        .collect();
    assert_eq!(
        bad.len(),
        1,
        "the broken database's tables are as they were: {bad:?}"
    );
    let single_catalog = catalog(db.url(), &format!("{prefix}s")).await;
    assert_eq!(fleet_catalog.len(), 30);
    assert_eq!(fleet_catalog, single_catalog);
    // The URL's own database is untouched.
    let own = format!(
        "SELECT CAST(count(*) AS CHAR) FROM information_schema.tables WHERE table_schema = '{}'",
        db.name()
    );
    assert_eq!(texts(db.url(), &own).await, ["0"]);
}

/// For each schema named `x_…`, its tables (tt's own among them) and its tracking rows with
/// how often each version is recorded, read from the server directly.
async fn schema_contents(url: &str, names: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut contents = BTreeMap::new();
    for name in names {
        let mut rows = texts(
            url,
            &format!(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = '{name}' ORDER BY 1"
            ),
        )
        .await;
        rows.extend(
            texts(
                url,
                &format!(
                    "SELECT version, CAST(COUNT(*) AS TEXT) FROM {name}.schema_migrations \
                     GROUP BY version ORDER BY version"
                ),
            )
            .await,
        );
        contents.insert(name.clone(), rows);
    }
    contents
}

/// The lease rows left in each schema's lock table, and the advisory locks in the database.
async fn locks_left(url: &str, names: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    for name in names {
        for owner in texts(
            url,
            &format!("SELECT owner FROM {name}.schema_migrations_lock"),
        )
        .await
        {
            left.push(format!("{name}: lease of {owner}"));
        }
    }
    left.extend(
        texts(
            url,
            "SELECT CAST(objid AS TEXT) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await
        .into_iter()
        .map(|key| format!("advisory lock {key}")),
    );
    left
}

/// Two fleet runs through PgBouncer in transaction pooling at once, then status and reset
/// through it. Before the fix every target of a run behind the pooler ran in `public` (the
/// pooler drops the `search_path` startup parameter): ten "targets" applied one set of tables
/// in `public`, reported success for all ten, and shared one lease.
#[tokio::test]
async fn ten_schemas_through_a_transaction_pooler_each_migrate_once_in_their_own_schema() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let Some(pooled) = db.through_pgbouncer(tt_testdb::PoolMode::Transaction) else {
        return;
    };
    let names: Vec<String> = (0..10).map(|i| format!("x_{i:02}")).collect();
    let mut setup: Vec<String> = names.iter().map(|n| format!("CREATE SCHEMA {n}")).collect();
    setup.extend([
        "CREATE SCHEMA other".into(),
        "CREATE TABLE public.keep (x INTEGER)".into(),
    ]);
    execute(db.url(), &setup).await;
    let project = project();
    let args = [
        "--json",
        "migrate",
        "--schemas",
        "x_*",
        "--jobs",
        "4",
        "--lock-timeout",
        "60",
    ];
    let runs: Vec<crate::support::Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&mut project.tt_on(&pooled, &args))))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a runner thread"))
            .collect()
    });
    let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for result in &runs {
        assert_eq!(result.code, 0, "{}", result.stderr);
        for (name, doc) in by_target(&documents(result)) {
            let versions = doc["applied"].as_array().cloned().unwrap_or_default();
            applied.entry(name).or_default().extend(
                versions
                    .iter()
                    .map(|v| v["version"].as_str().unwrap_or_default().to_string()),
            );
        }
    }
    for name in &names {
        let mut versions = applied.get(name).cloned().unwrap_or_default();
        versions.sort();
        assert_eq!(versions, ["001", "002", "003"], "{name}: applied once each");
    }
    let migrated = [
        "items",
        "schema_migrations",
        "schema_migrations_lock",
        "tags",
        "001|1",
        "002|1",
        "003|1",
    ];
    let contents = schema_contents(db.url(), &names).await;
    for name in &names {
        assert_eq!(contents[name], migrated, "{name}");
    }
    let outside = "SELECT table_schema, table_name FROM information_schema.tables \
                   WHERE table_schema IN ('public', 'other') ORDER BY 1, 2";
    assert_eq!(texts(db.url(), outside).await, ["public|keep"]);
    assert_eq!(locks_left(db.url(), &names).await, Vec::<String>::new());

    let status = ok(&mut project.tt_on(&pooled, &["--json", "status", "--schemas", "x_*"]));
    let docs = by_target(&documents(&status));
    assert_eq!(docs.len(), 10);
    for name in &names {
        assert_eq!(
            docs[name]["applied"].as_array().map(Vec::len),
            Some(3),
            "{name}"
        );
        assert_eq!(
            docs[name]["pending"].as_array().map(Vec::len),
            Some(0),
            "{name}"
        );
    }

    // The lease is per schema: another runner holding x_03's blocks x_03 alone.
    let mut holder = Target::in_schema(&pooled, "x_03")
        .connect(ConnectOptions::default(), false)
        .await
        .expect("connects");
    tt_migrate::acquire_lock(&mut holder, &Tracking::default())
        .await
        .expect("takes the lock");
    execute(
        db.url(),
        &["INSERT INTO x_05.items (id, name) VALUES (1, 'gone')".into()],
    )
    .await;
    let reset = run(&mut project.tt_on(
        &pooled,
        &[
            "--json",
            "reset",
            "--schemas",
            "x_*",
            "--yes",
            "--jobs",
            "4",
            "--lock-timeout",
            "2",
        ],
    ));
    assert_eq!(reset.code, 1, "{}", reset.stderr);
    let docs = by_target(&documents(&reset));
    let error = |name: &str| docs[name]["error"]["message"].as_str().unwrap_or_default();
    assert!(error("x_03").contains("lock"), "{}", error("x_03"));
    for name in names.iter().filter(|n| *n != "x_03") {
        assert!(docs[name].get("error").is_none(), "{name}: {}", docs[name]);
    }
    tt_migrate::release_lock(&mut holder, &Tracking::default())
        .await
        .expect("releases the lock");
    holder.close().await.expect("closes");
    assert_eq!(schema_contents(db.url(), &names).await, contents);
    assert_eq!(
        texts(db.url(), "SELECT CAST(COUNT(*) AS TEXT) FROM x_05.items").await,
        ["0"],
        "the reset emptied x_05"
    );
    assert_eq!(texts(db.url(), outside).await, ["public|keep"]);
    assert_eq!(locks_left(db.url(), &names).await, Vec::<String>::new());
}

/// Behind a transaction pooler the schema is set per transaction: a `-- tt:no-transaction`
/// file cannot have it, and is refused before it runs instead of running in another schema.
#[tokio::test]
async fn a_no_transaction_migration_in_a_schema_behind_a_transaction_pooler_is_refused() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let Some(pooled) = db.through_pgbouncer(tt_testdb::PoolMode::Transaction) else {
        return;
    };
    execute(db.url(), &["CREATE SCHEMA app".into()]).await;
    let project = Project::new();
    project.migration("001_items.sql", "CREATE TABLE items (id INTEGER);");
    project.migration(
        "002_index.sql",
        "-- tt:no-transaction\nCREATE INDEX CONCURRENTLY items_id ON items (id);",
    );
    let refused = run(&mut project.tt_on(&pooled, &["migrate", "--schema", "app"]));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("002 is `-- tt:no-transaction`")
            && refused.stderr.contains("schema `app`"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        texts(
            db.url(),
            "SELECT version || '|' || CAST(dirty AS TEXT) FROM app.schema_migrations"
        )
        .await,
        ["001|false"],
        "001 applied, 002 neither applied nor marked"
    );
    // Connected directly, the same file runs in the schema.
    ok(&mut project.tt_on(db.url(), &["migrate", "--schema", "app"]));
    assert_eq!(
        texts(
            db.url(),
            "SELECT indexname FROM pg_indexes WHERE tablename = 'items' AND schemaname = 'app'"
        )
        .await,
        ["items_id"]
    );
}

/// The files are read while the connection opens; a bad file must still be what is reported,
/// and connecting must not have created anything it would have kept from happening.
#[tokio::test]
async fn a_bad_file_is_reported_first_and_connecting_created_nothing() {
    let project = project();
    project.migration("004_x.oracle.sql", "SELECT 1;");
    let names_the_file = |out: &crate::support::Run| {
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("004_x.oracle.sql"), "{}", out.stderr);
    };
    // SQLite creates its database file when connecting.
    let sqlite = project.sqlite_url("bad.db");
    names_the_file(&run(&mut project.tt_on(&sqlite, &["migrate"])));
    assert!(!project.path().join("bad.db").exists());
    // A server that does not answer is not waited for, and its error does not hide the file's.
    let nowhere = "postgres://postgres@127.0.0.1:1/nowhere";
    names_the_file(&run(&mut project.tt_on(nowhere, &["status"])));
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    // --create-schema creates the schema when connecting.
    let args = ["migrate", "--schema", "fresh", "--create-schema"];
    names_the_file(&run(&mut project.tt_on(db.url(), &args)));
    let schemas = "SELECT nspname FROM pg_namespace WHERE nspname = 'fresh'";
    assert!(texts(db.url(), schemas).await.is_empty());
    // Without a side effect the two overlap, and the file's problem is still the one reported.
    names_the_file(&run(&mut project.tt_on(db.url(), &["migrate"])));
    let tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'";
    assert!(texts(db.url(), tables).await.is_empty());
    // status reads the tracking table while the files load: a table it refuses to read does
    // not hide the file's problem either.
    execute(
        db.url(),
        &["CREATE TABLE schema_migrations (x INTEGER)".into()],
    )
    .await;
    names_the_file(&run(&mut project.tt_on(db.url(), &["status"])));
}

#[tokio::test]
async fn schemas_of_one_server_share_a_connection_that_starts_each_one_afresh() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let url = db.url();
    let names: Vec<String> = (0..5).map(|i| format!("c_{i}")).collect();
    execute(
        url,
        &names
            .iter()
            .map(|n| format!("CREATE SCHEMA {n}"))
            .collect::<Vec<_>>(),
    )
    .await;
    let project = Project::new();
    // Records its server session; fails when the schema before left its setting or its
    // search_path behind, or when --session-sql did not run again; leaves both behind.
    project.migration(
        "001_session.sql",
        "DO $$ BEGIN
           IF current_setting('work_mem') <> '5MB' THEN
             RAISE EXCEPTION 'work_mem is %', current_setting('work_mem');
           END IF;
         END $$;
         CREATE TABLE sessions AS SELECT pg_backend_pid() AS pid;
         SET work_mem = '7MB';
         SET search_path TO public;",
    );
    ok(&mut project.tt_on(
        url,
        &[
            "migrate",
            "--schemas",
            "c_*",
            "--session-sql",
            "SET work_mem = '5MB'",
        ],
    ));
    let pids = names
        .iter()
        .map(|n| format!("SELECT CAST(pid AS TEXT) FROM {n}.sessions"))
        .collect::<Vec<_>>()
        .join(" UNION ");
    assert_eq!(
        texts(url, &pids).await.len(),
        1,
        "one connection served the five schemas"
    );
    let public = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'";
    assert_eq!(texts(url, public).await, Vec::<String>::new());
}
