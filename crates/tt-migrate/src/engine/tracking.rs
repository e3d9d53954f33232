//! The tracking table (`schema_migrations`): which versions ran, when, with which checksum.
//!
//! A superset of the original TinkerTools table (`version` primary key, `name`, `applied_at`,
//! `checksum`): tt adds `execution_ms` and `dirty` to an existing table instead of replacing
//! it, and upserts its rows, so migrations that insert their own row do not collide with it.

use std::cmp::Ordering;

use serde::Serialize;

use crate::backend::database::{Arg, Database};
use crate::backend::value::{Value, int_at, unexpected};
use crate::engine::error::TrackingError;
use crate::error::Error;
use crate::files::migration::Version;

/// The default name of the tracking table.
pub const DEFAULT_TRACKING_TABLE: &str = "schema_migrations";

/// The version of the row that marks a drop of the managed tables in progress: written
/// before the first statement of a drop that cannot run as one transaction (MySQL, or a
/// PostgreSQL drop too big for one), and gone when the drop ends, since the tracking table is
/// the last thing it drops. No migration has this version (a version is digits and dots).
pub(crate) const DROP_MARK: &str = "tt:drop";

/// The version of the row that marks the versions a parallel run (`--jobs` > 1) set out to
/// apply: written before its first migration starts, committed on its own. Such a run,
/// stopped, can leave an earlier version pending below a later one it committed; while the
/// mark is there such a gap is not out of order, and the next run fills it. The name column
/// holds the range as `<lowest> to <highest>` (inclusive); the mark goes when a run ends with
/// no pending version below the latest applied one.
pub(crate) const JOBS_MARK: &str = "tt:jobs";

/// How the name column of the [`JOBS_MARK`] row separates the lowest version from the highest.
const JOBS_RANGE_SEPARATOR: &str = " to ";

/// The range of versions (inclusive) the [`JOBS_MARK`] row among `rows` records, if there is
/// one and it parses.
pub(crate) fn jobs_range(rows: &[AppliedRow]) -> Option<(Version, Version)> {
    let row = rows.iter().find(|row| row.version == JOBS_MARK)?;
    let (lowest, highest) = row.name.as_deref()?.split_once(JOBS_RANGE_SEPARATOR)?;
    Some((Version::new(lowest).ok()?, Version::new(highest).ok()?))
}

/// A drop of the managed tables that started and did not finish (tt was killed, or a
/// statement failed part-way), as its mark in the tracking table says. Some managed tables
/// may be gone while their migrations are still recorded; `tt drop` or `tt reset` finishes
/// the drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoppedDrop {
    /// When the drop started, as the database prints it.
    pub started_at: Option<String>,
}

/// One row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRow {
    /// The version as recorded (normally digits, but any text a migration inserted).
    pub version: String,
    /// The name as recorded.
    pub name: Option<String>,
    /// When it was applied, as the database prints it.
    pub applied_at: Option<String>,
    /// Hex SHA-256 of the file that ran; `None` for rows a migration inserted itself and tt has
    /// not finalised (for instance rows written by the original TinkerTools scripts).
    pub checksum: Option<String>,
    /// How long it took, in milliseconds.
    pub execution_ms: Option<i64>,
    /// Whether a run failed part-way through it.
    pub dirty: bool,
}

/// The tracking table of one database.
#[derive(Debug, Clone)]
pub struct Tracking {
    table: String,
}

impl Default for Tracking {
    fn default() -> Self {
        Self::new(DEFAULT_TRACKING_TABLE)
    }
}

impl Tracking {
    /// The tracking table called `table`.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table of the lease lock (`lock = "table"`) of this tracking table.
    pub fn lock_table(&self) -> String {
        crate::backend::lease::lease_table(&self.table)
    }

