//! `tt dump`: the live schema (or what the migrations produce) as a `schema.toml` snapshot.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::json;
use tt_verify::{ExpectedSource, expected_schema, live_schema, snapshot_text};

use crate::cli::DumpArgs;
use crate::commands::Context;
use crate::commands::verify::default_snapshot_path;
use crate::output::{BOLD, paint};

pub(crate) async fn run(ctx: &Context, args: DumpArgs) -> Result<ExitCode> {
    let set = match args.from_migrations {
        true => Some(ctx.migrations()?),
        false => None,
    };
    let mut db = ctx.connect().await?;
    let tracking = ctx.config.tracking();
    let schema = match &set {
        Some(set) => {
            expected_schema(
                &mut db,
                ExpectedSource::Migrations(set.with_repeatable()),
                &tracking,
            )
            .await?
        }
        None => live_schema(&mut db, &tracking).await?,
    };
    let backend = db.backend();
    let _ = db.close().await;
    let text = snapshot_text(&schema);
    let out = ctx.output;
    let path = args.output.unwrap_or_else(|| default_snapshot_path(ctx));
    let tables: Vec<&str> = schema.table_names().collect();
    if path.as_os_str() == "-" {
        if out.json {
            out.json(&json!({ "backend": backend, "tables": tables, "snapshot": text }))?;
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
        }
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(&path, &text).with_context(|| format!("could not write {}", path.display()))?;
    out.json(&json!({
        "path": path,
        "backend": backend,
        "tables": tables,
    }))?;
    out.line(format!(
        "Wrote {} ({} table(s) from {})",
        paint(BOLD, path.display()),
        schema.len(),
        if set.is_some() {
            "the migrations"
        } else {
            "the live database"
        }
    ));
    Ok(ExitCode::SUCCESS)
}
