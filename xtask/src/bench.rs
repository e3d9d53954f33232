//! `cargo xtask bench`: the migration engine on PostgreSQL against psql, as ratios from one run.
//!
//! Two workloads, each applied to a fresh database by `bench-apply` (a release build that runs
//! `Migrator::run` like `tt migrate`) and by `psql -1 -f` on the same SQL, alternating, several
//! times; medians and their ratio are reported. The big file is also measured for peak memory
//! with `/usr/bin/time -v`. See docs/benchmarks.md.

mod fleet;
mod workload;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tt_migrate::{ConnectOptions, Database};
use tt_schema::Backend;
use tt_testdb::TestDb;

use workload::{BigFile, ManyFiles, WideSchema};

const USAGE: &str =
    "usage: cargo xtask bench [--quick] [--runs N] [--only files|inserts|reset|fleet|uptodate]

  --quick   100 files, a 50 MB file and 300 tables instead of 1,000 files, 500 MB and 2,000
            tables
  --runs N  how many times each side runs per workload (default 5 for the files, 3 for
            the big file)
  --only    run one workload (fleet: the repository's migrations on 100 schemas, --schemas
            against a shell loop; uptodate: tt migrate and tt status with nothing pending)

PostgreSQL comes from TT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
each run gets a fresh database, dropped afterwards. psql must be on PATH.";

/// Goal for the many-files workload: tt's median over psql's.
const FILES_GOAL: f64 = 1.3;
/// Goal for the reset of a wide schema: tt's median over drop-schema-and-psql's.
const RESET_GOAL: f64 = 1.3;
/// Goal for the big file: tt's peak resident set size.
const RSS_GOAL_MIB: f64 = 64.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    Files,
    Inserts,
    Reset,
    Fleet,
    UpToDate,
}

#[derive(Debug)]
struct Options {
    files: usize,
    insert_bytes: u64,
    tables: usize,
    runs: Option<usize>,
    only: Option<Only>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            files: 1000,
            insert_bytes: 500 * 1_000_000,
            tables: 2000,
            runs: None,
            only: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => {
                    options.files = 100;
                    options.insert_bytes = 50 * 1_000_000;
                    options.tables = 300;
                }
                "--runs" => {
                    let value = args.next().context("--runs needs a number")?;
                    let runs = value.parse().ok().filter(|&n| n > 0).with_context(|| {
                        format!("--runs wants a positive number, not `{value}`")
                    })?;
                    options.runs = Some(runs);
                }
                "--only" => {
                    options.only = Some(match args.next().map(String::as_str) {
                        Some("files") => Only::Files,
                        Some("inserts") => Only::Inserts,
                        Some("reset") => Only::Reset,
                        Some("fleet") => Only::Fleet,
                        Some("uptodate") => Only::UpToDate,
                        Some(other) => {
                            bail!(
                                "--only wants files, inserts, reset, fleet or uptodate, not `{other}`\n\n{USAGE}"
                            )
                        }
                        None => {
                            bail!(
                                "--only needs files, inserts, reset, fleet or uptodate\n\n{USAGE}"
                            )
                        }
                    });
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown option `{other}`\n\n{USAGE}"),
            }
        }
        Ok(options)
    }

    fn wants(&self, only: Only) -> bool {
        self.only.is_none_or(|o| o == only)
    }
}

