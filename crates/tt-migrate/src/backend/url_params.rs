//! Query parameters of a database URL that the driver understands: sqlx ignores the others on
//! PostgreSQL and MySQL with at most a log line, so a setting a project relies on
//! (`?sql_mode=…`, `?search_path=…`) would silently not apply. tt refuses them instead.

use tt_schema::Backend;

/// The parameters sqlx's PostgreSQL driver reads (besides `options[name]=value`).
const POSTGRES: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// The parameters sqlx's MySQL driver reads.
const MYSQL: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslca",
    "ssl-ca",
    "charset",
    "collation",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "socket",
    "timezone",
    "time-zone",
];

/// The first query parameter of `url` that the `backend` driver does not understand, with the
/// ones it does. SQLite's driver rejects unknown parameters itself.
pub(crate) fn unknown_parameter(
    backend: Backend,
    url: &str,
) -> Option<(String, &'static [&'static str])> {
    let known = match backend {
        Backend::Postgres => POSTGRES,
        Backend::Mysql => MYSQL,
        Backend::Sqlite => return None,
    };
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .map(|(key, _)| key.into_owned())
        .find(|key| {
            let options =
                backend == Backend::Postgres && key.starts_with("options[") && key.ends_with(']');
            !options && !known.contains(&key.as_str())
        })
        .map(|key| (key, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_the_driver_ignores_are_found() {
        let check = |backend, url: &str, expected: Option<&str>| {
            let found = unknown_parameter(backend, url).map(|(key, _)| key);
            assert_eq!(found.as_deref(), expected, "{url}");
        };
        check(
            Backend::Postgres,
            "postgres://u@h/db?sslmode=disable&application_name=x",
            None,
        );
        check(
            Backend::Postgres,
            "postgres://u@h/db?options[search_path]=app",
            None,
        );
        check(
            Backend::Postgres,
            "postgres://u@h/db?search_path=app",
            Some("search_path"),
        );
        check(Backend::Postgres, "postgres://u@h/db", None);
        check(Backend::Mysql, "mysql://root@h/db?charset=utf8mb4", None);
        check(
            Backend::Mysql,
            "mysql://root@h/db?sql_mode=ANSI_QUOTES",
            Some("sql_mode"),
        );
        check(Backend::Sqlite, "sqlite://x.db?anything=1", None);
    }
}
