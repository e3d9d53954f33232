//! Introspection: reading the tables of a live database into the schema model.

pub(super) mod mysql;
pub(super) mod postgres;
pub(super) mod sqlite;

use tt_schema::{FkAction, Schema, Table};

use crate::backend::database::{Arg, Database};
use crate::backend::value::{self, Value};
use crate::error::Error;

/// What [`introspect`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntrospectOptions {
    /// The PostgreSQL schema to read; `None` reads `current_schema()`. Ignored elsewhere
    /// (MySQL reads the connection's database, SQLite its `main` database).
    pub postgres_schema: Option<String>,
}

/// Reads every base table of the connected database into a [`Schema`].
///
/// Returns every base table (never views) with its columns, keys, checks, indexes, foreign
/// keys and comments. The catalog is read with a fixed number of queries whatever the number of
/// tables (PostgreSQL 3, MySQL 5, SQLite 3), so a large schema costs no more round trips than a
/// small one. tt's own tracking table is returned like any other; callers filter it out when
/// they need to.
///
/// Values are read back the way the backend stores them, not the way a migration spelled them:
/// `diff` compares them with the expected schema mapped to what each backend stores. Within a
/// table, columns keep their declaration order and everything else is sorted by name.
///
/// # Types
///
/// | stored as                                       | read as                       |
/// |-------------------------------------------------|-------------------------------|
/// | PG `integer`/`bigint` with `nextval` of a sequence the column owns, or an identity column | `serial`/`bigserial`, no default |
/// | PG `character(n)`, `numeric(p,s)`, `T[]`        | `char(n)`, `decimal(p,s)`, `T[]` |
/// | PG `timestamp(3) with time zone`, `tsvector`, enums, domains, … | `custom(<format_type>)` |
/// | MySQL `int`/`bigint` `auto_increment`           | `serial`/`bigserial`, no default |
/// | MySQL `tinyint(1)`                              | `boolean`                     |
/// | MySQL `json`; MariaDB `longtext` with `CHECK (json_valid(col))` | `json` (the check is not reported) |
/// | MySQL `timestamp` / `datetime`, `datetime(6)`   | `timestamptz` / `timestamp`   |
/// | MySQL `time`, `time(6)`                         | `time`                        |
/// | MySQL `longblob`                                | `bytes`                       |
/// | MySQL `text`, `longtext`                        | `text`                        |
/// | MySQL unsigned or display-width types, `mediumtext`, `blob`, `enum(…)`, `datetime(3)`, … | `custom(<COLUMN_TYPE>)` |
/// | SQLite `INTEGER PRIMARY KEY AUTOINCREMENT`      | `serial`                      |
/// | SQLite declared type that names a portable type (`VARCHAR(50)`, `TIMESTAMPTZ`, `BLOB`) | that type |
/// | SQLite any other declared type (also `SERIAL`, and an empty one) | `custom(<declared>)` |
///
/// # Defaults
///
/// Read with [`DefaultValue::from_sql`](tt_schema::DefaultValue::from_sql): as
/// `String`, `Number` or `Bool` when they are a single literal (PostgreSQL's trailing casts
/// dropped: `'x'::character varying` is `"x"`, `'-1'::integer` is `-1`; MariaDB's quoting
/// undone; on a boolean column `0`/`1` are booleans), `NULL` is no default, `now()`,
/// `CURRENT_TIMESTAMP`, `current_timestamp(6)` and `datetime('now')` are `CurrentTimestamp`,
/// anything else is an `Expression` as the backend prints it. MySQL (not MariaDB) prints
/// literals bare: on a text or date column its default is the string as printed.
///
/// # Keys, indexes and foreign keys
///
/// - Check expressions and index predicates are the backend's text with redundant outer
///   parentheses removed (PostgreSQL's `(price > (0)::numeric)` is `price > (0)::numeric`).
/// - An index method is `None` for the backend's default (`btree`), else its lowercase name
///   (`gin`, `fulltext`). Column order (`DESC`), operator classes, collations, `INCLUDE`
///   columns and MySQL `ON UPDATE` clauses are not read back.
/// - PostgreSQL: indexes that back a primary key, unique or exclusion constraint are not
///   indexes; exclusion constraints themselves are not read. Partitions are left out (their
///   partitioned table is read).
/// - MySQL has no unique constraint apart from a unique index: every unique index on plain
///   columns is read as a [`Unique`](tt_schema::Unique) named by the index; one with a prefix
///   length or an expression is a unique [`Index`](tt_schema::Index). A prefix part reads as
///   the expression `` `col`(n) ``.
///   The index MySQL creates for a foreign key is not reported: a non-unique index whose parts
///   are exactly the foreign key's columns, named like the key or like its first column (the
///   names MySQL gives it). `RESTRICT` reads as `NO ACTION`: InnoDB treats them alike and
///   MariaDB reports `RESTRICT` for a key declared without an action.
/// - SQLite: foreign keys have no names, so they get
///   [`ForeignKey::default_name`](tt_schema::ForeignKey::default_name); their deferrability is
///   not read. Unique constraints (`sqlite_autoindex_*` indexes) have no name.
///   Checks are parsed from the `CREATE TABLE` text (`CHECK (…)`, optionally named with
///   `CONSTRAINT name`); index expressions and predicates from the `CREATE INDEX` text.
///   `INTEGER PRIMARY KEY` without `AUTOINCREMENT` is an `integer` key, not `serial`.
/// - Primary key columns are never nullable in the model, whatever SQLite reports.
/// - Generated columns are read as plain columns, without their expression.
///
/// # Errors
/// [`ConnectError::UnknownSchema`](crate::ConnectError::UnknownSchema) when the PostgreSQL schema
/// does not exist, [`Error::Query`] when a catalog query fails.
pub async fn introspect(db: &mut Database, options: &IntrospectOptions) -> Result<Schema, Error> {
    // The schema found when connecting, not the session's current one: a migration's `SET
    // search_path` must not change which tables tt sees.
    let schema = options
        .postgres_schema
        .clone()
        .or_else(|| db.home_schema().map(str::to_string));
    let tables = db.dialect().introspect(db, schema.as_deref()).await?;
    Ok(Schema::from_tables(tables.into_iter().map(finish)))
}

