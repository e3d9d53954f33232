//! Ctrl-C and SIGTERM during a long statement: tt cancels it on the server, settles the run,
//! says what state the database is in and exits 130 or 143.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tt_migrate::{ConnectOptions, Database};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::Project;

/// The slow migration of each backend, and what shows it running in the server's list.
fn slow_migration(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Postgres => (
            "CREATE TABLE t2 (id INTEGER);\nSELECT pg_sleep(60);\n",
            "SELECT CAST(count(*) AS TEXT) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE '%pg_sleep(60)%' \
             AND pid <> pg_backend_pid()",
        ),
        // Hours of work unless cancelled. Not SLEEP or DO: KILL QUERY ends those without an
        // error.
        Backend::Mysql => (
            "CREATE TABLE t2 (id INTEGER);\nCREATE TABLE t3 AS SELECT COUNT(*) AS c \
             FROM information_schema.COLLATIONS a, information_schema.COLLATIONS b, \
             information_schema.COLLATIONS c, information_schema.COLLATIONS d;\n",
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND INFO LIKE '%COLLATIONS d%' AND ID <> CONNECTION_ID()",
        ),
        Backend::Sqlite => unreachable!("SQLite has its own test"),
    }
}

/// Whether tt's migration lock is held by anyone, read from the server.
fn lock_held_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "SELECT CAST(count(*) AS TEXT) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        }
        // tt's GET_LOCK name (engine/lock.rs); IS_USED_LOCK is NULL when it is free.
        _ => {
            "SELECT CAST(count(IS_USED_LOCK(CONCAT('tt:', LEFT(SHA2(CONCAT(DATABASE(), '.', \
             'schema_migrations'), 256), 40)))) AS CHAR)"
        }
    }
}

/// Ends the slow statement should tt have left it running, so the shared server is not busy
/// for hours after a failed test.
async fn stop_statement(db: &mut Database, backend: Backend) {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT CAST(pg_cancel_backend(pid) AS TEXT) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        _ => {
            "SELECT CAST(ID AS CHAR) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
        }
    };
    let rows = db.fetch_text(sql).await.unwrap_or_default();
    if backend == Backend::Mysql {
        for row in rows {
            if let Some(id) = &row[0] {
                let _ = db.exec(&format!("KILL QUERY {id}"), &[]).await;
            }
        }
    }
}

async fn count(db: &mut Database, sql: &str) -> i64 {
    let rows = db.fetch_text(sql).await.expect("the check query runs");
    rows[0][0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .expect("a count")
}

fn spawn_migrate(project: &Project, url: &str, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin!("tt"))
        .args(["migrate", "--database-url", url])
        .args(extra)
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tt starts")
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits for `child` (at most 30 s): exit code, stdout, stderr.
fn finish(mut child: Child) -> (Option<i32>, String, String) {
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().expect("kill");
            panic!("tt did not exit within 30 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn status_versions(project: &Project, url: &str) -> serde_json::Value {
    let run = crate::support::run(
        project
            .tt_on(url, &["status", "--json"])
            .env("NO_COLOR", "1"),
    );
    let doc = run.json();
    let versions = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e["version"].as_str().expect("a version").to_string())
            .collect()
    };
    serde_json::json!({
        "applied": versions("applied"),
        "pending": versions("pending"),
        "dirty": versions("dirty"),
    })
}