    /// Columns the table has (lower-case), empty when it does not exist.
    pub(crate) async fn columns(&self, db: &mut Database) -> Result<Vec<String>, Error> {
        let sql = db.dialect().columns_sql();
        let schema = db
            .home_schema()
            .map_or(Arg::Null, |s| Arg::Text(s.to_string()));
        let rows = db
            .query_text_rows(sql, &[Arg::Text(self.table.clone()), schema])
            .await
            .map_err(Error::query(format!(
                "reading the columns of tracking table `{}`",
                self.table
            )))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|name| name.to_ascii_lowercase())
            .collect())
    }

    /// Whether the table exists.
    ///
    /// # Errors
    /// When the catalog cannot be read.
    pub async fn exists(&self, db: &mut Database) -> Result<bool, Error> {
        Ok(!self.columns(db).await?.is_empty())
    }

    /// Creates the table, or adds the columns tt needs to an older table of the same name.
    ///
    /// # Errors
    /// When the DDL fails.
    pub async fn ensure(&self, db: &mut Database) -> Result<(), Error> {
        self.ensure_columns(db).await.map(|_| ())
    }

    /// [`Self::ensure`], returning the columns the table has afterwards, so that the caller
    /// reads its rows without asking the catalog again ([`Self::rows_with`]).
    pub(crate) async fn ensure_columns(&self, db: &mut Database) -> Result<Vec<String>, Error> {
        let table = db.own_table(&self.table);
        let mut columns = self.columns(db).await?;
        self.refuse_foreign(&columns)?;
        if columns.is_empty() {
            let timestamp = db.dialect().nullable_timestamp();
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 version VARCHAR(255) NOT NULL PRIMARY KEY, \
                 name VARCHAR(255), \
                 applied_at {timestamp} DEFAULT CURRENT_TIMESTAMP, \
                 checksum VARCHAR(64), \
                 execution_ms BIGINT, \
                 dirty BOOLEAN NOT NULL DEFAULT FALSE)"
            );
            db.execute(&sql).await.map_err(Error::query(format!(
                "creating tracking table `{}`",
                self.table
            )))?;
            // `IF NOT EXISTS`: a table another runner created meanwhile may differ.
            return self.columns(db).await;
        }
        let wanted = [
            ("name", "VARCHAR(255)"),
            ("applied_at", "TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP"),
            ("checksum", "VARCHAR(64)"),
            ("execution_ms", "BIGINT"),
            ("dirty", "BOOLEAN NOT NULL DEFAULT FALSE"),
        ];
        for (column, ty) in wanted {
            if !columns.iter().any(|c| c == column) {
                let ty = if column == "applied_at"
                    && !db.dialect().adds_columns_with_expression_defaults()
                {
                    "TIMESTAMP"
                } else {
                    ty
                };
                let sql = format!("ALTER TABLE {table} ADD COLUMN {column} {ty}");
                db.execute(&sql).await.map_err(Error::query(format!(
                    "adding column {column} to tracking table `{}`",
                    self.table
                )))?;
                columns.push(column.to_string());
            }
        }
        Ok(columns)
    }

    /// The rows of migrations, sorted by version (by number, as migrations are; text that
    /// is not a version, such as a repeatable migration's, after them), without tt's marks;
    /// empty when the table does not exist.
    ///
    /// # Errors
    /// When the table cannot be read.
    pub async fn rows(&self, db: &mut Database) -> Result<Vec<AppliedRow>, Error> {
        let mut rows = self.read(db).await?.0;
        rows.retain(|row| row.version != JOBS_MARK);
        Ok(rows)
    }

    /// The rows, as [`Tracking::rows`] gives them, for what changes the database: refuses while the table holds the mark of a
    /// drop that stopped part-way, since the rows may then claim tables that are gone.
    ///
    /// # Errors
    /// [`TrackingError::StoppedDrop`] while the mark is there; when the table cannot be read.
    pub(crate) async fn rows_unless_stopped(
        &self,
        db: &mut Database,
    ) -> Result<Vec<AppliedRow>, Error> {
        let read = self.read(db).await?;
        let mut rows = self.unless_stopped(read)?;
        rows.retain(|row| row.version != JOBS_MARK);
        Ok(rows)
    }

    /// The rows of `read`, or [`TrackingError::StoppedDrop`] when it found a drop's mark.
    pub(crate) fn unless_stopped(
        &self,
        read: (Vec<AppliedRow>, Option<StoppedDrop>),
    ) -> Result<Vec<AppliedRow>, Error> {
        match read {
            (rows, None) => Ok(rows),
            (_, Some(stopped)) => Err(Error::Tracking(TrackingError::StoppedDrop {
                table: self.table.clone(),
                started_at: stopped.started_at,
            })),
        }
    }

    /// The rows, as [`Tracking::rows`] gives them with the mark of a parallel run (its
    /// `tt:jobs` row), and the mark of a drop that stopped part-way, if there is one.
    ///
    /// # Errors
    /// When the table cannot be read.
    pub async fn read(
        &self,
        db: &mut Database,
    ) -> Result<(Vec<AppliedRow>, Option<StoppedDrop>), Error> {
        let columns = self.columns(db).await?;
        self.rows_with(db, &columns).await
    }

    /// The rows and a drop's mark as [`Self::read`] gives them, when the table has every
    /// column tt writes; `None` when it is missing or older (a run under the lock adds the
    /// columns).
    pub(crate) async fn read_complete(
        &self,
        db: &mut Database,
    ) -> Result<Option<(Vec<AppliedRow>, Option<StoppedDrop>)>, Error> {
        let columns = self.columns(db).await?;
        if !OWN.iter().all(|own| columns.iter().any(|c| c == own)) {
            return Ok(None);
        }
        self.rows_with(db, &columns).await.map(Some)
    }

    /// [`Self::read`] of a table known to have `columns` (as [`Self::columns`] reads them).
    pub(crate) async fn rows_with(
        &self,
        db: &mut Database,
        columns: &[String],
    ) -> Result<(Vec<AppliedRow>, Option<StoppedDrop>), Error> {
        if columns.is_empty() {
            return Ok((Vec::new(), None));
        }
        self.refuse_foreign(columns)?;
        let text = db.text_type();
        let has = |c: &str| columns.iter().any(|x| x == c);
        let column = |c: &str| {
            if has(c) {
                format!("CAST({c} AS {text})")
            } else {
                "NULL".to_string()
            }
        };
        // Text as the database prints it; the number and the flag read as what they are.
        let plain = |c: &str| {
            if has(c) {
                c.to_string()
            } else {
                "NULL".to_string()
            }
        };
        let sql = format!(
            "SELECT CAST(version AS {text}), {}, {}, {}, {}, {} FROM {}",
            column("name"),
            column("applied_at"),
            column("checksum"),
            plain("execution_ms"),
            plain("dirty"),
            db.own_table(&self.table)
        );
        let context = || format!("reading tracking table `{}`", self.table);
        let rows = db
            .query_rows(&sql, &[])
            .await
            .map_err(Error::query(context()))?;
        let mut rows: Vec<AppliedRow> = rows
            .iter()
            .map(|row| applied_row(row).map_err(Error::query(context())))
            .collect::<Result<_, _>>()?;
        rows.sort_by(|a, b| by_version(&a.version, &b.version));
        let stopped_drop = rows
            .iter()
            .position(|row| row.version == DROP_MARK)
            .map(|at| StoppedDrop {
                started_at: rows.remove(at).applied_at,
            });
        Ok((rows, stopped_drop))
    }

    /// Writes the mark of a drop in progress (see [`DROP_MARK`]), creating the table (or
    /// adding tt's columns to an older one) first when needed; it commits on its own.
    ///
    /// # Errors
    /// When the statements fail.
    pub(crate) async fn mark_drop(&self, db: &mut Database) -> Result<(), Error> {
        self.ensure(db).await?;
        let row = RowUpdate {
            version: DROP_MARK,
            name: "drop in progress",
            checksum: "",
            execution_ms: 0,
            dirty: true,
        };
        self.upsert(db, &row).await
    }

    /// Removes the mark of a drop that changed nothing after all.
    ///
    /// # Errors
    /// When the statement fails.
    pub(crate) async fn unmark_drop(&self, db: &mut Database) -> Result<(), Error> {
        self.delete(db, DROP_MARK).await
    }

    /// Writes the mark of a parallel run setting out to apply the versions from `lowest` to
    /// `highest` (see [`JOBS_MARK`]); it commits on its own.
    ///
    /// # Errors
    /// When the statement fails.
    pub(crate) async fn mark_jobs(
        &self,
        db: &mut Database,
        lowest: &Version,
        highest: &Version,
    ) -> Result<(), Error> {
        let name = format!("{lowest}{JOBS_RANGE_SEPARATOR}{highest}");
        let row = RowUpdate {
            version: JOBS_MARK,
            name: &name,
            checksum: "",
            execution_ms: 0,
            // Not dirty: the mark is no migration left half-applied.
            dirty: false,
        };
        self.upsert(db, &row).await
    }

    /// Writes the row of a migration, replacing any row of the same version (such as one the
    /// migration inserted itself).
    ///
    /// # Errors
    /// When the statement fails.
    pub async fn upsert(&self, db: &mut Database, row: &RowUpdate<'_>) -> Result<(), Error> {
        let table = db.own_table(&self.table);
        let conflict = db.dialect().tracking_upsert();
        let sql = format!(
            "INSERT INTO {table} (version, name, checksum, execution_ms, dirty, applied_at) \
             VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP) {conflict}"
        );
        let args = [
            Arg::Text(row.version.to_string()),
            Arg::Text(row.name.to_string()),
            Arg::Text(row.checksum.to_string()),
            Arg::Int(row.execution_ms),
            Arg::Bool(row.dirty),
        ];
        db.execute_with(&sql, &args)
            .await
            .map(drop)
            .map_err(Error::query(format!(
                "recording migration {} in the tracking table",
                row.version
            )))
    }

    /// Marks the row of `version` dirty, or clears the mark.
    ///
    /// # Errors
    /// When the statement fails.
    pub async fn set_dirty(
        &self,
        db: &mut Database,
        version: &str,
        dirty: bool,
    ) -> Result<(), Error> {
        self.write(
            db,
            "UPDATE {table} SET dirty = ? WHERE version = ?",
            &[Arg::Bool(dirty), Arg::Text(version.to_string())],
            format!("marking migration {version} in the tracking table"),
        )
        .await
    }

    /// Records `checksum` as the checksum of the row of `version`.
    ///
    /// # Errors
    /// When the statement fails.
    pub async fn set_checksum(
        &self,
        db: &mut Database,
        version: &str,
        checksum: &str,
    ) -> Result<(), Error> {
        self.write(
            db,
            "UPDATE {table} SET checksum = ? WHERE version = ?",
            &[
                Arg::Text(checksum.to_string()),
                Arg::Text(version.to_string()),
            ],
            format!("recording the checksum of migration {version}"),
        )
        .await
    }

    /// Deletes the row of `version`.
    ///
    /// # Errors
    /// When the statement fails.
    pub async fn delete(&self, db: &mut Database, version: &str) -> Result<(), Error> {
        self.write(
            db,
            "DELETE FROM {table} WHERE version = ?",
            &[Arg::Text(version.to_string())],
            format!("removing migration {version} from the tracking table"),
        )
        .await
    }
}

