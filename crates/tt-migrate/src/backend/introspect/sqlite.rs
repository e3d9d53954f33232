//! Reading the main SQLite database from its pragma functions and DDL text in three queries.

use std::collections::{BTreeMap, BTreeSet};

use tt_schema::{
    Check, Column, ColumnType, DefaultValue, ForeignKey, Index, IndexPart, PrimaryKey, Table,
    Unique,
};

use super::{catalog_number, fetch, fk_action};
use crate::backend::database::Database;
use crate::error::Error;
use crate::files::split::tokens::{self, Kind, Token};

/// The base tables of `main` (`t`): not views, virtual or shadow tables, nor SQLite's own.
const BASE_TABLES: &str =
    "t.schema = 'main' AND t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/// Columns, generated ones included (`hidden` 2 and 3), but not a virtual table's hidden ones.
const TABLES: &str = "
SELECT t.name, m.sql, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk
FROM pragma_table_list t
JOIN sqlite_master m ON m.type = 'table' AND m.name = t.name
JOIN pragma_table_xinfo(t.name, 'main') p
WHERE {tables} AND p.hidden <> 1
ORDER BY t.name, p.cid";

const FOREIGN_KEYS: &str = "
SELECT t.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_delete, f.on_update
FROM pragma_table_list t
JOIN pragma_foreign_key_list(t.name, 'main') f
WHERE {tables}
ORDER BY t.name, f.id, f.seq";

const INDEXES: &str = "
SELECT t.name, il.name, il.\"unique\", il.origin, ii.name, m.sql
FROM pragma_table_list t
JOIN pragma_index_list(t.name, 'main') il
JOIN pragma_index_info(il.name, 'main') ii
LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = il.name
WHERE {tables}
ORDER BY t.name, il.name, ii.seqno";

