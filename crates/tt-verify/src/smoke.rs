//! The smoke insert: one generated row in a table (and the parent rows it needs), rolled back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tt_schema::{Backend, Column, ColumnType, ForeignKey, Schema, Table};

use tt_migrate::Database;

use crate::error::{Error, doing};

/// What inserting one row into a table did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokeInsert {
    /// The table tested.
    pub table: String,
    /// Every statement run inside the transaction, in order (parents first).
    pub statements: Vec<String>,
    /// Why the insert failed, if it did.
    pub failure: Option<SmokeFailure>,
}

/// Why a smoke insert failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokeFailure {
    /// The statement the server rejected, if one was.
    pub statement: Option<String>,
    /// The server's message, or what is wrong (`table does not exist`).
    pub message: String,
}

/// Inserts one generated row into `table` inside a transaction that is always rolled back.
///
/// `schema` is the live schema of `db`. The row gets a value for every column that is NOT NULL
/// without a default (serial columns are left to the database; other defaults are used, so
/// they are tested too). A foreign key whose columns are NOT NULL first gets a parent row,
/// generated the same way, recursively; a nullable one is set to NULL. Generated values: `1`
/// for numbers, `MAX + 1` of the column for integer key and unique columns, a unique
/// `tt…` string cut to the column's length, `2000-01-01 00:00:00` for dates and times, `{}`
/// / `[]` for JSON and arrays, a fixed UUID, the first value of a MySQL `enum`. Foreign key
/// checks are deferred where the backend can (SQLite `defer_foreign_keys`, PostgreSQL
/// deferrable keys), so a cycle of required keys does not fail the insert by itself.
///
/// The rollback undoes the rows, but not what no transaction undoes: a serial column's
/// sequence (PostgreSQL) or auto-increment counter (MySQL) moves on, as it does for any
/// rolled-back insert, and on MySQL a table of a non-transactional engine (MyISAM) keeps
/// the row.
///
/// # Errors
/// Only when the database cannot be used at all (the connection fails); a rejected insert is
/// a [`SmokeFailure`], not an error.
pub async fn smoke_insert(
    db: &mut Database,
    schema: &Schema,
    table: &str,
) -> Result<SmokeInsert, Error> {
    let mut outcome = SmokeInsert {
        table: table.to_string(),
        statements: Vec::new(),
        failure: None,
    };
    if !schema.contains(table) {
        outcome.failure = Some(SmokeFailure {
            statement: None,
            message: format!("table `{table}` does not exist"),
        });
        return Ok(outcome);
    }
    let backend = db.backend();
    let defer = match backend {
        Backend::Postgres => Some("SET CONSTRAINTS ALL DEFERRED"),
        Backend::Mysql => None,
        Backend::Sqlite => Some("PRAGMA defer_foreign_keys = ON"),
    };
    db.begin()
        .await
        .map_err(doing("starting the smoke test's transaction"))?;
    let result = insert_rows(db, schema, table, defer, &mut outcome.statements).await;
    let rolled_back = db
        .rollback()
        .await
        .map_err(doing("rolling back the smoke test"));
    match result {
        Ok(()) => {}
        Err(Failed::Rejected(failure)) => outcome.failure = Some(failure),
        Err(Failed::Broken(error)) => return Err(error),
    }
    rolled_back?;
    Ok(outcome)
}

/// How inserting stopped: the server rejected a statement, or the database is unusable.
enum Failed {
    Rejected(SmokeFailure),
    Broken(Error),
}

/// Runs `sql`, returning its rows (text), and records it.
async fn run(
    db: &mut Database,
    sql: String,
    statements: &mut Vec<String>,
) -> Result<Vec<Vec<Option<String>>>, Failed> {
    statements.push(sql.clone());
    match db.fetch_text(&sql).await {
        Ok(rows) => Ok(rows),
        Err(error) => match error.server_message() {
            Some(message) => Err(Failed::Rejected(SmokeFailure {
                message: message.to_string(),
                statement: Some(sql),
            })),
            None => Err(Failed::Broken(doing(format!(
                "smoke test statement `{sql}`"
            ))(error))),
        },
    }
}

