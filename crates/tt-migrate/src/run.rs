//! The one policy loop: lock, read the tracking table, plan, apply each migration, unlock.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tt_schema::Backend;

use crate::database::Database;
use crate::error::{Error, FailureOutcome, RunError};
use crate::failure;
use crate::introspect::{IntrospectOptions, introspect};
use crate::lock;
use crate::migration::{FileKind, Migration, MigrationFile, Version};
use crate::plan::{self, PlanOptions, Status};
use crate::split::{Piece, Statement};
use crate::statements;
use crate::tracking::{RowUpdate, Tracking};

/// A migration that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The version.
    pub version: Version,
    /// The name.
    pub name: String,
    /// Wall time of the migration, in milliseconds.
    pub execution_ms: i64,
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Migrations applied, in order (for a dry run: those that would be).
    pub applied: Vec<Applied>,
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
}

/// Something worth telling the user while a run goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A migration is about to run.
    Started {
        /// The migration.
        migration: &'a Migration,
        /// The file that runs.
        file: &'a MigrationFile,
        /// Its number in this run, from 1.
        index: usize,
        /// How many this run applies.
        total: usize,
        /// How many statements the file holds.
        statements: u32,
    },
    /// A batch of statements finished.
    Progress {
        /// Statements of the current migration done so far.
        done: u32,
        /// Statements in the current migration.
        total: u32,
    },
    /// A `\echo` line of the file.
    Echo(&'a str),
    /// A migration finished.
    Finished(&'a Applied),
}

/// Applies migrations to databases: the policy of one run, independent of the connection.
#[derive(Debug, Clone)]
pub struct Migrator<'m> {
    migrations: &'m [Migration],
    tracking: Tracking,
    plan: PlanOptions,
    batch_bytes: usize,
}

impl<'m> Migrator<'m> {
    /// A migrator for `migrations` (in version order) with the default tracking table.
    pub fn new(migrations: &'m [Migration]) -> Self {
        Self {
            migrations,
            tracking: Tracking::default(),
            plan: PlanOptions::default(),
            // Big enough that a file of thousands of small statements needs few round trips,
            // small enough to keep memory flat for huge files.
            batch_bytes: 256 * 1024,
        }
    }

    /// Uses another tracking table.
    pub fn tracking(mut self, tracking: Tracking) -> Self {
        self.tracking = tracking;
        self
    }

    /// Sets which migrations a run applies (`--to`, `--allow-out-of-order`).
    pub fn plan_options(mut self, plan: PlanOptions) -> Self {
        self.plan = plan;
        self
    }

    /// Where every migration stands on `db`. Reads only; creates nothing.
    ///
    /// # Errors
    /// When the tracking table cannot be read.
    pub async fn status(&self, db: &mut Database) -> Result<Status, Error> {
        let rows = self.tracking.rows(db).await?;
        Ok(plan::status(self.migrations, &rows, db.backend()))
    }

    /// What a run would apply, without locking or changing anything.
    ///
    /// # Errors
    /// As [`plan::plan`], or when the tracking table cannot be read.
    pub async fn dry_run(&self, db: &mut Database) -> Result<RunReport, Error> {
        let rows = self.tracking.rows(db).await?;
        let chosen = plan::plan(self.migrations, &rows, db.backend(), &self.plan)?;
        let backend = db.backend();
        for migration in &chosen {
            check_file(migration, backend)?;
        }
        Ok(RunReport {
            applied: chosen
                .iter()
                .map(|m| Applied {
                    version: m.version.clone(),
                    name: m.name.clone(),
                    execution_ms: 0,
                })
                .collect(),
            dry_run: true,
        })
    }

