//! A connection to one database of any backend, and the few operations the runner needs.

use std::str::FromStr;
use std::time::Instant;

use futures_util::TryStreamExt;
use sqlx::{Connection, Executor};
use tt_schema::Backend;

use crate::backend::connect::{Conn, ConnectOptions, LockMode, redact_url};
use crate::backend::error::TransactionError;
use crate::backend::file_lock::HeldFile;
use crate::backend::value::{Strings, Value, bind_values, column, decode_row, decode_text_row};
use crate::backend::{Dialect, dialect};
use crate::error::Error;
use crate::files::split::placeholders::{numbered_placeholders, replace_placeholders};

/// An open connection to a database: one session, so locks and transactions hold across calls.
#[derive(Debug)]
pub struct Database {
    pub(crate) conn: Conn,
    url: String,
    secret_url: SecretUrl,
    options: ConnectOptions,
    queries_run: u64,
    /// Whether [`Database::begin`] opened a transaction not yet committed or rolled back.
    in_transaction: bool,
    /// Whether statements go through a transaction pooler, where consecutive statements may
    /// reach different server sessions: no prepared statements, no session lock. `None` until
    /// something needs to know ([`Database::detect_pooler`]): finding out costs a second
    /// connection, which a run with nothing to do does without.
    pooled: Option<bool>,
    /// Who this connection is in a lease lock's row: unique per connection.
    lock_owner: String,
    /// The lock file an SQLite run holds between its commits (see `backend::file_lock`).
    held_file: Option<HeldFile>,
    /// Whether a migration's own transaction is open (see [`Database::pinned_schema`]).
    in_migration_transaction: bool,
    /// The schema (PostgreSQL) or database (MySQL) tt works in, found once when connecting:
    /// tt's own tables are named with it, so that a migration's `SET search_path` or `USE`
    /// cannot move where tt records. `None` on SQLite, or when there is none.
    home_schema: Option<String>,
    /// The lease lock's heartbeat while this connection holds the lease.
    heartbeat: Option<Heartbeat>,
    /// The stop its [`crate::Canceller`]s ask for, shared with the connections working for it.
    pub(crate) interrupt: std::sync::Arc<Interrupt>,
}

/// A stop asked of a connection (see `backend::cancel`), shared by its cancellers and the
/// connections working for it.
#[derive(Debug, Default)]
pub(crate) struct Interrupt {
    pub(crate) requested: std::sync::atomic::AtomicBool,
    /// The MySQL connection ids of the connections working for it, whose statements a cancel
    /// stops too (on PostgreSQL the application name finds them).
    pub(crate) workers: std::sync::Mutex<Vec<u64>>,
}

/// A task renewing this connection's lease from a connection of its own (see
/// `backend::lease`); it ends when the lease is released or the connection dropped.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    pub(crate) task: tokio::task::JoinHandle<()>,
    /// Set once the heartbeat could not keep the lease: another runner took it over, or no
    /// renewal got through for most of a lease.
    pub(crate) lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The URL as given, password included, kept to reconnect and to reach a scratch database on
/// the same server; its Debug output is redacted.
struct SecretUrl(String);

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Runs the same generic code for whichever connection type `$db` holds.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::backend::connect::Conn::Postgres($c) => $body,
            $crate::backend::connect::Conn::Mysql($c) => $body,
            $crate::backend::connect::Conn::Sqlite($c) => $body,
        }
    };
}

impl Database {
    /// Connects to `url` (`sqlite://file.db`, `postgres://…`, `mysql://…`); a missing SQLite
    /// file is created.
    ///
    /// # Errors
    /// [`ConnectError::UnsupportedUrl`](crate::ConnectError::UnsupportedUrl) for another scheme,
    /// [`ConnectError::Failed`](crate::ConnectError::Failed) when the server refuses.
    pub async fn connect(url: &str, options: ConnectOptions) -> Result<Self, Error> {
        Self::connect_knowing_pooler(url, options, None).await
    }

