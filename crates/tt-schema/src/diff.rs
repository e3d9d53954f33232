//! Structural differences between an expected and an actual schema.
//!
//! [`diff`] compares two [`Schema`]s and returns one [`Difference`] per thing that differs,
//! sorted by table, then kind (in the declaration order of [`DifferenceKind`]), then the object
//! concerned, so the same pair of schemas always gives the same list. Each difference carries
//! clones of the expected and actual model objects, which is what a fix-up SQL generator needs.
//!
//! Types are compared exactly: the caller first maps the expected schema to what the backend
//! stores (`render::as_stored`), so no per-backend type mapping happens here.
//!
//! # Matching rules
//!
//! - **Tables and columns** match by name. Column order is not a difference: backends cannot
//!   reorder columns cheaply and nothing in tt depends on it.
//! - **Columns**: type, nullability, default and comment are compared separately, one
//!   difference each. A primary key column counts as NOT NULL whatever its flag says (SQLite
//!   reports non-integer key columns as nullable).
//! - **Defaults** are compared after light normalisation: `NULL` is no default; `true`/`false`
//!   equal `1`/`0`; numbers compare by value as written in decimal (`1.0` = `1` = `+01`);
//!   `now()`, `current_timestamp`, `current_timestamp()`, `localtimestamp`,
//!   `transaction_timestamp()`, those calls with a precision (`current_timestamp(6)`) and
//!   `datetime('now')` all equal `CURRENT_TIMESTAMP`; an
//!   expression that is a single literal, optionally with trailing casts (`'a'::text`, `(-1)`),
//!   equals that literal; other expressions compare in normalised form (below).
//! - **Primary keys** compare their column lists in order; a key with no columns is no key.
//! - **Unique constraints** match by their column list in order, never by name (backends name
//!   them differently). A unique constraint and a unique index are different objects here.
//! - **Checks** first match by name when both sides are named; the remaining ones then match by
//!   normalised expression. Checks matched by name are equal even when their expressions differ,
//!   because backends rewrite expressions beyond what normalisation can undo (PostgreSQL turns
//!   `kind IN ('a')` into `(kind)::text = ANY (ARRAY[...])`). A renamed check with the same
//!   expression is not a difference either.
//! - **Foreign keys** match by shape (columns, referenced table, referenced columns), never by
//!   name: SQLite has no names and other backends generate them. Same shape with different
//!   `ON DELETE`, `ON UPDATE` or deferrability is [`DifferenceKind::ChangedForeignKey`].
//! - **Indexes** match by name first; an index left over on both sides then matches one of the
//!   same shape (parts and uniqueness). A pair that differs in name, parts, uniqueness, method
//!   or predicate is [`DifferenceKind::ChangedIndex`]; so a renamed index is reported as changed
//!   (indexes are dropped by name, so the name matters). A missing method is the backend's
//!   default and equals `btree`.
//! - **Comments**: an empty comment is no comment. Table and column comment differences are
//!   cosmetic ([`Difference::is_cosmetic`]), so verify can ignore them.
//! - **Normalised SQL** (check expressions, index expressions and predicates, default
//!   expressions): lowercase outside string literals, whitespace removed outside string
//!   literals, identifier quotes (`"x"`, `` `x` ``) dropped, redundant outer parentheses
//!   stripped (PostgreSQL reads `CHECK (price > 0)` back as `((price > 0))`).

use std::fmt;

use serde::Serialize;

use crate::model::{
    Check, Column, ColumnType, DefaultValue, Deferrable, ForeignKey, Index, IndexPart, PrimaryKey,
    Schema, Table, Unique,
};

/// One difference between the expected and the actual schema, in one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The table concerned.
    pub table: String,
    /// What differs, with the expected and actual objects; serialised flat with a `kind` tag.
    #[serde(flatten)]
    pub kind: DifferenceKind,
}

/// What differs, carrying clones of the expected and/or actual objects.
///
/// Serialised with a stable snake_case `kind` tag (`missing_table`, `column_type`, …) and the
/// fields `expected` and `actual` where they apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DifferenceKind {
    /// The table is expected but absent.
    MissingTable {
        /// The expected table.
        expected: Table,
    },
    /// The table exists but is not expected.
    ExtraTable {
        /// The table found.
        actual: Table,
    },
    /// The column is expected but absent.
    MissingColumn {
        /// The expected column.
        expected: Column,
    },
    /// The column exists but is not expected.
    ExtraColumn {
        /// The column found.
        actual: Column,
    },
    /// The column has another type.
    ColumnType {
        /// The expected column.
        expected: Column,
        /// The column found.
        actual: Column,
    },
    /// The column allows NULL where it should not, or the other way round.
    ColumnNullability {
        /// The expected column.
        expected: Column,
        /// The column found.
        actual: Column,
    },
    /// The column has another default, or none, or one it should not have.
    ColumnDefault {
        /// The expected column.
        expected: Column,
        /// The column found.
        actual: Column,
    },
    /// The primary key has other columns, or one side has none.
    PrimaryKey {
        /// The expected key, if any.
        expected: Option<PrimaryKey>,
        /// The key found, if any.
        actual: Option<PrimaryKey>,
    },
    /// No unique constraint has the expected columns.
    MissingUnique {
        /// The expected constraint.
        expected: Unique,
    },
    /// A unique constraint exists that is not expected.
    ExtraUnique {
        /// The constraint found.
        actual: Unique,
    },
    /// The check constraint is expected but absent.
    MissingCheck {
        /// The expected check.
        expected: Check,
    },
    /// A check constraint exists that is not expected.
    ExtraCheck {
        /// The check found.
        actual: Check,
    },
    /// No foreign key has the expected shape.
    MissingForeignKey {
        /// The expected foreign key.
        expected: ForeignKey,
    },
    /// A foreign key exists that is not expected.
    ExtraForeignKey {
        /// The foreign key found.
        actual: ForeignKey,
    },
    /// The foreign key has the expected shape but other actions or deferrability.
    ChangedForeignKey {
        /// The expected foreign key.
        expected: ForeignKey,
        /// The foreign key found.
        actual: ForeignKey,
    },
    /// The index is expected but absent.
    MissingIndex {
        /// The expected index.
        expected: Index,
    },
    /// An index exists that is not expected.
    ExtraIndex {
        /// The index found.
        actual: Index,
    },
    /// The index differs in name, parts, uniqueness, method or predicate.
    ChangedIndex {
        /// The expected index.
        expected: Index,
        /// The index found.
        actual: Index,
    },
    /// The table comment differs (cosmetic).
    TableComment {
        /// The expected comment, if any.
        expected: Option<String>,
        /// The comment found, if any.
        actual: Option<String>,
    },
    /// The column comment differs (cosmetic).
    ColumnComment {
        /// The expected column.
        expected: Column,
        /// The column found.
        actual: Column,
    },
}

