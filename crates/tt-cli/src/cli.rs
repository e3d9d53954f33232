//! The command line: global options and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tt_verify::CheckId;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (bad input, database error, failed migration)
  2  usage error
  3  verification failed
  4  refused for safety (destructive command without --yes, protected database)";

/// Database migrations for TinkerTools: apply numbered SQL files, track them, reset and
/// verify the schema on SQLite, PostgreSQL and MySQL.
#[derive(Debug, Parser)]
#[command(name = "tt", version, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Database URL (sqlite://file.db, postgres://…, mysql://…); overrides DATABASE_URL,
    /// .env and tt.toml
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// Migrations directory [default: migrations next to tt.toml, or ./migrations]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Configuration file [default: tt.toml in this directory or a parent]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Answer yes to confirmations (needed for destructive commands without a terminal)
    #[arg(short = 'y', long, global = true)]
    pub(crate) yes: bool,
    /// Show more: -v each statement and its timing, -vv also the driver's logs
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Seconds to wait for another runner's lock [default: 10]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub(crate) lock_timeout: Option<f64>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Apply pending migrations in order
    Migrate(MigrateArgs),
    /// Show applied, pending, changed, missing and dirty migrations
    Status,
    /// Check the database: tracking, schema, data (foreign keys) and smoke (exit 3 on failure)
    Verify(VerifyArgs),
    /// Show how the live schema differs from the expected one (exit 3 when it does)
    Diff(DiffArgs),
    /// Write the live schema to schema.toml, the snapshot verify and diff compare with
    Dump(DumpArgs),
}

/// Options of `tt migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// Stop after this version
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<String>,
    /// Print what would run and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Apply pending migrations older than the latest applied one
    #[arg(long)]
    pub(crate) allow_out_of_order: bool,
}

/// Where the expected schema comes from (`tt verify`, `tt diff`).
#[derive(Debug, Args)]
pub(crate) struct ExpectedArgs {
    /// Schema snapshot to compare with [default: schema.toml beside the migrations directory,
    /// when it exists; else what the migrations produce on a scratch database]
    #[arg(long, value_name = "FILE")]
    pub(crate) schema: Option<PathBuf>,
    /// Compare with what the migrations produce on a scratch database, even when a snapshot
    /// exists
    #[arg(long, conflicts_with = "schema")]
    pub(crate) from_migrations: bool,
}

/// Options of `tt verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Run only this check: tracking, schema, data or smoke (repeatable)
    #[arg(long = "check", value_name = "ID")]
    pub(crate) checks: Vec<CheckId>,
    #[command(flatten)]
    pub(crate) expected: ExpectedArgs,
}

/// Options of `tt diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Print the DDL that brings the live database to the expected schema, in foreign-key-safe
    /// order (usable as the body of a new migration)
    #[arg(long)]
    pub(crate) sql: bool,
    #[command(flatten)]
    pub(crate) expected: ExpectedArgs,
}

/// Options of `tt dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// Where to write; `-` for stdout [default: schema.toml beside the migrations directory]
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Dump what the migrations produce on a scratch database instead of the live schema
    #[arg(long)]
    pub(crate) from_migrations: bool,
}
