//! `tt status`: where every migration stands on the database.

use anyhow::Result;
use serde::Serialize;
use tt_migrate::{Status, Version};
use tt_schema::Backend;

use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{BAD, BOLD, DIM, GOOD, Output, WARN, paint, short_checksum, table};

/// The JSON document of `tt status`.
#[derive(Debug, Serialize)]
struct StatusDocument<'a> {
    database: &'a str,
    #[serde(flatten)]
    status: &'a Status,
}

pub(crate) async fn run(ctx: &Context) -> Result<Exit> {
    let tracking = ctx.config.tracking();
    // The tracking table is read while the files load: it does not need them.
    let (set, db, read) = ctx
        .migrations_and_database_then(async |db| Ok(tracking.read(db).await?))
        .await?;
    let status = tt_migrate::Migrator::for_set(&set)
        .tracking(tracking)
        .status_from(read, db.backend());
    let out = ctx.output;
    // The status carries the backend it was read from.
    out.json(&StatusDocument {
        database: db.redacted_url(),
        status: &status,
    })?;
    // A thousand rows of table cost more than reading the tracking table: only when shown.
    if out.human() {
        print(out, &status, db.redacted_url(), db.backend());
    }
    let _ = db.close().await;
    Ok(Exit::Success)
}

/// The human form of `status`: a table of every migration, then a summary line.
fn print(out: Output, status: &Status, database: &str, backend: Backend) {
    let short = |c: Option<&str>| c.map(short_checksum).unwrap_or_default();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for a in &status.applied {
        let cells = vec![
            a.version.to_string(),
            a.name.clone(),
            paint(GOOD, "applied"),
            a.applied_at.clone().unwrap_or_default(),
            short(a.checksum.as_deref()),
        ];
        rows.push((a.version.to_string(), cells));
    }
    for p in &status.pending {
        let state = if status.out_of_order.contains(&p.version) {
            paint(WARN, "pending (out of order)")
        } else if status.parallel_gap.contains(&p.version) {
            paint(WARN, "pending (left by a stopped --jobs run)")
        } else {
            paint(WARN, "pending")
        };
        let cells = vec![
            p.version.to_string(),
            p.name.clone(),
            state,
            String::new(),
            String::new(),
        ];
        rows.push((p.version.to_string(), cells));
    }
    for p in &status.repeatable_pending {
        let cells = vec![
            p.version.to_string(),
            p.name.clone(),
            paint(WARN, "pending (repeatable)"),
            String::new(),
            String::new(),
        ];
        rows.push((p.version.to_string(), cells));
    }
    for c in &status.changed {
        let cells = vec![
            c.version.to_string(),
            c.name.clone(),
            paint(BAD, "changed"),
            String::new(),
            format!("{} -> {}", short(Some(&c.recorded)), short(Some(&c.actual))),
        ];
        rows.push((c.version.to_string(), cells));
    }
    for (state, list) in [("missing file", &status.missing), ("dirty", &status.dirty)] {
        for row in list {
            let cells = vec![
                row.version.clone(),
                row.name.clone().unwrap_or_default(),
                paint(BAD, state),
                row.applied_at.clone().unwrap_or_default(),
                short(row.checksum.as_deref()),
            ];
            rows.push((row.version.clone(), cells));
        }
    }
    rows.sort_by(
        |(a, _), (b, _)| match (Version::new(a.as_str()), Version::new(b.as_str())) {
            (Ok(a), Ok(b)) => a.cmp(&b),
            _ => a.cmp(b),
        },
    );
    out.line(format!("{} ({})", paint(BOLD, database), backend));
    if rows.is_empty() {
        out.line(paint(DIM, "no migrations"));
    } else {
        let cells: Vec<Vec<String>> = rows.into_iter().map(|(_, r)| r).collect();
        out.lines(table(
            &["VERSION", "NAME", "STATE", "APPLIED AT", "CHECKSUM"],
            &cells,
        ));
    }
    let mut summary = vec![
        format!("{} applied", status.applied.len()),
        format!(
            "{} pending",
            status.pending.len() + status.repeatable_pending.len()
        ),
    ];
    if !status.out_of_order.is_empty() {
        summary.push(paint(
            WARN,
            format!(
                "{} out of order (tt migrate --allow-out-of-order applies them)",
                status.out_of_order.len()
            ),
        ));
    }
    if !status.parallel_gap.is_empty() {
        summary.push(paint(
            WARN,
            format!(
                "{} left below applied ones by a stopped --jobs run (tt migrate applies them)",
                status.parallel_gap.len()
            ),
        ));
    }
    for (count, word) in [
        (status.changed.len(), "changed"),
        (status.missing.len(), "missing"),
        (status.dirty.len(), "dirty"),
    ] {
        if count > 0 {
            summary.push(paint(BAD, format!("{count} {word}")));
        }
    }
    out.line(summary.join(", "));
    if let Some(stopped) = &status.stopped_drop {
        let at = stopped
            .started_at
            .as_ref()
            .map(|at| format!(" (started {at})"))
            .unwrap_or_default();
        out.line(paint(
            BAD,
            format!(
                "A drop of the managed tables stopped part-way{at}: some of them may be gone \
                 although the migrations above are recorded; run `tt drop` to finish it (or \
                 `tt reset` to drop and apply every migration again)"
            ),
        ));
    }
}
