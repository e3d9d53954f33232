//! PostgreSQL: session advisory locks, transactional DDL, `$n` placeholders, schemas.

use std::time::Duration;

use futures_util::future::BoxFuture;
use tt_schema::{Backend, Schema, Table};

use crate::backend::database::{Arg, Database};
use crate::backend::dependent::{Dependent, DependentKind, Dependents};
use crate::backend::error::{ConnectError, LockError};
use crate::backend::object::{Catalog, CatalogObject, Edge, ObjectKind};
use crate::backend::value::{column, int_at};
use crate::backend::{Backoff, Dialect, Lock, Namespace, ServerError, introspect};
use crate::error::Error;

/// The PostgreSQL dialect.
pub(super) struct Postgres;

impl Dialect for Postgres {
    fn transactional_ddl(&self) -> bool {
        true
    }

    fn lazy_commits(&self) -> bool {
        true
    }

    fn may_be_pooled(&self) -> bool {
        true
    }

    fn quoted_names_keep_case(&self) -> bool {
        true
    }

    fn numbered_placeholders(&self) -> bool {
        true
    }

    fn caches_statements_of_any_values(&self) -> bool {
        false
    }

    fn reports_error_position(&self) -> bool {
        true
    }

    /// A commit that need not be `durable` does not wait for its WAL to reach the disk
    /// (`synchronous_commit = off`, this transaction only): a run of many small migrations
    /// would otherwise wait for one flush per file. Such a commit is still atomic, and a crash
    /// can only lose it whole (migration and tracking row together); the run's last commit,
    /// or a rewrite of a tracking row after a failure, flushes the WAL, and with it every
    /// commit before, before the run returns.
    fn begin_migration(&self, durable: bool) -> &'static str {
        if durable {
            "BEGIN"
        } else {
            "BEGIN; SET LOCAL synchronous_commit = off"
        }
    }

    fn session_lock(&self) -> &'static dyn Lock {
        &AdvisoryLock
    }

    fn refused_in_transaction(
        &self,
        words: &[String],
        server_version: Option<u32>,
    ) -> Option<&'static str> {
        let word = |i: usize| words.get(i).map_or("", String::as_str);
        let has = |w: &str| words.iter().any(|x| x == w);
        match (word(0), word(1)) {
            ("CREATE", "INDEX") | ("CREATE", "UNIQUE") if has("CONCURRENTLY") => {
                Some("CREATE INDEX CONCURRENTLY")
            }
            ("DROP", "INDEX") if word(2) == "CONCURRENTLY" => Some("DROP INDEX CONCURRENTLY"),
            ("REINDEX", _) if has("CONCURRENTLY") => Some("REINDEX … CONCURRENTLY"),
            ("REINDEX", _) if has("DATABASE") || has("SYSTEM") || has("SCHEMA") => {
                Some("REINDEX SCHEMA/DATABASE/SYSTEM")
            }
            ("ALTER", "TABLE") if has("DETACH") && has("CONCURRENTLY") => {
                Some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY")
            }
            ("VACUUM", _) => Some("VACUUM"),
            ("CREATE", "DATABASE") => Some("CREATE DATABASE"),
            ("DROP", "DATABASE") => Some("DROP DATABASE"),
            ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
            ("CREATE", "TABLESPACE") => Some("CREATE TABLESPACE"),
            ("DROP", "TABLESPACE") => Some("DROP TABLESPACE"),
            // PostgreSQL 12 runs it in a transaction (the new value is usable after commit);
            // an unknown version is taken as a current one.
            ("ALTER", "TYPE")
                if words.windows(2).any(|w| w[0] == "ADD" && w[1] == "VALUE")
                    && server_version.is_some_and(|v| v < 120_000) =>
            {
                Some("ALTER TYPE … ADD VALUE (before PostgreSQL 12)")
            }
            _ => None,
        }
    }

    fn now_ms(&self) -> &'static str {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    }

    fn working_schema<'a>(&self, known: Option<&'a str>) -> Option<&'a str> {
        Some(known.unwrap_or("public"))
    }

    /// PostgreSQL folds unquoted names to lower case, in a UTF-8 database only A-Z.
    fn fold_unquoted(&self, word: &str) -> String {
        word.to_ascii_lowercase()
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        Some("SELECT current_schema()")
    }

    // The catalog, not information_schema: its views cost a new connection about 8 ms to plan,
    // and every run (an up-to-date one too) asks this first.
    fn columns_sql(&self) -> &'static str {
        "SELECT CAST(a.attname AS TEXT) FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = ? AND n.nspname = COALESCE(?, current_schema()) \
         AND c.relkind IN ('r', 'p', 'v', 'f') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum"
    }

    fn table_exists_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = ? AND n.nspname = COALESCE(?, current_schema()) \
         AND c.relkind IN ('r', 'p', 'v', 'f')"
    }

    fn triggers_sql(&self) -> Option<&'static str> {
        // Every user schema: a migration may name a table of any of them.
        Some(
            "SELECT CAST(n.nspname AS TEXT), CAST(c.relname AS TEXT), CAST(t.tgname AS TEXT) \
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1, 2, 3",
        )
    }

    fn namespace(&self) -> Namespace {
        Namespace::Schema
    }

    fn namespaces_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT CAST(nspname AS TEXT) FROM pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
        )
    }

    fn create_namespace(&self, name: &str) -> Option<String> {
        self.create_schema(name)
    }

    fn reuses_sessions(&self) -> bool {
        true
    }

    // DISCARD ALL drops what the work before left in the session (settings, temporary
    // tables, prepared statements, cursors, advisory locks), and refuses inside a transaction.
    fn restart_session(&self, schema: &str) -> Vec<String> {
        vec![
            "DISCARD ALL".to_string(),
            format!(
                "SET search_path TO {}",
                Backend::Postgres.quote_ident(schema)
            ),
        ]
    }

    fn create_schema(&self, schema: &str) -> Option<String> {
        Some(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            Backend::Postgres.quote_ident(schema)
        ))
    }

    fn introspect<'a>(
        &'a self,
        db: &'a mut Database,
        schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Table>, Error>> {
        Box::pin(introspect::postgres::read(db, schema))
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

    fn recreate<'a>(
        &'a self,
        db: &'a mut Database,
        _keep: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            recreate_schema(db).await?;
            Ok(false)
        })
    }

    fn error_position(&self, error: &dyn sqlx::error::DatabaseError) -> Option<usize> {
        let pg = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
        match pg.position() {
            Some(sqlx::postgres::PgErrorPosition::Original(position)) => Some(position),
            _ => None,
        }
    }

    fn error_detail(&self, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
        let pg = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
        pg.detail().map(|detail| detail.replace('\n', "; "))
    }

    fn classify(&self, code: &str, _message: &str) -> Option<ServerError> {
        Some(match code {
            "42P01" | "42883" | "3F000" => ServerError::MissingObject,
            "42703" => ServerError::MissingColumn,
            "42501" => ServerError::PermissionDenied,
            "55P03" | "40P01" | "57014" => ServerError::LockHeld,
            "42P07" | "42710" => ServerError::AlreadyExists,
            "42601" => ServerError::Syntax,
            "23505" => ServerError::DuplicateKey,
            "23503" => ServerError::ForeignKey,
            "53200" => ServerError::TooManyLocks,
            "2BP01" => ServerError::DependentObjects,
            "25001" => ServerError::NotInTransaction,
            _ => return None,
        })
    }
}