/// Runs the benchmarks and prints their figures.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    // The fleet and up-to-date workloads time `tt` itself, not bench-apply.
    let apply = if [Only::Files, Only::Inserts, Only::Reset]
        .into_iter()
        .any(|only| options.wants(only))
    {
        build_bench_apply()?
    } else {
        PathBuf::new()
    };
    let time = Path::new("/usr/bin/time");
    let time = time.exists().then_some(time);
    if time.is_none() {
        eprintln!(
            "note: /usr/bin/time is missing (Debian package `time`): peak RSS is the VmHWM bench-apply reads from /proc/self/status"
        );
    }
    check_psql()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    let admin_url = tt_testdb::admin_url(Backend::Postgres);
    let server = runtime.block_on(server_description(&admin_url))?;
    println!("PostgreSQL {server}");
    println!("the two sides alternate, each run into a fresh database");
    // The machine may be shared: its load says how far to trust the figures.
    println!("load average at start: {}\n", load_average());
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let bench = Bench {
        runtime,
        apply,
        time,
        admin_url,
    };
    let mut summary = Vec::new();
    if options.wants(Only::Files) {
        let files = workload::many_files(scratch.path(), options.files)?;
        summary.extend(bench.many_files(&files, options.runs.unwrap_or(5))?);
    }
    if options.wants(Only::Inserts) {
        eprintln!(
            "generating {} MB of INSERTs…",
            options.insert_bytes / 1_000_000
        );
        let big = workload::big_file(scratch.path(), options.insert_bytes)?;
        // Each run of the big file takes a minute or more: fewer of them.
        summary.extend(bench.big_file(&big, options.runs.unwrap_or(3))?);
    }
    if options.wants(Only::Reset) {
        let wide = workload::wide_schema(scratch.path(), options.tables)?;
        summary.extend(bench.reset(&wide, options.runs.unwrap_or(5))?);
    }
    if options.wants(Only::Fleet) || options.wants(Only::UpToDate) {
        let tt = fleet::build_tt()?;
        if options.wants(Only::Fleet) {
            summary.extend(bench.fleet(&tt, options.runs.unwrap_or(3))?);
        }
        if options.wants(Only::UpToDate) {
            let root = scratch.path().join("up_to_date");
            let files = workload::many_files(&root, options.files)?;
            summary.extend(bench.up_to_date(&tt, &files, options.runs.unwrap_or(9))?);
        }
    }
    println!("summary (load average at end: {})", load_average());
    print_table(
        &["figure", "tt", "baseline", "ratio", "goal"],
        &summary
            .iter()
            .map(|row| {
                vec![
                    row.figure.clone(),
                    row.tt.clone(),
                    row.baseline.clone(),
                    row.ratio.clone(),
                    row.goal.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    Ok(())
}

/// One line of the summary.
struct Line {
    figure: String,
    tt: String,
    baseline: String,
    ratio: String,
    goal: String,
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    apply: PathBuf,
    time: Option<&'static Path>,
    admin_url: String,
}

/// What a run must leave behind.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// This many tables `t0001`….
    Tables(usize),
    /// This many rows in the big table.
    Rows(u64),
}

/// What one run of bench-apply measured.
struct TtSample {
    wall: Duration,
    run: Duration,
    rss_kib: u64,
}

impl Bench {
    fn many_files(&self, files: &ManyFiles, runs: usize) -> Result<Vec<Line>> {
        println!(
            "workload 1: {} migration files, {} statements, {:.1} MB, {runs} runs a side\n  \
             tt: Migrator::run; baseline: psql -1 -f of the files concatenated",
            files.files,
            files.statements,
            files.bytes as f64 / 1e6
        );
        let mut tt = Vec::new();
        let mut psql = Vec::new();
        let mut rows = Vec::new();
        for run in 0..runs {
            let (t, p) = alternate(
                run,
                || self.tt_once(&files.dir, files.files, Expect::Tables(files.files)),
                || self.psql_once(&files.all_sql, Expect::Tables(files.files)),
            )?;
            rows.push(vec![
                (run + 1).to_string(),
                secs(t.wall),
                secs(t.run),
                secs(p),
                ratio(t.wall, p),
            ]);
            tt.push(t.wall);
            psql.push(p);
        }
        print_table(
            &["run", "tt (s)", "of which run (s)", "psql -1 (s)", "ratio"],
            &rows,
        );
        println!();
        let (best_tt, best_psql) = (fastest(&tt), fastest(&psql));
        let (tt, psql) = (median(&tt), median(&psql));
        let r = tt.as_secs_f64() / psql.as_secs_f64();
        Ok(vec![
            Line {
                figure: format!("{} files: median wall time", files.files),
                tt: format!("{} s", secs(tt)),
                baseline: format!("{} s (psql -1)", secs(psql)),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= FILES_GOAL, format!("≤ {FILES_GOAL}×")),
            },
            // Other work on the machine only ever adds time: the fastest runs are the least
            // disturbed, a check on the medians.
            Line {
                figure: format!("{} files: fastest run", files.files),
                tt: format!("{} s", secs(best_tt)),
                baseline: format!("{} s (psql -1)", secs(best_psql)),
                ratio: ratio(best_tt, best_psql),
                goal: String::new(),
            },
        ])
    }

    fn big_file(&self, big: &BigFile, runs: usize) -> Result<Vec<Line>> {
        let mb = big.bytes as f64 / 1e6;
        println!(
            "workload 2: one file of {mb:.1} MB, {} multi-row INSERTs of {} rows ({} rows), {runs} runs a side\n  \
             tt: Migrator::run; baseline: psql -1 -f of the same file",
            big.statements,
            workload::ROWS_PER_INSERT,
            big.rows
        );
        let mut tt = Vec::new();
        let mut psql = Vec::new();
        let mut rss = Vec::new();
        let mut rows = Vec::new();
        for run in 0..runs {
            let (t, p) = alternate(
                run,
                || self.tt_once(&big.dir, 1, Expect::Rows(big.rows)),
                || self.psql_once(&big.file, Expect::Rows(big.rows)),
            )?;
            rows.push(vec![
                (run + 1).to_string(),
                secs(t.wall),
                secs(p),
                ratio(t.wall, p),
                mib(t.rss_kib),
            ]);
            tt.push(t.wall);
            psql.push(p);
            rss.push(t.rss_kib);
        }
        print_table(
            &["run", "tt (s)", "psql -1 (s)", "ratio", "tt peak RSS (MiB)"],
            &rows,
        );
        println!();
        let (tt, psql) = (median(&tt), median(&psql));
        let peak = rss.iter().copied().max().unwrap_or_default();
        let source = if self.time.is_some() {
            "/usr/bin/time -v"
        } else {
            "VmHWM"
        };
        Ok(vec![
            Line {
                figure: format!("{mb:.0} MB of INSERTs: median wall time"),
                tt: format!("{} s", secs(tt)),
                baseline: format!("{} s (psql -1)", secs(psql)),
                ratio: format!("{:.2}×", tt.as_secs_f64() / psql.as_secs_f64()),
                goal: String::new(),
            },
            Line {
                figure: format!("{mb:.0} MB of INSERTs: throughput"),
                tt: format!("{:.1} MB/s", mb / tt.as_secs_f64()),
                baseline: format!("{:.1} MB/s", mb / psql.as_secs_f64()),
                ratio: String::new(),
                goal: String::new(),
            },
            Line {
                figure: format!("{mb:.0} MB of INSERTs: peak RSS (max of runs, {source})"),
                tt: format!("{} MiB", mib(peak)),
                baseline: String::new(),
                ratio: String::new(),
                goal: verdict(
                    (peak as f64 / 1024.0) < RSS_GOAL_MIB,
                    format!("< {RSS_GOAL_MIB} MiB"),
                ),
            },
        ])
    }

    /// Applies `dir` with bench-apply into a fresh database, then checks the result.
    fn tt_once(&self, dir: &Path, expected: usize, expect: Expect) -> Result<TtSample> {
        let db = self.fresh_database()?;
        let sample = self.bench_apply(&db, dir, &[], expected)?;
        self.check(&db, expect)?;
        Ok(sample)
    }

    /// Runs bench-apply (with `args` after the URL and directory) on `db`, measured.
    fn bench_apply(
        &self,
        db: &TestDb,
        dir: &Path,
        args: &[&str],
        expected: usize,
    ) -> Result<TtSample> {
        let report = tempfile::NamedTempFile::new().context("creating a temporary file")?;
        let mut command = match self.time {
            Some(time) => {
                let mut command = Command::new(time);
                command
                    .arg("-v")
                    .arg("-o")
                    .arg(report.path())
                    .arg(&self.apply);
                command
            }
            None => Command::new(&self.apply),
        };
        // A failure's message is what matters here, not where in bench-apply it surfaced.
        command
            .arg(db.url())
            .arg(dir)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .stderr(Stdio::inherit());
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("running {}", self.apply.display()))?;
        let wall = started.elapsed();
        if !output.status.success() {
            bail!("bench-apply failed ({})", output.status);
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let figure = |key: &str| -> Result<u64> {
            stdout
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                .and_then(|value| value.parse().ok())
                .with_context(|| format!("bench-apply printed no {key}: {stdout}"))
        };
        let applied = figure("applied")?;
        if applied != expected as u64 {
            bail!("bench-apply applied {applied} migrations, expected {expected}");
        }
        let rss_kib = match self.time {
            Some(_) => max_rss_kib(report.path())?,
            None => figure("vmhwm_kib")?,
        };
        Ok(TtSample {
            wall,
            run: Duration::from_millis(figure("run_ms")?),
            rss_kib,
        })
    }

    /// Runs `file` with `psql -1` into a fresh database, then checks the result.
    fn psql_once(&self, file: &Path, expect: Expect) -> Result<Duration> {
        let db = self.fresh_database()?;
        let started = Instant::now();
        psql(&db, &["-1", "-f"], file.as_os_str())?;
        let wall = started.elapsed();
        self.check(&db, expect)?;
        Ok(wall)
    }

    fn reset(&self, wide: &WideSchema, runs: usize) -> Result<Vec<Line>> {
        println!(
            "workload 3: reset of {} tables with {} foreign keys (a random web with cycles), {runs} runs a side\n  \
             tt: Migrator::reset (drop the managed tables in FK order, migrate, check); baseline:\n  \
             psql -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' + psql -1 -f of the same SQL",
            wide.tables, wide.foreign_keys
        );
        self.check_lock_table(wide.tables)?;
        let (mut tt, mut baseline, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (t, p) = alternate(
                run,
                || {
                    // A database the migrations built, as a user's is: then the timed reset.
                    let db = self.fresh_database()?;
                    self.bench_apply(&db, &wide.dir, &[], 1)?;
                    let sample = self.bench_apply(&db, &wide.dir, &["--reset"], 1)?;
                    self.check(&db, Expect::Tables(wide.tables))?;
                    Ok(sample)
                },
                || {
                    let db = self.fresh_database()?;
                    psql(&db, &["-1", "-f"], wide.sql.as_os_str())?;
                    let started = Instant::now();
                    psql(
                        &db,
                        &["-c"],
                        "DROP SCHEMA public CASCADE; CREATE SCHEMA public".as_ref(),
                    )?;
                    psql(&db, &["-1", "-f"], wide.sql.as_os_str())?;
                    let wall = started.elapsed();
                    self.check(&db, Expect::Tables(wide.tables))?;
                    Ok(wall)
                },
            )?;
            rows.push(vec![
                (run + 1).to_string(),
                secs(t.wall),
                secs(p),
                ratio(t.wall, p),
            ]);
            tt.push(t.wall);
            baseline.push(p);
        }
        print_table(
            &["run", "tt reset (s)", "drop schema + psql -1 (s)", "ratio"],
            &rows,
        );
        println!();
        let (tt, baseline) = (median(&tt), median(&baseline));
        let r = tt.as_secs_f64() / baseline.as_secs_f64();
        Ok(vec![Line {
            figure: format!("reset of {} tables: median wall time", wide.tables),
            tt: format!("{} s", secs(tt)),
            baseline: format!("{} s (drop schema + psql -1)", secs(baseline)),
            ratio: format!("{r:.2}×"),
            goal: verdict(r <= RESET_GOAL, format!("≤ {RESET_GOAL}×")),
        }])
    }

    /// Dropping or creating every table in one transaction (both sides do) locks each table,
    /// its indexes and its sequences: PostgreSQL's shared lock table must hold them all.
    fn check_lock_table(&self, tables: usize) -> Result<()> {
        let capacity = self.runtime.block_on(async {
            let mut db = Database::connect(&self.admin_url, ConnectOptions::default()).await?;
            let rows = db
                .fetch_text(
                    "SELECT CAST(current_setting('max_locks_per_transaction')::int * \
                     (current_setting('max_connections')::int + \
                      current_setting('max_prepared_transactions')::int) AS TEXT)",
                )
                .await?;
            db.close().await?;
            first_number(&rows)
        })?;
        // About four locks a table (table, primary key index, other index, foreign keys'
        // targets), with room for other sessions.
        let needed = tables as u64 * 5;
        if capacity < needed {
            bail!(
                "the server's lock table holds {capacity} locks; {tables} tables in one transaction \
                 need about {needed}: ALTER SYSTEM SET max_locks_per_transaction = {} and restart \
                 PostgreSQL, or run with --quick (docs/benchmarks.md)",
                (needed / 100 + 1).next_power_of_two().max(128)
            );
        }
        Ok(())
    }

    /// A new, empty database, after a checkpoint so that the previous run's writes are not
    /// flushed during this one.
    fn fresh_database(&self) -> Result<TestDb> {
        self.runtime.block_on(async {
            // Checkpointing needs privileges the benchmark can do without: best effort.
            if let Ok(mut admin) =
                Database::connect(&self.admin_url, ConnectOptions::default()).await
            {
                let _ = admin.fetch_text("CHECKPOINT").await;
                let _ = admin.close().await;
            }
            TestDb::create(Backend::Postgres).await.with_context(|| {
                format!(
                    "no PostgreSQL at {}",
                    tt_migrate::redact_url(&self.admin_url)
                )
            })
        })
    }

    /// Both sides must have done the same work: checks what the run left in `db`.
    fn check(&self, db: &TestDb, expect: Expect) -> Result<()> {
        self.runtime.block_on(async {
            let mut conn = Database::connect(db.url(), ConnectOptions::default()).await?;
            match expect {
                Expect::Tables(n) => check_tables(&mut conn, n).await?,
                Expect::Rows(n) => check_rows(&mut conn, n).await?,
            }
            conn.close().await?;
            Ok(())
        })
    }
}

/// Runs `psql -X -q -v ON_ERROR_STOP=1` with `args` then `last` on `db`.
fn psql(db: &TestDb, args: &[&str], last: &std::ffi::OsStr) -> Result<()> {
    let status = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        // DROP SCHEMA … CASCADE notices name every table: not worth printing.
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .args(args)
        .arg(last)
        .arg("-d")
        .arg(db.url())
        .stdout(Stdio::null())
        .status()
        .context("running psql")?;
    if !status.success() {
        bail!(
            "psql {} {} failed ({status})",
            args.join(" "),
            last.to_string_lossy()
        );
    }
    Ok(())
}

/// Runs both sides, tt first on even runs and psql first on odd ones, so that drift in the
/// machine's load hits both.
fn alternate<A, B>(
    run: usize,
    mut tt: impl FnMut() -> Result<A>,
    mut psql: impl FnMut() -> Result<B>,
) -> Result<(A, B)> {
    if run.is_multiple_of(2) {
        let a = retried("tt", &mut tt)?;
        Ok((a, retried("psql", &mut psql)?))
    } else {
        let b = retried("psql", &mut psql)?;
        Ok((retried("tt", &mut tt)?, b))
    }
}

/// Runs `side` again, on a fresh database, when it fails: on a shared server another session
/// can exhaust what every session shares (the lock table: "out of shared memory"). A failure
/// that repeats stops the benchmark.
fn retried<T>(name: &str, side: &mut impl FnMut() -> Result<T>) -> Result<T> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        match side() {
            Ok(value) => return Ok(value),
            Err(error) if attempt < ATTEMPTS => {
                eprintln!(
                    "  {name} failed (attempt {attempt} of {ATTEMPTS}), running it again: {error:#}"
                );
                attempt += 1;
            }
            Err(error) => return Err(error.context(format!("{name} failed {ATTEMPTS} times"))),
        }
    }
}