impl Tracking {
    /// Rewrites the row of `version` with the same values, in a transaction of its own.
    ///
    /// Its commit waits for the disk (unless the server is set otherwise), and on PostgreSQL
    /// that flushes the WAL of every commit before it: the runner's way to make lazily
    /// committed migrations durable.
    ///
    /// # Errors
    /// When the statement fails.
    pub(crate) async fn rewrite(&self, db: &mut Database, version: &str) -> Result<(), Error> {
        self.write(
            db,
            "UPDATE {table} SET dirty = dirty WHERE version = ?",
            &[Arg::Text(version.to_string())],
            format!("rewriting migration {version} in the tracking table"),
        )
        .await
    }

    /// Runs one statement on the tracking table (`{table}` in `statement`) with `args`;
    /// `doing` says what it was in the error.
    async fn write(
        &self,
        db: &mut Database,
        statement: &str,
        args: &[Arg],
        doing: String,
    ) -> Result<(), Error> {
        let sql = statement.replace("{table}", &db.own_table(&self.table));
        db.execute_with(&sql, args)
            .await
            .map(drop)
            .map_err(Error::query(doing))
    }
}

/// A row of the tracking table as [`Tracking::rows`] selects it.
fn applied_row(row: &[Value]) -> Result<AppliedRow, sqlx::Error> {
    let text = |index: usize| match row.get(index) {
        Some(Value::Text(text)) => Ok(Some(text.clone())),
        Some(Value::Null) => Ok(None),
        other => Err(unexpected(index, "text", other)),
    };
    let execution_ms = match row.get(4) {
        Some(Value::Null) => None,
        _ => Some(int_at(row, 4)?),
    };
    let dirty = match row.get(5) {
        Some(Value::Null) => false,
        other => other
            .and_then(Value::as_bool)
            .ok_or_else(|| unexpected(5, "a boolean", other))?,
    };
    Ok(AppliedRow {
        version: text(0)?.unwrap_or_default(),
        name: text(1)?,
        applied_at: text(2)?,
        checksum: text(3)?.filter(|c| !c.is_empty()),
        execution_ms,
        dirty,
    })
}

