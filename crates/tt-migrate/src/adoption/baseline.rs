//! Baselines: marking migrations applied without running them, for a database that already
//! has their schema, up to a version or as another tool's tracking table recorded them.

use std::collections::BTreeSet;

use serde::Serialize;
use tt_schema::Backend;

use crate::adoption::error::AdoptionError;
use crate::backend::database::{Arg, Database};
use crate::engine::error::PlanError;
use crate::engine::lock;
use crate::engine::run::Migrator;
use crate::engine::tracking::{AppliedRow, RowUpdate, Tracking};
use crate::error::Error;
use crate::files::migration::{Migration, Version};
use crate::files::source::Layout;

/// A migration recorded as applied without running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The version.
    pub version: Version,
    /// The name.
    pub name: String,
    /// Checksum of its file now, as recorded.
    pub checksum: String,
}

/// What a baseline recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BaselineReport {
    /// Migrations recorded as applied, in version order.
    pub recorded: Vec<Recorded>,
    /// Versions the other tool recorded as applied that match no migration file here.
    pub unknown: Vec<String>,
}

/// What another tool recorded as applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ToolApplied {
    /// Versions as the tool wrote them.
    versions: Vec<String>,
    /// Every version up to this one counts as applied (Flyway's baseline row, golang-migrate's
    /// one row).
    baseline: Option<String>,
    /// Names of repeatable migrations that ran (Flyway's `R__name.sql`).
    repeatable: Vec<String>,
}

/// The tracking table of `tool`.
pub fn tool_table(tool: Layout) -> Option<&'static str> {
    match tool {
        Layout::Native => None,
        Layout::Sqlx => Some("_sqlx_migrations"),
        Layout::Diesel => Some("__diesel_schema_migrations"),
        Layout::Dbmate => Some("schema_migrations"),
        Layout::Flyway => Some("flyway_schema_history"),
        Layout::GolangMigrate => Some("schema_migrations"),
        Layout::Goose => Some("goose_db_version"),
        Layout::Prisma => Some("_prisma_migrations"),
    }
}

/// The tool whose tracking table `db` holds, for `tt baseline --from-tool` without a name:
/// `preferred` (the directory's layout) when its table is there, else the one tool whose
/// table is. dbmate's and golang-migrate's tables share tt's default name and are told apart
/// by their columns (`version`; `version` and `dirty`).
///
/// # Errors
/// [`AdoptionError::NoToolFound`] when no tool's table is there, [`AdoptionError::ManyTools`] when
/// several are and none is `preferred`'s, or a query error.
pub async fn detect_tool(db: &mut Database, preferred: Layout) -> Result<Layout, Error> {
    let mut found = Vec::new();
    for tool in Layout::ALL {
        let Some(table) = tool_table(tool) else {
            continue;
        };
        let columns = Tracking::new(table).columns(db).await?;
        let present = match tool {
            Layout::Dbmate => columns == ["version"],
            Layout::GolangMigrate => {
                let mut sorted = columns.clone();
                sorted.sort();
                sorted == ["dirty", "version"]
            }
            _ => !columns.is_empty(),
        };
        if present {
            found.push(tool);
        }
    }
    match found.as_slice() {
        _ if found.contains(&preferred) => Ok(preferred),
        [tool] => Ok(*tool),
        [] => Err(Error::Adoption(AdoptionError::NoToolFound)),
        _ => Err(Error::Adoption(AdoptionError::ManyTools { found })),
    }
}

