//! The migration lock: one runner per database at a time, for the whole run.
//!
//! PostgreSQL: a session advisory lock keyed by the tracking table's name, waited for under
//! `lock_timeout`. MySQL: `GET_LOCK` on a name derived from the database and tracking table.
//! SQLite: the database write lock itself (`BEGIN IMMEDIATE`), held until the run ends, so
//! each migration runs inside a savepoint of that transaction.

use std::time::Instant;

use tt_schema::Backend;

use crate::backend::database::{Arg, Database};
use crate::engine::tracking::Tracking;
use crate::error::Error;

/// Takes the migration lock, waiting up to the connection's lock timeout. Drop, reset and
/// migrate hold it for their whole run; other programs may too.
///
/// # Errors
/// [`Error::LockTimeout`] naming the holder where the backend tells, or a query error.
pub async fn acquire_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    let timeout = db.options().lock_timeout;
    let started = Instant::now();
    let timed_out = |holder| Error::LockTimeout {
        holder,
        waited: started.elapsed(),
    };
    match db.backend() {
        Backend::Postgres => {
            let key = advisory_key(tracking.table());
            let ms = timeout.as_millis().max(1);
            db.execute(&format!("SET lock_timeout = {ms}"))
                .await
                .map_err(Error::query("setting lock_timeout"))?;
            let locked = db.execute(&format!("SELECT pg_advisory_lock({key})")).await;
            db.execute("RESET lock_timeout")
                .await
                .map_err(Error::query("resetting lock_timeout"))?;
            match locked {
                Ok(()) => Ok(()),
                Err(error) if sqlstate(&error).as_deref() == Some("55P03") => {
                    Err(timed_out(postgres_holder(db, key).await))
                }
                Err(error) => Err(Error::query("taking the migration lock")(error)),
            }
        }
        Backend::Mysql => {
            let seconds = timeout.as_secs_f64().ceil() as i64;
            let sql = format!("SELECT CAST(GET_LOCK({}, ?) AS CHAR)", MYSQL_LOCK_NAME);
            let rows = db
                .query_text_rows(
                    &sql,
                    &[Arg::Text(tracking.table().to_string()), Arg::Int(seconds)],
                )
                .await
                .map_err(Error::query("taking the migration lock"))?;
            let got = rows.first().and_then(|row| row.first().cloned().flatten());
            if got.as_deref() == Some("1") {
                Ok(())
            } else {
                Err(timed_out(mysql_holder(db, tracking).await))
            }
        }
        Backend::Sqlite => match db.execute("BEGIN IMMEDIATE").await {
            Ok(()) => Ok(()),
            Err(error) if is_sqlite_busy(&error) => Err(timed_out(Some(
                "another process is writing to this SQLite file".to_string(),
            ))),
            Err(error) => Err(Error::query("taking the SQLite write lock")(error)),
        },
    }
}

/// Releases the migration lock. On SQLite this commits the transaction that holds it.
///
/// # Errors
/// When the server rejects the release (or the SQLite commit fails).
pub async fn release_lock(db: &mut Database, tracking: &Tracking) -> Result<(), Error> {
    match db.backend() {
        Backend::Postgres => {
            let key = advisory_key(tracking.table());
            db.execute(&format!("SELECT pg_advisory_unlock({key})"))
                .await
                .map_err(Error::query("releasing the migration lock"))
        }
        Backend::Mysql => {
            let sql = format!("SELECT CAST(RELEASE_LOCK({}) AS CHAR)", MYSQL_LOCK_NAME);
            db.query_text_rows(&sql, &[Arg::Text(tracking.table().to_string())])
                .await
                .map(drop)
                .map_err(Error::query("releasing the migration lock"))
        }
        Backend::Sqlite => db
            .execute("COMMIT")
            .await
            .map_err(Error::query("committing the run")),
    }
}

/// The lock name on MySQL: lock names are server-wide and at most 64 characters, so the
/// database and tracking table are hashed into it.
const MYSQL_LOCK_NAME: &str = "CONCAT('tt:', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 40))";

/// A stable, positive advisory lock key for a tracking table (FNV-1a, 31 bits, so that it is
/// the `objid` of the lock in `pg_locks` with `classid` 0).
fn advisory_key(table: &str) -> i64 {
    let hash = format!("tt:{table}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    (hash & 0x7fff_ffff) as i64
}

async fn postgres_holder(db: &mut Database, key: i64) -> Option<String> {
    let sql = format!(
        "SELECT CAST(a.pid AS TEXT), a.application_name, a.usename, \
         CAST(a.client_addr AS TEXT), CAST(a.backend_start AS TEXT) \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 \
         AND l.objid = {key} AND l.objsubid = 1"
    );
    let rows = db.query_text_rows(&sql, &[]).await.ok()?;
    let row = rows.first()?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let application = match field(1) {
        name if name.is_empty() => String::new(),
        name => format!("{name}, "),
    };
    Some(format!(
        "{application}pid {} of user {} from {} since {}",
        field(0),
        field(2),
        if field(3).is_empty() {
            "local socket".to_string()
        } else {
            field(3)
        },
        field(4)
    ))
}

async fn mysql_holder(db: &mut Database, tracking: &Tracking) -> Option<String> {
    let sql = format!(
        "SELECT CAST(p.ID AS CHAR), p.USER, p.HOST FROM information_schema.PROCESSLIST p \
         WHERE p.ID = IS_USED_LOCK({MYSQL_LOCK_NAME})"
    );
    let rows = db
        .query_text_rows(&sql, &[Arg::Text(tracking.table().to_string())])
        .await
        .ok()?;
    let row = rows.first()?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    Some(format!(
        "connection {} of {}@{}",
        field(0),
        field(1),
        field(2)
    ))
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|code| code.into_owned())
}

fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    // SQLITE_BUSY is 5; extended codes keep it in the low byte.
    sqlstate(error)
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable_and_positive() {
        let key = advisory_key("schema_migrations");
        assert_eq!(key, advisory_key("schema_migrations"));
        assert_ne!(key, advisory_key("other_migrations"));
        assert!((0..=i64::from(i32::MAX)).contains(&key));
    }
}
