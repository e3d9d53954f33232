//! `--schemas GLOB` and `--targets FILE`: one command over many schemas, databases and
//! servers, at most `--jobs` at a time, with one report (docs/user-guide.md, "Many schemas and
//! databases").

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use tt_migrate::{
    Database, DirtyResolution, DropOptions, Fleet, Layout, MigrationSet, Migrator, PlanOptions,
    RepairOptions, ResetOptions, RunError, SCRATCH_PREFIX, Status, Target, Version, detect_tool,
    glob_matches, list_schemas,
};
use tt_verify::{CheckId, VerifyOptions};

use crate::cli::{Command, DirtyAs, FleetArgs};
use crate::commands::down;
use crate::commands::verify::{Snapshot, expected_json, expected_source};
use crate::commands::{Context, Refused, ask, confirm};
use crate::exit::Exit;
use crate::outcome::{Direction, ErrorJson, RunDocument};
use crate::output::{BAD, BOLD, DIM, GOOD, WARN, paint, table};
use crate::progress::duration;

/// The commands that take many targets.
const FLEET_COMMANDS: &str = "migrate, status, verify, down, baseline, repair and reset";

/// How one target ended.
#[derive(Debug, Default)]
struct Outcome {
    /// Migrations applied before and after, and pending after.
    before: Option<usize>,
    after: Option<usize>,
    pending: Option<usize>,
    /// A word for the STATE column.
    state: String,
    /// An error stopped the target.
    failed: bool,
    /// A check of `tt verify` (or a reset's) failed.
    unverified: bool,
    /// The first line of the error.
    error: Option<String>,
    /// The target's JSON document, as the command prints for one target.
    document: Value,
    /// Where migrations stand (`tt status`), for the matrix.
    status: Option<Status>,
    elapsed_ms: i64,
}

impl Outcome {
    fn failed(error: &anyhow::Error, document: Value) -> Self {
        let message = error.chain().map(ToString::to_string).collect::<Vec<_>>();
        let mut document = document;
        if document.get("error").is_none() {
            document["error"] =
                serde_json::to_value(ErrorJson::message(message.join(": "))).unwrap_or_default();
        }
        // The first line of what tt says, and of what the server (the last cause) said.
        let first = |text: &str| text.lines().next().unwrap_or_default().to_string();
        let mut short = first(&message[0]);
        if let Some(cause) = error.chain().last().map(ToString::to_string)
            && message.len() > 1
        {
            short = format!("{short}: {}", first(&cause));
        } else if let Some(tt_migrate::Error::Statement(failure)) = error
            .downcast_ref::<tt_migrate::RunError>()
            .map(|e| &e.error)
        {
            short = format!("{short}: {}", first(&failure.message));
        }
        Self {
            state: "failed".into(),
            failed: true,
            error: Some(short),
            document,
            ..Self::default()
        }
    }
}

/// The targets a command line names: every schema matching `--schemas`, or the entries of
/// `--targets`.
async fn targets(ctx: &Context, cwd: &Path, args: &FleetArgs) -> Result<Vec<Target>> {
    if let Some(pattern) = &args.schemas {
        let url = &ctx.config.database_url.value;
        let mut db = Database::connect(url, ctx.config.connect_options()).await?;
        let all = list_schemas(&mut db).await;
        let _ = db.close().await;
        let targets: Vec<Target> = all?
            .into_iter()
            .filter(|name| !name.starts_with(SCRATCH_PREFIX) && glob_matches(pattern, name))
            .map(|name| Target::in_schema(url.clone(), name))
            .collect();
        if targets.is_empty() {
            bail!(
                "no schema of {} matches --schemas '{pattern}'",
                tt_migrate::redact_url(url)
            );
        }
        return Ok(targets);
    }
    let Some(file) = &args.targets else {
        bail!("--schemas or --targets names the targets");
    };
    let env = |name: &str| std::env::var(name).ok();
    read_targets(&cwd.join(file), &env)
}

/// A `--targets` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    target: Vec<TargetEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    name: String,
    url: String,
    schema: Option<String>,
    /// The environment variable holding the password, set into the URL.
    password_env: Option<String>,
}