    /// Applies the pending migrations under the migration lock.
    ///
    /// Every pending file is read and split once before anything runs, so that bad input
    /// stops the run before it changes the database.
    ///
    /// # Errors
    /// [`RunError`] with the migrations applied before the failure.
    pub async fn run(
        &self,
        db: &mut Database,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        lock::acquire_lock(db, &self.tracking).await?;
        let result = self.run_locked(db, on_event).await;
        if let Err(failure) = &result {
            self.make_durable(db, &failure.applied).await;
        }
        let released = lock::release_lock(db, &self.tracking).await;
        match (result, released) {
            (Ok(report), Ok(())) => Ok(report),
            (Ok(report), Err(error)) => Err(RunError {
                applied: report.applied,
                error,
            }),
            (Err(error), _) => Err(error),
        }
    }

    async fn run_locked(
        &self,
        db: &mut Database,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        let backend = db.backend();
        self.tracking.ensure(db).await?;
        let rows = self.tracking.rows(db).await?;
        let chosen = plan::plan(self.migrations, &rows, backend, &self.plan)?;
        let mut counts = Vec::with_capacity(chosen.len());
        let mut problems = Vec::new();
        for migration in &chosen {
            match check_file(migration, backend) {
                Ok(count) => counts.push(count),
                Err(error) => problems.push(error),
            }
        }
        if let Some(error) = problems.into_iter().next() {
            return Err(error.into());
        }
        let mut report = RunReport::default();
        let total = chosen.len();
        for (index, (migration, statements)) in chosen.into_iter().zip(counts).enumerate() {
            let file = migration
                .up_for(backend)
                .ok_or_else(|| Error::NoVariant {
                    version: migration.version.clone(),
                    name: migration.name.clone(),
                    backend,
                })
                .map_err(|error| RunError {
                    applied: report.applied.clone(),
                    error,
                })?;
            on_event(Event::Started {
                migration,
                file,
                index: index + 1,
                total,
                statements,
            });
            // The run's last commit waits for the disk, and so for every commit before it.
            let durable = index + 1 == total;
            let applied = self
                .apply(db, migration, file, statements, durable, on_event)
                .await
                .map_err(|error| RunError {
                    applied: report.applied.clone(),
                    error,
                })?;
            on_event(Event::Finished(&applied));
            report.applied.push(applied);
        }
        Ok(report)
    }

    async fn apply(
        &self,
        db: &mut Database,
        migration: &Migration,
        file: &MigrationFile,
        total: u32,
        durable: bool,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<Applied, Error> {
        let started = Instant::now();
        let backend = db.backend();
        let in_transaction = !file.no_transaction;
        // Where DDL commits implicitly, or without a transaction, a failure can leave part of
        // the migration behind: the row is written dirty first so a later run notices.
        let dirty_first = !in_transaction || backend == Backend::Mysql;
        let row = |execution_ms: i64, dirty: bool| RowUpdate {
            version: migration.version.as_str(),
            name: &migration.name,
            checksum: file.checksum.as_str(),
            execution_ms,
            dirty,
        };
        if !in_transaction && backend == Backend::Sqlite {
            // The run holds SQLite's write lock as a transaction; leave it for this file.
            db.execute("COMMIT")
                .await
                .map_err(Error::query("committing before a no-transaction migration"))?;
        }
        if dirty_first {
            self.tracking.upsert(db, &row(0, true)).await?;
        }
        if in_transaction {
            db.execute(begin_migration(backend, durable))
                .await
                .map_err(Error::query("starting the migration's transaction"))?;
        }
        let mut executor = Executor {
            db,
            migration,
            path: file.path(),
            batch: Batch::default(),
            batch_bytes: if in_transaction { self.batch_bytes } else { 0 },
            done: 0,
            total,
            lasting_effects: false,
            in_transaction,
        };
        let outcome = executor.run_file(file, on_event).await;
        let lasting_effects = executor.lasting_effects;
        let execution_ms = started.elapsed().as_millis() as i64;
        match outcome {
            Ok(()) => {
                self.tracking.upsert(db, &row(execution_ms, false)).await?;
                if in_transaction {
                    db.execute(commit(backend))
                        .await
                        .map_err(Error::query("committing the migration"))?;
                } else if backend == Backend::Sqlite {
                    lock::acquire_lock(db, &self.tracking).await?;
                }
            }
            Err(mut error) => {
                if in_transaction {
                    // The connection may be broken; the failure itself is what matters.
                    let _ = db.execute(rollback(backend)).await;
                }
                let outcome = if lasting_effects {
                    FailureOutcome::Dirty
                } else {
                    if dirty_first {
                        self.tracking.delete(db, migration.version.as_str()).await?;
                    }
                    FailureOutcome::RolledBack
                };
                if let Error::Statement(failure) = &mut error {
                    failure.outcome = outcome;
                }
                if !in_transaction && backend == Backend::Sqlite {
                    lock::acquire_lock(db, &self.tracking).await?;
                }
                return Err(error);
            }
        }
        Ok(Applied {
            version: migration.version.clone(),
            name: migration.name.clone(),
            execution_ms,
        })
    }
}

impl Migrator<'_> {
    /// After a failed run, waits until the migrations it applied are on disk: on PostgreSQL
    /// only the run's last commit was to wait for them (see [`begin_migration`]), and the
    /// failure came first.
    async fn make_durable(&self, db: &mut Database, applied: &[Applied]) {
        let Some(last) = applied.last() else { return };
        if db.backend() == Backend::Postgres {
            // Best effort: when this fails the server is likely gone, and the run's own error
            // says more than this one would.
            let _ = self.tracking.rewrite(db, last.version.as_str()).await;
        }
    }
}