/// Compares `expected` with `actual` and returns their differences, sorted by table, then
/// kind, then object (see the module documentation for the matching rules).
///
/// # Examples
///
/// ```
/// use tt_schema::{Column, ColumnType, Schema, Table, diff};
///
/// let mut items = Table::new("items");
/// items.columns.push(Column::new("name", ColumnType::Varchar(Some(128))));
/// let expected = Schema::from_tables([items.clone()]);
/// items.columns[0].ty = ColumnType::Text;
/// let actual = Schema::from_tables([items]);
///
/// let lines: Vec<String> = diff(&expected, &actual).iter().map(|d| d.to_string()).collect();
/// assert_eq!(lines, ["items.name: type varchar(128) expected, text found"]);
/// ```
pub fn diff(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let mut out = Vec::new();
    for table in expected.tables() {
        match actual.table(&table.name) {
            Some(found) => diff_table(table, found, &mut out),
            None => push(
                &mut out,
                &table.name,
                DifferenceKind::MissingTable {
                    expected: table.clone(),
                },
            ),
        }
    }
    for table in actual.tables().filter(|t| !expected.contains(&t.name)) {
        push(
            &mut out,
            &table.name,
            DifferenceKind::ExtraTable {
                actual: table.clone(),
            },
        );
    }
    out.sort_by_cached_key(|d| (d.table.clone(), d.kind.rank(), d.object(), d.to_string()));
    out
}

impl Difference {
    /// The stable snake_case name of the kind, as in the `kind` field of the JSON form.
    pub fn kind_name(&self) -> &'static str {
        use DifferenceKind as K;
        match &self.kind {
            K::MissingTable { .. } => "missing_table",
            K::ExtraTable { .. } => "extra_table",
            K::MissingColumn { .. } => "missing_column",
            K::ExtraColumn { .. } => "extra_column",
            K::ColumnType { .. } => "column_type",
            K::ColumnNullability { .. } => "column_nullability",
            K::ColumnDefault { .. } => "column_default",
            K::PrimaryKey { .. } => "primary_key",
            K::MissingUnique { .. } => "missing_unique",
            K::ExtraUnique { .. } => "extra_unique",
            K::MissingCheck { .. } => "missing_check",
            K::ExtraCheck { .. } => "extra_check",
            K::MissingForeignKey { .. } => "missing_foreign_key",
            K::ExtraForeignKey { .. } => "extra_foreign_key",
            K::ChangedForeignKey { .. } => "changed_foreign_key",
            K::MissingIndex { .. } => "missing_index",
            K::ExtraIndex { .. } => "extra_index",
            K::ChangedIndex { .. } => "changed_index",
            K::TableComment { .. } => "table_comment",
            K::ColumnComment { .. } => "column_comment",
        }
    }

    /// Whether the difference is only a comment, which does not change behaviour.
    pub fn is_cosmetic(&self) -> bool {
        matches!(
            self.kind,
            DifferenceKind::TableComment { .. } | DifferenceKind::ColumnComment { .. }
        )
    }

    /// The column concerned, for the column kinds.
    pub fn column(&self) -> Option<&str> {
        use DifferenceKind as K;
        match &self.kind {
            K::MissingColumn { expected: c }
            | K::ExtraColumn { actual: c }
            | K::ColumnType { expected: c, .. }
            | K::ColumnNullability { expected: c, .. }
            | K::ColumnDefault { expected: c, .. }
            | K::ColumnComment { expected: c, .. } => Some(&c.name),
            _ => None,
        }
    }

    /// A short name of the object concerned within the table (column name, index name,
    /// constraint shape), or `None` for the table itself, its primary key and its comment.
    pub fn object(&self) -> Option<String> {
        use DifferenceKind as K;
        match &self.kind {
            K::MissingTable { .. } | K::ExtraTable { .. } => None,
            K::PrimaryKey { .. } | K::TableComment { .. } => None,
            K::MissingUnique { expected: u } | K::ExtraUnique { actual: u } => {
                Some(column_list(&u.columns))
            }
            K::MissingCheck { expected: c } | K::ExtraCheck { actual: c } => Some(check_label(c)),
            K::MissingForeignKey { expected: fk }
            | K::ExtraForeignKey { actual: fk }
            | K::ChangedForeignKey { expected: fk, .. } => Some(fk_shape(fk)),
            K::MissingIndex { expected: i }
            | K::ExtraIndex { actual: i }
            | K::ChangedIndex { expected: i, .. } => Some(i.name.clone()),
            _ => self.column().map(str::to_string),
        }
    }
}

impl DifferenceKind {
    /// Position in the sort order: the declaration order of the variants.
    fn rank(&self) -> u8 {
        match self {
            Self::MissingTable { .. } => 0,
            Self::ExtraTable { .. } => 1,
            Self::MissingColumn { .. } => 2,
            Self::ExtraColumn { .. } => 3,
            Self::ColumnType { .. } => 4,
            Self::ColumnNullability { .. } => 5,
            Self::ColumnDefault { .. } => 6,
            Self::PrimaryKey { .. } => 7,
            Self::MissingUnique { .. } => 8,
            Self::ExtraUnique { .. } => 9,
            Self::MissingCheck { .. } => 10,
            Self::ExtraCheck { .. } => 11,
            Self::MissingForeignKey { .. } => 12,
            Self::ExtraForeignKey { .. } => 13,
            Self::ChangedForeignKey { .. } => 14,
            Self::MissingIndex { .. } => 15,
            Self::ExtraIndex { .. } => 16,
            Self::ChangedIndex { .. } => 17,
            Self::TableComment { .. } => 18,
            Self::ColumnComment { .. } => 19,
        }
    }
}

impl fmt::Display for Difference {
    /// One readable line, such as `items.name: type varchar(128) expected, text found`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DifferenceKind as K;
        f.write_str(&self.table)?;
        if let Some(column) = self.column() {
            write!(f, ".{column}")?;
        }
        f.write_str(": ")?;
        match &self.kind {
            K::MissingTable { .. } => f.write_str("missing table"),
            K::ExtraTable { .. } => f.write_str("extra table"),
            K::MissingColumn { expected } => {
                write!(f, "missing column {}", column_definition(expected))
            }
            K::ExtraColumn { actual } => write!(f, "extra column {}", column_definition(actual)),
            K::ColumnType { expected, actual } => {
                write!(f, "type {} expected, {} found", expected.ty, actual.ty)
            }
            K::ColumnNullability { actual, .. } => {
                let (expected, found) = if actual.nullable {
                    ("not null", "nullable")
                } else {
                    ("nullable", "not null")
                };
                write!(f, "{expected} expected, {found} found")
            }
            K::ColumnDefault { expected, actual } => write!(
                f,
                "default {} expected, {} found",
                default_sql(expected.default.as_ref()),
                default_sql(actual.default.as_ref())
            ),
            K::PrimaryKey { expected, actual } => write!(
                f,
                "primary key {} expected, {} found",
                primary_key_label(expected.as_ref()),
                primary_key_label(actual.as_ref())
            ),
            K::MissingUnique { expected } => write!(f, "missing {}", unique_label(expected)),
            K::ExtraUnique { actual } => write!(f, "extra {}", unique_label(actual)),
            K::MissingCheck { expected } => write!(f, "missing {}", check_definition(expected)),
            K::ExtraCheck { actual } => write!(f, "extra {}", check_definition(actual)),
            K::MissingForeignKey { expected } => {
                write!(f, "missing {}", fk_definition(expected))
            }
            K::ExtraForeignKey { actual } => write!(f, "extra {}", fk_definition(actual)),
            K::ChangedForeignKey { expected, actual } => write!(
                f,
                "foreign key {}: {}",
                fk_shape(expected),
                fk_changes(expected, actual).join("; ")
            ),
            K::MissingIndex { expected } => write!(f, "missing {}", index_definition(expected)),
            K::ExtraIndex { actual } => write!(f, "extra {}", index_definition(actual)),
            K::ChangedIndex { expected, actual } => write!(
                f,
                "index {}: {}",
                expected.name,
                index_changes(expected, actual).join("; ")
            ),
            K::TableComment { expected, actual } => write!(
                f,
                "comment {} expected, {} found (cosmetic)",
                comment_label(expected.as_deref()),
                comment_label(actual.as_deref())
            ),
            K::ColumnComment { expected, actual } => write!(
                f,
                "comment {} expected, {} found (cosmetic)",
                comment_label(expected.comment.as_deref()),
                comment_label(actual.comment.as_deref())
            ),
        }
    }
}

