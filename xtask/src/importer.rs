//! `cargo xtask ci` runs the importer example (crates/tt-migrate/examples/importer.rs) on a
//! fresh database of each backend: load, load again, then `--clear` and load, checking the
//! rows it reports.

use std::process::Command;

use anyhow::{Context, Result, bail};
use tt_migrate::redact_url;
use tt_schema::Backend;
use tt_testdb::TestDb;

/// One run of the importer and the lines its output must contain.
struct Run {
    clear: bool,
    expect: &'static [&'static str],
}

/// Fresh database: all migrations, every row new. Again: nothing pending, nothing new.
/// `--clear`: the 25 TinkerTools tables and the tracking table dropped, every row new again.
const RUNS: [Run; 3] = [
    Run {
        clear: false,
        expect: &[
            "applied 004 perks_table",
            "loaded items: 20 rows (20 new)",
            "loaded stat_values: 39 rows (39 new)",
            "loaded item_stats: 50 rows (50 new)",
        ],
    },
    Run {
        clear: false,
        expect: &[
            "migrations up to date",
            "loaded items: 20 rows (0 new)",
            "loaded stat_values: 39 rows (0 new)",
            "loaded item_stats: 50 rows (0 new)",
        ],
    },
    Run {
        clear: true,
        expect: &[
            "cleared: dropped 26 tables, migrating from scratch",
            "applied 004 perks_table",
            "loaded items: 20 rows (20 new)",
            "loaded stat_values: 39 rows (39 new)",
            "loaded item_stats: 50 rows (50 new)",
        ],
    },
];

/// Runs the importer example on every reachable backend (SQLite always; PostgreSQL and MySQL
/// as `TT_TEST_POSTGRES_URL` / `TT_TEST_MYSQL_URL` say, required when `required`, a
/// comma-separated list like `TT_REQUIRE_BACKENDS`, names them), each on a database of its
/// own that is dropped afterwards.
pub(crate) fn check(required: &str) -> Result<()> {
    cargo(&["build", "-q", "-p", "tt-migrate", "--example", "importer"])?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for backend in Backend::ALL {
        let Some(db) = runtime.block_on(TestDb::create(backend)) else {
            let is_required = required
                .split(',')
                .filter_map(|name| name.trim().parse::<Backend>().ok())
                .any(|b| b == backend);
            if is_required {
                bail!("{backend} is required (TT_REQUIRE_BACKENDS) but unreachable");
            }
            continue;
        };
        for run in &RUNS {
            import(&db, run).with_context(|| format!("the importer example on {backend}"))?;
        }
    }
    Ok(())
}

fn import(db: &TestDb, run: &Run) -> Result<()> {
    let mut args = vec!["--database-url", db.url()];
    if run.clear {
        args.push("--clear");
    }
    eprintln!(
        "$ importer --database-url {}{}",
        redact_url(db.url()),
        if run.clear { " --clear" } else { "" }
    );
    let mut cargo_args = vec![
        "run",
        "-q",
        "-p",
        "tt-migrate",
        "--example",
        "importer",
        "--",
    ];
    cargo_args.extend(args);
    let output = Command::new(cargo_program())
        .args(&cargo_args)
        // The example reads DATABASE_URL only when no flag is given; keep the run hermetic.
        .env_remove("DATABASE_URL")
        .output()
        .context("could not run cargo run --example importer")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("it failed ({}):\n{stdout}{stderr}", output.status);
    }
    let lines: Vec<&str> = stdout.lines().collect();
    let missing: Vec<&str> = run
        .expect
        .iter()
        .copied()
        .filter(|expected| !lines.contains(expected))
        .collect();
    if !missing.is_empty() {
        bail!(
            "its output lacks {}:\n{stdout}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for line in lines.iter().filter(|l| l.starts_with("loaded ")) {
        eprintln!("  {line}");
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Result<()> {
    let status = Command::new(cargo_program())
        .args(args)
        .status()
        .with_context(|| format!("could not run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}
