//! The backends a scenario runs against, a fresh database on each, and what the checks read
//! from it: tracking rows, the objects present, and whether tt's lock is still held.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tt_migrate::{ConnectOptions, Database};
use tt_schema::Backend;

/// Where tt is pointed: a backend, or PostgreSQL through PgBouncer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite,
    Postgres,
    Mysql,
    /// PostgreSQL through PgBouncer in transaction pooling (`TT_TEST_PGBOUNCER_URL`).
    PgBouncer,
}

impl Target {
    pub(crate) const ALL: [Target; 4] = [
        Target::Sqlite,
        Target::Postgres,
        Target::Mysql,
        Target::PgBouncer,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres => "postgres",
            Target::Mysql => "mysql",
            Target::PgBouncer => "pgbouncer",
        }
    }

    pub(crate) fn backend(self) -> Backend {
        match self {
            Target::Sqlite => Backend::Sqlite,
            Target::Postgres | Target::PgBouncer => Backend::Postgres,
            Target::Mysql => Backend::Mysql,
        }
    }

    /// How much faster than PostgreSQL tt's commands run here (SQLite has no round trips and
    /// its slow migration is shorter), to scale the window signals are sent in.
    pub(crate) fn slowness_divisor(self) -> u64 {
        match self {
            Target::Sqlite => 3,
            _ => 1,
        }
    }

    /// Why this target cannot run here, if it cannot.
    pub(crate) async fn unavailable(self) -> Option<String> {
        if self == Target::Sqlite {
            return None;
        }
        let admin = tt_testdb::admin_url(self.backend());
        if let Err(error) = Database::connect(&admin, quick()).await {
            return Some(format!("no {} server: {error}", self.backend()));
        }
        if self == Target::PgBouncer {
            let Some(url) = pgbouncer_url() else {
                return Some(
                    "TT_TEST_PGBOUNCER_URL is not set (eval \"$(.ci/pgbouncer start)\")".into(),
                );
            };
            if let Err(error) = Database::connect(&url, quick()).await {
                return Some(format!("no PgBouncer at {url}: {error}"));
            }
        }
        None
    }
}

