//! The command line: global options and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tt_migrate::{Layout, UnknownLayout};
use tt_verify::CheckId;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (bad input, database error, failed migration)
  2  usage error
  3  verification failed
  4  refused for safety (destructive command without --yes, protected database)
  130, 143  interrupted by SIGINT, SIGTERM (the running statement is cancelled first)";

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
#[command(next_help_heading = "Global options")]
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
    #[arg(long, global = true, value_name = "SECONDS", value_parser = lock_seconds)]
    pub(crate) lock_timeout: Option<f64>,
    /// A statement to run on every connection tt opens, such as "SET FOREIGN_KEY_CHECKS = 0"
    /// (repeatable; replaces session_sql of tt.toml)
    #[arg(long, global = true, value_name = "SQL")]
    pub(crate) session_sql: Vec<String>,
    /// Seconds to wait for the server to accept the connection and answer its handshake;
    /// 0 waits without limit [default: 30]
    #[arg(long, global = true, value_name = "SECONDS", value_parser = seconds)]
    pub(crate) connect_timeout: Option<f64>,
    /// The migration lock: the server's own (advisory) or a lease row in a table of tt's
    /// [default: advisory, table behind a transaction pooler]
    #[arg(long, global = true, value_name = "KIND")]
    pub(crate) lock: Option<crate::config::LockSetting>,
    /// Read the migrations directory as this tool's layout (native, sqlx, diesel, dbmate,
    /// flyway, golang-migrate, goose, prisma) [default: detected]
    #[arg(long, global = true, value_name = "LAYOUT", value_parser = parse_layout)]
    pub(crate) layout: Option<Layout>,
    /// Work inside this PostgreSQL schema (on MySQL: this database of the server): the
    /// tracking table, the lock and the migrations' tables live there, other schemas are
    /// never touched [default: postgres_schema of tt.toml, else the URL's]
    #[arg(long, global = true, value_name = "NAME", conflicts_with_all = ["schemas", "targets"])]
    pub(crate) schema: Option<String>,
    /// Create the schema (on MySQL: the database) when it is missing
    #[arg(long, global = true)]
    pub(crate) create_schema: bool,
    #[command(flatten)]
    pub(crate) fleet: FleetArgs,
}

/// Options that run a command on many targets (docs/user-guide.md, "Many schemas and
/// databases"): migrate, status, verify, down, baseline, repair and reset take them.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Many schemas and databases")]
pub(crate) struct FleetArgs {
    /// Run on every schema (on MySQL: database) of the server whose name matches GLOB
    /// (`*`, `?`, `[a-z]`; quote it), listed when the run starts
    #[arg(long, global = true, value_name = "GLOB", conflicts_with = "targets")]
    pub(crate) schemas: Option<String>,
    /// Run on the targets a TOML file lists (`[[target]]` with name, url, optional schema and
    /// password_env)
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) targets: Option<PathBuf>,
    /// How much runs at a time. With --schemas or --targets: targets, each on its own
    /// connection and under its own lock [default: 1]. Otherwise (migrate, reset, recreate):
    /// migrations, where their dependencies allow, each on its own connection [default:
    /// `jobs` of tt.toml, else 1; SQLite always 1]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// With --schemas or --targets: start no further target once one failed (by default
    /// every target runs and the exit code says whether any failed)
    #[arg(long, global = true)]
    pub(crate) fail_fast: bool,
}

impl FleetArgs {
    /// Whether the command runs on many targets.
    pub(crate) fn many(&self) -> bool {
        self.schemas.is_some() || self.targets.is_some()
    }
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
    /// Create the next numbered migration file
    New(NewArgs),
    /// Show the effective configuration and where each value came from
    Config,
    /// Print a shell completion script
    #[command(
        long_about = "Print a shell completion script on stdout.\n\nFor example:\n  \
                      tt completions bash > ~/.local/share/bash-completion/completions/tt\n  \
                      tt completions zsh > ~/.zfunc/_tt\n  \
                      tt completions fish > ~/.config/fish/completions/tt.fish"
    )]
    Completions(CompletionsArgs),
    /// Roll back applied migrations, newest first (default: the newest one)
    Down(DownArgs),
    /// Mark migrations as applied without running them, for a database that has their schema
    Baseline(BaselineArgs),
    /// Clear dirty marks and record the checksums of changed applied files, after confirmation
    Repair(RepairArgs),
    /// Check the database: tracking, schema, data (foreign keys) and smoke (exit 3 on failure)
    Verify(VerifyArgs),
    /// Show how the live schema differs from the expected one (exit 3 when it does)
    Diff(DiffArgs),
    /// Write the live schema to schema.toml, the snapshot verify and diff compare with
    Dump(DumpArgs),
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
    /// The graph of what the migrations produce (applied to a scratch database) instead of
    /// the live database's
    #[arg(long)]
    pub(crate) from_migrations: bool,
    /// The dependency graph of the migration files (which must wait for which with --jobs)
    /// instead of the foreign-key graph
    #[arg(long, conflicts_with = "from_migrations")]
    pub(crate) migrations: bool,
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
    /// flyway, golang-migrate, goose, prisma) [default: the tool whose layout the directory
    /// has]
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

