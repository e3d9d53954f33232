//! TOML table definitions: parsing into the model, validation, and writing back.
//!
//! The format is documented in `docs/table-definitions.md`. Reading reports every problem in a
//! file at once; writing is deterministic and lossless for every schema reading can produce.

mod read;
mod write;

use std::fmt;

use crate::model::Schema;

/// Parses TOML table definitions; foreign keys must point at tables of the same file.
///
/// `file` labels the text in error messages (usually its path).
///
/// # Errors
///
/// [`DefinitionError`] listing every problem found: TOML syntax, unknown keys or types,
/// duplicate columns, missing tables or columns, conflicting primary keys, and so on.
///
/// # Examples
///
/// ```
/// let schema = tt_schema::parse_definitions(
///     "001_items.toml",
///     r#"
///         [tables.items]
///         columns = [{ name = "id", type = "serial", primary_key = true }]
///     "#,
/// )
/// .unwrap();
/// assert!(schema.contains("items"));
///
/// let err = tt_schema::parse_definitions("bad.toml", "[tables.t]\ncolumns = [{ name = \"x\", type = \"intgr\" }]\n")
///     .unwrap_err();
/// assert!(err.to_string().starts_with("bad.toml:2:"), "{err}");
/// ```
pub fn parse_definitions(file: &str, text: &str) -> Result<Schema, DefinitionError> {
    read::read(file, text, &Schema::new())
}

/// Parses TOML table definitions whose foreign keys may also point at tables of `existing`
/// (those made by earlier migrations); returns only the tables of this file.
///
/// # Errors
///
/// As [`parse_definitions`], and also when the file defines a table `existing` already has.
pub fn parse_definitions_with(
    file: &str,
    text: &str,
    existing: &Schema,
) -> Result<Schema, DefinitionError> {
    read::read(file, text, existing)
}

/// Writes a schema as TOML table definitions: tables sorted by name, one column per line.
///
/// The output is stable (the same schema always gives the same text) and lossless:
/// [`parse_definitions`] reads it back into an equal schema, for every schema that
/// [`parse_definitions`] can produce.
pub fn to_toml(schema: &Schema) -> String {
    write::write(schema)
}

/// Everything wrong with one file of table definitions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct DefinitionError {
    /// The label the caller gave the text, usually its path.
    pub file: String,
    /// Every problem found, in the order they appear in the file.
    pub problems: Vec<DefinitionProblem>,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, problem: &DefinitionProblem| match problem.at() {
            Some(at) => write!(f, "{}:{at}: {problem}", self.file),
            None => write!(f, "{}: {problem}", self.file),
        };
        match self.problems.as_slice() {
            [one] => line(f, one),
            many => {
                write!(
                    f,
                    "{} problems in table definitions {}",
                    many.len(),
                    self.file
                )?;
                for problem in many {
                    f.write_str("\n  ")?;
                    line(f, problem)?;
                }
                Ok(())
            }
        }
    }
}