fn push(out: &mut Vec<Difference>, table: &str, kind: DifferenceKind) {
    out.push(Difference {
        table: table.to_string(),
        kind,
    });
}

fn diff_table(expected: &Table, actual: &Table, out: &mut Vec<Difference>) {
    let name = expected.name.as_str();
    for column in &expected.columns {
        match actual.column(&column.name) {
            Some(found) => diff_column(expected, column, actual, found, out),
            None => push(
                out,
                name,
                DifferenceKind::MissingColumn {
                    expected: column.clone(),
                },
            ),
        }
    }
    for column in &actual.columns {
        if expected.column(&column.name).is_none() {
            push(
                out,
                name,
                DifferenceKind::ExtraColumn {
                    actual: column.clone(),
                },
            );
        }
    }

    let key = |t: &Table| t.primary_key.clone().filter(|pk| !pk.columns.is_empty());
    if key(expected) != key(actual) {
        push(
            out,
            name,
            DifferenceKind::PrimaryKey {
                expected: key(expected),
                actual: key(actual),
            },
        );
    }

    let uniques = pair(
        &expected.uniques,
        &actual.uniques,
        &[&|a: &Unique, b: &Unique| a.columns == b.columns],
    );
    for u in uniques.missing {
        push(
            out,
            name,
            DifferenceKind::MissingUnique {
                expected: u.clone(),
            },
        );
    }
    for u in uniques.extra {
        push(out, name, DifferenceKind::ExtraUnique { actual: u.clone() });
    }

    let checks = pair(
        &expected.checks,
        &actual.checks,
        &[
            &|a: &Check, b: &Check| a.name.is_some() && a.name == b.name,
            &|a: &Check, b: &Check| normalize_sql(&a.expression) == normalize_sql(&b.expression),
        ],
    );
    for c in checks.missing {
        push(
            out,
            name,
            DifferenceKind::MissingCheck {
                expected: c.clone(),
            },
        );
    }
    for c in checks.extra {
        push(out, name, DifferenceKind::ExtraCheck { actual: c.clone() });
    }

    let fks = pair(
        &expected.foreign_keys,
        &actual.foreign_keys,
        &[
            &|a: &ForeignKey, b: &ForeignKey| same_fk_shape(a, b) && fk_changes(a, b).is_empty(),
            &same_fk_shape,
        ],
    );
    for (a, b) in fks.matched {
        if !fk_changes(a, b).is_empty() {
            push(
                out,
                name,
                DifferenceKind::ChangedForeignKey {
                    expected: a.clone(),
                    actual: b.clone(),
                },
            );
        }
    }
    for fk in fks.missing {
        push(
            out,
            name,
            DifferenceKind::MissingForeignKey {
                expected: fk.clone(),
            },
        );
    }
    for fk in fks.extra {
        push(
            out,
            name,
            DifferenceKind::ExtraForeignKey { actual: fk.clone() },
        );
    }

    let indexes = pair(
        &expected.indexes,
        &actual.indexes,
        &[
            &|a: &Index, b: &Index| a.name == b.name,
            &|a: &Index, b: &Index| a.unique == b.unique && same_parts(&a.parts, &b.parts),
        ],
    );
    for (a, b) in indexes.matched {
        if !index_changes(a, b).is_empty() {
            push(
                out,
                name,
                DifferenceKind::ChangedIndex {
                    expected: a.clone(),
                    actual: b.clone(),
                },
            );
        }
    }
    for i in indexes.missing {
        push(
            out,
            name,
            DifferenceKind::MissingIndex {
                expected: i.clone(),
            },
        );
    }
    for i in indexes.extra {
        push(out, name, DifferenceKind::ExtraIndex { actual: i.clone() });
    }

    if comment(&expected.comment) != comment(&actual.comment) {
        push(
            out,
            name,
            DifferenceKind::TableComment {
                expected: expected.comment.clone(),
                actual: actual.comment.clone(),
            },
        );
    }
}

fn diff_column(
    expected_table: &Table,
    expected: &Column,
    actual_table: &Table,
    actual: &Column,
    out: &mut Vec<Difference>,
) {
    let table = expected_table.name.as_str();
    let both = || (expected.clone(), actual.clone());
    if expected.ty != actual.ty {
        let (expected, actual) = both();
        push(out, table, DifferenceKind::ColumnType { expected, actual });
    }
    // Primary key columns are NOT NULL whatever the flag says (SQLite reports them nullable).
    let nullable = |t: &Table, c: &Column| c.nullable && !t.is_primary_key_column(&c.name);
    if nullable(expected_table, expected) != nullable(actual_table, actual) {
        let (mut expected, mut actual) = both();
        expected.nullable = nullable(expected_table, &expected);
        actual.nullable = nullable(actual_table, &actual);
        push(
            out,
            table,
            DifferenceKind::ColumnNullability { expected, actual },
        );
    }
    if canonical_default(expected.default.as_ref()) != canonical_default(actual.default.as_ref()) {
        let (expected, actual) = both();
        push(
            out,
            table,
            DifferenceKind::ColumnDefault { expected, actual },
        );
    }
    if comment(&expected.comment) != comment(&actual.comment) {
        let (expected, actual) = both();
        push(
            out,
            table,
            DifferenceKind::ColumnComment { expected, actual },
        );
    }
}

/// The outcome of pairing two lists of objects.
struct Pairing<'a, T> {
    matched: Vec<(&'a T, &'a T)>,
    missing: Vec<&'a T>,
    extra: Vec<&'a T>,
}

/// A rule deciding whether an expected and an actual object are the same object.
type Rule<'r, T> = &'r dyn Fn(&T, &T) -> bool;

/// Pairs each expected object with at most one actual object, trying the rules in order, so a
/// strict rule (same name) wins over a loose one (same shape) and duplicates pair one to one.
fn pair<'a, T>(expected: &'a [T], actual: &'a [T], rules: &[Rule<'_, T>]) -> Pairing<'a, T> {
    let mut partner: Vec<Option<usize>> = vec![None; expected.len()];
    let mut taken = vec![false; actual.len()];
    for rule in rules {
        for (e, item) in expected.iter().enumerate() {
            if partner[e].is_some() {
                continue;
            }
            let found = (0..actual.len()).find(|&a| !taken[a] && rule(item, &actual[a]));
            if let Some(a) = found {
                partner[e] = Some(a);
                taken[a] = true;
            }
        }
    }
    let mut pairing = Pairing {
        matched: Vec::new(),
        missing: Vec::new(),
        extra: Vec::new(),
    };
    for (item, partner) in expected.iter().zip(&partner) {
        match partner {
            Some(a) => pairing.matched.push((item, &actual[*a])),
            None => pairing.missing.push(item),
        }
    }
    for (item, taken) in actual.iter().zip(&taken) {
        if !taken {
            pairing.extra.push(item);
        }
    }
    pairing
}

fn same_fk_shape(a: &ForeignKey, b: &ForeignKey) -> bool {
    a.columns == b.columns && a.ref_table == b.ref_table && a.ref_columns == b.ref_columns
}

