//! Errors of tt-migrate, including the detailed report of a failing migration statement.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tt_schema::Backend;

use crate::files::migration::Version;
use crate::files::source::DiscoveryError;
use crate::files::split::SplitError;

/// Everything that can stop tt-migrate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL names no supported backend.
    #[error("unsupported database url `{url}` (expected sqlite://, postgres:// or mysql://)")]
    UnsupportedUrl {
        /// The URL, password redacted.
        url: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("could not connect to {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the driver said.
        source: DriverError,
    },
    /// The database URL is refused before connecting.
    #[error("database url `{url}`: {problem}")]
    BadUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong with it.
        problem: Box<crate::backend::connect::problem::UrlProblem>,
    },
    /// The TLS handshake was refused, for a reason the URL's options explain.
    #[error("could not connect to {url}: {problem}")]
    Tls {
        /// The URL, password redacted.
        url: String,
        /// Why.
        problem: Box<crate::backend::connect::problem::TlsProblem>,
    },
    /// The server did not complete the connection and its handshake in time.
    #[error(
        "could not connect to {url}: no answer within {}s (check the host and port; raise \
         --connect-timeout to wait longer)",
        timeout.as_secs_f32()
    )]
    ConnectTimeout {
        /// The URL, password redacted.
        url: String,
        /// How long tt waited.
        timeout: Duration,
    },
    /// The lock timeout is longer than the backends accept.
    #[error("the lock timeout must be at most {} seconds", max.as_secs())]
    LockTimeoutTooLong {
        /// The longest accepted.
        max: Duration,
    },
    /// A query tt itself runs (tracking table, lock, catalog) failed.
    #[error("{context} failed")]
    Query {
        /// What tt was doing.
        context: String,
        /// What the driver said.
        source: DriverError,
    },
    /// The PostgreSQL schema to introspect does not exist.
    #[error(
        "postgresql schema `{schema}` does not exist (check the schema option or the search_path)"
    )]
    UnknownSchema {
        /// The schema asked for, or `current_schema()` when none was given.
        schema: String,
    },
    /// A `-- tt:no-transaction` migration would run in a schema set per transaction (behind
    /// a transaction pooler), where it cannot be set for it.
    #[error(
        "migration {version} is `-- tt:no-transaction` and cannot run in schema `{schema}` through a transaction pooler: its statements cannot share a transaction with the `SET LOCAL search_path` that names the schema; connect directly or through a session pool for it, or make the schema the role's search_path"
    )]
    SchemaOutsideTransaction {
        /// The migration.
        version: Version,
        /// The schema asked for.
        schema: String,
    },
    /// A schema was asked for on a backend that has none (SQLite).
    #[error(
        "{backend} has no schemas or databases to choose from (a schema needs PostgreSQL or MySQL)"
    )]
    NoSchemas {
        /// The backend of the URL.
        backend: Backend,
    },
    /// The migrations directory holds bad input.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// Another runner holds the migration lock.
    #[error(
        "the migration lock is held by another session{}; waited {}s (raise --lock-timeout to wait longer)",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
        waited.as_secs_f32()
    )]
    LockTimeout {
        /// Who holds it, where the backend tells.
        holder: Option<String>,
        /// How long tt waited.
        waited: Duration,
    },
    /// Tables appeared between the confirmation of a drop (or reset, recreate) and the lock:
    /// the confirmed plan no longer says what would be dropped.
    #[error(
        "the drop was not run: since it was confirmed, another runner created {} table(s) it did not list: {}; run it again to see the new plan",
        added.len(),
        added.join(", ")
    )]
    PlanGrew {
        /// The tables the confirmed plan did not list.
        added: Vec<String>,
    },
    /// The lease lock was lost while this run held it: its heartbeat got no renewal through
    /// for most of the lease, or another runner took the expired lease over.
    #[error(
        "the migration lock was lost: this run's lease in table {table} was not renewed in time (the server or pooler did not answer its heartbeat) or was taken over by another runner"
    )]
    LockLost {
        /// The lease table.
        table: String,
    },
    /// The run was cancelled (Ctrl-C, [`crate::Canceller::cancel`]): it started no further
    /// statement or migration.
    #[error("the run was cancelled before migration {version} finished")]
    Cancelled {
        /// The migration that was running or would have started next.
        version: Version,
    },
    /// Applied migration files were edited after they ran.
    #[error(
        "{} applied migration file(s) changed since they ran:{}\nrestore the files, or run `tt repair` to record the new checksums if the change is intended",
        changed.len(),
        changed.iter().map(|c| format!("\n  {} (version {}): recorded {}, file has {}", c.path.display(), c.version, short(&c.recorded), short(&c.actual))).collect::<String>()
    )]
    ChecksumChanged {
        /// Each changed file.
        changed: Vec<ChangedFile>,
    },
    /// A migration was left half-applied by an earlier failed run.
    #[error(
        "migration {version} ({name}) is marked dirty: an earlier run failed part-way through it; fix the database by hand, then run `tt repair` to clear the mark"
    )]
    Dirty {
        /// The dirty version as recorded.
        version: String,
        /// Its name as recorded.
        name: String,
    },
    /// Pending migrations are older than the latest applied one.
    #[error(
        "migration(s) {} are pending but older than the latest applied version {latest}; \
         run with --allow-out-of-order to apply them anyway",
        versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    OutOfOrder {
        /// The pending versions lower than `latest`.
        versions: Vec<Version>,
        /// The latest applied version.
        latest: Version,
    },
    /// A migration has only variants for other backends.
    #[error(
        "migration {version} has no file for {backend}: add {version}_{name}.sql or {version}_{name}.{backend}.sql"
    )]
    NoVariant {
        /// The migration's version.
        version: Version,
        /// The migration's name.
        name: String,
        /// The connected backend.
        backend: Backend,
    },
    /// A rollback reached a migration that has no down file (nor derived rollback), or only
    /// an empty one.
    #[error(
        "migration {version} ({name}) has {}: the rollback stopped before it \
         (write {}, or roll back to a later version with --to)",
        match empty_down {
            Some(path) => format!("an empty down ({}), which would undo nothing", path.display()),
            None => "no down file".to_string(),
        },
        if empty_down.is_some() { "the statements that undo it" } else { "one" }
    )]
    NoDown {
        /// The migration's version.
        version: Version,
        /// The migration's name.
        name: String,
        /// The down file that holds no statement, when there is one.
        empty_down: Option<std::path::PathBuf>,
    },
    /// A rollback reached an applied version whose file is gone.
    #[error(
        "migration {version} is recorded as applied but its file is missing: restore the \
         file to roll it back"
    )]
    MissingFile {
        /// The version as recorded.
        version: Version,
    },
    /// Another tool's tracking table to import from does not exist.
    #[error(
        "{tool}'s tracking table `{table}` was not found in this database (was it applied \
         with {tool}, to this database and schema?)"
    )]
    NoToolTable {
        /// The tool.
        tool: crate::files::source::Layout,
        /// The table looked for.
        table: String,
    },
    /// Importing from another tool was asked for tt's own layout, which has none.
    #[error(
        "tt's own layout has no other tool's table to import (name one: sqlx, diesel, dbmate, \
         flyway, golang-migrate, goose or prisma)"
    )]
    NoTool,
    /// `--from-tool` without a name, and no known tool's table in the database.
    #[error(
        "no other tool's tracking table found in this database and schema (looked for \
         _sqlx_migrations, __diesel_schema_migrations, schema_migrations, \
         flyway_schema_history, goose_db_version, _prisma_migrations): name the tool with \
         --from-tool, or check the connection"
    )]
    NoToolFound,
    /// `--from-tool` without a name, and several tools' tables in the database.
    #[error(
        "tracking tables of several tools found ({}): name the one to import with --from-tool",
        found.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    )]
    ManyTools {
        /// The tools whose tables are there.
        found: Vec<crate::files::source::Layout>,
    },
    /// A drop of the managed tables stopped part-way (its mark is in the tracking table): the
    /// rows may record migrations whose tables are gone.
    #[error(
        "a drop of the managed tables stopped part-way{}: some of them may be gone while \
         tracking table `{table}` still records their migrations; run `tt drop` to finish the \
         drop (or `tt reset` to drop and apply every migration again)",
        started_at.as_ref().map(|at| format!(" (started {at})")).unwrap_or_default()
    )]
    StoppedDrop {
        /// The tracking table that holds the mark.
        table: String,
        /// When the drop started, as the database prints it.
        started_at: Option<String>,
    },
    /// A drop that cannot run as one transaction stopped after it had changed the database.
    #[error(
        "the drop stopped part-way: it dropped {} of the {tables} managed table(s){}{}; \
         tracking table `{tracking_table}` marks the drop unfinished, and `tt status`, \
         `tt migrate` and `tt verify` report it: fix the cause, then run `tt drop` (or \
         `tt reset`) again to finish",
        dropped.len(),
        listed(dropped),
        if *other_statements > 0 {
            format!(" and removed {other_statements} foreign key(s) or view(s)")
        } else {
            String::new()
        }
    )]
    DropIncomplete {
        /// The managed tables dropped before it stopped, in order.
        dropped: Vec<String>,
        /// How many managed tables it was to drop.
        tables: usize,
        /// Statements that ran other than table drops: cycle foreign keys, `--cascade`'s views
        /// and foreign keys.
        other_statements: usize,
        /// The tracking table that holds the mark.
        tracking_table: String,
        /// Why it stopped.
        source: Box<Error>,
    },
    /// The other tool's table says its last migration stopped part-way.
    #[error(
        "{tool}'s table `{table}` marks version {version} dirty (it stopped part-way): fix the \
         database, settle it with {tool} (`migrate force`), then baseline again"
    )]
    ToolDirty {
        /// The tool.
        tool: crate::files::source::Layout,
        /// Its table.
        table: String,
        /// The dirty version as recorded.
        version: String,
    },
    /// The tracking table's name is taken by a table of another shape (another tool's), which
    /// tt never alters.
    #[error(
        "tracking table `{table}` is {}'s table (columns: {}), not tt's: tt never alters \
         another tool's table; set tracking_table in tt.toml to another name, such as tt_schema_migrations, then import what it recorded with \
         `tt baseline --from-tool`",
        tool.unwrap_or("another tool"),
        columns.join(", ")
    )]
    ForeignTrackingTable {
        /// The table.
        table: String,
        /// The tool whose shape it has, when recognised.
        tool: Option<&'static str>,
        /// Its columns.
        columns: Vec<String>,
    },
    /// `--to` names a version that is not among the migrations.
    #[error("there is no migration with version {0}")]
    UnknownVersion(Version),
    /// A migration file could not be read.
    #[error("could not read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A migration file could not be split into statements.
    #[error("could not split {} into statements", path.display())]
    Split {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: SplitError,
    },
    /// The database is marked protected (`tt protect`).
    #[error(
        "{database} is protected{}: drop, reset and recreate refuse to run on it; pass --allow-protected if you really mean it",
        note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
    )]
    Protected {
        /// The database, password redacted.
        database: String,
        /// The note given when it was protected.
        note: Option<String>,
    },
    /// Objects tt does not manage depend on tables it would drop.
    #[error(
        "cannot drop the managed tables: {} object(s) tt does not manage depend on them:{}\ndrop or change them first, or pass --cascade to drop these views and foreign keys too",
        crate::backend::dependent::distinct_objects(dependents),
        dependents.iter().map(|d| format!("\n  {d}")).collect::<String>()
    )]
    Dependents {
        /// What depends on what.
        dependents: Vec<crate::backend::dependent::Dependent>,
    },
    /// A TOML migration's table definitions are invalid.
    #[error(transparent)]
    Definitions(#[from] tt_schema::DefinitionError),
    /// A TOML migration's tables cannot be rendered for the backend.
    #[error("could not render the tables of {}", path.display())]
    Render {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<tt_schema::RenderError>,
    },
    /// A statement of a migration failed on the server.
    #[error(transparent)]
    Statement(Box<StatementFailure>),
    /// The migrations could not be applied to the scratch database that gives the schema
    /// they produce (the scratch database was dropped all the same).
    #[error(
        "applying the migrations to a scratch {backend} database (to learn the schema they produce) failed"
    )]
    Scratch {
        /// The backend of the scratch database.
        backend: Backend,
        /// What failed.
        source: Box<Error>,
    },
    /// [`Database::begin`](crate::Database::begin) was called while a transaction is open.
    #[error(
        "a transaction is already open on this connection: commit or roll it back before beginning another"
    )]
    TransactionOpen,
    /// [`Database::commit`](crate::Database::commit) or `rollback` was called with no
    /// transaction open.
    #[error("no transaction is open on this connection to {action} (call begin first)")]
    NoTransaction {
        /// What was asked: `commit` or `roll back`.
        action: &'static str,
    },
}