    /// [`Self::connect`], told whether a transaction pooler is in between where another
    /// connection to the same URL found out ([`Self::known_pooler`]): a fleet of schemas on one
    /// server probes once, not once a schema.
    pub(crate) async fn connect_knowing_pooler(
        url: &str,
        options: ConnectOptions,
        pooled: Option<bool>,
    ) -> Result<Self, Error> {
        let conn = open(url, &options).await?;
        let mut db = Self {
            conn,
            url: redact_url(url),
            secret_url: SecretUrl(url.to_string()),
            pooled: None,
            options,
            queries_run: 0,
            in_transaction: false,
            lock_owner: lock_owner(),
            held_file: None,
            in_migration_transaction: false,
            home_schema: None,
            heartbeat: None,
            interrupt: Default::default(),
        };
        if !db.dialect().may_be_pooled() {
            db.pooled = Some(false);
        } else if db.options.lock == Some(LockMode::Table) {
            // `lock = "table"` on PostgreSQL says a pooler may be in between, detected or not.
            db.pooled = Some(true);
        } else if pooled.is_some() {
            db.pooled = pooled;
        } else if db.options.postgres_schema.is_some() {
            // A schema must be pinned per transaction behind a pooler (`pinned_schema`) from
            // the first statement on, so the probe cannot wait for the lock here.
            db.detect_pooler().await?;
        }
        db.run_session_sql().await?;
        db.home_schema = db.read_home_schema().await?;
        Ok(db)
    }

    /// The schema tt works in: the connection's current schema (`postgres_schema` sets it) or
    /// database once `session_sql` ran; `None` where there is none (SQLite, a MySQL URL without
    /// a database, a `search_path` naming no existing schema).
    async fn read_home_schema(&mut self) -> Result<Option<String>, Error> {
        let Some(sql) = self.dialect().current_schema_sql() else {
            return Ok(None);
        };
        let context = "reading the current schema";
        let rows = self
            .query_rows(sql, &[])
            .await
            .map_err(Error::query(context))?;
        let schema = match rows.first() {
            Some(row) => column(row, 0, "schema")
                .opt_text()
                .map_err(Error::query(context))?,
            None => None,
        };
        Ok(schema.filter(|name| !name.is_empty()))
    }

    /// Reads the schema tt works in again, after creating the one the connection names.
    ///
    /// # Errors
    /// When the current schema cannot be read.
    pub(crate) async fn refresh_home_schema(&mut self) -> Result<(), Error> {
        self.home_schema = self.read_home_schema().await?;
        Ok(())
    }

    /// Whether this connection, its work done, may work in another schema
    /// ([`Self::reuse_in`]): the dialect restarts sessions, the connection reaches its server
    /// directly (through a transaction pooler a session is not the connection's own), and no
    /// transaction is open, no lease held and no cancel asked for.
    pub(crate) fn reusable(&self) -> bool {
        self.dialect().reuses_sessions()
            && self.pooled == Some(false)
            && !self.in_transaction
            && self.heartbeat.is_none()
            && !self.cancel_requested()
    }

    /// Makes this connection, whose work is done, work in `schema` as a new connection to it
    /// would: the dialect's statements restart the session, then `session_sql` runs again.
    ///
    /// Returns false, and changes nothing, when the connection is not [`Self::reusable`].
    ///
    /// # Errors
    /// When one of the statements fails: the caller closes the connection.
    pub(crate) async fn reuse_in(&mut self, schema: &str) -> Result<bool, Error> {
        if !self.reusable() {
            return Ok(false);
        }
        // The driver forgets the statements it prepared, which the restart deallocates.
        with_conn!(&mut self.conn, c => c.clear_cached_statements().await)
            .map_err(Error::query("forgetting the prepared statements"))?;
        for sql in self.dialect().restart_session(schema) {
            self.execute(&sql).await.map_err(Error::query(format!(
                "starting the session over in {schema}"
            )))?;
        }
        self.options.postgres_schema = Some(schema.to_string());
        self.run_session_sql().await?;
        self.home_schema = self.read_home_schema().await?;
        Ok(true)
    }

    /// The schema (PostgreSQL) or database (MySQL) tt works in, found when connecting.
    pub(crate) fn home_schema(&self) -> Option<&str> {
        self.home_schema.as_deref()
    }

    /// `table` of tt's (the tracking table, the lock table), quoted and named with the schema
    /// tt works in where there is one.
    pub(crate) fn own_table(&self, table: &str) -> String {
        let backend = self.backend();
        match &self.home_schema {
            Some(schema) => format!(
                "{}.{}",
                backend.quote_ident(schema),
                backend.quote_ident(table)
            ),
            None => backend.quote_ident(table),
        }
    }

