//! The one policy loop: lock, read the tracking table, plan, apply (or roll back) each
//! migration, unlock.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tt_schema::Backend;

use crate::backend::database::Database;
use crate::backend::error::TransactionError;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::engine::diesel_table::{ensure_diesel_table, is_diesel_folder};
use crate::engine::error::{FailureOutcome, PlanError};
use crate::engine::failure;
use crate::engine::lock;
use crate::engine::plan::{self, DownTarget, PendingEntry, PlanOptions, Status};
use crate::engine::self_recording::with_tracking_creators;
use crate::engine::tracking::{
    AppliedRow, JOBS_MARK, RowUpdate, StoppedDrop, Tracking, jobs_range,
};
use crate::error::Error;
use crate::files::migration::{FileKind, Migration, MigrationFile, Version};
use crate::files::outside_transaction::refused_in_transaction;
use crate::files::source::{Layout, MigrationSet};
use crate::files::split::{Piece, Statement};
use crate::files::statements;

mod concurrent_indexes;
mod parallel;

pub use concurrent_indexes::IndexBuild;

/// A migration that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The version.
    pub version: Version,
    /// The name.
    pub name: String,
    /// Wall time of the migration, in milliseconds.
    pub execution_ms: i64,
    /// Why it ran without a transaction, statement by statement: `no-transaction directive`
    /// (`-- tt:no-transaction` or the layout's setting), or the first statement the backend
    /// refuses inside one (`CREATE INDEX CONCURRENTLY`); `None` when it ran in one.
    pub no_transaction: Option<String>,
    /// In a parallel run (`jobs` > 1): when it started, in milliseconds since the run began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// In a parallel run: when it committed, in milliseconds since the run began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    /// The indexes of a `.toml` migration built after its tables, those of different tables
    /// at the same time (`jobs` > 1); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub index_builds: Vec<IndexBuild>,
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
        /// How many statements the file holds; 0 where they depend on the live schema (a
        /// derived rollback, a `.toml` file referencing tables of earlier migrations).
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
    /// A migration finished, and is committed. On SQLite, where a run commits in short
    /// groups, that is when its group committed: after the next migrations' `Started`.
    Finished(&'a Applied),
    /// A migration was rolled back (its down file ran and its tracking row is gone), and that
    /// is committed (on SQLite, as for `Finished`, with its group).
    RolledBack(&'a Applied),
    /// A parallel run (`jobs` > 1) begins: migrations start and end out of version order, and
    /// each `Started` is followed by its `Ended`.
    Scheduled {
        /// Up to how many run at the same time.
        jobs: usize,
        /// How many this run applies.
        total: usize,
    },
    /// A migration of a parallel run ended, at once (its `Finished` follows in version order
    /// once every earlier one committed too).
    Ended {
        /// The migration.
        migration: &'a Migration,
        /// Whether it committed; otherwise it failed (and rolled back, or stays dirty) or was
        /// cancelled.
        committed: bool,
    },
}

/// Options of a rollback ([`Migrator::down`]).
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Which applied migrations to roll back (default: the newest one).
    pub target: DownTarget,
    /// Only report what would be rolled back.
    pub dry_run: bool,
}

/// What a rollback did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DownReport {
    /// Migrations rolled back, newest first (for a dry run: those that would be).
    pub rolled_back: Vec<Applied>,
    /// For a dry run: the migration without a down file the rollback would stop before.
    pub stopped_before: Option<PendingEntry>,
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
}

/// Which way a migration runs, and so what becomes of its tracking row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Its up file runs; the row is written.
    Up,
    /// Its down file (or derived rollback) runs; the row is deleted.
    Down,
}

/// The statements one step runs.
#[derive(Debug, Clone, Copy)]
struct Script<'a> {
    /// The file that runs (for a derived rollback: the `.toml` up file).
    file: &'a MigrationFile,
    /// Whether to drop the tables of `file` instead of running it.
    drop_tables: bool,
    /// Whether its commit waits for the disk (see `Dialect::begin_migration`).
    durable: bool,
    /// Why it runs without a transaction (see [`Applied::no_transaction`]).
    no_transaction: Option<&'static str>,
    /// Whether only the tables of a `.toml` file run, recorded as in progress (dirty): the
    /// first phase of building its indexes apart (see `concurrent_indexes`).
    tables_only: bool,
}

impl<'a> Script<'a> {
    /// The script that applies `migration` on `backend`.
    fn up(migration: &'a Migration, backend: Backend) -> Result<Self, Error> {
        let file = migration.up_for(backend).ok_or_else(|| {
            Error::Plan(PlanError::NoVariant {
                version: migration.version.clone(),
                name: migration.name.clone(),
                backend,
            })
        })?;
        Ok(Self::of(file, false))
    }

    fn of(file: &'a MigrationFile, drop_tables: bool) -> Self {
        Self {
            file,
            drop_tables,
            durable: true,
            no_transaction: file.no_transaction.then_some(NO_TRANSACTION_DIRECTIVE),
            tables_only: false,
        }
    }