#[tokio::test]
async fn a_signal_during_a_long_statement_cancels_it_and_exits_130_or_143() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        for (signal, code) in [("INT", 130), ("TERM", 143)] {
            let Some(db) = TestDb::create(backend).await else {
                continue;
            };
            let project = Project::new();
            let (slow, running_sql) = slow_migration(backend);
            project.migration("001_t1.sql", "CREATE TABLE t1 (id INTEGER);\n");
            project.migration("002_slow.sql", slow);
            let mut check = Database::connect(db.url(), ConnectOptions::default())
                .await
                .expect("connects");
            let child = spawn_migrate(&project, db.url(), &[]);
            let started = Instant::now();
            while count(&mut check, running_sql).await == 0 {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{backend}: the slow statement never started"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            send(&child, signal);
            let (exit, stdout, stderr) = finish(child);
            let context = format!("{backend} SIG{signal}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
            assert_eq!(exit, Some(code), "{context}");
            assert!(
                stderr.contains(&format!("interrupted by SIG{signal}")),
                "{context}"
            );
            assert!(
                stderr.contains("the running statement was cancelled"),
                "{context}"
            );
            assert!(stderr.contains("1 of 2 migrations applied"), "{context}");
            let still_running = count(&mut check, running_sql).await;
            if still_running > 0 {
                stop_statement(&mut check, backend).await;
            }
            assert_eq!(
                still_running, 0,
                "{context}: the server still runs the statement"
            );
            assert_eq!(
                count(&mut check, lock_held_sql(backend)).await,
                0,
                "{context}: lock"
            );
            let status = status_versions(&project, db.url());
            // PostgreSQL rolled the migration back; MySQL's CREATE TABLE had committed, so
            // the migration stays dirty, and tt says so.
            let expected = match backend {
                Backend::Postgres => {
                    assert!(stderr.contains("none dirty"), "{context}");
                    serde_json::json!({"applied": ["001"], "pending": ["002"], "dirty": []})
                }
                _ => {
                    assert!(stderr.contains("dirty: 002"), "{context}");
                    serde_json::json!({"applied": ["001"], "pending": [], "dirty": ["002"]})
                }
            };
            assert_eq!(status, expected, "{context}");
            check.close().await.expect("closes");
        }
    }
}

/// A file that inserts into `table` and then sleeps a minute while table `go` is empty.
fn sleeping_insert(backend: Backend, table: &str) -> String {
    let sleep = match backend {
        Backend::Postgres => {
            "SELECT pg_sleep(CASE WHEN (SELECT count(*) FROM go) = 0 THEN 60 ELSE 0 END)"
        }
        _ => "SELECT SLEEP(IF((SELECT COUNT(*) FROM go) = 0, 60, 0))",
    };
    format!("INSERT INTO {table} VALUES (1);\n{sleep};\n")
}

#[tokio::test]
async fn sigint_during_a_parallel_run_cancels_every_worker_and_records_none() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let project = Project::new();
        project.migration(
            "001_tables.sql",
            "CREATE TABLE go (n INTEGER);\nCREATE TABLE a (n INTEGER);\n\
             CREATE TABLE b (n INTEGER);\nCREATE TABLE c (n INTEGER);\n",
        );
        for (version, table) in [("002", "a"), ("003", "b"), ("004", "c")] {
            project.migration(
                &format!("{version}_fill_{table}.sql"),
                &sleeping_insert(backend, table),
            );
        }
        let sleeping = match backend {
            Backend::Postgres => {
                "SELECT CAST(count(*) AS TEXT) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE '%pg_sleep(CASE%' \
                 AND state = 'active' AND pid <> pg_backend_pid()"
            }
            _ => {
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND INFO LIKE '%SLEEP(IF%' AND ID <> CONNECTION_ID()"
            }
        };
        let mut check = Database::connect(db.url(), ConnectOptions::default())
            .await
            .expect("connects");
        let child = spawn_migrate(&project, db.url(), &["--jobs", "3"]);
        let started = Instant::now();
        while count(&mut check, sleeping).await < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{backend}: the three files never slept side by side"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        send(&child, "INT");
        let (exit, stdout, stderr) = finish(child);
        let context = format!("{backend}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
        let still_sleeping = count(&mut check, sleeping).await;
        if still_sleeping > 0 {
            stop_statement(&mut check, backend).await;
        }
        assert_eq!(exit, Some(130), "{context}");
        assert!(stderr.contains("interrupted by SIGINT"), "{context}");
        assert!(stderr.contains("1 of 4 migrations applied"), "{context}");
        assert!(stderr.contains("none dirty"), "{context}");
        assert_eq!(still_sleeping, 0, "{context}: a worker still sleeps");
        assert_eq!(
            count(&mut check, lock_held_sql(backend)).await,
            0,
            "{context}: lock"
        );
        let rows = &format!(
            "SELECT CAST((SELECT count(*) FROM a) + (SELECT count(*) FROM b) \
             + (SELECT count(*) FROM c) AS {})",
            if backend == Backend::Postgres {
                "TEXT"
            } else {
                "CHAR"
            }
        );
        assert_eq!(count(&mut check, rows).await, 0, "{context}: rows kept");
        assert_eq!(
            status_versions(&project, db.url()),
            serde_json::json!({"applied": ["001"], "pending": ["002", "003", "004"], "dirty": []}),
            "{context}"
        );
        check
            .exec("INSERT INTO go VALUES (1)", &[])
            .await
            .expect("inserts");
        crate::support::ok(&mut project.tt_on(db.url(), &["migrate", "--jobs", "3"]));
        assert_eq!(count(&mut check, rows).await, 3, "{context}: rerun");
        check.close().await.expect("closes");
    }
}