/// Whether `db` holds `expected` tables `t0001`….
async fn check_tables(db: &mut Database, expected: usize) -> Result<()> {
    let rows = db
        .fetch_text(
            "SELECT CAST(count(*) AS TEXT) FROM pg_tables \
             WHERE schemaname = current_schema() AND tablename ~ '^t[0-9]+$'",
        )
        .await?;
    let found = first_number(&rows)?;
    if found != expected as u64 {
        bail!("found {found} tables after the run, expected {expected}");
    }
    Ok(())
}

/// Whether the big table of `db` holds `expected` rows.
async fn check_rows(db: &mut Database, expected: u64) -> Result<()> {
    let rows = db
        .fetch_text(&format!(
            "SELECT CAST(count(*) AS TEXT) FROM {}",
            workload::BIG_TABLE
        ))
        .await?;
    let found = first_number(&rows)?;
    if found != expected {
        bail!("found {found} rows after the run, expected {expected}");
    }
    Ok(())
}

fn first_number(rows: &[Vec<Option<String>>]) -> Result<u64> {
    rows.first()
        .and_then(|row| row.first().cloned().flatten())
        .and_then(|value| value.parse().ok())
        .context("the check query returned no number")
}

async fn server_description(admin_url: &str) -> Result<String> {
    let mut db = Database::connect(admin_url, ConnectOptions::default())
        .await
        .with_context(|| format!("connecting to {}", tt_migrate::redact_url(admin_url)))?;
    let rows = db
        .fetch_text(
            "SELECT current_setting('server_version'), current_setting('fsync'), \
             current_setting('synchronous_commit')",
        )
        .await?;
    db.close().await?;
    let field = |i: usize| {
        rows.first()
            .and_then(|row| row.get(i).cloned().flatten())
            .unwrap_or_default()
    };
    Ok(format!(
        "{} at {} (fsync={}, synchronous_commit={})",
        field(0),
        tt_migrate::redact_url(admin_url),
        field(1),
        field(2)
    ))
}

