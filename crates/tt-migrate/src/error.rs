//! The crate's one error type, wrapping the leaf errors of each concern.

use tt_schema::Backend;

use crate::adoption::error::AdoptionError;
use crate::backend::error::{ConnectError, DriverError, LockError, TransactionError};
use crate::destructive::error::DropRefusal;
use crate::engine::error::{PlanError, StatementFailure, TrackingError};
use crate::files::error::FileError;
use crate::files::source::DiscoveryError;

/// Everything that can stop tt-migrate.
///
/// Each concern has its own leaf enum ([`ConnectError`], [`LockError`], [`TransactionError`],
/// [`FileError`], [`PlanError`], [`TrackingError`], [`DropRefusal`], [`AdoptionError`],
/// [`DiscoveryError`]); a variant here wraps one of them and shows exactly its message, so a
/// caller matches on two levels:
///
/// ```
/// # use tt_migrate::{Error, LockError};
/// fn should_retry(error: &Error) -> bool {
///     matches!(error, Error::Lock(LockError::Timeout { .. }))
/// }
/// ```
///
/// The variants that are not leaves hold a failing statement ([`Error::Statement`]), a query
/// tt runs itself ([`Error::Query`]), or another `Error` as their cause ([`Error::Scratch`],
/// [`Error::DropIncomplete`]), or say that the run was cancelled ([`Error::Cancelled`]). No
/// message repeats its [`source`](std::error::Error::source):
/// print the chain to say everything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting to the database, or to the schema asked for, failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The migration lock could not be taken, or was lost.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A transaction of [`Database`](crate::Database) was used out of turn.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// A query tt itself runs (tracking table, lock, catalog) failed.
    #[error("{context} failed")]
    Query {
        /// What tt was doing.
        context: String,
        /// What the driver said.
        source: DriverError,
    },
    /// The migrations directory holds bad input.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// A migration file could not be read, split or rendered.
    #[error(transparent)]
    File(#[from] FileError),
    /// The migrations and the tracking rows say against running.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The tracking table cannot be trusted as it stands.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    /// A statement of a migration failed on the server.
    #[error(transparent)]
    Statement(Box<StatementFailure>),
    /// The migrations could not be applied to the scratch database that gives the schema
    /// they produce (the scratch database was dropped all the same).
    #[error(
        "applying the migrations to a scratch {backend} database (to learn the schema they produce) failed"
    )]
    Scratch {
        /// The backend of the scratch database.
        backend: Backend,
        /// What failed.
        source: Box<Error>,
    },
    /// A drop, reset or recreate refused to change anything.
    #[error(transparent)]
    Refused(#[from] DropRefusal),
    /// A drop that cannot run as one transaction stopped after it had changed the database.
    #[error(
        "the drop stopped part-way: it dropped {} of the {tables} managed table(s){}{}; \
         tracking table `{tracking_table}` marks the drop unfinished, and `tt status`, \
         `tt migrate` and `tt verify` report it: fix the cause, then run `tt drop` (or \
         `tt reset`) again to finish",
        dropped.len(),
        listed(dropped),
        if *other_statements > 0 {
            format!(" and removed {other_statements} foreign key(s) or view(s)")
        } else {
            String::new()
        }
    )]
    DropIncomplete {
        /// The managed tables dropped before it stopped, in order.
        dropped: Vec<String>,
        /// How many managed tables it was to drop.
        tables: usize,
        /// Statements that ran other than table drops: cycle foreign keys, `--cascade`'s views
        /// and foreign keys.
        other_statements: usize,
        /// The tracking table that holds the mark.
        tracking_table: String,
        /// Why it stopped.
        source: Box<Error>,
    },
    /// Another tool's tracking table to baseline from is missing, ambiguous or unsettled.
    #[error(transparent)]
    Adoption(#[from] AdoptionError),
    /// The run was cancelled (Ctrl-C, [`crate::Canceller::cancel`]): it started no further
    /// statement or migration.
    #[error("the run was cancelled before migration {version} finished")]
    Cancelled {
        /// The migration that was running or would have started next.
        version: crate::files::migration::Version,
    },
}

impl From<tt_schema::DefinitionError> for Error {
    fn from(error: tt_schema::DefinitionError) -> Self {
        Error::File(FileError::Definitions(error))
    }
}

impl Error {
    /// The server's message when the server rejected a statement ([`Error::Query`] with a
    /// database error); `None` for every other error, such as a lost connection.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::Query { source, .. } => source.as_database_error().map(|e| e.message()),
            _ => None,
        }
    }

    /// A closure wrapping a driver error of a query tt runs itself.
    pub(crate) fn query(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        // Contexts may quote a statement: never a whole 50 MB INSERT.
        let context = excerpt(&context.into(), 200);
        move |source| Error::Query {
            context,
            source: DriverError(source),
        }
    }
}

/// `text` cut to its first `max` characters, saying how long it was when it was longer.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// ` (a, b, c)` for a short list of names, the first ten and a count for a long one; empty
/// for none.
fn listed(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1..=10 => format!(" ({})", names.join(", ")),
        n => format!(" ({}, … and {} more)", names[..10].join(", "), n - 10),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::files::split::{Construct, SplitError};

    #[test]
    fn long_statements_are_cut_in_messages() {
        assert_eq!(excerpt("SELECT 1", 10), "SELECT 1");
        assert_eq!(excerpt("SELECT 1234", 10), "SELECT 123… (11 bytes in all)");
        assert_eq!(excerpt("é€ab", 2), "é€… (7 bytes in all)");
        let long = format!("INSERT INTO t VALUES ('{}')", "x".repeat(1 << 20));
        let error = Error::query(format!("statement `{long}`"))(sqlx::Error::RowNotFound);
        assert!(error.to_string().len() < 400, "{error}");
    }

    #[test]
    fn a_wrapped_leaf_shows_its_own_message_and_source() {
        let error = Error::from(FileError::Split {
            path: PathBuf::from("migrations/003_perks.sql"),
            source: SplitError::Unterminated {
                what: Construct::String,
                line: 4,
                column: 9,
            },
        });
        assert_eq!(
            error.to_string(),
            "could not split migrations/003_perks.sql into statements"
        );
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("unterminated string starting at line 4, column 9")
        );
    }
}
