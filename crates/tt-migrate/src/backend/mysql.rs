//! MySQL and MariaDB: `GET_LOCK`, DDL that commits implicitly, one database per schema.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tt_schema::{Backend, Schema, Table};

use crate::backend::database::{Arg, Database};
use crate::backend::dependent::{Dependent, DependentKind, Dependents};
use crate::backend::error::LockError;
use crate::backend::object::{Catalog, CatalogObject, ObjectKind};
use crate::backend::value::column;
use crate::backend::{Dialect, Lock, Namespace, ServerError, introspect};
use crate::error::Error;

// The catalog queries cast information_schema's names to CHAR: some MySQL versions report
// those columns as binary strings, which the driver does not read as text.

/// The MySQL and MariaDB dialect.
pub(super) struct Mysql;

impl Dialect for Mysql {
    fn transactional_ddl(&self) -> bool {
        false
    }

    fn statement_limit_query(&self) -> Option<&'static str> {
        // SIGNED: it is unsigned, which the typed reader does not read.
        Some("SELECT CAST(@@max_allowed_packet AS SIGNED)")
    }

    fn commits_implicitly(&self, sql: &str) -> bool {
        let first = skip_leading_comments(sql)
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .to_ascii_lowercase();
        matches!(
            first.as_str(),
            "create"
                | "alter"
                | "drop"
                | "rename"
                | "truncate"
                | "grant"
                | "revoke"
                | "lock"
                | "unlock"
                | "analyze"
                | "optimize"
                | "repair"
                | "install"
                | "uninstall"
                | "flush"
        )
    }

    fn now_ms(&self) -> &'static str {
        "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)"
    }

    fn session_lock(&self) -> &'static dyn Lock {
        &NamedLock
    }

    fn text_type(&self) -> &'static str {
        "CHAR"
    }

    fn nullable_timestamp(&self) -> &'static str {
        "TIMESTAMP NULL"
    }

    fn renames_without_to(&self) -> bool {
        true
    }

    fn namespace(&self) -> Namespace {
        Namespace::Database
    }

    fn namespaces_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE schema_name \
             NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY 1",
        )
    }

    fn create_namespace(&self, name: &str) -> Option<String> {
        Some(format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            Backend::Mysql.quote_ident(name)
        ))
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        Some("SELECT CAST(DATABASE() AS CHAR)")
    }

    fn columns_sql(&self) -> &'static str {
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
         WHERE table_name = ? AND table_schema = COALESCE(?, DATABASE())"
    }

    fn table_exists_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_name = ? AND table_schema = COALESCE(?, DATABASE())"
    }

    fn triggers_sql(&self) -> Option<&'static str> {
        // The database tt works in: the server holds other applications' databases too.
        Some(
            "SELECT CAST(EVENT_OBJECT_SCHEMA AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR), \
             CAST(TRIGGER_NAME AS CHAR) FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1, 2, 3",
        )
    }

    fn tracking_upsert(&self) -> &'static str {
        "ON DUPLICATE KEY UPDATE name = VALUES(name), checksum = VALUES(checksum), \
         execution_ms = VALUES(execution_ms), dirty = VALUES(dirty), \
         applied_at = VALUES(applied_at)"
    }

    fn introspect<'a>(
        &'a self,
        db: &'a mut Database,
        _schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Table>, Error>> {
        Box::pin(introspect::mysql::read(db))
    }

    fn foreign_dependents<'a>(
        &'a self,
        db: &'a mut Database,
        _live: &'a Schema,
        tables: &'a [String],
        _mentions: &'a (dyn Fn(&str, &str) -> bool + Sync),
    ) -> BoxFuture<'a, Result<Dependents, Error>> {
        Box::pin(foreign_dependents(db, tables))
    }

    fn catalog<'a>(&'a self, db: &'a mut Database) -> BoxFuture<'a, Result<Catalog, Error>> {
        Box::pin(catalog(db))
    }

    /// Drops every table, view, routine and event of the database; the database itself
    /// stays, with its grants, and so does `keep`.
    fn recreate<'a>(
        &'a self,
        db: &'a mut Database,
        keep: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            empty_database(db, keep).await?;
            Ok(true)
        })
    }

    fn error_code(&self, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() else {
            return error.code().map(|code| code.into_owned());
        };
        Some(match mysql.code() {
            Some(state) => format!("{} ({state})", mysql.number()),
            None => mysql.number().to_string(),
        })
    }

    /// `… near 'quoted' at line N`: MySQL quotes at most 80 characters and the rest of the
    /// statement.
    fn near_text<'m>(&self, message: &'m str) -> Option<(&'m str, usize)> {
        let start = message.find("near '")? + "near '".len();
        let end = message.rfind("' at line ")?;
        let line: usize = message[end + "' at line ".len()..].trim().parse().ok()?;
        Some((&message[start..end.max(start)], line))
    }

    fn classify(&self, code: &str, _message: &str) -> Option<ServerError> {
        // The code is `number (SQLSTATE)`.
        let number = code.split(' ').next().unwrap_or_default();
        Some(match number {
            "1146" | "1305" => ServerError::MissingObject,
            "1054" => ServerError::MissingColumn,
            "1044" | "1045" | "1142" | "1227" => ServerError::PermissionDenied,
            "1205" | "1213" => ServerError::LockHeld,
            "1050" | "1061" | "1826" => ServerError::AlreadyExists,
            "1064" => ServerError::Syntax,
            "1062" => ServerError::DuplicateKey,
            "1451" | "1452" => ServerError::ForeignKey,
            _ => return None,
        })
    }
}

