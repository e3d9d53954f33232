//! Runners started at once on the same database: they queue on the migration lock, all
//! succeed, and each migration is applied once.

use serde_json::Value;
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{Project, Run, run};

/// Starts `n` `tt` processes with `args` at once (a thread each) and waits for all of them.
pub(crate) fn race(project: &Project, url: &str, n: usize, args: &[&str]) -> Vec<Run> {
    std::thread::scope(|scope| {
        let runners: Vec<_> = (0..n)
            .map(|_| scope.spawn(|| run(&mut project.tt_on(url, args))))
            .collect();
        runners
            .into_iter()
            .map(|runner| runner.join().expect("a runner thread"))
            .collect()
    })
}

/// Asserts every run exited 0 and, together, they applied each of `versions` exactly once.
pub(crate) fn each_applied_once(runs: &[Run], versions: &[&str]) {
    for run in runs {
        assert_eq!(
            run.code, 0,
            "every runner succeeds:\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
    }
    let mut applied: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            let doc = run.json();
            doc["applied"]
                .as_array()
                .expect("a list of applied migrations")
                .iter()
                .map(|entry| entry["version"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    applied.sort();
    assert_eq!(
        applied, versions,
        "each migration applied by exactly one runner"
    );
}

/// The tracking table's versions, in order, read with `tt status --json`.
pub(crate) fn recorded(project: &Project, url: &str) -> Vec<String> {
    let doc: Value = crate::support::ok(&mut project.tt_on(url, &["--json", "status"])).json();
    doc["applied"]
        .as_array()
        .expect("a list of applied migrations")
        .iter()
        .map(|entry| entry["version"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn eight_runners_with_a_concurrent_index_do_not_deadlock() {
    // A waiter blocked in pg_advisory_lock held a snapshot that CREATE INDEX CONCURRENTLY in
    // the holder's run waited for: 7 of 8 runners failed with `deadlock detected`.
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let project = Project::new();
    concurrent_index_set(&project);
    let runs = race(
        &project,
        db.url(),
        8,
        &["--json", "--lock-timeout", "60", "migrate"],
    );
    each_applied_once(&runs, &["001", "002", "003"]);
    assert_eq!(recorded(&project, db.url()), ["001", "002", "003"]);
}

/// A slow first migration, then a no-transaction `CREATE INDEX CONCURRENTLY` (PostgreSQL).
fn concurrent_index_set(project: &Project) {
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id integer PRIMARY KEY, name text);\n\
         INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;\n\
         SELECT pg_sleep(0.3);\n",
    );
    project.migration(
        "002_items_name.sql",
        "-- tt:no-transaction\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n",
    );
    project.migration("003_more.sql", "ALTER TABLE items ADD COLUMN ql integer;\n");
}

/// Three small migrations every backend runs, the first slow enough that the others wait.
fn small_set(project: &Project) {
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id integer PRIMARY KEY, name varchar(64));\n",
    );
    project.migration(
        "002_seed.sql",
        "INSERT INTO items (id, name) VALUES (1, 'Notum Wars Boosted Tank Armor');\n",
    );
    project.migration(
        "003_stats.sql",
        "CREATE TABLE stats (id integer PRIMARY KEY, item_id integer REFERENCES items (id));\n",
    );
}

/// Rows in the lease lock's table; `None` when the table does not exist.
pub(crate) async fn lease_rows(url: &str) -> Option<usize> {
    let mut db = tt_migrate::Database::connect(url, tt_migrate::ConnectOptions::default())
        .await
        .expect("connects");
    let rows = db
        .fetch_text("SELECT CAST(COUNT(*) AS CHAR(10)) FROM schema_migrations_lock")
        .await
        .ok()
        .map(|rows| {
            let count = rows[0][0].clone().unwrap_or_default();
            count.trim().parse().expect("a count")
        });
    db.close().await.expect("closes");
    rows
}

#[tokio::test]
async fn eight_runners_queue_on_either_lock_on_every_backend() {
    for lock in ["advisory", "table"] {
        for db in TestDb::create_all().await {
            let backend = db.backend();
            let project = Project::new();
            small_set(&project);
            let args = ["--json", "--lock", lock, "--lock-timeout", "60", "migrate"];
            let runs = race(&project, db.url(), 8, &args);
            each_applied_once(&runs, &["001", "002", "003"]);
            let expected = (lock == "table").then_some(0);
            assert_eq!(
                lease_rows(db.url()).await,
                expected,
                "{backend}, {lock} lock: the lease table exists only for the table lock, and \
                 no row is left behind"
            );
        }
    }
}

#[tokio::test]
async fn eight_runners_with_a_concurrent_index_queue_on_the_table_lock() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let project = Project::new();
    concurrent_index_set(&project);
    let args = [
        "--json",
        "--lock",
        "table",
        "--lock-timeout",
        "60",
        "migrate",
    ];
    let runs = race(&project, db.url(), 8, &args);
    each_applied_once(&runs, &["001", "002", "003"]);
    assert_eq!(lease_rows(db.url()).await, Some(0));
}

/// Advisory locks held in the database of `url` (read directly, not through a pooler).
async fn advisory_locks(url: &str) -> usize {
    let mut db = tt_migrate::Database::connect(url, tt_migrate::ConnectOptions::default())
        .await
        .expect("connects");
    let rows = db
        .fetch_text(
            "SELECT CAST(COUNT(*) AS TEXT) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await
        .expect("pg_locks reads");
    db.close().await.expect("closes");
    rows[0][0]
        .clone()
        .unwrap_or_default()
        .parse()
        .expect("a count")
}

/// Six runners through PgBouncer in `mode`, with `extra` arguments: all succeed, each
/// migration once, and no lock (advisory or lease row) is left behind.
async fn six_runners_through_pgbouncer(mode: tt_testdb::PoolMode, extra: &[&str]) {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let Some(pooled) = db.through_pgbouncer(mode) else {
        return;
    };
    let project = Project::new();
    small_set(&project);
    let mut args = vec!["--json", "--lock-timeout", "60"];
    args.extend(extra);
    args.push("migrate");
    let runs = race(&project, &pooled, 6, &args);
    each_applied_once(&runs, &["001", "002", "003"]);
    assert_eq!(advisory_locks(db.url()).await, 0, "no advisory lock left");
    assert!(
        lease_rows(db.url()).await.unwrap_or(0) == 0,
        "no lease row left"
    );
    // The next run gets the lock at once.
    let next = crate::support::ok(
        &mut project.tt_on(&pooled, &["--json", "--lock-timeout", "2", "migrate"]),
    );
    assert_eq!(next.json()["applied"], serde_json::json!([]));
}

#[tokio::test]
async fn six_runners_through_a_transaction_pooler_are_detected_and_queue() {
    // They failed with `prepared statement "sqlx_s_1" already exists`, and left a session
    // advisory lock held on a pooled server connection.
    six_runners_through_pgbouncer(tt_testdb::PoolMode::Transaction, &[]).await;
}

#[tokio::test]
async fn six_runners_through_a_transaction_pooler_with_the_table_lock() {
    six_runners_through_pgbouncer(tt_testdb::PoolMode::Transaction, &["--lock", "table"]).await;
}

#[tokio::test]
async fn six_runners_through_a_session_pooler_queue() {
    six_runners_through_pgbouncer(tt_testdb::PoolMode::Session, &[]).await;
}

/// Starts runs of `tt` with each of `args_per_runner` at once and waits for all of them.
fn race_mixed(project: &Project, runners: &[(String, Vec<&str>)]) -> Vec<Run> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = runners
            .iter()
            .map(|(url, args)| scope.spawn(move || run(&mut project.tt_on(url, args))))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a runner thread"))
            .collect()
    })
}