/// Where the expected schema comes from (`tt verify`, `tt diff`).
#[derive(Debug, Default, Args)]
pub(crate) struct ExpectedArgs {
    /// Schema snapshot to compare with [default: schema.toml beside the migrations directory,
    /// when it exists; else what the migrations produce on a scratch database] (`--schema
    /// FILE.toml`, its earlier name, still works)
    #[arg(long, value_name = "FILE")]
    pub(crate) snapshot: Option<PathBuf>,
    /// Compare with what the migrations produce on a scratch database, even when a snapshot
    /// exists
    #[arg(long, conflicts_with = "snapshot")]
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

/// Options of `tt new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// What the migration does, in letters, digits, `_` and `-` (e.g. create_items)
    #[arg(value_parser = migration_name)]
    pub(crate) name: String,
    /// Write a TOML table-definition file (NNN_name.toml) instead of SQL
    #[arg(long, conflicts_with_all = ["backend", "down"])]
    pub(crate) toml: bool,
    /// Write a variant for this backend, NNN_name.BACKEND.sql (repeat for several)
    #[arg(long, value_name = "BACKEND")]
    pub(crate) backend: Vec<BackendArg>,
    /// Also write the rollback file, NNN_name.down.sql
    #[arg(long)]
    pub(crate) down: bool,
    /// Number the file with the UTC time (YYYYMMDDHHMMSS), even where files are numbered 001…
    #[arg(long)]
    pub(crate) timestamp: bool,
}

/// A backend named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendArg {
    Postgres,
    Mysql,
    Sqlite,
}

impl From<BackendArg> for tt_schema::Backend {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Postgres => Self::Postgres,
            BackendArg::Mysql => Self::Mysql,
            BackendArg::Sqlite => Self::Sqlite,
        }
    }
}

/// A number of seconds for a timeout.
fn seconds(text: &str) -> Result<f64, String> {
    seconds_up_to(text, crate::config::MAX_TIMEOUT)
}

/// A number of seconds for the lock timeout, which the backends bound.
fn lock_seconds(text: &str) -> Result<f64, String> {
    seconds_up_to(text, tt_migrate::MAX_LOCK_TIMEOUT)
}

fn seconds_up_to(text: &str, max: std::time::Duration) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if crate::config::is_seconds(secs, max) => Ok(secs),
        _ => Err(format!(
            "expected a number of seconds from 0 to {} (e.g. 10 or 0.5)",
            max.as_secs()
        )),
    }
}

/// A migration name as `tt new` writes it into a file name.
fn migration_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(name.to_string())
    } else {
        let hint = if name.contains(char::is_whitespace) {
            format!(
                " (try {})",
                name.split_whitespace().collect::<Vec<_>>().join("_")
            )
        } else {
            String::new()
        };
        Err(format!(
            "names are letters, digits, `_` and `-` ([A-Za-z0-9_-]+), as in create_items{hint}"
        ))
    }
}

/// Options of `tt completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_are_checked() {
        let check = |name: &str, expected: Result<&str, &str>| {
            assert_eq!(
                migration_name(name),
                expected.map(str::to_string).map_err(str::to_string),
                "{name}"
            );
        };
        let rule = "names are letters, digits, `_` and `-` ([A-Za-z0-9_-]+), as in create_items";
        check("create_items", Ok("create_items"));
        check("add-stats-2", Ok("add-stats-2"));
        check("2fa", Ok("2fa"));
        check("", Err(rule));
        check("items.sql", Err(rule));
        check("a/b", Err(rule));
        check("größe", Err(rule));
        check(
            "create items table",
            Err(&format!("{rule} (try create_items_table)")),
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
