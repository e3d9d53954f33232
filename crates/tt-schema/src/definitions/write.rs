//! Writing definitions: a schema as stable, readable TOML that reads back unchanged.
//!
//! Shorthands (`primary_key = true`, `unique = true`, `references = "t.c"` on a column) are
//! used only where reading them back gives exactly the same model, so the output is lossless.

use toml_writer::{ToTomlKey, ToTomlValue, TomlKeyBuilder, TomlStringBuilder};

use super::read::number_text;
use crate::model::{
    Column, DefaultValue, Deferrable, FkAction, ForeignKey, IndexPart, Schema, Table,
};

pub(super) fn write(schema: &Schema) -> String {
    let mut out = String::new();
    for (i, table) in schema.tables().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_table(&mut out, table);
    }
    out
}

fn write_table(out: &mut String, table: &Table) {
    out.push_str(&format!("[tables.{}]\n", key(&table.name)));
    if let Some(comment) = &table.comment {
        out.push_str(&format!("comment = {}\n", string(comment)));
    }
    let position = |name: &str| table.columns.iter().position(|c| c.name == name);
    // A one-column primary key is written on its column when the column exists.
    let pk_on_column = match &table.primary_key {
        Some(pk) if pk.columns.len() == 1 && position(&pk.columns[0]).is_some() => {
            Some(pk.columns[0].as_str())
        }
        Some(pk) => {
            out.push_str(&format!("primary_key = {}\n", strings(&pk.columns)));
            None
        }
        None => None,
    };

    // Reading puts keys declared on columns first, in column order, so only a leading run of
    // keys in increasing column order can be written on columns.
    let uniques_on_columns = leading_run(&table.uniques, |u| {
        let [column] = u.columns.as_slice() else {
            return None;
        };
        u.name.is_none().then(|| position(column)).flatten()
    });
    let fks_on_columns = leading_run(&table.foreign_keys, |fk| {
        let ([column], [ref_column]) = (fk.columns.as_slice(), fk.ref_columns.as_slice()) else {
            return None;
        };
        // `references = "t.c"` is split at its last dot, so `c` must not contain one.
        let plain = fk.name == ForeignKey::default_name(&table.name, &fk.columns)
            && !ref_column.contains('.')
            && !ref_column.trim().is_empty()
            && !fk.ref_table.trim().is_empty();
        plain.then(|| position(column)).flatten()
    });

    out.push_str("columns = [\n");
    for column in &table.columns {
        let unique = table.uniques[..uniques_on_columns]
            .iter()
            .any(|u| u.columns[0] == column.name);
        let fk = table.foreign_keys[..fks_on_columns]
            .iter()
            .find(|fk| fk.columns[0] == column.name);
        let fields = column_fields(table, column, pk_on_column, unique, fk);
        out.push_str(&format!("  {{ {} }},\n", fields.join(", ")));
    }
    out.push_str("]\n");

    let uniques = &table.uniques[uniques_on_columns..];
    write_array(
        out,
        "uniques",
        uniques.iter().map(|u| {
            let mut fields = Vec::new();
            if let Some(name) = &u.name {
                fields.push(format!("name = {}", string(name)));
            }
            fields.push(format!("columns = {}", strings(&u.columns)));
            fields
        }),
    );
    write_array(
        out,
        "checks",
        table.checks.iter().map(|check| {
            let mut fields = Vec::new();
            if let Some(name) = &check.name {
                fields.push(format!("name = {}", string(name)));
            }
            fields.push(format!("expression = {}", string(&check.expression)));
            fields
        }),
    );
    write_array(
        out,
        "indexes",
        table.indexes.iter().map(|index| {
            let mut fields = vec![format!("name = {}", string(&index.name))];
            let all_expressions = !index.parts.is_empty()
                && index
                    .parts
                    .iter()
                    .all(|part| matches!(part, IndexPart::Expression(_)));
            let parts: Vec<String> = index
                .parts
                .iter()
                .map(|part| match part {
                    IndexPart::Column(column) => string(column),
                    IndexPart::Expression(e) if all_expressions => string(e),
                    IndexPart::Expression(e) => format!("{{ expression = {} }}", string(e)),
                })
                .collect();
            let key = if all_expressions {
                "expressions"
            } else {
                "columns"
            };
            fields.push(format!("{key} = [{}]", parts.join(", ")));
            if index.unique {
                fields.push("unique = true".to_string());
            }
            if let Some(method) = &index.method {
                fields.push(format!("method = {}", string(method)));
            }
            if let Some(predicate) = &index.predicate {
                fields.push(format!("where = {}", string(predicate)));
            }
            fields
        }),
    );
    let fks = &table.foreign_keys[fks_on_columns..];
    write_array(
        out,
        "foreign_keys",
        fks.iter().map(|fk| {
            let mut fields = Vec::new();
            if fk.name != ForeignKey::default_name(&table.name, &fk.columns) {
                fields.push(format!("name = {}", string(&fk.name)));
            }
            fields.push(format!("columns = {}", strings(&fk.columns)));
            fields.push(format!("ref_table = {}", string(&fk.ref_table)));
            fields.push(format!("ref_columns = {}", strings(&fk.ref_columns)));
            fields.extend(actions(fk));
            fields
        }),
    );
}

