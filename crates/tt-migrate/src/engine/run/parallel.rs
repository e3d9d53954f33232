//! A parallel run (`jobs` > 1): pending migrations as a DAG in version order, each on a
//! connection of its own, in its own transaction with its tracking row; the run's connection
//! holds the lock and only coordinates. The migrations' connections and those a `.toml`
//! migration builds its indexes on come from one pool of at most `jobs` ([`Workers`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Applied, Event, Migrator, RunError, RunReport, Script};
use crate::backend::database::Database;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::engine::lock;
use crate::engine::schedule::{Schedule, schedule};
use crate::error::Error;
use crate::files::dependencies::{Object, Reason, footprints};
use crate::files::migration::{Migration, MigrationFile};

/// Where a migration of a parallel run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Committed,
    Failed,
}

/// What a finished migration hands back to the coordinator: its index, its connection and
/// how it went.
type Finished = (usize, Database, Result<Applied, Error>);

/// The connections of a parallel run, each working for the run's connection (see
/// [`Database::worker`]): at most `jobs` open at once, whether a migration runs on one or a
/// `.toml` migration builds an index on it. One that is done goes back idle for the next; all
/// close when the run ends.
pub(super) struct Workers {
    /// The most open at once (the run's own connection aside).
    pub(super) jobs: usize,
    pool: Mutex<Pool>,
}

/// What [`Workers`] holds: the idle connections, and how many are open (idle or in use).
#[derive(Default)]
struct Pool {
    idle: Vec<Database>,
    open: usize,
}

impl Workers {
    fn new(jobs: usize) -> Self {
        Self {
            jobs,
            pool: Mutex::new(Pool::default()),
        }
    }

    /// A free connection: an idle one, or a new one working for `of` (see
    /// [`Database::worker`]) while fewer than `jobs` are open; `None` when all are in use.
    ///
    /// # Errors
    /// When a new connection cannot be opened.
    pub(super) async fn take(&self, of: &Database) -> Option<Result<Database, Error>> {
        {
            let mut pool = self.pool.lock().ok()?;
            if let Some(conn) = pool.idle.pop() {
                return Some(Ok(conn));
            }
            if pool.open >= self.jobs {
                return None;
            }
            // Counted from now: a build that asks at the same time finds it taken.
            pool.open += 1;
        }
        let opened = of.worker().await;
        if opened.is_err() {
            if let Ok(mut pool) = self.pool.lock() {
                pool.open -= 1;
            }
        }
        Some(opened)
    }

    /// Gives `conn` back, idle.
    pub(super) fn put(&self, conn: Database) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.idle.push(conn);
        }
    }

    /// How many were open at most (every one opened stays open until [`Workers::close`]).
    fn opened(&self) -> usize {
        self.pool.lock().map_or(0, |pool| pool.open)
    }

    /// Closes every connection (all idle once no migration runs).
    async fn close(self) {
        let idle = self
            .pool
            .into_inner()
            .map(|pool| pool.idle)
            .unwrap_or_default();
        for conn in idle {
            // The migrations' own work is committed; a failed close changes nothing.
            let _ = conn.close().await;
        }
    }
}

impl<'m> Migrator<'m> {
    /// The schedule a run with [`Migrator::jobs`] > 1 would follow on `db`: which pending
    /// migration waits for which, and why. Reads only.
    ///
    /// # Errors
    /// As [`Migrator::dry_run`], and when the live schema cannot be read.
    pub async fn schedule(&self, db: &mut Database) -> Result<Schedule, Error> {
        let rows = self.applied_rows(db).await?;
        let backend = db.backend();
        let chosen = self.chosen(&rows, backend)?;
        let scripts = super::checked(&chosen, db, Script::up)?;
        self.schedule_of(db, &chosen, &scripts).await
    }

