//! Dropping the managed tables in foreign-key order, refusing while other objects need them.
//!
//! The order comes from the FK graph of the LIVE schema (not of the migration files), so a
//! database that drifted from its migrations still drops cleanly: the foreign keys that close
//! cycles (and self-references) go first, then the tables children-first, then the tracking
//! table, all in one round trip (one transaction where DDL is transactional). Where one
//! transaction cannot hold it (MySQL; a PostgreSQL drop bigger than the server's lock table),
//! the drop runs under a mark in the tracking table, gone with the tracking table at the end.

use std::collections::BTreeSet;

use serde::Serialize;
use tt_schema::{FkGraph, FkRef, Schema};

use crate::backend::ServerError;
use crate::backend::database::Database;
use crate::backend::dependent::{Dependent, Dependents};
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::backend::object::ObjectKind;
use crate::backend::value::int_at;
use crate::destructive::error::DropRefusal;
use crate::destructive::managed::{ManagedObject, managed_objects_of, mentions_table};
use crate::destructive::objects::{DroppedObject, plan_objects};
use crate::destructive::protect;
use crate::engine::lock::{abandon_lock, acquire_lock, release_lock};
use crate::engine::tracking::Tracking;
use crate::error::Error;
use crate::files::error::FileError;
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
    /// The dependents no statement can remove (an SQLite foreign key is part of its table):
    /// `--cascade` leaves them in place, naming a table that is gone.
    #[serde(skip)]
    kept: Vec<Dependent>,
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
/// When the files cannot be read or the catalog cannot be queried, or when the tracking table's
/// name is taken by another tool's table
/// ([`TrackingError::ForeignTrackingTable`](crate::TrackingError::ForeignTrackingTable)), which tt
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
    let mut kept: Vec<Dependent> = found
        .iter()
        .filter(|(_, sql)| sql.is_none())
        .map(|(d, _)| d.clone())
        .collect();
    kept.sort_by(|a, b| (&a.on, &a.name).cmp(&(&b.on, &b.name)));
    kept.dedup();
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
        kept,
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
    /// Dependent objects `--cascade` could not remove and left in place (SQLite's foreign
    /// keys, which are part of their table): they now name a table that is gone.
    pub left_in_place: Vec<Dependent>,
}

/// Drops the tables of `plan` under the migration lock.
///
/// # Warning
/// Destroys the managed tables and all their rows. Refuses when the database is protected
/// (unless `allow_protected`) and when objects tt does not manage depend on them (unless
/// `cascade`, which drops the views and foreign keys the plan lists, nothing else).
///
/// # Errors
/// [`DropRefusal::Protected`], [`DropRefusal::Dependents`], or a database error. On SQLite, and on
/// PostgreSQL when one transaction can hold the locks, the drop is one transaction: on error
/// nothing was dropped. Otherwise (MySQL, which commits each DROP, and PostgreSQL drops too
/// big for one transaction, run in batches) a mark in the tracking table says a drop is in
/// progress until it ends; a failure after the first change is [`Error::DropIncomplete`]
/// naming what went, and leaves the mark for `tt status`, `tt migrate` and `tt verify` to
/// report (see [`StoppedDrop`](crate::StoppedDrop)); running the drop again finishes it.
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
        Ok(current) => execute_drop(db, &current, tracking, options.cascade).await,
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
    execute_drop(db, &current, tracking, options.cascade).await
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
            return Err(Error::Refused(DropRefusal::PlanGrew { added }));
        }
    }
    Ok(current)
}

fn check_dependents(plan: &DropPlan, options: DropOptions) -> Result<(), Error> {
    if !plan.dependents.is_empty() && !options.cascade {
        return Err(Error::Refused(DropRefusal::Dependents {
            dependents: plan.dependents.clone(),
        }));
    }
    Ok(())
}

/// Statements a transaction of a batched PostgreSQL drop runs at first: each `DROP TABLE`
/// locks the table, its indexes, its TOAST table and the tables its foreign keys reference,
/// and the server's shared lock table holds `max_locks_per_transaction` (64 by default) times
/// `max_connections` locks for all sessions. A batch the server still refuses is halved.
const BATCH: usize = 100;

