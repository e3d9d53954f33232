//! `tt migrate`: apply pending migrations in order.

use std::time::Instant;

use anyhow::Result;
use tt_migrate::{Migrator, PlanOptions, Version};

use crate::cli::MigrateArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::outcome::{Direction, RunDocument, finish};
use crate::output::{BOLD, DIM, paint};
use crate::progress::Progress;

pub(crate) async fn run(ctx: &Context, args: MigrateArgs) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let plan = PlanOptions {
        target: args.to.map(Version::new).transpose()?,
        allow_out_of_order: args.allow_out_of_order,
    };
    let migrator = Migrator::for_set(&set)
        .tracking(ctx.config.tracking())
        .plan_options(plan)
        .jobs(ctx.config.jobs(ctx.jobs));
    let out = ctx.output;
    let target = format!("{} ({})", db.redacted_url(), db.backend());
    let jobs = migrator.jobs_on(&db);
    if jobs < ctx.config.jobs(ctx.jobs) {
        out.line(paint(
            DIM,
            format!(
                "{} has one writer: migrations run one at a time (--jobs 1)",
                db.backend()
            ),
        ));
    }
    if args.dry_run && jobs > 1 {
        let schedule = migrator.schedule(&mut db).await?;
        out.json(&schedule)?;
        if schedule.migrations.is_empty() {
            out.line(format!("{target} is up to date; nothing would run"));
        } else {
            out.line(format!(
                "Would apply {} migration(s) to {target}, up to {jobs} at a time, in {} wave(s):",
                schedule.migrations.len(),
                schedule.waves()
            ));
            out.line(schedule.to_text().trim_end());
        }
        return Ok(Exit::Success);
    }
    if args.dry_run {
        let report = migrator.dry_run(&mut db).await?;
        out.json(&RunDocument::new(db.backend(), Direction::Up, &report.applied).dry_run())?;
        if report.applied.is_empty() {
            out.line(format!("{target} is up to date; nothing would run"));
        } else {
            out.line(format!(
                "Would apply {} migration(s) to {target}:",
                report.applied.len()
            ));
            for applied in &report.applied {
                out.line(format!("  {} {}", applied.version, applied.name));
            }
        }
        return Ok(Exit::Success);
    }
    let started = Instant::now();
    let mut progress = Progress::new(out);
    out.line(format!("Migrating {}", paint(BOLD, &target)));
    // Migrations of a parallel run that started and did not commit (failed or cancelled).
    let mut stopped: Vec<tt_migrate::Version> = Vec::new();
    let result = migrator
        .run(&mut db, &mut |event| {
            if let tt_migrate::Event::Ended {
                migration,
                committed: false,
            } = &event
            {
                stopped.push(migration.version.clone());
            }
            progress.on_event(event)
        })
        .await;
    progress.finish();
    let elapsed = started.elapsed().as_millis() as i64;
    if jobs > 1
        && let Err(failed) = &result
        && out.human()
    {
        // Besides what committed and what failed: what started and rolled back (a cancel
        // stops those running), and what never started.
        if let Ok(status) = migrator.status(&mut db).await {
            let failed_version = match &failed.error {
                tt_migrate::Error::Statement(failure) => Some(&failure.version),
                tt_migrate::Error::Cancelled { version } => Some(version),
                _ => None,
            };
            let (rolled_back, not_started): (Vec<_>, Vec<_>) = status
                .pending
                .iter()
                .filter(|p| Some(&p.version) != failed_version)
                .partition(|p| stopped.contains(&p.version));
            for (what, list) in [("Rolled back", rolled_back), ("Not started", not_started)] {
                if !list.is_empty() {
                    let names: Vec<String> = list
                        .iter()
                        .map(|p| format!("{} {}", p.version, p.name))
                        .collect();
                    out.line(format!("{what} ({}): {}", names.len(), names.join(", ")));
                }
            }
        }
    }
    let backend = db.backend();
    let _ = db.close().await;
    finish(
        out,
        backend,
        Direction::Up,
        result.map(|r| r.applied),
        elapsed,
    )
}
