//! The fleet API: `Migrator::run_fleet` over a list of targets, at most `jobs` at a time,
//! with each target's events and outcome, and a failure confined to its target.

use std::sync::Mutex;

use tt_migrate::{ConnectOptions, Fleet, FleetEvent, MigrationSet, Migrator, Target};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::connect;

fn migrations(dir: &std::path::Path) -> MigrationSet {
    std::fs::write(
        dir.join("001_items.sql"),
        "CREATE TABLE items (id INTEGER PRIMARY KEY);",
    )
    .unwrap();
    std::fs::write(
        dir.join("002_tags.sql"),
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);",
    )
    .unwrap();
    MigrationSet::load(dir).unwrap()
}

/// A fresh PostgreSQL test database after `setup`, and a connection to it; `None` where
/// PostgreSQL is not available.
async fn postgres_with(setup: &[&str]) -> Option<(TestDb, tt_migrate::Database)> {
    let db = TestDb::create(Backend::Postgres).await?;
    let mut admin = connect(&db).await;
    for sql in setup {
        admin.exec(sql, &[]).await.unwrap();
    }
    Some((db, admin))
}

#[tokio::test]
async fn targets_run_at_most_jobs_at_a_time_and_fail_alone() {
    let Some((db, mut admin)) = postgres_with(&[
        "CREATE SCHEMA f_0",
        "CREATE SCHEMA f_1",
        "CREATE SCHEMA f_2",
        "CREATE SCHEMA f_3",
        "CREATE SCHEMA f_4",
        // The second migration cannot run here.
        "CREATE TABLE f_4.tags (x INTEGER)",
    ])
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let set = migrations(dir.path());
    let mut targets: Vec<Target> = (0..5)
        .map(|i| Target::in_schema(db.url(), format!("f_{i}")))
        .collect();
    // A schema that does not exist yet: created, since the fleet creates schemas.
    targets.push(Target::in_schema(db.url(), "f_new").named("new"));
    let fleet = Fleet::new(&targets, ConnectOptions::default())
        .jobs(2)
        .create_schemas(true);
    let state = Mutex::new((0usize, 0usize, Vec::new()));
    let runs = Migrator::for_set(&set)
        .run_fleet(&fleet, &|index, event| {
            let mut state = state.lock().unwrap();
            match event {
                FleetEvent::Started => {
                    state.0 += 1;
                    state.1 = state.1.max(state.0);
                }
                FleetEvent::Finished { .. } => state.0 -= 1,
                FleetEvent::Migration(tt_migrate::Event::Finished(applied)) => {
                    state.2.push((index, applied.version.to_string()));
                }
                _ => {}
            }
        })
        .await;
    let (running, most, mut finished) = state.into_inner().unwrap();
    assert_eq!(running, 0);
    assert_eq!(most, 2, "two targets at a time, never more");
    finished.sort();
    let expected: Vec<(usize, String)> = [0, 1, 2, 3, 5]
        .into_iter()
        .flat_map(|i| [(i, "001".to_string()), (i, "002".to_string())])
        .chain([(4, "001".to_string())])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(finished, expected, "each target's events carry its index");
    for (i, run) in runs.iter().enumerate() {
        let result = run.result.as_ref().expect("every target ran");
        match i {
            4 => {
                let failed = result.as_ref().expect_err("f_4 fails");
                assert_eq!(failed.applied.len(), 1, "001 stays applied on f_4");
            }
            _ => assert_eq!(
                result.as_ref().map(|r| r.applied.len()).ok(),
                Some(2),
                "{i}"
            ),
        }
    }
    let text = admin.text_type();
    let sql = format!(
        "SELECT CAST(COUNT(*) AS {text}) FROM information_schema.tables \
         WHERE table_schema = 'public'"
    );
    assert_eq!(admin.fetch_text(&sql).await.unwrap(), [[Some("0".into())]]);
    admin.close().await.unwrap();
}

#[tokio::test]
async fn fail_fast_leaves_later_targets_unstarted_and_sqlite_has_no_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let set = migrations(dir.path());
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let targets = vec![
        Target::in_schema(&url, "a"),
        Target::in_schema(&url, "b"),
        Target::new(&url),
    ];
    let fleet = Fleet::new(&targets, ConnectOptions::default()).fail_fast(true);
    let runs = Migrator::for_set(&set).run_fleet(&fleet, &|_, _| {}).await;
    let error = runs[0].result.as_ref().unwrap().as_ref().unwrap_err();
    assert!(error.to_string().contains("has no schemas"), "{error}");
    assert!(runs[1].result.is_none());
    assert!(runs[2].result.is_none());
}

