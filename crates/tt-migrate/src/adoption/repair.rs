//! Repair: settling dirty rows after a person fixed the database, and recording the checksums
//! of applied files that changed on purpose.

use std::path::PathBuf;

use serde::Serialize;

use crate::backend::database::Database;
use crate::engine::lock;
use crate::engine::plan;
use crate::engine::run::Migrator;
use crate::engine::tracking::AppliedRow;
use crate::error::Error;
use crate::files::migration::Version;

/// How [`Migrator::repair`] settles a dirty row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DirtyResolution {
    /// The database was fixed to what the migration wanted: clear the mark, so it counts as
    /// applied.
    #[default]
    Applied,
    /// The database was put back as it was before the migration: delete the row, so the
    /// migration runs again.
    Pending,
}

/// Options of [`Migrator::repair`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RepairOptions {
    /// What a dirty row becomes.
    pub dirty: DirtyResolution,
    /// Only list what would change.
    pub dry_run: bool,
}

/// A checksum that repair records anew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecksumChange {
    /// The version.
    pub version: Version,
    /// The name.
    pub name: String,
    /// The file as it is now.
    pub path: PathBuf,
    /// The checksum recorded before; `None` when none was.
    pub recorded: Option<String>,
    /// The checksum of the file now, recorded.
    pub actual: String,
}

/// What a repair changed (or, for a dry run, would change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepairReport {
    /// Dirty rows settled, as they were.
    pub dirty: Vec<AppliedRow>,
    /// What the dirty rows became.
    pub dirty_resolution: DirtyResolution,
    /// Checksums recorded anew: applied files that changed, or rows without a checksum.
    pub checksums: Vec<ChecksumChange>,
    /// Whether this was a dry run that changed nothing.
    pub dry_run: bool,
}

impl RepairReport {
    /// Whether there was nothing to repair.
    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.checksums.is_empty()
    }
}

impl Migrator<'_> {
    /// Settles dirty rows (see [`DirtyResolution`]) and records the checksum of every applied
    /// file that changed or has none recorded, under the migration lock; lists each change.
    ///
    /// # Warning
    /// A dirty row says the database may hold half a migration, and a changed checksum that
    /// a file no longer matches what ran: repair only after checking the database by hand.
    ///
    /// # Errors
    /// [`TrackingError::StoppedDrop`](crate::TrackingError::StoppedDrop) while a drop that
    /// stopped part-way is unfinished (`tt drop` or `tt reset` finishes it); when the tracking
    /// table cannot be read or written.
    pub async fn repair(
        &self,
        db: &mut Database,
        options: RepairOptions,
    ) -> Result<RepairReport, Error> {
        if options.dry_run {
            let rows = self.tracking_table().rows_unless_stopped(db).await?;
            return Ok(self.repair_plan(&rows, db, options));
        }
        let tracking = self.tracking_table();
        lock::acquire_lock(db, tracking).await?;
        let result = self.repair_locked(db, options).await;
        let released = lock::release_lock(db, tracking).await;
        let report = result?;
        released?;
        Ok(report)
    }

    async fn repair_locked(
        &self,
        db: &mut Database,
        options: RepairOptions,
    ) -> Result<RepairReport, Error> {
        let tracking = self.tracking_table();
        let rows = tracking.rows_unless_stopped(db).await?;
        let report = self.repair_plan(&rows, db, options);
        for row in &report.dirty {
            match options.dirty {
                DirtyResolution::Applied => tracking.set_dirty(db, &row.version, false).await?,
                DirtyResolution::Pending => tracking.delete(db, &row.version).await?,
            }
        }
        for change in &report.checksums {
            tracking
                .set_checksum(db, change.version.as_str(), &change.actual)
                .await?;
        }
        Ok(report)
    }

    /// What repair changes, given the tracking rows.
    fn repair_plan(
        &self,
        rows: &[AppliedRow],
        db: &Database,
        options: RepairOptions,
    ) -> RepairReport {
        let backend = db.backend();
        let dirty: Vec<AppliedRow> = rows.iter().filter(|r| r.dirty).cloned().collect();
        // Checksums are compared as they will be once the dirty rows are settled.
        let settled: Vec<AppliedRow> = rows
            .iter()
            .filter(|r| !(r.dirty && options.dirty == DirtyResolution::Pending))
            .map(|r| AppliedRow {
                dirty: false,
                ..r.clone()
            })
            .collect();
        let status = plan::status_with_repeatable(
            self.migrations(),
            self.repeatable_migrations(),
            &settled,
            backend,
        );
        let mut checksums: Vec<ChecksumChange> = status
            .changed
            .iter()
            .map(|c| ChecksumChange {
                version: c.version.clone(),
                name: c.name.clone(),
                path: c.path.clone(),
                recorded: Some(c.recorded.clone()),
                actual: c.actual.clone(),
            })
            .collect();
        let all = self.migrations().iter().chain(self.repeatable_migrations());
        for migration in all {
            let unrecorded = status
                .applied
                .iter()
                .any(|a| a.version == migration.version && a.checksum.is_none());
            if let (true, Some(file)) = (unrecorded, migration.up_for(backend)) {
                checksums.push(ChecksumChange {
                    version: migration.version.clone(),
                    name: migration.name.clone(),
                    path: file.path().to_path_buf(),
                    recorded: None,
                    actual: file.checksum.to_string(),
                });
            }
        }
        checksums.sort_by(|a, b| a.version.cmp(&b.version));
        RepairReport {
            dirty,
            dirty_resolution: options.dirty,
            checksums,
            dry_run: options.dry_run,
        }
    }
}
