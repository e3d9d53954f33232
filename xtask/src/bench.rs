//! `cargo xtask bench`: the migration engine on PostgreSQL against psql, and on SQLite against
//! the sqlite3 shell, as ratios from one run.
//!
//! The workloads, each applied to a fresh database by `bench-apply` (a release build that runs
//! `Migrator::run` like `tt migrate`) and by `psql -1 -f` on the same SQL, alternating, several
//! times; medians and their ratio are reported. The big file is also measured for peak memory
//! with `/usr/bin/time -v`. See docs/benchmarks.md.

mod against;
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
    "usage: cargo xtask bench [--quick] [--runs N] [--only files|inserts|reset|sqlite|parallel|fleet|uptodate]
                         [--against REV]

  --quick   100 files, a 50 MB file and 300 tables instead of 1,000 files, 500 MB and 2,000
            tables
  --runs N  how many times each side runs per workload (default 5 for the files, 3 for
            the big file)
  --only    run one workload (sqlite: the files on SQLite against the sqlite3 shell; fleet:
            the repository's migrations on 100 schemas, --schemas against a shell loop;
            uptodate: tt migrate and tt status with nothing pending, against dbmate's up
            and status: the dbmate binary from TT_BENCH_DBMATE or PATH, else psql)
  --against REV
            `tt migrate` of this tree against that of the commit REV (built in a git
            worktree under target/) on the files, inserts and sqlite workloads, alternating;
            the ratios are this/REV

PostgreSQL comes from TT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
each run gets a fresh database, dropped afterwards. psql must be on PATH, and sqlite3 for the
SQLite workload.";

/// Goal for the many-files workload: tt's median over psql's.
const FILES_GOAL: f64 = 1.3;
/// Goal for the many-files workload on SQLite: tt's median over the sqlite3 shell's.
const SQLITE_GOAL: f64 = 1.3;
/// Goal for the reset of a wide schema: tt's median over sqlx's `database reset`.
const RESET_GOAL: f64 = 1.0;
/// Goal for the parallel workload: the median of `--jobs 2` over that of `--jobs 1`.
const PARALLEL_GOAL: f64 = 0.70;
/// Rows of each table the parallel workload builds.
const PARALLEL_ROWS: usize = 300_000;
/// Goal for the big file: tt's peak resident set size.
const RSS_GOAL_MIB: f64 = 64.0;

/// The workloads `--against` runs: the ones that are a `tt migrate` into a fresh database.
const AGAINST: [Only; 3] = [Only::Files, Only::Inserts, Only::Sqlite];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    Files,
    Inserts,
    Reset,
    Sqlite,
    Parallel,
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
    /// The commit whose `tt` to compare with.
    against: Option<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            files: 1000,
            insert_bytes: 500 * 1_000_000,
            tables: 2000,
            runs: None,
            only: None,
            against: None,
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
                        Some("sqlite") => Only::Sqlite,
                        Some("parallel") => Only::Parallel,
                        Some("fleet") => Only::Fleet,
                        Some("uptodate") => Only::UpToDate,
                        Some(other) => {
                            bail!(
                                "--only wants files, inserts, reset, sqlite, parallel, fleet or uptodate, not `{other}`\n\n{USAGE}"
                            )
                        }
                        None => bail!(
                            "--only needs files, inserts, reset, sqlite, parallel, fleet or uptodate\n\n{USAGE}"
                        ),
                    });
                }
                "--against" => {
                    let rev = args.next().context("--against needs a commit")?;
                    options.against = Some(rev.clone());
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown option `{other}`\n\n{USAGE}"),
            }
        }
        if options.against.is_some()
            && let Some(only) = options.only.filter(|only| !AGAINST.contains(only))
        {
            bail!("--against times `tt migrate` of files, inserts or sqlite, not {only:?}");
        }
        Ok(options)
    }

    fn wants(&self, only: Only) -> bool {
        let compared = self.against.is_none() || AGAINST.contains(&only);
        compared && self.only.is_none_or(|o| o == only)
    }
}

