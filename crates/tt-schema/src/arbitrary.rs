//! Random valid schemas for property tests: several tables, composite keys, foreign keys
//! between them (self-references included), expression indexes, every kind of default and
//! awkward identifiers.
//!
//! "Valid" means what `parse_definitions` can produce: names are non-empty, keys name existing
//! columns once each, primary key and serial columns are NOT NULL, foreign keys point at
//! existing tables and columns with matching arity, index and foreign key names are unique
//! in the schema, numbers are TOML numbers.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::sample::Index as Pick;

use crate::model::{
    Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index, IndexPart,
    PrimaryKey, Schema, Table, Unique,
};

/// Names that have broken tools before: quotes, SQL, dots, unicode, control characters and
/// the format's own keys.
const AWKWARD: &[&str] = &[
    "odd \"name\"; drop",
    "it's",
    "'",
    "\"",
    "back\\slash",
    "with.dot",
    "a.b.c",
    "Mixed Case",
    "ünïcödé",
    "🦀",
    "tab\there",
    "new\nline",
    "del\u{7f}",
    "nul\u{0}",
    "-",
    "1",
    "tables",
    "columns",
    "primary_key",
    "[x]",
    "x = 1",
    "#",
];

/// A non-empty identifier: usually plain, sometimes awkward.
pub(crate) fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_][a-z0-9_]{0,10}",
        2 => prop::sample::select(AWKWARD).prop_map(str::to_string),
        1 => "[^\\s]{1,6}",
        1 => "[ -~\\t\\n\\x7f]{0,5}[!-~]",
    ]
}

/// Free text (comments, string defaults): anything, the empty string included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,20}",
        any::<String>(),
        prop::sample::select(AWKWARD).prop_map(str::to_string),
    ]
}

/// SQL as a default or check would have it; never a spelling of the current timestamp.
fn sql() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "nextval('items_id_seq'::regclass)",
            "lower('X')",
            "(1 + 2)",
            "gen_random_uuid()",
            "'{}'::jsonb",
            "price >= 0",
            "name <> ''",
            "\"quoted col\" IS NOT NULL",
            "CURRENT_DATE",
            "now() + interval '1 day'",
        ][..],
    )
    .prop_map(str::to_string)
}

/// Every portable type, arrays (of arrays) and custom types.
pub(crate) fn column_type() -> impl Strategy<Value = ColumnType> {
    let leaf = prop_oneof![
        Just(ColumnType::SmallInt),
        Just(ColumnType::Integer),
        Just(ColumnType::BigInt),
        Just(ColumnType::Serial),
        Just(ColumnType::BigSerial),
        Just(ColumnType::Boolean),
        Just(ColumnType::Real),
        Just(ColumnType::Double),
        Just(ColumnType::Decimal(None)),
        (1u32..40, 0u32..10).prop_map(|(p, s)| ColumnType::Decimal(Some((p, s)))),
        Just(ColumnType::Varchar(None)),
        (1u32..1000).prop_map(|n| ColumnType::Varchar(Some(n))),
        (1u32..20).prop_map(ColumnType::Char),
        Just(ColumnType::Text),
        Just(ColumnType::Date),
        Just(ColumnType::Time),
        Just(ColumnType::Timestamp),
        Just(ColumnType::TimestampTz),
        Just(ColumnType::Json),
        Just(ColumnType::Jsonb),
        Just(ColumnType::Uuid),
        Just(ColumnType::Bytes),
        prop::sample::select(&["tsvector", "TsVector", "geometry(Point, 4326)", "int4range"][..])
            .prop_map(|name| ColumnType::Custom(name.to_string())),
    ];
    let array = |ty| ColumnType::Array(Box::new(ty));
    prop_oneof![
        6 => leaf.clone(),
        1 => leaf.clone().prop_map(array),
        1 => leaf.prop_map(move |ty| array(array(ty))),
    ]
}

