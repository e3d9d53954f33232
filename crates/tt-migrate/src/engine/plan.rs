//! What to do, decided from the migration files and the tracking rows alone (no I/O).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use tt_schema::Backend;

use crate::engine::error::{ChangedFile, PlanError};
use crate::engine::tracking::{AppliedRow, JOBS_MARK, StoppedDrop, jobs_range};
use crate::error::Error;
use crate::files::migration::{Migration, Version};

/// Where every migration stands on one database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The backend of the database.
    pub backend: Option<Backend>,
    /// Applied migrations whose file is present and unchanged (or whose checksum was never
    /// recorded), in version order.
    pub applied: Vec<AppliedEntry>,
    /// Migrations not applied yet, in version order.
    pub pending: Vec<PendingEntry>,
    /// Applied migrations whose file changed since.
    pub changed: Vec<ChangedEntry>,
    /// Applied versions that have no file.
    pub missing: Vec<AppliedRow>,
    /// Versions a run left half-applied.
    pub dirty: Vec<AppliedRow>,
    /// Pending versions lower than the latest applied one, outside the gap a stopped
    /// parallel run left.
    pub out_of_order: Vec<Version>,
    /// Pending versions lower than the latest applied one that a parallel run (`--jobs`)
    /// set out to apply and did not, as its mark in the tracking table says: the next run
    /// applies them.
    pub parallel_gap: Vec<Version>,
    /// Repeatable migrations (Flyway's `R__name.sql`) that the next run applies: new, or
    /// changed since they last ran. Filled by [`Migrator::status`](crate::Migrator::status).
    pub repeatable_pending: Vec<PendingEntry>,
    /// A drop of the managed tables that stopped part-way: some tables of the applied
    /// migrations may be gone. Filled by [`Migrator::status`](crate::Migrator::status).
    pub stopped_drop: Option<StoppedDrop>,
}

/// An applied migration in [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedEntry {
    /// The version.
    pub version: Version,
    /// The name from the file.
    pub name: String,
    /// The checksum recorded, if any.
    pub checksum: Option<String>,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// How long it took.
    pub execution_ms: Option<i64>,
}

/// A pending migration in [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingEntry {
    /// The version.
    pub version: Version,
    /// The name from the file.
    pub name: String,
}

/// A changed migration in [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedEntry {
    /// The version.
    pub version: Version,
    /// The name from the file.
    pub name: String,
    /// The file as it is now.
    pub path: PathBuf,
    /// Checksum recorded when it ran.
    pub recorded: String,
    /// Checksum of the file now.
    pub actual: String,
}

impl Status {
    /// Whether nothing is pending, changed, missing or dirty, and no drop stopped part-way.
    pub fn is_clean(&self) -> bool {
        self.stopped_drop.is_none()
            && self.pending.is_empty()
            && self.repeatable_pending.is_empty()
            && self.changed.is_empty()
            && self.missing.is_empty()
            && self.dirty.is_empty()
    }
}