#[tokio::test]
async fn sigint_on_sqlite_rolls_back_the_open_transaction_and_exits_130() {
    let db = TestDb::create(Backend::Sqlite)
        .await
        .expect("SQLite always works");
    let project = Project::new();
    project.migration("001_t1.sql", "CREATE TABLE t1 (id INTEGER);\n");
    project.migration(
        "002_slow.sql",
        "CREATE TABLE t2 AS WITH RECURSIVE r(n) AS \
         (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000000) SELECT count(*) AS c FROM r;\n",
    );
    let child = spawn_migrate(&project, db.url(), &[]);
    // No server to ask: give tt time to reach the slow statement.
    std::thread::sleep(Duration::from_millis(1500));
    send(&child, "INT");
    let started = Instant::now();
    let (exit, stdout, stderr) = finish(child);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "{context}");
    assert_eq!(exit, Some(130), "{context}");
    assert!(stderr.contains("interrupted by SIGINT"), "{context}");
    assert!(stderr.contains("open transaction rolled back"), "{context}");
    // What tt said afterwards is what status reads, and the file is not left locked.
    let status = status_versions(&project, db.url());
    let applied = status["applied"].as_array().expect("applied").len();
    assert!(
        stderr.contains(&format!("{applied} of 2 migrations applied")),
        "{context}"
    );
    assert_eq!(status["dirty"], serde_json::json!([]), "{context}");
    crate::support::ok(
        &mut project.tt_on(db.url(), &["migrate", "--lock-timeout", "5", "--to", "001"]),
    );
}

/// A recursive count that takes SQLite about `rows / 3,000,000` seconds (more in a debug
/// build), as one statement creating `table`.
fn sqlite_busy(table: &str, rows: u64) -> String {
    format!(
        "CREATE TABLE {table} AS WITH RECURSIVE r(n) AS \
         (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {rows}) SELECT count(*) AS c FROM r;\n"
    )
}

/// Runs tt with `args` on `url` until its stdout has a line containing `line`, then kills it
/// with SIGKILL; returns what it printed.
fn kill9_after(project: &Project, url: &str, args: &[&str], line: &str) -> String {
    use std::io::BufRead;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("tt"))
        .args(args)
        .args(["--database-url", url])
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tt starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for text in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(text);
        }
    });
    let mut printed = String::new();
    let started = Instant::now();
    while !printed.contains(line) {
        match receiver.recv_timeout(Duration::from_secs(1)) {
            Ok(text) => printed.push_str(&format!("{text}\n")),
            Err(_) if child.try_wait().expect("try_wait").is_some() => {
                panic!("tt exited before printing `{line}`:\n{printed}")
            }
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no `{line}` within 60 s:\n{printed}"
        );
    }
    send(&child, "KILL");
    let _ = child.wait();
    printed
}

#[tokio::test]
async fn kill9_on_sqlite_keeps_every_migration_tt_printed_as_applied() {
    let db = TestDb::create(Backend::Sqlite)
        .await
        .expect("SQLite always works");
    let project = Project::new();
    project.migration("001_t1.sql", "CREATE TABLE t1 (id INTEGER);\n");
    project.migration("002_busy.sql", &sqlite_busy("t2", 1_000_000));
    project.migration("003_slow.sql", &sqlite_busy("t3", 500_000_000));
    let printed = kill9_after(&project, db.url(), &["migrate"], "applied 002");
    assert!(printed.contains("applied 001"), "{printed}");
    assert!(!printed.contains("applied 003"), "{printed}");
    // What tt printed is committed; the migration it was killed in is not, and the lock it
    // held died with it.
    assert_eq!(
        status_versions(&project, db.url()),
        serde_json::json!({"applied": ["001", "002"], "pending": ["003"], "dirty": []}),
        "{printed}"
    );
    crate::support::ok(
        &mut project.tt_on(db.url(), &["migrate", "--lock-timeout", "5", "--to", "002"]),
    );
}

