//! Everything that differs between PostgreSQL, MySQL and SQLite, behind one seam.
//!
//! [`Dialect`] owns every SQL text and capability that differs between backends, one file per
//! backend (`postgres.rs`, `mysql.rs`, `sqlite.rs`); [`dialect`] is the one place that picks
//! the implementation. Code outside this module asks the dialect and never matches on the
//! backend to choose SQL (`cargo xtask tidy` checks).

pub(crate) mod cancel;
pub(crate) mod connect;
pub(crate) mod database;
pub(crate) mod dependent;
pub(crate) mod error;
pub(crate) mod file_lock;
pub(crate) mod introspect;
pub(crate) mod lease;
pub(crate) mod object;
pub(crate) mod target;
pub(crate) mod value;

mod mysql;
mod postgres;
mod sqlite;

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tt_schema::{Backend, Schema, Table};

use crate::backend::database::Database;
use crate::backend::dependent::Dependents;
use crate::backend::object::Catalog;
use crate::error::Error;

/// The dialect of `backend`: the only match on the backend that picks SQL.
pub(crate) fn dialect(backend: Backend) -> &'static dyn Dialect {
    match backend {
        Backend::Postgres => &postgres::Postgres,
        Backend::Mysql => &mysql::Mysql,
        Backend::Sqlite => &sqlite::Sqlite,
    }
}

/// The SQL and capabilities of one backend.
pub(crate) trait Dialect: Sync {
    // Capabilities.

    /// Whether DDL runs inside a transaction and rolls back with it (not MySQL's).
    fn transactional_ddl(&self) -> bool;

    /// Whether the server commits implicitly before or after `sql` (MySQL's DDL and a few
    /// others), so that rolling back cannot undo it.
    fn commits_implicitly(&self, _sql: &str) -> bool {
        false
    }

    /// Whether one writer at a time holds the whole database (SQLite): the migration lock is
    /// then the write transaction, each migration runs in a savepoint of it, a run commits in
    /// short groups (`Lock::commit_keeping`), and releasing the lock commits the rest.
    fn one_writer(&self) -> bool {
        false
    }

    /// Whether a run's commits may skip waiting for the disk until its last one (PostgreSQL's
    /// `synchronous_commit = off` per transaction).
    fn lazy_commits(&self) -> bool {
        false
    }

