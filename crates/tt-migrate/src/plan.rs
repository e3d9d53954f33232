//! What to do, decided from the migration files and the tracking rows alone (no I/O).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use tt_schema::Backend;

use crate::error::{ChangedFile, Error};
use crate::migration::{Migration, Version};
use crate::tracking::AppliedRow;

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
    /// Pending versions lower than the latest applied one.
    pub out_of_order: Vec<Version>,
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
    /// Whether nothing is pending, changed, missing or dirty.
    pub fn is_clean(&self) -> bool {
        self.pending.is_empty()
            && self.changed.is_empty()
            && self.missing.is_empty()
            && self.dirty.is_empty()
    }
}

/// Compares the migrations with the tracking rows of a database on `backend`.
pub fn status(migrations: &[Migration], rows: &[AppliedRow], backend: Backend) -> Status {
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
        status.out_of_order = status
            .pending
            .iter()
            .filter(|p| &p.version < latest)
            .map(|p| p.version.clone())
            .collect();
    }
    let known: std::collections::BTreeSet<&str> =
        migrations.iter().map(|m| m.version.as_str()).collect();
    for row in rows {
        if !known.contains(row.version.as_str()) {
            if row.dirty {
                status.dirty.push(row.clone());
            } else {
                status.missing.push(row.clone());
            }
        }
    }
    status
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
/// A dirty row ([`Error::Dirty`]), changed files ([`Error::ChecksumChanged`]), out-of-order
/// files without `allow_out_of_order` ([`Error::OutOfOrder`]), an unknown target, or a pending
/// migration without a file for `backend`.
pub fn plan<'m>(
    migrations: &'m [Migration],
    rows: &[AppliedRow],
    backend: Backend,
    options: &PlanOptions,
) -> Result<Vec<&'m Migration>, Error> {
    let status = status(migrations, rows, backend);
    if let Some(row) = status.dirty.first() {
        return Err(Error::Dirty {
            version: row.version.clone(),
            name: row.name.clone().unwrap_or_default(),
        });
    }
    if !status.changed.is_empty() {
        return Err(Error::ChecksumChanged {
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
        });
    }
    if !status.out_of_order.is_empty() && !options.allow_out_of_order {
        return Err(Error::OutOfOrder {
            versions: status.out_of_order.clone(),
            latest: status
                .applied
                .last()
                .map(|a| a.version.clone())
                .unwrap_or_else(|| status.out_of_order[0].clone()),
        });
    }
    if let Some(target) = &options.target
        && !migrations.iter().any(|m| &m.version == target)
    {
        return Err(Error::UnknownVersion(target.clone()));
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
            return Err(Error::NoVariant {
                version: migration.version.clone(),
                name: migration.name.clone(),
                backend,
            });
        }
        chosen.push(migration);
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::{Checksum, FileKind, MigrationFile, Origin};

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
    fn applied_rows_without_files_are_missing() {
        let files = [migration("1", "a")];
        let rows = [row("1", Some("a"), false), row("7", Some("z"), false)];
        let status = status(&files, &rows, Backend::Sqlite);
        assert_eq!(status.missing.len(), 1);
        assert_eq!(status.missing[0].version, "7");
        assert!(!status.is_clean());
    }
}