impl Tracking {
    /// Refuses a table of this name of another tool's shape
    /// ([`TrackingError::ForeignTrackingTable`]); no table, or tt's, is fine.
    pub(crate) async fn check_own(&self, db: &mut Database) -> Result<(), Error> {
        let columns = self.columns(db).await?;
        self.refuse_foreign(&columns)
    }

    /// Refuses a table of this name that is not tt's (nor an ancestor tt adopts: the original
    /// TinkerTools table, dbmate's one-column table), so that another tool's table is never
    /// altered or read as tt's.
    fn refuse_foreign(&self, columns: &[String]) -> Result<(), Error> {
        match foreign_shape(columns) {
            None => Ok(()),
            Some(tool) => Err(Error::Tracking(TrackingError::ForeignTrackingTable {
                table: self.table.clone(),
                tool,
                columns: columns.to_vec(),
            })),
        }
    }
}

/// The columns of a tracking table as tt creates it.
const OWN: [&str; 6] = [
    "version",
    "name",
    "applied_at",
    "checksum",
    "execution_ms",
    "dirty",
];

/// `Some` when a table with `columns` is not one tt writes or adopts, with the tool whose
/// shape it has when known: golang-migrate keeps `version` (a number) and `dirty` alone.
fn foreign_shape(columns: &[String]) -> Option<Option<&'static str>> {
    if columns.is_empty() {
        return None;
    }
    let has = |name: &str| columns.iter().any(|c| c == name);
    if has("version") && has("dirty") && columns.len() == 2 {
        return Some(Some("golang-migrate"));
    }
    let own = has("version") && columns.iter().all(|c| OWN.contains(&c.as_str()));
    (!own).then_some(None)
}

