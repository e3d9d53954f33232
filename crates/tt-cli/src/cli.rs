//! The command line: global options and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tt_migrate::{Layout, UnknownLayout};

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
    /// Read the migrations directory as this tool's layout (native, sqlx, diesel, dbmate,
    /// flyway) [default: detected]
    #[arg(long, global = true, value_name = "LAYOUT", value_parser = parse_layout)]
    pub(crate) layout: Option<Layout>,
}

fn parse_layout(text: &str) -> Result<Layout, UnknownLayout> {
    text.parse()
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Apply pending migrations in order
    Migrate(MigrateArgs),
    /// Show applied, pending, changed, missing and dirty migrations
    Status,
    /// Roll back applied migrations, newest first (default: the newest one)
    Down(DownArgs),
    /// Mark migrations as applied without running them, for a database that has their schema
    Baseline(BaselineArgs),
    /// Clear dirty marks and record the checksums of changed applied files, after confirmation
    Repair(RepairArgs),
}

/// Options of `tt down`.
#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Roll back this many migrations [default: 1]
    #[arg(long, value_name = "N", conflicts_with_all = ["to", "all"])]
    pub(crate) steps: Option<usize>,
    /// Roll back every migration newer than this version (which stays applied)
    #[arg(long, value_name = "VERSION", conflicts_with = "all")]
    pub(crate) to: Option<String>,
    /// Roll back every applied migration (the tracking table stays)
    #[arg(long)]
    pub(crate) all: bool,
    /// Print what would be rolled back and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// Options of `tt baseline`.
#[derive(Debug, Args)]
pub(crate) struct BaselineArgs {
    /// Mark every migration up to this version (inclusive) as applied
    #[arg(
        value_name = "VERSION",
        required_unless_present = "from_tool",
        conflicts_with = "from_tool"
    )]
    pub(crate) version: Option<String>,
    /// Import what another tool recorded as applied in its own table (sqlx, diesel, dbmate,
    /// flyway) [default: the tool whose layout the directory has]
    #[arg(long, value_name = "TOOL", num_args = 0..=1, default_missing_value = "detected")]
    pub(crate) from_tool: Option<String>,
}

/// Options of `tt repair`.
#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// List what would change and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// What a dirty migration becomes: applied (the database was fixed forward) or pending
    /// (its changes were undone by hand; it runs again)
    #[arg(long, value_enum, default_value_t = DirtyAs::Applied, value_name = "STATE")]
    pub(crate) dirty_as: DirtyAs,
}

/// What `tt repair` makes of dirty rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DirtyAs {
    /// Clear the mark: the migration counts as applied
    Applied,
    /// Delete the row: the migration runs again
    Pending,
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