/// Compares the migrations with the tracking rows of a database on `backend`.
pub(crate) fn status(migrations: &[Migration], rows: &[AppliedRow], backend: Backend) -> Status {
    let by_version: BTreeMap<&str, &AppliedRow> =
        rows.iter().map(|row| (row.version.as_str(), row)).collect();
    let mut status = Status {
        backend: Some(backend),
        ..Status::default()
    };
    let mut latest_applied: Option<&Version> = None;
    for migration in migrations {
        let Some(row) = by_version.get(migration.version.as_str()) else {
            status.pending.push(PendingEntry {
                version: migration.version.clone(),
                name: migration.name.clone(),
            });
            continue;
        };
        if row.dirty {
            status.dirty.push((*row).clone());
            continue;
        }
        latest_applied = Some(&migration.version);
        let actual = migration.up_for(backend).map(|f| f.checksum.as_str());
        match (&row.checksum, actual) {
            (Some(recorded), Some(actual)) if recorded != actual => {
                let path = migration
                    .up_for(backend)
                    .map(|f| f.path().to_path_buf())
                    .unwrap_or_default();
                status.changed.push(ChangedEntry {
                    version: migration.version.clone(),
                    name: migration.name.clone(),
                    path,
                    recorded: recorded.clone(),
                    actual: actual.to_string(),
                });
            }
            _ => status.applied.push(AppliedEntry {
                version: migration.version.clone(),
                name: migration.name.clone(),
                checksum: row.checksum.clone(),
                applied_at: row.applied_at.clone(),
                execution_ms: row.execution_ms,
            }),
        }
    }
    if let Some(latest) = latest_applied {
        let range = jobs_range(rows);
        let in_gap = |version: &Version| {
            range
                .as_ref()
                .is_some_and(|(lowest, highest)| lowest <= version && version <= highest)
        };
        let below = status.pending.iter().filter(|p| &p.version < latest);
        (status.parallel_gap, status.out_of_order) = below
            .map(|p| p.version.clone())
            .partition(|version| in_gap(version));
    }
    let known: std::collections::BTreeSet<&str> =
        migrations.iter().map(|m| m.version.as_str()).collect();
    for row in rows {
        if !known.contains(row.version.as_str()) && row.version != JOBS_MARK {
            if row.dirty {
                status.dirty.push(row.clone());
            } else if row.version.starts_with(Version::REPEATABLE_PREFIX) {
                // A repeatable migration's row: see `status_with_repeatable`.
            } else {
                status.missing.push(row.clone());
            }
        }
    }
    status
}

/// As [`status`], with the repeatable migrations too: those that ran and did not change since
/// count as applied, the others as [`Status::repeatable_pending`]; rows of repeatable
/// migrations whose file is gone as missing.
pub(crate) fn status_with_repeatable(
    migrations: &[Migration],
    repeatable: &[Migration],
    rows: &[AppliedRow],
    backend: Backend,
) -> Status {
    let mut status = status(migrations, rows, backend);
    let due = repeatable_due(repeatable, rows, backend);
    for migration in repeatable {
        let row = rows
            .iter()
            .find(|r| r.version == migration.version.as_str());
        match row {
            Some(row) if row.dirty => {}
            Some(row) if !due.iter().any(|d| d.version == migration.version) => {
                status.applied.push(AppliedEntry {
                    version: migration.version.clone(),
                    name: migration.name.clone(),
                    checksum: row.checksum.clone(),
                    applied_at: row.applied_at.clone(),
                    execution_ms: row.execution_ms,
                })
            }
            _ => status.repeatable_pending.push(PendingEntry {
                version: migration.version.clone(),
                name: migration.name.clone(),
            }),
        }
    }
    for row in rows {
        let repeatable_row = row.version.starts_with(Version::REPEATABLE_PREFIX);
        if repeatable_row
            && !row.dirty
            && !repeatable.iter().any(|m| m.version.as_str() == row.version)
        {
            status.missing.push(row.clone());
        }
    }
    status
}

/// The repeatable migrations a run applies after the numbered ones: those never run, or whose
/// file changed since they last ran (a dirty row is reported by [`plan`] instead).
pub(crate) fn repeatable_due<'m>(
    repeatable: &'m [Migration],
    rows: &[AppliedRow],
    backend: Backend,
) -> Vec<&'m Migration> {
    repeatable
        .iter()
        .filter(|migration| {
            let row = rows
                .iter()
                .find(|r| r.version == migration.version.as_str());
            let actual = migration.up_for(backend).map(|f| f.checksum.as_str());
            match row {
                None => true,
                Some(row) => !row.dirty && row.checksum.as_deref() != actual,
            }
        })
        .collect()
}

/// Which applied migrations a rollback undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest `n` applied migrations.
    Steps(usize),
    /// Every applied migration newer than this version, which stays applied.
    To(Version),
    /// Every applied migration.
    All,
}

impl Default for DownTarget {
    fn default() -> Self {
        Self::Steps(1)
    }
}