impl Error {
    /// The server's message when the server rejected a statement ([`Error::Query`] with a
    /// database error); `None` for every other error, such as a lost connection.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::Query { source, .. } => source.as_database_error().map(|e| e.message()),
            _ => None,
        }
    }

    /// A closure wrapping a driver error of a query tt runs itself.
    pub(crate) fn query(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        // Contexts may quote a statement: never a whole 50 MB INSERT.
        let context = excerpt(&context.into(), 200);
        move |source| Error::Query {
            context,
            source: DriverError(source),
        }
    }
}

/// An error of the database driver, shown without the PostgreSQL driver's suffix that names
/// a line of the server's C source (`at line 1392`): the file's location is the one that
/// counts.
#[derive(Debug)]
pub struct DriverError(pub sqlx::Error);

impl std::ops::Deref for DriverError {
    type Target = sqlx::Error;

    /// The driver's error itself, for what it tells beyond its text (`as_database_error`).
    fn deref(&self) -> &sqlx::Error {
        &self.0
    }
}

impl From<sqlx::Error> for DriverError {
    fn from(error: sqlx::Error) -> Self {
        DriverError(error)
    }
}

impl DriverError {
    /// The PostgreSQL error this is, if it is one.
    fn postgres(&self) -> Option<&sqlx::postgres::PgDatabaseError> {
        self.0
            .as_database_error()?
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&driver_text(&self.0))
    }
}

