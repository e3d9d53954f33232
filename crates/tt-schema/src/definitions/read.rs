//! Reading definitions: the file format as serde structs, then conversion into the model with
//! validation that collects every problem.
//!
//! The text is first parsed into spanned TOML values, and each table, column, index and
//! foreign key is deserialized on its own, so one bad entry does not hide the problems of the
//! others and every problem carries a line and column.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeInteger, DeTable, DeValue, ValueDeserializer};

use super::{DefinitionError, DefinitionProblem, Position};
use crate::model::{
    Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index, IndexPart,
    PrimaryKey, Schema, Table, Unique,
};

type Span = Range<usize>;

// The keys of each part of the format. They are checked before serde runs so that every
// unknown key is reported with its own position (serde stops at the first); the structs'
// `deny_unknown_fields` backs this up.
const ROOT_KEYS: &[&str] = &["tables"];
const TABLE_KEYS: &[&str] = &[
    "comment",
    "primary_key",
    "columns",
    "uniques",
    "checks",
    "indexes",
    "foreign_keys",
];
const COLUMN_KEYS: &[&str] = &[
    "name",
    "type",
    "nullable",
    "default",
    "primary_key",
    "unique",
    "references",
    "on_delete",
    "on_update",
    "deferrable",
    "comment",
];
const UNIQUE_KEYS: &[&str] = &["name", "columns"];
const CHECK_KEYS: &[&str] = &["name", "expression"];
const INDEX_KEYS: &[&str] = &[
    "name",
    "columns",
    "expressions",
    "unique",
    "method",
    "where",
];
const FOREIGN_KEY_KEYS: &[&str] = &[
    "name",
    "columns",
    "ref_table",
    "ref_columns",
    "on_delete",
    "on_update",
    "deferrable",
];
const SQL_KEYS: &[&str] = &["sql"];

/// A table's scalar keys; its arrays (`columns`, `uniques`, …) are taken out and read entry
/// by entry before this is deserialized.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TableDef {
    comment: Option<String>,
    primary_key: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One entry of `columns`, without `default` (read by hand to keep numbers as written).
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a column such as { name = \"id\", type = \"integer\" }"
)]
struct ColumnDef {
    name: Spanned<String>,
    #[serde(rename = "type")]
    ty: Spanned<String>,
    nullable: Option<Spanned<bool>>,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    unique: bool,
    references: Option<Spanned<String>>,
    on_delete: Option<ActionDef>,
    on_update: Option<ActionDef>,
    deferrable: Option<DeferrableDef>,
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a unique constraint such as { columns = [\"a\", \"b\"] }"
)]
struct UniqueDef {
    name: Option<Spanned<String>>,
    columns: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a check such as { expression = \"price >= 0\" }"
)]
struct CheckDef {
    name: Option<Spanned<String>>,
    expression: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an index such as { name = \"idx_items_name\", columns = [\"name\"] }"
)]
struct IndexDef {
    name: Spanned<String>,
    columns: Option<Spanned<Vec<IndexColumnDef>>>,
    expressions: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    unique: bool,
    method: Option<Spanned<String>>,
    #[serde(rename = "where")]
    predicate: Option<Spanned<String>>,
}

/// An entry of an index's `columns`: a column name, or an expression among columns.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a column name or an expression such as { expression = \"lower(name)\" }"
)]
enum IndexColumnDef {
    Column(String),
    Expression(ExpressionDef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpressionDef {
    expression: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a foreign key such as { columns = [\"a\"], ref_table = \"t\", ref_columns = [\"id\"] }"
)]
struct ForeignKeyDef {
    name: Option<Spanned<String>>,
    columns: Spanned<Vec<Spanned<String>>>,
    ref_table: Spanned<String>,
    ref_columns: Spanned<Vec<Spanned<String>>>,
    on_delete: Option<ActionDef>,
    on_update: Option<ActionDef>,
    deferrable: Option<DeferrableDef>,
}

/// `default = { sql = "..." }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlDef {
    sql: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct ActionDef(FkAction);

impl TryFrom<String> for ActionDef {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let action = match words(&text).as_str() {
            "no action" => FkAction::NoAction,
            "restrict" => FkAction::Restrict,
            "cascade" => FkAction::Cascade,
            "set null" => FkAction::SetNull,
            "set default" => FkAction::SetDefault,
            _ => {
                return Err(format!(
                    "unknown action `{text}` (expected cascade, set null, set default, restrict \
                     or no action)"
                ));
            }
        };
        Ok(Self(action))
    }
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct DeferrableDef(Deferrable);

impl TryFrom<String> for DeferrableDef {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let deferrable = match words(&text).as_str() {
            "not deferrable" => Deferrable::No,
            "initially immediate" => Deferrable::InitiallyImmediate,
            "initially deferred" => Deferrable::InitiallyDeferred,
            _ => {
                return Err(format!(
                    "unknown deferrable `{text}` (expected initially deferred, initially \
                     immediate or not deferrable)"
                ));
            }
        };
        Ok(Self(deferrable))
    }
}

/// Lowercase words separated by single spaces, `_` counting as a space (`SET_NULL` → `set null`).
fn words(text: &str) -> String {
    text.to_lowercase()
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SQL text of a TOML number, or `None` for one SQL cannot store (`inf`, `nan`) or an
/// integer out of range. Decimal numbers keep their digits as written (`2.50`, `+5`), without
/// TOML's `_` separators; hex, octal and binary integers become decimal.
pub(super) fn number_text(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::Integer(integer) => integer_text(integer),
        DeValue::Float(float) => {
            let text = float.as_str();
            let finite = !(text.contains("inf") || text.contains("nan"));
            finite.then(|| text.to_string())
        }
        _ => None,
    }
}

fn integer_text(integer: &DeInteger<'_>) -> Option<String> {
    if integer.radix() == 10 {
        Some(integer.as_str().to_string())
    } else {
        i64::from_str_radix(integer.as_str(), integer.radix())
            .ok()
            .map(|n| n.to_string())
    }
}

/// Whether an SQL default expression means the current date and time.
fn is_current_timestamp(sql: &str) -> bool {
    matches!(
        sql.trim().to_ascii_lowercase().as_str(),
        "current_timestamp" | "current_timestamp()" | "now()"
    )
}

pub(super) fn read(file: &str, text: &str, existing: &Schema) -> Result<Schema, DefinitionError> {
    let mut reader = Reader {
        text,
        problems: Vec::new(),
    };
    let schema = reader.schema(existing);
    if reader.problems.is_empty() {
        Ok(schema)
    } else {
        let mut problems = reader.problems;
        problems.sort_by_key(DefinitionProblem::at);
        Err(DefinitionError {
            file: file.to_string(),
            problems,
        })
    }
}

/// Where a problem is within a table, for messages.
#[derive(Clone, Default)]
struct Ctx {
    table: Option<String>,
    item: Option<String>,
}

impl Ctx {
    fn table(name: &str) -> Self {
        Self {
            table: Some(name.to_string()),
            item: None,
        }
    }

    fn item(&self, item: String) -> Self {
        Self {
            table: self.table.clone(),
            item: Some(item),
        }
    }

    /// `column `id`` for an entry whose `name` is readable, else `column #3`.
    fn entry(&self, kind: &str, value: &DeValue<'_>, number: usize) -> Self {
        let name = value.get("name").and_then(|name| name.get_ref().as_str());
        self.item(match name {
            Some(name) => format!("{kind} `{name}`"),
            None => format!("{kind} #{number}"),
        })
    }
}

/// A table read so far, with what later checks need to know about the text.
struct Draft {
    table: Table,
    key_span: Span,
    /// Every column whose name could be read, even if something else about it was wrong.
    known_columns: HashSet<String>,
    /// Whether every column's name could be read; if not, "no such column" is not reported.
    complete: bool,
    /// Where each of `table.indexes` is named.
    index_spans: Vec<Span>,
    /// Where each of `table.foreign_keys` is, and where its referenced table and columns are.
    foreign_key_spans: Vec<ForeignKeySpans>,
}

impl Draft {
    fn has_column(&self, name: &str) -> bool {
        !self.complete || self.known_columns.contains(name)
    }
}

struct ForeignKeySpans {
    whole: Span,
    ref_table: Span,
    ref_columns: Vec<Span>,
}

struct Reader<'t> {
    text: &'t str,
    problems: Vec<DefinitionProblem>,
}

impl Reader<'_> {
    fn at(&self, span: &Span) -> Option<Position> {
        Some(Position::of_offset(self.text, span.start))
    }