/// Reads the base tables of the `main` database.
pub(in crate::backend) async fn read(db: &mut Database) -> Result<Vec<Table>, Error> {
    let sql = |query: &str| query.replace("{tables}", BASE_TABLES);

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut autoincrement: BTreeSet<String> = BTreeSet::new();
    let mut key_positions: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for row in fetch::<7>(db, "tables and columns", &sql(TABLES), &[]).await? {
        let (Some(table_name), Some(column)) = (row.text(0, "name")?, row.text(2, "name")?) else {
            continue;
        };
        let create = row.text(1, "sql")?;
        let table = tables.entry(table_name.clone()).or_insert_with(|| {
            let create = create.unwrap_or_default();
            if has_autoincrement(&create) {
                autoincrement.insert(table_name.clone());
            }
            Table {
                checks: checks(&create),
                ..Table::new(&table_name)
            }
        });
        let key_position = row.number(6, "pk")?.unwrap_or_default();
        if key_position > 0 {
            key_positions
                .entry(table_name)
                .or_default()
                .push((key_position, column.clone()));
        }
        let ty = column_type(&row.text(3, "type")?.unwrap_or_default());
        let default = row
            .text(5, "dflt_value")?
            .and_then(|d| DefaultValue::from_sql(&d, &ty));
        table.columns.push(Column {
            name: column,
            ty,
            nullable: !row.flag(4, "notnull")?,
            default,
            comment: None,
        });
    }
    for (table_name, mut positions) in key_positions {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        positions.sort();
        let columns: Vec<String> = positions.into_iter().map(|(_, c)| c).collect();
        // Only an INTEGER PRIMARY KEY may be AUTOINCREMENT, so the key says which column is.
        if let [key] = columns.as_slice() {
            if autoincrement.contains(&table_name) {
                let column = table.columns.iter_mut().find(|c| &c.name == key);
                if let Some(column) = column.filter(|c| c.ty == ColumnType::Integer) {
                    column.ty = ColumnType::Serial;
                }
            }
        }
        table.primary_key = Some(PrimaryKey { columns });
    }

    let rows = fetch::<7>(db, "foreign keys", &sql(FOREIGN_KEYS), &[]).await?;
    // (table, id) → key; `to` is NULL for a key that references the parent's primary key.
    let mut keys: BTreeMap<(String, u32), (ForeignKey, bool)> = BTreeMap::new();
    for row in rows {
        let [table, ref_table, from, to, on_delete, on_update] = [
            (0, "name"),
            (2, "table"),
            (3, "from"),
            (4, "to"),
            (5, "on_delete"),
            (6, "on_update"),
        ]
        .map(|(index, name)| row.text(index, name));
        let (Some(table), Some(id), Some(ref_table), Some(from)) =
            (table?, row.number(1, "id")?, ref_table?, from?)
        else {
            continue;
        };
        let (to, on_delete, on_update) = (to?, on_delete?, on_update?);
        let (fk, implicit) = keys.entry((table, id)).or_insert_with(|| {
            let fk = ForeignKey {
                name: String::new(),
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
                on_delete: fk_action(on_delete.as_deref()),
                on_update: fk_action(on_update.as_deref()),
                deferrable: Default::default(),
            };
            (fk, false)
        });
        fk.columns.push(from);
        match to {
            Some(to) => fk.ref_columns.push(to),
            None => *implicit = true,
        }
    }
    for ((table_name, _), (mut fk, implicit)) in keys {
        if implicit {
            fk.ref_columns = tables
                .get(&fk.ref_table)
                .and_then(|parent| parent.primary_key.as_ref())
                .map(|key| key.columns.clone())
                .unwrap_or_default();
        }
        fk.name = ForeignKey::default_name(&table_name, &fk.columns);
        if let Some(table) = tables.get_mut(&table_name) {
            table.foreign_keys.push(fk);
        }
    }

    let mut indexes: BTreeMap<(String, String), Vec<IndexRow>> = BTreeMap::new();
    for row in fetch::<6>(db, "indexes", &sql(INDEXES), &[]).await? {
        let (Some(table), Some(name)) = (row.text(0, "name")?, row.text(1, "name")?) else {
            continue;
        };
        let index_row = IndexRow {
            unique: row.flag(2, "unique")?,
            origin: row.text(3, "origin")?,
            column: row.text(4, "name")?,
            create: row.text(5, "sql")?,
        };
        indexes.entry((table, name)).or_default().push(index_row);
    }
    for ((table_name, name), rows) in indexes {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        add_index(table, name, &rows);
    }
    for table in tables.values_mut() {
        // Autoindexes are numbered in declaration order: keep it (`_10` after `_9`).
        let mut numbered = Vec::new();
        for mut unique in std::mem::take(&mut table.uniques) {
            let number = autoindex_number(unique.name.as_deref().unwrap_or_default())?;
            unique.name = None;
            numbered.push((number, unique));
        }
        numbered.sort_by_key(|(number, _)| *number);
        table.uniques = numbered.into_iter().map(|(_, unique)| unique).collect();
    }
    Ok(tables.into_values().collect())
}

/// One key part of an index, from `pragma_index_list` and `pragma_index_info`.
#[derive(Debug)]
struct IndexRow {
    unique: bool,
    origin: Option<String>,
    /// The column, or `None` for an expression.
    column: Option<String>,
    /// The `CREATE INDEX` text (none for an automatic index).
    create: Option<String>,
}

/// Adds one index (its rows, in key order): unique constraints and primary keys come as
/// `sqlite_autoindex_*` indexes of origin `u` and `pk`; only `c` ones are real indexes.
fn add_index(table: &mut Table, name: String, rows: &[IndexRow]) {
    // Every group holds at least the row it was created for.
    let IndexRow {
        unique,
        origin,
        create,
        ..
    } = &rows[0];
    let columns = || rows.iter().filter_map(|r| r.column.clone()).collect();
    match origin.as_deref() {
        Some("pk") => {}
        Some("u") => table.uniques.push(Unique {
            // The name only orders the constraints; it is dropped once they are sorted.
            name: Some(name),
            columns: columns(),
        }),
        _ => {
            let (texts, predicate) = create
                .as_deref()
                .and_then(index_definition)
                .unwrap_or_default();
            let mut parts = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                match (&row.column, texts.get(i)) {
                    (Some(column), _) => parts.push(IndexPart::Column(column.clone())),
                    (None, Some(text)) => parts.push(IndexPart::Expression(text.clone())),
                    (None, None) => {
                        tracing::warn!(
                            index = %name,
                            table = %table.name,
                            "could not read an expression of the index from its CREATE INDEX text"
                        );
                        return;
                    }
                }
            }
            table.indexes.push(Index {
                name,
                parts,
                unique: *unique,
                method: None,
                predicate,
            });
        }
    }
}

