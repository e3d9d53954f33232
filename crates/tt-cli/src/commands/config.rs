//! `tt config`: the effective configuration and where each value came from.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::commands::Context;
use crate::config::{CONFIG_FILE, LockSetting, Source};
use crate::exit::Exit;
use crate::output::{DIM, WARN, paint, table};

/// The JSON document of `tt config`: each setting with where it came from.
#[derive(Debug, Serialize)]
struct ConfigDocument<'a> {
    connect_timeout_secs: Entry<'a, &'a f64>,
    database_url: Entry<'a, &'a String>,
    essential_tables: Entry<'a, &'a Vec<String>>,
    file: Option<&'a Path>,
    jobs: Entry<'a, &'a usize>,
    lock: Entry<'a, Option<&'static str>>,
    lock_timeout_secs: Entry<'a, &'a f64>,
    migrations_dir: Entry<'a, &'a PathBuf>,
    postgres_schema: Entry<'a, &'a Option<String>>,
    session_sql: Entry<'a, &'a Vec<String>>,
    tracking_table: Entry<'a, &'a String>,
}

#[derive(Debug, Serialize)]
struct Entry<'a, T> {
    source: &'a Source,
    value: T,
}

pub(crate) fn run(ctx: &Context) -> Result<Exit> {
    let config = &ctx.config;
    // The URL is redacted here, before anything prints it.
    let url = tt_migrate::redact_url(&config.database_url.value);
    let dir = &config.migrations_dir;
    let schema = &config.postgres_schema;
    let rows: Vec<(&str, String, &Source)> = vec![
        ("database_url", url.clone(), &config.database_url.source),
        (
            "migrations_dir",
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
            config.tracking_table.value.clone(),
            &config.tracking_table.source,
        ),
        (
            "postgres_schema",
            schema
                .value
                .clone()
                .unwrap_or_else(|| paint(DIM, "(the server's search_path)")),
            &schema.source,
        ),
        (
            "essential_tables",
            if config.essential_tables.value.is_empty() {
                paint(DIM, "(none)")
            } else {
                config.essential_tables.value.join(", ")
            },
            &config.essential_tables.source,
        ),
        (
            "lock_timeout_secs",
            config.lock_timeout_secs.value.to_string(),
            &config.lock_timeout_secs.source,
        ),
        (
            "connect_timeout_secs",
            config.connect_timeout_secs.value.to_string(),
            &config.connect_timeout_secs.source,
        ),
        (
            "session_sql",
            if config.session_sql.value.is_empty() {
                paint(DIM, "(none)")
            } else {
                config.session_sql.value.join("; ")
            },
            &config.session_sql.source,
        ),
        (
            "lock",
            config.lock.value.map_or_else(
                || paint(DIM, "(advisory; table behind a transaction pooler)"),
                |lock| lock.name().to_string(),
            ),
            &config.lock.source,
        ),
        ("jobs", config.jobs.value.to_string(), &config.jobs.source),
    ];
    let out = ctx.output;
    fn entry<'a, T>(value: T, source: &'a Source) -> Entry<'a, T> {
        Entry { source, value }
    }
    out.json(&ConfigDocument {
        connect_timeout_secs: entry(
            &config.connect_timeout_secs.value,
            &config.connect_timeout_secs.source,
        ),
        database_url: entry(&url, &config.database_url.source),
        essential_tables: entry(
            &config.essential_tables.value,
            &config.essential_tables.source,
        ),
        file: config.file.as_deref(),
        jobs: entry(&config.jobs.value, &config.jobs.source),
        lock: entry(
            config.lock.value.map(LockSetting::name),
            &config.lock.source,
        ),
        lock_timeout_secs: entry(
            &config.lock_timeout_secs.value,
            &config.lock_timeout_secs.source,
        ),
        migrations_dir: entry(&dir.value, &dir.source),
        postgres_schema: entry(&schema.value, &schema.source),
        session_sql: entry(&config.session_sql.value, &config.session_sql.source),
        tracking_table: entry(&config.tracking_table.value, &config.tracking_table.source),
    })?;

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
        .map(|(key, shown, source)| {
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
    Ok(Exit::Success)
}