    /// Whether a transaction pooler (PgBouncer, a hosted service's pooler) is likely between
    /// tt and the server: the server listens on another port than the URL names (a pooler or
    /// proxy is in between; the lease lock is safe behind either), or a second connection
    /// reaches the very server session this one used, which only a transaction (or
    /// statement) pooler does: PgBouncer hands an idle server session to the next client
    /// first. Neither check can be sure; `lock = "table"` is.
    async fn behind_transaction_pooler(&mut self) -> Result<bool, Error> {
        let sql = "SELECT inet_server_port(), pg_backend_pid()";
        let (server_port, mine) = self.session(sql).await?;
        let url_port = sqlx::postgres::PgConnectOptions::from_str(&self.secret_url.0)
            .ok()
            .map(|options| i64::from(options.get_port()));
        // A Unix socket has no port: nothing to compare.
        if server_port.is_some() && url_port.is_some() && server_port != url_port {
            return Ok(true);
        }
        let mut other = Database {
            conn: open(&self.secret_url.0, &self.options).await?,
            url: self.url.clone(),
            secret_url: SecretUrl(self.secret_url.0.clone()),
            options: self.options.clone(),
            queries_run: 0,
            in_transaction: false,
            pooled: Some(true),
            lock_owner: String::new(),
            held_file: None,
            in_migration_transaction: false,
            home_schema: None,
            heartbeat: None,
            interrupt: Default::default(),
        };
        let theirs = other.session(sql).await;
        // The probe's own connection: nothing of it is left to undo.
        let _ = other.close().await;
        Ok(mine.is_some() && mine == theirs?.1)
    }

    /// The server's port (NULL over a Unix socket) and the session's process id, as `sql`
    /// returns them, read without preparing it.
    async fn session(&mut self, sql: &str) -> Result<(Option<i64>, Option<i64>), Error> {
        let context = "reading the server session";
        let rows = self
            .fetch_inlined(sql, &[], Columns::Own)
            .await
            .map_err(Error::query(context))?;
        let Some(row) = rows.first() else {
            return Ok((None, None));
        };
        let port = column(row, 0, "inet_server_port").opt_int();
        let pid = column(row, 1, "pg_backend_pid").opt_int();
        Ok((
            port.map_err(Error::query(context))?,
            pid.map_err(Error::query(context))?,
        ))
    }

    /// Whether statements go through a transaction pooler (detected, or `lock = "table"` on
    /// PostgreSQL); `false` until [`Self::detect_pooler`] found one.
    pub(crate) fn pooled(&self) -> bool {
        self.pooled == Some(true)
    }

    /// Whether a transaction pooler is in between, where this connection found out.
    pub(crate) fn known_pooler(&self) -> Option<bool> {
        self.pooled
    }

    /// Finds out, once per connection, whether a transaction pooler is in between (see
    /// [`Self::behind_transaction_pooler`]): before the lock is chosen and before a caller's
    /// statement is prepared. Until then tt's own statements go unprepared, which is right
    /// either way.
    ///
    /// # Errors
    /// When the probe's queries or its second connection fail.
    pub(crate) async fn detect_pooler(&mut self) -> Result<bool, Error> {
        if let Some(pooled) = self.pooled {
            return Ok(pooled);
        }
        let pooled = self.behind_transaction_pooler().await?;
        self.pooled = Some(pooled);
        Ok(pooled)
    }

    /// The schema every statement must be told about: through a transaction pooler the
    /// `search_path` of the connection's startup parameters is not passed on (PgBouncer
    /// ignores `options`), and any server session may run the next statement, so each
    /// transaction sets it for itself (`SET LOCAL`). `None` when connected directly, or when
    /// no schema was asked for (the role's `search_path` then applies, as the pooler's).
    pub(crate) fn pinned_schema(&self) -> Option<&str> {
        self.options
            .postgres_schema
            .as_deref()
            .filter(|_| self.pooled())
    }

    /// Tells the connection that a migration's transaction is open (or over): its statements
    /// already run with the pinned schema set by the transaction's start, and a migration
    /// that changes its own `search_path` keeps the change for its later statements.
    pub(crate) fn set_in_migration_transaction(&mut self, open: bool) {
        self.in_migration_transaction = open;
    }

