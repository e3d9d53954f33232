//! The schema model: tables, columns, keys, indexes and foreign keys with portable types.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A set of tables, kept sorted by name so every output built from it is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    tables: BTreeMap<String, Table>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a schema from tables; a later table replaces an earlier one of the same name.
    pub fn from_tables(tables: impl IntoIterator<Item = Table>) -> Self {
        let mut schema = Self::new();
        for table in tables {
            schema.insert(table);
        }
        schema
    }

    /// Adds a table, returning the one it replaced.
    pub fn insert(&mut self, table: Table) -> Option<Table> {
        self.tables.insert(table.name.clone(), table)
    }

    /// Removes a table by name.
    pub fn remove(&mut self, name: &str) -> Option<Table> {
        self.tables.remove(name)
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The table of that name, mutably. Its name must not be changed through this reference.
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(name)
    }

    /// All tables, sorted by name.
    pub fn tables(&self) -> impl ExactSizeIterator<Item = &Table> + Clone {
        self.tables.values()
    }

    /// All table names, sorted.
    pub fn table_names(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.tables.keys().map(String::as_str)
    }

    /// Whether a table of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether there are no tables.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Only the tables whose names `keep` accepts; foreign keys to dropped tables stay as they
    /// are (the graph ignores edges to tables outside the schema).
    pub fn retain(&mut self, mut keep: impl FnMut(&Table) -> bool) {
        self.tables.retain(|_, table| keep(table));
    }
}

/// One table with its columns and constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Unquoted table name, exactly as the database spells it.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// The primary key, if any (several columns for a composite key).
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints (a column's `unique = true` becomes one of these).
    pub uniques: Vec<Unique>,
    /// Check constraints.
    pub checks: Vec<Check>,
    /// Indexes other than those backing the primary key and unique constraints.
    pub indexes: Vec<Index>,
    /// Foreign keys from this table to others (or to itself).
    pub foreign_keys: Vec<ForeignKey>,
    /// Table comment.
    pub comment: Option<String>,
}

impl Table {
    /// An empty table of that name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The column of that name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether `column` is part of the primary key.
    pub fn is_primary_key_column(&self, column: &str) -> bool {
        self.primary_key
            .as_ref()
            .is_some_and(|pk| pk.columns.iter().any(|c| c == column))
    }

    /// Whether `column` is NOT NULL whatever its `nullable` flag says: it is part of the
    /// primary key or a serial. Rendering, `as_stored` and the definitions all follow this.
    pub(crate) fn never_null(&self, column: &Column) -> bool {
        column.ty.is_serial() || self.is_primary_key_column(&column.name)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Unquoted column name.
    pub name: String,
    /// Portable type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed. Primary key columns are never nullable.
    pub nullable: bool,
    /// Default value, if any.
    pub default: Option<DefaultValue>,
    /// Column comment.
    pub comment: Option<String>,
}

impl Column {
    /// A nullable column without default or comment.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            comment: None,
        }
    }
}

/// A portable column type, written in TOML as its lowercase name (`varchar(128)`,
/// `integer[]`, `decimal(10,2)`). Each backend maps it to its own type when rendering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ColumnType {
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// Auto-incrementing 32-bit integer.
    Serial,
    /// Auto-incrementing 64-bit integer.
    BigSerial,
    /// True or false.
    Boolean,
    /// 32-bit float.
    Real,
    /// 64-bit float.
    Double,
    /// Exact number with optional (precision, scale).
    Decimal(Option<(u32, u32)>),
    /// Variable-length string with optional maximum length.
    Varchar(Option<u32>),
    /// Fixed-length string.
    Char(u32),
    /// Unbounded string.
    Text,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time without time zone.
    Timestamp,
    /// Date and time with time zone.
    TimestampTz,
    /// JSON document stored as text.
    Json,
    /// JSON document stored in a binary form where the backend has one.
    Jsonb,
    /// UUID.
    Uuid,
    /// Binary string.
    Bytes,
    /// Array of another type (native on PostgreSQL, JSON elsewhere).
    Array(Box<ColumnType>),
    /// A backend-specific type passed through as written (`custom(tsvector)`), for schemas read
    /// from a live database that use types tt has no portable name for.
    Custom(String),
}

