//! SQLite: one writer at a time, the write lock as the migration lock, savepoints, files.

use std::time::Duration;

use futures_util::future::BoxFuture;
use tt_schema::{Backend, Schema, Table};

use crate::backend::database::{Arg, Database};
use crate::backend::dependent::{Dependent, DependentKind, Dependents};
use crate::backend::error::LockError;
use crate::backend::file_lock;
use crate::backend::object::{Catalog, CatalogObject, ObjectKind};
use crate::backend::{Backoff, Dialect, Lock, ServerError, introspect, sqlstate};
use crate::error::Error;
use crate::files::error::FileError;

/// The SQLite dialect.
pub(super) struct Sqlite;

impl Dialect for Sqlite {
    fn transactional_ddl(&self) -> bool {
        true
    }

    fn one_writer(&self) -> bool {
        true
    }

    fn adds_columns_with_expression_defaults(&self) -> bool {
        false
    }

    /// Takes the write lock at once, so a second writer waits here (up to the busy timeout)
    /// instead of failing half-way.
    fn begin(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    /// The run holds the write transaction: a migration is a savepoint inside it.
    fn begin_migration(&self, _durable: bool) -> &'static str {
        "SAVEPOINT tt_migration"
    }

    fn commit_migration(&self) -> &'static str {
        "RELEASE tt_migration"
    }

    fn rollback_migration(&self) -> &'static str {
        "ROLLBACK TO tt_migration; RELEASE tt_migration"
    }

    /// With foreign keys enforced, DROP TABLE deletes every row first and runs ON DELETE
    /// actions, reaching into tables tt does not manage. The pragma only changes outside a
    /// transaction.
    fn foreign_keys_off_for_drop(&self) -> Option<(&'static str, &'static str)> {
        Some(("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"))
    }

    fn now_ms(&self) -> &'static str {
        "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    }

    fn session_lock(&self) -> &'static dyn Lock {
        &WriteLock
    }

    fn refused_in_transaction(
        &self,
        words: &[String],
        _server_version: Option<u32>,
    ) -> Option<&'static str> {
        (words.first().map(String::as_str) == Some("VACUUM")).then_some("VACUUM")
    }

    /// SQLite compares table names ignoring ASCII case.
    fn same_name(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn working_schema<'a>(&self, _known: Option<&'a str>) -> Option<&'a str> {
        None
    }

    /// SQLite qualifies with `main`, `temp` or an attached database's name: only `temp` is
    /// surely not tt's.
    fn is_own_qualifier(&self, qualifier: &str, _schema: Option<&str>) -> bool {
        !qualifier.eq_ignore_ascii_case("temp")
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        None
    }

    fn columns_sql(&self) -> &'static str {
        // One database file, whose schema is `main`.
        "SELECT name FROM pragma_table_info(?, COALESCE(?, 'main'))"
    }

    fn table_exists_sql(&self) -> &'static str {
        // One database file, whose schema is `main`: the second `?` names no other.
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ? \
         AND COALESCE(?, 'main') = 'main'"
    }

    fn scratch_in_memory(&self) -> Option<&'static str> {
        Some("sqlite::memory:")
    }

    fn introspect<'a>(
        &'a self,
        db: &'a mut Database,
        _schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Table>, Error>> {
        Box::pin(introspect::sqlite::read(db))
    }

    fn foreign_dependents<'a>(
        &'a self,
        db: &'a mut Database,
        live: &'a Schema,
        tables: &'a [String],
        mentions: &'a (dyn Fn(&str, &str) -> bool + Sync),
    ) -> BoxFuture<'a, Result<Dependents, Error>> {
        Box::pin(foreign_dependents(db, live, tables, mentions))
    }

    fn catalog<'a>(&'a self, db: &'a mut Database) -> BoxFuture<'a, Result<Catalog, Error>> {
        Box::pin(catalog(db))
    }

    /// Replaces the file by an empty one with an atomic rename; an in-memory database is
    /// emptied object by object, keeping `keep`.
    fn recreate<'a>(
        &'a self,
        db: &'a mut Database,
        keep: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            match db.sqlite_file() {
                Some(path) => {
                    replace_file(db, &path).await?;
                    Ok(false)
                }
                None => {
                    empty_database(db, keep).await?;
                    Ok(true)
                }
            }
        })
    }

    /// `near "quoted": syntax error`.
    fn near_text<'m>(&self, message: &'m str) -> Option<(&'m str, usize)> {
        let start = message.find("near \"")? + "near \"".len();
        let end = start + message[start..].find("\": ")?;
        Some((&message[start..end], 1))
    }

    /// SQLite's codes are coarse (1 is any error): the message tells more.
    fn classify(&self, _code: &str, message: &str) -> Option<ServerError> {
        let lower = message.to_ascii_lowercase();
        let has = |texts: &[&str]| texts.iter().any(|t| lower.contains(t));
        Some(if has(&["no such table", "no such function"]) {
            ServerError::MissingObject
        } else if has(&["no such column", "has no column"]) {
            ServerError::MissingColumn
        } else if has(&["readonly", "permission"]) {
            ServerError::PermissionDenied
        } else if has(&["database is locked", "busy"]) {
            ServerError::LockHeld
        } else if has(&["already exists"]) {
            ServerError::AlreadyExists
        } else if has(&["syntax error"]) {
            ServerError::Syntax
        } else if has(&["unique constraint failed"]) {
            ServerError::DuplicateKey
        } else if has(&["foreign key constraint failed"]) {
            ServerError::ForeignKey
        } else if has(&["within a transaction"]) {
            ServerError::NotInTransaction
        } else {
            return None;
        })
    }
}