    /// `sql` as it must be sent: with the pinned schema set for its transaction first, unless
    /// it ends a transaction (a `SET` in an aborted one would fail, and the `ROLLBACK` with it)
    /// or runs inside a migration's transaction, which set it already.
    fn with_pinned_schema<'s>(&self, sql: &'s str) -> (std::borrow::Cow<'s, str>, bool) {
        let Some(schema) = self.pinned_schema() else {
            return (sql.into(), false);
        };
        let first = sql
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if self.in_migration_transaction
            || ["COMMIT", "ROLLBACK", "END", "ABORT"].contains(&&*first)
        {
            return (sql.into(), false);
        }
        let schema = self.backend().quote_ident(schema);
        (
            format!("SET LOCAL search_path TO {schema};\n{sql}").into(),
            true,
        )
    }

    /// Who this connection is in a lease lock's row.
    pub(crate) fn lock_owner(&self) -> &str {
        &self.lock_owner
    }

    /// The lock file this connection's SQLite run holds between its commits, if any.
    pub(crate) fn held_file(&mut self) -> &mut Option<HeldFile> {
        &mut self.held_file
    }

    /// A second connection to the same database with this one's settings and lease owner
    /// (the lease's heartbeat renews through it while this one runs a migration).
    pub(crate) async fn sibling(&self) -> Result<Database, Error> {
        let mut other = Database {
            conn: open(&self.secret_url.0, &self.options).await?,
            url: self.url.clone(),
            secret_url: SecretUrl(self.secret_url.0.clone()),
            options: self.options.clone(),
            queries_run: 0,
            in_transaction: false,
            pooled: self.pooled,
            lock_owner: self.lock_owner.clone(),
            held_file: None,
            in_migration_transaction: false,
            home_schema: self.home_schema.clone(),
            heartbeat: None,
            interrupt: Default::default(),
        };
        other.run_session_sql().await?;
        Ok(other)
    }

    /// Keeps `heartbeat` running while the lease is held; the one it replaces stops.
    pub(crate) fn set_heartbeat(&mut self, heartbeat: Option<Heartbeat>) {
        self.heartbeat = heartbeat;
    }

    /// Whether the heartbeat found the lease lost.
    pub(crate) fn heartbeat_lost(&self) -> bool {
        self.heartbeat
            .as_ref()
            .is_some_and(|h| h.lost.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Runs the options' `session_sql` on the connection just opened.
    async fn run_session_sql(&mut self) -> Result<(), Error> {
        for sql in self.options.session_sql.clone() {
            self.execute(&sql)
                .await
                .map_err(Error::query(format!("running session_sql `{sql}`")))?;
        }
        Ok(())
    }

    /// Closes the connection, runs `between` (which replaces the SQLite file, say), then
    /// connects again to the same URL.
    pub(crate) async fn reopen_around(
        &mut self,
        between: impl FnOnce() -> Result<(), Error>,
    ) -> Result<(), Error> {
        // Hold an in-memory connection meanwhile, so `self` is never without one.
        let placeholder = open("sqlite::memory:", &self.options).await?;
        let old = std::mem::replace(&mut self.conn, placeholder);
        with_conn!(old, c => c.close().await).map_err(Error::query("closing the connection"))?;
        between()?;
        self.conn = open(&self.secret_url.0, &self.options).await?;
        self.run_session_sql().await
    }

    /// The path of an SQLite database file; `None` for in-memory databases and other backends.
    pub(crate) fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&self.secret_url.0).ok()?;
        let path = options.get_filename();
        let name = path.to_string_lossy();
        (self.backend() == Backend::Sqlite && !name.is_empty() && !name.contains(":memory:"))
            .then(|| path.to_path_buf())
    }
}

async fn open(url: &str, options: &ConnectOptions) -> Result<Conn, Error> {
    crate::backend::connect::open(url, options).await
}

impl Database {
    /// The backend this connection speaks to.
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Mysql(_) => Backend::Mysql,
            Conn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The server's version as `server_version_num` counts it (`150004`), where the
    /// connection knows it (PostgreSQL, also through PgBouncer).
    pub(crate) fn server_version_num(&self) -> Option<u32> {
        match &self.conn {
            Conn::Postgres(conn) => conn.server_version_num(),
            _ => None,
        }
    }

