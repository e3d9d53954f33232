//! Errors of tt-verify: input it cannot use. What verify finds wrong is a report, not an error.

/// Why verify (or diff, or dump) could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be read, or the migrations could not be applied to a scratch
    /// database.
    #[error(transparent)]
    Database(#[from] tt_migrate::Error),
    /// The `schema.toml` snapshot is invalid.
    #[error("invalid schema snapshot: {0}")]
    Snapshot(#[from] tt_schema::DefinitionError),
}