    fn malformed(&mut self, span: &Span, ctx: &Ctx, message: impl Into<String>) {
        self.problems.push(DefinitionProblem::Malformed {
            at: self.at(span),
            table: ctx.table.clone(),
            item: ctx.item.clone(),
            message: message.into(),
        });
    }

    /// Reports an empty name; returns whether it was non-empty.
    fn non_empty(&mut self, value: &Spanned<String>, ctx: &Ctx, what: &str) -> bool {
        let ok = !value.get_ref().trim().is_empty();
        if !ok {
            self.malformed(&value.span(), ctx, format!("{what} is empty"));
        }
        ok
    }

    /// `value` as a table, with its unknown keys reported and removed.
    fn object<'i>(
        &mut self,
        value: Spanned<DeValue<'i>>,
        keys: &'static [&'static str],
        ctx: &Ctx,
        expecting: &str,
    ) -> Option<(Span, DeTable<'i>)> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Table(mut table) => {
                let unknown: Vec<_> = table
                    .keys()
                    .filter(|key| !keys.contains(&key.get_ref().as_ref()))
                    .cloned()
                    .collect();
                for key in unknown {
                    table.remove(key.get_ref().as_ref());
                    self.problems.push(DefinitionProblem::UnknownKey {
                        at: self.at(&key.span()),
                        table: ctx.table.clone(),
                        item: ctx.item.clone(),
                        key: key.into_inner().into_owned(),
                        expected: keys,
                    });
                }
                Some((span, table))
            }
            other => {
                let found = other.type_str();
                self.malformed(&span, ctx, format!("expected {expecting}, found {found}"));
                None
            }
        }
    }

    /// `value` as a table ([`Self::object`]) deserialized as `T`, with its span; `None` once
    /// the problem is reported.
    fn object_as<'i, T: Deserialize<'i>>(
        &mut self,
        value: Spanned<DeValue<'i>>,
        keys: &'static [&'static str],
        ctx: &Ctx,
        expecting: &str,
    ) -> Option<(Span, T)> {
        let (span, table) = self.object(value, keys, ctx, expecting)?;
        let def = self.deserialize(span.clone(), table, ctx)?;
        Some((span, def))
    }

    /// `table` deserialized as `T`; a failure is reported at the span toml gives it.
    fn deserialize<'i, T: Deserialize<'i>>(
        &mut self,
        span: Span,
        table: DeTable<'i>,
        ctx: &Ctx,
    ) -> Option<T> {
        let value = Spanned::new(span.clone(), DeValue::Table(table));
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(value) => Some(value),
            Err(error) => {
                let at = error.span().unwrap_or(span);
                self.malformed(&at, ctx, error.message());
                None
            }
        }
    }

    /// The entries of an array-valued key, or `None` (reported) when it is not an array.
    fn array<'i>(
        &mut self,
        value: Spanned<DeValue<'i>>,
        key: &str,
        ctx: &Ctx,
    ) -> Option<Vec<Spanned<DeValue<'i>>>> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(array) => Some(array.into_iter().collect()),
            other => {
                let found = other.type_str();
                self.malformed(
                    &span,
                    ctx,
                    format!("`{key}` must be an array, found {found}"),
                );
                None
            }
        }
    }

    /// The names of a key's columns as written, reporting an empty list too.
    fn key_columns(
        &mut self,
        draft: &Draft,
        list: Vec<(String, Span)>,
        list_span: &Span,
        used_by: &str,
        ctx: &Ctx,
    ) -> Vec<String> {
        if list.is_empty() {
            self.malformed(list_span, ctx, format!("{used_by} lists no columns"));
        }
        self.check_columns(draft, list, used_by)
    }

    /// The names of `list`, reporting columns the table lacks and columns listed twice.
    fn check_columns(
        &mut self,
        draft: &Draft,
        list: Vec<(String, Span)>,
        used_by: &str,
    ) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut names = Vec::with_capacity(list.len());
        for (column, span) in list {
            let repeated = !seen.insert(column.clone());
            if repeated || !draft.has_column(&column) {
                self.problems.push(DefinitionProblem::BadKeyColumn {
                    at: self.at(&span),
                    table: draft.table.name.clone(),
                    column: column.clone(),
                    used_by: used_by.to_string(),
                    repeated,
                });
            }
            names.push(column);
        }
        names
    }

    fn schema(&mut self, existing: &Schema) -> Schema {
        let (root, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            // Meaning is not checked in text that is not TOML: it would only add noise.
            for error in errors {
                let at = error.span().and_then(|span| self.at(&span));
                let message = error.message().to_string();
                self.problems
                    .push(DefinitionProblem::Syntax { at, message });
            }
            return Schema::new();
        }
        let root_span = root.span();
        let root = Spanned::new(root_span, DeValue::Table(root.into_inner()));
        let Some((_, mut root)) = self.object(root, ROOT_KEYS, &Ctx::default(), "a document")
        else {
            return Schema::new();
        };
        let Some(tables) = root.remove("tables") else {
            return Schema::new();
        };
        let tables_span = tables.span();
        let DeValue::Table(tables) = tables.into_inner() else {
            self.malformed(
                &tables_span,
                &Ctx::default(),
                "`tables` must hold tables such as [tables.items]",
            );
            return Schema::new();
        };
        let drafts: Vec<Draft> = tables
            .into_iter()
            .filter_map(|(key, value)| self.table(key, value, existing))
            .collect();
        self.check_names(&drafts);
        self.check_references(&drafts, existing);
        Schema::from_tables(drafts.into_iter().map(|draft| draft.table))
    }

    fn table<'i>(
        &mut self,
        key: Spanned<Cow<'i, str>>,
        value: Spanned<DeValue<'i>>,
        existing: &Schema,
    ) -> Option<Draft> {
        let key_span = key.span();
        let name = key.into_inner().into_owned();
        if name.trim().is_empty() {
            self.malformed(&key_span, &Ctx::default(), "a table name is empty");
            return None;
        }
        if existing.contains(&name) {
            self.problems.push(DefinitionProblem::DuplicateTable {
                at: self.at(&key_span),
                table: name.clone(),
            });
        }
        let ctx = Ctx::table(&name);
        let (span, mut entries) =
            self.object(value, TABLE_KEYS, &ctx, "a table such as [tables.items]")?;
        let columns = entries.remove("columns");
        let uniques = entries.remove("uniques");
        let checks = entries.remove("checks");
        let indexes = entries.remove("indexes");
        let foreign_keys = entries.remove("foreign_keys");
        let def: TableDef = self.deserialize(span, entries, &ctx).unwrap_or_default();

        let mut draft = Draft {
            table: Table::new(name),
            key_span,
            known_columns: HashSet::new(),
            complete: true,
            index_spans: Vec::new(),
            foreign_key_spans: Vec::new(),
        };
        draft.table.comment = def.comment;

        let column_entries = match columns {
            Some(columns) => self.array(columns, "columns", &ctx),
            None => Some(Vec::new()),
        };
        let column_keys = match column_entries {
            Some(entries) if entries.is_empty() => {
                self.problems.push(DefinitionProblem::NoColumns {
                    at: self.at(&draft.key_span),
                    table: draft.table.name.clone(),
                });
                // Its columns are unknown rather than absent: say nothing about them.
                draft.complete = false;
                ColumnKeys::default()
            }
            Some(entries) => self.columns(&mut draft, entries, &ctx),
            None => {
                draft.complete = false;
                ColumnKeys::default()
            }
        };
        self.primary_key(&mut draft, column_keys.primary_key, def.primary_key, &ctx);
        self.not_null(&mut draft, &column_keys.nullable);

        draft.table.uniques = column_keys.uniques;
        for (number, entry) in self.entries(uniques, "uniques", &ctx) {
            self.unique(&mut draft, entry, number, &ctx);
        }
        for (number, entry) in self.entries(checks, "checks", &ctx) {
            self.check(&mut draft, entry, number, &ctx);
        }
        for (number, entry) in self.entries(indexes, "indexes", &ctx) {
            self.index(&mut draft, entry, number, &ctx);
        }
        for (fk, spans) in column_keys.foreign_keys {
            draft.table.foreign_keys.push(fk);
            draft.foreign_key_spans.push(spans);
        }
        for (number, entry) in self.entries(foreign_keys, "foreign_keys", &ctx) {
            self.foreign_key(&mut draft, entry, number, &ctx);
        }
        Some(draft)
    }

    /// The entries of an optional array key, numbered from 1 for messages.
    fn entries<'i>(
        &mut self,
        value: Option<Spanned<DeValue<'i>>>,
        key: &str,
        ctx: &Ctx,
    ) -> Vec<(usize, Spanned<DeValue<'i>>)> {
        value
            .and_then(|value| self.array(value, key, ctx))
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, entry)| (i + 1, entry))
            .collect()
    }

    /// Reads `columns` into the draft; returns the keys declared on columns.
    fn columns(
        &mut self,
        draft: &mut Draft,
        entries: Vec<Spanned<DeValue<'_>>>,
        ctx: &Ctx,
    ) -> ColumnKeys {
        let mut keys = ColumnKeys::default();
        for (i, entry) in entries.into_iter().enumerate() {
            let ctx = ctx.entry("column", entry.get_ref(), i + 1);
            match entry
                .get_ref()
                .get("name")
                .and_then(|n| n.get_ref().as_str())
            {
                Some(name) => {
                    draft.known_columns.insert(name.to_string());
                }
                None => draft.complete = false,
            }
            let Some((span, mut entries)) = self.object(
                entry,
                COLUMN_KEYS,
                &ctx,
                "a column such as { name = \"id\", type = \"integer\" }",
            ) else {
                continue;
            };
            let default = entries.remove("default");
            let Some(def) = self.deserialize::<ColumnDef>(span, entries, &ctx) else {
                continue;
            };
            if !self.non_empty(&def.name, &ctx, "the column name") {
                continue;
            }
            let name_span = def.name.span();
            let name = def.name.into_inner();
            if draft.table.column(&name).is_some() {
                self.problems.push(DefinitionProblem::DuplicateColumn {
                    at: self.at(&name_span),
                    table: draft.table.name.clone(),
                    column: name,
                });
                continue;
            }
            let ty = match def.ty.get_ref().parse::<ColumnType>() {
                Ok(ty) => ty,
                Err(_) => {
                    self.problems.push(DefinitionProblem::UnknownType {
                        at: self.at(&def.ty.span()),
                        table: draft.table.name.clone(),
                        column: name.clone(),
                        text: def.ty.into_inner(),
                    });
                    // A stand-in so the other checks of this table still run.
                    ColumnType::Text
                }
            };
            let default = default.and_then(|value| self.default_value(value, &ctx));
            let nullable = def.nullable.as_ref().is_none_or(|n| *n.get_ref());
            if let Some(explicit) = def.nullable.filter(|n| *n.get_ref()) {
                keys.nullable.insert(name.clone(), explicit.span());
            }
            if def.primary_key {
                keys.primary_key.push((name.clone(), name_span.clone()));
            }
            if def.unique {
                keys.uniques.push(Unique {
                    name: None,
                    columns: vec![name.clone()],
                });
            }
            match def.references {
                Some(reference) => {
                    let action = |a: Option<ActionDef>| a.map_or(FkAction::default(), |a| a.0);
                    let fk = reference.get_ref().rsplit_once('.').and_then(|(t, c)| {
                        let columns = vec![name.clone()];
                        (!t.trim().is_empty() && !c.trim().is_empty()).then(|| ForeignKey {
                            name: ForeignKey::default_name(&draft.table.name, &columns),
                            columns,
                            ref_table: t.to_string(),
                            ref_columns: vec![c.to_string()],
                            on_delete: action(def.on_delete),
                            on_update: action(def.on_update),
                            deferrable: def.deferrable.map_or(Deferrable::default(), |d| d.0),
                        })
                    });
                    match fk {
                        Some(fk) => {
                            let span = reference.span();
                            let spans = ForeignKeySpans {
                                whole: span.clone(),
                                ref_table: span.clone(),
                                ref_columns: vec![span],
                            };
                            keys.foreign_keys.push((fk, spans));
                        }
                        None => self.malformed(
                            &reference.span(),
                            &ctx,
                            format!(
                                "`references` must be \"table.column\", found `{}`",
                                reference.get_ref()
                            ),
                        ),
                    }
                }
                None => {
                    if def.on_delete.is_some()
                        || def.on_update.is_some()
                        || def.deferrable.is_some()
                    {
                        self.malformed(
                            &name_span,
                            &ctx,
                            "`on_delete`, `on_update` and `deferrable` need `references`",
                        );
                    }
                }
            }
            draft.table.columns.push(Column {
                name,
                ty,
                nullable,
                default,
                comment: def.comment,
            });
        }
        keys
    }

    fn default_value(&mut self, value: Spanned<DeValue<'_>>, ctx: &Ctx) -> Option<DefaultValue> {
        let span = value.span();
        let value = value.into_inner();
        match value {
            DeValue::Boolean(b) => Some(DefaultValue::Bool(b)),
            DeValue::String(text) => Some(DefaultValue::String(text.into_owned())),
            DeValue::Integer(_) | DeValue::Float(_) => {
                let text = number_text(&value);
                if text.is_none() {
                    self.malformed(
                        &span,
                        ctx,
                        format!(
                            "default `{}` is not a number SQL can store; write it as \
                             {{ sql = \"...\" }}",
                            &self.text[span.clone()]
                        ),
                    );
                }
                text.map(DefaultValue::Number)
            }
            DeValue::Table(table) => {
                let value = Spanned::new(span, DeValue::Table(table));
                let (span, table) = self.object(value, SQL_KEYS, ctx, "{ sql = \"...\" }")?;
                let def: SqlDef = self.deserialize(span, table, ctx)?;
                if !self.non_empty(&def.sql, ctx, "the default's SQL") {
                    return None;
                }
                let sql = def.sql.into_inner();
                Some(if is_current_timestamp(&sql) {
                    DefaultValue::CurrentTimestamp
                } else {
                    DefaultValue::Expression(sql)
                })
            }
            other => {
                let found = other.type_str();
                self.malformed(
                    &span,
                    ctx,
                    format!(
                        "`default` must be a number, a boolean, a string or {{ sql = \"...\" }}, \
                         found {found}"
                    ),
                );
                None
            }
        }
    }

    fn primary_key(
        &mut self,
        draft: &mut Draft,
        on_columns: Vec<(String, Span)>,
        on_table: Option<Spanned<Vec<Spanned<String>>>>,
        ctx: &Ctx,
    ) {
        let mut on_columns = on_columns.into_iter();
        let columns = match on_table {
            Some(list) => {
                let span = list.span();
                let list = list.into_inner().into_iter().map(spanned_pair).collect();
                Some(self.key_columns(draft, list, &span, "primary key", ctx))
            }
            None => on_columns.next().map(|(column, _)| vec![column]),
        };
        for (column, span) in on_columns {
            self.problems.push(DefinitionProblem::PrimaryKeyTwice {
                at: self.at(&span),
                table: draft.table.name.clone(),
                column,
            });
        }
        draft.table.primary_key = columns.map(|columns| PrimaryKey { columns });
    }

    /// Makes primary key and serial columns NOT NULL, reporting `nullable = true` on them.
    fn not_null(&mut self, draft: &mut Draft, explicit: &HashMap<String, Span>) {
        let pk: HashSet<String> = draft
            .table
            .primary_key
            .iter()
            .flat_map(|pk| pk.columns.iter().cloned())
            .collect();
        for column in &mut draft.table.columns {
            let why = if pk.contains(&column.name) {
                "primary key"
            } else if column.ty.is_serial() {
                "serial"
            } else {
                continue;
            };
            column.nullable = false;
            if let Some(span) = explicit.get(&column.name) {
                self.problems.push(DefinitionProblem::NullableNotAllowed {
                    at: self.at(span),
                    table: draft.table.name.clone(),
                    column: column.name.clone(),
                    why,
                });
            }
        }
    }

    fn unique(&mut self, draft: &mut Draft, entry: Spanned<DeValue<'_>>, number: usize, ctx: &Ctx) {
        let ctx = ctx.entry("unique constraint", entry.get_ref(), number);
        let expecting = "a unique constraint such as { columns = [\"a\", \"b\"] }";
        let Some((_, def)) = self.object_as::<UniqueDef>(entry, UNIQUE_KEYS, &ctx, expecting)
        else {
            return;
        };
        if def
            .name
            .as_ref()
            .is_some_and(|name| !self.non_empty(name, &ctx, "the name"))
        {
            return;
        }
        let used_by = ctx.item.clone().unwrap_or_default();
        let span = def.columns.span();
        let list = def
            .columns
            .into_inner()
            .into_iter()
            .map(spanned_pair)
            .collect();
        let columns = self.key_columns(draft, list, &span, &used_by, &ctx);
        draft.table.uniques.push(Unique {
            name: def.name.map(Spanned::into_inner),
            columns,
        });
    }

    fn check(&mut self, draft: &mut Draft, entry: Spanned<DeValue<'_>>, number: usize, ctx: &Ctx) {
        let ctx = ctx.entry("check", entry.get_ref(), number);
        let expecting = "a check such as { expression = \"price >= 0\" }";
        let Some((_, def)) = self.object_as::<CheckDef>(entry, CHECK_KEYS, &ctx, expecting) else {
            return;
        };
        let name_ok = def
            .name
            .as_ref()
            .is_none_or(|name| self.non_empty(name, &ctx, "the name"));
        if self.non_empty(&def.expression, &ctx, "the expression") && name_ok {
            draft.table.checks.push(Check {
                name: def.name.map(Spanned::into_inner),
                expression: def.expression.into_inner(),
            });
        }
    }

    fn index(&mut self, draft: &mut Draft, entry: Spanned<DeValue<'_>>, number: usize, ctx: &Ctx) {
        let ctx = ctx.entry("index", entry.get_ref(), number);
        let expecting = "an index such as { name = \"idx_items_name\", columns = [\"name\"] }";
        let Some((span, def)) = self.object_as::<IndexDef>(entry, INDEX_KEYS, &ctx, expecting)
        else {
            return;
        };
        let mut ok = self.non_empty(&def.name, &ctx, "the index name");
        for (text, key) in [(&def.method, "`method`"), (&def.predicate, "`where`")] {
            if let Some(text) = text {
                ok &= self.non_empty(text, &ctx, key);
            }
        }
        let parts = match (def.columns, def.expressions) {
            (Some(_), Some(_)) | (None, None) => {
                self.malformed(
                    &span,
                    &ctx,
                    "give either `columns` or `expressions` (exactly one of them)",
                );
                return;
            }
            (Some(list), None) => {
                let span = list.span();
                let mut columns = Vec::new();
                let mut parts = Vec::new();
                for part in list.into_inner() {
                    match part {
                        IndexColumnDef::Column(column) => {
                            columns.push((column.clone(), span.clone()));
                            parts.push(IndexPart::Column(column));
                        }
                        IndexColumnDef::Expression(def) => {
                            parts.push(IndexPart::Expression(def.expression));
                        }
                    }
                }
                let used_by = ctx.item.clone().unwrap_or_default();
                if parts.is_empty() {
                    self.malformed(&span, &ctx, format!("{used_by} lists no columns"));
                    return;
                }
                self.check_columns(draft, columns, &used_by);
                parts
            }
            (None, Some(list)) => {
                if list.get_ref().is_empty() {
                    self.malformed(&list.span(), &ctx, "`expressions` is empty");
                    return;
                }
                list.into_inner()
                    .into_iter()
                    .map(IndexPart::Expression)
                    .collect()
            }
        };
        let empty_expression = parts
            .iter()
            .any(|part| matches!(part, IndexPart::Expression(e) if e.trim().is_empty()));
        if empty_expression {
            self.malformed(&span, &ctx, "an index expression is empty");
            return;
        }
        if ok {
            draft.index_spans.push(def.name.span());
            draft.table.indexes.push(Index {
                name: def.name.into_inner(),
                parts,
                unique: def.unique,
                method: def.method.map(Spanned::into_inner),
                predicate: def.predicate.map(Spanned::into_inner),
            });
        }
    }

    fn foreign_key(
        &mut self,
        draft: &mut Draft,
        entry: Spanned<DeValue<'_>>,
        number: usize,
        ctx: &Ctx,
    ) {
        let ctx = ctx.entry("foreign key", entry.get_ref(), number);
        let expecting = "a foreign key such as { columns = [\"a\"], ref_table = \"t\", ref_columns = [\"id\"] }";
        let Some((span, def)) =
            self.object_as::<ForeignKeyDef>(entry, FOREIGN_KEY_KEYS, &ctx, expecting)
        else {
            return;
        };
        let used_by = ctx.item.clone().unwrap_or_default();
        let columns_span = def.columns.span();
        let list = def
            .columns
            .into_inner()
            .into_iter()
            .map(spanned_pair)
            .collect();
        let columns = self.key_columns(draft, list, &columns_span, &used_by, &ctx);
        let name = match def.name {
            Some(name) if !self.non_empty(&name, &ctx, "the name") => return,
            Some(name) => name.into_inner(),
            None => ForeignKey::default_name(&draft.table.name, &columns),
        };
        if !self.non_empty(&def.ref_table, &ctx, "`ref_table`") {
            return;
        }
        let ref_columns_span = def.ref_columns.span();
        let (ref_columns, ref_spans): (Vec<String>, Vec<Span>) = def
            .ref_columns
            .into_inner()
            .into_iter()
            .map(spanned_pair)
            .unzip();
        if ref_columns.is_empty() {
            self.malformed(&ref_columns_span, &ctx, "`ref_columns` lists no columns");
        } else if ref_columns.len() != columns.len() && !columns.is_empty() {
            self.problems.push(DefinitionProblem::ArityMismatch {
                at: self.at(&ref_columns_span),
                table: draft.table.name.clone(),
                foreign_key: name.clone(),
                columns: columns.clone(),
                ref_table: def.ref_table.get_ref().clone(),
                ref_columns: ref_columns.clone(),
            });
        }
        draft.foreign_key_spans.push(ForeignKeySpans {
            whole: span,
            ref_table: def.ref_table.span(),
            ref_columns: ref_spans,
        });
        draft.table.foreign_keys.push(ForeignKey {
            name,
            columns,
            ref_table: def.ref_table.into_inner(),
            ref_columns,
            on_delete: def.on_delete.map_or(FkAction::default(), |a| a.0),
            on_update: def.on_update.map_or(FkAction::default(), |a| a.0),
            deferrable: def.deferrable.map_or(Deferrable::default(), |d| d.0),
        });
    }

    /// Index names, and foreign key names, must each be unique in the file: PostgreSQL keeps
    /// index names per schema and MySQL foreign key names per database.
    fn check_names(&mut self, drafts: &[Draft]) {
        let mut uses: Vec<(&'static str, &str, &str, &Span)> = Vec::new();
        for draft in drafts {
            let table = draft.table.name.as_str();
            for (index, span) in draft.table.indexes.iter().zip(&draft.index_spans) {
                uses.push(("index", table, &index.name, span));
            }
            for (fk, spans) in draft
                .table
                .foreign_keys
                .iter()
                .zip(&draft.foreign_key_spans)
            {
                uses.push(("foreign key", table, &fk.name, &spans.whole));
            }
        }
        uses.sort_by_key(|(_, _, _, span)| span.start);
        let mut first: HashMap<(&str, &str), &str> = HashMap::new();
        for (kind, table, name, span) in uses {
            if let Some(first_table) = first.get(&(kind, name)) {
                self.problems.push(DefinitionProblem::DuplicateName {
                    at: self.at(span),
                    table: table.to_string(),
                    kind,
                    name: name.to_string(),
                    first_table: first_table.to_string(),
                });
            } else {
                first.insert((kind, name), table);
            }
        }
    }

    /// Every foreign key must point at a table of this file or of `existing`, and at columns
    /// that table has.
    fn check_references(&mut self, drafts: &[Draft], existing: &Schema) {
        let by_name: BTreeMap<&str, &Draft> = drafts
            .iter()
            .map(|draft| (draft.table.name.as_str(), draft))
            .collect();
        for draft in drafts {
            for (fk, spans) in draft
                .table
                .foreign_keys
                .iter()
                .zip(&draft.foreign_key_spans)
            {
                let has_column: Box<dyn Fn(&str) -> bool> = match (
                    by_name.get(fk.ref_table.as_str()),
                    existing.table(&fk.ref_table),
                ) {
                    (Some(target), _) => Box::new(|c| target.has_column(c)),
                    (None, Some(target)) => Box::new(|c| target.column(c).is_some()),
                    (None, None) => {
                        self.problems.push(DefinitionProblem::MissingTable {
                            at: self.at(&spans.ref_table),
                            table: draft.table.name.clone(),
                            foreign_key: fk.name.clone(),
                            columns: fk.columns.clone(),
                            ref_table: fk.ref_table.clone(),
                        });
                        continue;
                    }
                };
                for (column, span) in fk.ref_columns.iter().zip(&spans.ref_columns) {
                    if !has_column(column) {
                        self.problems.push(DefinitionProblem::MissingRefColumn {
                            at: self.at(span),
                            table: draft.table.name.clone(),
                            foreign_key: fk.name.clone(),
                            columns: fk.columns.clone(),
                            ref_table: fk.ref_table.clone(),
                            ref_column: column.clone(),
                        });
                    }
                }
            }
        }
    }
}

