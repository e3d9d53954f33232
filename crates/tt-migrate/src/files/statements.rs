//! The statements a migration file runs: SQL split as it streams, or TOML table definitions
//! rendered for the backend in foreign-key order.

use std::io::Read;

use tt_schema::{Backend, DefinitionProblem, Schema};

use crate::error::Error;
use crate::files::error::FileError;
use crate::files::migration::{FileKind, MigrationFile};
use crate::files::split::{Piece, Splitter, Statement};

/// Pieces of a file, one at a time.
pub(crate) type Pieces = Box<dyn Iterator<Item = Result<Piece, Error>> + Send>;

/// The pieces `file` runs on `backend`. A TOML file's foreign keys may reference tables of
/// `existing` (the live schema); `None` skips that check (it is repeated when the file runs).
pub(crate) fn pieces(
    file: &MigrationFile,
    backend: Backend,
    existing: Option<&Schema>,
) -> Result<Pieces, Error> {
    let path = file.path().to_path_buf();
    let reader = file.open().map_err(|source| {
        Error::File(FileError::Io {
            path: path.clone(),
            source,
        })
    })?;
    match file.kind {
        FileKind::Sql => Ok(Box::new(Splitter::new(reader, backend).map(move |piece| {
            piece.map_err(|source| {
                Error::File(FileError::Split {
                    path: path.clone(),
                    source,
                })
            })
        }))),
        FileKind::Toml => {
            let statements = toml_statements(reader, &path, backend, existing)?;
            Ok(Box::new(statements.into_iter().map(Ok)))
        }
    }
}

/// The statements that roll back a `.toml` migration: its tables dropped in reverse FK order,
/// as `live` (the live schema, which has them) describes them.
pub(crate) fn drop_pieces(
    file: &MigrationFile,
    backend: Backend,
    live: &Schema,
) -> Result<Pieces, Error> {
    let path = file.path().to_path_buf();
    let mut text = String::new();
    file.open()
        .and_then(|mut reader| reader.read_to_string(&mut text))
        .map_err(|source| {
            Error::File(FileError::Io {
                path: path.clone(),
                source,
            })
        })?;
    let label = path.display().to_string();
    // The file's tables are in the live schema: parse against the rest of it, so that its
    // references to earlier migrations' tables resolve.
    let mut others = live.clone();
    let schema = loop {
        match tt_schema::parse_definitions_with(&label, &text, &others) {
            Ok(schema) => break schema,
            Err(error) => {
                let own: Vec<&str> = error
                    .problems
                    .iter()
                    .filter_map(|p| match p {
                        DefinitionProblem::DuplicateTable { table, .. } => Some(table.as_str()),
                        _ => None,
                    })
                    .collect();
                if own.is_empty() {
                    return Err(error.into());
                }
                for table in own {
                    others.remove(table);
                }
            }
        }
    };
    let sql = tt_schema::drop_ddl(&schema, backend).map_err(|source| {
        Error::File(FileError::Render {
            path: path.clone(),
            source: Box::new(source),
        })
    })?;
    Ok(Box::new(numbered(sql, 0).map(|s| Ok(Piece::Statement(s)))))
}

/// A `.toml` migration's statements in its two parts: the tables (with their foreign keys
/// and comments), then the indexes, numbered on from the tables'.
#[derive(Debug)]
pub(crate) struct TomlParts {
    pub(crate) tables: Vec<Statement>,
    pub(crate) indexes: Vec<IndexStatement>,
}

/// One `CREATE INDEX` of a `.toml` migration and what it builds.
#[derive(Debug, Clone)]
pub(crate) struct IndexStatement {
    pub(crate) table: String,
    pub(crate) index: String,
    pub(crate) statement: Statement,
}

/// The two parts of the `.toml` migration `file` on `backend`, its foreign keys checked
/// against `existing` (the live schema).
pub(crate) fn toml_parts(
    file: &MigrationFile,
    backend: Backend,
    existing: &Schema,
) -> Result<TomlParts, Error> {
    let path = file.path();
    let reader = file.open().map_err(|source| {
        Error::File(FileError::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let ddl = toml_ddl(reader, path, backend, Some(existing))?;
    let tables: Vec<Statement> = numbered(ddl.tables, 0).collect();
    let indexes = ddl
        .indexes
        .into_iter()
        .zip(tables.len() as u32 + 1..)
        .map(|(index, number)| IndexStatement {
            statement: statement(index.sql, number),
            table: index.table,
            index: index.index,
        })
        .collect();
    Ok(TomlParts { tables, indexes })
}

fn toml_statements(
    reader: impl Read,
    path: &std::path::Path,
    backend: Backend,
    existing: Option<&Schema>,
) -> Result<Vec<Piece>, Error> {
    let ddl = toml_ddl(reader, path, backend, existing)?;
    Ok(numbered(ddl.into_statements(), 0)
        .map(Piece::Statement)
        .collect())
}

/// The rendered DDL of a `.toml` file; nothing when `existing` is `None` and the file
/// references tables only the live database can have.
fn toml_ddl(
    mut reader: impl Read,
    path: &std::path::Path,
    backend: Backend,
    existing: Option<&Schema>,
) -> Result<tt_schema::CreateDdl, Error> {
    let mut text = String::new();
    reader.read_to_string(&mut text).map_err(|source| {
        Error::File(FileError::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let label = path.display().to_string();
    let schema = match existing {
        Some(existing) => tt_schema::parse_definitions_with(&label, &text, existing)?,
        None => match tt_schema::parse_definitions(&label, &text) {
            Ok(schema) => schema,
            Err(error) if only_missing_references(&error.problems) => {
                return Ok(tt_schema::CreateDdl::default());
            }
            Err(error) => return Err(error.into()),
        },
    };
    tt_schema::create_ddl_parts(&schema, backend).map_err(|source| {
        Error::File(FileError::Render {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    })
}

/// Rendered statements numbered from `after + 1`, each at line 1, column 1 of its file.
fn numbered(sql: Vec<String>, after: u32) -> impl Iterator<Item = Statement> {
    sql.into_iter()
        .zip(after + 1..)
        .map(|(sql, number)| statement(sql, number))
}

fn statement(sql: String, number: u32) -> Statement {
    Statement {
        sql,
        line: 1,
        column: 1,
        number,
    }
}

/// Whether every problem is a reference to a table or column outside the file, which the
/// live database may have by the time the file runs.
fn only_missing_references(problems: &[DefinitionProblem]) -> bool {
    problems.iter().all(|p| {
        matches!(
            p,
            DefinitionProblem::MissingTable { .. } | DefinitionProblem::MissingRefColumn { .. }
        )
    })
}