    /// The query that reads the longest statement the server accepts, where it refuses longer
    /// ones whole (MySQL's `max_allowed_packet`), so an oversized statement can be reported
    /// before it is sent.
    fn statement_limit_query(&self) -> Option<&'static str> {
        None
    }

    /// Whether connections may go through a transaction pooler such as PgBouncer, which tt
    /// then detects (PostgreSQL).
    fn may_be_pooled(&self) -> bool {
        false
    }

    /// Whether `?` placeholders are written `$1`, `$2`, … (PostgreSQL).
    fn numbered_placeholders(&self) -> bool {
        false
    }

    /// Whether a quoted name keeps its case while an unquoted one folds to lower case
    /// (PostgreSQL). Elsewhere names are compared ignoring case, which for MySQL's
    /// case-sensitive table names on Linux may only see more conflicts than there are.
    fn quoted_names_keep_case(&self) -> bool {
        false
    }

    /// Whether statements run with caller-chosen values may be prepared once and reused.
    ///
    /// Not on PostgreSQL: a prepared statement keeps the parameter types of its first use, so
    /// a `NULL` (typed by the server, say as `integer`) followed by an integer (sent as
    /// `bigint`) would be refused. MySQL sends the types with every execution; SQLite has none.
    fn caches_statements_of_any_values(&self) -> bool {
        true
    }

    /// Whether a server error tells the character position of the failing text (then the
    /// caret points at it and a syntax error needs no other hint).
    fn reports_error_position(&self) -> bool {
        false
    }

    /// Whether `ALTER TABLE … ADD COLUMN` takes a non-constant default such as
    /// `CURRENT_TIMESTAMP` (not on SQLite).
    fn adds_columns_with_expression_defaults(&self) -> bool {
        true
    }

    /// What a statement starting with `words` (its leading words, upper-case, as
    /// `files::words` reads them) is when the server refuses it inside a transaction, named
    /// for messages (`CREATE INDEX CONCURRENTLY`); `None` when it can run in one. MySQL has no
    /// such statement: its DDL commits the transaction instead. `server_version` is
    /// `server_version_num` where known: some statements are refused only by older servers.
    fn refused_in_transaction(
        &self,
        _words: &[String],
        _server_version: Option<u32>,
    ) -> Option<&'static str> {
        None
    }

    // Transactions.

    /// Starts a caller's transaction ([`Database::begin`]).
    fn begin(&self) -> &'static str {
        "BEGIN"
    }

    /// Starts a migration's transaction; `durable` when its commit must wait for the disk.
    fn begin_migration(&self, _durable: bool) -> &'static str {
        "BEGIN"
    }

    /// Commits a migration's transaction.
    fn commit_migration(&self) -> &'static str {
        "COMMIT"
    }

    /// Rolls back a migration's transaction.
    fn rollback_migration(&self) -> &'static str {
        "ROLLBACK"
    }

    /// The statements that turn foreign key enforcement off and back on around a drop of
    /// tables, where `DROP TABLE` would otherwise delete rows and run `ON DELETE` actions in
    /// other tables (SQLite); run outside any transaction.
    fn foreign_keys_off_for_drop(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    // Locking.

    /// The migration lock the server itself offers (advisory lock, `GET_LOCK`, write lock).
    fn session_lock(&self) -> &'static dyn Lock;

    /// An expression for the server's time in milliseconds since 1970, as a `BIGINT`.
    fn now_ms(&self) -> &'static str;

    // Types and names.

    /// The SQL type to cast a value to for reading it as text.
    fn text_type(&self) -> &'static str {
        "TEXT"
    }

    /// The type of a nullable timestamp column defaulting to `CURRENT_TIMESTAMP`.
    fn nullable_timestamp(&self) -> &'static str {
        "TIMESTAMP"
    }

    /// Whether two table names denote the same table.
    fn same_name(&self, a: &str, b: &str) -> bool {
        a == b
    }

    /// An unquoted identifier as the server stores it.
    fn fold_unquoted(&self, word: &str) -> String {
        word.to_string()
    }

    /// The schema tt works in, given the one the caller knows (`None`: unknown).
    fn working_schema<'a>(&self, known: Option<&'a str>) -> Option<&'a str> {
        known
    }

    /// Whether a table qualified with `qualifier` is in `schema` (`None`: any).
    fn is_own_qualifier(&self, qualifier: &str, schema: Option<&str>) -> bool {
        schema.is_none_or(|s| qualifier == s)
    }

    /// Whether `ALTER TABLE a RENAME b` and `RENAME AS b` rename a table (MySQL).
    fn renames_without_to(&self) -> bool {
        false
    }

    // Catalog.

    /// A query for the schema (PostgreSQL) or database (MySQL) the connection works in, as
    /// one text column; `None` where there is only one (SQLite).
    fn current_schema_sql(&self) -> Option<&'static str>;

    /// A query for the names of the columns of a table: binds its name, then the schema (MySQL:
    /// database) it is in, NULL for the connection's current one.
    fn columns_sql(&self) -> &'static str;

    /// A query counting the tables named by its first `?` in the schema (or database) its
    /// second names (the current one for NULL), as one integer column.
    fn table_exists_sql(&self) -> &'static str;

    /// A query for the triggers tt may run into: schema, table and trigger name as text
    /// columns; `None` where runs are serial anyway (SQLite).
    fn triggers_sql(&self) -> Option<&'static str> {
        None
    }

    /// The clause that turns `INSERT INTO tracking (…) VALUES (…)` into an upsert on
    /// `version`, replacing the other columns.
    fn tracking_upsert(&self) -> &'static str {
        "ON CONFLICT (version) DO UPDATE SET name = excluded.name, \
         checksum = excluded.checksum, execution_ms = excluded.execution_ms, \
         dirty = excluded.dirty, applied_at = excluded.applied_at"
    }

    /// The statement that creates `schema` inside a fresh database, where schemas exist.
    fn create_schema(&self, _schema: &str) -> Option<String> {
        None
    }

    /// What a target's schema (`--schema`) is on this backend: a schema of the database
    /// (PostgreSQL), a database of the server (MySQL), or nothing (SQLite).
    fn namespace(&self) -> Namespace {
        Namespace::None
    }

    /// A query for the names of the schemas (PostgreSQL) or databases (MySQL) a user's own
    /// tables may live in (not the server's catalogs), as one text column.
    fn namespaces_sql(&self) -> Option<&'static str> {
        None
    }

    /// The statement that creates the schema or database `name` when it is missing.
    fn create_namespace(&self, _name: &str) -> Option<String> {
        None
    }

    /// Whether a connection, its work in one schema done, may serve the next schema of the
    /// same server in a run over many ([`Database::reuse_in`]).
    fn reuses_sessions(&self) -> bool {
        false
    }

    /// The statements, each run on its own, that start such a session over in `schema` as a
    /// new connection to it would begin.
    fn restart_session(&self, _schema: &str) -> Vec<String> {
        Vec::new()
    }

    /// Where a scratch database lives: `Some(url)` of a throwaway in-memory one, `None` for
    /// one created on the same server (`CREATE DATABASE`).
    fn scratch_in_memory(&self) -> Option<&'static str> {
        None
    }

    /// Reads the base tables of the connected database.
    fn introspect<'a>(
        &'a self,
        db: &'a mut Database,
        schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Table>, Error>>;

    /// Foreign keys of other tables that reference `tables`, and views outside `tables` that
    /// read them, each with the statement that removes it (none for what cannot be dropped).
    /// `live` is the live schema; `mentions(definition, table)` tells whether a view's text
    /// names a table. Where [`Dialect::catalog`] has a dependency graph (PostgreSQL), only
    /// foreign keys: the graph finds views and every other dependent.
    fn foreign_dependents<'a>(
        &'a self,
        db: &'a mut Database,
        live: &'a Schema,
        tables: &'a [String],
        mentions: &'a (dyn Fn(&str, &str) -> bool + Sync),
    ) -> BoxFuture<'a, Result<Dependents, Error>>;

    /// The tables, views, sequences, routines, types, triggers and schemas of the connected
    /// database (PostgreSQL: of every user schema), and the dependencies between them where
    /// the catalog records them.
    fn catalog<'a>(&'a self, db: &'a mut Database) -> BoxFuture<'a, Result<Catalog, Error>>;

    /// Empties the whole database (every table, view and routine), keeping the table `keep`
    /// where it can: `Ok(true)` when it was kept, `Ok(false)` when it is gone with the rest.
    fn recreate<'a>(
        &'a self,
        db: &'a mut Database,
        keep: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    // Server errors.

    /// The server's code of `error`, as tt reports it.
    fn error_code(&self, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        error.code().map(|code| code.into_owned())
    }

    /// The 1-based character position in the statement that `error` points at.
    fn error_position(&self, _error: &dyn sqlx::error::DatabaseError) -> Option<usize> {
        None
    }

    /// The server's detail lines of `error`, joined by `; `.
    fn error_detail(&self, _error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        None
    }

    /// The text a syntax error message quotes, and the line of the statement it is on.
    fn near_text<'m>(&self, _message: &'m str) -> Option<(&'m str, usize)> {
        None
    }

    /// What kind of failure a server error with `code` (as [`Self::error_code`] gives it)
    /// and `message` is.
    fn classify(&self, code: &str, message: &str) -> Option<ServerError>;
}