/// A line and column (both counted from 1, columns in characters) in a definitions file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text` (clamped to the text).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a definitions file; `at` is where it is, when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionProblem {
    /// The text is not valid TOML.
    #[error("invalid TOML: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Option<Position>,
        /// The parser's message.
        message: String,
    },
    /// A key the format does not have (often a typo).
    #[error("{}unknown key `{key}` (expected one of {})", place(table, item), expected.join(", "))]
    UnknownKey {
        /// Where the key is.
        at: Option<Position>,
        /// The table it is in, if any.
        table: Option<String>,
        /// What it is in within the table (`column `id``, `index `idx_x``), if anything.
        item: Option<String>,
        /// The key as written.
        key: String,
        /// The keys allowed there.
        expected: &'static [&'static str],
    },
    /// A value of the wrong shape or type, a missing required key, or an empty name.
    #[error("{}{message}", place(table, item))]
    Malformed {
        /// Where the value is.
        at: Option<Position>,
        /// The table it is in, if any.
        table: Option<String>,
        /// What it is in within the table, if anything.
        item: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A column type tt does not know.
    #[error("table `{table}`, column `{column}`: {}", crate::model::UnknownType(text.clone()))]
    UnknownType {
        /// Where the type is.
        at: Option<Position>,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type as written.
        text: String,
    },
    /// A table with no columns.
    #[error(
        "table `{table}` has no columns; add `columns = [{{ name = \"id\", type = \"serial\", primary_key = true }}]`"
    )]
    NoColumns {
        /// Where the table is.
        at: Option<Position>,
        /// The table.
        table: String,
    },
    /// Two columns of one table with the same name.
    #[error("table `{table}`: duplicate column `{column}`")]
    DuplicateColumn {
        /// Where the second column is.
        at: Option<Position>,
        /// The table.
        table: String,
        /// The column name.
        column: String,
    },
    /// A table that the schema this file extends already has.
    #[error("table `{table}` already exists before this file (an earlier migration creates it)")]
    DuplicateTable {
        /// Where the table is.
        at: Option<Position>,
        /// The table.
        table: String,
    },
    /// An index or foreign key name used twice in the file (index names and MySQL foreign
    /// key names must be unique in a database).
    #[error("table `{table}`: {kind} name `{name}` is already used in table `{first_table}`")]
    DuplicateName {
        /// Where the second use is.
        at: Option<Position>,
        /// The table of the second use.
        table: String,
        /// `index` or `foreign key`.
        kind: &'static str,
        /// The name.
        name: String,
        /// The table of the first use.
        first_table: String,
    },
    /// A primary key, unique constraint, index or foreign key that names a column its table
    /// does not have, or names one column twice.
    #[error("table `{table}`: {used_by} {} column `{column}`", if *repeated { "repeats" } else { "names missing" })]
    BadKeyColumn {
        /// Where the column name is.
        at: Option<Position>,
        /// The table.
        table: String,
        /// The column name as written.
        column: String,
        /// What names it (`primary key`, `index `idx``, …).
        used_by: String,
        /// Whether the column exists but is listed twice.
        repeated: bool,
    },
    /// A foreign key to a table that is not defined.
    #[error("table `{table}`, foreign key `{foreign_key}` ({}): references table `{ref_table}`, which is not defined", columns.join(", "))]
    MissingTable {
        /// Where the reference is.
        at: Option<Position>,
        /// The referencing table.
        table: String,
        /// The foreign key name.
        foreign_key: String,
        /// The referencing columns.
        columns: Vec<String>,
        /// The missing table.
        ref_table: String,
    },
    /// A foreign key to a column its target table does not have.
    #[error("table `{table}`, foreign key `{foreign_key}` ({}): table `{ref_table}` has no column `{ref_column}`", columns.join(", "))]
    MissingRefColumn {
        /// Where the referenced column is named.
        at: Option<Position>,
        /// The referencing table.
        table: String,
        /// The foreign key name.
        foreign_key: String,
        /// The referencing columns.
        columns: Vec<String>,
        /// The referenced table.
        ref_table: String,
        /// The missing column.
        ref_column: String,
    },
    /// A foreign key whose column lists differ in length.
    #[error("table `{table}`, foreign key `{foreign_key}`: {} column(s) ({}) reference {} column(s) of `{ref_table}` ({}); the counts must match", columns.len(), columns.join(", "), ref_columns.len(), ref_columns.join(", "))]
    ArityMismatch {
        /// Where the foreign key is.
        at: Option<Position>,
        /// The referencing table.
        table: String,
        /// The foreign key name.
        foreign_key: String,
        /// The referencing columns.
        columns: Vec<String>,
        /// The referenced table.
        ref_table: String,
        /// The referenced columns.
        ref_columns: Vec<String>,
    },
    /// A second primary key declaration: `primary_key = true` on two columns, or on a column
    /// and at table level.
    #[error(
        "table `{table}`, column `{column}`: a second primary key declaration; a table has one primary key, so list all its columns in the table-level `primary_key = [...]`"
    )]
    PrimaryKeyTwice {
        /// Where the second declaration is.
        at: Option<Position>,
        /// The table.
        table: String,
        /// The column carrying `primary_key = true`.
        column: String,
    },
    /// `nullable = true` on a column that can never be NULL.
    #[error(
        "table `{table}`, column `{column}`: {why} columns are never nullable; remove `nullable = true`"
    )]
    NullableNotAllowed {
        /// Where `nullable` is.
        at: Option<Position>,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `primary key` or `serial`.
        why: &'static str,
    },
}

impl DefinitionProblem {
    /// Where the problem is in the file, when known.
    pub fn at(&self) -> Option<Position> {
        match self {
            Self::Syntax { at, .. }
            | Self::UnknownKey { at, .. }
            | Self::Malformed { at, .. }
            | Self::UnknownType { at, .. }
            | Self::NoColumns { at, .. }
            | Self::DuplicateColumn { at, .. }
            | Self::DuplicateTable { at, .. }
            | Self::DuplicateName { at, .. }
            | Self::BadKeyColumn { at, .. }
            | Self::MissingTable { at, .. }
            | Self::MissingRefColumn { at, .. }
            | Self::ArityMismatch { at, .. }
            | Self::PrimaryKeyTwice { at, .. }
            | Self::NullableNotAllowed { at, .. } => *at,
        }
    }
}

/// The `table `t`, column `c`: ` prefix of a message, for what is known.
fn place(table: &Option<String>, item: &Option<String>) -> String {
    match (table, item) {
        (Some(table), Some(item)) => format!("table `{table}`, {item}: "),
        (Some(table), None) => format!("table `{table}`: "),
        (None, Some(item)) => format!("{item}: "),
        (None, None) => String::new(),
    }
}
