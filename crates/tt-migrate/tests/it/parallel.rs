//! Parallel runs (`jobs` > 1): the same result as a serial run, dependencies respected, and a
//! failure that stops only what depends on it.

use tt_migrate::{Error, Event, IntrospectOptions, Migration, Migrator, Tracking, introspect};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, execute, migrations, versions};

fn no_events(_: Event<'_>) {}

/// A 40-file fixture: a table of digits, then for eight groups a table filled from it, an
/// index, a column added and backfilled, a child table with a foreign key, and a view over
/// both; one backfill calls a function tt cannot see into (a barrier).
fn fixture() -> Vec<Migration> {
    let mut files: Vec<(String, String)> = vec![(
        "001_digits.sql".into(),
        "CREATE TABLE digits (d INTEGER PRIMARY KEY);\n\
         INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);"
            .into(),
    )];
    let steps: [&dyn Fn(usize) -> String; 5] = [
        &|k| {
            format!(
                "CREATE TABLE t{k} (id INTEGER PRIMARY KEY, v INTEGER, note VARCHAR(40));\n\
                 INSERT INTO t{k} (id, v, note) SELECT a.d * 100 + b.d * 10 + c.d, a.d + {k}, 'n' \
                 FROM digits a, digits b, digits c;"
            )
        },
        &|k| format!("CREATE INDEX t{k}_v ON t{k} (v);"),
        &|k| {
            let extra = if k == 3 { " + acos(1)" } else { "" };
            format!("ALTER TABLE t{k} ADD COLUMN w INTEGER;\nUPDATE t{k} SET w = v * 2{extra};")
        },
        &|k| {
            format!(
                "CREATE TABLE c{k} (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t{k} (id));\n\
                 INSERT INTO c{k} (id, t_id) SELECT id, id FROM t{k} WHERE v > {k} + 4;"
            )
        },
        &|k| {
            format!(
                "CREATE VIEW v{k} AS SELECT t.id, t.w, c.id AS cid FROM t{k} t JOIN c{k} c ON c.t_id = t.id;"
            )
        },
    ];
    for (step, make) in steps.iter().enumerate() {
        for k in 0..8 {
            let version = files.len() + 1;
            files.push((format!("{version:03}_s{step}_g{k}.sql"), make(k)));
        }
    }
    files.truncate(40);
    let leaked: Vec<(&'static str, &'static str)> = files
        .into_iter()
        .map(|(name, sql)| (&*name.leak(), &*sql.leak()))
        .collect();
    migrations(&leaked)
}

/// Everything a run leaves that a user can see: the tables, every table's and view's rows,
/// and the tracking rows without their times.
async fn outcome(db: &mut tt_migrate::Database) -> (tt_schema::Schema, Vec<String>) {
    let schema = introspect(db, &IntrospectOptions::default()).await.unwrap();
    let mut seen = Vec::new();
    let mut relations: Vec<String> = schema.tables().map(|t| t.name.clone()).collect();
    relations.retain(|t| t != "schema_migrations");
    relations.extend((0..7).map(|k| format!("v{k}")));
    for relation in relations {
        let rows = db
            .fetch(&format!("SELECT * FROM {relation} ORDER BY 1"), &[])
            .await
            .unwrap_or_else(|e| panic!("{relation}: {e}"));
        seen.push(format!("{relation}: {rows:?}"));
    }
    for row in Tracking::default().rows(db).await.unwrap() {
        seen.push(format!(
            "{} {:?} {:?} {}",
            row.version, row.name, row.checksum, row.dirty
        ));
    }
    (schema, seen)
}

#[tokio::test]
async fn four_jobs_leave_what_one_job_leaves() {
    let files = fixture();
    for backend in [Backend::Postgres, Backend::Mysql] {
        let (Some(serial_db), Some(parallel_db)) =
            (TestDb::create(backend).await, TestDb::create(backend).await)
        else {
            continue;
        };
        let mut serial = connect(&serial_db).await;
        let mut parallel = connect(&parallel_db).await;
        let one = Migrator::new(&files)
            .run(&mut serial, &mut no_events)
            .await
            .unwrap();
        let migrator = Migrator::new(&files).jobs(4);
        let schedule = migrator.schedule(&mut parallel).await.unwrap();
        assert_eq!(schedule.serial, None, "{backend}");
        assert!(
            schedule.waves() < 20,
            "{backend}: {} waves\n{}",
            schedule.waves(),
            schedule.to_text()
        );
        // The barrier: 021 (the backfill of group 3) waits for all before it, all after for it.
        let barrier = &schedule.migrations[20];
        assert_eq!(barrier.version.as_str(), "021", "{backend}");
        assert!(barrier.barrier.is_some(), "{backend}");
        let four = migrator.run(&mut parallel, &mut no_events).await.unwrap();
        assert_eq!(versions(&four), versions(&one), "{backend}");
        assert_eq!(four.applied.len(), 40, "{backend}");
        assert_eq!(
            outcome(&mut serial).await,
            outcome(&mut parallel).await,
            "{backend}"
        );
        // No migration started before one it waits for had committed, and never more than
        // four ran at once.
        let times: Vec<(u64, u64)> = four
            .applied
            .iter()
            .map(|a| (a.started_ms.unwrap(), a.finished_ms.unwrap()))
            .collect();
        for (i, scheduled) in schedule.migrations.iter().enumerate() {
            for wait in &scheduled.waits_for {
                let j = schedule
                    .migrations
                    .iter()
                    .position(|m| m.version == wait.version)
                    .unwrap();
                assert!(
                    times[i].0 >= times[j].1,
                    "{backend}: {} started at {} ms before {} committed at {} ms",
                    scheduled.version,
                    times[i].0,
                    wait.version,
                    times[j].1
                );
            }
        }
        for &(start, _) in &times {
            let running = times
                .iter()
                .filter(|(s, f)| *s <= start && start < *f)
                .count();
            assert!(running <= 4, "{backend}: {running} at once");
        }
        for db in [serial, parallel] {
            db.close().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_failure_stops_its_dependents_and_not_its_siblings() {
    let files = migrations(&[
        (
            "001_tables.sql",
            "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (id INTEGER PRIMARY KEY);",
        ),
        (
            "002_other.sql",
            "CREATE TABLE other (id INTEGER PRIMARY KEY);",
        ),
        ("003_fill_a.sql", "INSERT INTO a (id) VALUES (1), (2);"),
        (
            "004_fill_b.sql",
            "INSERT INTO b (id) VALUES (1);\nINSERT INTO b (nope) VALUES (2);",
        ),
        ("005_more_b.sql", "INSERT INTO b (id) VALUES (3);"),
        ("006_more_other.sql", "INSERT INTO other (id) VALUES (1);"),
    ]);
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        if backend == Backend::Sqlite {
            continue;
        }
        let mut db = connect(&test_db).await;
        let failed = Migrator::new(&files)
            .jobs(4)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let Error::Statement(failure) = &failed.error else {
            panic!("{backend}: {:?}", failed.error);
        };
        assert_eq!(failure.version.as_str(), "004", "{backend}");
        assert_eq!(failure.line, 2, "{backend}");
        let mut committed: Vec<&str> = failed.applied.iter().map(|a| a.version.as_str()).collect();
        committed.sort_unstable();
        // 003 is a sibling of 004; 002 and 006 are independent of it. 006 may or may not have
        // started before the failure, but 005 (which waits for 004) never does.
        assert!(
            committed.starts_with(&["001", "002", "003"]),
            "{backend}: {committed:?}"
        );
        assert!(!committed.contains(&"005"), "{backend}: {committed:?}");
        let rows = Tracking::default().rows(&mut db).await.unwrap();
        let recorded: Vec<&str> = rows.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(recorded, committed, "{backend}");
        let b = db.fetch("SELECT id FROM b", &[]).await.unwrap();
        assert!(b.is_empty(), "{backend}: {b:?}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_runs_one_at_a_time() {
    let Some(test_db) = TestDb::create(Backend::Sqlite).await else {
        return;
    };
    let db = connect(&test_db).await;
    let files = fixture();
    // Only the run's own connection: SQLite has one writer.
    assert_eq!(Migrator::new(&files).jobs(4).jobs_on(&db), 1);
}

#[tokio::test]
async fn a_file_naming_the_tracking_table_is_a_barrier() {
    let files = migrations(&[
        ("001_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
        ("002_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
        (
            "003_note.sql",
            "UPDATE schema_migrations SET name = name WHERE version = '001';",
        ),
        ("004_c.sql", "CREATE TABLE c (id INTEGER PRIMARY KEY);"),
    ]);
    let Some(test_db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut db = connect(&test_db).await;
    let schedule = Migrator::new(&files)
        .jobs(4)
        .schedule(&mut db)
        .await
        .unwrap();
    let waves: Vec<usize> = schedule.migrations.iter().map(|m| m.wave).collect();
    assert_eq!(waves, [1, 1, 2, 3], "{}", schedule.to_text());
    assert_eq!(
        schedule.migrations[2].barrier.as_deref(),
        Some("line 1: names the tracking table schema_migrations")
    );
}

/// A `.toml` migration of four tables with two indexes each (and a foreign key to the first
/// table); `failing` is the TOML of one more index on `t2`.
fn indexed_tables(failing: &str) -> String {
    let mut toml = String::new();
    for k in 0..4 {
        let reference = if k > 0 {
            r#", references = "t0.id""#
        } else {
            ""
        };
        toml.push_str(&format!(
            "[tables.t{k}]\n\
             columns = [\n\
               {{ name = \"id\", type = \"integer\", primary_key = true }},\n\
               {{ name = \"a\", type = \"integer\"{reference} }},\n\
               {{ name = \"b\", type = \"varchar(40)\" }},\n\
               {{ name = \"w1\", type = \"varchar(1000)\" }},\n\
               {{ name = \"w2\", type = \"varchar(1000)\" }},\n\
             ]\n\
             indexes = [\n\
               {{ name = \"t{k}_a\", columns = [\"a\"] }},\n\
               {{ name = \"t{k}_b\", columns = [\"b\", \"id\"], unique = true }},\n\
               {}\
             ]\n\n",
            if k == 2 { failing } else { "" }
        ));
    }
    toml
}

/// The live schema and the tracking rows without their times.
async fn schema_and_rows(db: &mut tt_migrate::Database) -> (tt_schema::Schema, Vec<String>) {
    let schema = introspect(db, &IntrospectOptions::default()).await.unwrap();
    let rows = Tracking::default().rows(db).await.unwrap();
    let rows = rows
        .iter()
        .map(|r| format!("{} {:?} {:?} {}", r.version, r.name, r.checksum, r.dirty))
        .collect();
    (schema, rows)
}

/// The names of the live indexes, as `table.index`: indexes and named unique constraints (on
/// MySQL a unique index reads back as one).
async fn index_names(db: &mut tt_migrate::Database) -> Vec<String> {
    let schema = introspect(db, &IntrospectOptions::default()).await.unwrap();
    let mut names: Vec<String> = schema
        .tables()
        .flat_map(|t| {
            let uniques = t.uniques.iter().filter_map(|u| u.name.clone());
            t.indexes
                .iter()
                .map(|i| i.name.clone())
                .chain(uniques)
                .map(|name| format!("{}.{name}", t.name))
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn four_jobs_index_a_toml_migration_as_one_job_does() {
    let toml: &'static str = indexed_tables("").leak();
    let files = migrations(&[("001_tables.toml", toml)]);
    for backend in [Backend::Postgres, Backend::Mysql] {
        let (Some(serial_db), Some(parallel_db)) =
            (TestDb::create(backend).await, TestDb::create(backend).await)
        else {
            continue;
        };
        let mut serial = connect(&serial_db).await;
        let mut parallel = connect(&parallel_db).await;
        let one = Migrator::new(&files)
            .run(&mut serial, &mut no_events)
            .await
            .unwrap();
        assert!(one.applied[0].index_builds.is_empty(), "{backend}");
        let four = Migrator::new(&files)
            .jobs(4)
            .run(&mut parallel, &mut no_events)
            .await
            .unwrap();
        assert_eq!(versions(&four), ["001"], "{backend}");
        assert_eq!(
            schema_and_rows(&mut serial).await,
            schema_and_rows(&mut parallel).await,
            "{backend}"
        );
        assert_eq!(index_names(&mut parallel).await.len(), 8, "{backend}");
        // Every index was built after the tables, and builds of different tables overlapped.
        let builds = &four.applied[0].index_builds;
        let mut built: Vec<String> = builds
            .iter()
            .map(|b| format!("{}.{}", b.table, b.index))
            .collect();
        built.sort();
        assert_eq!(built, index_names(&mut parallel).await, "{backend}");
        let overlapping = builds.iter().any(|x| {
            builds.iter().any(|y| {
                x.table != y.table && x.started_us < y.finished_us && y.started_us < x.finished_us
            })
        });
        assert!(overlapping, "{backend}: {builds:#?}");
        for db in [serial, parallel] {
            db.close().await.unwrap();
        }
    }
}

/// The most connections to `test_db` the server listed at once (this one's aside) while `run`
/// ran: a task on a connection of its own asks the server (`pg_stat_activity`, MariaDB's
/// process list) back to back, about every millisecond, and keeps the largest count.
async fn peak_connections<F: std::future::Future>(test_db: &TestDb, run: F) -> (F::Output, i64) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let sql = match test_db.backend() {
        Backend::Postgres => {
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        _ => {
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
        }
    };
    let mut watcher = connect(test_db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sampled = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let (mut peak, mut samples) = (0, 0u64);
            while !stop.load(Ordering::SeqCst) {
                let rows = watcher.fetch(sql, &[]).await.unwrap();
                match rows[0][0] {
                    tt_migrate::Value::Int(n) => peak = peak.max(n),
                    ref other => panic!("a count, not {other:?}"),
                }
                samples += 1;
            }
            watcher.close().await.unwrap();
            (peak, samples)
        })
    };
    let output = run.await;
    stop.store(true, Ordering::SeqCst);
    let (peak, samples) = sampled.await.unwrap();
    assert!(samples > 10, "the watcher asked only {samples} times");
    (output, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_builds_count_against_the_jobs_bound() {
    // With 002 beside it, 001 builds its indexes on the connections of a two-job run: never a
    // third one (the regression opened one per further table on top of the run's two).
    let toml: &'static str = indexed_tables("").leak();
    let files = migrations(&[
        ("001_tables.toml", toml),
        (
            "002_digits.sql",
            "CREATE TABLE digits (d INTEGER PRIMARY KEY);\n\
             INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);\n\
             CREATE TABLE numbers (n INTEGER PRIMARY KEY);\n\
             INSERT INTO numbers SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d \
             FROM digits a, digits b, digits c, digits e;",
        ),
    ]);
    for backend in [Backend::Postgres, Backend::Mysql] {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        let jobs = 2;
        let (report, peak) = peak_connections(
            &test_db,
            Migrator::new(&files)
                .jobs(jobs)
                .run(&mut db, &mut no_events),
        )
        .await;
        let report = report.unwrap();
        assert_eq!(versions(&report), ["001", "002"], "{backend}");
        assert_eq!(index_names(&mut db).await.len(), 8, "{backend}");
        let builds = &report.applied[0].index_builds;
        assert_eq!(builds.len(), 8, "{backend}: {builds:#?}");
        // The run's connection (the lock) and its two workers, open from the start to the end.
        assert_eq!(peak, jobs as i64 + 1, "{backend}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_index_build_leaves_its_migration_dirty_and_its_siblings_built() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        // Failures the server alone finds: on PostgreSQL an index named like an existing
        // relation, on MariaDB a key longer than InnoDB's 3072 bytes (in strict mode).
        let (first, failing, index) = match backend {
            Backend::Postgres => (
                "CREATE TABLE t2_clash (x INTEGER);",
                r#"{ name = "t2_clash", columns = ["a"] },"#,
                "t2_clash",
            ),
            _ => (
                "CREATE TABLE unrelated (x INTEGER);",
                r#"{ name = "t2_wide", columns = ["w1", "w2"] },"#,
                "t2_wide",
            ),
        };
        let toml: &'static str = indexed_tables(failing).leak();
        let files = migrations(&[("001_first.sql", first), ("002_tables.toml", toml)]);
        let migrator = Migrator::new(&files).jobs(4);
        let mut db = connect(&test_db).await;
        let failed = migrator.run(&mut db, &mut no_events).await.unwrap_err();
        let Error::Statement(failure) = &failed.error else {
            panic!("{backend}: {:?}", failed.error);
        };
        assert_eq!(failure.version.as_str(), "002", "{backend}");
        assert!(failure.path.ends_with("002_tables.toml"), "{backend}");
        assert_eq!(failure.outcome, tt_migrate::FailureOutcome::Dirty);
        let index_failure = failure.index.as_ref().expect("names the index");
        assert_eq!(
            (index_failure.table.as_str(), index_failure.index.as_str()),
            ("t2", index),
            "{backend}"
        );
        assert_eq!(index_failure.built.len(), 8, "{backend}: {index_failure:?}");
        assert!(index_failure.also_failed.is_empty(), "{backend}");
        let message = failure.to_string();
        for part in ["002_tables.toml", "`t2`", index, "tt repair"] {
            assert!(message.contains(part), "{backend}: {part} in {message}");
        }
        // The tables and every other index are there; the row says the migration is dirty.
        let mut expected: Vec<String> = (0..4)
            .flat_map(|k| [format!("t{k}.t{k}_a"), format!("t{k}.t{k}_b")])
            .collect();
        expected.sort();
        assert_eq!(index_names(&mut db).await, expected, "{backend}");
        let rows = Tracking::default().rows(&mut db).await.unwrap();
        let rows: Vec<(&str, bool)> = rows.iter().map(|r| (r.version.as_str(), r.dirty)).collect();
        assert_eq!(rows, [("001", false), ("002", true)], "{backend}");
        let again = migrator.run(&mut db, &mut no_events).await.unwrap_err();
        assert!(
            matches!(
                again.error,
                Error::Plan(tt_migrate::PlanError::Dirty { .. })
            ),
            "{again}"
        );
        // The recovery the docs give: fix the cause, build the index, `tt repair`.
        if backend == Backend::Postgres {
            execute(
                &mut db,
                &[
                    "DROP TABLE t2_clash",
                    r#"CREATE INDEX "t2_clash" ON "t2" ("a")"#,
                ],
            )
            .await;
            migrator
                .repair(&mut db, tt_migrate::RepairOptions::default())
                .await
                .unwrap();
            assert!(migrator.status(&mut db).await.unwrap().is_clean());
            assert_eq!(index_names(&mut db).await.len(), 9);
        }
        db.close().await.unwrap();
    }
}

/// What a progress display gets from a parallel run: every started migration ends (committed
/// or not) after it started, and `Finished` comes once per committed one, in version order,
/// after its end.
#[tokio::test]
async fn every_started_migration_ends_and_finished_comes_in_version_order() {
    let files = migrations(&[
        (
            "001_tables.sql",
            "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE c (id INTEGER PRIMARY KEY);",
        ),
        ("002_fill_a.sql", "INSERT INTO a (id) VALUES (1);"),
        ("003_fill_b.sql", "INSERT INTO b (nope) VALUES (1);"),
        ("004_fill_c.sql", "INSERT INTO c (id) VALUES (1);"),
        ("005_more_a.sql", "INSERT INTO a (id) VALUES (2);"),
        ("006_more_b.sql", "INSERT INTO b (id) VALUES (2);"),
    ]);
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        if backend == Backend::Sqlite {
            continue;
        }
        let mut db = connect(&test_db).await;
        let mut events: Vec<String> = Vec::new();
        let failed = Migrator::new(&files)
            .jobs(3)
            .run(&mut db, &mut |event| {
                events.push(match event {
                    Event::Scheduled { jobs, total } => format!("scheduled {jobs} {total}"),
                    Event::Started { migration, .. } => format!("started {}", migration.version),
                    Event::Ended {
                        migration,
                        committed,
                    } => format!("ended {} {committed}", migration.version),
                    Event::Finished(applied) => format!("finished {}", applied.version),
                    other => format!("{other:?}"),
                })
            })
            .await
            .unwrap_err();
        db.close().await.unwrap();
        assert_eq!(events[0], "scheduled 3 6", "{backend}: {events:?}");
        let at = |what: &str| events.iter().position(|e| e == what);
        let started: Vec<&str> = events
            .iter()
            .filter_map(|e| e.strip_prefix("started "))
            .collect();
        for version in &started {
            let begun = at(&format!("started {version}")).unwrap();
            let ended: Vec<usize> = events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.starts_with(&format!("ended {version} ")))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(ended.len(), 1, "{backend} {version}: {events:?}");
            assert!(ended[0] > begun, "{backend} {version}: {events:?}");
            if let Some(finished) = at(&format!("finished {version}")) {
                assert!(finished > ended[0], "{backend} {version}: {events:?}");
            }
        }
        assert!(at("ended 003 false").is_some(), "{backend}: {events:?}");
        // 006 waits for 003, which failed.
        assert!(!started.contains(&"006"), "{backend}: {events:?}");
        let finished: Vec<&str> = events
            .iter()
            .filter_map(|e| e.strip_prefix("finished "))
            .collect();
        let committed: Vec<&str> = failed.applied.iter().map(|a| a.version.as_str()).collect();
        assert_eq!(finished, committed, "{backend}: {events:?}");
        let mut sorted = finished.clone();
        sorted.sort_unstable();
        assert_eq!(finished, sorted, "{backend}: {events:?}");
        assert!(
            finished.starts_with(&["001", "002"]),
            "{backend}: {events:?}"
        );
    }
}

/// The tracking table's mark of a parallel run (`tt:jobs`): the range it records, if any.
async fn jobs_mark(db: &mut tt_migrate::Database) -> Option<String> {
    let rows = db
        .fetch(
            "SELECT name FROM schema_migrations WHERE version = 'tt:jobs'",
            &[],
        )
        .await
        .unwrap();
    rows.first().map(|row| format!("{:?}", row[0]))
}

/// Files where 020 fails while 030 and 040, which do not wait for it, commit: the parallel
/// run leaves a gap at 020.
const GAP_FILES: [(&str, &str); 4] = [
    ("010_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
    ("020_b.sql", "INSERT INTO nowhere (id) VALUES (1);"),
    ("030_c.sql", "CREATE TABLE c (id INTEGER PRIMARY KEY);"),
    ("040_d.sql", "CREATE TABLE d (id INTEGER PRIMARY KEY);"),
];

/// [`GAP_FILES`] with 020 fixed, and `extra` files.
fn fixed_gap_files(extra: &[(&'static str, &'static str)]) -> Vec<Migration> {
    let mut files = GAP_FILES.to_vec();
    files[1].1 = "CREATE TABLE b (id INTEGER PRIMARY KEY);";
    files.extend_from_slice(extra);
    files.sort_unstable();
    migrations(&files)
}

/// Runs [`GAP_FILES`] with four jobs on a fresh database of `backend` and checks the gap it
/// leaves: 020 pending below 040, marked, not out of order.
async fn database_with_a_gap(backend: Backend) -> Option<(TestDb, tt_migrate::Database)> {
    let test_db = TestDb::create(backend).await?;
    let mut db = connect(&test_db).await;
    let files = migrations(&GAP_FILES);
    let failed = Migrator::new(&files)
        .jobs(4)
        .run(&mut db, &mut no_events)
        .await
        .unwrap_err();
    assert!(
        matches!(&failed.error, Error::Statement(f) if f.version.as_str() == "020"),
        "{backend}: {:?}",
        failed.error
    );
    let recorded: Vec<String> = Tracking::default()
        .rows(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(recorded, ["010", "030", "040"], "{backend}");
    let mark = jobs_mark(&mut db).await;
    assert!(
        mark.as_deref().is_some_and(|m| m.contains("010 to 040")),
        "{backend}: {mark:?}"
    );
    let status = Migrator::new(&files).status(&mut db).await.unwrap();
    assert_eq!(versions_of(&status.parallel_gap), ["020"], "{backend}");
    assert!(status.out_of_order.is_empty(), "{backend}: {status:?}");
    assert!(status.missing.is_empty(), "{backend}: {status:?}");
    Some((test_db, db))
}

fn versions_of(list: &[tt_migrate::Version]) -> Vec<&str> {
    list.iter().map(|v| v.as_str()).collect()
}

#[tokio::test]
async fn the_next_run_fills_the_gap_a_stopped_parallel_run_left() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        for jobs in [1, 4] {
            let Some((_test_db, mut db)) = database_with_a_gap(backend).await else {
                continue;
            };
            // With four jobs a new file too, so that the run is a parallel one.
            let extra: &[(&str, &str)] = if jobs == 4 {
                &[("050_e.sql", "CREATE TABLE e (id INTEGER PRIMARY KEY);")]
            } else {
                &[]
            };
            let files = fixed_gap_files(extra);
            let report = Migrator::new(&files)
                .jobs(jobs)
                .run(&mut db, &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{backend} jobs {jobs}: {:?}", e.error));
            let mut applied = versions(&report);
            applied.sort_unstable();
            let expected: &[&str] = if jobs == 4 { &["020", "050"] } else { &["020"] };
            assert_eq!(applied, expected, "{backend} jobs {jobs}");
            assert_eq!(jobs_mark(&mut db).await, None, "{backend} jobs {jobs}");
            let status = Migrator::new(&files).status(&mut db).await.unwrap();
            assert!(status.is_clean(), "{backend} jobs {jobs}: {status:?}");
            assert!(status.parallel_gap.is_empty(), "{backend} jobs {jobs}");
            db.close().await.unwrap();
        }
    }
}

/// Writes the mark a stopped `--jobs` run leaves, for the versions `lowest` to `highest`.
async fn leave_jobs_mark(db: &mut tt_migrate::Database, lowest: &str, highest: &str) {
    let name = format!("{lowest} to {highest}");
    let mark = tt_migrate::RowUpdate {
        version: "tt:jobs",
        name: &name,
        checksum: "",
        execution_ms: 0,
        dirty: false,
    };
    Tracking::default().upsert(db, &mark).await.unwrap();
}

#[tokio::test]
async fn an_up_to_date_migrate_removes_a_mark_with_no_gap_behind_it() {
    // A --jobs run stopped after its last commit, before it removed its mark: everything is
    // applied, so the lock-free up-to-date check alone would keep the mark for good.
    let files = fixed_gap_files(&[]);
    for backend in [Backend::Postgres, Backend::Mysql] {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let mut db = connect(&test_db).await;
        Migrator::new(&files)
            .run(&mut db, &mut no_events)
            .await
            .unwrap();
        leave_jobs_mark(&mut db, "010", "040").await;
        assert!(jobs_mark(&mut db).await.is_some(), "{backend}");
        // Status sees nothing odd in it: no gap, nothing pending or unknown.
        let status = Migrator::new(&files).status(&mut db).await.unwrap();
        assert!(status.is_clean(), "{backend}: {status:?}");
        assert!(status.parallel_gap.is_empty(), "{backend}: {status:?}");
        let before = schema_and_rows(&mut db).await;
        let times = Tracking::default().rows(&mut db).await.unwrap();
        let report = Migrator::new(&files)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {:?}", e.error));
        assert!(report.applied.is_empty(), "{backend}: {report:?}");
        assert_eq!(jobs_mark(&mut db).await, None, "{backend}");
        assert_eq!(schema_and_rows(&mut db).await, before, "{backend}");
        assert_eq!(
            Tracking::default().rows(&mut db).await.unwrap(),
            times,
            "{backend}"
        );
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_version_below_a_parallel_runs_range_is_still_out_of_order() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        let Some((_test_db, mut db)) = database_with_a_gap(backend).await else {
            continue;
        };
        // 005 came after the parallel run: out of order, its gap notwithstanding.
        let files = fixed_gap_files(&[("005_early.sql", "CREATE TABLE early (id INTEGER);")]);
        let refused = Migrator::new(&files)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let Error::Plan(tt_migrate::PlanError::OutOfOrder { versions, latest }) = &refused.error
        else {
            panic!("{backend}: {:?}", refused.error);
        };
        assert_eq!(versions_of(versions), ["005"], "{backend}");
        assert_eq!(latest.as_str(), "040", "{backend}");
        // Without it, the gap is filled and the mark goes; then a file below the latest
        // applied version, outside any parallel run, is refused.
        let files = fixed_gap_files(&[]);
        Migrator::new(&files)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {:?}", e.error));
        assert_eq!(jobs_mark(&mut db).await, None, "{backend}");
        let files = fixed_gap_files(&[("025_late.sql", "CREATE TABLE late (id INTEGER);")]);
        let refused = Migrator::new(&files)
            .jobs(4)
            .run(&mut db, &mut no_events)
            .await
            .unwrap_err();
        let Error::Plan(tt_migrate::PlanError::OutOfOrder { versions, .. }) = &refused.error else {
            panic!("{backend}: {:?}", refused.error);
        };
        assert_eq!(versions_of(versions), ["025"], "{backend}");
        db.close().await.unwrap();
    }
}