/// What a target's schema names on a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// A schema inside the database: the connection's `search_path`.
    Schema,
    /// A database on the same server: the URL's path.
    Database,
    /// The backend has neither (SQLite).
    None,
}

/// A way to hold the migration lock for a run; the lock is keyed by the tracking table's
/// name, so runs on different tracking tables do not wait for each other.
pub(crate) trait Lock: Sync {
    /// Takes the lock, waiting up to `timeout`.
    fn acquire<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Extends the lock's hold where it expires unless renewed (the lease lock).
    ///
    /// # Errors
    /// [`LockError::Lost`](crate::LockError::Lost) when another runner took it over meanwhile.
    fn renew<'a>(
        &'a self,
        _db: &'a mut Database,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether any session holds this lock (the lease lock asks, so that runners with
    /// different lock settings still exclude each other).
    fn is_held<'a>(
        &'a self,
        _db: &'a mut Database,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async { Ok(false) })
    }

    /// Commits the work done under the lock and keeps the lock until [`Lock::acquire`] is
    /// called again: where the lock is the transaction itself (SQLite's write lock), a lock
    /// file keeps other runners out meanwhile. Elsewhere nothing: the lock outlives commits.
    fn commit_keeping<'a>(
        &'a self,
        _db: &'a mut Database,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }

    /// Releases the lock.
    fn release<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// The pauses between tries of a lock that is polled: short at first, so a lock released
