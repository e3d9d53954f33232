//! Orphan rows: rows whose foreign key points at no row, left by loading with checks off.

use std::collections::BTreeMap;

use serde::Serialize;
use tt_migrate::{Database, Value};
use tt_schema::{Backend, ForeignKey, Schema, Table};

use crate::error::{Error, doing, int, text};

/// How many example keys [`orphan_rows`] reads for each violated foreign key.
const EXAMPLES: usize = 3;

/// How many foreign keys one counting query checks. One query for all of them would lock
/// every table at once, which exhausts PostgreSQL's lock table (`max_locks_per_transaction`)
/// on schemas of a few thousand tables.
const KEYS_PER_QUERY: usize = 100;

/// The rows of one table that violate one of its foreign keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanRows {
    /// The referencing table.
    pub table: String,
    /// The foreign key's name (on SQLite, [`ForeignKey::default_name`]).
    pub foreign_key: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// How many rows reference a missing row.
    pub rows: u64,
    /// Up to three of the missing keys, as text (`42`, or `(1, a)` for a composite key).
    pub examples: Vec<String>,
}

/// Finds the rows that violate the foreign keys of `schema` (the live schema of `db`).
///
/// A row violates a key when all its key columns are non-NULL and no row of the referenced
/// table has those values (MATCH SIMPLE, what every backend enforces). PostgreSQL and MySQL:
/// one query counts the orphans of up to 100 foreign keys (a `NOT EXISTS` per key, joined
/// with `UNION ALL`). SQLite: `PRAGMA foreign_key_check`, then the key's columns from
/// `pragma_foreign_key_list` for the tables that have orphans. Then one query per violated key
/// reads a few example values. Results are sorted by table and key. A key referencing a table
/// that is not in `schema` (one of another PostgreSQL schema or MySQL database) is not
/// checked.
///
/// # Errors
/// When a query fails.
pub async fn orphan_rows(db: &mut Database, schema: &Schema) -> Result<Vec<OrphanRows>, Error> {
    let mut found = match db.backend() {
        Backend::Sqlite => sqlite_counts(db, schema).await?,
        Backend::Postgres | Backend::Mysql => counts(db, schema).await?,
    };
    for orphans in &mut found {
        orphans.examples = examples(db, orphans).await?;
    }
    found.sort_by(|a, b| (&a.table, &a.foreign_key).cmp(&(&b.table, &b.foreign_key)));
    Ok(found)
}

/// Counts the orphans of every foreign key of `schema` in one query.
async fn counts(db: &mut Database, schema: &Schema) -> Result<Vec<OrphanRows>, Error> {
    let backend = db.backend();
    // A key to a table outside the schema (another PostgreSQL schema or MySQL database) is
    // not checked: the model names the table without its schema, so a query would miss it.
    let keys: Vec<(&Table, &ForeignKey)> = schema
        .tables()
        .flat_map(|t| t.foreign_keys.iter().map(move |fk| (t, fk)))
        .filter(|(_, fk)| {
            !fk.columns.is_empty()
                && fk.columns.len() == fk.ref_columns.len()
                && schema.contains(&fk.ref_table)
        })
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, (table, fk))| {
            format!(
                "SELECT {i}, COUNT(*) FROM {} HAVING COUNT(*) > 0",
                orphan_source(backend, &table.name, fk)
            )
        })
        .collect();
    // PostgreSQL plans parallel scans for a hundred small subqueries, and starting the workers
    // costs three times the query (40 ms instead of 12 for 100 empty tables); for counting
    // orphans a plain plan is as fast on large tables too. Reset whatever happens.
    let postgres = backend == Backend::Postgres;
    if postgres {
        db.exec("SET max_parallel_workers_per_gather = 0", &[])
            .await
            .map_err(doing("turning off parallel plans for the orphan count"))?;
    }
    let mut rows = Ok(Vec::new());
    for chunk in selects.chunks(KEYS_PER_QUERY) {
        let sql = chunk.join("\nUNION ALL\n");
        match (&mut rows, db.fetch(&sql, &[]).await) {
            (Ok(rows), Ok(more)) => rows.extend(more),
            (_, Err(error)) => {
                rows = Err(doing("counting rows that violate foreign keys")(error));
                break;
            }
            (Err(_), Ok(_)) => break,
        }
    }
    if postgres {
        db.exec("RESET max_parallel_workers_per_gather", &[])
            .await
            .map_err(doing("resetting max_parallel_workers_per_gather"))?;
    }
    let rows = rows?;
    let mut found = Vec::new();
    let what = "the orphan count";
    for row in rows {
        let index = int(what, row.first())?;
        let count = int(what, row.get(1))?;
        if let Some((table, fk)) = usize::try_from(index).ok().and_then(|i| keys.get(i)) {
            found.push(OrphanRows {
                table: table.name.clone(),
                foreign_key: fk.name.clone(),
                columns: fk.columns.clone(),
                ref_table: fk.ref_table.clone(),
                ref_columns: fk.ref_columns.clone(),
                rows: count.unsigned_abs(),
                examples: Vec::new(),
            });
        }
    }
    Ok(found)
}

