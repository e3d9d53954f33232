//! Dropping the managed tables in foreign-key order, refusing while other objects need them.
//!
//! The order comes from the FK graph of the LIVE schema (not of the migration files), so a
//! database that drifted from its migrations still drops cleanly: the foreign keys that close
//! cycles (and self-references) go first, then the tables children-first, then the tracking
//! table, all in one round trip (one transaction where DDL is transactional).

use std::collections::BTreeSet;

use serde::Serialize;
use tt_schema::{FkGraph, FkRef, Schema};

use crate::backend::ServerError;
use crate::backend::database::Database;
use crate::backend::dependent::{Dependent, Dependents};
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::backend::object::ObjectKind;
use crate::backend::value::int_at;
use crate::destructive::managed::{ManagedObject, managed_objects_of, mentions_table};
use crate::destructive::objects::{DroppedObject, plan_objects};
use crate::destructive::protect;
use crate::engine::lock::{abandon_lock, acquire_lock, release_lock};
use crate::engine::tracking::Tracking;
use crate::error::Error;
use crate::files::migration::Migration;

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
    /// The other objects the migrations created (views, routines, types, …) present in the
    /// database, in drop order: those that need the tables before them, the rest after.
    pub objects: Vec<DroppedObject>,
    /// Objects tt does not manage that depend on managed ones.
    pub dependents: Vec<Dependent>,
    /// Tables in the database that tt does not manage and leaves alone.
    pub untouched: Vec<String>,
    #[serde(skip)]
    schema: Schema,
    /// How many of `objects` drop before the tables.
    #[serde(skip)]
    objects_before: usize,
    /// The managed objects the plan was made from, to make it again under the lock.
    #[serde(skip)]
    managed: BTreeSet<ManagedObject>,
    /// The statements that remove `dependents` (`--cascade`), before the tables go.
    #[serde(skip)]
    cascade_statements: Vec<String>,
}

impl DropPlan {
    /// Whether there is nothing to drop.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.tracking_table.is_none() && self.objects.is_empty()
    }
}

/// Options of [`drop_managed_tables`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DropOptions {
    /// Also drop the views and foreign keys of other tables that depend on managed tables.
    pub cascade: bool,
    /// Drop even when the database is marked protected.
    pub allow_protected: bool,
    /// The plan was shown to the user and confirmed as it is: refuse when, made again under
    /// the lock, it would drop a table it did not list. Otherwise (`--yes`) the plan made
    /// under the lock runs, whatever it holds.
    pub exactly_as_planned: bool,
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
    let managed = managed_objects_of(db, migrations).await?;
    plan_from_managed(db, managed, tracking).await
}

