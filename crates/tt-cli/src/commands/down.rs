//! `tt down`: roll back applied migrations, newest first.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use tt_migrate::{DownOptions, DownReport, DownTarget, InvalidVersion, Migrator, Version};
use tt_schema::Backend;

use crate::cli::DownArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::outcome::{Direction, finish};
use crate::output::{BOLD, WARN, paint};
use crate::progress::Progress;

/// The JSON document of `tt down --dry-run`.
#[derive(Debug, Serialize)]
struct DownDocument<'a> {
    backend: Backend,
    #[serde(flatten)]
    report: &'a DownReport,
}

/// The rollback `args` ask for (also for each target of a run on many).
pub(crate) fn options(args: &DownArgs) -> Result<DownOptions, InvalidVersion> {
    let target = match (args.steps, &args.to, args.all) {
        (_, _, true) => DownTarget::All,
        (_, Some(to), false) => DownTarget::To(Version::new(to.as_str())?),
        (Some(steps), None, false) => DownTarget::Steps(steps),
        (None, None, false) => DownTarget::default(),
    };
    Ok(DownOptions {
        target,
        dry_run: args.dry_run,
    })
}

pub(crate) async fn run(ctx: &Context, args: DownArgs) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let options = options(&args)?;
    let migrator = Migrator::for_set(&set).tracking(ctx.config.tracking());
    let out = ctx.output;
    let where_ = format!("{} ({})", db.redacted_url(), db.backend());
    if args.dry_run {
        let report = migrator.down(&mut db, &options, &mut |_| {}).await?;
        out.json(&DownDocument {
            backend: db.backend(),
            report: &report,
        })?;
        if report.rolled_back.is_empty() {
            out.line(format!("Nothing would be rolled back in {where_}"));
        } else {
            out.line(format!(
                "Would roll back {} migration(s) in {where_}, newest first:",
                report.rolled_back.len()
            ));
            for migration in &report.rolled_back {
                out.line(format!("  {} {}", migration.version, migration.name));
            }
        }
        if let Some(blocked) = &report.stopped_before {
            let empty = set
                .get(&blocked.version)
                .is_some_and(|m| !m.empty_down.is_empty());
            let why = if empty {
                "its down is empty"
            } else {
                "it has no down file"
            };
            out.line(paint(
                WARN,
                format!(
                    "and stop before {} {}: {why}",
                    blocked.version, blocked.name
                ),
            ));
        }
        return Ok(Exit::Success);
    }
    let started = Instant::now();
    let mut progress = Progress::rolling_back(out);
    out.line(format!("Rolling back {}", paint(BOLD, &where_)));
    let result = migrator
        .down(&mut db, &options, &mut |event| progress.on_event(event))
        .await;
    progress.finish();
    let elapsed = started.elapsed().as_millis() as i64;
    let backend = db.backend();
    let _ = db.close().await;
    let result = result.map(|report| report.rolled_back);
    finish(out, backend, Direction::Down, result, elapsed)
}