    /// What differs on this connection's backend: SQL texts and capabilities.
    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        dialect(self.backend())
    }

    /// The URL connected to, with any password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// The URL as given, password included: only for connecting to the same server again.
    pub(crate) fn connect_url(&self) -> &str {
        &self.secret_url.0
    }

    /// The options this connection was opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// How many queries this connection has run (a batch of statements counts once), so tests
    /// can check that an operation runs a bounded number of them.
    pub fn queries_run(&self) -> u64 {
        self.queries_run
    }

    /// Closes the connection cleanly.
    ///
    /// # Errors
    /// When the server does not acknowledge the close.
    pub async fn close(self) -> Result<(), Error> {
        with_conn!(self.conn, c => c.close().await).map_err(Error::query("closing the connection"))
    }

    /// Runs one or more `;`-separated statements in one round trip, without preparing them.
    ///
    /// On failure returns how many statements completed before the failing one (0-based index
    /// of the failing statement) with the error.
    pub(crate) async fn execute_batch(&mut self, sql: &str) -> Result<u64, BatchError> {
        self.queries_run += 1;
        let started = Instant::now();
        let text = sql;
        let (sql, pinned) = self.with_pinned_schema(sql);
        let sql = sqlx::AssertSqlSafe(sql.into_owned());
        // The pinned schema's `SET` is not one of the caller's statements.
        let mut completed = 0usize;
        let mut rows = 0u64;
        let result: Result<(), sqlx::Error> = with_conn!(&mut self.conn, c => {
            let mut results = sqlx::raw_sql(sql).execute_many(&mut *c);
            loop {
                match results.try_next().await {
                    Ok(Some(done)) => {
                        completed += 1;
                        rows += done.rows_affected();
                    }
                    Ok(None) => break Ok(()),
                    Err(error) => break Err(error),
                }
            }
        });
        log_round_trip(text, started, &result);
        let completed = completed.saturating_sub(usize::from(pinned));
        result
            .map(|()| rows)
            .map_err(|source| BatchError { completed, source })
    }

    /// Runs one statement without preparing it and ignores its result.
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.queries_run += 1;
        let started = Instant::now();
        let text = sql;
        let sql = sqlx::AssertSqlSafe(self.with_pinned_schema(sql).0.into_owned());
        let result =
            with_conn!(&mut self.conn, c => c.execute(sqlx::raw_sql(sql)).await.map(|_| ()));
        log_round_trip(text, started, &result);
        result
    }

    /// Runs one of tt's own statements with `?` placeholders bound to `args`; returns rows
    /// affected.
    pub(crate) async fn execute_with(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<u64, sqlx::Error> {
        // tt binds the same types to its own statements every time: prepare them once.
        self.execute_bound(sql, args, true).await
    }

    /// Runs one statement with `?` placeholders bound to `args`, prepared once and reused when
    /// `persistent`; returns rows affected.
    async fn execute_bound(
        &mut self,
        sql: &str,
        args: &[Value],
        persistent: bool,
    ) -> Result<u64, sqlx::Error> {
        if self.pooled != Some(false) {
            return self.execute_inlined(sql, args).await;
        }
        self.queries_run += 1;
        let started = Instant::now();
        let query_sql = sqlx::AssertSqlSafe(self.placeholders(sql));
        let result = with_conn!(&mut self.conn, c => {
            let query = bind_values!(sqlx::query(query_sql).persistent(persistent), args);
            query.execute(&mut *c).await.map(|done| done.rows_affected())
        });
        log_round_trip(sql, started, &result);
        result
    }

    /// Runs a query with `?` placeholders bound to `args` (prepared once and reused when
    /// `persistent`) and reads its rows as `columns` says.
    async fn fetch_bound(
        &mut self,
        sql: &str,
        args: &[Value],
        persistent: bool,
        columns: Columns,
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        if self.pooled != Some(false) {
            return self.fetch_inlined(sql, args, columns).await;
        }
        self.queries_run += 1;
        let started = Instant::now();
        let query_sql = sqlx::AssertSqlSafe(self.placeholders(sql));
        let result = with_conn!(&mut self.conn, c => {
            let query = bind_values!(sqlx::query(query_sql).persistent(persistent), args);
            query.fetch_all(&mut *c).await.and_then(|rows| {
                rows.iter()
                    .map(|row| match columns {
                        Columns::Typed => decode_row(row, Strings::Text),
                        Columns::Own => decode_row(row, Strings::BinaryAsText),
                        Columns::Text => decode_text_row(row),
                    })
                    .collect()
            })
        });
        log_round_trip(sql, started, &result);
        result
    }

    /// As [`Self::execute_bound`], through a transaction pooler (or before tt knows there is
    /// none): the values written into the text as literals and sent as one simple query. A
    /// prepared statement lives in one server session, and the pooler may send its next use
    /// (or even the execution after the parse) to another.
    async fn execute_inlined(&mut self, sql: &str, args: &[Value]) -> Result<u64, sqlx::Error> {
        self.queries_run += 1;
        let started = Instant::now();
        let text = inline_values(sql, args);
        let query_sql = sqlx::AssertSqlSafe(self.with_pinned_schema(&text).0.into_owned());
        let result = with_conn!(&mut self.conn, c => {
            c.execute(sqlx::raw_sql(query_sql)).await.map(|done| done.rows_affected())
        });
        log_round_trip(&text, started, &result);
        result
    }

    /// As [`Self::fetch_bound`], through a transaction pooler (see [`Self::execute_inlined`]).
    async fn fetch_inlined(
        &mut self,
        sql: &str,
        args: &[Value],
        columns: Columns,
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        self.queries_run += 1;
        let started = Instant::now();
        let text = inline_values(sql, args);
        let query_sql = sqlx::AssertSqlSafe(self.with_pinned_schema(&text).0.into_owned());
        let result = with_conn!(&mut self.conn, c => {
            c.fetch_all(sqlx::raw_sql(query_sql)).await.and_then(|rows| {
                rows.iter()
                    .map(|row| match columns {
                        Columns::Typed => decode_row(row, Strings::Text),
                        Columns::Own => decode_row(row, Strings::BinaryAsText),
                        Columns::Text => decode_text_row(row),
                    })
                    .collect()
            })
        });
        log_round_trip(&text, started, &result);
        result
    }

    /// Runs a query whose columns are all text or NULL (cast others in SQL) and returns its
    /// rows, for reports and checks that only print values.
    ///
    /// # Errors
    /// When the query fails or a column is not text.
    pub async fn fetch_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
        self.query_text_rows(sql, &[])
            .await
            .map_err(Error::query(format!("query `{sql}`")))
    }

    /// Runs one statement with `?` placeholders bound to `params` in order, and returns how
    /// many rows it affected (matched, for an `UPDATE`).
    ///
    /// Write `?` on every backend: tt turns them into `$1`, `$2`, … for PostgreSQL. A `?`
    /// inside a quoted string, a quoted identifier or a comment is left alone; PostgreSQL's
    /// jsonb `?` operators cannot be used (call `jsonb_exists` instead).
    ///
    /// # Errors
    /// [`Error::Query`] naming the statement, with the server's error.
    ///
    /// # Examples
    /// ```
    /// # use tt_migrate::{ConnectOptions, Database, Value};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tt_migrate::Error> {
    /// let mut db = Database::connect("sqlite::memory:", ConnectOptions::default()).await?;
    /// db.exec("CREATE TABLE items (aoid INTEGER PRIMARY KEY, name TEXT, ql INTEGER)", &[])
    ///     .await?;
    /// let ql: Option<i64> = None;
    /// let inserted = db
    ///     .exec(
    ///         "INSERT INTO items (aoid, name, ql) VALUES (?, ?, ?)",
    ///         &[246_817.into(), "Why? Because.".into(), ql.into()],
    ///     )
    ///     .await?;
    /// assert_eq!(inserted, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, Error> {
        // A caller's values are bound where they can be, as their types say.
        self.detect_pooler().await?;
        let persistent = self.dialect().caches_statements_of_any_values();
        self.execute_bound(sql, params, persistent)
            .await
            .map_err(Error::query(format!("statement `{}`", sql.trim())))
    }

    /// Runs a query with `?` placeholders bound to `params` (as [`exec`](Self::exec) does)
    /// and returns its rows, each column read as a [`Value`] by its SQL type.
    ///
    /// Integer, boolean and text columns are read (PostgreSQL's one-byte `"char"` as the text
    /// of its ASCII character); cast others (decimals, timestamps, JSON) to text or an integer
    /// in the query.
    ///
    /// # Errors
    /// [`Error::Query`] naming the query, when it fails or returns a column of another type.
    ///
    /// # Examples
    /// ```
    /// # use tt_migrate::{ConnectOptions, Database, Value};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tt_migrate::Error> {
    /// let mut db = Database::connect("sqlite::memory:", ConnectOptions::default()).await?;
    /// db.exec("CREATE TABLE items (aoid INTEGER PRIMARY KEY, name TEXT, ql INTEGER)", &[])
    ///     .await?;
    /// db.exec("INSERT INTO items VALUES (?, ?, ?)", &[1.into(), "Pillow".into(), Value::Null])
    ///     .await?;
    /// let rows = db.fetch("SELECT aoid, name, ql FROM items WHERE aoid = ?", &[1.into()]).await?;
    /// assert_eq!(rows, [[Value::Int(1), Value::Text("Pillow".into()), Value::Null]]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, Error> {
        self.detect_pooler().await?;
        let persistent = self.dialect().caches_statements_of_any_values();
        self.fetch_bound(sql, params, persistent, Columns::Typed)
            .await
            .map_err(Error::query(format!("query `{}`", sql.trim())))
    }

    /// Starts a transaction on this connection: what runs until [`commit`](Self::commit)
    /// becomes visible at once, and [`rollback`](Self::rollback) undoes it.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so a second writer waits
    /// here (up to the lock timeout) instead of failing half-way. MySQL commits a transaction
    /// implicitly at any DDL statement, so keep schema changes to migrations. Migrations
    /// refuse to run while a transaction is open, as the runner manages its own.
    ///
    /// # Errors
    /// [`TransactionError::AlreadyOpen`] when one is already open (MySQL would silently commit it);
    /// [`Error::Query`] when the server refuses.
    ///
    /// # Examples
    /// ```
    /// # use tt_migrate::{ConnectOptions, Database, Value};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tt_migrate::Error> {
    /// let mut db = Database::connect("sqlite::memory:", ConnectOptions::default()).await?;
    /// db.exec("CREATE TABLE stat_values (stat INTEGER, value INTEGER)", &[]).await?;
    ///
    /// db.begin().await?;
    /// db.exec("INSERT INTO stat_values VALUES (?, ?)", &[54.into(), 200.into()]).await?;
    /// db.rollback().await?;
    ///
    /// db.begin().await?;
    /// db.exec("INSERT INTO stat_values VALUES (?, ?)", &[79.into(), 14.into()]).await?;
    /// db.commit().await?;
    ///
    /// let rows = db.fetch("SELECT stat, value FROM stat_values", &[]).await?;
    /// assert_eq!(rows, [[Value::Int(79), Value::Int(14)]]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn begin(&mut self) -> Result<(), Error> {
        if self.in_transaction {
            return Err(Error::Transaction(TransactionError::AlreadyOpen));
        }
        self.execute(self.dialect().begin())
            .await
            .map_err(Error::query("starting a transaction"))?;
        self.in_transaction = true;
        Ok(())
    }

    /// Whether [`begin`](Self::begin) opened a transaction not yet committed or rolled back.
    pub(crate) fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Commits the transaction [`begin`](Self::begin) started.
    ///
    /// # Errors
    /// [`TransactionError::NoneOpen`] when none is open; [`Error::Query`] when the server refuses
    /// (the transaction is then over, its changes undone).
    pub async fn commit(&mut self) -> Result<(), Error> {
        self.end_transaction("COMMIT", "commit", "committing the transaction")
            .await
    }

    /// Rolls back the transaction [`begin`](Self::begin) started, undoing its changes.
    ///
    /// # Errors
    /// [`TransactionError::NoneOpen`] when none is open; [`Error::Query`] when the server refuses.
    pub async fn rollback(&mut self) -> Result<(), Error> {
        self.end_transaction("ROLLBACK", "roll back", "rolling back the transaction")
            .await
    }

    async fn end_transaction(
        &mut self,
        sql: &str,
        action: &'static str,
        context: &'static str,
    ) -> Result<(), Error> {
        if !self.in_transaction {
            return Err(Error::Transaction(TransactionError::NoneOpen { action }));
        }
        // Whatever the server answers, the transaction is over: a failed COMMIT rolls back.
        self.in_transaction = false;
        self.execute(sql).await.map_err(Error::query(context))
    }

    /// Runs one of tt's own queries whose columns are all text (cast them in SQL), with `?`
    /// placeholders bound to `args`.
    pub(crate) async fn query_text_rows(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
        let rows = self.fetch_bound(sql, args, true, Columns::Text).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|value| match value {
                        Value::Text(text) => Some(text),
                        // Columns::Text reads nothing else.
                        _ => None,
                    })
                    .collect()
            })
            .collect())
    }

    /// The first row of one of tt's own text queries (as [`Self::query_text_rows`]) with
    /// NULL as empty text, for a message that reads better without it than with an error:
    /// `None` when the query fails or returns no row.
    pub(crate) async fn first_text_row<const N: usize>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Option<[String; N]> {
        let rows = self.query_text_rows(sql, args).await.ok()?;
        let row = rows.into_iter().next()?;
        let mut fields = row.into_iter().map(Option::unwrap_or_default);
        Some(std::array::from_fn(|_| fields.next().unwrap_or_default()))
    }

    /// Runs one of tt's own queries with `?` placeholders bound to `args` and reads each
    /// column as a [`Value`] by its SQL type.
    pub(crate) async fn query_rows(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<Vec<Value>>, sqlx::Error> {
        self.fetch_bound(sql, args, true, Columns::Own).await
    }

    /// The SQL type to cast a column to for reading it as text with
    /// [`fetch_text`](Self::fetch_text) (`TEXT`; `CHAR` on MySQL, which has no cast to `TEXT`).
    pub fn text_type(&self) -> &'static str {
        self.dialect().text_type()
    }

    /// `?` placeholders as the backend wants them (`$1`, `$2`, … on PostgreSQL).
    fn placeholders(&self, sql: &str) -> String {
        if self.dialect().numbered_placeholders() {
            numbered_placeholders(sql)
        } else {
            sql.to_string()
        }
    }
}

