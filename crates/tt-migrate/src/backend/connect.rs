//! From a database URL and tt's options to an open connection: TLS modes and certificate
//! files, libpq's Unix-socket form, the connect timeout, and the driver's statement log.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::Connection as _;
use tt_schema::Backend;

use crate::backend::error::{ConnectError, DriverError};
use crate::error::Error;

pub(crate) mod problem;

pub use problem::{TlsProblem, UrlProblem};

/// The longest lock timeout every backend accepts: PostgreSQL's `lock_timeout` and SQLite's
/// busy timeout are milliseconds in a signed 32-bit integer (about 24.8 days).
pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_millis(2_147_483_647);

/// Statements slower than this are logged by the driver, at debug level (`tt -vv`).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// Query parameters of a PostgreSQL URL (libpq's names and sqlx's spellings of them).
const POSTGRES_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
    "statement-cache-capacity",
];

/// Query parameters of a MySQL URL.
const MYSQL_PARAMETERS: &[&str] = &[
    "ssl-mode",
    "sslmode",
    "ssl-ca",
    "sslca",
    "ssl-cert",
    "sslcert",
    "ssl-key",
    "sslkey",
    "socket",
    "charset",
    "collation",
    "timezone",
    "time-zone",
    "statement-cache-capacity",
];

const POSTGRES_SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

const MYSQL_SSL_MODES: &[&str] = &[
    "DISABLED",
    "PREFERRED",
    "REQUIRED",
    "VERIFY_CA",
    "VERIFY_IDENTITY",
];

/// What a TLS failure is explained with: the mode and the roots, as the URL gave them.
#[derive(Debug, Clone)]
struct TlsContext {
    mode: String,
    roots: String,
    ca_parameter: &'static str,
    host: String,
}

/// Options for connecting, with the defaults tt uses.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to wait for another runner's lock (and, on SQLite, a busy database).
    pub lock_timeout: Duration,
    /// PostgreSQL schema that holds tt's tables (`search_path`); `None` keeps the server's.
    pub postgres_schema: Option<String>,
    /// Statements run on every connection right after it opens (`session_sql` in tt.toml),
    /// such as `SET FOREIGN_KEY_CHECKS = 0`.
    pub session_sql: Vec<String>,
    /// How long to wait for the server to accept the connection and answer the handshake;
    /// zero waits without limit.
    pub connect_timeout: Duration,
    /// Which migration lock to take; `None`: the server's own (advisory) lock, or the lease
    /// lock where a transaction pooler is detected.
    pub lock: Option<LockMode>,
    /// How long the lease lock holds without renewal: a heartbeat renews it every sixth of
    /// this while the lock is held (and stops the run when two thirds pass without a
    /// renewal); a runner that dies blocks others at most this long.
    pub lock_lease: Duration,
}

/// Which migration lock a run takes (`lock = "advisory" | "table"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockMode {
    /// The server's own lock: PostgreSQL's session advisory lock, MySQL's `GET_LOCK`,
    /// SQLite's write lock.
    Advisory,
    /// A lease row in a table of tt's (see docs/locking.md): for transaction poolers and
    /// engines without advisory locks.
    Table,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(10),
            postgres_schema: None,
            session_sql: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            lock: None,
            lock_lease: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Conn {
    Postgres(sqlx::PgConnection),
    Mysql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

/// The backend a URL's scheme names.
///
/// # Errors
/// [`ConnectError::UnsupportedUrl`] when the scheme is not sqlite, postgres(ql), mysql or mariadb.
pub fn backend_of_url(url: &str) -> Result<Backend, Error> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        "mysql" | "mariadb" => Ok(Backend::Mysql),
        _ => Err(Error::Connect(ConnectError::UnsupportedUrl {
            url: redact_url(url),
        })),
    }
}

