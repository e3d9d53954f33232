//! Test support for tt: a fresh, uniquely named database per test, dropped afterwards.
//!
//! PostgreSQL and MySQL come from `TT_TEST_POSTGRES_URL` / `TT_TEST_MYSQL_URL` (defaults
//! `postgres://postgres@127.0.0.1:5432/postgres`, `mysql://root@127.0.0.1:3306/test`). When a
//! server is unreachable the test writes `skipped: no <backend> at <url>` to stderr (past
//! libtest's output capture, so the skip shows in every run) and should return
//! early, unless `TT_REQUIRE_BACKENDS` names that backend: then it panics. SQLite always works.
//! [`Server`] starts a throwaway PostgreSQL or MariaDB server (own port, socket and data
//! directory, TLS with [`Certificates`] the test generates) for settings the shared servers
//! must not change.
//! A PostgreSQL test database is also reachable through PgBouncer when `TT_TEST_PGBOUNCER_URL`
//! (transaction pooling) or `TT_TEST_PGBOUNCER_SESSION_URL` (session pooling) is set
//! ([`TestDb::through_pgbouncer`]); `pgbouncer` in `TT_REQUIRE_BACKENDS` makes them required.
//! This crate is a dev-dependency only; it never ships in `tt`.
//!
//! ```no_run
//! # async fn example() {
//! use tt_testdb::TestDb;
//! use tt_schema::Backend;
//!
//! let Some(db) = TestDb::create(Backend::Postgres).await else { return };
//! println!("{}", db.url());
//! # }
//! ```
#![deny(missing_docs)]

mod certs;
mod server;

pub use certs::Certificates;
pub use server::Server;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Executor};
use tt_schema::Backend;
use url::Url;

