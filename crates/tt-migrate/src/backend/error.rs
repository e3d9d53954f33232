//! Errors of connecting, locking and transactions, and the driver's own error: leaf types that
//! import nothing above them, so the crate's [`Error`](crate::Error) can hold them.

use std::fmt;
use std::time::Duration;

use tt_schema::Backend;

use crate::backend::connect::problem::{TlsProblem, UrlProblem};

/// Why tt could not connect to a database, or to the schema asked for in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL names no supported backend.
    #[error("unsupported database url `{url}` (expected sqlite://, postgres:// or mysql://)")]
    UnsupportedUrl {
        /// The URL, password redacted.
        url: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("could not connect to {url}")]
    Failed {
        /// The URL, password redacted.
        url: String,
        /// What the driver said.
        source: DriverError,
    },
    /// The database URL is refused before connecting.
    #[error("database url `{url}`: {problem}")]
    BadUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong with it.
        problem: Box<UrlProblem>,
    },
    /// The TLS handshake was refused, for a reason the URL's options explain.
    #[error("could not connect to {url}: {problem}")]
    Tls {
        /// The URL, password redacted.
        url: String,
        /// Why.
        problem: Box<TlsProblem>,
    },
    /// The server did not complete the connection and its handshake in time.
    #[error(
        "could not connect to {url}: no answer within {}s (check the host and port; raise \
         --connect-timeout to wait longer)",
        timeout.as_secs_f32()
    )]
    Timeout {
        /// The URL, password redacted.
        url: String,
        /// How long tt waited.
        timeout: Duration,
    },
    /// The lock timeout is longer than the backends accept.
    #[error("the lock timeout must be at most {} seconds", max.as_secs())]
    LockTimeoutTooLong {
        /// The longest accepted.
        max: Duration,
    },
    /// The PostgreSQL schema to introspect does not exist.
    #[error(
        "postgresql schema `{schema}` does not exist (check the schema option or the search_path)"
    )]
    UnknownSchema {
        /// The schema asked for, or `current_schema()` when none was given.
        schema: String,
    },
    /// A schema was asked for on a backend that has none (SQLite).
    #[error(
        "{backend} has no schemas or databases to choose from (a schema needs PostgreSQL or MySQL)"
    )]
    NoSchemas {
        /// The backend of the URL.
        backend: Backend,
    },
}

/// Why the migration lock could not be taken or was lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another runner holds the migration lock.
    #[error(
        "the migration lock is held by another session{}; waited {}s (raise --lock-timeout to wait longer)",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
        waited.as_secs_f32()
    )]
    Timeout {
        /// Who holds it, where the backend tells.
        holder: Option<String>,
        /// How long tt waited.
        waited: Duration,
    },
    /// The lease lock was lost while this run held it: its heartbeat got no renewal through
    /// for most of the lease, or another runner took the expired lease over.
    #[error(
        "the migration lock was lost: this run's lease in table {table} was not renewed in time (the server or pooler did not answer its heartbeat) or was taken over by another runner"
    )]
    Lost {
        /// The lease table.
        table: String,
    },
}

/// A transaction of [`Database`](crate::Database) used out of turn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// [`Database::begin`](crate::Database::begin) was called while a transaction is open.
    #[error(
        "a transaction is already open on this connection: commit or roll it back before beginning another"
    )]
    AlreadyOpen,
    /// [`Database::commit`](crate::Database::commit) or `rollback` was called with no
    /// transaction open.
    #[error("no transaction is open on this connection to {action} (call begin first)")]
    NoneOpen {
        /// What was asked: `commit` or `roll back`.
        action: &'static str,
    },
}

/// An error of the database driver, shown without the PostgreSQL driver's suffix that names
/// a line of the server's C source (`at line 1392`): the file's location is the one that
/// counts.
#[derive(Debug)]
pub struct DriverError(pub sqlx::Error);

impl std::ops::Deref for DriverError {
    type Target = sqlx::Error;

    /// The driver's error itself, for what it tells beyond its text (`as_database_error`).
    fn deref(&self) -> &sqlx::Error {
        &self.0
    }
}

impl From<sqlx::Error> for DriverError {
    fn from(error: sqlx::Error) -> Self {
        DriverError(error)
    }
}

impl DriverError {
    /// The PostgreSQL error this is, if it is one.
    fn postgres(&self) -> Option<&sqlx::postgres::PgDatabaseError> {
        self.0
            .as_database_error()?
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
    }
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&driver_text(&self.0))
    }
}

/// A driver error as [`DriverError`] shows it, for logs that only borrow it.
pub(crate) fn driver_text(error: &sqlx::Error) -> String {
    match error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        // sqlx's own wording, with the server's message alone.
        Some(pg) => format!("error returned from database: {}", pg.message()),
        None => error.to_string(),
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The PostgreSQL error's own text carries the suffix, and the message says it all.
        match self.postgres() {
            Some(_) => None,
            None => self.0.source(),
        }
    }
}
