//! Reading the current MySQL or MariaDB database from information_schema in five queries.

use std::collections::BTreeMap;

use tt_schema::{
    Check, Column, ColumnType, DefaultValue, FkAction, ForeignKey, Index, IndexPart, PrimaryKey,
    Table, Unique,
};

use super::{comment, fetch, fk_action, strip_outer_parens};
use crate::backend::database::Database;
use crate::error::Error;

const VERSION: &str = "SELECT VERSION()";

const TABLES: &str = "
SELECT t.TABLE_NAME, t.TABLE_COMMENT, c.COLUMN_NAME, c.COLUMN_TYPE, c.DATA_TYPE,
       c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, c.COLUMN_COMMENT
FROM information_schema.TABLES t
JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY t.TABLE_NAME, c.ORDINAL_POSITION";

const FOREIGN_KEYS: &str = "
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME,
       k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS r
JOIN information_schema.KEY_COLUMN_USAGE k
  ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.TABLE_NAME = r.TABLE_NAME
 AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
WHERE r.CONSTRAINT_SCHEMA = DATABASE()
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";

/// MariaDB names checks per table and says which table each belongs to.
const MARIADB_CHECKS: &str = "
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()";

/// MySQL names checks per database; their table comes from TABLE_CONSTRAINTS.
const MYSQL_CHECKS: &str = "
SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
FROM information_schema.TABLE_CONSTRAINTS tc
JOIN information_schema.CHECK_CONSTRAINTS cc
  ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
WHERE tc.CONSTRAINT_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'";

/// Index parts; `{expression}` is MySQL's EXPRESSION column (functional key parts), which
/// MariaDB lacks.
const INDEXES: &str = "
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, {expression}
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

/// Reads the base tables of the connection's database.
pub(in crate::backend) async fn read(db: &mut Database) -> Result<Vec<Table>, Error> {
    let version = match fetch::<1>(db, "the server version", VERSION, &[])
        .await?
        .pop()
    {
        Some(row) => row.text(0, "VERSION()")?,
        None => None,
    };
    let mariadb = version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in fetch::<9>(db, "tables and columns", TABLES, &[]).await? {
        let [
            Some(table),
            table_comment,
            Some(column),
            Some(full_type),
            Some(data_type),
            nullable,
            default,
            extra,
            column_comment,
        ] = row.texts([
            "TABLE_NAME",
            "TABLE_COMMENT",
            "COLUMN_NAME",
            "COLUMN_TYPE",
            "DATA_TYPE",
            "IS_NULLABLE",
            "COLUMN_DEFAULT",
            "EXTRA",
            "COLUMN_COMMENT",
        ])?
        else {
            continue;
        };
        let table = tables.entry(table.clone()).or_insert_with(|| Table {
            comment: comment(table_comment),
            ..Table::new(table)
        });
        let extra = extra.unwrap_or_default().to_ascii_lowercase();
        let ty = column_type(&full_type, &data_type, extra.contains("auto_increment"));
        let default = match default {
            _ if matches!(ty, ColumnType::Serial | ColumnType::BigSerial) => None,
            None => None,
            Some(text) => column_default(&text, &ty, mariadb, &extra),
        };
        table.columns.push(Column {
            name: column,
            ty,
            nullable: nullable.as_deref() != Some("NO"),
            default,
            comment: comment(column_comment),
        });
    }

    for row in fetch::<7>(db, "foreign keys", FOREIGN_KEYS, &[]).await? {
        let [
            table,
            name,
            column,
            ref_table,
            ref_column,
            on_delete,
            on_update,
        ] = row.texts([
            "TABLE_NAME",
            "CONSTRAINT_NAME",
            "COLUMN_NAME",
            "REFERENCED_TABLE_NAME",
            "REFERENCED_COLUMN_NAME",
            "DELETE_RULE",
            "UPDATE_RULE",
        ])?;
        let (Some(table), Some(name), Some(column), Some(ref_column)) =
            (table, name, column, ref_column)
        else {
            continue;
        };
        let Some(table) = tables.get_mut(&table) else {
            continue;
        };
        match table.foreign_keys.last_mut() {
            Some(fk) if fk.name == name => {
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
            }
            _ => table.foreign_keys.push(ForeignKey {
                name,
                columns: vec![column],
                ref_table: ref_table.unwrap_or_default(),
                ref_columns: vec![ref_column],
                on_delete: action(on_delete.as_deref()),
                on_update: action(on_update.as_deref()),
                deferrable: Default::default(),
            }),
        }
    }

    let checks = if mariadb {
        MARIADB_CHECKS
    } else {
        MYSQL_CHECKS
    };
    for row in fetch::<3>(db, "check constraints", checks, &[]).await? {
        let [table, name, clause] = row.texts(["TABLE_NAME", "CONSTRAINT_NAME", "CHECK_CLAUSE"])?;
        let (Some(table), Some(clause)) = (table, clause) else {
            continue;
        };
        let Some(table) = tables.get_mut(&table) else {
            continue;
        };
        if !is_json_check(table, &clause) {
            table.checks.push(Check {
                name,
                expression: strip_outer_parens(&clause).to_string(),
            });
        }
    }

    let expression = if mariadb { "NULL" } else { "EXPRESSION" };
    let indexes = INDEXES.replace("{expression}", expression);
    let mut parts: BTreeMap<(String, String), Vec<IndexRow>> = BTreeMap::new();
    for row in fetch::<7>(db, "indexes", &indexes, &[]).await? {
        let (Some(table), Some(name)) = (row.text(0, "TABLE_NAME")?, row.text(1, "INDEX_NAME")?)
        else {
            continue;
        };
        let index_row = IndexRow {
            non_unique: row.flag(2, "NON_UNIQUE")?,
            column: row.text(3, "COLUMN_NAME")?,
            prefix: row.number(4, "SUB_PART")?,
            method: row.text(5, "INDEX_TYPE")?,
            expression: row.text(6, "EXPRESSION")?,
        };
        parts.entry((table, name)).or_default().push(index_row);
    }
    for ((table_name, name), rows) in parts {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        add_index(table, name, &rows);
    }
    Ok(tables.into_values().collect())
}

