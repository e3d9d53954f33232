//! Errors of tt-verify: input it cannot use. What verify finds wrong is a report, not an error.

use tt_migrate::Value;

/// Why verify (or diff, or dump) could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be read, or the migrations could not be applied to a scratch
    /// database.
    #[error(transparent)]
    Database(#[from] tt_migrate::Error),
    /// The `schema.toml` snapshot is invalid.
    #[error("invalid schema snapshot")]
    Snapshot(#[from] tt_schema::DefinitionError),
    /// A query of a check returned a value of another type than it reads.
    #[error("{what} returned {found} where {expected} was expected")]
    UnexpectedValue {
        /// The query.
        what: &'static str,
        /// What the check reads there.
        expected: &'static str,
        /// What came back.
        found: String,
    },
}

/// Names what a check was doing in a query error of tt-migrate, which names only the query.
pub(crate) fn doing(what: impl Into<String>) -> impl FnOnce(tt_migrate::Error) -> Error {
    let context = what.into();
    move |error| match error {
        tt_migrate::Error::Query { source, .. } => {
            Error::Database(tt_migrate::Error::Query { context, source })
        }
        other => Error::Database(other),
    }
}

/// The integer a query of `what` returned in a column.
pub(crate) fn int(what: &'static str, value: Option<&Value>) -> Result<i64, Error> {
    value
        .and_then(Value::as_i64)
        .ok_or_else(|| unexpected(what, "an integer", value))
}

/// The text a query of `what` returned in a column.
pub(crate) fn text(what: &'static str, value: Option<&Value>) -> Result<String, Error> {
    value
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| unexpected(what, "text", value))
}

fn unexpected(what: &'static str, expected: &'static str, found: Option<&Value>) -> Error {
    Error::UnexpectedValue {
        what,
        expected,
        found: found.map_or_else(|| "no column".to_string(), |v| format!("{v:?}")),
    }
}