/// The `N` of a unique constraint's index, `sqlite_autoindex_<table>_N`.
fn autoindex_number(name: &str) -> Result<u32, Error> {
    let number = name.rsplit('_').next().unwrap_or_default();
    catalog_number(&format!("the number of index `{name}`"), number)
}

/// The portable type a declared type names, else `custom(<declared>)`. `SERIAL` is only a name
/// to SQLite (no auto-increment), so it stays custom.
fn column_type(declared: &str) -> ColumnType {
    match declared.parse::<ColumnType>() {
        Ok(
            ColumnType::Serial
            | ColumnType::BigSerial
            | ColumnType::Custom(_)
            | ColumnType::Array(_),
        )
        | Err(_) => ColumnType::Custom(declared.to_string()),
        Ok(ty) => ty,
    }
}

/// The tokens of SQLite DDL without whitespace and comments.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    tokens::tokens(sql, tt_schema::Backend::Sqlite)
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect()
}

/// The index of the token closing the parenthesis opened at `open`.
fn matching_close(tokens: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Whether a `CREATE TABLE` text says `AUTOINCREMENT` (outside strings and comments).
fn has_autoincrement(create: &str) -> bool {
    tokens(create).iter().any(|t| t.is_word("AUTOINCREMENT"))
}

/// The `CHECK (…)` constraints of a `CREATE TABLE` text, column or table level, with the
/// name a preceding `CONSTRAINT name` gives them.
fn checks(create: &str) -> Vec<Check> {
    let tokens = tokens(create);
    let Some(open) = tokens.iter().position(|t| t.is_punct('(')) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let mut depth = 0usize;
    let mut i = open + 1;
    while i < tokens.len() {
        let token = tokens[i];
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') {
            if depth == 0 {
                break; // The end of the table's body.
            }
            depth -= 1;
        } else if depth == 0 {
            let (name, at) = if token.is_word("CONSTRAINT") && i + 2 < tokens.len() {
                (Some(tokens[i + 1].identifier()), i + 2)
            } else {
                (None, i)
            };
            if tokens[at].is_word("CHECK") && tokens.get(at + 1).is_some_and(|t| t.is_punct('(')) {
                if let Some(close) = matching_close(&tokens, at + 1) {
                    let expression = &create[tokens[at + 1].end()..tokens[close].start];
                    checks.push(Check {
                        name,
                        expression: expression.trim().to_string(),
                    });
                    i = close + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    checks
}

/// The key parts (as written, without `ASC`/`DESC`/`COLLATE`) and the `WHERE` condition of a
/// `CREATE INDEX` text.
fn index_definition(create: &str) -> Option<(Vec<String>, Option<String>)> {
    let tokens = tokens(create);
    let on = tokens.iter().position(|t| t.is_word("ON"))?;
    let open = on + tokens[on..].iter().position(|t| t.is_punct('('))?;
    let close = matching_close(&tokens, open)?;
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut part_start = open + 1;
    for (i, token) in tokens.iter().enumerate().take(close + 1).skip(open + 1) {
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') && depth > 0 {
            depth -= 1;
        } else if depth == 0 && (token.is_punct(',') || i == close) {
            parts.push(part_text(create, &tokens[part_start..i]));
            part_start = i + 1;
        }
    }
    let predicate = match tokens.get(close + 1) {
        Some(t) if t.is_word("WHERE") => Some(create[t.end()..].trim().to_string()),
        _ => None,
    };
    Some((parts, predicate))
}

/// The text of one index part without a trailing sort order or collation.
fn part_text(sql: &str, mut tokens: &[Token<'_>]) -> String {
    if let [rest @ .., last] = tokens {
        if last.is_word("ASC") || last.is_word("DESC") {
            tokens = rest;
        }
    }
    if let [rest @ .., collate, _] = tokens {
        if collate.is_word("COLLATE") {
            tokens = rest;
        }
    }
    match tokens {
        [first, .., last] => sql[first.start..last.end()].to_string(),
        [only] => only.text.to_string(),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autoindex_numbers_are_read_or_an_error_naming_the_index() {
        assert_eq!(autoindex_number("sqlite_autoindex_t_10").unwrap(), 10);
        let error = autoindex_number("sqlite_autoindex_t_x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "reading the number of index `sqlite_autoindex_t_x` from the catalog failed"
        );
    }

    #[track_caller]
    fn check_checks(create: &str, expected: &[(Option<&str>, &str)]) {
        let got: Vec<(Option<String>, String)> = checks(create)
            .into_iter()
            .map(|c| (c.name, c.expression))
            .collect();
        let expected: Vec<(Option<String>, String)> = expected
            .iter()
            .map(|(n, e)| (n.map(str::to_string), e.to_string()))
            .collect();
        assert_eq!(got, expected, "{create}");
    }

    #[test]
    fn checks_come_from_the_create_table_text() {
        check_checks("CREATE TABLE t (a INT)", &[]);
        check_checks("CREATE TABLE t (a INT CHECK (a > 0))", &[(None, "a > 0")]);
        check_checks(
            "CREATE TABLE t (a INT CONSTRAINT ck_a CHECK(a > (1)), b TEXT, CHECK (length(b) < 5))",
            &[(Some("ck_a"), "a > (1)"), (None, "length(b) < 5")],
        );
        check_checks(
            "CREATE TABLE \"t\" (\"a b\" INT, CONSTRAINT \"ck \"\"q\"\"\" CHECK (\"a b\" IN ('x)', 'check (')))",
            &[(Some("ck \"q\""), "\"a b\" IN ('x)', 'check (')")],
        );
        check_checks(
            "CREATE TABLE t (a INT DEFAULT 'CHECK (x)' -- CHECK (y)\n, /* CHECK (z) */ b INT)",
            &[],
        );
        check_checks(
            "CREATE TABLE t (a INT, CONSTRAINT [ck] CHECK (a <> 0)) WITHOUT ROWID",
            &[(Some("ck"), "a <> 0")],
        );
        check_checks("CREATE TABLE t (a INT CHECK (a > 0", &[]);
    }

    #[test]
    fn autoincrement_is_a_keyword_not_a_word_in_a_string() {
        assert!(has_autoincrement(
            "CREATE TABLE t (id INTEGER PRIMARY KEY autoincrement)"
        ));
        assert!(!has_autoincrement(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT DEFAULT 'AUTOINCREMENT')"
        ));
        assert!(!has_autoincrement(
            "CREATE TABLE t (id INTEGER PRIMARY KEY) -- AUTOINCREMENT"
        ));
    }

    #[track_caller]
    fn check_index(create: &str, parts: &[&str], predicate: Option<&str>) {
        let (got_parts, got_predicate) = index_definition(create).expect("parses");
        assert_eq!(got_parts, parts, "{create}");
        assert_eq!(got_predicate.as_deref(), predicate, "{create}");
    }

    #[test]
    fn index_parts_and_predicates_come_from_the_create_index_text() {
        check_index("CREATE INDEX i ON t (a)", &["a"], None);
        check_index(
            "CREATE UNIQUE INDEX i ON t (lower(a), b DESC) WHERE a IS NOT NULL",
            &["lower(a)", "b"],
            Some("a IS NOT NULL"),
        );
        check_index(
            "CREATE INDEX \"on\" ON \"t\"(substr(a, 1, 2) COLLATE NOCASE ASC, \"b\")",
            &["substr(a, 1, 2)", "\"b\""],
            None,
        );
        check_index(
            "CREATE INDEX IF NOT EXISTS i ON t (a + b)  WHERE  (a > 0) ",
            &["a + b"],
            Some("(a > 0)"),
        );
        assert_eq!(index_definition("CREATE INDEX i ON t (a"), None);
    }

    #[test]
    fn declared_types_stay_as_declared_unless_portable() {
        let check = |declared: &str, expected: &str| {
            assert_eq!(column_type(declared).to_string(), expected, "{declared}");
        };
        check("INTEGER", "integer");
        check("VARCHAR(50)", "varchar(50)");
        check("TIMESTAMPTZ", "timestamptz");
        check("BOOLEAN", "boolean");
        check("BLOB", "bytes");
        check("DATETIME", "timestamp");
        check("SERIAL", "custom(SERIAL)");
        check("MONEYBAG", "custom(MONEYBAG)");
        check("", "custom()");
    }
}
