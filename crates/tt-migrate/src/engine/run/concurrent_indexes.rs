//! A `.toml` migration under `--jobs`: its tables first, then the indexes of different tables
//! built at the same time, each table's on a connection of its own, then its row finished.
//!
//! A transaction cannot span connections, and other connections cannot see tables a
//! transaction has not committed, so the migration runs in three phases, marked as the
//! tracking table marks any migration that cannot be one transaction:
//! 1. the tables (with their foreign keys and comments) and the tracking row marked dirty,
//!    committed together where DDL is transactional (PostgreSQL); on MySQL the row is marked
//!    dirty first, as always;
//! 2. the indexes, grouped by table, each `CREATE INDEX` in its own transaction, on the
//!    migration's connection and whichever of the run's (see [`Workers`]) are free, so the
//!    run never holds more than `jobs`; a failed build does not stop the others;
//! 3. the row finished (not dirty) once every index is built; otherwise it stays dirty and
//!    the first failure names the index, its table and what the other builds did.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::future::join_all;
use serde::Serialize;

use super::parallel::Workers;
use super::{Applied, Event, Migrator, Record, Script, Step};
use crate::backend::database::{BatchError, Database};
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::engine::error::{FailureOutcome, IndexFailure};
use crate::engine::failure;
use crate::error::Error;
use crate::files::migration::{FileKind, Migration};
use crate::files::statements::{self, IndexStatement};

/// One index a `.toml` migration built after its tables (`jobs` > 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexBuild {
    /// The indexed table.
    pub table: String,
    /// The index.
    pub index: String,
    /// When its `CREATE INDEX` was sent, in microseconds since the migration started.
    pub started_us: u64,
    /// When it finished, in microseconds since the migration started.
    pub finished_us: u64,
}

/// A build and how it went.
struct Built {
    index: IndexStatement,
    build: IndexBuild,
    result: Result<(), BatchError>,
}

impl Migrator<'_> {
    /// Applies `migration` on `db` in a run of up to `workers.jobs` at a time: a `.toml` file
    /// whose indexes are on two tables or more in the three phases above, anything else as one
    /// step.
    pub(super) async fn apply_up(
        &self,
        db: &mut Database,
        migration: &Migration,
        script: Script<'_>,
        statements: u32,
        workers: &Workers,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<Applied, Error> {
        if workers.jobs < 2 || script.file.kind != FileKind::Toml || script.drop_tables {
            return self
                .apply_script(db, migration, script, Step::Up, statements, on_event)
                .await;
        }
        let began = Instant::now();
        let live = introspect(db, &IntrospectOptions::default()).await?;
        let indexes = statements::toml_parts(script.file, db.backend(), &live)?.indexes;
        let groups = by_table(indexes);
        if groups.len() < 2 {
            return self
                .apply_script(db, migration, script, Step::Up, statements, on_event)
                .await;
        }
        let tables_only = Script {
            tables_only: true,
            ..script
        };
        let applied = self
            .apply_script(db, migration, tables_only, Step::Up, statements, on_event)
            .await?;
        let mut built = build(db, groups, workers, began).await;
        built.sort_by_key(|b| b.index.statement.number);
        let first_failure = built
            .iter()
            .find_map(|b| b.result.as_ref().err().map(|error| (&b.index, error)));
        if let Some((index, error)) = first_failure {
            return Err(self.index_failure(db, migration, script, index, error, &built));
        }
        let execution_ms = began.elapsed().as_millis() as i64;
        self.record(db, migration, Step::Up, Record::Done(execution_ms))
            .await?;
        Ok(Applied {
            execution_ms,
            index_builds: built.into_iter().map(|b| b.build).collect(),
            ..applied
        })
    }

    /// The located failure of the build of `failed`, one of `built`: the migration stays
    /// dirty.
    fn index_failure(
        &self,
        db: &Database,
        migration: &Migration,
        script: Script<'_>,
        failed: &IndexStatement,
        error: &BatchError,
        built: &[Built],
    ) -> Error {
        let mut report = failure::locate(
            db.dialect(),
            self.layout,
            migration,
            script.file.path(),
            &[(0, failed.statement.clone())],
            0,
            &error.source,
        );
        report.outcome = FailureOutcome::Dirty;
        let names = |ok: bool| {
            built
                .iter()
                .filter(|b| {
                    b.result.is_ok() == ok && b.index.statement.number != failed.statement.number
                })
                .map(|b| b.index.index.clone())
                .collect()
        };
        report.index = Some(IndexFailure {
            table: failed.table.clone(),
            index: failed.index.clone(),
            built: names(true),
            also_failed: names(false),
        });
        Error::Statement(Box::new(report))
    }
}

/// The index statements grouped by table, in the order the tables were created.
fn by_table(indexes: Vec<IndexStatement>) -> Vec<Vec<IndexStatement>> {
    let mut groups: Vec<Vec<IndexStatement>> = Vec::new();
    for index in indexes {
        match groups.iter_mut().find(|g| g[0].table == index.table) {
            Some(group) => group.push(index),
            None => groups.push(vec![index]),
        }
    }
    groups
}

/// Builds every group, each on one connection: `db` and as many of the run's `workers` as are
/// free now (one per further group at most), every `CREATE INDEX` in its own transaction; they
/// go back to `workers` when no group is left. With none free, or where another connection
/// cannot be opened, the ones there do the work.
async fn build(
    db: &mut Database,
    groups: Vec<Vec<IndexStatement>>,
    workers: &Workers,
    began: Instant,
) -> Vec<Built> {
    let of = &*db;
    let taken = join_all((1..groups.len()).map(|_| workers.take(of))).await;
    let mut extra = Vec::new();
    for conn in taken.into_iter().flatten() {
        match conn {
            Ok(conn) => extra.push(conn),
            Err(error) => tracing::debug!(%error, "index builds go on with fewer connections"),
        }
    }
    let queue = Mutex::new(VecDeque::from(groups));
    let queue = &queue;
    let since = move || began.elapsed().as_micros() as u64;
    let conns = std::iter::once(db).chain(extra.iter_mut());
    let done = join_all(conns.map(|conn| async move {
        let mut done = Vec::new();
        while let Some(group) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
            for index in group {
                let started_us = since();
                let result = conn.execute_batch(&index.statement.sql).await.map(|_| ());
                done.push(Built {
                    build: IndexBuild {
                        table: index.table.clone(),
                        index: index.index.clone(),
                        started_us,
                        finished_us: since(),
                    },
                    index,
                    result,
                });
            }
        }
        done
    }))
    .await;
    for conn in extra {
        workers.put(conn);
    }
    done.into_iter().flatten().collect()
}