/// `sql` with each `?` outside quotes and comments replaced by the PostgreSQL literal of its
/// value (text quoted with `'` doubled, as `standard_conforming_strings` reads it).
fn inline_values(sql: &str, args: &[Value]) -> String {
    replace_placeholders(sql, |n| match args.get(n - 1) {
        None | Some(Value::Null) => "NULL".to_string(),
        Some(Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Text(t)) => format!("'{}'", t.replace('\'', "''")),
    })
}

/// Logs one round trip at debug level (what `tt -v` shows): the SQL sent, then its wall time
/// in milliseconds and, when it failed, the server's error.
fn log_round_trip<T>(sql: &str, started: Instant, result: &Result<T, sqlx::Error>) {
    let ms = format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(_) => tracing::debug!(target: "tt_migrate::sql", ms = %ms, "{}", sql.trim()),
        Err(error) => {
            let error = crate::backend::error::driver_text(error);
            tracing::debug!(target: "tt_migrate::sql", ms = %ms, %error, "{}", sql.trim());
        }
    }
}

/// Who a connection is in a lease lock's row: the process and the moment it connected.
fn lock_owner() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tt pid {} #{:x}", std::process::id(), nanos % (1 << 48))
}

/// A value bound to a placeholder of tt's own queries.
pub(crate) type Arg = Value;

/// How [`Database::fetch_bound`] reads columns.
#[derive(Debug, Clone, Copy)]
enum Columns {
    /// Each by its SQL type ([`decode_row`]), as a user's query: binary strings refused.
    Typed,
    /// Each by its SQL type, as one of tt's own queries: binary strings read as text.
    Own,
    /// Each as text or NULL, whatever its type allows ([`decode_text_row`]).
    Text,
}

/// A batch that failed at one of its statements.
#[derive(Debug)]
pub(crate) struct BatchError {
    /// Statements that completed before the failing one.
    pub(crate) completed: usize,
    pub(crate) source: sqlx::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_inlined_as_literals_outside_quotes() {
        let check = |sql: &str, args: &[Value], expected: &str| {
            assert_eq!(inline_values(sql, args), expected)
        };
        check(
            "INSERT INTO t VALUES (?, ?, ?, ?)",
            &[
                Value::Int(-7),
                "it's".into(),
                Value::Null,
                Value::Bool(true),
            ],
            "INSERT INTO t VALUES (-7, 'it''s', NULL, TRUE)",
        );
        check(
            "SELECT 'why?', ?",
            &["a\\b".into()],
            "SELECT 'why?', 'a\\b'",
        );
    }
}