/// One STATISTICS row: a key part of an index.
#[derive(Debug)]
struct IndexRow {
    non_unique: bool,
    column: Option<String>,
    /// The length of a prefix part.
    prefix: Option<u32>,
    method: Option<String>,
    /// A functional key part (MySQL only).
    expression: Option<String>,
}

/// Adds one index (its STATISTICS rows, in order) as the primary key, a unique constraint or
/// an index, unless MySQL created it for a foreign key.
fn add_index(table: &mut Table, name: String, rows: &[IndexRow]) {
    let parts: Vec<IndexPart> = rows
        .iter()
        .map(|row| match (&row.column, row.prefix) {
            (Some(column), Some(length)) => IndexPart::Expression(format!("`{column}`({length})")),
            (Some(column), None) => IndexPart::Column(column.clone()),
            (None, _) => IndexPart::Expression(row.expression.clone().unwrap_or_default()),
        })
        .collect();
    let columns: Option<Vec<String>> = parts
        .iter()
        .map(|part| match part {
            IndexPart::Column(column) => Some(column.clone()),
            IndexPart::Expression(_) => None,
        })
        .collect();
    // Every group holds at least the row it was created for.
    let IndexRow {
        non_unique, method, ..
    } = &rows[0];
    let unique = !non_unique;
    match columns {
        Some(columns) if name == "PRIMARY" => {
            table.primary_key = Some(PrimaryKey { columns });
        }
        Some(columns) if unique => table.uniques.push(Unique {
            name: Some(name),
            columns,
        }),
        Some(columns) if backs_foreign_key(table, &name, &columns) => {}
        _ => table.indexes.push(Index {
            name,
            parts,
            unique,
            method: method
                .as_deref()
                .filter(|m| !m.eq_ignore_ascii_case("BTREE"))
                .map(str::to_ascii_lowercase),
            predicate: None,
        }),
    }
}

/// Whether a non-unique index on `columns` is the one MySQL made for a foreign key: named like
/// the key (or, for a key declared without a name, like its first column) with its columns.
fn backs_foreign_key(table: &Table, index: &str, columns: &[String]) -> bool {
    table.foreign_keys.iter().any(|fk| {
        fk.columns == columns
            && (fk.name.eq_ignore_ascii_case(index)
                || fk
                    .columns
                    .first()
                    .is_some_and(|c| c.eq_ignore_ascii_case(index)))
    })
}

/// Whether `clause` is MariaDB's `json_valid(col)` check on a `longtext` column (read as
/// `text`), which is how MariaDB stores a JSON column; if so, the column becomes `json`.
fn is_json_check(table: &mut Table, clause: &str) -> bool {
    let squeeze = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '`')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let clause = squeeze(clause);
    let Some(column) = table.columns.iter_mut().find(|column| {
        column.ty == ColumnType::Text && clause == format!("json_valid({})", squeeze(&column.name))
    }) else {
        return false;
    };
    column.ty = ColumnType::Json;
    true
}

/// `RESTRICT` and `NO ACTION` are the same in InnoDB, and MariaDB reports `RESTRICT` for a key
/// declared without an action, so both read as `NoAction`.
fn action(rule: Option<&str>) -> FkAction {
    match fk_action(rule) {
        FkAction::Restrict => FkAction::NoAction,
        other => other,
    }
}