impl Migrator<'_> {
    /// Marks every migration up to `version` (inclusive) as applied without running it, for a
    /// database that already has their schema; their checksums are those of the files now.
    /// Versions already recorded are left as they are.
    ///
    /// # Errors
    /// [`PlanError::UnknownVersion`] when `version` is not a migration, [`PlanError::NoVariant`]
    /// for a migration without a file for this backend (before anything is recorded),
    /// [`TrackingError::StoppedDrop`](crate::TrackingError::StoppedDrop) while a drop that
    /// stopped part-way is unfinished (`tt drop` or `tt reset` finishes it), or a query error.
    pub async fn baseline(
        &self,
        db: &mut Database,
        version: &Version,
    ) -> Result<BaselineReport, Error> {
        if !self.migrations().iter().any(|m| &m.version == version) {
            return Err(Error::Plan(PlanError::UnknownVersion(version.clone())));
        }
        let chosen: Vec<&Migration> = self
            .migrations()
            .iter()
            .filter(|m| &m.version <= version)
            .collect();
        self.record_locked(db, chosen, Vec::new()).await
    }

    /// Marks as applied what `tool` recorded in its own tracking table (`_sqlx_migrations`,
    /// `__diesel_schema_migrations`, dbmate's `schema_migrations`, `flyway_schema_history`):
    /// its successful rows only, matched to the files by version number (sqlx's `1` is file
    /// `0001`). A Flyway baseline row counts for every version up to it, an undo row takes its
    /// version back. The other tool's checksums are not compared; tt records its own.
    ///
    /// # Errors
    /// [`AdoptionError::NoTool`] for [`Layout::Native`], [`AdoptionError::NoToolTable`] when the
    /// table is not there, [`TrackingError::StoppedDrop`](crate::TrackingError::StoppedDrop)
    /// while a drop that stopped part-way is unfinished, or a query error.
    pub async fn baseline_from_tool(
        &self,
        db: &mut Database,
        tool: Layout,
    ) -> Result<BaselineReport, Error> {
        let table = tool_table(tool).ok_or(Error::Adoption(AdoptionError::NoTool))?;
        // What the other tool recorded is read under the lock, as every plan is.
        let tracking = self.tracking_table();
        lock::acquire_lock(db, tracking).await?;
        let result = self.baseline_from_tool_locked(db, tool, table).await;
        let released = lock::release_lock(db, tracking).await;
        let report = result?;
        released?;
        Ok(report)
    }

    async fn baseline_from_tool_locked(
        &self,
        db: &mut Database,
        tool: Layout,
        table: &str,
    ) -> Result<BaselineReport, Error> {
        if !Tracking::new(table).exists(db).await? {
            return Err(Error::Adoption(AdoptionError::NoToolTable {
                tool,
                table: table.to_string(),
            }));
        }
        let applied = tool_applied(db, tool, table).await?;
        let baseline = applied
            .baseline
            .as_deref()
            .and_then(|v| Version::new(v.trim()).ok());
        let mut chosen = Vec::new();
        let mut matched = BTreeSet::new();
        for migration in self.migrations() {
            let recorded = applied
                .versions
                .iter()
                .find(|v| migration.version.same_number(v));
            if let Some(version) = recorded {
                matched.insert(version.as_str());
                chosen.push(migration);
            } else if baseline.as_ref().is_some_and(|b| &migration.version <= b) {
                chosen.push(migration);
            }
        }
        for migration in self.repeatable_migrations() {
            if applied.repeatable.contains(&migration.name) {
                chosen.push(migration);
            }
        }
        let unknown = applied
            .versions
            .iter()
            .filter(|v| !matched.contains(v.as_str()))
            .cloned()
            .collect();
        let recorded = record(db, self.tracking_table(), chosen).await?;
        Ok(BaselineReport { recorded, unknown })
    }

    /// Records `chosen` under the migration lock, skipping versions that have a row with a
    /// checksum (read under the lock).
    async fn record_locked(
        &self,
        db: &mut Database,
        chosen: Vec<&Migration>,
        unknown: Vec<String>,
    ) -> Result<BaselineReport, Error> {
        let tracking = self.tracking_table();
        lock::acquire_lock(db, tracking).await?;
        let result = record(db, tracking, chosen).await;
        let released = lock::release_lock(db, tracking).await;
        let recorded = result?;
        released?;
        Ok(BaselineReport { recorded, unknown })
    }
}

