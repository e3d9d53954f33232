//! Turning a server error into a located, explained [`StatementFailure`].

use std::path::Path;

use crate::backend::{Dialect, ServerError};

use crate::engine::error::{FailureOutcome, StatementFailure};
use crate::files::migration::Migration;
use crate::files::source::Layout;
use crate::files::split::Statement;

/// Statements at least this long are checked against MySQL's `max_allowed_packet` before
/// they are sent (the server would close the connection, leaving the migration marked dirty).
pub(crate) const CHECKED_STATEMENT_BYTES: usize = 64 * 1024;

/// The longest statement the server accepts, in bytes (MySQL's `max_allowed_packet`); no limit
/// where the dialect has none.
pub(crate) async fn packet_limit(
    db: &mut crate::backend::database::Database,
) -> Result<usize, crate::error::Error> {
    let Some(query) = db.dialect().statement_limit_query() else {
        return Ok(usize::MAX);
    };
    let context = "reading max_allowed_packet";
    let limit = db
        .query_rows(query, &[])
        .await
        .and_then(|rows| crate::backend::value::int_at(rows.first().map_or(&[], Vec::as_slice), 0))
        .map_err(crate::error::Error::query(context))?;
    // Never negative; a limit beyond the address space is no limit.
    Ok(usize::try_from(limit.max(0)).unwrap_or(usize::MAX))
}

/// The report for a statement longer than the server's `max_allowed_packet` allows, made
/// before sending it: nothing of it ran.
pub(crate) fn oversized(
    migration: &Migration,
    path: &Path,
    statement: &Statement,
    limit: usize,
) -> Option<StatementFailure> {
    // The packet also holds the command byte.
    let size = statement.sql.len() + 1;
    if size <= limit {
        return None;
    }
    Some(StatementFailure {
        version: migration.version.clone(),
        path: path.to_path_buf(),
        statement_number: statement.number,
        line: statement.line,
        column: statement.column,
        code: None,
        message: format!(
            "the statement is {size} bytes, over the server's max_allowed_packet of {limit} \
             bytes: it was not sent"
        ),
        excerpt: format!(
            "{}{}",
            " ".repeat(statement.column.saturating_sub(1) as usize),
            crate::error::excerpt(
                statement.sql.lines().next().unwrap_or_default(),
                EXCERPT_CHARS
            )
        ),
        hint: Some(
            "split the statement (several INSERTs of fewer rows), or raise max_allowed_packet \
             on the server (SET GLOBAL max_allowed_packet = …, and in its configuration to keep \
             it)"
            .to_string(),
        ),
        outcome: FailureOutcome::RolledBack,
        index: None,
    })
}

/// The most of a statement's line a failure report shows.
const EXCERPT_CHARS: usize = 160;

/// Builds the failure report for a batch that failed after `completed` of its `statements`,
/// which are never empty (only a batch with a statement is sent, so indexing them is safe).
pub(crate) fn locate(
    dialect: &dyn Dialect,
    layout: Layout,
    migration: &Migration,
    path: &Path,
    statements: &[(usize, Statement)],
    completed: usize,
    error: &sqlx::Error,
) -> StatementFailure {
    let database_error = error.as_database_error();
    let message = database_error.map_or_else(|| error.to_string(), |e| e.message().to_string());
    let code = database_error.and_then(|e| dialect.error_code(e));
    let server_position = database_error.and_then(|e| dialect.error_position(e));
    // The server's position points into the batch: find the statement it falls in.
    let (statement, offset) = match server_position {
        Some(position) => {
            let at = position.saturating_sub(1);
            let index = statements
                .iter()
                .rposition(|(start, _)| *start <= at)
                .unwrap_or(0);
            let (start, statement) = &statements[index];
            (statement, Some(at - start))
        }
        None => {
            let index = completed.min(statements.len().saturating_sub(1));
            let (_, statement) = &statements[index];
            (statement, near_offset(dialect, &statement.sql, &message))
        }
    };
    let (line, column) = offset.map_or((statement.line, statement.column), |offset| {
        position_of(statement, offset)
    });
    let excerpt = statement
        .sql
        .lines()
        .nth((line - statement.line) as usize)
        .unwrap_or_default();
    // One line of a generated INSERT can be megabytes: show its start.
    let excerpt = crate::error::excerpt(excerpt, EXCERPT_CHARS);
    // The statement's first line starts at its column: pad so the caret lines up.
    let pad = if line == statement.line {
        statement.column.saturating_sub(1) as usize
    } else {
        0
    };
    StatementFailure {
        version: migration.version.clone(),
        path: path.to_path_buf(),
        statement_number: statement.number,
        line,
        column,
        code: code.clone(),
        message: message.clone(),
        excerpt: format!("{}{excerpt}", " ".repeat(pad)),
        hint: hint(dialect, layout, code.as_deref(), &message),
        outcome: FailureOutcome::RolledBack,
        index: None,
    }
}