#[tokio::test]
async fn kill9_on_sqlite_keeps_every_rollback_tt_printed() {
    let db = TestDb::create(Backend::Sqlite)
        .await
        .expect("SQLite always works");
    let project = Project::new();
    for (version, table) in [("001", "t1"), ("002", "t2"), ("003", "t3")] {
        project.migration(
            &format!("{version}_{table}.sql"),
            &format!("CREATE TABLE {table} (id INTEGER);\n"),
        );
    }
    // 003's rollback takes long enough to close a group; 001's runs until killed.
    project.migration(
        "003_t3.down.sql",
        &format!("DROP TABLE t3;\n{}", sqlite_busy("busy", 1_000_000)),
    );
    project.migration("002_t2.down.sql", "DROP TABLE t2;\n");
    project.migration(
        "001_t1.down.sql",
        &format!("DROP TABLE t1;\n{}", sqlite_busy("slow", 500_000_000)),
    );
    crate::support::ok(&mut project.tt_on(db.url(), &["migrate"]));
    let printed = kill9_after(&project, db.url(), &["down", "--all"], "rolled back 003");
    assert!(!printed.contains("rolled back 001"), "{printed}");
    let status = status_versions(&project, db.url());
    let applied: Vec<&str> = status["applied"]
        .as_array()
        .expect("applied")
        .iter()
        .map(|v| v.as_str().expect("a version"))
        .collect();
    assert!(!applied.contains(&"003"), "{printed}\n{status}");
    assert!(applied.contains(&"001"), "{printed}\n{status}");
    if printed.contains("rolled back 002") {
        assert_eq!(applied, ["001"], "{printed}\n{status}");
    }
}

/// Issue 11 item 7: tt killed while a MySQL `DROP TABLE` waits on another session's metadata
/// lock. Some managed tables are gone and MySQL cannot roll back: the mark in the tracking
/// table makes status, migrate and verify say so, and the next `tt drop` finishes.
#[tokio::test]
async fn kill_9_mid_drop_on_mysql_leaves_a_mark_that_status_migrate_and_verify_report() {
    let Some(db) = TestDb::create(Backend::Mysql).await else {
        return;
    };
    let project = Project::new();
    project.migration("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n");
    project.migration(
        "002_b.sql",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n",
    );
    project.migration(
        "003_c.sql",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b (id));\n",
    );
    let tt = |args: &[&str]| {
        let mut command = project.tt_on(db.url(), args);
        command.env("NO_COLOR", "1");
        command
    };
    crate::support::ok(&mut tt(&["migrate", "-q"]));
    // Another session reads `b` in an open transaction: the DROP of `b` waits for it.
    let mut other = Database::connect(db.url(), ConnectOptions::default())
        .await
        .expect("connects");
    for sql in ["BEGIN", "SELECT CAST(COUNT(*) AS CHAR) FROM b"] {
        other.fetch_text(sql).await.expect(sql);
    }
    let child = Command::new(assert_cmd::cargo::cargo_bin!("tt"))
        .args(["drop", "--yes", "--database-url", db.url()])
        .current_dir(project.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tt starts");
    let waiting = "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST \
                   WHERE DB = DATABASE() AND STATE = 'Waiting for table metadata lock' \
                   AND ID <> CONNECTION_ID()";
    let mut check = Database::connect(db.url(), ConnectOptions::default())
        .await
        .expect("connects");
    let started = Instant::now();
    while count(&mut check, waiting).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the drop never started waiting"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(&child, "KILL");
    let _ = finish(child);
    // The server would still run the waiting DROP once the reader commits: end it too, as a
    // crash of the machine tt ran on would have left it.
    stop_statement(&mut check, Backend::Mysql).await;
    // KILL QUERY only flags the DROP: it must have ended before the reader's COMMIT hands it
    // the lock, or it would drop `b` after all.
    let started = Instant::now();
    while count(&mut check, waiting).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the killed drop still waits"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.fetch_text("COMMIT").await.expect("commits");
    let tables = "SELECT CAST(count(*) AS CHAR) FROM information_schema.TABLES \
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('a', 'b', 'c')";
    assert_eq!(count(&mut check, tables).await, 2, "c went, b and a stayed");

    let status = crate::support::run(&mut tt(&["status"]));
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("A drop of the managed tables stopped part-way"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("`tt drop`"), "{}", status.stdout);
    let json = crate::support::run(&mut tt(&["status", "--json"])).json();
    assert!(json["stopped_drop"]["started_at"].is_string(), "{json}");
    let migrate = crate::support::run(&mut tt(&["migrate"]));
    assert_eq!(migrate.code, 1, "{}", migrate.stdout);
    assert!(
        migrate
            .stderr
            .contains("a drop of the managed tables stopped part-way")
            && migrate.stderr.contains("run `tt drop` to finish"),
        "{}",
        migrate.stderr
    );
    let verify = crate::support::run(&mut tt(&["verify", "--check", "tracking"]));
    assert_eq!(verify.code, 3, "{}\n{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("stopped part-way"),
        "{}",
        verify.stdout
    );

    let done = crate::support::ok(&mut tt(&["drop", "--yes"]));
    assert!(
        done.stdout.contains("Dropped 3 table(s)"),
        "{}",
        done.stdout
    );
    assert_eq!(count(&mut check, tables).await, 0);
    let json = crate::support::run(&mut tt(&["status", "--json"])).json();
    assert_eq!(json["stopped_drop"], serde_json::Value::Null, "{json}");
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(3), "{json}");
    check.close().await.expect("closes");
}