/// Builds the measured binary in release and returns its path, beside this xtask's target dir.
fn build_bench_apply() -> Result<PathBuf> {
    crate::cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "xtask",
        "--bin",
        "bench-apply",
    ])?;
    // This xtask runs from <target>/debug/xtask; the release build lands in <target>/release.
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the xtask binary is not inside a target directory")?;
    let apply = target
        .join("release")
        .join(format!("bench-apply{}", std::env::consts::EXE_SUFFIX));
    if !apply.exists() {
        bail!("built bench-apply but found no {}", apply.display());
    }
    Ok(apply)
}

fn check_psql() -> Result<()> {
    let output = Command::new("psql").arg("--version").output().context(
        "psql is not on PATH (the baseline of the benchmarks); install postgresql-client",
    )?;
    if !output.status.success() {
        bail!("psql --version failed ({})", output.status);
    }
    Ok(())
}

/// The "Maximum resident set size (kbytes)" that `/usr/bin/time -v` wrote to `path`.
fn max_rss_kib(path: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Maximum resident set size (kbytes):")
                .and_then(|value| value.trim().parse().ok())
        })
        .with_context(|| format!("/usr/bin/time wrote no maximum resident set size: {text}"))
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2
    } else {
        sorted[mid]
    }
}

/// The 1-minute load average, where Linux tells it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn fastest(values: &[Duration]) -> Duration {
    values.iter().copied().min().unwrap_or_default()
}

