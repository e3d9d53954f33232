//! Dispatch of subcommands and what they share: configuration, connection, migrations.

mod diff;
mod dump;
mod migrate;
mod status;
mod verify;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use tt_migrate::{Database, MigrationSet};

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use crate::output::Output;

/// A command refused to go on for safety (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

static JSON_ERROR_PRINTED: AtomicBool = AtomicBool::new(false);

/// Whether the command already printed a JSON document describing its failure.
pub(crate) fn printed_json_error() -> bool {
    JSON_ERROR_PRINTED.load(Ordering::Relaxed)
}

/// Notes that the command printed its own JSON document for its failure.
pub(crate) fn mark_json_error_printed() {
    JSON_ERROR_PRINTED.store(true, Ordering::Relaxed);
}

/// What every command gets: configuration, output mode and global flags.
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) output: Output,
    #[allow(dead_code)] // used by the destructive commands
    pub(crate) yes: bool,
}

impl Context {
    /// Connects to the configured database.
    pub(crate) async fn connect(&self) -> Result<Database> {
        Ok(Database::connect(
            &self.config.database_url.value,
            self.config.connect_options(),
        )
        .await?)
    }

    /// Loads the migrations of the configured directory.
    pub(crate) fn migrations(&self) -> Result<MigrationSet> {
        Ok(MigrationSet::load(&self.config.migrations_dir.value)?)
    }
}

/// Runs the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let overrides = Overrides {
        config: cli.global.config.clone(),
        database_url: cli.global.database_url.clone(),
        dir: cli.global.dir.clone(),
        lock_timeout_secs: cli.global.lock_timeout,
    };
    let ctx = Context {
        config: Config::load(&cwd, &overrides)?,
        output: Output {
            json: cli.global.json,
            quiet: cli.global.quiet,
        },
        yes: cli.global.yes,
    };
    match cli.command {
        Command::Migrate(args) => migrate::run(&ctx, args).await,
        Command::Status => status::run(&ctx).await,
        Command::Verify(args) => verify::run(&ctx, args).await,
        Command::Diff(args) => diff::run(&ctx, args).await,
        Command::Dump(args) => dump::run(&ctx, args).await,
    }
}