/// Runs the benchmarks and prints their figures.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    // The fleet and up-to-date workloads, and --against, time `tt` itself, not bench-apply.
    let apply = if options.against.is_none()
        && [
            Only::Files,
            Only::Inserts,
            Only::Reset,
            Only::Sqlite,
            Only::Parallel,
        ]
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
    let postgres = [Only::Files, Only::Inserts, Only::Reset]
        .into_iter()
        .any(|only| options.wants(only));
    if postgres {
        check_psql()?;
    }
    if options.wants(Only::Sqlite) {
        check_sqlite3()?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime")?;
    let admin_url = tt_testdb::admin_url(Backend::Postgres);
    if postgres {
        let server = runtime.block_on(server_description(&admin_url))?;
        println!("PostgreSQL {server}");
    }
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
    if let Some(rev) = &options.against {
        print_summary(&against::compare(&bench, &options, rev, scratch.path())?);
        return Ok(());
    }
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
        // As a schema grows: a hundred tables a file, as in issue 11's 2,000 tables in 20.
        let wide = workload::wide_schema(scratch.path(), options.tables, options.tables / 100)?;
        summary.extend(bench.reset(&wide, options.runs.unwrap_or(5))?);
    }
    if options.wants(Only::Sqlite) {
        let files = workload::many_files(&scratch.path().join("sqlite"), options.files)?;
        summary.extend(bench.sqlite_files(&files, scratch.path(), options.runs.unwrap_or(5))?);
    }
    if options.wants(Only::Parallel) {
        let rows = if options.files < 1000 {
            PARALLEL_ROWS / 10
        } else {
            PARALLEL_ROWS
        };
        let parallel = workload::parallel(scratch.path(), rows)?;
        summary.extend(bench.parallel(&parallel, options.runs.unwrap_or(3))?);
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
    print_summary(&summary);
    Ok(())
}

