//! Why a baseline from another tool's table cannot be taken: a leaf type that imports nothing
//! above it.

use crate::files::source::Layout;

/// Another tool's tracking table that is missing, ambiguous or unsettled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptionError {
    /// Another tool's tracking table to import from does not exist.
    #[error(
        "{tool}'s tracking table `{table}` was not found in this database (was it applied \
         with {tool}, to this database and schema?)"
    )]
    NoToolTable {
        /// The tool.
        tool: Layout,
        /// The table looked for.
        table: String,
    },
    /// Importing from another tool was asked for tt's own layout, which has none.
    #[error(
        "tt's own layout has no other tool's table to import (name one: sqlx, diesel, dbmate, \
         flyway, golang-migrate, goose or prisma)"
    )]
    NoTool,
    /// `--from-tool` without a name, and no known tool's table in the database.
    #[error(
        "no other tool's tracking table found in this database and schema (looked for \
         _sqlx_migrations, __diesel_schema_migrations, schema_migrations, \
         flyway_schema_history, goose_db_version, _prisma_migrations): name the tool with \
         --from-tool, or check the connection"
    )]
    NoToolFound,
    /// `--from-tool` without a name, and several tools' tables in the database.
    #[error(
        "tracking tables of several tools found ({}): name the one to import with --from-tool",
        found.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    )]
    ManyTools {
        /// The tools whose tables are there.
        found: Vec<Layout>,
    },
    /// The other tool's table says its last migration stopped part-way.
    #[error(
        "{tool}'s table `{table}` marks version {version} dirty (it stopped part-way): fix the \
         database, settle it with {tool} (`migrate force`), then baseline again"
    )]
    ToolDirty {
        /// The tool.
        tool: Layout,
        /// Its table.
        table: String,
        /// The dirty version as recorded.
        version: String,
    },
}
