//! `tt config`: the effective configuration and where each value came from.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};

use crate::commands::Context;
use crate::config::{CONFIG_FILE, LockSetting, Source};
use crate::output::{DIM, WARN, paint, table};

pub(crate) fn run(ctx: &Context) -> Result<ExitCode> {
    let config = &ctx.config;
    // The URL is redacted here, before anything prints it.
    let url = tt_migrate::redact_url(&config.database_url.value);
    let dir = &config.migrations_dir;
    let schema = &config.postgres_schema;
    let rows: Vec<(&str, Value, String, &Source)> = vec![
        (
            "database_url",
            json!(url),
            url.clone(),
            &config.database_url.source,
        ),
        (
            "migrations_dir",
            json!(dir.value),
            if dir.value.is_dir() {
                dir.value.display().to_string()
            } else {
                format!(
                    "{} {}",
                    dir.value.display(),
                    paint(WARN, "(does not exist)")
                )
            },
            &dir.source,
        ),
        (
            "tracking_table",
            json!(config.tracking_table.value),
            config.tracking_table.value.clone(),
            &config.tracking_table.source,
        ),
        (
            "postgres_schema",
            json!(schema.value),
            schema
                .value
                .clone()
                .unwrap_or_else(|| paint(DIM, "(the server's search_path)")),
            &schema.source,
        ),
        (
            "essential_tables",
            json!(config.essential_tables.value),
            if config.essential_tables.value.is_empty() {
                paint(DIM, "(none)")
            } else {
                config.essential_tables.value.join(", ")
            },
            &config.essential_tables.source,
        ),
        (
            "lock_timeout_secs",
            json!(config.lock_timeout_secs.value),
            config.lock_timeout_secs.value.to_string(),
            &config.lock_timeout_secs.source,
        ),
        (
            "lock",
            json!(config.lock.value.map(LockSetting::name)),
            config.lock.value.map_or_else(
                || paint(DIM, "(advisory; table behind a transaction pooler)"),
                |lock| lock.name().to_string(),
            ),
            &config.lock.source,
        ),
    ];
    let out = ctx.output;
    let mut document = serde_json::Map::new();
    document.insert("file".into(), json!(config.file));
    for (key, value, _, source) in &rows {
        document.insert((*key).into(), json!({ "value": value, "source": source }));
    }
    out.json(&document)?;

    match &config.file {
        Some(file) => out.line(format!("Configuration file: {}", file.display())),
        None => out.line(format!(
            "Configuration file: {}",
            paint(
                DIM,
                format!("none ({CONFIG_FILE} not found here or in a parent directory)")
            )
        )),
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(key, _, shown, source)| {
            let source = match source {
                Source::Default => paint(DIM, source),
                other => other.to_string(),
            };
            vec![key.to_string(), shown, source]
        })
        .collect();
    for line in table(&["KEY", "VALUE", "SOURCE"], &cells) {
        out.line(line);
    }
    Ok(ExitCode::SUCCESS)
}
