//! One scenario: its name, the processes it starts (racing, or interrupted by a signal at a
//! seeded moment), and the invariant check that follows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::fixture::{Fixture, Step};
use super::fleet::Fleet;
use super::rng::Rng;
use super::target::{Fresh, Seen, Target};

/// How tt takes its migration lock: the backend's default (advisory locks on PostgreSQL and
/// MySQL, the write lock on SQLite, the lease lock behind PgBouncer, detected), or the lease
/// lock (`lock = "table"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Default,
    Table,
}

impl LockMode {
    pub(crate) const ALL: [LockMode; 2] = [LockMode::Default, LockMode::Table];

    fn name(self) -> &'static str {
        match self {
            LockMode::Default => "default",
            LockMode::Table => "table",
        }
    }

    /// The tt.toml line selecting the mode.
    fn config(self) -> &'static str {
        match self {
            LockMode::Default => "",
            LockMode::Table => "lock = \"table\"\n",
        }
    }
}

/// A tt command a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Migrate,
    /// `tt migrate --jobs 4` of the parallel set (PostgreSQL and MySQL).
    MigrateJobs,
    Reset,
    Drop,
    Down,
}

impl Cmd {
    pub(crate) const ALL: [Cmd; 4] = [Cmd::Migrate, Cmd::Reset, Cmd::Drop, Cmd::Down];

    fn name(self) -> &'static str {
        match self {
            Cmd::Migrate => "migrate",
            Cmd::MigrateJobs => "migrate-jobs",
            Cmd::Reset => "reset",
            Cmd::Drop => "drop",
            Cmd::Down => "down",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Cmd::Migrate => &["migrate"],
            Cmd::MigrateJobs => &["migrate", "--jobs", "4"],
            Cmd::Reset => &["reset", "--yes"],
            Cmd::Drop => &["drop", "--yes"],
            Cmd::Down => &["down", "--all"],
        }
    }

    /// Up to how long after the start a signal is sent: about the command's run time.
    fn signal_window_ms(self) -> u64 {
        match self {
            Cmd::Migrate | Cmd::Reset => 600,
            Cmd::MigrateJobs => 900,
            Cmd::Drop | Cmd::Down => 200,
        }
    }
}

/// The signal a scenario interrupts tt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sig {
    Kill,
    Int,
}

impl Sig {
    pub(crate) const ALL: [Sig; 2] = [Sig::Kill, Sig::Int];

    fn name(self) -> &'static str {
        match self {
            Sig::Kill => "kill9",
            Sig::Int => "sigint",
        }
    }
}

/// What a scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `runners` copies of one command started at once.
    Concurrent { cmd: Cmd, runners: usize },
    /// `tt migrate`, and `other` started a seeded moment later.
    Race { other: Cmd },
    /// One command, interrupted at a seeded moment.
    Signal { sig: Sig, cmd: Cmd },
    /// `tt migrate --schemas` over many targets (see `torture::fleet`).
    Fleet(Fleet),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) target: Target,
    pub(crate) lock: LockMode,
    pub(crate) kind: Kind,
}

impl Scenario {
    /// The scenario's name, `target/lock/what[/runners]`, as `--only` and the known-failing
    /// list match it.
    pub(crate) fn id(&self) -> String {
        let what = match self.kind {
            Kind::Concurrent { cmd, runners } => format!("concurrent-{}/{runners}", cmd.name()),
            Kind::Race { other } => format!("migrate-vs-{}", other.name()),
            Kind::Signal { sig, cmd } => format!("{}-{}", sig.name(), cmd.name()),
            Kind::Fleet(fleet) => fleet.name().to_string(),
        };
        format!("{}/{}/{what}", self.target.name(), self.lock.name())
    }

    pub(crate) fn is_race(&self) -> bool {
        matches!(
            self.kind,
            Kind::Concurrent { .. } | Kind::Race { .. } | Kind::Fleet(Fleet::Concurrent)
        )
    }

    /// The migration set the scenario applies.
    fn fixture(&self) -> Fixture {
        match self.kind {
            Kind::Signal {
                cmd: Cmd::MigrateJobs,
                ..
            } => Fixture::parallel(),
            _ => Fixture::serial(),
        }
    }
}

/// Where a scenario runs: the tt binary, a directory with the migrations and tt.toml, and the
/// counters of the whole torture run.
pub(crate) struct Bench<'a> {
    pub(crate) tt: &'a Path,
    pub(crate) runtime: &'a tokio::runtime::Runtime,
    pub(crate) runs: u64,
    pub(crate) kills: u64,
    /// Signal rounds where the command ended before its signal was due.
    pub(crate) finished_first: u64,
    /// Databases made so far, numbering their names.
    pub(crate) databases: u64,
}

