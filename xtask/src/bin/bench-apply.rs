//! Applies a migrations directory with the tt-migrate library: the process `cargo xtask bench` times and measures.
//!
//! Usage: `bench-apply <database-url> <dir> [--reset | --jobs N]`; with `--reset` it runs
//! `Migrator::reset` (drop the managed tables, migrate, check) instead of `Migrator::run`; with
//! `--jobs N` it runs up to N migrations at a time and also prints, before running, each
//! `wait <version> <version it waits for>` of the schedule and, after, each migration's
//! `time <version> <started ms> <finished ms>`.
//! Prints one line of `key=value` figures on stdout:
//! how many migrations ran, the milliseconds spent loading and running them, and the peak
//! resident set size (`VmHWM` of /proc/self/status, in KiB) for systems without `/usr/bin/time`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tt_migrate::{ConnectOptions, Database, Event, MigrationSet, Migrator, ResetOptions};

// The multi-threaded runtime, as the `tt` binary builds it.
#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, dir, reset, jobs) = match args.as_slice() {
        [url, dir] => (url, dir, false, 1),
        [url, dir, flag] if flag == "--reset" => (url, dir, true, 1),
        [url, dir, flag, n] if flag == "--jobs" => (url, dir, false, n.parse()?),
        _ => bail!("usage: bench-apply <database-url> <dir> [--reset | --jobs N]"),
    };
    let started = Instant::now();
    let set = MigrationSet::load(Path::new(dir))?;
    let loaded = started.elapsed();
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    let migrator = Migrator::new(set.as_slice()).jobs(jobs);
    if jobs > 1 {
        for migration in migrator.schedule(&mut db).await?.migrations {
            for wait in migration.waits_for {
                println!("wait {} {}", migration.version, wait.version);
            }
        }
    }
    let run_started = Instant::now();
    let applied = if reset {
        let report = migrator
            .reset(&mut db, ResetOptions::default(), &mut |_: Event<'_>| {})
            .await
            .context("reset failed")?;
        if !report.missing_tables.is_empty() {
            bail!(
                "reset left {} managed tables missing",
                report.missing_tables.len()
            );
        }
        report.applied
    } else {
        migrator
            .run(&mut db, &mut |_: Event<'_>| {})
            .await
            .context("migrate failed")?
            .applied
    };
    let ran = run_started.elapsed();
    db.close().await?;
    for migration in applied.iter().filter(|a| a.started_ms.is_some()) {
        println!(
            "time {} {} {}",
            migration.version,
            migration.started_ms.unwrap_or_default(),
            migration.finished_ms.unwrap_or_default()
        );
    }
    println!(
        "applied={} load_ms={} run_ms={} vmhwm_kib={}",
        applied.len(),
        loaded.as_millis(),
        ran.as_millis(),
        peak_rss_kib().map_or_else(|| "unknown".to_string(), |kib| kib.to_string()),
    );
    Ok(())
}

/// The peak resident set size of this process so far, from Linux's /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