/// `sql` without the comments and whitespace before its first word.
fn skip_leading_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--").or_else(|| sql.strip_prefix('#')) {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

/// The database tt works in, for [`LOCK_NAME`].
fn home(db: &Database) -> Arg {
    db.home_schema()
        .map_or(Arg::Null, |schema| Arg::Text(schema.to_string()))
}

/// `GET_LOCK` on a name derived from the database and the tracking table.
struct NamedLock;

/// The lock name: lock names are server-wide and at most 64 characters, so the database and
/// tracking table are hashed into it.
/// The database is the one tt works in, found when connecting (a migration's `USE` must not
/// change which lock a release frees); the current one without.
const LOCK_NAME: &str =
    "CONCAT('tt:', LEFT(SHA2(CONCAT(COALESCE(?, DATABASE()), '.', ?), 256), 40))";

impl Lock for NamedLock {
    fn acquire<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let seconds = timeout.as_secs_f64().ceil() as i64;
            let sql = format!("SELECT GET_LOCK({LOCK_NAME}, ?)");
            // 1 when taken, 0 on timeout, NULL on an error (a kill).
            let got = db
                .query_rows(
                    &sql,
                    &[home(db), Arg::Text(key.to_string()), Arg::Int(seconds)],
                )
                .await
                .and_then(|rows| {
                    column(rows.first().map_or(&[], Vec::as_slice), 0, "GET_LOCK").opt_int()
                })
                .map_err(Error::query("taking the migration lock"))?;
            if got == Some(1) {
                Ok(())
            } else {
                Err(Error::Lock(LockError::Timeout {
                    holder: holder(db, key).await,
                    waited: started.elapsed(),
                }))
            }
        })
    }

    fn is_held<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let sql = format!("SELECT IS_USED_LOCK({LOCK_NAME}) IS NOT NULL");
            db.query_rows(&sql, &[home(db), Arg::Text(key.to_string())])
                .await
                .and_then(|rows| column(rows.first().map_or(&[], Vec::as_slice), 0, "held").bool())
                .map_err(Error::query("reading who holds the migration lock"))
        })
    }

    fn release<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let sql = format!("SELECT RELEASE_LOCK({LOCK_NAME})");
            db.query_rows(&sql, &[home(db), Arg::Text(key.to_string())])
                .await
                .map(drop)
                .map_err(Error::query("releasing the migration lock"))
        })
    }
}

/// Who holds the lock of `key`, for the timeout's message: read as text, the message's form
/// (the id cast to CHAR: it is unsigned), and left out of the message when it cannot be read.
async fn holder(db: &mut Database, key: &str) -> Option<String> {
    let sql = format!(
        "SELECT CAST(p.ID AS CHAR), p.USER, p.HOST FROM information_schema.PROCESSLIST p \
         WHERE p.ID = IS_USED_LOCK({LOCK_NAME})"
    );
    let args = [home(db), Arg::Text(key.to_string())];
    let [id, user, host] = db.first_text_row(&sql, &args).await?;
    Some(format!("connection {id} of {user}@{host}"))
}