/// What a rollback undoes, newest first, and where it must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DownPlan<'m> {
    /// The migrations rolled back, newest first.
    pub migrations: Vec<&'m Migration>,
    /// The migration, within the target, that has no rollback on this backend: the rollback
    /// stops before it.
    pub blocked: Option<&'m Migration>,
}

/// The applied migrations a rollback to `target` undoes, newest first. A migration rolls back
/// with its down file for `backend`, or, for a `.toml` migration, by dropping its tables; the
/// first one without either stops the plan ([`DownPlan::blocked`]). Repeatable migrations are
/// never rolled back.
///
/// # Errors
/// A dirty row ([`PlanError::Dirty`]), applied files that changed ([`PlanError::ChecksumChanged`]),
/// an applied version without a file within the target ([`PlanError::MissingFile`]), or a
/// `--to` version that is not a migration ([`PlanError::UnknownVersion`]).
pub(crate) fn plan_down<'m>(
    migrations: &'m [Migration],
    rows: &[AppliedRow],
    backend: Backend,
    target: &DownTarget,
) -> Result<DownPlan<'m>, Error> {
    let status = status(migrations, rows, backend);
    check_clean(&status)?;
    if let DownTarget::To(version) = target
        && !migrations.iter().any(|m| &m.version == version)
    {
        return Err(Error::Plan(PlanError::UnknownVersion(version.clone())));
    }
    let in_target = |version: &Version, index: usize| match target {
        DownTarget::Steps(n) => index < *n,
        DownTarget::To(to) => version > to,
        DownTarget::All => true,
    };
    // Applied versions, with or without a file, newest first.
    let mut applied: Vec<(Version, Option<&'m Migration>)> = status
        .applied
        .iter()
        .map(|a| {
            let migration = migrations.iter().find(|m| m.version == a.version);
            (a.version.clone(), migration)
        })
        .collect();
    for row in &status.missing {
        if let Ok(version) = Version::new(row.version.as_str()) {
            applied.push((version, None));
        }
    }
    applied.sort_by(|a, b| b.0.cmp(&a.0));
    let mut plan = DownPlan {
        migrations: Vec::new(),
        blocked: None,
    };
    for (index, (version, migration)) in applied.into_iter().enumerate() {
        if !in_target(&version, index) {
            break;
        }
        let Some(migration) = migration else {
            return Err(Error::Plan(PlanError::MissingFile { version }));
        };
        if has_rollback(migration, backend) {
            plan.migrations.push(migration);
        } else {
            plan.blocked = Some(migration);
            break;
        }
    }
    Ok(plan)
}

/// Whether `migration` can be rolled back on `backend`: a down file, or a `.toml` up file
/// whose tables are dropped.
pub(crate) fn has_rollback(migration: &Migration, backend: Backend) -> bool {
    migration.down_for(backend).is_some()
        || migration
            .up_for(backend)
            .is_some_and(|f| f.kind == crate::files::migration::FileKind::Toml)
}

/// Refuses a dirty row or changed applied files.
fn check_clean(status: &Status) -> Result<(), Error> {
    if let Some(row) = status.dirty.first() {
        return Err(Error::Plan(PlanError::Dirty {
            version: row.version.clone(),
            name: row.name.clone().unwrap_or_default(),
        }));
    }
    if !status.changed.is_empty() {
        return Err(Error::Plan(PlanError::ChecksumChanged {
            changed: status
                .changed
                .iter()
                .map(|c| ChangedFile {
                    version: c.version.clone(),
                    path: c.path.clone(),
                    recorded: c.recorded.clone(),
                    actual: c.actual.clone(),
                })
                .collect(),
        }));
    }
    Ok(())
}

/// Options that change which migrations a run applies.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Stop after this version (inclusive).
    pub target: Option<Version>,
    /// Apply pending versions lower than the latest applied one instead of refusing.
    pub allow_out_of_order: bool,
}

