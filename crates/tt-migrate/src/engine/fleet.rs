//! Many targets in one run (`--schemas`, `--targets`): every target under its own lock, at
//! most `jobs` at a time, a failure confined to its target.
//!
//! A PostgreSQL connection reached directly serves the schemas of its server one after the
//! other (see [`Database::reuse_in`]): a target that finished cleanly hands its connection to
//! the next schema, which saves a handshake and a server session's start per target.
//!
//! The targets run concurrently inside the caller's task (no task is spawned): each target's
//! work is a future polled with the others, and waits on its server, not on the processor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use crate::backend::connect::ConnectOptions;
use crate::backend::database::Database;
use crate::backend::target::{Target, reuse};
use crate::engine::run::{Event, Migrator, RunError, RunReport};
use crate::error::Error;

/// A list of targets and how to run them.
#[derive(Debug, Clone)]
pub struct Fleet<'t> {
    targets: &'t [Target],
    options: ConnectOptions,
    jobs: usize,
    fail_fast: bool,
    create_schemas: bool,
    /// By URL, whether a transaction pooler is in between, once a target's connection found
    /// out: the schemas of one server share the answer instead of a probe connection each.
    poolers: Arc<Mutex<HashMap<String, bool>>>,
    /// By URL, connections whose target is done, for the next schema of the same server.
    idle: Arc<Mutex<HashMap<String, Vec<Database>>>>,
}

/// What happens to one target of a fleet run, for progress.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// The target's turn came: it is being connected.
    Started,
    /// Something of the target's migration run.
    Migration(Event<'a>),
    /// The target is done, `ok` or not.
    Finished {
        /// Whether its work succeeded.
        ok: bool,
    },
}

/// How one target's migration run ended ([`Migrator::run_fleet`]).
#[derive(Debug)]
pub struct TargetRun {
    /// What the run did; `None` when it never started (`fail_fast` after another failed).
    pub result: Option<Result<RunReport, RunError>>,
    /// How long the target took, connecting included.
    pub elapsed: Duration,
}

impl<'t> Fleet<'t> {
    /// `targets`, each connected with `options`; one at a time until [`Self::jobs`].
    pub fn new(targets: &'t [Target], options: ConnectOptions) -> Self {
        Self {
            targets,
            options,
            jobs: 1,
            fail_fast: false,
            create_schemas: false,
            poolers: Arc::default(),
            idle: Arc::default(),
        }
    }

    /// Runs at most `jobs` targets at a time (at least one).
    #[must_use]
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Starts no further target once one failed (those running finish).
    #[must_use]
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// Creates a target's missing schema (PostgreSQL) or database (MySQL) when connecting.
    #[must_use]
    pub fn create_schemas(mut self, create: bool) -> Self {
        self.create_schemas = create;
        self
    }

    /// The targets.
    pub fn targets(&self) -> &'t [Target] {
        self.targets
    }

    /// Connects to `target` with this fleet's options, or hands it a connection another schema
    /// of its server is done with ([`Self::done_with`]). Hand the connection back with
    /// [`Self::done_with`].
    ///
    /// # Errors
    /// As [`Target::connect`].
    pub async fn connect(&self, target: &Target) -> Result<Database, Error> {
        // Only a target with a schema of its own can take over another's connection.
        if let Some(schema) = &target.schema
            && let Some(db) = self.waiting_connection(&target.url)
            && let Some(db) = reuse(db, schema, self.create_schemas).await?
        {
            return Ok(db);
        }
        let known = |poolers: &HashMap<String, bool>| poolers.get(&target.url).copied();
        let pooled = self.poolers.lock().ok().and_then(|poolers| known(&poolers));
        let db = target
            .connect_knowing_pooler(self.options.clone(), self.create_schemas, pooled)
            .await?;
        if let (Some(found), Ok(mut poolers)) = (db.known_pooler(), self.poolers.lock()) {
            poolers.insert(target.url.clone(), found);
        }
        Ok(db)
    }

    /// Takes back `db`, connected by [`Self::connect`], once its target's work is done: when
    /// that work ended `clean`ly and the connection may serve another schema, it waits for the
    /// next target of its server (at most `jobs` wait); otherwise it is closed. [`Self::each`]
    /// closes those left when it returns.
    pub async fn done_with(&self, db: Database, clean: bool) {
        let kept = clean && db.reusable();
        let db = match self.idle.lock() {
            Ok(mut idle) if kept => {
                let waiting = idle.entry(db.connect_url().to_string()).or_default();
                if waiting.len() < self.jobs {
                    waiting.push(db);
                    return;
                }
                db
            }
            _ => db,
        };
        let _ = db.close().await;
    }

    /// A connection to `url` that waits for a next target, if any.
    fn waiting_connection(&self, url: &str) -> Option<Database> {
        self.idle.lock().ok()?.get_mut(url)?.pop()
    }

    /// Closes the connections waiting for a next target.
    async fn close_idle(&self) {
        let idle: Vec<Database> = match self.idle.lock() {
            Ok(mut idle) => idle.drain().flat_map(|(_, dbs)| dbs).collect(),
            Err(_) => Vec::new(),
        };
        for db in idle {
            let _ = db.close().await;
        }
    }

    /// Runs `work` for every target, at most `jobs` at a time, and returns what each returned,
    /// in the targets' order; `work` returns its value and whether the target failed. `None`
    /// for a target never started (`fail_fast` after a failure).
    pub async fn each<T>(
        &self,
        work: impl AsyncFn(usize, &'t Target) -> (T, bool),
    ) -> Vec<Option<T>> {
        let work = &work;
        let mut results: Vec<Option<T>> = self.targets.iter().map(|_| None).collect();
        let mut running = FuturesUnordered::new();
        let mut next = 0;
        let mut stop = false;
        loop {
            while !stop && next < self.targets.len() && running.len() < self.jobs {
                let index = next;
                let target = &self.targets[index];
                running.push(async move { (index, work(index, target).await) });
                next += 1;
            }
            let Some((index, (value, failed))) = running.next().await else {
                break;
            };
            results[index] = Some(value);
            stop |= failed && self.fail_fast;
        }
        self.close_idle().await;
        results
    }
}

impl Migrator<'_> {
    /// Applies the pending migrations to every target of `fleet`, each under its own lock;
    /// `on_event` hears each target's progress by its index. A target's failure stops only
    /// that target (and, with `fail_fast`, the start of others).
    pub async fn run_fleet(
        &self,
        fleet: &Fleet<'_>,
        on_event: &(dyn Fn(usize, FleetEvent<'_>) + Sync),
    ) -> Vec<TargetRun> {
        let runs = fleet
            .each(async |index, target| {
                let started = Instant::now();
                on_event(index, FleetEvent::Started);
                let result = match fleet.connect(target).await {
                    Ok(mut db) => {
                        let result = self
                            .run(&mut db, &mut |event| {
                                on_event(index, FleetEvent::Migration(event));
                            })
                            .await;
                        fleet.done_with(db, result.is_ok()).await;
                        result
                    }
                    Err(error) => Err(RunError {
                        applied: Vec::new(),
                        error,
                    }),
                };
                let ok = result.is_ok();
                on_event(index, FleetEvent::Finished { ok });
                let run = TargetRun {
                    result: Some(result),
                    elapsed: started.elapsed(),
                };
                (run, !ok)
            })
            .await;
        runs.into_iter()
            .map(|run| {
                run.unwrap_or(TargetRun {
                    result: None,
                    elapsed: Duration::ZERO,
                })
            })
            .collect()
    }
}
