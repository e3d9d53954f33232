//! Protection: a mark stored in the database itself that makes drop, reset and recreate refuse.
//!
//! The mark is a one-row table, `tt_protected`. It lives in the database so that every copy
//! of tt, every machine and every script sees it; tt's migrations never create it, so it is
//! not a managed table and `drop` leaves it alone.

use serde::Serialize;

use crate::backend::database::{Arg, Database};
use crate::backend::value::int_at;
use crate::destructive::error::DropRefusal;
use crate::error::Error;

/// The table that marks a database as protected.
pub const PROTECTION_TABLE: &str = "tt_protected";

/// The protection mark of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// When the mark was set, as the database prints it.
    pub since: Option<String>,
    /// Why, as given to `tt protect`.
    pub note: Option<String>,
}

/// The protection mark, if the database has one.
///
/// # Errors
/// When the catalog or the mark cannot be read.
pub async fn protection(db: &mut Database) -> Result<Option<Protection>, Error> {
    let exists_sql = db.dialect().table_exists_sql();
    let count = db
        .query_rows(
            exists_sql,
            &[PROTECTION_TABLE.into(), db.home_schema().into()],
        )
        .await
        .and_then(|rows| int_at(rows.first().map_or(&[], Vec::as_slice), 0))
        .map_err(Error::query("checking whether the database is protected"))?;
    if count == 0 {
        return Ok(None);
    }
    // The time as text: the database prints it, and the typed reader reads no timestamps.
    let sql = format!(
        "SELECT CAST(protected_at AS {text}), note FROM {table}",
        text = db.text_type(),
        table = db.own_table(PROTECTION_TABLE)
    );
    let rows = db
        .query_text_rows(&sql, &[])
        .await
        .map_err(Error::query("reading the protection mark"))?;
    let row = rows.into_iter().next().unwrap_or_default();
    let mut values = row.into_iter();
    Ok(Some(Protection {
        since: values.next().flatten(),
        note: values.next().flatten(),
    }))
}

/// Marks the database protected (replacing an earlier mark's note).
///
/// # Errors
/// When the mark cannot be written.
pub async fn protect(db: &mut Database, note: Option<&str>) -> Result<(), Error> {
    let table = db.own_table(PROTECTION_TABLE);
    let timestamp = db.dialect().nullable_timestamp();
    db.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (protected_at {timestamp} DEFAULT CURRENT_TIMESTAMP, note VARCHAR(255))"
    ))
    .await
    .map_err(Error::query("creating the protection mark"))?;
    db.execute(&format!("DELETE FROM {table}"))
        .await
        .map_err(Error::query("writing the protection mark"))?;
    let note = note.map_or(Arg::Null, |n| Arg::Text(n.to_string()));
    db.execute_with(
        &format!("INSERT INTO {table} (protected_at, note) VALUES (CURRENT_TIMESTAMP, ?)"),
        &[note],
    )
    .await
    .map(drop)
    .map_err(Error::query("writing the protection mark"))
}

/// Removes the protection mark; a database without one is left as it is.
///
/// # Errors
/// When the mark cannot be removed.
pub async fn unprotect(db: &mut Database) -> Result<(), Error> {
    let table = db.own_table(PROTECTION_TABLE);
    db.execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .map_err(Error::query("removing the protection mark"))
}

/// Refuses with [`DropRefusal::Protected`] when the database is protected and `allow_protected` is
/// false.
pub(crate) async fn check(db: &mut Database, allow_protected: bool) -> Result<(), Error> {
    match protection(db).await? {
        Some(mark) if !allow_protected => Err(Error::Refused(DropRefusal::Protected {
            database: db.redacted_url().to_string(),
            note: mark.note.filter(|n| !n.is_empty()),
        })),
        _ => Ok(()),
    }
}