/// Starts a migration's transaction. On PostgreSQL, a commit that need not be `durable` does
/// not wait for its WAL to reach the disk (`synchronous_commit = off`, this transaction only):
/// a run of many small migrations would otherwise wait for one flush per file. Such a commit
/// is still atomic, and a crash can only lose it whole (migration and tracking row together);
/// the run's last commit, or [`Migrator::make_durable`] after a failure, flushes the WAL, and
/// with it every commit before, before the run returns.
fn begin_migration(backend: Backend, durable: bool) -> &'static str {
    if backend == Backend::Postgres && !durable {
        "BEGIN; SET LOCAL synchronous_commit = off"
    } else {
        begin(backend)
    }
}

fn begin(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SAVEPOINT tt_migration",
        Backend::Postgres | Backend::Mysql => "BEGIN",
    }
}

fn commit(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "RELEASE tt_migration",
        Backend::Postgres | Backend::Mysql => "COMMIT",
    }
}

fn rollback(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "ROLLBACK TO tt_migration; RELEASE tt_migration",
        Backend::Postgres | Backend::Mysql => "ROLLBACK",
    }
}

/// Reads and splits the file `migration` runs on `backend`, returning its statement count.
fn check_file(migration: &Migration, backend: Backend) -> Result<u32, Error> {
    let file = migration.up_for(backend).ok_or_else(|| Error::NoVariant {
        version: migration.version.clone(),
        name: migration.name.clone(),
        backend,
    })?;
    let mut count = 0;
    for piece in statements::pieces(file, backend, None)? {
        if let Piece::Statement(_) = piece? {
            count += 1;
        }
    }
    Ok(count)
}

/// Statements waiting to be sent together, with where each begins in the batch text.
#[derive(Debug, Default)]
struct Batch {
    sql: String,
    /// (character offset of the statement in `sql`, the statement).
    statements: Vec<(usize, Statement)>,
    chars: usize,
}

impl Batch {
    fn push(&mut self, statement: Statement) {
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
            self.chars += 2;
        }
        let offset = self.chars;
        self.sql.push_str(&statement.sql);
        self.chars += statement.sql.chars().count();
        self.statements.push((offset, statement));
    }

    fn clear(&mut self) {
        self.sql.clear();
        self.statements.clear();
        self.chars = 0;
    }
}

