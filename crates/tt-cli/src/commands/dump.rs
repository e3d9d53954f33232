//! `tt dump`: the live schema (or what the migrations produce) as a `schema.toml` snapshot.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use tt_schema::Backend;
use tt_verify::{ExpectedSource, expected_schema, live_schema, snapshot_text};

use crate::cli::DumpArgs;
use crate::commands::Context;
use crate::commands::verify::default_snapshot_path;
use crate::exit::Exit;
use crate::output::{BOLD, paint};

/// The JSON document of `tt dump`: the snapshot itself when written to stdout, else where it
/// went.
#[derive(Debug, Serialize)]
struct DumpDocument<'a> {
    backend: Backend,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<&'a str>,
    tables: &'a [&'a str],
}

pub(crate) async fn run(ctx: &Context, args: DumpArgs) -> Result<Exit> {
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
            out.json(&DumpDocument {
                backend,
                path: None,
                snapshot: Some(&text),
                tables: &tables,
            })?;
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
        }
        return Ok(Exit::Success);
    }
    std::fs::write(&path, &text).with_context(|| format!("could not write {}", path.display()))?;
    out.json(&DumpDocument {
        backend,
        path: Some(&path),
        snapshot: None,
        tables: &tables,
    })?;
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
    Ok(Exit::Success)
}