/// A session advisory lock keyed by the tracking table's name, polled with
/// `pg_try_advisory_lock` until the lock timeout.
///
/// Polling, not a blocking `pg_advisory_lock`: a waiter blocked inside a statement holds a
/// snapshot, and `CREATE INDEX CONCURRENTLY` in the holder's run waits for every such
/// snapshot to end, while the waiter waits for the holder: a deadlock. Between polls the
/// waiter holds nothing (Flyway waits the same way).
struct AdvisoryLock;

impl Lock for AdvisoryLock {
    fn acquire<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let key = schema_key(db, key);
            let sql = format!("SELECT pg_try_advisory_lock({key})");
            let mut backoff = Backoff::new(timeout);
            let context = "taking the migration lock";
            loop {
                let rows = db.query_rows(&sql, &[]).await;
                let got = rows
                    .and_then(|rows| {
                        column(rows.first().map_or(&[], Vec::as_slice), 0, "got").bool()
                    })
                    .map_err(Error::query(context))?;
                if got {
                    return Ok(());
                }
                if !backoff.wait().await {
                    return Err(Error::Lock(LockError::Timeout {
                        holder: holder(db, key).await,
                        waited: backoff.waited(),
                    }));
                }
            }
        })
    }

    fn is_held<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let key = schema_key(db, key);
            let sql = format!(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' \
                 AND granted AND classid = 0 AND objid = {key} AND objsubid = 1 \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            );
            let holders = db
                .query_rows(&sql, &[])
                .await
                .and_then(|rows| int_at(rows.first().map_or(&[], Vec::as_slice), 0))
                .map_err(Error::query("reading who holds the advisory lock"))?;
            Ok(holders != 0)
        })
    }

    fn release<'a>(
        &'a self,
        db: &'a mut Database,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let key = schema_key(db, key);
            db.execute(&format!("SELECT pg_advisory_unlock({key})"))
                .await
                .map_err(Error::query("releasing the migration lock"))
        })
    }
}

