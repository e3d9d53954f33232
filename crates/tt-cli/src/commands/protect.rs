//! `tt protect`: mark the database so that destructive commands refuse.

use anyhow::Result;
use serde_json::json;

use crate::cli::ProtectArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{BOLD, paint};

pub(crate) async fn run(ctx: &Context, args: ProtectArgs) -> Result<Exit> {
    let mut db = ctx.connect().await?;
    let out = ctx.output;
    let database = db.redacted_url().to_string();
    if args.remove {
        tt_migrate::unprotect(&mut db).await?;
        out.json(&json!({ "database": database, "protected": false }))?;
        out.line(format!("{} is no longer protected", paint(BOLD, &database)));
    } else {
        tt_migrate::protect(&mut db, args.note.as_deref()).await?;
        out.json(&json!({ "database": database, "protected": true, "note": args.note }))?;
        out.line(format!(
            "{} is protected: drop, reset and recreate now refuse without --allow-protected",
            paint(BOLD, &database)
        ));
    }
    let _ = db.close().await;
    Ok(Exit::Success)
}