/// One statement of a drop, and the managed table it drops, if it drops one.
struct DropStep {
    sql: String,
    table: Option<String>,
}

async fn execute_drop(
    db: &mut Database,
    plan: &DropPlan,
    tracking: &Tracking,
    cascade: bool,
) -> Result<DropReport, Error> {
    let backend = db.backend();
    let dialect = db.dialect();
    let (mut steps, cascaded, left_in_place) = if cascade {
        let steps = plan
            .cascade_statements
            .iter()
            .map(|sql| DropStep {
                sql: sql.clone(),
                table: None,
            })
            .collect();
        let cascaded = plan
            .dependents
            .iter()
            .filter(|d| !plan.kept.contains(d))
            .cloned()
            .collect();
        (steps, cascaded, plan.kept.clone())
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let deferred = |table: &str, fk: &tt_schema::ForeignKey| {
        plan.deferred_foreign_keys
            .iter()
            .any(|r| r.table == table && r.name == fk.name)
    };
    // Named in the schema found at connect: a migration's `SET search_path` or `USE` must not
    // change which tables go (or make their names resolve to none).
    let drops = tt_schema::qualified_drop_statements(
        db.home_schema(),
        &plan.schema,
        backend,
        &plan.tables,
        deferred,
    )
    .map_err(|source| {
        Error::File(FileError::Render {
            path: std::path::PathBuf::new(),
            source: Box::new(source),
        })
    })?;
    // Never `DROP TABLE … CASCADE` on PostgreSQL: it would also drop what the plan does not
    // list (a table inheriting from a managed one, a column of another table), where a plain
    // drop fails and rolls back. The table drops come in the plan's order, between the other
    // objects that go before and after them (views before, types and routines after).
    let (before, after) = plan.objects.split_at(plan.objects_before);
    let object_step = |object: &DroppedObject| DropStep {
        sql: object.drop.clone(),
        table: None,
    };
    steps.extend(before.iter().map(object_step));
    let first_table = drops.len() - plan.tables.len();
    steps.extend(drops.into_iter().enumerate().map(|(at, sql)| {
        DropStep {
            sql,
            table: at
                .checked_sub(first_table)
                .and_then(|i| plan.tables.get(i))
                .cloned(),
        }
    }));
    steps.extend(after.iter().map(object_step));
    let mut dropped = plan.tables.clone();
    if let Some(tracking) = &plan.tracking_table {
        steps.push(DropStep {
            sql: format!("DROP TABLE {}", db.own_table(tracking)),
            table: Some(tracking.clone()),
        });
        dropped.push(tracking.clone());
    }
    if steps.is_empty() {
        return Ok(DropReport::default());
    }
    let report = DropReport {
        dropped,
        objects: plan.objects.clone(),
        cascaded,
        left_in_place,
    };
    if dialect.one_writer() {
        // SQLite: in the lock's write transaction, which a failure rolls back whole.
        let batch = joined(&steps);
        return match db.execute_batch(&batch).await {
            Ok(_) => Ok(report),
            Err(error) => Err(drop_failed(db, plan, error.source)),
        };
    }
    if !dialect.transactional_ddl() {
        // MySQL commits each DROP: the mark first, then every statement in one round trip.
        run_marked(db, plan, tracking, &steps, None).await?;
        return Ok(report);
    }
    if steps.len() <= BATCH {
        // One transaction: on error nothing was dropped.
        let batch = format!("BEGIN;\n{};\nCOMMIT", joined(&steps));
        match db.execute_batch(&batch).await {
            Ok(_) => return Ok(report),
            Err(error) => {
                let _ = db.execute("ROLLBACK").await;
                if !too_many_locks(db, &error.source) || steps.len() == 1 {
                    return Err(drop_failed(db, plan, error.source));
                }
            }
        }
    }
    // Too many for one transaction on the server's settings: FK-safe batches (every prefix of
    // the steps is: cycle foreign keys, then children before parents), each a transaction of
    // its own, under the mark.
    let size = if steps.len() <= BATCH {
        steps.len().div_ceil(2)
    } else {
        BATCH
    };
    run_marked(db, plan, tracking, &steps, Some(size)).await?;
    Ok(report)
}

/// The statements of `steps` as one batch.
fn joined(steps: &[DropStep]) -> String {
    steps
        .iter()
        .map(|step| step.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n")
}

/// Whether `error` is PostgreSQL's full lock table.
fn too_many_locks(db: &Database, error: &sqlx::Error) -> bool {
    let dialect = db.dialect();
    error.as_database_error().is_some_and(|e| {
        dialect.classify(&dialect.error_code(e).unwrap_or_default(), e.message())
            == Some(ServerError::TooManyLocks)
    })
}

/// Runs `steps` under the drop mark in the tracking table (written first, gone with the
/// tracking table, the last step): in transactions of `batch` statements (halved when the
/// server runs out of locks), or, with `None`, in one round trip of statements that each
/// commit (MySQL). A failure after the first change is [`Error::DropIncomplete`], saying what
/// went; a failure before it removes the mark again.
async fn run_marked(
    db: &mut Database,
    plan: &DropPlan,
    tracking: &Tracking,
    steps: &[DropStep],
    batch: Option<usize>,
) -> Result<(), Error> {
    // Without a tracking table, one is made to hold the mark, and dropped last.
    let made_table = plan.tracking_table.is_none();
    let extra = made_table.then(|| DropStep {
        sql: format!("DROP TABLE {}", db.own_table(tracking.table())),
        table: None,
    });
    let steps: Vec<&DropStep> = steps.iter().chain(extra.as_ref()).collect();
    tracking.mark_drop(db).await?;
    let mut done = 0;
    let mut size = batch.unwrap_or(steps.len());
    let failure = loop {
        if done == steps.len() {
            return Ok(());
        }
        let chunk = &steps[done..(done + size).min(steps.len())];
        let sql = chunk
            .iter()
            .map(|step| step.sql.as_str())
            .collect::<Vec<_>>()
            .join(";\n");
        let in_transaction = batch.is_some();
        let sql = if in_transaction {
            format!("BEGIN;\n{sql};\nCOMMIT")
        } else {
            sql
        };
        match db.execute_batch(&sql).await {
            Ok(_) => done += chunk.len(),
            Err(error) if in_transaction => {
                let _ = db.execute("ROLLBACK").await;
                if size > 1 && too_many_locks(db, &error.source) {
                    size = size.div_ceil(2);
                    continue;
                }
                break error.source;
            }
            Err(error) => {
                done += error.completed.min(chunk.len());
                break error.source;
            }
        }
    };
    let cause = drop_failed(db, plan, failure);
    if done == 0 {
        // Nothing changed: the mark goes too, so that nothing reports a stopped drop. If even
        // that fails, the mark stays and says "may be gone", which is still true enough.
        let _ = if made_table {
            db.execute(&format!("DROP TABLE {}", db.own_table(tracking.table())))
                .await
                .map_err(Error::query("dropping the tracking table"))
        } else {
            tracking.unmark_drop(db).await
        };
        return Err(cause);
    }
    let dropped: Vec<String> = steps[..done]
        .iter()
        .filter_map(|step| step.table.clone())
        .filter(|table| plan.tables.contains(table))
        .collect();
    Err(Error::DropIncomplete {
        other_statements: done - dropped.len(),
        dropped,
        tables: plan.tables.len(),
        tracking_table: tracking.table().to_string(),
        source: Box::new(cause),
    })
}

/// The error of a failed drop statement, with what the server's error means for a drop.
fn drop_failed(db: &Database, plan: &DropPlan, source: sqlx::Error) -> Error {
    let dialect = db.dialect();
    let server = source.as_database_error();
    let class = server
        .and_then(|e| dialect.classify(&dialect.error_code(e).unwrap_or_default(), e.message()));
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
    Error::query(context)(source)
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
    let sum = tables
        .iter()
        .map(|t| format!("(SELECT COUNT(*) FROM {})", db.own_table(t)))
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