/// A database that exists for one test and is dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    name: String,
    admin_url: String,
    // Keeps the SQLite file's directory alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates a fresh database on `backend`, or returns `None` (after printing why) when its
    /// server is unreachable and `TT_REQUIRE_BACKENDS` does not name it.
    ///
    /// # Panics
    /// When the server is unreachable and the backend is required, or creation fails.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join(format!("{name}.db"));
                Some(TestDb {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    name,
                    admin_url: String::new(),
                    _dir: Some(dir),
                })
            }
            Backend::Postgres | Backend::Mysql => {
                let admin_url = admin_url(backend);
                let create = format!("CREATE DATABASE {name}");
                if let Err(error) = execute(backend, &admin_url, &create).await {
                    if is_required(backend) {
                        panic!(
                            "{backend} is required by TT_REQUIRE_BACKENDS but {} failed: {error}",
                            redact(&admin_url)
                        );
                    }
                    skipped(&format!("no {backend} at {}", redact(&admin_url)));
                    return None;
                }
                let url = replace_database(&admin_url, &name);
                Some(TestDb {
                    backend,
                    url,
                    name,
                    admin_url,
                    _dir: None,
                })
            }
        }
    }

    /// Creates a fresh database on every backend that is reachable (SQLite always).
    pub async fn create_all() -> Vec<TestDb> {
        let mut dbs = Vec::new();
        for backend in Backend::ALL {
            if let Some(db) = TestDb::create(backend).await {
                dbs.push(db);
            }
        }
        dbs
    }

    /// The URL of this PostgreSQL database through the PgBouncer of `mode`, or `None` (after
    /// printing why) when its variable is unset and `TT_REQUIRE_BACKENDS` does not name
    /// `pgbouncer`.
    ///
    /// # Panics
    /// When the variable is unset and PgBouncer is required.
    pub fn through_pgbouncer(&self, mode: PoolMode) -> Option<String> {
        let var = match mode {
            PoolMode::Transaction => "TT_TEST_PGBOUNCER_URL",
            PoolMode::Session => "TT_TEST_PGBOUNCER_SESSION_URL",
        };
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(replace_database(&url, &self.name)),
            _ if is_required_name("pgbouncer") => {
                panic!("pgbouncer is required by TT_REQUIRE_BACKENDS but {var} is not set")
            }
            _ => {
                println!("skipped: no pgbouncer ({var} is not set)");
                None
            }
        }
    }

    /// The backend of this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A URL that connects to this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name (for SQLite, the file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server's administrative database this one was created from (empty for
    /// SQLite).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_sql = match self.backend {
            Backend::Sqlite => return,
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Backend::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let backend = self.backend;
        let admin_url = self.admin_url.clone();
        // Drop runs outside any async context, possibly inside one that is shutting down:
        // a thread of its own with a small runtime always can finish the statement.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(execute(backend, &admin_url, &drop_sql))
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// The server URL tests use for `backend`, from the environment or the default.
pub fn admin_url(backend: Backend) -> String {
    let (var, default) = match backend {
        Backend::Postgres => (
            "TT_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        Backend::Mysql => ("TT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        Backend::Sqlite => return "sqlite::memory:".to_string(),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// Whether `TT_REQUIRE_BACKENDS` (comma-separated) names `backend`.
pub fn is_required(backend: Backend) -> bool {
    std::env::var("TT_REQUIRE_BACKENDS").is_ok_and(|list| {
        list.split(',')
            .filter_map(|name| name.trim().parse::<Backend>().ok())
            .any(|b| b == backend)
    })
}

/// Whether `TT_REQUIRE_BACKENDS` names `name` (as `pgbouncer`, which is no backend).
fn is_required_name(name: &str) -> bool {
    std::env::var("TT_REQUIRE_BACKENDS")
        .is_ok_and(|list| list.split(',').any(|n| n.trim().eq_ignore_ascii_case(name)))
}

/// How a PgBouncer in front of the test server pools server connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per transaction (`TT_TEST_PGBOUNCER_URL`).
    Transaction,
    /// A server connection per client connection (`TT_TEST_PGBOUNCER_SESSION_URL`).
    Session,
}

async fn execute(backend: Backend, url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            conn.execute(sqlx::raw_sql(sql)).await?;
            conn.close().await
        }
        Backend::Mysql => {
            let mut conn = sqlx::MySqlConnection::connect(url).await?;
            conn.execute(sqlx::raw_sql(sql)).await?;
            conn.close().await
        }
        Backend::Sqlite => {
            let options = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()?
                .create_if_missing(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            conn.execute(sqlx::raw_sql(sql)).await?;
            conn.close().await
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "tt_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Tells that a test is skipped and why, on stderr even while libtest captures output: it
/// captures `print!` and `eprint!`, not writes to the stderr handle.
pub fn skipped(why: &str) {
    use std::io::Write as _;
    // Nothing to do when stderr is gone.
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// `url` with its path (the database name) replaced by `database`, keeping the query string.
///
/// # Panics
/// When `url` is not a URL (it came from `TT_TEST_*_URL` and was already used to connect).
fn replace_database(url: &str, database: &str) -> String {
    let mut parsed =
        Url::parse(url).unwrap_or_else(|error| panic!("`{}` is not a URL: {error}", redact(url)));
    parsed.set_path(&format!("/{database}"));
    parsed.into()
}

/// `url` with any password, in the user info or the query, replaced by `***`.
fn redact(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        // Where a secret would be is unknown.
        return "***".to_string();
    };
    if parsed.password().is_some() {
        // Only URLs without a host refuse a password, and this one has one.
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "***".into()
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("not a url"), "***");
    }

    #[test]
    fn a_password_in_the_query_is_redacted() {
        assert_eq!(
            redact("postgres://u@h/db?sslmode=disable&password=s3cret"),
            "postgres://u@h/db?sslmode=disable&password=***"
        );
        assert_eq!(
            redact("mysql://u:a@h/db?password=b"),
            "mysql://u:***@h/db?password=***"
        );
    }

    #[tokio::test]
    async fn each_backend_gives_a_fresh_database() {
        for db in TestDb::create_all().await {
            let name = db.name().to_string();
            execute(db.backend(), db.url(), "CREATE TABLE t (x INTEGER)")
                .await
                .expect("table created");
            let admin = db.admin_url().to_string();
            let backend = db.backend();
            drop(db);
            if backend != Backend::Sqlite {
                // The database is gone: connecting to it fails.
                let url = replace_database(&admin, &name);
                assert!(
                    execute(backend, &url, "SELECT 1").await.is_err(),
                    "{name} was dropped"
                );
            }
        }
    }
}