/// Foreign keys of other tables (in any database) referencing `tables`, and views of this
/// database that read them.
async fn foreign_dependents(db: &mut Database, tables: &[String]) -> Result<Dependents, Error> {
    let q = |name: &str| Backend::Mysql.quote_ident(name);
    let is_managed = |name: &str| tables.iter().any(|t| t == name);
    // The database found at connect: a migration's `USE` must not move it.
    let current = db.home_schema().unwrap_or_default().to_string();
    let mut out = Vec::new();
    let sql = "SELECT CAST(CONSTRAINT_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
               CAST(CONSTRAINT_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR) \
               FROM information_schema.REFERENTIAL_CONSTRAINTS \
               WHERE UNIQUE_CONSTRAINT_SCHEMA = DATABASE()";
    for row in db
        .query_text_rows(sql, &[])
        .await
        .map_err(Error::query("finding foreign keys to managed tables"))?
    {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (schema, table, name, on) = (field(0), field(1), field(2), field(3));
        if !is_managed(&on) || (schema == current && is_managed(&table)) {
            continue;
        }
        let statement = format!(
            "ALTER TABLE {}.{} DROP FOREIGN KEY {}",
            q(&schema),
            q(&table),
            q(&name)
        );
        let owner = if schema == current {
            table
        } else {
            format!("{schema}.{table}")
        };
        let dependent = Dependent {
            kind: DependentKind::ForeignKey,
            name: format!("{owner}.{name}"),
            on,
        };
        out.push((dependent, Some(statement)));
    }
    let views = db
        .query_text_rows(
            "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) \
             FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
            &[],
        )
        .await
        .map_err(Error::query("finding views on managed tables"))?;
    for row in views {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (name, definition) = (field(0), field(1));
        // MariaDB and MySQL print every table a view reads as `database`.`table`; a bare
        // `table` may be a column or an alias.
        for table in tables {
            if definition.contains(&format!("{}.{}", q(&current), q(table))) {
                let dependent = Dependent {
                    kind: DependentKind::View,
                    name: name.clone(),
                    on: table.clone(),
                };
                let statement = format!("DROP VIEW IF EXISTS {}", q(&name));
                out.push((dependent, Some(statement)));
            }
        }
    }
    Ok(out)
}

/// Drops every object of the database but the table `keep`, with foreign key checks off.
async fn empty_database(db: &mut Database, keep: &str) -> Result<(), Error> {
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
        if field(0) == "TABLE" && field(1) == keep {
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

/// The tables, views, sequences (MariaDB), routines and triggers of the database.
async fn catalog(db: &mut Database) -> Result<Catalog, Error> {
    let q = |name: &str| Backend::Mysql.quote_ident(name);
    let sql = "SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' \
                 ELSE 'table' END, CAST(TABLE_NAME AS CHAR), NULL \
               FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
               UNION ALL \
               SELECT LOWER(ROUTINE_TYPE), CAST(ROUTINE_NAME AS CHAR), NULL \
               FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() \
               UNION ALL \
               SELECT 'trigger', CAST(TRIGGER_NAME AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR) \
               FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()";
    let rows = db
        .query_text_rows(sql, &[])
        .await
        .map_err(Error::query("reading the database's objects"))?;
    let mut out = Catalog::default();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().flatten();
        let label = field(0).unwrap_or_default();
        let name = field(1).unwrap_or_default();
        let (kind, drop) = match label.as_str() {
            "view" => (ObjectKind::View, "VIEW IF EXISTS"),
            "sequence" => (ObjectKind::Sequence, "SEQUENCE IF EXISTS"),
            "function" => (ObjectKind::Routine, "FUNCTION IF EXISTS"),
            "procedure" => (ObjectKind::Routine, "PROCEDURE IF EXISTS"),
            "trigger" => (ObjectKind::Trigger, "TRIGGER IF EXISTS"),
            _ => (ObjectKind::Table, "TABLE"),
        };
        out.objects.push(CatalogObject {
            key: format!("{label}:{name}"),
            kind,
            drop: format!("DROP {drop} {}", q(&name)),
            owner: field(2).map(|table| format!("table:{table}")),
            label,
            schema: None,
            name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_commits_are_ddl_only() {
        assert!(Mysql.commits_implicitly("CREATE TABLE t (x INT)"));
        assert!(Mysql.commits_implicitly("/* c */ alter table t add y int"));
        assert!(!Mysql.commits_implicitly("INSERT INTO t VALUES (1)"));
    }
}