async fn insert_rows(
    db: &mut Database,
    schema: &Schema,
    target: &str,
    defer: Option<&str>,
    statements: &mut Vec<String>,
) -> Result<(), Failed> {
    let backend = db.backend();
    if let Some(defer) = defer {
        run(db, defer.to_string(), statements).await?;
    }
    let order = insert_order(schema, target);
    // Columns whose values a later row copies into its foreign key.
    let mut referenced: BTreeSet<(&str, &str)> = BTreeSet::new();
    for table in &order {
        for fk in &table.foreign_keys {
            if order.iter().any(|t| t.name == fk.ref_table) {
                for column in &fk.ref_columns {
                    referenced.insert((fk.ref_table.as_str(), column.as_str()));
                }
            }
        }
    }
    let mut values = Values::new(backend);
    // (table, column) → the SQL literal of the value in the row inserted.
    let mut inserted: BTreeMap<(String, String), String> = BTreeMap::new();
    for table in order {
        let mut set: BTreeMap<&str, String> = BTreeMap::new();
        for fk in &table.foreign_keys {
            let parent: Option<Vec<String>> = fk
                .ref_columns
                .iter()
                .map(|r| inserted.get(&(fk.ref_table.clone(), r.clone())).cloned())
                .collect();
            match parent {
                Some(parent) if fk.ref_table != table.name => {
                    for (column, value) in fk.columns.iter().zip(parent) {
                        set.insert(column, value);
                    }
                }
                _ if all_nullable(table, fk) => {
                    for column in &fk.columns {
                        set.insert(column, "NULL".to_string());
                    }
                }
                _ => {}
            }
        }
        let mut wanted: Vec<&Column> = Vec::new();
        let mut returned: Vec<&Column> = Vec::new();
        for column in &table.columns {
            if set.contains_key(column.name.as_str()) {
                continue;
            }
            let serial = matches!(column.ty, ColumnType::Serial | ColumnType::BigSerial);
            let needed = referenced.contains(&(table.name.as_str(), column.name.as_str()));
            if serial {
                if needed {
                    returned.push(column);
                }
            } else if needed || (!column.nullable && column.default.is_none()) {
                wanted.push(column);
            }
        }
        let counted: Vec<&Column> = wanted
            .iter()
            .copied()
            .filter(|c| is_integer(&c.ty) && is_keyed(table, &c.name))
            .collect();
        let mut next_key: BTreeMap<&str, String> = BTreeMap::new();
        if !counted.is_empty() {
            let text = db.text_type();
            let q = |name: &str| backend.quote_ident(name);
            let maxima: Vec<String> = counted
                .iter()
                .map(|c| format!("CAST(COALESCE(MAX({}), 0) + 1 AS {text})", q(&c.name)))
                .collect();
            let sql = format!("SELECT {} FROM {}", maxima.join(", "), q(&table.name));
            let rows = run(db, sql, statements).await?;
            let row = rows.into_iter().next().unwrap_or_default();
            for (column, value) in counted.iter().zip(row) {
                if let Some(value) = value {
                    next_key.insert(&column.name, value);
                }
            }
        }
        for column in wanted {
            let value = match next_key.get(column.name.as_str()) {
                Some(next) => next.clone(),
                None => values.literal(&column.ty),
            };
            set.insert(&column.name, value);
        }
        let rows = run(db, insert_sql(backend, table, &set, &returned), statements).await?;
        for (column, value) in set {
            inserted.insert((table.name.clone(), column.to_string()), value);
        }
        if !returned.is_empty() {
            let row = match backend {
                Backend::Mysql => {
                    let sql = "SELECT CAST(LAST_INSERT_ID() AS CHAR)".to_string();
                    run(db, sql, statements).await?.into_iter().next()
                }
                Backend::Postgres | Backend::Sqlite => rows.into_iter().next(),
            };
            for (column, value) in returned.iter().zip(row.unwrap_or_default()) {
                if let Some(value) = value {
                    inserted.insert((table.name.clone(), column.name.clone()), value);
                }
            }
        }
    }
    Ok(())
}

/// The tables to insert into, parents first and `target` last: each table reached through
/// foreign keys whose columns are not all nullable, once, stopping at cycles.
fn insert_order<'s>(schema: &'s Schema, target: &str) -> Vec<&'s Table> {
    fn visit<'s>(
        schema: &'s Schema,
        name: &str,
        stack: &mut Vec<String>,
        out: &mut Vec<&'s Table>,
    ) {
        let Some(table) = schema.table(name) else {
            return;
        };
        if out.iter().any(|t| t.name == name) || stack.iter().any(|s| s == name) {
            return;
        }
        stack.push(name.to_string());
        for fk in &table.foreign_keys {
            if !all_nullable(table, fk) {
                visit(schema, &fk.ref_table, stack, out);
            }
        }
        stack.pop();
        out.push(table);
    }
    let mut out = Vec::new();
    visit(schema, target, &mut Vec::new(), &mut out);
    out
}

