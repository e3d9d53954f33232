//! `tt repair`: settle dirty rows and record the checksums of changed applied files, after
//! confirmation.

use anyhow::Result;
use tt_migrate::{DirtyResolution, Migrator, RepairOptions, RepairReport};

use crate::cli::{DirtyAs, RepairArgs};
use crate::commands::{Context, Refused, ask};
use crate::exit::Exit;
use crate::output::{BAD, BOLD, DIM, GOOD, Output, paint, short_checksum};

pub(crate) async fn run(ctx: &Context, args: RepairArgs) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let migrator = Migrator::for_set(&set).tracking(ctx.config.tracking());
    let out = ctx.output;
    let dirty = match args.dirty_as {
        DirtyAs::Applied => DirtyResolution::Applied,
        DirtyAs::Pending => DirtyResolution::Pending,
    };
    let plan = migrator
        .repair(
            &mut db,
            RepairOptions {
                dirty,
                dry_run: true,
            },
        )
        .await?;
    let where_ = format!("{} ({})", db.redacted_url(), db.backend());
    if plan.is_empty() {
        // The plan was computed as a dry run; the document says what the user asked for.
        out.json(&RepairReport {
            dry_run: args.dry_run,
            ..plan.clone()
        })?;
        out.line(format!("Nothing to repair in {where_}"));
        return Ok(Exit::Success);
    }
    out.line(format!("Repair of {}:", paint(BOLD, &where_)));
    list(out, &plan);
    if args.dry_run {
        out.json(&plan)?;
        return Ok(Exit::Success);
    }
    if !ctx.yes {
        confirm(&where_, &plan)?;
    }
    let report = migrator
        .repair(
            &mut db,
            RepairOptions {
                dirty,
                dry_run: false,
            },
        )
        .await?;
    out.json(&report)?;
    out.line(format!(
        "{} {} tracking row(s)",
        paint(GOOD, "Repaired"),
        report.dirty.len() + report.checksums.len()
    ));
    let _ = db.close().await;
    Ok(Exit::Success)
}

/// One line per change.
fn list(out: Output, report: &RepairReport) {
    let becomes = match report.dirty_resolution {
        DirtyResolution::Applied => "clear the dirty mark: counts as applied",
        DirtyResolution::Pending => "delete the row: runs again",
    };
    for row in &report.dirty {
        out.line(format!(
            "  {} {} {}: {becomes}",
            paint(BAD, "dirty"),
            row.version,
            row.name.as_deref().unwrap_or_default()
        ));
    }
    for change in &report.checksums {
        let recorded = change
            .recorded
            .as_deref()
            .map_or_else(|| "none".to_string(), short_checksum);
        out.line(format!(
            "  {} {} {} ({}): {recorded} -> {}",
            paint(BAD, "checksum"),
            change.version,
            change.name,
            paint(DIM, change.path.display()),
            short_checksum(&change.actual)
        ));
    }
}

/// Asks on the terminal; without one, refuses (exit 4) naming `--yes`. Unlike the destructive
/// commands, `CI=true` is no answer: rewriting tracking rows is never routine.
fn confirm(where_: &str, report: &RepairReport) -> Result<()> {
    let count = report.dirty.len() + report.checksums.len();
    ask(&format!("Change {count} tracking row(s) of {where_}?")).unwrap_or_else(|| {
        Err(Refused(format!(
            "tt repair would change {count} tracking row(s) of {where_}; there is no terminal \
             to confirm on: run it again with --yes"
        ))
        .into())
    })
}
