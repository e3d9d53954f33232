//! `cargo xtask bench --against REV`: `tt migrate` of this tree against `tt migrate` of another
//! commit on the same workloads, the two binaries alternating in one run, as this/REV ratios.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::fleet::{build_tt, target_dir, timed};
use super::{Bench, Expect, Line, Only, Options, alternate, fastest, median, print_table};
use super::{ratio, secs, workload};

/// The two `tt` binaries compared.
struct Binaries {
    this: PathBuf,
    old: PathBuf,
    /// The other commit's short hash.
    short: String,
}

/// Where a workload's migrations go.
#[derive(Debug, Clone, Copy)]
enum On {
    /// A fresh PostgreSQL database, checked for what the run must leave.
    Postgres(Expect),
    /// A new SQLite file, checked for this many tables `t0001`….
    Sqlite(usize),
}

/// Builds both binaries and times each selected workload with both.
pub(super) fn compare(
    bench: &Bench,
    options: &Options,
    rev: &str,
    scratch: &Path,
) -> Result<Vec<Line>> {
    // The other commit first: building this tree afterwards leaves target/release/tt this tree's.
    let (old, short) = build_rev(rev)?;
    let both = Binaries {
        this: build_tt()?,
        old,
        short,
    };
    println!(
        "this tree's tt against {rev} ({}), `tt migrate -q`, alternating\n",
        both.short
    );
    let mut summary = Vec::new();
    if options.wants(Only::Files) {
        let files = workload::many_files(scratch, options.files)?;
        let on = On::Postgres(Expect::Tables(files.files));
        let label = format!("{} files", files.files);
        let runs = options.runs.unwrap_or(5);
        summary.extend(bench.against(&both, &label, &files.dir, on, scratch, runs)?);
    }
    if options.wants(Only::Inserts) {
        let big = workload::big_file(scratch, options.insert_bytes)?;
        let on = On::Postgres(Expect::Rows(big.rows));
        let label = format!("{:.0} MB of INSERTs", big.bytes as f64 / 1e6);
        let runs = options.runs.unwrap_or(3);
        summary.extend(bench.against(&both, &label, &big.dir, on, scratch, runs)?);
    }
    if options.wants(Only::Sqlite) {
        let files = workload::many_files(&scratch.join("sqlite"), options.files)?;
        let on = On::Sqlite(files.files);
        let label = format!("{} files on SQLite", files.files);
        let runs = options.runs.unwrap_or(5);
        summary.extend(bench.against(&both, &label, &files.dir, on, scratch, runs)?);
    }
    Ok(summary)
}

/// Builds the `tt` of `rev` in a git worktree under the target directory, sharing that
/// directory's compiled dependencies, and keeps a copy named by the commit (built once).
/// Returns its path and the commit's short hash.
fn build_rev(rev: &str) -> Result<(PathBuf, String)> {
    let commit = git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])?;
    let short = commit[..10].to_string();
    let target = target_dir()?;
    let home = target.join("bench-against");
    let kept = home.join(format!("tt-{short}"));
    if kept.exists() {
        return Ok((kept, short));
    }
    let tree = home.join(&short);
    if !tree.exists() {
        git(&[
            "worktree",
            "add",
            "--detach",
            &tree.to_string_lossy(),
            &commit,
        ])?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!(
        "$ cargo build --release -p tt-cli   (in {})",
        tree.display()
    );
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "tt-cli"])
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!(
            "building tt of {rev} failed ({status}); its tree is {}",
            tree.display()
        );
    }
    let built = target
        .join("release")
        .join(format!("tt{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(&built, &kept).with_context(|| format!("copying {}", built.display()))?;
    git(&["worktree", "remove", "--force", &tree.to_string_lossy()])?;
    Ok((kept, short))
}

/// Runs git in the repository and returns what it printed, trimmed.
fn git(args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .output()
        .context("running git")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

impl Bench {
    /// `runs` runs a side of `tt migrate` of `dir`, the two binaries alternating.
    fn against(
        &self,
        both: &Binaries,
        label: &str,
        dir: &Path,
        on: On,
        scratch: &Path,
        runs: usize,
    ) -> Result<Vec<Line>> {
        println!("{label}, {runs} runs a side");
        let short = &both.short;
        let (mut ours, mut theirs, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let (a, b) = alternate(
                run,
                || self.migrate_once(&both.this, dir, on, scratch),
                || self.migrate_once(&both.old, dir, on, scratch),
            )?;
            rows.push(vec![(run + 1).to_string(), secs(a), secs(b), ratio(a, b)]);
            ours.push(a);
            theirs.push(b);
        }
        print_table(
            &["run", "this (s)", &format!("{short} (s)"), "ratio"],
            &rows,
        );
        println!();
        let line = |what: &str, a: Duration, b: Duration| Line {
            figure: format!("{label}: {what}, this/{short}"),
            tt: format!("{} s", secs(a)),
            baseline: format!("{} s ({short})", secs(b)),
            ratio: ratio(a, b),
            goal: String::new(),
        };
        Ok(vec![
            line("median wall time", median(&ours), median(&theirs)),
            line("fastest run", fastest(&ours), fastest(&theirs)),
        ])
    }

    /// One `tt migrate -q` of `dir` by `tt` into a fresh database, checked afterwards.
    fn migrate_once(&self, tt: &Path, dir: &Path, on: On, scratch: &Path) -> Result<Duration> {
        let migrate = |url: &str| {
            timed(
                Command::new(tt)
                    .args(["migrate", "-q", "--database-url", url, "--dir"])
                    .arg(dir),
                &format!("{} migrate", tt.display()),
            )
        };
        match on {
            On::Postgres(expect) => {
                let db = self.fresh_database()?;
                let wall = migrate(db.url())?;
                self.check(&db, expect)?;
                Ok(wall)
            }
            On::Sqlite(tables) => {
                let path = scratch.join("against.db");
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                let wall = migrate(&format!("sqlite://{}", path.display()))?;
                self.check_sqlite(&path, tables)?;
                Ok(wall)
            }
        }
    }
}