/// A driver error as [`DriverError`] shows it, for logs that only borrow it.
pub(crate) fn driver_text(error: &sqlx::Error) -> String {
    match error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        // sqlx's own wording, with the server's message alone.
        Some(pg) => format!("error returned from database: {}", pg.message()),
        None => error.to_string(),
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The PostgreSQL error's own text carries the suffix, and the message says it all.
        match self.postgres() {
            Some(_) => None,
            None => self.0.source(),
        }
    }
}

/// `text` cut to its first `max` characters, saying how long it was when it was longer.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// ` (a, b, c)` for a short list of names, the first ten and a count for a long one; empty
/// for none.
fn listed(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1..=10 => format!(" ({})", names.join(", ")),
        n => format!(" ({}, … and {} more)", names[..10].join(", "), n - 10),
    }
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}

/// An applied migration file whose checksum no longer matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    /// The version.
    pub version: Version,
    /// The file as it is now.
    pub path: PathBuf,
    /// Checksum recorded when it ran.
    pub recorded: String,
    /// Checksum of the file now.
    pub actual: String,
}

/// A failing statement, with everything needed to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// The migration's version.
    pub version: Version,
    /// The migration file.
    pub path: PathBuf,
    /// 1-based number of the statement in the file.
    pub statement_number: u32,
    /// 1-based line in the file (the server's error position where given, else the
    /// statement's start).
    pub line: u32,
    /// 1-based column in that line.
    pub column: u32,
    /// SQLSTATE (PostgreSQL, MySQL) or result code (SQLite).
    pub code: Option<String>,
    /// The server's message.
    pub message: String,
    /// The statement's line that holds the error position.
    pub excerpt: String,
    /// A likely cause and next step, for common errors.
    pub hint: Option<String>,
    /// What became of the migration's changes.
    pub outcome: FailureOutcome,
    /// For an index a `.toml` migration built on a connection of its own (`--jobs`): which
    /// one, and how the other builds went.
    pub index: Option<IndexFailure>,
}

