//! Dropping the managed tables in foreign-key order, refusing while other objects need them.
//!
//! The order comes from the FK graph of the LIVE schema (not of the migration files), so a
//! database that drifted from its migrations still drops cleanly: the foreign keys that close
//! cycles (and self-references) go first, then the tables children-first, then the tracking
//! table, all in one round trip (one transaction where DDL is transactional).

use serde::Serialize;
use tt_schema::{Backend, FkGraph, FkRef, Schema};

use crate::backend::database::Database;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::destructive::managed::{managed_tables_of, same_name};
use crate::destructive::protect;
use crate::engine::lock::{acquire_lock, release_lock};
use crate::engine::tracking::Tracking;
use crate::error::Error;
use crate::files::migration::Migration;

/// An object tt does not manage that depends on a managed table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    /// `view`, `materialized view` or `foreign key`.
    pub kind: DependentKind,
    /// The object (`orders.fk_orders_item` for a foreign key).
    pub name: String,
    /// The managed table it depends on.
    pub on: String,
}

/// How many objects `dependents` name: a view reading three managed tables is listed once per
/// table but is one object.
pub(crate) fn distinct_objects(dependents: &[Dependent]) -> usize {
    let mut objects: Vec<(DependentKind, &str)> = dependents
        .iter()
        .map(|d| (d.kind, d.name.as_str()))
        .collect();
    objects.sort_unstable_by(|a, b| (a.0 as u8, a.1).cmp(&(b.0 as u8, b.1)));
    objects.dedup();
    objects.len()
}

/// What kind of object a [`Dependent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependentKind {
    /// A view reading a managed table.
    View,
    /// A PostgreSQL materialized view reading a managed table.
    MaterializedView,
    /// A foreign key of another table referencing a managed table.
    ForeignKey,
}

impl std::fmt::Display for Dependent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            DependentKind::View => "view",
            DependentKind::MaterializedView => "materialized view",
            DependentKind::ForeignKey => "foreign key",
        };
        write!(f, "{kind} {} (on {})", self.name, self.on)
    }
}

/// What a drop would remove, computed from the live database and the migration files.
#[derive(Debug, Clone, Serialize)]
pub struct DropPlan {
    /// Managed tables present in the database, in drop order (children first).
    pub tables: Vec<String>,
    /// Foreign keys dropped before the tables because they close a cycle or reference their
    /// own table.
    pub deferred_foreign_keys: Vec<FkRef>,
    /// The tracking table, when present; dropped last.
    pub tracking_table: Option<String>,
    /// Objects tt does not manage that depend on managed tables.
    pub dependents: Vec<Dependent>,
    /// Tables in the database that tt does not manage and leaves alone.
    pub untouched: Vec<String>,
    #[serde(skip)]
    schema: Schema,
    /// The statements that remove `dependents` (`--cascade`), before the tables go.
    #[serde(skip)]
    cascade_statements: Vec<String>,
}

impl DropPlan {
    /// Whether there is nothing to drop.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.tracking_table.is_none()
    }
}

/// Options of [`drop_managed_tables`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DropOptions {
    /// Also drop the views and foreign keys of other tables that depend on managed tables.
    pub cascade: bool,
    /// Drop even when the database is marked protected.
    pub allow_protected: bool,
}

/// Works out what dropping the managed tables of `migrations` would remove.
///
/// # Errors
/// When the files cannot be read or the catalog cannot be queried, or when the tracking
/// table's name is taken by another tool's table ([`Error::ForeignTrackingTable`]), which tt
/// never drops.
pub async fn plan_drop(
    db: &mut Database,
    migrations: &[Migration],
    tracking: &Tracking,
) -> Result<DropPlan, Error> {
    tracking.check_own(db).await?;
    let backend = db.backend();
    let managed = managed_tables_of(db, migrations).await?;
    let live = introspect(
        db,
        &IntrospectOptions {
            postgres_schema: db.options().postgres_schema.clone(),
        },
    )
    .await?;
    let is_managed = |name: &str| managed.iter().any(|m| same_name(m, name, backend));
    let tracking_table = live
        .table_names()
        .find(|name| same_name(name, tracking.table(), backend))
        .map(str::to_string);
    let mut schema = live.clone();
    schema.retain(|table| is_managed(&table.name) && Some(&table.name) != tracking_table.as_ref());
    let untouched: Vec<String> = live
        .table_names()
        .filter(|name| {
            !schema.contains(name)
                && Some(*name) != tracking_table.as_deref()
                && *name != protect::PROTECTION_TABLE
        })
        .map(str::to_string)
        .collect();
    let graph = FkGraph::new(&schema);
    let tables: Vec<String> = graph.drop_order().into_iter().map(str::to_string).collect();
    let found = foreign_dependents(db, &live, &tables).await?;
    let mut cascade_statements: Vec<String> = Vec::new();
    for statement in found.iter().filter_map(|(_, sql)| sql.as_ref()) {
        // A view that reads several managed tables is found once for each.
        if !cascade_statements.contains(statement) {
            cascade_statements.push(statement.clone());
        }
    }
    let mut dependents: Vec<Dependent> = found.into_iter().map(|(d, _)| d).collect();
    dependents.sort_by(|a, b| (&a.on, &a.name).cmp(&(&b.on, &b.name)));
    dependents.dedup();
    Ok(DropPlan {
        tables,
        deferred_foreign_keys: graph.deferred_foreign_keys().to_vec(),
        tracking_table,
        dependents,
        untouched,
        schema,
        cascade_statements,
    })
}

