//! Applies a migrations directory with the tt-migrate library: the process `cargo xtask bench` times and measures.
//!
//! Usage: `bench-apply <database-url> <dir>`. Prints one line of `key=value` figures on stdout:
//! how many migrations ran, the milliseconds spent loading and running them, and the peak
//! resident set size (`VmHWM` of /proc/self/status, in KiB) for systems without `/usr/bin/time`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tt_migrate::{ConnectOptions, Database, Event, MigrationSet, Migrator};

// The multi-threaded runtime, as the `tt` binary builds it.
#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, dir] = args.as_slice() else {
        bail!("usage: bench-apply <database-url> <dir>");
    };
    let started = Instant::now();
    let set = MigrationSet::load(Path::new(dir))?;
    let loaded = started.elapsed();
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    let run_started = Instant::now();
    let report = Migrator::new(set.as_slice())
        .run(&mut db, &mut |_: Event<'_>| {})
        .await
        .context("migrate failed")?;
    let ran = run_started.elapsed();
    db.close().await?;
    println!(
        "applied={} load_ms={} run_ms={} vmhwm_kib={}",
        report.applied.len(),
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
