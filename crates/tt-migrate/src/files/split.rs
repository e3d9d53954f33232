//! Streaming statement splitter: SQL text in, statements with their line and column out.
//!
//! The splitter reads through a [`BufRead`] and keeps only the statement it is in, so memory is
//! bounded by the longest statement whatever the file size. It knows each dialect's quoting
//! and comments, block bodies (`CREATE TRIGGER … BEGIN … END;`, PostgreSQL `BEGIN ATOMIC`),
//! MySQL's `DELIMITER` and the psql meta-commands a migration may hold (`\echo`,
//! `\set ON_ERROR_STOP on`).

use std::fmt;
use std::io::{self, BufRead};

use tt_schema::Backend;

mod block;
mod lexer;
#[cfg(test)]
mod tests;

use lexer::Lexer;

/// One SQL statement as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The source text from the first significant character to just before the terminator,
    /// comments inside kept, trailing whitespace trimmed.
    pub sql: String,
    /// The 1-based line of the statement's first character.
    pub line: u32,
    /// The 1-based column, in characters, of the statement's first character.
    pub column: u32,
    /// The 1-based index of the statement in its file.
    pub number: u32,
}

/// What the splitter yields, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Piece {
    /// A statement to run.
    Statement(Statement),
    /// A psql `\echo` line: text to show as progress.
    Echo {
        /// The text after `\echo`, with one level of single quotes removed.
        text: String,
        /// The 1-based line of the `\echo`.
        line: u32,
    },
}

/// A construct that was opened and never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Construct {
    /// A quoted string: `'…'`, `E'…'`, or `"…"` on MySQL.
    String,
    /// A dollar-quoted string (`$$…$$`, `$tag$…$tag$`).
    DollarQuote,
    /// A quoted identifier: `"…"`, `` `…` `` or `[…]`.
    QuotedIdentifier,
    /// A `/* … */` comment.
    BlockComment,
    /// A `BEGIN … END` body of a trigger or routine.
    BlockBody,
}

impl fmt::Display for Construct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "string",
            Self::DollarQuote => "dollar-quoted string",
            Self::QuotedIdentifier => "quoted identifier",
            Self::BlockComment => "block comment",
            Self::BlockBody => "BEGIN … END body",
        })
    }
}

/// Why a file could not be split; messages read well after `path: `.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// A quote, dollar quote, comment or body still open at the end of the file.
    #[error("unterminated {what} starting at line {line}, column {column}")]
    Unterminated {
        /// What was left open.
        what: Construct,
        /// The 1-based line where it began.
        line: u32,
        /// The 1-based column, in characters, where it began.
        column: u32,
    },
    /// A psql backslash command other than `\echo` and `\set ON_ERROR_STOP on`.
    #[error(
        "unsupported psql meta-command `{command}` at line {line} (only \\echo and \\set ON_ERROR_STOP on are accepted)"
    )]
    UnsupportedMetaCommand {
        /// The whole command line, trimmed.
        command: String,
        /// The 1-based line of the command.
        line: u32,
    },
    /// A MySQL `DELIMITER` command without its delimiter.
    #[error("DELIMITER without a delimiter at line {line} (write e.g. DELIMITER $$)")]
    MissingDelimiter {
        /// The 1-based line of the command.
        line: u32,
    },
    /// Text that is not UTF-8.
    #[error("invalid UTF-8 at line {line}")]
    InvalidUtf8 {
        /// The 1-based line holding the first invalid byte.
        line: u32,
    },
    /// Reading failed.
    #[error("read failed")]
    Io(#[from] io::Error),
}

/// Splits SQL read from a [`BufRead`] into [`Piece`]s, reading only as far as the next one.
///
/// Dialects differ: `#` starts a comment and `'…'` takes backslash escapes only on MySQL,
/// `E'…'` and dollar quotes exist only on PostgreSQL, backticks only on MySQL and SQLite,
/// `DELIMITER` only on MySQL, nested `/* */` comments only on PostgreSQL. After the first
/// error the iterator ends.
///
/// # Examples
///
/// ```
/// use tt_migrate::{Piece, Splitter};
/// use tt_schema::Backend;
///
/// let sql = "CREATE TABLE t (a text);\nINSERT INTO t VALUES ('x;y');\n";
/// let statements: Vec<_> = Splitter::new(sql.as_bytes(), Backend::Postgres)
///     .map(|piece| match piece.unwrap() {
///         Piece::Statement(statement) => (statement.line, statement.sql),
///         other => panic!("unexpected {other:?}"),
///     })
///     .collect();
/// assert_eq!(statements[1], (2, "INSERT INTO t VALUES ('x;y')".to_owned()));
/// ```
#[derive(Debug)]
pub struct Splitter<R> {
    reader: R,
    lexer: Lexer,
    done: bool,
}

impl<R: BufRead> Splitter<R> {
    /// A splitter reading `reader` as SQL of `dialect`.
    pub fn new(reader: R, dialect: Backend) -> Self {
        Self {
            reader,
            lexer: Lexer::new(dialect),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for Splitter<R> {
    type Item = Result<Piece, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.done = true;
                    return Some(Err(SplitError::Io(error)));
                }
            };
            if buf.is_empty() {
                self.done = true;
                return self.lexer.finish();
            }
            let (consumed, piece) = self.lexer.feed(buf);
            self.reader.consume(consumed);
            if let Some(piece) = piece {
                self.done = piece.is_err();
                return Some(piece);
            }
        }
    }
}

impl<R: BufRead> std::iter::FusedIterator for Splitter<R> {}