/// How long any tt process may take before it counts as hung.
const HANG: Duration = Duration::from_secs(90);
/// tt's default lease of the table lock (`ConnectOptions::lock_lease`).
pub(crate) const LEASE: Duration = Duration::from_secs(30);
/// How long tt waits for the lock in the scenarios (queues of 8 resets need a while).
const LOCK_TIMEOUT: &str = "60";

/// What one round of a scenario found.
pub(crate) struct Outcome {
    /// Broken invariants; none when the round passed.
    pub(crate) problems: Vec<String>,
    /// When the signal went out, or that the command finished first.
    pub(crate) note: String,
}

/// Runs one round of `scenario` with `seed`.
pub(crate) fn run(bench: &mut Bench<'_>, scenario: &Scenario, seed: u64) -> Result<Outcome> {
    let mut rng = Rng::new(seed ^ super::rng::hash(&scenario.id()));
    let dir = tempfile::Builder::new().prefix("tt-torture-").tempdir()?;
    let migrations = dir.path().join("migrations");
    let fleet = match scenario.kind {
        Kind::Fleet(fleet) => Some(fleet),
        _ => None,
    };
    let pooled_schemas = fleet.is_some() && scenario.target == Target::PgBouncer;
    let fixture = match scenario.kind {
        Kind::Fleet(_) if pooled_schemas => Fixture::serial_in_pooled_schemas(),
        _ => scenario.fixture(),
    };
    fixture.write(&migrations)?;
    std::fs::write(dir.path().join("tt.toml"), scenario.lock.config())?;
    bench.databases += 1;
    let name = format!("tt_torture_{}_{}", std::process::id(), bench.databases);
    let mut fresh = bench
        .runtime
        .block_on(Fresh::create(scenario.target, name, dir.path()))?;
    let mut note = String::new();
    let problems = match fleet {
        Some(fleet) => bench
            .runtime
            .block_on(fresh.add_schemas(super::fleet::TARGETS))
            .and_then(|()| {
                let tt = Tt {
                    bin: bench.tt,
                    dir: dir.path(),
                    url: &fresh.tt_url,
                };
                super::fleet::play(
                    bench,
                    scenario.target,
                    fleet,
                    &mut rng,
                    &fresh,
                    &tt,
                    &mut note,
                )
            }),
        None => play(
            bench,
            scenario,
            &fixture.steps,
            &mut rng,
            &fresh,
            dir.path(),
            &mut note,
        ),
    };
    let removed = bench.runtime.block_on(fresh.remove());
    let problems = problems?;
    removed?;
    Ok(Outcome { problems, note })
}

