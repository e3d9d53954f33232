//! Scratch databases: the schema a set of migrations produces, read from a throwaway database.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tt_schema::Schema;

use crate::backend::connect::ConnectOptions;
use crate::backend::database::Database;
use crate::backend::error::ConnectError;
use crate::backend::introspect::{IntrospectOptions, introspect};
use crate::engine::run::Migrator;
use crate::engine::tracking::Tracking;
use crate::error::Error;
use crate::files::migration::Migration;

/// The prefix of every scratch database's name, so that one left behind by a killed process is
/// easy to recognise and drop.
pub const SCRATCH_PREFIX: &str = "tt_scratch_";

/// Applies `migrations` to a new, empty scratch database beside `db` and reads back the schema
/// they produce, without the tracking table.
///
/// On PostgreSQL and MySQL the scratch database (`tt_scratch_<pid>_<n>_<nanos>`) is created on the
/// server `db` is connected to, with the same credentials and options (on PostgreSQL the configured
/// schema is created in it first), and dropped before this returns, also when a migration fails or
/// the schema cannot be read. The user needs the right to create databases. On SQLite it is an
/// in-memory database. `db` itself is only used to create and drop the scratch database.
///
/// # Errors
/// [`Error::Scratch`] when a migration fails on the scratch database; [`Error::Query`] when the
/// scratch database cannot be created or dropped; connection and catalog errors.
pub async fn scratch_schema(
    db: &mut Database,
    migrations: &[Migration],
    tracking: &Tracking,
) -> Result<Schema, Error> {
    let backend = db.backend();
    let options = db.options().clone();
    if let Some(url) = db.dialect().scratch_in_memory() {
        let mut scratch = Database::connect(url, options.clone()).await?;
        let result = build(&mut scratch, &options, migrations, tracking).await;
        let _ = scratch.close().await;
        return result;
    }
    let name = scratch_name();
    db.execute(&format!("CREATE DATABASE {}", backend.quote_ident(&name)))
        .await
        .map_err(Error::query(format!(
            "creating the scratch database `{name}` (the database user needs the right to \
             create databases; a committed schema.toml snapshot makes it unnecessary)"
        )))?;
    // Whatever happens on the scratch database, it is dropped before returning.
    let result = build_on_server(db.connect_url(), &name, &options, migrations, tracking).await;
    let dropped = db
        .execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            backend.quote_ident(&name)
        ))
        .await
        .map_err(Error::query(format!(
            "dropping the scratch database `{name}`"
        )));
    match (result, dropped) {
        (Ok(schema), Ok(())) => Ok(schema),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
    }
}

/// Connects to database `name` on the server of `url`, builds the schema there, disconnects.
async fn build_on_server(
    url: &str,
    name: &str,
    options: &ConnectOptions,
    migrations: &[Migration],
    tracking: &Tracking,
) -> Result<Schema, Error> {
    let url = with_database(url, name)?;
    let mut scratch = Database::connect(&url, options.clone()).await?;
    let result = build(&mut scratch, options, migrations, tracking).await;
    // Closed before the caller drops the database, which PostgreSQL refuses while in use.
    let _ = scratch.close().await;
    result
}

/// Applies the migrations to the empty `scratch` and reads its schema.
async fn build(
    scratch: &mut Database,
    options: &ConnectOptions,
    migrations: &[Migration],
    tracking: &Tracking,
) -> Result<Schema, Error> {
    let backend = scratch.backend();
    let create_schema = (options.postgres_schema.as_deref())
        .and_then(|schema| scratch.dialect().create_schema(schema));
    if let Some(sql) = create_schema {
        scratch
            .execute(&sql)
            .await
            .map_err(Error::query("creating the schema in the scratch database"))?;
    }
    Migrator::new(migrations)
        .tracking(tracking.clone())
        .run(scratch, &mut |_| {})
        .await
        .map_err(|failed| Error::Scratch {
            backend,
            source: Box::new(failed.error),
        })?;
    let introspect_options = IntrospectOptions {
        postgres_schema: options.postgres_schema.clone(),
    };
    let mut schema = introspect(scratch, &introspect_options).await?;
    schema.remove(tracking.table());
    Ok(schema)
}

/// A name no other scratch database has: process id, a counter and the clock.
fn scratch_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{SCRATCH_PREFIX}{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` pointing at database `name` on the same server, keeping user, host and options.
fn with_database(url: &str, name: &str) -> Result<String, Error> {
    let mut parsed = url::Url::parse(url).map_err(|_| {
        Error::Connect(ConnectError::UnsupportedUrl {
            url: crate::backend::connect::redact_url(url),
        })
    })?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_url_names_the_scratch_database() {
        let check =
            |url: &str, expected: &str| assert_eq!(with_database(url, "s").unwrap(), expected);
        check("postgres://u:pw@h:5432/app", "postgres://u:pw@h:5432/s");
        check(
            "postgres://u@h/app?sslmode=disable",
            "postgres://u@h/s?sslmode=disable",
        );
        check(
            "mysql://root@127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/s",
        );
        check(
            "postgres:///app?host=/run/postgresql",
            "postgres:///s?host=/run/postgresql",
        );
    }

    #[test]
    fn scratch_names_are_unique_and_recognisable() {
        let (a, b) = (scratch_name(), scratch_name());
        assert_ne!(a, b);
        assert!(a.starts_with(SCRATCH_PREFIX), "{a}");
        assert!(a.len() <= 63, "{a}");
    }
}
