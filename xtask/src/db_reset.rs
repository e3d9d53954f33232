//! `cargo xtask db-reset`: the main job. Resets the TinkerTools database from `migrations/`:
//! SQLite `tinkertools.db` by default, `DATABASE_URL` (environment or `.env`) otherwise.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tt_migrate::{ConnectOptions, Database, Event, MigrationSet, Migrator, ResetOptions, Tracking};
use tt_verify::{CheckId, ExpectedSource, VerifyOptions};

/// The database used when `DATABASE_URL` is not set, as for `tt`.
const DEFAULT_URL: &str = "sqlite://tinkertools.db";

pub(crate) fn run(root: &Path) -> Result<()> {
    let _ = dotenvy::from_path(root.join(".env"));
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let done = runtime.block_on(reset(root, &url))?;
    println!(
        "Done: {} tables, {} migrations applied, verified ({}), in {:.2} s",
        done.tables,
        done.applied,
        done.checks.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What a reset left: the tables of the database, the migrations applied, the checks passed.
#[derive(Debug, PartialEq, Eq)]
struct Done {
    tables: usize,
    applied: usize,
    checks: Vec<&'static str>,
}

/// Resets the database at `url` from `root/migrations` and checks it as `tt reset` does:
/// every managed table exists, and the tracking and data checks of `tt verify` pass (schema
/// too, against `root/schema.toml` where one exists).
async fn reset(root: &Path, url: &str) -> Result<Done> {
    let set = MigrationSet::load(&root.join("migrations"))?;
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    println!("Resetting {} ({})", db.redacted_url(), db.backend());
    let migrator = Migrator::new(set.with_repeatable());
    let mut on_event = |event: Event<'_>| match event {
        Event::Echo(text) => println!("    {text}"),
        Event::Finished(applied) => println!(
            "  applied {} {} ({} ms)",
            applied.version, applied.name, applied.execution_ms
        ),
        _ => {}
    };
    let report = migrator
        .reset(&mut db, ResetOptions::default(), &mut on_event)
        .await
        .context("reset failed")?;
    if !report.missing_tables.is_empty() {
        bail!(
            "verification failed: managed tables missing after the migrations: {}",
            report.missing_tables.join(", ")
        );
    }

    let snapshot_path = root.join("schema.toml");
    let snapshot = match snapshot_path.is_file() {
        true => Some(
            std::fs::read_to_string(&snapshot_path)
                .with_context(|| format!("could not read {}", snapshot_path.display()))?,
        ),
        false => None,
    };
    let mut checks = vec![CheckId::Tracking, CheckId::Data];
    let expected = match &snapshot {
        Some(text) => {
            checks.push(CheckId::Schema);
            ExpectedSource::Snapshot {
                file: "schema.toml",
                text,
            }
        }
        None => ExpectedSource::Migrations(set.with_repeatable()),
    };
    let verified = tt_verify::verify(
        &mut db,
        &VerifyOptions {
            checks: &checks,
            migrations: set.with_repeatable(),
            expected,
            tracking: &Tracking::default(),
            essential_tables: &[],
        },
    )
    .await?;
    if let Some(failed) = verified.checks.iter().find(|check| !check.ok) {
        let problems: Vec<String> = failed.problems.iter().map(ToString::to_string).collect();
        bail!(
            "verification failed: {}: {}\n    {}",
            failed.id.as_str(),
            failed.summary,
            problems.join("\n    ")
        );
    }

    let tables = report.tables;
    db.close().await?;
    Ok(Done {
        tables,
        applied: report.applied.len(),
        checks: verified
            .checks
            .iter()
            .map(|check| check.id.as_str())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use tt_testdb::TestDb;

    use super::*;

    /// The README's main job, on every reachable backend: twice, as a user resets again.
    #[tokio::test]
    async fn db_reset_builds_and_verifies_the_tinkertools_schema() {
        let root = crate::workspace_root();
        for db in TestDb::create_all().await {
            for _ in 0..2 {
                let done = reset(&root, db.url()).await.unwrap();
                let expected = Done {
                    tables: 26,
                    applied: 5,
                    checks: vec!["tracking", "data"],
                };
                assert_eq!(done, expected, "{}", db.backend());
            }
        }
    }

    #[tokio::test]
    async fn db_reset_fails_when_a_check_does() {
        let Some(db) = TestDb::create(tt_schema::Backend::Sqlite).await else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let migrations = root.path().join("migrations");
        std::fs::create_dir(&migrations).unwrap();
        std::fs::write(
            migrations.join("001_items.sql"),
            "CREATE TABLE items (id integer PRIMARY KEY);\n",
        )
        .unwrap();
        // A snapshot that expects another column: the schema check runs and fails.
        std::fs::write(
            root.path().join("schema.toml"),
            "[tables.items]\ncolumns = [\n  { name = \"id\", type = \"integer\", primary_key = true },\n  \
             { name = \"name\", type = \"text\" },\n]\n",
        )
        .unwrap();
        let error = reset(root.path(), db.url()).await.unwrap_err().to_string();
        assert!(
            error.starts_with("verification failed: schema: ")
                && error.contains("items.name: missing column"),
            "{error}"
        );
    }
}