fn pgbouncer_url() -> Option<String> {
    std::env::var("TT_TEST_PGBOUNCER_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| format!("{}/postgres", u.trim_end_matches('/')))
}

/// Connection options for the checks: they must never wait long.
fn quick() -> ConnectOptions {
    ConnectOptions {
        lock_timeout: Duration::from_secs(2),
        ..ConnectOptions::default()
    }
}

/// A database made for one scenario (named `tt_torture_*`), dropped by [`Fresh::remove`].
#[derive(Debug)]
pub(crate) struct Fresh {
    pub(crate) target: Target,
    pub(crate) name: String,
    /// The URL tt is given (through PgBouncer for that target).
    pub(crate) tt_url: String,
    /// A direct URL for the checks.
    check_url: String,
    admin_url: String,
    /// The schemas (PostgreSQL) or databases (MySQL) of a fleet scenario's targets.
    pub(crate) schemas: Vec<String>,
}

impl Fresh {
    pub(crate) async fn create(
        target: Target,
        name: String,
        dir: &std::path::Path,
    ) -> Result<Self> {
        let admin_url = tt_testdb::admin_url(target.backend());
        let (tt_url, check_url) = match target {
            Target::Sqlite => {
                let path: PathBuf = dir.join(format!("{name}.db"));
                let url = format!("sqlite://{}", path.display());
                (url.clone(), url)
            }
            Target::Postgres | Target::Mysql | Target::PgBouncer => {
                let mut admin = Database::connect(&admin_url, quick()).await?;
                admin
                    .exec(&format!("CREATE DATABASE {name}"), &[])
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                admin.close().await?;
                let direct = with_database(&admin_url, &name);
                let tt_url = match target {
                    Target::PgBouncer => with_database(
                        &pgbouncer_url().context("TT_TEST_PGBOUNCER_URL is not set")?,
                        &name,
                    ),
                    _ => direct.clone(),
                };
                (tt_url, direct)
            }
        };
        Ok(Self {
            target,
            name,
            tt_url,
            check_url,
            admin_url,
            schemas: Vec::new(),
        })
    }

    /// Makes `count` targets for a fleet scenario: schemas `f_0`, `f_1`, … of the database on
    /// PostgreSQL, databases `<name>_f0`, … of the server on MySQL.
    pub(crate) async fn add_schemas(&mut self, count: usize) -> Result<()> {
        let (url, names): (&str, Vec<String>) = match self.target.backend() {
            Backend::Postgres => (
                &self.check_url,
                (0..count).map(|i| format!("f_{i}")).collect(),
            ),
            Backend::Mysql => (
                &self.admin_url,
                (0..count).map(|i| format!("{}_f{i}", self.name)).collect(),
            ),
            Backend::Sqlite => anyhow::bail!("SQLite has no schemas"),
        };
        let create = match self.target.backend() {
            Backend::Mysql => "CREATE DATABASE",
            _ => "CREATE SCHEMA",
        };
        let mut db = Database::connect(url, quick()).await?;
        for name in &names {
            db.exec(&format!("{create} {name}"), &[])
                .await
                .with_context(|| format!("creating {name}"))?;
        }
        db.close().await?;
        self.schemas = names;
        Ok(())
    }

    /// The `--schemas` pattern that matches exactly [`Self::add_schemas`]'s targets.
    pub(crate) fn schema_pattern(&self) -> String {
        match self.target.backend() {
            Backend::Mysql => format!("{}_f*", self.name),
            _ => "f_*".to_string(),
        }
    }

    /// Where to read `schema` (the database's own tables when `None`) directly: MySQL's
    /// databases are reached by URL, PostgreSQL's schemas by qualified names.
    fn reach(&self, schema: Option<&str>) -> (String, String) {
        match (self.target.backend(), schema) {
            (Backend::Mysql, Some(schema)) => {
                (with_database(&self.check_url, schema), String::new())
            }
            (Backend::Postgres, Some(schema)) => (self.check_url.clone(), format!("{schema}.")),
            _ => (self.check_url.clone(), String::new()),
        }
    }

    /// Drops the database (a SQLite file goes with the scenario's directory).
    pub(crate) async fn remove(self) -> Result<()> {
        let mut admin = Database::connect(&self.admin_url, quick()).await?;
        if self.target == Target::Mysql {
            for schema in &self.schemas {
                admin
                    .exec(&format!("DROP DATABASE IF EXISTS {schema}"), &[])
                    .await
                    .with_context(|| format!("dropping database {schema}"))?;
            }
        }
        let sql = match self.target {
            Target::Sqlite => return Ok(()),
            Target::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
            // FORCE: PgBouncer may still hold idle server connections to it.
            Target::Postgres | Target::PgBouncer => {
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
            }
        };
        admin
            .exec(&sql, &[])
            .await
            .with_context(|| format!("dropping database {}", self.name))?;
        admin.close().await?;
        Ok(())
    }

    /// What the database holds now, read directly (never through PgBouncer).
    pub(crate) async fn inspect(&self) -> Result<Seen> {
        self.inspect_at(None).await
    }

    /// What `schema` (a fleet's target; the database's own tables when `None`) holds now.
    pub(crate) async fn inspect_at(&self, schema: Option<&str>) -> Result<Seen> {
        let (url, prefix) = self.reach(schema);
        let mut db = Database::connect(&url, quick()).await?;
        let namespace = match (self.target.backend(), schema) {
            (Backend::Postgres, Some(schema)) => schema,
            _ => "public",
        };
        let objects = objects(&mut db, self.target.backend(), namespace).await?;
        let mut rows = BTreeMap::new();
        if objects.contains_key("schema_migrations") {
            let dirty = match self.target.backend() {
                Backend::Postgres => "CASE WHEN dirty THEN '1' ELSE '0' END",
                _ => "CASE WHEN dirty <> 0 THEN '1' ELSE '0' END",
            };
            let text = text_type(self.target.backend());
            let sql =
                format!("SELECT CAST(version AS {text}), {dirty} FROM {prefix}schema_migrations");
            for row in db.fetch_text(&sql).await? {
                let version = row[0].clone().unwrap_or_default();
                rows.insert(version, row[1].as_deref() == Some("1"));
            }
        }
        db.close().await?;
        // The mark of a drop that did not finish (tt's `tt:drop` row), not a migration.
        let stopped_drop = rows.remove(DROP_MARK).is_some();
        // The mark of a parallel run (tt's `tt:jobs` row): which versions it set out to apply.
        rows.remove(JOBS_MARK);
        Ok(Seen {
            objects,
            rows,
            stopped_drop,
        })
    }

    /// Waits up to `grace` for tt's lock to be free (a killed client's server session may
    /// still be finishing its statement); returns who holds it when it stays held.
    pub(crate) async fn lock_left(&self, grace: Duration) -> Result<Option<String>> {
        self.lock_left_at(None, grace).await
    }

    /// As [`Self::lock_left`], for the lock of `schema` (a fleet's target).
    pub(crate) async fn lock_left_at(
        &self,
        schema: Option<&str>,
        grace: Duration,
    ) -> Result<Option<String>> {
        let started = Instant::now();
        loop {
            let held = self.lock_holder(schema).await?;
            if held.is_none() || started.elapsed() >= grace {
                return Ok(held);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn lock_holder(&self, schema: Option<&str>) -> Result<Option<String>> {
        let (url, prefix) = self.reach(schema);
        let mut db = Database::connect(&url, quick()).await?;
        let holder = match self.target.backend() {
            Backend::Postgres => {
                let sql = format!(
                    "SELECT CAST(l.pid AS TEXT) FROM pg_locks l \
                     JOIN pg_database d ON d.oid = l.database \
                     WHERE l.locktype = 'advisory' AND l.granted AND d.datname = '{}'",
                    self.name
                );
                db.fetch_text(&sql)
                    .await?
                    .first()
                    .map(|row| format!("advisory lock held by server pid {}", text(&row[0])))
            }
            Backend::Mysql => {
                let sql = format!(
                    "SELECT CAST(IS_USED_LOCK(CONCAT('tt:', LEFT(SHA2(CONCAT('{}', '.', \
                     'schema_migrations'), 256), 40))) AS CHAR)",
                    schema.unwrap_or(&self.name)
                );
                let rows = db.fetch_text(&sql).await?;
                rows.first()
                    .and_then(|row| row[0].clone())
                    .map(|id| format!("GET_LOCK lock held by connection {id}"))
            }
            // The write lock: a write transaction must start within the quick timeout.
            Backend::Sqlite => match db.begin().await {
                Ok(()) => {
                    db.rollback().await?;
                    None
                }
                Err(error) => Some(format!("the SQLite write lock is held: {error}")),
            },
        };
        let holder = match holder {
            Some(holder) => Some(holder),
            None => self.lease_holder(&mut db, &prefix).await,
        };
        db.close().await?;
        Ok(holder)
    }

    /// The owner of an unexpired lease row (`lock = "table"`, or behind PgBouncer).
    async fn lease_holder(&self, db: &mut Database, prefix: &str) -> Option<String> {
        let now = match self.target.backend() {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Backend::Mysql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        };
        let text = text_type(self.target.backend());
        let sql = format!(
            "SELECT CAST(owner AS {text}) FROM {prefix}schema_migrations_lock \
             WHERE expires_ms >= {now}"
        );
        // No lease table: no lease was ever taken.
        let rows = db.fetch_text(&sql).await.ok()?;
        let owner = rows.first()?.first().cloned().flatten()?;
        Some(format!(
            "lease row of {owner} in {prefix}schema_migrations_lock"
        ))
    }
}

/// The state of a database: objects of the migration set present, and tracking rows.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Table or index name → whether it is usable (an index CONCURRENTLY left invalid is not).
    pub(crate) objects: BTreeMap<String, bool>,
    /// Recorded version → dirty.
    pub(crate) rows: BTreeMap<String, bool>,
    /// Whether the tracking table marks a drop that stopped part-way.
    pub(crate) stopped_drop: bool,
}

/// The version of the row tt writes in the tracking table while a drop that cannot be one
/// transaction runs (MySQL; big PostgreSQL drops).
const DROP_MARK: &str = "tt:drop";

/// tt's `JOBS_MARK` (crates/tt-migrate/src/engine/tracking.rs).
const JOBS_MARK: &str = "tt:jobs";

impl Seen {
    pub(crate) fn clean_versions(&self) -> BTreeSet<String> {
        self.rows
            .iter()
            .filter(|(_, dirty)| !**dirty)
            .map(|(v, _)| v.clone())
            .collect()
    }

    pub(crate) fn dirty_versions(&self) -> BTreeSet<String> {
        self.rows
            .iter()
            .filter(|(_, dirty)| **dirty)
            .map(|(v, _)| v.clone())
            .collect()
    }
}

async fn objects(
    db: &mut Database,
    backend: Backend,
    namespace: &str,
) -> Result<BTreeMap<String, bool>> {
    let postgres = format!(
        "SELECT CAST(c.relname AS TEXT), CASE WHEN COALESCE(i.indisvalid, true) \
         THEN '1' ELSE '0' END FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid \
         WHERE c.relnamespace = CAST('{namespace}' AS regnamespace) AND c.relkind IN ('r', 'i')"
    );
    let sql = match backend {
        Backend::Postgres => postgres.as_str(),
        Backend::Mysql => {
            "SELECT CAST(table_name AS CHAR), '1' FROM information_schema.tables \
             WHERE table_schema = DATABASE() UNION \
             SELECT CAST(index_name AS CHAR), '1' FROM information_schema.statistics \
             WHERE table_schema = DATABASE()"
        }
        Backend::Sqlite => "SELECT name, '1' FROM sqlite_master WHERE type IN ('table', 'index')",
    };
    let mut out = BTreeMap::new();
    for row in db.fetch_text(sql).await? {
        out.insert(text(&row[0]), row[1].as_deref() == Some("1"));
    }
    Ok(out)
}

fn text_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "CHAR",
        _ => "TEXT",
    }
}

fn text(cell: &Option<String>) -> String {
    cell.clone().unwrap_or_default()
}

/// `url` with its database replaced by `database`, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{database}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        let check = |url: &str, expected: &str| assert_eq!(with_database(url, "x"), expected);
        check("postgres://p@h:1/postgres", "postgres://p@h:1/x");
        check("mysql://root@h:3306", "mysql://root@h:3306/x");
        check(
            "postgres://p@h/db?sslmode=disable",
            "postgres://p@h/x?sslmode=disable",
        );
    }
}
