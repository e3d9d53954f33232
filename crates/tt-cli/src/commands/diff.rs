//! `tt diff`: the live schema against the expected one, by table, or as fix-up SQL.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::Result;
use serde::Serialize;
use tt_schema::{Backend, Difference, DifferenceKind};
use tt_verify::{expected_schema, fix_script, live_schema};

use crate::cli::DiffArgs;
use crate::commands::Context;
use crate::commands::verify::{Expected, Snapshot, expected_json, expected_label, expected_source};
use crate::exit::Exit;
use crate::output::{BAD, BOLD, DIM, GOOD, WARN, paint};

/// The JSON document of `tt diff --sql`.
#[derive(Debug, Serialize)]
struct SqlDocument<'a> {
    backend: Backend,
    expected: Expected<'a>,
    manual: &'a [String],
    statements: &'a [String],
}

/// The JSON document of `tt diff`.
#[derive(Debug, Serialize)]
struct DiffDocument<'a> {
    backend: Backend,
    database: &'a str,
    differences: &'a [Listed<'a>],
    expected: Expected<'a>,
    identical: bool,
}

/// One difference with its message and whether it is only cosmetic.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    cosmetic: bool,
    #[serde(flatten)]
    difference: &'a Difference,
    message: String,
}

pub(crate) async fn run(ctx: &Context, args: DiffArgs) -> Result<Exit> {
    let snapshot = Snapshot::choose(ctx, &args.expected)?;
    let set = match snapshot {
        Some(_) => None,
        None => Some(ctx.migrations()?),
    };
    let mut db = ctx.connect().await?;
    let tracking = ctx.config.tracking();
    let source = expected_source(snapshot.as_ref(), set.as_ref());
    let expected = expected_schema(&mut db, source, &tracking).await?;
    let live = live_schema(&mut db, &tracking).await?;
    let backend = db.backend();
    let differences = tt_schema::diff(&expected, &live);
    let differ = differences.iter().any(|d| !d.is_cosmetic());
    let out = ctx.output;
    if args.sql {
        let fix = fix_script(&expected, &live, backend);
        out.json(&SqlDocument {
            backend,
            expected: expected_json(snapshot.as_ref()),
            manual: &fix.manual,
            statements: &fix.statements,
        })?;
        if !out.json {
            // The SQL goes to stdout even with --quiet: it is the command's result. A closed
            // pipe (`tt diff --sql | head`) is not worth an error.
            let _ = write!(
                std::io::stdout().lock(),
                "-- tt diff --sql: {} ({backend}) -> {}\n{}",
                db.redacted_url(),
                expected_label(snapshot.as_ref()),
                fix.to_sql()
            );
            // Through anstream, like every other line: no colour when piped or with NO_COLOR.
            let mut stderr = anstream::stderr();
            for manual in &fix.manual {
                let _ = writeln!(stderr, "{} {manual}", paint(WARN, "warning:"));
            }
        }
    } else {
        let listed: Vec<Listed<'_>> = differences
            .iter()
            .map(|difference| Listed {
                cosmetic: difference.is_cosmetic(),
                difference,
                message: difference.to_string(),
            })
            .collect();
        out.json(&DiffDocument {
            backend,
            database: db.redacted_url(),
            differences: &listed,
            expected: expected_json(snapshot.as_ref()),
            identical: differences.is_empty(),
        })?;
        out.line(format!(
            "{} ({backend}) against {}",
            paint(BOLD, db.redacted_url()),
            expected_label(snapshot.as_ref())
        ));
        let mut by_table: BTreeMap<&str, Vec<&Difference>> = BTreeMap::new();
        for difference in &differences {
            by_table
                .entry(&difference.table)
                .or_default()
                .push(difference);
        }
        for (table, differences) in by_table {
            out.line(paint(BOLD, table));
            for difference in differences {
                out.line(format!("  {}", line(difference)));
            }
        }
        if differences.is_empty() {
            out.line(paint(GOOD, "no differences"));
        } else {
            out.line(format!("{} difference(s)", differences.len()));
        }
    }
    let _ = db.close().await;
    Ok(if differ {
        Exit::VerifyFailed
    } else {
        Exit::Success
    })
}

/// One difference under its table: `+` to add (missing), `-` to remove (extra), `~` changed.
fn line(difference: &Difference) -> String {
    let text = difference.to_string();
    let rest = text.strip_prefix(&difference.table).unwrap_or(&text);
    let rest = rest
        .strip_prefix(": ")
        .or_else(|| rest.strip_prefix('.'))
        .unwrap_or(rest);
    use DifferenceKind as K;
    let (style, mark) = match &difference.kind {
        _ if difference.is_cosmetic() => (DIM, "~"),
        K::MissingTable { .. }
        | K::MissingColumn { .. }
        | K::MissingUnique { .. }
        | K::MissingCheck { .. }
        | K::MissingForeignKey { .. }
        | K::MissingIndex { .. } => (GOOD, "+"),
        K::ExtraTable { .. }
        | K::ExtraColumn { .. }
        | K::ExtraUnique { .. }
        | K::ExtraCheck { .. }
        | K::ExtraForeignKey { .. }
        | K::ExtraIndex { .. } => (BAD, "-"),
        _ => (WARN, "~"),
    };
    paint(style, format!("{mark} {rest}"))
}