/// `url` with any password (in the user part or a `password=` parameter) replaced by `***`,
/// safe to print.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_authority() => {
            let mut redacted = false;
            if parsed.password().is_some() {
                // Setting a password only fails for URLs that cannot have one; this one has one.
                let _ = parsed.set_password(Some("***"));
                redacted = true;
            }
            // PostgreSQL's driver also takes the password as a query parameter.
            let is_password = |key: &str| key.eq_ignore_ascii_case("password");
            if parsed.query_pairs().any(|(key, _)| is_password(&key)) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(key, value)| {
                        let value = if is_password(&key) {
                            "***".into()
                        } else {
                            value
                        };
                        (key.into_owned(), value.into_owned())
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
                redacted = true;
            }
            if redacted {
                parsed.to_string()
            } else {
                url.to_string()
            }
        }
        // libpq's socket form (`postgres://user@/db?host=/run/postgresql`): redact it with a
        // placeholder host, then take the placeholder out again.
        Err(url::ParseError::EmptyHost) => {
            let with_host = with_placeholder_host(url);
            match url::Url::parse(&with_host) {
                Ok(_) => redact_url(&with_host).replacen("@localhost", "@", 1),
                Err(_) => "***".to_string(),
            }
        }
        // Not a URL with a user part we understand: hide whatever precedes an '@'.
        _ => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_string(),
        },
    }
}

/// The PostgreSQL `application_name` of this process's connections: `tt-` and a token of the
/// process id and start time, so a cancel never reaches another program's (or another tt's)
/// statements.
pub(crate) fn application_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("tt-{:x}{nanos:08x}", std::process::id())
    })
}

/// Opens a connection to `url` within `options.connect_timeout`.
///
/// # Errors
/// [`ConnectError::BadUrl`] for a URL tt refuses before connecting, [`ConnectError::Timeout`] when
/// the server does not complete the handshake in time, [`ConnectError::Tls`] when TLS is refused,
/// [`ConnectError::Failed`] otherwise.
pub(crate) async fn open(url: &str, options: &ConnectOptions) -> Result<Conn, Error> {
    if options.lock_timeout > MAX_LOCK_TIMEOUT {
        return Err(Error::Connect(ConnectError::LockTimeoutTooLong {
            max: MAX_LOCK_TIMEOUT,
        }));
    }
    let backend = backend_of_url(url)?;
    let bad_url = |problem| {
        Error::Connect(ConnectError::BadUrl {
            url: redact_url(url),
            problem: Box::new(problem),
        })
    };
    let connect_error = |source| {
        Error::Connect(ConnectError::Failed {
            url: redact_url(url),
            source: DriverError(source),
        })
    };
    let tls_error = |tls: &TlsContext, source: sqlx::Error| match tls_problem(tls, &source) {
        Some(problem) => Error::Connect(ConnectError::Tls {
            url: redact_url(url),
            problem: Box::new(problem),
        }),
        None => connect_error(source),
    };
    let connecting = async {
        Ok(match backend {
            Backend::Postgres => {
                let (opts, tls) = postgres_options(url, options).map_err(|e| match e {
                    Prepare::Url(problem) => bad_url(problem),
                    Prepare::Driver(source) => connect_error(source),
                })?;
                Conn::Postgres(
                    sqlx::PgConnection::connect_with(&opts)
                        .await
                        .map_err(|e| tls_error(&tls, e))?,
                )
            }
            Backend::Mysql => {
                let (opts, tls) = mysql_options(url).map_err(|e| match e {
                    Prepare::Url(problem) => bad_url(problem),
                    Prepare::Driver(source) => connect_error(source),
                })?;
                Conn::Mysql(
                    sqlx::MySqlConnection::connect_with(&opts)
                        .await
                        .map_err(|e| tls_error(&tls, e))?,
                )
            }
            Backend::Sqlite => {
                if sqlite_path_is_empty(url) {
                    return Err(bad_url(UrlProblem::EmptySqlitePath));
                }
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(connect_error)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .busy_timeout(options.lock_timeout);
                Conn::Sqlite(
                    sqlx::SqliteConnection::connect_with(&quiet(opts))
                        .await
                        .map_err(connect_error)?,
                )
            }
        })
    };
    // Zero means no limit, as libpq's connect_timeout.
    if options.connect_timeout.is_zero() {
        return connecting.await;
    }
    tokio::time::timeout(options.connect_timeout, connecting)
        .await
        .map_err(|_| {
            Error::Connect(ConnectError::Timeout {
                url: redact_url(url),
                timeout: options.connect_timeout,
            })
        })?
}

/// Why options could not be built from a URL.
enum Prepare {
    Url(UrlProblem),
    Driver(sqlx::Error),
}

impl From<UrlProblem> for Prepare {
    fn from(problem: UrlProblem) -> Self {
        Prepare::Url(problem)
    }
}

impl From<sqlx::Error> for Prepare {
    fn from(error: sqlx::Error) -> Self {
        Prepare::Driver(error)
    }
}