impl ColumnType {
    /// Whether the type is `serial` or `bigserial`.
    pub(crate) fn is_serial(&self) -> bool {
        matches!(self, Self::Serial | Self::BigSerial)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SmallInt => f.write_str("smallint"),
            Self::Integer => f.write_str("integer"),
            Self::BigInt => f.write_str("bigint"),
            Self::Serial => f.write_str("serial"),
            Self::BigSerial => f.write_str("bigserial"),
            Self::Boolean => f.write_str("boolean"),
            Self::Real => f.write_str("real"),
            Self::Double => f.write_str("double"),
            Self::Decimal(None) => f.write_str("decimal"),
            Self::Decimal(Some((p, s))) => write!(f, "decimal({p},{s})"),
            Self::Varchar(None) => f.write_str("varchar"),
            Self::Varchar(Some(n)) => write!(f, "varchar({n})"),
            Self::Char(n) => write!(f, "char({n})"),
            Self::Text => f.write_str("text"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::TimestampTz => f.write_str("timestamptz"),
            Self::Json => f.write_str("json"),
            Self::Jsonb => f.write_str("jsonb"),
            Self::Uuid => f.write_str("uuid"),
            Self::Bytes => f.write_str("bytes"),
            Self::Array(inner) => write!(f, "{inner}[]"),
            Self::Custom(name) => write!(f, "custom({name})"),
        }
    }
}

/// A type name that tt does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown type `{0}` (expected one of smallint, integer, bigint, serial, bigserial, boolean, \
     real, double, decimal(p,s), varchar(n), char(n), text, date, time, timestamp, timestamptz, \
     json, jsonb, uuid, bytes, an array such as integer[], or custom(name) for a backend type)"
)]
pub struct UnknownType(pub String);

impl FromStr for ColumnType {
    type Err = UnknownType;