/// soon is taken soon, then up to a second, until the lock timeout.
pub(crate) struct Backoff {
    started: Instant,
    timeout: Duration,
    pause: Duration,
}

impl Backoff {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            timeout,
            pause: Duration::from_millis(10),
        }
    }

    /// Sleeps until the next try; `false` (at once) when the timeout is up.
    pub(crate) async fn wait(&mut self) -> bool {
        let left = self.timeout.saturating_sub(self.started.elapsed());
        if left.is_zero() {
            return false;
        }
        // Jitter (from the clock's nanoseconds: 50–150 % of the pause), so that two runners
        // that backed off from each other do not retry in step.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jittered = self.pause.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0);
        tokio::time::sleep(jittered.min(left)).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(1));
        true
    }

    /// How long the tries have taken so far.
    pub(crate) fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The kinds of server error tt explains with a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerError {
    /// A table or function that does not exist.
    MissingObject,
    /// A column that does not exist.
    MissingColumn,
    /// The user lacks a privilege.
    PermissionDenied,
    /// Another session holds a lock (or a deadlock, a statement timeout).
    LockHeld,
    /// The object already exists.
    AlreadyExists,
    /// A syntax error.
    Syntax,
    /// A unique key already holds the value.
    DuplicateKey,
    /// A foreign key is violated.
    ForeignKey,
    /// One transaction locks more objects than the server's lock table holds.
    TooManyLocks,
    /// Objects depend on one being dropped.
    DependentObjects,
    /// The statement cannot run inside a transaction block.
    NotInTransaction,
}

/// The SQLSTATE (or SQLite's numeric code) of a driver error, if the server sent one.
pub(crate) fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|code| code.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_what_each_server_does() {
        // (backend, transactional DDL, one writer, lazy commits, numbered placeholders)
        let check = |backend, transactional, one_writer, lazy, numbered| {
            let d = dialect(backend);
            assert_eq!(
                (
                    d.transactional_ddl(),
                    d.one_writer(),
                    d.lazy_commits(),
                    d.numbered_placeholders()
                ),
                (transactional, one_writer, lazy, numbered),
                "{backend}"
            );
        };
        check(Backend::Postgres, true, false, true, true);
        check(Backend::Mysql, false, false, false, false);
        check(Backend::Sqlite, true, true, false, false);
    }

    #[test]
    fn a_migration_is_a_transaction_or_a_savepoint_of_the_run() {
        let check = |backend, begin: &str, commit: &str, rollback: &str| {
            let d = dialect(backend);
            assert_eq!(
                (
                    d.begin_migration(true),
                    d.commit_migration(),
                    d.rollback_migration()
                ),
                (begin, commit, rollback),
                "{backend}"
            );
        };
        check(Backend::Postgres, "BEGIN", "COMMIT", "ROLLBACK");
        check(Backend::Mysql, "BEGIN", "COMMIT", "ROLLBACK");
        check(
            Backend::Sqlite,
            "SAVEPOINT tt_migration",
            "RELEASE tt_migration",
            "ROLLBACK TO tt_migration; RELEASE tt_migration",
        );
        assert_eq!(
            dialect(Backend::Postgres).begin_migration(false),
            "BEGIN; SET LOCAL synchronous_commit = off"
        );
    }

    #[test]
    fn server_errors_are_classified_per_backend() {
        let check = |backend, code: &str, message: &str, expected| {
            assert_eq!(
                dialect(backend).classify(code, message),
                expected,
                "{backend} {code}"
            );
        };
        check(
            Backend::Postgres,
            "2BP01",
            "",
            Some(ServerError::DependentObjects),
        );
        check(
            Backend::Postgres,
            "53200",
            "",
            Some(ServerError::TooManyLocks),
        );
        check(
            Backend::Mysql,
            "1451 (23000)",
            "",
            Some(ServerError::ForeignKey),
        );
        check(Backend::Mysql, "53200", "", None);
        check(
            Backend::Sqlite,
            "1",
            "UNIQUE constraint failed: t.id",
            Some(ServerError::DuplicateKey),
        );
        check(Backend::Sqlite, "1", "out of memory", None);
    }
}
