//! The schema model of tt: tables, portable column types, foreign keys and the graph they form.
//!
//! `tt-schema` is pure. It parses TOML table definitions it is given as strings, builds the
//! foreign-key graph with petgraph, renders DDL for PostgreSQL, MySQL and SQLite with sea-query
//! and compares schemas. It never touches a database, the file system, the environment or the
//! clock; `tt-migrate` does that and hands the results here.
//!
//! ```
//! use tt_schema::{Column, ColumnType, Schema, Table};
//!
//! let mut items = Table::new("items");
//! items.columns.push(Column::new("id", ColumnType::Serial));
//! let schema = Schema::from_tables([items]);
//! assert_eq!(schema.table_names().collect::<Vec<_>>(), ["items"]);
//! assert_eq!("varchar(128)".parse::<ColumnType>().unwrap(), ColumnType::Varchar(Some(128)));
//! ```
#![deny(missing_docs)]
// Library code returns errors; tests may unwrap (CI turns the warnings into errors).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(test)]
mod arbitrary;
mod backend;
mod definitions;
mod diff;
mod graph;
mod model;
mod render;

pub use backend::{Backend, UnknownBackend};
pub use definitions::{
    DefinitionError, DefinitionProblem, Position, parse_definitions, parse_definitions_with,
    to_toml,
};
pub use diff::{Difference, DifferenceKind, diff};
pub use graph::{FkGraph, FkRef, GraphReport};
pub use model::{
    Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index, IndexPart,
    PrimaryKey, Schema, Table, Unique, UnknownType, shorten_identifier,
};
pub use render::{
    CreateDdl, IndexDdl, RenderError, add_check, add_column, add_foreign_key, add_unique,
    alter_column_default, alter_column_nullability, alter_column_type, as_stored, create_ddl,
    create_ddl_parts, create_index, create_statements, create_table, drop_check, drop_column,
    drop_ddl, drop_foreign_key, drop_index, drop_statements, drop_table, drop_unique,
    qualified_drop_statements,
};