/// The advisory lock key of `table` in the schema tt works in: advisory locks are per
/// database, so runners on different schemas of one database (`--schemas`) must not wait for
/// each other. The table in `public` keeps the key of the table's name alone, the key every
/// earlier version of tt took. The schema is the one found at connect, so that a migration's
/// `SET search_path` cannot make the release miss the lock the run took.
fn schema_key(db: &Database, table: &str) -> i64 {
    match db.home_schema() {
        None | Some("public") => advisory_key(table),
        Some(schema) => advisory_key(&format!("{schema}.{table}")),
    }
}

/// A stable, positive advisory lock key for a tracking table (FNV-1a, 31 bits, so that it is
/// the `objid` of the lock in `pg_locks` with `classid` 0).
fn advisory_key(table: &str) -> i64 {
    let hash = format!("tt:{table}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    (hash & 0x7fff_ffff) as i64
}

/// Who holds the advisory lock `key` in this database (advisory locks are per database), for
/// the timeout's message: read as text, the message's form (`client_addr` is an inet and
/// `backend_start` a timestamp, which the typed reader does not read), and left out of the
/// message when it cannot be read.
async fn holder(db: &mut Database, key: i64) -> Option<String> {
    let sql = format!(
        "SELECT CAST(a.pid AS TEXT), a.application_name, a.usename, \
         CAST(a.client_addr AS TEXT), CAST(a.backend_start AS TEXT) \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 \
         AND l.objid = {key} AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    let [pid, application, user, address, since] = db.first_text_row(&sql, &[]).await?;
    let application = match application {
        name if name.is_empty() => String::new(),
        name => format!("{name}, "),
    };
    let address = match address {
        address if address.is_empty() => "local socket".to_string(),
        address => address,
    };
    Some(format!(
        "{application}pid {pid} of user {user} from {address} since {since}"
    ))
}

/// Foreign keys of other tables referencing a managed table (views and everything else that
/// depends on one come from [`catalog`]'s graph). Names come as `regclass` prints them:
/// quoted where needed, qualified outside the search path.
async fn foreign_dependents(db: &mut Database, tables: &[String]) -> Result<Dependents, Error> {
    // One parameter per table: names are bound, never quoted into the text.
    let list = vec!["?"; tables.len()].join(", ");
    let mut args: Vec<Arg> = vec![db.home_schema().into()];
    args.extend(tables.iter().map(|t| Arg::Text(t.clone())));
    let sql = format!(
        "WITH managed AS (SELECT c.oid FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = COALESCE(?, current_schema()) AND c.relkind IN ('r', 'p') \
           AND c.relname = ANY(ARRAY[{list}]::text[])) \
         SELECT CAST(c.conrelid::regclass AS TEXT) || '.' || c.conname, \
           t.relname, 'ALTER TABLE ' || CAST(c.conrelid::regclass AS TEXT) \
             || ' DROP CONSTRAINT ' || quote_ident(c.conname) \
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid \
           WHERE c.contype = 'f' AND c.confrelid IN (SELECT oid FROM managed) \
           AND c.conrelid NOT IN (SELECT oid FROM managed)"
    );
    // `regclass` is cast to text: it prints the name as the search path sees it.
    let context = "finding foreign keys to managed tables";
    let rows = db
        .query_rows(&sql, &args)
        .await
        .map_err(Error::query(context))?;
    rows.iter()
        .map(|row| {
            let dependent = Dependent {
                kind: DependentKind::ForeignKey,
                name: column(row, 0, "constraint").text()?,
                on: column(row, 1, "table").text()?,
            };
            Ok((dependent, Some(column(row, 2, "drop").text()?)))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::query(context))
}

/// Drops the current schema and creates it again with its owner and grants, in one
/// transaction.
async fn recreate_schema(db: &mut Database) -> Result<(), Error> {
    // The owner and the schema's grants, to restore them on the new schema. The schema is the
    // one found at connect: a migration's `SET search_path` must not choose what is dropped.
    let context = "reading the schema's owner and grants";
    let rows = db
        .query_rows(
            "SELECT n.nspname, pg_get_userbyid(n.nspowner), a.privilege_type, \
             CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, \
             a.is_grantable \
             FROM pg_namespace n LEFT JOIN LATERAL aclexplode(n.nspacl) a ON true \
             WHERE n.nspname = COALESCE(?, current_schema())",
            &[db.home_schema().into()],
        )
        .await
        .map_err(Error::query(context))?;
    let Some(first) = rows.first() else {
        return Err(Error::Connect(ConnectError::UnknownSchema {
            schema: (db.options().postgres_schema.as_deref())
                .unwrap_or("current_schema()")
                .to_string(),
        }));
    };
    let schema = column(first, 0, "schema")
        .text()
        .map_err(Error::query(context))?;
    let owner = column(first, 1, "owner")
        .text()
        .map_err(Error::query(context))?;
    let q = |name: &str| Backend::Postgres.quote_ident(name);
    let mut statements = vec![
        "BEGIN".to_string(),
        format!("DROP SCHEMA {} CASCADE", q(&schema)),
        format!("CREATE SCHEMA {} AUTHORIZATION {}", q(&schema), q(&owner)),
    ];
    for row in &rows {
        // A schema without grants has one row, whose grant columns are NULL.
        let grant = || -> Result<Option<(String, String, bool)>, sqlx::Error> {
            let privilege = column(row, 2, "privilege_type").opt_text()?;
            let grantee = column(row, 3, "grantee").opt_text()?;
            let (Some(privilege), Some(grantee)) = (privilege, grantee) else {
                return Ok(None);
            };
            Ok(Some((
                privilege,
                grantee,
                column(row, 4, "is_grantable").bool()?,
            )))
        };
        let Some((privilege, grantee, grantable)) = grant().map_err(Error::query(context))? else {
            continue;
        };
        if grantee == owner {
            continue;
        }
        let grantee = if grantee == "PUBLIC" {
            grantee
        } else {
            q(&grantee)
        };
        let option = if grantable { " WITH GRANT OPTION" } else { "" };
        statements.push(format!(
            "GRANT {privilege} ON SCHEMA {} TO {grantee}{option}",
            q(&schema)
        ));
    }
    statements.push("COMMIT".to_string());
    if let Err(error) = db.execute_batch(&statements.join(";\n")).await {
        let _ = db.execute("ROLLBACK").await;
        return Err(Error::query(format!("recreating schema {schema}"))(
            error.source,
        ));
    }
    Ok(())
}

/// `c:o` for the object a `pg_depend` entry `(class, oid)` belongs to, as [`catalog`] keys
/// objects: a view's rule, a column default, an index or a constraint belong to their
/// relation, an array type to its element, a table's row type to the table. Foreign keys
/// yield NULL: they are found on their own.
fn owning_object(class: &str, oid: &str) -> String {
    format!(
        "CASE {class} \
           WHEN 'pg_class'::regclass THEN (SELECT CASE WHEN r.relkind IN ('i', 'I') \
             THEN (SELECT 'pg_class:' || x.indrelid FROM pg_index x WHERE x.indexrelid = r.oid) \
             WHEN r.relkind = 'c' THEN 'pg_type:' || r.reltype WHEN r.relkind = 't' THEN NULL \
             ELSE 'pg_class:' || r.oid END FROM pg_class r WHERE r.oid = {oid}) \
           WHEN 'pg_rewrite'::regclass THEN \
             (SELECT 'pg_class:' || w.ev_class FROM pg_rewrite w WHERE w.oid = {oid}) \
           WHEN 'pg_attrdef'::regclass THEN \
             (SELECT 'pg_class:' || a.adrelid FROM pg_attrdef a WHERE a.oid = {oid}) \
           WHEN 'pg_constraint'::regclass THEN (SELECT CASE WHEN k.contype = 'f' THEN NULL \
             WHEN k.conrelid <> 0 THEN 'pg_class:' || k.conrelid \
             ELSE 'pg_type:' || k.contypid END FROM pg_constraint k WHERE k.oid = {oid}) \
           WHEN 'pg_type'::regclass THEN (SELECT CASE \
             WHEN y.typcategory = 'A' AND y.typelem <> 0 THEN 'pg_type:' || y.typelem \
             WHEN y.typrelid <> 0 AND (SELECT relkind FROM pg_class WHERE oid = y.typrelid) <> 'c' \
               THEN 'pg_class:' || y.typrelid \
             ELSE 'pg_type:' || y.oid END FROM pg_type y WHERE y.oid = {oid}) \
           WHEN 'pg_proc'::regclass THEN 'pg_proc:' || {oid} \
           WHEN 'pg_trigger'::regclass THEN 'pg_trigger:' || {oid} \
           WHEN 'pg_namespace'::regclass THEN 'pg_namespace:' || {oid} \
         END"
    )
}

/// The condition that object `o` of catalog `class`, in schema `n`, is a user's: in a user's
/// schema and not a member of an extension (which owns it).
fn user_object(class: &str) -> String {
    // By class and oid, so that the lookup uses pg_depend's index.
    format!(
        "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass \
         AND e.objid = o.oid AND e.deptype = 'e')"
    )
}

/// Tables, views, sequences, routines, types, triggers and schemas of every user schema, and
/// `pg_depend` between them (entries of system objects left out).
async fn catalog(db: &mut Database) -> Result<Catalog, Error> {
    let user_class = user_object("pg_class");
    let user_proc = user_object("pg_proc");
    let user_type = user_object("pg_type");
    let user_trigger = user_object("pg_trigger");
    let user_namespace = user_object("pg_namespace");
    let objects_sql = format!(
        "SELECT 'pg_class:' || o.oid, CASE o.relkind WHEN 'v' THEN 'view' \
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'table' END, \
           n.nspname, o.relname, \
           CASE o.relkind WHEN 'v' THEN 'DROP VIEW ' WHEN 'm' THEN 'DROP MATERIALIZED VIEW ' \
             WHEN 'S' THEN 'DROP SEQUENCE ' ELSE 'DROP TABLE ' END \
             || quote_ident(n.nspname) || '.' || quote_ident(o.relname), \
           (SELECT 'pg_class:' || d.refobjid FROM pg_depend d \
             WHERE d.classid = 'pg_class'::regclass AND d.objid = o.oid \
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) \
         FROM pg_class o JOIN pg_namespace n ON n.oid = o.relnamespace \
         WHERE o.relkind IN ('r', 'p', 'v', 'm', 'S') AND {user_class} \
         UNION ALL \
         SELECT 'pg_proc:' || o.oid, CASE o.prokind WHEN 'p' THEN 'procedure' \
           WHEN 'a' THEN 'aggregate' ELSE 'function' END, \
           n.nspname, o.proname, \
           CASE o.prokind WHEN 'p' THEN 'DROP PROCEDURE ' WHEN 'a' THEN 'DROP AGGREGATE ' \
             ELSE 'DROP FUNCTION ' END || CAST(o.oid::regprocedure AS TEXT), NULL \
         FROM pg_proc o JOIN pg_namespace n ON n.oid = o.pronamespace \
         WHERE o.prokind IN ('f', 'p', 'a') AND {user_proc} \
         UNION ALL \
         SELECT 'pg_type:' || o.oid, CASE o.typtype WHEN 'e' THEN 'enum type' \
           WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'type' END, \
           n.nspname, o.typname, \
           CASE o.typtype WHEN 'd' THEN 'DROP DOMAIN ' ELSE 'DROP TYPE ' END \
             || quote_ident(n.nspname) || '.' || quote_ident(o.typname), NULL \
         FROM pg_type o JOIN pg_namespace n ON n.oid = o.typnamespace \
         WHERE (o.typtype IN ('e', 'd', 'r') OR (o.typtype = 'c' \
           AND (SELECT relkind FROM pg_class WHERE oid = o.typrelid) = 'c')) AND {user_type} \
         UNION ALL \
         SELECT 'pg_trigger:' || o.oid, 'trigger', n.nspname, o.tgname, 'DROP TRIGGER ' || quote_ident(o.tgname) || ' ON ' \
             || quote_ident(n.nspname) || '.' || quote_ident(t.relname), \
           'pg_class:' || o.tgrelid \
         FROM pg_trigger o JOIN pg_class t ON t.oid = o.tgrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE NOT o.tgisinternal AND {user_trigger} \
         UNION ALL \
         SELECT 'pg_namespace:' || o.oid, 'schema', NULL, o.nspname, \
           'DROP SCHEMA ' || quote_ident(o.nspname), NULL \
         FROM pg_namespace o JOIN pg_namespace n ON n.oid = o.oid \
         WHERE n.nspname <> COALESCE(?, current_schema()) AND {user_namespace}"
    );
    // User objects have oids from 16384 (FirstNormalObjectId) on.
    let edges_sql = format!(
        "SELECT f.key, t.key, bool_or(d.deptype = 'n' AND NOT (d.classid = d.refclassid \
           AND d.classid = 'pg_class'::regclass AND d.objsubid = 0)) \
         FROM pg_depend d, \
           LATERAL (SELECT {from}) f(key), LATERAL (SELECT {to}) t(key) \
         WHERE d.deptype IN ('n', 'a', 'i') AND d.objid >= 16384 AND d.refobjid >= 16384 \
           AND f.key IS NOT NULL AND t.key IS NOT NULL AND f.key <> t.key \
         GROUP BY f.key, t.key",
        from = owning_object("d.classid", "d.objid"),
        to = owning_object("d.refclassid", "d.refobjid"),
    );
    // The schema found at connect, not the session's current one, which a migration's `SET
    // search_path` may have moved.
    let current = db.home_schema().map(str::to_string);
    let context = "reading the schema's objects and their dependencies";
    let rows = db
        .query_rows(&objects_sql, &[current.clone().into()])
        .await
        .map_err(Error::query(context))?;
    let mut out = Catalog::default();
    for row in &rows {
        let label = column(row, 1, "kind")
            .text()
            .map_err(Error::query(context))?;
        let kind = match label.as_str() {
            "view" => ObjectKind::View,
            "materialized view" => ObjectKind::MaterializedView,
            "sequence" => ObjectKind::Sequence,
            "procedure" | "aggregate" | "function" => ObjectKind::Routine,
            "enum type" | "domain" | "range type" | "type" => ObjectKind::Type,
            "trigger" => ObjectKind::Trigger,
            "schema" => ObjectKind::Schema,
            _ => ObjectKind::Table,
        };
        let object = || -> Result<CatalogObject, sqlx::Error> {
            Ok(CatalogObject {
                key: column(row, 0, "key").text()?,
                kind,
                label: label.clone(),
                schema: (column(row, 2, "schema").opt_text()?)
                    .filter(|schema| Some(schema) != current.as_ref()),
                name: column(row, 3, "name").text()?,
                drop: column(row, 4, "drop").text()?,
                owner: column(row, 5, "owner").opt_text()?,
            })
        };
        out.objects.push(object().map_err(Error::query(context))?);
    }
    let edges = db
        .query_rows(&edges_sql, &[])
        .await
        .map_err(Error::query(context))?;
    for row in &edges {
        let edge = || -> Result<Edge, sqlx::Error> {
            Ok(Edge {
                from: column(row, 0, "from").text()?,
                to: column(row, 1, "to").text()?,
                blocks: column(row, 2, "blocks").bool()?,
            })
        };
        out.edges.push(edge().map_err(Error::query(context))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable_and_positive() {
        let key = advisory_key("schema_migrations");
        assert_eq!(key, advisory_key("schema_migrations"));
        assert_ne!(key, advisory_key("other_migrations"));
        assert!((0..=i64::from(i32::MAX)).contains(&key));
    }
}