/// The index whose build failed, in a `.toml` migration that built the indexes of its tables
/// at the same time (`--jobs`): the tables and the other indexes stay, the row stays dirty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexFailure {
    /// The indexed table.
    pub table: String,
    /// The index.
    pub index: String,
    /// The migration's indexes that were built.
    pub built: Vec<String>,
    /// Its other indexes whose builds failed too.
    pub also_failed: Vec<String>,
}

/// What a failed migration left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Its transaction was rolled back: nothing of it remains.
    RolledBack,
    /// Some of it could not be rolled back (DDL that commits implicitly on MySQL, or a
    /// `no-transaction` migration); it is recorded as dirty.
    Dirty,
    /// Its down file failed and its transaction was rolled back: it stays applied.
    StillApplied,
    /// Its down file failed part-way and some of it could not be undone; it is recorded as
    /// dirty.
    PartlyRolledBack,
}

impl fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line_label = self.line.to_string();
        let pad = " ".repeat(line_label.len());
        writeln!(
            f,
            "migration {} failed at statement {}",
            self.version, self.statement_number
        )?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.path.display(),
            self.line,
            self.column
        )?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{line_label} | {}", self.excerpt)?;
        let caret_pad: String = self
            .excerpt
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{pad} | {caret_pad}^")?;
        match &self.code {
            Some(code) => writeln!(f, "{pad} = error {code}: {}", self.message)?,
            None => writeln!(f, "{pad} = error: {}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "{pad} = hint: {hint}")?;
        }
        if let Some(index) = &self.index {
            writeln!(
                f,
                "{pad} = index `{}` of table `{}` was not built; the other builds finished: {} built{}",
                index.index,
                index.table,
                index.built.len(),
                if index.also_failed.is_empty() {
                    String::new()
                } else {
                    format!(", also failed: {}", index.also_failed.join(", "))
                }
            )?;
            return write!(
                f,
                "{pad} = migration {} has its tables and is marked dirty; once the cause is fixed, create the missing indexes (the statement above), then run `tt repair`",
                self.version
            );
        }
        match self.outcome {
            FailureOutcome::RolledBack => write!(
                f,
                "{pad} = migration {} was rolled back; nothing after it was applied",
                self.version
            ),
            FailureOutcome::Dirty => write!(
                f,
                "{pad} = migration {} is partly applied and marked dirty (this backend cannot roll back its DDL); fix the database, then run `tt repair`",
                self.version
            ),
            FailureOutcome::StillApplied => write!(
                f,
                "{pad} = the rollback of migration {} was undone; it stays applied",
                self.version
            ),
            FailureOutcome::PartlyRolledBack => write!(
                f,
                "{pad} = migration {} is partly rolled back and marked dirty (this backend cannot roll back its DDL); fix the database, then run `tt repair`",
                self.version
            ),
        }
    }
}