/// [`plan_drop`] for the managed objects `managed`.
async fn plan_from_managed(
    db: &mut Database,
    objects: BTreeSet<ManagedObject>,
    tracking: &Tracking,
) -> Result<DropPlan, Error> {
    let dialect = db.dialect();
    let managed: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Table && o.schema.is_none())
        .map(|o| o.name.clone())
        .collect();
    let live = introspect(
        db,
        &IntrospectOptions {
            postgres_schema: db.options().postgres_schema.clone(),
        },
    )
    .await?;
    let is_managed = |name: &str| managed.iter().any(|m| dialect.same_name(m, name));
    let tracking_table = live
        .table_names()
        .find(|name| dialect.same_name(name, tracking.table()))
        .map(str::to_string);
    let mut schema = live.clone();
    schema.retain(|table| is_managed(&table.name) && Some(&table.name) != tracking_table.as_ref());
    let untouched: Vec<String> = live
        .table_names()
        .filter(|name| {
            !schema.contains(name)
                && Some(*name) != tracking_table.as_deref()
                && *name != protect::PROTECTION_TABLE
                && !dialect.same_name(name, &tracking.lock_table())
        })
        .map(str::to_string)
        .collect();
    let graph = FkGraph::new(&schema);
    let tables: Vec<String> = graph.drop_order().into_iter().map(str::to_string).collect();
    let catalog = dialect.catalog(db).await?;
    let mut going = tables.clone();
    going.extend(tracking_table.clone());
    let others = plan_objects(&catalog, &objects, &going, db.backend());
    let (objects_before, mut dropped): (Vec<_>, Vec<_>) = (others.before, others.after);
    let before = objects_before.len();
    // Views the migrations created are not dependents, but a view reading one is.
    let managed_views: Vec<String> = objects_before
        .iter()
        .chain(&dropped)
        .filter(|o| o.kind == "view")
        .map(|o| o.name.clone())
        .collect();
    let mut read = tables.clone();
    read.extend(managed_views.iter().cloned());
    let mut found = foreign_dependents(db, &live, &read).await?;
    found.retain(|(d, _)| {
        !(d.kind == crate::backend::dependent::DependentKind::View
            && managed_views.iter().any(|v| dialect.same_name(v, &d.name)))
    });
    found.extend(others.dependents);
    let mut cascade_statements: Vec<String> = Vec::new();
    for statement in found.iter().filter_map(|(_, sql)| sql.as_ref()) {
        // A view that reads several managed tables is found once for each.
        if !cascade_statements.contains(statement) {
            cascade_statements.push(statement.clone());
        }
    }
    let mut dependents: Vec<Dependent> = found.into_iter().map(|(d, _)| d).collect();
    dependents.sort_by(|a, b| (&a.on, &a.name).cmp(&(&b.on, &b.name)));
    // An object found through several managed ones is listed (and counted) once.
    let mut seen = Vec::new();
    dependents.retain(|d| {
        let key = (d.kind, d.name.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    let mut in_order = objects_before;
    in_order.append(&mut dropped);
    Ok(DropPlan {
        tables,
        deferred_foreign_keys: graph.deferred_foreign_keys().to_vec(),
        tracking_table,
        objects: in_order,
        dependents,
        untouched,
        schema,
        cascade_statements,
        objects_before: before,
        managed: objects,
    })
}

/// What a drop removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DropReport {
    /// Tables dropped, in order (the tracking table last, when it was there).
    pub dropped: Vec<String>,
    /// The other managed objects dropped (views, routines, types, …), in order.
    pub objects: Vec<DroppedObject>,
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
    // Dependents are checked on the plan made under the lock: one read before it may see a
    // concurrent migrate's table whose tracking row is not written yet.
    let foreign_keys = db.dialect().foreign_keys_off_for_drop();
    if let Some((off, _)) = foreign_keys {
        // Outside any transaction, so before the lock (SQLite's lock is the write
        // transaction).
        db.execute(off)
            .await
            .map_err(Error::query("turning foreign keys off for the drop"))?;
    }
    let result = locked_drop(db, plan, tracking, options).await;
    if let Some((_, on)) = foreign_keys {
        // Whatever happened, also when the lock was not to be had.
        let on = db
            .execute(on)
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
    options: DropOptions,
) -> Result<DropReport, Error> {
    acquire_lock(db, tracking).await?;
    // What was planned before the lock may be stale: another runner may have created or
    // dropped tables meanwhile. The plan made now is the one that runs.
    let result = match replan(db, plan, tracking, options).await {
        Ok(current) => execute_drop(db, &current, options.cascade).await,
        Err(error) => Err(error),
    };
    let released = if result.is_err() {
        // On SQLite the lock is the write transaction the drops ran in: releasing it would
        // commit the tables dropped before the failure.
        abandon_lock(db, tracking).await
    } else {
        release_lock(db, tracking).await
    };
    let report = result?;
    released?;
    Ok(report)
}

/// Drops the managed tables of `migrations` under the migration lock the caller holds (the
/// first half of `tt reset`), with a plan made now: checked against `confirmed`, the plan the
/// user confirmed, when there is one (see [`DropOptions::exactly_as_planned`]).
pub(crate) async fn drop_holding_lock(
    db: &mut Database,
    migrations: &[Migration],
    confirmed: Option<&DropPlan>,
    tracking: &Tracking,
    options: DropOptions,
) -> Result<DropReport, Error> {
    protect::check(db, options.allow_protected).await?;
    let current = match confirmed {
        Some(planned) => replan(db, planned, tracking, options).await?,
        None => {
            let plan = plan_drop(db, migrations, tracking).await?;
            check_dependents(&plan, options)?;
            plan
        }
    };
    execute_drop(db, &current, options.cascade).await
}

/// The plan made again under the lock, checked against what was confirmed.
async fn replan(
    db: &mut Database,
    planned: &DropPlan,
    tracking: &Tracking,
    options: DropOptions,
) -> Result<DropPlan, Error> {
    let current = plan_from_managed(db, planned.managed.clone(), tracking).await?;
    check_dependents(&current, options)?;
    if options.exactly_as_planned {
        let added: Vec<String> = current
            .tables
            .iter()
            .filter(|table| !planned.tables.contains(table))
            .cloned()
            .collect();
        if !added.is_empty() {
            return Err(Error::PlanGrew { added });
        }
    }
    Ok(current)
}

fn check_dependents(plan: &DropPlan, options: DropOptions) -> Result<(), Error> {
    if !plan.dependents.is_empty() && !options.cascade {
        return Err(Error::Dependents {
            dependents: plan.dependents.clone(),
        });
    }
    Ok(())
}

async fn execute_drop(
    db: &mut Database,
    plan: &DropPlan,
    cascade: bool,
) -> Result<DropReport, Error> {
    let backend = db.backend();
    let dialect = db.dialect();
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
    let (before, after) = plan.objects.split_at(plan.objects_before);
    statements.extend(before.iter().map(|o| o.drop.clone()));
    statements.extend(drops);
    statements.extend(after.iter().map(|o| o.drop.clone()));
    let mut dropped = plan.tables.clone();
    if let Some(tracking) = &plan.tracking_table {
        statements.push(tt_schema::drop_table(tracking, backend));
        dropped.push(tracking.clone());
    }
    if statements.is_empty() {
        return Ok(DropReport::default());
    }
    let mut batch = statements.join(";\n");
    // One transaction where DDL is transactional; SQLite's already runs in the lock's.
    let own_transaction = dialect.transactional_ddl() && !dialect.one_writer();
    if own_transaction {
        batch = format!("BEGIN;\n{batch};\nCOMMIT");
    }
    if let Err(error) = db.execute_batch(&batch).await {
        if own_transaction {
            let _ = db.execute("ROLLBACK").await;
        }
        let server = error.source.as_database_error();
        let class = server.and_then(|e| {
            dialect.classify(&dialect.error_code(e).unwrap_or_default(), e.message())
        });
        let context = match class {
            Some(ServerError::TooManyLocks) => format!(
                "dropping the {} managed tables in one transaction ({})",
                plan.tables.len(),
                crate::engine::failure::TOO_MANY_LOCKS
            ),
            // PostgreSQL lists them in the detail.
            Some(ServerError::DependentObjects) => {
                let detail = server
                    .and_then(|e| dialect.error_detail(e))
                    .unwrap_or_default();
                format!(
                    "dropping the managed tables (objects tt does not manage depend on them, \
                     and --cascade only removes views and foreign keys: {detail})"
                )
            }
            _ => "dropping the managed tables".to_string(),
        };
        return Err(Error::query(context)(error.source));
    }
    Ok(DropReport {
        dropped,
        objects: plan.objects.clone(),
        cascaded,
    })
}

/// Foreign keys outside `tables` that reference them, and (where the catalog has no
/// dependency graph) views whose text names one, each with the statement that removes it
/// (none for an SQLite foreign key, which cannot be dropped).
async fn foreign_dependents(
    db: &mut Database,
    live: &Schema,
    tables: &[String],
) -> Result<Dependents, Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.backend();
    let mentions = |definition: &str, table: &str| mentions_table(definition, table, backend);
    db.dialect()
        .foreign_dependents(db, live, tables, &mentions)
        .await
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
    let sql = format!("SELECT {sum}");
    let count = db
        .query_rows(&sql, &[])
        .await
        .and_then(|rows| int_at(rows.first().map_or(&[], Vec::as_slice), 0))
        .map_err(Error::query("counting rows"))?;
    // A count is never negative.
    Ok(count.unsigned_abs())
}
