//! Reset and recreate: drop (or empty) the database, apply every migration, check the result.

use std::fmt;

use serde::Serialize;

use crate::backend::database::Database;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::destructive::drop::{DropOptions, DropReport, drop_managed_tables, plan_drop};
use crate::destructive::managed::{managed_tables_of, same_name};
use crate::destructive::recreate::recreate_database;
use crate::engine::diesel_table::{drop_empty_diesel_table, is_diesel_folder};
use crate::engine::run::{Applied, Event, Migrator};
use crate::error::Error;

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
    /// applies every migration and checks that every managed table exists.
    ///
    /// # Warning
    /// Destroys data: see [`drop_managed_tables`] and [`recreate_database`].
    ///
    /// # Errors
    /// [`ResetError`] saying where it stopped and what state the database is in.
    pub async fn reset(
        &self,
        db: &mut Database,
        options: ResetOptions,
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
        let mut report = ResetReport::default();
        if options.recreate_whole_database {
            recreate_database(db, options.drop.allow_protected)
                .await
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
            report.recreated = true;
        } else {
            let plan = plan_drop(db, self.migrations(), self.tracking_table())
                .await
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
            report.dropped = drop_managed_tables(db, &plan, self.tracking_table(), options.drop)
                .await
                .map_err(failed(ResetStage::Drop, Vec::new()))?;
            // diesel's table, as tt created it for a diesel folder, is rebuilt too.
            if is_diesel_folder(self.migrations()) {
                drop_empty_diesel_table(db)
                    .await
                    .map_err(|error| ResetError {
                        managed_dropped: true,
                        ..failed(ResetStage::Drop, Vec::new())(error)
                    })?;
            }
        }
        let run = self.run(db, on_event).await.map_err(|error| ResetError {
            stage: ResetStage::Migrate,
            transactional_ddl,
            applied: error.applied,
            error: error.error,
            managed_dropped: true,
            recreating: options.recreate_whole_database,
        })?;
        report.applied = run.applied;
        let live = self
            .live_and_missing(db)
            .await
            .map_err(failed(ResetStage::Migrate, report.applied.clone()))?;
        (report.tables, report.missing_tables) = live;
        Ok(report)
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
