//! Introspection: reading the tables of a live database into the schema model.

mod mysql;
mod postgres;
mod sqlite;

use tt_schema::{Backend, ColumnType, DefaultValue, FkAction, Schema, Table};

use crate::database::{Arg, Database};
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
/// Read as [`DefaultValue::String`], [`DefaultValue::Number`] or [`DefaultValue::Bool`] when
/// they are a single literal: PostgreSQL's trailing casts are dropped (`'x'::character varying`
/// is `"x"`, `'-1'::integer` is `-1`), MariaDB's quoting is undone, `NULL` is no default, and on
/// a boolean column `0`/`1` are booleans. `now()`, `CURRENT_TIMESTAMP`, `current_timestamp()`,
/// `current_timestamp(6)` and `datetime('now')` are [`DefaultValue::CurrentTimestamp`];
/// anything else is an
/// [`DefaultValue::Expression`] as the backend prints it.
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
/// [`Error::UnknownSchema`] when the PostgreSQL schema does not exist, [`Error::Query`] when a
/// catalog query fails.
pub async fn introspect(db: &mut Database, options: &IntrospectOptions) -> Result<Schema, Error> {
    let tables = match db.backend() {
        Backend::Postgres => postgres::read(db, options.postgres_schema.as_deref()).await?,
        Backend::Mysql => mysql::read(db).await?,
        Backend::Sqlite => sqlite::read(db).await?,
    };
    Ok(Schema::from_tables(tables.into_iter().map(finish)))
}

/// Runs one catalog query whose rows have `N` text columns.
async fn fetch<const N: usize>(
    db: &mut Database,
    what: &str,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<[Option<String>; N]>, Error> {
    let context = format!("reading {what} from the catalog");
    let rows = db
        .query_text_rows(sql, args)
        .await
        .map_err(Error::query(context.clone()))?;
    rows.into_iter()
        .map(|row| {
            <[Option<String>; N]>::try_from(row).map_err(|row| Error::Query {
                context: context.clone(),
                source: sqlx::Error::ColumnIndexOutOfBounds {
                    index: N - 1,
                    len: row.len(),
                },
            })
        })
        .collect()
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

/// A default as the backend prints it, read as a literal where it is one (see the module
/// docs); `None` for `NULL`.
fn parse_default(text: &str, ty: &ColumnType) -> Option<DefaultValue> {
    let text = text.trim();
    let bare = strip_outer_parens(text);
    if bare.eq_ignore_ascii_case("null") {
        return None;
    }
    if let Some(value) = string_literal(bare) {
        return Some(if is_numeric(ty) && is_number(&value) {
            DefaultValue::Number(value)
        } else {
            DefaultValue::String(value)
        });
    }
    if is_number(bare) {
        return Some(match (ty, bare) {
            (ColumnType::Boolean, "0") => DefaultValue::Bool(false),
            (ColumnType::Boolean, "1") => DefaultValue::Bool(true),
            _ => DefaultValue::Number(bare.to_string()),
        });
    }
    let squeezed: String = bare
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match squeezed.as_str() {
        "true" => DefaultValue::Bool(true),
        "false" => DefaultValue::Bool(false),
        "current_timestamp" | "localtimestamp" | "datetime('now')" => {
            DefaultValue::CurrentTimestamp
        }
        other if is_timestamp_call(other) => DefaultValue::CurrentTimestamp,
        _ => DefaultValue::Expression(text.to_string()),
    })
}

/// Whether a squeezed, lowercase default calls a current-time function, with or without a
/// precision (`now()`, `current_timestamp(6)`, which MySQL needs on a `DATETIME(6)` column).
fn is_timestamp_call(text: &str) -> bool {
    [
        "now(",
        "current_timestamp(",
        "localtimestamp(",
        "transaction_timestamp(",
    ]
    .iter()
    .any(|name| {
        text.strip_prefix(name)
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|precision| precision.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether a column of this type holds numbers, so a quoted number default is a number.
fn is_numeric(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::SmallInt
            | ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::Serial
            | ColumnType::BigSerial
            | ColumnType::Real
            | ColumnType::Double
            | ColumnType::Decimal(_)
    )
}

/// Whether `text` is a plain decimal number (`-1`, `2.50`, `.5`).
fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(whole.is_empty() && fraction.is_empty()) && all_digits(whole) && all_digits(fraction)
}

/// The value of a text that is exactly one single-quoted SQL string literal (`'it''s'`).
fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        // Inside the literal a quote must be doubled; a lone one means two literals.
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        value.push(c);
    }
    Some(value)
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

    #[track_caller]
    fn check(text: &str, ty: &str, expected: Option<DefaultValue>) {
        let ty: ColumnType = ty.parse().unwrap();
        assert_eq!(
            parse_default(text, &ty),
            expected,
            "default {text:?} of {ty}"
        );
    }

    fn s(v: &str) -> Option<DefaultValue> {
        Some(DefaultValue::String(v.to_string()))
    }

    fn n(v: &str) -> Option<DefaultValue> {
        Some(DefaultValue::Number(v.to_string()))
    }

    fn e(v: &str) -> Option<DefaultValue> {
        Some(DefaultValue::Expression(v.to_string()))
    }

    #[test]
    fn defaults_are_read_as_literals_where_they_are_one() {
        check("'abc'", "text", s("abc"));
        check("'it''s'", "text", s("it's"));
        check("''", "varchar(5)", s(""));
        check("'-1'", "integer", n("-1"));
        check("'-1'", "text", s("-1"));
        check("'1.5'", "decimal(4,1)", n("1.5"));
        check("-1.5", "decimal(4,1)", n("-1.5"));
        check("0", "integer", n("0"));
        check("(-1)", "integer", n("-1"));
        check("0", "boolean", Some(DefaultValue::Bool(false)));
        check("1", "boolean", Some(DefaultValue::Bool(true)));
        check("2", "boolean", n("2"));
        check("TRUE", "boolean", Some(DefaultValue::Bool(true)));
        check("false", "boolean", Some(DefaultValue::Bool(false)));
        check("NULL", "text", None);
        check("null", "integer", None);
        check("now()", "timestamptz", Some(DefaultValue::CurrentTimestamp));
        check(
            "CURRENT_TIMESTAMP",
            "timestamp",
            Some(DefaultValue::CurrentTimestamp),
        );
        check(
            "current_timestamp()",
            "timestamp",
            Some(DefaultValue::CurrentTimestamp),
        );
        check(
            "datetime('now')",
            "text",
            Some(DefaultValue::CurrentTimestamp),
        );
        check(
            "current_timestamp(6)",
            "timestamp",
            Some(DefaultValue::CurrentTimestamp),
        );
        check("now(3)", "timestamp", Some(DefaultValue::CurrentTimestamp));
        check("now(x)", "timestamp", e("now(x)"));
        check("uuid()", "char(36)", e("uuid()"));
        check("'a' || 'b'", "text", e("'a' || 'b'"));
        check("'a''", "text", e("'a''"));
        check("1e5", "double", e("1e5"));
        check("(1 + 2) * 3", "integer", e("(1 + 2) * 3"));
        check(" (now() + '1 day') ", "timestamptz", e("(now() + '1 day')"));
    }

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