/// `child c WHERE <key not null> AND NOT EXISTS (<parent row>)`: the orphans of `fk`.
fn orphan_source(backend: Backend, table: &str, fk: &ForeignKey) -> String {
    let q = |name: &str| backend.quote_ident(name);
    let not_null: Vec<String> = fk
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", q(c)))
        .collect();
    let matches: Vec<String> = fk
        .columns
        .iter()
        .zip(&fk.ref_columns)
        .map(|(c, r)| format!("p.{} = c.{}", q(r), q(c)))
        .collect();
    format!(
        "{} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
        q(table),
        not_null.join(" AND "),
        q(&fk.ref_table),
        matches.join(" AND ")
    )
}

/// The (from, to) column pairs of each foreign key of one SQLite table, by key id; `to` is
/// NULL when the key references the parent's primary key.
type KeyColumns = BTreeMap<i64, Vec<(String, Option<String>)>>;

/// SQLite's own check, grouped per table and key, with the key's columns.
async fn sqlite_counts(db: &mut Database, schema: &Schema) -> Result<Vec<OrphanRows>, Error> {
    let sql = "SELECT \"table\", fkid, \"parent\", COUNT(*) \
               FROM pragma_foreign_key_check GROUP BY 1, 2, 3 ORDER BY 1, 2";
    let rows = db
        .fetch(sql, &[])
        .await
        .map_err(doing("running PRAGMA foreign_key_check"))?;
    let mut found = Vec::new();
    // Key columns per table, read once per table that has orphans.
    let mut key_columns: BTreeMap<String, KeyColumns> = BTreeMap::new();
    let what = "PRAGMA foreign_key_check";
    for row in rows {
        let table = text(what, row.first())?;
        let id = int(what, row.get(1))?;
        let parent = text(what, row.get(2))?;
        let count = int(what, row.get(3))?;
        if !key_columns.contains_key(&table) {
            let list = db
                .fetch(
                    "SELECT id, \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq",
                    &[Value::Text(table.clone())],
                )
                .await
                .map_err(doing(format!("reading the foreign keys of `{table}`")))?;
            let what = "pragma_foreign_key_list";
            let mut by_id = KeyColumns::new();
            for key_row in list {
                let to = match key_row.get(2) {
                    Some(Value::Null) => None,
                    value => Some(text(what, value)?),
                };
                by_id
                    .entry(int(what, key_row.first())?)
                    .or_default()
                    .push((text(what, key_row.get(1))?, to));
            }
            key_columns.insert(table.clone(), by_id);
        }
        let pairs = key_columns
            .get(&table)
            .and_then(|by_id| by_id.get(&id))
            .cloned()
            .unwrap_or_default();
        let columns: Vec<String> = pairs.iter().map(|(from, _)| from.clone()).collect();
        // `to` is NULL when the key references the parent's primary key.
        let parent_key = schema
            .table(&parent)
            .and_then(|t| t.primary_key.as_ref())
            .map(|pk| pk.columns.clone())
            .unwrap_or_default();
        let ref_columns: Vec<String> = pairs
            .iter()
            .enumerate()
            .map(|(i, (_, to))| {
                to.clone()
                    .or_else(|| parent_key.get(i).cloned())
                    .unwrap_or_default()
            })
            .collect();
        found.push(OrphanRows {
            foreign_key: ForeignKey::default_name(&table, &columns),
            table,
            columns,
            ref_table: parent,
            ref_columns,
            rows: count.unsigned_abs(),
            examples: Vec::new(),
        });
    }
    Ok(found)
}

/// A few distinct missing keys of one violated foreign key.
async fn examples(db: &mut Database, orphans: &OrphanRows) -> Result<Vec<String>, Error> {
    if orphans.columns.is_empty() || orphans.ref_columns.iter().any(String::is_empty) {
        return Ok(Vec::new());
    }
    let backend = db.backend();
    let text = db.text_type();
    let fk = ForeignKey {
        name: orphans.foreign_key.clone(),
        columns: orphans.columns.clone(),
        ref_table: orphans.ref_table.clone(),
        ref_columns: orphans.ref_columns.clone(),
        on_delete: Default::default(),
        on_update: Default::default(),
        deferrable: Default::default(),
    };
    let values: Vec<String> = fk
        .columns
        .iter()
        .map(|c| format!("CAST(c.{} AS {text})", backend.quote_ident(c)))
        .collect();
    let sql = format!(
        "SELECT DISTINCT {} FROM {} LIMIT {EXAMPLES}",
        values.join(", "),
        orphan_source(backend, &orphans.table, &fk)
    );
    let rows = db.fetch_text(&sql).await.map_err(doing(format!(
        "reading rows of `{}` that violate foreign key `{}`",
        orphans.table, orphans.foreign_key
    )))?;
    let mut examples: Vec<String> = rows
        .into_iter()
        .map(|row| {
            let values: Vec<String> = row.into_iter().map(Option::unwrap_or_default).collect();
            match values.as_slice() {
                [one] => one.clone(),
                many => format!("({})", many.join(", ")),
            }
        })
        .collect();
    examples.sort();
    Ok(examples)
}
