//! Reset and recreate: drop (or empty) the database, apply every migration, check the result.

use std::fmt;

use serde::Serialize;

use crate::backend::database::Database;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::destructive::drop::{DropOptions, DropPlan, DropReport, drop_holding_lock, plan_drop};
use crate::destructive::error::DropRefusal;
use crate::destructive::managed::{managed_tables_of, same_name};
use crate::destructive::recreate::recreate_database;
use crate::engine::diesel_table::{drop_empty_diesel_table, is_diesel_folder};
use crate::engine::lock::{
    abandon_lock, acquire_lock, commit_progress, pause_heartbeat, release_lock, resume,
    retake_after_recreate,
};
use crate::engine::run::{Applied, Event, Migrator, RunReport, refuse_open_transaction};
use crate::error::Error;
use crate::files::migration::Migration;

/// How a reset starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResetOptions {
    /// What the drop may do (cascade, protected databases).
    pub drop: DropOptions,
    /// Empty the whole database instead of dropping only the managed tables (`tt recreate`).
    pub recreate_whole_database: bool,
}

/// What a reset did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResetReport {
    /// What the drop removed (empty after a recreate, which empties everything).
    pub dropped: DropReport,
    /// Whether the whole database was emptied.
    pub recreated: bool,
    /// Migrations applied afterwards.
    pub applied: Vec<Applied>,
    /// Managed tables that are missing after the migrations ran; empty when all is well.
    pub missing_tables: Vec<String>,
    /// Tables the database holds afterwards, the tracking table included and a protection
    /// mark not (it is tt's, not the schema's).
    pub tables: usize,
}

/// The step a reset failed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetStage {
    /// Dropping the managed tables or emptying the database.
    Drop,
    /// Applying the migrations.
    Migrate,
}

/// A reset that stopped part-way, with the state it left.
#[derive(Debug)]
pub struct ResetError {
    /// Where it stopped.
    pub stage: ResetStage,
    /// Whether the database supports transactional DDL (PostgreSQL, SQLite), so that a
    /// failed drop changed nothing.
    pub transactional_ddl: bool,
    /// Migrations applied before the failure.
    pub applied: Vec<Applied>,
    /// Why.
    pub error: Error,
    /// Whether the managed tables were all dropped before a failure of the drop stage (the
    /// failure came after: dropping diesel's table).
    managed_dropped: bool,
    /// Whether the drop stage emptied the whole database (`tt recreate`).
    recreating: bool,
}

impl ResetError {
    /// What state the database is in and what to run next.
    pub fn state(&self) -> String {
        match self.stage {
            ResetStage::Drop if self.managed_dropped => "the managed tables and the tracking \
                 table were dropped, diesel's table was not, and no migration was applied; fix \
                 the cause, then run `tt reset` again"
                .to_string(),
            ResetStage::Drop if self.recreating && !self.transactional_ddl => "emptying the \
                 database stopped part-way (MySQL cannot roll back DDL): some objects may be \
                 gone; fix the cause, then run `tt recreate` again"
                .to_string(),
            ResetStage::Drop => match &self.error {
                // Its message says what went.
                Error::DropIncomplete { tracking_table, .. } => format!(
                    "the drop stopped part-way, as said above; no migration was applied, and \
                     `{tracking_table}` marks the drop unfinished: fix the cause, then run \
                     `tt reset` again to finish"
                ),
                _ if self.transactional_ddl => "the drop was rolled back: the database is as \
                     it was before the reset"
                    .to_string(),
                _ => "nothing was dropped: the database is as it was before the reset".to_string(),
            },
            ResetStage::Migrate => {
                let applied = match (self.applied.first(), self.applied.last()) {
                    (Some(first), Some(last)) if first.version == last.version => {
                        format!("migration {} was applied", first.version)
                    }
                    (Some(first), Some(last)) => {
                        format!(
                            "migrations {} to {} were applied",
                            first.version, last.version
                        )
                    }
                    _ => "no migration was applied".to_string(),
                };
                format!(
                    "the managed tables were dropped and {applied}; fix the failing migration, \
                     then run `tt migrate` to finish (or `tt reset` to start over)"
                )
            }
        }
    }
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  state: {}", self.error, self.state())
    }
}