fn play(
    bench: &mut Bench<'_>,
    scenario: &Scenario,
    steps: &[Step],
    rng: &mut Rng,
    fresh: &Fresh,
    dir: &Path,
    note: &mut String,
) -> Result<Vec<String>> {
    let tt = Tt {
        bin: bench.tt,
        dir,
        url: &fresh.tt_url,
    };
    let mut problems = Vec::new();
    // Commands other than migrate start from a migrated database; a down racing a migrate
    // from one half migrated.
    let setup: &[&str] = match scenario.kind {
        Kind::Concurrent {
            cmd: Cmd::Migrate, ..
        }
        | Kind::Signal {
            cmd: Cmd::Migrate | Cmd::MigrateJobs,
            ..
        } => &[],
        Kind::Race { other: Cmd::Down } => &["migrate", "--to", "002"],
        Kind::Race { .. } | Kind::Fleet(_) => &[],
        _ => &["migrate"],
    };
    if !setup.is_empty() {
        bench.runs += 1;
        let done = tt.run_to_end(setup, "setup")?;
        if !done.ok() {
            problems.push(format!(
                "setup `tt {}` failed: {}",
                setup.join(" "),
                done.tail()
            ));
            return Ok(problems);
        }
    }
    let mut reported: Option<Finished> = None;
    match scenario.kind {
        Kind::Concurrent { cmd, runners } => {
            let children = (0..runners)
                .map(|i| tt.spawn(cmd.args(), &format!("runner-{i}")))
                .collect::<Result<Vec<_>>>()?;
            bench.runs += runners as u64;
            // Runners that failed alike are named together: `runners 1, 4, 7 (...)`.
            let mut failed: Vec<(String, Vec<usize>)> = Vec::new();
            for (i, child) in children.into_iter().enumerate() {
                let done = child.wait()?;
                if done.ok() {
                    continue;
                }
                let tail = done.tail();
                match failed.iter_mut().find(|(t, _)| *t == tail) {
                    Some((_, who)) => who.push(i),
                    None => failed.push((tail, vec![i])),
                }
            }
            for (tail, who) in failed {
                let who: Vec<String> = who.iter().map(usize::to_string).collect();
                problems.push(format!(
                    "{} of {runners} runners ({}) of `tt {}` {tail}",
                    who.len(),
                    who.join(", "),
                    cmd.name()
                ));
            }
        }
        Kind::Race { other } => {
            let first = tt.spawn(Cmd::Migrate.args(), "migrate")?;
            let delay = rng.below(800);
            *note = format!("{} {delay} ms later", other.name());
            std::thread::sleep(Duration::from_millis(delay));
            let second = tt.spawn(other.args(), other.name())?;
            bench.runs += 2;
            expect_success(&mut problems, "the migrate", Cmd::Migrate, first.wait()?);
            expect_success(
                &mut problems,
                &format!("the {}", other.name()),
                other,
                second.wait()?,
            );
        }
        Kind::Signal { sig, cmd } => {
            let mut child = tt.spawn(cmd.args(), cmd.name())?;
            bench.runs += 1;
            let window = cmd.signal_window_ms() / scenario.target.slowness_divisor();
            let delay = Duration::from_millis(rng.below(window));
            let sent = child.signal_after(sig, delay)?;
            if sent {
                bench.kills += 1;
                *note = format!("{} at {} ms", sig.name(), delay.as_millis());
            } else {
                bench.finished_first += 1;
                *note = format!(
                    "finished before the {} at {} ms",
                    sig.name(),
                    delay.as_millis()
                );
            }
            let done = child.wait()?;
            if sent && sig == Sig::Int {
                check_interrupted(&mut problems, &done);
            }
            if !sent && !done.ok() {
                problems.push(format!(
                    "`tt {}` failed before the signal: {}",
                    cmd.name(),
                    done.tail()
                ));
            }
            reported = Some(done);
        }
        Kind::Fleet(_) => unreachable!("fleet scenarios are played by torture::fleet"),
    }
    // A killed runner's lease row stays until its lease (30 s) expires: that is the lease
    // lock's design, and a row outliving its lease is a lock left behind.
    let killed_lease = matches!(scenario.kind, Kind::Signal { sig: Sig::Kill, .. })
        && (scenario.lock == LockMode::Table || scenario.target == Target::PgBouncer);
    let grace = if killed_lease {
        LEASE + Duration::from_secs(5)
    } else {
        Duration::from_secs(5)
    };
    // First the lock: a killed client's server session keeps it until its statement ends
    // (MySQL runs the rest of a killed drop's batch), and the database is read after that.
    if let Some(holder) = bench.runtime.block_on(fresh.lock_left(grace))? {
        problems.push(format!("lock left after every tt exited: {holder}"));
    }
    let mut seen = bench.runtime.block_on(fresh.inspect())?;
    problems.extend(consistency(&seen, steps));
    if let Some(done) = &reported {
        problems.extend(reported_is_committed(done, &seen));
    }
    bench.runs += 1;
    problems.extend(status_tells_the_truth(&tt, &seen, steps)?);
    if seen.stopped_drop {
        // A drop killed part-way (MySQL commits each DROP): status said so above, and the
        // way out it names, `tt drop`, must finish the drop.
        note.push_str(", left a stopped drop");
        bench.runs += 1;
        let done = tt
            .spawn_waiting(&["drop", "--yes"], "finish-drop", "5")?
            .wait()?;
        if !done.ok() {
            problems.push(format!(
                "the `tt drop` that finishes a stopped drop failed: {}",
                done.tail()
            ));
        }
        seen = bench.runtime.block_on(fresh.inspect())?;
        if seen.stopped_drop || !seen.rows.is_empty() || !seen.objects.is_empty() {
            problems.push(format!(
                "after the `tt drop` that finishes a stopped drop: mark {}, rows {:?}, objects {:?}",
                seen.stopped_drop,
                seen.rows.keys().collect::<Vec<_>>(),
                seen.objects.keys().collect::<Vec<_>>()
            ));
        }
    }
    // Whatever happened, a later `tt migrate` must bring the database up to date, unless a
    // migration was left dirty (then status says so and repair is the way out).
    if seen.dirty_versions().is_empty() {
        bench.runs += 1;
        // A short wait: a lock left behind shows up as a failure here, not as a long stall.
        let done = tt.spawn_waiting(&["migrate"], "recover", "5")?.wait()?;
        if !done.ok() {
            problems.push(format!("the next `tt migrate` failed: {}", done.tail()));
        } else {
            let after = bench.runtime.block_on(fresh.inspect())?;
            let all: Vec<_> = steps.iter().map(|s| s.version.clone()).collect();
            let clean: Vec<_> = after.clean_versions().into_iter().collect();
            if clean != all {
                problems.push(format!(
                    "after the next `tt migrate` the recorded versions are {clean:?}, not all {}",
                    all.len()
                ));
            }
            problems.extend(
                consistency(&after, steps)
                    .into_iter()
                    .map(|p| format!("after the next migrate: {p}")),
            );
        }
    }
    Ok(problems)
}