/// What a drop removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DropReport {
    /// Tables dropped, in order (the tracking table last, when it was there).
    pub dropped: Vec<String>,
    /// Dependent objects removed with them (`--cascade`).
    pub cascaded: Vec<Dependent>,
}

/// Drops the tables of `plan` under the migration lock.
///
/// # Warning
/// Destroys the managed tables and all their rows. Refuses when the database is protected
/// (unless `allow_protected`) and when objects tt does not manage depend on them (unless
/// `cascade`, which drops the views and foreign keys the plan lists, nothing else).
///
/// # Errors
/// [`Error::Protected`], [`Error::Dependents`], or a database error. On PostgreSQL and SQLite
/// the drop is one transaction: on error nothing was dropped.
pub async fn drop_managed_tables(
    db: &mut Database,
    plan: &DropPlan,
    tracking: &Tracking,
    options: DropOptions,
) -> Result<DropReport, Error> {
    protect::check(db, options.allow_protected).await?;
    if !plan.dependents.is_empty() && !options.cascade {
        return Err(Error::Dependents {
            dependents: plan.dependents.clone(),
        });
    }
    let backend = db.backend();
    if backend == Backend::Sqlite {
        // With foreign keys enforced, DROP TABLE deletes every row first and runs ON DELETE
        // actions, reaching into tables tt does not manage. The pragma only changes outside a
        // transaction, so before the lock (SQLite's lock is the write transaction).
        db.execute("PRAGMA foreign_keys = OFF")
            .await
            .map_err(Error::query("turning foreign keys off for the drop"))?;
    }
    let result = locked_drop(db, plan, tracking, options.cascade).await;
    if backend == Backend::Sqlite {
        // Whatever happened, also when the lock was not to be had.
        let on = db
            .execute("PRAGMA foreign_keys = ON")
            .await
            .map_err(Error::query("turning foreign keys back on"));
        if result.is_ok() {
            on?;
        }
    }
    result
}

/// Drops under the migration lock.
async fn locked_drop(
    db: &mut Database,
    plan: &DropPlan,
    tracking: &Tracking,
    cascade: bool,
) -> Result<DropReport, Error> {
    acquire_lock(db, tracking).await?;
    let result = execute_drop(db, plan, cascade).await;
    let released = if result.is_err() && db.backend() == Backend::Sqlite {
        // The lock is the write transaction the drops ran in: releasing it would commit the
        // tables dropped before the failure.
        db.execute("ROLLBACK")
            .await
            .map_err(Error::query("rolling back the failed drop"))
    } else {
        release_lock(db, tracking).await
    };
    let report = result?;
    released?;
    Ok(report)
}

