//! `tt drop`: drop the managed tables in foreign-key order.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use tt_migrate::{DropOptions, DropPlan, DropReport, count_rows, drop_managed_tables, plan_drop};

use crate::cli::DropArgs;
use crate::commands::{Context, confirm, refuse_if_protected};
use crate::exit::Exit;
use crate::output::{BOLD, DIM, GOOD, WARN, paint};
use crate::progress::duration;

/// The JSON document of `tt drop --dry-run`.
#[derive(Debug, Serialize)]
struct DryRunDocument<'a> {
    dry_run: bool,
    plan: &'a DropPlan,
}

/// The JSON document of `tt drop`.
#[derive(Debug, Serialize)]
struct DropDocument<'a> {
    dry_run: bool,
    #[serde(flatten)]
    report: &'a DropReport,
}

pub(crate) async fn run(ctx: &Context, args: DropArgs) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let tracking = ctx.config.tracking();
    let plan = plan_drop(&mut db, set.with_repeatable(), &tracking).await?;
    let out = ctx.output;
    if args.dry_run {
        out.json(&DryRunDocument {
            dry_run: true,
            plan: &plan,
        })?;
        describe(ctx, &plan, db.redacted_url());
        return Ok(Exit::Success);
    }
    // With --yes nothing was confirmed but "the managed tables": the plan made under the
    // lock decides, also when another runner is creating them right now.
    if plan.is_empty() && !ctx.yes {
        out.json(&DropDocument {
            dry_run: false,
            report: &DropReport::default(),
        })?;
        out.line(format!("{}: no managed tables to drop", db.redacted_url()));
        return Ok(Exit::Success);
    }
    refuse_if_protected(&mut db, &args.safety).await?;
    if !ctx.yes {
        let rows = count_rows(&mut db, &plan.tables).await?;
        confirm(ctx, &question("Drop", &plan, rows, db.redacted_url()))?;
    }
    let started = Instant::now();
    let options = DropOptions {
        cascade: args.cascade,
        allow_protected: args.safety.allow_protected,
        exactly_as_planned: !ctx.yes,
    };
    let report = drop_managed_tables(&mut db, &plan, &tracking, options).await?;
    out.json(&DropDocument {
        dry_run: false,
        report: &report,
    })?;
    out.line(format!(
        "{} {} table(s) from {} {}",
        paint(GOOD, "Dropped"),
        report.dropped.len(),
        paint(BOLD, db.redacted_url()),
        paint(
            DIM,
            format!("in {}", duration(started.elapsed().as_millis() as i64))
        )
    ));
    cascaded(ctx, &report);
    untouched(ctx, &plan);
    let _ = db.close().await;
    Ok(Exit::Success)
}

/// The confirmation question for destroying what `plan` lists.
pub(crate) fn question(verb: &str, plan: &DropPlan, rows: u64, database: &str) -> String {
    let tracking = if plan.tracking_table.is_some() {
        ", and the tracking table,"
    } else {
        ""
    };
    format!(
        "{verb} {} table(s) holding {rows} row(s){tracking} from {database}?",
        plan.tables.len()
    )
}

fn describe(ctx: &Context, plan: &DropPlan, database: &str) {
    let out = ctx.output;
    out.line(format!("Would drop from {}:", paint(BOLD, database)));
    for fk in &plan.deferred_foreign_keys {
        out.line(format!(
            "  foreign key {}.{} (closes a cycle)",
            fk.table, fk.name
        ));
    }
    for table in &plan.tables {
        out.line(format!("  table {table}"));
    }
    for object in &plan.objects {
        out.line(format!("  {} {}", object.kind, object.name));
    }
    if let Some(tracking) = &plan.tracking_table {
        out.line(format!("  table {tracking} (tracking, last)"));
    }
    for dependent in &plan.dependents {
        out.line(format!(
            "  {} {dependent}: drop refuses without --cascade",
            paint(WARN, "blocked by")
        ));
    }
    untouched(ctx, plan);
}

/// The objects of other applications `--cascade` removed, and those it could not remove.
pub(crate) fn cascaded(ctx: &Context, report: &DropReport) {
    for dependent in &report.cascaded {
        ctx.output
            .line(format!("  {} {dependent}", paint(WARN, "also dropped")));
    }
    for dependent in &report.left_in_place {
        ctx.output.line(format!(
            "  {} {dependent}: SQLite cannot drop a foreign key without rebuilding its table, \
             so it now references a table that is gone",
            paint(WARN, "left in place")
        ));
    }
}

fn untouched(ctx: &Context, plan: &DropPlan) {
    if !plan.untouched.is_empty() {
        ctx.output.line(paint(
            DIM,
            format!(
                "Left alone ({} not managed by tt): {}",
                plan.untouched.len(),
                plan.untouched.join(", ")
            ),
        ));
    }
}
