//! The rich schema, read from `rich.toml`: every portable type and every kind of key, index
//! and foreign key.

use tt_schema::{Schema, parse_definitions};

/// The awkward table name: quotes, a semicolon and SQL words must all stay inside the name.
pub(crate) const ODD_TABLE: &str = "odd \"name\"; drop";
/// A string default and comment that need escaping on every backend.
pub(crate) const MOTTO: &str = "it's \\ \"fine\"";

/// The schema every golden file and the execution test render.
pub(crate) fn schema() -> Schema {
    parse_definitions("rich.toml", include_str!("rich.toml")).unwrap_or_else(|e| panic!("{e}"))
}
