//! `cargo xtask db-reset`: the main job. Resets the TinkerTools database from `migrations/`:
//! SQLite `tinkertools.db` by default, `DATABASE_URL` (environment or `.env`) otherwise.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tt_migrate::{
    ConnectOptions, Database, Event, IntrospectOptions, MigrationSet, Migrator, ResetOptions,
    introspect,
};

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
    runtime.block_on(reset(root, &url))
}

async fn reset(root: &Path, url: &str) -> Result<()> {
    let started = Instant::now();
    let set = MigrationSet::load(&root.join("migrations"))?;
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    println!("Resetting {} ({})", db.redacted_url(), db.backend());
    let migrator = Migrator::new(set.as_slice());
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
    let tables = introspect(&mut db, &IntrospectOptions::default())
        .await?
        .len();
    println!(
        "Done: {tables} tables, {} migrations applied, verified, in {:.2} s",
        report.applied.len(),
        started.elapsed().as_secs_f64()
    );
    db.close().await?;
    Ok(())
}