/// What differs between two foreign keys of the same shape, one phrase each.
fn fk_changes(expected: &ForeignKey, actual: &ForeignKey) -> Vec<String> {
    let mut changes = Vec::new();
    if expected.on_delete != actual.on_delete {
        changes.push(format!(
            "on delete {} expected, {} found",
            expected.on_delete.as_sql(),
            actual.on_delete.as_sql()
        ));
    }
    if expected.on_update != actual.on_update {
        changes.push(format!(
            "on update {} expected, {} found",
            expected.on_update.as_sql(),
            actual.on_update.as_sql()
        ));
    }
    if expected.deferrable != actual.deferrable {
        changes.push(format!(
            "{} expected, {} found",
            deferrable_sql(expected.deferrable),
            deferrable_sql(actual.deferrable)
        ));
    }
    changes
}

fn same_parts(a: &[IndexPart], b: &[IndexPart]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| part_key(a) == part_key(b))
}

/// A part in comparable form: an expression that is just a column name is that column.
fn part_key(part: &IndexPart) -> String {
    match part {
        IndexPart::Column(name) => name.clone(),
        IndexPart::Expression(expression) => normalize_sql(expression),
    }
}

fn index_method(index: &Index) -> String {
    index
        .method
        .as_deref()
        .unwrap_or("btree")
        .to_ascii_lowercase()
}

/// What differs between two paired indexes, one phrase each.
fn index_changes(expected: &Index, actual: &Index) -> Vec<String> {
    let mut changes = Vec::new();
    if expected.name != actual.name {
        changes.push(format!(
            "name {} expected, {} found",
            expected.name, actual.name
        ));
    }
    if !same_parts(&expected.parts, &actual.parts) {
        changes.push(format!(
            "parts {} expected, {} found",
            parts_label(&expected.parts),
            parts_label(&actual.parts)
        ));
    }
    if expected.unique != actual.unique {
        let label = |unique| if unique { "unique" } else { "not unique" };
        changes.push(format!(
            "{} expected, {} found",
            label(expected.unique),
            label(actual.unique)
        ));
    }
    if index_method(expected) != index_method(actual) {
        changes.push(format!(
            "method {} expected, {} found",
            index_method(expected),
            index_method(actual)
        ));
    }
    let predicate = |i: &Index| i.predicate.as_deref().map(normalize_sql);
    if predicate(expected) != predicate(actual) {
        let label = |i: &Index| {
            i.predicate
                .as_deref()
                .map_or("none".to_string(), |p| format!("where {}", one_line(p)))
        };
        changes.push(format!(
            "{} expected, {} found",
            label(expected),
            label(actual)
        ));
    }
    changes
}

/// A comment with the empty string read as none (MySQL reports no comment as `''`).
fn comment(comment: &Option<String>) -> Option<&str> {
    comment.as_deref().filter(|c| !c.is_empty())
}

/// A default in comparable form.
#[derive(Debug, PartialEq, Eq)]
enum Canonical {
    Number(String),
    String(String),
    CurrentTimestamp,
    Expression(String),
}

fn canonical_default(default: Option<&DefaultValue>) -> Option<Canonical> {
    match default? {
        DefaultValue::Bool(b) => Some(Canonical::Number(if *b { "1" } else { "0" }.to_string())),
        DefaultValue::Number(n) => Some(match normalize_number(n) {
            Some(n) => Canonical::Number(n),
            None => Canonical::Expression(normalize_sql(n)),
        }),
        DefaultValue::String(s) => Some(Canonical::String(s.clone())),
        DefaultValue::CurrentTimestamp => Some(Canonical::CurrentTimestamp),
        DefaultValue::Expression(e) => canonical_expression(e),
    }
}

/// Reads an expression default as the literal it is, where it is one (`NULL` is no default).
fn canonical_expression(expression: &str) -> Option<Canonical> {
    let (normal, casts) = strip_casts(&normalize_sql(expression));
    if let Some(n) = normalize_number(&normal) {
        return Some(Canonical::Number(n));
    }
    if let Some(s) = string_literal(&normal) {
        // PostgreSQL reads `DEFAULT -1` back as `'-1'::integer`.
        let numeric = [
            "int", "bigint", "smallint", "numeric", "decimal", "real", "double", "float",
        ];
        let cast_to_number = casts
            .iter()
            .any(|ty| numeric.iter().any(|n| ty.starts_with(n)));
        return Some(match normalize_number(&s).filter(|_| cast_to_number) {
            Some(n) => Canonical::Number(n),
            None => Canonical::String(s),
        });
    }
    match normal.as_str() {
        "null" => None,
        "true" => Some(Canonical::Number("1".to_string())),
        "false" => Some(Canonical::Number("0".to_string())),
        "current_timestamp" | "localtimestamp" | "datetime('now')" => {
            Some(Canonical::CurrentTimestamp)
        }
        other if is_timestamp_call(other) => Some(Canonical::CurrentTimestamp),
        _ => Some(Canonical::Expression(normal)),
    }
}

impl DefaultValue {
    /// A column default as a database prints it (`pg_get_expr`, `COLUMN_DEFAULT`,
    /// `dflt_value`), read as a literal where it is one, the way [`diff`] compares defaults.
    ///
    /// Redundant outer parentheses and trailing type casts are dropped (`'x'::character
    /// varying` is `String("x")`, `(-1)::integer` is `Number("-1")`); a quoted number on a
    /// numeric column is a number, and `0`/`1` on a boolean column are booleans; `NULL` is no
    /// default; `now()`, `CURRENT_TIMESTAMP`, `current_timestamp(6)`, `datetime('now')` and the
    /// like are [`DefaultValue::CurrentTimestamp`]; anything else is an
    /// [`DefaultValue::Expression`] of the text as given, casts and all.
    pub fn from_sql(text: &str, ty: &ColumnType) -> Option<DefaultValue> {
        let text = text.trim();
        let mut bare = strip_outer_parens(text).trim();
        while let Some(at) = top_level_cast(bare) {
            let cast = &bare[at + 2..];
            let is_type = !cast.trim().is_empty()
                && cast
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _()[],.\"".contains(c));
            if !is_type {
                break;
            }
            bare = strip_outer_parens(bare[..at].trim_end()).trim();
        }
        if bare.eq_ignore_ascii_case("null") {
            return None;
        }
        let numeric = matches!(
            ty,
            ColumnType::SmallInt
                | ColumnType::Integer
                | ColumnType::BigInt
                | ColumnType::Serial
                | ColumnType::BigSerial
                | ColumnType::Real
                | ColumnType::Double
                | ColumnType::Decimal(_)
        );
        if let Some(value) = string_literal(bare) {
            return Some(if numeric && normalize_number(&value).is_some() {
                DefaultValue::Number(value)
            } else {
                DefaultValue::String(value)
            });
        }
        if normalize_number(bare).is_some() {
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
}

/// Whether a normalised expression calls a current-time function, with or without a
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

/// Removes trailing type casts (`::text`, `::character varying(20)`) from a normalised
/// expression, with the parentheses they leave redundant; returns the text and the casts.
fn strip_casts(normal: &str) -> (String, Vec<String>) {
    let mut text = normal.to_string();
    let mut casts = Vec::new();
    loop {
        let Some(at) = top_level_cast(&text) else {
            return (text, casts);
        };
        let ty = &text[at + 2..];
        let is_type = !ty.is_empty()
            && ty
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_()[],.".contains(c));
        if !is_type {
            return (text, casts);
        }
        casts.push(ty.to_string());
        text = strip_outer_parens(&text[..at]).to_string();
    }
}

/// The byte offset of the last `::` outside string literals and parentheses.
fn top_level_cast(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut last = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b':' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                last = Some(i);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    last
}

/// The value of a text that is exactly one single-quoted SQL string literal.
fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside the literal a quote must be doubled; a lone one ends it early.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        value.push(c);
    }
    Some(value)
}

