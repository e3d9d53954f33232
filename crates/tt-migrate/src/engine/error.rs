//! Why a run refuses to start, and the detailed report of a failing migration statement:
//! leaf types that import nothing above them.

use std::fmt;
use std::path::PathBuf;

use tt_schema::Backend;

use crate::files::migration::Version;

/// What the migrations and the tracking rows say against running: checked before anything is
/// applied or rolled back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
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
        empty_down: Option<PathBuf>,
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
    /// `--to` names a version that is not among the migrations.
    #[error("there is no migration with version {0}")]
    UnknownVersion(Version),
}

/// A tracking table tt cannot trust as it stands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackingError {
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