/// The driver logs every statement at debug level and slow ones as warnings, SQL included:
/// both go to debug, which only `tt -vv` shows.
fn quiet<O: sqlx::ConnectOptions>(options: O) -> O {
    options
        .log_statements(log::LevelFilter::Debug)
        .log_slow_statements(log::LevelFilter::Debug, SLOW_STATEMENT)
}

fn postgres_options(
    url: &str,
    options: &ConnectOptions,
) -> Result<(sqlx::postgres::PgConnectOptions, TlsContext), Prepare> {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    let (mut parsed, empty_host) = parse(url)?;
    let pairs = parameters(&parsed, POSTGRES_PARAMETERS)?;
    let get = |names: &[&str]| {
        pairs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let mode = get(&["sslmode", "ssl-mode"]);
    if let Some((name, value)) = &mode {
        if !POSTGRES_SSL_MODES.contains(&value.as_str()) {
            return Err(UrlProblem::BadValue {
                name: name.clone(),
                value: value.clone(),
                allowed: POSTGRES_SSL_MODES,
            }
            .into());
        }
    }
    let root = get(&["sslrootcert", "ssl-root-cert", "ssl-ca"]);
    let system_roots = root.as_ref().is_some_and(|(_, v)| v == "system");
    let mut ssl_mode = mode.as_ref().map(|(_, v)| v.clone());
    if system_roots {
        // libpq 16: the system's roots, and only with the host name checked.
        match ssl_mode.as_deref() {
            None | Some("verify-full") => ssl_mode = Some("verify-full".into()),
            Some(other) => {
                return Err(UrlProblem::SystemRootsNeedVerifyFull { mode: other.into() }.into());
            }
        }
        let kept: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "sslrootcert" | "ssl-root-cert" | "ssl-ca"))
            .cloned()
            .collect();
        set_query(&mut parsed, &kept);
    } else if let Some((name, path)) = &root {
        check_readable(name, path)?;
        // libpq: with a root certificate given, `require` verifies the chain as verify-ca.
        if ssl_mode.as_deref() == Some("require") {
            ssl_mode = Some("verify-ca".into());
        }
    }
    let cert = get(&["sslcert", "ssl-cert"]);
    let key = get(&["sslkey", "ssl-key"]);
    check_client_pair(cert.as_ref(), key.as_ref(), "sslcert", "sslkey")?;
    let mut opts = PgConnectOptions::from_str(parsed.as_str())?;
    if let Some(mode) = &ssl_mode {
        opts = opts.ssl_mode(PgSslMode::from_str(mode)?);
    }
    if empty_host && get(&["host", "hostaddr"]).is_none() {
        // No host: the driver's default, a Unix socket where one exists (as libpq).
        opts = opts.host(PgConnectOptions::new_without_pgpass().get_host());
    }
    if get(&["application_name"]).is_none() {
        // One name per process, so Ctrl-C cancels exactly this process's statements.
        opts = opts.application_name(application_name());
    }
    if let Some(schema) = &options.postgres_schema {
        opts = opts.options([("search_path", schema.as_str())]);
    }
    let mode_text = match opts.get_ssl_mode() {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    };
    let tls = TlsContext {
        mode: format!("sslmode={mode_text}"),
        roots: roots_text("sslrootcert", root.as_ref(), system_roots),
        ca_parameter: "sslrootcert",
        host: opts.get_host().to_string(),
    };
    Ok((quiet(opts), tls))
}

