//! Values bound to `?` placeholders and read back from rows, the same on every backend.

use sqlx::{Decode, Row, Type, TypeInfo, ValueRef};

/// A value bound to a `?` placeholder or read from a column by [`Database::fetch`].
///
/// Only the kinds an importer needs, with the same meaning on every backend. Boolean columns
/// read back as [`Value::Bool`] from PostgreSQL and MySQL (`BOOLEAN` is `TINYINT(1)` there)
/// and as [`Value::Int`] 0 or 1 from SQLite, which stores them as integers;
/// [`Value::as_bool`] accepts both.
///
/// [`Database::fetch`]: crate::Database::fetch
///
/// # Examples
/// ```
/// use tt_migrate::Value;
///
/// let description: Option<&str> = None;
/// let params = [Value::from(246_817), "Combined Commando's Jacket".into(), description.into()];
/// assert_eq!(params[0].as_i64(), Some(246_817));
/// assert_eq!(params[1].as_str(), Some("Combined Commando's Jacket"));
/// assert!(params[2].is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`; when bound, its type is taken from where it goes (a column, a comparison).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (any SQL integer type).
    Int(i64),
    /// Text (`TEXT`, `VARCHAR`, `CHAR`).
    Text(String),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one or an integer 0 or 1 (how SQLite and MySQL store them).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Int(value.into())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_string())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// A `NULL` parameter whose type the server infers from where it goes.
///
/// `Option::<String>::None` would not do: PostgreSQL is told its type (text) and then refuses
/// it for an integer column. Declared as `unknown`, it is typed like an untyped literal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Null;

impl Type<sqlx::Postgres> for Null {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        // 705 is `unknown`, the type of an untyped literal, which the server resolves.
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(705))
    }
}

impl Type<sqlx::MySql> for Null {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <String as Type<sqlx::MySql>>::type_info()
    }
}

impl Type<sqlx::Sqlite> for Null {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as Type<sqlx::Sqlite>>::type_info()
    }
}

impl<DB: sqlx::Database> sqlx::Encode<'_, DB> for Null {
    fn encode_by_ref(
        &self,
        _buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

/// Binds `values` to the placeholders of `$query`, in order (a macro because each backend's
/// query is its own type).
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                $crate::backend::value::Value::Null => query.bind($crate::backend::value::Null),
                $crate::backend::value::Value::Bool(b) => query.bind(*b),
                $crate::backend::value::Value::Int(n) => query.bind(*n),
                $crate::backend::value::Value::Text(s) => query.bind(s.clone()),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

/// Reads every column of `row` as a [`Value`], by the column's SQL type.
///
/// With [`Strings::BinaryAsText`], a string column the driver flags as binary (MySQL's `_bin`
/// collations, which MySQL 8 gives information_schema's names) is read as text when it is
/// UTF-8; with [`Strings::Text`] such a column is an error, as it may hold bytes.
pub(crate) fn decode_row<R>(row: &R, strings: Strings) -> Result<Vec<Value>, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i8: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i16: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    (0..row.len())
        .map(|index| {
            let raw = row.try_get_raw(index)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            let type_name = raw.type_info().name().to_ascii_uppercase();
            match kind(&type_name) {
                Some(Kind::Bool) => row
                    .try_get::<bool, _>(index)
                    .map(Value::Bool)
                    // MySQL's BOOLEAN is TINYINT(1): it may hold other numbers.
                    .or_else(|_| row.try_get::<i64, _>(index).map(Value::Int)),
                Some(Kind::Int) => row
                    .try_get::<i64, _>(index)
                    // PostgreSQL decodes each integer width only as itself.
                    .or_else(|_| row.try_get::<i32, _>(index).map(i64::from))
                    .or_else(|_| row.try_get::<i16, _>(index).map(i64::from))
                    .map(Value::Int),
                Some(Kind::Text) => row.try_get::<String, _>(index).map(Value::Text),
                Some(Kind::Byte) => row
                    .try_get::<i8, _>(index)
                    .and_then(|byte| byte_text(index, byte))
                    .map(Value::Text),
                None if strings == Strings::BinaryAsText && binary_string(&type_name) => {
                    row.try_get::<String, _>(index).map(Value::Text)
                }
                None => Err(sqlx::Error::ColumnDecode {
                    index: index.to_string(),
                    source: format!(
                        "a column of type {type_name} cannot be read as a tt_migrate::Value; \
                         cast it to an integer or text in the query"
                    )
                    .into(),
                }),
            }
        })
        .collect()
}

/// Reads every column of `row` as text ([`Value::Text`]) or [`Value::Null`].
pub(crate) fn decode_text_row<R>(row: &R) -> Result<Vec<Value>, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    (0..row.len())
        .map(|index| {
            let text = row.try_get::<Option<String>, _>(index)?;
            Ok(text.map_or(Value::Null, Value::Text))
        })
        .collect()
}

