//! Reading one PostgreSQL schema from pg_catalog in three queries.

use std::collections::BTreeMap;

use tt_schema::{
    Check, Column, ColumnType, DefaultValue, Deferrable, ForeignKey, Index, IndexPart, PrimaryKey,
    Table, Unique,
};

use super::{CatalogRow, comment, fetch, fk_action, strip_outer_parens};
use crate::backend::database::{Arg, Database};
use crate::backend::error::ConnectError;
use crate::error::Error;

/// The schema every query reads: the bound name, or `current_schema()` for an empty one.
const SCHEMA: &str = "n.nspname = COALESCE(NULLIF(?, ''), current_schema())";

/// Tables with their columns; one row with NULL table for an existing schema without tables,
/// and none at all for a schema that does not exist.
const TABLES: &str = "
SELECT c.relname, obj_description(c.oid, 'pg_class'), a.attname,
       format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum),
       a.attidentity, a.attgenerated,
       EXISTS (
         SELECT FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
         WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
           AND dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
       )
FROM pg_namespace n
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE {schema}
ORDER BY c.relname, a.attnum";

/// Primary keys, unique, check and foreign key constraints: one row per key column, in order.
const CONSTRAINTS: &str = "
SELECT cl.relname, con.conname, con.contype, a.attname,
       rcl.relname, ra.attname, con.confdeltype, con.confupdtype,
       con.condeferrable, con.condeferred, pg_get_expr(con.conbin, con.conrelid)
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition
JOIN pg_namespace n ON n.oid = cl.relnamespace
LEFT JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
  ON true
LEFT JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
LEFT JOIN pg_class rcl ON rcl.oid = con.confrelid
LEFT JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.fattnum
WHERE {schema} AND con.contype IN ('p', 'u', 'c', 'f')
ORDER BY cl.relname, con.conname, k.ord";

/// Indexes that back no constraint: one row per key part, with the column or expression.
const INDEXES: &str = "
SELECT t.relname, i.relname, ix.indisunique, am.amname,
       pg_get_expr(ix.indpred, ix.indrelid), a.attname,
       pg_get_indexdef(ix.indexrelid, k.ord::int, true)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid AND t.relkind IN ('r', 'p') AND NOT t.relispartition
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
WHERE {schema} AND k.ord <= ix.indnkeyatts
  AND NOT EXISTS (
    SELECT FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u', 'x')
  )
ORDER BY t.relname, i.relname, k.ord";

/// Reads the base tables of `schema` (or of `current_schema()`).
pub(in crate::backend) async fn read(
    db: &mut Database,
    schema: Option<&str>,
) -> Result<Vec<Table>, Error> {
    let args = [Arg::Text(schema.unwrap_or_default().to_string())];
    let sql = |query: &str| query.replace("{schema}", SCHEMA);

    let rows = fetch::<10>(db, "tables and columns", &sql(TABLES), &args).await?;
    if rows.is_empty() {
        return Err(Error::Connect(ConnectError::UnknownSchema {
            schema: schema.unwrap_or("current_schema()").to_string(),
        }));
    }
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows {
        let Some(table) = row.text(0, "relname")? else {
            continue; // The schema exists but has no tables.
        };
        let table_comment = row.text(1, "obj_description")?;
        let table = tables.entry(table.clone()).or_insert_with(|| Table {
            comment: comment(table_comment),
            ..Table::new(table)
        });
        let (Some(column), Some(ty)) = (row.text(2, "attname")?, row.text(3, "format_type")?)
        else {
            continue; // A table without columns.
        };
        let default = row.text(5, "pg_get_expr")?;
        let generated = row.text(8, "attgenerated")?.unwrap_or_default();
        let mut ty = column_type(&ty);
        let mut default = default.filter(|_| generated.is_empty());
        let serial = match row.text(7, "attidentity")?.as_deref() {
            Some("a" | "d") => true,
            _ => {
                row.flag(9, "owns_sequence")?
                    && default
                        .as_deref()
                        .is_some_and(|d| d.starts_with("nextval("))
            }
        };
        if serial {
            let auto = match ty {
                ColumnType::Integer => Some(ColumnType::Serial),
                ColumnType::BigInt => Some(ColumnType::BigSerial),
                _ => None,
            };
            if let Some(auto) = auto {
                ty = auto;
                default = None;
            }
        }
        let default = default.and_then(|d| DefaultValue::from_sql(&d, &ty));
        table.columns.push(Column {
            name: column,
            ty,
            nullable: !row.flag(4, "attnotnull")?,
            default,
            comment: comment(row.text(6, "col_description")?),
        });
    }

    let rows = fetch::<11>(db, "constraints", &sql(CONSTRAINTS), &args).await?;
    let mut constraints: BTreeMap<(String, String), Vec<CatalogRow>> = BTreeMap::new();
    for row in rows {
        if let (Some(table), Some(name)) = (row.text(0, "relname")?, row.text(1, "conname")?) {
            constraints.entry((table, name)).or_default().push(row);
        }
    }
    for ((table_name, name), rows) in constraints {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        // Key columns and referenced columns, one per row (none for a check).
        let names = |index, name| -> Result<Vec<String>, Error> {
            let names = rows.iter().map(|row| row.text(index, name));
            Ok(names
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect())
        };
        // Every group holds at least the row it was created for.
        let first = &rows[0];
        match first.text(2, "contype")?.as_deref() {
            Some("p") => {
                table.primary_key = Some(PrimaryKey {
                    columns: names(3, "attname")?,
                });
            }
            Some("u") => table.uniques.push(Unique {
                name: Some(name),
                columns: names(3, "attname")?,
            }),
            Some("c") => table.checks.push(Check {
                name: Some(name),
                expression: strip_outer_parens(&first.text(10, "pg_get_expr")?.unwrap_or_default())
                    .to_string(),
            }),
            Some("f") => table.foreign_keys.push(ForeignKey {
                name,
                columns: names(3, "attname")?,
                ref_table: first.text(4, "relname")?.unwrap_or_default(),
                ref_columns: names(5, "attname")?,
                on_delete: fk_action(action_rule(first.text(6, "confdeltype")?.as_deref())),
                on_update: fk_action(action_rule(first.text(7, "confupdtype")?.as_deref())),
                deferrable: match (
                    first.flag(8, "condeferrable")?,
                    first.flag(9, "condeferred")?,
                ) {
                    (true, true) => Deferrable::InitiallyDeferred,
                    (true, false) => Deferrable::InitiallyImmediate,
                    (false, _) => Deferrable::No,
                },
            }),
            _ => {}
        }
    }

    let rows = fetch::<7>(db, "indexes", &sql(INDEXES), &args).await?;
    for row in rows {
        let (Some(table_name), Some(name)) = (row.text(0, "relname")?, row.text(1, "relname")?)
        else {
            continue;
        };
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let part = match row.text(5, "attname")? {
            Some(column) => IndexPart::Column(column),
            None => IndexPart::Expression(row.text(6, "pg_get_indexdef")?.unwrap_or_default()),
        };
        match table.indexes.last_mut() {
            Some(index) if index.name == name => index.parts.push(part),
            _ => table.indexes.push(Index {
                name,
                parts: vec![part],
                unique: row.flag(2, "indisunique")?,
                method: row.text(3, "amname")?.filter(|m| m != "btree"),
                predicate: row
                    .text(4, "pg_get_expr")?
                    .map(|p| strip_outer_parens(&p).to_string()),
            }),
        }
    }
    Ok(tables.into_values().collect())
}