    /// Parses the portable names and the common aliases of PostgreSQL, MySQL and SQLite
    /// (`int4`, `character varying(20)`, `double precision`, `bytea`, …), case-insensitively.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownType(text.to_string());
        let trimmed = text.trim();
        if let Some(inner) = trimmed.strip_suffix("[]") {
            let inner: ColumnType = inner.parse().map_err(|_| unknown())?;
            return Ok(Self::Array(Box::new(inner)));
        }
        let lower = trimmed.to_ascii_lowercase();
        let (base, args) = match lower.split_once('(') {
            Some((base, rest)) => {
                let args = rest.strip_suffix(')').ok_or_else(unknown)?;
                (base.trim().to_string(), Some(args.to_string()))
            }
            None => (lower.clone(), None),
        };
        if base == "custom" {
            // `custom` needs a name in parentheses; `args` is only set when they are there.
            let Some(args) = &args else {
                return Err(unknown());
            };
            // Keep the original spelling: backend type names may be case-sensitive, and
            // ASCII lowercasing kept every byte offset, so `args` locates it in `trimmed`.
            let start = trimmed.len() - 1 - args.len();
            let name = trimmed[start..trimmed.len() - 1].trim();
            return if name.is_empty() {
                Err(unknown())
            } else {
                Ok(Self::Custom(name.to_string()))
            };
        }
        let numbers = |args: &str| -> Option<Vec<u32>> {
            args.split(',').map(|n| n.trim().parse().ok()).collect()
        };
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        let ty = match (base.as_str(), args.as_deref()) {
            ("smallint" | "int2", None) => Self::SmallInt,
            ("integer" | "int" | "int4", None) => Self::Integer,
            ("bigint" | "int8", None) => Self::BigInt,
            ("serial" | "serial4", None) => Self::Serial,
            ("bigserial" | "serial8", None) => Self::BigSerial,
            ("boolean" | "bool", None) => Self::Boolean,
            ("real" | "float4", None) => Self::Real,
            ("double" | "double precision" | "float8", None) => Self::Double,
            ("decimal" | "numeric", None) => Self::Decimal(None),
            ("decimal" | "numeric", Some(args)) => match numbers(args).as_deref() {
                Some([p]) => Self::Decimal(Some((*p, 0))),
                Some([p, s]) => Self::Decimal(Some((*p, *s))),
                _ => return Err(unknown()),
            },
            ("varchar" | "character varying", None) => Self::Varchar(None),
            ("varchar" | "character varying", Some(args)) => match numbers(args).as_deref() {
                Some([n]) => Self::Varchar(Some(*n)),
                _ => return Err(unknown()),
            },
            ("char" | "character", None) => Self::Char(1),
            ("char" | "character", Some(args)) => match numbers(args).as_deref() {
                Some([n]) => Self::Char(*n),
                _ => return Err(unknown()),
            },
            ("text", None) => Self::Text,
            ("date", None) => Self::Date,
            ("time" | "time without time zone", None) => Self::Time,
            ("timestamp" | "timestamp without time zone" | "datetime", None) => Self::Timestamp,
            ("timestamptz" | "timestamp with time zone", None) => Self::TimestampTz,
            ("json", None) => Self::Json,
            ("jsonb", None) => Self::Jsonb,
            ("uuid", None) => Self::Uuid,
            ("bytes" | "bytea" | "blob", None) => Self::Bytes,
            _ => return Err(unknown()),
        };
        Ok(ty)
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DefaultValue {
    /// `true` or `false`.
    Bool(bool),
    /// A numeric literal, kept as written (`0`, `-1`, `2.5`).
    Number(String),
    /// A string literal (unquoted here; quoted when rendered).
    String(String),
    /// The current date and time (`CURRENT_TIMESTAMP`, `now()`).
    CurrentTimestamp,
    /// Any other SQL expression, rendered as written.
    Expression(String),
}

/// The primary key of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Key columns in order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    /// Constraint name; the backend picks one when absent.
    pub name: Option<String>,
    /// Columns in order.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name; the backend picks one when absent.
    pub name: Option<String>,
    /// The boolean SQL expression, as written.
    pub expression: String,
}

/// An index that does not back a primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name (indexes are dropped by name, so it is always known).
    pub name: String,
    /// What is indexed, in order.
    pub parts: Vec<IndexPart>,
    /// Whether the index enforces uniqueness.
    pub unique: bool,
    /// Access method such as `gin`, `gist`, `btree`; `None` is the backend's default. A method
    /// the backend lacks is rendered as its default index (documented in docs/ddl-rendering.md).
    pub method: Option<String>,
    /// Partial index condition (`WHERE …`), where the backend supports it.
    pub predicate: Option<String>,
}

/// One indexed column or expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexPart {
    /// A column, by name.
    Column(String),
    /// An SQL expression such as `to_tsvector('english', name)`, rendered as written.
    Expression(String),
}

/// A foreign key from `columns` of its table to `ref_columns` of `ref_table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name, needed to add and drop the key separately from its table (cycles).
    pub name: String,
    /// Referencing columns in order.
    pub columns: Vec<String>,
    /// Referenced table (may be the table itself).
    pub ref_table: String,
    /// Referenced columns, one for each of `columns`.
    pub ref_columns: Vec<String>,
    /// What happens to referencing rows when the referenced row is deleted.
    pub on_delete: FkAction,
    /// What happens to referencing rows when the referenced key changes.
    pub on_update: FkAction,
    /// Whether the check may wait until commit (PostgreSQL; ignored elsewhere).
    pub deferrable: Deferrable,
}