/// How [`decode_row`] reads string columns the driver flags as binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strings {
    /// As text when they are UTF-8: tt's own queries, which know what they select.
    BinaryAsText,
    /// Not at all: a user's query may select bytes, which are no [`Value`].
    Text,
}

/// The kinds of column [`decode_row`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Text,
    /// PostgreSQL's one-byte `"char"` (`pg_class.relkind`, `pg_constraint.contype`), read as
    /// the text of its one ASCII character, or empty for the zero byte.
    Byte,
}

/// The text of a PostgreSQL `"char"` byte: empty for 0 (how the catalog says "none"), its
/// character when ASCII; any other byte is an error, not a guess at an encoding.
fn byte_text(index: usize, byte: i8) -> Result<String, sqlx::Error> {
    match u8::try_from(byte) {
        Ok(0) => Ok(String::new()),
        Ok(byte) => Ok(char::from(byte).to_string()),
        Err(_) => Err(sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: format!(
                "expected an ASCII \"char\", found the byte {:#04x}",
                byte.to_ne_bytes()[0]
            )
            .into(),
        }),
    }
}

/// Whether a type name is one of MySQL's binary strings (as the driver names a `_bin`
/// collation's column too).
fn binary_string(type_name: &str) -> bool {
    matches!(
        type_name,
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB"
    )
}

/// The kind of a column by its type name as the driver gives it (upper case).
fn kind(type_name: &str) -> Option<Kind> {
    // MySQL appends UNSIGNED; such columns still hold what i64 reads for tt's purposes.
    let base = type_name.trim_end_matches(" UNSIGNED");
    match base {
        "BOOL" | "BOOLEAN" => Some(Kind::Bool),
        "INT2" | "INT4" | "INT8" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "TINYINT"
        | "MEDIUMINT" => Some(Kind::Int),
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "TINYTEXT" | "MEDIUMTEXT"
        | "LONGTEXT" | "CHARACTER VARYING" => Some(Kind::Text),
        "\"CHAR\"" => Some(Kind::Byte),
        _ => None,
    }
}

/// The integer in column `index` of a row of one of tt's own queries.
pub(crate) fn int_at(row: &[Value], index: usize) -> Result<i64, sqlx::Error> {
    match row.get(index) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(unexpected(index, "an integer", other)),
    }
}

/// A column of a row of one of tt's own queries, read as the query promises: a value of
/// another type, or NULL where the query never returns one, is an error naming the column
/// (the caller's context names the query).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column<'r> {
    row: &'r [Value],
    index: usize,
    name: &'static str,
}

/// Column `index` of `row`, called `name` in errors.
pub(crate) fn column<'r>(row: &'r [Value], index: usize, name: &'static str) -> Column<'r> {
    Column { row, index, name }
}

impl Column<'_> {
    /// The integer; NULL is an error.
    pub(crate) fn int(self) -> Result<i64, sqlx::Error> {
        self.opt_int()?.ok_or_else(|| self.error("an integer"))
    }

    /// The integer, or `None` for NULL.
    pub(crate) fn opt_int(self) -> Result<Option<i64>, sqlx::Error> {
        match self.value() {
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Null) => Ok(None),
            _ => Err(self.error("an integer or NULL")),
        }
    }

    /// The integer as a `T` (`u32`, `usize`), or `None` for NULL; one out of `T`'s range is
    /// an error, as a value of another type is.
    pub(crate) fn opt_number<T: TryFrom<i64>>(self) -> Result<Option<T>, sqlx::Error> {
        let expected = || format!("a number that fits in {}", std::any::type_name::<T>());
        match self.opt_int()? {
            Some(n) => T::try_from(n)
                .map(Some)
                .map_err(|_| self.error(&expected())),
            None => Ok(None),
        }
    }

    /// The boolean (also an integer 0 or 1, as MySQL and SQLite store them); NULL is an error.
    pub(crate) fn bool(self) -> Result<bool, sqlx::Error> {
        self.value()
            .and_then(Value::as_bool)
            .ok_or_else(|| self.error("a boolean"))
    }

    /// The text; NULL is an error.
    pub(crate) fn text(self) -> Result<String, sqlx::Error> {
        self.opt_text()?.ok_or_else(|| self.error("text"))
    }

    /// The text, or `None` for NULL.
    pub(crate) fn opt_text(self) -> Result<Option<String>, sqlx::Error> {
        match self.value() {
            Some(Value::Text(text)) => Ok(Some(text.clone())),
            Some(Value::Null) => Ok(None),
            _ => Err(self.error("text or NULL")),
        }
    }

    fn value(&self) -> Option<&Value> {
        self.row.get(self.index)
    }

    fn error(&self, expected: &str) -> sqlx::Error {
        sqlx::Error::ColumnDecode {
            index: format!("{} ({})", self.index, self.name),
            source: format!("expected {expected}, found {}", found(self.value())).into(),
        }
    }
}