async fn record(
    db: &mut Database,
    tracking: &Tracking,
    chosen: Vec<&Migration>,
) -> Result<Vec<Recorded>, Error> {
    let backend = db.backend();
    tracking.ensure(db).await?;
    let rows = tracking.rows_unless_stopped(db).await?;
    let has_row = |m: &Migration| {
        rows.iter()
            .any(|r: &AppliedRow| r.version == m.version.as_str() && r.checksum.is_some())
    };
    // Every file first: a migration with nothing to run here stops the baseline before it
    // records anything.
    let files = chosen
        .into_iter()
        .filter(|m| !has_row(m))
        .map(|m| Ok((m, up_file(m, backend)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut recorded = Vec::new();
    for (migration, file) in files {
        let exists = rows.iter().any(|r| r.version == migration.version.as_str());
        if exists {
            // A row without a checksum (a file that inserted its own row, dbmate's): when it
            // was applied stays as recorded.
            add_checksum(db, tracking, migration, file.checksum.as_str()).await?;
        } else {
            tracking
                .upsert(
                    db,
                    &RowUpdate {
                        version: migration.version.as_str(),
                        name: &migration.name,
                        checksum: file.checksum.as_str(),
                        execution_ms: 0,
                        dirty: false,
                    },
                )
                .await?;
        }
        recorded.push(Recorded {
            version: migration.version.clone(),
            name: migration.name.clone(),
            checksum: file.checksum.to_string(),
        });
    }
    Ok(recorded)
}

/// Records the checksum (and the name, where none was recorded) of an existing row.
async fn add_checksum(
    db: &mut Database,
    tracking: &Tracking,
    migration: &Migration,
    checksum: &str,
) -> Result<(), Error> {
    let sql = format!(
        "UPDATE {} SET checksum = ?, name = COALESCE(name, ?), execution_ms = \
         COALESCE(execution_ms, 0) WHERE version = ?",
        db.backend().quote_ident(tracking.table())
    );
    let args = [
        Arg::Text(checksum.to_string()),
        Arg::Text(migration.name.clone()),
        Arg::Text(migration.version.to_string()),
    ];
    db.execute_with(&sql, &args)
        .await
        .map(drop)
        .map_err(Error::query(format!(
            "recording the checksum of migration {} in the tracking table",
            migration.version
        )))
}

fn up_file(
    migration: &Migration,
    backend: Backend,
) -> Result<&crate::files::migration::MigrationFile, Error> {
    migration.up_for(backend).ok_or_else(|| {
        Error::Plan(PlanError::NoVariant {
            version: migration.version.clone(),
            name: migration.name.clone(),
            backend,
        })
    })
}

/// Reads what `tool` recorded as applied from its `table`.
async fn tool_applied(db: &mut Database, tool: Layout, table: &str) -> Result<ToolApplied, Error> {
    // Cast to text: each tool declares its columns its own way, and on each backend another
    // (a version as bigint, text or varchar, a flag as boolean, integer or text); the
    // versions are matched as text. The table is the one in the schema found at connect.
    let text = db.text_type();
    let quoted = db.own_table(table);
    let context = format!("reading {tool}'s tracking table `{table}`");
    let sql = match tool {
        // sqlx writes a row before a migration and marks it successful after.
        Layout::Sqlx => format!("SELECT CAST(version AS {text}) FROM {quoted} WHERE success"),
        Layout::Diesel | Layout::Dbmate => {
            format!("SELECT CAST(version AS {text}) FROM {quoted}")
        }
        Layout::Flyway => format!(
            "SELECT CAST(version AS {text}), CAST(type AS {text}), CAST(script AS {text}), \
             CAST(success AS {text}) FROM {quoted} ORDER BY installed_rank"
        ),
        // One row: the latest version, and whether it stopped part-way.
        Layout::GolangMigrate => {
            format!("SELECT CAST(version AS {text}), CAST(dirty AS {text}) FROM {quoted}")
        }
        // An insert per up and down, replayed in order; version 0 is goose's own first row.
        Layout::Goose => format!(
            "SELECT CAST(version_id AS {text}), CAST(is_applied AS {text}) FROM {quoted} \
             ORDER BY id"
        ),
        Layout::Prisma => format!(
            "SELECT CAST(migration_name AS {text}) FROM {quoted} \
             WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL"
        ),
        Layout::Native => return Err(Error::Adoption(AdoptionError::NoTool)),
    };
    let rows = db
        .query_text_rows(&sql, &[])
        .await
        .map_err(Error::query(context))?;
    let texts: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|v| v.clone().unwrap_or_default()).collect())
        .collect();
    let truthy = |value: &str| matches!(value, "1" | "t" | "true");
    match tool {
        Layout::GolangMigrate => {
            let Some([version, dirty]) = texts.first().map(Vec::as_slice) else {
                return Ok(ToolApplied::default());
            };
            if truthy(dirty) {
                return Err(Error::Adoption(AdoptionError::ToolDirty {
                    tool,
                    table: table.to_string(),
                    version: version.clone(),
                }));
            }
            return Ok(ToolApplied {
                baseline: Some(version.clone()),
                ..ToolApplied::default()
            });
        }
        Layout::Goose => {
            let mut versions: Vec<String> = Vec::new();
            for row in &texts {
                let [version, applied] = row.as_slice() else {
                    continue;
                };
                versions.retain(|v| v != version);
                if truthy(applied) && version != "0" {
                    versions.push(version.clone());
                }
            }
            return Ok(ToolApplied {
                versions,
                ..ToolApplied::default()
            });
        }
        // Prisma records the directory's name; its version is the part before `_`.
        Layout::Prisma => {
            let versions = texts
                .iter()
                .filter_map(|row| row.first())
                .map(|name| name.split('_').next().unwrap_or_default().to_string())
                .collect();
            return Ok(ToolApplied {
                versions,
                ..ToolApplied::default()
            });
        }
        _ => {}
    }
    if tool != Layout::Flyway {
        return Ok(ToolApplied {
            versions: rows
                .into_iter()
                .filter_map(|row| row.into_iter().next().flatten())
                .collect(),
            ..ToolApplied::default()
        });
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            let mut values = row.into_iter();
            let mut next = || values.next().flatten();
            FlywayRow {
                version: next(),
                kind: next().unwrap_or_default(),
                script: next().unwrap_or_default(),
                success: next().is_some_and(|s| matches!(s.as_str(), "1" | "t" | "true")),
            }
        })
        .collect::<Vec<_>>();
    Ok(flyway_applied(&rows))
}