#[tokio::test]
async fn the_schemas_of_one_server_share_a_connection_and_one_pooler_probe() {
    let schemas: Vec<String> = (0..6).map(|i| format!("CREATE SCHEMA p_{i}")).collect();
    let setup: Vec<&str> = schemas.iter().map(String::as_str).collect();
    let Some((db, mut admin)) = postgres_with(&setup).await else {
        return;
    };
    let name = db.url().rsplit('/').next().unwrap().to_string();
    // Sessions the server ever opened on the test database, once every other one ended: a
    // backend's statistics are written before it leaves pg_stat_activity.
    let sessions = async |admin: &mut tt_migrate::Database| {
        for _ in 0..200 {
            let others = format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            );
            if admin.fetch_text(&others).await.unwrap() == [[Some("0".into())]] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        admin
            .exec("SELECT pg_stat_clear_snapshot()", &[])
            .await
            .unwrap();
        let count =
            format!("SELECT CAST(sessions AS TEXT) FROM pg_stat_database WHERE datname = '{name}'");
        let rows = admin.fetch_text(&count).await.unwrap();
        rows[0][0].as_deref().unwrap().parse::<u64>().unwrap()
    };
    let before = sessions(&mut admin).await;
    let dir = tempfile::tempdir().unwrap();
    let set = migrations(dir.path());
    let targets: Vec<Target> = (0..6)
        .map(|i| Target::in_schema(db.url(), format!("p_{i}")))
        .collect();
    let fleet = Fleet::new(&targets, ConnectOptions::default());
    let runs = Migrator::for_set(&set).run_fleet(&fleet, &|_, _| {}).await;
    assert!(
        runs.iter()
            .all(|run| run.result.as_ref().is_some_and(Result::is_ok)),
        "{runs:?}"
    );
    // One connection serves the schemas one after the other, and one probe the whole server
    // (not one of each a schema).
    assert_eq!(sessions(&mut admin).await - before, 1 + 1);
    admin.close().await.unwrap();
}

/// The text of `sql`'s single value.
async fn one_text(db: &mut tt_migrate::Database, sql: &str) -> Option<String> {
    db.fetch_text(sql).await.unwrap().remove(0).remove(0)
}

#[tokio::test]
async fn a_reused_connection_starts_each_schema_as_a_new_one_would() {
    let Some((db, mut admin)) = postgres_with(&[
        "CREATE SCHEMA r_0",
        "CREATE SCHEMA r_1",
        "CREATE SCHEMA r_2",
        "CREATE SCHEMA r_3",
        // The migration fails here: the connection it ran on is not handed on.
        "CREATE TABLE r_2.sessions (pid INTEGER)",
    ])
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Fails when the schema before left its settings, temporary table, prepared statement or
    // search_path behind, or when session_sql did not run again; leaves all of them behind.
    std::fs::write(
        dir.path().join("001_session.sql"),
        "DO $$ BEGIN
           IF current_setting('statement_timeout') <> '0' THEN
             RAISE EXCEPTION 'statement_timeout leaked: %', current_setting('statement_timeout');
           END IF;
           IF current_setting('work_mem') <> '5MB' THEN
             RAISE EXCEPTION 'session_sql did not run: work_mem is %', current_setting('work_mem');
           END IF;
         END $$;
         CREATE TEMP TABLE scratch (x INTEGER);
         PREPARE probe AS SELECT 1;
         CREATE TABLE sessions AS SELECT pg_backend_pid() AS pid;
         SET statement_timeout = '12345';
         SET work_mem = '7MB';
         SET search_path TO public;",
    )
    .unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    let targets: Vec<Target> = (0..4)
        .map(|i| Target::in_schema(db.url(), format!("r_{i}")))
        .collect();
    let options = ConnectOptions {
        session_sql: vec!["SET work_mem = '5MB'".into()],
        ..ConnectOptions::default()
    };
    let fleet = Fleet::new(&targets, options);
    let runs = Migrator::for_set(&set).run_fleet(&fleet, &|_, _| {}).await;
    let ok: Vec<bool> = runs
        .iter()
        .map(|run| run.result.as_ref().is_some_and(Result::is_ok))
        .collect();
    assert_eq!(ok, [true, true, false, true], "{runs:?}");
    let pid = async |admin: &mut tt_migrate::Database, schema: &str| {
        one_text(
            admin,
            &format!("SELECT CAST(pid AS TEXT) FROM {schema}.sessions"),
        )
        .await
    };
    let first = pid(&mut admin, "r_0").await;
    assert!(first.is_some());
    assert_eq!(
        pid(&mut admin, "r_1").await,
        first,
        "r_1 reuses r_0's connection"
    );
    assert_ne!(
        pid(&mut admin, "r_3").await,
        first,
        "the connection of r_2's failed run is closed, not handed to r_3"
    );
    let in_public = "SELECT CAST(COUNT(*) AS TEXT) FROM pg_catalog.pg_tables \
                     WHERE schemaname = 'public'";
    assert_eq!(one_text(&mut admin, in_public).await.as_deref(), Some("0"));
    admin.close().await.unwrap();
}
