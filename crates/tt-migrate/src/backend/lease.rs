//! The lease lock: a row in a small table of tt's, for servers (or poolers) where a session
//! lock cannot be trusted.
//!
//! The row of a tracking table names its owner (one per connection), when it was taken, its
//! last heartbeat and when it expires. A runner takes the lock by inserting the row, or by
//! taking over one that expired (or that it already owns); while it holds the lock a
//! heartbeat renews the lease from a second connection every sixth of the lease, and the run
//! renews it between migrations too; it deletes the row when done. A renewal only extends a
//! row the runner still owns, so it never revives a lease another runner took over. A runner
//! that dies leaves its row behind, and the lock is free again when the lease expires (30 s by
//! default). A heartbeat that gets no renewal through for two thirds of the lease cancels the
//! running statement and marks the lock lost, so the run stops before another runner may take
//! over. Every statement commits on its own, so the lock works through a transaction pooler.
//! The times are the server's, in milliseconds since 1970. docs/locking.md tells why.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use crate::backend::database::{Arg, Database, Heartbeat};
use crate::backend::error::LockError;
use crate::backend::value::column;
use crate::backend::{Backoff, Lock, ServerError};
use crate::error::Error;

/// The lease lock (`lock = "table"`).
pub(crate) struct LeaseLock;

/// The table that holds the lease rows of `tracking`.
pub(crate) fn lease_table(tracking: &str) -> String {
    format!("{tracking}_lock")
}

impl Lock for LeaseLock {
    fn acquire<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            ensure_table(db, key).await?;
            let table = quoted(db, key);
            let now = db.dialect().now_ms();
            let lease = lease_ms(db);
            let owner = db.lock_owner().to_string();
            // Takes over a row that expired, or that this connection already holds (the
            // SQLite run takes the lock again after a no-transaction file).
            let take_over = format!(
                "UPDATE {table} SET owner = ?, acquired_ms = {now}, heartbeat_ms = {now}, \
                 expires_ms = {now} + ? WHERE name = ? AND (expires_ms < {now} OR owner = ?)"
            );
            let insert = format!(
                "INSERT INTO {table} (name, owner, acquired_ms, heartbeat_ms, expires_ms) \
                 VALUES (?, ?, {now}, {now}, {now} + ?)"
            );
            let mut backoff = Backoff::new(timeout);
            loop {
                let args = [
                    Arg::Text(owner.clone()),
                    Arg::Int(lease),
                    Arg::Text(key.to_string()),
                    Arg::Text(owner.clone()),
                ];
                match db.execute_with(&take_over, &args).await {
                    Ok(1) => return Ok(()),
                    Ok(_) => {}
                    Err(error) if is_busy(db, &error) => {}
                    // `tt recreate` of the holder emptied the schema, lock table included.
                    Err(error) if is_missing_table(db, &error) => {
                        ensure_table(db, key).await?;
                        continue;
                    }
                    Err(error) => {
                        return Err(Error::query("taking over the migration lock row")(error));
                    }
                }
                let args = [
                    Arg::Text(key.to_string()),
                    Arg::Text(owner.clone()),
                    Arg::Int(lease),
                ];
                match db.execute_with(&insert, &args).await {
                    Ok(_) => return Ok(()),
                    // Another runner's row, or (SQLite) another runner's write lock.
                    Err(error) if is_unique_violation(&error) || is_busy(db, &error) => {}
                    Err(error) => return Err(Error::query("taking the migration lock row")(error)),
                }
                if !backoff.wait().await {
                    return Err(Error::Lock(LockError::Timeout {
                        holder: holder(db, key).await,
                        waited: backoff.waited(),
                    }));
                }
            }
        })
    }

    fn renew<'a>(&'a self, db: &'a mut Database, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if db.heartbeat_lost() {
                return Err(Error::Lock(LockError::Lost {
                    table: lease_table(key),
                }));
            }
            let table = quoted(db, key);
            let now = db.dialect().now_ms();
            let sql = format!(
                "UPDATE {table} SET heartbeat_ms = {now}, expires_ms = {now} + ? \
                 WHERE name = ? AND owner = ?"
            );
            let args = [
                Arg::Int(lease_ms(db)),
                Arg::Text(key.to_string()),
                Arg::Text(db.lock_owner().to_string()),
            ];
            let renewed = db
                .execute_with(&sql, &args)
                .await
                .map_err(Error::query("renewing the migration lock"))?;
            if renewed == 1 {
                Ok(())
            } else {
                Err(Error::Lock(LockError::Lost {
                    table: lease_table(key),
                }))
            }
        })
    }

    fn release<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            // The heartbeat stops first: it only ever extends a row that is still there.
            db.set_heartbeat(None);
            let table = quoted(db, key);
            let sql = format!("DELETE FROM {table} WHERE name = ? AND owner = ?");
            let args = [
                Arg::Text(key.to_string()),
                Arg::Text(db.lock_owner().to_string()),
            ];
            match db.execute_with(&sql, &args).await {
                Ok(_) => Ok(()),
                // `tt recreate` empties the whole schema, lock table included.
                Err(error) if is_missing_table(db, &error) => Ok(()),
                Err(error) => Err(Error::query("releasing the migration lock")(error)),
            }
        })
    }
}