fn secs(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn ratio(tt: Duration, baseline: Duration) -> String {
    format!("{:.2}×", tt.as_secs_f64() / baseline.as_secs_f64())
}

fn verdict(met: bool, goal: String) -> String {
    format!("{goal} {}", if met { "met" } else { "MISSED" })
}

/// Prints rows under a header, columns padded to their widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_from_the_command_line() {
        // (files, megabytes, tables, runs, only), or the error's first line.
        type Read = (usize, u64, usize, Option<usize>, Option<Only>);
        let check = |args: &[&str], expected: Result<Read, &str>| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let read = Options::parse(&args)
                .map(|o| {
                    (
                        o.files,
                        o.insert_bytes / 1_000_000,
                        o.tables,
                        o.runs,
                        o.only,
                    )
                })
                .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string());
            assert_eq!(read, expected.map_err(str::to_string), "{args:?}");
        };
        check(&[], Ok((1000, 500, 2000, None, None)));
        check(&["--quick"], Ok((100, 50, 300, None, None)));
        check(
            &["--quick", "--runs", "2", "--only", "reset"],
            Ok((100, 50, 300, Some(2), Some(Only::Reset))),
        );
        check(
            &["--only", "files"],
            Ok((1000, 500, 2000, None, Some(Only::Files))),
        );
        check(
            &["--runs", "0"],
            Err("--runs wants a positive number, not `0`"),
        );
        check(&["--runs"], Err("--runs needs a number"));
        check(
            &["--only", "all"],
            Err("--only wants files, inserts, reset, fleet or uptodate, not `all`"),
        );
        check(
            &["--only"],
            Err("--only needs files, inserts, reset, fleet or uptodate"),
        );
        check(
            &["--only", "fleet"],
            Ok((1000, 500, 2000, None, Some(Only::Fleet))),
        );
        check(&["--fast"], Err("unknown option `--fast`"));
    }
}