    /// The script that rolls `migration` back on `backend`: its down file, or the derived
    /// rollback of a `.toml` migration.
    fn down(migration: &'a Migration, backend: Backend) -> Result<Self, Error> {
        if let Some(file) = migration.down_for(backend) {
            return Ok(Self::of(file, false));
        }
        match migration.up_for(backend) {
            Some(file) if file.kind == FileKind::Toml => Ok(Self::of(file, true)),
            _ => Err(Error::Plan(PlanError::NoDown {
                version: migration.version.clone(),
                name: migration.name.clone(),
                empty_down: migration.empty_down.first().cloned(),
            })),
        }
    }

    /// Reads and splits the script once, returning its statement count (0 for a derived
    /// rollback, whose statements depend on the live schema); a statement the backend refuses
    /// inside a transaction turns the transaction off for the whole file.
    fn check(&mut self, backend: Backend, server_version: Option<u32>) -> Result<u32, Error> {
        if self.drop_tables {
            return Ok(0);
        }
        let mut count = 0;
        for piece in statements::pieces(self.file, backend, None)? {
            if let Piece::Statement(statement) = piece? {
                count += 1;
                if self.no_transaction.is_none() {
                    self.no_transaction =
                        refused_in_transaction(backend, &statement.sql, server_version);
                }
            }
        }
        Ok(count)
    }
}

/// What [`Applied::no_transaction`] says for a file whose directive (`-- tt:no-transaction`,
/// or its layout's: sqlx's, dbmate's, goose's, a Flyway `.conf`, diesel's `metadata.toml`)
/// turned the transaction off.
const NO_TRANSACTION_DIRECTIVE: &str = "no-transaction directive";

/// Applies migrations to databases: the policy of one run, independent of the connection.
#[derive(Debug, Clone)]
pub struct Migrator<'m> {
    migrations: &'m [Migration],
    repeatable: &'m [Migration],
    tracking: Tracking,
    plan: PlanOptions,
    batch_bytes: usize,
    /// The layout the files were read in, for advice in failure reports.
    layout: Layout,
    /// How many migrations may run at the same time (see [`Migrator::jobs`]).
    jobs: usize,
}

impl<'m> Migrator<'m> {
    /// A migrator for `migrations` (in version order) with the default tracking table.
    /// Repeatable migrations among them (`R__name`, which order last; see
    /// [`MigrationSet::with_repeatable`]) are applied as repeatable ones.
    pub fn new(migrations: &'m [Migration]) -> Self {
        let numbered = migrations.partition_point(|m| !m.version.is_repeatable());
        let (migrations, repeatable) = migrations.split_at(numbered);
        Self {
            migrations,
            repeatable,
            tracking: Tracking::default(),
            plan: PlanOptions::default(),
            // Big enough that a file of thousands of small statements needs few round trips,
            // small enough to keep memory flat for huge files.
            batch_bytes: 256 * 1024,
            layout: Layout::Native,
            jobs: 1,
        }
    }

    /// A migrator for every migration of `set`, its repeatable ones included.
    pub fn for_set(set: &'m MigrationSet) -> Self {
        let mut migrator = Self::new(set.with_repeatable());
        migrator.layout = set.layout();
        migrator
    }

    /// Also applies these repeatable migrations (Flyway's `R__name.sql`) after the numbered
    /// ones, whenever they are new or changed; a run with a target (`--to`) leaves them.
    pub fn repeatable(mut self, repeatable: &'m [Migration]) -> Self {
        self.repeatable = repeatable;
        self
    }