/// Its message holds `error`'s, so its source is `error`'s source.
impl std::error::Error for ResetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl Migrator<'_> {
    /// Drops the managed tables (or, with `recreate_whole_database`, empties the database),
    /// applies every migration and checks that every managed table exists, all under one
    /// migration lock.
    ///
    /// # Warning
    /// Destroys data: see [`drop_managed_tables`](crate::drop_managed_tables) and
    /// [`recreate_database`].
    ///
    /// # Errors
    /// [`ResetError`] saying where it stopped and what state the database is in.
    pub async fn reset(
        &self,
        db: &mut Database,
        options: ResetOptions,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<ResetReport, ResetError> {
        let report = self.reset_holding_lock(db, options, None, on_event).await?;
        self.finish_reset(db, report).await
    }

    /// [`Self::reset`], returning with the migration lock still held, so that the caller's
    /// checks of the result (`tt reset`'s verify) see no other runner's work: end it with
    /// [`Self::finish_reset`]. The lock is taken before the first read and every plan is made
    /// under it. `confirmed` is the plan the user was shown (by [`plan_drop`]), if any: with
    /// [`DropOptions::exactly_as_planned`], the reset refuses ([`DropRefusal::PlanGrew`]) when the
    /// plan made under the lock lists a table it did not. On an error the lock is released.
    ///
    /// # Errors
    /// As [`Self::reset`].
    pub async fn reset_holding_lock(
        &self,
        db: &mut Database,
        options: ResetOptions,
        confirmed: Option<&DropPlan>,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<ResetReport, ResetError> {
        let transactional_ddl = db.dialect().transactional_ddl();
        let failed = |stage, applied: Vec<Applied>| {
            move |error| ResetError {
                stage,
                transactional_ddl,
                applied,
                error,
                managed_dropped: false,
                recreating: options.recreate_whole_database,
            }
        };
        refuse_open_transaction(db).map_err(failed(ResetStage::Drop, Vec::new()))?;
        let tracking = self.tracking_table();
        let one_writer = db.dialect().one_writer();
        let mut report = ResetReport::default();
        if options.recreate_whole_database && one_writer {
            // SQLite replaces the file and connects again: the write lock of the old file
            // would not hold the new one. What was confirmed is checked just before.
            self.check_confirmed_recreate(db, confirmed, options)
                .await
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
            recreate_database(db, options.drop.allow_protected)
                .await
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
            report.recreated = true;
        }
        // SQLite turns foreign keys off for the drop outside any transaction, so before the
        // lock, which is the write transaction.
        let foreign_keys = db
            .dialect()
            .foreign_keys_off_for_drop()
            .filter(|_| !options.recreate_whole_database);
        if let Some((off, _)) = foreign_keys {
            db.execute(off)
                .await
                .map_err(Error::query("turning foreign keys off for the drop"))
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
        }
        let locked = acquire_lock(db, tracking).await;
        let held = locked.is_ok();
        let dropped = match locked {
            Ok(()) => self.drop_phase(db, options, confirmed, &mut report).await,
            Err(error) => Err(error),
        };
        if let Err(error) = dropped {
            if held {
                // The error says more than a failed release would.
                let _ = abandon_lock(db, tracking).await;
            }
            if let Some((_, on)) = foreign_keys {
                let _ = db.execute(on).await;
            }
            // Dropped tables with an error mean a later step (diesel's table) failed; the drop
            // itself committed, unless it ran in SQLite's write transaction, which the
            // abandoned lock rolled back.
            let managed_dropped = !one_writer && !report.dropped.dropped.is_empty();
            return Err(ResetError {
                managed_dropped,
                ..failed(ResetStage::Drop, Vec::new())(error)
            });
        }
        if let Some((_, on)) = foreign_keys {
            // The pragma changes nothing inside a transaction: the drop commits, foreign keys
            // come back on, and the write lock is taken again at once; the run's lock file (and
            // with `lock = "table"` the lease row) keeps other runners out meanwhile.
            if let Err(error) = commit_progress(db, tracking).await {
                // The first error says more than the cleanup's.
                let _ = abandon_lock(db, tracking).await;
                let _ = db.execute(on).await;
                return Err(failed(ResetStage::Drop, Vec::new())(error));
            }
            let on = db
                .execute(on)
                .await
                .map_err(Error::query("turning foreign keys back on"));
            let relocked = resume(db, tracking).await;
            if let Err(error) = on.and(relocked) {
                // Releases what was taken again, if anything was.
                let _ = release_lock(db, tracking).await;
                return Err(failed(ResetStage::Migrate, Vec::new())(error));
            }
        }
        let run = match self.run_locked(db, on_event).await {
            Ok(run) => run,
            Err(failure) => {
                let Err(failure) = self.release_after_run(db, Err(failure)).await else {
                    unreachable!("a failed run stays failed after the release")
                };
                return Err(ResetError {
                    stage: ResetStage::Migrate,
                    transactional_ddl,
                    applied: failure.applied,
                    error: failure.error,
                    managed_dropped: true,
                    recreating: options.recreate_whole_database,
                });
            }
        };
        report.applied = run.applied;
        match self.live_and_missing(db).await {
            Ok(live) => (report.tables, report.missing_tables) = live,
            Err(error) => {
                let applied = self
                    .release_after_run(
                        db,
                        Ok(RunReport {
                            applied: report.applied,
                            dry_run: false,
                        }),
                    )
                    .await
                    .map_or_else(|failure| failure.applied, |run| run.applied);
                return Err(failed(ResetStage::Migrate, applied)(error));
            }
        }
        Ok(report)
    }

    /// Releases the lock [`Self::reset_holding_lock`] returned with. On SQLite this commits
    /// the migrations; when that fails, the error lists only those that lasted.
    ///
    /// # Errors
    /// [`ResetError`] when the release (the commit) failed.
    pub async fn finish_reset(
        &self,
        db: &mut Database,
        mut report: ResetReport,
    ) -> Result<ResetReport, ResetError> {
        let run = RunReport {
            applied: std::mem::take(&mut report.applied),
            dry_run: false,
        };
        match self.release_after_run(db, Ok(run)).await {
            Ok(run) => {
                report.applied = run.applied;
                Ok(report)
            }
            Err(failure) => Err(ResetError {
                stage: ResetStage::Migrate,
                transactional_ddl: db.dialect().transactional_ddl(),
                applied: failure.applied,
                error: failure.error,
                managed_dropped: true,
                recreating: report.recreated,
            }),
        }
    }

    /// The drop (or the emptying) of a reset, under the lock.
    async fn drop_phase(
        &self,
        db: &mut Database,
        options: ResetOptions,
        confirmed: Option<&DropPlan>,
        report: &mut ResetReport,
    ) -> Result<(), Error> {
        let tracking = self.tracking_table();
        if options.recreate_whole_database {
            if !report.recreated {
                self.check_confirmed_recreate(db, confirmed, options)
                    .await?;
                pause_heartbeat(db);
                recreate_database(db, options.drop.allow_protected).await?;
                report.recreated = true;
                // Emptying the database dropped the lease table with its row, if any.
                retake_after_recreate(db, tracking).await?;
            }
            return Ok(());
        }
        let every = self.with_repeatables();
        report.dropped = drop_holding_lock(db, &every, confirmed, tracking, options.drop).await?;
        // diesel's table, as tt created it for a diesel folder, is rebuilt too.
        if is_diesel_folder(self.migrations()) {
            drop_empty_diesel_table(db).await?;
        }
        Ok(())
    }

    /// Every migration, repeatable ones too: they create objects (a Flyway `R__` view) that
    /// the drop manages, after the rest.
    fn with_repeatables(&self) -> Vec<Migration> {
        self.migrations()
            .iter()
            .chain(self.repeatable_migrations())
            .cloned()
            .collect()
    }

    /// Refuses a recreate when, since the user confirmed `confirmed`, a table appeared that
    /// it did not list (with [`DropOptions::exactly_as_planned`]).
    async fn check_confirmed_recreate(
        &self,
        db: &mut Database,
        confirmed: Option<&DropPlan>,
        options: ResetOptions,
    ) -> Result<(), Error> {
        let Some(confirmed) = confirmed.filter(|_| options.drop.exactly_as_planned) else {
            return Ok(());
        };
        let now = plan_drop(db, &self.with_repeatables(), self.tracking_table()).await?;
        let listed = |plan: &DropPlan| -> Vec<String> {
            plan.tables
                .iter()
                .chain(&plan.untouched)
                .chain(&plan.tracking_table)
                .cloned()
                .collect()
        };
        let before = listed(confirmed);
        let added: Vec<String> = listed(&now)
            .into_iter()
            .filter(|table| !before.contains(table))
            .collect();
        if added.is_empty() {
            Ok(())
        } else {
            Err(Error::Refused(DropRefusal::PlanGrew { added }))
        }
    }

    /// Managed tables of these migrations that the database lacks.
    ///
    /// # Errors
    /// When the files or the catalog cannot be read.
    pub async fn missing_managed_tables(&self, db: &mut Database) -> Result<Vec<String>, Error> {
        Ok(self.live_and_missing(db).await?.1)
    }

    /// The number of tables the database holds (the protection mark left out) and the
    /// managed tables it lacks, from one reading of the catalog.
    async fn live_and_missing(&self, db: &mut Database) -> Result<(usize, Vec<String>), Error> {
        let backend = db.backend();
        let managed = managed_tables_of(db, self.migrations()).await?;
        let postgres_schema = db.options().postgres_schema.clone();
        let live = introspect(db, &IntrospectOptions { postgres_schema }).await?;
        let tables = live
            .table_names()
            .filter(|&name| name != crate::destructive::protect::PROTECTION_TABLE)
            .count();
        let missing = managed
            .into_iter()
            .filter(|m| !live.table_names().any(|t| same_name(t, m, backend)))
            .collect();
        Ok((tables, missing))
    }
}
