//! Cancelling the statement a connection is running, from a second connection (Ctrl-C).
//!
//! PostgreSQL: every connection of this process carries one application name of its own
//! ([`application_name`]), so the cancel finds the server sessions running this process's
//! statements by that name, also through a transaction pooler that moves them between server
//! connections, and calls `pg_cancel_backend` on them. MySQL: `KILL QUERY` on the connection
//! id read when the canceller was made. SQLite runs in this process: there is nothing to
//! cancel from outside; closing the connection rolls back the open transaction.

use tt_schema::Backend;

use crate::backend::connect::{ConnectOptions, application_name, redact_url};
use crate::backend::database::Database;
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
            Backend::Mysql => {
                // SIGNED: the id is unsigned, which the typed reader does not read.
                let context = "reading the connection id";
                let id = self
                    .query_rows("SELECT CAST(CONNECTION_ID() AS SIGNED)", &[])
                    .await
                    .and_then(|rows| int_at(rows.first().map_or(&[], Vec::as_slice), 0))
                    .map_err(Error::query(context))?;
                let connection_id = id.try_into().map_err(|_| {
                    Error::query(context)(unexpected(0, "a connection id", Some(&Value::Int(id))))
                })?;
                Session::Mysql { connection_id }
            }
        };
        Ok(Canceller {
            url: self.connect_url().to_string(),
            options: self.options().clone(),
            session,
            lock_owner: self.lock_owner().to_string(),
        })
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

    /// Asks the server to stop the statement the connection is running now; returns whether
    /// one was running. The statement then fails as if it had failed on its own (the caller
    /// rolls back or marks the migration dirty and releases the lock as for any failure).
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the cancel.
    pub async fn cancel(&self) -> Result<bool, Error> {
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
                let mut db = Database::connect(&self.url, self.options.clone()).await?;
                let killed = db.execute(&format!("KILL QUERY {connection_id}")).await;
                let _ = db.close().await;
                match killed {
                    Ok(()) => Ok(true),
                    // 1094: unknown thread id, the connection is gone already.
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
        }
    }
}