/// Starts renewing the lease `db` holds from a connection of its own, every sixth of the
/// lease, until the lease is released or `db` dropped. A renewal that finds the row taken
/// over, or no renewal getting through for two thirds of the lease, cancels the statement `db`
/// runs and marks the lock lost: the run then stops at its next renewal
/// ([`LockError::Lost`]), before the lease can expire under it.
///
/// # Errors
/// When the second connection cannot be opened, or the canceller made.
pub(crate) async fn start_heartbeat(db: &mut Database, key: &str) -> Result<(), Error> {
    let lease = db.options().lock_lease;
    let every = (lease / 6).max(Duration::from_millis(50));
    let canceller = db.canceller().await?;
    let mut beat = db.sibling().await?;
    let lost = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&lost);
    let key = key.to_string();
    let task = tokio::spawn(async move {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let taken_over = match LeaseLock.renew(&mut beat, &key).await {
                Ok(()) => {
                    renewed = Instant::now();
                    false
                }
                Err(Error::Lock(LockError::Lost { .. })) => true,
                // The server or the pooler is unreachable for now: try again on a new
                // connection until the lease is nearly gone.
                Err(_) => {
                    if let Ok(fresh) = beat.sibling().await {
                        beat = fresh;
                    }
                    false
                }
            };
            if taken_over || renewed.elapsed() >= lease.saturating_sub(every * 2) {
                flag.store(true, Ordering::SeqCst);
                // Best effort: the run also stops at its next renewal.
                let _ = canceller.cancel_statements().await;
                let _ = beat.close().await;
                return;
            }
        }
    });
    db.set_heartbeat(Some(Heartbeat { task, lost }));
    Ok(())
}

/// Whether a live (unexpired) lease row of `key` exists; `false` without the table.
pub(crate) async fn is_leased(db: &mut Database, key: &str) -> Result<bool, Error> {
    let now = db.dialect().now_ms();
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE name = ? AND expires_ms >= {now}",
        quoted(db, key)
    );
    let context = "reading the migration lock row";
    match db.query_rows(&sql, &[Arg::Text(key.to_string())]).await {
        Ok(rows) => {
            let live = column(rows.first().map_or(&[], Vec::as_slice), 0, "count").int();
            Ok(live.map_err(Error::query(context))? != 0)
        }
        Err(error) if is_missing_table(db, &error) => Ok(false),
        Err(error) => Err(Error::query(context)(error)),
    }
}

fn quoted(db: &Database, key: &str) -> String {
    db.own_table(&lease_table(key))
}

fn lease_ms(db: &Database) -> i64 {
    i64::try_from(db.options().lock_lease.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Creates the lease table if it is missing; another runner creating it at the same moment
/// is no error.
async fn ensure_table(db: &mut Database, key: &str) -> Result<(), Error> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (name VARCHAR(255) PRIMARY KEY, \
         owner VARCHAR(255) NOT NULL, acquired_ms BIGINT NOT NULL, \
         heartbeat_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL)",
        quoted(db, key)
    );
    match db.execute(&sql).await {
        Ok(()) => Ok(()),
        // PostgreSQL: of two CREATE TABLE IF NOT EXISTS at once, one loses on the catalog's
        // key or finds the table's row type already there.
        Err(error)
            if is_unique_violation(&error)
                || server_error(db, &error) == Some(ServerError::AlreadyExists) =>
        {
            Ok(())
        }
        Err(error) => Err(Error::query(format!(
            "creating the lock table {}",
            lease_table(key)
        ))(error)),
    }
}

fn is_missing_table(db: &Database, error: &sqlx::Error) -> bool {
    server_error(db, error) == Some(ServerError::MissingObject)
}

/// Whether another session's lock made the statement fail (SQLite's busy database).
fn is_busy(db: &Database, error: &sqlx::Error) -> bool {
    server_error(db, error) == Some(ServerError::LockHeld)
}

fn server_error(db: &Database, error: &sqlx::Error) -> Option<ServerError> {
    let e = error.as_database_error()?;
    let dialect = db.dialect();
    dialect
        .error_code(e)
        .and_then(|code| dialect.classify(&code, e.message()))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The owner of the lease row and how long until it expires, for the timeout's message: read
/// as text, the message's form, and left out of the message when it cannot be read.
async fn holder(db: &mut Database, key: &str) -> Option<String> {
    let now = db.dialect().now_ms();
    let text = db.text_type();
    let sql = format!(
        "SELECT owner, CAST(({now} - acquired_ms) / 1000 AS {text}), \
         CAST((expires_ms - {now}) / 1000 AS {text}) FROM {} WHERE name = ?",
        quoted(db, key)
    );
    let [owner, taken, expires] = db
        .first_text_row(&sql, &[Arg::Text(key.to_string())])
        .await?;
    Some(format!(
        "{owner}, taken {taken}s ago, lease expires in {expires}s; row `{}` of table {}",
        key,
        lease_table(key)
    ))
}
