//! `tt migrate`: apply pending migrations in order.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use tt_migrate::{FailureOutcome, Migrator, PlanOptions, Version};

use crate::cli::MigrateArgs;
use crate::commands::{Context, mark_json_error_printed};
use crate::output::{BOLD, DIM, paint};
use crate::progress::{Progress, duration};

pub(crate) async fn run(ctx: &Context, args: MigrateArgs) -> Result<ExitCode> {
    let set = ctx.migrations()?;
    let mut db = ctx.connect().await?;
    let plan = PlanOptions {
        target: args.to.map(Version::new).transpose()?,
        allow_out_of_order: args.allow_out_of_order,
    };
    let migrator = Migrator::for_set(&set)
        .tracking(ctx.config.tracking())
        .plan_options(plan);
    let out = ctx.output;
    let target = format!("{} ({})", db.redacted_url(), db.backend());
    if args.dry_run {
        let report = migrator.dry_run(&mut db).await?;
        out.json(&json!({ "backend": db.backend(), "dry_run": true, "applied": report.applied }))?;
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
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let mut progress = Progress::new(out);
    out.line(format!("Migrating {}", paint(BOLD, &target)));
    let result = migrator
        .run(&mut db, &mut |event| progress.on_event(event))
        .await;
    progress.finish();
    let elapsed = started.elapsed().as_millis() as i64;
    match result {
        Ok(report) => {
            out.json(
                &json!({ "backend": db.backend(), "dry_run": false, "applied": report.applied }),
            )?;
            if report.applied.is_empty() {
                out.line("Already up to date: no pending migrations");
            } else {
                out.line(format!(
                    "Applied {} migration(s) in {}",
                    report.applied.len(),
                    paint(DIM, duration(elapsed))
                ));
            }
            let _ = db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if out.json {
                out.json(&json!({
                    "backend": db.backend(),
                    "dry_run": false,
                    "applied": error.applied,
                    "error": error_document(&error.error),
                }))?;
                mark_json_error_printed();
            } else if !error.applied.is_empty() {
                out.line(format!(
                    "Applied {} migration(s) before the failure",
                    error.applied.len()
                ));
            }
            Err(error.into())
        }
    }
}

/// The `error` member of the JSON document of a failed run: the message, and for a failing
/// statement where it is and what the server said, field by field.
fn error_document(error: &tt_migrate::Error) -> serde_json::Value {
    let mut document = json!({ "message": error.to_string() });
    if let tt_migrate::Error::Statement(failure) = error {
        document["failure"] = json!({
            "version": failure.version,
            "file": failure.path,
            "statement": failure.statement_number,
            "line": failure.line,
            "column": failure.column,
            "code": failure.code,
            "server_message": failure.message,
            "hint": failure.hint,
            "outcome": match failure.outcome {
                FailureOutcome::RolledBack => "rolled_back",
                FailureOutcome::Dirty => "dirty",
                FailureOutcome::StillApplied => "still_applied",
                FailureOutcome::PartlyRolledBack => "partly_rolled_back",
            },
        });
    }
    document
}
