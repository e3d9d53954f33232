//! How a run of migrations ended (`tt migrate`, `tt down`, `tt reset`): the summary line, and
//! the JSON document with a failing statement's fields.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use tt_migrate::{Applied, FailureOutcome, RunError};
use tt_schema::Backend;

use crate::commands::mark_json_error_printed;
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
    /// The JSON key of the migrations the run went through.
    fn key(self) -> &'static str {
        match self {
            Self::Up => "applied",
            Self::Down => "rolled_back",
        }
    }

    /// What the run did to them, capitalised.
    fn done(self) -> &'static str {
        match self {
            Self::Up => "Applied",
            Self::Down => "Rolled back",
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
) -> Result<ExitCode> {
    let (key, done) = (direction.key(), direction.done());
    match result {
        Ok(migrations) => {
            out.json(&json!({ "backend": backend, "dry_run": false, key: migrations }))?;
            let count = migrations.len();
            out.line(match (count, direction) {
                (0, Direction::Up) => "Already up to date: no pending migrations".to_string(),
                (0, Direction::Down) => "Nothing to roll back".to_string(),
                _ => format!(
                    "{done} {count} migration(s) in {}",
                    paint(DIM, duration(elapsed_ms))
                ),
            });
            Ok(ExitCode::SUCCESS)
        }
        Err(failed) => {
            if out.json {
                out.json(&json!({
                    "backend": backend,
                    "dry_run": false,
                    key: failed.applied,
                    "error": error_document(&failed.error),
                }))?;
                mark_json_error_printed();
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

/// The `error` member of a failed run's JSON document: the message, and for a failing
/// statement where it is and what the server said, field by field.
pub(crate) fn error_document(error: &tt_migrate::Error) -> serde_json::Value {
    // The message and each cause it carries (tt's errors do not repeat their causes).
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    let mut document = json!({ "message": message });
    if let tt_migrate::Error::Statement(failure) = error {
        document["failure"] = json!({
            "version": failure.version,
            "file": failure.path,
            "statement": failure.statement_number,
            "line": failure.line,
            "column": failure.column,
            "code": failure.code,
            "server_message": failure.message,
            "hint": failure.hint,
            "outcome": match failure.outcome {
                FailureOutcome::RolledBack => "rolled_back",
                FailureOutcome::Dirty => "dirty",
                FailureOutcome::StillApplied => "still_applied",
                FailureOutcome::PartlyRolledBack => "partly_rolled_back",
            },
        });
    }
    document
}
