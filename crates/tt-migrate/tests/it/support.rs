//! Building migrations in memory and connecting to test databases.

use tt_migrate::{
    Checksum, ConnectOptions, Database, FileKind, Migration, MigrationFile, Origin, Version,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

/// Migrations from `(file name, SQL)` pairs such as `("001_init.sql", "CREATE …")`.
pub(crate) fn migrations(files: &[(&'static str, &'static str)]) -> Vec<Migration> {
    let mut out: Vec<Migration> = files
        .iter()
        .map(|(name, sql)| {
            let (version, rest) = name.split_once('_').expect("NNN_name.sql");
            let kind = if rest.ends_with(".toml") {
                FileKind::Toml
            } else {
                FileKind::Sql
            };
            let rest = rest.trim_end_matches(".sql").trim_end_matches(".toml");
            let (stem, backend) = match rest.rsplit_once('.') {
                Some((stem, backend)) => (stem, Some(backend.parse::<Backend>().unwrap())),
                None => (rest, None),
            };
            Migration {
                version: Version::new(version).unwrap(),
                name: stem.to_string(),
                up: vec![MigrationFile {
                    origin: Origin::Embedded {
                        path: name,
                        bytes: sql.as_bytes(),
                    },
                    kind,
                    backend,
                    checksum: Checksum::of_bytes(sql.as_bytes()),
                    no_transaction: sql.starts_with("-- tt:no-transaction"),
                }],
                down: Vec::new(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out
}

/// A connection to a test database with a short lock timeout.
pub(crate) async fn connect(db: &TestDb) -> Database {
    let options = ConnectOptions {
        lock_timeout: std::time::Duration::from_secs(2),
        ..ConnectOptions::default()
    };
    Database::connect(db.url(), options)
        .await
        .expect("connects")
}

/// Versions of a run report.
pub(crate) fn versions(report: &tt_migrate::RunReport) -> Vec<String> {
    report
        .applied
        .iter()
        .map(|a| a.version.to_string())
        .collect()
}

/// Runs each statement on `db`, failing the test with the statement that failed.
pub(crate) async fn execute(db: &mut Database, statements: &[&str]) {
    for sql in statements {
        db.fetch_text(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// An error with its sources, as a program reports it: each message once, joined by `: `.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