/// Keys declared on columns, gathered while reading them.
#[derive(Default)]
struct ColumnKeys {
    /// Columns with `primary_key = true`, in order.
    primary_key: Vec<(String, Span)>,
    /// `unique = true`, in column order.
    uniques: Vec<Unique>,
    /// `references`, in column order.
    foreign_keys: Vec<(ForeignKey, ForeignKeySpans)>,
    /// Columns that say `nullable = true`, and where.
    nullable: HashMap<String, Span>,
}

fn spanned_pair(value: Spanned<String>) -> (String, Span) {
    let span = value.span();
    (value.into_inner(), span)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use crate::definitions::{parse_definitions, parse_definitions_with, to_toml};
    use crate::model::{
        Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, IndexPart, Schema,
        Table,
    };

    /// Asserts that `text` is rejected, that every line of the message names the file, and
    /// that the message contains each of `fragments` (position, table, column, key, …).
    #[track_caller]
    fn check(text: &str, fragments: &[&str]) {
        let err = parse_definitions("defs.toml", text).expect_err("definitions are rejected");
        let message = err.to_string();
        for line in message.lines() {
            assert!(line.contains("defs.toml"), "{line:?} in:\n{message}");
        }
        for fragment in fragments {
            assert!(
                message.contains(fragment),
                "{fragment:?} not in:\n{message}"
            );
        }
    }

    /// Asserts how `text` reads, shown as the definitions it writes back.
    #[track_caller]
    fn check_reads(text: &str, expected: Expect) {
        let schema = parse_definitions("defs.toml", text).unwrap_or_else(|e| panic!("{e}"));
        expected.assert_eq(&to_toml(&schema));
    }

    const T: &str = "[tables.t]\ncolumns = [{ name = \"id\", type = \"integer\" }]\n";

    #[test]
    fn syntax_errors_name_line_and_column() {
        check("[tables.t\n", &["defs.toml:1:10: invalid TOML"]);
        check(
            "[tables.t]\ncolumns = [\n",
            &["defs.toml:2:", "invalid TOML"],
        );
        check(
            "[tables.t]\ncolumns = []\n[tables.t]\ncolumns = []\n",
            &["defs.toml:3:9: invalid TOML: duplicate key"],
        );
        check(
            "x = 'a\ny = \n",
            &["2 problems", "defs.toml:1:", "defs.toml:2:"],
        );
    }

    #[test]
    fn unknown_keys_are_named_where_they_are() {
        check(
            "[table.t]\n",
            &["defs.toml:1:2: unknown key `table` (expected one of tables)"],
        );
        check(
            &format!("{T}column = 1\n"),
            &[
                "defs.toml:3:1: table `t`: unknown key `column`",
                "foreign_keys",
            ],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\", nulable = false, uniq = true }]\n",
            &[
                "2 problems",
                "defs.toml:2:41: table `t`, column `x`: unknown key `nulable`",
                "defs.toml:2:58: table `t`, column `x`: unknown key `uniq`",
            ],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", columns = [\"id\"], kind = \"gin\" }}]\n"),
            &["table `t`, index `i`: unknown key `kind`"],
        );
        check(
            &format!("{T}uniques = [{{ cols = [\"id\"] }}]\n"),
            &["table `t`, unique constraint #1: unknown key `cols`"],
        );
        check(
            &format!("{T}checks = [{{ expr = \"id > 0\" }}]\n"),
            &["table `t`, check #1: unknown key `expr`"],
        );
        check(
            &format!("{T}foreign_keys = [{{ name = \"f\", columns = [\"id\"], table = \"t\" }}]\n"),
            &["table `t`, foreign key `f`: unknown key `table`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\", default = { sq = \"1\" } }]\n",
            &["table `t`, column `x`: unknown key `sq` (expected one of sql)"],
        );
    }

    #[test]
    fn malformed_values_are_named() {
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"intgr\" }]\n",
            &["defs.toml:2:33: table `t`, column `x`: unknown type `intgr`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\" }]\n",
            &["table `t`, column `x`: missing field `type`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\", nullable = \"yes\" }]\n",
            &[
                "defs.toml:2:52: table `t`, column `x`: invalid type: string \"yes\", expected a boolean",
            ],
        );
        check(
            "[tables.t]\ncolumns = [\"id\"]\n",
            &["table `t`, column #1: expected a column such as"],
        );
        check(
            "[tables.t]\ncolumns = 3\n",
            &["table `t`: `columns` must be an array"],
        );
        check("tables = 3\n", &["`tables` must hold tables"]);
        check(
            "[tables]\nt = 3\n",
            &["table `t`: expected a table such as"],
        );
        check(
            "[tables.\"\"]\ncolumns = []\n",
            &["defs.toml:1:9: a table name is empty"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"\", type = \"text\" }]\n",
            &["table `t`, column ``: the column name is empty"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\", references = \"items\" }]\n",
            &["table `t`, column `x`: `references` must be \"table.column\", found `items`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\", on_delete = \"cascade\" }]\n",
            &["table `t`, column `x`: `on_delete`, `on_update` and `deferrable` need `references`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"int\", references = \"t.x\", on_delete = \"explode\" }]\n",
            &["table `t`, column `x`: unknown action `explode`"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"int\", references = \"t.x\", deferrable = \"later\" }]\n",
            &["table `t`, column `x`: unknown deferrable `later`"],
        );
    }

    #[test]
    fn bad_defaults_are_named() {
        let column = |default: &str| {
            format!(
                "[tables.t]\ncolumns = [{{ name = \"x\", type = \"text\", default = {default} }}]\n"
            )
        };
        check(
            &column("inf"),
            &["table `t`, column `x`: default `inf` is not a number SQL can store"],
        );
        check(&column("-nan"), &["default `-nan` is not a number"]);
        check(
            &column("1979-05-27"),
            &["column `x`: `default` must be a number", "found datetime"],
        );
        check(
            &column("[1]"),
            &["column `x`: `default` must be a number", "found array"],
        );
        check(
            &column("{ sql = \" \" }"),
            &["column `x`: the default's SQL is empty"],
        );
    }

    #[test]
    fn column_and_table_problems() {
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"text\" }, { name = \"x\", type = \"int\" }]\n",
            &["defs.toml:2:52: table `t`: duplicate column `x`"],
        );
        check(
            "[tables.t]\ncolumns = []\n",
            &["defs.toml:1:9: table `t` has no columns"],
        );
        check(
            "[tables.t]\ncomment = \"c\"\n",
            &["table `t` has no columns"],
        );
        let existing = Schema::from_tables([Table::new("t")]);
        let err = parse_definitions_with("002_t.toml", T, &existing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "002_t.toml:1:9: table `t` already exists before this file (an earlier migration creates it)"
        );
    }

    #[test]
    fn primary_key_problems() {
        check(
            &format!("{T}primary_key = [\"id\", \"nope\"]\n"),
            &["defs.toml:3:22: table `t`: primary key names missing column `nope`"],
        );
        check(
            &format!("{T}primary_key = [\"id\", \"id\"]\n"),
            &["table `t`: primary key repeats column `id`"],
        );
        check(
            &format!("{T}primary_key = []\n"),
            &["table `t`: primary key lists no columns"],
        );
        check(
            "[tables.t]\nprimary_key = [\"a\"]\ncolumns = [{ name = \"a\", type = \"int\" }, { name = \"b\", type = \"int\", primary_key = true }]\n",
            &["table `t`, column `b`: a second primary key declaration"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"a\", type = \"int\", primary_key = true }, { name = \"b\", type = \"int\", primary_key = true }]\n",
            &["defs.toml:2:71: table `t`, column `b`: a second primary key declaration"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"a\", type = \"int\", primary_key = true, nullable = true }]\n",
            &["table `t`, column `a`: primary key columns are never nullable"],
        );
        check(
            "[tables.t]\nprimary_key = [\"a\"]\ncolumns = [{ name = \"a\", type = \"int\", nullable = true }]\n",
            &["table `t`, column `a`: primary key columns are never nullable"],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"a\", type = \"bigserial\", nullable = true }]\n",
            &["table `t`, column `a`: serial columns are never nullable"],
        );
    }

    #[test]
    fn unique_index_and_check_problems() {
        check(
            &format!("{T}uniques = [{{ name = \"u\", columns = [\"id\", \"nope\"] }}]\n"),
            &["table `t`: unique constraint `u` names missing column `nope`"],
        );
        check(
            &format!("{T}uniques = [{{ columns = [] }}]\n"),
            &["unique constraint #1 lists no columns"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", columns = [\"nope\"] }}]\n"),
            &["table `t`: index `i` names missing column `nope`"],
        );
        check(
            &format!(
                "{T}indexes = [{{ name = \"i\", columns = [\"id\"], expressions = [\"lower(id)\"] }}]\n"
            ),
            &["table `t`, index `i`: give either `columns` or `expressions`"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\" }}]\n"),
            &["table `t`, index `i`: give either `columns` or `expressions`"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", columns = [3] }}]\n"),
            &["defs.toml:3:36: table `t`, index `i`: a column name or an expression such as"],
        );
        check(
            &format!("{T}indexes = [{{ columns = [\"id\"] }}]\n"),
            &["index #1: missing field `name`"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", expressions = [] }}]\n"),
            &["`expressions` is empty"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", columns = [\"id\"], where = \" \" }}]\n"),
            &["defs.toml:3:52: table `t`, index `i`: `where` is empty"],
        );
        check(
            &format!("{T}indexes = [{{ name = \"i\", columns = [\"id\"], method = \"\" }}]\n"),
            &["table `t`, index `i`: `method` is empty"],
        );
        check(
            &format!("{T}checks = [{{ name = \"c\", expression = \"\" }}]\n"),
            &["table `t`, check `c`: the expression is empty"],
        );
        check(
            "[tables.a]\ncolumns = [{ name = \"x\", type = \"int\" }]\nindexes = [{ name = \"i\", columns = [\"x\"] }]\n\
             [tables.b]\ncolumns = [{ name = \"x\", type = \"int\" }]\nindexes = [{ name = \"i\", columns = [\"x\"] }]\n",
            &[
                "defs.toml:6:",
                "table `b`: index name `i` is already used in table `a`",
            ],
        );
    }

    #[test]
    fn foreign_key_problems() {
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"int\", references = \"items.id\" }]\n",
            &[
                "defs.toml:2:53: table `t`, foreign key `fk_t_x` (x): references table `items`, which is not defined",
            ],
        );
        check(
            "[tables.t]\ncolumns = [{ name = \"x\", type = \"int\", references = \"t.nope\" }]\n",
            &["table `t`, foreign key `fk_t_x` (x): table `t` has no column `nope`"],
        );
        check(
            &format!(
                "{T}foreign_keys = [{{ columns = [\"id\"], ref_table = \"t\", ref_columns = [\"id\", \"id\"] }}]\n"
            ),
            &[
                "table `t`, foreign key `fk_t_id`: 1 column(s) (id) reference 2 column(s) of `t` (id, id); the counts must match",
            ],
        );
        check(
            &format!(
                "{T}foreign_keys = [{{ name = \"f\", columns = [\"nope\"], ref_table = \"t\", ref_columns = [\"id\"] }}]\n"
            ),
            &["table `t`: foreign key `f` names missing column `nope`"],
        );
        check(
            &format!(
                "{T}foreign_keys = [{{ columns = [\"id\"], ref_table = \"t\", ref_columns = [] }}]\n"
            ),
            &["`ref_columns` lists no columns"],
        );
        check(
            &format!(
                "{T}foreign_keys = [{{ columns = [\"id\"], ref_table = \"t\", ref_columns = [\"id\"], on_update = \"sideways\" }}]\n"
            ),
            &["table `t`, foreign key #1: unknown action `sideways`"],
        );
        check(
            "[tables.a]\ncolumns = [{ name = \"x\", type = \"int\", references = \"a.x\" }]\n\
             foreign_keys = [{ name = \"fk_a_x\", columns = [\"x\"], ref_table = \"a\", ref_columns = [\"x\"] }]\n",
            &["table `a`: foreign key name `fk_a_x` is already used in table `a`"],
        );
    }

    #[test]
    fn foreign_keys_may_point_at_existing_tables() {
        let mut items = Table::new("items");
        items.columns.push(Column::new("id", ColumnType::Integer));
        let mut attack_defense = Table::new("attack_defense");
        attack_defense
            .columns
            .push(Column::new("id", ColumnType::Integer));
        let existing = Schema::from_tables([items, attack_defense]);
        let text = "[tables.t]\ncolumns = [{ name = \"item\", type = \"int\", references = \"items.id\" }]\n";
        let schema = parse_definitions_with("002.toml", text, &existing).unwrap();
        assert_eq!(schema.table_names().collect::<Vec<_>>(), ["t"]);
        let err = parse_definitions("002.toml", text).unwrap_err();
        assert!(
            err.to_string().contains("references table `items`"),
            "{err}"
        );
        let text = "[tables.t]\ncolumns = [{ name = \"item\", type = \"int\", references = \"items.nope\" }]\n";
        let err = parse_definitions_with("002.toml", text, &existing).unwrap_err();
        assert!(
            err.to_string()
                .contains("table `items` has no column `nope`"),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_in_file_order() {
        let text = r#"
[tables.b]
columns = [
  { name = "id", type = "serial", primary_key = true },
  { name = "a_id", type = "integr", references = "a.id" },
  { name = "id", type = "text" },
]

[tables.a]
colums = []
"#;
        let err = parse_definitions("schema.toml", text).unwrap_err();
        expect![[r#"
            4 problems in table definitions schema.toml
              schema.toml:5:27: table `b`, column `a_id`: unknown type `integr` (expected one of smallint, integer, bigint, serial, bigserial, boolean, real, double, decimal(p,s), varchar(n), char(n), text, date, time, timestamp, timestamptz, json, jsonb, uuid, bytes, an array such as integer[], or custom(name) for a backend type)
              schema.toml:6:12: table `b`: duplicate column `id`
              schema.toml:9:9: table `a` has no columns; add `columns = [{ name = "id", type = "serial", primary_key = true }]`
              schema.toml:10:1: table `a`: unknown key `colums` (expected one of comment, primary_key, columns, uniques, checks, indexes, foreign_keys)"#]]
        .assert_eq(&err.to_string());
        assert_eq!(err.problems.len(), 4);
        assert_eq!(err.file, "schema.toml");
    }

    #[test]
    fn a_broken_column_does_not_cause_missing_column_noise() {
        let text = "[tables.t]\nprimary_key = [\"a\", \"b\"]\ncolumns = [{ name = \"a\", type = \"int\" }, { type = \"int\" }]\n";
        let err = parse_definitions("defs.toml", text).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(
            err.to_string().contains("column #2: missing field `name`"),
            "{err}"
        );
    }

    #[test]
    fn shorthands_and_spellings_read_as_the_model_has_them() {
        check_reads(
            r#"[tables.t]
columns = [
  { name = "a", type = "INT4", primary_key = true, nullable = false },
  { name = "b", type = "character varying(20)", unique = true, default = 1_000 },
  { name = "c", type = "serial", default = 0x1F },
  { name = "d", type = "timestamptz", default = { sql = "now()" } },
  { name = "e", type = "timestamp", default = { sql = " Current_Timestamp " } },
  { name = "f", type = "int", references = "t.a", on_delete = "SET_NULL", on_update = "Cascade", deferrable = "INITIALLY  deferred" },
  { name = "g", type = "numeric(10, 2)", default = 2.50, nullable = true },
  { name = "h", type = "double precision", default = +1.5e3 },
]
foreign_keys = [{ name = "fk_t_g", columns = ["g"], ref_table = "t", ref_columns = ["a"], deferrable = "not deferrable", on_delete = "no action" }]
"#,
            expect![[r#"
                [tables.t]
                columns = [
                  { name = "a", type = "integer", primary_key = true },
                  { name = "b", type = "varchar(20)", unique = true, default = 1000 },
                  { name = "c", type = "serial", default = 31 },
                  { name = "d", type = "timestamptz", default = { sql = "CURRENT_TIMESTAMP" } },
                  { name = "e", type = "timestamp", default = { sql = "CURRENT_TIMESTAMP" } },
                  { name = "f", type = "integer", references = "t.a", on_delete = "set null", on_update = "cascade", deferrable = "initially deferred" },
                  { name = "g", type = "decimal(10,2)", default = 2.50, references = "t.a" },
                  { name = "h", type = "double", default = +1.5e3 },
                ]
            "#]],
        );
    }

    #[test]
    fn every_key_reads_into_the_model() {
        let text = r#"
[tables.items]
comment = "Main items table"
columns = [
  { name = "id", type = "serial", primary_key = true },
  { name = "name", type = "varchar(128)", nullable = false, unique = true, comment = "as shown" },
  { name = "price", type = "decimal(10,2)", default = 0 },
  { name = "atkdef_id", type = "integer", references = "attack_defense.id", on_delete = "set null", on_update = "cascade", deferrable = "initially deferred" },
]
uniques = [{ name = "uq_items_name_price", columns = ["name", "price"] }]
checks = [{ name = "ck_price", expression = "price >= 0" }, { expression = "id > 0" }]
indexes = [
  { name = "idx_items_name", columns = ["name"], unique = true, method = "btree", where = "price > 0" },
  { name = "idx_items_lower", expressions = ["lower(name)"] },
  { name = "idx_items_mixed", columns = [{ expression = "lower(name)" }, "id"] },
]

[tables.attack_defense]
primary_key = ["id", "kind"]
columns = [
  { name = "id", type = "integer" },
  { name = "kind", type = "text", default = "attack" },
  { name = "parent_id", type = "integer" },
  { name = "parent_kind", type = "text" },
  { name = "at", type = "timestamptz", default = { sql = "CURRENT_TIMESTAMP" } },
  { name = "flag", type = "boolean", default = false },
  { name = "seq", type = "bigint", default = { sql = "nextval('s')" } },
]
foreign_keys = [
  { name = "fk_parent", columns = ["parent_id", "parent_kind"], ref_table = "attack_defense", ref_columns = ["id", "kind"], on_delete = "cascade" },
]
"#;
        let schema = parse_definitions("defs.toml", text).unwrap();
        let items = schema.table("items").unwrap();
        assert_eq!(items.comment.as_deref(), Some("Main items table"));
        assert_eq!(items.primary_key.as_ref().unwrap().columns, ["id"]);
        let id = items.column("id").unwrap();
        assert_eq!((id.ty.clone(), id.nullable), (ColumnType::Serial, false));
        let name = items.column("name").unwrap();
        assert!(!name.nullable);
        assert_eq!(name.comment.as_deref(), Some("as shown"));
        assert_eq!(
            items.column("price").unwrap().default,
            Some(DefaultValue::Number("0".into()))
        );
        assert!(items.column("atkdef_id").unwrap().nullable);
        let uniques: Vec<_> = items
            .uniques
            .iter()
            .map(|u| (u.name.as_deref(), u.columns.clone()))
            .collect();
        assert_eq!(
            uniques,
            [
                (None, vec!["name".to_string()]),
                (
                    Some("uq_items_name_price"),
                    vec!["name".into(), "price".into()]
                )
            ]
        );
        assert_eq!(items.checks.len(), 2);
        assert_eq!(items.checks[1].name, None);
        assert_eq!(items.checks[0].expression, "price >= 0");
        let index = &items.indexes[0];
        assert_eq!(index.parts, [IndexPart::Column("name".into())]);
        assert!(index.unique);
        assert_eq!(
            (index.method.as_deref(), index.predicate.as_deref()),
            (Some("btree"), Some("price > 0"))
        );
        assert_eq!(
            items.indexes[1].parts,
            [IndexPart::Expression("lower(name)".into())]
        );
        assert_eq!(
            items.indexes[2].parts,
            [
                IndexPart::Expression("lower(name)".into()),
                IndexPart::Column("id".into())
            ]
        );
        assert_eq!(
            items.foreign_keys,
            [ForeignKey {
                name: "fk_items_atkdef_id".into(),
                columns: vec!["atkdef_id".into()],
                ref_table: "attack_defense".into(),
                ref_columns: vec!["id".into()],
                on_delete: FkAction::SetNull,
                on_update: FkAction::Cascade,
                deferrable: Deferrable::InitiallyDeferred,
            }]
        );

        let ad = schema.table("attack_defense").unwrap();
        assert_eq!(ad.primary_key.as_ref().unwrap().columns, ["id", "kind"]);
        assert!(
            !ad.column("kind").unwrap().nullable,
            "primary key columns are NOT NULL"
        );
        let defaults: Vec<_> = ad.columns.iter().map(|c| c.default.clone()).collect();
        assert_eq!(
            defaults,
            [
                None,
                Some(DefaultValue::String("attack".into())),
                None,
                None,
                Some(DefaultValue::CurrentTimestamp),
                Some(DefaultValue::Bool(false)),
                Some(DefaultValue::Expression("nextval('s')".into())),
            ]
        );
        let fk = &ad.foreign_keys[0];
        assert_eq!(
            (fk.name.as_str(), fk.ref_table.as_str()),
            ("fk_parent", "attack_defense")
        );
        assert_eq!((fk.columns.len(), fk.ref_columns.len()), (2, 2));
        assert_eq!(
            (fk.on_delete, fk.on_update, fk.deferrable),
            (FkAction::Cascade, FkAction::NoAction, Deferrable::No)
        );
    }

    #[test]
    fn other_toml_spellings_read_the_same() {
        let expected = parse_definitions(
            "a.toml",
            "[tables.t]\ncolumns = [{ name = \"id\", type = \"int\", primary_key = true }]\n",
        )
        .unwrap();
        for text in [
            "[[tables.t.columns]]\nname = \"id\"\ntype = \"int\"\nprimary_key = true\n",
            "tables.t.columns = [{ name = \"id\", type = \"int\", primary_key = true }]\n",
            "[tables]\nt = { columns = [{ name = 'id', type = 'int', primary_key = true }] }\n",
            "[tables.\"t\"]\ncolumns = [\n  { name = \"id\", type = \"int\", primary_key = true },\n]\n",
        ] {
            assert_eq!(
                parse_definitions("b.toml", text).unwrap(),
                expected,
                "{text}"
            );
        }
    }

    /// Every TOML example of docs/table-definitions.md reads without problems: whole files
    /// as they are, fragments inside a table that has the columns they name.
    #[test]
    fn documented_examples_read() {
        let docs = include_str!("../../../../docs/table-definitions.md");
        let mut items = Table::new("items");
        for name in ["id", "ql"] {
            items.columns.push(Column::new(name, ColumnType::Integer));
        }
        let mut attack_defense = Table::new("attack_defense");
        attack_defense
            .columns
            .push(Column::new("id", ColumnType::Integer));
        let existing = Schema::from_tables([items, attack_defense]);
        let columns = ["id", "name", "ql", "aoid", "price", "item_id", "item_ql"]
            .map(|c| format!("{{ name = \"{c}\", type = \"integer\" }}"))
            .join(", ");
        let blocks: Vec<&str> = docs
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 10, "found {} examples", blocks.len());
        for block in blocks {
            let text = if block.starts_with('[') {
                block.to_string()
            } else if block.starts_with("columns") {
                format!("[tables.stats]\n{block}")
            } else if block.starts_with('{') {
                format!("[tables.stats]\ncolumns = [\n{block}]\n")
            } else {
                format!("[tables.stats]\ncolumns = [{columns}]\n{block}")
            };
            // Earlier migrations made the tables the example refers to but does not define.
            let mut existing = existing.clone();
            existing.retain(|t| !text.contains(&format!("[tables.{}]", t.name)));
            if let Err(e) = parse_definitions_with("docs", &text, &existing) {
                panic!("{e}\n--- in example:\n{text}");
            }
        }
    }

    #[test]
    fn an_empty_file_is_an_empty_schema() {
        assert_eq!(parse_definitions("defs.toml", "").unwrap(), Schema::new());
        assert_eq!(
            parse_definitions("defs.toml", "# nothing yet\n[tables]\n").unwrap(),
            Schema::new()
        );
    }
}