/// One row of `flyway_schema_history`, as far as a baseline cares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FlywayRow {
    version: Option<String>,
    kind: String,
    script: String,
    success: bool,
}

/// Replays Flyway's history in `installed_rank` order: successful migrations apply their
/// version, undo and delete rows (`flyway undo`, `flyway repair`) take it back, a baseline row
/// covers every version up to it, and repeatable rows (no version) name their script.
fn flyway_applied(rows: &[FlywayRow]) -> ToolApplied {
    let mut applied = ToolApplied::default();
    for row in rows.iter().filter(|r| r.success) {
        let kind = row.kind.to_ascii_uppercase();
        match &row.version {
            None => {
                let script = row.script.rsplit(['/', '\\']).next().unwrap_or_default();
                if let Some(name) = script
                    .strip_prefix("R__")
                    .and_then(|s| s.strip_suffix(".sql"))
                    && kind != "DELETE"
                    && !applied.repeatable.iter().any(|r| r == name)
                {
                    applied.repeatable.push(name.to_string());
                }
            }
            // Flyway's "schema created" marker, not a migration.
            Some(_) if kind == "SCHEMA" => {}
            Some(version) if kind.contains("BASELINE") => {
                applied.baseline = Some(version.clone());
            }
            Some(version) if kind.starts_with("UNDO") || kind == "DELETE" => {
                applied.versions.retain(|v| v != version);
            }
            Some(version) => {
                if !applied.versions.contains(version) {
                    applied.versions.push(version.clone());
                }
            }
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: Option<&str>, kind: &str, script: &str, success: bool) -> FlywayRow {
        FlywayRow {
            version: version.map(str::to_string),
            kind: kind.to_string(),
            script: script.to_string(),
            success,
        }
    }

    #[test]
    fn flyway_history_replays_in_rank_order() {
        let rows = [
            row(Some("0"), "SCHEMA", "<< Flyway Schema Creation >>", true),
            row(Some("1"), "BASELINE", "<< Flyway Baseline >>", true),
            row(Some("2"), "SQL", "V2__items.sql", true),
            row(Some("3"), "SQL", "V3__stats.sql", true),
            row(Some("3"), "UNDO_SQL", "U3__stats.sql", true),
            row(Some("4"), "SQL", "V4__broken.sql", false),
            row(Some("5"), "JDBC", "db.migration.V5__Java", true),
            row(None, "SQL", "R__views.sql", true),
            row(None, "SQL", "R__views.sql", true),
            row(None, "SQL", "db/migration/R__functions.sql", true),
            row(None, "SQL", "R__failed.sql", false),
        ];
        let applied = flyway_applied(&rows);
        assert_eq!(applied.versions, ["2", "5"]);
        assert_eq!(applied.baseline.as_deref(), Some("1"));
        assert_eq!(applied.repeatable, ["views", "functions"]);
    }
}