async fn execute_drop(
    db: &mut Database,
    plan: &DropPlan,
    cascade: bool,
) -> Result<DropReport, Error> {
    let backend = db.backend();
    let (mut statements, cascaded) = if cascade {
        (plan.cascade_statements.clone(), plan.dependents.clone())
    } else {
        (Vec::new(), Vec::new())
    };
    let deferred = |table: &str, fk: &tt_schema::ForeignKey| {
        plan.deferred_foreign_keys
            .iter()
            .any(|r| r.table == table && r.name == fk.name)
    };
    let drops = tt_schema::drop_statements(&plan.schema, backend, &plan.tables, deferred).map_err(
        |source| Error::Render {
            path: std::path::PathBuf::new(),
            source: Box::new(source),
        },
    )?;
    // Never `DROP TABLE … CASCADE` on PostgreSQL: it would also drop what the plan does not
    // list (a table inheriting from a managed one, a column of another table), where a plain
    // drop fails and rolls back.
    statements.extend(drops);
    let mut dropped = plan.tables.clone();
    if let Some(tracking) = &plan.tracking_table {
        statements.push(tt_schema::drop_table(tracking, backend));
        dropped.push(tracking.clone());
    }
    if statements.is_empty() {
        return Ok(DropReport::default());
    }
    let mut batch = statements.join(";\n");
    if backend == Backend::Postgres {
        batch = format!("BEGIN;\n{batch};\nCOMMIT");
    }
    if let Err(error) = db.execute_batch(&batch).await {
        if backend == Backend::Postgres {
            let _ = db.execute("ROLLBACK").await;
        }
        let server = error.source.as_database_error();
        let context = match server.and_then(|e| e.code()).as_deref() {
            Some("53200") => format!(
                "dropping the {} managed tables in one transaction ({})",
                plan.tables.len(),
                crate::engine::failure::TOO_MANY_LOCKS
            ),
            // dependent_objects_still_exist: PostgreSQL lists them in the detail.
            Some("2BP01") => {
                let detail = server
                    .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
                    .and_then(|e| e.detail())
                    .unwrap_or_default()
                    .replace('\n', "; ");
                format!(
                    "dropping the managed tables (objects tt does not manage depend on them, \
                     and --cascade only removes views and foreign keys: {detail})"
                )
            }
            _ => "dropping the managed tables".to_string(),
        };
        return Err(Error::query(context)(error.source));
    }
    Ok(DropReport { dropped, cascaded })
}