fn all_nullable(table: &Table, fk: &ForeignKey) -> bool {
    fk.columns
        .iter()
        .all(|c| table.column(c).is_some_and(|c| c.nullable))
}

fn is_integer(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::SmallInt | ColumnType::Integer | ColumnType::BigInt
    )
}

/// Whether the column is in the primary key, a unique constraint or a unique index.
fn is_keyed(table: &Table, column: &str) -> bool {
    let named = |columns: &[String]| columns.iter().any(|c| c == column);
    table.is_primary_key_column(column)
        || table.uniques.iter().any(|u| named(&u.columns))
        || table.indexes.iter().any(|i| {
            i.unique
                && i.parts
                    .iter()
                    .any(|p| matches!(p, tt_schema::IndexPart::Column(c) if c == column))
        })
}

fn insert_sql(
    backend: Backend,
    table: &Table,
    set: &BTreeMap<&str, String>,
    returned: &[&Column],
) -> String {
    let q = |name: &str| backend.quote_ident(name);
    // In column order, so the statement reads like the table.
    let columns: Vec<&Column> = table
        .columns
        .iter()
        .filter(|c| set.contains_key(c.name.as_str()))
        .collect();
    let mut sql = if columns.is_empty() {
        match backend {
            Backend::Mysql => format!("INSERT INTO {} () VALUES ()", q(&table.name)),
            Backend::Postgres | Backend::Sqlite => {
                format!("INSERT INTO {} DEFAULT VALUES", q(&table.name))
            }
        }
    } else {
        let names: Vec<String> = columns.iter().map(|c| q(&c.name)).collect();
        let values: Vec<&str> = columns
            .iter()
            .map(|c| set.get(c.name.as_str()).map_or("NULL", String::as_str))
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q(&table.name),
            names.join(", "),
            values.join(", ")
        )
    };
    if !returned.is_empty() && backend != Backend::Mysql {
        let text = "TEXT";
        let casts: Vec<String> = returned
            .iter()
            .map(|c| format!("CAST({} AS {text})", q(&c.name)))
            .collect();
        sql.push_str(&format!(" RETURNING {}", casts.join(", ")));
    }
    sql
}

/// Generates literal values, each string distinct from the others.
struct Values {
    backend: Backend,
    seed: u32,
    count: u32,
}

impl Values {
    fn new(backend: Backend) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            backend,
            seed,
            count: 0,
        }
    }

    /// A fresh string of at most `max` characters; the varying digits are kept when cut.
    fn string(&mut self, max: Option<u32>) -> String {
        self.count += 1;
        let full = format!("tt{:09}{}", self.seed, self.count);
        let max = max.map_or(full.len(), |m| (m as usize).max(1));
        let start = full.len().saturating_sub(max);
        quote(&full[start..])
    }

    fn literal(&mut self, ty: &ColumnType) -> String {
        let backend = self.backend;
        match ty {
            ColumnType::SmallInt
            | ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::Serial
            | ColumnType::BigSerial
            | ColumnType::Real
            | ColumnType::Double
            | ColumnType::Decimal(None) => "1".to_string(),
            ColumnType::Decimal(Some((precision, scale))) => {
                if precision > scale { "1" } else { "0" }.to_string()
            }
            ColumnType::Boolean => match backend {
                Backend::Sqlite => "1".to_string(),
                Backend::Postgres | Backend::Mysql => "TRUE".to_string(),
            },
            ColumnType::Varchar(max) => self.string(*max),
            ColumnType::Char(n) => self.string(Some(*n)),
            ColumnType::Text => self.string(None),
            ColumnType::Date => "'2000-01-01'".to_string(),
            ColumnType::Time => "'12:00:00'".to_string(),
            ColumnType::Timestamp | ColumnType::TimestampTz => "'2000-01-01 00:00:00'".to_string(),
            ColumnType::Json | ColumnType::Jsonb => "'{}'".to_string(),
            ColumnType::Array(_) => match backend {
                Backend::Postgres => "'{}'".to_string(),
                Backend::Mysql | Backend::Sqlite => "'[]'".to_string(),
            },
            ColumnType::Uuid => {
                self.count += 1;
                format!("'00000000-0000-4000-8000-{:012}'", self.count)
            }
            ColumnType::Bytes => match backend {
                Backend::Postgres => "'\\x7474'::bytea".to_string(),
                Backend::Mysql | Backend::Sqlite => "X'7474'".to_string(),
            },
            ColumnType::Custom(name) => self.custom(name),
            _ => self.string(None),
        }
    }

    /// A value for a backend type tt has no portable name for, guessed from its name.
    fn custom(&mut self, name: &str) -> String {
        let lower = name.to_ascii_lowercase();
        if let Some(first) = lower
            .strip_prefix("enum(")
            .or_else(|| lower.strip_prefix("set("))
            .and_then(|_| first_quoted(name))
        {
            return quote(&first);
        }
        if lower.contains("char") || lower.contains("text") {
            self.string(first_number(name))
        } else if lower.contains("int") || lower.contains("dec") || lower.contains("num") {
            "1".to_string()
        } else if lower.contains("timestamp") || lower.contains("datetime") {
            "'2000-01-01 00:00:00'".to_string()
        } else if lower.contains("date") {
            "'2000-01-01'".to_string()
        } else if lower.contains("time") {
            "'12:00:00'".to_string()
        } else if lower.contains("blob") || lower.contains("binary") {
            "X'7474'".to_string()
        } else {
            self.string(first_number(name))
        }
    }
}