/// Orders recorded versions as [`Version`]s, so that `9` comes before `10` in every list of
/// rows; text that is not a version comes after them, in text order.
fn by_version(a: &str, b: &str) -> Ordering {
    match (Version::new(a), Version::new(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// The values tt writes for one migration.
#[derive(Debug, Clone, Copy)]
pub struct RowUpdate<'a> {
    /// The version.
    pub version: &'a str,
    /// The name.
    pub name: &'a str,
    /// Checksum of the file that ran.
    pub checksum: &'a str,
    /// Time taken so far.
    pub execution_ms: i64,
    /// Whether the migration is still running or failed part-way.
    pub dirty: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_tools_tables_are_foreign() {
        let check = |columns: &[&str], expected: Option<Option<&str>>| {
            let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
            assert_eq!(foreign_shape(&columns), expected, "{columns:?}");
        };
        check(
            &[
                "version",
                "name",
                "applied_at",
                "checksum",
                "execution_ms",
                "dirty",
            ],
            None,
        );
        // The original TinkerTools table and dbmate's are adopted.
        check(&["version", "name", "applied_at", "checksum"], None);
        check(&["version"], None);
        check(&["version", "dirty"], Some(Some("golang-migrate")));
        check(&["id", "version_id", "is_applied", "tstamp"], Some(None));
        check(&["version", "run_on"], Some(None));
        check(&[], None);
    }

    #[test]
    fn rows_sort_by_version_number_then_other_text() {
        let mut versions = [
            "R__views", "10", "9", "002", "2", "1.10", "1.2", "R__a", "x",
        ];
        versions.sort_by(|a, b| by_version(a, b));
        assert_eq!(
            versions,
            [
                "1.2", "1.10", "002", "2", "9", "10", "R__a", "R__views", "x"
            ]
        );
    }
}