fn mysql_options(url: &str) -> Result<(sqlx::mysql::MySqlConnectOptions, TlsContext), Prepare> {
    use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
    let (parsed, _) = parse(url)?;
    let pairs = parameters(&parsed, MYSQL_PARAMETERS)?;
    let get = |names: &[&str]| {
        pairs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let mode = get(&["ssl-mode", "sslmode"]);
    if let Some((name, value)) = &mode {
        if !MYSQL_SSL_MODES.contains(&value.to_ascii_uppercase().as_str()) {
            return Err(UrlProblem::BadValue {
                name: name.clone(),
                value: value.clone(),
                allowed: MYSQL_SSL_MODES,
            }
            .into());
        }
    }
    let ca = get(&["ssl-ca", "sslca"]);
    if let Some((name, path)) = &ca {
        check_readable(name, path)?;
    }
    let cert = get(&["ssl-cert", "sslcert"]);
    let key = get(&["ssl-key", "sslkey"]);
    check_client_pair(cert.as_ref(), key.as_ref(), "ssl-cert", "ssl-key")?;
    let mut opts = MySqlConnectOptions::from_str(parsed.as_str())?;
    let mode_text = match (&mode, &ca) {
        (Some((_, value)), _) => value.to_ascii_uppercase(),
        // As the mysql client: a CA given without a mode verifies the server with it.
        (None, Some(_)) => {
            opts = opts.ssl_mode(MySqlSslMode::VerifyCa);
            "VERIFY_CA".into()
        }
        (None, None) => "PREFERRED".into(),
    };
    let host = parsed.host_str().unwrap_or("localhost").to_string();
    let tls = TlsContext {
        mode: format!("ssl-mode={mode_text}"),
        roots: roots_text("ssl-ca", ca.as_ref(), false),
        ca_parameter: "ssl-ca",
        host,
    };
    Ok((quiet(opts), tls))
}

/// Parses `url`, giving a URL with a user but no host (libpq's socket form
/// `postgres://user@/db?host=/run/postgresql`) a placeholder host; says whether it did.
fn parse(url: &str) -> Result<(url::Url, bool), Prepare> {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok((parsed, false)),
        Ok(_) | Err(url::ParseError::EmptyHost) => {
            let with_host = with_placeholder_host(url);
            let parsed = url::Url::parse(&with_host)
                .map_err(|e| Prepare::Driver(sqlx::Error::Configuration(e.into())))?;
            Ok((parsed, true))
        }
        Err(error) => Err(Prepare::Driver(sqlx::Error::Configuration(error.into()))),
    }
}

/// `url` with `localhost` as its host where the authority has none.
pub(crate) fn with_placeholder_host(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_len = url[start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - start);
    let authority = &url[start..start + authority_len];
    let host_at = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_at..];
    if !host.is_empty() && !host.starts_with(':') {
        return url.to_string();
    }
    let at = start + host_at;
    format!("{}localhost{}", &url[..at], &url[at..])
}

