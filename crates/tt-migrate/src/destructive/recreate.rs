//! Emptying a whole database: every table, view and routine, not only the managed ones.
//!
//! PostgreSQL: the schema is dropped and created again with its owner and grants, in one
//! transaction. MySQL/MariaDB: every table, view, routine and event of the database is dropped
//! (the database itself stays, with its grants). SQLite: the file is replaced by an empty one
//! with an atomic rename; an in-memory database is emptied object by object. A protection mark
//! survives: MySQL and an in-memory database keep it, elsewhere it is written again.

use crate::backend::database::Database;
use crate::destructive::protect;
use crate::error::Error;

/// Empties the whole database.
///
/// # Warning
/// Destroys everything in the database (PostgreSQL: in the schema), including tables tt does
/// not manage. Refuses when the database is protected unless `allow_protected`.
///
/// # Errors
/// [`DropRefusal::Protected`](crate::DropRefusal::Protected), or a database or file error.
pub async fn recreate_database(db: &mut Database, allow_protected: bool) -> Result<(), Error> {
    protect::check(db, allow_protected).await?;
    let mark = protect::protection(db).await?;
    let mark_kept = db.dialect().recreate(db, protect::PROTECTION_TABLE).await?;
    match mark {
        Some(mark) if !mark_kept => protect::protect(db, mark.note.as_deref()).await,
        _ => Ok(()),
    }
}