/// Runs one catalog query whose rows have `N` columns, each read by its SQL type.
async fn fetch<const N: usize>(
    db: &mut Database,
    what: &'static str,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<CatalogRow>, Error> {
    let rows = db
        .query_rows(sql, args)
        .await
        .map_err(Error::query(context(what)))?;
    rows.into_iter()
        .map(|values| {
            if values.len() != N {
                return Err(Error::query(context(what))(
                    sqlx::Error::ColumnIndexOutOfBounds {
                        index: N - 1,
                        len: values.len(),
                    },
                ));
            }
            Ok(CatalogRow { values, what })
        })
        .collect()
}

/// The context of an error reading `what` from the catalog.
fn context(what: &str) -> String {
    format!("reading {what} from the catalog")
}

/// A row of a catalog query, each column read as the query promises: a value of another type
/// (or NULL where none can be) is an error naming the query and the column, not a default.
#[derive(Debug, Clone)]
struct CatalogRow {
    values: Vec<Value>,
    what: &'static str,
}

impl CatalogRow {
    /// Column `index`, called `name` in errors, read by `read`.
    fn read<T>(
        &self,
        index: usize,
        name: &'static str,
        read: impl FnOnce(value::Column<'_>) -> Result<T, sqlx::Error>,
    ) -> Result<T, Error> {
        read(value::column(&self.values, index, name)).map_err(Error::query(context(self.what)))
    }

    /// Text or NULL.
    fn text(&self, index: usize, name: &'static str) -> Result<Option<String>, Error> {
        self.read(index, name, |column| column.opt_text())
    }

    /// A boolean; NULL is an error.
    fn flag(&self, index: usize, name: &'static str) -> Result<bool, Error> {
        self.read(index, name, |column| column.bool())
    }

    /// A number that fits in a `u32`, or NULL.
    fn number(&self, index: usize, name: &'static str) -> Result<Option<u32>, Error> {
        self.read(index, name, |column| column.opt_number())
    }

    /// Every column as text or NULL, called `names` in errors.
    fn texts<const N: usize>(
        &self,
        names: [&'static str; N],
    ) -> Result<[Option<String>; N], Error> {
        let mut texts = [const { None }; N];
        for (index, (text, name)) in texts.iter_mut().zip(names).enumerate() {
            *text = self.text(index, name)?;
        }
        Ok(texts)
    }
}

/// A number the catalog returned in text (an index name's suffix); one that does not parse is
/// an error, not a guess.
fn catalog_number(what: &str, text: &str) -> Result<u32, Error> {
    text.trim().parse().map_err(|_| Error::Query {
        context: format!("reading {what} from the catalog"),
        source: sqlx::Error::ColumnDecode {
            index: what.to_string(),
            source: format!("expected a number, found `{text}`").into(),
        }
        .into(),
    })
}

/// Puts a table in the model's canonical form: key columns not null, named things sorted.
fn finish(mut table: Table) -> Table {
    if let Some(key) = &table.primary_key {
        for column in &mut table.columns {
            if key.columns.contains(&column.name) {
                column.nullable = false;
            }
        }
    }
    table
        .uniques
        .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    table
        .checks
        .sort_by(|a, b| (&a.name, &a.expression).cmp(&(&b.name, &b.expression)));
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    table
}

/// A comment as the model holds it: an empty one is none.
fn comment(text: Option<String>) -> Option<String> {
    text.filter(|c| !c.is_empty())
}

/// The referential action an `ON DELETE`/`ON UPDATE` rule names (`SET NULL`, `CASCADE`, …).
fn fk_action(rule: Option<&str>) -> FkAction {
    match rule.map(str::to_ascii_uppercase).as_deref() {
        Some("CASCADE") => FkAction::Cascade,
        Some("SET NULL") => FkAction::SetNull,
        Some("SET DEFAULT") => FkAction::SetDefault,
        Some("RESTRICT") => FkAction::Restrict,
        _ => FkAction::NoAction,
    }
}

/// `text` without parentheses that enclose all of it (`((a > 0))` → `a > 0`).
fn strip_outer_parens(mut text: &str) -> &str {
    loop {
        text = text.trim();
        match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            Some(inner) if closing_paren(text) == Some(text.len() - 1) => text = inner,
            _ => return text,
        }
    }
}

/// The byte offset of the parenthesis that closes the one opening `text`, skipping quotes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_parentheses_are_stripped_only_when_they_enclose_everything() {
        let check = |text: &str, expected: &str| assert_eq!(strip_outer_parens(text), expected);
        check("((a > 0))", "a > 0");
        check("(a) + (b)", "(a) + (b)");
        check("(a = ')')", "a = ')'");
        check("(\"x)\" > 0)", "\"x)\" > 0");
        check("a", "a");
        check("(a", "(a");
        check("()", "");
    }

    #[test]
    fn foreign_key_rules_name_actions() {
        assert_eq!(fk_action(Some("SET NULL")), FkAction::SetNull);
        assert_eq!(fk_action(Some("cascade")), FkAction::Cascade);
        assert_eq!(fk_action(Some("SET DEFAULT")), FkAction::SetDefault);
        assert_eq!(fk_action(Some("RESTRICT")), FkAction::Restrict);
        assert_eq!(fk_action(Some("NO ACTION")), FkAction::NoAction);
        assert_eq!(fk_action(None), FkAction::NoAction);
    }
}