/// The migrations a run applies, in order.
///
/// # Errors
/// A dirty row ([`PlanError::Dirty`]), changed files ([`PlanError::ChecksumChanged`]), out-of-order
/// files without `allow_out_of_order` ([`PlanError::OutOfOrder`]), an unknown target, or a pending
/// migration without a file for `backend`.
pub(crate) fn plan<'m>(
    migrations: &'m [Migration],
    rows: &[AppliedRow],
    backend: Backend,
    options: &PlanOptions,
) -> Result<Vec<&'m Migration>, Error> {
    let status = status(migrations, rows, backend);
    check_clean(&status)?;
    if !status.out_of_order.is_empty() && !options.allow_out_of_order {
        return Err(Error::Plan(PlanError::OutOfOrder {
            versions: status.out_of_order.clone(),
            latest: status
                .applied
                .last()
                .map(|a| a.version.clone())
                .unwrap_or_else(|| status.out_of_order[0].clone()),
        }));
    }
    if let Some(target) = &options.target
        && !migrations.iter().any(|m| &m.version == target)
    {
        return Err(Error::Plan(PlanError::UnknownVersion(target.clone())));
    }
    let pending: std::collections::BTreeSet<&Version> =
        status.pending.iter().map(|p| &p.version).collect();
    let mut chosen = Vec::new();
    for migration in migrations {
        if options
            .target
            .as_ref()
            .is_some_and(|t| &migration.version > t)
        {
            break;
        }
        if !pending.contains(&migration.version) {
            continue;
        }
        if migration.up_for(backend).is_none() {
            return Err(Error::Plan(PlanError::NoVariant {
                version: migration.version.clone(),
                name: migration.name.clone(),
                backend,
            }));
        }
        chosen.push(migration);
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::migration::{Checksum, FileKind, MigrationFile, Origin};

    fn migration(version: &str, body: &'static str) -> Migration {
        Migration {
            version: Version::new(version).unwrap(),
            name: format!("m{version}"),
            up: vec![MigrationFile {
                origin: Origin::Embedded {
                    path: "x.sql",
                    bytes: body.as_bytes(),
                },
                kind: FileKind::Sql,
                backend: None,
                checksum: Checksum::of_bytes(body.as_bytes()),
                no_transaction: false,
            }],
            down: Vec::new(),
            empty_down: Vec::new(),
        }
    }

    fn row(version: &str, body: Option<&str>, dirty: bool) -> AppliedRow {
        AppliedRow {
            version: version.to_string(),
            name: Some(format!("m{version}")),
            applied_at: None,
            checksum: body.map(|b| Checksum::of_bytes(b.as_bytes()).as_str().to_string()),
            execution_ms: None,
            dirty,
        }
    }

    fn versions(list: &[&Migration]) -> Vec<String> {
        list.iter().map(|m| m.version.to_string()).collect()
    }

    #[test]
    fn only_pending_migrations_run_in_order() {
        let files = [
            migration("1", "a"),
            migration("2", "b"),
            migration("10", "c"),
        ];
        let rows = [row("1", Some("a"), false)];
        let chosen = plan(&files, &rows, Backend::Sqlite, &PlanOptions::default()).unwrap();
        assert_eq!(versions(&chosen), ["2", "10"]);
    }

    #[test]
    fn target_stops_after_its_version() {
        let files = [
            migration("1", "a"),
            migration("2", "b"),
            migration("10", "c"),
        ];
        let options = PlanOptions {
            target: Some(Version::new("2").unwrap()),
            ..PlanOptions::default()
        };
        let chosen = plan(&files, &[], Backend::Sqlite, &options).unwrap();
        assert_eq!(versions(&chosen), ["1", "2"]);
        let options = PlanOptions {
            target: Some(Version::new("3").unwrap()),
            ..PlanOptions::default()
        };
        let err = plan(&files, &[], Backend::Sqlite, &options).unwrap_err();
        assert_eq!(err.to_string(), "there is no migration with version 3");
    }

    #[test]
    fn rows_without_checksum_count_as_applied() {
        let files = [migration("000", "a"), migration("001", "b")];
        let rows = [row("000", None, false)];
        let status = status(&files, &rows, Backend::Postgres);
        assert_eq!(status.applied.len(), 1);
        assert_eq!(status.pending.len(), 1);
        assert!(status.changed.is_empty());
    }

    #[test]
    fn changed_file_stops_the_plan_naming_it() {
        let files = [migration("1", "a edited"), migration("2", "b")];
        let rows = [row("1", Some("a"), false)];
        let err = plan(&files, &rows, Backend::Sqlite, &PlanOptions::default()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("x.sql (version 1)"), "{message}");
        assert!(message.contains("tt repair"), "{message}");
    }

    #[test]
    fn dirty_row_stops_the_plan_naming_version_and_repair() {
        let files = [migration("1", "a"), migration("2", "b")];
        let rows = [row("1", Some("a"), true)];
        let err = plan(&files, &rows, Backend::Mysql, &PlanOptions::default()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("migration 1 (m1) is marked dirty"),
            "{message}"
        );
        assert!(message.contains("tt repair"), "{message}");
    }

    #[test]
    fn out_of_order_files_are_refused_unless_allowed() {
        let files = [
            migration("1", "a"),
            migration("2", "b"),
            migration("3", "c"),
        ];
        let rows = [row("1", Some("a"), false), row("3", Some("c"), false)];
        let status = status(&files, &rows, Backend::Sqlite);
        assert_eq!(status.out_of_order, [Version::new("2").unwrap()]);
        let err = plan(&files, &rows, Backend::Sqlite, &PlanOptions::default()).unwrap_err();
        assert!(err.to_string().contains("--allow-out-of-order"), "{err}");
        let options = PlanOptions {
            allow_out_of_order: true,
            ..PlanOptions::default()
        };
        let chosen = plan(&files, &rows, Backend::Sqlite, &options).unwrap();
        assert_eq!(versions(&chosen), ["2"]);
    }

    #[test]
    fn a_stopped_parallel_runs_gap_is_not_out_of_order() {
        let files = [
            migration("1", "a"),
            migration("2", "b"),
            migration("3", "c"),
            migration("4", "d"),
            migration("5", "e"),
        ];
        let mark = AppliedRow {
            name: Some("3 to 5".to_string()),
            ..row(JOBS_MARK, None, false)
        };
        let rows = [row("1", Some("a"), false), row("4", Some("d"), false), mark];
        let status = status(&files, &rows, Backend::Postgres);
        assert_eq!(status.parallel_gap, [Version::new("3").unwrap()]);
        // 2 was pending before the parallel run set out: still out of order.
        assert_eq!(status.out_of_order, [Version::new("2").unwrap()]);
        assert!(status.missing.is_empty(), "{:?}", status.missing);
        let plan_without_2 = plan(
            &files[2..],
            &rows,
            Backend::Postgres,
            &PlanOptions::default(),
        );
        assert_eq!(versions(&plan_without_2.unwrap()), ["3", "5"]);
    }

    #[test]
    fn applied_rows_without_files_are_missing() {
        let files = [migration("1", "a")];
        let rows = [row("1", Some("a"), false), row("7", Some("z"), false)];
        let status = status(&files, &rows, Backend::Sqlite);
        assert_eq!(status.missing.len(), 1);
        assert_eq!(status.missing[0].version, "7");
        assert!(!status.is_clean());
    }

    fn with_down(mut migration: Migration) -> Migration {
        migration.down = migration.up.clone();
        migration
    }

    fn check_down(target: DownTarget, expected: &str) {
        let files = [
            with_down(migration("1", "a")),
            migration("2", "b"),
            with_down(migration("3", "c")),
            with_down(migration("4", "d")),
            with_down(migration("5", "e")),
        ];
        let rows: Vec<AppliedRow> = [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")]
            .iter()
            .map(|(v, body)| row(v, Some(body), false))
            .collect();
        let actual = match plan_down(&files, &rows, Backend::Sqlite, &target) {
            Ok(plan) => format!(
                "{:?} blocked {:?}",
                versions(&plan.migrations),
                plan.blocked.map(|m| m.version.as_str())
            ),
            Err(error) => format!("error {error}"),
        };
        assert_eq!(actual, expected, "{target:?}");
    }

    #[test]
    fn rollbacks_go_newest_first_and_stop_before_a_migration_without_down() {
        let v = |s: &str| Version::new(s).unwrap();
        check_down(DownTarget::default(), r#"["4"] blocked None"#);
        check_down(DownTarget::Steps(2), r#"["4", "3"] blocked None"#);
        check_down(DownTarget::Steps(0), r#"[] blocked None"#);
        check_down(DownTarget::Steps(3), r#"["4", "3"] blocked Some("2")"#);
        check_down(DownTarget::To(v("3")), r#"["4"] blocked None"#);
        check_down(DownTarget::To(v("5")), r#"[] blocked None"#);
        check_down(DownTarget::To(v("1")), r#"["4", "3"] blocked Some("2")"#);
        check_down(DownTarget::All, r#"["4", "3"] blocked Some("2")"#);
        check_down(
            DownTarget::To(v("7")),
            "error there is no migration with version 7",
        );
    }

    #[test]
    fn rollbacks_refuse_dirty_rows_and_missing_files() {
        let files = [
            with_down(migration("1", "a")),
            with_down(migration("2", "b")),
        ];
        let dirty = [row("1", Some("a"), false), row("2", Some("b"), true)];
        let err = plan_down(&files, &dirty, Backend::Mysql, &DownTarget::All).unwrap_err();
        assert!(matches!(err, Error::Plan(PlanError::Dirty { .. })), "{err}");
        let missing = [row("1", Some("a"), false), row("9", Some("z"), false)];
        let err = plan_down(&files, &missing, Backend::Sqlite, &DownTarget::All).unwrap_err();
        assert_eq!(
            err.to_string(),
            "migration 9 is recorded as applied but its file is missing: restore the file to \
             roll it back"
        );
        // Only within the target: rolling back nothing past 9 needs no file.
        let plan = plan_down(&files, &missing, Backend::Sqlite, &DownTarget::Steps(0)).unwrap();
        assert!(plan.migrations.is_empty());
    }

    #[test]
    fn toml_migrations_roll_back_without_a_down_file() {
        let mut toml = migration("1", "[tables.t]");
        toml.up[0].kind = FileKind::Toml;
        let files = [toml];
        let rows = [row("1", Some("[tables.t]"), false)];
        let plan = plan_down(&files, &rows, Backend::Postgres, &DownTarget::All).unwrap();
        assert_eq!(versions(&plan.migrations), ["1"]);
        assert!(plan.blocked.is_none());
    }

    #[test]
    fn repeatable_rows_are_neither_missing_nor_pending_while_unchanged() {
        let files = [migration("1", "a")];
        let mut views = migration("1", "view v1");
        views.version = Version::repeatable("views");
        let repeatable = [views];
        let mut rows = vec![
            row("1", Some("a"), false),
            row("R__views", Some("view v1"), false),
        ];
        let status = status_with_repeatable(&files, &repeatable, &rows, Backend::Sqlite);
        assert!(status.is_clean(), "{status:?}");
        assert_eq!(status.applied.len(), 2);
        rows[1].checksum = Some("edited".into());
        let status = status_with_repeatable(&files, &repeatable, &rows, Backend::Sqlite);
        assert_eq!(status.repeatable_pending.len(), 1);
        assert!(status.changed.is_empty() && status.missing.is_empty());
        let gone = status_with_repeatable(&files, &[], &rows, Backend::Sqlite);
        assert_eq!(gone.missing.len(), 1);
        assert_eq!(repeatable_due(&repeatable, &rows, Backend::Sqlite).len(), 1);
        assert_eq!(
            repeatable_due(&repeatable, &rows[..1], Backend::Sqlite).len(),
            1
        );
    }
}