/// Ctrl-C during a run on six schemas, three at a time, directly and through PgBouncer: the
/// three running targets have their statement cancelled and rolled back, the other three are
/// reported not started and untouched, tt exits 130, no lock is left, and the next run finishes
/// every schema. Before, the fleet went on to start the targets not yet started (they applied
/// migrations after the Ctrl-C), and tt printed "the command had finished before it could be
/// stopped" with the state of `public`.
#[tokio::test]
async fn sigint_during_a_fleet_cancels_the_running_targets_and_starts_no_other() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let names: Vec<String> = (0..6).map(|i| format!("f_{i}")).collect();
    let mut urls = vec![db.url().to_string()];
    urls.extend(db.through_pgbouncer(tt_testdb::PoolMode::Transaction));
    let project = Project::new();
    project.migration("001_t1.sql", "CREATE TABLE t1 (id INTEGER);\n");
    // Slow while public.slow exists.
    project.migration(
        "002_slow.sql",
        "CREATE TABLE t2 (id INTEGER);\nSELECT pg_sleep(CASE WHEN to_regclass('public.slow') \
         IS NULL THEN 0 ELSE 60 END);\n",
    );
    let mut check = Database::connect(db.url(), ConnectOptions::default())
        .await
        .expect("connects");
    let running = "SELECT CAST(count(*) AS TEXT) FROM pg_stat_activity \
                   WHERE datname = current_database() AND query LIKE '%pg_sleep(CASE%' \
                   AND pid <> pg_backend_pid()";
    for url in &urls {
        for name in &names {
            check
                .exec(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"), &[])
                .await
                .expect("drops");
            check
                .exec(&format!("CREATE SCHEMA {name}"), &[])
                .await
                .expect("creates");
        }
        check
            .exec("CREATE TABLE IF NOT EXISTS public.slow (x INTEGER)", &[])
            .await
            .expect("creates");
        let child = Command::new(assert_cmd::cargo::cargo_bin!("tt"))
            .args([
                "migrate",
                "--schemas",
                "f_*",
                "--jobs",
                "3",
                "--database-url",
                url,
            ])
            .current_dir(project.path())
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tt starts");
        let started = Instant::now();
        while count(&mut check, running).await < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{url}: three slow statements never ran"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        send(&child, "INT");
        let (exit, stdout, stderr) = finish(child);
        let context = format!("{url}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
        assert_eq!(exit, Some(130), "{context}");
        assert!(
            stderr.contains("interrupted by SIGINT: 3 running target(s) stopped"),
            "{context}"
        );
        assert!(stderr.contains("3 not started"), "{context}");
        let states: Vec<&str> = stdout
            .lines()
            .filter(|line| line.starts_with("f_"))
            .filter_map(|line| {
                ["interrupted", "not started"]
                    .into_iter()
                    .find(|state| line.contains(state))
            })
            .collect();
        let mut sorted = states.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [
                "interrupted",
                "interrupted",
                "interrupted",
                "not started",
                "not started",
                "not started"
            ],
            "{context}"
        );
        assert_eq!(
            count(&mut check, running).await,
            0,
            "{context}: still running"
        );
        assert_eq!(
            count(&mut check, lock_held_sql(Backend::Postgres)).await,
            0,
            "{context}"
        );
        // Per schema: its tables, and its tracking rows and lease rows where it has them.
        let mut contents = Vec::new();
        for name in &names {
            let tables = check
                .fetch_text(&format!(
                    "SELECT string_agg(table_name, ',' ORDER BY table_name) \
                     FROM information_schema.tables WHERE table_schema = '{name}'"
                ))
                .await
                .expect("reads");
            let tables = tables[0][0].clone().unwrap_or_default();
            let mut rows = String::new();
            if tables.contains("schema_migrations") {
                let tracked = check
                    .fetch_text(&format!(
                        "SELECT string_agg(version, ',' ORDER BY version) FROM {name}.schema_migrations"
                    ))
                    .await
                    .expect("reads");
                rows = tracked[0][0].clone().unwrap_or_default();
            }
            if tables.contains("schema_migrations_lock") {
                let leases = count(
                    &mut check,
                    &format!("SELECT CAST(count(*) AS TEXT) FROM {name}.schema_migrations_lock"),
                )
                .await;
                assert_eq!(leases, 0, "{context}: lease left in {name}");
            }
            contents.push(format!("{tables}: {rows}"));
        }
        let interrupted_contents = if url == db.url() {
            "schema_migrations,t1: 001"
        } else {
            "schema_migrations,schema_migrations_lock,t1: 001"
        };
        let mut expected = vec![interrupted_contents; 3];
        expected.extend([": "; 3]);
        contents.sort_unstable();
        expected.sort_unstable();
        assert_eq!(contents, expected, "{context}");

        check
            .exec("DROP TABLE public.slow", &[])
            .await
            .expect("drops");
        crate::support::ok(&mut crate::support::Project::tt_on(
            &project,
            url,
            &["migrate", "--schemas", "f_*", "--jobs", "3"],
        ));
        for name in &names {
            let tracked = check
                .fetch_text(&format!(
                    "SELECT string_agg(version, ',' ORDER BY version) FROM {name}.schema_migrations"
                ))
                .await
                .expect("reads");
            assert_eq!(tracked[0][0].as_deref(), Some("001,002"), "{url}: {name}");
        }
    }
    check.close().await.expect("closes");
}

