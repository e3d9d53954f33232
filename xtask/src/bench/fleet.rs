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
/// Goal for an up-to-date target: `tt migrate` over dbmate's `up`, `tt status` over dbmate's
/// `status`.
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
    /// dbmate's `up` and `status` on the same files in a schema of its own of the same
    /// database, or psql reading the tracking table where dbmate is not found.
    pub(super) fn up_to_date(
        &self,
        tt: &Path,
        files: &super::ManyFiles,
        runs: usize,
    ) -> Result<Vec<Line>> {
        let db = self.fresh_database()?;
        let baseline = match find_dbmate()? {
            Some(exe) => Baseline::dbmate(exe, files, &db)?,
            None => Baseline::Psql {
                url: db.url().to_string(),
            },
        };
        println!(
            "workload 7: {} migration files, all applied: what checking an up-to-date target costs, {runs} runs a side\n  \
             tt: tt migrate, tt status; baseline: {}",
            files.files,
            baseline.describe()
        );
        timed(
            Command::new(tt)
                .args(["migrate", "-q", "--database-url", db.url(), "--dir"])
                .arg(&files.dir),
            "tt migrate of the files",
        )?;
        let tt_run = |command: &str| {
            timed(
                Command::new(tt)
                    .args([command, "--json", "--database-url", db.url(), "--dir"])
                    .arg(&files.dir),
                &format!("tt {command}"),
            )
        };
        let (mut migrate, mut status, mut up, mut listed, mut rows) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (m, u) = alternate(run, || tt_run("migrate"), || baseline.up())?;
            let (s, l) = alternate(run, || tt_run("status"), || baseline.status())?;
            rows.push(vec![
                (run + 1).to_string(),
                millis(m),
                millis(u),
                millis(s),
                millis(l),
                ratio(m, u),
                ratio(s, l),
            ]);
            migrate.push(m);
            up.push(u);
            status.push(s);
            listed.push(l);
        }
        let (up_name, status_name) = baseline.names();
        print_table(
            &[
                "run",
                "tt migrate (ms)",
                &format!("{up_name} (ms)"),
                "tt status (ms)",
                &format!("{status_name} (ms)"),
                "migrate",
                "status",
            ],
            &rows,
        );
        println!();
        let line = |name: &str, tt: &[Duration], base: &[Duration], base_name: &str| {
            let (t, b) = (median(tt), median(base));
            let r = t.as_secs_f64() / b.as_secs_f64();
            Line {
                figure: format!("{} files up to date: tt {name}", files.files),
                tt: format!("{} ms", millis(t)),
                baseline: format!("{} ms ({base_name})", millis(b)),
                ratio: format!("{r:.2}×"),
                goal: verdict(r <= UP_TO_DATE_GOAL, format!("≤ {UP_TO_DATE_GOAL}×")),
            }
        };
        Ok(vec![
            line("migrate", &migrate, &up, up_name),
            line("status", &status, &listed, status_name),
        ])
    }
}

/// Milliseconds, to a tenth.
fn millis(wall: Duration) -> String {
    format!("{:.1}", wall.as_secs_f64() * 1e3)
}

/// What an up-to-date tt is measured against.
enum Baseline {
    /// dbmate's `up` and `status`.
    Dbmate(Dbmate),
    /// Where dbmate is not found: psql reading tt's tracking table, the least any migration
    /// tool's process must do to learn that nothing is pending.
    Psql { url: String },
}

/// The schema of `db` where dbmate keeps its tables and its `schema_migrations` (whose only
/// column, `version`, tt's table of the same name would not fit).
const DBMATE_SCHEMA: &str = "dbmate";

/// dbmate on the files of the workload.
struct Dbmate {
    exe: PathBuf,
    /// The files in dbmate's format (`-- migrate:up`).
    dir: PathBuf,
    /// The database's URL, with dbmate's own schema as its `search_path`.
    url: String,
}

