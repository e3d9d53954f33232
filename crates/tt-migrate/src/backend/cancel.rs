//! Cancelling the statement a connection is running, from a second connection (Ctrl-C).
//!
//! PostgreSQL: every connection of this process carries one application name of its own
//! ([`application_name`]), so the cancel finds the server sessions running this process's
//! statements by that name, also through a transaction pooler that moves them between server
//! connections, and calls `pg_cancel_backend` on them. MySQL: `KILL QUERY` on the connection
//! id read when the canceller was made, and on each connection working for it (a parallel
//! run's workers). SQLite runs in this process: there is nothing to cancel from outside;
//! closing the connection rolls back the open transaction. A cancel also marks the connection
//! stopped, so that a run on it starts no further statement or migration: a statement that
//! ends without an error when cancelled (MySQL's `SLEEP`) does not let it go on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tt_schema::Backend;

use crate::backend::connect::{ConnectOptions, application_name, redact_url};
use crate::backend::database::{Database, Interrupt};
use crate::backend::lease::lease_table;
use crate::backend::value::{Value, int_at, unexpected};
use crate::error::Error;

/// What it takes to cancel the statement a [`Database`] is running, from another task: made
/// with [`Database::canceller`] before the work starts, used while it runs.
#[derive(Clone)]
pub struct Canceller {
    /// The connection URL, password included: the cancel opens a connection of its own.
    url: String,
    options: ConnectOptions,
    session: Session,
    /// The connection's owner name in a lease lock's row.
    lock_owner: String,
    interrupt: Arc<Interrupt>,
}

#[derive(Debug, Clone)]
enum Session {
    Postgres,
    Mysql { connection_id: u64 },
    Sqlite,
}

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canceller")
            .field("url", &redact_url(&self.url))
            .field("session", &self.session)
            .finish()
    }
}

impl Database {
    /// A [`Canceller`] for this connection. Costs one round trip on MySQL (the connection id).
    ///
    /// # Errors
    /// When the connection id cannot be read.
    pub async fn canceller(&mut self) -> Result<Canceller, Error> {
        let session = match self.backend() {
            Backend::Postgres => Session::Postgres,
            Backend::Sqlite => Session::Sqlite,
            Backend::Mysql => Session::Mysql {
                connection_id: self.connection_id().await?,
            },
        };
        Ok(Canceller {
            url: self.connect_url().to_string(),
            options: self.options().clone(),
            session,
            lock_owner: self.lock_owner().to_string(),
            interrupt: Arc::clone(&self.interrupt),
        })
    }

    /// MySQL's id of this connection, which `KILL QUERY` names.
    async fn connection_id(&mut self) -> Result<u64, Error> {
        // SIGNED: the id is unsigned, which the typed reader does not read.
        let context = "reading the connection id";
        let id = self
            .query_rows("SELECT CAST(CONNECTION_ID() AS SIGNED)", &[])
            .await
            .and_then(|rows| int_at(rows.first().map_or(&[], Vec::as_slice), 0))
            .map_err(Error::query(context))?;
        id.try_into().map_err(|_| {
            Error::query(context)(unexpected(0, "a connection id", Some(&Value::Int(id))))
        })
    }

    /// A new connection working for this one (a parallel run's worker): a cancel of this
    /// connection stops its statement too, and marks it stopped.
    ///
    /// # Errors
    /// When the connection cannot be opened, or its id read.
    pub(crate) async fn worker(&self) -> Result<Database, Error> {
        let mut worker = self.sibling().await?;
        worker.interrupt = Arc::clone(&self.interrupt);
        if self.backend() == Backend::Mysql {
            let id = worker.connection_id().await?;
            if let Ok(mut workers) = self.interrupt.workers.lock() {
                workers.push(id);
            }
        }
        Ok(worker)
    }

    /// Forgets the connections that worked for this one (they are closed).
    pub(crate) fn forget_workers(&self) {
        if let Ok(mut workers) = self.interrupt.workers.lock() {
            workers.clear();
        }
    }

    /// Whether a cancel of this connection (or of the one it works for) was asked for: a run
    /// then starts no further statement or migration ([`Error::Cancelled`]).
    pub(crate) fn cancel_requested(&self) -> bool {
        self.interrupt.requested.load(Ordering::SeqCst)
    }
}