/// Line and column in the file of the character `offset` characters into `statement`.
fn position_of(statement: &Statement, offset: usize) -> (u32, u32) {
    let mut line = statement.line;
    let mut column = statement.column;
    for ch in statement.sql.chars().take(offset) {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// The character offset in `sql` of the text a MySQL (`near '…' at line N`) or SQLite
/// (`near "…": syntax error`) message quotes.
fn near_offset(dialect: &dyn Dialect, sql: &str, message: &str) -> Option<usize> {
    let (quoted, line) = dialect.near_text(message)?;
    // MySQL quotes at most 80 characters and the rest of the statement; the first line is
    // enough to find it.
    let needle = quoted.lines().next().unwrap_or_default();
    if needle.is_empty() {
        return None;
    }
    let line_start: usize = sql
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let byte = sql
        .get(line_start..)?
        .find(needle)
        .map(|i| i + line_start)
        .or_else(|| sql.find(needle))?;
    Some(sql[..byte].chars().count())
}

/// PostgreSQL's lock table is full: one transaction touched more tables than
/// `max_locks_per_transaction × max_connections` allows.
pub(crate) const TOO_MANY_LOCKS: &str = "one transaction locks more objects than the server \
     allows: split the migration into smaller files, or raise max_locks_per_transaction (ALTER \
     SYSTEM SET max_locks_per_transaction = 512, then restart PostgreSQL)";

/// A likely cause and next step for common errors.
fn hint(
    dialect: &dyn Dialect,
    layout: Layout,
    code: Option<&str>,
    message: &str,
) -> Option<String> {
    let text = match dialect.classify(code.unwrap_or_default(), message)? {
        ServerError::MissingObject => {
            "the object does not exist yet: an earlier migration that creates it may be \
             missing, or the files are out of order (check the versions with `tt status`)"
        }
        ServerError::MissingColumn => {
            "the column does not exist: an earlier migration that adds it may be missing or out \
             of order, or it was renamed"
        }
        ServerError::PermissionDenied => {
            "permission denied: grant the privilege to this user, or connect as the schema's \
             owner"
        }
        ServerError::LockHeld => {
            "another session holds a lock on this object: retry when it finishes, or raise \
             --lock-timeout"
        }
        ServerError::AlreadyExists => {
            "the object already exists: the database was changed outside tt, or an earlier \
             migration already creates it (use IF NOT EXISTS, or `tt baseline` for a database \
             that already has this schema)"
        }
        // Where the server points at the error, the caret says enough.
        ServerError::Syntax if dialect.reports_error_position() => {
            "syntax error: check the statement near the caret"
        }
        ServerError::Syntax if layout == Layout::Native => {
            "syntax error: if this is SQL of another dialect, put this backend's version in a \
             variant file (NNN_name.<backend>.sql)"
        }
        // Other tools' folders have no per-backend files: their SQL is for one backend.
        ServerError::Syntax => {
            "syntax error: if this is SQL of another dialect, the folder was written for \
             another database (this layout has no per-backend files): connect to the \
             database it was written for"
        }
        ServerError::DuplicateKey => {
            "duplicate key: the data already holds this value (use ON CONFLICT DO NOTHING or \
             INSERT IGNORE for seed rows)"
        }
        ServerError::ForeignKey => {
            "foreign key violation: insert the referenced rows first, or in a later migration"
        }
        ServerError::TooManyLocks => TOO_MANY_LOCKS,
        ServerError::NotInTransaction => {
            "this statement cannot run inside a transaction, and tt did not recognise it: put \
             `-- tt:no-transaction` among the file's leading comments to run it outside one"
        }
        ServerError::DependentObjects => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dialect;
    use tt_schema::Backend;

    fn statement(sql: &str, line: u32, column: u32) -> Statement {
        Statement {
            sql: sql.to_string(),
            line,
            column,
            number: 1,
        }
    }

    #[test]
    fn positions_count_lines_from_the_statement_start() {
        let s = statement("SELECT\n  1 +\n  nope", 10, 5);
        assert_eq!(position_of(&s, 0), (10, 5));
        assert_eq!(position_of(&s, 3), (10, 8));
        assert_eq!(position_of(&s, 15), (12, 3));
    }

    #[test]
    fn near_text_of_mysql_and_sqlite_messages_is_found() {
        let sql = "CREATE TABLE t (\n  id INT,\n  oops oops\n)";
        let mysql = "You have an error in your SQL syntax; check the manual that corresponds to \
                     your MariaDB server version for the right syntax to use near 'oops\n)' at line 3";
        assert_eq!(near_offset(dialect(Backend::Mysql), sql, mysql), Some(29));
        let sqlite = "near \"oops\": syntax error";
        assert_eq!(near_offset(dialect(Backend::Sqlite), sql, sqlite), Some(29));
        assert_eq!(near_offset(dialect(Backend::Postgres), sql, sqlite), None);
    }

    #[test]
    fn implicit_commits_are_mysql_ddl_only() {
        let create = "CREATE TABLE t (x INT)";
        assert!(dialect(Backend::Mysql).commits_implicitly(create));
        assert!(!dialect(Backend::Postgres).commits_implicitly(create));
        assert!(!dialect(Backend::Sqlite).commits_implicitly(create));
    }

    #[test]
    fn the_syntax_error_hint_gives_each_layouts_own_advice() {
        let syntax = |backend, layout| {
            let code = match backend {
                Backend::Mysql => "1064 (42000)",
                _ => "1",
            };
            hint(
                dialect(backend),
                layout,
                Some(code),
                "near \"CONSTRAINT\": syntax error",
            )
            .unwrap()
        };
        for backend in [Backend::Mysql, Backend::Sqlite] {
            assert!(syntax(backend, Layout::Native).contains("NNN_name.<backend>.sql"));
            for layout in Layout::ALL.into_iter().skip(1) {
                let hint = syntax(backend, layout);
                assert!(!hint.contains("NNN_name"), "{layout}: {hint}");
                assert!(hint.contains("no per-backend files"), "{layout}: {hint}");
            }
        }
    }

    #[test]
    fn hints_cover_common_causes() {
        let check = |backend, code: Option<&str>, message: &str, expected: &str| {
            let hint = hint(dialect(backend), Layout::Native, code, message).unwrap_or_default();
            assert!(hint.starts_with(expected), "{backend} {code:?}: {hint}");
        };
        check(
            Backend::Postgres,
            Some("25001"),
            "ALTER TYPE ... ADD cannot run inside a transaction block",
            "this statement cannot run inside a transaction, and tt did not recognise it: put \
             `-- tt:no-transaction`",
        );
        check(
            Backend::Sqlite,
            Some("1"),
            "cannot VACUUM from within a transaction",
            "this statement cannot run inside a transaction",
        );
        check(
            Backend::Postgres,
            Some("42P01"),
            "relation \"x\" does not exist",
            "the object does not exist",
        );
        check(
            Backend::Mysql,
            Some("1146 (42S02)"),
            "Table 'test.x' doesn't exist",
            "the object does not exist",
        );
        check(
            Backend::Sqlite,
            Some("1"),
            "no such table: x",
            "the object does not exist",
        );
        check(
            Backend::Postgres,
            Some("42501"),
            "permission denied for table x",
            "permission denied",
        );
        check(
            Backend::Postgres,
            Some("55P03"),
            "canceling statement due to lock timeout",
            "another session",
        );
        check(
            Backend::Mysql,
            Some("1064 (42000)"),
            "You have an error",
            "syntax error",
        );
        assert_eq!(
            hint(
                dialect(Backend::Postgres),
                Layout::Native,
                Some("XX000"),
                "internal"
            ),
            None
        );
    }
}