impl Baseline {
    /// dbmate at `exe`, with `files` written in its format and applied once to a schema of its
    /// own in `db`.
    fn dbmate(exe: PathBuf, files: &super::ManyFiles, db: &TestDb) -> Result<Self> {
        let dir = files.dir.with_file_name("dbmate");
        super::workload::as_dbmate(files, &dir)?;
        let separator = if db.url().contains('?') { '&' } else { '?' };
        // Otherwise the URL tt gets: both speak TLS where the server offers it.
        let url = format!("{}{separator}search_path={DBMATE_SCHEMA}", db.url());
        let dbmate = Dbmate { exe, dir, url };
        timed(&mut dbmate.command("up"), "dbmate up of the files")?;
        let output = dbmate
            .command("status")
            .output()
            .context("running dbmate status")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let applied = format!("Applied: {}", files.files);
        if !text.contains(&applied) || !text.contains("Pending: 0") {
            bail!("dbmate up left the files not all applied: {text}");
        }
        Ok(Self::Dbmate(dbmate))
    }

    fn describe(&self) -> String {
        match self {
            Self::Dbmate(Dbmate { exe, .. }) => format!(
                "{} up --no-dump-schema, status, on the same files in schema `{DBMATE_SCHEMA}` of the same database",
                exe.display()
            ),
            Self::Psql { .. } => "psql -c 'SELECT version, checksum FROM schema_migrations' \
                                  for both (dbmate not found: set TT_BENCH_DBMATE or put it on PATH)"
                .to_string(),
        }
    }

    /// The names of the baseline's two commands.
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Dbmate(_) => ("dbmate up", "dbmate status"),
            Self::Psql { .. } => ("psql SELECT", "psql SELECT"),
        }
    }

    fn up(&self) -> Result<Duration> {
        match self {
            Self::Dbmate(dbmate) => timed(&mut dbmate.command("up"), "dbmate up"),
            Self::Psql { url } => psql_read(url),
        }
    }

    fn status(&self) -> Result<Duration> {
        match self {
            Self::Dbmate(dbmate) => timed(&mut dbmate.command("status"), "dbmate status"),
            Self::Psql { url } => psql_read(url),
        }
    }
}

impl Dbmate {
    /// A dbmate command on the files, in the files' directory (dbmate reads a `.env` there,
    /// and finds none), without its schema dump (`pg_dump` after every `up`: the baseline is
    /// the quicker dbmate).
    fn command(&self, command: &str) -> Command {
        let Self { exe, dir, url } = self;
        let mut dbmate = Command::new(exe);
        dbmate
            .current_dir(dir)
            .arg("--url")
            .arg(url)
            .arg("--migrations-dir")
            .arg(dir)
            .arg("--no-dump-schema")
            .arg(command);
        dbmate
    }
}

/// psql reading tt's tracking table at `url`.
fn psql_read(url: &str) -> Result<Duration> {
    timed(
        Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg("SELECT version, checksum FROM schema_migrations")
            .arg("-d")
            .arg(url),
        "psql",
    )
}

/// dbmate, where `TT_BENCH_DBMATE` points or on PATH; `None` when neither has it.
///
/// # Errors
/// When the file found is a script: npm's `.bin/dbmate` is a Node launcher of the binary, and
/// Node's start-up is no part of dbmate.
fn find_dbmate() -> Result<Option<PathBuf>> {
    let exe = match std::env::var_os("TT_BENCH_DBMATE") {
        Some(path) => PathBuf::from(path),
        None => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let found = std::env::split_paths(&path)
                .map(|dir| dir.join(format!("dbmate{}", std::env::consts::EXE_SUFFIX)))
                .find(|exe| exe.is_file());
            match found {
                Some(exe) => exe,
                None => return Ok(None),
            }
        }
    };
    let mut head = [0u8; 2];
    let mut file = std::fs::File::open(&exe)
        .with_context(|| format!("opening dbmate at {}", exe.display()))?;
    std::io::Read::read_exact(&mut file, &mut head)
        .with_context(|| format!("reading {}", exe.display()))?;
    if &head == b"#!" {
        bail!(
            "{} is a script (npm's launcher, which starts Node first): set TT_BENCH_DBMATE to the \
             binary it starts, node_modules/@dbmate/<platform>/bin/dbmate",
            exe.display()
        );
    }
    Ok(Some(exe))
}