/// `text` as an SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The first single-quoted value of a type such as `enum('a','b')`.
fn first_quoted(text: &str) -> Option<String> {
    let start = text.find('\'')? + 1;
    let mut value = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return Some(value);
            }
        }
        value.push(c);
    }
    None
}

/// The first number in a type such as `varchar(20) binary`, read as a length.
fn first_number(text: &str) -> Option<u32> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(backend: Backend, ty: &str, expected: &str) {
        let mut values = Values {
            backend,
            seed: 7,
            count: 0,
        };
        let ty: ColumnType = ty.parse().expect("type parses");
        assert_eq!(values.literal(&ty), expected, "{ty} on {backend}");
    }

    #[test]
    fn generated_values_fit_their_types() {
        use Backend::*;
        check(Postgres, "integer", "1");
        check(Postgres, "decimal(10,2)", "1");
        check(Postgres, "decimal(2,2)", "0");
        check(Postgres, "boolean", "TRUE");
        check(Sqlite, "boolean", "1");
        check(Postgres, "varchar(64)", "'tt0000000071'");
        check(Mysql, "varchar(3)", "'071'");
        check(Mysql, "char(1)", "'1'");
        check(Postgres, "text", "'tt0000000071'");
        check(Mysql, "timestamptz", "'2000-01-01 00:00:00'");
        check(Postgres, "integer[]", "'{}'");
        check(Mysql, "integer[]", "'[]'");
        check(Postgres, "uuid", "'00000000-0000-4000-8000-000000000001'");
        check(Postgres, "bytes", "'\\x7474'::bytea");
        check(Mysql, "custom(enum('it''s','b'))", "'it''s'");
        check(Mysql, "custom(int(10) unsigned)", "1");
        check(Mysql, "custom(varchar(4) binary)", "'0071'");
    }

    #[test]
    fn parents_come_first_and_cycles_stop() {
        let schema = tt_schema::parse_definitions(
            "t.toml",
            r#"
            [tables.a]
            columns = [{ name = "id", type = "serial", primary_key = true },
                       { name = "b_id", type = "integer", nullable = false, references = "b.id" }]
            [tables.b]
            columns = [{ name = "id", type = "serial", primary_key = true },
                       { name = "c_id", type = "integer", nullable = false, references = "c.id" },
                       { name = "opt_id", type = "integer", references = "d.id" }]
            [tables.c]
            columns = [{ name = "id", type = "serial", primary_key = true },
                       { name = "a_id", type = "integer", nullable = false, references = "a.id" }]
            [tables.d]
            columns = [{ name = "id", type = "serial", primary_key = true }]
            "#,
        )
        .expect("definitions parse");
        let names = |target| -> Vec<String> {
            insert_order(&schema, target)
                .iter()
                .map(|t| t.name.clone())
                .collect()
        };
        assert_eq!(names("a"), ["c", "b", "a"]);
        assert_eq!(names("d"), ["d"]);
        assert!(names("missing").is_empty());
    }
}
