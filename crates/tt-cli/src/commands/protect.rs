//! `tt protect`: mark the database so that destructive commands refuse.

use anyhow::Result;
use serde::Serialize;

use crate::cli::ProtectArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{BOLD, paint};

/// The JSON document of `tt protect`; `note` only when protecting.
#[derive(Debug, Serialize)]
struct ProtectDocument<'a> {
    database: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<Option<&'a str>>,
    protected: bool,
}

pub(crate) async fn run(ctx: &Context, args: ProtectArgs) -> Result<Exit> {
    let mut db = ctx.connect().await?;
    let out = ctx.output;
    let database = db.redacted_url().to_string();
    if args.remove {
        tt_migrate::unprotect(&mut db).await?;
        out.json(&ProtectDocument {
            database: &database,
            note: None,
            protected: false,
        })?;
        out.line(format!("{} is no longer protected", paint(BOLD, &database)));
    } else {
        tt_migrate::protect(&mut db, args.note.as_deref()).await?;
        out.json(&ProtectDocument {
            database: &database,
            note: Some(args.note.as_deref()),
            protected: true,
        })?;
        out.line(format!(
            "{} is protected: drop, reset and recreate now refuse without --allow-protected",
            paint(BOLD, &database)
        ));
    }
    let _ = db.close().await;
    Ok(Exit::Success)
}