/// The error for a column of one of tt's own queries that holds something else than
/// `expected` (or is missing): a query and its reader disagree, which is a bug to report, not
/// a value to guess.
pub(crate) fn unexpected(index: usize, expected: &str, found_value: Option<&Value>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: format!("expected {expected}, found {}", found(found_value)).into(),
    }
}

/// What a column held, for an error: the value, or that there was no such column.
fn found(value: Option<&Value>) -> String {
    value.map_or_else(|| "no column".to_string(), |value| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_map_to_kinds() {
        let check = |name: &str, expected: Option<Kind>| assert_eq!(kind(name), expected, "{name}");
        check("BOOL", Some(Kind::Bool));
        check("BOOLEAN", Some(Kind::Bool));
        check("INT4", Some(Kind::Int));
        check("INT8", Some(Kind::Int));
        check("INTEGER", Some(Kind::Int));
        check("BIGINT UNSIGNED", Some(Kind::Int));
        check("VARCHAR", Some(Kind::Text));
        check("BPCHAR", Some(Kind::Text));
        check("TEXT", Some(Kind::Text));
        check("\"CHAR\"", Some(Kind::Byte));
        check("VARBINARY", None);
        check("NUMERIC", None);
        check("TIMESTAMPTZ", None);
        check("REAL", None);
    }

    #[test]
    fn values_convert_from_rust_types() {
        let check = |value: Value, expected: Value| assert_eq!(value, expected);
        check(7_i32.into(), Value::Int(7));
        check(7_i64.into(), Value::Int(7));
        check(true.into(), Value::Bool(true));
        check("x".into(), Value::Text("x".into()));
        check(String::from("x").into(), Value::Text("x".into()));
        check(None::<i64>.into(), Value::Null);
        check(Some("x").into(), Value::Text("x".into()));
    }

    #[test]
    fn columns_read_as_promised_or_name_themselves() {
        let row = [
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Bool(true),
        ];
        assert_eq!(column(&row, 0, "n").int().unwrap(), 7);
        assert_eq!(column(&row, 1, "n").opt_int().unwrap(), None);
        assert_eq!(column(&row, 2, "name").text().unwrap(), "x");
        assert_eq!(column(&row, 1, "name").opt_text().unwrap(), None);
        assert!(column(&row, 3, "flag").bool().unwrap());
        assert!(column(&row, 1, "flag").bool().is_err());
        let message = |error: sqlx::Error| match error {
            sqlx::Error::ColumnDecode { index, source } => format!("{index}: {source}"),
            other => other.to_string(),
        };
        let check = |result: Result<String, sqlx::Error>, expected: &str| {
            assert_eq!(message(result.unwrap_err()), expected)
        };
        check(
            column(&row, 2, "pid").int().map(|n| n.to_string()),
            "2 (pid): expected an integer or NULL, found Text(\"x\")",
        );
        check(
            column(&row, 1, "pid").int().map(|n| n.to_string()),
            "1 (pid): expected an integer, found Null",
        );
        check(
            column(&row, 0, "name").text(),
            "0 (name): expected text or NULL, found Int(7)",
        );
        check(
            column(&row, 9, "name").text(),
            "9 (name): expected text or NULL, found no column",
        );
    }

    #[test]
    fn postgres_char_bytes_read_as_ascii_text_or_fail() {
        let check = |byte: i8, expected: &str| {
            let text = byte_text(2, byte).unwrap_or_else(|error| error.to_string());
            assert_eq!(text, expected, "{byte}");
        };
        check(0, "");
        check(b'p' as i8, "p");
        check(b' ' as i8, " ");
        check(
            -128,
            "error occurred while decoding column 2: expected an ASCII \"char\", found the byte 0x80",
        );
    }

    #[test]
    fn catalog_numbers_out_of_range_name_their_column() {
        let row = [Value::Int(-1), Value::Int(7), Value::Null];
        assert_eq!(column(&row, 1, "pk").opt_number::<u32>().unwrap(), Some(7));
        assert_eq!(column(&row, 2, "pk").opt_number::<u32>().unwrap(), None);
        let error = column(&row, 0, "pk").opt_number::<u32>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "error occurred while decoding column 0 (pk): expected a number that fits in u32, \
             found Int(-1)"
        );
    }

    #[test]
    fn only_binary_string_types_read_as_text_in_own_queries() {
        for name in ["VARBINARY", "BINARY", "BLOB", "LONGBLOB"] {
            assert!(binary_string(name), "{name}");
        }
        for name in ["VARCHAR", "TEXT", "NUMERIC", "\"CHAR\""] {
            assert!(!binary_string(name), "{name}");
        }
    }

    #[test]
    fn booleans_read_from_integers() {
        assert_eq!(Value::Int(1).as_bool(), Some(true));
        assert_eq!(Value::Int(0).as_bool(), Some(false));
        assert_eq!(Value::Int(2).as_bool(), None);
        assert_eq!(Value::Bool(false).as_bool(), Some(false));
        assert_eq!(Value::Text("1".into()).as_bool(), None);
    }
}
