//! The migration lock: one runner per database at a time, for the whole run.
//!
//! The lock is the one the backend's server offers (`Dialect::session_lock`): a session
//! advisory lock keyed by the tracking table's name on PostgreSQL, polled until the lock
//! timeout (a blocked waiter would hold a snapshot; see docs/locking.md); `GET_LOCK` on a name derived from the database and tracking table on
//! MySQL; the database write lock itself (`BEGIN IMMEDIATE`) on SQLite, held until the run
//! ends, so each migration runs inside a savepoint of that transaction.

use crate::backend::database::Database;
use crate::engine::tracking::Tracking;
use crate::error::Error;

/// Takes the migration lock, waiting up to the connection's lock timeout. Drop, reset and
/// migrate hold it for their whole run; other programs may too.
///
/// # Errors
/// [`Error::LockTimeout`] naming the holder where the backend tells, or a query error.
pub async fn acquire_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    let timeout = db.options().lock_timeout;
    let lock = db.dialect().session_lock();
    lock.acquire(db, tracking.table(), timeout).await
}

/// Releases the migration lock. On SQLite this commits the transaction that holds it.
///
/// # Errors
/// When the server rejects the release (or the SQLite commit fails).
pub async fn release_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    let lock = db.dialect().session_lock();
    lock.release(db, tracking.table()).await
}