/// Every migration recorded (and not dirty) has its object, unless the tracking table marks
/// a drop that stopped part-way; none unrecorded has one.
pub(crate) fn consistency(seen: &Seen, steps: &[Step]) -> Vec<String> {
    let mut problems = Vec::new();
    for step in steps {
        let row = seen.rows.get(&step.version);
        let object = seen.objects.get(&step.object);
        match (row, object) {
            (Some(false), Some(true)) | (None, None) | (Some(true), _) => {}
            (Some(false), _) if seen.stopped_drop => {}
            (Some(false), None) => problems.push(format!(
                "{} is recorded as applied but {} does not exist",
                step.version, step.object
            )),
            (Some(false), Some(false)) => problems.push(format!(
                "{} is recorded as applied but {} is invalid (CONCURRENTLY interrupted)",
                step.version, step.object
            )),
            (None, Some(_)) => problems.push(format!(
                "{} exists but {} is not recorded (untracked leftovers)",
                step.object, step.version
            )),
        }
    }
    problems
}

/// What tt printed as applied is committed; what it printed as rolled back is gone.
fn reported_is_committed(done: &Finished, seen: &Seen) -> Vec<String> {
    let mut problems = Vec::new();
    let mut last: std::collections::BTreeMap<String, bool> = Default::default();
    for line in done.stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["applied", version, ..] => {
                last.insert(version.to_string(), true);
            }
            ["rolled", "back", version, ..] => {
                last.insert(version.to_string(), false);
            }
            _ => {}
        }
    }
    for (version, applied) in last {
        let recorded = seen.rows.contains_key(&version);
        if applied && !recorded {
            problems.push(format!(
                "tt printed `applied {version}` before it was killed, but {version} is not recorded \
                 (progress lost)"
            ));
        }
        if !applied && recorded {
            problems.push(format!(
                "tt printed `rolled back {version}` before it was killed, but {version} is still recorded"
            ));
        }
    }
    problems
}

/// `tt status --json` lists as applied, dirty and pending exactly what the database holds.
fn status_tells_the_truth(tt: &Tt<'_>, seen: &Seen, steps: &[Step]) -> Result<Vec<String>> {
    let done = tt.run_to_end(&["status", "--json"], "status")?;
    match serde_json::from_str::<serde_json::Value>(&done.stdout) {
        Ok(doc) if doc.get("error").is_none() => Ok(status_matches(&doc, seen, steps)),
        _ => Ok(vec![format!("`tt status --json` failed: {}", done.tail())]),
    }
}