#[tokio::test]
async fn runners_with_different_lock_settings_still_exclude_each_other() {
    for db in TestDb::create_all().await {
        let project = Project::new();
        small_set(&project);
        let mut runners = Vec::new();
        for lock in [
            "advisory", "table", "advisory", "table", "advisory", "table",
        ] {
            let args = vec!["--json", "--lock", lock, "--lock-timeout", "60", "migrate"];
            runners.push((db.url().to_string(), args));
        }
        // Through a transaction pooler tt takes the table lock on its own.
        if db.backend() == Backend::Postgres {
            if let Some(pooled) = db.through_pgbouncer(tt_testdb::PoolMode::Transaction) {
                for _ in 0..3 {
                    runners.push((
                        pooled.clone(),
                        vec!["--json", "--lock-timeout", "60", "migrate"],
                    ));
                }
            }
        }
        let runs = race_mixed(&project, &runners);
        each_applied_once(&runs, &["001", "002", "003"]);
        // No row left behind. The table may not exist: a `table` runner that started once
        // an `advisory` one had applied everything found nothing to do and took no lock.
        assert_eq!(
            lease_rows(db.url()).await.unwrap_or(0),
            0,
            "{}",
            db.backend()
        );
    }
}

/// Twenty migrations of one table each, so a migrate run takes a while.
fn twenty_tables(project: &Project) {
    for n in 1..=20 {
        project.migration(
            &format!("{n:03}_t{n:03}.sql"),
            &format!("CREATE TABLE t{n:03} (id integer PRIMARY KEY, name varchar(20));\n"),
        );
    }
}

