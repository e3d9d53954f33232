//! How a run of migrations ended (`tt migrate`, `tt down`, `tt reset`): the summary line, and
//! the JSON document with a failing statement's fields.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;
use tt_migrate::{Applied, FailureOutcome, RunError, Version};
use tt_schema::Backend;

use crate::commands::JsonShown;
use crate::exit::Exit;
use crate::output::{DIM, Output, paint};
use crate::progress::duration;

/// Which way a run went, which decides its words and its JSON key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    /// `tt migrate`: up files ran.
    Up,
    /// `tt down`: down files ran.
    Down,
}

impl Direction {
    /// What the run did to them, capitalised.
    fn done(self) -> &'static str {
        match self {
            Self::Up => "Applied",
            Self::Down => "Rolled back",
        }
    }
}

/// The JSON document of a run; the migrations it went through are `applied` going up and
/// `rolled_back` going down. Members in alphabetical order, as all of tt's documents.
#[derive(Debug, Serialize)]
pub(crate) struct RunDocument<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<&'a [Applied]>,
    backend: Backend,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rolled_back: Option<&'a [Applied]>,
}

impl<'a> RunDocument<'a> {
    pub(crate) fn new(backend: Backend, direction: Direction, migrations: &'a [Applied]) -> Self {
        let (applied, rolled_back) = match direction {
            Direction::Up => (Some(migrations), None),
            Direction::Down => (None, Some(migrations)),
        };
        Self {
            applied,
            backend,
            dry_run: false,
            error: None,
            rolled_back,
        }
    }
}

impl RunDocument<'_> {
    /// The same document for a dry run.
    pub(crate) fn dry_run(self) -> Self {
        Self {
            dry_run: true,
            ..self
        }
    }
}

/// The `error` member of a failed run's JSON document: the message, and for a failing
/// statement where it is and what the server said, field by field.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<FailureJson>,
    message: String,
    /// After a failed reset: what state the database is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

#[derive(Debug, Serialize)]
struct FailureJson {
    code: Option<String>,
    column: u32,
    file: PathBuf,
    hint: Option<String>,
    /// For an index a `.toml` migration built apart from its tables (`--jobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<tt_migrate::IndexFailure>,
    line: u32,
    outcome: &'static str,
    server_message: String,
    statement: u32,
    version: Version,
}

impl ErrorJson {
    pub(crate) fn new(error: &tt_migrate::Error) -> Self {
        let failure = match error {
            tt_migrate::Error::Statement(failure) => Some(FailureJson {
                code: failure.code.clone(),
                column: failure.column,
                file: failure.path.clone(),
                hint: failure.hint.clone(),
                index: failure.index.clone(),
                line: failure.line,
                outcome: match failure.outcome {
                    FailureOutcome::RolledBack => "rolled_back",
                    FailureOutcome::Dirty => "dirty",
                    FailureOutcome::StillApplied => "still_applied",
                    FailureOutcome::PartlyRolledBack => "partly_rolled_back",
                },
                server_message: failure.message.clone(),
                statement: failure.statement_number,
                version: failure.version.clone(),
            }),
            _ => None,
        };
        // The message and each cause it carries (tt's errors do not repeat their causes).
        let message = std::iter::successors(Some(error as &dyn std::error::Error), |cause| {
            cause.source()
        })
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
        Self {
            failure,
            message,
            state: None,
        }
    }

    /// A member for an error that is not tt-migrate's: its message and causes alone.
    pub(crate) fn message(message: String) -> Self {
        Self {
            failure: None,
            message,
            state: None,
        }
    }

    /// The same, saying what state the database is in after the failure.
    pub(crate) fn with_state(self, state: String) -> Self {
        Self {
            state: Some(state),
            ..self
        }
    }
}

/// Prints how a run of `elapsed_ms` ended: its JSON document (the error included), then the
/// summary line. An error goes back for `main` to report on stderr.
pub(crate) fn finish(
    out: Output,
    backend: Backend,
    direction: Direction,
    result: Result<Vec<Applied>, RunError>,
    elapsed_ms: i64,
) -> Result<Exit> {
    let done = direction.done();
    match result {
        Ok(migrations) => {
            out.json(&RunDocument::new(backend, direction, &migrations))?;
            let count = migrations.len();
            out.line(match (count, direction) {
                (0, Direction::Up) => "Already up to date: no pending migrations".to_string(),
                (0, Direction::Down) => "Nothing to roll back".to_string(),
                _ => format!(
                    "{done} {count} migration(s) in {}",
                    paint(DIM, duration(elapsed_ms))
                ),
            });
            Ok(Exit::Success)
        }
        Err(failed) => {
            if out.json {
                out.json(&RunDocument {
                    error: Some(ErrorJson::new(&failed.error)),
                    ..RunDocument::new(backend, direction, &failed.applied)
                })?;
                return Err(JsonShown(failed.into()).into());
            } else if !failed.applied.is_empty() {
                let before = match direction {
                    Direction::Up => "before the failure",
                    Direction::Down => "before stopping",
                };
                out.line(format!(
                    "{done} {} migration(s) {before}",
                    failed.applied.len()
                ));
            }
            Err(failed.into())
        }
    }
}