/// A status document lists as applied, dirty and pending exactly what `seen` holds.
pub(crate) fn status_matches(doc: &serde_json::Value, seen: &Seen, steps: &[Step]) -> Vec<String> {
    let versions = |key: &str| -> Vec<String> {
        let mut out: Vec<String> = doc[key]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e["version"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    let clean: Vec<String> = seen.clean_versions().into_iter().collect();
    let dirty: Vec<String> = seen.dirty_versions().into_iter().collect();
    let pending: Vec<String> = steps
        .iter()
        .map(|s| s.version.clone())
        .filter(|v| !seen.rows.contains_key(v))
        .collect();
    let mut problems = Vec::new();
    if doc["stopped_drop"].is_null() == seen.stopped_drop {
        problems.push(format!(
            "`tt status` says stopped_drop {}, the tracking table's mark is {}",
            doc["stopped_drop"],
            if seen.stopped_drop { "there" } else { "absent" }
        ));
    }
    for (key, truth) in [("applied", clean), ("dirty", dirty), ("pending", pending)] {
        let said = versions(key);
        if said != truth {
            problems.push(format!(
                "`tt status` says {key} {said:?}, the database has {truth:?}"
            ));
        }
    }
    problems
}

fn expect_success(problems: &mut Vec<String>, who: &str, cmd: Cmd, done: Finished) {
    if !done.ok() {
        problems.push(format!("{who} (`tt {}`) {}", cmd.name(), done.tail()));
    }
}

/// Interrupted by SIGINT, tt must say so and exit 130 (or have finished already).
pub(crate) fn check_interrupted(problems: &mut Vec<String>, done: &Finished) {
    match done.status.code() {
        Some(0) => {}
        Some(130) if done.stderr.contains("interrupted") => {}
        Some(130) => problems.push("exited 130 on SIGINT without saying it was interrupted".into()),
        Some(code) => problems.push(format!(
            "exited {code} on SIGINT instead of 130: {}",
            done.tail()
        )),
        // Before tt installs its handler (its first milliseconds) the signal's default
        // action ends it; it had printed nothing and touched no database then.
        None if done.stdout.is_empty() => {}
        None => problems.push("died of SIGINT instead of handling it (exit 130)".into()),
    }
}

/// The tt binary pointed at one scenario's database and directory.
pub(crate) struct Tt<'a> {
    pub(crate) bin: &'a Path,
    pub(crate) dir: &'a Path,
    pub(crate) url: &'a str,
}

impl Tt<'_> {
    pub(crate) fn spawn(&self, args: &[&str], label: &str) -> Result<Running> {
        self.spawn_waiting(args, label, LOCK_TIMEOUT)
    }

    /// Starts tt with `args`, waiting up to `lock_timeout` seconds for the lock.
    pub(crate) fn spawn_waiting(
        &self,
        args: &[&str],
        label: &str,
        lock_timeout: &str,
    ) -> Result<Running> {
        let out = self.dir.join(format!("{label}.out"));
        let err = self.dir.join(format!("{label}.err"));
        let child = Command::new(self.bin)
            .args(args)
            .args(["--database-url", self.url, "--lock-timeout", lock_timeout])
            .current_dir(self.dir)
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&out)?)
            .stderr(File::create(&err)?)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        Ok(Running {
            child,
            out,
            err,
            started: Instant::now(),
        })
    }

    pub(crate) fn run_to_end(&self, args: &[&str], label: &str) -> Result<Finished> {
        self.spawn(args, label)?.wait()
    }
}

/// A tt process of a scenario, its output going to files in the scenario's directory.
pub(crate) struct Running {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    started: Instant,
}

impl Running {
    /// Sends `sig` after `delay` unless the process ended first; whether it was sent.
    pub(crate) fn signal_after(&mut self, sig: Sig, delay: Duration) -> Result<bool> {
        let until = self.started + delay;
        while Instant::now() < until {
            if self.child.try_wait()?.is_some() {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.child.try_wait()?.is_some() {
            return Ok(false);
        }
        match sig {
            Sig::Kill => self.child.kill()?,
            Sig::Int => {
                let status = Command::new("kill")
                    .args(["-INT", &self.child.id().to_string()])
                    .status()?;
                anyhow::ensure!(status.success(), "kill -INT failed");
            }
        }
        Ok(true)
    }

    pub(crate) fn wait(mut self) -> Result<Finished> {
        let hung = loop {
            if let Some(_status) = self.child.try_wait()? {
                break false;
            }
            if self.started.elapsed() > HANG {
                self.child.kill()?;
                break true;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let status = self.child.wait()?;
        Ok(Finished {
            status,
            hung,
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        })
    }
}

/// How a tt process ended and what it printed.
pub(crate) struct Finished {
    status: ExitStatus,
    hung: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    /// A process that exited 0 having printed `stdout` and `stderr`.
    #[cfg(test)]
    pub(crate) fn for_test(stdout: &str, stderr: &str) -> Self {
        use std::os::unix::process::ExitStatusExt as _;
        Self {
            status: ExitStatus::from_raw(0),
            hung: false,
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
        }
    }

    pub(crate) fn ok(&self) -> bool {
        !self.hung && self.status.success()
    }

    /// The exit and the first error line, to name a failure in one line.
    pub(crate) fn tail(&self) -> String {
        if self.hung {
            return format!("hung for over {} s and was killed", HANG.as_secs());
        }
        let error = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .or_else(|| self.stderr.lines().rfind(|l| !l.trim().is_empty()))
            .unwrap_or("")
            .trim();
        let exit = match self.status.code() {
            Some(code) => format!("exited {code}"),
            None => "died of a signal".to_string(),
        };
        format!("{exit}: {error}")
    }
}
