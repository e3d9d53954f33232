//! `tt graph`: the foreign-key graph of the live database, or of what the migrations produce.

use anyhow::Result;
use tt_schema::FkGraph;

use crate::cli::{GraphArgs, GraphFormat};
use crate::commands::Context;
use crate::exit::Exit;

pub(crate) async fn run(ctx: &Context, args: GraphArgs) -> Result<Exit> {
    if args.migrations {
        // From the files alone: no connection needed.
        let backend = tt_migrate::backend_of_url(&ctx.config.database_url.value)?;
        let set = ctx.migrations()?;
        let graph = tt_migrate::Migrator::for_set(&set).file_graph(backend)?;
        let out = ctx.output;
        out.json(&graph)?;
        let text = match args.format {
            GraphFormat::Text => graph.to_text(),
            GraphFormat::Dot => graph.to_dot(),
            GraphFormat::Mermaid => graph.to_mermaid(),
        };
        out.line(text.trim_end());
        return Ok(Exit::Success);
    }
    let mut db = ctx.connect().await?;
    let options = tt_migrate::IntrospectOptions {
        postgres_schema: db.options().postgres_schema.clone(),
    };
    let mut schema = if args.from_migrations {
        let set = ctx.migrations()?;
        tt_migrate::scratch_schema(&mut db, set.with_repeatable(), &ctx.config.tracking()).await?
    } else {
        tt_migrate::introspect(&mut db, &options).await?
    };
    // tt's own bookkeeping is not part of the application's graph.
    let tracking = ctx.config.tracking_table.value.clone();
    schema.retain(|t| t.name != tracking && t.name != tt_migrate::PROTECTION_TABLE);
    let graph = FkGraph::new(&schema);
    let out = ctx.output;
    out.json(&graph.report())?;
    let text = match args.format {
        GraphFormat::Text => graph.to_text(),
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    out.line(text.trim_end());
    let _ = db.close().await;
    Ok(Exit::Success)
}
