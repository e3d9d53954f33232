//! `tt verify`: tracking, schema, data and smoke checks; exit 3 when any fails.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Serialize;
use tt_migrate::MigrationSet;
use tt_schema::Backend;
use tt_verify::{CheckId, ExpectedSource, Report, VerifyOptions};

use crate::cli::{ExpectedArgs, VerifyArgs};
use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{BAD, BOLD, DIM, GOOD, paint};

pub(crate) async fn run(ctx: &Context, args: VerifyArgs) -> Result<Exit> {
    let checks = if args.checks.is_empty() {
        CheckId::ALL.to_vec()
    } else {
        args.checks
    };
    let snapshot = Snapshot::choose(ctx, &args.expected)?;
    let needs_migrations = checks.contains(&CheckId::Tracking)
        || (checks.contains(&CheckId::Schema) && snapshot.is_none());
    let set = match needs_migrations {
        true => Some(ctx.migrations()?),
        false => None,
    };
    let mut db = ctx.connect().await?;
    let tracking = ctx.config.tracking();
    let options = VerifyOptions {
        checks: &checks,
        migrations: set.as_ref().map_or(&[], MigrationSet::with_repeatable),
        expected: expected_source(snapshot.as_ref(), set.as_ref()),
        tracking: &tracking,
        essential_tables: &ctx.config.essential_tables.value,
    };
    let report = tt_verify::verify(&mut db, &options).await?;
    let out = ctx.output;
    out.json(&VerifyDocument {
        backend: db.backend(),
        database: db.redacted_url(),
        expected: expected_json(snapshot.as_ref()),
        report: &report,
    })?;
    out.line(format!(
        "Verifying {} ({}) against {}",
        paint(BOLD, db.redacted_url()),
        db.backend(),
        expected_label(snapshot.as_ref())
    ));
    let width = report
        .checks
        .iter()
        .map(|c| c.id.as_str().len())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let state = if check.ok {
            paint(GOOD, "ok    ")
        } else {
            paint(BAD, "FAILED")
        };
        out.line(format!(
            "{:width$}  {state}  {}",
            check.id.as_str(),
            paint(DIM, &check.summary)
        ));
        for problem in &check.problems {
            out.line(format!("    {problem}"));
        }
    }
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let _ = db.close().await;
    if report.ok {
        out.line(paint(
            GOOD,
            format!("all {} check(s) passed", report.checks.len()),
        ));
        Ok(Exit::Success)
    } else {
        out.line(paint(
            BAD,
            format!(
                "verification failed: {failed} of {} check(s)",
                report.checks.len()
            ),
        ));
        Ok(Exit::VerifyFailed)
    }
}

/// A `schema.toml` snapshot, read.
pub(crate) struct Snapshot {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

impl Snapshot {
    /// The snapshot the user chose: `--schema FILE` (which must exist), else the default file
    /// when it exists; `None` with `--from-migrations` or when there is no default file.
    pub(crate) fn choose(ctx: &Context, args: &ExpectedArgs) -> Result<Option<Snapshot>> {
        if args.from_migrations {
            return Ok(None);
        }
        let (path, required) = match &args.snapshot {
            Some(path) => (path.clone(), true),
            None => (default_snapshot_path(ctx), false),
        };
        if !required && !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read the schema snapshot {}", path.display()))?;
        Ok(Some(Snapshot { path, text }))
    }
}

/// `schema.toml` beside the migrations directory (in the project root for the usual layout).
pub(crate) fn default_snapshot_path(ctx: &Context) -> PathBuf {
    let dir = &ctx.config.migrations_dir.value;
    dir.parent().unwrap_or(Path::new(".")).join("schema.toml")
}

/// The expected schema's source: the snapshot if there is one, else the migrations.
pub(crate) fn expected_source<'a>(
    snapshot: Option<&'a Snapshot>,
    set: Option<&'a MigrationSet>,
) -> ExpectedSource<'a> {
    match snapshot {
        Some(snapshot) => ExpectedSource::Snapshot {
            file: snapshot.path.to_str().unwrap_or("schema.toml"),
            text: &snapshot.text,
        },
        None => ExpectedSource::Migrations(set.map_or(&[], MigrationSet::with_repeatable)),
    }
}

/// Where the expected schema came from, for people.
pub(crate) fn expected_label(snapshot: Option<&Snapshot>) -> String {
    match snapshot {
        Some(snapshot) => snapshot.path.display().to_string(),
        None => "the migrations (applied to a scratch database)".to_string(),
    }
}

/// Where the expected schema came from, for JSON.
#[derive(Debug, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum Expected<'a> {
    Snapshot { path: &'a Path },
    Migrations,
}

pub(crate) fn expected_json(snapshot: Option<&Snapshot>) -> Expected<'_> {
    match snapshot {
        Some(snapshot) => Expected::Snapshot {
            path: &snapshot.path,
        },
        None => Expected::Migrations,
    }
}

/// The JSON document of `tt verify`.
#[derive(Debug, Serialize)]
struct VerifyDocument<'a> {
    backend: Backend,
    database: &'a str,
    expected: Expected<'a>,
    #[serde(flatten)]
    report: &'a Report,
}