/// Reads a targets file: `${VAR}` in a URL is replaced by the variable's value, and
/// `password_env` sets the URL's password, so that no password needs to be in the file.
fn read_targets(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Target>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the targets file {}", path.display()))?;
    let file: TargetsFile = toml::from_str(&text).map_err(|error| {
        let line = error
            .span()
            .map(|span| format!(":{}", text[..span.start].matches('\n').count() + 1))
            .unwrap_or_default();
        anyhow::anyhow!("{}{line}: {}", path.display(), error.message().trim_end())
    })?;
    if file.target.is_empty() {
        bail!(
            "{}: no targets (each is a [[target]] table with name and url)",
            path.display()
        );
    }
    let mut seen = BTreeSet::new();
    let mut targets = Vec::new();
    for entry in file.target {
        let at = format!("{}: target `{}`", path.display(), entry.name);
        if entry.name.trim().is_empty() {
            bail!("{}: a target has an empty name", path.display());
        }
        if !seen.insert(entry.name.clone()) {
            bail!("{at} is listed twice");
        }
        let mut url = interpolate(&entry.url, env).map_err(|var| {
            anyhow::anyhow!("{at}: the url names ${{{var}}}, which is not set in the environment")
        })?;
        if let Some(var) = &entry.password_env {
            let Some(password) = env(var) else {
                bail!("{at}: password_env names {var}, which is not set in the environment");
            };
            let mut parsed = url::Url::parse(&url)
                .map_err(|error| anyhow::anyhow!("{at}: the url is not a URL ({error})"))?;
            if parsed.set_password(Some(&password)).is_err() {
                bail!("{at}: the url cannot hold a password");
            }
            url = parsed.into();
        }
        tt_migrate::backend_of_url(&url).map_err(|error| anyhow::anyhow!("{at}: {error}"))?;
        let target = match entry.schema {
            Some(schema) => Target::in_schema(url, schema),
            None => Target::new(url),
        };
        targets.push(target.named(entry.name));
    }
    Ok(targets)
}

/// `text` with every `${VAR}` replaced; `Err(VAR)` names a variable that is not set.
fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let var = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        out.push_str(&env(var).ok_or_else(|| var.to_string())?);
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs `command` on every target.
pub(crate) async fn run(
    ctx: &Context,
    cwd: &Path,
    args: &FleetArgs,
    command: Command,
) -> Result<Exit> {
    let name = match &command {
        Command::Migrate(_) => "migrate",
        Command::Status => "status",
        Command::Verify(_) => "verify",
        Command::Down(_) => "down",
        Command::Baseline(_) => "baseline",
        Command::Repair(_) => "repair",
        Command::Reset(_) => "reset",
        _ => bail!(
            "--schemas and --targets work with {FLEET_COMMANDS}; this command takes --schema NAME"
        ),
    };
    let targets = targets(ctx, cwd, args).await?;
    let set = ctx.migrations()?;
    let fleet = Fleet::new(&targets, ctx.config.connect_options())
        .jobs(args.jobs.map_or(1, usize::from))
        .fail_fast(args.fail_fast)
        .create_schemas(ctx.create_schema);
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let list = names.join(", ");
    let count = targets.len();
    // Destructive commands: every target must allow it, and one answer covers them all.
    match &command {
        Command::Reset(reset) => {
            if !reset.safety.allow_protected {
                refuse_if_any_protected(&fleet).await?;
            }
            confirm(
                ctx,
                &format!(
                    "Drop the managed tables of {count} target(s) ({list}) and apply {} migration(s) to each?",
                    set.len()
                ),
            )?;
        }
        Command::Down(down) if !down.dry_run => confirm(
            ctx,
            &format!("Roll back migrations of {count} target(s) ({list})?"),
        )?,
        Command::Repair(repair) if !repair.dry_run && !ctx.yes => {
            let question = format!("Change the tracking rows of {count} target(s) ({list})?");
            ask(&question).unwrap_or_else(|| {
                Err(Refused(format!(
                    "tt repair would change tracking rows of {count} target(s); there is no \
                     terminal to confirm on: run it again with --yes"
                ))
                .into())
            })?;
        }
        _ => {}
    }
    let out = ctx.output;
    out.line(format!(
        "tt {name} on {} target(s), {} at a time",
        paint(BOLD, count),
        args.jobs.unwrap_or(1)
    ));
    let progress = Mutex::new(Tally::default());
    let started = Instant::now();
    let outcomes: Vec<Option<Outcome>> = fleet
        .each(async |index, target| {
            // After Ctrl-C no target starts: it is reported not started.
            if crate::interrupt::received().is_some() {
                return (None, false);
            }
            progress_started(&progress);
            let begun = Instant::now();
            let mut outcome = match fleet.connect(target).await {
                Ok(db) if crate::interrupt::received().is_some() => {
                    fleet.done_with(db, false).await;
                    progress_not_started(&progress);
                    return (None, false);
                }
                Ok(mut db) => {
                    if let Ok(canceller) = db.canceller().await {
                        crate::interrupt::register(canceller);
                    }
                    let outcome = one(ctx, &set, &command, &mut db).await;
                    fleet.done_with(db, !outcome.failed).await;
                    outcome
                }
                Err(error) => Outcome::failed(&error.into(), json!({})),
            };
            if outcome.failed && crate::interrupt::received().is_some() {
                outcome.state = "interrupted".into();
            }
            outcome.elapsed_ms = begun.elapsed().as_millis() as i64;
            outcome.document["target"] = json!(target.name);
            progress_finished(ctx, &progress, count, &targets[index].name, &outcome);
            let failed = outcome.failed || outcome.unverified;
            (Some(outcome), failed)
        })
        .await
        .into_iter()
        .map(Option::flatten)
        .collect();
    report(
        ctx,
        &command,
        &targets,
        outcomes,
        started.elapsed().as_millis() as i64,
    )
}