fn column_fields(
    table: &Table,
    column: &Column,
    pk_on_column: Option<&str>,
    unique: bool,
    fk: Option<&ForeignKey>,
) -> Vec<String> {
    let mut fields = vec![
        format!("name = {}", string(&column.name)),
        format!("type = {}", string(&column.ty.to_string())),
    ];
    if pk_on_column == Some(column.name.as_str()) {
        fields.push("primary_key = true".to_string());
    }
    if unique {
        fields.push("unique = true".to_string());
    }
    // Primary key and serial columns are NOT NULL without saying so.
    if !column.nullable && !table.never_null(column) {
        fields.push("nullable = false".to_string());
    }
    if let Some(default) = &column.default {
        fields.push(format!("default = {}", default_value(default)));
    }
    if let Some(fk) = fk {
        let reference = format!("{}.{}", fk.ref_table, fk.ref_columns[0]);
        fields.push(format!("references = {}", string(&reference)));
        fields.extend(actions(fk));
    }
    if let Some(comment) = &column.comment {
        fields.push(format!("comment = {}", string(comment)));
    }
    fields
}

/// `on_delete`, `on_update` and `deferrable`, where they differ from the defaults.
fn actions(fk: &ForeignKey) -> Vec<String> {
    let mut fields = Vec::new();
    for (key, action) in [("on_delete", fk.on_delete), ("on_update", fk.on_update)] {
        if action != FkAction::NoAction {
            let words = action.as_sql().to_ascii_lowercase();
            fields.push(format!("{key} = {}", string(&words)));
        }
    }
    let deferrable = match fk.deferrable {
        Deferrable::No => None,
        Deferrable::InitiallyImmediate => Some("initially immediate"),
        Deferrable::InitiallyDeferred => Some("initially deferred"),
    };
    if let Some(deferrable) = deferrable {
        fields.push(format!("deferrable = {}", string(deferrable)));
    }
    fields
}

fn default_value(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Number(text) if is_toml_number(text) => text.clone(),
        // Not a TOML number (`.5`, `1_000`): only SQL can carry it.
        DefaultValue::Number(text) => sql(text),
        DefaultValue::String(text) => string(text),
        DefaultValue::CurrentTimestamp => sql("CURRENT_TIMESTAMP"),
        DefaultValue::Expression(text) => sql(text),
    }
}

fn sql(text: &str) -> String {
    format!("{{ sql = {} }}", string(text))
}

/// Whether `text` written bare reads back as the same number.
fn is_toml_number(text: &str) -> bool {
    let plausible = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    plausible
        && toml::de::DeValue::parse(text)
            .is_ok_and(|value| number_text(value.get_ref()).as_deref() == Some(text))
}

/// Writes `key = [ ... ]` with one inline table per line, or nothing when empty.
fn write_array(out: &mut String, key: &str, entries: impl Iterator<Item = Vec<String>>) {
    let mut entries = entries.peekable();
    if entries.peek().is_none() {
        return;
    }
    out.push_str(&format!("{key} = [\n"));
    for fields in entries {
        out.push_str(&format!("  {{ {} }},\n", fields.join(", ")));
    }
    out.push_str("]\n");
}

/// How many leading `items` can be written on columns: each must have a column position
/// (from `position`) greater than the one before it.
fn leading_run<T>(items: &[T], position: impl Fn(&T) -> Option<usize>) -> usize {
    let mut last = None;
    items
        .iter()
        .take_while(|item| match position(item) {
            Some(p) if last.is_none_or(|last| p > last) => {
                last = Some(p);
                true
            }
            _ => false,
        })
        .count()
}