/// The query parameters of `url`, refusing any not in `known`.
fn parameters(
    url: &url::Url,
    known: &'static [&'static str],
) -> Result<Vec<(String, String)>, Prepare> {
    let mut pairs = Vec::new();
    for (key, value) in url.query_pairs() {
        let is_known = known.contains(&key.as_ref())
            || (known == POSTGRES_PARAMETERS && key.starts_with("options["));
        if !is_known {
            return Err(UrlProblem::UnknownParameter {
                name: key.into_owned(),
                known,
            }
            .into());
        }
        pairs.push((key.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

fn set_query(url: &mut url::Url, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}

/// Fails when `path` (a file, not inline PEM) cannot be read.
fn check_readable(parameter: &str, path: &str) -> Result<(), UrlProblem> {
    if path.trim_start().starts_with("-----BEGIN") {
        return Ok(());
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|source| UrlProblem::CertificateFile {
            parameter: parameter.to_string(),
            path: PathBuf::from(path),
            source,
        })
}

fn check_client_pair(
    cert: Option<&(String, String)>,
    key: Option<&(String, String)>,
    cert_name: &'static str,
    key_name: &'static str,
) -> Result<(), UrlProblem> {
    match (cert, key) {
        (Some((c, cert_path)), Some((k, key_path))) => {
            check_readable(c, cert_path)?;
            check_readable(k, key_path)
        }
        (None, None) => Ok(()),
        _ => Err(UrlProblem::ClientCertificateHalf {
            cert: cert_name,
            key: key_name,
        }),
    }
}

fn roots_text(parameter: &str, root: Option<&(String, String)>, system: bool) -> String {
    match root {
        Some((_, path)) if !system => {
            format!("the system's roots and {parameter}={path}")
        }
        _ => "the system's roots".to_string(),
    }
}

/// Whether a `sqlite:` URL names no file (`sqlite://`, `sqlite:`, `sqlite://?mode=rwc`).
fn sqlite_path_is_empty(url: &str) -> bool {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    rest.split(['?', '#']).next().unwrap_or_default().is_empty()
}

/// The TLS refusal a driver error stands for, if it is one tt can explain.
fn tls_problem(tls: &TlsContext, error: &sqlx::Error) -> Option<TlsProblem> {
    use rustls::CertificateError as C;
    let mode = tls.mode.clone();
    if let sqlx::Error::Tls(inner) = error {
        if inner.to_string() == "server does not support TLS" {
            return Some(TlsProblem::NotOffered { mode });
        }
        // verify-ca with no CA given, on a system without a root store.
        if let Some(rustls::client::VerifierBuilderError::NoRootAnchors) = inner.downcast_ref() {
            return Some(TlsProblem::Untrusted {
                mode,
                roots: "none: the system has no trusted roots".into(),
                ca_parameter: tls.ca_parameter,
            });
        }
    }
    let sqlx::Error::Io(io) = error else {
        return None;
    };
    let rustls::Error::InvalidCertificate(certificate) =
        io.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    Some(match certificate {
        C::UnknownIssuer | C::BadSignature => TlsProblem::Untrusted {
            mode,
            roots: tls.roots.clone(),
            ca_parameter: tls.ca_parameter,
        },
        C::NotValidForName => TlsProblem::WrongHost {
            mode,
            host: tls.host.clone(),
            names: Vec::new(),
        },
        C::NotValidForNameContext { presented, .. } => TlsProblem::WrongHost {
            mode,
            host: tls.host.clone(),
            names: presented.iter().map(|name| plain_name(name)).collect(),
        },
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            TlsProblem::Expired { mode }
        }
        _ => return None,
    })
}

/// `localhost` for rustls's `DnsName("localhost")`: the name as the user would write it.
fn plain_name(presented: &str) -> String {
    presented
        .split_once('(')
        .and_then(|(_, inner)| inner.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hosts_get_a_placeholder() {
        let check = |url: &str, expected: &str| assert_eq!(with_placeholder_host(url), expected);
        check(
            "postgres://user@/db?host=/var/run/postgresql",
            "postgres://user@localhost/db?host=/var/run/postgresql",
        );
        check("postgres:///db", "postgres://localhost/db");
        check(
            "postgres://u:pw@:5433/db",
            "postgres://u:pw@localhost:5433/db",
        );
        check("postgres://u@db/app", "postgres://u@db/app");
        check(
            "mysql://root@?socket=/s",
            "mysql://root@localhost?socket=/s",
        );
    }

    #[test]
    fn certificate_names_read_as_written() {
        assert_eq!(plain_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(plain_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(plain_name("db.example.com"), "db.example.com");
    }

    #[test]
    fn sqlite_urls_without_a_file_are_found() {
        for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
            assert!(sqlite_path_is_empty(url), "{url}");
        }
        for url in [
            "sqlite://a.db",
            "sqlite::memory:",
            "sqlite:///tmp/x.db?mode=ro",
        ] {
            assert!(!sqlite_path_is_empty(url), "{url}");
        }
    }

    fn postgres_problem(url: &str) -> String {
        match postgres_options(url, &ConnectOptions::default()) {
            Err(Prepare::Url(problem)) => problem.to_string(),
            Err(Prepare::Driver(error)) => format!("driver: {error}"),
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn postgres_url_options_are_checked() {
        let check = |url: &str, expected: &str| {
            let problem = postgres_problem(url);
            assert!(problem.starts_with(expected), "{url}: {problem}");
        };
        check("postgres://u@h/db?sslmode=require", "ok");
        check("postgres://u@/db?host=/var/run/postgresql", "ok");
        check(
            "postgres://u@h/db?sslmod=require",
            "unknown parameter `sslmod`",
        );
        check(
            "postgres://u@h/db?sslmode=required",
            "`sslmode=required` is not one of disable, allow",
        );
        check(
            "postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem",
            "`sslrootcert` names /nonexistent/ca.pem, which cannot be read",
        );
        check(
            "postgres://u@h/db?sslmode=require&sslrootcert=system",
            "`sslrootcert=system` verifies the server",
        );
        check("postgres://u@h/db?sslrootcert=system", "ok");
        check(
            "postgres://u@h/db?sslcert=/a.pem",
            "a client certificate needs both `sslcert` and `sslkey`",
        );
    }

    #[test]
    fn postgres_modes_follow_libpq() {
        use sqlx::postgres::PgSslMode;
        let mode = |url: &str| {
            let Ok((opts, tls)) = postgres_options(url, &ConnectOptions::default()) else {
                panic!("{url} is accepted");
            };
            (opts.get_ssl_mode(), tls.mode)
        };
        let ca = std::env::temp_dir().join(format!("tt-connect-ca-{}.pem", std::process::id()));
        std::fs::write(&ca, "not checked here").unwrap();
        let with_ca = format!(
            "postgres://u@h/db?sslmode=require&sslrootcert={}",
            ca.display()
        );
        assert!(matches!(mode(&with_ca).0, PgSslMode::VerifyCa));
        assert_eq!(mode(&with_ca).1, "sslmode=verify-ca");
        std::fs::remove_file(&ca).unwrap();
        assert!(matches!(
            mode("postgres://u@h/db?sslrootcert=system").0,
            PgSslMode::VerifyFull
        ));
        assert!(matches!(
            mode("postgres://u@h/db?sslmode=disable").0,
            PgSslMode::Disable
        ));
    }

    #[test]
    fn the_socket_form_connects_to_the_socket() {
        let check = |url: &str| {
            let Ok((opts, _)) = postgres_options(url, &ConnectOptions::default()) else {
                panic!("{url} is accepted");
            };
            let socket = opts.get_socket().map(|p| p.display().to_string());
            assert_eq!(socket.as_deref(), Some("/var/run/postgresql"), "{url}");
            assert_eq!(opts.get_username(), "tt", "{url}");
            assert_eq!(opts.get_database(), Some("app"), "{url}");
        };
        check("postgres://tt@/app?host=/var/run/postgresql");
        check("postgres://tt@%2Fvar%2Frun%2Fpostgresql/app");
    }

    #[test]
    fn mysql_url_options_are_checked() {
        let problem = |url: &str| match mysql_options(url) {
            Err(Prepare::Url(problem)) => problem.to_string(),
            Err(Prepare::Driver(error)) => format!("driver: {error}"),
            Ok((_, tls)) => format!("ok {}", tls.mode),
        };
        assert_eq!(problem("mysql://root@h/db"), "ok ssl-mode=PREFERRED");
        assert_eq!(
            problem("mysql://root@h/db?ssl-mode=verify_identity"),
            "ok ssl-mode=VERIFY_IDENTITY"
        );
        assert!(
            problem("mysql://root@h/db?ssl-mode=on").starts_with("`ssl-mode=on` is not one of")
        );
        assert!(
            problem("mysql://root@h/db?sslmode=require").starts_with("`sslmode=require` is not")
        );
        assert!(problem("mysql://root@h/db?ssl-ca=/nonexistent.pem").starts_with("`ssl-ca` names"));
        assert!(problem("mysql://root@h/db?ssl_mode=REQUIRED").starts_with("unknown parameter"));
    }

    #[test]
    fn urls_are_redacted() {
        let check = |url: &str, expected: &str| assert_eq!(redact_url(url), expected);
        check(
            "postgres://tt:s3cret@db:5432/app",
            "postgres://tt:***@db:5432/app",
        );
        check("postgres://tt@db/app", "postgres://tt@db/app");
        check(
            "mysql://root:pw@127.0.0.1/test",
            "mysql://root:***@127.0.0.1/test",
        );
        check("sqlite://tinkertools.db", "sqlite://tinkertools.db");
        check("weird:user:pw@host", "***@host");
        check(
            "postgres://tt@db/app?sslmode=disable&password=s3cret",
            "postgres://tt@db/app?sslmode=disable&password=***",
        );
        check(
            "postgres://tt:a@db/app?password=b",
            "postgres://tt:***@db/app?password=***",
        );
        check(
            "postgres://db/app?sslmode=disable",
            "postgres://db/app?sslmode=disable",
        );
        check(
            "postgres://tt@/app?host=/var/run/postgresql",
            "postgres://tt@/app?host=/var/run/postgresql",
        );
        check(
            "postgres://tt:s3cret@/app?host=/var/run/postgresql",
            "postgres://tt:***@/app?host=/var/run/postgresql",
        );
    }

    #[test]
    fn backends_come_from_the_scheme() {
        assert_eq!(backend_of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            backend_of_url("postgresql://x/y").unwrap(),
            Backend::Postgres
        );
        assert_eq!(backend_of_url("mariadb://x/y").unwrap(), Backend::Mysql);
        let err = backend_of_url("oracle://u:pw@x/y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported database url `oracle://u:***@x/y` (expected sqlite://, postgres:// or mysql://)"
        );
    }
}