/// Runs one file's statements in batches and turns a server error into a [`StatementFailure`].
struct Executor<'a> {
    db: &'a mut Database,
    migration: &'a Migration,
    path: &'a Path,
    batch: Batch,
    /// Flush when the batch grows past this; 0 sends each statement alone.
    batch_bytes: usize,
    done: u32,
    total: u32,
    /// Whether something that a rollback cannot undo has run.
    lasting_effects: bool,
    in_transaction: bool,
}

impl Executor<'_> {
    async fn run_file(
        &mut self,
        file: &MigrationFile,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<(), Error> {
        let backend = self.db.backend();
        // A TOML file may reference tables earlier migrations made: check against the live
        // schema now that they have run.
        let existing = match file.kind {
            FileKind::Toml => Some(introspect(self.db, &IntrospectOptions::default()).await?),
            FileKind::Sql => None,
        };
        for piece in statements::pieces(file, backend, existing.as_ref())? {
            match piece? {
                Piece::Statement(statement) => {
                    if self.in_transaction && is_transaction_control(&statement.sql) {
                        // tt wraps the file in its own transaction; the file's BEGIN/COMMIT
                        // would end it early (or fail inside SQLite's).
                        tracing::debug!(line = statement.line, "skipping {}", statement.sql);
                        continue;
                    }
                    self.batch.push(statement);
                    if self.batch.sql.len() >= self.batch_bytes {
                        self.flush(on_event).await?;
                    }
                }
                Piece::Echo { text, .. } => {
                    self.flush(on_event).await?;
                    on_event(Event::Echo(&text));
                }
            }
        }
        self.flush(on_event).await
    }

    async fn flush(&mut self, on_event: &mut (dyn FnMut(Event<'_>) + Send)) -> Result<(), Error> {
        if self.batch.statements.is_empty() {
            return Ok(());
        }
        let backend = self.db.backend();
        tracing::debug!(statements = self.batch.statements.len(), "sending batch");
        let result = self.db.execute_batch(&self.batch.sql).await;
        let completed = match &result {
            Ok(_) => self.batch.statements.len(),
            Err(error) => error.completed,
        };
        if !self.lasting_effects {
            self.lasting_effects = self.batch.statements[..completed]
                .iter()
                .any(|(_, s)| !self.in_transaction || failure::commits_implicitly(backend, &s.sql));
        }
        self.done += completed as u32;
        match result {
            Ok(_) => {
                self.batch.clear();
                on_event(Event::Progress {
                    done: self.done,
                    total: self.total,
                });
                Ok(())
            }
            Err(error) => {
                let failure = failure::locate(
                    backend,
                    self.migration,
                    self.path,
                    &self.batch.statements,
                    error.completed,
                    &error.source,
                );
                self.batch.clear();
                Err(Error::Statement(Box::new(failure)))
            }
        }
    }
}

/// Whether a statement only begins or ends a transaction (`BEGIN`, `COMMIT`, `END`, …).
fn is_transaction_control(sql: &str) -> bool {
    // Called for every statement: a file of INSERTs is decided by its first word without
    // lowercasing (allocating) every word of every statement.
    let first = sql.split_whitespace().next().unwrap_or_default();
    if !["begin", "start", "commit", "end"]
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
    {
        return false;
    }
    let words: Vec<String> = sql
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["begin"]
            | ["begin", "transaction" | "work"]
            | ["begin", "immediate" | "deferred" | "exclusive"]
            | [
                "begin",
                "immediate" | "deferred" | "exclusive",
                "transaction"
            ]
            | ["start", "transaction"]
            | ["commit" | "end"]
            | ["commit" | "end", "transaction" | "work"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_statements_are_recognised() {
        for sql in [
            "BEGIN",
            "begin transaction",
            "START TRANSACTION",
            "COMMIT",
            "end",
            "COMMIT WORK",
        ] {
            assert!(is_transaction_control(sql), "{sql}");
        }
        for sql in [
            "BEGIN ATOMIC SELECT 1; END",
            "COMMIT PREPARED 'x'",
            "ENDING",
            "SELECT 1",
        ] {
            assert!(!is_transaction_control(sql), "{sql}");
        }
    }
}