/// Every kind of default, numbers in the forms TOML writes them.
pub(crate) fn default_value() -> impl Strategy<Value = DefaultValue> {
    prop_oneof![
        any::<bool>().prop_map(DefaultValue::Bool),
        any::<i64>().prop_map(|n| DefaultValue::Number(n.to_string())),
        (any::<i32>(), 0u32..1000).prop_map(|(i, f)| DefaultValue::Number(format!("{i}.{f:03}"))),
        prop::sample::select(
            &[
                "+5",
                "-0",
                "1e10",
                "2.5E-3",
                "-1.5e+7",
                "99999999999999999999"
            ][..]
        )
        .prop_map(|n| DefaultValue::Number(n.to_string())),
        text().prop_map(DefaultValue::String),
        Just(DefaultValue::CurrentTimestamp),
        sql().prop_map(DefaultValue::Expression),
    ]
}

fn action() -> impl Strategy<Value = FkAction> {
    prop::sample::select(
        &[
            FkAction::NoAction,
            FkAction::Restrict,
            FkAction::Cascade,
            FkAction::SetNull,
            FkAction::SetDefault,
        ][..],
    )
}

fn deferrable() -> impl Strategy<Value = Deferrable> {
    prop::sample::select(
        &[
            Deferrable::No,
            Deferrable::InitiallyImmediate,
            Deferrable::InitiallyDeferred,
        ][..],
    )
}

/// A table before its names are made unique and its picks resolved to columns.
#[derive(Debug, Clone)]
struct TableSeed {
    name: String,
    comment: Option<String>,
    columns: Vec<Column>,
    primary_key: Option<Vec<Pick>>,
    uniques: Vec<(Option<String>, Vec<Pick>)>,
    checks: Vec<(Option<String>, String)>,
    indexes: Vec<IndexSeed>,
    foreign_keys: Vec<ForeignKeySeed>,
}

#[derive(Debug, Clone)]
struct IndexSeed {
    name: String,
    parts: Vec<Result<Pick, String>>,
    unique: bool,
    method: Option<String>,
    predicate: Option<String>,
}

#[derive(Debug, Clone)]
struct ForeignKeySeed {
    name: Option<String>,
    target: Pick,
    pairs: Vec<(Pick, Pick)>,
    on_delete: FkAction,
    on_update: FkAction,
    deferrable: Deferrable,
}

fn table_seed() -> impl Strategy<Value = TableSeed> {
    let column = (
        identifier(),
        column_type(),
        any::<bool>(),
        prop::option::weighted(0.4, default_value()),
        prop::option::weighted(0.2, text()),
    )
        .prop_map(|(name, ty, nullable, default, comment)| Column {
            name,
            ty,
            nullable,
            default,
            comment,
        });
    let index = (
        identifier(),
        prop::collection::vec(
            prop_oneof![3 => any::<Pick>().prop_map(Ok), 1 => sql().prop_map(Err)],
            1..4,
        ),
        any::<bool>(),
        prop::option::weighted(0.2, prop::sample::select(&["btree", "gin", "hash"][..])),
        prop::option::weighted(0.2, sql()),
    )
        .prop_map(|(name, parts, unique, method, predicate)| IndexSeed {
            name,
            parts,
            unique,
            method: method.map(str::to_string),
            predicate,
        });
    let foreign_key = (
        prop::option::weighted(0.3, identifier()),
        any::<Pick>(),
        prop::collection::vec(any::<(Pick, Pick)>(), 1..3),
        action(),
        action(),
        deferrable(),
    )
        .prop_map(
            |(name, target, pairs, on_delete, on_update, deferrable)| ForeignKeySeed {
                name,
                target,
                pairs,
                on_delete,
                on_update,
                deferrable,
            },
        );
    (
        identifier(),
        prop::option::weighted(0.3, text()),
        prop::collection::vec(column, 1..7),
        prop::option::weighted(0.7, prop::collection::vec(any::<Pick>(), 1..4)),
        prop::collection::vec(
            (
                prop::option::weighted(0.3, identifier()),
                prop::collection::vec(any::<Pick>(), 1..3),
            ),
            0..3,
        ),
        prop::collection::vec((prop::option::of(identifier()), sql()), 0..3),
        prop::collection::vec(index, 0..3),
        prop::collection::vec(foreign_key, 0..4),
    )
        .prop_map(
            |(name, comment, columns, primary_key, uniques, checks, indexes, foreign_keys)| {
                TableSeed {
                    name,
                    comment,
                    columns,
                    primary_key,
                    uniques,
                    checks,
                    indexes,
                    foreign_keys,
                }
            },
        )
}

