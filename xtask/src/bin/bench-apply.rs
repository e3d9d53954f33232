//! Applies a migrations directory with the tt-migrate library: the process `cargo xtask bench` times and measures.
//!
//! Usage: `bench-apply <database-url> <dir> [--reset]`; with `--reset` it runs
//! `Migrator::reset` (drop the managed tables, migrate, check) instead of `Migrator::run`.
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
    let (url, dir, reset) = match args.as_slice() {
        [url, dir] => (url, dir, false),
        [url, dir, flag] if flag == "--reset" => (url, dir, true),
        _ => bail!("usage: bench-apply <database-url> <dir> [--reset]"),
    };
    let started = Instant::now();
    let set = MigrationSet::load(Path::new(dir))?;
    let loaded = started.elapsed();
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    let run_started = Instant::now();
    let migrator = Migrator::new(set.as_slice());
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