/// Refuses (exit 4) when any target is marked protected, naming them all.
async fn refuse_if_any_protected(fleet: &Fleet<'_>) -> Result<()> {
    let marks = fleet
        .each(async |_, target| {
            let result = async {
                let mut db = fleet.connect(target).await?;
                let mark = tt_migrate::protection(&mut db).await;
                fleet.done_with(db, mark.is_ok()).await;
                anyhow::Ok(mark?.is_some())
            }
            .await;
            (result, false)
        })
        .await;
    let mut protected = Vec::new();
    for (target, mark) in fleet.targets().iter().zip(marks) {
        if let Some(result) = mark
            && result.with_context(|| format!("target {}", target.name))?
        {
            protected.push(target.name.clone());
        }
    }
    if !protected.is_empty() {
        return Err(Refused(format!(
            "{} target(s) are protected ({}): reset refuses to run on the list; pass \
             --allow-protected if you really mean it",
            protected.len(),
            protected.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// Counts for the live progress line.
#[derive(Debug, Default)]
struct Tally {
    running: usize,
    done: usize,
    failed: usize,
}

fn progress_started(tally: &Mutex<Tally>) {
    if let Ok(mut tally) = tally.lock() {
        tally.running += 1;
    }
}

/// A target connected, then not started after all (a signal came meanwhile).
fn progress_not_started(tally: &Mutex<Tally>) {
    if let Ok(mut tally) = tally.lock() {
        tally.running = tally.running.saturating_sub(1);
    }
}

fn progress_finished(
    ctx: &Context,
    tally: &Mutex<Tally>,
    total: usize,
    name: &str,
    outcome: &Outcome,
) {
    let Ok(mut tally) = tally.lock() else {
        return;
    };
    tally.running = tally.running.saturating_sub(1);
    tally.done += 1;
    if outcome.failed || outcome.unverified {
        tally.failed += 1;
    }
    if ctx.output.human() {
        let state = if outcome.failed {
            paint(BAD, &outcome.state)
        } else if outcome.unverified {
            paint(WARN, &outcome.state)
        } else {
            paint(GOOD, &outcome.state)
        };
        let mut stderr = anstream::stderr();
        let _ = writeln!(
            stderr,
            "[{}/{total} done, {} running, {} failed] {name}: {state} {}",
            tally.done,
            tally.running,
            tally.failed,
            paint(DIM, duration(outcome.elapsed_ms))
        );
    }
}

/// The command's work on one connected target.
async fn one(ctx: &Context, set: &MigrationSet, command: &Command, db: &mut Database) -> Outcome {
    let mut outcome = Outcome::default();
    if let Err((error, document)) = work(ctx, set, command, db, &mut outcome).await {
        let before = outcome.before;
        outcome = Outcome::failed(&error, document);
        outcome.before = before;
        // What the target holds now, where the connection still answers.
        let migrator = Migrator::for_set(set).tracking(ctx.config.tracking());
        if before.is_some()
            && let Ok(after) = migrator.status(db).await
        {
            outcome.after = Some(after.applied.len());
            outcome.pending = Some(pending(&after));
        }
    }
    outcome
}

type Failure = (anyhow::Error, Value);

/// The JSON of a target's failed run or rollback: what it did, the error, the database.
fn failed_run(
    backend: tt_schema::Backend,
    direction: Direction,
    failed: &RunError,
    database: &str,
) -> Value {
    let mut document = serde_json::to_value(RunDocument::new(backend, direction, &failed.applied))
        .unwrap_or_default();
    document["error"] = serde_json::to_value(ErrorJson::new(&failed.error)).unwrap_or_default();
    document["database"] = json!(database);
    document
}

fn plain(error: impl Into<anyhow::Error>) -> Failure {
    (error.into(), json!({}))
}

async fn work(
    ctx: &Context,
    set: &MigrationSet,
    command: &Command,
    db: &mut Database,
    outcome: &mut Outcome,
) -> Result<(), Failure> {
    let tracking = ctx.config.tracking();
    let backend = db.backend();
    let database = db.redacted_url().to_string();
    let migrator = Migrator::for_set(set).tracking(tracking.clone());
    let before = migrator.status(db).await.map_err(plain)?;
    outcome.before = Some(before.applied.len());
    let mut document = match command {
        Command::Status => {
            let document = json!({ "database": database });
            let mut document = merge(document, &before);
            document["backend"] = json!(backend);
            outcome.state = status_word(&before);
            outcome.after = outcome.before;
            outcome.pending = Some(pending(&before));
            outcome.status = Some(before);
            outcome.document = document;
            return Ok(());
        }
        Command::Migrate(args) => {
            let plan = PlanOptions {
                target: args
                    .to
                    .clone()
                    .map(Version::new)
                    .transpose()
                    .map_err(plain)?,
                allow_out_of_order: args.allow_out_of_order,
            };
            let migrator = migrator.clone().plan_options(plan);
            if args.dry_run {
                let report = migrator.dry_run(db).await.map_err(plain)?;
                outcome.state = format!("{} would run", report.applied.len());
                serde_json::to_value(
                    RunDocument::new(backend, Direction::Up, &report.applied).dry_run(),
                )
                .unwrap_or_default()
            } else {
                match migrator.run(db, &mut |_| {}).await {
                    Ok(report) => {
                        outcome.state = if report.applied.is_empty() {
                            "up to date".into()
                        } else {
                            format!("applied {}", report.applied.len())
                        };
                        serde_json::to_value(RunDocument::new(
                            backend,
                            Direction::Up,
                            &report.applied,
                        ))
                        .unwrap_or_default()
                    }
                    Err(failed) => {
                        let document = failed_run(backend, Direction::Up, &failed, &database);
                        return Err((failed.into(), document));
                    }
                }
            }
        }
        Command::Down(args) => {
            let options = down::options(args).map_err(plain)?;
            match migrator.down(db, &options, &mut |_| {}).await {
                Ok(report) => {
                    outcome.state = if args.dry_run {
                        format!("{} would roll back", report.rolled_back.len())
                    } else {
                        format!("rolled back {}", report.rolled_back.len())
                    };
                    let mut document = serde_json::to_value(&report).unwrap_or_default();
                    document["backend"] = json!(backend);
                    document
                }
                Err(failed) => {
                    let document = failed_run(backend, Direction::Down, &failed, &database);
                    return Err((failed.into(), document));
                }
            }
        }
        Command::Baseline(args) => {
            let report = match (&args.version, args.from_tool.as_deref()) {
                (Some(version), _) => {
                    let version = Version::new(version.as_str()).map_err(plain)?;
                    migrator.baseline(db, &version).await.map_err(plain)?
                }
                (None, Some(tool)) => {
                    let tool = match tool {
                        "detected" => detect_tool(db, set.layout()).await.map_err(plain)?,
                        name => name.parse::<Layout>().map_err(plain)?,
                    };
                    if tool == Layout::Native {
                        return Err(plain(anyhow::anyhow!(
                            "tt's own layout has no other tool's table: name the tool to import from"
                        )));
                    }
                    migrator.baseline_from_tool(db, tool).await.map_err(plain)?
                }
                (None, None) => {
                    return Err(plain(anyhow::anyhow!("give a version, or --from-tool")));
                }
            };
            outcome.state = format!("recorded {}", report.recorded.len());
            let mut document = serde_json::to_value(&report).unwrap_or_default();
            document["backend"] = json!(backend);
            document
        }
        Command::Repair(args) => {
            let dirty = match args.dirty_as {
                DirtyAs::Applied => DirtyResolution::Applied,
                DirtyAs::Pending => DirtyResolution::Pending,
            };
            let options = RepairOptions {
                dirty,
                dry_run: args.dry_run,
            };
            let report = migrator.repair(db, options).await.map_err(plain)?;
            let rows = report.dirty.len() + report.checksums.len();
            outcome.state = match (rows, args.dry_run) {
                (0, _) => "nothing to repair".into(),
                (_, true) => format!("{rows} row(s) would change"),
                (_, false) => format!("repaired {rows} row(s)"),
            };
            serde_json::to_value(&report).unwrap_or_default()
        }
        Command::Reset(args) => {
            let migrator = Migrator::new(set.with_repeatable()).tracking(tracking.clone());
            let options = ResetOptions {
                drop: DropOptions {
                    cascade: args.cascade,
                    allow_protected: args.safety.allow_protected,
                    exactly_as_planned: false,
                },
                recreate_whole_database: false,
            };
            match migrator.reset(db, options, &mut |_| {}).await {
                Ok(report) => {
                    let verified = crate::commands::reset::verify_after(ctx, set, db)
                        .await
                        .map_err(|e| (e, json!({})))?;
                    outcome.unverified = !verified.ok || !report.missing_tables.is_empty();
                    outcome.state = if outcome.unverified {
                        "verification failed".into()
                    } else {
                        format!("reset, applied {}", report.applied.len())
                    };
                    json!({
                        "applied": report.applied,
                        "backend": backend,
                        "dropped": report.dropped.dropped,
                        "missing_tables": report.missing_tables,
                        "recreated": report.recreated,
                        "tables": report.tables,
                        "verify": verified,
                    })
                }
                Err(error) => {
                    let document = json!({
                        "applied": error.applied,
                        "backend": backend,
                        "error": ErrorJson::new(&error.error).with_state(error.state()),
                        "stage": error.stage,
                    });
                    return Err((error.into(), document));
                }
            }
        }
        Command::Verify(args) => {
            let checks = if args.checks.is_empty() {
                CheckId::ALL.to_vec()
            } else {
                args.checks.clone()
            };
            let snapshot = Snapshot::choose(ctx, &args.expected).map_err(|e| (e, json!({})))?;
            let options = VerifyOptions {
                checks: &checks,
                migrations: set.with_repeatable(),
                expected: expected_source(snapshot.as_ref(), Some(set)),
                tracking: &tracking,
                essential_tables: &ctx.config.essential_tables.value,
            };
            let report = tt_verify::verify(db, &options).await.map_err(plain)?;
            outcome.unverified = !report.ok;
            outcome.state = if report.ok {
                "verified".into()
            } else {
                let failed: Vec<&str> = report
                    .checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| c.id.as_str())
                    .collect();
                outcome.error = report
                    .checks
                    .iter()
                    .find(|c| !c.ok)
                    .map(|c| format!("{}: {}", c.id.as_str(), c.summary));
                format!("FAILED {}", failed.join(","))
            };
            let mut document = serde_json::to_value(&report).unwrap_or_default();
            document["backend"] = json!(backend);
            document["expected"] =
                serde_json::to_value(expected_json(snapshot.as_ref())).unwrap_or_default();
            document
        }
        _ => return Err(plain(anyhow::anyhow!("not a command of many targets"))),
    };
    let after = migrator.status(db).await.map_err(plain)?;
    outcome.after = Some(after.applied.len());
    outcome.pending = Some(pending(&after));
    document["database"] = json!(database);
    outcome.document = document;
    Ok(())
}

/// `document` with the members of `value` (an object) added.
fn merge(mut document: Value, value: &impl serde::Serialize) -> Value {
    if let (Some(object), Ok(Value::Object(members))) =
        (document.as_object_mut(), serde_json::to_value(value))
    {
        object.extend(members);
    }
    document
}

fn pending(status: &Status) -> usize {
    status.pending.len() + status.repeatable_pending.len()
}

/// One word for where a target stands.
fn status_word(status: &Status) -> String {
    if !status.dirty.is_empty() {
        "dirty".into()
    } else if !status.changed.is_empty() {
        "changed".into()
    } else if !status.missing.is_empty() {
        "missing file".into()
    } else if pending(status) > 0 {
        "pending".into()
    } else {
        "up to date".into()
    }
}

/// Prints the table (or the JSON array) and picks the exit code: 1 when any target failed, 3
/// when none failed but a verification did.
fn report(
    ctx: &Context,
    command: &Command,
    targets: &[Target],
    outcomes: Vec<Option<Outcome>>,
    elapsed_ms: i64,
) -> Result<Exit> {
    let out = ctx.output;
    let skipped = || Outcome {
        state: "not started".into(),
        document: json!({ "skipped": true }),
        ..Outcome::default()
    };
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .zip(targets)
        .map(|(outcome, target)| {
            let mut outcome = outcome.unwrap_or_else(skipped);
            outcome.document["target"] = json!(target.name);
            outcome
        })
        .collect();
    let failed = outcomes.iter().filter(|o| o.failed).count();
    let unverified = outcomes.iter().filter(|o| o.unverified).count();
    let not_started = outcomes.iter().filter(|o| o.state == "not started").count();
    out.json(&outcomes.iter().map(|o| &o.document).collect::<Vec<_>>())?;
    let number = |n: Option<usize>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .zip(targets)
        .map(|(o, target)| {
            let state = if o.failed {
                paint(BAD, &o.state)
            } else if o.unverified {
                paint(WARN, &o.state)
            } else {
                o.state.clone()
            };
            vec![
                target.name.clone(),
                format!("{} → {}", number(o.before), number(o.after)),
                number(o.pending),
                state,
                duration(o.elapsed_ms),
                o.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.lines(table(
        &[
            "TARGET",
            "APPLIED",
            "PENDING",
            "STATE",
            "TIME",
            "FIRST ERROR",
        ],
        &rows,
    ));
    if matches!(command, Command::Status) {
        matrix(ctx, targets, &outcomes);
    }
    let mut summary = vec![format!("{} target(s)", targets.len())];
    let ok = targets.len() - failed - unverified - not_started;
    summary.push(paint(GOOD, format!("{ok} ok")));
    let interrupted = outcomes.iter().filter(|o| o.state == "interrupted").count();
    if failed > interrupted {
        summary.push(paint(BAD, format!("{} failed", failed - interrupted)));
    }
    if interrupted > 0 {
        summary.push(paint(BAD, format!("{interrupted} interrupted")));
    }
    if unverified > 0 {
        summary.push(paint(WARN, format!("{unverified} failed verification")));
    }
    let why_not_started = if crate::interrupt::received().is_some() {
        "interrupted"
    } else {
        "--fail-fast"
    };
    if not_started > 0 {
        summary.push(format!("{not_started} not started ({why_not_started})"));
    }
    out.line(format!(
        "{} in {}",
        summary.join(", "),
        paint(DIM, duration(elapsed_ms))
    ));
    let finished = targets.len() - interrupted - not_started;
    if let Some(stopped) = crate::interrupt::Interrupted::by_signal_received(format!(
        "{interrupted} running target(s) stopped (each had its statement cancelled: its \
         migration rolled back, or marked dirty where it could not be, and its lock released), \
         {not_started} not started, {finished} finished before the signal; each target's \
         state is in the table"
    )) {
        return Err(stopped.into());
    }
    if failed > 0 {
        if !out.json {
            let mut stderr = anstream::stderr();
            let _ = writeln!(
                stderr,
                "{} {failed} of {} target(s) failed",
                paint(BAD, "error:"),
                targets.len()
            );
        }
        return Ok(Exit::Error);
    }
    Ok(if unverified > 0 {
        Exit::VerifyFailed
    } else {
        Exit::Success
    })
}

/// `tt status --schemas`: the versions whose state differs between targets, one column per
/// target, so that the ones lagging behind stand out.
fn matrix(ctx: &Context, targets: &[Target], outcomes: &[Outcome]) {
    let mut states: BTreeMap<Version, BTreeMap<usize, &'static str>> = BTreeMap::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        let Some(status) = &outcome.status else {
            continue;
        };
        for a in &status.applied {
            states
                .entry(a.version.clone())
                .or_default()
                .insert(i, "applied");
        }
        for p in status.pending.iter().chain(&status.repeatable_pending) {
            states
                .entry(p.version.clone())
                .or_default()
                .insert(i, "pending");
        }
        for c in &status.changed {
            states
                .entry(c.version.clone())
                .or_default()
                .insert(i, "changed");
        }
        for (rows, word) in [(&status.missing, "missing"), (&status.dirty, "dirty")] {
            for row in rows {
                if let Ok(version) = Version::new(row.version.as_str()) {
                    states.entry(version).or_default().insert(i, word);
                }
            }
        }
    }
    let read: Vec<usize> = (0..targets.len())
        .filter(|i| outcomes[*i].status.is_some())
        .collect();
    let differing: Vec<(&Version, &BTreeMap<usize, &str>)> = states
        .iter()
        .filter(|(_, by_target)| {
            let first = read.first().and_then(|i| by_target.get(i));
            read.iter().any(|i| by_target.get(i) != first)
        })
        .collect();
    let out = ctx.output;
    if differing.is_empty() {
        out.line(paint(
            DIM,
            format!("all {} target(s) read agree on every version", read.len()),
        ));
        return;
    }
    out.line(String::new());
    out.line(format!(
        "{} version(s) differ between targets:",
        differing.len()
    ));
    let mut header = vec!["TARGET"];
    let versions: Vec<String> = differing.iter().map(|(v, _)| v.to_string()).collect();
    header.extend(versions.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = read
        .iter()
        .map(|&i| {
            let mut row = vec![targets[i].name.clone()];
            for (_, by_target) in &differing {
                let word = by_target.get(&i).copied().unwrap_or("-");
                row.push(match word {
                    "applied" => paint(GOOD, "applied"),
                    "pending" => paint(WARN, "pending"),
                    "-" => paint(DIM, "-"),
                    other => paint(BAD, other),
                });
            }
            row
        })
        .collect();
    out.lines(table(&header, &rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "EU_PASSWORD" => Some("s3cr:t/@".into()),
            "HOST" => Some("db.example".into()),
            _ => None,
        }
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_targets_file_takes_passwords_from_the_environment() {
        let (_dir, path) = write(
            "[[target]]\nname = \"eu\"\nurl = \"postgres://app@${HOST}:5432/app\"\n\
             schema = \"tenant_1\"\npassword_env = \"EU_PASSWORD\"\n\n\
             [[target]]\nname = \"local\"\nurl = \"mysql://root@127.0.0.1/app\"\n",
        );
        let targets = read_targets(&path, &env).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].name, "eu");
        assert_eq!(targets[0].schema.as_deref(), Some("tenant_1"));
        assert_eq!(
            targets[0].url,
            "postgres://app:s3cr%3At%2F%40@db.example:5432/app"
        );
        assert_eq!(targets[1].schema, None);
        assert_eq!(targets[1].url, "mysql://root@127.0.0.1/app");
    }

    #[test]
    fn a_targets_file_names_what_is_wrong() {
        let cases = [
            ("", "no targets"),
            (
                "[[target]]\nname = \"a\"\nurl = \"postgres://x@${NOPE}/db\"\n",
                "target `a`: the url names ${NOPE}, which is not set",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"postgres://x/db\"\npassword_env = \"NOPE\"\n",
                "target `a`: password_env names NOPE, which is not set",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"postgres://x/db\"\n[[target]]\nname = \"a\"\nurl = \"postgres://y/db\"\n",
                "target `a` is listed twice",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"oracle://x/db\"\n",
                "target `a`: unsupported database url",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"postgres://x/db\"\nshema = \"s\"\n",
                "targets.toml:4: unknown field `shema`",
            ),
        ];
        for (text, expected) in cases {
            let (_dir, path) = write(text);
            let error = read_targets(&path, &env).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error:?} should say {expected:?}"
            );
        }
    }
}
