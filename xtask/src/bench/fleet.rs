//! The workloads of many targets and of a target that is up to date: both run the release
//! `tt` binary, because what they compare is one process against a process per target, and
//! what an up-to-date check costs a whole process (start, read the files, connect, read the
//! tracking table).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tt_migrate::{ConnectOptions, Database};
use tt_testdb::TestDb;

use super::{Bench, Line, alternate, fastest, median, print_table, ratio, secs, verdict};

/// Goal for many schemas: `tt migrate --schemas --jobs 4` over a shell loop of `tt migrate
/// --schema`.
const FLEET_GOAL: f64 = 0.5;
/// Goal for an up-to-date target: `tt migrate` (and `tt status`) over psql reading the
/// tracking table (see docs/benchmarks.md for why that baseline).
const UP_TO_DATE_GOAL: f64 = 1.0;
/// Schemas of the fleet workload.
pub(super) const SCHEMAS: usize = 100;
/// Targets at a time in the fleet workload.
const JOBS: &str = "4";

/// Builds `tt` in release and returns its path, beside this xtask's target dir.
pub(super) fn build_tt() -> Result<PathBuf> {
    crate::cargo(&["build", "--release", "--quiet", "-p", "tt-cli"])?;
    let tt = target_dir()?
        .join("release")
        .join(format!("tt{}", std::env::consts::EXE_SUFFIX));
    if !tt.exists() {
        bail!("built tt but found no {}", tt.display());
    }
    Ok(tt)
}

/// The cargo target directory this xtask was built in.
pub(super) fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the xtask binary is not inside a target directory")
}

/// The repository's own migrations.
fn repository_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("migrations")
}

/// Runs `command` to success and returns its wall time.
pub(super) fn timed(command: &mut Command, what: &str) -> Result<Duration> {
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    let wall = started.elapsed();
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(wall)
}

impl Bench {
    /// A fresh database holding `SCHEMAS` empty schemas `v_000`….
    fn database_of_schemas(&self) -> Result<TestDb> {
        let db = self.fresh_database()?;
        self.runtime.block_on(async {
            let mut conn = Database::connect(db.url(), ConnectOptions::default()).await?;
            for i in 0..SCHEMAS {
                conn.exec(&format!("CREATE SCHEMA v_{i:03}"), &[]).await?;
            }
            conn.close().await?;
            anyhow::Ok(())
        })?;
        Ok(db)
    }

    /// Every schema holds the tracking table with `rows` rows.
    fn check_schemas(&self, db: &TestDb, rows: usize) -> Result<()> {
        self.runtime.block_on(async {
            let mut conn = Database::connect(db.url(), ConnectOptions::default()).await?;
            let mut union = Vec::new();
            for i in 0..SCHEMAS {
                union.push(format!(
                    "SELECT count(*) AS n FROM v_{i:03}.schema_migrations"
                ));
            }
            let sql = format!(
                "SELECT CAST(count(*) AS TEXT) FROM ({}) AS t WHERE n = {rows}",
                union.join(" UNION ALL ")
            );
            let found = conn.fetch_text(&sql).await?;
            conn.close().await?;
            let found = super::first_number(&found)?;
            if found != SCHEMAS as u64 {
                bail!("{found} of {SCHEMAS} schemas hold {rows} tracking rows after the run");
            }
            Ok(())
        })
    }