impl ForeignKey {
    /// The name tt gives a foreign key that was declared without one: `fk_<table>_<columns>`,
    /// shortened with a stable hash to fit the 63-byte identifier limit of PostgreSQL.
    pub fn default_name(table: &str, columns: &[String]) -> String {
        let name = format!("fk_{table}_{}", columns.join("_"));
        shorten_identifier(name)
    }
}

/// Shortens an identifier to 63 bytes, replacing the tail with a stable FNV-1a hash so two long
/// names that share a prefix stay distinct.
pub fn shorten_identifier(name: String) -> String {
    const LIMIT: usize = 63;
    if name.len() <= LIMIT {
        return name;
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let suffix = format!("_{:08x}", hash as u32);
    let mut cut = LIMIT - suffix.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &name[..cut])
}

/// Referential action of a foreign key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// Fail at the end of the statement (the SQL default).
    #[default]
    NoAction,
    /// Fail at once.
    Restrict,
    /// Delete or update the referencing rows too.
    Cascade,
    /// Set the referencing columns to NULL.
    SetNull,
    /// Set the referencing columns to their defaults.
    SetDefault,
}

impl FkAction {
    /// The SQL words for this action (`SET NULL`).
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::NoAction => "NO ACTION",
            Self::Restrict => "RESTRICT",
            Self::Cascade => "CASCADE",
            Self::SetNull => "SET NULL",
            Self::SetDefault => "SET DEFAULT",
        }
    }
}

/// Deferrability of a foreign key (PostgreSQL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deferrable {
    /// Checked after each statement.
    #[default]
    No,
    /// Deferrable, checked after each statement unless deferred.
    InitiallyImmediate,
    /// Deferrable and checked at commit.
    InitiallyDeferred,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: &str) {
        let ty: ColumnType = text.parse().expect("type parses");
        assert_eq!(ty.to_string(), expected, "parsing {text:?}");
        let again: ColumnType = expected.parse().expect("display parses");
        assert_eq!(again, ty, "display of {text:?} round-trips");
    }

    #[test]
    fn type_names_and_aliases() {
        check("integer", "integer");
        check("INT4", "integer");
        check("serial", "serial");
        check("varchar(128)", "varchar(128)");
        check("character varying(20)", "varchar(20)");
        check("Double Precision", "double");
        check("numeric(10, 2)", "decimal(10,2)");
        check("numeric(5)", "decimal(5,0)");
        check("timestamp with time zone", "timestamptz");
        check("integer[]", "integer[]");
        check("text[][]", "text[][]");
        check("bytea", "bytes");
        check("custom(TsVector)", "custom(TsVector)");
    }

    #[test]
    fn unknown_type_names_the_text() {
        for bad in [
            "intgr",
            "varchar(x)",
            "decimal(1,2,3)",
            "custom()",
            "varchar(10",
        ] {
            let err = bad.parse::<ColumnType>().unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn custom_without_a_name_in_parentheses_is_unknown() {
        // `custom` alone once parsed as `custom(custo)`: its last letter taken for a `)`.
        for bad in ["custom", "CUSTOM", " custom "] {
            assert_eq!(
                bad.parse::<ColumnType>(),
                Err(UnknownType(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            " Custom ( geometry(Point, 4326) ) ".parse::<ColumnType>(),
            Ok(ColumnType::Custom("geometry(Point, 4326)".into()))
        );
    }

    #[test]
    fn long_foreign_key_names_are_shortened_stably() {
        let columns = vec!["a_rather_long_column_name".to_string(); 3];
        let name = ForeignKey::default_name("a_table_with_a_long_name", &columns);
        assert!(name.len() <= 63, "{name}");
        assert_eq!(
            name,
            ForeignKey::default_name("a_table_with_a_long_name", &columns)
        );
        let other = ForeignKey::default_name("a_table_with_a_long_name_2", &columns);
        assert_ne!(name, other);
        assert_eq!(ForeignKey::default_name("t", &["x".into()]), "fk_t_x");
    }
}
