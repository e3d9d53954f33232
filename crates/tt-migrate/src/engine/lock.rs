//! The migration lock: one runner per database at a time, for the whole run.
//!
//! By default the lock is the one the backend's server offers (`Dialect::session_lock`): a session
//! advisory lock keyed by the tracking table's name on PostgreSQL, polled until the lock timeout (a
//! blocked waiter would hold a snapshot); `GET_LOCK` on a name derived from the database and
//! tracking table on MySQL; the database write lock itself (`BEGIN IMMEDIATE`) on SQLite, so each
//! migration runs inside a savepoint of that transaction; a run commits in short groups
//! ([`commit_progress`]) and a lock file keeps other runners out between a commit and the next
//! `BEGIN IMMEDIATE`. With `lock = "table"`, or behind a transaction pooler, it is a lease row in a
//! table of tt's instead (on SQLite as well as the write lock). A runner that took one kind checks
//! that nobody holds the other, so runners with different settings (one through a pooler, one
//! direct) still exclude each other. docs/locking.md tells why.

use crate::backend::connect::LockMode;
use crate::backend::database::Database;
use crate::backend::error::LockError;
use crate::backend::lease::{LeaseLock, is_leased, start_heartbeat};
use crate::backend::{Backoff, Lock};
use crate::engine::tracking::Tracking;
use crate::error::Error;

/// Takes the migration lock, waiting up to the connection's lock timeout. Drop, reset and
/// migrate hold it for their whole run; other programs may too.
///
/// # Errors
/// [`LockError::Timeout`] naming the holder where the backend tells, or a query error.
pub async fn acquire_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    // Which lock to take, and how the run's statements go, depend on it.
    db.detect_pooler().await?;
    let timeout = db.options().lock_timeout;
    let key = tracking.table();
    let session = db.dialect().session_lock();
    let one_writer = db.dialect().one_writer();
    let mut backoff = Backoff::new(timeout);
    loop {
        let left = timeout.saturating_sub(backoff.waited());
        let other = match mode(db) {
            // SQLite's write lock excludes everyone already.
            LockMode::Advisory if one_writer => return session.acquire(db, key, left).await,
            LockMode::Advisory => {
                session.acquire(db, key, left).await?;
                if !is_leased(db, key).await? {
                    return Ok(());
                }
                session.release(db, key).await?;
                "the table lock"
            }
            LockMode::Table => {
                LeaseLock.acquire(db, key, left).await?;
                if one_writer {
                    return take_write_lock(db, key, left).await;
                }
                if !session.is_held(db, key).await? {
                    let started = start_heartbeat(db, key).await;
                    if started.is_err() {
                        // The first error says more than a failed release would.
                        let _ = LeaseLock.release(db, key).await;
                    }
                    return started;
                }
                LeaseLock.release(db, key).await?;
                "the advisory lock"
            }
        };
        if !backoff.wait().await {
            return Err(Error::Lock(LockError::Timeout {
                holder: Some(format!(
                    "a runner holding {other} (`lock` is set differently)"
                )),
                waited: backoff.waited(),
            }));
        }
    }
}

/// On SQLite, the write transaction the run lives in, after the lease row.
async fn take_write_lock(
    db: &mut Database,
    key: &str,
    timeout: std::time::Duration,
) -> Result<(), Error> {
    let taken = db.dialect().session_lock().acquire(db, key, timeout).await;
    if taken.is_err() {
        // Failing to free the row leaves it to expire; the first error says more.
        let _ = LeaseLock.release(db, key).await;
    }
    taken
}

/// Renews the migration lock where it expires unless renewed (the lease lock); runs call
/// this between migrations, and so should programs that hold the lock themselves.
///
/// # Errors
/// [`LockError::Lost`] when another runner took the lock over meanwhile.
pub async fn renew_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    match mode(db) {
        LockMode::Advisory => Ok(()),
        LockMode::Table => LeaseLock.renew(db, tracking.table()).await,
    }
}

/// Commits what the run did so far, keeping the lock (SQLite, where the lock is the run's
/// transaction: the commit ends it, a lock file keeps other runners out until [`resume`] takes
/// the write lock again). Elsewhere each migration committed on its own: nothing to do.
///
/// # Errors
/// When the commit fails: then nothing since the last one is committed.
pub(crate) async fn commit_progress(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    if !db.dialect().one_writer() {
        return Ok(());
    }
    let session = db.dialect().session_lock();
    session.commit_keeping(db, tracking.table()).await
}

/// After [`commit_progress`], takes the write transaction again (SQLite; elsewhere nothing).
///
/// # Errors
/// When the write lock cannot be taken within the lock timeout.
pub(crate) async fn resume(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    if !db.dialect().one_writer() {
        return Ok(());
    }
    let timeout = db.options().lock_timeout;
    let session = db.dialect().session_lock();
    session.acquire(db, tracking.table(), timeout).await
}