/// A TOML key, quoted only when it must be.
fn key(text: &str) -> String {
    TomlKeyBuilder::new(text).as_default().to_toml_key()
}

/// A single-line TOML string (inline tables may not span lines in TOML 1.0).
fn string(text: &str) -> String {
    let builder = TomlStringBuilder::new(text);
    builder
        .as_basic_pretty()
        .or_else(|| builder.as_literal())
        .unwrap_or_else(|| builder.as_basic())
        .to_toml_value()
}

fn strings(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| string(item)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use proptest::prelude::*;

    use crate::arbitrary;
    use crate::definitions::{parse_definitions, to_toml};
    use crate::model::{
        Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index,
        IndexPart, PrimaryKey, Schema, Table, Unique,
    };

    fn column(name: &str, ty: ColumnType, nullable: bool) -> Column {
        Column {
            nullable,
            ..Column::new(name, ty)
        }
    }

    fn fk(table: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        ForeignKey {
            name: ForeignKey::default_name(table, &columns),
            columns,
            ref_table: ref_table.into(),
            ref_columns: ref_columns.iter().map(|c| c.to_string()).collect(),
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferrable: Deferrable::No,
        }
    }

    fn small_schema() -> Schema {
        let mut items = Table::new("items");
        items.comment = Some("Main items table".into());
        items.columns = vec![
            column("id", ColumnType::Serial, false),
            column("name", ColumnType::Varchar(Some(128)), false),
            Column {
                default: Some(DefaultValue::Number("0.00".into())),
                ..column("price", ColumnType::Decimal(Some((10, 2))), true)
            },
            column("atkdef_id", ColumnType::Integer, true),
            Column {
                comment: Some("said \"hi\"\nthen left".into()),
                default: Some(DefaultValue::CurrentTimestamp),
                ..column("created_at", ColumnType::TimestampTz, false)
            },
        ];
        items.primary_key = Some(PrimaryKey {
            columns: vec!["id".into()],
        });
        items.uniques = vec![
            Unique {
                name: None,
                columns: vec!["name".into()],
            },
            Unique {
                name: Some("uq_items_name_price".into()),
                columns: vec!["name".into(), "price".into()],
            },
        ];
        items.checks = vec![Check {
            name: None,
            expression: "price >= 0".into(),
        }];
        items.indexes = vec![
            Index {
                name: "idx_items_lower_name".into(),
                parts: vec![IndexPart::Expression("lower(name)".into())],
                unique: false,
                method: None,
                predicate: Some("price > 0".into()),
            },
            Index {
                name: "idx_items_mixed".into(),
                parts: vec![
                    IndexPart::Column("price".into()),
                    IndexPart::Expression("lower(name)".into()),
                ],
                unique: true,
                method: Some("btree".into()),
                predicate: None,
            },
        ];
        items.foreign_keys = vec![ForeignKey {
            on_delete: FkAction::SetNull,
            ..fk("items", &["atkdef_id"], "attack_defense", &["id"])
        }];

        let mut ad = Table::new("attack_defense");
        ad.columns = vec![
            column("id", ColumnType::Integer, false),
            column("kind", ColumnType::Text, false),
            column("parent_id", ColumnType::Integer, true),
            column("parent_kind", ColumnType::Text, true),
        ];
        ad.primary_key = Some(PrimaryKey {
            columns: vec!["id".into(), "kind".into()],
        });
        ad.foreign_keys = vec![ForeignKey {
            name: "fk_parent".into(),
            on_delete: FkAction::Cascade,
            deferrable: Deferrable::InitiallyDeferred,
            ..fk(
                "attack_defense",
                &["parent_id", "parent_kind"],
                "attack_defense",
                &["id", "kind"],
            )
        }];

        let mut odd = Table::new("odd \"name\"; drop");
        odd.columns = vec![column(
            "ünï.cödé",
            ColumnType::Custom("tsvector".into()),
            true,
        )];
        Schema::from_tables([items, ad, odd])
    }

    #[test]
    fn a_small_schema_is_written_readably() {
        let schema = small_schema();
        let text = to_toml(&schema);
        expect![[r#"
            [tables.attack_defense]
            primary_key = ["id", "kind"]
            columns = [
              { name = "id", type = "integer" },
              { name = "kind", type = "text" },
              { name = "parent_id", type = "integer" },
              { name = "parent_kind", type = "text" },
            ]
            foreign_keys = [
              { name = "fk_parent", columns = ["parent_id", "parent_kind"], ref_table = "attack_defense", ref_columns = ["id", "kind"], on_delete = "cascade", deferrable = "initially deferred" },
            ]

            [tables.items]
            comment = "Main items table"
            columns = [
              { name = "id", type = "serial", primary_key = true },
              { name = "name", type = "varchar(128)", unique = true, nullable = false },
              { name = "price", type = "decimal(10,2)", default = 0.00 },
              { name = "atkdef_id", type = "integer", references = "attack_defense.id", on_delete = "set null" },
              { name = "created_at", type = "timestamptz", nullable = false, default = { sql = "CURRENT_TIMESTAMP" }, comment = "said \"hi\"\nthen left" },
            ]
            uniques = [
              { name = "uq_items_name_price", columns = ["name", "price"] },
            ]
            checks = [
              { expression = "price >= 0" },
            ]
            indexes = [
              { name = "idx_items_lower_name", expressions = ["lower(name)"], where = "price > 0" },
              { name = "idx_items_mixed", columns = ["price", { expression = "lower(name)" }], unique = true, method = "btree" },
            ]

            [tables.'odd "name"; drop']
            columns = [
              { name = "ünï.cödé", type = "custom(tsvector)" },
            ]
        "#]]
        .assert_eq(&text);
        assert_eq!(parse_definitions("schema.toml", &text).unwrap(), schema);
    }

    /// Shorthands are used only where reading them back keeps the order of the model.
    #[test]
    fn shorthands_keep_the_model_order() {
        let mut t = Table::new("t");
        t.columns = vec![
            column("a", ColumnType::Integer, true),
            column("b", ColumnType::Integer, true),
            column("c.d", ColumnType::Integer, true),
        ];
        // `b` before `a`: only the first can be written on its column.
        t.uniques = ["b", "a"]
            .map(|c| Unique {
                name: None,
                columns: vec![c.into()],
            })
            .into();
        t.foreign_keys = vec![
            fk("t", &["b"], "t", &["a"]),
            fk("t", &["a"], "t", &["b"]),
            fk("t", &["c.d"], "t", &["c.d"]),
        ];
        let schema = Schema::from_tables([t]);
        let text = to_toml(&schema);
        expect![[r#"
            [tables.t]
            columns = [
              { name = "a", type = "integer" },
              { name = "b", type = "integer", unique = true, references = "t.a" },
              { name = "c.d", type = "integer" },
            ]
            uniques = [
              { columns = ["a"] },
            ]
            foreign_keys = [
              { columns = ["a"], ref_table = "t", ref_columns = ["b"] },
              { columns = ["c.d"], ref_table = "t", ref_columns = ["c.d"] },
            ]
        "#]]
        .assert_eq(&text);
        assert_eq!(parse_definitions("schema.toml", &text).unwrap(), schema);
    }

    #[test]
    fn numbers_toml_cannot_hold_are_written_as_sql() {
        let check = |number: &str, expected: &str| {
            let default = DefaultValue::Number(number.into());
            assert_eq!(super::default_value(&default), expected, "{number}");
        };
        check("42", "42");
        check("-1.50", "-1.50");
        check("1e-7", "1e-7");
        check(".5", "{ sql = \".5\" }");
        check("1_000", "{ sql = \"1_000\" }");
        check("007", "{ sql = \"007\" }");
        check("1\nx = 2", "{ sql = \"1\\nx = 2\" }");
    }

    #[test]
    fn an_empty_schema_is_an_empty_file() {
        assert_eq!(to_toml(&Schema::new()), "");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn written_definitions_read_back_unchanged(schema in arbitrary::schema()) {
            let text = to_toml(&schema);
            let read = parse_definitions("schema.toml", &text)
                .map_err(|e| TestCaseError::fail(format!("{e}\n--- written:\n{text}")))?;
            prop_assert_eq!(&read, &schema, "written:\n{}", text);
            prop_assert_eq!(to_toml(&read), text.clone());
            // One entry per line and no multi-line strings: diffs of `schema.toml` stay
            // readable, and TOML 1.0 parsers (inline tables on one line) read it too.
            for line in text.lines() {
                let entry = line.starts_with("  { ") && line.ends_with(" },");
                let header = line.starts_with("[tables.") && line.ends_with(']');
                let plain = line.is_empty() || line == "]" || line.contains(" = ");
                prop_assert!(entry || header || plain, "line {:?} in:\n{}", line, text);
            }
        }
    }
}
