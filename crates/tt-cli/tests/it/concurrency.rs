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
    let runs = race(
        &project,
        db.url(),
        8,
        &["--json", "--lock-timeout", "60", "migrate"],
    );
    each_applied_once(&runs, &["001", "002", "003"]);
    assert_eq!(recorded(&project, db.url()), ["001", "002", "003"]);
}