/// The database's write lock (`BEGIN IMMEDIATE`): the run's transaction. A run commits in
/// groups; between a commit and the next `BEGIN IMMEDIATE` the lock file beside the database
/// keeps other runners out ([`file_lock`]). Releasing the lock commits what is left.
struct WriteLock;

impl Lock for WriteLock {
    fn acquire<'a>(
        &'a self,
        db: &'a mut Database,
        _key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut backoff = Backoff::new(timeout);
            loop {
                // The connection's busy timeout is the lock timeout.
                match db.execute("BEGIN IMMEDIATE").await {
                    Ok(()) => {}
                    Err(error) if is_busy(&error) => {
                        return Err(Error::Lock(LockError::Timeout {
                            holder: Some(
                                "another process is writing to this SQLite file".to_string(),
                            ),
                            waited: backoff.waited(),
                        }));
                    }
                    Err(error) => return Err(Error::query("taking the SQLite write lock")(error)),
                }
                // Another run between two of its commits holds the lock file.
                let Some(other) = other_run(db)? else {
                    return Ok(());
                };
                db.execute("ROLLBACK")
                    .await
                    .map_err(Error::query("leaving the SQLite write lock to another run"))?;
                if !backoff.wait().await {
                    return Err(Error::Lock(LockError::Timeout {
                        holder: Some(format!(
                            "another tt run on this SQLite file, between two of its commits \
                             (it holds {})",
                            other.display()
                        )),
                        waited: backoff.waited(),
                    }));
                }
            }
        })
    }

    fn commit_keeping<'a>(
        &'a self,
        db: &'a mut Database,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if db.held_file().is_none() {
                if let Some(database) = db.sqlite_file() {
                    let path = file_lock::lock_file_of(&database);
                    let io = |source| {
                        Error::File(FileError::Io {
                            path: path.clone(),
                            source,
                        })
                    };
                    // Nobody else takes the file while this run holds the write lock.
                    let held = file_lock::try_take(&path).map_err(io)?.ok_or_else(|| {
                        Error::Lock(LockError::Timeout {
                            holder: Some(format!("another process holds {}", path.display())),
                            waited: Duration::ZERO,
                        })
                    })?;
                    *db.held_file() = Some(held);
                }
            }
            db.execute("COMMIT")
                .await
                .map_err(Error::query("committing the migrations run so far"))
        })
    }

    fn release<'a>(
        &'a self,
        db: &'a mut Database,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            // Still inside the write lock: nobody can start before the commit.
            let released = match db.held_file().take() {
                Some(held) => {
                    let path = held.path().to_path_buf();
                    held.release()
                        .map_err(|source| Error::File(FileError::Io { path, source }))
                }
                None => Ok(()),
            };
            let committed = db
                .execute("COMMIT")
                .await
                .map_err(Error::query("committing the run"));
            committed.and(released)
        })
    }
}