#[tokio::test]
async fn a_drop_started_during_a_migrate_drops_what_the_migrate_created() {
    // The drop read the tables before taking the lock: the migrate's later tables stayed
    // behind untracked, and the next migrate failed.
    for db in TestDb::create_all().await {
        let backend = db.backend();
        let project = Project::new();
        twenty_tables(&project);
        std::thread::scope(|scope| {
            let migrate = scope
                .spawn(|| run(&mut project.tt_on(db.url(), &["--lock-timeout", "60", "migrate"])));
            std::thread::sleep(std::time::Duration::from_millis(500));
            let dropped =
                run(&mut project.tt_on(db.url(), &["--lock-timeout", "60", "--yes", "drop"]));
            assert_eq!(dropped.code, 0, "{backend}: {}", dropped.stderr);
            assert_eq!(
                migrate.join().expect("the migrate thread").code,
                0,
                "{backend}"
            );
        });
        // Whichever ran first, the database is either empty or fully migrated: a migrate
        // applies what is missing and succeeds.
        let again = crate::support::ok(&mut project.tt_on(db.url(), &["--json", "migrate"]));
        let applied = again.json()["applied"].as_array().map_or(0, Vec::len);
        assert!(applied == 0 || applied == 20, "{backend}: {applied}");
        assert_eq!(recorded(&project, db.url()).len(), 20, "{backend}");
    }
}

#[tokio::test]
async fn six_concurrent_resets_queue_instead_of_failing_on_dropped_tables() {
    // Five of six failed with "table t020 does not exist": they planned before the lock. Then
    // exit 3: reset released its lock between the drop and the migrate, and its final check
    // saw another reset's drop. One lock from the first read to the final verify, with
    // either lock.
    for lock in ["advisory", "table"] {
        for db in TestDb::create_all().await {
            let backend = db.backend();
            let project = Project::new();
            twenty_tables(&project);
            crate::support::ok(&mut project.tt_on(db.url(), &["--lock", lock, "migrate"]));
            let runs = race(
                &project,
                db.url(),
                6,
                &["--lock", lock, "--lock-timeout", "120", "--yes", "reset"],
            );
            for run in &runs {
                assert_eq!(
                    run.code, 0,
                    "{backend}, {lock} lock:\n{}\n{}",
                    run.stdout, run.stderr
                );
            }
            // Complete as the last reset left it, without a repairing migrate.
            assert_eq!(
                recorded(&project, db.url()).len(),
                20,
                "{backend}, {lock} lock"
            );
            let status = crate::support::ok(&mut project.tt_on(db.url(), &["--json", "status"]));
            assert_eq!(
                status.json()["pending"]
                    .as_array()
                    .map_or(usize::MAX, Vec::len),
                0,
                "{backend}, {lock} lock: {}",
                status.stdout
            );
        }
    }
}