/// Views and foreign keys outside `tables` that depend on them, each with the statement that
/// removes it (none for an SQLite foreign key, which cannot be dropped).
async fn foreign_dependents(
    db: &mut Database,
    live: &Schema,
    tables: &[String],
) -> Result<Vec<(Dependent, Option<String>)>, Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.backend();
    let q = |name: &str| backend.quote_ident(name);
    let is_managed = |name: &str| tables.iter().any(|t| same_name(t, name, backend));
    let view = |name: String, on: &str| Dependent {
        kind: DependentKind::View,
        name,
        on: on.to_string(),
    };
    let mut out = Vec::new();
    match backend {
        Backend::Postgres => {
            let list = tables
                .iter()
                .map(|t| format!("'{}'", t.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ");
            // Views (and materialized views) reading a managed table, and views reading those,
            // with the managed table they lead to and how deep they are; then foreign keys of
            // other tables. Names come as `regclass` prints them: quoted where needed,
            // qualified outside the search path.
            let sql = format!(
                "WITH RECURSIVE managed AS (SELECT c.oid FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
                   AND c.relname = ANY(ARRAY[{list}]::text[])), \
                 views(oid, on_table, depth) AS ( \
                   SELECT r.ev_class, t.relname, 1 FROM pg_depend d \
                     JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid \
                     WHERE d.classid = 'pg_rewrite'::regclass \
                     AND d.refclassid = 'pg_class'::regclass \
                     AND d.refobjid IN (SELECT oid FROM managed) \
                     AND r.ev_class NOT IN (SELECT oid FROM managed) \
                   UNION \
                   SELECT r.ev_class, v.on_table, v.depth + 1 FROM views v \
                     JOIN pg_depend d ON d.refobjid = v.oid \
                     JOIN pg_rewrite r ON r.oid = d.objid \
                     WHERE d.classid = 'pg_rewrite'::regclass \
                     AND d.refclassid = 'pg_class'::regclass AND r.ev_class <> v.oid) \
                 SELECT 'view', CAST(v.oid::regclass AS TEXT), CAST(v.on_table AS TEXT), \
                   CASE c.relkind WHEN 'm' THEN 'DROP MATERIALIZED VIEW ' ELSE 'DROP VIEW ' END \
                     || CAST(v.oid::regclass AS TEXT), CAST(v.depth AS TEXT) \
                   FROM views v JOIN pg_class c ON c.oid = v.oid \
                 UNION \
                 SELECT 'foreign key', CAST(c.conrelid::regclass AS TEXT) || '.' || c.conname, \
                   CAST(t.relname AS TEXT), 'ALTER TABLE ' || CAST(c.conrelid::regclass AS TEXT) \
                     || ' DROP CONSTRAINT ' || quote_ident(c.conname), '0' \
                   FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid \
                   WHERE c.contype = 'f' AND c.confrelid IN (SELECT oid FROM managed) \
                   AND c.conrelid NOT IN (SELECT oid FROM managed)"
            );
            let mut rows = db.query_text_rows(&sql, &[]).await.map_err(Error::query(
                "finding objects that depend on managed tables",
            ))?;
            // Deepest first, so that a view goes before the views it reads, without CASCADE
            // (which would also remove what the plan does not list).
            rows.sort_by_key(|row| {
                let depth = row.get(4).cloned().flatten().unwrap_or_default();
                std::cmp::Reverse(depth.parse::<u32>().unwrap_or(0))
            });
            for row in rows {
                let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                let kind = match (field(0).as_str(), field(3).as_str()) {
                    ("view", drop) if drop.starts_with("DROP MATERIALIZED VIEW") => {
                        DependentKind::MaterializedView
                    }
                    ("view", _) => DependentKind::View,
                    _ => DependentKind::ForeignKey,
                };
                let dependent = Dependent {
                    kind,
                    name: field(1),
                    on: field(2),
                };
                out.push((dependent, Some(field(3))));
            }
        }
        Backend::Mysql => {
            let current = db
                .query_text_rows("SELECT CAST(DATABASE() AS CHAR)", &[])
                .await
                .map_err(Error::query("reading the current database"))?
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten())
                .unwrap_or_default();
            let sql = "SELECT CAST(CONSTRAINT_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
                       CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR) \
                       FROM information_schema.REFERENTIAL_CONSTRAINTS \
                       WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE()";
            for row in db
                .query_text_rows(sql, &[])
                .await
                .map_err(Error::query("finding foreign keys to managed tables"))?
            {
                let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                let (schema, table, name, on) = (field(0), field(1), field(2), field(3));
                if !is_managed(&on) || (schema == current && is_managed(&table)) {
                    continue;
                }
                let statement = format!(
                    "ALTER TABLE {}.{} DROP FOREIGN KEY {}",
                    q(&schema),
                    q(&table),
                    q(&name)
                );
                let owner = if schema == current {
                    table
                } else {
                    format!("{schema}.{table}")
                };
                let dependent = Dependent {
                    kind: DependentKind::ForeignKey,
                    name: format!("{owner}.{name}"),
                    on,
                };
                out.push((dependent, Some(statement)));
            }
            let views = db
                .query_text_rows(
                    "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) \
                     FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
                    &[],
                )
                .await
                .map_err(Error::query("finding views on managed tables"))?;
            for row in views {
                let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                let (name, definition) = (field(0), field(1));
                // MariaDB and MySQL print every table a view reads as `database`.`table`; a
                // bare `table` may be a column or an alias.
                for table in tables {
                    if definition.contains(&format!("{}.{}", q(&current), q(table))) {
                        let statement = format!("DROP VIEW IF EXISTS {}", q(&name));
                        out.push((view(name.clone(), table), Some(statement)));
                    }
                }
            }
        }
        Backend::Sqlite => {
            for table in live.tables().filter(|t| !is_managed(&t.name)) {
                for fk in table
                    .foreign_keys
                    .iter()
                    .filter(|fk| is_managed(&fk.ref_table))
                {
                    let dependent = Dependent {
                        kind: DependentKind::ForeignKey,
                        name: format!("{}.{}", table.name, fk.name),
                        on: fk.ref_table.clone(),
                    };
                    // SQLite cannot drop a foreign key; with enforcement off it stays, dangling.
                    out.push((dependent, None));
                }
            }
            let views = db
                .query_text_rows(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'view'",
                    &[],
                )
                .await
                .map_err(Error::query("finding views on managed tables"))?;
            for row in views {
                let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                let (name, definition) = (field(0), field(1));
                for table in tables {
                    if crate::destructive::managed::mentions_table(&definition, table, backend) {
                        let statement = format!("DROP VIEW IF EXISTS {}", q(&name));
                        out.push((view(name.clone(), table), Some(statement)));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The number of rows in `tables`, in one query (for confirmation prompts).
///
/// # Errors
/// When a table cannot be counted.
pub async fn count_rows(db: &mut Database, tables: &[String]) -> Result<u64, Error> {
    if tables.is_empty() {
        return Ok(0);
    }
    let backend = db.backend();
    let sum = tables
        .iter()
        .map(|t| format!("(SELECT COUNT(*) FROM {})", backend.quote_ident(t)))
        .collect::<Vec<_>>()
        .join(" + ");
    let sql = format!("SELECT CAST({sum} AS {})", db.text_type());
    let rows = db
        .query_text_rows(&sql, &[])
        .await
        .map_err(Error::query("counting rows"))?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0))
}