/// The lock file of another run that holds it, if one does; this connection's own is no
/// other's.
fn other_run(db: &mut Database) -> Result<Option<std::path::PathBuf>, Error> {
    if db.held_file().is_some() {
        return Ok(None);
    }
    let Some(database) = db.sqlite_file() else {
        return Ok(None);
    };
    let path = file_lock::lock_file_of(&database);
    match file_lock::held_by_other(&path) {
        Ok(true) => Ok(Some(path)),
        Ok(false) => Ok(None),
        Err(source) => Err(Error::File(FileError::Io { path, source })),
    }
}

fn is_busy(error: &sqlx::Error) -> bool {
    // SQLITE_BUSY is 5; extended codes keep it in the low byte.
    sqlstate(error)
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// Foreign keys of other tables referencing `tables` (read from `live`; SQLite cannot drop
/// them, so they come without a statement), and views whose text names one.
async fn foreign_dependents(
    db: &mut Database,
    live: &Schema,
    tables: &[String],
    mentions: &(dyn Fn(&str, &str) -> bool + Sync),
) -> Result<Dependents, Error> {
    let is_managed = |name: &str| tables.iter().any(|t| t.eq_ignore_ascii_case(name));
    let mut out = Vec::new();
    for table in live.tables().filter(|t| !is_managed(&t.name)) {
        for fk in table
            .foreign_keys
            .iter()
            .filter(|fk| is_managed(&fk.ref_table))
        {
            let dependent = Dependent {
                kind: DependentKind::ForeignKey,
                name: format!("{}.{}", table.name, fk.name),
                on: fk.ref_table.clone(),
            };
            // With enforcement off it stays, dangling.
            out.push((dependent, None));
        }
    }
    let views = db
        .query_text_rows(
            "SELECT name, sql FROM sqlite_master WHERE type = 'view'",
            &[],
        )
        .await
        .map_err(Error::query("finding views on managed tables"))?;
    for row in views {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (name, definition) = (field(0), field(1));
        for table in tables {
            if mentions(&definition, table) {
                let statement =
                    format!("DROP VIEW IF EXISTS {}", Backend::Sqlite.quote_ident(&name));
                let dependent = Dependent {
                    kind: DependentKind::View,
                    name: name.clone(),
                    on: table.clone(),
                };
                out.push((dependent, Some(statement)));
            }
        }
    }
    Ok(out)
}

/// Drops every view, table and trigger but the table `keep`, with foreign keys off.
async fn empty_database(db: &mut Database, keep: &str) -> Result<(), Error> {
    let objects = db
        .query_text_rows(
            "SELECT type, name FROM sqlite_master \
             WHERE type IN ('view', 'table', 'trigger') AND name NOT LIKE 'sqlite_%' \
             AND name <> ?",
            &[Arg::Text(keep.to_string())],
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

/// Replaces the database file by an empty one with an atomic rename, its journal files
/// removed, and connects to it again.
async fn replace_file(db: &mut Database, path: &std::path::Path) -> Result<(), Error> {
    let path = path.to_path_buf();
    db.reopen_around(move || {
        let io = |source| {
            Error::File(FileError::Io {
                path: path.clone(),
                source,
            })
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
/// The tables, views and triggers of the `main` database.
async fn catalog(db: &mut Database) -> Result<Catalog, Error> {
    let rows = db
        .query_text_rows(
            "SELECT type, name, tbl_name FROM sqlite_master \
             WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            &[],
        )
        .await
        .map_err(Error::query("reading the database's objects"))?;
    let mut out = Catalog::default();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (label, name, table) = (field(0), field(1), field(2));
        let (kind, drop, owner) = match label.as_str() {
            "view" => (ObjectKind::View, "VIEW IF EXISTS", None),
            "trigger" => (
                ObjectKind::Trigger,
                "TRIGGER IF EXISTS",
                Some(format!("table:{}", table.to_lowercase())),
            ),
            _ => (ObjectKind::Table, "TABLE", None),
        };
        out.objects.push(CatalogObject {
            key: format!("{label}:{}", name.to_lowercase()),
            kind,
            drop: format!("DROP {drop} {}", Backend::Sqlite.quote_ident(&name)),
            owner,
            label,
            schema: None,
            name,
        });
    }
    Ok(out)
}