    /// The dependency graph of every migration file (applied or not) on `backend`, from the
    /// files alone (`tt graph --migrations`).
    ///
    /// # Errors
    /// When a file cannot be read or split, or has no variant for `backend`.
    pub fn file_graph(&self, backend: tt_schema::Backend) -> Result<Schedule, Error> {
        let all: Vec<&Migration> = self.migrations.iter().chain(self.repeatable).collect();
        let files = all
            .iter()
            .map(|m| Script::up(m, backend).map(|s| s.file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(schedule(&all, footprints(&files, backend)?, &[]))
    }

    /// The schedule of `chosen`, with the foreign keys of the live schema.
    pub(super) async fn schedule_of(
        &self,
        db: &mut Database,
        chosen: &[&'m Migration],
        scripts: &[(Script<'m>, u32)],
    ) -> Result<Schedule, Error> {
        let files: Vec<&MigrationFile> = scripts.iter().map(|(s, _)| s.file).collect();
        let mut prints = footprints(&files, db.backend())?;
        // The runs' workers write the tracking table: a file that touches it runs alone.
        let table = self.tracking.table().rsplit('.').next().unwrap_or_default();
        let tracking = Object::plain(&table.to_lowercase());
        for print in &mut prints {
            if print.barrier.is_none()
                && print
                    .writes
                    .iter()
                    .chain(&print.reads)
                    .any(|o| o.may_be(&tracking))
            {
                print.barrier = Some(Reason {
                    line: 1,
                    what: format!("names the tracking table {tracking}"),
                });
            }
        }
        // A trigger in the database may write other tables when a file writes its table.
        for (table, trigger) in triggers(db).await? {
            for print in &mut prints {
                if print.barrier.is_some() {
                    continue;
                }
                if let Some(written) = print.writes.iter().find(|o| o.may_be(&table)) {
                    print.barrier = Some(Reason {
                        line: 1,
                        what: format!(
                            "writes {written}, which has trigger {trigger} in the database"
                        ),
                    });
                }
            }
        }
        let live = introspect(db, &IntrospectOptions::default()).await?;
        let keys: Vec<(Object, Object)> = live
            .tables()
            .flat_map(|t| {
                t.foreign_keys.iter().map(|fk| {
                    (
                        Object::plain(&t.name.to_lowercase()),
                        Object::plain(&fk.ref_table.to_lowercase()),
                    )
                })
            })
            .collect();
        Ok(schedule(chosen, prints, &keys))
    }

    /// Applies `chosen` as `schedule` allows, up to [`Migrator::jobs`] at a time. The run's
    /// lock is held on `db` throughout. After the first failure no migration starts; those
    /// running finish; the error is the first failure's. A cancel of `db` stops the workers'
    /// statements too (see [`Database::worker`]) and starts no further migration.
    pub(super) async fn run_parallel(
        &self,
        db: &mut Database,
        chosen: &[&'m Migration],
        scripts: Vec<(Script<'m>, u32)>,
        schedule: &Schedule,
        on_event: &mut (dyn FnMut(Event<'_>) + Send),
    ) -> Result<RunReport, RunError> {
        let jobs = self.jobs;
        let total = chosen.len();
        let began = Instant::now();
        let since = |at: Instant| at.duration_since(began).as_millis() as u64;
        let mut state = vec![State::Waiting; total];
        let mut applied: Vec<Option<Applied>> = vec![None; total];
        let pool = Workers::new(jobs);
        let workers = &pool;
        let mut failure: Option<Error> = None;
        // Finished events go out in version order: up to here they have.
        let mut reported = 0usize;
        on_event(Event::Scheduled { jobs, total });
        let events = Mutex::new(on_event);
        let mut running: FuturesUnordered<Pin<Box<dyn Future<Output = Finished> + Send + '_>>> =
            FuturesUnordered::new();
        loop {
            // A migration starts when one it does not wait for is ready and a connection is
            // free: index builds of a running `.toml` migration may hold some.
            while failure.is_none() {
                let Some(next) = (0..total).find(|&i| {
                    state[i] == State::Waiting
                        && schedule.migrations[i]
                            .after
                            .iter()
                            .all(|&j| state[j] == State::Committed)
                }) else {
                    break;
                };
                if db.cancel_requested() {
                    failure = Some(Error::Cancelled {
                        version: chosen[next].version.clone(),
                    });
                    break;
                }
                if let Err(error) = lock::renew_lock(db, &self.tracking).await {
                    failure = Some(error);
                    break;
                }
                let mut conn = match workers.take(db).await {
                    None => break,
                    Some(Ok(conn)) => conn,
                    Some(Err(error)) => {
                        failure = Some(error);
                        break;
                    }
                };
                state[next] = State::Running;
                let (script, statements) = scripts[next];
                let migration = chosen[next];
                if let Ok(mut on_event) = events.lock() {
                    on_event(Event::Started {
                        migration,
                        file: script.file,
                        index: next + 1,
                        total,
                        // Files run side by side: no bar over one file's statements.
                        statements: 0,
                    });
                }
                let events = &events;
                running.push(Box::pin(async move {
                    let started = Instant::now();
                    // Each commit waits for the disk: no later commit of the run is sure to.
                    let script = Script {
                        durable: true,
                        ..script
                    };
                    let mut forward = |event: Event<'_>| {
                        if let (Event::Echo(_), Ok(mut on_event)) = (&event, events.lock()) {
                            on_event(event);
                        }
                    };
                    let result = self
                        .apply_up(
                            &mut conn,
                            migration,
                            script,
                            statements,
                            workers,
                            &mut forward,
                        )
                        .await
                        .map(|applied| Applied {
                            started_ms: Some(since(started)),
                            finished_ms: Some(since(Instant::now())),
                            ..applied
                        });
                    (next, conn, result)
                }));
            }
            let Some((index, conn, result)) = running.next().await else {
                break;
            };
            workers.put(conn);
            if let Ok(mut on_event) = events.lock() {
                on_event(Event::Ended {
                    migration: chosen[index],
                    committed: result.is_ok(),
                });
            }
            match result {
                Ok(done) => {
                    state[index] = State::Committed;
                    applied[index] = Some(done);
                }
                Err(error) => {
                    state[index] = State::Failed;
                    tracing::debug!(version = %chosen[index].version, "migration failed");
                    failure.get_or_insert(error);
                }
            }
            while reported < total && state[reported] == State::Committed {
                if let (Some(done), Ok(mut on_event)) = (&applied[reported], events.lock()) {
                    on_event(Event::Finished(done));
                }
                reported += 1;
            }
        }
        tracing::debug!(connections = workers.opened(), "parallel run done");
        drop(running);
        pool.close().await;
        db.forget_workers();
        // What committed after a failure is reported too, in version order.
        let committed: Vec<Applied> = applied.into_iter().flatten().collect();
        if let Ok(mut on_event) = events.lock() {
            for done in committed.iter().skip(reported) {
                on_event(Event::Finished(done));
            }
        }
        match failure {
            Some(error) => Err(RunError {
                applied: committed,
                error,
            }),
            None => Ok(RunReport {
                applied: committed,
                dry_run: false,
            }),
        }
    }
}

/// The tables of the database that have triggers, with a trigger of each, in one query.
async fn triggers(db: &mut Database) -> Result<Vec<(Object, String)>, Error> {
    let Some(sql) = db.dialect().triggers_sql() else {
        return Ok(Vec::new());
    };
    let rows = db
        .query_text_rows(sql, &[])
        .await
        .map_err(Error::query("reading the triggers of the database"))?;
    // The catalog holds names as the files' names fold (see `dependencies`).
    let keep_case = db.dialect().quoted_names_keep_case();
    let fold = |name: String| if keep_case { name } else { name.to_lowercase() };
    let mut found: Vec<(Object, String)> = Vec::new();
    for row in rows {
        let mut columns = row.into_iter().map(Option::unwrap_or_default);
        let (schema, table, trigger) = (columns.next(), columns.next(), columns.next());
        let table = Object {
            schema: schema.map(fold),
            name: fold(table.unwrap_or_default()),
        };
        if found.last().is_none_or(|(last, _)| *last != table) {
            found.push((table, trigger.unwrap_or_default()));
        }
    }
    Ok(found)
}
