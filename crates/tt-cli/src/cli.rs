//! The command line: global options and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Drop the tables the migrations create, in foreign-key order (other tables stay)
    Drop(DropArgs),
    /// Drop the managed tables, apply every migration, check the result
    Reset(ResetArgs),
    /// Empty the whole database (schema or file), apply every migration, check the result
    Recreate(RecreateArgs),
    /// Mark the database protected: drop, reset and recreate then refuse
    Protect(ProtectArgs),
    /// Show the foreign-key graph of the database: create and drop order, levels, cycles
    Graph(GraphArgs),
}

/// Options shared by the destructive commands.
#[derive(Debug, Args)]
pub(crate) struct SafetyArgs {
    /// Run even though the database is marked protected (`tt protect`)
    #[arg(long)]
    pub(crate) allow_protected: bool,
}

/// Options of `tt drop`.
#[derive(Debug, Args)]
pub(crate) struct DropArgs {
    /// Also drop views and foreign keys of other tables that depend on managed tables
    #[arg(long)]
    pub(crate) cascade: bool,
    /// Print what would be dropped and change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
}

/// Options of `tt reset`.
#[derive(Debug, Args)]
pub(crate) struct ResetArgs {
    /// Also drop views and foreign keys of other tables that depend on managed tables
    #[arg(long)]
    pub(crate) cascade: bool,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
}

/// Options of `tt recreate`.
#[derive(Debug, Args)]
pub(crate) struct RecreateArgs {
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
}

/// Options of `tt protect`.
#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    /// Why the database is protected (shown when a command refuses)
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
    /// Remove the protection instead
    #[arg(long, conflicts_with = "note")]
    pub(crate) remove: bool,
}

/// Options of `tt graph`.
#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// Output format (`--json` prints the orders, levels and cycles as JSON)
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub(crate) format: GraphFormat,
}

/// Formats of `tt graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    /// Create order, drop order, levels and cycles as text
    Text,
    /// Graphviz DOT
    Dot,
    /// Mermaid flowchart
    Mermaid,
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
