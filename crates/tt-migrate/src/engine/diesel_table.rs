//! diesel's own table: diesel creates `__diesel_schema_migrations` before the first
//! migration, and some diesel projects' migrations act on it (a trigger on it, a grant), so
//! tt creates it too, empty, in a diesel folder's runs (scratch databases included).

use crate::backend::database::Database;
use crate::engine::tracking::Tracking;
use crate::error::Error;
use crate::files::migration::Migration;

/// The table diesel keeps its history in.
pub(crate) const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// Whether `migrations` are a diesel folder's: diesel's directories are the only layout whose
/// up files are named `up.sql`.
pub(crate) fn is_diesel_folder(migrations: &[Migration]) -> bool {
    migrations.iter().any(|migration| {
        migration
            .up
            .iter()
            .any(|file| file.path().file_name().is_some_and(|name| name == "up.sql"))
    })
}

/// Creates diesel's table with diesel's columns, empty, unless it exists.
///
/// # Errors
/// When the statement fails.
pub(crate) async fn ensure_diesel_table(db: &mut Database) -> Result<(), Error> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        db.own_table(DIESEL_TABLE)
    );
    db.execute(&sql).await.map_err(Error::query(format!(
        "creating diesel's table `{DIESEL_TABLE}`"
    )))
}

/// Drops diesel's table when it is there and empty, as tt created it (a reset rebuilds it with
/// the migrations); one holding diesel's history is left alone. Whether it was dropped.
///
/// # Errors
/// When the table cannot be read or dropped.
pub(crate) async fn drop_empty_diesel_table(db: &mut Database) -> Result<bool, Error> {
    if !Tracking::new(DIESEL_TABLE).exists(db).await? {
        return Ok(false);
    }
    let table = db.own_table(DIESEL_TABLE);
    let rows = db
        .query_rows(&format!("SELECT 1 FROM {table} LIMIT 1"), &[])
        .await
        .map_err(Error::query(format!(
            "reading diesel's table `{DIESEL_TABLE}`"
        )))?;
    if !rows.is_empty() {
        return Ok(false);
    }
    db.execute(&format!("DROP TABLE {table}"))
        .await
        .map_err(Error::query(format!(
            "dropping diesel's table `{DIESEL_TABLE}`"
        )))?;
    Ok(true)
}