impl std::error::Error for StatementFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_cut_in_messages() {
        assert_eq!(excerpt("SELECT 1", 10), "SELECT 1");
        assert_eq!(excerpt("SELECT 1234", 10), "SELECT 123… (11 bytes in all)");
        assert_eq!(excerpt("é€ab", 2), "é€… (7 bytes in all)");
        let long = format!("INSERT INTO t VALUES ('{}')", "x".repeat(1 << 20));
        let error = Error::query(format!("statement `{long}`"))(sqlx::Error::RowNotFound);
        assert!(error.to_string().len() < 400, "{error}");
    }

    #[test]
    fn a_split_error_names_the_file_then_the_problem() {
        let error = Error::Split {
            path: PathBuf::from("migrations/003_perks.sql"),
            source: SplitError::Unterminated {
                what: crate::files::split::Construct::String,
                line: 4,
                column: 9,
            },
        };
        assert_eq!(
            error.to_string(),
            "could not split migrations/003_perks.sql into statements"
        );
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("unterminated string starting at line 4, column 9")
        );
    }

    #[test]
    fn statement_failure_reads_like_a_compiler_error() {
        let failure = StatementFailure {
            version: Version::new("003").unwrap(),
            path: PathBuf::from("migrations/003_perks.sql"),
            statement_number: 2,
            line: 7,
            column: 13,
            code: Some("42P01".into()),
            message: "relation \"itemz\" does not exist".into(),
            excerpt: "INSERT INTO itemz (id) VALUES (1)".into(),
            hint: Some(
                "an earlier migration that creates it may be missing or out of order".into(),
            ),
            outcome: FailureOutcome::RolledBack,
            index: None,
        };
        expect_test::expect![[r#"
            migration 003 failed at statement 2
             --> migrations/003_perks.sql:7:13
              |
            7 | INSERT INTO itemz (id) VALUES (1)
              |             ^
              = error 42P01: relation "itemz" does not exist
              = hint: an earlier migration that creates it may be missing or out of order
              = migration 003 was rolled back; nothing after it was applied"#]]
        .assert_eq(&failure.to_string());
    }
}