impl Canceller {
    /// Deletes the lease row of the tracking table `tracking` (`lock = "table"`) this connection holds, if it
    /// holds one, from a connection of its own: after an interrupt that closed the
    /// connection without releasing the lock (SQLite cannot cancel a statement from outside).
    /// A row another runner took over is left alone; without the lease table nothing happens.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn release_lease(&self, tracking: &str) -> Result<(), Error> {
        let mut db = Database::connect(&self.url, self.options.clone()).await?;
        let sql = format!(
            "DELETE FROM {} WHERE name = ? AND owner = ?",
            db.backend().quote_ident(&lease_table(tracking))
        );
        let params = [
            Value::Text(tracking.to_string()),
            Value::Text(self.lock_owner.clone()),
        ];
        // A missing lease table: no lease was ever taken.
        let _ = db.exec(&sql, &params).await;
        let _ = db.close().await;
        Ok(())
    }

    /// Whether the server can stop a statement on request: false on SQLite, where only
    /// closing the connection ends the work (and rolls back what was not committed).
    pub fn can_cancel(&self) -> bool {
        !matches!(self.session, Session::Sqlite)
    }

    /// Asks the server to stop the statement the connection is running now, and those of the
    /// connections working for it; returns whether one was running. The statement then fails
    /// as if it had failed on its own (the caller rolls back or marks the migration dirty and
    /// releases the lock as for any failure). From now on a run on the connection starts no
    /// further statement or migration: it fails with [`Error::Cancelled`].
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the cancel.
    pub async fn cancel(&self) -> Result<bool, Error> {
        self.interrupt.requested.store(true, Ordering::SeqCst);
        self.cancel_statements().await
    }

    /// Stops the statements the connection and those working for it are running now, without
    /// marking the connection stopped (the lease heartbeat: the run stops at its next renewal).
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the cancel.
    pub(crate) async fn cancel_statements(&self) -> Result<bool, Error> {
        match self.session {
            Session::Sqlite => Ok(false),
            Session::Postgres => {
                let mut db = Database::connect(&self.url, self.options.clone()).await?;
                // Not this session, which carries the same name: filtered in a subquery that
                // OFFSET 0 keeps apart, as the planner may otherwise call pg_cancel_backend
                // before it compares the pid.
                let rows = db
                    .fetch(
                        "SELECT count(*) FROM (SELECT pid FROM pg_stat_activity \
                         WHERE application_name = ? AND state = 'active' \
                         AND pid <> pg_backend_pid() OFFSET 0) AS ours \
                         WHERE pg_cancel_backend(ours.pid)",
                        &[Value::Text(application_name().to_string())],
                    )
                    .await?;
                let _ = db.close().await;
                Ok(matches!(rows.first().and_then(|r| r.first()), Some(Value::Int(n)) if *n > 0))
            }
            Session::Mysql { connection_id } => {
                let workers = self
                    .interrupt
                    .workers
                    .lock()
                    .map(|w| w.clone())
                    .unwrap_or_default();
                let mut db = Database::connect(&self.url, self.options.clone()).await?;
                let mut any = false;
                let mut failed = None;
                for id in std::iter::once(connection_id).chain(workers) {
                    match kill_query(&mut db, id).await {
                        Ok(killed) => any |= killed,
                        Err(error) => failed = Some(error),
                    }
                }
                let _ = db.close().await;
                match failed {
                    Some(error) => Err(error),
                    None => Ok(any),
                }
            }
        }
    }
}

/// `KILL QUERY` on MySQL connection `id`; false when the connection is gone already.
async fn kill_query(db: &mut Database, id: u64) -> Result<bool, Error> {
    match db.execute(&format!("KILL QUERY {id}")).await {
        Ok(()) => Ok(true),
        // 1094: unknown thread id.
        Err(error)
            if error
                .as_database_error()
                .and_then(|e| e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
                .is_some_and(|e| e.number() == 1094) =>
        {
            Ok(false)
        }
        Err(error) => Err(Error::query("cancelling the running statement")(error)),
    }
}