#[test]
fn sigint_while_connecting_to_a_silent_server_exits_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let (accepted, connecting) = std::sync::mpsc::channel();
    // Accepts and never answers: tt waits for the handshake until its connect timeout.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    let project = Project::new();
    project.migration("001_items.sql", "CREATE TABLE items (id INTEGER);\n");
    let nothing = "tt stopped before it connected: nothing was changed";
    let created = "nothing was changed, except perhaps the empty schema --create-schema creates";
    for (url, create, said) in [
        (
            format!("postgres://tt@127.0.0.1:{port}/app"),
            false,
            nothing,
        ),
        (format!("mysql://tt@127.0.0.1:{port}/app"), false, nothing),
        (format!("postgres://tt@127.0.0.1:{port}/app"), true, created),
    ] {
        let mut args = vec!["--connect-timeout", "60"];
        if create {
            args.extend(["--schema", "v_1", "--create-schema"]);
        }
        let child = spawn_migrate(&project, &url, &args);
        connecting
            .recv_timeout(Duration::from_secs(30))
            .expect("tt connects");
        send(&child, "INT");
        let signalled = Instant::now();
        let (code, _, stderr) = finish(child);
        // Before, tt connected again to read the state and waited 10 s for an answer.
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "{url}: exited {:?} after the signal",
            signalled.elapsed()
        );
        assert_eq!(code, Some(130), "{url}: {stderr}");
        assert!(stderr.contains(said), "{url}: {stderr}");
        while connecting.try_recv().is_ok() {}
    }
}