/// A decimal number in canonical form (`+01.50` → `1.5`, `-0` → `0`), or `None` if `text`
/// is not a plain decimal number.
fn normalize_number(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut number = if whole.is_empty() { "0" } else { whole }.to_string();
    if !fraction.is_empty() {
        number.push('.');
        number.push_str(fraction);
    }
    if negative && number != "0" {
        number.insert(0, '-');
    }
    Some(number)
}

/// SQL in comparable form: lowercase and without whitespace outside string literals, without
/// identifier quotes, without redundant outer parentheses.
fn normalize_sql(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                while let Some(c) = chars.next() {
                    out.push(c);
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            out.push('\'');
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' | '`' => {
                while let Some(q) = chars.next() {
                    if q == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    out.push(q);
                }
            }
            c if c.is_whitespace() => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    strip_outer_parens(&out).to_string()
}

/// Removes parentheses that enclose the whole text, as often as they do.
fn strip_outer_parens(mut text: &str) -> &str {
    while text.starts_with('(') && text.ends_with(')') && closing_paren(text) == text.len() - 1 {
        text = &text[1..text.len() - 1];
    }
    text
}

/// The byte offset of the parenthesis closing the one that opens `text`.
fn closing_paren(text: &str) -> usize {
    let mut depth = 0i32;
    let mut quoted = false;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// Whitespace runs collapsed to one space, so every difference prints on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn column_list(columns: &[String]) -> String {
    format!("({})", columns.join(", "))
}

fn column_definition(column: &Column) -> String {
    let mut text = column.ty.to_string();
    if !column.nullable {
        text.push_str(" not null");
    }
    if column.default.is_some() {
        text.push_str(" default ");
        text.push_str(&default_sql(column.default.as_ref()));
    }
    text
}

fn default_sql(default: Option<&DefaultValue>) -> String {
    match default {
        None => "none".to_string(),
        Some(DefaultValue::Bool(b)) => b.to_string(),
        Some(DefaultValue::Number(n)) => n.clone(),
        Some(DefaultValue::String(s)) => format!("'{}'", s.replace('\'', "''")),
        Some(DefaultValue::CurrentTimestamp) => "CURRENT_TIMESTAMP".to_string(),
        Some(DefaultValue::Expression(e)) => one_line(e),
    }
}

fn primary_key_label(key: Option<&PrimaryKey>) -> String {
    key.map_or("none".to_string(), |pk| column_list(&pk.columns))
}

fn unique_label(unique: &Unique) -> String {
    match &unique.name {
        Some(name) => format!("unique {name} {}", column_list(&unique.columns)),
        None => format!("unique {}", column_list(&unique.columns)),
    }
}

fn check_label(check: &Check) -> String {
    check
        .name
        .clone()
        .unwrap_or_else(|| one_line(&check.expression))
}

fn check_definition(check: &Check) -> String {
    match &check.name {
        Some(name) => format!("check {name} ({})", one_line(&check.expression)),
        None => format!("check ({})", one_line(&check.expression)),
    }
}

fn fk_shape(fk: &ForeignKey) -> String {
    format!(
        "{} -> {}{}",
        column_list(&fk.columns),
        fk.ref_table,
        column_list(&fk.ref_columns)
    )
}

fn fk_definition(fk: &ForeignKey) -> String {
    let mut text = format!("foreign key {}", fk_shape(fk));
    if fk.on_delete != Default::default() {
        text.push_str(&format!(" on delete {}", fk.on_delete.as_sql()));
    }
    if fk.on_update != Default::default() {
        text.push_str(&format!(" on update {}", fk.on_update.as_sql()));
    }
    if fk.deferrable != Deferrable::No {
        text.push(' ');
        text.push_str(deferrable_sql(fk.deferrable));
    }
    text
}

fn deferrable_sql(deferrable: Deferrable) -> &'static str {
    match deferrable {
        Deferrable::No => "not deferrable",
        Deferrable::InitiallyImmediate => "deferrable initially immediate",
        Deferrable::InitiallyDeferred => "deferrable initially deferred",
    }
}

fn parts_label(parts: &[IndexPart]) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|part| match part {
            IndexPart::Column(name) => name.clone(),
            IndexPart::Expression(expression) => one_line(expression),
        })
        .collect();
    format!("({})", parts.join(", "))
}

fn index_definition(index: &Index) -> String {
    let mut text = String::new();
    if index.unique {
        text.push_str("unique ");
    }
    text.push_str(&format!(
        "index {} {}",
        index.name,
        parts_label(&index.parts)
    ));
    if let Some(method) = &index.method {
        text.push_str(&format!(" using {method}"));
    }
    if let Some(predicate) = &index.predicate {
        text.push_str(&format!(" where {}", one_line(predicate)));
    }
    text
}

fn comment_label(comment: Option<&str>) -> String {
    match comment.filter(|c| !c.is_empty()) {
        Some(text) => format!("{text:?}"),
        None => "none".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::model::FkAction;

    #[track_caller]
    fn check_from_sql(text: &str, ty: &str, expected: Option<DefaultValue>) {
        let ty: ColumnType = ty.parse().expect("test type parses");
        assert_eq!(
            DefaultValue::from_sql(text, &ty),
            expected,
            "default {text:?} of {ty}"
        );
    }

    #[test]
    fn defaults_as_databases_print_them_are_read_as_literals_where_they_are_one() {
        use DefaultValue::{Bool, CurrentTimestamp};
        let s = |v: &str| Some(DefaultValue::String(v.to_string()));
        let n = |v: &str| Some(DefaultValue::Number(v.to_string()));
        let e = |v: &str| Some(DefaultValue::Expression(v.to_string()));
        check_from_sql("'abc'", "text", s("abc"));
        check_from_sql("'it''s'", "text", s("it's"));
        check_from_sql("''", "varchar(5)", s(""));
        check_from_sql("'-1'", "integer", n("-1"));
        check_from_sql("'-1'", "text", s("-1"));
        check_from_sql("'1.5'", "decimal(4,1)", n("1.5"));
        check_from_sql("-1.5", "decimal(4,1)", n("-1.5"));
        check_from_sql("0", "integer", n("0"));
        check_from_sql("(-1)", "integer", n("-1"));
        check_from_sql("0", "boolean", Some(Bool(false)));
        check_from_sql("1", "boolean", Some(Bool(true)));
        check_from_sql("2", "boolean", n("2"));
        check_from_sql("TRUE", "boolean", Some(Bool(true)));
        check_from_sql("false", "boolean", Some(Bool(false)));
        check_from_sql("NULL", "text", None);
        check_from_sql("null", "integer", None);
        check_from_sql("now()", "timestamptz", Some(CurrentTimestamp));
        check_from_sql("CURRENT_TIMESTAMP", "timestamp", Some(CurrentTimestamp));
        check_from_sql("current_timestamp()", "timestamp", Some(CurrentTimestamp));
        check_from_sql("datetime('now')", "text", Some(CurrentTimestamp));
        check_from_sql("current_timestamp(6)", "timestamp", Some(CurrentTimestamp));
        check_from_sql("now(3)", "timestamp", Some(CurrentTimestamp));
        check_from_sql("now(x)", "timestamp", e("now(x)"));
        check_from_sql("uuid()", "char(36)", e("uuid()"));
        check_from_sql("'a' || 'b'", "text", e("'a' || 'b'"));
        check_from_sql("'a''", "text", e("'a''"));
        check_from_sql("1e5", "double", e("1e5"));
        check_from_sql("(1 + 2) * 3", "integer", e("(1 + 2) * 3"));
        check_from_sql(" (now() + '1 day') ", "timestamptz", e("(now() + '1 day')"));
        // PostgreSQL's casts.
        check_from_sql("'anon'::character varying", "varchar(9)", s("anon"));
        check_from_sql("'it''s'::text", "text", s("it's"));
        check_from_sql("'-1'::integer", "integer", n("-1"));
        check_from_sql("'-1.5'::numeric", "decimal", n("-1.5"));
        check_from_sql("(-1)::integer", "integer", n("-1"));
        check_from_sql("('a'::text)", "text", s("a"));
        check_from_sql("'{}'::text[]", "text[]", s("{}"));
        check_from_sql("'{}'::jsonb", "jsonb", s("{}"));
        check_from_sql("'x'::\"Mood\"", "custom(mood)", s("x"));
        check_from_sql("NULL::character varying", "varchar", None);
        check_from_sql(
            "nextval('odd_seq'::regclass)",
            "smallint",
            e("nextval('odd_seq'::regclass)"),
        );
        check_from_sql(
            "(now() + '1 day'::interval)",
            "timestamptz",
            e("(now() + '1 day'::interval)"),
        );
        check_from_sql(
            "('a'::text || 'b'::text)",
            "text",
            e("('a'::text || 'b'::text)"),
        );
        check_from_sql("'a::b'", "text", s("a::b"));
    }

    fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty.parse().expect("test type parses"))
    }

    fn not_null(mut column: Column) -> Column {
        column.nullable = false;
        column
    }

    fn with_default(mut column: Column, default: DefaultValue) -> Column {
        column.default = Some(default);
        column
    }

    fn fk(columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        ForeignKey {
            name: ForeignKey::default_name("items", &columns),
            columns,
            ref_table: ref_table.to_string(),
            ref_columns: ref_columns.iter().map(|c| c.to_string()).collect(),
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferrable: Deferrable::No,
        }
    }

    fn index(name: &str, columns: &[&str]) -> Index {
        Index {
            name: name.to_string(),
            parts: columns
                .iter()
                .map(|c| IndexPart::Column(c.to_string()))
                .collect(),
            unique: false,
            method: None,
            predicate: None,
        }
    }

    fn check_named(name: Option<&str>, expression: &str) -> Check {
        Check {
            name: name.map(str::to_string),
            expression: expression.to_string(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A small schema with one of everything, as the expected side of most cases.
    fn fixture() -> Schema {
        let mut attack = Table::new("attack_defense");
        attack.columns = vec![
            not_null(col("id", "serial")),
            not_null(col("value", "integer")),
        ];
        attack.primary_key = Some(PrimaryKey {
            columns: strings(&["id"]),
        });

        let mut items = Table::new("items");
        items.comment = Some("Main items table".to_string());
        items.columns = vec![
            not_null(col("id", "serial")),
            not_null(col("name", "varchar(128)")),
            col("atkdef_id", "integer"),
            with_default(
                not_null(col("price", "decimal(10,2)")),
                DefaultValue::Number("0".into()),
            ),
            with_default(
                col("created_at", "timestamp"),
                DefaultValue::CurrentTimestamp,
            ),
            with_default(col("kind", "text"), DefaultValue::String("misc".into())),
        ];
        items.primary_key = Some(PrimaryKey {
            columns: strings(&["id"]),
        });
        items.uniques = vec![Unique {
            name: None,
            columns: strings(&["name"]),
        }];
        items.checks = vec![
            check_named(Some("price_positive"), "price >= 0"),
            check_named(None, "length(name) > 0"),
        ];
        let mut atkdef = fk(&["atkdef_id"], "attack_defense", &["id"]);
        atkdef.on_delete = FkAction::SetNull;
        items.foreign_keys = vec![atkdef];
        let mut partial = index("idx_items_kind", &["kind"]);
        partial.predicate = Some("kind IS NOT NULL".into());
        items.indexes = vec![index("idx_items_price", &["price"]), partial];
        Schema::from_tables([attack, items])
    }

    /// The fixture with `edit` applied to its `items` table.
    fn items(edit: impl FnOnce(&mut Table)) -> Schema {
        let mut schema = fixture();
        edit(schema.table_mut("items").expect("fixture has items"));
        schema
    }

    #[track_caller]
    fn check(expected: &Schema, actual: &Schema, lines: Expect) {
        let differences = diff(expected, actual);
        for difference in &differences {
            let json = serde_json::to_value(difference).expect("serialises");
            assert_eq!(json["kind"], difference.kind_name(), "{json}");
            assert_eq!(json["table"], difference.table.as_str(), "{json}");
        }
        let text: Vec<String> = differences.iter().map(ToString::to_string).collect();
        lines.assert_eq(&text.join("\n"));
    }

    /// The fixture expected, the fixture with `edit` applied to `items` found.
    #[track_caller]
    fn check_items(edit: impl FnOnce(&mut Table), lines: Expect) {
        check(&fixture(), &items(edit), lines);
    }

    #[test]
    fn identical_schemas_have_no_difference() {
        check(&fixture(), &fixture(), expect![""]);
        check(&Schema::new(), &Schema::new(), expect![""]);
    }

    #[test]
    fn tables() {
        let mut without_attack = fixture();
        without_attack.remove("attack_defense");
        check(
            &fixture(),
            &without_attack,
            expect!["attack_defense: missing table"],
        );
        check(
            &without_attack,
            &fixture(),
            expect!["attack_defense: extra table"],
        );
    }

    #[test]
    fn columns() {
        check_items(
            |t| t.columns.retain(|c| c.name != "kind"),
            expect!["items.kind: missing column text default 'misc'"],
        );
        check_items(
            |t| t.columns.push(not_null(col("legacy", "char(4)"))),
            expect!["items.legacy: extra column char(4) not null"],
        );
        check_items(
            |t| t.columns[1].ty = ColumnType::Text,
            expect!["items.name: type varchar(128) expected, text found"],
        );
        check_items(
            |t| t.columns[1].nullable = true,
            expect!["items.name: not null expected, nullable found"],
        );
        check_items(
            |t| t.columns[2].nullable = false,
            expect!["items.atkdef_id: nullable expected, not null found"],
        );
    }

    #[test]
    fn column_order_is_not_a_difference() {
        check_items(|t| t.columns.reverse(), expect![""]);
    }

    #[test]
    fn primary_key_columns_are_never_nullable() {
        // SQLite reports a non-integer primary key column as nullable.
        check_items(|t| t.columns[0].nullable = true, expect![""]);
    }

    #[test]
    fn defaults() {
        check_items(
            |t| t.columns[3].default = Some(DefaultValue::Number("1".into())),
            expect!["items.price: default 0 expected, 1 found"],
        );
        check_items(
            |t| t.columns[4].default = None,
            expect!["items.created_at: default CURRENT_TIMESTAMP expected, none found"],
        );
        check_items(
            |t| t.columns[2].default = Some(DefaultValue::Expression("nextval('s')".into())),
            expect!["items.atkdef_id: default none expected, nextval('s') found"],
        );
        check_items(
            |t| t.columns[5].default = Some(DefaultValue::String("Misc".into())),
            expect!["items.kind: default 'misc' expected, 'Misc' found"],
        );
    }

    #[track_caller]
    fn check_default(expected: DefaultValue, actual: DefaultValue, equal: bool) {
        let e = Some(&expected);
        let a = Some(&actual);
        assert_eq!(
            canonical_default(e) == canonical_default(a),
            equal,
            "{expected:?} vs {actual:?}"
        );
    }

    #[test]
    fn default_normalisation() {
        use DefaultValue::{Bool, CurrentTimestamp, Expression, Number, String};
        let expr = |s: &str| Expression(s.to_string());
        let num = |s: &str| Number(s.to_string());
        let text = |s: &str| String(s.to_string());
        check_default(CurrentTimestamp, expr("now()"), true);
        check_default(CurrentTimestamp, expr("CURRENT_TIMESTAMP"), true);
        check_default(CurrentTimestamp, expr("current_timestamp()"), true);
        check_default(CurrentTimestamp, expr("datetime('now')"), true);
        check_default(CurrentTimestamp, expr("current_timestamp(6)"), true);
        check_default(CurrentTimestamp, expr("NOW( 3 )"), true);
        check_default(CurrentTimestamp, expr("now(x)"), false);
        check_default(CurrentTimestamp, expr("CURRENT_DATE"), false);
        check_default(num("1.0"), num("1"), true);
        check_default(num("+01.50"), num("1.5"), true);
        check_default(num("-0"), num("0"), true);
        check_default(num("-1"), expr("'-1'::integer"), true);
        check_default(num("-1"), expr("(-1)"), true);
        check_default(num("0"), expr("0.00"), true);
        check_default(num("1"), num("10"), false);
        check_default(Bool(true), num("1"), true);
        check_default(Bool(false), expr("FALSE"), true);
        check_default(Bool(true), num("0"), false);
        check_default(text("misc"), expr("'misc'::character varying"), true);
        check_default(text("it's"), expr("'it''s'::text"), true);
        check_default(text("1"), expr("'1'::text"), true);
        check_default(text("1"), num("1"), false);
        check_default(text("a b"), expr("'ab'"), false);
        check_default(expr("gen_random_uuid()"), expr("GEN_RANDOM_UUID ( )"), true);
        check_default(expr("lower('A')"), expr("lower('a')"), false);
        // NULL is no default at all.
        assert_eq!(canonical_default(Some(&expr("NULL"))), None);
        assert_eq!(
            canonical_default(Some(&expr("NULL::character varying"))),
            None
        );
    }

    #[test]
    fn primary_key() {
        check_items(
            |t| t.primary_key = None,
            expect!["items: primary key (id) expected, none found"],
        );
        check_items(
            |t| {
                t.primary_key = Some(PrimaryKey {
                    columns: strings(&["id", "name"]),
                })
            },
            expect!["items: primary key (id) expected, (id, name) found"],
        );
        check(
            &items(|t| t.primary_key = Some(PrimaryKey { columns: vec![] })),
            &items(|t| t.primary_key = None),
            expect![""],
        );
    }

    #[test]
    fn uniques_match_by_columns_not_name() {
        check_items(
            |t| t.uniques[0].name = Some("items_name_key".into()),
            expect![""],
        );
        check_items(
            |t| t.uniques[0].columns = strings(&["name", "kind"]),
            expect![[r#"
                items: missing unique (name)
                items: extra unique (name, kind)"#]],
        );
    }

    #[test]
    fn checks() {
        check_items(
            |t| t.checks.clear(),
            expect![[r#"
                items: missing check (length(name) > 0)
                items: missing check price_positive (price >= 0)"#]],
        );
        check_items(
            |t| {
                t.checks
                    .push(check_named(Some("items_kind_check"), "kind <> ''"))
            },
            expect!["items: extra check items_kind_check (kind <> '')"],
        );
        // Same name, rewritten expression: matched by name, not a difference.
        check_items(
            |t| t.checks[0].expression = "((price)::numeric >= (0)::numeric)".into(),
            expect![""],
        );
        // Unnamed on one side and another expression: missing and extra.
        check_items(
            |t| t.checks[1] = check_named(Some("items_check"), "length(name) > 1"),
            expect![[r#"
                items: missing check (length(name) > 0)
                items: extra check items_check (length(name) > 1)"#]],
        );
    }

    #[test]
    fn checks_match_by_normalised_expression() {
        // PostgreSQL: generated names and doubled parentheses.
        check_items(
            |t| {
                t.checks[0] = check_named(Some("items_price_check"), "((price >= 0))");
                t.checks[1] = check_named(Some("items_check"), "(length(name) > 0)");
            },
            expect![""],
        );
        // MySQL: backquoted identifiers, other spacing and case.
        check_items(
            |t| t.checks[1] = check_named(Some("items_chk_1"), "(LENGTH(`name`)>0)"),
            expect![""],
        );
        // Case inside string literals matters.
        check(
            &items(|t| t.checks = vec![check_named(None, "kind <> 'A'")]),
            &items(|t| t.checks = vec![check_named(None, "KIND <> 'a'")]),
            expect![[r#"
                items: missing check (kind <> 'A')
                items: extra check (KIND <> 'a')"#]],
        );
    }

    #[test]
    fn foreign_keys() {
        check_items(
            |t| t.foreign_keys.clear(),
            expect![
                "items: missing foreign key (atkdef_id) -> attack_defense(id) on delete SET NULL"
            ],
        );
        check_items(
            |t| t.foreign_keys.push(fk(&["id"], "items", &["id"])),
            expect!["items: extra foreign key (id) -> items(id)"],
        );
        check_items(
            |t| {
                let key = &mut t.foreign_keys[0];
                key.on_delete = FkAction::Cascade;
                key.on_update = FkAction::Restrict;
                key.deferrable = Deferrable::InitiallyDeferred;
            },
            expect![
                "items: foreign key (atkdef_id) -> attack_defense(id): on delete SET NULL expected, CASCADE found; on update NO ACTION expected, RESTRICT found; not deferrable expected, deferrable initially deferred found"
            ],
        );
        check_items(
            |t| t.foreign_keys[0].ref_columns = strings(&["value"]),
            expect![[r#"
                items: missing foreign key (atkdef_id) -> attack_defense(id) on delete SET NULL
                items: extra foreign key (atkdef_id) -> attack_defense(value) on delete SET NULL"#]],
        );
    }

    #[test]
    fn renamed_foreign_key_is_not_a_difference() {
        check_items(
            |t| t.foreign_keys[0].name = "items_atkdef_id_fkey".into(),
            expect![""],
        );
        check_items(|t| t.foreign_keys[0].name = String::new(), expect![""]);
    }

    #[test]
    fn duplicate_foreign_keys_pair_one_to_one() {
        // The exact twin is matched first, so the other one is reported as changed.
        let twice = |on_delete: FkAction| {
            move |t: &mut Table| {
                let mut other = t.foreign_keys[0].clone();
                other.on_delete = on_delete;
                t.foreign_keys.insert(0, other);
            }
        };
        check(
            &items(twice(FkAction::Cascade)),
            &items(twice(FkAction::Restrict)),
            expect![
                "items: foreign key (atkdef_id) -> attack_defense(id): on delete CASCADE expected, RESTRICT found"
            ],
        );
        check(
            &items(twice(FkAction::SetNull)),
            &fixture(),
            expect![
                "items: missing foreign key (atkdef_id) -> attack_defense(id) on delete SET NULL"
            ],
        );
    }

    #[test]
    fn indexes() {
        check_items(
            |t| {
                t.indexes.remove(0);
            },
            expect!["items: missing index idx_items_price (price)"],
        );
        check_items(
            |t| {
                let mut search = index("idx_items_search", &[]);
                search.parts = vec![IndexPart::Expression("to_tsvector('english', name)".into())];
                search.method = Some("gin".into());
                t.indexes.push(search);
            },
            expect!["items: extra index idx_items_search (to_tsvector('english', name)) using gin"],
        );
        check_items(
            |t| {
                let price = &mut t.indexes[0];
                price.parts.push(IndexPart::Column("id".into()));
                price.unique = true;
                price.method = Some("hash".into());
                price.predicate = Some("price > 0".into());
            },
            expect![
                "items: index idx_items_price: parts (price) expected, (price, id) found; not unique expected, unique found; method btree expected, hash found; none expected, where price > 0 found"
            ],
        );
        check_items(
            |t| t.indexes[1].predicate = None,
            expect!["items: index idx_items_kind: where kind IS NOT NULL expected, none found"],
        );
    }

    #[test]
    fn index_matching() {
        // Renamed: same parts and uniqueness under another name is a changed index.
        check_items(
            |t| t.indexes[0].name = "items_price_idx".into(),
            expect![
                "items: index idx_items_price: name idx_items_price expected, items_price_idx found"
            ],
        );
        // The backend's default method is btree; predicates compare normalised.
        check_items(
            |t| {
                t.indexes[0].method = Some("BTREE".into());
                t.indexes[1].predicate = Some("(\"kind\" is not null)".into());
            },
            expect![""],
        );
        // Another name and other parts: missing and extra.
        check_items(
            |t| t.indexes[0] = index("idx_items_other", &["name"]),
            expect![[r#"
                items: missing index idx_items_price (price)
                items: extra index idx_items_other (name)"#]],
        );
    }

    #[test]
    fn comments_are_cosmetic() {
        check_items(
            |t| t.comment = None,
            expect![r#"items: comment "Main items table" expected, none found (cosmetic)"#],
        );
        check_items(
            |t| t.columns[1].comment = Some("Display\nname".into()),
            expect![r#"items.name: comment none expected, "Display\nname" found (cosmetic)"#],
        );
        check(
            &items(|t| t.comment = Some(String::new())),
            &items(|t| t.comment = None),
            expect![""],
        );
        let found = diff(&fixture(), &items(|t| t.comment = None));
        assert!(found.iter().all(Difference::is_cosmetic), "{found:?}");
        let found = diff(&fixture(), &items(|t| t.columns.clear()));
        assert!(!found.iter().any(Difference::is_cosmetic), "{found:?}");
    }

    #[test]
    fn sorted_by_table_then_kind_then_object() {
        let mut actual = items(|t| {
            t.comment = None;
            t.indexes.clear();
            t.columns.retain(|c| c.name != "price" && c.name != "kind");
            t.columns[1].ty = ColumnType::Text;
            t.columns.push(col("zzz", "text"));
            t.columns.push(col("aaa", "text"));
        });
        actual.remove("attack_defense");
        actual.insert(Table::new("zebra"));
        actual.insert(Table::new("aardvark"));
        check(
            &fixture(),
            &actual,
            expect![[r#"
                aardvark: extra table
                attack_defense: missing table
                items.kind: missing column text default 'misc'
                items.price: missing column decimal(10,2) not null default 0
                items.aaa: extra column text
                items.zzz: extra column text
                items.name: type varchar(128) expected, text found
                items: missing index idx_items_kind (kind) where kind IS NOT NULL
                items: missing index idx_items_price (price)
                items: comment "Main items table" expected, none found (cosmetic)
                zebra: extra table"#]],
        );
    }

    #[test]
    fn deterministic_whatever_the_order_found() {
        let shuffle = |t: &mut Table| {
            t.checks.reverse();
            t.indexes.reverse();
            t.columns.rotate_left(2);
        };
        let changes = |t: &mut Table| {
            t.checks.push(check_named(None, "b > 0"));
            t.checks.push(check_named(None, "a > 0"));
            t.indexes.push(index("idx_b", &["b"]));
            t.indexes.push(index("idx_a", &["a"]));
            t.uniques.push(Unique {
                name: None,
                columns: strings(&["b"]),
            });
            t.uniques.push(Unique {
                name: None,
                columns: strings(&["a"]),
            });
        };
        let one = diff(&fixture(), &items(changes));
        let two = diff(
            &fixture(),
            &items(|t| {
                changes(t);
                shuffle(t);
            }),
        );
        assert_eq!(one, two);
        assert_eq!(one.len(), 6, "{one:?}");
    }

    #[test]
    fn carries_expected_and_actual_objects() {
        let found = diff(&fixture(), &items(|t| t.columns[1].ty = ColumnType::Text));
        let [difference] = found.as_slice() else {
            panic!("one difference expected: {found:?}");
        };
        assert_eq!(difference.table, "items");
        assert_eq!(difference.column(), Some("name"));
        assert_eq!(difference.object().as_deref(), Some("name"));
        let DifferenceKind::ColumnType { expected, actual } = &difference.kind else {
            panic!("column type expected: {difference:?}");
        };
        assert_eq!(expected, &fixture().table("items").unwrap().columns[1]);
        assert_eq!(actual.ty, ColumnType::Text);
        assert!(!actual.nullable);
    }

    #[test]
    fn json_has_a_stable_kind_tag() {
        let mut actual = items(|t| {
            t.columns[1].ty = ColumnType::Text;
            t.primary_key = None;
        });
        actual.remove("attack_defense");
        let found = diff(&fixture(), &actual);
        let json = serde_json::to_string(&found[1]).expect("serialises");
        expect![[r#"{"table":"items","kind":"column_type","expected":{"name":"name","type":"varchar(128)","nullable":false,"default":null,"comment":null},"actual":{"name":"name","type":"text","nullable":false,"default":null,"comment":null}}"#]].assert_eq(&json);
        let json = serde_json::to_string(&found[2]).expect("serialises");
        expect![[
            r#"{"table":"items","kind":"primary_key","expected":{"columns":["id"]},"actual":null}"#
        ]]
        .assert_eq(&json);
    }

    #[track_caller]
    fn check_sql(text: &str, normal: &str) {
        assert_eq!(normalize_sql(text), normal, "{text:?}");
    }

    #[test]
    fn sql_normalisation() {
        check_sql("price > 0", "price>0");
        check_sql("((price > 0))", "price>0");
        check_sql("(a > 0) AND (b > 0)", "(a>0)and(b>0)");
        check_sql("((a > 0) AND (b > 0))", "(a>0)and(b>0)");
        check_sql("kind IN ('A B', 'c')", "kindin('A B','c')");
        check_sql("x = 'it''s ( '", "x='it''s ( '");
        check_sql("(x = ')')", "x=')'");
        check_sql("\"Price\" > `Cost`", "Price>Cost");
        check_sql("lower(name)", "lower(name)");
        check_sql("(lower(name))", "lower(name)");
    }
}