    /// `tt migrate --schemas 'v_*' --jobs 4` against a shell loop of `tt migrate --schema`.
    pub(super) fn fleet(&self, tt: &Path, runs: usize) -> Result<Vec<Line>> {
        let dir = repository_migrations();
        let files = tt_migrate::MigrationSet::load(&dir)?.len();
        println!(
            "workload 6: the repository's {files} migrations on {SCHEMAS} empty schemas of one database, {runs} runs a side\n  \
             tt: tt migrate --schemas 'v_*' --jobs {JOBS}; baseline: a shell loop of tt migrate --schema v_NNN"
        );
        let names: Vec<String> = (0..SCHEMAS).map(|i| format!("v_{i:03}")).collect();
        let script = "for s in $TT_SCHEMAS; do \
                      \"$TT\" migrate -q --dir \"$TT_DIR\" --schema \"$s\" || exit 1; done";
        let (mut one, mut each, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (a, b) = alternate(
                run,
                || {
                    let db = self.database_of_schemas()?;
                    let wall = timed(
                        Command::new(tt)
                            .args(["migrate", "-q", "--schemas", "v_*", "--jobs", JOBS])
                            .arg("--database-url")
                            .arg(db.url())
                            .arg("--dir")
                            .arg(&dir),
                        "tt migrate --schemas",
                    )?;
                    self.check_schemas(&db, files)?;
                    Ok(wall)
                },
                || {
                    let db = self.database_of_schemas()?;
                    let wall = timed(
                        Command::new("sh")
                            .args(["-c", script])
                            .env("TT", tt)
                            .env("TT_SCHEMAS", names.join(" "))
                            .env("TT_DIR", &dir)
                            .env("DATABASE_URL", db.url()),
                        "the shell loop of tt migrate --schema",
                    )?;
                    self.check_schemas(&db, files)?;
                    Ok(wall)
                },
            )?;
            rows.push(vec![(run + 1).to_string(), secs(a), secs(b), ratio(a, b)]);
            one.push(a);
            each.push(b);
        }
        print_table(&["run", "--schemas (s)", "shell loop (s)", "ratio"], &rows);
        println!();
        let (a, b) = (median(&one), median(&each));
        let r = a.as_secs_f64() / b.as_secs_f64();
        Ok(vec![
            Line {
                figure: format!("{SCHEMAS} schemas: median wall time"),
                tt: format!("{} s", secs(a)),
                baseline: format!("{} s (shell loop)", secs(b)),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= FLEET_GOAL, format!("≤ {FLEET_GOAL}×")),
            },
            Line {
                figure: format!("{SCHEMAS} schemas: fastest run"),
                tt: format!("{} s", secs(fastest(&one))),
                baseline: format!("{} s (shell loop)", secs(fastest(&each))),
                ratio: ratio(fastest(&one), fastest(&each)),
                goal: String::new(),
            },
        ])
    }

    /// `tt migrate` and `tt status` on a database where all of `files` are applied, against
    /// psql reading the tracking table.
    pub(super) fn up_to_date(
        &self,
        tt: &Path,
        files: &super::ManyFiles,
        runs: usize,
    ) -> Result<Vec<Line>> {
        println!(
            "workload 7: {} migration files, all applied: what checking an up-to-date target costs, {runs} runs a side\n  \
             tt: tt migrate, tt status; baseline: psql -c 'SELECT version, checksum FROM schema_migrations'",
            files.files
        );
        let db = self.fresh_database()?;
        timed(
            Command::new(tt)
                .args(["migrate", "-q", "--database-url", db.url(), "--dir"])
                .arg(&files.dir),
            "tt migrate of the files",
        )?;
        let tt_run = |command: &str| {
            let wall = timed(
                Command::new(tt)
                    .args([command, "--json", "--database-url", db.url(), "--dir"])
                    .arg(&files.dir),
                &format!("tt {command}"),
            )?;
            Ok(wall)
        };
        let psql_run = || {
            timed(
                Command::new("psql")
                    .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c"])
                    .arg("SELECT version, checksum FROM schema_migrations")
                    .arg("-d")
                    .arg(db.url()),
                "psql",
            )
        };
        let (mut migrate, mut status, mut psql, mut rows) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (m, p) = alternate(run, || tt_run("migrate"), psql_run)?;
            let s = tt_run("status")?;
            rows.push(vec![
                (run + 1).to_string(),
                format!("{:.1}", m.as_secs_f64() * 1e3),
                format!("{:.1}", s.as_secs_f64() * 1e3),
                format!("{:.1}", p.as_secs_f64() * 1e3),
                ratio(m, p),
                ratio(s, p),
            ]);
            migrate.push(m);
            status.push(s);
            psql.push(p);
        }
        print_table(
            &[
                "run",
                "tt migrate (ms)",
                "tt status (ms)",
                "psql (ms)",
                "migrate",
                "status",
            ],
            &rows,
        );
        println!();
        let p = median(&psql);
        let line = |name: &str, values: &[Duration]| {
            let t = median(values);
            let r = t.as_secs_f64() / p.as_secs_f64();
            Line {
                figure: format!("{} files up to date: tt {name}", files.files),
                tt: format!("{:.1} ms", t.as_secs_f64() * 1e3),
                baseline: format!("{:.1} ms (psql SELECT)", p.as_secs_f64() * 1e3),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= UP_TO_DATE_GOAL, format!("≤ {UP_TO_DATE_GOAL}×")),
            }
        };
        Ok(vec![line("migrate", &migrate), line("status", &status)])
    }
}
