//! `tt baseline`: mark migrations as applied without running them.

use anyhow::{Result, bail};
use serde::Serialize;
use tt_migrate::{BaselineReport, Layout, Migrator, Version, detect_tool, tool_table};
use tt_schema::Backend;

use crate::cli::BaselineArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{BOLD, GOOD, WARN, paint};

/// The JSON document of `tt baseline`.
#[derive(Debug, Serialize)]
struct BaselineDocument<'a> {
    backend: Backend,
    #[serde(flatten)]
    report: &'a BaselineReport,
}

pub(crate) async fn run(ctx: &Context, args: BaselineArgs) -> Result<Exit> {
    let (set, mut db) = ctx.migrations_and_database().await?;
    let migrator = Migrator::for_set(&set).tracking(ctx.config.tracking());
    let out = ctx.output;
    let (report, source) = match (&args.version, args.from_tool.as_deref()) {
        (Some(version), _) => {
            let version = Version::new(version.as_str())?;
            let report = migrator.baseline(&mut db, &version).await?;
            (report, format!("up to version {version}"))
        }
        (None, Some(tool)) => {
            let tool = match tool {
                // The tool whose table is in the database, the directory's own first.
                "detected" => detect_tool(&mut db, set.layout()).await?,
                name => name.parse::<Layout>()?,
            };
            if tool == Layout::Native {
                bail!(
                    "tt's own layout has no other tool's table: name the tool to import from, \
                     as in --from-tool sqlx (or diesel, dbmate, flyway, golang-migrate, goose, \
                     prisma)"
                );
            }
            let report = migrator.baseline_from_tool(&mut db, tool).await?;
            let table = tool_table(tool).unwrap_or_default();
            (report, format!("from {tool}'s table {table}"))
        }
        // clap requires one of them.
        (None, None) => bail!("give a version, or --from-tool"),
    };
    out.json(&BaselineDocument {
        backend: db.backend(),
        report: &report,
    })?;
    let where_ = format!("{} ({})", db.redacted_url(), db.backend());
    if report.recorded.is_empty() {
        out.line(format!(
            "Nothing to record {source}: {where_} already has every version"
        ));
    } else {
        out.line(format!(
            "Recorded {} migration(s) as applied in {} {source}, without running them:",
            report.recorded.len(),
            paint(BOLD, &where_)
        ));
        for recorded in &report.recorded {
            out.line(format!(
                "  {} {} {}",
                paint(GOOD, "recorded"),
                recorded.version,
                recorded.name
            ));
        }
    }
    for version in &report.unknown {
        out.line(paint(
            WARN,
            format!("  no migration file here for version {version}, which the tool applied"),
        ));
    }
    let _ = db.close().await;
    Ok(Exit::Success)
}