/// The portable type of a column, from its COLUMN_TYPE (`int(11)`, `varchar(20)`, `bigint(20)
/// unsigned`) and DATA_TYPE (`int`).
fn column_type(column_type: &str, data_type: &str, auto_increment: bool) -> ColumnType {
    let full = column_type.to_ascii_lowercase();
    let custom = || ColumnType::Custom(column_type.to_string());
    if full.contains(" unsigned") || full.contains(" zerofill") {
        return custom();
    }
    match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if full == "tinyint(1)" => ColumnType::Boolean,
        "smallint" => ColumnType::SmallInt,
        "int" if auto_increment => ColumnType::Serial,
        "int" => ColumnType::Integer,
        "bigint" if auto_increment => ColumnType::BigSerial,
        "bigint" => ColumnType::BigInt,
        "float" if full == "float" => ColumnType::Real,
        "double" if full == "double" => ColumnType::Double,
        "decimal" | "varchar" | "char" => full.parse().unwrap_or_else(|_| custom()),
        // tt renders text as LONGTEXT (never truncated), so both read back as text.
        "text" | "longtext" => ColumnType::Text,
        "json" => ColumnType::Json,
        "date" => ColumnType::Date,
        // tt renders time and timestamp with microseconds (`TIME(6)`, `DATETIME(6)`), so
        // that precision reads back as the portable type too.
        "time" if full == "time" || full == "time(6)" => ColumnType::Time,
        "datetime" if full == "datetime" || full == "datetime(6)" => ColumnType::Timestamp,
        "timestamp" if full == "timestamp" => ColumnType::TimestampTz,
        "longblob" => ColumnType::Bytes,
        _ => custom(),
    }
}

/// A column default from COLUMN_DEFAULT: MariaDB quotes string literals and prints `NULL` for
/// "no default"; MySQL prints literals bare and marks expressions `DEFAULT_GENERATED`.
fn column_default(text: &str, ty: &ColumnType, mariadb: bool, extra: &str) -> Option<DefaultValue> {
    if mariadb || extra.contains("default_generated") {
        return DefaultValue::from_sql(text, ty);
    }
    match ty {
        ColumnType::Varchar(_)
        | ColumnType::Char(_)
        | ColumnType::Text
        | ColumnType::Date
        | ColumnType::Time
        | ColumnType::Timestamp
        | ColumnType::TimestampTz
        | ColumnType::Custom(_) => Some(DefaultValue::String(text.to_string())),
        _ => DefaultValue::from_sql(text, ty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_type(column: &str, data: &str, auto: bool, expected: &str) {
        assert_eq!(column_type(column, data, auto).to_string(), expected);
    }

    #[test]
    fn column_types_map_to_portable_types() {
        check_type("int(11)", "int", true, "serial");
        check_type("int", "int", false, "integer");
        check_type("bigint(20)", "bigint", true, "bigserial");
        check_type(
            "bigint(20) unsigned",
            "bigint",
            true,
            "custom(bigint(20) unsigned)",
        );
        check_type("smallint(6)", "smallint", false, "smallint");
        check_type("mediumint(9)", "mediumint", false, "custom(mediumint(9))");
        check_type("tinyint(1)", "tinyint", false, "boolean");
        check_type("tinyint(4)", "tinyint", false, "custom(tinyint(4))");
        check_type("decimal(4,1)", "decimal", false, "decimal(4,1)");
        check_type("varchar(100)", "varchar", false, "varchar(100)");
        check_type("char(36)", "char", false, "char(36)");
        check_type("float", "float", false, "real");
        check_type("double", "double", false, "double");
        check_type("double(8,2)", "double", false, "custom(double(8,2))");
        check_type("text", "text", false, "text");
        check_type("longtext", "longtext", false, "text");
        check_type("mediumtext", "mediumtext", false, "custom(mediumtext)");
        check_type("json", "json", false, "json");
        check_type("datetime", "datetime", false, "timestamp");
        check_type("datetime(6)", "datetime", false, "timestamp");
        check_type("datetime(3)", "datetime", false, "custom(datetime(3))");
        check_type("time(6)", "time", false, "time");
        check_type("timestamp", "timestamp", false, "timestamptz");
        check_type("longblob", "longblob", false, "bytes");
        check_type("blob", "blob", false, "custom(blob)");
        check_type("enum('a','b')", "enum", false, "custom(enum('a','b'))");
    }

    #[track_caller]
    fn check_default(text: &str, ty: &str, mariadb: bool, extra: &str, expected: DefaultValue) {
        let ty: ColumnType = ty.parse().unwrap();
        assert_eq!(
            column_default(text, &ty, mariadb, extra),
            Some(expected),
            "{text}"
        );
    }

    #[test]
    fn defaults_of_mariadb_and_mysql() {
        use DefaultValue::*;
        check_default("'anon'", "varchar(9)", true, "", String("anon".into()));
        check_default("'NULL'", "varchar(9)", true, "", String("NULL".into()));
        check_default("-1.5", "decimal(4,1)", true, "", Number("-1.5".into()));
        check_default("1", "boolean", true, "", Bool(true));
        check_default(
            "current_timestamp()",
            "timestamptz",
            true,
            "",
            CurrentTimestamp,
        );
        check_default("uuid()", "char(36)", true, "", Expression("uuid()".into()));
        check_default("anon", "varchar(9)", false, "", String("anon".into()));
        check_default("0", "varchar(9)", false, "", String("0".into()));
        check_default("-1", "integer", false, "", Number("-1".into()));
        check_default(
            "CURRENT_TIMESTAMP",
            "timestamptz",
            false,
            "default_generated",
            CurrentTimestamp,
        );
        check_default(
            "uuid()",
            "char(36)",
            false,
            "default_generated",
            Expression("uuid()".into()),
        );
        assert_eq!(
            column_default("NULL", &ColumnType::Text, true, ""),
            None,
            "MariaDB's NULL is no default"
        );
    }
}