/// The portable type of a `format_type` name, or `custom(<name>)`.
fn column_type(format: &str) -> ColumnType {
    if let Some(element) = format.strip_suffix("[]") {
        return match column_type(element) {
            ColumnType::Custom(_) => ColumnType::Custom(format.to_string()),
            element => ColumnType::Array(Box::new(element)),
        };
    }
    // Only PostgreSQL's own spellings: `ColumnType`'s parser also accepts aliases of other
    // backends (`datetime`, `blob`) that could be names of user-defined types here.
    const PORTABLE: [&str; 18] = [
        "smallint",
        "integer",
        "bigint",
        "boolean",
        "real",
        "double precision",
        "numeric",
        "character varying",
        "character",
        "text",
        "date",
        "time without time zone",
        "timestamp without time zone",
        "timestamp with time zone",
        "json",
        "jsonb",
        "uuid",
        "bytea",
    ];
    let base = format.split('(').next().unwrap_or_default().trim();
    let portable = PORTABLE
        .contains(&base)
        .then(|| format.parse().ok())
        .flatten();
    portable.unwrap_or_else(|| ColumnType::Custom(format.to_string()))
}

/// The SQL rule for a `pg_constraint.confdeltype`/`confupdtype` letter.
fn action_rule(letter: Option<&str>) -> Option<&'static str> {
    match letter? {
        "r" => Some("RESTRICT"),
        "c" => Some("CASCADE"),
        "n" => Some("SET NULL"),
        "d" => Some("SET DEFAULT"),
        _ => Some("NO ACTION"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_type(format: &str, expected: &str) {
        assert_eq!(column_type(format).to_string(), expected, "{format}");
    }

    #[test]
    fn format_type_names_map_to_portable_types() {
        check_type("integer", "integer");
        check_type("smallint", "smallint");
        check_type("bigint", "bigint");
        check_type("character varying(100)", "varchar(100)");
        check_type("character varying", "varchar");
        check_type("character(3)", "char(3)");
        check_type("numeric(4,1)", "decimal(4,1)");
        check_type("numeric", "decimal");
        check_type("double precision", "double");
        check_type("timestamp with time zone", "timestamptz");
        check_type("timestamp without time zone", "timestamp");
        check_type("time without time zone", "time");
        check_type("bytea", "bytes");
        check_type("integer[]", "integer[]");
        check_type("character varying(20)[]", "varchar(20)[]");
        check_type("jsonb", "jsonb");
        check_type(
            "timestamp(3) with time zone",
            "custom(timestamp(3) with time zone)",
        );
        check_type("tsvector", "custom(tsvector)");
        check_type("tsvector[]", "custom(tsvector[])");
        check_type("datetime", "custom(datetime)");
        check_type("\"char\"", "custom(\"char\")");
        check_type("public.mood", "custom(public.mood)");
    }
}