/// A random valid schema of one to five tables.
pub(crate) fn schema() -> impl Strategy<Value = Schema> {
    prop::collection::vec(table_seed(), 1..6).prop_map(build)
}

/// Resolves seeds into a valid schema: first names win, picks become column names, repeats
/// are dropped, and keys and serial columns are made NOT NULL.
fn build(seeds: Vec<TableSeed>) -> Schema {
    let mut table_names = HashSet::new();
    let seeds: Vec<TableSeed> = seeds
        .into_iter()
        .filter(|seed| table_names.insert(seed.name.clone()))
        .map(|mut seed| {
            let mut names = HashSet::new();
            seed.columns
                .retain(|column| names.insert(column.name.clone()));
            seed
        })
        .collect();
    let mut index_names = HashSet::new();
    let mut fk_names = HashSet::new();
    let mut tables = Vec::new();
    for seed in &seeds {
        let names: Vec<&String> = seed.columns.iter().map(|c| &c.name).collect();
        let pick = |p: &Pick| names[p.index(names.len())].clone();
        let distinct = |picks: &[Pick]| {
            let mut seen = HashSet::new();
            picks
                .iter()
                .map(pick)
                .filter(|c| seen.insert(c.clone()))
                .collect::<Vec<_>>()
        };
        let mut table = Table::new(seed.name.clone());
        table.comment = seed.comment.clone();
        table.primary_key = seed.primary_key.as_ref().map(|picks| PrimaryKey {
            columns: distinct(picks),
        });
        let mut columns = seed.columns.clone();
        for column in &mut columns {
            if table.never_null(column) {
                column.nullable = false;
            }
        }
        table.columns = columns;
        table.uniques = seed
            .uniques
            .iter()
            .map(|(name, picks)| Unique {
                name: name.clone(),
                columns: distinct(picks),
            })
            .collect();
        table.checks = seed
            .checks
            .iter()
            .map(|(name, expression)| Check {
                name: name.clone(),
                expression: expression.clone(),
            })
            .collect();
        for index in &seed.indexes {
            let mut seen = HashSet::new();
            let parts: Vec<IndexPart> = index
                .parts
                .iter()
                .filter_map(|part| match part {
                    Ok(p) => Some(pick(p))
                        .filter(|c| seen.insert(c.clone()))
                        .map(IndexPart::Column),
                    Err(e) => Some(IndexPart::Expression(e.clone())),
                })
                .collect();
            if index_names.insert(index.name.clone()) {
                table.indexes.push(Index {
                    name: index.name.clone(),
                    parts,
                    unique: index.unique,
                    method: index.method.clone(),
                    predicate: index.predicate.clone(),
                });
            }
        }
        for fk in &seed.foreign_keys {
            let target = &seeds[fk.target.index(seeds.len())];
            let target_names: Vec<&String> = target.columns.iter().map(|c| &c.name).collect();
            let (mut seen, mut seen_ref) = (HashSet::new(), HashSet::new());
            let (columns, ref_columns): (Vec<String>, Vec<String>) = fk
                .pairs
                .iter()
                .map(|(own, other)| {
                    (
                        pick(own),
                        target_names[other.index(target_names.len())].clone(),
                    )
                })
                .filter(|(own, other)| seen.insert(own.clone()) && seen_ref.insert(other.clone()))
                .unzip();
            let name = match &fk.name {
                Some(name) => name.clone(),
                None => ForeignKey::default_name(&table.name, &columns),
            };
            if fk_names.insert(name.clone()) {
                table.foreign_keys.push(ForeignKey {
                    name,
                    columns,
                    ref_table: target.name.clone(),
                    ref_columns,
                    on_delete: fk.on_delete,
                    on_update: fk.on_update,
                    deferrable: fk.deferrable,
                });
            }
        }
        tables.push(table);
    }
    Schema::from_tables(tables)
}