/// Releases the migration lock. On SQLite this commits the transaction that holds it.
///
/// # Errors
/// When the server rejects the release (or the SQLite commit fails).
pub async fn release_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    let key = tracking.table();
    if mode(db) == LockMode::Advisory {
        return db.dialect().session_lock().release(db, key).await;
    }
    let committed = if db.dialect().one_writer() {
        db.dialect().session_lock().release(db, key).await
    } else {
        Ok(())
    };
    let released = LeaseLock.release(db, key).await;
    committed.and(released)
}

/// After `tt recreate` emptied the database under the lock: the lease table went with it, so
/// the lease row is written again (and its heartbeat goes on). A session lock survives.
///
/// # Errors
/// When the lease row cannot be written.
pub(crate) async fn retake_after_recreate(
    db: &mut Database,
    tracking: &Tracking,
) -> Result<(), Error> {
    if mode(db) == LockMode::Advisory || db.dialect().one_writer() {
        return Ok(());
    }
    let timeout = db.options().lock_timeout;
    LeaseLock.acquire(db, tracking.table(), timeout).await?;
    start_heartbeat(db, tracking.table()).await
}

/// Before `tt recreate` empties the database under the lock: the heartbeat stops, as the
/// lease table is about to go ([`retake_after_recreate`] starts it again).
pub(crate) fn pause_heartbeat(db: &mut Database) {
    db.set_heartbeat(None);
}

/// Gives up the migration lock after a failure under it: on SQLite, where the lock is the
/// write transaction, what that transaction did is rolled back (a release would commit it);
/// elsewhere the lock is released as usual.
///
/// # Errors
/// When the rollback or the release fails.
pub(crate) async fn abandon_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    if !db.dialect().one_writer() {
        return release_lock(db, tracking).await;
    }
    let rolled_back = db
        .execute("ROLLBACK")
        .await
        .map_err(Error::query("rolling back after the failure"));
    let released = if mode(db) == LockMode::Table {
        LeaseLock.release(db, tracking.table()).await
    } else {
        Ok(())
    };
    rolled_back.and(released)
}

/// The lock a connection takes: as configured, else the lease lock behind a transaction
/// pooler (a session lock there lands on whichever server session the pooler picks, and stays
/// there), else the server's own.
fn mode(db: &Database) -> LockMode {
    match db.options().lock {
        Some(mode) => mode,
        None if db.pooled() => LockMode::Table,
        None => LockMode::Advisory,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::connect::ConnectOptions;

    async fn connect(url: &str) -> Database {
        let options = ConnectOptions {
            lock_timeout: Duration::from_secs(2),
            ..ConnectOptions::default()
        };
        Database::connect(url, options).await.unwrap()
    }

    #[tokio::test]
    async fn between_two_commits_of_an_sqlite_run_nobody_else_takes_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.db");
        let url = format!("sqlite://{}", file.display());
        let tracking = Tracking::default();
        let mut run = connect(&url).await;
        let mut other = connect(&url).await;
        acquire_lock(&mut run, &tracking).await.unwrap();
        run.execute("CREATE TABLE a (id INTEGER)").await.unwrap();
        commit_progress(&mut run, &tracking).await.unwrap();
        // Committed: another connection sees the table, but may not write (it waits 2 s).
        let rows = other
            .fetch_text("SELECT name FROM sqlite_master WHERE name = 'a'")
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let refused = acquire_lock(&mut other, &tracking).await.unwrap_err();
        let message = refused.to_string();
        assert!(
            matches!(&refused, Error::Lock(LockError::Timeout { holder: Some(h), .. })
                if h.contains("between two of its commits") && h.contains("app.db-tt-lock")),
            "{message}"
        );
        // The run takes its write transaction back and goes on; released, the lock is free
        // and its file gone.
        resume(&mut run, &tracking).await.unwrap();
        run.execute("CREATE TABLE b (id INTEGER)").await.unwrap();
        release_lock(&mut run, &tracking).await.unwrap();
        assert!(!file.with_file_name("app.db-tt-lock").exists());
        acquire_lock(&mut other, &tracking).await.unwrap();
        release_lock(&mut other, &tracking).await.unwrap();
    }

    #[tokio::test]
    async fn a_run_that_died_between_commits_leaves_no_lock_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.db");
        let url = format!("sqlite://{}", file.display());
        let tracking = Tracking::default();
        let mut run = connect(&url).await;
        acquire_lock(&mut run, &tracking).await.unwrap();
        run.execute("CREATE TABLE a (id INTEGER)").await.unwrap();
        commit_progress(&mut run, &tracking).await.unwrap();
        resume(&mut run, &tracking).await.unwrap();
        run.execute("CREATE TABLE b (id INTEGER)").await.unwrap();
        // Gone without a release (as a killed process): the connection and the lock file's
        // descriptor close; the file itself stays.
        drop(run);
        let lock_file = file.with_file_name("app.db-tt-lock");
        assert!(lock_file.exists());
        let mut next = connect(&url).await;
        acquire_lock(&mut next, &tracking).await.unwrap();
        assert!(!lock_file.exists(), "the stale file is removed");
        let tables = next
            .fetch_text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .await
            .unwrap();
        assert_eq!(tables, [[Some("a".to_string())]], "b was never committed");
        release_lock(&mut next, &tracking).await.unwrap();
    }
}