/// The summary table, with the load average at the end.
fn print_summary(summary: &[Line]) {
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
        let sample = self.bench_apply(db.url(), dir, &[], expected)?;
        self.check(&db, expect)?;
        Ok(sample)
    }

    /// Runs bench-apply (with `args` after the URL and directory) on `db`, measured.
    fn bench_apply(
        &self,
        url: &str,
        dir: &Path,
        args: &[&str],
        expected: usize,
    ) -> Result<TtSample> {
        Ok(self.bench_apply_output(url, dir, args, expected)?.0)
    }

    /// [`Self::bench_apply`], with what bench-apply printed.
    fn bench_apply_output(
        &self,
        url: &str,
        dir: &Path,
        args: &[&str],
        expected: usize,
    ) -> Result<(TtSample, String)> {
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
            .arg(url)
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
        let sample = TtSample {
            wall,
            run: Duration::from_millis(figure("run_ms")?),
            rss_kib,
        };
        Ok((sample, stdout.into_owned()))
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

    /// The many files on SQLite: tt against the sqlite3 shell running the same SQL in one
    /// transaction, each run into a new database file under `scratch`.
    fn sqlite_files(&self, files: &ManyFiles, scratch: &Path, runs: usize) -> Result<Vec<Line>> {
        println!(
            "workload 4: {} migration files on SQLite, {} statements, {runs} runs a side\n  \
             tt: Migrator::run; baseline: sqlite3 with BEGIN, .read of the files concatenated, COMMIT",
            files.files, files.statements
        );
        let fresh = |side: &str, run: usize| -> Result<PathBuf> {
            let path = scratch.join(format!("bench-{side}-{run}.db"));
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut side = path.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(&side);
            }
            Ok(path)
        };
        let (mut tt, mut shell, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (t, s) = alternate(
                run,
                || {
                    let path = fresh("tt", run)?;
                    let url = format!("sqlite://{}", path.display());
                    let sample = self.bench_apply(&url, &files.dir, &[], files.files)?;
                    self.check_sqlite(&path, files.files)?;
                    Ok(sample)
                },
                || {
                    let path = fresh("sqlite3", run)?;
                    let started = Instant::now();
                    sqlite3(&path, &files.all_sql)?;
                    let wall = started.elapsed();
                    self.check_sqlite(&path, files.files)?;
                    Ok(wall)
                },
            )?;
            rows.push(vec![
                (run + 1).to_string(),
                secs(t.wall),
                secs(t.run),
                secs(s),
                ratio(t.wall, s),
            ]);
            tt.push(t.wall);
            shell.push(s);
        }
        print_table(
            &["run", "tt (s)", "of which run (s)", "sqlite3 (s)", "ratio"],
            &rows,
        );
        println!();
        let (best_tt, best_shell) = (fastest(&tt), fastest(&shell));
        let (tt, shell) = (median(&tt), median(&shell));
        let r = tt.as_secs_f64() / shell.as_secs_f64();
        Ok(vec![
            Line {
                figure: format!("{} files on SQLite: median wall time", files.files),
                tt: format!("{} s", secs(tt)),
                baseline: format!("{} s (sqlite3, one transaction)", secs(shell)),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= SQLITE_GOAL, format!("≤ {SQLITE_GOAL}×")),
            },
            Line {
                figure: format!("{} files on SQLite: fastest run", files.files),
                tt: format!("{} s", secs(best_tt)),
                baseline: format!("{} s (sqlite3, one transaction)", secs(best_shell)),
                ratio: ratio(best_tt, best_shell),
                goal: String::new(),
            },
        ])
    }

    /// Whether the SQLite database at `path` holds `expected` tables `t0001`….
    fn check_sqlite(&self, path: &Path, expected: usize) -> Result<()> {
        self.runtime.block_on(async {
            let url = format!("sqlite://{}", path.display());
            let mut db = Database::connect(&url, ConnectOptions::default()).await?;
            let rows = db
                .fetch_text(
                    "SELECT CAST(count(*) AS TEXT) FROM sqlite_master \
                     WHERE type = 'table' AND name GLOB 't[0-9]*'",
                )
                .await?;
            db.close().await?;
            let found = first_number(&rows)?;
            if found != expected as u64 {
                bail!(
                    "found {found} tables in {} after the run, expected {expected}",
                    path.display()
                );
            }
            Ok(())
        })
    }

    fn reset(&self, wide: &WideSchema, runs: usize) -> Result<Vec<Line>> {
        let sqlx = find_sqlx();
        let baseline_name = match &sqlx {
            Some(path) => format!("sqlx database reset ({})", path.display()),
            None => "EMULATED sqlx reset: sqlx-cli not found (PATH, TT_BENCH_SQLX); \
                     DROP DATABASE + CREATE DATABASE + psql -f, a transaction per file"
                .to_string(),
        };
        let lock_table = self.lock_table()?;
        println!(
            "workload 3: reset of {} tables in {} files with {} foreign keys (a random web with cycles), {runs} runs a side\n  \
             server lock table: {lock_table}\n  \
             tt: Migrator::reset (drop the managed tables in FK order, in batches the lock table holds, migrate, check)\n  \
             baseline: {baseline_name}",
            wide.tables, wide.files, wide.foreign_keys
        );
        let (mut tt, mut baseline, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (t, p) = alternate(
                run,
                || {
                    // A database the migrations built, as a user's is: then the timed reset.
                    let db = self.fresh_database()?;
                    self.bench_apply(db.url(), &wide.dir, &[], wide.files)?;
                    let sample = self.bench_apply(db.url(), &wide.dir, &["--reset"], wide.files)?;
                    self.check(&db, Expect::Tables(wide.tables))?;
                    Ok(sample)
                },
                || {
                    let db = self.fresh_database()?;
                    let wall = match &sqlx {
                        Some(sqlx) => {
                            sqlx_cli(sqlx, &db, &["migrate", "run"], &wide.dir)?;
                            let started = Instant::now();
                            sqlx_cli(sqlx, &db, &["database", "reset", "-y"], &wide.dir)?;
                            started.elapsed()
                        }
                        None => {
                            psql(&db, &["-f"], wide.sql.as_os_str())?;
                            let started = Instant::now();
                            self.recreate_database(&db)?;
                            psql(&db, &["-f"], wide.sql.as_os_str())?;
                            started.elapsed()
                        }
                    };
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
        let side = if sqlx.is_some() {
            "sqlx reset"
        } else {
            "emulated sqlx reset"
        };
        print_table(
            &["run", "tt reset (s)", &format!("{side} (s)"), "ratio"],
            &rows,
        );
        println!();
        let (tt, baseline) = (median(&tt), median(&baseline));
        let r = tt.as_secs_f64() / baseline.as_secs_f64();
        Ok(vec![Line {
            figure: format!("reset of {} tables: median wall time", wide.tables),
            tt: format!("{} s", secs(tt)),
            baseline: format!("{} s ({side})", secs(baseline)),
            ratio: format!("{r:.2}×"),
            goal: verdict(r <= RESET_GOAL, format!("≤ {RESET_GOAL}×")),
        }])
    }

    fn parallel(&self, work: &workload::Parallel, runs: usize) -> Result<Vec<Line>> {
        println!(
            "workload 5: {} files (8 tables of {} rows with two indexes, 4 backfills of the first four), {runs} runs a side\n  \
             tt: Migrator::run with jobs 2; baseline: the same with jobs 1",
            work.files, work.rows
        );
        let (mut two, mut one, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        let mut early = Vec::new();
        for run in 0..runs {
            let (t, s) = alternate(
                run,
                || {
                    let db = self.fresh_database()?;
                    let (sample, stdout) =
                        self.bench_apply_output(db.url(), &work.dir, &["--jobs", "2"], work.files)?;
                    early.extend(started_early(&stdout)?);
                    Ok(sample)
                },
                || {
                    let db = self.fresh_database()?;
                    self.bench_apply(db.url(), &work.dir, &[], work.files)
                },
            )?;
            rows.push(vec![
                (run + 1).to_string(),
                secs(t.wall),
                secs(s.wall),
                ratio(t.wall, s.wall),
            ]);
            two.push(t.wall);
            one.push(s.wall);
        }
        print_table(&["run", "--jobs 2 (s)", "--jobs 1 (s)", "ratio"], &rows);
        for problem in &early {
            println!("  dependency broken: {problem}");
        }
        println!();
        let (two, one) = (median(&two), median(&one));
        let r = two.as_secs_f64() / one.as_secs_f64();
        Ok(vec![
            Line {
                figure: format!("{} files, --jobs 2: median wall time", work.files),
                tt: format!("{} s", secs(two)),
                baseline: format!("{} s (--jobs 1)", secs(one)),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= PARALLEL_GOAL, format!("≤ {PARALLEL_GOAL}×")),
            },
            Line {
                figure: "--jobs 2: dependents started after their dependencies committed".into(),
                tt: format!("{} broken", early.len()),
                baseline: String::new(),
                ratio: String::new(),
                goal: verdict(early.is_empty(), "none broken".into()),
            },
        ])
    }

    /// The server's lock table, as `max_locks_per_transaction × (max_connections +
    /// max_prepared_transactions)` sizes it: the reset must work on the default (64 × 100).
    fn lock_table(&self) -> Result<String> {
        self.runtime.block_on(async {
            let mut db = Database::connect(&self.admin_url, ConnectOptions::default()).await?;
            let rows = db
                .fetch_text(
                    "SELECT current_setting('max_locks_per_transaction') || ' locks a \
                     transaction × (' || current_setting('max_connections') || ' + ' || \
                     current_setting('max_prepared_transactions') || ') sessions'",
                )
                .await?;
            db.close().await?;
            Ok(rows
                .first()
                .and_then(|row| row.first().cloned().flatten())
                .unwrap_or_default())
        })
    }

    /// Drops `db` and creates it again, empty, as `sqlx database reset` does.
    fn recreate_database(&self, db: &TestDb) -> Result<()> {
        self.runtime.block_on(async {
            let mut admin = Database::connect(&self.admin_url, ConnectOptions::default()).await?;
            admin
                .fetch_text(&format!("DROP DATABASE {}", db.name()))
                .await?;
            admin
                .fetch_text(&format!("CREATE DATABASE {}", db.name()))
                .await?;
            admin.close().await?;
            Ok(())
        })
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

/// From bench-apply's `wait` and `time` lines: each migration that started before one it waits
/// for had committed, as `010 started at 5 ms, 004 committed at 9 ms`.
fn started_early(stdout: &str) -> Result<Vec<String>> {
    let mut times = std::collections::BTreeMap::new();
    let mut waits = Vec::new();
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["time", version, started, finished] => {
                times.insert(
                    version.to_string(),
                    (started.parse::<u64>()?, finished.parse::<u64>()?),
                );
            }
            ["wait", version, earlier] => waits.push((version.to_string(), earlier.to_string())),
            _ => {}
        }
    }
    if times.is_empty() {
        bail!("bench-apply printed no start and end times: {stdout}");
    }
    let mut early = Vec::new();
    for (version, earlier) in waits {
        let (Some(&(started, _)), Some(&(_, committed))) =
            (times.get(&version), times.get(&earlier))
        else {
            bail!("bench-apply printed no times of {version} or {earlier}");
        };
        if started < committed {
            early.push(format!(
                "{version} started at {started} ms, {earlier} committed at {committed} ms"
            ));
        }
    }
    Ok(early)
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

/// sqlx-cli's `sqlx`: `TT_BENCH_SQLX`, else `sqlx` on `PATH`.
fn find_sqlx() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TT_BENCH_SQLX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("sqlx"))
        .find(|path| path.is_file())
}

/// Runs `sqlx <args> --source <dir>` on `db`.
fn sqlx_cli(sqlx: &Path, db: &TestDb, args: &[&str], dir: &Path) -> Result<()> {
    let status = Command::new(sqlx)
        .args(args)
        .arg("--no-dotenv")
        .arg("--database-url")
        .arg(db.url())
        .arg("--source")
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running {}", sqlx.display()))?;
    if !status.success() {
        bail!("sqlx {} failed ({status})", args.join(" "));
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

/// Runs `sql` with the sqlite3 shell into the database `path` in one transaction, with foreign
/// keys enforced as tt's connections enforce them; the shell's defaults otherwise (journal mode,
/// `synchronous`), which are SQLite's and tt's.
fn sqlite3(path: &Path, sql: &Path) -> Result<()> {
    let output = Command::new("sqlite3")
        .arg("-bail")
        .arg(path)
        .arg("PRAGMA foreign_keys = ON")
        .arg("BEGIN")
        .arg(format!(".read '{}'", sql.display()))
        .arg("COMMIT")
        .stdout(Stdio::null())
        .output()
        .context("running sqlite3")?;
    if !output.status.success() || !output.stderr.is_empty() {
        bail!(
            "sqlite3 .read {} failed ({}): {}",
            sql.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn check_sqlite3() -> Result<()> {
    let output = Command::new("sqlite3").arg("--version").output().context(
        "sqlite3 is not on PATH (the SQLite baseline of the benchmarks); install sqlite3",
    )?;
    if !output.status.success() {
        bail!("sqlite3 --version failed ({})", output.status);
    }
    Ok(())
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
            Err(
                "--only wants files, inserts, reset, sqlite, parallel, fleet or uptodate, not `all`",
            ),
        );
        check(
            &["--only", "sqlite"],
            Ok((1000, 500, 2000, None, Some(Only::Sqlite))),
        );
        check(
            &["--only"],
            Err("--only needs files, inserts, reset, sqlite, parallel, fleet or uptodate"),
        );
        check(
            &["--only", "fleet"],
            Ok((1000, 500, 2000, None, Some(Only::Fleet))),
        );
        check(&["--fast"], Err("unknown option `--fast`"));
    }

    #[test]
    fn against_names_a_commit_and_keeps_the_tt_migrate_workloads() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            Options::parse(&args).map_err(|e| e.to_string())
        };
        let options = parse(&["--quick", "--only", "files", "--against", "712251d"]).unwrap();
        assert_eq!(options.against.as_deref(), Some("712251d"));
        assert_eq!((options.files, options.only), (100, Some(Only::Files)));
        let wanted = |options: &Options| {
            [
                Only::Files,
                Only::Inserts,
                Only::Reset,
                Only::Sqlite,
                Only::Parallel,
                Only::Fleet,
                Only::UpToDate,
            ]
            .into_iter()
            .filter(|only| options.wants(*only))
            .collect::<Vec<_>>()
        };
        assert_eq!(wanted(&options), [Only::Files]);
        let every = parse(&["--against", "HEAD~3"]).unwrap();
        assert_eq!(wanted(&every), AGAINST);
        assert_eq!(wanted(&parse(&[]).unwrap()).len(), 7);
        assert_eq!(
            parse(&["--against"]).unwrap_err(),
            "--against needs a commit"
        );
        assert_eq!(
            parse(&["--only", "reset", "--against", "HEAD"]).unwrap_err(),
            "--against times `tt migrate` of files, inserts or sqlite, not Reset"
        );
    }
}
