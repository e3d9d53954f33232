//! `tt reset` and `tt recreate`: start the database over from the migrations.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use tt_migrate::{
    Applied, Dependent, DropOptions, MigrationSet, Migrator, ResetOptions, ResetStage, count_rows,
    plan_drop,
};
use tt_schema::Backend;
use tt_verify::{CheckId, Report, VerifyOptions};

use crate::cli::{ExpectedArgs, SafetyArgs};
use crate::commands::drop::{cascaded, question};
use crate::commands::verify::{Snapshot, expected_source};
use crate::commands::{Context, JsonShown, confirm, refuse_if_protected};
use crate::exit::Exit;
use crate::outcome::ErrorJson;
use crate::output::{BAD, BOLD, DIM, GOOD, paint};
use crate::progress::{Progress, duration};

/// The JSON document of a reset or recreate that went through.
#[derive(Debug, Serialize)]
struct ResetDocument<'a> {
    applied: &'a [Applied],
    backend: Backend,
    cascaded: &'a [Dependent],
    dropped: &'a [String],
    elapsed_ms: i64,
    left_in_place: &'a [Dependent],
    missing_tables: &'a [String],
    recreated: bool,
    tables: usize,
    verify: &'a Report,
}

/// The JSON document of a reset or recreate that failed.
#[derive(Debug, Serialize)]
struct ResetFailedDocument<'a> {
    applied: &'a [Applied],
    backend: Backend,
    error: ErrorJson,
    stage: ResetStage,
}

pub(crate) async fn run(
    ctx: &Context,
    cascade: bool,
    safety: SafetyArgs,
    recreate: bool,
) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let tracking = ctx.config.tracking();
    let out = ctx.output;
    let database = db.redacted_url().to_string();
    refuse_if_protected(&mut db, &safety).await?;
    // The plan the user confirms; under the lock the reset makes it again and refuses if it
    // grew. With --yes nothing but "the managed tables" was confirmed.
    let mut confirmed = None;
    if !ctx.yes {
        let plan = plan_drop(&mut db, set.with_repeatable(), &tracking).await?;
        let question = if recreate {
            let tables: Vec<String> = plan
                .tables
                .iter()
                .chain(&plan.untouched)
                .chain(&plan.tracking_table)
                .cloned()
                .collect();
            let rows = count_rows(&mut db, &tables).await?;
            format!(
                "Empty the whole database {database} ({} table(s) holding {rows} row(s), views and routines too) and apply {} migration(s)?",
                tables.len(),
                set.len()
            )
        } else {
            let rows = count_rows(&mut db, &plan.tables).await?;
            format!(
                "{} Then apply {} migration(s).",
                question("Drop", &plan, rows, &database),
                set.len()
            )
        };
        confirm(ctx, &question)?;
        confirmed = Some(plan);
    }
    let started = Instant::now();
    let verb = if recreate { "Recreating" } else { "Resetting" };
    out.line(format!(
        "{verb} {} ({})",
        paint(BOLD, &database),
        db.backend()
    ));
    let migrator = Migrator::new(set.with_repeatable())
        .tracking(tracking)
        .jobs(ctx.config.jobs(ctx.jobs));
    let options = ResetOptions {
        drop: DropOptions {
            cascade,
            allow_protected: safety.allow_protected,
            // The reset makes its plan again under the lock: what was confirmed at the prompt
            // must still cover it.
            exactly_as_planned: !ctx.yes,
        },
        recreate_whole_database: recreate,
    };
    let mut progress = Progress::new(out);
    let result = migrator
        .reset_holding_lock(&mut db, options, confirmed.as_ref(), &mut |event| {
            progress.on_event(event)
        })
        .await;
    progress.finish();
    let elapsed = started.elapsed().as_millis() as i64;
    // The final check runs under the reset's lock too, so it sees no other runner's work.
    let result = match result {
        Ok(report) => {
            let verified = verify_after(ctx, &set, &mut db).await;
            migrator
                .finish_reset(&mut db, report)
                .await
                .map(|report| (report, verified))
        }
        Err(error) => Err(error),
    };
    match result {
        Ok((report, verified)) => {
            let tables = report.tables;
            let verified = verified?;
            out.json(&ResetDocument {
                applied: &report.applied,
                backend: db.backend(),
                cascaded: &report.dropped.cascaded,
                dropped: &report.dropped.dropped,
                elapsed_ms: elapsed,
                left_in_place: &report.dropped.left_in_place,
                missing_tables: &report.missing_tables,
                recreated: report.recreated,
                tables,
                verify: &verified,
            })?;
            let _ = db.close().await;
            cascaded(ctx, &report.dropped);
            for check in verified.checks.iter().filter(|c| !c.ok) {
                out.line(format!(
                    "{} {}: {}",
                    paint(BAD, "Verification failed:"),
                    check.id.as_str(),
                    check.summary
                ));
                for problem in &check.problems {
                    out.line(format!("    {problem}"));
                }
            }
            if !verified.ok {
                return Ok(Exit::VerifyFailed);
            }
            if !report.missing_tables.is_empty() {
                out.line(format!(
                    "{} managed table(s) missing after the migrations: {}",
                    paint(BAD, "Verification failed:"),
                    report.missing_tables.join(", ")
                ));
                return Ok(Exit::VerifyFailed);
            }
            let checks: Vec<&str> = verified.checks.iter().map(|c| c.id.as_str()).collect();
            out.line(format!(
                "{} {tables} tables, {} migration(s) applied, verified ({}), {}",
                paint(GOOD, "Done:"),
                report.applied.len(),
                checks.join(", "),
                paint(DIM, duration(elapsed))
            ));
            Ok(Exit::Success)
        }
        Err(error) => {
            if out.json {
                out.json(&ResetFailedDocument {
                    applied: &error.applied,
                    backend: db.backend(),
                    error: ErrorJson::new(&error.error).with_state(error.state()),
                    stage: error.stage,
                })?;
                return Err(JsonShown(error.into()).into());
            }
            Err(error.into())
        }
    }
}

/// The checks a reset ends with: the tracking table and the foreign keys always, the schema
/// when a `schema.toml` snapshot exists (without one, the expected schema would mean applying
/// every migration a second time, on a scratch database).
pub(crate) async fn verify_after(
    ctx: &Context,
    set: &MigrationSet,
    db: &mut tt_migrate::Database,
) -> Result<tt_verify::Report> {
    let snapshot = Snapshot::choose(ctx, &ExpectedArgs::default())?;
    let mut checks = vec![CheckId::Tracking, CheckId::Data];
    if snapshot.is_some() {
        checks.push(CheckId::Schema);
    }
    let tracking = ctx.config.tracking();
    let options = VerifyOptions {
        checks: &checks,
        migrations: set.with_repeatable(),
        expected: expected_source(snapshot.as_ref(), Some(set)),
        tracking: &tracking,
        essential_tables: &ctx.config.essential_tables.value,
    };
    Ok(tt_verify::verify(db, &options).await?)
}
