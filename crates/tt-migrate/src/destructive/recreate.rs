//! Emptying a whole database: every table, view and routine, not only the managed ones.
//!
//! PostgreSQL: the schema is dropped and created again with its owner and grants, in one
//! transaction. MySQL/MariaDB: every table, view, routine and event of the database is dropped
//! (the database itself stays, with its grants). SQLite: the file is replaced by an empty one
//! with an atomic rename; an in-memory database is emptied object by object. A protection mark
//! survives: MySQL and an in-memory database keep it, elsewhere it is written again.

use tt_schema::Backend;

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
/// [`Error::Protected`], or a database or file error.
pub async fn recreate_database(db: &mut Database, allow_protected: bool) -> Result<(), Error> {
    protect::check(db, allow_protected).await?;
    let mark = protect::protection(db).await?;
    let mark_kept = match db.backend() {
        Backend::Postgres => {
            recreate_postgres_schema(db).await?;
            false
        }
        Backend::Mysql => {
            empty_mysql_database(db).await?;
            true
        }
        Backend::Sqlite => match db.sqlite_file() {
            Some(path) => {
                replace_sqlite_file(db, &path).await?;
                false
            }
            None => {
                empty_sqlite_database(db).await?;
                true
            }
        },
    };
    match mark {
        Some(mark) if !mark_kept => protect::protect(db, mark.note.as_deref()).await,
        _ => Ok(()),
    }
}

async fn recreate_postgres_schema(db: &mut Database) -> Result<(), Error> {
    // The owner and the schema's grants, to restore them on the new schema.
    let rows = db
        .query_text_rows(
            "SELECT CAST(current_schema() AS TEXT), CAST(pg_get_userbyid(n.nspowner) AS TEXT), \
             CAST(a.privilege_type AS TEXT), \
             CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE CAST(pg_get_userbyid(a.grantee) AS TEXT) END, \
             CAST(a.is_grantable AS TEXT) \
             FROM pg_namespace n LEFT JOIN LATERAL aclexplode(n.nspacl) a ON true \
             WHERE n.nspname = current_schema()",
            &[],
        )
        .await
        .map_err(Error::query("reading the schema's owner and grants"))?;
    let Some(first) = rows.first() else {
        return Err(Error::UnknownSchema {
            schema: (db.options().postgres_schema.as_deref())
                .unwrap_or("current_schema()")
                .to_string(),
        });
    };
    let field = |row: &Vec<Option<String>>, i: usize| row.get(i).cloned().flatten();
    let schema = field(first, 0).unwrap_or_default();
    let owner = field(first, 1).unwrap_or_default();
    let q = |name: &str| Backend::Postgres.quote_ident(name);
    let mut statements = vec![
        "BEGIN".to_string(),
        format!("DROP SCHEMA {} CASCADE", q(&schema)),
        format!("CREATE SCHEMA {} AUTHORIZATION {}", q(&schema), q(&owner)),
    ];
    for row in &rows {
        let (Some(privilege), Some(grantee)) = (field(row, 2), field(row, 3)) else {
            continue;
        };
        if grantee == owner {
            continue;
        }
        let grantee = if grantee == "PUBLIC" {
            grantee
        } else {
            q(&grantee)
        };
        let option = if field(row, 4).as_deref() == Some("true") {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        statements.push(format!(
            "GRANT {privilege} ON SCHEMA {} TO {grantee}{option}",
            q(&schema)
        ));
    }
    statements.push("COMMIT".to_string());
    if let Err(error) = db.execute_batch(&statements.join(";\n")).await {
        let _ = db.execute("ROLLBACK").await;
        return Err(Error::query(format!("recreating schema {schema}"))(
            error.source,
        ));
    }
    Ok(())
}

async fn empty_mysql_database(db: &mut Database) -> Result<(), Error> {
    let objects = db
        .query_text_rows(
            "SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' \
             ELSE 'TABLE' END, CAST(TABLE_NAME AS CHAR) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             UNION ALL SELECT CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_NAME AS CHAR) \
             FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() \
             UNION ALL SELECT 'EVENT', CAST(EVENT_NAME AS CHAR) \
             FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
            &[],
        )
        .await
        .map_err(Error::query("listing the database's objects"))?;
    let mut statements = vec!["SET FOREIGN_KEY_CHECKS = 0".to_string()];
    // Views first: they may read tables.
    let mut sorted = objects;
    sorted.sort_by_key(|row| row.first().cloned().flatten().as_deref() != Some("VIEW"));
    for row in sorted {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        // Kept, so that a recreate failing part-way (MySQL cannot roll DDL back) leaves the
        // database protected.
        if field(0) == "TABLE" && field(1) == protect::PROTECTION_TABLE {
            continue;
        }
        statements.push(format!(
            "DROP {} IF EXISTS {}",
            field(0),
            Backend::Mysql.quote_ident(&field(1))
        ));
    }
    statements.push("SET FOREIGN_KEY_CHECKS = 1".to_string());
    let result = db.execute_batch(&statements.join(";\n")).await;
    if let Err(error) = result {
        // The batch stopped before its last statement: the session would go on without
        // foreign key checks.
        let _ = db.execute("SET FOREIGN_KEY_CHECKS = 1").await;
        return Err(Error::query("emptying the database")(error.source));
    }
    Ok(())
}

async fn empty_sqlite_database(db: &mut Database) -> Result<(), Error> {
    let objects = db
        .query_text_rows(
            "SELECT type, name FROM sqlite_master \
             WHERE type IN ('view', 'table', 'trigger') AND name NOT LIKE 'sqlite_%' \
             AND name <> ?",
            &[crate::backend::database::Arg::Text(
                protect::PROTECTION_TABLE.to_string(),
            )],
        )
        .await
        .map_err(Error::query("listing the database's objects"))?;
    db.execute("PRAGMA foreign_keys = OFF")
        .await
        .map_err(Error::query("turning foreign keys off"))?;
    let mut statements = Vec::new();
    for row in objects {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        statements.push(format!(
            "DROP {} IF EXISTS {}",
            field(0).to_uppercase(),
            Backend::Sqlite.quote_ident(&field(1))
        ));
    }
    let result = if statements.is_empty() {
        Ok(())
    } else {
        db.execute_batch(&statements.join(";\n"))
            .await
            .map(drop)
            .map_err(|error| Error::query("emptying the database")(error.source))
    };
    db.execute("PRAGMA foreign_keys = ON")
        .await
        .map_err(Error::query("turning foreign keys back on"))?;
    result
}

/// Replaces the database file by an empty one: a new file renamed over the old, so the path
/// never holds a half-emptied database.
async fn replace_sqlite_file(db: &mut Database, path: &std::path::Path) -> Result<(), Error> {
    let path = path.to_path_buf();
    db.reopen_around(move || {
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let fresh = path.with_file_name(format!(".{file_name}.tt-recreate"));
        // A zero-length file is a valid empty SQLite database.
        std::fs::File::create(&fresh).map_err(io)?;
        std::fs::rename(&fresh, &path).map_err(io)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            match std::fs::remove_file(&side) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io(error)),
            }
        }
        Ok(())
    })
    .await
}