    /// The migrations, in version order.
    pub(crate) fn migrations(&self) -> &'m [Migration] {
        self.migrations
    }

    /// The repeatable migrations.
    pub(crate) fn repeatable_migrations(&self) -> &'m [Migration] {
        self.repeatable
    }

    /// The tracking table.
    pub(crate) fn tracking_table(&self) -> &Tracking {
        &self.tracking
    }

    /// Uses another tracking table.
    pub fn tracking(mut self, tracking: Tracking) -> Self {
        self.tracking = tracking;
        self
    }

    /// Runs up to `jobs` migrations at the same time, each on its own connection, where the
    /// files' dependencies allow (see [`Migrator::schedule`]); 1 (the default, and always on
    /// SQLite, which has one writer) applies them one after the other on the run's connection.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// How many migrations a run on `db` applies at the same time: [`Migrator::jobs`], or 1
    /// where the backend has one writer.
    pub fn jobs_on(&self, db: &Database) -> usize {
        if db.dialect().one_writer() {
            1
        } else {
            self.jobs
        }
    }

    /// Sets which migrations a run applies (`--to`, `--allow-out-of-order`).
    pub fn plan_options(mut self, plan: PlanOptions) -> Self {
        self.plan = plan;
        self
    }

    /// The tracking rows, with those of migrations that created the tracking table
    /// themselves (see [`with_tracking_creators`]), and the mark of a drop that stopped
    /// part-way.
    async fn read_rows(
        &self,
        db: &mut Database,
    ) -> Result<(Vec<AppliedRow>, Option<StoppedDrop>), Error> {
        let (rows, stopped_drop) = self.tracking.read(db).await?;
        let rows =
            with_tracking_creators(self.migrations, rows, self.tracking.table(), db.backend());
        Ok((rows, stopped_drop))
    }

    /// [`Migrator::read_rows`] for what changes the database: refuses while a drop is unfinished
    /// ([`TrackingError::StoppedDrop`](crate::TrackingError::StoppedDrop)), since the rows then
    /// claim tables that may be gone.
    async fn applied_rows(&self, db: &mut Database) -> Result<Vec<AppliedRow>, Error> {
        let read = self.read_rows(db).await?;
        self.tracking.unless_stopped(read)
    }

    /// Where every migration stands on `db`. Reads only; creates nothing.
    ///
    /// # Errors
    /// When the tracking table cannot be read.
    pub async fn status(&self, db: &mut Database) -> Result<Status, Error> {
        let read = self.tracking.read(db).await?;
        Ok(self.status_from(read, db.backend()))
    }

    /// [`Self::status`] from what [`Tracking::read`] returned on a `backend` database: a
    /// caller may read the tracking table while the migrations still load.
    pub fn status_from(
        &self,
        (rows, stopped_drop): (Vec<AppliedRow>, Option<StoppedDrop>),
        backend: Backend,
    ) -> Status {
        let rows = with_tracking_creators(self.migrations, rows, self.tracking.table(), backend);
        Status {
            stopped_drop,
            ..plan::status_with_repeatable(self.migrations, self.repeatable, &rows, backend)
        }
    }

    /// What a run would apply, without locking or changing anything.
    ///
    /// # Errors
    /// A dirty row ([`PlanError::Dirty`]), changed files ([`PlanError::ChecksumChanged`]),
    /// out-of-order files without `allow_out_of_order` ([`PlanError::OutOfOrder`]), an unknown
    /// target, a pending migration without a file for the backend, or when the tracking table
    /// cannot be read.
    pub async fn dry_run(&self, db: &mut Database) -> Result<RunReport, Error> {
        let rows = self.applied_rows(db).await?;
        let chosen = self.chosen(&rows, db.backend())?;
        let backend = db.backend();
        for migration in &chosen {
            Script::up(migration, backend)?.check(backend, db.server_version_num())?;
        }
        Ok(RunReport {
            applied: chosen.iter().map(|m| not_run(m)).collect(),
            dry_run: true,
        })
    }

    /// Applies the pending migrations under the migration lock.
    ///
    /// Every pending file is read and split once before anything runs, so that bad input
    /// stops the run before it changes the database.
    ///
    /// # Errors
    /// [`RunError`] with the migrations applied before the failure;
    /// [`TransactionError::AlreadyOpen`] when [`Database::begin`] opened a transaction that is
    /// still open (the run's own transactions would end it).
    pub async fn run(
        &self,
        db: &mut Database,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        refuse_open_transaction(db)?;
        if self.nothing_to_do(db).await {
            return Ok(RunReport::default());
        }
        lock::acquire_lock(db, &self.tracking).await?;
        let result = self.run_locked(db, on_event).await;
        self.release_after_run(db, result).await
    }

    /// Whether a run would find nothing to do, read without the lock (and so without the
    /// second connection that finds a pooler): the tracking table complete, every migration
    /// recorded as applied and unchanged, no row dirty, no drop's mark and no parallel run's
    /// mark ([`JOBS_MARK`]: the run under the lock removes one that no gap is left behind).
    ///
    /// Safe without the lock: only a rollback or a drop makes an applied migration pending
    /// again, and a run that read before one of them began finishes with nothing done, as it
    /// would have done under the lock taken before theirs. Anything else (a failed read, a
    /// dirty row, a changed file, pending work) is left to the run under the lock, which waits
    /// for the runner that may be changing it and then says what it finds.
    async fn nothing_to_do(&self, db: &mut Database) -> bool {
        let Ok(Some((rows, None))) = self.tracking.read_complete(db).await else {
            return false;
        };
        if rows.iter().any(|row| row.version == JOBS_MARK) {
            return false;
        }
        let backend = db.backend();
        let rows = with_tracking_creators(self.migrations, rows, self.tracking.table(), backend);
        self.chosen(&rows, backend)
            .is_ok_and(|chosen| chosen.is_empty())
    }

    /// Ends a run made under the lock the caller held ([`Self::run_locked`]): releases the
    /// lock, and reports only the migrations that lasted when the release (on SQLite, the
    /// commit) failed.
    pub(crate) async fn release_after_run(
        &self,
        db: &mut Database,
        result: Result<RunReport, RunError>,
    ) -> Result<RunReport, RunError> {
        if let Err(failure) = &result {
            self.make_durable(db, &failure.applied).await;
        }
        let released = lock::release_lock(db, &self.tracking).await;
        self.settle(db, Step::Up, result, released, |report| &mut report.applied)
            .await
    }

    /// After the lock's release failed, drops from `done` the steps that did not last.
    ///
    /// On SQLite the lock is the run's transaction, which holds every step since the last
    /// `no-transaction` one (before which tt commits); its release is the commit. When that
    /// fails (or finds the transaction already gone: a statement such as `INSERT OR ROLLBACK`
    /// or a trigger's `RAISE(ROLLBACK, …)` rolls back the whole transaction), those steps did
    /// not happen, and the tracking table says which did. Other backends commit each step on
    /// its own.
    async fn forget_uncommitted(&self, db: &mut Database, step: Step, done: &mut Vec<Applied>) {
        if !db.dialect().one_writer() {
            return;
        }
        // Make sure what is reported is what is: a failed commit may leave the transaction
        // open. Without one, this fails harmlessly.
        let _ = db.execute("ROLLBACK").await;
        // When even this read fails, the report stays as it was; `tt status` tells the truth.
        let Ok(rows) = self.applied_rows(db).await else {
            return;
        };
        done.retain(|applied| {
            let row = rows.iter().find(|r| r.version == applied.version.as_str());
            match step {
                Step::Up => row.is_some_and(|r| !r.dirty),
                Step::Down => row.is_none(),
            }
        });
    }

    /// Applies the pending migrations under the lock the caller holds, then removes the
    /// mark of a parallel run ([`JOBS_MARK`]) once no gap is left below the latest applied
    /// version.
    pub(crate) async fn run_locked(
        &self,
        db: &mut Database,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        let mut marked = false;
        let result = self.apply_pending(db, &mut marked, on_event).await;
        if !marked {
            return result;
        }
        let cleared = self.clear_closed_gap(db).await;
        match (result, cleared) {
            (Ok(report), Err(error)) => Err(RunError {
                applied: report.applied,
                error,
            }),
            // The run's own failure tells more; a mark left behind is cleared next time.
            (result, _) => result,
        }
    }

    /// Removes the mark of a parallel run when no pending version is below the latest
    /// applied one.
    async fn clear_closed_gap(&self, db: &mut Database) -> Result<(), Error> {
        let (rows, _) = self.read_rows(db).await?;
        let status = plan::status(self.migrations, &rows, db.backend());
        if status.parallel_gap.is_empty() && status.out_of_order.is_empty() {
            self.tracking.delete(db, JOBS_MARK).await?;
        }
        Ok(())
    }

    /// Applies the pending migrations; `marked` says whether the tracking table holds the
    /// mark of a parallel run (an earlier one's, or this run's).
    async fn apply_pending(
        &self,
        db: &mut Database,
        marked: &mut bool,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        let backend = db.backend();
        // The columns once: what ensure leaves is what the rows are read with.
        let columns = self.tracking.ensure_columns(db).await?;
        let read = self.tracking.rows_with(db, &columns).await?;
        let rows = self.tracking.unless_stopped(read)?;
        let rows = with_tracking_creators(self.migrations, rows, self.tracking.table(), backend);
        let earlier_range = jobs_range(&rows);
        *marked = rows.iter().any(|row| row.version == JOBS_MARK);
        let chosen = self.chosen(&rows, backend)?;
        let scripts = checked(&chosen, db, Script::up)?;
        if !chosen.is_empty() && is_diesel_folder(self.migrations) {
            ensure_diesel_table(db).await?;
        }
        // A single `.toml` migration runs on the parallel path too: its indexes can be built
        // side by side.
        let toml = scripts.iter().any(|(s, _)| s.file.kind == FileKind::Toml);
        if self.jobs_on(db) > 1 && (chosen.len() > 1 || toml) {
            let schedule = self.schedule_of(db, &chosen, &scripts).await?;
            if schedule.serial.is_none() {
                if let Some((lowest, highest)) = numbered_range(&chosen, earlier_range) {
                    *marked = true;
                    self.tracking.mark_jobs(db, &lowest, &highest).await?;
                }
                return self
                    .run_parallel(db, &chosen, scripts, &schedule, on_event)
                    .await;
            }
        }
        let mut report = RunReport::default();
        let total = chosen.len();
        let mut group = Group::new(db);
        let mut outcome = Ok(());
        for (index, (migration, (script, statements))) in
            chosen.into_iter().zip(scripts).enumerate()
        {
            on_event(Event::Started {
                migration,
                file: script.file,
                index: index + 1,
                total,
                statements,
            });
            if let Err(error) = lock::renew_lock(db, &self.tracking).await {
                outcome = Err(error);
                break;
            }
            // The run's last commit waits for the disk, and so for every commit before it.
            let script = Script {
                durable: index + 1 == total,
                ..script
            };
            match self
                .step(db, migration, script, Step::Up, statements, on_event)
                .await
            {
                Ok(applied) => group.steps.push(applied),
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
            if group.due() {
                let closed = self
                    .close_group(db, &mut group, &mut report.applied, on_event, Step::Up)
                    .await;
                if let Err(error) = closed {
                    outcome = Err(error);
                    break;
                }
            }
        }
        // What ran before a failure is committed (and reported) as well.
        let closed = self
            .close_group(db, &mut group, &mut report.applied, on_event, Step::Up)
            .await;
        match outcome.and(closed) {
            Ok(()) => Ok(report),
            Err(error) => Err(RunError {
                applied: report.applied,
                error,
            }),
        }
    }

    /// The numbered migrations a run applies, then the repeatable ones that are due.
    fn chosen(
        &self,
        rows: &[crate::engine::tracking::AppliedRow],
        backend: Backend,
    ) -> Result<Vec<&'m Migration>, Error> {
        let mut chosen = plan::plan(self.migrations, rows, backend, &self.plan)?;
        if self.plan.target.is_none() {
            chosen.extend(plan::repeatable_due(self.repeatable, rows, backend));
        }
        Ok(chosen)
    }

    /// Rolls back applied migrations, newest first, under the migration lock: each down file
    /// (or the derived rollback of a `.toml` migration: its tables dropped in reverse FK order)
    /// runs with its tracking row deleted in the same transaction. The tracking table itself
    /// is never dropped. Rows of repeatable migrations are deleted too, so that the next run
    /// applies them again.
    ///
    /// # Errors
    /// [`RunError`] with the migrations rolled back before the error; [`PlanError::NoDown`] when
    /// the rollback stopped before a migration without a down file (those newer than it are
    /// rolled back); [`TransactionError::AlreadyOpen`] as for [`Migrator::run`].
    pub async fn down(
        &self,
        db: &mut Database,
        options: &DownOptions,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<DownReport, RunError> {
        let backend = db.backend();
        if options.dry_run {
            let rows = self.applied_rows(db).await?;
            let plan = plan::plan_down(self.migrations, &rows, backend, &options.target)?;
            checked(&plan.migrations, db, Script::down)?;
            return Ok(DownReport {
                rolled_back: plan.migrations.iter().map(|m| not_run(m)).collect(),
                stopped_before: plan.blocked.map(|m| PendingEntry {
                    version: m.version.clone(),
                    name: m.name.clone(),
                }),
                dry_run: true,
            });
        }
        refuse_open_transaction(db)?;
        lock::acquire_lock(db, &self.tracking).await?;
        let result = self.down_locked(db, &options.target, on_event).await;
        let released = lock::release_lock(db, &self.tracking).await;
        self.settle(db, Step::Down, result, released, |report| {
            &mut report.rolled_back
        })
        .await
    }

    /// Combines a run's outcome with the release of its lock. When the release failed (on
    /// SQLite it commits the run's transaction), only the steps the tracking table shows are
    /// reported as done.
    async fn settle<R>(
        &self,
        db: &mut Database,
        step: Step,
        result: Result<R, RunError>,
        released: Result<(), Error>,
        done: impl FnOnce(&mut R) -> &mut Vec<Applied>,
    ) -> Result<R, RunError> {
        match (result, released) {
            (Ok(report), Ok(())) => Ok(report),
            (Ok(mut report), Err(error)) => {
                let steps = done(&mut report);
                self.forget_uncommitted(db, step, steps).await;
                Err(RunError {
                    applied: std::mem::take(steps),
                    error,
                })
            }
            (Err(mut failure), Err(_)) => {
                self.forget_uncommitted(db, step, &mut failure.applied)
                    .await;
                Err(failure)
            }
            (Err(failure), Ok(())) => Err(failure),
        }
    }

    async fn down_locked(
        &self,
        db: &mut Database,
        target: &DownTarget,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<DownReport, RunError> {
        let backend = db.backend();
        let rows = self.applied_rows(db).await?;
        let plan = plan::plan_down(self.migrations, &rows, backend, target)?;
        let scripts = checked(&plan.migrations, db, Script::down)?;
        let mut report = DownReport::default();
        let total = plan.migrations.len();
        let mut failure = None;
        let mut group = Group::new(db);
        for (index, (migration, (script, statements))) in
            plan.migrations.iter().zip(scripts).enumerate()
        {
            on_event(Event::Started {
                migration,
                file: script.file,
                index: index + 1,
                total,
                statements,
            });
            if let Err(error) = lock::renew_lock(db, &self.tracking).await {
                failure = Some(error);
                break;
            }
            // Rollbacks are rare and each should stick: every one waits for the disk.
            match self
                .step(db, migration, script, Step::Down, statements, on_event)
                .await
            {
                Ok(rolled_back) => group.steps.push(rolled_back),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
            if group.due() {
                let closed = self
                    .close_group(
                        db,
                        &mut group,
                        &mut report.rolled_back,
                        on_event,
                        Step::Down,
                    )
                    .await;
                if let Err(error) = closed {
                    failure = Some(error);
                    break;
                }
            }
        }
        // Whatever stopped the rollback, what it undid may be what the repeatable migrations
        // build on: they run again next time.
        if !report.rolled_back.is_empty() || !group.steps.is_empty() {
            for row in rows
                .iter()
                .filter(|r| r.version.starts_with(Version::REPEATABLE_PREFIX))
            {
                if let Err(error) = self.tracking.delete(db, &row.version).await {
                    failure.get_or_insert(error);
                    break;
                }
            }
        }
        let closed = self
            .close_group(
                db,
                &mut group,
                &mut report.rolled_back,
                on_event,
                Step::Down,
            )
            .await;
        if let Err(error) = closed {
            failure.get_or_insert(error);
        }
        let blocked = plan.blocked.map(|blocked| {
            Error::Plan(PlanError::NoDown {
                version: blocked.version.clone(),
                name: blocked.name.clone(),
                empty_down: blocked.empty_down.first().cloned(),
            })
        });
        match failure.or(blocked) {
            Some(error) => Err(RunError {
                applied: report.rolled_back,
                error,
            }),
            None => Ok(report),
        }
    }

    /// Runs one script of `migration` and records it: atomically with its tracking row where
    /// the backend allows, else with the row marked dirty while it runs.
    async fn step(
        &self,
        db: &mut Database,
        migration: &Migration,
        script: Script<'_>,
        step: Step,
        total: u32,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<Applied, Error> {
        let outside_sqlite_lock = script.no_transaction.is_some() && db.dialect().one_writer();
        if outside_sqlite_lock {
            // The run holds SQLite's write lock as a transaction; leave it for this file (the
            // lock file keeps other runners out meanwhile).
            lock::commit_progress(db, &self.tracking).await?;
        }
        let result = self
            .apply_script(db, migration, script, step, total, on_event)
            .await;
        if outside_sqlite_lock {
            // Whatever happened, the rest of the run needs the lock back; the step's own
            // failure says more than this one's.
            let relocked = lock::resume(db, &self.tracking).await;
            if let (Ok(_), Err(error)) = (&result, relocked) {
                return Err(error);
            }
        }
        result
    }

    /// The body of [`Self::step`], inside the run's lock.
    async fn apply_script(
        &self,
        db: &mut Database,
        migration: &Migration,
        script: Script<'_>,
        step: Step,
        total: u32,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<Applied, Error> {
        let started = Instant::now();
        let file = script.file;
        let in_transaction = script.no_transaction.is_none();
        if let (false, Some(schema)) = (in_transaction, db.pinned_schema()) {
            // Its statements cannot share a transaction with the `SET LOCAL` that names the
            // schema, and the pooler may send them to a session set for another.
            return Err(Error::Plan(PlanError::SchemaOutsideTransaction {
                version: migration.version.clone(),
                schema: schema.to_string(),
            }));
        }
        // Where DDL commits implicitly, or without a transaction, a failure can leave part of
        // the migration behind: the row is marked dirty first so a later run notices.
        let dirty_first = !in_transaction || !db.dialect().transactional_ddl();
        if dirty_first {
            self.record(db, migration, step, Record::Started).await?;
        }
        let mut outcome = Ok(());
        if in_transaction {
            outcome = db
                .execute(db.dialect().begin_migration(script.durable))
                .await
                .map_err(Error::query(format!(
                    "starting the transaction of migration {}",
                    migration.version
                )));
            db.set_in_migration_transaction(outcome.is_ok());
        }
        let mut lasting_effects = false;
        if outcome.is_ok() {
            let mut executor = Executor {
                db,
                migration,
                layout: self.layout,
                path: file.path(),
                batch: Batch::default(),
                batch_bytes: if in_transaction { self.batch_bytes } else { 0 },
                done: 0,
                total,
                lasting_effects: false,
                in_transaction,
                packet_limit: None,
            };
            outcome = executor.run_script(script, on_event).await;
            lasting_effects = executor.lasting_effects;
        }
        let execution_ms = started.elapsed().as_millis() as i64;
        if outcome.is_ok() {
            // A cancelled statement may end without an error (MySQL's `SLEEP`).
            outcome = cancelled(db, migration);
        }
        if outcome.is_ok() {
            // Recording the row belongs to the migration: if it fails, so does the migration.
            let record = if script.tables_only {
                Record::Started
            } else {
                Record::Done(execution_ms)
            };
            outcome = self.record(db, migration, step, record).await;
        }
        db.set_in_migration_transaction(false);
        if outcome.is_ok() && in_transaction {
            outcome = db
                .execute(db.dialect().commit_migration())
                .await
                .map_err(Error::query(format!(
                    "committing migration {}",
                    migration.version
                )));
        }
        let Err(mut error) = outcome else {
            return Ok(Applied {
                version: migration.version.clone(),
                name: migration.name.clone(),
                execution_ms,
                no_transaction: script.no_transaction.map(str::to_string),
                started_ms: None,
                finished_ms: None,
                index_builds: Vec::new(),
            });
        };
        if in_transaction {
            // The connection may be broken; the failure itself is what matters.
            let _ = db.execute(db.dialect().rollback_migration()).await;
        }
        // Without lasting effects the dirty mark is taken back; if even that fails, it stays,
        // and the next run stops at it, which is safe.
        let undone = !lasting_effects
            && (!dirty_first
                || self
                    .record(db, migration, step, Record::Undone)
                    .await
                    .is_ok());
        if let Error::Statement(failure) = &mut error {
            failure.outcome = match (step, undone) {
                (Step::Up, true) => FailureOutcome::RolledBack,
                (Step::Up, false) => FailureOutcome::Dirty,
                (Step::Down, true) => FailureOutcome::StillApplied,
                (Step::Down, false) => FailureOutcome::PartlyRolledBack,
            };
        }
        Err(error)
    }

    /// Writes what a step did to the tracking row of `migration`.
    async fn record(
        &self,
        db: &mut Database,
        migration: &Migration,
        step: Step,
        record: Record,
    ) -> Result<(), Error> {
        let version = migration.version.as_str();
        let checksum = migration
            .up_for(db.backend())
            .map(|f| f.checksum.as_str())
            .unwrap_or_default();
        let row = |execution_ms: i64, dirty: bool| RowUpdate {
            version,
            name: &migration.name,
            checksum,
            execution_ms,
            dirty,
        };
        match (step, record) {
            (Step::Up, Record::Started) => self.tracking.upsert(db, &row(0, true)).await,
            (Step::Up, Record::Done(ms)) => self.tracking.upsert(db, &row(ms, false)).await,
            (Step::Up, Record::Undone) | (Step::Down, Record::Done(_)) => {
                self.tracking.delete(db, version).await
            }
            (Step::Down, Record::Started) => self.tracking.set_dirty(db, version, true).await,
            (Step::Down, Record::Undone) => self.tracking.set_dirty(db, version, false).await,
        }
    }
}

/// [`Error::Cancelled`] once a cancel of `db` was asked for.
fn cancelled(db: &Database, migration: &Migration) -> Result<(), Error> {
    if db.cancel_requested() {
        return Err(Error::Cancelled {
            version: migration.version.clone(),
        });
    }
    Ok(())
}

/// Steps done but not yet committed: on SQLite a run is one write transaction that commits in
/// short groups, and a step is reported (`Event::Finished`, `Event::RolledBack`, the report)
/// once its group committed, so that what tt says is done survives a kill. Elsewhere each step
/// committed on its own, and is reported at once.
struct Group {
    steps: Vec<Applied>,
    /// Whether steps wait for a group commit (SQLite).
    grouped: bool,
    since: Instant,
    /// How long the last group commit took.
    last_commit: Duration,
}

/// A group closes once it is this old…
const GROUP_AGE: Duration = Duration::from_millis(100);
/// …and this many times older than the last commit took, so that committing takes at most a
/// twentieth of a run on a slow disk too.
const GROUP_COMMIT_SHARE: u32 = 20;

impl Group {
    fn new(db: &Database) -> Self {
        Self {
            steps: Vec::new(),
            grouped: db.dialect().one_writer(),
            since: Instant::now(),
            last_commit: Duration::ZERO,
        }
    }

    /// Whether the steps done should be committed and reported now.
    fn due(&self) -> bool {
        let age = self.since.elapsed();
        !self.grouped || (age >= GROUP_AGE && age >= self.last_commit * GROUP_COMMIT_SHARE)
    }
}

impl Migrator<'_> {
    /// Commits the steps of `group` (keeping the lock) and reports them. When the commit
    /// fails, only those the tracking table shows as done are reported (a statement such as
    /// `INSERT OR ROLLBACK` may have ended the transaction, and with it the group).
    async fn close_group(
        &self,
        db: &mut Database,
        group: &mut Group,
        done: &mut Vec<Applied>,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
        step: Step,
    ) -> Result<(), Error> {
        if group.steps.is_empty() {
            return Ok(());
        }
        let mut steps = std::mem::take(&mut group.steps);
        let mut committed = Ok(());
        if group.grouped {
            let started = Instant::now();
            committed = lock::commit_progress(db, &self.tracking).await;
            group.last_commit = started.elapsed();
            if committed.is_err() {
                self.forget_uncommitted(db, step, &mut steps).await;
            }
        }
        for applied in steps {
            on_event(match step {
                Step::Up => Event::Finished(&applied),
                Step::Down => Event::RolledBack(&applied),
            });
            done.push(applied);
        }
        group.since = Instant::now();
        committed?;
        if group.grouped {
            lock::resume(db, &self.tracking).await?;
        }
        Ok(())
    }
}

/// Where a step is, for its tracking row.
#[derive(Debug, Clone, Copy)]
enum Record {
    /// About to run, where a failure could leave part of it behind.
    Started,
    /// Finished, after this many milliseconds.
    Done(i64),
    /// Failed and left nothing behind.
    Undone,
}

/// The lowest and highest numbered version among `chosen`, widened to the range an earlier
/// parallel run's mark records (whose gap this run may not fill, under `--to`).
fn numbered_range(
    chosen: &[&Migration],
    earlier: Option<(Version, Version)>,
) -> Option<(Version, Version)> {
    let numbered = chosen
        .iter()
        .map(|m| &m.version)
        .filter(|v| !v.as_str().starts_with(Version::REPEATABLE_PREFIX));
    let (mut lowest, mut highest) = (numbered.clone().min()?.clone(), numbered.max()?.clone());
    if let Some((earlier_lowest, earlier_highest)) = earlier {
        lowest = lowest.min(earlier_lowest);
        highest = highest.max(earlier_highest);
    }
    Some((lowest, highest))
}

/// Refuses to run migrations inside a transaction of the caller's: each migration's BEGIN and
/// COMMIT would end it (MySQL commits it at the first BEGIN, PostgreSQL at the first COMMIT).
pub(crate) fn refuse_open_transaction(db: &Database) -> Result<(), Error> {
    if db.in_transaction() {
        return Err(Error::Transaction(TransactionError::AlreadyOpen));
    }
    Ok(())
}

/// A migration as a dry run reports it.
fn not_run(migration: &Migration) -> Applied {
    Applied {
        version: migration.version.clone(),
        name: migration.name.clone(),
        execution_ms: 0,
        no_transaction: None,
        started_ms: None,
        finished_ms: None,
        index_builds: Vec::new(),
    }
}

/// The script of each migration with its statement count, every file read and split before
/// anything runs; the first problem stops everything.
fn checked<'a>(
    migrations: &[&'a Migration],
    db: &Database,
    script: impl Fn(&'a Migration, Backend) -> Result<Script<'a>, Error>,
) -> Result<Vec<(Script<'a>, u32)>, Error> {
    let backend = db.backend();
    migrations
        .iter()
        .map(|migration| {
            let mut script = script(migration, backend)?;
            let count = script.check(backend, db.server_version_num())?;
            Ok((script, count))
        })
        .collect()
}

impl Migrator<'_> {
    /// After a failed run, waits until the migrations it applied are on disk: on PostgreSQL
    /// only the run's last commit was to wait for them (see `Dialect::begin_migration`), and the
    /// failure came first.
    async fn make_durable(&self, db: &mut Database, applied: &[Applied]) {
        let Some(last) = applied.last() else { return };
        if db.dialect().lazy_commits() {
            // Best effort: when this fails the server is likely gone, and the run's own error
            // says more than this one would.
            let _ = self.tracking.rewrite(db, last.version.as_str()).await;
        }
    }
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
        if let Some((_, last)) = self.statements.last() {
            // After a `--` or `#` comment that ends the last statement, the `;` goes on a
            // line of its own, or it would be part of the comment.
            let last_line = last.sql.rsplit('\n').next().unwrap_or_default();
            let separator = if last_line.contains("--") || last_line.contains('#') {
                "\n;\n"
            } else {
                ";\n"
            };
            self.sql.push_str(separator);
            self.chars += separator.len();
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
    layout: Layout,
    path: &'a Path,
    batch: Batch,
    /// Flush when the batch grows past this; 0 sends each statement alone.
    batch_bytes: usize,
    done: u32,
    total: u32,
    /// Whether something that a rollback cannot undo has run.
    lasting_effects: bool,
    in_transaction: bool,
    /// MySQL's `max_allowed_packet`, once a big statement asked for it.
    packet_limit: Option<usize>,
}

impl Executor<'_> {
    async fn run_script(
        &mut self,
        script: Script<'_>,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<(), Error> {
        let backend = self.db.backend();
        let file = script.file;
        // A TOML file may reference tables earlier migrations made: check against the live
        // schema now that they have run. Its rollback drops what the live schema has.
        let existing = match file.kind {
            FileKind::Toml => Some(introspect(self.db, &IntrospectOptions::default()).await?),
            FileKind::Sql => None,
        };
        let pieces = match (&existing, script.drop_tables) {
            (Some(live), true) => statements::drop_pieces(file, backend, live)?,
            (Some(live), false) if script.tables_only => {
                let tables = statements::toml_parts(file, backend, live)?.tables;
                Box::new(tables.into_iter().map(|s| Ok(Piece::Statement(s))))
            }
            _ => statements::pieces(file, backend, existing.as_ref())?,
        };
        for piece in pieces {
            match piece? {
                Piece::Statement(statement) => {
                    if self.in_transaction && is_transaction_control(&statement.sql) {
                        // tt wraps the file in its own transaction; the file's BEGIN/COMMIT
                        // would end it early (or fail inside SQLite's).
                        tracing::debug!(line = statement.line, "skipping {}", statement.sql);
                        continue;
                    }
                    if statement.sql.len() >= failure::CHECKED_STATEMENT_BYTES
                        && self.db.dialect().statement_limit_query().is_some()
                    {
                        self.flush(on_event).await?;
                        self.refuse_oversized(&statement).await?;
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

    /// Fails, before sending it, a statement over MySQL's `max_allowed_packet`.
    async fn refuse_oversized(&mut self, statement: &Statement) -> Result<(), Error> {
        let limit = match self.packet_limit {
            Some(limit) => limit,
            None => *self
                .packet_limit
                .insert(failure::packet_limit(self.db).await?),
        };
        match failure::oversized(self.migration, self.path, statement, limit) {
            Some(failure) => Err(Error::Statement(Box::new(failure))),
            None => Ok(()),
        }
    }

    async fn flush(&mut self, on_event: &mut (dyn FnMut(Event<'_>) + Send)) -> Result<(), Error> {
        if self.batch.statements.is_empty() {
            return Ok(());
        }
        cancelled(self.db, self.migration)?;
        let dialect = self.db.dialect();
        tracing::debug!(statements = self.batch.statements.len(), "sending batch");
        let result = self.db.execute_batch(&self.batch.sql).await;
        let completed = match &result {
            Ok(_) => self.batch.statements.len(),
            Err(error) => error.completed,
        };
        if !self.lasting_effects {
            self.lasting_effects = self.batch.statements[..completed]
                .iter()
                .any(|(_, s)| !self.in_transaction || dialect.commits_implicitly(&s.sql));
        }
        if result.is_err() && !self.lasting_effects && self.done + completed as u32 > 0 {
            // MySQL commits the open transaction before it runs DDL, even DDL that then
            // fails: what ran before the failing statement stays.
            self.lasting_effects = self
                .batch
                .statements
                .get(completed)
                .is_some_and(|(_, s)| dialect.commits_implicitly(&s.sql));
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
                    dialect,
                    self.layout,
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

/// A run that stopped with an error, and what it applied before stopping.
///
/// It reads as its `error`, and its [`source`](std::error::Error::source) is that error's.
#[derive(Debug)]
pub struct RunError {
    /// Migrations applied (and committed) before the error; for a rollback, those rolled back.
    pub applied: Vec<Applied>,
    /// Why the run stopped.
    pub error: Error,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<Error> for RunError {
    fn from(error: Error) -> Self {
        Self {
            applied: Vec::new(),
            error,
        }
    }
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
